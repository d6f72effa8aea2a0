//! The Scan tab driven through egui_kittest: start, progress, result rows, filter, copy, open a
//! row's check, and cancel. Real sockets on loopback; a slowed scanner (the real one, run in
//! small steps) makes progress and cancel observable.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use common::ui::{has, set_text, wait_for};

use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use port_inspector::gui::app::{App, Deps, InterfaceChoice, ScanInputs, Tab};
use port_inspector::scan::{self, Progress, ScanReport, Scanner};

fn harness(scanner: Scanner) -> Harness<'static, App> {
    harness_on(scanner, "127.0.0.1")
}

/// The window with its Scan tab set to `address` (a test's private loopback address).
fn harness_on(scanner: Scanner, address: &str) -> Harness<'static, App> {
    let deps = Deps {
        scan_inputs: ScanInputs {
            address_text: address.to_owned(),
            ..ScanInputs::default()
        },
        scanner,
        ..Deps::default()
    };
    Harness::builder()
        .with_size(egui::vec2(1100.0, 800.0))
        .build_eframe(|cc| App::new(cc, deps))
}

fn copied_text(h: &Harness<'_, App>) -> Option<String> {
    h.output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            egui::OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
}

#[test]
fn scan_tab_shows_held_ports_filters_copies_and_opens_a_check() {
    let ip = common::private_loopback();
    let p = common::free_run(ip, 100);
    let _t = TcpListener::bind((ip, p + 10)).unwrap();
    let _u = UdpSocket::bind((ip, p + 20)).unwrap();
    let (tcp_row, udp_row) = (
        format!("Check TCP {}", p + 10),
        format!("Check UDP {}", p + 20),
    );
    let free_row = format!("{p}-{}", p + 9);
    let mut h = harness_on(scan::system_scanner(), &ip.to_string());
    h.run();
    h.get_by_label("Scan a range").click();
    h.run();
    set_text(&mut h, "Port range", &format!("{p}-{}", p + 99));
    h.get_by_label("TCP and UDP").click();
    h.run();
    h.get_by_label("Start scan").click();
    h.run_steps(2);
    wait_for(&mut h, &tcp_row);
    assert!(has(&h, &udp_row), "UDP row");
    let me = format!("PID {}", std::process::id());
    assert!(has(&h, &me), "owner named");
    assert!(has(&h, &free_row), "free range row");
    assert!(has(&h, "198 free, 2 not free"), "summary");
    let at = h.state().scan.state.report_at.unwrap();
    let when = port_inspector::record::time::date_time(at, 0);
    assert!(
        has(&h, &format!("Scanned at {} UTC: ", &when[11..])),
        "the result says when it was measured"
    );
    assert!(
        has(&h, "Port map: 198 free, 2 not free"),
        "the map above the table"
    );

    h.get_by_label("Show only in use").click();
    h.run();
    assert!(!has(&h, &free_row), "free rows hidden");
    assert!(has(&h, &tcp_row), "busy row kept");

    h.get_by_label("Copy CSV").click();
    h.step();
    let csv = copied_text(&h).expect("CSV copied");
    assert!(
        csv.starts_with(
            "port,protocol,status,owner,note,address,holder_address,state,user,command,scanned_at\n"
        ),
        "{csv}"
    );
    assert!(csv.contains(&format!("{},TCP,in use", p + 10)), "{csv}");
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.ends_with(&format!(",{when} UTC"))),
        "every row says when the scan ran: {csv}"
    );
    assert!(
        csv.contains(&format!(",{ip},{ip}:{},LISTEN,", p + 10)),
        "the address scanned and the holder's own address and state: {csv}"
    );
    assert!(!csv.contains("free"), "only the visible rows: {csv}");
    h.run();
    h.get_by_label("Copy Markdown").click();
    h.step();
    let md = copied_text(&h).expect("Markdown copied");
    assert!(
        md.starts_with(&format!(
            "**TCP+UDP ports {p}-{} on {ip}, scanned at {when} UTC**\n\n| Port |",
            p + 99
        )),
        "the table says what was scanned, where and when: {md}"
    );
    h.run();

    h.get_by_label(&tcp_row).click();
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Check, "switched to the check");
    // 127.X.Y.Z is in lo's network but not an address the picker lists: it opens as typed.
    assert_eq!(
        (
            &h.state().check.inputs.interface,
            h.state().check.inputs.custom_host.as_str()
        ),
        (&InterfaceChoice::Custom, ip.to_string().as_str()),
        "the scanned address is the check's"
    );
    wait_for(&mut h, "WSAEADDRINUSE 10048");

    // A click on the map's cell of the held UDP port opens that port's check.
    h.get_by_label("Scan a range").click();
    h.run();
    h.get_by_label("Show only in use").click();
    h.run();
    let map = h.get_by_label_contains("Port map:").rect();
    let cell = 11.0_f32;
    let cols = (map.width() / cell).round().max(1.0);
    let i = 20.0_f32; // p + 20, one cell per port on a 100-port range
    let at = map.min + egui::vec2((i % cols) * cell + 5.0, (i / cols).floor() * cell + 5.0);
    h.event(egui::Event::PointerMoved(at));
    h.run();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Check, "the map opened a check");
    assert_eq!(
        (
            h.state().check.inputs.port_text.as_str(),
            h.state().check.inputs.protocol
        ),
        ((p + 20).to_string().as_str(), port_inspector::Protocol::Udp),
        "the clicked cell's port and protocol"
    );
}

/// The real scanner, run 50 ports at a time with a pause, so a test can watch it.
fn slow_scanner() -> Scanner {
    Arc::new(|req, facts, cancel, progress| {
        let started = Instant::now();
        let total = req.total();
        let mut merged: Option<ScanReport> = None;
        let mut start = req.start;
        while start <= req.end && !cancel.is_cancelled() {
            let end = start.saturating_add(49).min(req.end);
            let part = scan::ScanRequest {
                start,
                end,
                ..req.clone()
            };
            let r = scan::scan(&part, facts, cancel, &mut |_| {});
            merged = Some(match merged {
                None => r,
                Some(mut m) => {
                    m.scanned += r.scanned;
                    m.busy.extend(r.busy);
                    m.free.extend(r.free);
                    m.free_count += r.free_count;
                    m
                }
            });
            let done = merged.as_ref().map_or(0, |m| m.scanned);
            progress(Progress {
                done,
                total,
                elapsed: started.elapsed(),
            });
            std::thread::sleep(Duration::from_millis(30));
            start = end.saturating_add(1);
        }
        let mut m = merged.unwrap();
        m.request = req.clone();
        m.cancelled = m.scanned < total;
        m
    })
}

#[test]
fn scan_shows_progress_and_cancels() {
    let ip = common::private_loopback();
    let p = common::free_run(ip, 2000);
    let mut h = harness_on(slow_scanner(), &ip.to_string());
    h.run();
    h.get_by_label("Scan a range").click();
    h.run();
    set_text(&mut h, "Port range", &format!("{p}-{}", p + 1999));
    h.get_by_label("Start scan").click();
    h.run_steps(2);
    wait_for(&mut h, "ports/s");
    assert!(has(&h, "of 2000 ports"), "progress shows the total");
    h.get_by_label("Cancel scan").click();
    h.run_steps(2);
    wait_for(&mut h, "(cancelled)");
    assert!(h.state().scan.state.running.is_none(), "no scan running");
    for port in p..p + 2000 {
        TcpListener::bind((ip, port)).unwrap_or_else(|e| panic!("{port} left bound: {e}"));
    }
}

#[test]
fn scanning_an_address_this_machine_lacks_says_so_once() {
    let mut h = harness(scan::system_scanner());
    h.run();
    h.get_by_label("Scan a range").click();
    h.run();
    set_text(&mut h, "Address", "192.0.2.1");
    h.get_by_label("Start scan").click();
    h.run();
    assert!(
        has(
            &h,
            "Cannot bind 192.0.2.1 on this machine: WSAEADDRNOTAVAIL (10049)"
        ),
        "one clear message"
    );
    assert!(
        h.state().scan.state.running.is_none() && h.state().scan.state.report.is_none(),
        "no scan started"
    );
}

#[test]
fn scan_range_is_validated_inline() {
    let mut h = harness(scan::system_scanner());
    h.run();
    h.get_by_label("Scan a range").click();
    h.run();
    // Each message names what was typed (its exact words are the range parser's).
    for (bad, msg) in [
        ("9000-8000", "'9000-8000'"),
        ("abc", "abc"),
        ("1-70000", "70000"),
    ] {
        set_text(&mut h, "Port range", bad);
        h.run_steps(1);
        assert!(!has(&h, msg), "{bad}: not judged mid-typing");
        h.run_steps(6);
        assert!(has(&h, msg), "{bad}: said after a pause ({msg})");
        assert!(
            egui_kittest::kittest::NodeT::accesskit_node(&h.get_by_label("Start scan"))
                .is_disabled(),
            "{bad}: disabled"
        );
    }
}
