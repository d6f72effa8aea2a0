//! The window's Port history tab end to end: a real recorder (`port-inspector record`, its own
//! process) writes a database in a folder of the test's while real holders (examples/holder.rs)
//! take and release a loopback port, and the window (egui_kittest, accessibility check on) reads
//! it on its worker: one bar per holder, a marker per refused bind, their details, the
//! recorder's state (running and its mode; stopped and the command that starts it; no database).
#![cfg(target_os = "linux")] // the recorder's capture reads /proc and sock_diag
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::ui::{count, has, set_text, wait_for, wait_until};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use port_inspector::gui::app::{App, Deps};
use port_inspector::record::history::{self, Entry, Subject, Timeline};
use port_inspector::record::store::Store;

use common::recorder::{Recorder, TempDir};

fn start_recorder(db: &Path) -> Recorder {
    Recorder(
        common::bin()
            .args(["record", "--db"])
            .arg(db)
            .args(["--interval", "50", "--for", "120"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Stops the recorder with SIGTERM and waits for its clean end.
fn stop(mut r: Recorder) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &r.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "SIGTERM sent");
    let start = Instant::now();
    while r.0.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < common::PATIENCE, "the recorder stops");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls the database through the store's own reader until `ok` holds of the port's last hour.
fn wait_db(db: &Path, port: u16, what: &str, ok: impl Fn(&Timeline) -> bool) -> Timeline {
    let start = Instant::now();
    loop {
        let now = port_inspector::record::now_ms();
        if let Ok(Some(s)) = Store::open_for_reading(db)
            && let Ok(t) = history::timeline(&s, Subject::Port(port), now - 3_600_000, now, now)
            && ok(&t)
        {
            return t;
        }
        assert!(
            start.elapsed() < common::PATIENCE,
            "{what} within {:?}",
            common::PATIENCE
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until the recorder has written its first read: from then on a new socket is seen
/// appearing, not as already there.
fn wait_recording(db: &Path) {
    wait_db(db, 1, "the recorder's first read", |t| {
        t.latest_session
            .is_some_and(|s| s.running && s.last_ms > s.started_ms)
    });
}

fn held_by(t: &Timeline, pid: u32) -> bool {
    t.entries.iter().any(|e| match e {
        Entry::Held(s) => s.holders.iter().any(|h| h.pid == pid),
        _ => false,
    })
}

fn closed_by(t: &Timeline, pid: u32) -> bool {
    t.entries.iter().any(|e| match e {
        Entry::Held(s) => {
            s.holders.iter().any(|h| h.pid == pid)
                && s.end == port_inspector::record::history::SpanEnd::Closed
        }
        _ => false,
    })
}

fn window(db: &Path) -> Harness<'static, App> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_eframe(|cc| App::new(cc, Deps::default()));
    h.state_mut().port_history.db = Some(db.to_path_buf());
    h
}

/// Asks the tab for `port` and waits until the worker's answer is drawn.
fn show(h: &mut Harness<'_, App>, port: u16) {
    set_text(h, "Port", &port.to_string());
    h.get_by_label("Show history").click();
    h.run_steps(1);
    wait_until(h, "the database read on the worker", |h| {
        h.state().port_history.loading.is_none()
    });
}

/// A port held by one process, released, then held by another: two bars, each opening its
/// holder's PID, name, command line and times; the recorder running in polling mode, then
/// stopped with the exact command that starts it again; a missing database says so.
#[test]
fn each_holder_is_a_bar_that_opens_its_details_and_the_recorder_state_is_shown() {
    let dir = TempDir::new("gui-bars");
    let db = dir.db();
    let recorder = start_recorder(&db);
    wait_recording(&db);
    let ip = common::private_loopback();
    let mut first = common::holder::spawn("tcp", &format!("{ip}:0"));
    let port = first.port;
    let first_pid = first.child.id();
    wait_db(&db, port, "the first holder recorded", |t| {
        held_by(t, first_pid)
    });
    drop(first.child.stdin.take());
    common::holder::wait_exit(&mut first, "the first holder ends when its input closes");
    wait_db(&db, port, "the first holder's end recorded", |t| {
        closed_by(t, first_pid)
    });
    let second = common::holder::spawn("tcp", &format!("{ip}:{port}"));
    let second_pid = second.child.id();
    wait_db(&db, port, "the second holder recorded", |t| {
        held_by(t, second_pid)
    });

    let mut h = window(&db);
    h.run();
    h.get_by_label("Port history").click();
    h.run_steps(2);
    show(&mut h, port);
    let first_bar = format!("holder (PID {first_pid}");
    let second_bar = format!("holder (PID {second_pid}");
    wait_for(&mut h, &first_bar);
    assert_eq!(count(&h, &first_bar), 1, "one bar for the first holder");
    assert_eq!(count(&h, &second_bar), 1, "one bar for the second holder");
    assert!(
        has(&h, &format!("TCP {ip}:{port} LISTEN")),
        "each bar names the socket"
    );
    // Polling as a normal user; as root, eBPF where the kernel allows it.
    assert!(
        has(&h, "The recorder is running in polling mode")
            || has(&h, "The recorder is running in eBPF mode"),
        "the recorder's state and mode"
    );
    assert!(
        has(&h, &format!("Port {port}, ")),
        "the heading names the port and the time range"
    );
    // The first bar's details.
    h.query_all_by_label_contains(&first_bar)
        .next()
        .expect("the first bar")
        .click();
    h.run_steps(2);
    assert!(has(&h, "Close details"), "the details are open");
    assert!(
        has(&h, &format!("{ip}:0")),
        "the command line the holder ran with"
    );
    // Traced (root, eBPF) the instant it stopped listening; polled, the two reads around it.
    let traced = has(&h, "The recorder is running in eBPF mode");
    assert!(
        has(
            &h,
            if traced {
                "closed at "
            } else {
                "closed between "
            }
        ),
        "when it ended"
    );
    let pid_text = first_pid.to_string();
    assert!(
        h.query_all_by_label(&pid_text).next().is_some(),
        "its PID on a line of its own"
    );
    assert!(has(&h, &second_bar), "the second bar is still drawn");
    h.get_by_label("Close details").click();
    h.run_steps(2);
    assert!(!has(&h, "Close details"), "the details are closed");

    // Stopped: the state says since when it was not running, and the command that starts it.
    drop(second);
    stop(recorder);
    show(&mut h, port);
    wait_for(&mut h, "The recorder is not running");
    // A database of this user's own: started by this user, no sudo (root would refuse a folder
    // another user may write; a root window needs none).
    assert!(
        has(&h, "Start it with: port-inspector record --db "),
        "the exact command, with this database"
    );

    // No database at all.
    h.state_mut().port_history.db = Some(dir.0.join("none.db"));
    show(&mut h, port);
    wait_for(&mut h, "No recorder database at");
    assert!(
        has(&h, "Start the recorder with: port-inspector record --db "),
        "and how to start it"
    );
}

/// A holder that takes the port again after it let it go keeps its lane (a service restarted on
/// its port is one lane of bars, not a lane per start); another holder has a lane of its own.
/// The bars' places are read from the window's accessibility tree.
#[test]
fn a_holder_s_sockets_one_after_another_share_its_lane() {
    let dir = TempDir::new("gui-lanes");
    let db = dir.db();
    let recorder = start_recorder(&db);
    wait_recording(&db);
    let ip = common::private_loopback();
    let me = std::process::id();
    let spans_of = |t: &Timeline, pid: u32| {
        t.entries
            .iter()
            .filter(|e| matches!(e, Entry::Held(s) if s.holders.iter().any(|h| h.pid == pid)))
            .count()
    };
    // This test's own process holds the port, lets it go, and holds it again.
    let first = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = first.local_addr().unwrap().port();
    wait_db(&db, port, "the first socket recorded", |t| held_by(t, me));
    drop(first);
    wait_db(&db, port, "the first socket's end recorded", |t| {
        closed_by(t, me)
    });
    let again = std::net::TcpListener::bind((ip, port)).unwrap();
    wait_db(&db, port, "the second socket recorded", |t| {
        spans_of(t, me) == 2
    });
    drop(again);
    wait_db(&db, port, "the second socket's end recorded", |t| {
        t.entries.iter().all(|e| match e {
            Entry::Held(s) => s.end == history::SpanEnd::Closed,
            _ => true,
        })
    });
    let other = common::holder::spawn("tcp", &format!("{ip}:{port}"));
    let other_pid = other.child.id();
    wait_db(&db, port, "the other holder recorded", |t| {
        held_by(t, other_pid)
    });

    let mut h = window(&db);
    h.run();
    h.get_by_label("Port history").click();
    h.run_steps(2);
    show(&mut h, port);
    // Each bar is a button named "NAME (PID N, user U): TCP ADDRESS LISTEN, FROM to TO".
    let mine = format!("(PID {me},");
    let theirs = format!("(PID {other_pid},");
    wait_for(&mut h, &theirs);
    let tops = |label: &str| -> Vec<f32> {
        h.query_all_by_label_contains(label)
            .map(|n| n.rect().top())
            .collect()
    };
    let (my_bars, their_bars) = (tops(&mine), tops(&theirs));
    assert_eq!(my_bars.len(), 2, "a bar for each of this process's sockets");
    assert_eq!(their_bars.len(), 1, "a bar for the other holder's");
    assert!(
        (my_bars[0] - my_bars[1]).abs() < 0.5,
        "one lane for one holder: {my_bars:?}"
    );
    assert!(
        (my_bars[0] - their_bars[0]).abs() >= 10.0,
        "another holder, another lane: {my_bars:?} {their_bars:?}"
    );
    drop(other);
    stop(recorder);
}

/// A recorder (eBPF: root) running on a database in a new folder, and a holder of a port on a
/// private loopback address whose socket it has recorded.
fn recording_a_held_port(tag: &str) -> (TempDir, Recorder, std::net::Ipv4Addr, common::Holder) {
    common::require(common::is_root(), "root, to load the eBPF program");
    let dir = TempDir::new(tag);
    let db = dir.db();
    let recorder = start_recorder(&db);
    wait_recording(&db);
    let ip = common::private_loopback();
    let held = common::holder::spawn("tcp", &format!("{ip}:0"));
    wait_db(&db, held.port, "the holder recorded", |t| {
        held_by(t, held.child.id())
    });
    (dir, recorder, ip, held)
}

/// A process binding the held port: refused, it says so and exits 2. Its PID.
fn refused_bind(ip: std::net::Ipv4Addr, port: u16) -> u32 {
    let mut c = std::process::Command::new(common::holder::path())
        .args(["bound", &format!("{ip}:{port}")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(c.wait().unwrap().code(), Some(2), "the bind was refused");
    c.id()
}

/// A refused bind is a marker; its details name who tried, the error and who held the port.
#[test]
#[ignore = "needs root (the recorder's eBPF capture of failed binds: CAP_BPF, CAP_PERFMON); CI runs it (cargo test -- --include-ignored)"]
fn a_refused_bind_is_a_marker_that_opens_who_tried_the_error_and_the_holder() {
    let (dir, recorder, ip, held) = recording_a_held_port("gui-marker");
    let db = dir.db();
    let port = held.port;
    let holder_pid = held.child.id();
    let tried = refused_bind(ip, port);
    wait_db(&db, port, "the refused bind recorded", |t| {
        t.entries
            .iter()
            .any(|e| matches!(e, Entry::FailedBind(f) if f.who.pid == tried))
    });

    let mut h = window(&db);
    h.run();
    h.get_by_label("Port history").click();
    h.run_steps(2);
    show(&mut h, port);
    let marker = format!("refused bind: {} (PID {tried}", common::holder::image());
    wait_for(&mut h, &marker);
    assert!(
        has(&h, "The recorder is running in eBPF mode"),
        "the recorder's mode"
    );
    h.query_all_by_label_contains(&marker)
        .next()
        .expect("the marker")
        .click();
    h.run_steps(2);
    assert!(has(&h, "EADDRINUSE (98)"), "the error");
    assert!(
        has(&h, &format!("TCP {ip}:{port}")),
        "the address it asked for, with its protocol"
    );
    assert!(
        has(&h, &format!("holder (PID {holder_pid}")),
        "who held the port then"
    );
    assert!(
        h.query_all_by_label(&tried.to_string()).next().is_some(),
        "who tried: its PID"
    );
    drop(held);
    stop(recorder);
}

/// Refused binds too close in time to be drawn apart (a service's retries, milliseconds apart on
/// an hour's strip) are one marker with their count, not markers drawn over each other of which
/// only the top one could be clicked: it opens their list, and each line opens its details.
#[test]
#[ignore = "needs root (the recorder's eBPF capture of failed binds: CAP_BPF, CAP_PERFMON); CI runs it (cargo test -- --include-ignored)"]
fn refused_binds_close_in_time_are_one_marker_that_lists_each() {
    let (dir, recorder, ip, held) = recording_a_held_port("gui-stack");
    let db = dir.db();
    let port = held.port;
    // Three processes try the held port one after another: each is refused.
    let tried: Vec<u32> = (0..3).map(|_| refused_bind(ip, port)).collect();
    wait_db(&db, port, "the three refused binds recorded", |t| {
        tried.iter().all(|pid| {
            t.entries
                .iter()
                .any(|e| matches!(e, Entry::FailedBind(f) if f.who.pid == *pid))
        })
    });

    let mut h = window(&db);
    h.run();
    h.get_by_label("Port history").click();
    h.run_steps(2);
    show(&mut h, port);
    wait_for(&mut h, "3 refused binds from ");
    let line = |pid: u32| format!("refused bind: {} (PID {pid}", common::holder::image());
    for pid in &tried {
        assert_eq!(
            count(&h, &line(*pid)),
            0,
            "no marker of its own for PID {pid}'s bind: one marker for the three"
        );
    }
    h.query_all_by_label_contains("3 refused binds from ")
        .next()
        .expect("the stack's marker")
        .click();
    h.run_steps(2);
    for pid in &tried {
        assert_eq!(
            count(&h, &line(*pid)),
            1,
            "the stack's list has a line for PID {pid}'s bind"
        );
    }
    assert!(
        h.query_all_by_label(&tried[1].to_string()).next().is_none(),
        "no details open yet"
    );
    h.query_all_by_label_contains(&line(tried[1]))
        .next()
        .expect("the second bind's line")
        .click();
    h.run_steps(2);
    assert!(
        h.query_all_by_label(&tried[1].to_string()).next().is_some(),
        "its details: who tried, by PID"
    );
    assert!(has(&h, "EADDRINUSE (98)"), "its error");
    assert_eq!(
        count(&h, &line(tried[0])),
        1,
        "the list stays open beside the details"
    );
    drop(held);
    stop(recorder);
}
