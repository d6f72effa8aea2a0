//! Range scans: which ports in START-END can be bound right now, the real way (socket, bind,
//! close per port), spread over every core, with progress and cancel; and `free_ports` for scripts.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol as SockProtocol, SockAddr, Socket, Type};

use crate::facts::Facts;
use crate::oserror::OsError;
use crate::owners::{self, Owner};
use crate::probe::CancelToken;
use crate::target::{Protocol, SocketOptions};

/// What to scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRequest {
    /// The local address to bind (an interface address, or a wildcard).
    pub address: IpAddr,
    /// First port (1..=65535).
    pub start: u16,
    /// Last port, inclusive.
    pub end: u16,
    /// TCP, UDP or both.
    pub protocols: Vec<Protocol>,
    /// The options a single check would set (SO_REUSEADDR, IPV6_V6ONLY).
    pub options: SocketOptions,
}

impl ScanRequest {
    /// A TCP scan of `start..=end` on `address` with default options.
    #[must_use]
    pub fn tcp(address: IpAddr, start: u16, end: u16) -> Self {
        Self {
            address,
            start,
            end,
            protocols: vec![Protocol::Tcp],
            options: SocketOptions::default(),
        }
    }

    /// Ports × protocols: the amount of work.
    #[must_use]
    pub fn total(&self) -> u32 {
        (u32::from(self.end) - u32::from(self.start) + 1)
            * u32::try_from(self.protocols.len()).unwrap_or(1)
    }
}

/// The outcome for one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortStatus {
    /// Bind worked.
    Free,
    /// WSAEADDRINUSE.
    InUse,
    /// Another refusal (WSAEACCES for a privileged port, …).
    Refused,
}

impl PortStatus {
    /// The word the scan table, its CSV and its Markdown show: `free`, `in use`, `refused`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::InUse => "in use",
            Self::Refused => "refused",
        }
    }
}

/// A port that is not free, with why and who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortResult {
    /// The port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// In use or refused.
    pub status: PortStatus,
    /// The bind error.
    pub error: OsError,
    /// Who holds the port (in-use ports): on TCP its listeners whose address collides with the
    /// scanned one, when it has any (the server in the way, not also each connection it
    /// accepted); otherwise every socket on the port but those on another specific address.
    pub owners: Vec<Owner>,
    /// How the OS treats this port (ephemeral, reserved, privileged) and how its owner lookup
    /// went; worded by `render::scan::port_note`.
    pub notes: Vec<PortNote>,
}

/// Something said beside a busy port: how the OS treats the port, or why its owners may be
/// incomplete. A typed value; the JSON carries its `kind` and fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PortNote {
    /// Below the first unprivileged port: binding it needs root or CAP_NET_BIND_SERVICE.
    Privileged,
    /// In the ephemeral range: outgoing connections may take it.
    Ephemeral,
    /// In Linux's reserved ports (`ip_local_reserved_ports`): never handed to outgoing
    /// connections.
    Reserved,
    /// In a range Windows excluded (`netsh int ipv4 show excludedportrange`).
    ExcludedByWindows {
        /// The range's first port.
        start: u16,
        /// Its last port.
        end: u16,
    },
    /// The owner lookup ran out of file descriptors: its owners may not all be traced.
    OwnersOutOfDescriptors,
    /// A socket table could be read neither from the kernel nor from `/proc/net`: its owners
    /// may be missing.
    TablesUnread {
        /// What was refused, and what was read instead.
        refused: Vec<owners::TableRefusal>,
    },
    /// A note as another version of the tool wrote it (an earlier remote's answer, where notes
    /// were sentences).
    #[serde(untagged)]
    Said(String),
}

/// A run of consecutive free ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeRange {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// First free port.
    pub start: u16,
    /// Last free port.
    pub end: u16,
}

/// What the OS does with a special range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialKind {
    /// Below the first unprivileged port: binding needs root or CAP_NET_BIND_SERVICE.
    Privileged,
    /// Handed out to outgoing connections.
    Ephemeral,
    /// Reserved: never handed out on Linux (`ip_local_reserved_ports`), excluded on Windows.
    Reserved,
}

/// A special range of the OS that overlaps the scan; its words are made for the OS the scan
/// ran on ([`ScanReport::os`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialRange {
    /// Privileged, ephemeral or reserved.
    pub kind: SpecialKind,
    /// First port.
    pub start: u16,
    /// Last port.
    pub end: u16,
}

/// The result of a scan: every port not free, the free ranges, and the OS's special ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// What was asked.
    pub request: ScanRequest,
    /// Ports × protocols actually tested (less than the total after a cancel).
    pub scanned: u32,
    /// Whether the scan was cancelled before the end.
    pub cancelled: bool,
    /// Every port that is not free.
    pub busy: Vec<PortResult>,
    /// Free ports, collapsed into ranges.
    pub free: Vec<FreeRange>,
    /// Number of free ports.
    pub free_count: u32,
    /// OS ranges that overlap the scan.
    pub special: Vec<SpecialRange>,
    /// The OS the scan ran on (what its special ranges mean depends on it); this machine's for
    /// an answer from a version that did not say.
    #[serde(default)]
    pub os: crate::platform::Os,
    /// Wall time, microseconds.
    pub elapsed_us: u64,
    /// Why the scan stopped early on its own (this process ran out of descriptors): the ports
    /// after that point were not tested and are listed neither as free nor as busy.
    #[serde(default)]
    pub stopped_by: Option<OsError>,
}

/// The socket address of `ip` (on the interface `scope_id` when it is IPv6 and not 0) and
/// `port`.
fn sock_addr(ip: IpAddr, scope_id: u32, port: u16) -> SockAddr {
    match ip {
        IpAddr::V6(v6) if scope_id != 0 => {
            SockAddr::from(std::net::SocketAddrV6::new(v6, port, 0, scope_id))
        }
        ip => SockAddr::from(SocketAddr::new(ip, port)),
    }
}

/// Whether an error means this process (or the system) has no descriptor left: the tool's own
/// limit, never a property of the port or the address.
#[must_use]
pub fn is_out_of_descriptors(e: &OsError) -> bool {
    out_of_descriptors(e.native_code)
}

/// Whether an errno means this process (or the system) has no descriptor left: the tool's own
/// limit, never a property of the port.
fn out_of_descriptors(code: i32) -> bool {
    matches!(
        OsError::from_errno(code).wsa_code,
        crate::oserror::wsa::EMFILE | crate::oserror::wsa::ENOBUFS
    ) || crate::platform::Os::current().is_out_of_descriptors(code)
}

/// Progress as the scan goes, for a bar and a rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Ports × protocols done.
    pub done: u32,
    /// Ports × protocols in all.
    pub total: u32,
    /// Time since the start.
    pub elapsed: Duration,
}

const CHUNK: u32 = 256;
const UNTESTED: u8 = 0;
const FREE: u8 = 1;
const IN_USE: u8 = 2;
const REFUSED: u8 = 3;

/// A new socket with the request's options: the first of the three calls a bind test costs.
fn fresh_socket(domain: Domain, protocol: Protocol, opts: &SocketOptions) -> Result<Socket, i32> {
    let code = |e: std::io::Error| e.raw_os_error().unwrap_or(0);
    let (ty, proto) = match protocol {
        Protocol::Tcp => (Type::STREAM, SockProtocol::TCP),
        Protocol::Udp => (Type::DGRAM, SockProtocol::UDP),
    };
    let sock = Socket::new(domain, ty, Some(proto)).map_err(code)?;
    if opts.reuse_address {
        sock.set_reuse_address(true).map_err(code)?;
    }
    if domain == Domain::IPV6
        && let Some(v6) = opts.v6_only
    {
        sock.set_only_v6(v6).map_err(code)?;
    }
    Ok(sock)
}

/// Tries one bind the cheapest correct way: socket, options, bind, close. The error is kept.
/// A socket whose bind failed is still unbound, with its options set: it comes back in `spare`
/// for the next port, so a busy range costs one call per port instead of three.
fn try_bind(
    addr: &SockAddr,
    domain: Domain,
    protocol: Protocol,
    opts: &SocketOptions,
    spare: &mut Option<Socket>,
) -> Result<(), i32> {
    let sock = spare
        .take()
        .map_or_else(|| fresh_socket(domain, protocol, opts), Ok)?;
    sock.bind(addr).map_err(|e| {
        let code = e.raw_os_error().unwrap_or(0);
        *spare = Some(sock);
        code
    })
}

/// What the scan workers share: the request, the next chunk to take, and what stops them.
struct Shared<'a> {
    req: &'a ScanRequest,
    domain: Domain,
    /// Work item i covers protocol i / chunks_per_proto, ports of chunk i % chunks_per_proto.
    chunks_per_proto: u32,
    items: u32,
    ports: u32,
    next: AtomicU32,
    done: AtomicU32,
    /// Set by a worker that ran out of descriptors: every worker stops at once.
    exhausted: std::sync::atomic::AtomicI32,
    cancel: &'a CancelToken,
    /// The interface of a scoped (link-local) IPv6 address, 0 for none.
    scope_id: u32,
}

/// A worker's outcomes: (protocol index, first port offset, one status per port) per chunk, and
/// the errors of the ports that did not bind.
type WorkerResult = (Vec<(usize, u32, Vec<u8>)>, Vec<(usize, u16, i32)>);

impl Shared<'_> {
    /// One worker: takes chunks until none is left, the scan is cancelled or a worker ran out
    /// of descriptors.
    fn work(&self) -> WorkerResult {
        crate::platform::private_descriptor_table();
        crate::platform::private_credentials();
        // Per protocol: an unbound socket left by a failed bind.
        let mut spare: [Option<Socket>; 2] = [None, None];
        let (mut local, mut errs) = (Vec::new(), Vec::new());
        while !self.cancel.is_cancelled() && self.exhausted.load(Ordering::Relaxed) == 0 {
            let item = self.next.fetch_add(1, Ordering::Relaxed);
            if item >= self.items {
                break;
            }
            let pi = (item / self.chunks_per_proto) as usize;
            let first = (item % self.chunks_per_proto) * CHUNK;
            let last = (first + CHUNK).min(self.ports);
            let proto = self.req.protocols[pi];
            let spare = &mut spare[usize::from(proto == Protocol::Udp)];
            let mut st = Vec::with_capacity((last - first) as usize);
            for off in first..last {
                let port = u16::try_from(u32::from(self.req.start) + off).unwrap_or(0);
                let addr = sock_addr(self.req.address, self.scope_id, port);
                st.push(
                    match try_bind(&addr, self.domain, proto, &self.req.options, spare) {
                        Ok(()) => FREE,
                        Err(code) if out_of_descriptors(code) => {
                            self.exhausted.store(code, Ordering::Relaxed);
                            break;
                        }
                        Err(code) => {
                            errs.push((pi, port, code));
                            if OsError::from_errno(code).wsa_code == 10048 {
                                IN_USE
                            } else {
                                REFUSED
                            }
                        }
                    },
                );
            }
            self.done
                .fetch_add(u32::try_from(st.len()).unwrap_or(0), Ordering::Relaxed);
            local.push((pi, first, st));
        }
        (local, errs)
    }
}

/// Scans the range on every core. `progress` is called from the calling thread about every
/// 50 ms; `cancel` stops all workers within one chunk (256 ports, a few milliseconds).
/// Nothing stays bound: each socket is closed right after its bind.
pub fn scan(
    req: &ScanRequest,
    facts: &Facts,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress),
) -> ScanReport {
    run(req, 0, Some(facts), cancel, progress)
}

/// [`scan`] for a caller that has not read the OS's facts yet (the command line): they are read
/// on the calling thread while the workers bind, instead of before the first bind. The port
/// notes and special ranges need them only once the binds are done.
pub fn scan_reading_facts(
    req: &ScanRequest,
    scope_id: u32,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress),
) -> ScanReport {
    run(req, scope_id, None, cancel, progress)
}

/// The scan, with the facts given or (`None`) read meanwhile.
fn run(
    req: &ScanRequest,
    scope_id: u32,
    facts: Option<&Facts>,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress),
) -> ScanReport {
    let started = Instant::now();
    let ports = u32::from(req.end) - u32::from(req.start) + 1;
    let total = req.total();
    let domain = if req.address.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let chunks_per_proto = ports.div_ceil(CHUNK);
    let shared = Shared {
        req,
        domain,
        chunks_per_proto,
        items: chunks_per_proto * u32::try_from(req.protocols.len()).unwrap_or(1),
        ports,
        next: AtomicU32::new(0),
        done: AtomicU32::new(0),
        exhausted: std::sync::atomic::AtomicI32::new(0),
        cancel,
        scope_id,
    };
    let (done, exhausted) = (&shared.done, &shared.exhausted);

    let mut status: Vec<Vec<u8>> = req
        .protocols
        .iter()
        .map(|_| vec![UNTESTED; ports as usize])
        .collect();
    let mut errors: HashMap<(usize, u16), i32> = HashMap::new();
    let mut read: Option<Facts> = None;
    std::thread::scope(|s| {
        // Nothing is ever sent: the channel disconnects when the last worker ends (or panics),
        // which wakes this thread at once, without polling the workers.
        let (alive, ended) = std::sync::mpsc::channel::<()>();
        let workers: Vec<_> = (0..crate::par::cores())
            .map(|_| {
                let (shared, alive) = (&shared, alive.clone());
                std::thread::Builder::new()
                    .name("scan".into())
                    .spawn_scoped(s, move || {
                        let _alive = alive;
                        shared.work()
                    })
            })
            .collect();
        drop(alive);
        if facts.is_none() {
            read = Some(crate::facts::gather());
        }
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            ended.recv_timeout(Duration::from_millis(50))
        {
            progress(Progress {
                done: done.load(Ordering::Relaxed),
                total,
                elapsed: started.elapsed(),
            });
        }
        for w in workers.into_iter().flatten() {
            if let Ok((local, errs)) = w.join() {
                for (pi, first, st) in local {
                    let f = first as usize;
                    status[pi][f..f + st.len()].copy_from_slice(&st);
                }
                for (pi, port, code) in errs {
                    errors.insert((pi, port), code);
                }
            }
        }
    });
    let scanned = done.load(Ordering::Relaxed);
    progress(Progress {
        done: scanned,
        total,
        elapsed: started.elapsed(),
    });

    let facts = match (facts, &read) {
        (Some(f), _) | (None, Some(f)) => f,
        (None, None) => &crate::facts::gather(),
    };
    let (mut busy, mut free, mut free_count) = collate(req, &status, &errors, facts);
    attach_owners(&mut busy, req);
    if bind_again(req, scope_id, domain, &busy, &mut status) {
        // The ports still busy keep what was found of them.
        let mut named: HashMap<(Protocol, u16), PortResult> = busy
            .into_iter()
            .map(|b| ((b.protocol, b.port), b))
            .collect();
        (busy, free, free_count) = collate(req, &status, &errors, facts);
        for b in &mut busy {
            if let Some(was) = named.remove(&(b.protocol, b.port)) {
                *b = was;
            }
        }
    }
    let stopped = exhausted.load(Ordering::Relaxed);
    ScanReport {
        stopped_by: (stopped != 0).then(|| OsError::from_errno(stopped)),
        request: req.clone(),
        scanned,
        cancelled: scanned < total && stopped == 0,
        busy,
        free,
        free_count,
        special: special_ranges(req.start, req.end, facts),
        os: facts.os,
        elapsed_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    }
}

/// How long to wait before each new bind of ports whose refusal has passed (milliseconds).
const REBIND_BACKOFF_MS: [u64; 4] = [0, 1, 3, 7];

/// Then, for a port that may be this user's own probe still letting go
/// (`owners::may_be_own_probe`), up to about a second more: two scans at once on a machine with a
/// load of 20 on two cores reported a free port busy after the four binds above, its blocker
/// another scan's probe whose thread was off the CPU.
const PATIENT_BACKOFF_MS: [u64; 6] = [15, 31, 63, 127, 255, 511];

/// Binds again each port that was "in use" while nothing found holds it now
/// (`owners::passed`: another scan's or check's probe, there for microseconds), a few times at
/// most; a port that binds is marked free in `status`. Whether any was.
fn bind_again(
    req: &ScanRequest,
    scope_id: u32,
    domain: Domain,
    busy: &[PortResult],
    status: &mut [Vec<u8>],
) -> bool {
    let mut left: Vec<(usize, u16, bool)> = busy
        .iter()
        .filter(|b| b.status == PortStatus::InUse && owners::passed(&b.owners))
        .filter_map(|b| {
            let pi = req.protocols.iter().position(|&p| p == b.protocol)?;
            Some((pi, b.port, owners::may_be_own_probe(&b.owners)))
        })
        .collect();
    let mut freed = false;
    let patient = PATIENT_BACKOFF_MS.iter().map(|&ms| (ms, true));
    for (backoff_ms, only_patient) in REBIND_BACKOFF_MS
        .iter()
        .map(|&ms| (ms, false))
        .chain(patient)
    {
        if only_patient {
            left.retain(|&(_, _, patient)| patient);
        }
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(backoff_ms));
        left.retain(|&(pi, port, _)| {
            let addr = sock_addr(req.address, scope_id, port);
            let bound = try_bind(&addr, domain, req.protocols[pi], &req.options, &mut None);
            if bound.is_ok() {
                status[pi][usize::from(port - req.start)] = FREE;
                freed = true;
            }
            bound.is_err()
        });
    }
    freed
}

/// Turns the per-port outcomes into the busy ports (with their errors and notes) and the free
/// ranges; untested ports (after a cancel or a stop) are neither.
fn collate(
    req: &ScanRequest,
    status: &[Vec<u8>],
    errors: &HashMap<(usize, u16), i32>,
    facts: &Facts,
) -> (Vec<PortResult>, Vec<FreeRange>, u32) {
    let mut busy = Vec::new();
    let mut free = Vec::new();
    let mut free_count = 0;
    // Each error described once: a crowded range has thousands of ports failing with one code,
    // and a description costs a strerror and a catalog search.
    let mut described: HashMap<i32, OsError> = HashMap::new();
    for (pi, st) in status.iter().enumerate() {
        let protocol = req.protocols[pi];
        let mut run: Option<(u16, u16)> = None;
        for (off, &s) in st.iter().enumerate() {
            let port = u16::try_from(usize::from(req.start) + off).unwrap_or(0);
            if s == FREE {
                free_count += 1;
                run = Some(run.map_or((port, port), |(a, _)| (a, port)));
                continue;
            }
            if let Some((a, b)) = run.take() {
                free.push(FreeRange {
                    protocol,
                    start: a,
                    end: b,
                });
            }
            if s == IN_USE || s == REFUSED {
                let code = errors.get(&(pi, port)).copied().unwrap_or(0);
                busy.push(PortResult {
                    port,
                    protocol,
                    status: if s == IN_USE {
                        PortStatus::InUse
                    } else {
                        PortStatus::Refused
                    },
                    error: described
                        .entry(code)
                        .or_insert_with(|| OsError::from_errno(code))
                        .clone(),
                    owners: Vec::new(),
                    notes: port_notes(port, facts),
                });
            }
        }
        if let Some((a, b)) = run {
            free.push(FreeRange {
                protocol,
                start: a,
                end: b,
            });
        }
    }
    (busy, free, free_count)
}

/// Looks up the owners of every in-use port, in at most two passes. A TCP port with a listener
/// whose address collides with the scanned one is held by that server: its listeners are its
/// owners, found in the kernel's small listening table. Every other in-use port (no such
/// listener, or UDP) is given every socket on it that may collide with the scanned address: a
/// bound-only socket, a connection or TIME_WAIT holding the port, found in a walk of all the
/// kernel's tables (about 1 ms on a machine with 24 GB, for each address family).
fn attach_owners(busy: &mut [PortResult], req: &ScanRequest) {
    type ByPort = HashMap<(Protocol, u16), Vec<Owner>>;
    // Each found socket filed under its protocol and port once: a range with thousands of busy
    // ports must not compare every port with every socket.
    let by_port = |found: Vec<Owner>, keep: &dyn Fn(&Owner) -> bool| {
        let mut m = ByPort::new();
        for o in found.into_iter().filter(|o| keep(o)) {
            m.entry((o.protocol, o.local.port())).or_default().push(o);
        }
        m
    };
    let in_use = |p: Protocol| {
        busy.iter()
            .filter(move |b| b.status == PortStatus::InUse && b.protocol == p)
            .map(|b| b.port)
            .collect::<Vec<u16>>()
    };
    let tcp = in_use(Protocol::Tcp);
    let listeners = owners::of_ports_in(&tcp, Some(Protocol::Tcp), owners::Scope::Listening);
    let mut starved = listeners.out_of_descriptors;
    let mut refused = listeners.refused.clone();
    let mut held = by_port(listeners.owners, &|o| {
        o.protocol == Protocol::Tcp && collides(o, req.address)
    });
    let mut rest: Vec<(Protocol, u16)> = tcp
        .into_iter()
        .filter(|&p| !held.contains_key(&(Protocol::Tcp, p)))
        .map(|p| (Protocol::Tcp, p))
        .collect();
    rest.extend(
        in_use(Protocol::Udp)
            .into_iter()
            .map(|p| (Protocol::Udp, p)),
    );
    if !rest.is_empty() {
        let mut rest_ports: Vec<u16> = rest.iter().map(|&(_, p)| p).collect();
        rest_ports.sort_unstable();
        rest_ports.dedup();
        let protocol = match rest.first() {
            Some(&(p, _)) if rest.iter().all(|r| r.0 == p) => Some(p),
            _ => None,
        };
        let everything = owners::of_ports(&rest_ports, protocol);
        starved |= everything.out_of_descriptors;
        refused.extend(everything.refused.iter().copied());
        let wanted: std::collections::HashSet<(Protocol, u16)> = rest.into_iter().collect();
        held.extend(by_port(everything.owners, &|o| {
            wanted.contains(&(o.protocol, o.local.port())) && !apart(o.local.ip(), req.address)
        }));
    }
    // A socket table read neither from the kernel nor from /proc/net: owners may be missing.
    let unread = refused.iter().any(|r| !r.read_instead);
    for b in busy.iter_mut().filter(|b| b.status == PortStatus::InUse) {
        if starved {
            b.notes.push(PortNote::OwnersOutOfDescriptors);
        }
        if unread {
            b.notes.push(PortNote::TablesUnread {
                refused: refused.clone(),
            });
        }
        b.owners = held.remove(&(b.protocol, b.port)).unwrap_or_default();
    }
}

/// Whether two addresses can never collide on one port: both specific, and not the same one
/// (an IPv4-mapped IPv6 address is its IPv4 address). A wildcard on either side may collide,
/// depending on families and IPV6_V6ONLY: such a socket is kept among the owners.
fn apart(held: IpAddr, address: IpAddr) -> bool {
    let (held, address) = (held.to_canonical(), address.to_canonical());
    !held.is_unspecified() && !address.is_unspecified() && held != address
}

/// Whether a socket bound to `o`'s address keeps a bind to `address` (same port) from working:
/// its address covers ours (the same, its family's wildcard, a dual-stack `[::]` for IPv4), or
/// ours is the wildcard of its family. Anything less certain is left to the full lookup.
fn collides(o: &Owner, address: IpAddr) -> bool {
    let held = o.local.ip().to_canonical();
    owners::covers(held, o.v6_only, address)
        || (address.is_unspecified() && held.is_ipv4() == address.is_ipv4())
}

/// How the OS treats one port.
#[must_use]
pub fn port_notes(port: u16, facts: &Facts) -> Vec<PortNote> {
    let mut notes = Vec::new();
    if facts.is_privileged(port) {
        notes.push(PortNote::Privileged);
    }
    if facts.is_ephemeral(port) {
        notes.push(PortNote::Ephemeral);
    }
    if let Some(r) = facts.reserved_ranges.iter().find(|r| r.contains(port)) {
        notes.push(if facts.os == crate::platform::Os::Windows {
            PortNote::ExcludedByWindows {
                start: r.start,
                end: r.end,
            }
        } else {
            PortNote::Reserved
        });
    }
    notes
}

/// The OS's special ranges that overlap `start..=end`.
#[must_use]
pub fn special_ranges(start: u16, end: u16, facts: &Facts) -> Vec<SpecialRange> {
    let mut out = Vec::new();
    let mut add = |kind: SpecialKind, a: u16, b: u16| {
        let (a, b) = (a.max(start), b.min(end));
        if a <= b {
            out.push(SpecialRange {
                kind,
                start: a,
                end: b,
            });
        }
    };
    if let Some(s) = facts.unprivileged_port_start.filter(|s| *s > 1) {
        add(SpecialKind::Privileged, 1, s - 1);
    }
    if let Some(r) = &facts.ephemeral_range {
        add(SpecialKind::Ephemeral, r.start, r.end);
    }
    for r in &facts.reserved_ranges {
        add(SpecialKind::Reserved, r.start, r.end);
    }
    out
}

/// Whether `address` can be bound at all (port 0), so a scan of an address this machine does not
/// have fails once, clearly, instead of listing every port as refused.
pub fn check_address(address: IpAddr) -> Result<(), OsError> {
    check_scoped_address(address, 0)
}

/// [`check_address`] for an IPv6 address on the interface `scope_id` (a link-local address
/// needs its interface to be bound).
pub fn check_scoped_address(address: IpAddr, scope_id: u32) -> Result<(), OsError> {
    let domain = if address.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    try_bind(
        &sock_addr(address, scope_id, 0),
        domain,
        Protocol::Tcp,
        &SocketOptions::default(),
        &mut None,
    )
    .map_err(OsError::from_errno)
}

/// Up to `count` ports in `start..=end` that bind right now on every one of `addresses` (a
/// port is free only if the same bind a check makes works on each: for `check PORT` that is
/// 0.0.0.0 and [::]). Starts at a random place and prefers ports outside the ephemeral, reserved
/// and (when we lack the right) privileged ranges. Stops with the error if this process runs out
/// of descriptors, which says nothing about the ports.
pub fn free_ports(
    addresses: &[IpAddr],
    protocol: Protocol,
    start: u16,
    end: u16,
    count: usize,
    facts: &Facts,
) -> Result<Vec<u16>, OsError> {
    let opts = SocketOptions::default();
    let all: Vec<u16> = (start..=end).collect();
    if all.is_empty() || count == 0 || addresses.is_empty() {
        return Ok(Vec::new());
    }
    let offset = usize::try_from(
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            % all.len() as u64,
    )
    .unwrap_or(0);
    let preferred = |p: u16| {
        !facts.is_ephemeral(p)
            && !facts.reserved_ranges.iter().any(|r| r.contains(p))
            && (facts.may_bind_privileged() || !facts.is_privileged(p))
    };
    let rotated = all[offset..].iter().chain(&all[..offset]).copied();
    let (good, fallback): (Vec<u16>, Vec<u16>) = rotated.partition(|p| preferred(*p));
    let mut found = Vec::with_capacity(count);
    'ports: for p in good.into_iter().chain(fallback) {
        if found.len() == count {
            break;
        }
        // Each address in turn, each socket closed before the next, exactly as `check PORT`
        // tests 0.0.0.0 and then [::].
        for address in addresses {
            let domain = if address.is_ipv4() {
                Domain::IPV4
            } else {
                Domain::IPV6
            };
            let addr = SockAddr::from(SocketAddr::new(*address, p));
            match try_bind(&addr, domain, protocol, &opts, &mut None) {
                Ok(()) => {}
                Err(code) if out_of_descriptors(code) => return Err(OsError::from_errno(code)),
                Err(_) => continue 'ports,
            }
        }
        found.push(p);
    }
    Ok(found)
}

/// What `check PORT` binds for a bare port: 0.0.0.0 and, where this machine has IPv6, [::].
#[must_use]
pub fn all_interfaces() -> Vec<IpAddr> {
    let mut v = vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)];
    if Socket::new(Domain::IPV6, Type::STREAM, None).is_ok() {
        v.push(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
    }
    v
}

/// The default address for scans: IPv4 loopback is what a local developer usually means.
#[must_use]
pub fn default_address() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

/// A scan implementation, swappable so window tests can slow it down to watch progress.
pub type Scanner = std::sync::Arc<
    dyn Fn(&ScanRequest, &Facts, &CancelToken, &mut dyn FnMut(Progress)) -> ScanReport
        + Send
        + Sync,
>;

/// The real scanner.
#[must_use]
pub fn system_scanner() -> Scanner {
    std::sync::Arc::new(scan)
}
