//! The Watches tab end to end: a port watched until it frees, through the real window
//! (egui_kittest), real sockets and a real desktop notification. The test starts a private
//! D-Bus session bus (`dbus-daemon`) and a notification server of its own on it, which receives
//! the window's notification and clicks it; the window runs in a child process of this test
//! whose session bus is the private one, so no desktop of this machine is ever touched.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::TcpListener;

use common::ui::{has, set_text, wait_for};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use port_inspector::gui::app::{App, Deps, Tab};
use port_inspector::gui::saved::Saved;

fn window() -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| App::new(cc, Deps::default()))
}

/// Opens the Watches tab and adds a watch of `ip:port` until it becomes free.
fn watch_until_free(h: &mut Harness<'_, App>, ip: &str, port: u16) {
    h.get_by_label("Watches").click();
    h.run_steps(2);
    set_text(h, "Port", &port.to_string());
    set_text(h, "Address", ip);
    h.get_by_label("becomes free").click();
    h.run_steps(1);
    h.get_by_label("Watch").click();
    h.run_steps(2);
}

/// A watch is kept between runs, and a window restored with it watches again.
#[test]
fn a_watch_is_remembered_and_watches_again_after_a_restart() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut h = window();
    h.run();
    watch_until_free(&mut h, "127.0.0.1", port);
    wait_for(&mut h, "Now taken by");
    assert!(
        has(&h, &format!("(PID {})", std::process::id())),
        "the holder is this test"
    );
    let saved: Saved = h.state().saved();
    assert_eq!(saved.watches.len(), 1, "remembered");
    assert_eq!(saved.watches[0].port, port, "its port");
    assert_eq!(
        saved.watches[0].address,
        std::net::IpAddr::from([127, 0, 0, 1]).into(),
        "its address, read once where it was typed"
    );
    h.get_by_label("Stop").click();
    h.run_steps(2);
    wait_for(&mut h, "Stopped; last seen taken by");

    // The next run of the window: the same watch, watching again.
    let mut again = window();
    again.state_mut().restore(saved);
    again.run_steps(2);
    assert_eq!(again.state().tab, Tab::Watches, "the tab it was on");
    wait_for(&mut again, "Now taken by");
    assert!(again.state().watches.any_running(), "watching again");
    drop(held);
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs dbus-daemon (a private session bus); CI runs it (cargo test -- --include-ignored)"]
fn a_freed_port_notifies_through_the_session_bus_and_its_click_opens_the_answer() {
    if std::env::var_os("PI_WATCH_CHILD").is_some() {
        return window_side();
    }
    common::require(
        std::path::Path::new("/usr/bin/dbus-daemon").exists(),
        "dbus-daemon (Debian package dbus-daemon)",
    );
    let bus = notify_server::Bus::start();
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_freed_port_notifies_through_the_session_bus_and_its_click_opens_the_answer",
            "--include-ignored",
            "--nocapture",
        ])
        .env("PI_WATCH_CHILD", "1")
        .env("PI_WATCH_IP", ip.to_string())
        .env("PI_WATCH_PORT", port.to_string())
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .spawn()
        .unwrap();
    let n = bus.next_notification(std::time::Duration::from_mins(1));
    let Some(n) = n else {
        let _ = child.kill();
        panic!("no notification arrived on the private bus");
    };
    assert_eq!(n.app_name, "Port Inspector", "{n:?}");
    assert_eq!(n.summary, format!("Port {port} is free"), "{n:?}");
    assert!(
        n.body
            .starts_with(&format!("TCP {ip}:{port}: free (seen at ")),
        "{n:?}"
    );
    assert!(n.actions.iter().any(|a| a == "default"), "clickable: {n:?}");
    // The user clicks it: the window opens the answer (and its process ends then).
    let status = bus.click_until_exit(n.id, &mut child, std::time::Duration::from_mins(2));
    assert!(status.success(), "the window's side: {status}");
}

#[cfg(target_os = "linux")]
/// The child: the window, a port held, watched, freed; the urgency hint; then the click.
fn window_side() {
    let ip: std::net::Ipv4Addr = std::env::var("PI_WATCH_IP").unwrap().parse().unwrap();
    let port: u16 = std::env::var("PI_WATCH_PORT").unwrap().parse().unwrap();
    let held = TcpListener::bind((ip, port)).unwrap();
    let mut h = window();
    h.run();
    watch_until_free(&mut h, &ip.to_string(), port);
    wait_for(&mut h, "Now taken by");
    drop(held);
    let mut attention = false;
    common::ui::wait_until(&mut h, "the watch to be met", |h| {
        attention |= h.output().viewport_output.values().any(|v| {
            v.commands
                .iter()
                .any(|c| matches!(c, egui::ViewportCommand::RequestUserAttention(_)))
        });
        has(h, "Met at") && has(h, "free")
    });
    // The urgency hint is asked in the frame that took the met update, or the next.
    for _ in 0..3 {
        h.step();
        attention |= h.output().viewport_output.values().any(|v| {
            v.commands
                .iter()
                .any(|c| matches!(c, egui::ViewportCommand::RequestUserAttention(_)))
        });
    }
    assert!(attention, "the window asked for attention");
    // The click on the notification opens the port's answer: a fresh check, on this machine.
    // (The bus round trips run on the window's threads: bounded generously for a loaded CI.)
    slow_wait(&mut h, "the click to open the answer", |h| {
        h.state().tab == Tab::Check
            && h.state()
                .check
                .shown_check()
                .is_some_and(|c| c.report.target.port == port && c.machine.is_none())
    });
    assert!(
        h.state().check.shown_check().unwrap().bindable(),
        "free now"
    );
    // The watch's row says the notification was shown.
    h.get_by_label("Watches").click();
    h.run_steps(2);
    assert!(has(&h, "Notified at"), "the row says it notified");
}

/// Steps frames until `done`, failing after a minute with `what` in the message.
#[cfg(target_os = "linux")]
fn slow_wait(
    h: &mut Harness<'_, App>,
    what: &str,
    mut done: impl FnMut(&Harness<'_, App>) -> bool,
) {
    let start = std::time::Instant::now();
    while !done(h) {
        assert!(
            start.elapsed() < std::time::Duration::from_mins(1),
            "timed out waiting for {what}: {:?}",
            h.state()
                .watches
                .rows
                .iter()
                .map(|r| r.notice.clone())
                .collect::<Vec<_>>()
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A notification server on a private session bus.
#[cfg(target_os = "linux")]
mod notify_server {
    use std::collections::HashMap;
    use std::io::BufRead as _;
    use std::sync::Mutex;
    use std::sync::mpsc::{Receiver, Sender};
    use std::time::{Duration, Instant};

    /// What the server received.
    #[derive(Debug)]
    pub struct Notification {
        pub id: u32,
        pub app_name: String,
        pub summary: String,
        pub body: String,
        pub actions: Vec<String>,
    }

    struct Server {
        tx: Mutex<Sender<Notification>>,
        next_id: Mutex<u32>,
    }

    // The methods as the specification has them: zbus's macro reads every argument, and a
    // method that needs no state still takes `&self`.
    #[allow(clippy::unused_self)]
    #[zbus::interface(name = "org.freedesktop.Notifications")]
    impl Server {
        #[allow(clippy::too_many_arguments)] // the method as the specification has it
        fn notify(
            &self,
            app_name: String,
            replaces_id: u32,
            app_icon: String,
            summary: String,
            body: String,
            actions: Vec<String>,
            hints: HashMap<String, zbus::zvariant::OwnedValue>,
            expire_timeout: i32,
        ) -> u32 {
            // Not needed here: this server only records what it was sent.
            let _ = (replaces_id, app_icon, hints, expire_timeout);
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            let _ = self.tx.lock().unwrap().send(Notification {
                id: *next,
                app_name,
                summary,
                body,
                actions,
            });
            *next
        }

        fn get_capabilities(&self) -> Vec<String> {
            vec!["body".into(), "actions".into()]
        }

        fn get_server_information(&self) -> (String, String, String, String) {
            (
                "test".into(),
                "port-inspector tests".into(),
                "1".into(),
                "1.2".into(),
            )
        }

        fn close_notification(&self, id: u32) {
            let _ = id;
        }
    }

    /// The bus daemon and the server's connection; the daemon ends when dropped.
    pub struct Bus {
        pub address: String,
        daemon: std::process::Child,
        conn: zbus::blocking::Connection,
        rx: Receiver<Notification>,
    }

    impl Drop for Bus {
        fn drop(&mut self) {
            let _ = self.daemon.kill();
            let _ = self.daemon.wait();
        }
    }

    impl Bus {
        pub fn start() -> Bus {
            let mut daemon = std::process::Command::new("/usr/bin/dbus-daemon")
                .args(["--session", "--nofork", "--print-address"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut address = String::new();
            std::io::BufReader::new(daemon.stdout.take().unwrap())
                .read_line(&mut address)
                .unwrap();
            let address = address.trim().to_owned();
            assert!(!address.is_empty(), "dbus-daemon printed its address");
            let (tx, rx) = std::sync::mpsc::channel();
            let server = Server {
                tx: Mutex::new(tx),
                next_id: Mutex::new(0),
            };
            let conn = zbus::blocking::connection::Builder::address(address.as_str())
                .unwrap()
                .name("org.freedesktop.Notifications")
                .unwrap()
                .serve_at("/org/freedesktop/Notifications", server)
                .unwrap()
                .build()
                .unwrap();
            Bus {
                address,
                daemon,
                conn,
                rx,
            }
        }

        pub fn next_notification(&self, within: Duration) -> Option<Notification> {
            self.rx.recv_timeout(within).ok()
        }

        /// Says once "notification `id` was clicked" (ActionInvoked "default"), then waits for
        /// `child` to end (the window subscribes to the signal before it sends the
        /// notification, so one click is enough).
        pub fn click_until_exit(
            &self,
            id: u32,
            child: &mut std::process::Child,
            within: Duration,
        ) -> std::process::ExitStatus {
            self.conn
                .emit_signal(
                    None::<&str>,
                    "/org/freedesktop/Notifications",
                    "org.freedesktop.Notifications",
                    "ActionInvoked",
                    &(id, "default"),
                )
                .unwrap();
            let start = Instant::now();
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    return status;
                }
                if start.elapsed() > within {
                    let _ = child.kill();
                    panic!("the window did not open the answer after the click");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
