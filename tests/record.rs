//! The flight recorder end to end: `record` runs as its own process against a database in a
//! folder of the test's, real holders (examples/holder.rs) take and release loopback
//! ports, and `history --json` / text read back what was recorded. Every wait polls the
//! database with a deadline; the one deliberate pause makes the gap a restart must show.
#![cfg(target_os = "linux")] // the polling recorder reads /proc and sock_diag; other OSes are not the point here
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::recorder::{Recorder, TempDir};

fn start_recorder(db: &Path, interval_ms: u32) -> Recorder {
    Recorder(
        common::bin()
            .args(["record", "--db"])
            .arg(db)
            .args(["--interval", &interval_ms.to_string(), "--for", "120"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

/// Stops the recorder with SIGTERM and returns its standard output, checking it stopped cleanly.
fn stop(mut r: Recorder) -> String {
    signal(r.0.id(), "TERM");
    let start = Instant::now();
    loop {
        if let Some(status) = r.0.try_wait().unwrap() {
            let mut out = String::new();
            std::io::Read::read_to_string(r.0.stdout.as_mut().unwrap(), &mut out).unwrap();
            let mut err = String::new();
            std::io::Read::read_to_string(r.0.stderr.as_mut().unwrap(), &mut err).unwrap();
            assert!(
                status.success(),
                "the recorder stops cleanly on SIGTERM: {status} {out} {err}"
            );
            return out;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the recorder stops within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn history(db: &Path, args: &[&str]) -> Value {
    try_history(db, args).unwrap_or_else(|e| panic!("history {args:?} answers: {e}"))
}

/// The timeline, or the error when there is no database yet (the recorder makes its file, then
/// its schema).
fn try_history(db: &Path, args: &[&str]) -> Result<Value, String> {
    common::history_json(db, args)
}

fn history_text(db: &Path, args: &[&str]) -> String {
    let out = common::bin()
        .arg("history")
        .args(args)
        .arg("--db")
        .arg(db)
        .args(["--since", "10m"])
        .output()
        .unwrap();
    assert!(out.status.success(), "history answers");
    String::from_utf8(out.stdout).unwrap()
}

/// The `held` entries of a timeline.
fn spans(t: &Value) -> Vec<Value> {
    t["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "held")
        .cloned()
        .collect()
}

fn pids(span: &Value) -> Vec<u64> {
    span["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["pid"].as_u64().unwrap())
        .collect()
}

/// Runs the holder example binding a `kind` socket (`bound`, `udp`) to `addr` (in the network
/// namespace `net`, nsenter's argument, when given), whose bind must be refused (the holder
/// exits 2); returns its PID.
fn refused_bind(net: Option<&str>, kind: &str, addr: &str) -> u64 {
    let mut cmd = match net {
        Some(net) => {
            let mut c = std::process::Command::new("nsenter");
            c.arg(net).arg(common::holder::path());
            c
        }
        None => std::process::Command::new(common::holder::path()),
    };
    let mut c = cmd
        .args([kind, addr])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = u64::from(c.id());
    assert_eq!(
        c.wait().unwrap().code(),
        Some(2),
        "the holder ran and its bind was refused: {kind} {addr}"
    );
    pid
}

/// Polls `history PORT` until `ok` holds of its timeline (deadline [`common::PATIENCE`]).
fn wait_for(db: &Path, port: u16, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        if let Ok(t) = try_history(db, &[&port.to_string()]) {
            if ok(&t) {
                return t;
            }
            assert!(
                start.elapsed() < common::PATIENCE,
                "{what}; the timeline: {t:#}"
            );
        }
        assert!(
            start.elapsed() < common::PATIENCE,
            "{what}: no database in {:?}",
            common::PATIENCE
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until the recorder has written its first read (its session's heartbeat moved on):
/// from then on a new socket is seen appearing, not as "already there".
fn wait_until_recording(db: &Path) {
    let start = Instant::now();
    loop {
        if let Ok(t) = try_history(db, &["1"]) {
            let s = &t["latest_session"];
            if s["running"] == true && s["last_ms"].as_u64() > s["started_ms"].as_u64() {
                return;
            }
        }
        assert!(
            start.elapsed() < common::PATIENCE,
            "the recorder starts within {:?}",
            common::PATIENCE
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn short_lived_listeners_are_recorded_with_their_pid_and_end() {
    let dir = TempDir::new("short");
    let db = dir.db();
    let recorder = start_recorder(&db, 50);
    wait_until_recording(&db);
    let ip = common::private_loopback();
    for _ in 0..5 {
        let mut h = common::holder::spawn("tcp", &format!("{ip}:0"));
        let pid = u64::from(h.child.id());
        let port = h.port;
        wait_for(&db, port, "the listener is recorded with its PID", |t| {
            spans(t)
                .iter()
                .any(|s| pids(s) == [pid] && s["state"] == "LISTEN")
        });
        // Closing its standard input ends the holder; the recorder sees the socket go.
        drop(h.child.stdin.take());
        common::holder::wait_exit(&mut h, "the holder ends when its input closes");
        // Its own span: another suite's socket on this port at another address has its own.
        let its = |s: &Value| pids(s) == [pid] && s["local"] == format!("{ip}:{port}");
        let t = wait_for(&db, port, "the listener is recorded as closed", |t| {
            spans(t).iter().any(|s| its(s) && s["end"] == "closed")
        });
        let s = &spans(&t).into_iter().find(its).unwrap();
        assert_eq!(s["local"], format!("{ip}:{port}"), "the address it held");
        assert_eq!(s["holders"][0]["process"], "holder", "its name");
        assert!(
            s["holders"][0]["cmdline"]
                .as_str()
                .unwrap()
                .contains(&format!("{ip}:0")),
            "its command line: {s}"
        );
        let (after, first, last, gone) = (
            s["after_ms"].as_u64().unwrap(),
            s["first_ms"].as_u64().unwrap(),
            s["last_ms"].as_u64().unwrap(),
            s["gone_ms"].as_u64().unwrap(),
        );
        if t["latest_session"]["mode"] == "traced" {
            // Root with eBPF: the instants the kernel told, not two reads around them.
            assert!(
                after == first && first < gone && last == gone,
                "traced: the instants it started and stopped listening: {s}"
            );
        } else {
            assert!(
                after < first && first <= last && last < gone,
                "reads in order: {s}"
            );
        }
    }
    let traced = history(&db, &["1"])["latest_session"]["mode"] == "traced";
    let out = stop(recorder);
    assert!(
        if traced {
            out.contains("every TCP listener the instant it starts and stops listening")
                && out.contains("by reading the socket table every 30 s")
        } else {
            out.contains("polling mode, every 50 ms")
        },
        "the mode and its resolution are said at start: {out}"
    );
    assert!(
        out.contains("failed binds are not seen") || out.contains("through kernel tracepoints"),
        "and whether failed binds are seen: {out}"
    );
    assert!(out.contains("Stopped:"), "a line at the stop: {out}");
}

#[test]
fn a_socket_inherited_by_a_child_is_recorded_as_handed_over() {
    let dir = TempDir::new("child");
    let db = dir.db();
    let recorder = start_recorder(&db, 50);
    let ip = common::private_loopback();
    let (mut h, child) = common::holder::spawn_with_child("tcp", &format!("{ip}:0"));
    let (parent, child) = (u64::from(h.child.id()), u64::from(child));
    let port = h.port;
    wait_for(&db, port, "parent and child recorded as sharing it", |t| {
        spans(t).iter().any(|s| {
            let mut p = pids(s);
            p.sort_unstable();
            p == [parent.min(child), parent.max(child)]
        })
    });
    // The parent ends; the child keeps the socket (its input is the test's pipe, kept open here:
    // `Child::wait` would close it).
    let _input = h.child.stdin.take();
    h.child.kill().unwrap();
    h.child.wait().unwrap();
    let t = wait_for(
        &db,
        port,
        "the child alone is recorded as holding it",
        |t| spans(t).iter().any(|s| pids(s) == [child]),
    );
    let all = spans(&t);
    // Traced (root), the parent's own moment between its listen and its fork is a span too.
    let (last, earlier) = all.split_last().unwrap();
    assert!(
        !earlier.is_empty() && earlier.iter().all(|s| s["end"] == "handed_over"),
        "the spans before end by a hand-over: {t:#}"
    );
    assert!(
        earlier.iter().any(|s| pids(s).len() == 2),
        "one of them is the shared span: {t:#}"
    );
    assert!(
        all.iter().all(|s| s["inode"] == all[0]["inode"]),
        "the same socket: {t:#}"
    );
    assert_eq!(last["end"], "still_held", "the child still holds it");
    let text = history_text(&db, &[&port.to_string()]);
    assert!(
        text.contains("held by other processes"),
        "said in words: {text}"
    );
    signal(u32::try_from(child).unwrap(), "KILL");
    drop(stop(recorder));
    // `history --pid` finds the child's span.
    let by_pid = history(&db, &["--pid", &child.to_string()]);
    assert!(
        spans(&by_pid).iter().all(|s| pids(s).contains(&child)) && !spans(&by_pid).is_empty(),
        "--pid lists the spans the process held: {by_pid:#}"
    );
}

#[test]
fn a_recorder_killed_and_restarted_leaves_a_gap_and_nothing_else() {
    let dir = TempDir::new("gap");
    let db = dir.db();
    let ip = common::private_loopback();
    let h = common::holder::spawn("tcp", &format!("{ip}:0"));
    let port = h.port;
    let first = start_recorder(&db, 50);
    wait_for(&db, port, "the first recorder sees the holder", |t| {
        spans(t).len() == 1
    });
    // kill -9: no clean stop; every whole read before it is kept.
    signal(first.0.id(), "KILL");
    drop(first);
    // The time the recorder is down: longer than the two-second seam a restart is allowed.
    std::thread::sleep(Duration::from_secs(3));
    let second = start_recorder(&db, 50);
    let t = wait_for(
        &db,
        port,
        "the second recorder sees the holder again",
        |t| spans(t).len() == 2,
    );
    drop(stop(second));
    let all = spans(&t);
    assert_eq!(
        all[0]["end"], "recorder_stopped",
        "the first span ends with the recorder: {t:#}"
    );
    assert!(
        all[1]["after_ms"].is_null(),
        "the second was there when recording began again"
    );
    assert_eq!(
        all[0]["inode"], all[1]["inode"],
        "the same socket on both sides of the gap"
    );
    let gap = t["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["kind"] == "not_recorded"
                && e["from_ms"].as_u64() >= all[0]["last_ms"].as_u64()
                && e["to_ms"].as_u64() <= all[1]["first_ms"].as_u64()
        })
        .unwrap_or_else(|| panic!("a gap between the two runs: {t:#}"));
    let width = gap["to_ms"].as_u64().unwrap() - gap["from_ms"].as_u64().unwrap();
    assert!(
        width >= 2_000,
        "the gap is the time the recorder was down ({width} ms)"
    );
    let text = history_text(&db, &[&port.to_string()]);
    assert!(
        text.contains("not recorded: the recorder was not running"),
        "the gap is said: {text}"
    );
    assert!(
        text.contains("when the recorder stopped; after that, unknown"),
        "the span before the gap says its end is unknown: {text}"
    );
    assert!(
        text.contains(&format!(
            "the same socket as before the gap (inode {}",
            all[1]["inode"]
        )),
        "the span after the gap says it is the same socket: {text}"
    );
    drop(h);
}

#[test]
fn hostile_process_names_are_stored_as_they_are_and_escaped_on_output() {
    let dir = TempDir::new("hostile");
    let db = dir.db();
    let recorder = start_recorder(&db, 50);
    let ip = common::private_loopback();
    // comm an escape sequence and a newline: a link to the holder named so.
    let link = common::holder::Named::new("\x1b]0;pwn\x07\nFAKE");
    let (h, _) = common::holder::start_as(link.command(), &["tcp", &format!("{ip}:0")]);
    let port = h.port;
    let t = wait_for(&db, port, "the hostile listener is recorded", |t| {
        !spans(t).is_empty()
    });
    let name = spans(&t)[0]["holders"][0]["process"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        name, "\u{1b}]0;pwn\u{7}\nFAKE",
        "stored exactly as the kernel gave it"
    );
    let text = history_text(&db, &[&port.to_string()]);
    assert!(
        text.contains("\\x1b]0;pwn\\x07\\nFAKE"),
        "escaped in the text: {text}"
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "no control character but line ends reaches the terminal"
    );
    assert!(!text.contains("\nFAKE"), "the name cannot forge a line");
    drop(h);
    drop(stop(recorder));
}

/// A second recorder on a database another one is writing is refused with one line, and writes
/// nothing (two sessions over the same time showed one socket twice, and "not running" while
/// the first ran); once the first stopped, the database is free again.
#[test]
fn a_second_recorder_on_the_same_database_is_refused() {
    let dir = TempDir::new("two");
    let db = dir.0.join("record.db");
    let first = start_recorder(&db, 100);
    wait_until_recording(&db);
    let sessions = |db: &Path| history(db, &["1"])["sessions"].as_array().unwrap().len();
    assert_eq!(sessions(&db), 1);
    let second = common::bin()
        .args(["record", "--db"])
        .arg(&db)
        .args(["--for", "2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "refused: {err}");
    assert!(
        err.contains("another recorder is recording into this database"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(second.stdout.is_empty(), "it did not start");
    assert_eq!(sessions(&db), 1, "no second session written");
    stop(first);
    let again = common::bin()
        .args(["record", "--db"])
        .arg(&db)
        .args(["--for", "1"])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "free again once the first stopped: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(sessions(&db), 2);
}

#[test]
fn a_database_where_others_may_write_or_behind_a_link_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new("unsafe");
    let open = dir.0.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = common::bin()
        .args(["record", "--for", "1", "--db"])
        .arg(open.join("r.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "refused");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("other users may write"),
        "and says why: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!open.join("r.db").exists(), "nothing was created");
    let target = dir.0.join("elsewhere");
    std::fs::write(&target, b"keep me").unwrap();
    std::os::unix::fs::symlink(&target, dir.0.join("link.db")).unwrap();
    let out = common::bin()
        .args(["record", "--for", "1", "--db"])
        .arg(dir.0.join("link.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a link is refused");
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"keep me",
        "its target untouched"
    );
    let out = common::bin()
        .args(["history", "80", "--db"])
        .arg(dir.0.join("none.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "no database: exit 1");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("port-inspector record"),
        "says how to start the recorder"
    );
}

/// With no database, `history` prints the command that starts the recorder, and it runs as
/// printed: a database of this user's is written by this user (a `sudo` in front made root the
/// writer, who refuses another user's folder), and root is never told to use sudo (a machine may
/// have none: "sudo: not found").
#[cfg(unix)]
#[test]
fn the_printed_start_command_runs_as_printed() {
    let dir = TempDir::new("start");
    let db = dir.0.join("mine.db");
    let out = common::bin()
        .args(["history", "80", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "no database: exit 1");
    let err = String::from_utf8_lossy(&out.stderr);
    let command = err
        .split_once("start the recorder (")
        .and_then(|(_, rest)| rest.split_once("), or give"))
        .unwrap_or_else(|| panic!("the start command in: {err}"))
        .0;
    assert!(!command.starts_with("sudo"), "{command}");
    // Bounded, or it records until stopped.
    let run = std::process::Command::new("sh")
        .args(["-c", &format!("{command} --for 1")])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{command}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(db.is_file(), "{command} wrote its database");
}

#[test]
fn check_adds_what_the_recorder_knows_and_is_silent_without_it() {
    let dir = TempDir::new("check");
    let db = dir.db();
    let recorder = start_recorder(&db, 50);
    let ip = common::private_loopback();
    let h = common::holder::spawn("tcp", &format!("{ip}:0"));
    let pid = h.child.id();
    let port = h.port;
    wait_for(&db, port, "the holder is recorded", |t| {
        !spans(t).is_empty()
    });
    let target = format!("{ip}:{port}");
    let out = common::bin()
        .args(["check", &target, "--json"])
        .env("PORT_INSPECTOR_DB", &db)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = &v["recorded"];
    assert_eq!(
        rec["held_now"][0]["holders"][0]["pid"], pid,
        "the JSON carries the recorded holder: {v:#}"
    );
    let text = String::from_utf8(
        common::bin()
            .args(["check", &target])
            .env("PORT_INSPECTOR_DB", &db)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("held since") && text.contains(&format!("by holder (PID {pid}")),
        "the text says since when and by whom: {text}"
    );
    drop(stop(recorder));
    let none = dir.0.join("none.db");
    let text = String::from_utf8(
        common::bin()
            .args(["check", &target])
            .env("PORT_INSPECTOR_DB", &none)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        !text.contains("flight recorder"),
        "no database: nothing said: {text}"
    );
    assert!(!none.exists(), "check never makes a database");
    drop(h);
}

/// One journal entry in journald's native form, as a map (length-prefixed values included).
fn journal_fields(d: &[u8]) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let mut rest = d;
    while !rest.is_empty() {
        let line_end = rest.iter().position(|&b| b == b'\n').unwrap();
        let line = &rest[..line_end];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            out.insert(
                String::from_utf8_lossy(&line[..eq]).into_owned(),
                String::from_utf8_lossy(&line[eq + 1..]).into_owned(),
            );
            rest = &rest[line_end + 1..];
        } else {
            let key = String::from_utf8_lossy(line).into_owned();
            let len = usize::try_from(u64::from_le_bytes(
                rest[line_end + 1..line_end + 9].try_into().unwrap(),
            ))
            .unwrap();
            let value = &rest[line_end + 9..line_end + 9 + len];
            out.insert(key, String::from_utf8_lossy(value).into_owned());
            rest = &rest[line_end + 9 + len + 1..];
        }
    }
    out
}

/// A recorder polling every 50 ms that sends its journal entries to `journal`; in the network
/// namespace `net` (`--net=/proc/PID/ns/net`) when given.
fn start_recorder_with_journal(db: &Path, journal: &Path, net: Option<&str>) -> Recorder {
    let mut cmd = match net {
        Some(net) => {
            let mut c = std::process::Command::new("nsenter");
            c.arg(net).arg(common::bin().get_program());
            c
        }
        None => common::bin(),
    };
    Recorder(
        cmd.args(["record", "--interval", "50", "--for", "120", "--db"])
            .arg(db)
            .env("PORT_INSPECTOR_JOURNAL", journal)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// The holder example run with `args` in the network namespace `net` (nsenter's argument), once
/// it has printed its port.
fn holder_in(net: &str, args: &[&str]) -> common::Holder {
    let mut child = std::process::Command::new("nsenter")
        .arg(net)
        .arg(common::holder::path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = common::first_line(&mut child);
    let port = line
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the holder printed its port: {line:?}"));
    common::Holder { child, port }
}

/// A recorder in the network namespace `net` (nsenter's argument), once it records, in eBPF
/// mode (root: the tracepoints attach).
fn start_traced_recorder_in(db: &Path, net: &str) -> Recorder {
    let recorder = Recorder(
        std::process::Command::new("nsenter")
            .arg(net)
            .arg(common::bin().get_program())
            .args(["record", "--interval", "200", "--for", "120", "--db"])
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_until_recording(db);
    assert_eq!(
        history(db, &["1"])["latest_session"]["mode"],
        "traced",
        "root: the tracepoints are attached"
    );
    recorder
}

/// A network namespace of the test's own with its loopback up, alive while the returned child
/// lives, and the `nsenter` argument that enters it.
fn private_netns() -> (common::Holder, String) {
    let ns = common::Holder {
        child: std::process::Command::new("unshare")
            .args(["--net", "sh", "-c", "ip link set lo up && exec sleep 600"])
            .spawn()
            .unwrap(),
        port: 0,
    };
    let pid = ns.child.id();
    // Once it is `sleep`, the namespace is made and its loopback is up.
    let start = Instant::now();
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default() != "sleep\n" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "unshare --net made a namespace with its loopback up"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    (ns, format!("--net=/proc/{pid}/ns/net"))
}

#[test]
fn every_event_goes_to_the_journal_with_its_fields() {
    let dir = TempDir::new("journal");
    let db = dir.db();
    let sock_path = dir.0.join("journal.sock");
    let journal = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // As root (traced), in a network namespace of its own: the tracepoints see the whole
    // machine, and other suites' listeners would fill the journal's queue of ten ahead of this
    // one's entry (a full queue drops it). A normal user's recorder polls its own table.
    let ns = common::is_root().then(private_netns);
    let net = ns.as_ref().map(|(_, net)| net.as_str());
    let recorder = start_recorder_with_journal(&db, &sock_path, net);
    wait_until_recording(&db);
    let ip = common::private_loopback();
    let mut h = match net {
        Some(net) => holder_in(net, &["tcp", &format!("{ip}:0")]),
        None => common::holder::spawn("tcp", &format!("{ip}:0")),
    };
    let pid = h.child.id().to_string();
    let port = h.port.to_string();
    let wait_event = |event: &str| {
        let start = Instant::now();
        let mut buf = vec![0u8; 65_536];
        loop {
            assert!(
                start.elapsed() < common::PATIENCE,
                "a journal entry {event} for port {port} within {:?}; the database has: {:#?}",
                common::PATIENCE,
                try_history(&db, &[&port])
            );
            let Ok(n) = journal.recv(&mut buf) else {
                continue;
            };
            let f = journal_fields(&buf[..n]);
            if f.get("PORT") == Some(&port) && f.get("EVENT").map(String::as_str) == Some(event) {
                return f;
            }
        }
    };
    let f = wait_event("appeared");
    assert_eq!(f["PID"], pid, "the holder's PID: {f:?}");
    assert_eq!(f["COMM"], "holder", "its name");
    assert_eq!(f["PROTOCOL"], "tcp", "the protocol");
    assert_eq!(f["ADDRESS"], ip.to_string(), "the address");
    assert_eq!(f["SYSLOG_IDENTIFIER"], "port-inspector", "the identifier");
    assert!(
        f["MESSAGE"].contains("appeared, held by holder"),
        "a sentence: {f:?}"
    );
    drop(h.child.stdin.take());
    common::holder::wait_exit(&mut h, "the holder ends when its input closes");
    let f = wait_event("went");
    assert_eq!(f["PID"], pid, "the socket that went names who held it");
    drop(stop(recorder));
}

/// This process binds a Unix socket's path twice: the second is refused (EADDRINUSE, of no
/// port). The folder and the first socket, kept until dropped.
fn refused_unix_bind() -> (TempDir, std::os::unix::net::UnixListener) {
    let dir = TempDir::new("unix-bind");
    let path = dir.0.join("s");
    let first = std::os::unix::net::UnixListener::bind(&path).unwrap();
    assert!(
        std::os::unix::net::UnixListener::bind(&path).is_err(),
        "the path is in use"
    );
    (dir, first)
}

/// The refused binds of `pid` recorded without an address.
fn portless_failed_binds(db: &Path, pid: u32) -> Vec<Value> {
    history(db, &["--pid", &pid.to_string()])["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "failed_bind" && e["local"].is_null())
        .cloned()
        .collect()
}

/// Asserts that `failed` has PID `pid`'s bind of `ip:port`, refused with EADDRINUSE while
/// `holder_pid` held the port, with its protocol, process and command line.
fn assert_refused_in_use(
    failed: &[Value],
    pid: u64,
    (ip, port): (std::net::Ipv4Addr, u16),
    holder_pid: u64,
) {
    let e = failed
        .iter()
        .find(|e| e["who"]["pid"].as_u64() == Some(pid))
        .unwrap_or_else(|| panic!("the bind of PID {pid} is recorded: {failed:#?}"));
    assert_eq!(e["errno"], 98, "EADDRINUSE");
    assert_eq!(e["errno_name"], "EADDRINUSE", "and by its name");
    // Read by the kernel in the process at its bind: it exited at once, before any /proc
    // read could find it.
    // (Its first 128 bytes and an ellipsis when the path to the holder makes it longer.)
    let argv = format!("{} bound {ip}:{port}", common::holder::path().display());
    let got = e["who"]["cmdline"].as_str().unwrap_or_default();
    assert!(
        got == argv
            || (argv.len() > 128
                && got
                    .strip_suffix('…')
                    .is_some_and(|cut| argv.starts_with(cut))),
        "its command line, {argv:?}, though it is gone: {e:#}"
    );
    assert_eq!(e["protocol"], "tcp", "a stream socket's bind: TCP");
    assert_eq!(e["who"]["process"], "holder", "who tried");
    assert_eq!(
        e["local"],
        format!("{ip}:{port}"),
        "the address it asked for"
    );
    assert_eq!(
        e["held_by"][0]["pid"].as_u64(),
        Some(holder_pid),
        "who held the port then: {e:#}"
    );
}

#[test]
#[ignore = "needs root (loading the eBPF program: CAP_BPF, CAP_PERFMON); CI runs it (cargo test -- --include-ignored)"]
fn failed_binds_are_recorded_with_who_tried_why_and_who_held_the_port() {
    common::require(common::is_root(), "root, to load the eBPF program");
    let dir = TempDir::new("failed");
    let db = dir.db();
    let recorder = start_recorder(&db, 100);
    wait_until_recording(&db);
    let ip = common::private_loopback();
    let h = common::holder::spawn("tcp", &format!("{ip}:0"));
    let holder_pid = u64::from(h.child.id());
    let port = h.port;
    // 20 processes try the held port: each fails with EADDRINUSE.
    let mut tried = Vec::new();
    for _ in 0..20 {
        tried.push(refused_bind(None, "bound", &format!("{ip}:{port}")));
    }
    // A Unix socket's path already bound: a refused bind, but of no port (left out). The
    // privileged bind below comes after it in the kernel's ring buffer, so once that one is
    // recorded this one would be too.
    let _unix = refused_unix_bind();
    // One process dropped to nobody tries a privileged port: EACCES.
    let mut c = common::holder::as_user("nobody")
        .args(["bound", &format!("{ip}:80")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let denied = u64::from(c.id());
    assert!(
        !c.wait().unwrap().success(),
        "the privileged bind is refused"
    );
    // Asked by port and by process: `--failed` alone is every refused bind of the machine, and
    // other suites running beside this one can push ours out of its newest 200.
    let failed_here = |args: &[&str]| -> Vec<Value> {
        history(&db, args)["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["kind"] == "failed_bind"
                    && e["local"]
                        .as_str()
                        .is_some_and(|l| l.starts_with(&format!("{ip}:")))
            })
            .cloned()
            .collect()
    };
    let start = Instant::now();
    let failed = loop {
        let mut f = failed_here(&["--failed", &port.to_string()]);
        f.extend(failed_here(&["--pid", &denied.to_string()]));
        if f.len() >= 21 {
            break f;
        }
        assert!(
            start.elapsed() < common::PATIENCE,
            "21 failed binds recorded within {:?}, {} seen: {f:#?}",
            common::PATIENCE,
            f.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for pid in &tried {
        assert_refused_in_use(&failed, *pid, (ip, port), holder_pid);
    }
    let e = failed
        .iter()
        .find(|e| e["who"]["pid"].as_u64() == Some(denied))
        .unwrap_or_else(|| panic!("the privileged bind is recorded: {failed:#?}"));
    assert_eq!(e["errno"], 13, "EACCES");
    assert_eq!(e["errno_name"], "EACCES", "by its name");
    assert_eq!(e["who"]["user"], "nobody", "as whom");
    let unix = portless_failed_binds(&db, std::process::id());
    assert!(
        unix.is_empty(),
        "a Unix socket's refused bind is not recorded as a port's: {unix:#?}"
    );
    // The holder's own timeline has the binds refused while it held the port.
    let caused = failed_here(&["--pid", &holder_pid.to_string()]);
    for pid in &tried {
        assert!(
            caused
                .iter()
                .any(|e| e["who"]["pid"].as_u64() == Some(*pid)),
            "history --pid {holder_pid} (the holder) lists PID {pid}'s refused bind: {caused:#?}"
        );
    }
    let text = history_text(&db, &[&port.to_string()]);
    let first = failed
        .iter()
        .find(|e| e["who"]["pid"].as_u64() == Some(tried[0]))
        .unwrap();
    let command = format!("command: {}", first["who"]["cmdline"].as_str().unwrap());
    assert!(
        text.contains(&command),
        "the text says a refused bind's command line ({command}): {text}"
    );
    assert!(
        text.contains(&format!("refused bind: holder (PID {}", tried[0]))
            && text.contains("EADDRINUSE, while holder (PID"),
        "the port's timeline names the refused binds and the holder: {text}"
    );
    let out = stop(recorder);
    assert!(
        out.contains("through kernel tracepoints (eBPF)"),
        "the mode is said: {out}"
    );
    drop(h);
}

#[test]
#[ignore = "needs root (loading the eBPF program: CAP_BPF, CAP_PERFMON); CI runs it (cargo test -- --include-ignored)"]
fn listeners_of_20_ms_each_in_its_own_process_are_traced_with_their_pid() {
    common::require(common::is_root(), "root, to load the eBPF program");
    let dir = TempDir::new("traced");
    let db = dir.db();
    let recorder = start_recorder(&db, 200);
    wait_until_recording(&db);
    let ip = common::private_loopback();
    // 40 holders, one after another: each listens, says its port, lives 25 ms, ends (the
    // recorder's instants, kernel times made wall-clock ones, may differ by a millisecond: 25 ms
    // keeps "20 ms or more apart" a test of the instants, not of that millisecond).
    let listeners: Vec<(u64, u16)> = (0..40)
        .map(|_| {
            let (mut h, _) = common::holder::start(&["tcp", &format!("{ip}:0"), "--for", "0.025"]);
            // Its standard input kept open (wait closes it, which ends a holder at once): it
            // ends by itself after 25 ms.
            let stdin = h.child.stdin.take();
            assert!(h.child.wait().unwrap().success(), "the listener ran");
            drop(stdin);
            (u64::from(h.child.id()), h.port)
        })
        .collect();
    assert_eq!(listeners.len(), 40, "every child said its PID and port");
    for (pid, port) in &listeners {
        let t = wait_for(
            &db,
            *port,
            "the 20 ms listener is recorded, closed, with the PID that called listen",
            |t| {
                spans(t)
                    .iter()
                    .any(|s| s["end"] == "closed" && pids(s) == [*pid])
            },
        );
        // The kernel may give a port again to a later child (or to another test's socket on
        // another address): this child's span is the one on its address with its PID.
        let all: Vec<Value> = spans(&t)
            .into_iter()
            .filter(|s| s["local"] == format!("{ip}:{port}") && pids(s).contains(pid))
            .collect();
        assert_eq!(all.len(), 1, "one span of this listener: {t:#}");
        let s = &all[0];
        assert_eq!(pids(s), [*pid], "the PID that called listen: {s}");
        assert_eq!(s["holders"][0]["process"], "holder", "its name");
        assert_eq!(s["local"], format!("{ip}:{port}"), "its address");
        let (after, first, last, gone) = (
            s["after_ms"].as_u64().unwrap(),
            s["first_ms"].as_u64().unwrap(),
            s["last_ms"].as_u64().unwrap(),
            s["gone_ms"].as_u64().unwrap(),
        );
        assert!(
            after == first && last == gone && gone - first >= 20 && gone - first < 5_000,
            "the instants it started and stopped listening, 20 ms or more apart: {s}"
        );
    }
    let text = history_text(&db, &[&listeners[0].1.to_string()]);
    assert!(
        text.contains("appeared at ") && text.contains("closed at "),
        "exact instants said as such: {text}"
    );
    drop(stop(recorder));
}

/// A listen and a refused bind made by a program's worker thread are the program's: the recorder
/// names the process (what `ps` and the live table show), not the thread. The window's probes
/// run in a thread named "probe" and were recorded as a process "probe" (today's trial), so
/// `check` could not tell them from another program's.
#[test]
#[ignore = "needs root (loading the eBPF program: CAP_BPF, CAP_PERFMON); CI runs it (cargo test -- --include-ignored)"]
fn a_listen_and_a_refused_bind_by_a_named_thread_are_its_process_s() {
    common::require(common::is_root(), "root, to load the eBPF program");
    let dir = TempDir::new("thread");
    let db = dir.db();
    let recorder = start_recorder(&db, 200);
    wait_until_recording(&db);
    assert_eq!(
        history(&db, &["1"])["latest_session"]["mode"],
        "traced",
        "root: the tracepoints are attached"
    );
    let ip = common::private_loopback();
    // A listener whose thread "probe" makes it, gone after 25 ms (before /proc could be read).
    let (mut h, _) = common::holder::start(&[
        "tcp",
        &format!("{ip}:0"),
        "--thread",
        "probe",
        "--for",
        "0.025",
    ]);
    let stdin = h.child.stdin.take();
    assert!(h.child.wait().unwrap().success(), "the listener ran");
    drop(stdin);
    let (pid, port) = (u64::from(h.child.id()), h.port);
    // A bind refused to a thread "probe": this test holds the port.
    let held = std::net::TcpListener::bind((ip, 0)).unwrap();
    let taken = held.local_addr().unwrap().port();
    let refused = std::process::Command::new(common::holder::path())
        .args(["bound", &format!("{ip}:{taken}"), "--thread", "probe"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let refused_pid = u64::from(refused.id());
    assert!(
        !refused.wait_with_output().unwrap().status.success(),
        "the bind is refused"
    );
    let t = wait_for(&db, port, "the thread's listener is recorded", |t| {
        spans(t).iter().any(|s| pids(s) == [pid])
    });
    let span = spans(&t).into_iter().find(|s| pids(s) == [pid]).unwrap();
    assert_eq!(
        span["holders"][0]["process"], "holder",
        "the process: {span}"
    );
    let t = wait_for(&db, taken, "the thread's refused bind is recorded", |t| {
        refused_to(t, refused_pid)
    });
    let e = t["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "failed_bind" && e["who"]["pid"].as_u64() == Some(refused_pid))
        .unwrap();
    assert_eq!(e["who"]["process"], "holder", "the process: {e}");
    drop(held);
    drop(stop(recorder));
}

#[test]
#[ignore = "needs root (loading the eBPF program: CAP_BPF, CAP_PERFMON); CI runs it (cargo test -- --include-ignored)"]
fn a_refused_udp_bind_is_recorded_as_udp() {
    common::require(common::is_root(), "root, to load the eBPF program");
    let dir = TempDir::new("udp");
    let db = dir.db();
    let recorder = start_recorder(&db, 200);
    wait_until_recording(&db);
    let ip = common::private_loopback();
    let h = common::holder::spawn("udp", &format!("{ip}:0"));
    let port = h.port;
    let tried = refused_bind(None, "udp", &format!("{ip}:{port}"));
    let start = Instant::now();
    let e = loop {
        let t = history(&db, &[&port.to_string()]);
        if let Some(e) = t["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "failed_bind")
        {
            break e.clone();
        }
        assert!(
            start.elapsed() < common::PATIENCE,
            "the refused bind is recorded within {:?}: {t:#}",
            common::PATIENCE
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(e["who"]["pid"].as_u64(), Some(tried), "who tried: {e:#}");
    assert_eq!(e["protocol"], "udp", "a datagram socket's bind: UDP");
    assert_eq!(e["errno"], 98, "EADDRINUSE");
    assert_eq!(
        e["held_by"][0]["pid"].as_u64(),
        Some(u64::from(h.child.id())),
        "the UDP holder held it then: {e:#}"
    );
    let text = history_text(&db, &[&port.to_string()]);
    assert!(
        text.contains(&format!("on UDP {ip}:{port}, EADDRINUSE")),
        "the protocol in words: {text}"
    );
    drop(stop(recorder));
    drop(h);
}

/// A journal nobody reads fills after `net.unix.max_dgram_qlen` entries: the recorder goes on
/// (records the sockets that come and go after that, stops on SIGTERM) and counts what the
/// journal lost. Sends used to wait for room: the recorder stood still at the first full queue.
#[test]
fn a_journal_nobody_reads_never_holds_the_recorder_up() {
    let dir = TempDir::new("journal-full");
    let db = dir.db();
    let sock_path = dir.0.join("journal.sock");
    // Bound for the whole test and never read.
    let _journal = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    let qlen: u64 = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let recorder = start_recorder_with_journal(&db, &sock_path, None);
    wait_until_recording(&db);
    let ip = common::private_loopback();
    // More listeners than the queue holds; the last one's port is printed once all listen.
    let n = qlen + 20;
    // One holder of n listeners, allowed the descriptors for them.
    let at = format!("{ip}:0");
    let mut prlimit = std::process::Command::new("prlimit");
    prlimit
        .arg(format!("--nofile={}", n + 64))
        .arg("--")
        .arg(common::holder::path());
    let args: Vec<&str> = (0..n).flat_map(|_| ["tcp", at.as_str()]).collect();
    let (h, line) = common::holder::start_as(prlimit, &args);
    let port: u16 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert_ne!(port, 0, "the holder holds {n} listeners");
    // Each appeared is sent in order, the last port's after all others.
    wait_for(&db, port, "the last listener is recorded", |t| {
        spans(t).iter().any(|s| s["state"] == "LISTEN")
    });
    drop(h);
    wait_for(
        &db,
        port,
        "the listener is recorded as closed though the journal is full",
        |t| spans(t).iter().any(|s| s["end"] == "closed"),
    );
    let out = stop(recorder);
    let dropped: u64 = out
        .split("; ")
        .find_map(|p| {
            p.split_once(" journal entries were dropped because the journal's queue was full")
        })
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("the stop line counts the dropped journal entries: {out}"));
    // At most qlen + 1 datagrams fit a queue nobody reads; n appeared events were sent.
    assert!(
        dropped >= n - qlen - 1,
        "at least {} of the {n} entries dropped: {dropped}; {out}",
        n - qlen - 1
    );
}

/// A holder of a `[::]` listener in the network namespace `net` (nsenter's argument) for each
/// of `only`, with IPV6_V6ONLY on (1) or off (0), and their ports, in order.
fn v6_listeners(net: &str, only: &[u8]) -> (Vec<common::Holder>, Vec<u16>) {
    let holders: Vec<common::Holder> = only
        .iter()
        .map(|&o| {
            holder_in(
                net,
                &[
                    "tcp",
                    "[::]:0",
                    "--v6only",
                    if o == 1 { "on" } else { "off" },
                ],
            )
        })
        .collect();
    let ports = holders.iter().map(|h| h.port).collect();
    (holders, ports)
}

/// A traced IPv6 listener's IPV6_V6ONLY is read in the kernel at listen: stored with the span
/// the instant it starts, never "unknown until the next read of the table" (30 s later); one
/// already there when the recorder starts has it from the table's read (INET_DIAG_SKV6ONLY).
/// `history` says it, text and JSON: `[::]:PORT (IPv6 only)` or `(dual-stack)`. The flag
/// matters on the wildcard `[::]` only (a bind to ::1 sets it), so the recorder and the
/// listeners share a network namespace of the test's own.
#[test]
#[ignore = "needs root (loading the eBPF program: CAP_BPF, CAP_PERFMON; a network namespace); CI runs it (cargo test -- --include-ignored)"]
fn a_traced_ipv6_listener_is_stored_with_its_v6_only() {
    common::require(common::is_root(), "root, to load the eBPF program");
    let (ns, net) = private_netns();
    let dir = TempDir::new("v6only");
    let db = dir.db();
    // A dual-stack listener there before the recorder: named by the first read of the table.
    let (before, before_ports) = v6_listeners(&net, &[0]);
    let recorder = start_traced_recorder_in(&db, &net);
    // One listener on [::] with IPV6_V6ONLY on, one with it off, traced at their listen.
    let (holders, ports) = v6_listeners(&net, &[1, 0]);
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    for (port, want) in [(ports[0], 1), (ports[1], 0)] {
        wait_for(&db, port, "the IPv6 listener is recorded", |t| {
            spans(t).iter().any(|s| s["state"] == "LISTEN")
        });
        let v6_only: Option<i64> = conn
            .query_row(
                "SELECT v6_only FROM spans WHERE port = ?1 AND ip = '::'",
                [port],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            v6_only,
            Some(want),
            "[::]:{port} stored with IPV6_V6ONLY {want} at its listen"
        );
    }
    // What history says of each: the traced two and the one the table's read found.
    for (port, only) in [
        (ports[0], true),
        (ports[1], false),
        (before_ports[0], false),
    ] {
        let t = wait_for(&db, port, "the IPv6 listener is recorded", |t| {
            spans(t).iter().any(|s| s["state"] == "LISTEN")
        });
        let span = spans(&t)
            .into_iter()
            .find(|s| s["state"] == "LISTEN")
            .unwrap();
        assert_eq!(span["v6_only"], only, "JSON v6_only of [::]:{port}: {span}");
        let text = history_text(&db, &[&port.to_string()]);
        let said = format!(
            "[::]:{port} ({})",
            if only { "IPv6 only" } else { "dual-stack" }
        );
        assert!(text.contains(&said), "history says {said}:\n{text}");
    }
    drop((holders, before, conn));
    drop(stop(recorder));
    drop(ns);
}

/// `check TARGET MORE…` run in the network namespace `net` (nsenter's argument), the recorder's
/// database `db` its recollection's.
fn check_in(net: &str, db: &Path, target: &str, more: &[&str]) -> std::process::Output {
    std::process::Command::new("nsenter")
        .arg(net)
        .arg(common::bin().get_program())
        .args(["check", target])
        .args(more)
        .env("PORT_INSPECTOR_DB", db)
        .output()
        .unwrap()
}

/// How many entries of `kind` (`held`, `failed_bind`) of the timeline are Port Inspector's: a
/// span held only by port-inspector processes (its end written or not yet), a bind
/// port-inspector was refused.
fn port_inspector_s(t: &Value, kind: &str) -> usize {
    t["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == kind
                && if kind == "held" {
                    e["holders"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|h| h["process"] == "port-inspector")
                } else {
                    e["who"]["process"] == "port-inspector"
                }
        })
        .count()
}

/// Whether the timeline has a bind refused to `pid`.
fn refused_to(t: &Value, pid: u64) -> bool {
    t["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "failed_bind" && e["who"]["pid"].as_u64() == Some(pid))
}

/// `check`'s recollection leaves out Port Inspector's own probes, through a real recorder: three
/// checks of a free port (each binds and listens a moment), of a held port (each refused), and
/// of the same port with `--reuseport` (each joins the holder's SO_REUSEPORT group a moment) are
/// no holder, no change of hands and no refused bind of the port's, while `history` lists every
/// one of them (they happened) and another program's refused bind is still the last one named.
/// The recorder, the holder and the checks share a network namespace of the test's own, so no
/// other suite's sockets or binds reach this database.
#[test]
#[ignore = "needs root (loading the eBPF program: CAP_BPF, CAP_PERFMON; a network namespace); CI runs it (cargo test -- --include-ignored)"]
fn a_check_s_recollection_leaves_out_port_inspector_s_own_probes() {
    common::require(common::is_root(), "root, to load the eBPF program");
    let (ns, net) = private_netns();
    let dir = TempDir::new("own-probes");
    let db = dir.db();
    let recorder = start_traced_recorder_in(&db, &net);
    let ip = common::private_loopback();
    // A holder others may join: a check with --reuseport binds and listens beside it.
    let h = holder_in(&net, &["tcp", &format!("{ip}:0"), "--reuseport"]);
    let (holder_pid, held) = (u64::from(h.child.id()), h.port);
    // Nothing else listens in the namespace: a port the kernel gave out elsewhere is free here.
    let free = std::iter::repeat_with(common::free_tcp_port)
        .find(|&p| p != held)
        .unwrap();
    // Another program refused on the held port, before the checks: the last refusal not ours.
    let other_pid = refused_bind(Some(&net), "bound", &format!("{ip}:{held}"));
    let check = |port: u16, more: &[&str]| check_in(&net, &db, &format!("{ip}:{port}"), more);
    for _ in 0..3 {
        assert_eq!(check(free, &[]).status.code(), Some(0), "the free port");
        assert_eq!(check(held, &[]).status.code(), Some(1), "the held port");
        assert_eq!(
            check(held, &["--reuseport"]).status.code(),
            Some(0),
            "the held port, joining its SO_REUSEPORT group"
        );
    }
    wait_for(
        &db,
        free,
        "history lists the three checks' listens on the free port",
        |t| port_inspector_s(t, "held") >= 3,
    );
    wait_for(
        &db,
        held,
        "history lists the holder, the other program's refused bind, and the checks' joins and refused binds",
        |t| {
            spans(t).iter().any(|s| pids(s) == [holder_pid])
                && refused_to(t, other_pid)
                && port_inspector_s(t, "held") >= 3
                && port_inspector_s(t, "failed_bind") >= 3
        },
    );
    let text = history_text(&db, &[&held.to_string()]);
    assert!(
        text.contains("refused bind: port-inspector (PID"),
        "history's text says the checks' refused binds: {text}"
    );

    // The held port's recollection: the holder, one change of hands, the other's refusal.
    let out = check(held, &["--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = &v["recorded"];
    let held_now = rec["held_now"].as_array().unwrap();
    let shown = format!("{rec:#}\nhistory: {:#}", history(&db, &[&held.to_string()]));
    assert!(
        held_now.len() == 1 && pids(&held_now[0]) == [holder_pid],
        "held now: the holder alone: {shown}"
    );
    assert_eq!(
        rec["changes_last_hour"], 1,
        "the holder's arrival is the one change of hands: {shown}"
    );
    assert_eq!(
        rec["last_refused"]["who"]["pid"].as_u64(),
        Some(other_pid),
        "the last refused bind is the other program's, not a check's: {shown}"
    );
    let text = String::from_utf8(check(held, &[]).stdout).unwrap();
    assert!(
        text.contains(&format!("Recorded: TCP {ip}:{held} held since"))
            && text.contains(&format!("by holder (PID {holder_pid}")),
        "the text says the holder: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("Recorded: the last refused bind here at ")
                && l.contains(&format!(": holder (PID {other_pid}"))
                && l.matches("refused bind").count() == 1),
        "and the other program's refusal: {text}"
    );
    assert!(
        !text.contains("changed hands") && !text.contains("port-inspector (PID"),
        "and nothing of the checks: {text}"
    );

    // The free port: the recorder has only the checks' probes there, so nothing to say.
    let out = check(free, &["--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = history(&db, &[&free.to_string()]);
    assert!(
        v["recorded"].is_null(),
        "nothing recorded: {:#}\nhistory: {t:#}",
        v["recorded"]
    );
    let text = String::from_utf8(check(free, &[]).stdout).unwrap();
    assert!(
        !text.contains("flight recorder") && !text.contains("Recorded:"),
        "check of the free port says nothing from the recorder: {text}\nhistory: {t:#}"
    );
    drop(h);
    drop(stop(recorder));
    drop(ns);
}
