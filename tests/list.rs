//! `list`: every socket on the machine with its owner, who started it and what manages it.
#![cfg(target_os = "linux")] // /proc, cgroups: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::process::{Command, Stdio};

use serde_json::Value;

fn rows(args: &[&str]) -> Vec<Value> {
    let (code, v) = common::json(args);
    assert_eq!(code, Some(0), "{args:?}");
    v.as_array().unwrap().clone()
}

const LISTENER: &str = r"
import socket, time
t = socket.socket(); t.bind(('IP', 0)); t.listen(4)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('IP', t.getsockname()[1]))
print(t.getsockname()[1], flush=True)
time.sleep(600)
";

#[test]
fn a_tcp_and_a_udp_holder_are_listed_with_their_pid() {
    let ip = common::private_loopback();
    let (h, _) = common::spawn_python(&LISTENER.replace("IP", &ip.to_string()), "python3", None);
    let pid = h.child.id();
    let all = rows(&["list", "--json"]);
    let mine: Vec<&Value> = all.iter().filter(|r| r["pid"] == pid).collect();
    let protos: Vec<&str> = mine
        .iter()
        .map(|r| r["protocol"].as_str().unwrap())
        .collect();
    assert!(
        protos.contains(&"tcp") && protos.contains(&"udp"),
        "{mine:?}"
    );
    for r in &mine {
        assert_eq!(r["local"], format!("{ip}:{}", h.port), "{r}");
        assert!(
            r["ancestry"].as_array().is_some_and(|a| !a.is_empty()),
            "{r}"
        );
    }
    let udp = rows(&["list", "--udp", "--port", &h.port.to_string(), "--json"]);
    assert!(
        udp.iter().all(|r| r["protocol"] == "udp") && udp.iter().any(|r| r["pid"] == pid),
        "{udp:?}"
    );
    let text = String::from_utf8(
        common::bin()
            .args(["list", "--process", "python"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(text.contains(&format!("{ip}:{}", h.port)), "{text}");
    assert!(text.contains(&pid.to_string()), "{text}");
}

#[test]
fn a_holder_started_by_a_shell_names_that_shell() {
    let ip = common::private_loopback();
    let code = LISTENER.replace("IP", &ip.to_string());
    // `; true` keeps the shell as the parent instead of exec'ing python in its place.
    let mut child = Command::new("sh")
        .args(["-c", "/usr/bin/python3 -c \"$0\"; true", &code])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let port = common::first_line(&mut child);
    let (_, v) = common::json(&["who", &port, "--tcp", "--json"]);
    let o = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["local"] == format!("{ip}:{port}"))
        .cloned()
        .unwrap();
    let holder = o["pid"].as_u64().unwrap();
    let _ = Command::new("kill").arg(holder.to_string()).status();
    let _ = child.wait();
    assert_eq!(
        o["ancestry"][0]["pid"],
        child.id(),
        "the shell is the parent: {o}"
    );
    assert_eq!(o["ancestry"][0]["name"], "sh", "{o}");
    assert_eq!(
        (
            o["managed_by"]["kind"].as_str(),
            o["managed_by"]["name"].as_str()
        ),
        (Some("shell"), Some("sh")),
        "{o}"
    );
}

#[test]
fn a_holder_in_its_own_systemd_style_cgroup_is_named_by_it() {
    let base = std::path::Path::new("/sys/fs/cgroup/systemd");
    let unified = std::path::Path::new("/sys/fs/cgroup");
    let root = if base.join("cgroup.procs").exists() {
        base
    } else {
        unified
    };
    let name = format!("pi-list-{}.service", std::process::id());
    let dir = root.join(&name);
    common::require(
        std::fs::create_dir(&dir).is_ok(),
        "a writable cgroup hierarchy (root), to create a test cgroup",
    );
    let ip = common::private_loopback();
    let (h, _) = common::spawn_python(&LISTENER.replace("IP", &ip.to_string()), "python3", None);
    let pid = h.child.id();
    std::fs::write(dir.join("cgroup.procs"), pid.to_string()).unwrap();
    let all = rows(&["list", "--port", &h.port.to_string(), "--json"]);
    let row = all.iter().find(|r| r["pid"] == pid).cloned().unwrap();
    // Move it back and remove the test cgroup before asserting.
    let _ = std::fs::write(root.join("cgroup.procs"), pid.to_string());
    drop(h);
    let _ = std::fs::remove_dir(&dir);
    assert_eq!(
        (
            row["managed_by"]["kind"].as_str(),
            row["managed_by"]["name"].as_str()
        ),
        (Some("systemd"), Some(name.as_str())),
        "{row}"
    );
}
