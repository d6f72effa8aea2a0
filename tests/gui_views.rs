//! The check's answer as a view, the egui_kittest way: `result_ui` drawn on fixture checks (one per
//! verdict and per kind of proven cause), queried by role and label, its buttons clicked and the
//! actions it returns read back. No threads, no sockets: the fixtures are the evidence a real check
//! gathers, turned into a `Check` by the same pure path (`check::assemble`: diagnose, then wording).
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::net::SocketAddr;
use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use port_inspector::check::{self, Check};
use port_inspector::diagnose::{Evidence, Fix};
use port_inspector::facts::{Facts, Interface, PortRange, PortScope};
use port_inspector::gui::action::Action;
use port_inspector::gui::views::{AnswerAround, result_ui};
use port_inspector::oserror::OsError;
use port_inspector::owners::{Ancestor, ManagedBy, ManagedKind, Owner, OwnerNote, SockState};
use port_inspector::platform::Os;
use port_inspector::probe::{Attempt, ProbeReport, Step, StepKind, Verdict};
use port_inspector::target::{Family, Protocol, Target};

/// The machine the fixtures describe: Linux, the usual port ranges, loopback and one LAN address.
fn facts() -> Facts {
    Facts {
        os: Os::Linux,
        uid: Some(0),
        elevated: true,
        unprivileged_port_start: Some(1024),
        ephemeral_range: Some(PortRange {
            start: 32768,
            end: 60999,
            scope: PortScope::ALL,
        }),
        interfaces: vec![
            Interface {
                name: "lo".into(),
                address: "127.0.0.1".parse().unwrap(),
                ipv6: false,
                loopback: true,
            },
            Interface {
                name: "eth0".into(),
                address: "192.168.1.20".parse().unwrap(),
                ipv6: false,
                loopback: false,
            },
        ],
        ..Facts::default()
    }
}

fn step(step: StepKind, ok: bool, us: u64, error: Option<OsError>) -> Step {
    Step {
        step,
        ok,
        elapsed_us: us,
        detail: String::new(),
        error,
        skipped: None,
    }
}

/// A probe of `target` on `at` that ended with `error` at `failed` (bind, or the lookup when
/// `at` is `None`); no error means the bind worked.
fn probe(
    target: &Target,
    at: Option<&str>,
    error: Option<OsError>,
    failed: StepKind,
) -> ProbeReport {
    let resolved = at.is_some() || error.is_none();
    let resolve_error = (!resolved).then(|| error.clone()).flatten();
    let resolve = step(StepKind::Resolve, resolved, 2_400_000, resolve_error);
    let attempts = at.map_or_else(Vec::new, |a| {
        let mut steps = vec![resolve.clone(), step(StepKind::Socket, true, 11, None)];
        match &error {
            Some(e) => steps.push(step(StepKind::Bind, false, 9, Some(e.clone()))),
            None => steps.extend([
                step(StepKind::Bind, true, 8, None),
                step(StepKind::Getsockname, true, 2, None),
            ]),
        }
        steps.push(step(StepKind::Close, true, 12, None));
        vec![Attempt {
            address: a.parse().ok(),
            family: Family::Ipv4,
            steps,
            bound: error.is_none().then(|| a.parse().unwrap()),
        }]
    });
    let verdict = match &error {
        None => Verdict::Bindable,
        Some(e) if e.wsa_code == 10060 || e.wsa_code == 10103 => Verdict::Unknown,
        Some(_) => Verdict::NotBindable,
    };
    ProbeReport {
        target: target.clone(),
        resolve,
        attempts,
        verdict,
        failed_step: error.as_ref().map(|_| failed),
        failed_address: error.as_ref().and(at.and_then(|a| a.parse().ok())),
        error,
        elapsed_us: 2_400_100,
    }
}

/// A socket held by `process` (`pid`), as the owner lookup reports it.
fn owner(local: &str, state: SockState, pid: Option<u32>, process: &str) -> Owner {
    let local: SocketAddr = local.parse().unwrap();
    Owner {
        pid,
        pids: pid.into_iter().collect(),
        process: pid.map(|_| Arc::from(process)),
        path: None,
        cmdline: pid.map(|_| Arc::from(format!("/usr/sbin/{process} -g daemon off;"))),
        user: pid.map(|_| Arc::from("www-data")),
        uid: Some(33),
        protocol: Protocol::Tcp,
        family: Family::Ipv4,
        local,
        remote: None,
        state,
        v6_only: None,
        inode: 4242,
        note: None,
        holder: None,
        reuse_port: Some(false),
        ancestry: Arc::from(vec![Ancestor {
            pid: 1,
            name: Some("systemd".into()),
        }]),
        managed_by: None,
        kernel: None,
        device: None,
    }
}

/// The check of a probe that failed with `error` at `step`, on the fixture machine, with no
/// socket on the port.
fn failed(t: &Target, at: Option<&str>, error: OsError, step: StepKind) -> Check {
    check::assemble(
        probe(t, at, Some(error), step),
        facts(),
        Evidence::default(),
    )
}

fn errno(code: i32) -> OsError {
    OsError::for_os(Os::Linux, code)
}

/// The view of `c` in a harness whose state collects the actions it returns.
fn view(c: Check) -> Harness<'static, Vec<Action>> {
    view_where(c, None)
}

/// The same, on a machine where the window cannot start itself elevated for `no_elevation`.
fn view_where(c: Check, no_elevation: Option<&'static str>) -> Harness<'static, Vec<Action>> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1000.0, 900.0))
        .build_ui_state(
            move |ui, actions: &mut Vec<Action>| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    let around = AnswerAround {
                        elevation: no_elevation,
                        ..AnswerAround::default()
                    };
                    actions.extend(result_ui(ui, &c, &around));
                });
            },
            Vec::new(),
        );
    h.run();
    h
}

fn has(h: &Harness<'_, Vec<Action>>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// Every label the view shows, for failure messages.
fn labels(h: &Harness<'_, Vec<Action>>) -> Vec<String> {
    h.query_all_by_role(Role::Label)
        .filter_map(|n| n.accesskit_node().value().or(n.accesskit_node().label()))
        .collect()
}

/// Clicks the button labelled `label` and returns the actions the view gave back.
fn click(h: &mut Harness<'_, Vec<Action>>, label: &str) -> Vec<Action> {
    h.state_mut().clear();
    h.get_by_role_and_label(Role::Button, label).click();
    h.run();
    std::mem::take(h.state_mut())
}

/// What every answer with a diagnosis shows: each proven finding and each fix, worded by
/// `wording` (the same sentences the CLI and the report print).
fn shows_the_diagnosis(h: &Harness<'_, Vec<Action>>, c: &Check) {
    let d = c.explanation.as_ref().expect("a diagnosis");
    assert!(has(h, &d.title), "the title {:?}: {:?}", d.title, labels(h));
    for f in &d.findings {
        assert!(has(h, &f.text), "finding {:?}: {:?}", f.text, labels(h));
    }
    for f in &d.fixes {
        let window = port_inspector::wording::fix(
            &f.value,
            &c.report.target,
            port_inspector::wording::Front::Window,
        );
        assert!(has(h, &window), "fix {window:?}: {:?}", labels(h));
    }
}

#[test]
fn bindable_shows_what_was_bound_and_no_diagnosis() {
    // Fixture evidence: no socket is bound by this test, so the port is only a number here.
    let t = Target::tcp("127.0.0.1", 8443);
    let c = check::assemble(
        probe(&t, Some("127.0.0.1:8443"), None, StepKind::Bind),
        facts(),
        Evidence::default(),
    );
    let h = view(c);
    assert!(has(&h, "Bindable"), "{:?}", labels(&h));
    assert!(has(&h, "bound 127.0.0.1:8443"), "{:?}", labels(&h));
    assert!(!has(&h, "Not bindable") && !has(&h, "What to do"));
    // The steps read as people read times: µs for the calls, seconds for a slow lookup.
    assert!(has(&h, "11 µs"), "{:?}", labels(&h));
    assert!(has(&h, "2.4 s"), "{:?}", labels(&h));
    assert!(
        has(&h, "Slow name lookup: getaddrinfo took 2.4 s"),
        "a slow resolver is called out: {:?}",
        labels(&h)
    );
}

#[test]
fn a_holder_run_by_systemd_leads_with_who_and_why_and_offers_end_and_another_port() {
    let t = Target::tcp("127.0.0.1", 8080);
    let mut nginx = owner("127.0.0.1:8080", SockState::Listen, Some(812), "nginx");
    nginx.managed_by = Some(ManagedBy {
        kind: ManagedKind::Systemd,
        name: "nginx.service".into(),
        container: None,
        services: Vec::new(),
    });
    let ev = Evidence {
        owners: vec![nginx],
        free_port: Some(8081),
        ..Evidence::default()
    };
    let c = check::assemble(
        probe(&t, Some("127.0.0.1:8080"), Some(errno(98)), StepKind::Bind),
        facts(),
        ev,
    );
    let mut h = view(c.clone());
    // Answer first: the verdict, the proven cause with what runs the holder, the code.
    assert!(has(&h, "Not bindable"));
    assert!(
        has(
            &h,
            "127.0.0.1:8080 is in use by nginx (PID 812), run by systemd unit nginx.service"
        ),
        "{:?}",
        labels(&h)
    );
    assert!(has(&h, "WSAEADDRINUSE 10048"));
    assert!(has(&h, "EADDRINUSE 98 on Linux"));
    shows_the_diagnosis(&h, &c);
    // The actions are buttons that hand the right value back.
    assert_eq!(click(&mut h, "End PID 812…"), [Action::AskEnd(0)]);
    assert_eq!(click(&mut h, "Copy PID 812"), [Action::CopyPid(812)]);
    assert_eq!(
        click(&mut h, "Use port 8081"),
        [Action::ApplyFix(Fix::UseFreePort { port: 8081 })]
    );
    assert_eq!(click(&mut h, "Copy report"), [Action::CopyReport]);
    // The catalog's general text waits behind its own header, closed.
    assert!(has(&h, "About WSAEADDRINUSE"));
    assert!(
        c.explanation.unwrap().causes.is_empty(),
        "a proven cause, so no general causes"
    );
}

#[test]
fn a_socket_bound_to_a_device_shows_the_device_and_the_rule() {
    let t = Target::tcp("127.0.0.1", 8080);
    let mut bound = owner("0.0.0.0:8080", SockState::Listen, Some(812), "nginx");
    bound.device = Some(port_inspector::owners::Device {
        index: 3,
        name: Some("vrf-blue".into()),
    });
    let ev = Evidence {
        owners: vec![bound],
        ..Evidence::default()
    };
    let c = check::assemble(
        probe(&t, Some("127.0.0.1:8080"), Some(errno(98)), StepKind::Bind),
        facts(),
        ev,
    );
    let h = view(c.clone());
    // The window's socket line and its sentences are the CLI's: `0.0.0.0%vrf-blue:8080`, and
    // the rule that decided.
    assert!(has(&h, "0.0.0.0%vrf-blue:8080"), "{:?}", labels(&h));
    assert!(
        has(
            &h,
            "sockets bound to different devices may share a port, but one bound to no device conflicts with all of them"
        ),
        "{:?}",
        labels(&h)
    );
    assert!(
        has(&h, "bound to the wildcard address on device vrf-blue only")
            && !has(&h, "Wildcard conflict"),
        "not a wildcard covering 127.0.0.1: {:?}",
        labels(&h)
    );
    shows_the_diagnosis(&h, &c);
}

#[test]
fn time_wait_offers_the_retry_that_was_proven() {
    let t = Target::tcp("127.0.0.1", 8080);
    let ev = Evidence {
        owners: vec![owner("127.0.0.1:8080", SockState::TimeWait, None, "")],
        reuse_retry: Some(true),
        ..Evidence::default()
    };
    let c = check::assemble(
        probe(&t, Some("127.0.0.1:8080"), Some(errno(98)), StepKind::Bind),
        facts(),
        ev,
    );
    let mut h = view(c.clone());
    shows_the_diagnosis(&h, &c);
    assert!(has(&h, "TIME_WAIT"), "{:?}", labels(&h));
    assert!(
        h.query_by_role_and_label(Role::Button, "End PID").is_none(),
        "no process to end"
    );
    assert_eq!(
        click(&mut h, "Retry with SO_REUSEADDR"),
        [Action::ApplyFix(Fix::SetReuseAddr)]
    );
}

#[test]
fn another_users_socket_offers_the_elevated_relaunch_only() {
    let t = Target::tcp("127.0.0.1", 8080);
    let mut hidden = owner("127.0.0.1:8080", SockState::Listen, None, "");
    hidden.note = Some(OwnerNote::OtherUser);
    let ev = Evidence {
        owners: vec![hidden],
        hidden: 1,
        ..Evidence::default()
    };
    let unprivileged = Facts {
        uid: Some(1000),
        elevated: false,
        ..facts()
    };
    let c = check::assemble(
        probe(&t, Some("127.0.0.1:8080"), Some(errno(98)), StepKind::Bind),
        unprivileged,
        ev,
    );
    // Where pkexec is missing (today's trial, H4: as nobody, neither pkexec nor sudo), no
    // button that can only fail: what is needed, as the Listening now tab says it.
    let why = "pkexec is not installed (Debian/Ubuntu: apt install pkexec)";
    let h = view_where(c.clone(), Some(why));
    assert!(
        h.query_by_role_and_label(Role::Button, "Relaunch as administrator")
            .is_none(),
        "no relaunch without a way to elevate"
    );
    assert!(has(&h, why), "{:?}", labels(&h));
    let mut h = view(c.clone());
    shows_the_diagnosis(&h, &c);
    assert!(has(&h, "another user's process"), "{:?}", labels(&h));
    assert_eq!(
        click(&mut h, "Relaunch as administrator"),
        [Action::ApplyFix(Fix::RunElevated)]
    );
}

#[test]
fn a_privileged_port_names_the_rule_and_offers_no_process_to_end() {
    let t = Target::tcp("127.0.0.1", 80);
    let user = Facts {
        uid: Some(1000),
        elevated: false,
        cap_net_bind_service: Some(false),
        ..facts()
    };
    let c = check::assemble(
        probe(&t, Some("127.0.0.1:80"), Some(errno(13)), StepKind::Bind),
        user,
        Evidence::default(),
    );
    let h = view(c.clone());
    assert!(has(&h, "WSAEACCES 10013"), "{:?}", labels(&h));
    assert!(has(&h, "a privileged port"), "{:?}", labels(&h));
    shows_the_diagnosis(&h, &c);
    assert!(h.query_by_role_and_label(Role::Button, "End PID").is_none());
}

#[test]
fn an_address_not_here_lists_the_ones_that_are() {
    let t = Target::tcp("192.0.2.7", 8080);
    let c = failed(&t, Some("192.0.2.7:8080"), errno(99), StepKind::Bind);
    let h = view(c.clone());
    assert!(has(&h, "WSAEADDRNOTAVAIL 10049"), "{:?}", labels(&h));
    assert!(has(&h, "192.0.2.7:8080 is not an address of this machine"));
    assert!(
        has(&h, "192.168.1.20"),
        "the addresses that are: {:?}",
        labels(&h)
    );
    shows_the_diagnosis(&h, &c);
}

#[test]
fn an_unknown_host_is_not_bindable_with_the_resolver_code() {
    let t = Target::tcp("nope.invalid", 8080);
    // Linux's EAI_NONAME, as the fixture machine numbers it, whichever OS runs the test.
    let eai = OsError::resolver_for_os(Os::Linux, -2, "Name or service not known".into());
    let c = failed(&t, None, eai, StepKind::Resolve);
    let h = view(c.clone());
    assert!(has(&h, "Not bindable"));
    assert!(has(&h, "WSAHOST_NOT_FOUND 11001"), "{:?}", labels(&h));
    assert!(
        has(&h, "Host name 'nope.invalid' not found"),
        "{:?}",
        labels(&h)
    );
    shows_the_diagnosis(&h, &c);
}

/// Each resolver code in the window in its own words: a temporary failure or a lasting one
/// never reads "not found", and a name with no address says so; the same codes from each OS.
#[test]
fn each_resolver_failure_reads_for_what_it_proves() {
    let t = Target::tcp("web.example", 8080);
    for (os, code, wsa, title) in [
        (
            Os::Linux,
            -3,
            "WSATRY_AGAIN 11002",
            "could not be looked up now: the resolver failed temporarily",
        ),
        (
            Os::Windows,
            11002,
            "WSATRY_AGAIN 11002",
            "could not be looked up now: the resolver failed temporarily",
        ),
        (
            Os::Macos,
            4,
            "WSANO_RECOVERY 11003",
            "could not be looked up: the resolver failed",
        ),
        (Os::Linux, -5, "WSANO_DATA 11004", "has no address"),
        (Os::Macos, 7, "WSANO_DATA 11004", "has no address"),
        (Os::Windows, 11004, "WSANO_DATA 11004", "has no address"),
        (
            Os::Linux,
            -8,
            "WSATYPE_NOT_FOUND 10109",
            "The resolver refused port 8080 for TCP",
        ),
        (
            Os::Windows,
            11001,
            "WSAHOST_NOT_FOUND 11001",
            "Host name 'web.example' not found",
        ),
    ] {
        let eai = OsError::resolver_for_os(os, code, String::new());
        let c = failed(&t, None, eai, StepKind::Resolve);
        let h = view(c.clone());
        assert!(has(&h, wsa), "{os:?} {code}: {:?}", labels(&h));
        assert!(has(&h, title), "{os:?} {code}: {:?}", labels(&h));
        if !title.contains("not found") {
            assert!(!has(&h, "not found"), "{os:?} {code}: {:?}", labels(&h));
        }
        shows_the_diagnosis(&h, &c);
    }
}

#[test]
fn cancelled_and_timed_out_checks_are_unknown_never_not_bindable() {
    let t = Target::tcp("slow.example", 8080);
    for (error, says) in [
        (OsError::cancelled(), "the check was cancelled"),
        (
            OsError::timed_out("the lookup"),
            "the resolver did not answer for 'slow.example' in time",
        ),
    ] {
        let c = failed(&t, None, error, StepKind::Resolve);
        assert_eq!(c.report.verdict, Verdict::Unknown);
        let h = view(c.clone());
        assert!(has(&h, "Unknown"), "{:?}", labels(&h));
        assert!(has(&h, says), "{says:?}: {:?}", labels(&h));
        assert!(!has(&h, "Not bindable"), "{:?}", labels(&h));
        assert!(
            !has(&h, "What to do"),
            "nothing was proven, so nothing to do: {:?}",
            labels(&h)
        );
    }
}

#[test]
fn a_hostile_process_name_is_shown_escaped_everywhere() {
    let t = Target::tcp("127.0.0.1", 8080);
    let mut evil = owner(
        "127.0.0.1:8080",
        SockState::Listen,
        Some(666),
        "\x1b]0;pwned\x07",
    );
    evil.cmdline = Some(Arc::from("evil\n\u{202e}FAKE line"));
    let c = check::assemble(
        probe(&t, Some("127.0.0.1:8080"), Some(errno(98)), StepKind::Bind),
        facts(),
        Evidence {
            owners: vec![evil],
            ..Evidence::default()
        },
    );
    let h = view(c);
    assert!(has(&h, "\\x1b]0;pwned\\x07"), "{:?}", labels(&h));
    for node in h.query_all_by_role(Role::Label) {
        let text = node.accesskit_node().value().unwrap_or_default();
        assert!(
            !text.chars().any(|ch| ch.is_control() || ch == '\u{202e}'),
            "a raw control character reached the window: {text:?}"
        );
    }
}

#[test]
fn a_skipped_step_says_skipped_and_why_never_ok() {
    // SO_EXCLUSIVEADDRUSE off Windows: the probe records the setsockopt it did not make as
    // skipped (it stops nothing). The window said "ok" for it, as the text answer said ✓.
    let mut t = Target::tcp("127.0.0.1", 8443);
    t.options.exclusive_address_use = true;
    let mut report = probe(&t, Some("127.0.0.1:8443"), None, StepKind::Bind);
    let ok_before = report.attempts[0].steps.len();
    report.attempts[0].steps.insert(
        2,
        Step::skipped(
            StepKind::Setsockopt,
            port_inspector::probe::SkipReason::WindowsOnly,
            "SO_EXCLUSIVEADDRUSE skipped: not available on this OS (Windows only)".into(),
        ),
    );
    let c = check::assemble(report, facts(), Evidence::default());
    let h = view(c);
    assert_eq!(
        h.query_all_by_label("skipped (Windows only)").count(),
        1,
        "the skipped step says so: {:?}",
        labels(&h)
    );
    // The resolve step is a row too (its own attempt's copy is not drawn again).
    assert_eq!(
        h.query_all_by_label("ok").count(),
        ok_before,
        "ok only for the calls made: {:?}",
        labels(&h)
    );
}
