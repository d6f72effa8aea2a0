//! `watch PORT --until …`: the streamed events of a real port that is taken, changes owner and
//! frees, read line by line from the running command (no sleeps: each step waits for the line
//! that says it).
#![cfg(target_os = "linux")] // a child sharing the socket outliving its parent; Wine's table of it is not the point
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::io::BufRead as _;
use std::process::Stdio;

fn next(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> serde_json::Value {
    let line = lines.next().expect("another event").unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn pids(v: &serde_json::Value) -> Vec<u64> {
    v["state"]["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["pid"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_port_taken_then_by_another_then_freed_streams_each_change() {
    let (mut holder, child_pid) = common::holder::spawn_with_child("tcp", "127.0.0.1:0");
    let port = holder.port;
    let parent = holder.child.id();
    let mut watch = common::bin()
        .args([
            "watch",
            &format!("127.0.0.1:{port}"),
            "--until",
            "free",
            "--json",
        ])
        .args(["--interval", "0.1", "--timeout", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    let start = next(&mut lines);
    assert_eq!(start["kind"], "start", "{start}");
    assert_eq!(start["state"]["verdict"], "not_bindable", "{start}");
    let mut want = vec![u64::from(parent), u64::from(child_pid)];
    want.sort_unstable();
    assert_eq!(pids(&start), want, "both holders: {start}");
    assert_eq!(start["met"], false, "{start}");

    // The parent ends; its child still holds the socket: the owner changed, the port is taken.
    // (wait() would close the shared standard input, ending the child too: keep it open.)
    let stdin = holder.child.stdin.take();
    holder.child.kill().unwrap();
    holder.child.wait().unwrap();
    let changed = next(&mut lines);
    assert_eq!(changed["kind"], "change", "{changed}");
    assert_eq!(changed["state"]["verdict"], "not_bindable", "{changed}");
    assert_eq!(pids(&changed), vec![u64::from(child_pid)], "{changed}");

    // The child ends (its standard input, shared with the parent, closes): free, and done.
    drop(stdin);
    let freed = next(&mut lines);
    assert_eq!(freed["state"]["verdict"], "bindable", "{freed}");
    assert_eq!(freed["met"], true, "{freed}");
    assert!(lines.next().is_none(), "nothing after the condition");
    assert_eq!(watch.wait().unwrap().code(), Some(0), "met: exit 0");
}

#[test]
fn a_watch_that_times_out_exits_1_and_text_names_the_holder() {
    let holder = common::holder::spawn("tcp", "127.0.0.1:0");
    let out = common::bin()
        .args([
            "watch",
            &format!("127.0.0.1:{}", holder.port),
            "--until",
            "free",
        ])
        .args(["--interval", "0.1", "--timeout", "0.5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(text.lines().count(), 1, "one line, no change: {text}");
    assert!(
        text.contains(&format!(
            "taken by {} (PID {})",
            common::holder::image(),
            holder.child.id()
        )),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("still not free"),
        "{:?}",
        out.stderr
    );
    // Already taken: --until taken is met at once.
    let out = common::bin()
        .args([
            "watch",
            &format!("127.0.0.1:{}", holder.port),
            "--until",
            "taken",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let bad = common::bin()
        .args(["watch", "70000", "--until", "free"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "bad input");
}
