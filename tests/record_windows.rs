//! The flight recorder on Windows (run under Wine 10 in CI): in polling mode, reading the IP
//! Helper tables, a real Windows process's listener (examples/holder.rs built for Windows) is
//! recorded with its PID and image name from when it appeared to when it closed, and `history`
//! reads it back — as JSON and as the sentence a user reads. Every wait polls with a deadline.
#![cfg(windows)] // Linux's recorder has tests/record.rs; this is what polling gives on Windows
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The test's own folder, removed when dropped.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The recorder, ended when dropped.
struct Recorder(Child);

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `history ARGS --json` over the last 10 minutes, or the error while there is no database yet.
fn history(db: &Path, args: &[&str]) -> Result<Value, String> {
    common::history_json(db, args)
}

/// Polls `history PORT --json` until `ok` holds of its timeline.
fn wait_for(db: &Path, port: u16, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let t = history(db, &[&port.to_string()]);
        if let Ok(t) = &t
            && ok(t)
        {
            return t.clone();
        }
        assert!(
            start.elapsed() < common::PATIENCE,
            "{what} within {:?}; the last answer: {t:?}",
            common::PATIENCE
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The span of `port`'s timeline held by `pid`.
fn span_of(t: &Value, pid: u32) -> Option<Value> {
    t["entries"]
        .as_array()?
        .iter()
        .find(|e| {
            e["kind"] == "held"
                && e["holders"]
                    .as_array()
                    .is_some_and(|hs| hs.iter().any(|h| h["pid"] == pid))
        })
        .cloned()
}

#[test]
fn a_windows_process_s_listener_is_recorded_with_its_pid_image_and_times() {
    let dir = Dir(std::env::temp_dir().join(format!("pi-record-win-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir(&dir.0).unwrap();
    let db = dir.0.join("record.db");
    let recorder = Recorder(
        common::bin()
            .args(["record", "--db"])
            .arg(&db)
            .args(["--interval", "100", "--for", "300"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Recording once its session's heartbeat moved on: a socket made after that appeared then.
    let start = Instant::now();
    while !history(&db, &["1"]).is_ok_and(|t| {
        let s = &t["latest_session"];
        s["running"] == true && s["last_ms"].as_u64() > s["started_ms"].as_u64()
    }) {
        assert!(
            start.elapsed() < common::PATIENCE,
            "the recorder starts recording"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let holder = common::holder::spawn("tcp", "127.0.0.1:0");
    let (pid, port) = (holder.child.id(), holder.port);
    let t = wait_for(&db, port, "the holder's listener recorded", |t| {
        span_of(t, pid).is_some()
    });
    let span = span_of(&t, pid).unwrap();
    assert_eq!(span["protocol"], "tcp", "{span:#}");
    assert_eq!(span["local"], format!("127.0.0.1:{port}"), "{span:#}");
    assert_eq!(span["state"], "LISTEN", "{span:#}");
    let holder_row = &span["holders"][0];
    assert!(
        holder_row["process"]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case("holder.exe")),
        "the Windows image name: {holder_row:#}"
    );
    assert!(
        span["after_ms"].as_u64().is_some(),
        "it appeared while the recorder ran (between two reads), not before it: {span:#}"
    );

    drop(holder);
    let t = wait_for(&db, port, "the listener's end recorded", |t| {
        span_of(t, pid).is_some_and(|s| s["end"] == "closed")
    });
    let span = span_of(&t, pid).unwrap();
    let (first, gone) = (
        span["first_ms"].as_u64().unwrap(),
        span["gone_ms"].as_u64().unwrap(),
    );
    assert!(gone > first, "it ended after it began: {span:#}");

    // The sentence a user reads names the holder by its image and PID.
    let out = common::bin()
        .args(["history", &port.to_string(), "--since", "10m", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "history answers");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("held by holder.exe (PID {pid})")),
        "{text}"
    );
    assert!(
        text.contains("Recorded by polling"),
        "the mode and what it cannot see: {text}"
    );
    drop(recorder);
}
