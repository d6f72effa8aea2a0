//! The diagnosis as data: from the evidence gathered once (the probe, the sockets on the port, the
//! machine's facts, the proving retries), the findings this machine proved and the fixes that
//! follow from them. A pure function, unit-tested on fixture evidence; `wording` turns the result
//! into sentences. Nothing here is worded and nothing here touches a socket.

mod findings;
mod in_use;

use std::net::{IpAddr, SocketAddr};

use crate::facts::Facts;
use crate::oserror::wsa;
use crate::platform::Os;
use crate::probe::ProbeReport;
use crate::target::{Family, Protocol, Target};

pub use findings::{Conflict, ConnectionProcess, Diagnosis, Evidence, Finding, Fix, LookupFailure};
use in_use::{address_in_use, pids_of, push_free_port};
pub use in_use::{classify_conflict, kernel_holds, share_one_address};

/// Diagnoses a finished probe from the evidence: what failed and why (failures), or what to be
/// careful of (successes). Pure: every finding comes from the arguments.
#[must_use]
pub fn diagnose(report: &ProbeReport, facts: &Facts, ev: &Evidence) -> Diagnosis {
    let mut d = Diagnosis::default();
    let target = &report.target;
    let failed = report.failed_address;
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
            host: target.host.to_string(),
            timeout_ms: report.resolve.elapsed_us / 1000,
        }),
        wsa::ECANCELLED => d.findings.push(Finding::Cancelled),
        _ => {}
    }
    d
}

fn name_failure(target: &Target, err: &crate::oserror::OsError, facts: &Facts, d: &mut Diagnosis) {
    let literal = target.host.ip();
    if let Some(ip) = literal
        && ((ip.is_ipv4() && target.family == Family::Ipv6)
            || (ip.is_ipv6() && target.family == Family::Ipv4))
    {
        d.findings.push(Finding::FamilyMismatch {
            host: target.host.to_string(),
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
        && let Some(scope) = target.host.scope().map(str::to_owned)
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
        host: target.host.to_string(),
        failure,
        native_name: err.native_name.clone(),
        native_code: err.native_code,
    });
    if failure == LookupFailure::Temporary {
        d.fixes.push(Fix::RetryLookup);
    }
    // An address of the family asked for (`-6`: an IPv6 one), as the bind would need.
    if failure != LookupFailure::UnknownService
        && let Some(i) = facts.interfaces.iter().find(|i| match target.family {
            Family::Any => true,
            Family::Ipv4 => !i.ipv6,
            Family::Ipv6 => i.ipv6,
        })
    {
        d.fixes.push(Fix::BindAssigned { address: i.host() });
    }
}

fn add_scope(facts: &Facts) -> Fix {
    Fix::AddScope {
        addresses: facts
            .interfaces
            .iter()
            .filter(|i| i.scope().is_some())
            .map(crate::facts::Interface::host)
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
            scope: r.scope,
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
            excluded_unread: if os == Os::Windows {
                facts.excluded_unread.clone()
            } else {
                Vec::new()
            },
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
            .map(|i| (i.host(), i.name.clone()))
            .collect(),
        nonlocal_bind: if ip.is_ipv4() {
            facts.nonlocal_bind_v4
        } else {
            facts.nonlocal_bind_v6
        },
    });
    if let Some(i) = facts.interfaces.iter().find(|i| i.ipv6 == ip.is_ipv6()) {
        d.fixes.push(Fix::BindAssigned { address: i.host() });
    }
}
/// Cautions for a bind that worked.
fn cautions(report: &ProbeReport, facts: &Facts, ev: &Evidence, d: &mut Diagnosis) {
    let target = &report.target;
    let bound: Vec<SocketAddr> = report.attempts.iter().filter_map(|a| a.bound).collect();
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
    use crate::owners::{Owner, OwnerNote, SockState};
    use crate::target::Family;
    use std::net::IpAddr;

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
            skipped: None,
        };
        ProbeReport {
            target: target.clone(),
            resolve: resolve.clone(),
            attempts: Vec::new(),
            verdict: Verdict::NotBindable,
            error: Some(error),
            failed_step: Some(StepKind::Bind),
            failed_address: at.parse().ok(),
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
                scope: crate::facts::PortScope::ALL,
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
                address: std::net::Ipv4Addr::LOCALHOST.into(),
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
                address: crate::target::Host::from(std::net::IpAddr::from(
                    std::net::Ipv4Addr::LOCALHOST
                ))
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

    /// An svchost.exe that runs two services (as the service control manager lists them with
    /// its PID): the answer names both services, advises stopping the service with `sc.exe`,
    /// and never offers to end the host process, which would stop every service in it.
    #[test]
    fn a_service_host_is_stopped_by_its_service_never_ended() {
        use crate::owners::{ManagedBy, ManagedKind, WinService};
        let target = Target::tcp("0.0.0.0", 3544);
        let report = failed(&target, "0.0.0.0:3544", EADDRINUSE);
        let mut host =
            crate::owners::test_owner(1234, "svchost.exe", "0.0.0.0:3544", SockState::Listen);
        let services = vec![
            WinService {
                name: "iphlpsvc".into(),
                display: "IP Helper".into(),
            },
            WinService {
                name: "Dnscache".into(),
                display: "DNS Client".into(),
            },
        ];
        host.managed_by = Some(ManagedBy {
            kind: ManagedKind::Service,
            name: "iphlpsvc".into(),
            container: None,
            services: services.clone(),
        });
        let d = diagnose(
            &report,
            &Facts {
                os: Os::Windows,
                ..facts()
            },
            &Evidence {
                owners: vec![host],
                ..Evidence::default()
            },
        );
        assert!(
            !d.fixes
                .iter()
                .any(|f| matches!(f, Fix::EndProcesses { .. })),
            "{:?}",
            d.fixes
        );
        assert!(d.fixes.contains(&Fix::StopServices {
            services,
            hosts: vec![(1234, "svchost.exe".into())],
        }));
        let all = format!(
            "{:?}",
            crate::wording::explain(&report, &d, &crate::program::Program::OnPath).unwrap()
        );
        assert!(
            all.contains(
                "svchost.exe (PID 1234), services: iphlpsvc (IP Helper), Dnscache (DNS Client)"
            ),
            "{all}"
        );
        let words: Vec<String> = d
            .fixes
            .iter()
            .map(|f| {
                crate::wording::fix(
                    f,
                    &target,
                    crate::wording::Front::Cli(&crate::program::Program::OnPath),
                )
            })
            .collect();
        assert!(
            words.iter().any(|w| w.contains("not svchost.exe (PID 1234), which also runs the others: one of iphlpsvc (IP Helper), Dnscache (DNS Client). From an Administrator prompt: sc.exe stop NAME")),
            "{words:?}"
        );
        assert!(
            !words
                .iter()
                .any(|w| w.contains("taskkill") || w.contains("kill ")),
            "{words:?}"
        );
    }

    #[test]
    fn a_proven_known_holder_is_not_ended_but_a_name_alone_is() {
        let t = Target::tcp("127.0.0.1", 8080);
        let r = failed(&t, "127.0.0.1:8080", EADDRINUSE);
        let mut o = owner("127.0.0.1:8080", SockState::Listen, None);
        o.holder = Some(Box::new(crate::owners::holders::KnownHolder {
            verified: true,
            unverified_why: None,
            kind: crate::owners::holders::HolderKind::ContainerProxy,
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
            skipped: None,
        };
        let r = ProbeReport {
            target: t.clone(),
            resolve: step.clone(),
            attempts: vec![Attempt {
                address: "127.0.0.1:40000".parse().ok(),
                family: Family::Ipv4,
                steps: vec![step],
                bound: "127.0.0.1:40000".parse().ok(),
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
