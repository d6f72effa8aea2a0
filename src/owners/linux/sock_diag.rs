//! The kernel's socket tables through netlink sock_diag: dumps of a port or of the whole table
//! (TCP in both families in one legacy request), one socket asked for again by its id, and
//! `/proc/net` read instead when the kernel refuses the dump.

use std::fs;
use std::net::SocketAddr;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer, NlasIterator, Parseable,
};
use netlink_packet_sock_diag::{
    AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, SOCK_DIAG_BY_FAMILY,
    inet::{InetResponseBuffer, InetResponseHeader},
};
use netlink_sys::{Socket, SocketAddr as NlAddr, protocols::NETLINK_SOCK_DIAG};

use super::refusals::count_refusal;
use crate::owners::{Scope, SockState, TableRefusal};
use crate::target::{Family, Protocol};

/// Kernel pseudo-state (Linux 6.9+) for TCP sockets that are bound but neither listening nor
/// connected; asking for it is the only way to see them.
const TCP_BOUND_INACTIVE: u32 = 13;
/// `INET_DIAG_SKV6ONLY`: the IPV6_V6ONLY flag of an IPv6 socket.
const INET_DIAG_SKV6ONLY: u16 = 11;
/// The fixed part of a sock_diag answer (`inet_diag_msg`), before its attributes.
const INET_RESPONSE_LEN: usize = std::mem::size_of::<InetResponseBuffer>();

/// Why a socket table could not be read, from the kernel or from /proc/net: each cause typed,
/// with its source kept. A lookup records it as a `TableRefusal` (its errno) and answers unknown
/// when nothing could be read, never "no socket".
#[derive(Debug, thiserror::Error)]
pub(super) enum LookupError {
    /// The netlink socket, the request or the dump failed (a sandbox blocking netlink sockets,
    /// no descriptor left, an errno in the dump's end).
    #[error("sock_diag failed")]
    Netlink(#[from] std::io::Error),
    /// An answer that is not what sock_diag sends.
    #[error("a sock_diag answer could not be read")]
    Answer(#[from] netlink_packet_core::DecodeError),
    /// The dump stopped without its end.
    #[error("sock_diag ended without NLMSG_DONE")]
    Unfinished,
    /// The thread that dumped the table panicked.
    #[error("the dump's thread panicked")]
    Panicked,
    /// `/proc/net/NAME` could not be read.
    #[error("/proc/net/{name} could not be read")]
    ProcNet {
        /// `tcp`, `tcp6`, `udp` or `udp6`.
        name: &'static str,
        /// Why.
        source: std::io::Error,
    },
}

impl LookupError {
    /// The errno behind it, when the OS gave one.
    pub(super) fn errno(&self) -> Option<i32> {
        match self {
            Self::Netlink(e) | Self::ProcNet { source: e, .. } => e.raw_os_error(),
            Self::Answer(_) | Self::Unfinished | Self::Panicked => None,
        }
    }
}

/// One socket as sock_diag reports it, before any process lookup.
#[derive(Debug, Clone)]
pub(super) struct RawSock {
    pub(super) protocol: Protocol,
    pub(super) family: Family,
    pub(super) local: SocketAddr,
    pub(super) remote: Option<SocketAddr>,
    pub(super) state: u8,
    pub(super) uid: u32,
    pub(super) inode: u32,
    pub(super) v6_only: Option<bool>,
    /// The interface index the socket is bound to (`idiag_if`, offset 36 of `inet_diag_sockid`:
    /// SO_BINDTODEVICE, a VRF, an IPv6 scope); 0 for none, or when read from /proc/net.
    pub(super) device: u32,
    /// The kernel's `inet_diag_sockid` of the socket (addresses, ports, interface, cookie), as
    /// it reported it: what asks for this very socket again.
    pub(super) id: [u8; SOCKET_ID_LEN],
}

/// The size of `inet_diag_sockid`, which follows the four state bytes of an answer.
const SOCKET_ID_LEN: usize = 48;

/// Every socket on `ports` (every socket in `scope` when `ports` is empty) as sock_diag reports
/// it, with a note per table that failed.
pub(super) fn sockets(
    ports: &[u16],
    protocol: Option<Protocol>,
    scope: Scope,
    refused: &mut Vec<TableRefusal>,
) -> Vec<RawSock> {
    // One port: let the kernel filter. Many (or all): dump once and keep those in the set.
    let filter = (ports.len() == 1).then(|| ports[0]);
    let wanted_ports: std::collections::HashSet<u16> = ports.iter().copied().collect();
    let protos: &[Protocol] = match protocol {
        Some(Protocol::Tcp) => &[Protocol::Tcp],
        Some(Protocol::Udp) => &[Protocol::Udp],
        None => &[Protocol::Tcp, Protocol::Udp],
    };
    let families = |proto| [Family::Ipv4, Family::Ipv6].map(|family| Table { proto, family });
    let tables: Vec<Table> = protos
        .iter()
        .filter(|&&p| states_for(p, scope) != 0)
        .flat_map(|&proto| {
            // The whole TCP table: one request for both families. A port's dumps stay per
            // family: they run side by side, each with the kernel's port filter.
            if ports.is_empty() && proto == Protocol::Tcp {
                vec![Table {
                    proto,
                    family: Family::Any,
                }]
            } else {
                families(proto).to_vec()
            }
        })
        .collect();
    let one = |t: &Table| dump(*t, states_for(t.proto, scope), filter, &wanted_ports);
    // Each dump walks the protocol's whole table in the kernel, whatever its family or filter
    // (about 3 ms beside 5,000 listeners): a port's dumps run side by side. The whole table's
    // run beside the /proc walk instead, which has the cores' other share.
    let results: Vec<Result<Vec<RawSock>, LookupError>> = if ports.is_empty() {
        tables.iter().map(one).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = tables.iter().map(|t| s.spawn(move || one(t))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(LookupError::Panicked)))
                .collect()
        })
    };
    let mut socks = Vec::new();
    for (t, r) in tables.iter().zip(results) {
        match r {
            Ok(mut v) => socks.append(&mut v),
            Err(e) => {
                count_refusal(e.errno());
                // Refused (a sandbox that blocks netlink sockets, no descriptor left): read the
                // table as /proc/net shows it, as `ss` does; say so either way.
                let fallback = from_proc_net(*t, states_for(t.proto, scope), &wanted_ports);
                let read_instead = fallback.is_ok();
                if let Err(e) = &fallback {
                    count_refusal(e.errno());
                }
                socks.extend(fallback.unwrap_or_default());
                refused.push(TableRefusal {
                    protocol: t.proto,
                    family: t.family,
                    errno: e.errno().unwrap_or(0),
                    read_instead,
                });
            }
        }
    }
    socks
}

/// The sockets of `table` in the `states` bitmap on `ports` (all when empty), read from
/// `/proc/net/{tcp,tcp6,udp,udp6}`: no bound-only TCP socket, no IPV6_V6ONLY, no socket id to
/// ask for again.
fn from_proc_net(
    table: Table,
    states: u32,
    ports: &std::collections::HashSet<u16>,
) -> Result<Vec<RawSock>, LookupError> {
    let families: &[Family] = match table.family {
        Family::Any => &[Family::Ipv4, Family::Ipv6],
        Family::Ipv4 => &[Family::Ipv4],
        Family::Ipv6 => &[Family::Ipv6],
    };
    let mut out = Vec::new();
    for &family in families {
        let name = match (table.proto, family) {
            (Protocol::Tcp, Family::Ipv6) => "tcp6",
            (Protocol::Udp, Family::Ipv6) => "udp6",
            (Protocol::Tcp, _) => "tcp",
            (Protocol::Udp, _) => "udp",
        };
        let text = fs::read_to_string(format!("/proc/net/{name}"))
            .map_err(|source| LookupError::ProcNet { name, source })?;
        out.extend(
            crate::owners::proc_net::parse(&text)
                .into_iter()
                .filter(|r| {
                    states & (1 << u32::from(r.state).min(31)) != 0
                        && (ports.is_empty() || ports.contains(&r.local.port()))
                })
                .map(|r| RawSock {
                    protocol: table.proto,
                    family,
                    local: r.local,
                    remote: r.remote,
                    state: r.state,
                    uid: r.uid,
                    inode: u32::try_from(r.inode).unwrap_or(0),
                    v6_only: None,
                    device: 0,
                    id: [0; SOCKET_ID_LEN],
                }),
        );
    }
    Ok(out)
}

/// The state of a sock_diag answer.
pub(super) fn state_of(proto: Protocol, state: u8) -> SockState {
    match (proto, state) {
        (Protocol::Udp, 7) => SockState::Unconnected,
        (_, 1) => SockState::Established,
        (_, 2) => SockState::SynSent,
        (_, 3 | 12) => SockState::SynRecv,
        (_, 4) => SockState::FinWait1,
        (_, 5) => SockState::FinWait2,
        (_, 6) => SockState::TimeWait,
        (_, 7 | 13) => SockState::BoundOnly,
        (_, 8) => SockState::CloseWait,
        (_, 9) => SockState::LastAck,
        (_, 10) => SockState::Listen,
        (_, 11) => SockState::Closing,
        _ => SockState::Unknown,
    }
}

/// The legacy request type of the TCP table (`TCPDIAG_GETSOCK`): the one sock_diag request that
/// asks for both families at once (the kernel reads it as family `AF_UNSPEC`).
const TCPDIAG_GETSOCK: u16 = 18;

/// One dump: a protocol's table in one family, or (`Family::Any`) TCP's in both at once.
#[derive(Debug, Clone, Copy)]
struct Table {
    proto: Protocol,
    family: Family,
}

/// The kernel state bits (one per `TCP_*` value) a dump of `proto` asks for to cover `scope`,
/// derived from the very mapping the answers are read with, so the kernel's filter and
/// `Scope::admits` cannot disagree. 0: no socket of `proto` can be in the scope.
fn states_for(proto: Protocol, scope: Scope) -> u32 {
    (1..=TCP_BOUND_INACTIVE)
        .filter(|&s| u8::try_from(s).is_ok_and(|s| scope.admits(state_of(proto, s))))
        .fold(0, |mask, s| mask | 1 << s)
}

/// Dumps one table from the kernel and keeps the sockets on `ports` (all when empty). TCP in
/// both families is one legacy request: the kernel walks its TCP hash tables once instead of
/// once per family (about 1.9 ms of 5 beside 10,000 listeners); a kernel that refuses it gets
/// the two per-family requests.
fn dump(
    table: Table,
    states: u32,
    filter: Option<u16>,
    ports: &std::collections::HashSet<u16>,
) -> Result<Vec<RawSock>, LookupError> {
    let protocol = if table.proto == Protocol::Tcp {
        IPPROTO_TCP
    } else {
        IPPROTO_UDP
    };
    let request = match table.family {
        Family::Ipv4 => request_bytes(SOCK_DIAG_BY_FAMILY, AF_INET, protocol, states, filter),
        Family::Ipv6 => request_bytes(SOCK_DIAG_BY_FAMILY, AF_INET6, protocol, states, filter),
        Family::Any => request_bytes(TCPDIAG_GETSOCK, 0, protocol, states, filter),
    };
    let answer = dump_request(&request, table.proto, ports);
    if answer.is_ok() || table.family != Family::Any {
        return answer;
    }
    let mut socks = Vec::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        let one = Table {
            proto: table.proto,
            family,
        };
        socks.append(&mut dump(one, states, filter, ports)?);
    }
    Ok(socks)
}

/// Sends one dump request and reads every answer. Each answer is read in place (its fixed
/// header, then its attributes for IPV6_V6ONLY): nothing is allocated per socket but the row.
fn dump_request(
    request: &[u8],
    proto: Protocol,
    ports: &std::collections::HashSet<u16>,
) -> Result<Vec<RawSock>, LookupError> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&NlAddr::new(0, 0))?;
    socket.send(request, 0)?;
    let mut out = Vec::new();
    let mut rx = vec![0u8; 64 * 1024];
    loop {
        let size = socket.recv(&mut &mut rx[..], 0)?;
        if size == 0 {
            return Err(LookupError::Unfinished);
        }
        let mut offset = 0;
        while offset < size {
            let msg = NetlinkBuffer::new_checked(&rx[offset..size])?;
            let len = msg.length() as usize;
            let payload = msg.payload();
            match msg.message_type() {
                // Both carry an errno (0 or negative) first; a dump that failed midway says so
                // in its DONE.
                NLMSG_DONE | NLMSG_ERROR => {
                    let code = payload
                        .get(..4)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, i32::from_ne_bytes);
                    if code < 0 {
                        return Err(std::io::Error::from_raw_os_error(-code).into());
                    }
                    if msg.message_type() == NLMSG_DONE {
                        return Ok(out);
                    }
                }
                _ => {
                    let header = InetResponseHeader::parse(payload)?;
                    if ports.is_empty() || ports.contains(&header.socket_id.source_port) {
                        out.extend(raw_sock(&header, payload, proto));
                    }
                }
            }
            if len == 0 {
                break;
            }
            // Messages start 4-byte aligned.
            offset += len.next_multiple_of(4);
        }
    }
}

/// A sock_diag dump request, with a kernel-side filter `sport == port`
/// (`INET_DIAG_REQ_BYTECODE`) when `port` is given, so the kernel sends only the sockets on that
/// port instead of its whole table. The crate's request type can carry neither the filter nor
/// the legacy form, hence the bytes by hand, all in host byte order: `nlmsghdr`, then
/// `inet_diag_req_v2` (`SOCK_DIAG_BY_FAMILY`) or the legacy `inet_diag_req`
/// (`TCPDIAG_GETSOCK`), then the attribute.
fn request_bytes(kind: u16, family: u8, protocol: u8, states: u32, port: Option<u16>) -> Vec<u8> {
    const NLMSG_HDR: usize = 16;
    /// `inet_diag_req_v2` and the legacy `inet_diag_req`: the same fields in another order,
    /// the legacy one with the table bitmap (`idiag_dbs`, unused) at the end.
    const REQ_V2: usize = 56;
    const REQ_LEGACY: usize = 60;
    const INET_DIAG_REQ_BYTECODE: u16 = 1;
    const INET_DIAG_BC_S_EQ: u8 = 11;
    let legacy = kind == TCPDIAG_GETSOCK;
    let body = if legacy { REQ_LEGACY } else { REQ_V2 };
    let total = NLMSG_HDR + body + if port.is_some() { 12 } else { 0 };
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    b.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
    if legacy {
        // family (ignored: both), source and destination prefix lengths, extensions.
        b.extend_from_slice(&[family, 0, 0, 0]);
        b.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: unused by a dump
        b.extend_from_slice(&states.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes()); // idiag_dbs
    } else {
        b.extend_from_slice(&[family, protocol, 0, 0]); // family, protocol, ext, pad
        b.extend_from_slice(&states.to_ne_bytes());
        b.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: unused by a dump
    }
    let Some(port) = port else { return b };
    b.extend_from_slice(&12u16.to_ne_bytes()); // attribute length: header + 2 ops
    b.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    // op 1: if sport == port jump 8 (end: accept) else jump 12 (past the end: reject).
    b.extend_from_slice(&[INET_DIAG_BC_S_EQ, 8]);
    b.extend_from_slice(&12u16.to_ne_bytes());
    // op 2: the operand, the port in its `no` field.
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&port.to_ne_bytes());
    b
}

/// One answer (`payload`, read as `h`) as a row; `None` for a family that is neither IPv4 nor
/// IPv6.
fn raw_sock(h: &InetResponseHeader, payload: &[u8], protocol: Protocol) -> Option<RawSock> {
    let attrs = payload.get(INET_RESPONSE_LEN..).unwrap_or_default();
    let raw_id = payload.get(4..4 + SOCKET_ID_LEN)?.try_into().ok()?;
    let family = match h.family {
        AF_INET => Family::Ipv4,
        AF_INET6 => Family::Ipv6,
        _ => return None,
    };
    let id = &h.socket_id;
    let remote = (id.destination_port != 0 || !id.destination_address.is_unspecified())
        .then(|| SocketAddr::new(id.destination_address, id.destination_port));
    let v6_only = (family == Family::Ipv6)
        .then(|| {
            NlasIterator::new(attrs)
                .map_while(Result::ok)
                .find(|n| n.kind() == INET_DIAG_SKV6ONLY)
                .and_then(|n| n.value().first().map(|&b| b != 0))
        })
        .flatten();
    Some(RawSock {
        protocol,
        family,
        local: SocketAddr::new(id.source_address, id.source_port),
        remote,
        state: h.state,
        uid: h.uid,
        inode: h.inode,
        v6_only,
        device: id.interface_id,
        id: raw_id,
    })
}

/// Whether the kernel still has TCP socket `s` (the same socket: its cookie), asked for that
/// one socket — a hash lookup by its addresses instead of a walk of every table. `false` when
/// it cannot tell: not a TCP socket in the listening or connection tables (a bound-only one is
/// in neither), or not found, since a lookup by address can miss a socket that is still there
/// (another member of its SO_REUSEPORT group answers, or it is bound to a device). Only a dump
/// may call a socket gone.
pub(super) fn still_has(s: &RawSock) -> bool {
    let looked_up = s.protocol == Protocol::Tcp && !matches!(s.state, 6 | 7 | 12 | 13);
    looked_up && still_has_by_lookup(s).unwrap_or(false)
}

fn still_has_by_lookup(s: &RawSock) -> Result<bool, LookupError> {
    let family = if s.family == Family::Ipv6 {
        AF_INET6
    } else {
        AF_INET
    };
    let mut request = request_bytes(SOCK_DIAG_BY_FAMILY, family, IPPROTO_TCP, u32::MAX, None);
    // One socket, not a dump: the request flag alone, and the socket's own id.
    request[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    request[24..24 + SOCKET_ID_LEN].copy_from_slice(&s.id);
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&NlAddr::new(0, 0))?;
    socket.send(&request, 0)?;
    let mut rx = vec![0u8; 8 * 1024];
    let size = socket.recv(&mut &mut rx[..], 0)?;
    let msg = NetlinkBuffer::new_checked(&rx[..size])?;
    if msg.message_type() != SOCK_DIAG_BY_FAMILY {
        return Ok(false); // NLMSG_ERROR: ENOENT, or a cookie that is another socket's
    }
    let header = InetResponseHeader::parse(msg.payload())?;
    Ok(header.inode == s.inode)
}

/// Whether this kernel reports bound-only TCP sockets through sock_diag (Linux 6.9 and later).
pub(super) fn kernel_reports_bound_inactive() -> bool {
    kernel_version().is_some_and(|v| v >= (6, 9))
}

/// This kernel's (major, minor) version, read once.
fn kernel_version() -> Option<(u32, u32)> {
    static VERSION: std::sync::OnceLock<Option<(u32, u32)>> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|r| parse_kernel_version(&r))
    })
}

/// `6.8.0-45-generic` → (6, 8).
fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.trim().split(['.', '-']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table that could not be read keeps why: a garbled answer its decoding error, a refusal
    /// its errno (EMFILE counts as out of descriptors).
    #[test]
    fn a_failed_read_keeps_its_cause() {
        let garbled: LookupError = NetlinkBuffer::new_checked(&[0u8; 3][..])
            .map(|_| ())
            .unwrap_err()
            .into();
        assert!(std::error::Error::source(&garbled).is_some(), "{garbled:?}");
        assert_eq!(garbled.errno(), None);
        let refused = LookupError::from(std::io::Error::from_raw_os_error(24));
        assert_eq!(refused.errno(), Some(24));
        let proc_net = LookupError::ProcNet {
            name: "tcp6",
            source: std::io::Error::from_raw_os_error(2),
        };
        assert_eq!(proc_net.to_string(), "/proc/net/tcp6 could not be read");
        assert_eq!(proc_net.errno(), Some(2));
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(parse_kernel_version("6.8.0-45-generic"), Some((6, 8)));
        assert_eq!(parse_kernel_version("6.18.44-fc-v669\n"), Some((6, 18)));
        assert!(parse_kernel_version("x").is_none(), "garbage");
    }

    #[test]
    fn state_names_match_ss() {
        assert_eq!(state_of(Protocol::Tcp, 10).name(), "LISTEN");
        assert_eq!(state_of(Protocol::Tcp, 6).name(), "TIME_WAIT");
        assert_eq!(state_of(Protocol::Tcp, 13).name(), "BOUND");
        assert_eq!(state_of(Protocol::Udp, 7).name(), "UNCONN");
        assert_eq!(state_of(Protocol::Tcp, 5), SockState::FinWait2);
    }

    #[test]
    fn each_scope_asks_the_kernel_for_its_states_only() {
        let bit = |s: u32| 1u32 << s;
        // A listener table must ask for LISTEN alone: any other bit makes the kernel walk its
        // connection table too.
        assert_eq!(states_for(Protocol::Tcp, Scope::Listening), bit(10));
        assert_eq!(
            states_for(Protocol::Tcp, Scope::Bound),
            bit(7) | bit(10) | bit(TCP_BOUND_INACTIVE)
        );
        assert_eq!(
            states_for(Protocol::Udp, Scope::Bound) & bit(1),
            0,
            "connected UDP"
        );
        assert_ne!(
            states_for(Protocol::Udp, Scope::Bound) & bit(7),
            0,
            "unconnected UDP"
        );
        // Every state from ESTABLISHED (1) to the bound-only pseudo-state (13).
        assert_eq!(states_for(Protocol::Tcp, Scope::Everything), 0x3ffe);
    }

    /// The socket `port` as the kernel reports it (TCP, IPv4, this one port).
    /// The TCP sockets on `port`, but a TIME_WAIT left by another run (two copies of the suite
    /// at once: the other's connection may have used this port as its ephemeral one before this
    /// test's listener took it with SO_REUSEADDR).
    fn reported(port: u16) -> Vec<RawSock> {
        const TIME_WAIT: u8 = 6;
        sockets(
            &[port],
            Some(Protocol::Tcp),
            Scope::Everything,
            &mut Vec::new(),
        )
        .into_iter()
        .filter(|s| s.state != TIME_WAIT)
        .collect()
    }

    /// Asked for one socket by its id: a live listener and both ends of a connection are still
    /// there; a closed one is not, nor is a new listener on the same port (another cookie); a
    /// bound-only socket is never confirmed this way (the dump decides).
    #[test]
    fn a_socket_asked_for_by_its_id_is_there_only_while_it_lives() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_served, _) = listener.accept().unwrap();
        let before = reported(port);
        assert_eq!(
            before.len(),
            2,
            "the listener and the served end: {before:?}"
        );
        assert!(before.iter().all(still_has), "{before:?}");
        let client_port = client.local_addr().unwrap().port();
        let client_end = reported(client_port);
        assert!(client_end.iter().all(still_has), "{client_end:?}");
        drop(listener);
        // Another process (a second copy of the suite) may take the freed port first: then
        // another socket holds it all the same.
        let again = std::net::TcpListener::bind(("127.0.0.1", port));
        if let Err(e) = &again {
            assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");
        }
        let old = before.iter().find(|s| s.state == 10).unwrap();
        assert!(!still_has(old), "another socket now holds the port");
        drop(again);
        assert!(!still_has(old), "closed");

        let bound =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        bound
            .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let bound_port = bound.local_addr().unwrap().as_socket().unwrap().port();
        if kernel_reports_bound_inactive() {
            let b = reported(bound_port);
            assert_eq!(b.len(), 1, "{b:?}");
            assert!(!still_has(&b[0]), "a bound-only socket is left to the dump");
        }
    }

    #[test]
    fn the_two_family_request_is_the_legacy_layout() {
        let b = request_bytes(TCPDIAG_GETSOCK, 0, IPPROTO_TCP, 0x400, None);
        assert_eq!(b.len(), 16 + 60);
        assert_eq!(u32::from_ne_bytes(b[..4].try_into().unwrap()), 76);
        assert_eq!(u16::from_ne_bytes(b[4..6].try_into().unwrap()), 18);
        // The states follow the 4 header bytes and the 48-byte socket id.
        assert_eq!(
            u32::from_ne_bytes(b[16 + 52..16 + 56].try_into().unwrap()),
            0x400
        );
        let v2 = request_bytes(SOCK_DIAG_BY_FAMILY, AF_INET6, IPPROTO_UDP, 0x80, Some(53));
        assert_eq!(v2.len(), 16 + 56 + 12);
        assert_eq!(&v2[16..18], &[AF_INET6, IPPROTO_UDP]);
        assert_eq!(u32::from_ne_bytes(v2[20..24].try_into().unwrap()), 0x80);
    }
}
