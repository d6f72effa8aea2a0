//! Who holds a port: every socket on it, with its state and owning process.
//!
//! One function per OS behind `of`; the rest of the crate never asks which OS it runs on.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::target::{Family, Protocol};

pub use rows::{ProcessRow, Rows, Sharers, SocketRow, sharers};

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;
#[cfg(target_os = "linux")]
mod links;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "linux")]
mod proc_net;
mod rows;
#[cfg(unix)]
pub mod runtime;
#[cfg(any(windows, target_os = "macos"))]
mod table;
#[cfg(any(windows, target_os = "macos"))]
use table as os;
#[cfg(windows)]
mod windows;

pub mod holders;
#[cfg(unix)]
pub mod passwd;

/// The state of a socket, as the kernel reports it (named as `ss` names them in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SockState {
    /// A TCP socket waiting for connections.
    #[serde(rename = "LISTEN")]
    Listen,
    /// A TCP socket bound but neither listening nor connected (Linux 6.9+ reports it).
    #[serde(rename = "BOUND")]
    BoundOnly,
    /// A UDP socket (bound, not connected).
    #[serde(rename = "UNCONN")]
    Unconnected,
    /// An open connection.
    #[serde(rename = "ESTABLISHED")]
    Established,
    /// A connection being opened by this side.
    #[serde(rename = "SYN_SENT")]
    SynSent,
    /// A connection being opened by the peer.
    #[serde(rename = "SYN_RECV")]
    SynRecv,
    /// This side closed; waiting for the peer's acknowledgement.
    #[serde(rename = "FIN_WAIT1")]
    FinWait1,
    /// This side closed; waiting for the peer to close (an orphan lasts tcp_fin_timeout).
    #[serde(rename = "FIN_WAIT2")]
    FinWait2,
    /// Closed; kept so late packets of the connection are not misread (60 s on Linux).
    #[serde(rename = "TIME_WAIT")]
    TimeWait,
    /// The peer closed; this side's program has not closed yet.
    #[serde(rename = "CLOSE_WAIT")]
    CloseWait,
    /// Both closing; waiting for the last acknowledgement.
    #[serde(rename = "LAST_ACK")]
    LastAck,
    /// Both sides closed at once.
    #[serde(rename = "CLOSING")]
    Closing,
    /// A state this build does not name.
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

impl SockState {
    /// The name `ss` and `netstat` print.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SockState::Listen => "LISTEN",
            SockState::BoundOnly => "BOUND",
            SockState::Unconnected => "UNCONN",
            SockState::Established => "ESTABLISHED",
            SockState::SynSent => "SYN_SENT",
            SockState::SynRecv => "SYN_RECV",
            SockState::FinWait1 => "FIN_WAIT1",
            SockState::FinWait2 => "FIN_WAIT2",
            SockState::TimeWait => "TIME_WAIT",
            SockState::CloseWait => "CLOSE_WAIT",
            SockState::LastAck => "LAST_ACK",
            SockState::Closing => "CLOSING",
            SockState::Unknown => "UNKNOWN",
        }
    }

    /// Whether this socket is one end of a connection (opening, open or closing), as opposed to a
    /// listener, a bound-only socket or a UDP socket.
    #[must_use]
    pub fn is_connection(self) -> bool {
        !matches!(
            self,
            SockState::Listen | SockState::BoundOnly | SockState::Unconnected | SockState::Unknown
        )
    }
}

impl std::fmt::Display for SockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// One socket that uses the port, and the processes behind it where we may know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Process ID; `None` for TIME_WAIT (no process) or a socket we may not inspect. When several
    /// processes share the socket, the one to stop first (the parent of the others).
    pub pid: Option<u32>,
    /// Every process that holds this socket, the parent first (pre-fork servers share one
    /// listening socket between a master and its workers).
    #[serde(default)]
    pub pids: Vec<u32>,
    /// Short process name (`nginx`). Shared (`Arc`): one process often holds many of a table's
    /// rows, and the whole table is rebuilt every second.
    pub process: Option<Arc<str>>,
    /// Executable path.
    pub path: Option<Arc<str>>,
    /// Full command line, arguments separated by spaces.
    pub cmdline: Option<Arc<str>>,
    /// User name of the process holding the socket (its effective uid, as `ps` shows it); of
    /// the socket's owner (the user that created it) where no process is named.
    pub user: Option<Arc<str>>,
    /// Numeric user id of `user`.
    pub uid: Option<u32>,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// IPv4 or IPv6.
    pub family: Family,
    /// Local address and port, `0.0.0.0:8080` / `[::]:8080`.
    pub local: SocketAddr,
    /// Peer address for connections.
    pub remote: Option<SocketAddr>,
    /// `LISTEN`, `ESTABLISHED`, `TIME_WAIT`, `BOUND` (bound, not listening), `UNCONN` (UDP), …
    pub state: SockState,
    /// For IPv6 sockets: whether IPV6_V6ONLY is set (false = dual-stack, also holds IPv4), as the
    /// kernel reports it for this very socket.
    pub v6_only: Option<bool>,
    /// Kernel socket inode, the key that links a socket to a process.
    pub inode: u64,
    /// Why some fields are empty.
    pub note: Option<OwnerNote>,
    /// What this holder really is, when it is a well-known one (container proxy, WSL relay, …).
    #[serde(default)]
    pub holder: Option<Box<crate::owners::holders::KnownHolder>>,
    /// SO_REUSEPORT on this socket, when it was read (root can borrow the socket and ask it).
    #[serde(default)]
    pub reuse_port: Option<bool>,
    /// Why the process runs: its parent chain up to PID 1, the parent first.
    #[serde(default)]
    pub ancestry: Arc<[Ancestor]>,
    /// What manages the process (starts it, may restart it).
    #[serde(default)]
    pub managed_by: Option<ManagedBy>,
    /// The kernel holds this socket itself, for these network devices (proven by the devices'
    /// own settings): no process holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<Arc<KernelHolder>>,
    /// The network device the socket is bound to (SO_BINDTODEVICE, a VRF, or an IPv6
    /// link-local address's scope), as the kernel reports it for this socket; `None` when it is
    /// bound to no device, or the OS does not say. Sockets bound to different devices may share
    /// a port; one bound to no device conflicts with all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
}

/// A network device a socket is bound to: the kernel's interface index, and its name in this
/// network namespace when the index still names a device (read once per lookup).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Device {
    /// The interface index (`ip link` shows it first).
    pub index: u32,
    /// The device's name (`lo`, `eth0`, a VRF's name); `None` when no device has the index
    /// (it was deleted since).
    pub name: Option<Arc<str>>,
}

impl std::fmt::Display for Device {
    /// The device's name, escaped (a device name may hold control characters), else its index.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => f.write_str(&crate::text::clean(n)),
            None => write!(f, "{}", self.index),
        }
    }
}

/// A socket's local address with the device it is bound to, as every view writes it:
/// `0.0.0.0%lo:8080`, `[::%lo]:8080`; just the address when bound to no device.
#[derive(Debug, Clone, Copy)]
pub struct BoundAddress<'a> {
    /// The address and port.
    pub local: SocketAddr,
    /// The device, if any.
    pub device: Option<&'a Device>,
}

impl std::fmt::Display for BoundAddress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match (self.device, self.local) {
            (None, l) => l.to_string(),
            (Some(d), SocketAddr::V4(l)) => format!("{}%{d}:{}", l.ip(), l.port()),
            (Some(d), SocketAddr::V6(l)) => format!("[{}%{d}]:{}", l.ip(), l.port()),
        };
        f.pad(&s)
    }
}

impl Owner {
    /// The local address as every view writes it: with `%device` when the socket is bound to
    /// one (`0.0.0.0%lo:8080`).
    #[must_use]
    pub fn address(&self) -> BoundAddress<'_> {
        BoundAddress {
            local: self.local,
            device: self.device.as_ref(),
        }
    }
}

/// A socket the kernel opened for a network device, proven by the device's own settings: a
/// tunnel device that is up, in this network namespace, whose port is this socket's. The
/// kernel binds such a socket without SO_REUSEADDR/SO_REUSEPORT, so while the device is up no
/// other socket may hold the wildcard address of its port: the unowned one there is the
/// device's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelHolder {
    /// What kind of device.
    pub kind: TunnelKind,
    /// The devices whose port it is (several VXLAN devices on one port share one socket).
    pub devices: Vec<Arc<str>>,
}

/// Tunnel devices whose kernel socket's port is one of the device's settings (rtnetlink
/// `IFLA_*_PORT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelKind {
    /// VXLAN (`IFLA_VXLAN_PORT`, 4789 by default with `dstport`).
    Vxlan,
    /// Geneve (`IFLA_GENEVE_PORT`, 6081 by default).
    Geneve,
    /// Bare UDP encapsulation (`IFLA_BAREUDP_PORT`).
    BareUdp,
}

impl TunnelKind {
    /// The name `ip link` uses for the kind, and people too.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Vxlan => "VXLAN",
            TunnelKind::Geneve => "Geneve",
            TunnelKind::BareUdp => "bareudp",
        }
    }
}

/// One process in an owner's parent chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ancestor {
    /// Its PID.
    pub pid: u32,
    /// Its name, when readable.
    pub name: Option<String>,
}

/// What starts a process and may start it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedBy {
    /// `systemd` (a unit or scope), `container`, `supervisor`, `shell`, `init`.
    pub kind: ManagedKind,
    /// The unit, container id, supervisor or shell (`nginx.service`, `3f2a9c1b7d4e`, `bash`).
    /// Shared: every socket of a process carries its manager.
    pub name: Arc<str>,
    /// For a container: its name, when its runtime's socket could be read (`web-1`).
    #[serde(default)]
    pub container: Option<Arc<str>>,
    /// For a Windows service process: every service it runs, from the service control manager
    /// (one `svchost.exe` hosts several; `name` is the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<WinService>,
}

/// A running Windows service, as the service control manager lists it with its process ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinService {
    /// The key name `sc.exe` takes (`iphlpsvc`).
    pub name: Arc<str>,
    /// The name the Services console shows (`IP Helper`).
    pub display: Arc<str>,
}

/// The kinds of manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagedKind {
    /// A systemd service or scope.
    Systemd,
    /// A container (Docker, Podman, containerd).
    Container,
    /// A process supervisor (supervisord, runit, s6, a container shim, tini …).
    Supervisor,
    /// An interactive or script shell.
    Shell,
    /// Started directly by PID 1 without a unit we can name.
    Init,
    /// A Windows service (the service control manager starts it, and restarts it by its
    /// recovery settings); the services are in `ManagedBy::services`.
    Service,
}

/// Parents that start their children again when they end.
const SUPERVISORS: [&str; 10] = [
    "supervisord",
    // Windows' service control manager: a service's parent, which restarts it by its recovery
    // settings.
    "services.exe",
    "runsv",
    "s6-supervise",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "docker-init",
    "tini",
    "dumb-init",
    "pm2",
];

/// The shells that start programs by hand or from scripts.
const SHELLS: [&str; 7] = ["bash", "sh", "dash", "zsh", "fish", "ksh", "tcsh"];

/// What manages a process, from its cgroup text and its parent chain (nearest first): a systemd
/// unit or scope, a container, a supervising parent, the shell that started it, or PID 1.
#[must_use]
pub fn managed_by(cgroup: &str, ancestry: &[Ancestor]) -> Option<ManagedBy> {
    for line in cgroup.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or("");
        for part in path.split('/').rev().filter(|p| !p.is_empty()) {
            if let Some(id) = part
                .strip_prefix("docker-")
                .or_else(|| part.strip_prefix("libpod-"))
                .or_else(|| part.strip_prefix("cri-containerd-"))
                .and_then(|p| p.strip_suffix(".scope"))
            {
                return Some(ManagedBy {
                    kind: ManagedKind::Container,
                    name: id.chars().take(12).collect::<String>().into(),
                    container: None,
                    services: Vec::new(),
                });
            }
            if part.len() == 64 && part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(ManagedBy {
                    kind: ManagedKind::Container,
                    name: part.chars().take(12).collect::<String>().into(),
                    container: None,
                    services: Vec::new(),
                });
            }
            let unit = part
                .rsplit_once('.')
                .is_some_and(|(_, kind)| kind == "service" || kind == "scope");
            if unit
                && !part.starts_with("user@")
                && !part.starts_with("session-")
                && !part.starts_with("init.scope")
            {
                return Some(ManagedBy {
                    kind: ManagedKind::Systemd,
                    name: part.into(),
                    container: None,
                    services: Vec::new(),
                });
            }
        }
    }
    let parent = ancestry.first()?;
    let name = parent.name.clone().unwrap_or_default();
    if SUPERVISORS.iter().any(|s| name.starts_with(s)) {
        return Some(ManagedBy {
            kind: ManagedKind::Supervisor,
            name: name.into(),
            container: None,
            services: Vec::new(),
        });
    }
    if SHELLS.contains(&name.as_str()) {
        return Some(ManagedBy {
            kind: ManagedKind::Shell,
            name: name.into(),
            container: None,
            services: Vec::new(),
        });
    }
    (parent.pid == 1).then(|| ManagedBy {
        kind: ManagedKind::Init,
        name: if name.is_empty() {
            "init".into()
        } else {
            name.into()
        },
        container: None,
        services: Vec::new(),
    })
}

/// Why a socket has no named process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerNote {
    /// A TIME_WAIT socket: left by a closed connection; no process owns it.
    TimeWait,
    /// No process holds it any more: the kernel keeps an orphaned connection while it closes.
    Orphan,
    /// Another user's process, which we may not inspect without privilege.
    OtherUser,
    /// We are root, but without CAP_SYS_PTRACE, so other users' descriptors stay closed to us.
    NoPtrace,
    /// Every process we can see was searched and none holds it: its owner lives in another PID
    /// namespace (a container, or the host seen from inside one) or it is the kernel's.
    NotInView,
    /// The socket was gone when we looked again: a short-lived socket (a client, another tool's
    /// probe), not a hidden owner.
    ShortLived,
    /// Found descriptor by descriptor (pidfd_getfd): this kernel's sock_diag cannot report
    /// bound-only sockets.
    FoundByDescriptor,
    /// The OS socket table names no process for it (PID 0): unknown, not a process. Wine reports
    /// this for every socket; Windows for sockets being torn down.
    NoPid,
    /// Not traced to a process: this process ran out of file descriptors while looking (its own
    /// limit, `ulimit -n`), so nothing is known of the owner.
    OutOfDescriptors,
    /// Not traced to a process, and some processes here could not be inspected although they
    /// are in view (not dumpable after dropping privileges, or in a user namespace this process
    /// has no rights in): one of them may hold it.
    Uninspectable,
    /// No process: the kernel holds it for a network device (`Owner::kernel` names it).
    Kernel,
}

/// Whether the sockets found on a port that refused a bind may all have passed: none was
/// found, or each was gone when looked for again, or has no process in view, or is held by another run of this very
/// program (a check's or a scan's probe holds a port for microseconds): the same executable,
/// or, while that process is ending and its executable can no longer be read, the same name.
/// Binding again is always safe: a bind that fails again is answered as it is (a `listen` or
/// `hold` of this tool holds for real).
#[must_use]
pub fn passed(found: &[Owner]) -> bool {
    static OURS: std::sync::OnceLock<(Option<String>, Option<String>)> = std::sync::OnceLock::new();
    let (exe, name) = OURS.get_or_init(|| {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.to_str().map(str::to_owned));
        (exe, name_of(std::process::id()))
    });
    found.iter().all(|o| {
        o.note == Some(OwnerNote::ShortLived)
            // No process in view: it may be another scan's probe, whose worker thread keeps its
            // sockets in a descriptor table of its own (not in /proc/PID/fd): two scans at once
            // blamed each other so (seen in CI).
            || o.pid.is_none()
            || (exe.is_some() && o.path.as_deref() == exe.as_deref())
            || (o.path.is_none() && name.is_some() && o.process.as_deref() == name.as_deref())
    })
}

/// Whether a refusal that [`passed`] may still be one of this user's own probes that has not
/// let go yet: a socket of this user's with no process in view (a scan's worker keeps its
/// sockets out of /proc/PID/fd) or of this very program. Such a port is worth binding again
/// for longer: on a loaded machine the probe's thread may be off the CPU for a quarter of a
/// second while it holds the port. Another user's socket out of view is not (a normal user's
/// scan would wait on every port a daemon holds).
#[must_use]
pub fn may_be_own_probe(found: &[Owner]) -> bool {
    let me = crate::platform::effective_uid();
    passed(found)
        && (found.is_empty()
            || found.iter().any(|o| match o.pid {
                // In view: `passed` let it through as ours or short-lived.
                Some(_) => true,
                None => me.is_none() || o.uid == me,
            }))
}

/// A TCP socket of process `pid` named `name` on `local` in `state`, every other field empty:
/// the owner unit tests start from.
#[cfg(test)]
pub(crate) fn test_owner(pid: u32, name: &str, local: &str, state: SockState) -> Owner {
    let local: std::net::SocketAddr = local.parse().expect("a socket address");
    Owner {
        pid: Some(pid),
        pids: vec![pid],
        process: Some(name.into()),
        path: None,
        cmdline: None,
        user: None,
        uid: None,
        protocol: Protocol::Tcp,
        family: if local.is_ipv6() {
            crate::target::Family::Ipv6
        } else {
            crate::target::Family::Ipv4
        },
        local,
        remote: None,
        state,
        v6_only: None,
        inode: 1,
        note: None,
        holder: None,
        reuse_port: None,
        ancestry: std::sync::Arc::default(),
        managed_by: None,
        kernel: None,
        device: None,
    }
}

/// Whether a socket bound to `held` (with its own IPV6_V6ONLY `held_v6_only`) covers the address
/// `ip`: the same address (IPv4-mapped IPv6 counts as its IPv4 address), the wildcard of its
/// family, or a dual-stack `[::]` for any IPv4 address.
#[must_use]
pub fn covers(held: std::net::IpAddr, held_v6_only: Option<bool>, ip: std::net::IpAddr) -> bool {
    let held = held.to_canonical();
    let ip = ip.to_canonical();
    held == ip
        || (held.is_unspecified() && held.is_ipv4() == ip.is_ipv4())
        || (held.is_unspecified() && held.is_ipv6() && ip.is_ipv4() && held_v6_only == Some(false))
}

/// What to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Query {
    /// The port.
    pub port: u16,
    /// Only this protocol; `None` for both.
    pub protocol: Option<Protocol>,
}

/// The sockets on a port, and how many we could see but not attribute.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Owners {
    /// Every socket found on the port.
    pub owners: Vec<Owner>,
    /// Sockets whose process we may not inspect (another user's, without privilege).
    pub hidden: usize,
    /// What the answer should say beside its sockets about how the lookup went (processes it
    /// could not inspect, a table the OS would not give); `wording::lookup_note` says each.
    pub notes: Vec<LookupNote>,
    /// The lookup was refused file descriptors (this process's limit): a socket or process it
    /// did not find may still be there.
    #[serde(default)]
    pub out_of_descriptors: bool,
    /// Socket tables the kernel would not dump (a sandbox that blocks netlink sockets, no
    /// descriptor left), each read another way or not at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<TableRefusal>,
}

impl Owners {
    /// Whether every socket table was read: when not, "no socket found" proves nothing (a
    /// listener may be there unseen) and the answer is unknown.
    #[must_use]
    pub fn complete(&self) -> bool {
        !self.out_of_descriptors && self.refused.iter().all(|r| r.read_instead)
    }
}

/// Something about how a lookup went that its answer says beside the sockets: a typed value,
/// worded by `wording::lookup_note` (the JSON carries the fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LookupNote {
    /// `count` processes could not be inspected: a holder among them would not be named.
    Uninspected {
        /// How many.
        count: usize,
        /// Why.
        why: Uninspected,
    },
    /// This kernel cannot report TCP sockets bound without listening (before Linux 6.9, or
    /// read from /proc/net), and `processes` could not be searched descriptor by descriptor
    /// for them: a bound-only socket there would hold the port unnamed.
    BoundOnlyUnsearched {
        /// How many processes could not be searched.
        processes: usize,
    },
    /// A socket table the OS would not give (Windows' IP Helper), with its error code.
    TableUnreadable {
        /// The table's protocol.
        protocol: Protocol,
        /// Its family.
        family: Family,
        /// The error the OS returned.
        code: u32,
    },
    /// A note as another version of the tool wrote it (an earlier remote's answer, where notes
    /// were sentences).
    #[serde(untagged)]
    Said(String),
}

/// Why processes could not be inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Uninspected {
    /// This process ran out of file descriptors while looking.
    OutOfDescriptors,
    /// Root, yet refused: not dumpable, or in a user namespace this process has no rights in.
    Refused,
    /// Other users' processes, which need root.
    OtherUsers,
}

/// A socket table whose dump the kernel refused (Linux sock_diag over netlink), and whether it
/// was read instead from `/proc/net`, which shows every socket but TCP sockets bound without
/// listening (those are then looked for descriptor by descriptor, as root) and no IPV6_V6ONLY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRefusal {
    /// The table's protocol.
    pub protocol: Protocol,
    /// Its family (`Any`: both at once).
    pub family: Family,
    /// The error the kernel gave (an errno; 0 when there was none).
    pub errno: i32,
    /// Whether the table was read from `/proc/net` instead; `false`: not read at all.
    pub read_instead: bool,
}

/// Lists every socket using `q.port` and names its process where this OS lets us.
#[must_use]
pub fn of(q: Query) -> Owners {
    identify(os::of(q))
}

fn identify(mut found: Owners) -> Owners {
    for o in &mut found.owners {
        o.holder = crate::owners::holders::identify(o).map(Box::new);
    }
    found
}

/// Whether `owner`'s socket has SO_REUSEPORT set, where this OS lets us ask (Linux, with the
/// rights to borrow the socket).
#[must_use]
pub fn reuse_port_of(owner: &Owner) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        linux::reuseport_of(owner.pid?, owner.inode)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = owner;
        None
    }
}

/// The parent chain of `pid`, nearest first, up to PID 1 (Linux; empty elsewhere).
#[must_use]
pub fn parent_chain(pid: u32) -> Vec<u32> {
    #[cfg(target_os = "linux")]
    {
        linux::ancestors(pid)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        Vec::new()
    }
}

/// The name of process `pid` (`/proc/PID/comm`), when readable.
#[must_use]
pub fn name_of(pid: u32) -> Option<String> {
    std::fs::read(format!("/proc/{pid}/comm")).ok().map(|b| {
        let b = b.strip_suffix(b"\n").unwrap_or(&b);
        String::from_utf8_lossy(b).into_owned()
    })
}

/// The name of `pid`'s parent process, where this OS lets us read it.
#[must_use]
pub fn parent_name(pid: u32) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        name_of(linux::parent_of(pid)?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Which sockets a whole-table read returns. On Linux the kernel is asked for those states
/// only: a table without connections never has the kernel walk its connection table (a quarter
/// of a million hash buckets per family on a machine with 24 GB), and one of listeners only
/// skips the bound-socket table too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Listening TCP sockets.
    Listening,
    /// Every socket that holds a port without a peer: listening and bound-only TCP sockets,
    /// unconnected UDP sockets (`list`'s default).
    Bound,
    /// Every socket, connections too.
    Everything,
}

impl Scope {
    /// Whether a socket in `state` belongs to this scope.
    #[must_use]
    pub fn admits(self, state: SockState) -> bool {
        match self {
            Scope::Listening => state == SockState::Listen,
            Scope::Bound => !state.is_connection(),
            Scope::Everything => true,
        }
    }
}

/// Every socket of the machine (this network namespace) in `scope`, with its owners: the whole
/// table of `list`.
#[must_use]
pub fn table(protocol: Option<Protocol>, scope: Scope) -> Owners {
    let mut t = os::table(protocol, scope);
    // Where the OS cannot be asked for some states only, the rest is dropped here.
    t.owners.retain(|o| scope.admits(o.state));
    identify(t)
}

/// The sockets in `scope` on `ports` (every socket of the machine when empty), their holders
/// looked for only for the sockets whose inode `spare` does not name: a caller that already
/// knows who holds a socket (the recorder, from its own state) spares the walk over every
/// process's descriptors for it. A spared socket's row names no process (and no note); the
/// caller fills it. `every_holder: false`: one process holding each other socket is enough (on
/// Linux the walk stops once each has one, newest processes first). Where the OS has no such
/// walk to spare, every holder is looked up as usual.
#[must_use]
pub fn sparing(
    ports: &[u16],
    protocol: Option<Protocol>,
    scope: Scope,
    spare: &(dyn Fn(u64) -> bool + Sync),
    every_holder: bool,
) -> Owners {
    #[cfg(target_os = "linux")]
    let mut found = linux::lookup(ports, protocol, scope, Some((spare, every_holder)));
    #[cfg(not(target_os = "linux"))]
    let mut found = {
        let _ = (spare, every_holder);
        if ports.is_empty() {
            os::table(protocol, scope)
        } else {
            os::of_ports(ports, protocol, scope)
        }
    };
    // Where the OS cannot be asked for some states only, the rest is dropped here.
    found.owners.retain(|o| scope.admits(o.state));
    identify(found)
}

/// A fingerprint of the sockets in `scope` as the kernel lists them (no process read): equal
/// fingerprints mean the same sockets in the same states. `None` where it cannot be had cheaply
/// (other systems, a refused dump): then the whole table must be read.
#[must_use]
pub fn fingerprint(scope: Scope) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        linux::fingerprint(scope)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = scope;
        None
    }
}

/// Every socket of the machine (this network namespace), connections too, with its owners.
#[must_use]
pub fn all(protocol: Option<Protocol>) -> Owners {
    table(protocol, Scope::Everything)
}

/// Every socket on any of `ports`, in one pass (range scans use this for the ports in use).
#[must_use]
pub fn of_ports(ports: &[u16], protocol: Option<Protocol>) -> Owners {
    of_ports_in(ports, protocol, Scope::Everything)
}

/// The sockets in `scope` on any of `ports`, in one pass. On Linux the kernel is asked for
/// those states only: listeners alone are found in its small listening table, without the walk
/// of every connection slot that any other state costs (about 1 ms on a machine with 24 GB).
#[must_use]
pub fn of_ports_in(ports: &[u16], protocol: Option<Protocol>, scope: Scope) -> Owners {
    if ports.is_empty() {
        return Owners::default();
    }
    let mut found = os::of_ports(ports, protocol, scope);
    // Where the OS cannot be asked for some states only, the rest is dropped here.
    found.owners.retain(|o| scope.admits(o.state));
    identify(found)
}

/// Finds bound-only TCP sockets on `ports` descriptor by descriptor (pidfd_getfd). `of` does this
/// by itself on Linux kernels before 6.9, whose sock_diag cannot report such sockets; this entry
/// point lets a caller force it. Needs root or ptrace rights; elsewhere it finds nothing.
#[must_use]
pub fn bound_only_by_descriptor(ports: &[u16]) -> Vec<Owner> {
    #[cfg(target_os = "linux")]
    {
        linux::bound_only_by_pidfd(ports, &std::collections::HashSet::new()).0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = ports;
        Vec::new()
    }
}

/// The command a person can paste to end the owner by hand.
#[must_use]
pub fn end_command(pid: u32) -> String {
    crate::platform::Os::current().kill_command(&[pid])
}

/// SIGTERM by PID, for systems without pidfds (Linux ends through `end`'s pidfd path).
#[cfg(all(unix, not(target_os = "linux")))]
pub(crate) fn terminate(pid: u32) -> std::io::Result<()> {
    let raw = i32::try_from(pid).map_err(|_| std::io::Error::other("PID out of range"))?;
    let pid = rustix::process::Pid::from_raw(raw).ok_or_else(|| std::io::Error::other("PID 0"))?;
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket found with no process in view, of user `uid`.
    fn out_of_view(uid: Option<u32>) -> Owner {
        Owner {
            pid: None,
            pids: Vec::new(),
            uid,
            ..test_owner(1, "x", "127.0.0.1:8080", SockState::BoundOnly)
        }
    }

    #[test]
    fn only_this_user_s_sockets_out_of_view_may_be_its_own_probes() {
        let me = crate::platform::effective_uid();
        assert!(may_be_own_probe(&[]), "gone before it was looked for");
        assert!(may_be_own_probe(&[out_of_view(me)]), "mine, out of view");
        if let Some(me) = me {
            let other = out_of_view(Some(me.wrapping_add(1)));
            assert!(passed(std::slice::from_ref(&other)), "bound again briefly");
            assert!(!may_be_own_probe(&[other]), "but not waited on");
        }
        let held = test_owner(
            std::process::id() + 1,
            "nginx",
            "127.0.0.1:8080",
            SockState::Listen,
        );
        assert!(
            !may_be_own_probe(&[held]),
            "a process in view that is not ours"
        );
    }
}
