//! The diagnosis's vocabulary: the kinds of clash, the evidence it is decided from, each finding
//! a machine can prove and each fix that follows, typed; `wording` gives each its sentence.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::oserror::wsa;
use crate::owners::{Owner, OwnerNote, SockState};
use crate::platform::Os;
use crate::target::{Family, Protocol};

/// Which kind of address clash blocked the bind, decided from the real sockets on the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// Another socket is bound to exactly this address and port.
    SameAddress,
    /// A socket on the wildcard address (0.0.0.0 / ::) covers the specific address asked for.
    WildcardBlocksSpecific,
    /// A socket on a specific address blocks a bind on the wildcard.
    SpecificBlocksWildcard,
    /// The holder is an IPv6 `[::]` socket with IPV6_V6ONLY off, which also holds the IPv4 port.
    DualStack,
    /// Our own `[::]` socket would be dual-stack and so collides with an IPv4 holder.
    OursDualStack,
    /// Only TIME_WAIT leftovers of closed connections hold the port.
    TimeWaitOnly,
    /// Only the ends of connections hold the port (a server that stopped or restarted left them).
    Leftovers,
    /// An outgoing connection took the port from the ephemeral range.
    Ephemeral,
    /// A TCP socket bound but neither listening nor connected (invisible to ss/netstat/lsof).
    BoundOnly,
    /// Address in use, but no socket we can see explains it.
    Unexplained,
}

/// Everything known before diagnosing, gathered in one place (`check::gather`): the proving
/// retries are here, so the diagnosis itself never calls back into the probe.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Sockets on the port with the target's protocol.
    pub owners: Vec<Owner>,
    /// Sockets on the port whose process we may not see.
    pub hidden: usize,
    /// Whether the same bind with SO_REUSEADDR succeeded (tried when only connection ends or
    /// TIME_WAIT sockets hold the port).
    pub reuse_retry: Option<bool>,
    /// Whether the same bind with SO_REUSEPORT succeeded (tried when a SO_REUSEPORT group holds
    /// the port).
    pub reuseport_retry: Option<bool>,
    /// A port near the asked one that the same bind took just now.
    pub free_port: Option<u16>,
    /// `net.ipv4.tcp_fin_timeout`: how long an orphaned FIN_WAIT2 socket lasts (Linux).
    pub fin_timeout_secs: Option<u32>,
    /// The owner lookup was refused file descriptors: a socket it did not find may be there.
    pub lookup_out_of_descriptors: bool,
    /// Socket tables the kernel would not dump, each read from /proc/net instead or not at all.
    pub lookup_refused: Vec<crate::owners::TableRefusal>,
}

/// A fact this machine proved about the bind, with the facts that prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// Live sockets (listening, bound or UDP) hold the port in a way that blocks this bind.
    Held {
        /// How they clash with the address asked for.
        conflict: Conflict,
        /// The address our bind tried.
        tried: IpAddr,
        /// The blocking sockets, with every process that shares each.
        sockets: Vec<Owner>,
    },
    /// Several listening sockets on one address and port: only SO_REUSEPORT allows that.
    ReusePortGroup {
        /// The shared address.
        local: SocketAddr,
        /// How many sockets are in the group.
        sockets: usize,
        /// Whether our bind with SO_REUSEPORT joined the group just now.
        retry: Option<bool>,
    },
    /// Open connections on the port besides the blocking sockets (summarised, never listed).
    Connections {
        /// How many.
        count: usize,
        /// Their peers' addresses (distinct, at most five).
        peers: Vec<IpAddr>,
        /// The processes that hold them (distinct, at most five; the accepting server itself
        /// for an accepted connection).
        #[serde(default)]
        processes: Vec<ConnectionProcess>,
    },
    /// Only ends of connections hold the port: left by a server that stopped or restarted.
    Leftovers {
        /// How many sockets in each state.
        states: Vec<(SockState, usize)>,
        /// Processes still holding some of them (children that inherited accepted connections).
        pids: Vec<u32>,
        /// How many have no process at all (orphans the kernel is closing).
        orphans: usize,
        /// Whether a bind with SO_REUSEADDR succeeded just now.
        reuse_retry: Option<bool>,
        /// How long an orphaned FIN_WAIT2 socket may last, in seconds.
        fin_timeout_secs: Option<u32>,
    },
    /// Only TIME_WAIT sockets of closed connections hold the port.
    TimeWait {
        /// How many.
        count: usize,
        /// Whether a bind with SO_REUSEADDR succeeded just now.
        reuse_retry: Option<bool>,
    },
    /// An outgoing connection's local end took the port from the ephemeral range.
    EphemeralCollision {
        /// Its local address.
        local: SocketAddr,
        /// The peer it is connected to.
        remote: Option<SocketAddr>,
        /// The process holding it, if seen.
        pid: Option<u32>,
        /// That process's name.
        process: Option<String>,
        /// The ephemeral range.
        range: (u16, u16),
    },
    /// A holder is a well-known program (container proxy, relay, SSH forward …).
    KnownHolder {
        /// Its PID.
        pid: Option<u32>,
        /// What it is, what to do, the command that shows more.
        holder: crate::owners::holders::KnownHolder,
    },
    /// Sockets on the port whose process we may not see, and why.
    HiddenOwners {
        /// How many.
        count: usize,
        /// Another user's process (we are not root), or root without CAP_SYS_PTRACE.
        why: OwnerNote,
    },
    /// The kernel itself holds the port for a tunnel device (proven by the device's own port
    /// setting: see `owners::KernelHolder`); no process does.
    KernelHolds {
        /// The protocol of its socket.
        protocol: Protocol,
        /// Its address.
        local: SocketAddr,
        /// The device kind and names.
        holder: crate::owners::KernelHolder,
    },
    /// Sockets seen a moment ago that were gone when looked at again.
    ShortLived {
        /// How many.
        count: usize,
    },
    /// The address is in use, but no socket we can see explains it.
    Unexplained {
        /// The network namespace we looked in.
        netns: Option<String>,
        /// The owner lookup was refused file descriptors (this process's limit): it could not
        /// look everywhere, so "no socket seen" says nothing.
        #[serde(default)]
        lookup_out_of_descriptors: bool,
        /// Socket tables the kernel would not dump (a sandbox that blocks netlink sockets),
        /// each read from /proc/net instead or not at all: "no socket seen" then says less.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tables_refused: Vec<crate::owners::TableRefusal>,
    },
    /// The port is privileged and this process lacks the right to bind it.
    Privileged {
        /// The port.
        port: u16,
        /// The first unprivileged port (Linux sysctl; 1024 elsewhere).
        start: u16,
        /// Our effective uid.
        uid: Option<u32>,
        /// Whether we are root (root without the capability is the container case).
        root: bool,
        /// The OS, whose rule this is.
        os: Os,
        /// This process's capabilities do not count here: its user namespace does not own
        /// this network namespace (Linux).
        #[serde(default)]
        caps_not_here: bool,
        /// `start` could not be read (no /proc/sys): the kernel's default, not this machine's.
        #[serde(default)]
        start_unknown: bool,
    },
    /// The port is privileged but we may bind it, or not privileged at all: the refusal comes from
    /// something this tool cannot see (a security module, a seccomp filter, an exclusive bind).
    PermissionUnexplained {
        /// The port.
        port: u16,
        /// The first unprivileged port.
        start: Option<u16>,
        /// Whether we may bind privileged ports.
        may_bind_privileged: bool,
        /// Windows: the excluded port ranges of these scopes could not be read, so an excluded
        /// range is not ruled out.
        #[serde(default)]
        excluded_unread: Vec<crate::facts::PortScope>,
    },
    /// Windows: the port lies in an excluded port range.
    ExcludedRange {
        /// The port.
        port: u16,
        /// The range's first port.
        start: u16,
        /// Its last port.
        end: u16,
        /// Which sockets it applies to, and whether an administrator reserved it.
        scope: crate::facts::PortScope,
    },
    /// The address is not assigned to any interface here.
    NotAssigned {
        /// The address.
        ip: IpAddr,
        /// This machine's addresses, with their interfaces.
        assigned: Vec<(crate::target::Host, String)>,
        /// `ip_nonlocal_bind` of that family, when known.
        nonlocal_bind: Option<bool>,
    },
    /// The address is assigned, yet not available (interface down, address tentative).
    AssignedNotReady {
        /// The address.
        ip: IpAddr,
    },
    /// A link-local IPv6 address without a scope.
    LinkLocalNoScope {
        /// The address.
        ip: IpAddr,
    },
    /// A `%scope` that names no interface.
    UnknownScope {
        /// The scope given.
        scope: String,
        /// This machine's interfaces.
        interfaces: Vec<String>,
    },
    /// An address of one family with the other family asked for.
    FamilyMismatch {
        /// The host as given.
        host: String,
        /// The family asked for.
        asked: Family,
    },
    /// The name did not resolve; `failure` is what the resolver's own code proves.
    NotResolved {
        /// The name.
        host: String,
        /// What the code proves: no such name, a temporary or lasting failure (nothing said of
        /// the name), no address of the family asked, an unknown service.
        failure: LookupFailure,
        /// The resolver's own error name and number.
        native_name: String,
        /// Its number.
        native_code: i32,
    },
    /// No answer: the resolver did not answer in time.
    ResolverTimedOut {
        /// The name.
        host: String,
        /// The time allowed, in milliseconds.
        timeout_ms: u64,
    },
    /// No answer: the user cancelled.
    Cancelled,
    /// Caution on success: the port is in the ephemeral range.
    EphemeralRange {
        /// The port.
        port: u16,
        /// The range.
        range: (u16, u16),
    },
    /// Caution on success: other addresses of the port are held.
    SharedPort {
        /// The OS, whose sharing rules differ.
        os: Os,
        /// The port.
        port: u16,
        /// What we bound.
        tested: Vec<String>,
        /// The other sockets' addresses.
        others: Vec<SocketAddr>,
    },
    /// Caution on success: SO_REUSEADDR let this UDP socket share an address another socket holds;
    /// unicast datagrams reach only one of them.
    UdpShared {
        /// The shared address.
        local: SocketAddr,
        /// The other sockets' processes.
        pids: Vec<u32>,
    },
    /// A NAT rule sends some of the port's incoming connections elsewhere: those its family
    /// and hook catch for the addresses the check bound (`reach`).
    NatRedirect {
        /// The rule (boxed: it is much larger than the other findings).
        redirect: Box<crate::nat::NatRedirect>,
        /// Which connections it catches, and which it leaves alone.
        #[serde(default)]
        reach: crate::nat::Reach,
    },
    /// NAT redirects were not checked (not root, no tool, no answer): said next to every
    /// verdict, since a bindable port may still never see its clients.
    NatUnread {
        /// Why the rules were not read.
        why: crate::nat::NatError,
    },
}

/// A process that holds an open connection on the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionProcess {
    /// Its PID.
    pub pid: u32,
    /// Its name, when readable.
    pub process: Option<String>,
}

/// What a failed name lookup proves, read from the resolver's code (the same on every OS: the
/// Winsock number each `EAI_*` maps to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupFailure {
    /// `EAI_NONAME` / `WSAHOST_NOT_FOUND`: the resolver answered that the name does not exist.
    NoSuchName,
    /// `EAI_AGAIN` / `WSATRY_AGAIN`: no answer now (the server failed, refused or could not be
    /// reached); says nothing about whether the name exists.
    Temporary,
    /// `EAI_FAIL`, `EAI_SYSTEM` / `WSANO_RECOVERY`: a failure the resolver calls lasting; says
    /// nothing about whether the name exists.
    Failed,
    /// `EAI_NODATA`, `EAI_ADDRFAMILY` / `WSANO_DATA`: the name exists, with no address of the
    /// family asked.
    NoAddress,
    /// `EAI_SERVICE` / `WSATYPE_NOT_FOUND`: the port was refused as a service for the protocol.
    UnknownService,
    /// `EAI_FAMILY` / `WSAEAFNOSUPPORT`: the resolver does not handle the family asked.
    FamilyUnsupported,
}

impl LookupFailure {
    /// The failure a resolver code (as its Winsock number) proves; `None` for a code that is no
    /// lookup failure.
    #[must_use]
    pub fn of(wsa_code: u32) -> Option<Self> {
        Some(match wsa_code {
            wsa::HOST_NOT_FOUND => Self::NoSuchName,
            wsa::TRY_AGAIN => Self::Temporary,
            wsa::NO_RECOVERY => Self::Failed,
            wsa::NO_DATA => Self::NoAddress,
            wsa::TYPE_NOT_FOUND => Self::UnknownService,
            wsa::EAFNOSUPPORT => Self::FamilyUnsupported,
            _ => return None,
        })
    }
}

/// Something the user can do, following from a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// End these processes (each once, the parent first).
    EndProcesses {
        /// The port they hold.
        port: u16,
        /// The PIDs.
        pids: Vec<u32>,
    },
    /// Stop these Windows services (with `sc.exe stop`), not the processes that host them.
    StopServices {
        /// The services the holding processes run.
        services: Vec<crate::owners::WinService>,
        /// The host processes: PID and image name (`svchost.exe`).
        hosts: Vec<(u32, String)>,
    },
    /// A well-known holder's own advice and command.
    HolderAdvice {
        /// What to do.
        advice: String,
        /// The command that shows more.
        command: String,
    },
    /// Use this port instead: the same bind took it just now.
    UseFreePort {
        /// The port.
        port: u16,
    },
    /// Set SO_REUSEADDR before bind (a retry proved it works).
    SetReuseAddr,
    /// Set SO_REUSEPORT, as the group's sockets do (same user only).
    SetReusePort,
    /// Set IPV6_V6ONLY on our IPv6 socket so it leaves the IPv4 port alone.
    SetV6Only,
    /// The holder should set IPV6_V6ONLY on its `[::]` socket.
    HolderSetsV6Only,
    /// Bind the specific address instead of the wildcard.
    BindSpecific,
    /// Wait; the sockets go away by themselves.
    Wait {
        /// About how long, in seconds.
        secs: u32,
    },
    /// Use a port at or above the first unprivileged one.
    UsePortFrom {
        /// That port.
        start: u16,
    },
    /// Give the program CAP_NET_BIND_SERVICE.
    GrantBindCapability {
        /// Whether we run as root (the capability was dropped, as containers do).
        root: bool,
    },
    /// Keep outgoing connections off the port (Linux: ip_local_reserved_ports).
    ReservePort {
        /// The port.
        port: u16,
        /// The ports reserved already, kept in the new setting.
        existing: Vec<(u16, u16)>,
        /// The OS, whose command differs.
        os: Os,
    },
    /// Look the name up again later: the resolver called its failure temporary.
    RetryLookup,
    /// Bind an address this machine has.
    BindAssigned {
        /// One of them, of the same family (with its scope for a link-local one).
        address: crate::target::Host,
    },
    /// Add the interface to the link-local address.
    AddScope {
        /// This machine's link-local addresses with their scope.
        addresses: Vec<crate::target::Host>,
    },
    /// Drop `-4`/`-6`, or use an address of the family asked for.
    MatchFamily {
        /// The wildcard of the family asked for.
        example: String,
    },
    /// Delete or reconfigure the network devices whose kernel socket holds the port.
    RemoveDevices {
        /// The devices.
        devices: Vec<String>,
    },
    /// Check again with the rights to name the process.
    RunElevated,
    /// Give this tool CAP_SYS_PTRACE (root without it cannot name other users' processes).
    GrantPtrace,
}

/// The typed diagnosis of one check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnosis {
    /// The kind of clash, for address-in-use.
    pub conflict: Option<Conflict>,
    /// What this machine proved, most important first.
    pub findings: Vec<Finding>,
    /// What to do, most specific first; never the same PID twice.
    pub fixes: Vec<Fix>,
}
