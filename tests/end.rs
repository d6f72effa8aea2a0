//! `end PORT`: every process sharing the port's socket is ended, parent first, and the port is
//! bound again to prove it; a dry run ends nothing; without a terminal and without --yes it
//! refuses; a container's init (PID 1 of a private PID namespace) is never ended.
#![cfg(target_os = "linux")] // pidfd, /proc, unshare: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A holder listening on `ip` and a child of it sharing the socket; "PORT CHILD" is its line.
/// The child ends when signalled or when the test ends (its standard input closes).
fn parent_and_child(ip: std::net::Ipv4Addr) -> (common::Holder, String) {
    common::holder::start(&["tcp", &format!("{ip}:0"), "--child"])
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .and_then(|i| s[i + 1..].split_whitespace().next())
            .is_some_and(|st| st != "Z")
    })
}

#[test]
fn a_parent_and_its_child_sharing_a_listener_are_both_ended_and_the_port_binds() {
    let ip = common::private_loopback();
    let (mut h, line) = parent_and_child(ip);
    let child: u32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let parent = h.child.id();
    let (code, v) = common::json(&[
        "end",
        &h.port.to_string(),
        "--host",
        &ip.to_string(),
        "--yes",
        "--json",
    ]);
    assert_eq!(code, Some(0), "free afterwards: {v}");
    let targets: Vec<u64> = v["plan"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(
        targets,
        [u64::from(parent), u64::from(child)],
        "parent first: {v}"
    );
    assert_eq!(v["after"]["kind"], "free", "proven by a bind: {v}");
    let _ = h.child.wait();
    let start = Instant::now();
    while alive(child) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "child {child} ended"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::net::TcpListener::bind((ip, h.port)).expect("the port binds afterwards");
}

#[test]
fn a_dry_run_ends_nothing_and_no_terminal_without_yes_refuses() {
    let ip = common::private_loopback();
    let (h, line) = parent_and_child(ip);
    let child: u32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let port = h.port.to_string();
    let host = ip.to_string();
    let out = common::bin()
        .args(["end", &port, "--host", &host, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "a dry run");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("PID {}", h.child.id())) && text.contains(&format!("PID {child}")),
        "shows every PID it would end: {text}"
    );
    let out = common::bin()
        .args(["end", &port, "--host", &host])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "refused without a terminal");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("give --yes"),
        "says how"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(alive(h.child.id()) && alive(child), "nothing was ended");
    // The child has no parent-death signal: end it through the tool.
    let out = common::bin()
        .args(["end", &port, "--host", &host, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "cleaned up");
}

#[test]
#[ignore = "needs root: a private PID namespace; CI runs it (cargo test -- --include-ignored)"]
fn the_init_of_a_private_pid_namespace_is_refused() {
    common::require(common::is_root(), "root, for a private PID namespace");
    let ip = common::private_loopback();
    let at = format!("{ip}:0");
    let mut child = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            // Killing unshare must end the namespace's init too, or it outlives the suite and
            // holds its output pipe open for ten minutes.
            "--kill-child",
            "--mount-proc",
        ])
        .arg(common::holder::path())
        .args(["tcp", &at])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let port = common::first_line(&mut child);
    let (code, v) = common::json(&["end", &port, "--host", &ip.to_string(), "--yes", "--json"]);
    assert_eq!(code, Some(2), "refused: {v}");
    assert_eq!(
        v["targets"][0]["refused"]["kind"], "namespace_init",
        "the reason, typed: {v}"
    );
    let out = common::bin()
        .args(["end", &port, "--host", &ip.to_string(), "--dry-run"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("PID 1 of its own PID namespace"), "{text}");
}

/// The plan shows everything that dies with each process: its user, its command line and every
/// other socket it holds, TCP and UDP (the review: the dialog showed a name and a PID only).
#[test]
fn the_plan_lists_each_processs_other_ports_user_and_command() {
    let ip = common::private_loopback().to_string();
    let at = format!("{ip}:0");
    let (holder, line) = common::holder::start(&["tcp", &at, "tcp", &at, "udp", &at]);
    let ports: Vec<u16> = line
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let (code_, v) = common::json(&["end", &ports[0].to_string(), "--dry-run", "--json"]);
    assert_eq!(code_, Some(0), "{v}");
    let t = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"].as_u64() == Some(u64::from(holder.child.id())))
        .unwrap_or_else(|| panic!("the holder is in the plan: {v}"));
    let others = t["other_sockets"].to_string();
    assert!(
        others.contains(&format!("{ip}:{}", ports[1]))
            && others.contains(&format!("{ip}:{}", ports[2])),
        "its other TCP and UDP ports: {others}"
    );
    assert!(t["user"].is_string(), "its user: {t}");
    assert!(
        t["cmdline"]
            .as_str()
            .is_some_and(|c| c.contains(&format!("udp {at}"))),
        "its command line: {t}"
    );
    let out = common::bin()
        .args(["end", &ports[0].to_string(), "--dry-run"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("also holds TCP {ip}:{}", ports[1]))
            && text.contains(&format!("UDP {ip}:{}", ports[2])),
        "the dry run says so: {text}"
    );
    drop(holder);
}

/// As another user, a held port is never said to be held by no process (the review: "No process
/// holds port 24427" while root's redis held it).
#[test]
#[ignore = "needs root: a child dropped to nobody; CI runs it (cargo test -- --include-ignored)"]
fn another_users_holder_is_never_called_no_process() {
    common::require(common::is_root(), "root, to start a child as nobody");
    let held = std::net::TcpListener::bind((common::private_loopback(), 0)).unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_port-inspector"))
        .args(["end", &port, "--dry-run"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("No process holds"), "{text}");
    assert!(
        text.contains(&format!(
            "Port {port} (TCP and UDP) on every address is held by"
        )),
        "{text}"
    );
    drop(held);
}

/// A socket bound to a device (SO_BINDTODEVICE) is written `0.0.0.0%lo:P` in the plan as in
/// every other view: on each sharer's line, and in "also holds" (the dry run dropped `%lo`).
#[test]
#[ignore = "needs SO_BINDTODEVICE (kernel 5.7+ or root); CI runs it (cargo test -- --include-ignored)"]
fn a_device_bound_socket_keeps_its_device_in_the_plan() {
    let (holder, line) = common::holder::start(&[
        "tcp",
        "0.0.0.0:0",
        "tcp",
        "0.0.0.0:0",
        "--device",
        "lo",
        "--child",
    ]);
    let w: Vec<u32> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let (a, b, child) = (w[0], w[1], w[2]);
    let run = |args: &[&str]| {
        let out = common::bin().args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let plan = run(&["end", &a.to_string(), "--dry-run"]);
    let who = run(&["who", &a.to_string()]);
    let (_, v) = common::json(&["end", &a.to_string(), "--dry-run", "--json"]);
    let parent = holder.child.id();
    let _ = Command::new("kill").arg(child.to_string()).status();
    drop(holder);
    let here = format!("0.0.0.0%lo:{a}");
    assert!(who.contains(&here), "who: {who}");
    for pid in [parent, child] {
        assert!(
            plan.contains(&format!("(PID {pid}) on {here} LISTEN")),
            "each sharer with the device: {plan}"
        );
    }
    assert_eq!(
        plan.matches(&format!("also holds TCP 0.0.0.0%lo:{b} LISTEN"))
            .count(),
        2,
        "both sharers also hold the other device-bound socket: {plan}"
    );
    assert!(!plan.contains(&format!(" 0.0.0.0:{a}")), "{plan}");
    assert_eq!(
        v["targets"][0]["devices"][0][2]["name"], "lo",
        "the device in JSON: {v}"
    );
    // The sharer that is no socket's first holder is named as fully as the first: the plan
    // ends it too (its user and command line were null).
    let targets = v["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{v}");
    for t in targets {
        assert!(
            t["user"].is_string() && t["cmdline"].is_string(),
            "every process's user and command line: {v}"
        );
    }
}
