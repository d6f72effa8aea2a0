//! The one place that turns typed results into sentences: findings, fixes, verdict lines. The CLI,
//! the Markdown/text report, the JSON (`text` fields) and the window all call these, so they say
//! the same thing. Outside text (process names, host names) is escaped here (`text::clean`).
//!
//! Rules: a sentence states only what its finding carries (proven on this machine); a command it
//! prints runs as printed; advice in the window names the window's own controls.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::diagnose::{Conflict, Diagnosis, Finding, Fix, LookupFailure};
use crate::owners::{Owner, OwnerNote, SockState};
use crate::platform::Os;
use crate::probe::{ProbeReport, Verdict};
use crate::target::{Family, Protocol, Target};
use crate::text::clean;

/// Which front end the advice is for: the CLI names commands, the window names its controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// The command line, the report and the JSON.
    Cli,
    /// The window.
    Window,
}

/// A typed value with its sentence, for JSON: the fields of the value plus `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worded<T> {
    /// The typed value.
    #[serde(flatten)]
    pub value: T,
    /// Its sentence, as the CLI shows it.
    pub text: String,
}

/// The worded explanation of a check: the JSON `explanation`, and what every front shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The WSA number of the error (0 for a caution on success).
    pub wsa_code: u32,
    /// The WSA name.
    pub wsa_name: String,
    /// For address-in-use: the kind of clash found.
    pub conflict: Option<Conflict>,
    /// One line a person reads first.
    pub title: String,
    /// Which call failed with which code, and what the code means.
    pub summary: String,
    /// What this machine proved, each with its sentence.
    pub findings: Vec<Worded<Finding>>,
    /// What to do, each with its sentence.
    pub fixes: Vec<Worded<Fix>>,
    /// The findings' sentences alone (kept for scripts that read them).
    pub checked: Vec<String>,
    /// The catalog's general causes, given only when nothing was proven, and only those that can
    /// apply to this protocol, family and OS.
    pub causes: Vec<String>,
}

/// Words a diagnosis of a failed probe.
#[must_use]
pub fn explain(report: &ProbeReport, d: &Diagnosis) -> Option<Explanation> {
    let err = report.error.as_ref()?;
    let target = &report.target;
    let findings: Vec<Worded<Finding>> = d
        .findings
        .iter()
        .map(|f| Worded {
            text: finding(f, target),
            value: f.clone(),
        })
        .collect();
    let entry = crate::catalog::by_wsa(err.wsa_code);
    // "Unknown" findings say what was checked; they prove no cause, so the general causes stay.
    let proven = findings.iter().any(|f| {
        !matches!(
            f.value,
            Finding::Unexplained { .. } | Finding::PermissionUnexplained { .. }
        )
    });
    let causes = if proven {
        Vec::new()
    } else {
        entry.map_or_else(Vec::new, |e| general_causes(e, target))
    };
    let mut fixes: Vec<Worded<Fix>> = d
        .fixes
        .iter()
        .map(|f| Worded {
            text: fix(f, target, Front::Cli),
            value: f.clone(),
        })
        .collect();
    fixes.dedup_by(|a, b| a.text == b.text);
    let step = report
        .failed_step
        .map_or("the check", crate::probe::StepKind::name);
    let summary = format!(
        "{step} failed with {} ({}), {} {} on this OS. {}",
        err.wsa_name,
        err.wsa_code,
        err.native_name,
        err.native_code,
        entry.map_or(err.message.as_str(), |e| e.explanation.as_str())
    );
    Some(Explanation {
        wsa_code: err.wsa_code,
        wsa_name: err.wsa_name.clone(),
        conflict: d.conflict,
        title: title(report, d),
        summary,
        checked: findings.iter().map(|f| f.text.clone()).collect(),
        findings,
        fixes,
        causes,
    })
}

/// The cautions of a bind that worked, worded.
#[must_use]
pub fn notes(report: &ProbeReport, d: &Diagnosis) -> Vec<Worded<Finding>> {
    if report.error.is_some() {
        return Vec::new();
    }
    d.findings
        .iter()
        .map(|f| Worded {
            text: finding(f, &report.target),
            value: f.clone(),
        })
        .collect()
}

/// What the failure is, in one line: the proven cause, without the verdict (the headline and the
/// window's verdict label say NOT BINDABLE or UNKNOWN; no front strips a prefix off it).
fn title(report: &ProbeReport, d: &Diagnosis) -> String {
    let target = &report.target;
    let at = report
        .failed_address
        .clone()
        .unwrap_or_else(|| target.display_addr());
    let at = clean(&at);
    let first = d.findings.first();
    match first {
        Some(Finding::Held { sockets, .. }) => {
            let who = holders_phrase(sockets);
            // What keeps the one holder running, when the machine showed it (its cgroup or
            // its parent): the answer to "will it come back if I end it?".
            let pids: Vec<Option<u32>> = sockets.iter().map(|o| o.pid).collect();
            let manager = match sockets.first() {
                Some(o) if pids.iter().all(|p| *p == o.pid) => manager_clause(o),
                _ => None,
            };
            // Both sides when the holder sits on another address than ours (a wildcard over
            // a specific one, or the other way): "0.0.0.0:8088 collides with nginx (PID 1911)
            // on 127.0.0.1:8088".
            let mut theirs: Vec<String> = Vec::new();
            for o in sockets {
                let l = o.local.to_string();
                if !theirs.contains(&l) {
                    theirs.push(l);
                }
            }
            let verb = if theirs.is_empty() || theirs.iter().any(|l| *l == at) {
                format!("is in use by {who}")
            } else {
                format!("collides with {who} on {}", theirs.join(" and "))
            };
            match manager {
                Some(m) => format!("{at} {verb}, {m}"),
                None => format!("{at} {verb}"),
            }
        }
        Some(Finding::TimeWait { .. }) => format!("{at} is still held by TIME_WAIT connections"),
        Some(Finding::Leftovers { .. }) => {
            format!("{at} is held by leftover connections, with no listener")
        }
        Some(Finding::EphemeralCollision { .. }) => {
            format!("{at} is taken by an outgoing connection")
        }
        Some(Finding::Privileged { .. }) => {
            format!("Permission denied for {at}: a privileged port")
        }
        Some(Finding::ExcludedRange { .. }) => format!("{at} is in a port range Windows reserved"),
        Some(Finding::NotAssigned { .. }) => format!("{at} is not an address of this machine"),
        Some(Finding::NotResolved { host, failure, .. }) => lookup_title(host, *failure, target),
        Some(Finding::ResolverTimedOut { .. }) => format!(
            "the resolver did not answer for '{}' in time",
            clean(&target.host)
        ),
        Some(Finding::Cancelled) => "the check was cancelled".into(),
        Some(Finding::HiddenOwners { .. }) => format!("{at} is in use by another user's process"),
        _ => match report.error.as_ref().map(|e| e.wsa_code) {
            Some(crate::oserror::wsa::EADDRINUSE) => format!("{at} is already in use"),
            Some(crate::oserror::wsa::EACCES) => format!("Permission denied for {at}"),
            _ => format!(
                "{} failed for {at}",
                report
                    .failed_step
                    .map_or("the check", crate::probe::StepKind::name)
            ),
        },
    }
}

/// The verdict line a person reads first (`BINDABLE: …`, `NOT BINDABLE: …`, `UNKNOWN: …`).
#[must_use]
pub fn headline(report: &ProbeReport, explanation: Option<&Explanation>) -> String {
    let t = &report.target;
    match report.verdict {
        Verdict::Bindable => format!(
            "BINDABLE: {} {} (bound {})",
            t.protocol,
            clean(&t.display_addr()),
            report.bound_addresses().join(", ")
        ),
        Verdict::NotBindable => format!(
            "NOT BINDABLE: {}",
            explanation.map_or_else(
                || clean(&t.display_addr()).into_owned(),
                |e| e.title.clone()
            )
        ),
        Verdict::Unknown => format!(
            "UNKNOWN: {}",
            explanation.map_or_else(
                || clean(&t.display_addr()).into_owned(),
                |e| e.title.clone()
            )
        ),
    }
}

/// `nginx (PID 812)`, `nginx (PID 812) and 4 processes that share its socket`, or a count.
pub(crate) fn holders_phrase(sockets: &[Owner]) -> String {
    let mut names: Vec<String> = Vec::new();
    for o in sockets {
        let n = process_phrase(o);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    match names.len() {
        0 => "a socket".into(),
        1 | 2 => names.join(" and "),
        n => format!("{} and {} more", names[0], n - 1),
    }
}

/// What manages a holder, as a clause after its name: `run by systemd unit nginx.service`,
/// `in container web-1 (3f2a9c1b7d4e)`, `started from the shell bash`; none for PID 1.
fn manager_clause(o: &Owner) -> Option<String> {
    use crate::owners::ManagedKind;
    let m = o.managed_by.as_ref()?;
    let name = clean(&m.name);
    Some(match m.kind {
        ManagedKind::Systemd if m.name.rsplit_once('.').is_some_and(|(_, k)| k == "scope") => {
            format!("in systemd scope {name}")
        }
        ManagedKind::Systemd => format!("run by systemd unit {name}"),
        ManagedKind::Container => match &m.container {
            Some(c) => format!("in container {} ({name})", clean(c)),
            None => format!("in container {name}"),
        },
        ManagedKind::Supervisor => format!("run by the supervisor {name}"),
        ManagedKind::Shell => format!("started from the shell {name}"),
        ManagedKind::Init => return None,
    })
}

/// One socket's processes: `nginx (PID 812)`, `nginx (PID 812) and PID 813, 814, which share the
/// socket`, or why none is named.
fn process_phrase(o: &Owner) -> String {
    let base = o.who();
    let others: Vec<String> = o
        .pids
        .iter()
        .filter(|p| Some(**p) != o.pid)
        .map(ToString::to_string)
        .collect();
    if others.is_empty() {
        base
    } else {
        let shown: Vec<&str> = others.iter().take(8).map(String::as_str).collect();
        let more = if others.len() > 8 {
            format!(" and {} more", others.len() - 8)
        } else {
            String::new()
        };
        // Sharers are found by their descriptors, whatever their relation (a child, an orphaned
        // sibling, a process sent the socket): no relation is claimed.
        format!(
            "{base} and PID {}{more}, which share the socket",
            shown.join(", ")
        )
    }
}

fn holders_list(sockets: &[Owner]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for o in sockets {
        let p = format!("{} on {} ({})", process_phrase(o), o.local, o.state);
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    parts.join("; ")
}

/// The family a lookup asked for, as the sentence names the missing address: "an IPv6 address".
fn family_address(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "an IPv4 address",
        Family::Ipv6 => "an IPv6 address",
        Family::Any => "an address",
    }
}

/// The title of a failed lookup: only what the resolver's code proves ("not found" only when
/// it answered that the name does not exist).
fn lookup_title(host: &str, failure: LookupFailure, target: &Target) -> String {
    let host = clean(host);
    match failure {
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
fn lookup_failure(host: &str, failure: LookupFailure, code: &str, target: &Target) -> String {
    let host = clean(host);
    match failure {
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
        } => held(*conflict, *tried, sockets, port),
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
        Finding::Connections { count, peers } => {
            let from: Vec<String> = peers.iter().map(ToString::to_string).collect();
            format!(
                "+ {count} open connection{} on port {port}{}.",
                if *count == 1 { "" } else { "s" },
                if from.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", from.join(", "))
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
            let mut s = format!(
                "Only {count} TIME_WAIT socket{} of closed connections hold{} port {port}; no process owns them. Linux keeps them for 60 seconds.",
                if *count == 1 { "" } else { "s" },
                if *count == 1 { "s" } else { "" }
            );
            match reuse_retry {
                Some(true) => s.push_str(
                    " A retry with SO_REUSEADDR bound the port just now, so SO_REUSEADDR gets past them.",
                ),
                Some(false) => s.push_str(
                    " A retry with SO_REUSEADDR failed too: the socket that left them did not set SO_REUSEADDR, so waiting is the only way.",
                ),
                None => {}
            }
            s
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
        } => {
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
            clean(scope)
        ),
        Finding::NotAssigned {
            ip,
            assigned,
            nonlocal_bind,
        } => {
            let list: Vec<String> = assigned
                .iter()
                .map(|(a, n)| format!("{} ({})", clean(a), clean(n)))
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
        Finding::NatRedirect { redirect } => format!(
            "Incoming connections to port {port} are redirected to {} by a NAT rule ({}: {}); a client may never reach a program on this port.",
            clean(&redirect.to),
            clean(&redirect.source),
            clean(&redirect.rule)
        ),
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn held(conflict: Conflict, tried: IpAddr, sockets: &[Owner], port: u16) -> String {
    let who = holders_list(sockets);
    match conflict {
        Conflict::SameAddress => format!("{who} already holds {tried} port {port}."),
        Conflict::WildcardBlocksSpecific => format!(
            "Wildcard conflict: {who} is bound to the wildcard address, which covers {tried} on port {port}."
        ),
        Conflict::SpecificBlocksWildcard => format!(
            "{who} holds a specific address on port {port}, so a wildcard bind ({tried}) cannot take the port on every address."
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

fn leftovers(
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

fn known_holder(pid: Option<u32>, h: &crate::holders::KnownHolder) -> String {
    let who = pid.map_or_else(|| "The holder".into(), |p| format!("PID {p}"));
    let detail = h
        .detail
        .as_ref()
        .map_or_else(String::new, |d| format!(" Here it {}.", clean(d)));
    if h.verified {
        format!("{who} is a {}: {}{detail}", h.kind_name(), clean(&h.what))
    } else {
        format!(
            "{who} claims to be a {} by its name only (its executable does not prove it: {}); treat it as an ordinary process.",
            h.kind_name(),
            clean(h.unverified_why.as_deref().unwrap_or("unknown"))
        )
    }
}

fn privileged(port: u16, rule: &str, uid: Option<u32>, root: bool, os: Os) -> String {
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

/// The sentence for one fix, for the CLI (commands) or the window (its controls).
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "a table: one arm per fix kind, each with its CLI and window wording"
)]
pub fn fix(f: &Fix, target: &Target, front: Front) -> String {
    let t = clean(&target.display_addr()).into_owned();
    let cli = front == Front::Cli;
    match f {
        Fix::EndProcesses { pids, .. } => {
            let list: Vec<String> = pids.iter().map(ToString::to_string).collect();
            if !cli {
                format!(
                    "Stop the owner with its End PID {}… button (it ends PID {} after asking), or choose another port.",
                    list[0],
                    list.join(", ")
                )
            } else if cfg!(windows) {
                format!(
                    "Stop the owner, or choose another port: taskkill /PID {}",
                    list.join(" /PID ")
                )
            } else {
                format!("Stop the owner, or choose another port: kill {}", list.join(" "))
            }
        }
        Fix::HolderAdvice { advice, command } => {
            format!("{} ({})", clean(advice), clean(command))
        }
        Fix::UseFreePort { port } => {
            let other = target_with_port(target, *port);
            if cli {
                format!(
                    "Use port {port} instead: the same bind took it just now (port-inspector check {other})."
                )
            } else {
                format!("Use port {port} instead: the same bind took it just now.")
            }
        }
        Fix::SetReuseAddr => {
            if cli {
                format!(
                    "Set SO_REUSEADDR on the server's socket before bind (port-inspector check {t} --reuseaddr shows it binds)."
                )
            } else {
                "Set SO_REUSEADDR on the server's socket before bind.".into()
            }
        }
        Fix::SetReusePort => {
            if cli {
                format!(
                    "Set SO_REUSEPORT on your socket, as the group's do, if you mean to join it (port-inspector check {t} --reuseport)."
                )
            } else {
                "Set SO_REUSEPORT on your socket, as the group's do, if you mean to join it.".into()
            }
        }
        Fix::SetV6Only => {
            if cli {
                format!(
                    "Set IPV6_V6ONLY on your IPv6 socket so it leaves the IPv4 port alone (port-inspector check {t} --v6only on)."
                )
            } else {
                "Set IPV6_V6ONLY on your IPv6 socket so it leaves the IPv4 port alone.".into()
            }
        }
        Fix::HolderSetsV6Only => {
            "Make the holder set IPV6_V6ONLY on its [::] socket (many servers call it 'ipv6only'), so its IPv6 socket leaves the IPv4 port free.".into()
        }
        Fix::BindSpecific => {
            "Bind only the address you need instead of the wildcard.".into()
        }
        Fix::Wait { secs } => {
            if cli {
                format!(
                    "Wait about {secs} s for them to go, then retry (port-inspector check {t} --wait --timeout {})",
                    secs + 10
                )
            } else {
                format!("Wait about {secs} s for them to go, then retry (Watch until free).")
            }
        }
        Fix::UsePortFrom { start } => format!("Use a port of {start} or above."),
        Fix::GrantBindCapability { root } => {
            if *root {
                "Give the process back CAP_NET_BIND_SERVICE (a container: docker run --cap-add NET_BIND_SERVICE …; a systemd unit: AmbientCapabilities=CAP_NET_BIND_SERVICE).".into()
            } else {
                "Grant your program's executable the capability as root: setcap cap_net_bind_service=+ep on its file (or, for a systemd unit, AmbientCapabilities=CAP_NET_BIND_SERVICE).".into()
            }
        }
        Fix::ReservePort { port, existing, os } => if *os == Os::Windows {
            format!(
                "Reserve the port so outgoing connections leave it alone, from an Administrator prompt: netsh int ipv4 add excludedportrange protocol={} startport={port} numberofports=1",
                if target.protocol == Protocol::Udp { "udp" } else { "tcp" }
            )
        } else {
            {
                let mut list: Vec<String> = existing
                    .iter()
                    .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                    .collect();
                list.push(port.to_string());
                format!(
                    "Reserve the port so outgoing connections leave it alone (keeps the ports reserved already): sudo sysctl -w net.ipv4.ip_local_reserved_ports={}",
                    list.join(",")
                )
            }
        }
        Fix::RetryLookup => {
            "Look the name up again in a moment: the resolver called this failure temporary.".into()
        }
        Fix::BindAssigned { address } => format!(
            "Bind an address this machine has, such as {}, or the wildcard.",
            clean(address)
        ),
        Fix::AddScope { addresses } => {
            if addresses.is_empty() {
                "Add the interface to a link-local address (fe80::…%interface); this machine has no link-local addresses right now.".into()
            } else {
                format!(
                    "Add the interface to the link-local address; this machine's are: {}.",
                    addresses
                        .iter()
                        .map(|a| format!("[{}]", clean(a)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
        Fix::MatchFamily { example } => format!(
            "Drop the family option, or use an address of the family you asked for (for example {example})."
        ),
        Fix::RunElevated => {
            if !cli {
                "Relaunch Port Inspector as administrator to name the process.".into()
            } else if cfg!(windows) {
                format!(
                    "Run the check again from an Administrator prompt to name the process: port-inspector check {t}"
                )
            } else {
                format!("Run the check again as root to name the process: sudo port-inspector check {t}")
            }
        }
        Fix::RemoveDevices { devices } => format!(
            "Delete or reconfigure the device{} ({}), or use another port.",
            plural(devices.len()),
            devices
                .iter()
                .map(|d| format!("ip link del {}", clean(d)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Fix::GrantPtrace => {
            "Run the check with CAP_SYS_PTRACE in its capability set to name the process (being root is not enough without it).".into()
        }
    }
}

/// The label of the window's button that carries out `f` itself, for the fixes it can do
/// (another port, an option and Test again); `None` for the rest.
#[must_use]
pub fn fix_button(f: &Fix) -> Option<String> {
    match f {
        Fix::UseFreePort { port } => Some(format!("Use port {port}")),
        Fix::SetReuseAddr => Some("Retry with SO_REUSEADDR".into()),
        Fix::SetReusePort => Some("Retry with SO_REUSEPORT".into()),
        Fix::SetV6Only => Some("Retry with IPv6-only".into()),
        Fix::RunElevated => Some("Relaunch as administrator".into()),
        _ => None,
    }
}

/// `target` with another port, written as the CLI takes it.
fn target_with_port(target: &Target, port: u16) -> String {
    let mut t = target.clone();
    t.port = port;
    clean(&t.display_addr()).into_owned()
}

/// The catalog's general causes for an error, keeping only those that can apply to this protocol,
/// family and OS.
#[must_use]
pub fn general_causes(e: &crate::catalog::CatalogEntry, target: &Target) -> Vec<String> {
    let os = Os::current();
    e.causes
        .iter()
        .filter(|c| c.applies(target.protocol, target.family, os))
        .map(|c| c.text.clone())
        .collect()
}

/// Milliseconds as people read them: `850 ms`, `8.0 s`.
#[must_use]
pub fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        #[allow(clippy::cast_precision_loss)] // milliseconds of a check fit f64 exactly
        let s = ms as f64 / 1000.0;
        format!("{s:.1} s")
    }
}

/// Microseconds as people read them: `42 µs`, `3.1 ms`, `8.0 s`.
#[must_use]
pub fn human_us(us: u64) -> String {
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        #[allow(clippy::cast_precision_loss)] // microseconds of a step fit f64 exactly
        let ms = us as f64 / 1000.0;
        format!("{ms:.1} ms")
    } else {
        human_ms(us / 1000)
    }
}

/// A name lookup this slow is worth a line of its own: every program that binds by this name
/// waits as long.
pub const SLOW_LOOKUP_US: u64 = 1_000_000;

/// The lookup's time when it was slow: `Slow name lookup: getaddrinfo took 2.4 s of this check's
/// 2.4 s.` (a lookup that timed out has its own finding instead).
#[must_use]
pub fn slow_lookup(r: &ProbeReport) -> Option<String> {
    (r.resolve.ok && r.resolve.elapsed_us >= SLOW_LOOKUP_US).then(|| {
        format!(
            "Slow name lookup: getaddrinfo took {} of this check's {}.",
            human_us(r.resolve.elapsed_us),
            human_us(r.elapsed_us.max(r.resolve.elapsed_us))
        )
    })
}

/// Who started a process and what manages it, in a few words: `systemd nginx.service`,
/// `shell bash (PID 812)`.
#[must_use]
pub fn managed_by(o: &Owner) -> String {
    use crate::owners::ManagedKind;
    match &o.managed_by {
        // A parent of PID 1 proves no manager: the process may have been started by init, or
        // orphaned when its own parent died (re-parented to PID 1). Say only what was seen.
        Some(m) if m.kind == ManagedKind::Init => format!("parent PID 1 ({})", clean(&m.name)),
        Some(m) => {
            let kind = match m.kind {
                ManagedKind::Systemd => "systemd",
                ManagedKind::Container => "container",
                ManagedKind::Supervisor => "supervisor",
                ManagedKind::Shell => "shell",
                ManagedKind::Init => "parent",
            };
            match &m.container {
                Some(name) => format!("{kind} {} ({})", clean(name), clean(&m.name)),
                None => format!("{kind} {}", clean(&m.name)),
            }
        }
        None => o
            .ancestry
            .first()
            .map(|a| {
                format!(
                    "{} (PID {})",
                    clean(a.name.as_deref().unwrap_or("?")),
                    a.pid
                )
            })
            .unwrap_or_default(),
    }
}

/// Who holds something, in one phrase: each distinct holder once, in order (`nginx (PID 12),
/// php-fpm (PID 40)`). A server's listener and the connections it accepted are all its sockets
/// on the port; naming the same process once per socket would read as several holders.
#[must_use]
pub fn holders_in_words<'a>(owners: impl IntoIterator<Item = &'a Owner>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for o in owners {
        let who = o.who();
        if !seen.contains(&who) {
            seen.push(who);
        }
    }
    seen.join(", ")
}

/// What to do when Port Inspector itself ran out of file descriptors, as a command that runs as
/// printed in sh and bash, for any user: the soft limit raised to the hard one.
pub const RAISE_FD_LIMIT: &str =
    "raise the limit to the most allowed, in the shell that starts it: ulimit -n \"$(ulimit -Hn)\"";

/// What the kernel refused while looking for sockets and what was read instead: "The kernel
/// refused its socket dump (sock_diag: EAFNOSUPPORT …), so the TCP IPv4 and IPv6 tables were
/// read from /proc/net instead …" and/or "… could not be read either …".
#[must_use]
pub fn tables_refused_text(refused: &[crate::owners::TableRefusal]) -> String {
    let mut errnos: Vec<i32> = refused.iter().map(|r| r.errno).collect();
    errnos.sort_unstable();
    errnos.dedup();
    let why = errnos
        .iter()
        .map(|&n| {
            if n == 0 {
                "failed".to_owned()
            } else {
                let e = crate::oserror::OsError::from_errno(n);
                format!("{} {}", e.native_name, e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let tables = |read: bool| {
        refused
            .iter()
            .filter(|r| r.read_instead == read)
            .map(|r| match r.family {
                crate::target::Family::Any => format!("{} IPv4 and IPv6", r.protocol),
                f => format!("{} {f}", r.protocol),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let were = |read: bool| {
        if refused.iter().filter(|r| r.read_instead == read).count() == 1 {
            "table was"
        } else {
            "tables were"
        }
    };
    let mut out = Vec::new();
    if refused.iter().any(|r| r.read_instead) {
        out.push(format!(
            "The kernel refused its socket dump (sock_diag: {why}), so the {} {} read from /proc/net instead, as ss does; /proc/net shows no TCP socket that is bound without listening (those are looked for descriptor by descriptor, as root).",
            tables(true),
            were(true)
        ));
    }
    if refused.iter().any(|r| !r.read_instead) {
        let advice = if errnos.iter().any(|&n| n == 23 || n == 24) {
            format!("; {RAISE_FD_LIMIT}")
        } else {
            " (a sandbox that refuses netlink sockets, and no /proc/net: allow AF_NETLINK, or run where /proc/net is mounted)".to_owned()
        };
        out.push(format!(
            "The kernel refused its socket dump (sock_diag: {why}) and /proc/net could not be read either: what the {} {} is unknown{advice}.",
            tables(false),
            if refused.iter().filter(|r| !r.read_instead).count() == 1 {
                "table holds"
            } else {
                "tables hold"
            }
        ));
    }
    out.join(" ")
}

/// A note on a busy port whose owner lookup was refused descriptors: the port's state is proven
/// (the bind failed), its owners may be incomplete.
#[must_use]
pub fn lookup_out_of_descriptors() -> String {
    format!("owners not all traced: Port Inspector ran out of file descriptors; {RAISE_FD_LIMIT}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_people_read_them() {
        assert_eq!(human_us(42), "42 µs");
        assert_eq!(human_us(3_100), "3.1 ms");
        assert_eq!(human_us(8_001_924), "8.0 s");
    }

    /// A server with an IPv4 and an IPv6 listener (or a listener and its connections) is one
    /// holder: named once, in the order met, and outside text in its name escaped.
    #[test]
    fn each_holder_is_named_once() {
        let sock = crate::owners::test_owner;
        let owners = [
            sock(7, "nginx", "0.0.0.0:80", SockState::Listen),
            sock(7, "nginx", "[::]:80", SockState::Listen),
            sock(9, "evil\x1b[2Jname", "0.0.0.0:80", SockState::Established),
            sock(7, "nginx", "127.0.0.1:80", SockState::Established),
        ];
        let words = holders_in_words(&owners);
        assert_eq!(words, r"nginx (PID 7), evil\x1b[2Jname (PID 9)");
        assert!(holders_in_words(&[]).is_empty());
    }

    /// A process whose parent is PID 1 may be init's child or an orphan (its parent died): the
    /// Managed by cell says only what was seen, never "init" as if init managed it.
    #[test]
    fn a_parent_of_pid_1_is_not_called_a_manager() {
        use crate::owners::{ManagedBy, ManagedKind};
        let mut o = crate::owners::test_owner(7, "worker", "0.0.0.0:80", SockState::Listen);
        o.managed_by = Some(ManagedBy {
            kind: ManagedKind::Init,
            name: "systemd".into(),
            container: None,
        });
        assert_eq!(managed_by(&o), "parent PID 1 (systemd)");
        assert_eq!(manager_clause(&o), None, "no manager clause");
    }
}
