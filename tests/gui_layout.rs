//! The window at its smallest supported size (800×600) never clips a control: with a long host
//! name in History and a holder whose command line runs to hundreds of characters, every
//! control of every tab lies inside the window, or inside a scroll area that can bring it in.
#![cfg(target_os = "linux")] // A holder child whose long command line is read from /proc.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use common::ui::{set_text, wait_for, wait_until};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use port_inspector::gui::app::{App, Deps, Inputs, InterfaceChoice};
use port_inspector::gui::listening::Column;

const W: f32 = 800.0;
const H: f32 = 600.0;

/// The controls a user reaches for.
fn is_control(role: egui::accesskit::Role) -> bool {
    use egui::accesskit::Role;
    matches!(
        role,
        Role::Button
            | Role::CheckBox
            | Role::RadioButton
            | Role::TextInput
            | Role::ComboBox
            | Role::Link
            | Role::Slider
            | Role::SpinButton
    )
}

/// The controls lying outside the window: (node id, description).
fn outside(h: &Harness<'_, App>) -> Vec<(egui::accesskit::NodeId, String)> {
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(W, H)).expand(0.5);
    h.root()
        .children_recursive()
        .filter(|n| {
            let ak = n.accesskit_node();
            is_control(ak.role()) && ak.bounding_box().is_some() && !window.contains_rect(n.rect())
        })
        .map(|n| {
            let ak = n.accesskit_node();
            (
                ak.locate().0,
                format!(
                    "{:?} '{}' at {:?}",
                    ak.role(),
                    ak.label().unwrap_or_default(),
                    n.rect()
                ),
            )
        })
        .collect()
}

/// Every control outside the window that no scroll area can bring in: each is asked to scroll
/// itself into view (what a screen reader or a keyboard user does) and must then lie inside.
fn clipped(h: &mut Harness<'_, App>) -> Vec<String> {
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(W, H)).expand(0.5);
    let mut bad = Vec::new();
    for (id, what) in outside(h) {
        let find = |h: &Harness<'_, App>| {
            h.root()
                .children_recursive()
                .find(|n| n.accesskit_node().locate().0 == id)
                .map(|n| (n.rect(), ()))
        };
        if let Some(node) = h
            .root()
            .children_recursive()
            .find(|n| n.accesskit_node().locate().0 == id)
        {
            node.scroll_to_me();
        }
        h.run_steps(3);
        let inside = find(h).is_some_and(|(r, ())| window.contains_rect(r));
        if !inside {
            bad.push(what);
        }
    }
    bad
}

#[test]
fn nothing_is_clipped_at_800_by_600_with_long_names() {
    // A holder whose command line is hundreds of characters long (a word it does not read).
    let long = "x".repeat(400);
    let ip = common::private_loopback();
    let (holder, _) = common::holder::start(&["tcp", &format!("{ip}:0"), "--", &long]);
    let port = holder.port.to_string();
    // Names under .invalid fail at once (EAI_NONAME), as they would from a resolver that
    // answers, without waiting on this machine's DNS; everything else is the system's resolver.
    let system = port_inspector::probe::system_resolver();
    let resolver: port_inspector::probe::Resolver = std::sync::Arc::new(move |req| {
        if req.host.as_deref().is_some_and(|h| h.ends_with(".invalid")) {
            Err(port_inspector::oserror::OsError::from_eai(
                -2,
                "Name or service not known".into(),
            ))
        } else {
            system(req)
        }
    });
    let deps = Deps {
        inputs: Inputs {
            interface: InterfaceChoice::Custom,
            custom_host: ip.to_string(),
            port_text: port.clone(),
            ..Inputs::default()
        },
        resolver,
        ..Deps::default()
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(W, H))
        .build_eframe(|cc| App::new(cc, deps));
    // A user who widened Local (a saved width) pushes Command past the right edge: it must still
    // be reachable by scrolling sideways.
    h.state_mut().listening_now.widths = vec![(Column::Local, 420.0)];
    h.run();
    // A long host name in History (it fails to resolve; the entry stays).
    h.state_mut().check.inputs.custom_host = format!(
        "{}example.invalid",
        "a-very-long-host-name-of-a-fleet.".repeat(5)
    );
    h.get_by_label("Test bind").click();
    h.run_steps(2);
    wait_until(&mut h, "the long host's check", |h| {
        h.state().check.history.len() == 1
    });
    h.state_mut().check.inputs.custom_host = ip.to_string();
    h.get_by_label("Test bind").click();
    h.run_steps(2);
    wait_for(&mut h, "WSAEADDRINUSE 10048");
    h.run_steps(3);
    let mut problems = Vec::new();
    for tab in [
        "Check a port",
        "Scan a range",
        "Support kit",
        "Listening now",
    ] {
        h.get_by_label(tab).click();
        h.run_steps(4);
        if tab == "Scan a range" {
            // With a result: the map, the filter and sort row, the Copy buttons and the table.
            let last: u16 = port.parse().unwrap();
            set_text(&mut h, "Port range", &format!("{}-{last}", last - 50));
            h.get_by_label("Start scan").click();
            h.run_steps(2);
            wait_for(&mut h, "tested in");
            h.run_steps(3);
        }
        problems.extend(clipped(&mut h).into_iter().map(|p| format!("{tab}: {p}")));
    }
    assert!(
        problems.is_empty(),
        "clipped at {W}x{H}:\n{}",
        problems.join("\n")
    );
    drop(holder);
}

/// Where the control (not a heading of the same words) labelled `label` is drawn.
fn control_rect(h: &Harness<'_, App>, label: &str) -> egui::Rect {
    h.root()
        .children_recursive()
        .find(|n| {
            n.accesskit_node().label().as_deref() == Some(label)
                && is_control(n.accesskit_node().role())
        })
        .map_or_else(|| panic!("no control labelled {label}"), |n| n.rect())
}

/// The title bar's tabs, the History toggle, the machine row and the theme choice lie inside the
/// window at 800×600 and cover none of each other, on every tab (at that width the theme box used
/// to sit over "Port history" and the History toggle).
#[test]
fn the_title_bar_hides_nothing_at_800_by_600() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(W, H))
        .build_eframe(|cc| App::new(cc, Deps::default()));
    h.run();
    let tabs = [
        "Check a port",
        "Scan a range",
        "Support kit",
        "Listening now",
        "Watches",
        "Port history",
    ];
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(W, H)).expand(0.5);
    for tab in tabs {
        h.get_by_label(tab).click();
        h.run_steps(3);
        let mut bar: Vec<(String, egui::Rect)> = tabs
            .iter()
            .map(|t| ((*t).to_owned(), control_rect(&h, t)))
            .collect();
        if tab == "Check a port" {
            bar.push(("History".into(), control_rect(&h, "History")));
        }
        bar.push(("Machines…".into(), control_rect(&h, "Machines…")));
        let theme = h
            .root()
            .children_recursive()
            .find(|n| {
                n.accesskit_node().role() == egui::accesskit::Role::ComboBox
                    && n.accesskit_node()
                        .value()
                        .is_some_and(|v| ["Dark", "Light", "System theme"].contains(&v.as_str()))
            })
            .map(|n| n.rect());
        bar.push((
            "the theme choice".into(),
            theme.expect("the theme choice is drawn"),
        ));
        for (i, (a, ra)) in bar.iter().enumerate() {
            assert!(
                window.contains_rect(*ra),
                "{tab}: {a} at {ra:?} is outside the window"
            );
            for (b, rb) in &bar[i + 1..] {
                assert!(
                    !ra.shrink(0.5).intersects(rb.shrink(0.5)),
                    "{tab}: {a} at {ra:?} and {b} at {rb:?} cover each other"
                );
            }
        }
    }
}

/// A window at `size` whose start check is of a port held by a holder named
/// `support-desk-long-named-daemon-process-for-window-trial` (today's trial's name), answered.
fn on_a_long_named_holder(
    size: egui::Vec2,
) -> (
    Harness<'static, App>,
    common::Holder,
    common::holder::Named,
    String,
) {
    let name = "support-desk-long-named-daemon-process-for-window-trial";
    let named = common::holder::Named::new(name);
    let ip = common::private_loopback();
    let (holder, _) = common::holder::start_as(named.command(), &["tcp", &format!("{ip}:0")]);
    let addr = format!("{ip}:{}", holder.port);
    let deps = Deps {
        start: Some(port_inspector::target::Target::tcp(
            ip.to_string(),
            holder.port,
        )),
        ..Deps::default()
    };
    let mut h = Harness::builder()
        .with_size(size)
        .build_eframe(|cc| App::new(cc, deps));
    h.run_steps(2);
    wait_for(&mut h, "WSAEADDRINUSE 10048");
    h.run_steps(3);
    (h, holder, named, addr)
}

/// What a click did is said without moving what the user is about to click (today's trial:
/// "Copied: kill 10629" appeared above the holder's row and pushed End PID down ~18 px; the next
/// click, aimed at End PID, landed on a table row).
#[test]
fn a_status_line_moves_no_button() {
    let (mut h, holder, _named, _) = on_a_long_named_holder(egui::vec2(1024.0, 720.0));
    let pid = holder.child.id();
    let end = format!("End PID {pid}…");
    let before = control_rect(&h, &end);
    for (click, says) in [
        (
            format!("Copy \"kill {pid}\""),
            format!("Copied: kill {pid}"),
        ),
        ("Copy report".to_owned(), "Report copied".to_owned()),
    ] {
        h.get_by_label(&click).click();
        h.run_steps(3);
        assert!(common::ui::has(&h, &says), "{click}: {says}");
        let after = control_rect(&h, &end);
        assert!(
            (after.min - before.min).length() < 0.5,
            "{end} stays where it was after {click}: {before:?} then {after:?}"
        );
    }
}

/// At 800×600 a holder with a long name leaves the "Who uses" table's Local and Command and the
/// Steps table's Detail inside the window: the long cells are cut with an ellipsis (whole on
/// hover), not pushed off the right edge (today's trial: Local cut at the edge, Command and
/// Detail reachable only by scrolling sideways).
#[test]
fn the_answer_s_tables_fit_800_by_600_with_a_long_process_name() {
    let (h, _holder, _named, addr) = on_a_long_named_holder(egui::vec2(W, H));
    let cells: Vec<(String, egui::Rect)> = h
        .root()
        .children_recursive()
        .filter_map(|n| {
            let ak = n.accesskit_node();
            let text = ak.value().or_else(|| ak.label())?;
            (text == addr
                || text.starts_with("TCP, ")
                || text.contains("AI_PASSIVE")
                || text.contains(".invalid")
                || text.contains("support-desk-long"))
            .then(|| (text.clone(), n.rect()))
        })
        .collect();
    let local = cells.iter().filter(|(t, _)| *t == addr).count();
    assert!(
        local >= 2,
        "the address in the owners and steps tables: {cells:?}"
    );
    assert!(
        cells.iter().any(|(t, _)| t.contains("AI_PASSIVE")),
        "the steps' detail: {cells:?}"
    );
    let off: Vec<_> = cells.iter().filter(|(_, r)| r.max.x > W + 0.5).collect();
    assert!(off.is_empty(), "past the right edge at {W}x{H}: {off:?}");
}

/// The several-machines results are readable at 1024×720 and say when they were had (today's
/// trial: the unreachable machine's "Cannot reach … Connection refused" was squeezed into the
/// ~45 px Held by column, 14 lines tall, and the table had no time).
#[test]
fn several_machines_read_at_1024_by_720() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 720.0))
        .build_eframe(|cc| App::new(cc, Deps::default()));
    h.run();
    let ip = common::private_loopback();
    let here = port_inspector::check::run(
        &port_inspector::target::Target::tcp(ip.to_string(), common::free_run(ip, 1)),
        &port_inspector::probe::ProbeConfig::default(),
    );
    let why = "Cannot reach 127.0.0.1:1: connect to host 127.0.0.1 port 1: Connection refused";
    h.state_mut().fleet.started(
        1,
        port_inspector::probe::CancelToken::new(),
        &[(None, None), (Some("127.0.0.1:1".into()), None)],
    );
    h.state_mut().fleet.on_row(1, 0, Ok(here));
    h.state_mut().fleet.on_row(1, 1, Err(why.into()));
    h.get_by_label("On several machines").click();
    h.run_steps(3);
    let reason = h.get_by_label_contains("Cannot reach 127.0.0.1:1").rect();
    assert!(
        reason.height() < 40.0 && reason.width() > 300.0,
        "the reason is read along a line, not down a narrow column: {reason:?}"
    );
    let (first, last) = (
        h.state().fleet.rows[0].at.clone().unwrap().1,
        h.state().fleet.rows[1].at.clone().unwrap().1,
    );
    let when = if first == last {
        format!("2 machines, checked at {first} UTC")
    } else {
        format!("2 machines, checked from {first} to {last} UTC")
    };
    assert!(common::ui::has(&h, &when), "the results say when: {when}");
}
