//! Each finding in its sentence (and the lookup failures' titles): what this machine proved.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::diagnose::{Conflict, Finding, LookupFailure};
use crate::owners::{Owner, OwnerNote, SockState};
use crate::platform::Os;
use crate::target::{Family, Target};
use crate::text::clean;

use super::{RAISE_FD_LIMIT, holders_list, human_ms, plural, tables_refused_text};

/// The family a lookup asked for, as the sentence names the missing address: "an IPv6 address".
pub(crate) fn family_address(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "an IPv4 address",
        Family::Ipv6 => "an IPv6 address",
        Family::Any => "an address",
    }
}

/// The title of a failed lookup: only what the resolver's code proves ("not found" only when
/// it answered that the name does not exist).
pub(crate) fn lookup_title(host: &str, failure: LookupFailure, target: &Target) -> String {
    let host = clean(host);
    match failure {
        // With a family asked for, the resolver's "no such name" also covers a name that has
        // addresses of the other family only (glibc: `-6 localhost` where the hosts file has
        // only 127.0.0.1): not proof that the name does not exist.
        LookupFailure::NoSuchName if target.family != Family::Any => format!(
            "Host name '{host}' has no {} (or does not exist)",
            family_address(target.family).trim_start_matches("an ")
        ),
        LookupFailure::NoSuchName => format!("Host name '{host}' not found"),
        LookupFailure::Temporary => {
            format!(
                "Host name '{host}' could not be looked up now: the resolver failed temporarily"
            )
        }
        LookupFailure::Failed => {
            format!("Host name '{host}' could not be looked up: the resolver failed")
        }
        LookupFailure::NoAddress => format!(
            "Host name '{host}' has no {}",
            family_address(target.family).trim_start_matches("an ")
        ),
        LookupFailure::UnknownService => format!(
            "The resolver refused port {} for {}",
            target.port, target.protocol
        ),
        LookupFailure::FamilyUnsupported => {
            format!("The resolver cannot look up '{host}' in the family asked")
        }
    }
}

/// The finding of a failed lookup, worded for what its code proves; `code` is the resolver's
/// own name and number ("EAI_AGAIN (-3)").
pub(crate) fn lookup_failure(
    host: &str,
    failure: LookupFailure,
    code: &str,
    target: &Target,
) -> String {
    let host = clean(host);
    match failure {
        LookupFailure::NoSuchName if target.family != Family::Any => format!(
            "The resolver found no {} for '{host}' ({code}): the name may not exist, or may have addresses of the other family only; there is no address to bind, so nothing was bound.",
            family_address(target.family).trim_start_matches("an ")
        ),
        LookupFailure::NoSuchName => format!(
            "The resolver answered that no host '{host}' exists ({code}): there is no address to bind, so nothing was bound."
        ),
        LookupFailure::Temporary => format!(
            "The resolver could not get a usable answer for '{host}' ({code}, a temporary failure: a name server failed, refused or could not be reached). This says nothing about whether the name exists; nothing was bound."
        ),
        LookupFailure::Failed => format!(
            "The lookup of '{host}' failed with an error the resolver calls lasting ({code}). This says nothing about whether the name exists; nothing was bound."
        ),
        LookupFailure::NoAddress => format!(
            "The resolver knows '{host}' but has no {} for it ({code}); nothing was bound.",
            family_address(target.family).trim_start_matches("an ")
        ),
        LookupFailure::UnknownService => format!(
            "The resolver refused port {} as a service for {} ({code}); nothing was bound.",
            target.port, target.protocol
        ),
        LookupFailure::FamilyUnsupported => format!(
            "The resolver does not look names up in the family asked ({code}); nothing was bound."
        ),
    }
}

/// The sentence for one finding.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "a table: one arm per finding kind, read best side by side"
)]
pub fn finding(f: &Finding, target: &Target) -> String {
    let port = target.port;
    match f {
        Finding::Held {
            conflict,
            tried,
            sockets,
        } => {
            if let Some(s) = device_wildcard(*conflict, *tried, sockets, target) {
                return s;
            }
            let mut s = held(*conflict, *tried, sockets, port);
            if let Some(rule) = device_rule(sockets, target) {
                s.push(' ');
                s.push_str(&rule);
            }
            s
        }
        Finding::ReusePortGroup {
            local,
            sockets,
            retry,
        } => {
            let mut s = if *sockets == 1 {
                format!(
                    "The socket on {local} set SO_REUSEPORT (asked of the socket itself), so it is a SO_REUSEPORT group of one; a socket of the same user that sets SO_REUSEPORT may join it."
                )
            } else {
                format!(
                    "{sockets} listening sockets share {local}: only SO_REUSEPORT allows that, so this is a SO_REUSEPORT group; a socket of the same user that sets SO_REUSEPORT may join it."
                )
            };
            match retry {
                Some(true) => s.push_str(" A retry with SO_REUSEPORT joined it just now."),
                Some(false) => s.push_str(
                    " A retry with SO_REUSEPORT was refused too (the group belongs to another user, or its sockets are not all SO_REUSEPORT).",
                ),
                None => {}
            }
            s
        }
        Finding::Connections {
            count,
            peers,
            processes,
        } => {
            let from: Vec<String> = peers.iter().map(ToString::to_string).collect();
            let held: Vec<String> = processes
                .iter()
                .map(|p| match &p.process {
                    Some(name) => format!("{} (PID {})", clean(name), p.pid),
                    None => format!("PID {}", p.pid),
                })
                .collect();
            format!(
                "{count} open connection{} on port {port}{}{}.",
                plural(*count),
                if from.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", from.join(", "))
                },
                if held.is_empty() {
                    String::new()
                } else {
                    format!(", held by {}", held.join(", "))
                }
            )
        }
        Finding::Leftovers {
            states,
            pids,
            orphans,
            reuse_retry,
            fin_timeout_secs,
        } => leftovers(states, pids, *orphans, *reuse_retry, *fin_timeout_secs, port),
        Finding::TimeWait { count, reuse_retry } => {
            // Every word agrees with the count: "1 TIME_WAIT socket of a closed connection holds
            // … it", "2 … of closed connections hold … them".
            let them = super::noun(*count, "it", "them");
            let retry = match reuse_retry {
                Some(true) => format!(
                    " A retry with SO_REUSEADDR bound the port just now, so SO_REUSEADDR gets past {them}."
                ),
                Some(false) => format!(
                    " A retry with SO_REUSEADDR failed too: the socket that left {them} did not set SO_REUSEADDR, so waiting is the only way."
                ),
                None => String::new(),
            };
            format!(
                "Only {} of {} {} port {port}; no process owns {them}. Linux keeps {them} for 60 seconds.{retry}",
                super::count(*count, "TIME_WAIT socket", "TIME_WAIT sockets"),
                super::noun(*count, "a closed connection", "closed connections"),
                super::noun(*count, "holds", "hold"),
            )
        }
        Finding::EphemeralCollision {
            local,
            remote,
            pid,
            process,
            range,
        } => format!(
            "{local} is the local end of an outgoing connection{}{}: port {port} lies in the ephemeral range {}-{}, from which the system hands ports to outgoing connections.",
            remote.map_or_else(String::new, |r| format!(" to {r}")),
            match (pid, process) {
                (Some(p), Some(n)) => format!(" of {} (PID {p})", clean(n)),
                (Some(p), None) => format!(" of PID {p}"),
                _ => String::new(),
            },
            range.0,
            range.1
        ),
        Finding::KnownHolder { pid, holder } => known_holder(*pid, holder),
        Finding::HiddenOwners { count, why } => match why {
            OwnerNote::NotInView => format!(
                "{count} socket{} on this port belong{} to no process visible here, though every process here was searched: the owner runs in another PID namespace (a container, or the host seen from inside one), or the socket is the kernel's. Look from the namespace that holds it.",
                plural(*count),
                if *count == 1 { "s" } else { "" }
            ),
            OwnerNote::Uninspectable => format!(
                "{count} socket{} on this port belong{} to no process this one could read: some processes here are in view but could not be inspected (not dumpable after dropping privileges, or in a user namespace this process has no rights in), and one of them may hold it. Look as root of the machine's first user namespace: sudo ss -ltnup 'sport = :{}'.",
                plural(*count),
                if *count == 1 { "s" } else { "" },
                target.port
            ),
            OwnerNote::OutOfDescriptors => format!(
                "{count} socket{} on this port could not be traced to a process: Port Inspector ran out of file descriptors while looking (its own limit, not the port's); {RAISE_FD_LIMIT}, and look again.",
                plural(*count)
            ),
            OwnerNote::NoPid => format!(
                "{count} socket{} on this port {} listed by the OS with no process (PID 0): which program holds {} is unknown (Wine reports every socket this way).",
                plural(*count),
                if *count == 1 { "is" } else { "are" },
                if *count == 1 { "it" } else { "them" }
            ),
            OwnerNote::NoPtrace => format!(
                "{count} socket{} on this port belong{} to another user's process, which this process cannot name: it runs as root but without CAP_SYS_PTRACE, so other users' descriptors are closed to it.",
                plural(*count),
                if *count == 1 { "s" } else { "" }
            ),
            _ => format!(
                "{count} socket{} on this port belong{} to another user's process, which an unprivileged process may not name.",
                plural(*count),
                if *count == 1 { "s" } else { "" }
            ),
        },
        Finding::KernelHolds {
            protocol,
            local,
            holder,
        } => format!(
            "The kernel holds {protocol} {} for {} device{} {} ({} own settings name port {}): no process holds this socket, so there is none to end; it stays while the device{} {} up.",
            local.port(),
            holder.kind.name(),
            plural(holder.devices.len()),
            devices_list(&holder.devices),
            if holder.devices.len() == 1 { "its" } else { "their" },
            local.port(),
            plural(holder.devices.len()),
            if holder.devices.len() == 1 { "is" } else { "are" },
        ),
        Finding::ShortLived { count } => format!(
            "{count} socket{} on this port vanished before its process could be found (a short-lived client or another tool's probe); it was looked up twice and is not counted as a hidden owner.",
            plural(*count)
        ),
        Finding::Unexplained {
            lookup_out_of_descriptors: true,
            ..
        } => format!(
            "No socket on this port could be traced: Port Inspector ran out of file descriptors while looking (its own limit, not the port's); {RAISE_FD_LIMIT}, and check again. Cause unknown."
        ),
        Finding::Unexplained { tables_refused, .. }
            if tables_refused.iter().any(|r| !r.read_instead) =>
        {
            format!(
                "No socket on this port could be looked for: {} Cause unknown.",
                tables_refused_text(tables_refused)
            )
        }
        Finding::Unexplained {
            netns,
            tables_refused,
            ..
        } => format!(
            "No socket visible here explains the conflict{}; a socket in another network namespace or one the kernel does not report may hold it.{} Cause unknown.",
            netns
                .as_deref()
                .map_or_else(String::new, |n| format!(" (looked in network namespace {})", clean(n))),
            if tables_refused.is_empty() {
                String::new()
            } else {
                format!(" {}", tables_refused_text(tables_refused))
            }
        ),
        Finding::Privileged {
            port,
            start,
            uid,
            root,
            os,
            caps_not_here,
            start_unknown,
        } => {
            let rule = if *start_unknown {
                format!(
                    "below the first unprivileged port (net.ipv4.ip_unprivileged_port_start could not be read here; the kernel's default is {start})"
                )
            } else {
                format!("below net.ipv4.ip_unprivileged_port_start={start}")
            };
            if *caps_not_here && *os == Os::Linux {
                format!(
                    "Port {port} is {rule}, and this process's capabilities do not apply to this network namespace: it runs in a user namespace that does not own the network namespace (as after unshare -U without -n), so even its root binds here as any user does."
                )
            } else {
                privileged(*port, &rule, *uid, *root, *os)
            }
        }
        Finding::PermissionUnexplained {
            port,
            start,
            may_bind_privileged,
            excluded_unread,
        } => {
            if !excluded_unread.is_empty() {
                return format!(
                    "Checked: port {port} is not privileged on Windows, and Windows' excluded port ranges could not be read for {}, so an excluded range (Hyper-V, WSL, Docker, WinNAT) is not ruled out. Cause unknown. See them from an Administrator prompt: netsh int ipv4 show excludedportrange protocol=tcp",
                    excluded_unread.iter().map(super::port_scope).collect::<Vec<_>>().join(", ")
                );
            }
            let checked = match start {
                Some(s) if port < s && *may_bind_privileged => format!(
                    "port {port} is privileged (below {s}) and this process may bind privileged ports"
                ),
                Some(s) => format!("port {port} is not privileged here (the first unprivileged port is {s})"),
                None => format!("port {port} is not privileged on this OS"),
            };
            format!(
                "Checked: {checked}, so the refusal comes from something this tool cannot see (a security module such as SELinux or AppArmor, a seccomp filter, or an exclusive bind). Cause unknown."
            )
        }
        Finding::ExcludedRange {
            port,
            start,
            end,
            scope,
        } => format!(
            "Port {port} lies in the excluded port range {start}-{end} ({}), reserved by Windows for Hyper-V, WSL, Docker or WinNAT.",
            super::port_scope(scope)
        ),
        Finding::NotAssigned {
            ip,
            assigned,
            nonlocal_bind,
        } => {
            let list: Vec<String> = assigned
                .iter()
                .map(|(a, n)| format!("{} ({})", clean(&a.to_string()), clean(n)))
                .collect();
            let mut s = format!(
                "{ip} is not assigned to any interface of this machine. Assigned: {}.",
                list.join(", ")
            );
            if let Some(n) = nonlocal_bind {
                let _ = write!(
                    s,
                    " net.{}.ip_nonlocal_bind is {} here.",
                    if ip.is_ipv4() { "ipv4" } else { "ipv6" },
                    u8::from(*n)
                );
            }
            s
        }
        Finding::AssignedNotReady { ip } => format!(
            "{ip} is assigned here, yet the system refused it: the interface may be down or the address still tentative (duplicate address detection)."
        ),
        Finding::LinkLocalNoScope { ip } => format!(
            "{ip} is an IPv6 link-local address given without a scope (%interface); the kernel cannot tell which interface is meant."
        ),
        Finding::UnknownScope { scope, interfaces } => format!(
            "The scope '%{}' names no interface of this machine. Interfaces here: {}.",
            clean(scope),
            interfaces.iter().map(|i| clean(i).into_owned()).collect::<Vec<_>>().join(", ")
        ),
        Finding::FamilyMismatch { host, asked } => {
            let (is, asked) = if *asked == Family::Ipv6 {
                ("an IPv4", "IPv6 only (-6)")
            } else {
                ("an IPv6", "IPv4 only (-4)")
            };
            format!(
                "{} is {is} address, but {asked} was asked, so there is nothing to bind.",
                clean(host)
            )
        }
        Finding::NotResolved {
            host,
            failure,
            native_name,
            native_code,
        } => lookup_failure(host, *failure, &format!("{native_name} ({native_code})"), target),
        Finding::ResolverTimedOut { host, timeout_ms } => format!(
            "The resolver did not answer for '{}' within {}; nothing was bound, so whether the port is free is unknown.",
            clean(host),
            human_ms(*timeout_ms)
        ),
        Finding::Cancelled => {
            "The check was cancelled before the system answered; whether the port is free is unknown."
                .into()
        }
        Finding::EphemeralRange { port, range } => format!(
            "Port {port} is inside the ephemeral range {}-{}: outgoing connections may take it at any moment, so a server may find it busy later.",
            range.0, range.1
        ),
        Finding::SharedPort {
            os,
            port,
            tested,
            others,
        } => {
            let others: Vec<String> = others.iter().map(ToString::to_string).collect();
            crate::platform::sharing_warning(*os, *port, &tested.join(", "), &others)
                .unwrap_or_default()
        }
        Finding::UdpShared { local, pids } => format!(
            "{local} bound with SO_REUSEADDR, but PID {} already has a UDP socket on the very same address: unicast datagrams will reach only one of the sockets (on Linux, the last one bound).",
            pids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
        Finding::NatRedirect { redirect, reach } => super::nat::redirect(redirect, reach, port),
        Finding::NatUnread { why } => super::nat::nat_unread(why),
    }
}

pub(crate) fn held(conflict: Conflict, tried: IpAddr, sockets: &[Owner], port: u16) -> String {
    let who = holders_list(sockets);
    let (holds, is) = if super::holders::several(sockets) {
        ("hold", "are")
    } else {
        ("holds", "is")
    };
    match conflict {
        Conflict::SameAddress => format!("{who} already {holds} {tried} port {port}."),
        Conflict::WildcardBlocksSpecific => format!(
            "Wildcard conflict: {who} {is} bound to the wildcard address, which covers {tried} on port {port}."
        ),
        Conflict::SpecificBlocksWildcard => format!(
            "{who} {holds} a specific address on port {port}, so a wildcard bind ({tried}) cannot take the port on every address."
        ),
        Conflict::DualStack => format!(
            "Dual-stack holder: {who} is an IPv6 socket with IPV6_V6ONLY off (the kernel reports it for this socket), so it holds IPv4 port {port} too."
        ),
        Conflict::OursDualStack => format!(
            "Our [::] socket would be dual-stack (no IPV6_V6ONLY asked, and this system's default is dual-stack), so it would take IPv4 port {port} too, which {who} holds."
        ),
        Conflict::BoundOnly => format!(
            "{who} holds port {port} with a TCP socket that is bound but neither listening nor connected; ss, netstat and lsof do not show such sockets."
        ),
        _ => format!("{who} holds port {port}."),
    }
}

/// The rule that decided a clash with sockets bound to a device (SO_BINDTODEVICE, a VRF):
/// sockets bound to different devices may share a port, one bound to no device conflicts with
/// all of them (checked with real sockets on two devices of a private network namespace).
/// `None` when no blocking socket is bound to a device.
fn device_rule(sockets: &[Owner], target: &Target) -> Option<String> {
    let mut bound: Vec<String> = Vec::new();
    let mut devices: Vec<String> = Vec::new();
    for o in sockets {
        let Some(d) = &o.device else { continue };
        let a = o.address().to_string();
        if !bound.contains(&a) {
            bound.push(a);
        }
        let d = d.to_string();
        if !devices.contains(&d) {
            devices.push(d);
        }
    }
    if bound.is_empty() {
        return None;
    }
    // A link-local IPv6 bind with a %scope is bound to that device by the kernel itself.
    let ours = match target.host.scope() {
        Some(scope) => format!(
            "this bind is bound to device {} by its address's scope",
            clean(scope)
        ),
        _ => "this bind names no device, so it conflicts with every socket on the port".to_owned(),
    };
    Some(format!(
        "{} {} bound to device{} {} (SO_BINDTODEVICE, or a VRF): sockets bound to different devices may share a port, but one bound to no device conflicts with all of them; {ours}.",
        bound.join(" and "),
        if bound.len() == 1 { "is" } else { "are" },
        plural(devices.len()),
        devices.join(" and "),
    ))
}

/// A wildcard socket bound to a device that refused a bind of one address naming no device:
/// it does not receive everything sent to that address (only what arrives on its device), so
/// "the wildcard covers it" would be wrong; what decided is the kernel's rule that a bind naming
/// no device is checked against every socket on the port, whatever its device
/// (`inet_bind_conflict`: the devices are compared only when both sockets name one). Checked with
/// real binds: `0.0.0.0%vb:P` refuses `127.0.0.1:P` and lets `127.0.0.1%lo:P` bind. `None` when
/// not every blocking socket is bound to a device, or this bind names one by its scope.
fn device_wildcard(
    conflict: Conflict,
    tried: IpAddr,
    sockets: &[Owner],
    target: &Target,
) -> Option<String> {
    if conflict != Conflict::WildcardBlocksSpecific
        || sockets.is_empty()
        || sockets.iter().any(|o| o.device.is_none())
    {
        return None;
    }
    if target.host.scope().is_some() {
        return None;
    }
    let mut devices: Vec<String> = Vec::new();
    for o in sockets {
        if let Some(d) = &o.device {
            let d = d.to_string();
            if !devices.contains(&d) {
                devices.push(d);
            }
        }
    }
    devices.sort_unstable();
    let one = devices.len() == 1;
    Some(format!(
        "{} {} bound to the wildcard address on device{} {} only: {} only what arrives on {}, not everything sent to {tried}. The kernel refused this bind all the same: sockets bound to different devices may share a port, but one bound to no device conflicts with all of them; this bind names no device, and the wildcard address overlaps {tried} on port {}. Bound to a device other than {} (SO_BINDTODEVICE, or a VRF), it would not conflict.",
        holders_list(sockets),
        if sockets.len() == 1 { "is" } else { "are" },
        plural(devices.len()),
        devices_list(&devices),
        if sockets.len() == 1 {
            "it receives"
        } else {
            "they receive"
        },
        if one { "that device" } else { "those devices" },
        target.port,
        devices_list(&devices).replace(" and ", " or "),
    ))
}

pub(crate) fn leftovers(
    states: &[(SockState, usize)],
    pids: &[u32],
    orphans: usize,
    reuse_retry: Option<bool>,
    fin_timeout_secs: Option<u32>,
    port: u16,
) -> String {
    let list: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let mut s = format!(
        "No program listens on port {port}, but {} leftover socket{} of connections still hold it ({}), as they do after a server stopped or restarted.",
        states.iter().map(|(_, n)| n).sum::<usize>(),
        plural(states.iter().map(|(_, n)| n).sum::<usize>()),
        list.join(", ")
    );
    if !pids.is_empty() {
        let _ = write!(
            s,
            " PID {} still hold{} some (a process that inherited accepted connections); they last until it closes them.",
            pids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if pids.len() == 1 { "s" } else { "" }
        );
    }
    if orphans > 0 {
        let _ = write!(
            s,
            " {orphans} belong{} to no process: the kernel is closing {}{}.",
            if orphans == 1 { "s" } else { "" },
            if orphans == 1 { "it" } else { "them" },
            fin_timeout_secs.map_or_else(String::new, |t| format!(
                ", within about {t} s (net.ipv4.tcp_fin_timeout) once the peer answers"
            ))
        );
    }
    match reuse_retry {
        Some(true) => s.push_str(
            " A retry with SO_REUSEADDR bound the port just now: a restarted server that sets SO_REUSEADDR starts.",
        ),
        Some(false) => s.push_str(" A retry with SO_REUSEADDR failed too."),
        None => {}
    }
    s
}

pub(crate) fn known_holder(pid: Option<u32>, h: &crate::owners::holders::KnownHolder) -> String {
    let who = pid.map_or_else(|| "The holder".into(), |p| format!("PID {p}"));
    let detail = h
        .detail
        .as_ref()
        .map_or_else(String::new, |d| format!(" Here it {}.", clean(d)));
    // A reservation is what the process holds, not what it is.
    let (is, claims) = if h.kind == crate::owners::holders::HolderKind::ContainerReservation {
        ("holds a", "claims to hold a")
    } else {
        ("is a", "claims to be a")
    };
    if h.verified {
        format!("{who} {is} {}: {}{detail}", h.kind_name(), clean(&h.what))
    } else {
        format!(
            "{who} {claims} {} by its name only (its executable does not prove it: {}); treat it as an ordinary process.",
            h.kind_name(),
            clean(h.unverified_why.as_deref().unwrap_or("unknown"))
        )
    }
}

pub(crate) fn privileged(port: u16, rule: &str, uid: Option<u32>, root: bool, os: Os) -> String {
    match os {
        Os::Macos => format!(
            "On macOS an unprivileged process may bind port {port} only on the wildcard address (0.0.0.0 or ::), not on a specific address."
        ),
        _ if root => format!(
            "Port {port} is {rule}, and this process runs as root but without CAP_NET_BIND_SERVICE: the capability was dropped (containers and hardened services drop it), and on Linux it is the capability, not the uid, that counts."
        ),
        _ => format!(
            "Port {port} is {rule}, and this process{} is neither root nor has CAP_NET_BIND_SERVICE.",
            uid.map_or_else(String::new, |u| format!(" (uid {u})"))
        ),
    }
}

/// `vx0`, `vx0 and vx1`, `vx0, vx1 and vx2`: device names, escaped.
pub(crate) fn devices_list<S: AsRef<str>>(devices: &[S]) -> String {
    let names: Vec<String> = devices
        .iter()
        .map(|d| clean(d.as_ref()).into_owned())
        .collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod sharer_tests {
    use super::*;
    use crate::owners::{SockState, test_owner};

    #[test]
    fn sharers_of_one_socket_are_one_plural_subject() {
        let mut o = test_owner(11886, "python3", "127.0.0.1:43695", SockState::Listen);
        o.pids = vec![11886, 11887, 11888];
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            held(Conflict::SameAddress, ip, std::slice::from_ref(&o), 43695),
            "python3 (PID 11886) and PIDs 11887 and 11888, which share the socket on 127.0.0.1:43695 (LISTEN), already hold 127.0.0.1 port 43695."
        );
        o.pids = vec![11886, 11887];
        assert!(
            held(Conflict::SameAddress, ip, std::slice::from_ref(&o), 43695).contains(
                "python3 (PID 11886) and PID 11887, which share the socket on 127.0.0.1:43695 (LISTEN), already hold"
            )
        );
        o.pids = vec![11886];
        assert_eq!(
            held(Conflict::SameAddress, ip, &[o], 43695),
            "python3 (PID 11886) on 127.0.0.1:43695 (LISTEN) already holds 127.0.0.1 port 43695."
        );
    }
}
