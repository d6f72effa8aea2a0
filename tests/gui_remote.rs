//! The window against another machine: the machine picker, a check answered over real ssh by a
//! sshd inside a network namespace the test creates (`common::lab`), the answer and the title
//! naming the machine, and a machine that gives no answer said inline in the window's words.
//! The window runs here (this machine); its ssh client runs in the lab's "here" namespace
//! through the window's own "ssh command" setting, with the lab's config, key and known_hosts.
#![cfg(target_os = "linux")] // network namespaces, sshd: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use common::lab::{Lab, THERE, pi};
use common::ui::{has, set_text, wait_within};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use port_inspector::gui::app::{App, Deps, Inputs, InterfaceChoice};

/// Steps frames until `done`: what goes over ssh to the lab's debug build gets a minute (a
/// loaded machine took over 15 s).
fn wait_until(h: &mut Harness<'_, App>, what: &str, done: impl FnMut(&Harness<'_, App>) -> bool) {
    wait_within(h, what, std::time::Duration::from_mins(1), done);
}

/// Steps frames until a node whose label contains `text` appears (over ssh: a minute).
fn wait_for(h: &mut Harness<'_, App>, text: &str) {
    wait_until(h, &format!("'{text}' to appear"), |h| has(h, text));
}

/// The window on `host:port`, its ssh command running ssh in the lab's "here" namespace with
/// the lab's config (which names "there" as the Host `there-lab`).
fn window(lab: &Lab, host: &str, port: u16) -> Harness<'static, App> {
    let config = lab.dir.join("ssh_config");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("Host there-lab\n  HostName {THERE}\n\n{text}"),
    )
    .unwrap();
    let deps = Deps {
        inputs: Inputs {
            interface: InterfaceChoice::Custom,
            custom_host: host.to_owned(),
            port_text: port.to_string(),
            ..Inputs::default()
        },
        ..Deps::default()
    };
    let ssh = format!("ip netns exec {} ssh -F {}", lab.here, config.display());
    Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_eframe(|cc| {
            let mut app = App::new(cc, deps);
            app.machines.ssh_command = ssh;
            app.machines.reload_config();
            app
        })
}

/// Every window title the frames so far asked for (the last frame's commands).
fn titles(h: &Harness<'_, App>) -> Vec<String> {
    h.output()
        .viewport_output
        .values()
        .flat_map(|v| v.commands.iter())
        .filter_map(|c| match c {
            egui::ViewportCommand::Title(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// Picks `name` in the machine picker; returns the window titles the next frames asked for.
fn pick(h: &mut Harness<'_, App>, name: &str) -> Vec<String> {
    h.get_by_label("Machine").click();
    h.run_steps(2);
    h.get_by_label(name).click();
    let mut seen = Vec::new();
    for _ in 0..4 {
        h.step();
        seen.extend(titles(h));
    }
    seen
}

/// Adds a machine by hand through the "Machines…" editor.
fn add_machine(h: &mut Harness<'_, App>, address: &str, program: &str) {
    h.get_by_label("Machines…").click();
    h.run_steps(2);
    set_text(h, "Add a machine", address);
    if !program.is_empty() {
        set_text(h, "Program there", program);
    }
    h.get_by_label("Add machine").click();
    h.run_steps(2);
    h.get_by_label("Machines…").click();
    h.run_steps(2);
}

/// Presses Test bind and waits for the check to end.
fn test_bind(h: &mut Harness<'_, App>) {
    let before = h.state().check.history.len();
    let failed_before = h.state().status.clone();
    h.get_by_label("Test bind").click();
    wait_until(h, "the check to end", |h| {
        h.state().check.running.is_none()
            && (h.state().check.history.len() > before || h.state().status != failed_before)
    });
    h.run_steps(2);
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn the_picked_machine_answers_and_the_answer_and_title_name_it() {
    let lab = Lab::new("g");
    // A port free on a private loopback address here, held (on every address) only there.
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let (holder, _) = lab.hold_there_at(&format!("0.0.0.0:{port}"));
    let mut h = window(&lab, &ip.to_string(), port);
    h.run();

    // This machine: free.
    test_bind(&mut h);
    let here = h.state().check.shown_check().unwrap();
    assert!(here.bindable(), "free here: {:?}", here.report.verdict);
    assert_eq!(here.machine, None, "answered here");
    assert!(
        has(&h, "on this machine, checked at"),
        "the answer says where"
    );

    // The ssh config's Host is offered; it gets its program path by hand.
    h.get_by_label("Machine").click();
    h.run_steps(2);
    assert!(has(&h, "there-lab"), "the ssh config's host is offered");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    add_machine(&mut h, "there-lab", pi());
    let asked = pick(&mut h, "there-lab");
    assert!(
        asked.iter().any(|t| t == "Port Inspector — on there-lab"),
        "the window's title names the machine: {asked:?}"
    );
    assert!(
        has(&h, "Answers come from there-lab over ssh."),
        "said by the picker"
    );

    // The other machine: held, by the holder there, whose PID is its own.
    test_bind(&mut h);
    let status = h.state().status.clone();
    let there = h
        .state()
        .check
        .shown_check()
        .unwrap_or_else(|| panic!("an answer from there: {status:?}"));
    assert!(!there.bindable(), "held there: {:?}", there.report.verdict);
    assert_eq!(there.machine.as_deref(), Some("there-lab"), "marked");
    assert!(
        there.owners.iter().any(|o| o.pid == Some(holder.id())),
        "the holder there is named: {:?}",
        there.owners
    );
    assert!(
        has(&h, "on there-lab (over ssh), checked at"),
        "the answer says which machine"
    );
    assert!(has(&h, &holder.id().to_string()), "its PID is shown");
    assert!(has(&h, "Not bindable"), "the verdict banner");

    // Picking this machine again answers here again: free.
    let asked = pick(&mut h, "This machine");
    assert!(
        asked.iter().any(|t| t == "Port Inspector"),
        "the title is this machine's again: {asked:?}"
    );
    test_bind(&mut h);
    assert!(
        h.state().check.shown_check().unwrap().bindable(),
        "free here again"
    );
    drop(holder);
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn a_machine_without_an_answer_is_said_inline_in_the_windows_words() {
    let lab = Lab::new("n");
    let port = common::free_tcp_port();
    let mut h = window(&lab, "127.0.0.1", port);
    h.run();

    // Unreachable: a name that never resolves.
    add_machine(&mut h, "nowhere.invalid", "");
    pick(&mut h, "nowhere.invalid");
    test_bind(&mut h);
    assert!(h.state().check.shown_check().is_none(), "no answer shown");
    assert!(
        has(&h, "Cannot reach nowhere.invalid"),
        "{:?}",
        h.state().status
    );

    // Reachable, but no port-inspector on its PATH: the window names its own control.
    add_machine(&mut h, THERE, "");
    pick(&mut h, THERE);
    test_bind(&mut h);
    let status = h.state().status.clone().unwrap_or_default();
    assert!(
        status.starts_with(&format!("port-inspector is not installed on {THERE}"))
            && status.contains("the program path set for it in Machines")
            && !status.contains("--remote-path"),
        "{status}"
    );

    // A changed host key: refused, never accepted.
    lab.trust(&lab.dir.join("other_key.pub"));
    add_machine(&mut h, THERE, pi());
    test_bind(&mut h);
    assert!(h.state().check.shown_check().is_none(), "no answer shown");
    let status = h.state().status.clone().unwrap_or_default();
    assert!(
        status.starts_with(&format!("The host key of {THERE} has CHANGED"))
            && status.contains("refused"),
        "{status}"
    );
}

/// Waits until the Listening now tab shows a table of `machine` (`None`: this one).
/// With the End plan of `holder` (a process on there-lab holding `port`) asked for: the plan is
/// there-lab's and names the holder's PID, its confirmation ends it there, and the report is the
/// remote's (its re-check bound the port there).
fn end_there(h: &mut Harness<'_, App>, port: u16, holder: &mut std::process::Child) {
    wait_for(h, &format!("holding port {port} on there-lab?"));
    assert!(
        has(h, &holder.id().to_string()),
        "the plan names the PID there"
    );
    h.get_by_label("End 1 process").click();
    h.run_steps(2);
    wait_for(h, &format!("Port {port} is free now"));
    let status = h.state().status.clone().unwrap_or_default();
    assert!(
        status.starts_with("On there-lab (over ssh):"),
        "the report names the machine: {status}"
    );
    let start = std::time::Instant::now();
    while holder.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < common::PATIENCE, "the holder there ended");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn wait_for_table(h: &mut Harness<'_, App>, machine: Option<&str>) {
    wait_until(h, &format!("the socket table of {machine:?}"), |h| {
        let t = &h.state().listening_now;
        t.last.is_some() && t.machine.as_deref() == machine && t.error.is_none()
    });
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn listening_now_shows_the_picked_machine_and_ends_a_row_there() {
    let lab = Lab::new("l");
    let (mut holder, port) = lab.hold_there();
    let pid = holder.id();
    let holds = |rows: &[port_inspector::owners::Owner]| {
        rows.iter()
            .any(|o| o.pid == Some(pid) || o.pids.contains(&pid))
    };
    let mut h = window(&lab, "127.0.0.1", port);
    h.run();
    h.get_by_label("Listening now").click();
    h.run_steps(2);

    // This machine's table: the holder there is not in it.
    wait_for_table(&mut h, None);
    assert!(
        !holds(&h.state().listening_now.rows),
        "the holder in the other namespace is not this machine's"
    );
    assert!(has(&h, "Listening now"), "the heading");
    assert!(
        !has(&h, "This tab runs on this machine"),
        "no notice: the tab is this machine's"
    );

    // The other machine's table: its own list, over ssh.
    add_machine(&mut h, "there-lab", pi());
    pick(&mut h, "there-lab");
    wait_for_table(&mut h, Some("there-lab"));
    assert!(
        holds(&h.state().listening_now.rows),
        "the holder there is in the table of there-lab: {:?}",
        h.state().listening_now.rows
    );
    assert!(
        has(&h, "Listening now on there-lab"),
        "the heading names the machine"
    );
    assert!(
        has(&h, "Read from there-lab over ssh"),
        "the slower refresh is said"
    );
    assert!(
        !has(&h, "This tab runs on this machine"),
        "no notice: the tab runs there"
    );

    // End from its row: the plan is the remote's own, carried out and proven there.
    let addr = format!("0.0.0.0:{port}");
    set_text(&mut h, "Filter", &port.to_string());
    wait_for(&mut h, &addr);
    assert_eq!(
        h.query_all_by_label("Machine").count(),
        2,
        "the picker's label and the table's Machine column"
    );
    common::ui::ask_end_of_row(&mut h, &addr);
    end_there(&mut h, port, &mut holder);
    // The table there is read again at once: the row is gone.
    wait_for(&mut h, "LISTEN (gone)");
    assert!(
        !holds(&h.state().listening_now.rows),
        "gone from the table of there-lab"
    );
}

/// An answer from another machine names that machine's holder: its End button plans, ends and
/// proves there, and a process holding the same port here is never looked for or touched
/// (before, the plan was made here, where that PID holds nothing).
#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn the_end_button_of_another_machine_s_answer_ends_the_holder_there() {
    let lab = Lab::new("e");
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let (mut there, _) = lab.hold_there_at(&format!("0.0.0.0:{port}"));
    let (mut here, _) = common::holder::start(&["tcp", &format!("{ip}:{port}")]);
    let mut h = window(&lab, "0.0.0.0", port);
    h.run();
    add_machine(&mut h, "there-lab", pi());
    pick(&mut h, "there-lab");
    test_bind(&mut h);
    let answer = h.state().check.shown_check().unwrap();
    assert_eq!(
        answer.machine.as_deref(),
        Some("there-lab"),
        "answered there"
    );
    let pid = there.id();
    h.get_by_label(&format!("End PID {pid}…")).click();
    h.run_steps(2);
    end_there(&mut h, port, &mut there);
    assert!(
        here.child.try_wait().unwrap().is_none(),
        "the holder here runs on"
    );
    let _ = here.child.kill();
}

/// Starts a scan of `range` on `address` from the Scan tab and waits for its result.
fn scan(h: &mut Harness<'_, App>, range: &str, address: &str) {
    h.get_by_label("Scan a range").click();
    h.run_steps(2);
    set_text(h, "Port range", range);
    set_text(h, "Address", address);
    let before = h.state().scan.state.report.as_ref().map(|r| r.elapsed_us);
    h.get_by_label("Start scan").click();
    h.run_steps(2);
    wait_until(h, "the scan to end", |h| {
        let s = &h.state().scan.state;
        s.running.is_none()
            && (s.error.is_some() || s.report.as_ref().map(|r| r.elapsed_us) != before)
    });
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn the_scan_runs_on_the_picked_machine() {
    let lab = Lab::new("s");
    // A port free on a private loopback address here, held (on every address) only there.
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let (holder, _) = lab.hold_there_at(&format!("0.0.0.0:{port}"));
    let mut h = window(&lab, &ip.to_string(), port);
    h.run();
    let range = format!("{port}-{port}");

    // This machine: free.
    scan(&mut h, &range, &ip.to_string());
    let s = &h.state().scan.state;
    assert!(s.error.is_none(), "{:?}", s.error);
    let here = s.report.as_ref().unwrap();
    assert!(
        here.busy.is_empty() && here.free_count == 1,
        "free here: {:?}",
        here.busy
    );
    assert!(!has(&h, "(over ssh)"), "this machine's result");

    // The other machine: held by the holder there, named with its PID there.
    add_machine(&mut h, "there-lab", pi());
    pick(&mut h, "there-lab");
    assert!(
        !has(&h, "This tab runs on this machine"),
        "no notice: the scan runs there"
    );
    scan(&mut h, &range, &ip.to_string());
    let s = &h.state().scan.state;
    assert!(s.error.is_none(), "{:?}", s.error);
    assert_eq!(s.report_on.as_deref(), Some("there-lab"), "marked");
    let there = s.report.as_ref().unwrap();
    assert_eq!(there.busy.len(), 1, "held there: {there:?}");
    assert!(
        there.busy[0]
            .owners
            .iter()
            .any(|o| o.pid == Some(holder.id())),
        "the holder there is named: {:?}",
        there.busy[0].owners
    );
    assert!(has(&h, "On there-lab (over ssh):"), "the result names it");

    // An unreachable machine: said in the tab, in the window's words.
    add_machine(&mut h, "nowhere.invalid", "");
    pick(&mut h, "nowhere.invalid");
    scan(&mut h, &range, &ip.to_string());
    let error = h.state().scan.state.error.clone().unwrap_or_default();
    assert!(error.starts_with("Cannot reach nowhere.invalid"), "{error}");
    assert!(has(&h, &error), "shown in the tab");
    drop(holder);
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn the_fleet_view_checks_one_port_on_several_machines() {
    let lab = Lab::new("f");
    // A port free on a private loopback address here, held (on every address) only there.
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let (holder, _) = lab.hold_there_at(&format!("0.0.0.0:{port}"));
    let mut h = window(&lab, &ip.to_string(), port);
    h.run();
    add_machine(&mut h, "there-lab", pi());
    add_machine(&mut h, "nowhere.invalid", "");

    h.get_by_label("On several machines").click();
    h.run_steps(2);
    for m in ["This machine", "there-lab", "nowhere.invalid"] {
        h.get_by_label(m).click();
        h.run_steps(1);
    }
    h.get_by_label("Check on 3 machines").click();
    h.run_steps(2);
    wait_until(&mut h, "every machine's row", |h| {
        let f = &h.state().fleet;
        f.running.is_none() && f.rows.len() == 3 && f.rows.iter().all(|r| r.answer.is_some())
    });
    let rows = h.state().fleet.rows.clone();
    let row = |name: Option<&str>| {
        rows.iter()
            .find(|r| r.machine.as_deref() == name)
            .and_then(|r| r.answer.clone())
            .unwrap()
    };
    let here = row(None).unwrap();
    assert!(here.bindable(), "free here: {:?}", here.report.verdict);
    let there = row(Some("there-lab")).unwrap();
    assert!(!there.bindable(), "held there");
    assert!(
        there.owners.iter().any(|o| o.pid == Some(holder.id())),
        "the holder there: {:?}",
        there.owners
    );
    let nowhere = row(Some("nowhere.invalid")).unwrap_err();
    assert!(
        nowhere.starts_with("Cannot reach nowhere.invalid"),
        "{nowhere}"
    );
    assert!(has(&h, &nowhere), "its reason is its row");
    assert!(has(&h, "No answer"), "said in the row");

    // A row opens its full answer in the Check tab, marked with its machine.
    h.get_by_label("Open the answer of there-lab").click();
    h.run_steps(2);
    let shown = h.state().check.shown_check().unwrap();
    assert_eq!(shown.machine.as_deref(), Some("there-lab"), "that answer");
    assert!(
        has(&h, "on there-lab (over ssh), checked at"),
        "shown with its machine"
    );
    drop(holder);
}
