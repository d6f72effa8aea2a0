//! The Listening now tab through egui_kittest: it lists a real holder with its PID, refreshes on
//! its own (on a worker thread), marks a socket that appeared as new, and opens a row's check.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use common::ui::{has, set_text, wait_for};

use std::net::TcpListener;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use port_inspector::gui::app::{App, Inputs, Tab};

fn harness() -> Harness<'static, App> {
    let ctx = egui::Context::default();
    let app = App::new(&ctx, Inputs::default());
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app)
}

/// The window on its Listening now tab, filtered to `ip` (the test's own loopback address).
fn listening_on(ip: std::net::Ipv4Addr) -> Harness<'static, App> {
    let mut h = harness();
    h.run();
    h.get_by_label("Listening now").click();
    h.run_steps(2);
    set_text(&mut h, "Filter", &ip.to_string());
    h
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine 8 reports PID 0 for every socket: owner PIDs are tested on Linux and on fixtures"
)]
fn the_tab_lists_a_holder_and_marks_a_new_one() {
    let ip = common::private_loopback();
    let first = TcpListener::bind((ip, 0)).unwrap();
    let first_addr = first.local_addr().unwrap().to_string();
    let mut h = listening_on(ip);
    wait_for(&mut h, &first_addr);
    assert!(has(&h, &std::process::id().to_string()), "the owner's PID");
    assert!(!has(&h, "(new)"), "nothing is new on the first read");
    // A socket that appears is marked new at the next refresh, without any click.
    let second = TcpListener::bind((ip, 0)).unwrap();
    let second_addr = second.local_addr().unwrap().to_string();
    wait_for(&mut h, &second_addr);
    assert!(has(&h, "LISTEN (new)"), "the new socket is marked");
    // A socket that closes stays a moment, marked gone, then leaves.
    drop(second);
    wait_for(&mut h, "LISTEN (gone)");
    assert!(has(&h, &second_addr), "the vanished row is still shown");
    // A row opens its check.
    // As a user does: the pointer comes to the button, then clicks.
    h.get_by_label(&format!("Check TCP {first_addr} in the Check tab"))
        .hover();
    h.run_steps(1);
    h.get_by_label(&format!("Check TCP {first_addr} in the Check tab"))
        .click();
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Check, "switched to the check");
    wait_for(&mut h, "WSAEADDRINUSE 10048");
    drop(first);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine 8 reports PID 0 for every socket: owner PIDs are tested on Linux and on fixtures"
)]
fn sockets_group_by_process_and_a_second_click_reverses_the_sort() {
    let ip = common::private_loopback();
    // Two sockets of this process and one of a child: two groups.
    let a = TcpListener::bind((ip, 0)).unwrap();
    let b = TcpListener::bind((ip, 0)).unwrap();
    let child = common::spawn_holder("tcp", &ip.to_string());
    let mut h = listening_on(ip);
    wait_for(&mut h, &format!("{ip}:{}", child.port));
    // Ports in order, smallest first; the same click again lists them largest first.
    let mut ports = [
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
        child.port,
    ];
    ports.sort_unstable();
    let shown = |h: &Harness<'_, App>| -> Vec<u16> {
        h.query_all_by_label_contains(&format!("{ip}:"))
            .filter_map(|n| {
                let text = n.accesskit_node().value().or(n.accesskit_node().label())?;
                text.strip_prefix(&format!("{ip}:"))?.parse().ok()
            })
            .collect()
    };
    assert_eq!(shown(&h), ports, "sorted by port");
    h.get_by_label_contains("Local").click();
    h.run_steps(2);
    let mut down = ports;
    down.reverse();
    assert_eq!(shown(&h), down, "reversed");
    assert!(
        has(&h, "Local, sorted largest first"),
        "the header shows the direction"
    );
    // Grouped: a line per process, naming it, with its count of sockets.
    h.get_by_label("Group by process").click();
    h.run_steps(2);
    let me = format!("(PID {}) · 2 sockets", std::process::id());
    let them = format!("python3 (PID {}) · 1 socket", child.child.id());
    assert!(has(&h, &me), "this process's group: {me}");
    assert!(has(&h, &them), "the child's group: {them}");
    drop((a, b));
}
