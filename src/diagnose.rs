//! The diagnosis as data: from the evidence gathered once (the probe, the sockets on the port, the
//! machine's facts, the proving retries), the findings this machine proved and the fixes that
//! follow from them. A pure function, unit-tested on fixture evidence; `wording` turns the result
//! into sentences. Nothing here is worded and nothing here touches a socket.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::facts::Facts;
use crate::oserror::wsa;
use crate::owners::{Owner, OwnerNote, SockState};
use crate::platform::Os;
use crate::probe::ProbeReport;
use crate::target::{Family, Protocol, Target};

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
        holder: crate::holders::KnownHolder,
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
    },
    /// Windows: the port lies in an excluded port range.
    ExcludedRange {
        /// The port.
        port: u16,
        /// The range's first port.
        start: u16,
        /// Its last port.
        end: u16,
        /// Who reserved it, as netsh says.
        scope: String,
    },
    /// The address is not assigned to any interface here.
    NotAssigned {
        /// The address.
        ip: IpAddr,
        /// This machine's addresses, with their interfaces.
        assigned: Vec<(String, String)>,
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
    /// A NAT rule sends the port's incoming connections elsewhere.
    NatRedirect {
        /// The rule.
        redirect: crate::nat::NatRedirect,
    },
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
        /// One of them, of the same family.
        address: String,
    },
    /// Add the interface to the link-local address.
    AddScope {
        /// This machine's link-local addresses with their scope.
        addresses: Vec<String>,
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

/// Diagnoses a finished probe from the evidence: what failed and why (failures), or what to be
/// careful of (successes). Pure: every finding comes from the arguments.
#[must_use]
pub fn diagnose(report: &ProbeReport, facts: &Facts, ev: &Evidence) -> Diagnosis {
    let mut d = Diagnosis::default();
    let target = &report.target;
    let failed: Option<SocketAddr> = report
        .failed_address
        .as_deref()
        .and_then(|a| a.parse().ok());
    let Some(err) = report.error.as_ref() else {
        cautions(report, facts, ev, &mut d);
        return d;
    };
    let ip = failed.map(|a| a.ip());
    match err.wsa_code {
        wsa::EACCES => permission(target, ip, facts, ev, &mut d),
        wsa::EADDRINUSE => address_in_use(target, ip, facts, ev, &mut d),
        wsa::EADDRNOTAVAIL => not_available(failed, facts, &mut d),
        wsa::EINVAL => {
            if let Some(SocketAddr::V6(v6)) = failed
                && v6.ip().is_unicast_link_local()
                && v6.scope_id() == 0
            {
                d.findings.push(Finding::LinkLocalNoScope {
                    ip: IpAddr::V6(*v6.ip()),
                });
                d.fixes.push(add_scope(facts));
            }
        }
        wsa::HOST_NOT_FOUND
        | wsa::NO_DATA
        | wsa::EAFNOSUPPORT
        | wsa::TRY_AGAIN
        | wsa::NO_RECOVERY
        | wsa::TYPE_NOT_FOUND => {
            name_failure(target, err, facts, &mut d);
        }
        wsa::ETIMEDOUT => d.findings.push(Finding::ResolverTimedOut {
            host: target.host.clone(),
            timeout_ms: report.resolve.elapsed_us / 1000,
        }),
        wsa::ECANCELLED => d.findings.push(Finding::Cancelled),
        _ => {}
    }
    d
}

fn name_failure(target: &Target, err: &crate::oserror::OsError, facts: &Facts, d: &mut Diagnosis) {
    let literal = match target.host() {
        crate::target::Host::Ip { ip, .. } => Some(ip),
        _ => None,
    };
    if let Some(ip) = literal
        && ((ip.is_ipv4() && target.family == Family::Ipv6)
            || (ip.is_ipv6() && target.family == Family::Ipv4))
    {
        d.findings.push(Finding::FamilyMismatch {
            host: target.host.clone(),
            asked: target.family,
        });
        d.fixes.push(Fix::MatchFamily {
            example: if target.family == Family::Ipv6 {
                "::"
            } else {
                "0.0.0.0"
            }
            .into(),
        });
        return;
    }
    if err.wsa_code == wsa::HOST_NOT_FOUND
        && let crate::target::Host::Ip {
            scope: Some(scope), ..
        } = target.host()
    {
        let mut interfaces: Vec<String> = facts.interfaces.iter().map(|i| i.name.clone()).collect();
        interfaces.dedup();
        d.findings.push(Finding::UnknownScope { scope, interfaces });
        d.fixes.push(add_scope(facts));
        return;
    }
    let Some(failure) = LookupFailure::of(err.wsa_code) else {
        return;
    };
    d.findings.push(Finding::NotResolved {
        host: target.host.clone(),
        failure,
        native_name: err.native_name.clone(),
        native_code: err.native_code,
    });
    if failure == LookupFailure::Temporary {
        d.fixes.push(Fix::RetryLookup);
    }
    if failure != LookupFailure::UnknownService
        && let Some(i) = facts.interfaces.first()
    {
        d.fixes.push(Fix::BindAssigned {
            address: i.address.clone(),
        });
    }
}

fn add_scope(facts: &Facts) -> Fix {
    Fix::AddScope {
        addresses: facts
            .interfaces
            .iter()
            .filter(|i| i.address.starts_with("fe80:"))
            .map(|i| i.address.clone())
            .collect(),
    }
}

fn permission(
    target: &Target,
    ip: Option<IpAddr>,
    facts: &Facts,
    ev: &Evidence,
    d: &mut Diagnosis,
) {
    let port = target.port;
    let os = facts.os;
    if os == Os::Windows
        && let Some(r) = facts.reserved_ranges.iter().find(|r| r.contains(port))
    {
        d.findings.push(Finding::ExcludedRange {
            port,
            start: r.start,
            end: r.end,
            scope: r.scope.clone(),
        });
        push_free_port(ev, d);
        return;
    }
    let refused = crate::platform::privileged_refusal(
        os,
        port,
        ip,
        facts.unprivileged_port_start,
        facts.may_bind_privileged(),
    );
    if refused {
        let start = facts.unprivileged_port_start.unwrap_or(1024);
        d.findings.push(Finding::Privileged {
            port,
            start,
            uid: facts.uid,
            root: facts.elevated,
            os,
            caps_not_here: facts.netns_caps_apply == Some(false),
            start_unknown: os == Os::Linux && facts.unprivileged_port_start.is_none(),
        });
        // The kernel checks the right first, then whether the address is free: when a socket
        // holds the port too, say both, in that order.
        let (conflict, _) = classify_conflict(target, ip, &ev.owners, os, facts.bindv6only);
        if conflict != Conflict::Unexplained {
            address_in_use(target, ip, facts, ev, d);
            d.fixes.retain(|f| !matches!(f, Fix::UseFreePort { .. }));
        }
        // A capability granted in a user namespace that does not own this network namespace
        // would count no more than the one it has.
        if os == Os::Linux && facts.netns_caps_apply != Some(false) {
            d.fixes.push(Fix::GrantBindCapability {
                root: facts.elevated,
            });
        }
        d.fixes.push(Fix::UsePortFrom { start });
    } else {
        d.findings.push(Finding::PermissionUnexplained {
            port,
            start: facts.unprivileged_port_start,
            may_bind_privileged: facts.may_bind_privileged(),
        });
    }
}

fn not_available(failed: Option<SocketAddr>, facts: &Facts, d: &mut Diagnosis) {
    let Some(addr) = failed else { return };
    let ip = addr.ip();
    if let SocketAddr::V6(v6) = addr
        && v6.ip().is_unicast_link_local()
        && v6.scope_id() == 0
    {
        d.findings.push(Finding::LinkLocalNoScope { ip });
        d.fixes.push(add_scope(facts));
        return;
    }
    if facts.has_address(ip) {
        d.findings.push(Finding::AssignedNotReady { ip });
        return;
    }
    d.findings.push(Finding::NotAssigned {
        ip,
        assigned: facts
            .interfaces
            .iter()
            .map(|i| (i.address.clone(), i.name.clone()))
            .collect(),
        nonlocal_bind: if ip.is_ipv4() {
            facts.nonlocal_bind_v4
        } else {
            facts.nonlocal_bind_v6
        },
    });
    if let Some(i) = facts.interfaces.iter().find(|i| i.ipv6 == ip.is_ipv6()) {
        d.fixes.push(Fix::BindAssigned {
            address: i.address.clone(),
        });
    }
}

/// Decides which clash blocks a bind of `target` on `ip` from the real sockets; pure, so every case
/// is unit-tested. Returns the clash and the sockets that make it.
#[must_use]
pub fn classify_conflict(
    target: &Target,
    ip: Option<IpAddr>,
    owners: &[Owner],
    os: Os,
    bindv6only: Option<bool>,
) -> (Conflict, Vec<Owner>) {
    // A socket that was gone when looked at again (a forked child holding a copy of a descriptor
    // until its exec, a short-lived client) blocks nothing now.
    let same_proto: Vec<&Owner> = owners
        .iter()
        .filter(|o| o.protocol == target.protocol && o.note != Some(OwnerNote::ShortLived))
        .collect();
    let Some(ip) = ip.map(|i| i.to_canonical()) else {
        return (Conflict::Unexplained, Vec::new());
    };
    // Live holders: listeners, bound-only sockets, UDP sockets (connected UDP sockets hold the
    // address too).
    let live = same_proto
        .iter()
        .copied()
        .filter(|o| !o.state.is_connection() || o.protocol == Protocol::Udp);
    let mut best: Option<(u8, Conflict, Vec<Owner>)> = None;
    let mut consider = |rank: u8, c: Conflict, o: &Owner| match &mut best {
        Some((r, _, v)) if *r == rank => v.push(o.clone()),
        Some((r, _, _)) if *r < rank => {}
        _ => best = Some((rank, c, vec![o.clone()])),
    };
    for o in live {
        let held = o.local.ip().to_canonical();
        let bound_only = o.protocol == Protocol::Tcp && o.state == SockState::BoundOnly;
        let pick = |c: Conflict| if bound_only { Conflict::BoundOnly } else { c };
        if held == ip {
            consider(u8::from(bound_only), pick(Conflict::SameAddress), o);
        } else if held.is_ipv4() == ip.is_ipv4() && held.is_unspecified() {
            consider(2, pick(Conflict::WildcardBlocksSpecific), o);
        } else if held.is_ipv4() == ip.is_ipv4() && ip.is_unspecified() {
            consider(3, pick(Conflict::SpecificBlocksWildcard), o);
        } else if ip.is_ipv4() && held.is_ipv6() && held.is_unspecified() {
            // The kernel's own word on the holder's IPV6_V6ONLY (sock_diag), else the defaults.
            let dual = o.v6_only.map_or_else(
                || crate::platform::ipv6_is_dual_stack(os, None, bindv6only),
                |v| !v,
            );
            if dual {
                consider(4, Conflict::DualStack, o);
            }
        } else if ip.is_ipv6() && ip.is_unspecified() && held.is_ipv4() {
            // Our own [::] socket would be dual-stack and collide with an IPv4 holder.
            if crate::platform::ipv6_is_dual_stack(os, target.options.v6_only, bindv6only) {
                consider(5, Conflict::OursDualStack, o);
            }
        }
    }
    if let Some((_, c, v)) = best {
        return (c, v);
    }
    let ends: Vec<Owner> = same_proto
        .iter()
        .filter(|o| o.state.is_connection() && o.state != SockState::TimeWait)
        .map(|o| (*o).clone())
        .collect();
    if !ends.is_empty() {
        return (Conflict::Leftovers, ends);
    }
    let tw: Vec<Owner> = same_proto
        .iter()
        .filter(|o| o.state == SockState::TimeWait)
        .map(|o| (*o).clone())
        .collect();
    if !tw.is_empty() {
        return (Conflict::TimeWaitOnly, tw);
    }
    (Conflict::Unexplained, Vec::new())
}

/// The PIDs of `sockets`, each once, parents before their children. A proven known holder (a
/// container proxy, a relay) is dealt with through its own advice, never ended.
fn pids_of(sockets: &[Owner]) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for o in sockets
        .iter()
        .filter(|o| o.holder.as_ref().is_none_or(|h| !h.verified))
    {
        let all = if o.pids.is_empty() {
            o.pid.into_iter().collect()
        } else {
            o.pids.clone()
        };
        for p in all {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

fn push_free_port(ev: &Evidence, d: &mut Diagnosis) {
    if let Some(port) = ev.free_port {
        d.fixes.push(Fix::UseFreePort { port });
    }
}

fn address_in_use(
    target: &Target,
    ip: Option<IpAddr>,
    facts: &Facts,
    ev: &Evidence,
    d: &mut Diagnosis,
) {
    let (conflict, blockers) =
        classify_conflict(target, ip, &ev.owners, facts.os, facts.bindv6only);
    let port = target.port;
    // An outgoing connection's local end: the port is ephemeral and the peer's port is not (an
    // accepted connection's peer is a client, whose port is ephemeral itself).
    let conflict = match conflict {
        Conflict::Leftovers
            if facts.is_ephemeral(port)
                && blockers.iter().all(|o| {
                    matches!(o.state, SockState::Established | SockState::SynSent)
                        && o.remote.is_some_and(|r| !facts.is_ephemeral(r.port()))
                }) =>
        {
            Conflict::Ephemeral
        }
        c => c,
    };
    d.conflict = Some(conflict);
    match conflict {
        Conflict::TimeWaitOnly => {
            d.findings.push(Finding::TimeWait {
                count: blockers.len(),
                reuse_retry: ev.reuse_retry,
            });
            match ev.reuse_retry {
                Some(true) => d.fixes.push(Fix::SetReuseAddr),
                Some(false) => d.fixes.push(Fix::Wait { secs: 60 }),
                None => {}
            }
            push_free_port(ev, d);
        }
        Conflict::Leftovers => {
            leftovers(&blockers, ev, d);
            push_free_port(ev, d);
        }
        Conflict::Ephemeral => {
            if let (Some(o), Some(r)) = (blockers.first(), facts.ephemeral_range.as_ref()) {
                d.findings.push(Finding::EphemeralCollision {
                    local: o.local,
                    remote: o.remote,
                    pid: o.pid,
                    process: o.process.as_deref().map(str::to_owned),
                    range: (r.start, r.end),
                });
                d.fixes.push(Fix::ReservePort {
                    port,
                    existing: facts
                        .reserved_ranges
                        .iter()
                        .map(|r| (r.start, r.end))
                        .collect(),
                    os: facts.os,
                });
            }
            push_free_port(ev, d);
        }
        Conflict::Unexplained => {
            if ev.hidden == 0 {
                d.findings.push(Finding::Unexplained {
                    netns: facts.netns.clone(),
                    lookup_out_of_descriptors: ev.lookup_out_of_descriptors,
                    tables_refused: ev.lookup_refused.clone(),
                });
            }
            push_free_port(ev, d);
        }
        _ => held(target, ip, conflict, &blockers, ev, d),
    }
    hidden_and_transient(ev, d);
}

fn held(
    target: &Target,
    ip: Option<IpAddr>,
    conflict: Conflict,
    blockers: &[Owner],
    ev: &Evidence,
    d: &mut Diagnosis,
) {
    let port = target.port;
    // Several listening sockets on one address and port can only be a SO_REUSEPORT group; a
    // single one is, when the socket itself said it set SO_REUSEPORT.
    let listeners: Vec<&Owner> = blockers
        .iter()
        .filter(|o| o.state == SockState::Listen)
        .collect();
    let group = (listeners.len() > 1
        && listeners.iter().all(|o| o.local == listeners[0].local)
        && listeners.windows(2).any(|w| w[0].inode != w[1].inode))
        || (listeners.len() == 1 && listeners[0].reuse_port == Some(true));
    let pids = pids_of(blockers);
    // The Held finding goes before the holder details, after any finding made before (a
    // privileged port is the kernel's first check).
    let first = d.findings.len();
    for o in blockers {
        if let Some(h) = &o.holder {
            d.findings.push(Finding::KnownHolder {
                pid: o.pid,
                holder: (**h).clone(),
            });
        }
    }
    d.findings.insert(
        first,
        Finding::Held {
            conflict,
            tried: ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            sockets: blockers.to_vec(),
        },
    );
    if group {
        d.findings.push(Finding::ReusePortGroup {
            local: listeners[0].local,
            sockets: listeners.len(),
            retry: ev.reuseport_retry,
        });
        if ev.reuseport_retry == Some(true) {
            d.fixes.push(Fix::SetReusePort);
        }
    }
    let connections: Vec<&Owner> = ev
        .owners
        .iter()
        .filter(|o| o.state.is_connection() && o.state != SockState::TimeWait)
        .collect();
    if !connections.is_empty() {
        let mut peers: Vec<IpAddr> = Vec::new();
        for c in &connections {
            if let Some(r) = c.remote
                && !peers.contains(&r.ip())
                && peers.len() < 5
            {
                peers.push(r.ip());
            }
        }
        d.findings.push(Finding::Connections {
            count: connections.len(),
            peers,
        });
    }
    for o in blockers {
        if let Some(h) = o.holder.as_ref().filter(|h| h.verified) {
            d.fixes.push(Fix::HolderAdvice {
                advice: h.advice.clone(),
                command: h.command.clone(),
            });
        }
    }
    match conflict {
        Conflict::DualStack => d.fixes.push(Fix::HolderSetsV6Only),
        Conflict::OursDualStack => d.fixes.push(Fix::SetV6Only),
        Conflict::SpecificBlocksWildcard => d.fixes.push(Fix::BindSpecific),
        _ => {}
    }
    if !pids.is_empty() {
        d.fixes.push(Fix::EndProcesses { port, pids });
    }
    push_free_port(ev, d);
}

fn leftovers(blockers: &[Owner], ev: &Evidence, d: &mut Diagnosis) {
    let mut states: Vec<(SockState, usize)> = Vec::new();
    for o in blockers {
        match states.iter_mut().find(|(s, _)| *s == o.state) {
            Some((_, n)) => *n += 1,
            None => states.push((o.state, 1)),
        }
    }
    let pids = pids_of(blockers);
    let orphans = blockers.iter().filter(|o| o.pid.is_none()).count();
    d.findings.push(Finding::Leftovers {
        states,
        pids: pids.clone(),
        orphans,
        reuse_retry: ev.reuse_retry,
        fin_timeout_secs: ev.fin_timeout_secs,
    });
    if ev.reuse_retry == Some(true) {
        d.fixes.push(Fix::SetReuseAddr);
    }
    if !pids.is_empty() {
        d.fixes.push(Fix::EndProcesses {
            port: blockers.first().map_or(0, |o| o.local.port()),
            pids,
        });
    } else if orphans > 0 {
        d.fixes.push(Fix::Wait {
            secs: ev.fin_timeout_secs.unwrap_or(60),
        });
    }
}

fn hidden_and_transient(ev: &Evidence, d: &mut Diagnosis) {
    let short = ev
        .owners
        .iter()
        .filter(|o| o.note == Some(OwnerNote::ShortLived))
        .count();
    if short > 0 {
        d.findings.push(Finding::ShortLived { count: short });
    }
    let kernel = kernel_holds(&ev.owners);
    d.findings.extend(kernel.findings);
    if !kernel.fixes.is_empty() {
        // Before "use another port": the device is the cause.
        let at = d
            .fixes
            .iter()
            .position(|f| matches!(f, Fix::UseFreePort { .. }))
            .unwrap_or(d.fixes.len());
        d.fixes.splice(at..at, kernel.fixes);
    }
    for why in [
        OwnerNote::OtherUser,
        OwnerNote::NoPtrace,
        OwnerNote::NotInView,
        OwnerNote::Uninspectable,
        OwnerNote::NoPid,
        OwnerNote::OutOfDescriptors,
    ] {
        let count = ev.owners.iter().filter(|o| o.note == Some(why)).count();
        if count == 0 {
            continue;
        }
        d.findings.push(Finding::HiddenOwners { count, why });
        match why {
            OwnerNote::OtherUser => d.fixes.push(Fix::RunElevated),
            OwnerNote::NoPtrace => d.fixes.push(Fix::GrantPtrace),
            _ => {}
        }
    }
}

/// The sockets among `owners` the kernel holds for a network device: a finding for each and
/// the one fix that frees them (`who` shows these too, worded the same).
#[must_use]
pub fn kernel_holds(owners: &[Owner]) -> Diagnosis {
    let mut d = Diagnosis::default();
    let mut devices: Vec<String> = Vec::new();
    for o in owners.iter().filter(|o| o.note == Some(OwnerNote::Kernel)) {
        let Some(k) = o.kernel.as_deref() else {
            continue;
        };
        d.findings.push(Finding::KernelHolds {
            protocol: o.protocol,
            local: o.local,
            holder: k.clone(),
        });
        for dev in &k.devices {
            if !devices.iter().any(|x| **x == **dev) {
                devices.push(dev.to_string());
            }
        }
    }
    if !devices.is_empty() {
        d.fixes.push(Fix::RemoveDevices { devices });
    }
    d
}

/// Cautions for a bind that worked.
fn cautions(report: &ProbeReport, facts: &Facts, ev: &Evidence, d: &mut Diagnosis) {
    let target = &report.target;
    let bound: Vec<SocketAddr> = report
        .attempts
        .iter()
        .filter_map(|a| a.bound.as_deref().and_then(|b| b.parse().ok()))
        .collect();
    let port = bound.first().map_or(target.port, SocketAddr::port);
    if target.port != 0
        && let Some(r) = facts.ephemeral_range.as_ref().filter(|r| r.contains(port))
    {
        d.findings.push(Finding::EphemeralRange {
            port,
            range: (r.start, r.end),
        });
    }
    if target.port == 0 {
        return;
    }
    // UDP with SO_REUSEADDR: another socket on the very address we bound shares it.
    if target.protocol == Protocol::Udp && target.options.reuse_address {
        for b in &bound {
            let pids: Vec<u32> = pids_of(
                &ev.owners
                    .iter()
                    .filter(|o| {
                        crate::owners::covers(o.local.ip(), o.v6_only, b.ip())
                            && o.local.ip().to_canonical() == b.ip().to_canonical()
                    })
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            if !pids.is_empty() {
                d.findings.push(Finding::UdpShared { local: *b, pids });
            }
        }
    }
    let others: Vec<SocketAddr> = ev
        .owners
        .iter()
        .filter(|o| !o.state.is_connection() && !bound.contains(&o.local))
        .map(|o| o.local)
        .collect();
    if !others.is_empty()
        && !d
            .findings
            .iter()
            .any(|f| matches!(f, Finding::UdpShared { .. }))
    {
        d.findings.push(Finding::SharedPort {
            os: facts.os,
            port,
            tested: bound.iter().map(ToString::to_string).collect(),
            others,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Family;

    fn owner(local: &str, state: SockState, v6_only: Option<bool>) -> Owner {
        Owner {
            v6_only,
            ..crate::owners::test_owner(42, "srv", local, state)
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    fn classify(t: &Target, at: &str, o: &[Owner], bindv6only: Option<bool>) -> Conflict {
        classify_conflict(t, ip(at), o, Os::Linux, bindv6only).0
    }

    #[test]
    fn classifies_each_clash() {
        use SockState::{BoundOnly, Established, FinWait2, Listen, TimeWait};
        let t = Target::tcp("127.0.0.1", 80);
        let l = |a: &str| [owner(a, Listen, None)];
        assert_eq!(
            classify(&t, "127.0.0.1", &l("127.0.0.1:80"), None),
            Conflict::SameAddress
        );
        assert_eq!(
            classify(&t, "127.0.0.1", &l("0.0.0.0:80"), None),
            Conflict::WildcardBlocksSpecific
        );
        assert_eq!(
            classify(&t, "0.0.0.0", &l("127.0.0.1:80"), None),
            Conflict::SpecificBlocksWildcard
        );
        let dual = [owner("[::]:80", Listen, Some(false))];
        assert_eq!(
            classify(&t, "0.0.0.0", &dual, Some(true)),
            Conflict::DualStack,
            "the socket's own flag wins over the sysctl"
        );
        let v6only = [owner("[::]:80", Listen, Some(true))];
        assert_eq!(
            classify(&t, "0.0.0.0", &v6only, Some(false)),
            Conflict::Unexplained
        );
        assert_eq!(
            classify(
                &t,
                "127.0.0.1",
                &[owner("127.0.0.1:80", TimeWait, None)],
                None
            ),
            Conflict::TimeWaitOnly
        );
        assert_eq!(
            classify(
                &t,
                "127.0.0.1",
                &[owner("127.0.0.1:80", BoundOnly, None)],
                None
            ),
            Conflict::BoundOnly
        );
        assert_eq!(
            classify(
                &t,
                "127.0.0.1",
                &[owner("127.0.0.1:80", FinWait2, None)],
                None
            ),
            Conflict::Leftovers
        );
        assert_eq!(
            classify(
                &t,
                "127.0.0.1",
                &[owner("127.0.0.1:80", Established, None)],
                None
            ),
            Conflict::Leftovers
        );
        let t6 = Target::tcp("::", 80);
        assert_eq!(
            classify(&t6, "::", &l("0.0.0.0:80"), Some(false)),
            Conflict::OursDualStack
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_their_ipv4_address() {
        let t = Target::tcp("::ffff:127.0.0.1", 80);
        let o = [owner("127.0.0.1:80", SockState::Listen, None)];
        assert_eq!(
            classify(&t, "::ffff:127.0.0.1", &o, None),
            Conflict::SameAddress,
            "mapped tried, v4 held"
        );
        let t = Target::tcp("127.0.0.1", 80);
        let o = [owner("[::ffff:127.0.0.1]:80", SockState::Listen, None)];
        assert_eq!(
            classify(&t, "127.0.0.1", &o, None),
            Conflict::SameAddress,
            "v4 tried, mapped held"
        );
    }

    #[test]
    fn live_listener_wins_over_time_wait_and_connections() {
        let t = Target::tcp("127.0.0.1", 80);
        let o = [
            owner("127.0.0.1:80", SockState::TimeWait, None),
            owner("127.0.0.1:80", SockState::Established, None),
            owner("127.0.0.1:80", SockState::Listen, None),
        ];
        let (c, who) = classify_conflict(&t, ip("127.0.0.1"), &o, Os::Linux, None);
        assert_eq!(c, Conflict::SameAddress, "the listener");
        assert_eq!(who.len(), 1, "only the listener is blamed");
    }

    /// A failed probe of `target` at `at` with `errno`, as the probe would report it.
    fn failed(target: &Target, at: &str, errno: i32) -> ProbeReport {
        use crate::probe::{Step, StepKind, Verdict};
        // The fixtures are Linux evidence (see `facts`), whichever OS runs the tests.
        let error = crate::oserror::OsError::for_os(Os::Linux, errno);
        let resolve = Step {
            step: StepKind::Resolve,
            ok: true,
            elapsed_us: 1,
            detail: String::new(),
            error: None,
        };
        ProbeReport {
            target: target.clone(),
            resolve: resolve.clone(),
            attempts: Vec::new(),
            verdict: Verdict::NotBindable,
            error: Some(error),
            failed_step: Some(StepKind::Bind),
            failed_address: Some(at.into()),
            elapsed_us: 1,
        }
    }

    fn facts() -> Facts {
        Facts {
            os: Os::Linux,
            unprivileged_port_start: Some(1024),
            ephemeral_range: Some(crate::facts::PortRange {
                start: 32768,
                end: 60999,
                scope: String::new(),
            }),
            ..Facts::default()
        }
    }

    fn kinds(d: &Diagnosis) -> Vec<String> {
        d.findings
            .iter()
            .map(|f| {
                serde_json::to_value(f).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    const EADDRINUSE: i32 = 98;
    const EACCES: i32 = 13;

    #[test]
    fn time_wait_fix_follows_the_retry() {
        let t = Target::tcp("127.0.0.1", 8080);
        let r = failed(&t, "127.0.0.1:8080", EADDRINUSE);
        let mut ev = Evidence {
            owners: vec![owner("127.0.0.1:8080", SockState::TimeWait, None)],
            reuse_retry: Some(true),
            ..Evidence::default()
        };
        ev.owners[0].pid = None;
        let d = diagnose(&r, &facts(), &ev);
        assert_eq!(kinds(&d), ["time_wait"]);
        assert_eq!(d.fixes.first(), Some(&Fix::SetReuseAddr), "retry worked");
        ev.reuse_retry = Some(false);
        let d = diagnose(&r, &facts(), &ev);
        assert_eq!(
            d.fixes.first(),
            Some(&Fix::Wait { secs: 60 }),
            "retry failed"
        );
    }

    #[test]
    fn a_lookup_short_of_descriptors_says_so_instead_of_no_socket_visible() {
        let t = Target::tcp("127.0.0.1", 8080);
        let r = failed(&t, "127.0.0.1:8080", EADDRINUSE);
        let mut ev = Evidence::default();
        let said = |ev: &Evidence| {
            let d = diagnose(&r, &facts(), ev);
            d.findings
                .iter()
                .map(|f| crate::wording::finding(f, &t))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(
            said(&ev).contains("No socket visible here"),
            "{}",
            said(&ev)
        );
        ev.lookup_out_of_descriptors = true;
        let text = said(&ev);
        assert!(text.contains("ran out of file descriptors"), "{text}");
        assert!(!text.contains("No socket visible here"), "{text}");
    }

    #[test]
    fn short_lived_and_hidden_owners_are_told_apart() {
        let t = Target::tcp("127.0.0.1", 8080);
        let r = failed(&t, "127.0.0.1:8080", EADDRINUSE);
        let mut gone = owner("127.0.0.1:8080", SockState::Listen, None);
        gone.pid = None;
        gone.note = Some(OwnerNote::ShortLived);
        let mut hidden = gone.clone();
        hidden.note = Some(OwnerNote::OtherUser);
        let ev = Evidence {
            owners: vec![gone.clone()],
            ..Evidence::default()
        };
        let d = diagnose(&r, &facts(), &ev);
        assert!(
            kinds(&d).contains(&"short_lived".to_owned()),
            "{:?}",
            kinds(&d)
        );
        assert!(
            !kinds(&d).contains(&"hidden_owners".to_owned()),
            "not hidden"
        );
        assert!(
            !d.fixes.contains(&Fix::RunElevated),
            "no elevation for a socket that is gone"
        );
        let ev = Evidence {
            owners: vec![hidden],
            hidden: 1,
            ..Evidence::default()
        };
        let d = diagnose(&r, &facts(), &ev);
        assert!(
            kinds(&d).contains(&"hidden_owners".to_owned()),
            "{:?}",
            kinds(&d)
        );
        assert!(
            d.fixes.contains(&Fix::RunElevated),
            "elevation helps an unprivileged user"
        );
    }

    #[test]
    fn root_without_the_capability_is_not_told_to_become_root() {
        let t = Target::tcp("127.0.0.1", 80);
        let r = failed(&t, "127.0.0.1:80", EACCES);
        let f = Facts {
            elevated: true,
            uid: Some(0),
            cap_net_bind_service: Some(false),
            ..facts()
        };
        let d = diagnose(&r, &f, &Evidence::default());
        assert_eq!(kinds(&d), ["privileged"]);
        assert!(matches!(
            d.findings[0],
            Finding::Privileged { root: true, .. }
        ));
        assert!(d.fixes.contains(&Fix::GrantBindCapability { root: true }));
        assert!(!d.fixes.contains(&Fix::RunElevated));
    }

    #[test]
    fn permission_denied_on_an_ordinary_port_is_unknown_not_guessed() {
        let t = Target::tcp("127.0.0.1", 8080);
        let r = failed(&t, "127.0.0.1:8080", EACCES);
        let d = diagnose(&r, &facts(), &Evidence::default());
        assert_eq!(kinds(&d), ["permission_unexplained"]);
        assert!(d.fixes.is_empty(), "nothing proven, nothing to fix");
    }

    #[test]
    fn an_address_this_machine_lacks_is_named_with_its_own_fix() {
        let t = Target::tcp("192.0.2.9", 8080);
        let r = failed(&t, "192.0.2.9:8080", 99);
        let f = Facts {
            interfaces: vec![crate::facts::Interface {
                name: "lo".into(),
                address: "127.0.0.1".into(),
                ipv6: false,
                loopback: true,
            }],
            nonlocal_bind_v4: Some(false),
            ..facts()
        };
        let d = diagnose(&r, &f, &Evidence::default());
        assert_eq!(kinds(&d), ["not_assigned"]);
        assert_eq!(
            d.fixes,
            [Fix::BindAssigned {
                address: "127.0.0.1".into()
            }]
        );
    }

    #[test]
    fn an_outgoing_connection_is_told_from_a_servers_leftover() {
        let t = Target::tcp("127.0.0.1", 40000);
        let r = failed(&t, "127.0.0.1:40000", EADDRINUSE);
        let mut out = owner("127.0.0.1:40000", SockState::Established, None);
        out.remote = Some("127.0.0.1:5432".parse().unwrap());
        let d = diagnose(
            &r,
            &facts(),
            &Evidence {
                owners: vec![out.clone()],
                ..Evidence::default()
            },
        );
        assert_eq!(kinds(&d), ["ephemeral_collision"], "peer is a server port");
        let mut accepted = out;
        accepted.remote = Some("127.0.0.1:51000".parse().unwrap());
        let d = diagnose(
            &r,
            &facts(),
            &Evidence {
                owners: vec![accepted],
                ..Evidence::default()
            },
        );
        assert_eq!(kinds(&d), ["leftovers"], "peer is a client port");
    }

    #[test]
    fn a_proven_known_holder_is_not_ended_but_a_name_alone_is() {
        let t = Target::tcp("127.0.0.1", 8080);
        let r = failed(&t, "127.0.0.1:8080", EADDRINUSE);
        let mut o = owner("127.0.0.1:8080", SockState::Listen, None);
        o.holder = Some(Box::new(crate::holders::KnownHolder {
            verified: true,
            unverified_why: None,
            kind: crate::holders::HolderKind::ContainerProxy,
            what: "w".into(),
            advice: "a".into(),
            command: "docker ps".into(),
            detail: None,
        }));
        let d = diagnose(
            &r,
            &facts(),
            &Evidence {
                owners: vec![o.clone()],
                ..Evidence::default()
            },
        );
        assert!(
            d.fixes
                .iter()
                .any(|f| matches!(f, Fix::HolderAdvice { .. }))
        );
        assert!(
            !d.fixes
                .iter()
                .any(|f| matches!(f, Fix::EndProcesses { .. }))
        );
        if let Some(h) = o.holder.as_mut() {
            h.verified = false;
        }
        let d = diagnose(
            &r,
            &facts(),
            &Evidence {
                owners: vec![o],
                ..Evidence::default()
            },
        );
        assert!(
            !d.fixes
                .iter()
                .any(|f| matches!(f, Fix::HolderAdvice { .. }))
        );
        assert!(
            d.fixes
                .iter()
                .any(|f| matches!(f, Fix::EndProcesses { .. }))
        );
    }

    #[test]
    fn a_bind_that_worked_notes_the_ephemeral_range() {
        use crate::probe::{Attempt, Step, StepKind, Verdict};
        let t = Target::tcp("127.0.0.1", 40000);
        let step = Step {
            step: StepKind::Resolve,
            ok: true,
            elapsed_us: 1,
            detail: String::new(),
            error: None,
        };
        let r = ProbeReport {
            target: t.clone(),
            resolve: step.clone(),
            attempts: vec![Attempt {
                address: "127.0.0.1:40000".into(),
                family: Family::Ipv4,
                steps: vec![step],
                bound: Some("127.0.0.1:40000".into()),
            }],
            verdict: Verdict::Bindable,
            error: None,
            failed_step: None,
            failed_address: None,
            elapsed_us: 1,
        };
        let d = diagnose(&r, &facts(), &Evidence::default());
        assert_eq!(kinds(&d), ["ephemeral_range"]);
        assert!(d.fixes.is_empty(), "a caution, not a failure");
    }
}
