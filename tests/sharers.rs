//! Every process that shares a socket is named and ended, whatever their relation: the orphaned
//! workers of a killed master (siblings re-parented to PID 1, none a parent of another) and a
//! process that was sent the socket over a Unix socket (SCM_RIGHTS). Real processes, real
//! sockets on a private loopback address.
#![cfg(target_os = "linux")] // SCM_RIGHTS and re-parenting to PID 1: Unix facts, /proc: Linux.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// PIDs this test started that are not its children any more (orphans): killed by PID at the end.
struct Strays(Vec<u32>);

impl Drop for Strays {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if let Some(p) = rustix::process::Pid::from_raw(pid.cast_signed()) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn holder(
    args: &[&str],
) -> (
    Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    let mut child = Command::new(common::holder::path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Every PID `who PORT --json` names for the port's sockets on `ip` (another program may use the
/// same port number on another address).
fn who_pids(ip: std::net::Ipv4Addr, port: u16) -> Vec<u32> {
    let (code, v) = common::json(&["who", &port.to_string(), "--json"]);
    assert_eq!(code, Some(0), "who: {v}");
    let mut pids: Vec<u32> = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["local"] == format!("{ip}:{port}"))
        .flat_map(|o| o["pids"].as_array().unwrap().iter())
        .map(|p| u32::try_from(p.as_u64().unwrap()).unwrap())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// `check`'s fix and `end --dry-run`'s plan both name every PID in `want`; `end` ends them all and
/// the port is free.
fn every_view_covers(ip: std::net::Ipv4Addr, port: u16, want: &[u32]) {
    let mut want = want.to_vec();
    want.sort_unstable();
    assert_eq!(who_pids(ip, port), want, "who names every sharer");
    let at = format!("{ip}:{port}");
    let (code, check) = common::json(&["check", &at, "--json"]);
    assert_eq!(code, Some(1), "in use: {check}");
    let fix = check["explanation"]["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "end_processes")
        .unwrap_or_else(|| panic!("an end_processes fix: {check}"));
    let mut pids: Vec<u32> = fix["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u32::try_from(p.as_u64().unwrap()).unwrap())
        .collect();
    pids.sort_unstable();
    assert_eq!(pids, want, "check's fix ends every sharer: {fix}");
    let text = common::bin().args(["check", &at]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for p in &want {
        assert!(
            text.contains(&p.to_string()),
            "check's text names PID {p}: {text}"
        );
    }
    // Orphaned siblings, a process sent the socket: none is the other's child.
    assert!(!text.contains("child"), "no relation claimed: {text}");
    let plan = common::bin()
        .args([
            "end",
            &port.to_string(),
            "--host",
            &ip.to_string(),
            "--dry-run",
        ])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout);
    for p in &want {
        assert!(
            plan.contains(&p.to_string()),
            "end's plan names PID {p}: {plan}"
        );
    }
    let out = common::bin()
        .args(["end", &port.to_string(), "--host", &ip.to_string(), "--yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "end: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    while want.iter().any(|&p| alive(p)) {
        assert!(start.elapsed() < common::PATIENCE, "every sharer ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(common::is_free(ip, port), "the port is free after end");
}

#[test]
fn orphaned_workers_of_a_killed_master_are_all_named_and_ended() {
    let ip = common::private_loopback();
    let (mut master, mut lines) = holder(&["tcp", &format!("{ip}:0"), "--children", "3"]);
    let line = lines.next().unwrap().unwrap();
    let words: Vec<u32> = line
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    let (port, workers) = (u16::try_from(words[0]).unwrap(), words[1..].to_vec());
    assert_eq!(workers.len(), 3, "{line}");
    let _strays = Strays(workers.clone());
    // The master dies at once; its workers, siblings, are re-parented and keep the socket.
    // (`wait` closes the standard input it holds, which the workers share and end with.)
    let _workers_stdin = master.stdin.take();
    master.kill().unwrap();
    master.wait().unwrap();
    for &w in &workers {
        let stat = std::fs::read_to_string(format!("/proc/{w}/stat")).unwrap();
        let ppid: u32 = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_ne!(ppid, master.id(), "worker {w} was re-parented");
    }
    every_view_covers(ip, port, &workers);
    drop(master);
}

#[test]
fn a_process_sent_the_socket_over_a_unix_socket_is_named_and_ended() {
    let ip = common::private_loopback();
    let dir = std::env::temp_dir().join(format!("pi-pass-{}-{}", std::process::id(), ip));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pass.sock");
    let path = path.to_str().unwrap();
    let (mut receiver, mut said) = holder(&["receive", path]);
    assert_eq!(said.next().unwrap().unwrap(), "ready");
    let (mut sender, mut lines) = holder(&["tcp", &format!("{ip}:0"), "--pass", path]);
    let port: u16 = lines.next().unwrap().unwrap().trim().parse().unwrap();
    assert_eq!(said.next().unwrap().unwrap(), "got", "the socket arrived");
    // Neither is the other's parent or child: the socket reached the receiver by SCM_RIGHTS.
    every_view_covers(ip, port, &[sender.id(), receiver.id()]);
    let _ = sender.wait();
    let _ = receiver.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A socket held by a process and its forked child: `who`, `list` and `scan` all say "+1
/// sharing" beside the holder (`list` and `scan` named only the first process).
#[test]
fn who_list_and_scan_say_how_many_share_a_socket() {
    let ip = common::private_loopback();
    let (holder, child) = common::holder::spawn_with_child("tcp", &format!("{ip}:0"));
    let _stray = Strays(vec![child]);
    let port = holder.port.to_string();
    let at = format!("{ip}:{port}");
    let run = |args: &[&str]| {
        let out = common::bin().args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let range = format!("{port}-{port}");
    for (what, out) in [
        ("who", run(&["who", &port, "--host", &ip.to_string()])),
        ("list", run(&["list", "--port", &port])),
        ("scan", run(&["scan", &range, "--host", &ip.to_string()])),
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(&at) || (what == "scan" && l.starts_with(&port)))
            .unwrap_or_else(|| panic!("{what} shows {at}: {out}"));
        assert!(line.contains("+1 sharing"), "{what}: {line}\n{out}");
    }
    drop(holder);
}
