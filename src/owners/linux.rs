//! Linux owners: netlink sock_diag for the sockets on a port (including bound-only TCP sockets,
//! state `TCP_BOUND_INACTIVE`, which `/proc/net/tcp`, `ss` and `lsof` never show), then
//! `/proc/<pid>/fd` to map socket inodes to processes, stopping at the last inode found.

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::sync::Arc;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer, NlasIterator, Parseable,
};
use netlink_packet_sock_diag::{
    AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, SOCK_DIAG_BY_FAMILY,
    inet::{InetResponseBuffer, InetResponseHeader},
};
use netlink_sys::{Socket, SocketAddr as NlAddr, protocols::NETLINK_SOCK_DIAG};

use super::{Device, Owner, OwnerNote, Owners, Query, Scope, SockState, TableRefusal, passwd};
use crate::target::{Family, Protocol};

/// Kernel pseudo-state (Linux 6.9+) for TCP sockets that are bound but neither listening nor
/// connected; asking for it is the only way to see them.
const TCP_BOUND_INACTIVE: u32 = 13;
/// `INET_DIAG_SKV6ONLY`: the IPV6_V6ONLY flag of an IPv6 socket.
const INET_DIAG_SKV6ONLY: u16 = 11;
/// The fixed part of a sock_diag answer (`inet_diag_msg`), before its attributes.
const INET_RESPONSE_LEN: usize = std::mem::size_of::<InetResponseBuffer>();

/// One socket as sock_diag reports it, before any process lookup.
#[derive(Debug, Clone)]
struct RawSock {
    protocol: Protocol,
    family: Family,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    state: u8,
    uid: u32,
    inode: u32,
    v6_only: Option<bool>,
    /// The interface index the socket is bound to (`idiag_if`, offset 36 of `inet_diag_sockid`:
    /// SO_BINDTODEVICE, a VRF, an IPv6 scope); 0 for none, or when read from /proc/net.
    device: u32,
    /// The kernel's `inet_diag_sockid` of the socket (addresses, ports, interface, cookie), as
    /// it reported it: what asks for this very socket again.
    id: [u8; SOCKET_ID_LEN],
}

/// At most this many sockets without a process are confirmed one by one (`still_has`); more
/// are confirmed by one dump.
const ASKED_ONE_BY_ONE: usize = 8;

/// The size of `inet_diag_sockid`, which follows the four state bytes of an answer.
const SOCKET_ID_LEN: usize = 48;

pub(super) fn of(q: Query) -> Owners {
    of_ports(&[q.port], q.protocol, Scope::Everything)
}

/// Every socket on `ports` (every socket in `scope` when `ports` is empty) as sock_diag reports
/// it, with a note per table that failed.
fn sockets(
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
    let results: Vec<std::io::Result<Vec<RawSock>>> = if ports.is_empty() {
        tables.iter().map(one).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = tables.iter().map(|t| s.spawn(move || one(t))).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("panicked")))
                })
                .collect()
        })
    };
    let mut socks = Vec::new();
    for (t, r) in tables.iter().zip(results) {
        match r {
            Ok(mut v) => socks.append(&mut v),
            Err(e) => {
                count_refusal(e.raw_os_error());
                // Refused (a sandbox that blocks netlink sockets, no descriptor left): read the
                // table as /proc/net shows it, as `ss` does; say so either way.
                let fallback = from_proc_net(*t, states_for(t.proto, scope), &wanted_ports);
                let read_instead = fallback.is_ok();
                if let Err(e) = &fallback {
                    count_refusal(e.raw_os_error());
                }
                socks.extend(fallback.unwrap_or_default());
                refused.push(TableRefusal {
                    protocol: t.proto,
                    family: t.family,
                    errno: e.raw_os_error().unwrap_or(0),
                    read_instead,
                });
            }
        }
    }
    socks
}

/// Every socket of the machine (this network namespace) in `scope`: the kernel asked for those
/// states only, and one walk over every process's descriptors, spread over the cores.
pub(super) fn table(protocol: Option<Protocol>, scope: Scope) -> Owners {
    lookup(&[], protocol, scope)
}

/// A fingerprint of the kernel's sockets in `scope` (each one's inode and state), from the
/// socket dumps alone — no process is read. `None` when a table could not be dumped. The live
/// table compares it between refreshes: when it is the same, so is the table (but for who holds
/// an unchanged socket, which it reads again every few seconds anyway), and the walk over every
/// process (most of a refresh's cost) is skipped.
pub(super) fn fingerprint(scope: Scope) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let mut refused = Vec::new();
    let socks = sockets(&[], None, scope, &mut refused);
    if !refused.is_empty() {
        return None;
    }
    let mut v: Vec<(u32, u8)> = socks.iter().map(|s| (s.inode, s.state)).collect();
    v.sort_unstable();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    Some(h.finish())
}

/// From this many ports on, their owners are found the way the whole table's are: every process
/// read on every core beside the dumps. A search that stops at the last socket and then looks
/// among each holder's relatives wins for a few ports; for a range scan's thousands of busy
/// ports it read /proc once per holder (10,000 listeners in 200 processes: 55 ms, against
/// 20 ms).
const WALK_ALL_FROM: usize = 64;

/// The kernel's sockets on `ports` (every socket when empty), and for the whole table (or `WALK_ALL_FROM` ports and more) the walk
/// over every process's socket descriptors: the two do not depend on each other, so for the whole
/// table they run at the same time.
fn sockets_and_walk(
    ports: &[u16],
    protocol: Option<Protocol>,
    scope: Scope,
    refused: &mut Vec<TableRefusal>,
) -> (Vec<RawSock>, Option<ProcScan>) {
    if !ports.is_empty() && ports.len() < WALK_ALL_FROM {
        return (sockets(ports, protocol, scope, refused), None);
    }
    std::thread::scope(|s| {
        let dumps = s.spawn(|| {
            let mut refused = Vec::new();
            let socks = sockets(ports, protocol, scope, &mut refused);
            // Its refusals count for the lookup that started it.
            (socks, refused, starved())
        });
        let walked = find_all_processes(None);
        let (socks, more, starved_there) = dumps.join().unwrap_or_else(|_| {
            let all = TableRefusal {
                protocol: protocol.unwrap_or(Protocol::Tcp),
                family: Family::Any,
                errno: 0,
                read_instead: false,
            };
            (Vec::new(), vec![all], 0)
        });
        add_starved(starved_there);
        refused.extend(more);
        (socks, Some(walked))
    })
}

/// The sockets of `table` in the `states` bitmap on `ports` (all when empty), read from
/// `/proc/net/{tcp,tcp6,udp,udp6}`: no bound-only TCP socket, no IPV6_V6ONLY, no socket id to
/// ask for again.
fn from_proc_net(
    table: Table,
    states: u32,
    ports: &std::collections::HashSet<u16>,
) -> std::io::Result<Vec<RawSock>> {
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
        let text = fs::read_to_string(format!("/proc/net/{name}"))?;
        out.extend(
            super::proc_net::parse(&text)
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

/// Owners of several ports at once, the sockets in `scope` only: one table dump and one /proc
/// walk for all of them.
pub(super) fn of_ports(ports: &[u16], protocol: Option<Protocol>, scope: Scope) -> Owners {
    lookup(ports, protocol, scope)
}

/// The sockets on `ports` (every socket in `scope` when empty) and their owners.
fn lookup(ports: &[u16], protocol: Option<Protocol>, scope: Scope) -> Owners {
    let refusals = starved();
    let mut out = Owners::default();
    let (socks, walked) = sockets_and_walk(ports, protocol, scope, &mut out.refused);
    // Kernels before 6.9 cannot list bound-only TCP sockets, nor can /proc/net (read when the
    // kernel refused the dump): look for them descriptor by descriptor. (A listeners-only
    // lookup has no use for them.)
    let tcp_refused = out.refused.iter().any(|r| r.protocol == Protocol::Tcp);
    if protocol != Some(Protocol::Udp)
        && scope != Scope::Listening
        && !ports.is_empty()
        && (!kernel_reports_bound_inactive() || tcp_refused)
    {
        let known: std::collections::HashSet<u64> =
            socks.iter().map(|s| u64::from(s.inode)).collect();
        let (extra, denied) = bound_only_by_pidfd(ports, &known);
        if denied > 0 && extra.is_empty() {
            out.notes.push(format!(
                "this kernel cannot report TCP sockets that are bound but not listening, and {denied} process(es) could not be inspected for them; a bound-only socket there would hold the port without being named (run as root)"
            ));
        }
        out.owners.extend(extra);
    }
    let wanted: Vec<u64> = socks
        .iter()
        .filter(|s| s.inode != 0)
        .map(|s| u64::from(s.inode))
        .collect();
    // Every socket: walk every process on every core, keeping every holder of each socket.
    // Some ports: every process too, each read only until it shows the port's sockets.
    let scan = match walked {
        Some(mut all) => {
            let keep: std::collections::HashSet<u64> = wanted.iter().copied().collect();
            all.pids.retain(|inode, _| keep.contains(inode));
            parent_first(&mut all);
            all
        }
        None => find_every_holder(&wanted),
    };
    // A socket with no process found: look once more. One that is gone by then was short-lived
    // (a client, another tool's probe), not another user's hidden socket.
    let unowned: Vec<u64> = wanted
        .iter()
        .copied()
        .filter(|i| !scan.pids.contains_key(i))
        .collect();
    // The whole table (`list`, refreshed every second) does not look twice: a socket gone by the
    // next refresh simply leaves the table.
    // A few are each asked for by itself first (a hash lookup, tens of microseconds); when one
    // cannot be confirmed so, or there are many (a hidden server's connections), the ports are
    // dumped again (a walk of the kernel's whole tables, 2 ms on a busy machine).
    let confirmed = || {
        unowned.len() <= ASKED_ONE_BY_ONE
            && socks
                .iter()
                .filter(|s| unowned.contains(&u64::from(s.inode)))
                .all(still_has)
    };
    let still_there: std::collections::HashSet<u64> = if unowned.is_empty() {
        std::collections::HashSet::new()
    } else if ports.is_empty() || confirmed() {
        unowned.iter().copied().collect()
    } else {
        let mut refused = Vec::new();
        let again: std::collections::HashSet<u64> = sockets(ports, protocol, scope, &mut refused)
            .iter()
            .map(|s| u64::from(s.inode))
            .collect();
        // A table that could not be read again says nothing of what left it.
        if refused.iter().any(|r| !r.read_instead) {
            unowned.iter().copied().collect()
        } else {
            again
        }
    };
    // Refused a descriptor while looking: "no process found" proves nothing then.
    let starved = starved() != refusals;
    out.out_of_descriptors = starved;
    if scan.unreadable > 0 {
        out.notes.push(unreadable_note(scan.unreadable, starved));
    }
    let hidden_note = hidden_note_for(starved, scan.unreadable > 0);
    // What each holder is and why it runs, read once per process and on every core.
    let mut holders: Vec<u32> = socks
        .iter()
        .filter_map(|s| scan.pids.get(&u64::from(s.inode))?.first().copied())
        .collect();
    holders.sort_unstable();
    holders.dedup();
    let details = details_of(&holders);
    let devices = devices_of(&socks);
    let made = Made {
        pids: &scan.pids,
        details: &details,
        devices: &devices,
        still_there: &still_there,
        starved,
        hidden_note: &hidden_note,
    };
    let (owners, hidden) = made.owners(&socks);
    out.owners = owners;
    out.hidden = hidden;
    // A socket no process holds may be a tunnel device's: its settings say so.
    super::links::attribute(&mut out, |n| {
        matches!(
            n,
            Some(
                OwnerNote::OtherUser
                    | OwnerNote::NoPtrace
                    | OwnerNote::Uninspectable
                    | OwnerNote::NotInView
            )
        )
    });
    // A port's sockets in the order answers name them; the whole table is left in the kernel's
    // order: its readers (`list`, the window) sort it their own way.
    if !ports.is_empty() {
        holders_first(&mut out.owners);
    }
    out
}

/// What a table's rows are made from, read once for all of them: every socket's holders, their
/// details, which sockets without a process are still there, how to word a hidden owner.
struct Made<'a, H> {
    pids: &'a HashMap<u64, Vec<u32>>,
    details: &'a HashMap<u32, Details>,
    devices: &'a HashMap<u32, Device>,
    still_there: &'a std::collections::HashSet<u64>,
    starved: bool,
    hidden_note: &'a H,
}

impl<H: Fn(u32) -> OwnerNote + Sync> Made<'_, H> {
    /// The owners of `socks` and how many have an owner we cannot see; a whole table's (10,000
    /// rows) made on every core.
    fn owners(&self, socks: &[RawSock]) -> (Vec<Owner>, usize) {
        /// Below this, one thread makes the rows faster than starting others.
        const PARALLEL_FROM: usize = 1024;
        let part = |socks: &[RawSock]| {
            let mut user_of = user_names();
            let mut hidden = 0;
            let owners: Vec<Owner> = socks
                .iter()
                .map(|s| {
                    let (owner, is_hidden) = self.owner(s, &mut user_of);
                    hidden += usize::from(is_hidden);
                    owner
                })
                .collect();
            (owners, hidden)
        };
        if socks.len() < PARALLEL_FROM {
            return part(socks);
        }
        let parts = in_batches_counted(socks, socks.len().div_ceil(crate::par::cores()), part);
        // A part that panicked is made again here: a table never silently misses rows.
        let mut all = (Vec::with_capacity(socks.len()), 0);
        for (made, chunk) in parts
            .into_iter()
            .zip(socks.chunks(socks.len().div_ceil(crate::par::cores())))
        {
            let (mut owners, hidden) = made.unwrap_or_else(|| part(chunk));
            all.0.append(&mut owners);
            all.1 += hidden;
        }
        all
    }

    /// One socket's owner; `true` when a process we cannot see holds it.
    fn owner(&self, s: &RawSock, user_of: &mut impl FnMut(u32) -> Arc<str>) -> (Owner, bool) {
        let inode = u64::from(s.inode);
        let state = state_of(s.protocol, s.state);
        let pids = self.pids.get(&inode).cloned().unwrap_or_default();
        let pid = pids.first().copied();
        let d = pid.and_then(|p| self.details.get(&p));
        let mut hidden = false;
        let note = if state == SockState::TimeWait {
            Some(OwnerNote::TimeWait)
        } else if pid.is_some() {
            None
        } else if inode == 0 {
            Some(OwnerNote::Orphan)
        } else if !self.starved && !self.still_there.contains(&inode) {
            Some(OwnerNote::ShortLived)
        } else {
            hidden = true;
            Some((self.hidden_note)(s.uid))
        };
        let is_time_wait = state == SockState::TimeWait;
        let owner = Owner {
            pid,
            pids,
            process: d.and_then(|d| d.0.name.clone()),
            path: d.and_then(|d| d.0.path.clone()),
            cmdline: d.and_then(|d| d.0.cmdline.clone()),
            // The holder's own user; the socket's where no process is named.
            user: (!is_time_wait).then(|| user_of(d.and_then(|d| d.0.uid).unwrap_or(s.uid))),
            uid: (!is_time_wait).then(|| d.and_then(|d| d.0.uid).unwrap_or(s.uid)),
            protocol: s.protocol,
            family: s.family,
            local: s.local,
            remote: s.remote,
            state,
            v6_only: s.v6_only,
            inode,
            note,
            holder: None,
            reuse_port: None,
            ancestry: d.map(|d| Arc::clone(&d.1)).unwrap_or_default(),
            managed_by: d.and_then(|d| d.2.clone()),
            kernel: None,
            device: self.devices.get(&s.device).cloned(),
        };
        (owner, hidden)
    }
}

/// The devices the sockets in `socks` are bound to, each index named once (in this network
/// namespace, where the sockets were dumped); none when no socket is bound to one.
fn devices_of(socks: &[RawSock]) -> HashMap<u32, Device> {
    let mut indices: Vec<u32> = socks.iter().map(|s| s.device).filter(|&i| i != 0).collect();
    if indices.is_empty() {
        return HashMap::new();
    }
    indices.sort_unstable();
    indices.dedup();
    // SIOCGIFNAME needs a socket of any kind to ask through.
    let asker = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        None,
    )
    .ok();
    indices
        .into_iter()
        .map(|index| {
            let name = asker
                .as_ref()
                .and_then(|fd| rustix::net::netdevice::index_to_name(fd, index).ok())
                .map(Arc::from);
            (index, Device { index, name })
        })
        .collect()
}

/// Listening and UDP sockets before connections and bound-only ones, sockets with a process
/// before those without: the order every answer lists owners in.
fn holders_first(owners: &mut [Owner]) {
    owners.sort_by_cached_key(|o| {
        (
            o.state.is_connection() || o.state == SockState::BoundOnly,
            o.pid.is_none(),
        )
    });
}

thread_local! {
    /// How many times this thread, or the workers of its lookups, was refused a descriptor
    /// (EMFILE, ENFILE) while looking up owners. A lookup during which its thread's count moved
    /// could not look everywhere, so it cannot tell "no process holds it" or "it is gone" from
    /// "we could not look" (the tool's limit, never the socket's state). Per thread, not per
    /// process: the live table's refresh and a check run at once on two threads, and one's
    /// refusals must not make the other's answer unknown.
    static STARVED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// This thread's count of refused descriptors.
fn starved() -> usize {
    STARVED.with(std::cell::Cell::get)
}

/// Adds `n` refusals to this thread's count (those of a worker it started for its lookup).
fn add_starved(n: usize) {
    STARVED.with(|c| c.set(c.get() + n));
}

/// Counts `errno` when it says this process (or the system) has no descriptor left.
fn count_refusal(errno: Option<i32>) {
    if matches!(errno, Some(23 | 24)) {
        add_starved(1);
    }
}

/// `par::in_batches`, with the descriptors refused on its worker threads counted for the
/// calling thread's lookup.
fn in_batches_counted<T: Sync, R: Send>(
    items: &[T],
    batch: usize,
    work: impl Fn(&[T]) -> R + Sync,
) -> Vec<Option<R>> {
    crate::par::in_batches(items, batch, |b| {
        let before = starved();
        let r = work(b);
        (r, starved() - before)
    })
    .into_iter()
    .map(|part| {
        part.map(|(r, refused)| {
            add_starved(refused);
            r
        })
    })
    .collect()
}

/// Why some processes could not be inspected.
fn unreadable_note(count: usize, starved: bool) -> String {
    if starved {
        format!(
            "{count} process{} could not be inspected: this process ran out of file descriptors; {}",
            if count == 1 { "" } else { "es" },
            crate::wording::RAISE_FD_LIMIT
        )
    } else if rustix::process::geteuid().is_root() {
        format!(
            "{count} process{} could not be inspected (not dumpable, or in a user namespace this process has no rights in)",
            if count == 1 { "" } else { "es" }
        )
    } else {
        format!(
            "{count} process{} could not be inspected (another user's; run as root to see them)",
            if count == 1 { "" } else { "es" }
        )
    }
}

/// Why a socket that is still there has no process we found.
fn hidden_note_for(starved: bool, uninspected: bool) -> impl Fn(u32) -> OwnerNote {
    let euid = rustix::process::geteuid().as_raw();
    let no_ptrace = is_root_without_ptrace();
    move |socket_uid| {
        if starved {
            OwnerNote::OutOfDescriptors
        } else if socket_uid != euid && euid != 0 {
            OwnerNote::OtherUser
        } else if socket_uid != euid && no_ptrace {
            OwnerNote::NoPtrace
        } else if uninspected {
            // Some process in view could not be read: it may be the one.
            OwnerNote::Uninspectable
        } else {
            // We may read every process that could hold it, and none does.
            OwnerNote::NotInView
        }
    }
}

/// User names by uid, the last one kept at hand: nearly every socket of a table belongs to one
/// of a few users, and the shared cache behind `passwd::user_name` takes a lock per call.
fn user_names() -> impl FnMut(u32) -> Arc<str> {
    let mut last: Option<(u32, Arc<str>)> = None;
    move |uid| match &last {
        Some((u, name)) if *u == uid => Arc::clone(name),
        _ => {
            let name = passwd::user_name(uid);
            last = Some((uid, Arc::clone(&name)));
            name
        }
    }
}

/// Root whose effective set lacks CAP_SYS_PTRACE (a hardened service, a container) cannot read
/// other users' /proc/PID/fd; saying "run as root" to it would be wrong.
fn is_root_without_ptrace() -> bool {
    rustix::process::geteuid().is_root()
        && rustix::thread::capabilities(None).is_ok_and(|c| {
            !c.effective
                .contains(rustix::thread::CapabilitySet::SYS_PTRACE)
        })
}

/// The state of a sock_diag answer.
fn state_of(proto: Protocol, state: u8) -> SockState {
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
) -> std::io::Result<Vec<RawSock>> {
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
) -> std::io::Result<Vec<RawSock>> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&NlAddr::new(0, 0))?;
    socket.send(request, 0)?;
    let bad = |e: netlink_packet_core::DecodeError| std::io::Error::other(e.to_string());
    let mut out = Vec::new();
    let mut rx = vec![0u8; 64 * 1024];
    loop {
        let size = socket.recv(&mut &mut rx[..], 0)?;
        if size == 0 {
            return Err(std::io::Error::other("sock_diag ended without NLMSG_DONE"));
        }
        let mut offset = 0;
        while offset < size {
            let msg = NetlinkBuffer::new_checked(&rx[offset..size]).map_err(bad)?;
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
                        return Err(std::io::Error::from_raw_os_error(-code));
                    }
                    if msg.message_type() == NLMSG_DONE {
                        return Ok(out);
                    }
                }
                _ => {
                    let header = InetResponseHeader::parse(payload).map_err(bad)?;
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
fn still_has(s: &RawSock) -> bool {
    let looked_up = s.protocol == Protocol::Tcp && !matches!(s.state, 6 | 7 | 12 | 13);
    looked_up && still_has_by_lookup(s).unwrap_or(false)
}

fn still_has_by_lookup(s: &RawSock) -> std::io::Result<bool> {
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
    let bad = |e: netlink_packet_core::DecodeError| std::io::Error::other(e.to_string());
    let msg = NetlinkBuffer::new_checked(&rx[..size]).map_err(bad)?;
    if msg.message_type() != SOCK_DIAG_BY_FAMILY {
        return Ok(false); // NLMSG_ERROR: ENOENT, or a cookie that is another socket's
    }
    let header = InetResponseHeader::parse(msg.payload()).map_err(bad)?;
    Ok(header.inode == s.inode)
}

/// Whether this kernel reports bound-only TCP sockets through sock_diag (Linux 6.9 and later).
fn kernel_reports_bound_inactive() -> bool {
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

/// Finds TCP sockets bound to one of `ports` that neither listen nor connect, by borrowing each
/// socket descriptor of each process we may inspect (`pidfd_open` + `pidfd_getfd`, which needs
/// root or ptrace rights over the process) and asking it `getsockname`. Sockets whose inode is in
/// `known` are skipped. Returns the owners found and how many processes we could not inspect.
pub(super) fn bound_only_by_pidfd(
    ports: &[u16],
    known: &std::collections::HashSet<u64>,
) -> (Vec<Owner>, usize) {
    use rustix::net::{SocketType, getpeername, getsockname, sockopt};
    use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};

    let mut found = Vec::new();
    let mut denied = 0;
    let Ok(dir) = fs::read_dir("/proc") else {
        return (found, denied);
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let mut pidfd = None;
        for fd in fds.flatten() {
            let Some(num) = fd.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Some(inode) = fs::read_link(fd.path())
                .ok()
                .and_then(|l| parse_socket_link(l.to_str().unwrap_or("")))
            else {
                continue;
            };
            if known.contains(&inode) {
                continue;
            }
            if pidfd.is_none() {
                if let Some(Ok(p)) = Pid::from_raw(pid).map(|p| pidfd_open(p, PidfdFlags::empty()))
                {
                    pidfd = Some(p);
                } else {
                    denied += 1;
                    break;
                }
            }
            let Some(pfd) = pidfd.as_ref() else { break };
            let Ok(sock) = pidfd_getfd(pfd, num, PidfdGetfdFlags::empty()) else {
                denied += 1;
                break;
            };
            let stream = sockopt::socket_type(&sock).is_ok_and(|t| t == SocketType::STREAM);
            let Some(local) = getsockname(&sock)
                .ok()
                .and_then(|a| SocketAddr::try_from(a).ok())
            else {
                continue;
            };
            if !stream || !ports.contains(&local.port()) {
                continue;
            }
            let listening = sockopt::socket_acceptconn(&sock).unwrap_or(true);
            let connected = getpeername(&sock).ok().flatten().is_some();
            if listening || connected {
                continue;
            }
            let pid_u = u32::try_from(pid).unwrap_or(0);
            let info = proc_info(pid_u);
            let Some(uid) = info.uid.or_else(|| {
                entry
                    .metadata()
                    .ok()
                    .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            }) else {
                continue;
            };
            found.push(Owner {
                pid: Some(pid_u),
                pids: vec![pid_u],
                process: info.name,
                path: info.path,
                cmdline: info.cmdline,
                user: Some(passwd::user_name(uid)),
                uid: Some(uid),
                protocol: Protocol::Tcp,
                family: if local.is_ipv4() {
                    Family::Ipv4
                } else {
                    Family::Ipv6
                },
                local,
                remote: None,
                state: SockState::BoundOnly,
                v6_only: None,
                inode,
                note: Some(OwnerNote::FoundByDescriptor),
                holder: None,
                reuse_port: None,
                ancestry: Arc::default(),
                kernel: None,
                device: None,
                managed_by: None,
            });
        }
    }
    (found, denied)
}

/// Whether the socket `inode` held by `pid` has SO_REUSEPORT set: sock_diag does not report it,
/// so the socket is borrowed (pidfd_getfd, root or ptrace rights) and asked. `None` when it
/// cannot be (no rights, the process or socket is gone).
pub(crate) fn reuseport_of(pid: u32, inode: u64) -> Option<bool> {
    use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};
    let pidfd = pidfd_open(
        Pid::from_raw(i32::try_from(pid).ok()?)?,
        PidfdFlags::empty(),
    )
    .ok()?;
    let fd = fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .flatten()
        .find_map(|e| {
            let link = fs::read_link(e.path()).ok()?;
            (parse_socket_link(link.to_str()?)? == inode)
                .then(|| e.file_name().to_str()?.parse::<i32>().ok())
                .flatten()
        })?;
    let sock = pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty()).ok()?;
    rustix::net::sockopt::socket_reuseport(&sock).ok()
}

/// Parent PIDs and names already read during one lookup: many owners share their ancestors.
#[derive(Default)]
struct Kin {
    parent: HashMap<u32, Option<u32>>,
    name: HashMap<u32, Option<String>>,
}

impl Kin {
    fn parent(&mut self, pid: u32) -> Option<u32> {
        *self.parent.entry(pid).or_insert_with(|| parent_of(pid))
    }

    fn name(&mut self, pid: u32) -> Option<String> {
        self.name
            .entry(pid)
            .or_insert_with(|| {
                fs::read(format!("/proc/{pid}/comm")).ok().map(|b| {
                    String::from_utf8_lossy(b.strip_suffix(b"\n").unwrap_or(&b)).into_owned()
                })
            })
            .clone()
    }
}

/// Why `pid` runs: its parent chain up to PID 1 (nearest first) and what manages it (from its
/// `cgroup` text and that chain).
fn why_it_runs(
    pid: u32,
    cgroup: &str,
    family: &mut Kin,
) -> (Vec<super::Ancestor>, Option<super::ManagedBy>) {
    let mut ancestry: Vec<super::Ancestor> = Vec::new();
    let mut cur = pid;
    while let Some(p) = family.parent(cur) {
        if p == 0 || ancestry.len() > 64 || ancestry.iter().any(|a| a.pid == p) {
            break;
        }
        let name = family.name(p);
        ancestry.push(super::Ancestor { pid: p, name });
        cur = p;
    }
    let mut managed = super::managed_by(cgroup, &ancestry);
    if let Some(m) = managed
        .as_mut()
        .filter(|m| m.kind == super::ManagedKind::Container)
    {
        m.container = super::runtime::container_name(&m.name).map(Into::into);
    }
    (ancestry, managed)
}

/// Name, executable and command line of a process, its parent chain and what manages it.
type Details = (ProcInfo, Arc<[super::Ancestor]>, Option<super::ManagedBy>);

/// The details of each of `pids`, read on every core (a few files under /proc per process and
/// per ancestor: for a table of hundreds of processes, most of the time after the walk).
fn details_of(pids: &[u32]) -> HashMap<u32, Details> {
    // One batch per core: each keeps its own cache of shared ancestors.
    in_batches_counted(pids, pids.len().div_ceil(crate::par::cores()), |part| {
        // Each thread keeps its own cache of ancestors: most owners share them.
        let mut family = Kin::default();
        part.iter()
            .map(|&p| {
                let mut dir = ProcDir::open(p);
                // Its parent from its own stat, read through the open directory.
                let parent = dir.read("stat").and_then(parent_in_stat);
                family.parent.insert(p, parent);
                let cgroup = dir
                    .read("cgroup")
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                let (ancestry, managed) = why_it_runs(p, &cgroup, &mut family);
                let info = proc_info_in(&mut dir);
                (p, (info, ancestry.into(), managed))
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .flatten()
    .collect()
}

/// The details of processes that share a socket with its first holder, for `list`'s rows; the
/// user is the process's own (the owner of its /proc directory), not the socket's.
pub(super) fn processes(pids: &[u32]) -> HashMap<u32, super::rows::Sharer> {
    use std::os::unix::fs::MetadataExt;
    details_of(pids)
        .into_iter()
        .map(|(pid, (info, ancestry, managed_by))| {
            let user = info.uid.map(passwd::user_name).or_else(|| {
                fs::metadata(format!("/proc/{pid}"))
                    .ok()
                    .map(|m| passwd::user_name(m.uid()))
            });
            let row = super::rows::Sharer {
                process: info.name,
                path: info.path,
                command: info.cmdline,
                user,
                ancestry,
                managed_by,
            };
            (pid, row)
        })
        .collect()
}

/// What the /proc walk learned.
#[derive(Debug, Default)]
pub(crate) struct ProcScan {
    /// socket inode → every PID holding it, the parent first.
    pub pids: HashMap<u64, Vec<u32>>,
    /// Processes whose descriptors we could not list.
    pub unreadable: usize,
}

/// Appends the socket inodes among `pid`'s descriptors to `out`; `false` when we may not list
/// them.
/// Each link is read as its name is listed: no name is copied.
fn socket_inodes(pid: u32, out: &mut Vec<u64>) -> bool {
    let Some(dir) = open_fd_dir(pid) else {
        return false;
    };
    each_fd_name(&dir, |name| out.extend(socket_link(&dir, name)))
}

/// `n` in decimal as a C string, written into `buf` (a descriptor's name in `/proc/PID/fd`).
fn decimal_name(n: u32, buf: &mut [u8; 12]) -> &std::ffi::CStr {
    let mut at = buf.len() - 1; // the last byte stays the terminating NUL
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::ffi::CStr::from_bytes_with_nul(&buf[at..]).unwrap_or_default()
}

/// The socket inode behind descriptor `name` of an open `/proc/PID/fd` (`None`: not a socket),
/// its link read into a buffer on the stack; `NOENT` when no such descriptor is open.
fn link_inode(dir: &rustix::fd::OwnedFd, name: &std::ffi::CStr) -> rustix::io::Result<Option<u64>> {
    let mut link = [std::mem::MaybeUninit::<u8>::uninit(); 64];
    let (read, _) = rustix::fs::readlinkat_raw(dir, name, &mut link)?;
    Ok(std::str::from_utf8(read).ok().and_then(parse_socket_link))
}

/// `/proc/PID/fd` opened once, and the names of its descriptors. Reading each link relative to
/// this open directory (readlinkat) walks one path component instead of four, which is most of
/// the cost of mapping a busy server's thousands of descriptors.
fn fd_names(pid: u32) -> Option<(rustix::fd::OwnedFd, Vec<std::ffi::CString>)> {
    let dir = open_fd_dir(pid)?;
    let names = fd_names_in(&dir)?;
    Some((dir, names))
}

/// `/proc/PID/fd`, open; `None` when we may not read it (a refused descriptor is counted).
fn open_fd_dir(pid: u32) -> Option<rustix::fd::OwnedFd> {
    open_proc_dir(pid, "/fd")
        .map_err(|e| count_refusal(Some(e.raw_os_error())))
        .ok()
}

/// Opens the directory `/proc/PID` followed by `tail` (`""` or `"/fd"`): the one place either
/// path is built, without `format!`'s machinery for every process of a whole-table walk.
fn open_proc_dir(pid: u32, tail: &str) -> rustix::io::Result<rustix::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let mut name = [0u8; 12];
    let path = [
        b"/proc/".as_slice(),
        decimal_name(pid, &mut name).to_bytes(),
        tail.as_bytes(),
    ]
    .concat();
    rustix::fs::open(
        path.as_slice(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// The names of the descriptors in an open `/proc/PID/fd`, listed with getdents on this very
/// descriptor (a `Dir` would open "." again: one more open and close per process, for every
/// process of a whole-table walk).
fn fd_names_in(dir: &rustix::fd::OwnedFd) -> Option<Vec<std::ffi::CString>> {
    let mut names = Vec::new();
    each_fd_name(dir, |name| names.push(name.to_owned())).then_some(names)
}

/// Calls `f` with the name of each descriptor in an open `/proc/PID/fd` as getdents lists it;
/// `false` when the listing failed.
fn each_fd_name(dir: &rustix::fd::OwnedFd, mut f: impl FnMut(&std::ffi::CStr)) -> bool {
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 16 * 1024];
    let mut list = rustix::fs::RawDir::new(dir, &mut buf);
    while let Some(entry) = list.next() {
        let Ok(entry) = entry else {
            return false;
        };
        let name = entry.file_name();
        if name.to_bytes().first().is_some_and(u8::is_ascii_digit) {
            f(name);
        }
    }
    true
}

/// `names` (ascending descriptor numbers) reordered so the descriptors most likely to hold
/// `missing` come first; every name stays, so the search remains complete.
///
/// The kernel numbers socket inodes in creation order and hands out the lowest free descriptor,
/// so in a process the two orders mostly agree: a server's listener, opened at start, has a low
/// descriptor and a low inode; a socket opened last, a high one. Sixteen evenly spaced samples
/// place each missing inode between two descriptors; the search starts there and widens. When
/// the orders do not agree (descriptors reused, dup2 to fixed numbers) it only costs the samples.
fn nearest_first(
    dir: &rustix::fd::OwnedFd,
    names: Vec<std::ffi::CString>,
    missing: &std::collections::HashSet<u64>,
) -> Vec<std::ffi::CString> {
    const SAMPLES: usize = 16;
    let last = names.len() - 1;
    let samples: Vec<(usize, u64)> = (0..SAMPLES)
        .map(|k| k * last / (SAMPLES - 1))
        .filter_map(|at| socket_link(dir, &names[at]).map(|ino| (at, ino)))
        .collect();
    if samples.len() < 2 {
        return names;
    }
    // Where each missing inode should sit: interpolated between the samples around it.
    let guesses: Vec<usize> = missing
        .iter()
        .map(|&target| {
            let below = samples.iter().filter(|s| s.1 <= target).max_by_key(|s| s.1);
            let above = samples.iter().filter(|s| s.1 >= target).min_by_key(|s| s.1);
            match (below, above) {
                (Some(&(at_low, ino_low)), Some(&(at_high, ino_high))) if ino_high > ino_low => {
                    // Integer interpolation; u128 cannot overflow on u64 inodes times indices.
                    let span = u128::from(ino_high - ino_low);
                    let part = u128::from(target - ino_low);
                    let offset = part * at_low.abs_diff(at_high) as u128 / span;
                    let offset = usize::try_from(offset).unwrap_or(0);
                    // From the lower inode's descriptor toward the higher one's, either way.
                    if at_high >= at_low {
                        at_low + offset
                    } else {
                        at_low - offset
                    }
                }
                (Some(&(at, _)), _) | (None, Some(&(at, _))) => at,
                (None, None) => 0,
            }
        })
        .collect();
    let mut order: Vec<(usize, std::ffi::CString)> = names.into_iter().enumerate().collect();
    order.sort_by_key(|(i, _)| guesses.iter().map(|g| g.abs_diff(*i)).min().unwrap_or(0));
    order.into_iter().map(|(_, name)| name).collect()
}

/// The socket inode behind descriptor `name` of an open `/proc/PID/fd`, if it is a socket.
fn socket_link(dir: &rustix::fd::OwnedFd, name: &std::ffi::CStr) -> Option<u64> {
    link_inode(dir, name).ok().flatten()
}

/// Which of `missing` process `pid` holds. A process with many descriptors (a busy server) is
/// read nearest-first and on every core at once; all stop as soon as every missing inode is
/// found. `None` when its descriptors may not be listed.
fn holds_which(pid: u32, missing: &std::collections::HashSet<u64>) -> Option<Vec<u64>> {
    /// Below this, one thread reads faster than starting others.
    const PARALLEL_FROM: usize = 512;
    let (dir, mut names) = fd_names(pid)?;
    // Listed but not readable (a process this one may not inspect: not dumpable, or in a user
    // namespace it has no rights in): as unreadable as a list refused.
    if names.first().is_some_and(|n| {
        matches!(
            link_inode(&dir, n),
            Err(rustix::io::Errno::ACCESS | rustix::io::Errno::PERM)
        )
    }) {
        return None;
    }
    let threads = crate::par::cores();
    if names.len() >= PARALLEL_FROM {
        names = nearest_first(&dir, names, missing);
    }
    if names.len() < PARALLEL_FROM || threads == 1 {
        let mut hits = Vec::new();
        for n in &names {
            if let Some(i) = socket_link(&dir, n).filter(|i| missing.contains(i)) {
                hits.push(i);
                if hits.len() == missing.len() {
                    break;
                }
            }
        }
        return Some(hits);
    }
    let found = std::sync::atomic::AtomicUsize::new(0);
    let hits = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (dir, found, names) = (&dir, &found, &names);
                // Thread t reads every threads-th name of the nearest-first order.
                s.spawn(move || {
                    let mut hits = Vec::new();
                    for n in names.iter().skip(t).step_by(threads) {
                        if found.load(std::sync::atomic::Ordering::Relaxed) >= missing.len() {
                            break;
                        }
                        if let Some(i) = socket_link(dir, n).filter(|i| missing.contains(i)) {
                            hits.push(i);
                            found.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    hits
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .flatten()
            .collect()
    });
    Some(hits)
}

/// Every process holding any of `inodes` (every socket descriptor when `None`), all of them, not
/// the first, reading `/proc/*/fd` on every core at once; the holders of each socket are ordered
/// parent first.
fn find_all_processes(inodes: Option<&[u64]>) -> ProcScan {
    let mut scan = ProcScan::default();
    let wanted: Option<std::collections::HashSet<u64>> =
        inodes.map(|i| i.iter().copied().collect());
    let Ok(dir) = fs::read_dir("/proc") else {
        return scan;
    };
    let pids: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    // Small batches taken in turn: the dumps run beside this walk and slow one core or another.
    let parts = in_batches_counted(&pids, 8, |part| {
        let mut hits = Vec::new();
        let mut unreadable = 0;
        let mut inodes = Vec::new();
        for &pid in part {
            inodes.clear();
            if socket_inodes(pid, &mut inodes) {
                hits.extend(
                    inodes
                        .iter()
                        .filter(|i| wanted.as_ref().is_none_or(|w| w.contains(i)))
                        .map(|&i| (i, pid)),
                );
            } else {
                unreadable += 1;
            }
        }
        (hits, unreadable)
    });
    for (hits, unreadable) in parts.into_iter().flatten() {
        scan.unreadable += unreadable;
        for (inode, pid) in hits {
            scan.pids.entry(inode).or_default().push(pid);
        }
    }
    scan
}

/// Parent first among the holders of one socket (only shared sockets need the lookup).
fn parent_first(scan: &mut ProcScan) {
    let mut depth: HashMap<u32, usize> = HashMap::new();
    for holders in scan.pids.values_mut().filter(|h| h.len() > 1) {
        holders.sort_by_key(|p| (*depth.entry(*p).or_insert_with(|| ancestors(*p).len()), *p));
    }
}

/// Every process holding any of `inodes`, whatever its relation to the others: a socket reaches
/// a process by inheritance (a pre-fork server's workers, orphaned when their master is killed:
/// siblings re-parented to PID 1, none a parent of another) or by descriptor passing (SCM_RIGHTS,
/// pidfd_getfd) to a process of any executable, any parent and any user. No kernel interface
/// counts a socket's open descriptors, so a holder set found any other way may be incomplete:
/// every process is read, on every core. A process is read only until it shows every one of
/// `inodes` (a busy server's thousands of connections are not read past its listener, found
/// nearest-first), so the cost is the descriptors of the processes that do not hold the port.
/// Processes refused for want of descriptors while the threads ran side by side are read again
/// one at a time. The holders of each socket come parent first.
pub(crate) fn find_every_holder(inodes: &[u64]) -> ProcScan {
    /// Processes per batch: a batch is tens of system calls, enough to outweigh taking it.
    const BATCH: usize = 8;
    let mut scan = ProcScan::default();
    if inodes.is_empty() {
        return scan;
    }
    let wanted: std::collections::HashSet<u64> = inodes.iter().copied().collect();
    let Ok(dir) = fs::read_dir("/proc") else {
        return scan;
    };
    let pids: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let refusals = starved();
    let parts = in_batches_counted(&pids, BATCH, |part| {
        let (mut hits, mut unread) = (Vec::new(), Vec::new());
        for &pid in part {
            match holds_which(pid, &wanted) {
                None => unread.push(pid),
                Some(found) => hits.extend(found.into_iter().map(|i| (i, pid))),
            }
        }
        (hits, unread)
    });
    let mut unread = Vec::new();
    let mut hits = Vec::new();
    for (batch, part) in pids.chunks(BATCH).zip(parts) {
        match part {
            Some((h, u)) => {
                hits.extend(h);
                unread.extend(u);
            }
            None => unread.extend_from_slice(batch),
        }
    }
    if starved() != refusals {
        unread.retain(|&pid| match holds_which(pid, &wanted) {
            None => true,
            Some(found) => {
                hits.extend(found.into_iter().map(|i| (i, pid)));
                false
            }
        });
    }
    scan.unreadable = unread.len();
    for (inode, pid) in hits {
        scan.pids.entry(inode).or_default().push(pid);
    }
    parent_first(&mut scan);
    for holders in scan.pids.values_mut() {
        holders.dedup();
    }
    scan
}

/// The parent chain of `pid`, nearest first, up to and including PID 1.
pub(crate) fn ancestors(pid: u32) -> Vec<u32> {
    let mut chain = Vec::new();
    let mut cur = pid;
    while let Some(ppid) = parent_of(cur) {
        if ppid == 0 || chain.contains(&ppid) || chain.len() > 64 {
            break;
        }
        chain.push(ppid);
        cur = ppid;
    }
    chain
}

/// The parent PID from `/proc/PID/stat` (the field after the parenthesised name, which may itself
/// contain spaces and parentheses).
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    parent_in_stat(&fs::read(format!("/proc/{pid}/stat")).ok()?)
}

/// `socket:[12345]` → 12345.
pub(crate) fn parse_socket_link(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[derive(Debug, Clone, Default)]
struct ProcInfo {
    name: Option<Arc<str>>,
    path: Option<Arc<str>>,
    cmdline: Option<Arc<str>>,
    /// The process's own effective uid (`/proc/PID/status`): not the socket's, which is the
    /// user that created it (a server that drops from root keeps root's sockets), and not the
    /// owner of /proc/PID, which is root for a process that is not dumpable.
    uid: Option<u32>,
}

/// Name, executable and command line of `pid`. Read as bytes: a name is whatever the process
/// set (prctl PR_SET_NAME, argv[0]), not necessarily UTF-8; invalid bytes become U+FFFD here
/// and control characters are escaped when shown. A name that cannot be read (the process just
/// exited) is `None`, never an empty string.
fn proc_info(pid: u32) -> ProcInfo {
    proc_info_in(&mut ProcDir::open(pid))
}

/// [`proc_info`] of an open /proc/PID.
fn proc_info_in(dir: &mut ProcDir) -> ProcInfo {
    let name = dir
        .read("comm")
        .map(|b| {
            let b = b.strip_suffix(b"\n").unwrap_or(b);
            Arc::<str>::from(String::from_utf8_lossy(b))
        })
        .filter(|n| !n.is_empty());
    let path = dir.link("exe");
    let cmdline = dir
        .read("cmdline")
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(String::from_utf8_lossy)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| !c.is_empty())
        .map(Arc::from);
    let uid = dir.read("status").and_then(effective_uid_in_status);
    // The kernel keeps 15 bytes of a name: "systemd-socket-activate" reads "systemd-socket-".
    // The executable's name or argv[0], when it starts with the cut name, is the whole one.
    let name = name.map(|n| {
        let argv0 = cmdline.as_deref().and_then(|c: &str| c.split(' ').next());
        untruncated(&n, argv0, path.as_deref()).map_or(n, Arc::from)
    });
    ProcInfo {
        name,
        path,
        cmdline,
        uid,
    }
}

/// The whole name of a process whose `comm` the kernel cut at 15 bytes: the last part of argv[0]
/// or of the executable's path that is longer and starts with the cut name. `None` when the name
/// was not cut, or nothing longer matches (then the cut name is all there is).
fn untruncated(comm: &str, argv0: Option<&str>, exe: Option<&str>) -> Option<String> {
    const COMM_MAX: usize = 15;
    if comm.len() != COMM_MAX {
        return None;
    }
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    [argv0.map(base), exe.map(base)]
        .into_iter()
        .flatten()
        .find(|c| c.len() > COMM_MAX && c.starts_with(comm))
}

/// The effective uid of a `/proc/PID/status` text (`Uid:` real, effective, saved, filesystem).
fn effective_uid_in_status(status: &[u8]) -> Option<u32> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Uid:"))?;
    std::str::from_utf8(line)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One process's /proc directory, open: its small files are read relative to it (the process
/// looked up once, not once per file) into one buffer, without the size query per file that
/// `fs::read` makes. For a table of hundreds of processes, five files each. Short of
/// descriptors (the open directory is one more), it reads by path as before: a name must never
/// read "unreadable" because this tool ran out of descriptors.
struct ProcDir {
    pid: u32,
    dir: Option<rustix::fd::OwnedFd>,
    buf: Vec<u8>,
}

impl ProcDir {
    fn open(pid: u32) -> Self {
        let dir = open_proc_dir(pid, "").ok();
        Self {
            pid,
            dir,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Opens its file `name`: relative to the open directory, or by path when there is none
    /// or the directory's descriptor is the one too many (it is closed then).
    fn file(&mut self, name: &str) -> Option<rustix::fd::OwnedFd> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        if let Some(dir) = &self.dir {
            match rustix::fs::openat(dir, name, flags, Mode::empty()) {
                Err(rustix::io::Errno::MFILE | rustix::io::Errno::NFILE) => self.dir = None,
                other => return other.ok(),
            }
        }
        rustix::fs::open(format!("/proc/{}/{name}", self.pid), flags, Mode::empty()).ok()
    }

    /// The whole of its file `name` (`stat`, `comm` …); `None` when it cannot be read.
    fn read(&mut self, name: &str) -> Option<&[u8]> {
        /// Reads with no size hint: a /proc file's size is 0 whatever it holds.
        struct Plain(rustix::fd::OwnedFd);
        impl std::io::Read for Plain {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                Ok(rustix::io::read(&self.0, buf)?)
            }
        }
        let fd = self.file(name)?;
        self.buf.clear();
        std::io::Read::read_to_end(&mut Plain(fd), &mut self.buf).ok()?;
        Some(&self.buf)
    }

    /// The target of its link `name` (`exe`).
    fn link(&mut self, name: &str) -> Option<Arc<str>> {
        if let Some(dir) = &self.dir
            && let Ok(target) = rustix::fs::readlinkat(dir, name, Vec::new())
        {
            return Some(Arc::from(String::from_utf8_lossy(target.as_bytes())));
        }
        fs::read_link(format!("/proc/{}/{name}", self.pid))
            .ok()
            .map(|p| Arc::from(p.to_string_lossy()))
    }
}

/// The parent PID in the text of /proc/PID/stat (after the name, which may hold anything).
fn parent_in_stat(stat: &[u8]) -> Option<u32> {
    let after = &stat[stat.iter().rposition(|&c| c == b')')? + 1..];
    std::str::from_utf8(after)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_parse() {
        assert_eq!(parse_socket_link("socket:[4242]"), Some(4242));
        assert_eq!(parse_socket_link("pipe:[4242]"), None);
        assert_eq!(parse_socket_link("/dev/null"), None);
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

    /// Refusals counted on another thread (another lookup running at once: the live table's
    /// refresh beside a check) do not make this thread's lookup "out of descriptors".
    #[test]
    fn another_threads_refused_descriptors_do_not_starve_this_lookup() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    count_refusal(Some(24)); // EMFILE, over and over
                    std::thread::yield_now();
                }
            });
            for _ in 0..20 {
                let found = lookup(&[port], Some(Protocol::Tcp), Scope::Everything);
                assert!(
                    !found.out_of_descriptors,
                    "another thread's refusals made this lookup unknown: {found:?}"
                );
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        // And this thread's own refusal does.
        let before = starved();
        count_refusal(Some(23));
        assert_eq!(starved(), before + 1, "ENFILE counts here");
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
        let again = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let old = before.iter().find(|s| s.state == 10).unwrap();
        assert!(!still_has(old), "another socket now listens on the port");
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
    fn descriptor_names_are_their_decimal_numbers() {
        let mut buf = [0u8; 12];
        for n in [0, 7, 10, 255, 65_536, u32::MAX] {
            assert_eq!(decimal_name(n, &mut buf).to_str().unwrap(), n.to_string());
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
