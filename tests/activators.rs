//! Holders that listen for a service and start it on demand, met for real: a
//! `systemd-socket-activate` process on a private loopback address is named as the socket
//! activator it is, with the program it starts, in `check`, `who`, `list` and the report.
#![cfg(target_os = "linux")] // systemd-socket-activate: a Linux program.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ACTIVATE: &str = "/usr/bin/systemd-socket-activate";

#[test]
#[ignore = "needs systemd-socket-activate (Debian package systemd); CI runs it (cargo test -- --include-ignored)"]
fn systemd_socket_activate_is_named_with_the_program_it_starts() {
    common::require(
        std::path::Path::new(ACTIVATE).exists(),
        "systemd-socket-activate (apt-get install systemd)",
    );
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let at = format!("{ip}:{port}");
    let mut child = Command::new(ACTIVATE)
        .args(["-l", &at, "sleep", "120"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Poll, with a deadline, until its socket is there.
    let start = Instant::now();
    let who = loop {
        let (_, v) = common::json(&["who", &port.to_string(), "--json"]);
        if v["owners"]
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o["pid"] == pid))
        {
            break v;
        }
        assert!(start.elapsed() < common::PATIENCE, "never listened: {v}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = |args: &[&str]| {
        String::from_utf8(common::bin().args(args).output().unwrap().stdout).unwrap()
    };
    let (_, check) = common::json(&["check", &at, "--json"]);
    let check_text = run(&["check", &at]);
    let report = run(&["report", &at]);
    let list = run(&["list"]);
    let who_text = run(&["who", &port.to_string()]);
    let _ = child.kill();
    let _ = child.wait();

    // The owner carries the proven holder: executable /usr/bin/systemd-socket-activate, root's.
    let o = who["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["pid"] == pid)
        .unwrap();
    assert_eq!(
        o["process"], "systemd-socket-activate",
        "the whole name: {o}"
    );
    assert_eq!(o["holder"]["kind"], "socket_activator", "{o}");
    assert_eq!(o["holder"]["verified"], true, "{o}");
    let detail = "starts sleep 120 on the first connection, which then holds this socket in the same process";
    assert_eq!(o["holder"]["detail"], detail, "{o}");
    // check: the finding, and ending it is offered (it frees the port).
    let e = &check["explanation"];
    let known = e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "known_holder")
        .unwrap_or_else(|| panic!("{e}"));
    let sentence = format!(
        "PID {pid} is a socket activator: systemd-socket-activate listens on this port for a program it starts when connections come. Here it {detail}."
    );
    assert_eq!(known["text"], sentence.as_str(), "{known}");
    assert!(
        e["fixes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "end_processes" && f["pids"][0] == pid),
        "ending the activator frees the port: {e}"
    );
    for (what, text) in [("check", &check_text), ("report", &report)] {
        assert!(text.contains(&sentence), "{what}: {text}");
        assert!(text.contains(&format!("kill {pid}")), "{what}: {text}");
    }
    for (what, text) in [("list", &list), ("who", &who_text)] {
        assert!(
            text.lines()
                .any(|l| l.contains(&at) && l.contains("systemd-socket-activate")),
            "{what}: {text}"
        );
    }
}
