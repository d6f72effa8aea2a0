//! Turns a probe report, the port's owners and the machine's facts into a diagnosis: the catalog's
//! text for the error, with the causes that were checked on this machine put first.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::facts::Facts;
use crate::owners::Owner;
use crate::probe::{ProbeReport, StepKind};
use crate::target::{Protocol, Target};

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
    /// An IPv6 `[::]` socket without IPV6_V6ONLY also holds the IPv4 port.
    DualStack,
    /// Only TIME_WAIT leftovers of closed connections hold the port.
    TimeWaitOnly,
    /// A TCP socket bound but neither listening nor connected (invisible to ss/netstat/lsof).
    BoundOnly,
    /// Address in use, but no socket we can see explains it.
    Unexplained,
}

/// What went wrong, why (checked here), and what to do; the JSON `explanation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The WSA number this diagnosis explains.
    pub wsa_code: u32,
    /// The WSA name.
    pub wsa_name: String,
    /// One line a person reads first.
    pub title: String,
    /// What the error means for this bind.
    pub summary: String,
    /// Causes, those checked on this machine first (each prefixed "Checked:").
    pub causes: Vec<String>,
    /// What to do, most specific first.
    pub fixes: Vec<String>,
    /// Only the findings checked on this machine.
    pub checked: Vec<String>,
    /// For address-in-use: the kind of clash found.
    pub conflict: Option<Conflict>,
}

/// Extra inputs the diagnosis may use; all optional so front ends can call it cheaply.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    /// Sockets on the port.
    pub owners: &'a [Owner],
    /// Sockets on the port we could not attribute.
    pub hidden: usize,
    /// For TIME_WAIT-only conflicts: whether a retry with SO_REUSEADDR bound the port.
    pub reuse_retry_ok: Option<bool>,
}

/// Explains a failed probe; `None` when the probe succeeded.
#[must_use]
pub fn diagnose(report: &ProbeReport, facts: &Facts, ev: &Evidence<'_>) -> Option<Diagnosis> {
    let err = report.error.as_ref()?;
    let entry = catalog::by_wsa(err.wsa_code);
    let target = &report.target;
    let failed_sock: Option<SocketAddr> = report
        .failed_address
        .as_deref()
        .and_then(|a| a.parse::<SocketAddr>().ok());
    let failed_ip: Option<IpAddr> = failed_sock.map(|a| a.ip());
    let scope_id = match failed_sock {
        Some(SocketAddr::V6(v6)) => Some(v6.scope_id()),
        _ => None,
    };
    let mut checked = Vec::new();
    let mut fixes = Vec::new();
    let mut conflict = None;
    let step = report.failed_step.map_or("the check", StepKind::name);
    let at = report
        .failed_address
        .clone()
        .unwrap_or_else(|| target.display_addr());

    match err.wsa_code {
        10013 => permission(target, failed_ip, facts, &mut checked, &mut fixes),
        10048 => {
            let (c, found, fx) = address_in_use(target, failed_ip, facts, ev);
            conflict = Some(c);
            checked.extend(found);
            fixes.extend(fx);
        }
        10049 => not_available(failed_ip, scope_id, facts, &mut checked, &mut fixes),
        10022
            if report.failed_step == Some(StepKind::Bind)
                && matches!(failed_ip, Some(IpAddr::V6(v6)) if v6.is_unicast_link_local())
                && scope_id == Some(0) =>
        {
            checked.push(format!(
                "Checked: {} is an IPv6 link-local address given without a scope (%interface); the kernel cannot tell which interface is meant and refuses the bind.",
                failed_ip.map_or_else(String::new, |i| i.to_string())
            ));
            fixes.push(link_local_fix(facts));
        }
        11001 if target.host.contains('%') && target.host.contains(':') => {
            let scope = target.host.split('%').nth(1).unwrap_or("");
            let names: Vec<&str> = facts.interfaces.iter().map(|i| i.name.as_str()).collect();
            let mut names = names;
            names.dedup();
            checked.push(format!(
                "Checked: the scope '%{scope}' names no interface of this machine, so the address could not be formed. Interfaces here: {}.",
                names.join(", ")
            ));
            fixes.push(link_local_fix(facts));
        }
        11004 | 10047
            if target
                .host
                .split('%')
                .next()
                .and_then(|h| h.parse::<IpAddr>().ok())
                .is_some_and(|ip| {
                    (ip.is_ipv4() && target.family == crate::Family::Ipv6)
                        || (ip.is_ipv6() && target.family == crate::Family::Ipv4)
                }) =>
        {
            let (is, asked, other) = if target.family == crate::Family::Ipv6 {
                ("an IPv4", "IPv6 only (-6)", "::")
            } else {
                ("an IPv6", "IPv4 only (-4)", "0.0.0.0")
            };
            checked.push(format!(
                "Checked: {} is {is} address, but {asked} was asked, so there is nothing to bind.",
                target.host
            ));
            fixes.push(format!(
                "Drop the family option, or use an address of the family you want (for example {other})."
            ));
        }
        11001 | 11002 | 11003 | 11004 | 10060 => {
            checked.push(format!(
                "Checked: the name '{}' did not resolve; the resolver answered {} ({}): {}.",
                target.host, err.native_name, err.native_code, err.message
            ));
            if let Some(ip) = facts.interfaces.first() {
                fixes.push(format!(
                    "Bind an address of this machine instead, for example {} ({}).",
                    ip.address, ip.name
                ));
            }
        }
        _ => {}
    }

    let title = match (err.wsa_code, conflict) {
        (10048, Some(Conflict::TimeWaitOnly)) => {
            format!("{at} is still held by TIME_WAIT connections")
        }
        (10048, Some(Conflict::DualStack)) => {
            format!("{at} is taken by a dual-stack IPv6 socket")
        }
        (10048, _) => format!("{at} is already in use"),
        (10013, _) => format!("Permission denied for {at}"),
        (10049, _) => format!("{at} is not an address of this machine"),
        (11001, _) => format!("Host name '{}' not found", target.host),
        (11002, _) => format!("Name lookup for '{}' failed for now", target.host),
        _ => format!(
            "{} failed: {}",
            step,
            entry.map_or(err.message.as_str(), |e| e.meaning.as_str())
        ),
    };
    let summary = format!(
        "{step} failed with {} ({}), {} {} on this OS. {}",
        err.wsa_name,
        err.wsa_code,
        err.native_name,
        err.native_code,
        entry.map_or(err.message.as_str(), |e| e.explanation.as_str())
    );
    let mut causes = checked.clone();
    let mut all_fixes = fixes;
    if let Some(e) = entry {
        causes.extend(e.causes.iter().cloned());
        all_fixes.extend(e.fixes.iter().cloned());
    }
    Some(Diagnosis {
        wsa_code: err.wsa_code,
        wsa_name: err.wsa_name.clone(),
        title,
        summary,
        causes,
        fixes: all_fixes,
        checked,
        conflict,
    })
}

fn permission(
    target: &Target,
    ip: Option<IpAddr>,
    facts: &Facts,
    checked: &mut Vec<String>,
    fixes: &mut Vec<String>,
) {
    let port = target.port;
    if let Some(r) = facts
        .reserved_ranges
        .iter()
        .find(|r| r.contains(port) && facts.os == "windows")
    {
        checked.push(format!(
            "Checked: port {port} lies in the excluded port range {}-{} ({}), reserved by Windows for Hyper-V, WSL, Docker or WinNAT.",
            r.start, r.end, r.scope
        ));
        fixes.push(format!("Pick a port outside {}-{}.", r.start, r.end));
        return;
    }
    let os = crate::platform::Os::from_name(&facts.os);
    if let Some(why) = crate::platform::privileged_refusal(
        os,
        port,
        ip,
        facts.unprivileged_port_start,
        facts.may_bind_privileged(),
    ) {
        let who = facts
            .uid
            .map_or_else(String::new, |u| format!(" (uid {u})"));
        checked.push(format!("Checked: {why}{who}."));
        if os == crate::platform::Os::Macos {
            fixes.push(format!(
                "Bind 0.0.0.0:{port} (or [::]:{port}) instead of a specific address, or run as root."
            ));
        } else {
            let start = facts.unprivileged_port_start.unwrap_or(1024);
            fixes.push(format!(
                "Use a port of {start} or above, or grant the capability: sudo setcap cap_net_bind_service=+ep /path/to/program."
            ));
        }
    } else if facts.is_privileged(port) {
        checked.push(format!(
            "Checked: port {port} is privileged but this process may bind it (root or CAP_NET_BIND_SERVICE); something else denies it."
        ));
    } else {
        checked.push(format!(
            "Checked: port {port} is not a privileged port here, so a security policy (SELinux, AppArmor, seccomp) or an exclusive bind is the likely cause."
        ));
    }
}

/// The link-local addresses of this machine, written the way they can be bound.
fn link_local_fix(facts: &Facts) -> String {
    let ll: Vec<String> = facts
        .interfaces
        .iter()
        .filter(|i| i.address.starts_with("fe80:"))
        .map(|i| format!("[{}]", i.address))
        .collect();
    if ll.is_empty() {
        "Add the interface to a link-local address, e.g. [fe80::1%eth0]:8080; this machine has no link-local addresses right now.".into()
    } else {
        format!(
            "Add the interface to a link-local address; this machine's are: {}.",
            ll.join(", ")
        )
    }
}

fn not_available(
    ip: Option<IpAddr>,
    scope_id: Option<u32>,
    facts: &Facts,
    checked: &mut Vec<String>,
    fixes: &mut Vec<String>,
) {
    let Some(ip) = ip else { return };
    let list: Vec<String> = facts
        .interfaces
        .iter()
        .map(|i| format!("{} ({})", i.address, i.name))
        .collect();
    if let IpAddr::V6(v6) = ip
        && v6.is_unicast_link_local()
        && scope_id == Some(0)
    {
        checked.push(format!(
            "Checked: {ip} is an IPv6 link-local address; it needs a scope such as %eth0 to name the interface."
        ));
    }
    if facts.has_address(ip) {
        checked.push(format!(
            "Checked: {ip} is assigned here, so the interface may be down or the address still tentative."
        ));
    } else {
        checked.push(format!(
            "Checked: {ip} is not assigned to any interface of this machine. Assigned: {}.",
            list.join(", ")
        ));
    }
    let nonlocal = if ip.is_ipv4() {
        facts.nonlocal_bind_v4
    } else {
        facts.nonlocal_bind_v6
    };
    if let Some(n) = nonlocal {
        checked.push(format!(
            "Checked: net.{}.ip_nonlocal_bind is {} on this machine.",
            if ip.is_ipv4() { "ipv4" } else { "ipv6" },
            u8::from(n)
        ));
    }
    if let Some(first) = facts.interfaces.iter().find(|i| i.ipv6 == ip.is_ipv6()) {
        fixes.push(format!(
            "Bind an assigned address such as {}, or the wildcard.",
            first.address
        ));
    }
}

/// Decides which clash blocks `target` from the real sockets; pure, so every case is unit-tested.
#[must_use]
pub fn classify_conflict(
    target: &Target,
    ip: Option<IpAddr>,
    owners: &[Owner],
    bindv6only: Option<bool>,
) -> (Conflict, Vec<Owner>) {
    let same_proto: Vec<&Owner> = owners
        .iter()
        .filter(|o| o.protocol == target.protocol)
        .collect();
    let live: Vec<&Owner> = same_proto
        .iter()
        .copied()
        .filter(|o| o.state != "TIME_WAIT")
        .collect();
    let Some(ip) = ip else {
        return (Conflict::Unexplained, live.into_iter().cloned().collect());
    };
    let os = crate::platform::Os::current();
    let dual = |o: &Owner| {
        o.local_ip()
            .is_some_and(|l| l.is_ipv6() && l.is_unspecified())
            && crate::platform::ipv6_is_dual_stack(os, o.v6_only, bindv6only)
    };
    let mut best: Option<(u8, Conflict, Vec<Owner>)> = None;
    let mut consider = |rank: u8, c: Conflict, o: &Owner| match &mut best {
        Some((r, _, v)) if *r == rank => v.push(o.clone()),
        Some((r, _, _)) if *r < rank => {}
        _ => best = Some((rank, c, vec![o.clone()])),
    };
    for o in &live {
        let Some(l) = o.local_ip() else { continue };
        let bound_only = o.protocol == Protocol::Tcp && o.state == "BOUND";
        if l == ip {
            consider(
                u8::from(bound_only),
                if bound_only {
                    Conflict::BoundOnly
                } else {
                    Conflict::SameAddress
                },
                o,
            );
        } else if l.is_ipv4() == ip.is_ipv4() && l.is_unspecified() {
            consider(
                2,
                if bound_only {
                    Conflict::BoundOnly
                } else {
                    Conflict::WildcardBlocksSpecific
                },
                o,
            );
        } else if l.is_ipv4() == ip.is_ipv4() && ip.is_unspecified() {
            consider(
                3,
                if bound_only {
                    Conflict::BoundOnly
                } else {
                    Conflict::SpecificBlocksWildcard
                },
                o,
            );
        } else if ip.is_ipv4() && dual(o) {
            consider(4, Conflict::DualStack, o);
        } else if ip.is_ipv6() && ip.is_unspecified() && l.is_ipv4() {
            // Our own [::] socket would be dual-stack and collide with an IPv4 holder.
            let ours_dual =
                crate::platform::ipv6_is_dual_stack(os, target.options.v6_only, bindv6only);
            if ours_dual {
                consider(5, Conflict::DualStack, o);
            }
        }
    }
    if let Some((_, c, v)) = best {
        return (c, v);
    }
    let tw: Vec<Owner> = same_proto
        .iter()
        .filter(|o| o.state == "TIME_WAIT")
        .map(|o| (*o).clone())
        .collect();
    if !tw.is_empty() {
        return (Conflict::TimeWaitOnly, tw);
    }
    (Conflict::Unexplained, Vec::new())
}

fn address_in_use(
    target: &Target,
    ip: Option<IpAddr>,
    facts: &Facts,
    ev: &Evidence<'_>,
) -> (Conflict, Vec<String>, Vec<String>) {
    let (conflict, blockers) = classify_conflict(target, ip, ev.owners, facts.bindv6only);
    let port = target.port;
    let ip_s = ip.map_or_else(|| "the address".to_owned(), |i| i.to_string());
    let mut found = Vec::new();
    let mut fixes = Vec::new();
    let names: Vec<String> = blockers
        .iter()
        .map(|o| format!("{} on {} ({})", o.who(), o.local, o.state))
        .collect();
    match conflict {
        Conflict::SameAddress => {
            found.push(format!(
                "Checked: {} already holds {ip_s} port {port}.",
                names.join("; ")
            ));
            fixes.push(kill_or_move(&blockers, port));
        }
        Conflict::WildcardBlocksSpecific => {
            found.push(format!(
                "Checked: wildcard conflict — {} is bound to the wildcard address, which covers {ip_s} on port {port}.",
                names.join("; ")
            ));
            fixes.push("Make the other program bind a specific address instead of the wildcard, or use another port.".into());
            fixes.push(kill_or_move(&blockers, port));
        }
        Conflict::SpecificBlocksWildcard => {
            found.push(format!(
                "Checked: wildcard conflict — {} holds a specific address on port {port}, so a wildcard bind ({ip_s}) cannot cover every address.",
                names.join("; ")
            ));
            fixes.push(format!(
                "Bind only the specific address you need instead of {ip_s}, or stop the other program."
            ));
            fixes.push(kill_or_move(&blockers, port));
        }
        Conflict::DualStack => {
            let sysdefault = match facts.bindv6only {
                Some(false) => {
                    " net.ipv6.bindv6only=0 on this machine, so IPv6 sockets are dual-stack unless they set IPV6_V6ONLY; the system default played a part."
                }
                Some(true) => {
                    " net.ipv6.bindv6only=1 here, so the socket turned IPV6_V6ONLY off itself."
                }
                None => "",
            };
            found.push(format!(
                "Checked: dual-stack conflict — {} listens on [::] with IPV6_V6ONLY off, which also takes IPv4 port {port}.{sysdefault}",
                names.join("; ")
            ));
            fixes.push("Set IPV6_V6ONLY=1 on the IPv6 socket (or net.ipv6.bindv6only=1), so IPv4 and IPv6 ports are separate.".into());
            fixes.push(kill_or_move(&blockers, port));
        }
        Conflict::TimeWaitOnly => {
            found.push(format!(
                "Checked: only {} TIME_WAIT socket(s) of closed connections hold port {port}; no process owns them. Linux keeps them for 60 seconds.",
                blockers.len()
            ));
            match ev.reuse_retry_ok {
                Some(true) => {
                    found.push("Checked: a retry with SO_REUSEADDR bound the port, so SO_REUSEADDR gets past these TIME_WAIT sockets.".into());
                    fixes.push(
                        "Set SO_REUSEADDR on the listening socket before bind (check --reuseaddr)."
                            .into(),
                    );
                }
                Some(false) => {
                    found.push("Checked: a retry with SO_REUSEADDR also failed: the socket that left these TIME_WAITs did not set SO_REUSEADDR, so waiting is the only way.".into());
                    fixes.push(
                        "Wait for the TIME_WAIT sockets to expire (about a minute), then retry."
                            .into(),
                    );
                }
                None => {}
            }
        }
        Conflict::BoundOnly => {
            found.push(format!(
                "Checked: {} holds port {port} with a TCP socket that is bound but neither listening nor connected; ss, netstat and lsof do not show such sockets.",
                names.join("; ")
            ));
            fixes.push(kill_or_move(&blockers, port));
        }
        Conflict::Unexplained => {
            if ev.hidden > 0 {
                found.push(format!(
                    "Checked: {} socket(s) on this port belong to another user; run as root/Administrator to see which process.",
                    ev.hidden
                ));
            } else {
                found.push("Checked: no visible socket explains the conflict; a bound-only socket the kernel does not report, or another network namespace, may hold it.".into());
            }
        }
    }
    for o in &blockers {
        if let Some(h) = &o.holder {
            let detail = h
                .detail
                .as_ref()
                .map_or_else(String::new, |d| format!(" Here it {d}."));
            found.push(format!(
                "Checked: {} is a known holder. {}{detail} To see more: {}",
                o.who(),
                h.what,
                h.command
            ));
            fixes.insert(0, format!("{} ({})", h.advice, h.command));
        }
    }
    if ev.hidden > 0 && conflict != Conflict::Unexplained {
        found.push(format!(
            "Checked: {} socket(s) on this port belong to another user; run as root/Administrator to see which process.",
            ev.hidden
        ));
    }
    if ev.hidden > 0 {
        fixes.push(if cfg!(windows) {
            format!("Run the check again from an Administrator prompt to name the process: port-inspector check {}", target.display_addr())
        } else {
            format!("Run the check again elevated to name the process: sudo port-inspector check {}", target.display_addr())
        });
    }
    (conflict, found, fixes)
}

fn kill_or_move(blockers: &[Owner], port: u16) -> String {
    // A known holder (container proxy, relay, http.sys) is dealt with through its own advice.
    let pids: Vec<String> = blockers
        .iter()
        .filter(|o| o.holder.is_none())
        .filter_map(|o| o.pid.map(|p| p.to_string()))
        .collect();
    if pids.is_empty() && blockers.iter().any(|o| o.holder.is_some()) {
        format!("Or choose another port (port-inspector free) instead of {port}.")
    } else if pids.is_empty() {
        format!("Choose another port (port-inspector free), or find what holds {port} as root.")
    } else if cfg!(windows) {
        format!(
            "Stop the owner (taskkill /PID {} /F) or choose another port.",
            pids.join(" /PID ")
        )
    } else {
        format!(
            "Stop the owner (kill {}) or choose another port.",
            pids.join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Family;

    fn owner(local: &str, state: &str, v6_only: Option<bool>) -> Owner {
        Owner {
            pid: Some(42),
            process: Some("srv".into()),
            path: None,
            cmdline: None,
            user: None,
            uid: None,
            protocol: Protocol::Tcp,
            family: if local.starts_with('[') {
                Family::Ipv6
            } else {
                Family::Ipv4
            },
            local: local.into(),
            remote: None,
            state: state.into(),
            v6_only,
            inode: 1,
            note: None,
            holder: None,
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn classifies_each_clash() {
        let t = Target::tcp("127.0.0.1", 80);
        let o = [owner("127.0.0.1:80", "LISTEN", None)];
        assert_eq!(
            classify_conflict(&t, ip("127.0.0.1"), &o, None).0,
            Conflict::SameAddress
        );
        let o = [owner("0.0.0.0:80", "LISTEN", None)];
        assert_eq!(
            classify_conflict(&t, ip("127.0.0.1"), &o, None).0,
            Conflict::WildcardBlocksSpecific
        );
        let o = [owner("127.0.0.1:80", "LISTEN", None)];
        assert_eq!(
            classify_conflict(&t, ip("0.0.0.0"), &o, None).0,
            Conflict::SpecificBlocksWildcard
        );
        let o = [owner("[::]:80", "LISTEN", Some(false))];
        assert_eq!(
            classify_conflict(&t, ip("0.0.0.0"), &o, Some(false)).0,
            Conflict::DualStack
        );
        let o = [owner("[::]:80", "LISTEN", Some(true))];
        assert_eq!(
            classify_conflict(&t, ip("0.0.0.0"), &o, Some(false)).0,
            Conflict::Unexplained
        );
        let o = [owner("127.0.0.1:80", "TIME_WAIT", None)];
        assert_eq!(
            classify_conflict(&t, ip("127.0.0.1"), &o, None).0,
            Conflict::TimeWaitOnly
        );
        let o = [owner("127.0.0.1:80", "BOUND", None)];
        assert_eq!(
            classify_conflict(&t, ip("127.0.0.1"), &o, None).0,
            Conflict::BoundOnly
        );
        let o = [owner("0.0.0.0:80", "LISTEN", None)];
        let t6 = Target::tcp("::", 80);
        assert_eq!(
            classify_conflict(&t6, ip("::"), &o, Some(false)).0,
            Conflict::DualStack
        );
    }

    #[test]
    fn live_listener_wins_over_time_wait() {
        let t = Target::tcp("127.0.0.1", 80);
        let o = [
            owner("127.0.0.1:80", "TIME_WAIT", None),
            owner("127.0.0.1:80", "LISTEN", None),
        ];
        let (c, who) = classify_conflict(&t, ip("127.0.0.1"), &o, None);
        assert_eq!(c, Conflict::SameAddress);
        assert_eq!(who.len(), 1, "only the listener is blamed");
    }
}
