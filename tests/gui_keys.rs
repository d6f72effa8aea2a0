//! The window from the keyboard: focus starts in the form, Tab reaches every control once, and
//! every place Tab stops shows that it has the focus (a ring, a changed look). egui's own widgets
//! show focus by their look; a widget the window paints itself (the scan's port map, a bar of the
//! port's history) shows nothing unless asked, and a keyboard user cannot tell where Tab went.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use common::ui::{set_text, wait_for, wait_until};

use std::net::TcpListener;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use port_inspector::gui::app::{App, Deps, Inputs, InterfaceChoice, ScanInputs, Tab};

/// What is painted over `rect` (and a little around it, where a ring goes) this frame.
fn painted_near(h: &Harness<'_, App>, rect: egui::Rect) -> Vec<String> {
    h.output()
        .shapes
        .iter()
        .filter(|c| c.shape.visual_bounding_rect().intersects(rect.expand(4.0)))
        .map(|c| format!("{:?}", c.shape))
        .collect()
}

/// The focused widget's accessible name (its label, or its role when it has none).
fn focused_name(h: &Harness<'_, App>) -> String {
    let Some(id) = h.ctx.memory(egui::Memory::focused) else {
        return "(nothing focused)".to_owned();
    };
    let node = id.accesskit_id();
    h.query_by(|n| n.locate().0 == node).map_or_else(
        || "(no accessible node)".to_owned(),
        |n| {
            let a = n.accesskit_node();
            a.label()
                .or_else(|| a.value())
                .unwrap_or_else(|| format!("{:?}", a.role()))
        },
    )
}

/// One Tab stop: its widget, its name, and whether focusing it changed what is painted there.
struct Stop {
    id: egui::Id,
    name: String,
    shows_focus: bool,
}

/// Presses Tab until the focus comes back to where it started (at most `limit` stops) and
/// records each stop: its look with the focus, then without (the focus surrendered for one
/// frame), then the focus given back so the walk goes on from it.
fn walk(h: &mut Harness<'_, App>, limit: usize) -> Vec<Stop> {
    let mut stops: Vec<Stop> = Vec::new();
    for _ in 0..limit {
        h.key_press(egui::Key::Tab);
        h.run_steps(2);
        let Some(id) = h.ctx.memory(egui::Memory::focused) else {
            continue;
        };
        if stops.first().is_some_and(|s| s.id == id) {
            break;
        }
        let rect = h.ctx.read_response(id).map(|r| r.rect).unwrap();
        let name = focused_name(h);
        let with = painted_near(h, rect);
        h.ctx.memory_mut(|m| m.surrender_focus(id));
        h.run_steps(2);
        let without = painted_near(h, rect);
        h.ctx.memory_mut(|m| m.request_focus(id));
        h.run_steps(2);
        stops.push(Stop {
            id,
            name,
            shows_focus: with != without,
        });
    }
    stops
}

fn no_ring(stops: &[Stop]) -> Vec<&str> {
    stops
        .iter()
        .filter(|s| !s.shows_focus)
        .map(|s| s.name.as_str())
        .collect()
}

#[test]
fn focus_starts_in_the_form_and_every_tab_stop_of_the_check_tab_shows_a_ring() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let free_port = free.local_addr().unwrap().port();
    drop(free);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 720.0))
        .build_eframe(|cc| {
            App::new(
                cc,
                Deps::with_inputs(Inputs {
                    interface: InterfaceChoice::Address("127.0.0.1".into()),
                    ..Inputs::default()
                }),
            )
        });
    h.run_steps(3);
    assert_eq!(focused_name(&h), "Port", "focus starts in the port field");
    // Two answers in the history: a free port, then the held one (shown).
    for p in [free_port, port] {
        set_text(&mut h, "Port", &p.to_string());
        h.key_press(egui::Key::Enter);
        h.run_steps(2);
        wait_until(&mut h, "the check to finish", |h| !h.state().check.busy());
    }
    wait_for(&mut h, "WSAEADDRINUSE 10048");
    assert_eq!(h.state().check.history.len(), 2, "two answers");

    let stops = walk(&mut h, 120);
    let names: Vec<&str> = stops.iter().map(|s| s.name.as_str()).collect();
    assert!(
        stops.len() >= 10,
        "Tab reaches the form, the answer and the title bar: {names:?}"
    );
    assert!(names.contains(&"Test bind"), "the form's button: {names:?}");
    // Each history row is one stop, not two.
    let rows = names
        .iter()
        .filter(|n| n.contains(&format!("127.0.0.1:{port}")) && n.contains("FAIL"))
        .count();
    assert_eq!(
        rows, 1,
        "the held port's history row is one stop: {names:?}"
    );
    assert_eq!(
        no_ring(&stops),
        Vec::<&str>::new(),
        "every stop shows the focus; all stops: {names:?}"
    );

    // The history panel's edge, focused, moves with the arrow keys (within its bounds).
    let edge = stops.iter().find(|s| s.name == "Resize panel").unwrap().id;
    let width = |h: &Harness<'_, App>| h.ctx.read_response(edge).unwrap().rect.center().x;
    h.ctx.memory_mut(|m| m.request_focus(edge));
    h.run_steps(2);
    let before = width(&h);
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(3);
    assert!(
        width(&h) > before + 10.0,
        "→ widens the history: {before} → {}",
        width(&h)
    );
    for _ in 0..20 {
        h.key_press(egui::Key::ArrowLeft);
        h.run_steps(2);
    }
    assert!(
        width(&h) >= 140.0 && width(&h) < before,
        "← narrows it, never under its minimum: {}",
        width(&h)
    );
}

#[test]
fn the_scan_map_shows_a_focus_ring_when_tab_reaches_it() {
    let ip = common::private_loopback();
    let p = common::free_run(ip, 40);
    let _t = TcpListener::bind((ip, p + 5)).unwrap();
    let deps = Deps {
        scan_inputs: ScanInputs {
            address_text: ip.to_string(),
            ..ScanInputs::default()
        },
        ..Deps::default()
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 720.0))
        .build_eframe(|cc| App::new(cc, deps));
    h.run_steps(2);
    h.get_by_label("Scan a range").click();
    h.run_steps(2);
    set_text(&mut h, "Port range", &format!("{p}-{}", p + 39));
    h.get_by_label("Start scan").click();
    h.run_steps(2);
    wait_until(&mut h, "the scan to finish", |h| {
        h.state().tab == Tab::Scan && h.state().scan.state.report.is_some()
    });
    h.run_steps(2);
    let stops = walk(&mut h, 150);
    let names: Vec<&str> = stops.iter().map(|s| s.name.as_str()).collect();
    // Ctrl+L from here: the Check tab, with the port field ready for typing.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::L);
    h.run_steps(2);
    assert_eq!(h.state().tab, Tab::Check, "Ctrl+L opens the Check tab");
    assert_eq!(focused_name(&h), "Port", "and focuses the port field");
    assert!(
        names.iter().any(|n| n.starts_with("Port map")),
        "Tab reaches the port map: {names:?}"
    );
    assert_eq!(
        no_ring(&stops),
        Vec::<&str>::new(),
        "every stop shows the focus; all stops: {names:?}"
    );
}

#[test]
fn every_tab_stop_of_the_other_tabs_shows_a_ring_and_the_live_rows_are_not_tab_stops() {
    let _held = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 720.0))
        .build_eframe(|cc| App::new(cc, Deps::default()));
    h.run_steps(2);
    for tab in ["Support kit", "Listening now", "Watches", "Port history"] {
        h.get_by_label(tab).click();
        h.run_steps(3);
        if tab == "Listening now" {
            wait_until(&mut h, "the live table", |h| {
                !h.state().listening_now.rows.is_empty()
            });
        }
        let stops = walk(&mut h, 150);
        let names: Vec<&str> = stops.iter().map(|s| s.name.as_str()).collect();
        assert!(
            stops.len() >= 8,
            "{tab}: Tab reaches its controls: {names:?}"
        );
        assert!(
            stops.len() < 120,
            "{tab}: a bounded walk (no stop per table cell): {names:?}"
        );
        assert_eq!(
            no_ring(&stops),
            Vec::<&str>::new(),
            "{tab}: every stop shows the focus; all stops: {names:?}"
        );
        if tab == "Listening now" {
            // A column's edge, focused, moves with → and the width is remembered.
            let edge = stops
                .iter()
                .find(|s| {
                    h.ctx
                        .read_response(s.id)
                        .is_some_and(|r| r.rect.width() < 20.0)
                })
                .unwrap_or_else(|| panic!("a column edge among the stops: {names:?}"))
                .id;
            h.ctx.memory_mut(|m| m.request_focus(edge));
            h.run_steps(2);
            let first = h.state().listening_now.columns[0];
            let width = |h: &Harness<'_, App>| {
                h.state()
                    .listening_now
                    .widths
                    .iter()
                    .find(|(c, _)| *c == first)
                    .map(|(_, w)| *w)
                    .unwrap()
            };
            let before = width(&h);
            h.key_press(egui::Key::ArrowRight);
            h.run_steps(3);
            assert!(
                (width(&h) - before - 20.0).abs() < 1.0,
                "→ widens the first column by 20: {before} → {}",
                width(&h)
            );
            assert!(
                h.ctx.memory(|m| m.has_focus(edge)),
                "the edge keeps the focus"
            );
        }
    }
}

/// A window restored on a tab with a form starts with the keyboard in that form's first field,
/// as the Check tab does (restored on the Scan tab, nothing had the focus and the first key
/// typed was lost). The state goes through the real file.
#[test]
fn a_window_restored_on_a_tab_starts_in_its_first_field() {
    let dir = std::env::temp_dir().join(format!("pi-keys-restore-{}", std::process::id()));
    for (tab, field) in [
        (Tab::Scan, "Port range"),
        (Tab::Watches, "Port"),
        (Tab::PortHistory, "Port"),
        (Tab::Check, "Port"),
    ] {
        let _ = std::fs::remove_dir_all(&dir);
        let (store, _) = port_inspector::gui::state_file::StateFile::open_in(&dir);
        let mut store = store.expect("a state file in a fresh folder");
        let saved = port_inspector::gui::saved::Saved {
            tab,
            ..Default::default()
        };
        eframe::set_value(&mut store, "port-inspector-state", &saved);
        store.try_flush().unwrap();
        let (store, _) = port_inspector::gui::state_file::StateFile::open_in(&dir);
        let mut h = Harness::builder()
            .with_size(egui::vec2(1024.0, 720.0))
            .build_eframe(|cc| {
                App::new(
                    cc,
                    Deps {
                        store,
                        ..Deps::default()
                    },
                )
            });
        h.run_steps(3);
        assert_eq!(h.state().tab, tab, "restored on {tab:?}");
        assert_eq!(focused_name(&h), field, "restored on {tab:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
