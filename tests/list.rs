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

/// The row's entry for process `pid` among the processes holding its socket.
fn held_by(row: &Value, pid: u32) -> Option<&Value> {
    row["owners"].as_array()?.iter().find(|o| o["pid"] == pid)
}

/// A holder of a TCP listener and a UDP socket on one port of `ip`.
fn listener(ip: std::net::Ipv4Addr) -> common::Holder {
    let at = format!("{ip}:0");
    common::holder::start(&["tcp", &at, "udp", &at, "--same-port"]).0
}

#[test]
fn a_tcp_and_a_udp_holder_are_listed_with_their_pid() {
    let ip = common::private_loopback();
    let h = listener(ip);
    let pid = h.child.id();
    let all = rows(&["list", "--json"]);
    let mine: Vec<&Value> = all.iter().filter(|r| held_by(r, pid).is_some()).collect();
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
        assert_eq!(r["port"], h.port, "{r}");
        let o = held_by(r, pid).unwrap();
        assert_eq!(o["process"], common::holder::image().as_str(), "{r}");
        assert!(
            o["command"]
                .as_str()
                .is_some_and(|c| c.contains(&format!("udp {ip}:0"))),
            "{r}"
        );
        assert!(
            o["ancestry"].as_array().is_some_and(|a| !a.is_empty()),
            "{r}"
        );
    }
    let udp = rows(&["list", "--udp", "--port", &h.port.to_string(), "--json"]);
    assert!(
        udp.iter().all(|r| r["protocol"] == "udp") && udp.iter().any(|r| held_by(r, pid).is_some()),
        "{udp:?}"
    );
    let text = String::from_utf8(
        common::bin()
            .args(["list", "--process", "holder"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(text.contains(&format!("{ip}:{}", h.port)), "{text}");
    assert!(text.contains(&pid.to_string()), "{text}");
}

/// A pre-fork server: a parent that listens and a child, running as `nobody`, that shares the
/// socket. The socket's row names both, the parent first, each with its own user, name and
/// parent chain (the child's starts with the parent).
#[test]
#[ignore = "needs root: a child as nobody; CI runs it (cargo test -- --include-ignored)"]
fn a_socket_shared_by_a_parent_and_its_child_names_both() {
    common::require(
        rustix::process::geteuid().is_root(),
        "root, to start the child as nobody",
    );
    let ip = common::private_loopback();
    let (h, line) =
        common::holder::start(&["tcp", &format!("{ip}:0"), "--child", "--child-uid", "65534"]);
    let child: u32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let parent = h.child.id();
    // The child's exec as nobody may not have happened yet when the port is printed.
    let mut row = Value::Null;
    for _ in 0..50 {
        let all = rows(&["list", "--tcp", "--port", &h.port.to_string(), "--json"]);
        let local = format!("{ip}:{}", h.port);
        row = all
            .into_iter()
            .find(|r| r["local"] == local)
            .unwrap_or(Value::Null);
        if held_by(&row, child).is_some_and(|o| o["user"] == "nobody") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(h);
    let pids: Vec<&Value> = row["owners"]
        .as_array()
        .map(|a| a.iter().map(|o| &o["pid"]).collect())
        .unwrap_or_default();
    assert_eq!(pids, [parent, child], "the parent first: {row}");
    let (p, c) = (
        held_by(&row, parent).unwrap(),
        held_by(&row, child).unwrap(),
    );
    assert_eq!(
        (&p["user"], &c["user"]),
        (&"root".into(), &"nobody".into()),
        "{row}"
    );
    let name: Value = common::holder::image().into();
    assert_eq!((&p["process"], &c["process"]), (&name, &name));
    assert_eq!(c["ancestry"][0]["pid"], parent, "the child's parent: {row}");
    assert!(
        c["command"].as_str().is_some_and(|s| s.contains("wait")),
        "{row}"
    );
}

#[test]
fn a_holder_started_by_a_shell_names_that_shell() {
    let ip = common::private_loopback();
    // `; true` keeps the shell as the parent instead of exec'ing the holder in its place.
    let mut child = Command::new("sh")
        .args(["-c", "\"$0\" tcp \"$1\" udp \"$1\" --same-port; true"])
        .arg(common::holder::path())
        .arg(format!("{ip}:0"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // "PORT PORT": the TCP listener's and the UDP socket's, the same.
    let line = common::first_line(&mut child);
    let port = line.split_whitespace().next().unwrap().to_owned();
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
#[ignore = "needs root: a test cgroup; CI runs it (cargo test -- --include-ignored)"]
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
    let h = listener(ip);
    let pid = h.child.id();
    std::fs::write(dir.join("cgroup.procs"), pid.to_string()).unwrap();
    let all = rows(&["list", "--port", &h.port.to_string(), "--json"]);
    let row = all.iter().find_map(|r| held_by(r, pid)).cloned().unwrap();
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

/// A holder in a Docker-style container cgroup (`docker-<id>.scope`, created by the test) is
/// shown as managed by that container, and by its name when the runtime's API socket answers:
/// here a stand-in runtime on a Unix socket the test names with DOCKER_HOST, as the docker CLI
/// reads it. With no runtime to ask, the id alone, never a guessed name.
#[test]
#[ignore = "needs root and python3 (a stand-in runtime): a test cgroup; CI runs it (cargo test -- --include-ignored)"]
fn a_holder_in_a_container_cgroup_is_named_by_its_container() {
    let base = std::path::Path::new("/sys/fs/cgroup/systemd");
    let root = if base.join("cgroup.procs").exists() {
        base
    } else {
        std::path::Path::new("/sys/fs/cgroup")
    };
    // A 64-digit hex id of our own: no real container has it.
    let id = format!("{:08x}{:056x}", std::process::id(), 0x00c0_ffee);
    let dir = root.join(format!("docker-{id}.scope"));
    common::require(
        std::fs::create_dir(&dir).is_ok(),
        "a writable cgroup hierarchy (root), to create a test cgroup",
    );
    let tmp = std::env::temp_dir().join(format!("pi-runtime-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let sock = tmp.join("docker.sock");
    let name = format!("pi-web-{}", std::process::id());
    // Stays Python: a stand-in Docker Engine API server (HTTP on a Unix socket), not a holder.
    // The Engine API's answer to GET /containers/<id>/json, for this id (short or full) only.
    let runtime_code = format!(
        r#"
import json, socket, time
s = socket.socket(socket.AF_UNIX); s.bind({sock:?}); s.listen(8)
print("0 ready", flush=True)
while True:
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        more = c.recv(4096)
        if not more:
            break
        req += more
    req = req.decode()
    path = req.split(" ")[1]
    if path.startswith("/containers/") and "{id}".startswith(path.split("/")[2]):
        body = json.dumps({{"Id": "{id}", "Name": "/{name}"}})
        c.sendall(("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body).encode())
    else:
        c.sendall(b"HTTP/1.0 404 Not Found\r\n\r\n{{}}")
    c.close()
"#,
        sock = sock.to_str().unwrap()
    );
    let (_runtime, _) = common::spawn_python(&runtime_code);
    let ip = common::private_loopback();
    let h = listener(ip);
    let pid = h.child.id();
    std::fs::write(dir.join("cgroup.procs"), pid.to_string()).unwrap();
    let list = |docker_host: &str| -> Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_port-inspector"))
            .args(["list", "--port", &h.port.to_string(), "--json"])
            .env("DOCKER_HOST", docker_host)
            .output()
            .unwrap();
        let all: Value = serde_json::from_slice(&out.stdout).unwrap();
        all.as_array()
            .and_then(|rows| rows.iter().find_map(|r| held_by(r, pid)).cloned())
            .unwrap_or(Value::Null)
    };
    let named = list(&format!("unix://{}", sock.display()));
    let unnamed = list(&format!("unix://{}", tmp.join("absent.sock").display()));
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_port-inspector"))
        .args(["list", "--port", &h.port.to_string()])
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .output()
        .unwrap();
    // Move it back and remove the test cgroup before asserting.
    let _ = std::fs::write(root.join("cgroup.procs"), pid.to_string());
    drop(h);
    let _ = std::fs::remove_dir(&dir);
    let _ = std::fs::remove_dir_all(&tmp);
    let m = &named["managed_by"];
    assert_eq!(
        (
            m["kind"].as_str(),
            m["name"].as_str(),
            m["container"].as_str()
        ),
        (Some("container"), Some(&id[..12]), Some(name.as_str())),
        "{named}"
    );
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains(&format!("container {name} ({})", &id[..12])),
        "the table names the container: {}",
        String::from_utf8_lossy(&text.stdout)
    );
    let m = &unnamed["managed_by"];
    assert_eq!(
        (
            m["kind"].as_str(),
            m["name"].as_str(),
            m["container"].is_null()
        ),
        (Some("container"), Some(&id[..12]), true),
        "no runtime: the id only: {unnamed}"
    );
}

/// (protocol, local port, state, v6_only) of the rows of `list ARGS --json` held by `pid`, sorted.
fn held_rows(args: &[&str], pid: u32) -> Vec<(String, u64, String, Value)> {
    let mut args = args.to_vec();
    args.push("--json");
    let mut rows: Vec<_> = rows(&args)
        .iter()
        .filter(|r| held_by(r, pid).is_some())
        .map(|r| {
            (
                r["protocol"].as_str().unwrap().to_owned(),
                r["port"].as_u64().unwrap(),
                r["state"].as_str().unwrap().to_owned(),
                r["v6_only"].clone(),
            )
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    rows
}

/// The kernel is asked for the states each view needs only (and TCP in both families at once):
/// each view must still show exactly its sockets, IPv6 ones with their v6-only flag.
#[test]
#[ignore = "needs ::1 (IPv6 loopback), which containers may lack; CI runs it (cargo test -- --include-ignored)"]
fn each_view_lists_exactly_its_states() {
    // One process holding a socket in each kind of state: a listener, a bound-only TCP socket,
    // an IPv6-only and a dual-stack IPv6 listener (on a v4-mapped address: the kernel makes a
    // socket bound to any other IPv6 address v6-only), both ends of a connection, an unconnected
    // and a connected UDP socket; their ports in that order.
    let ip = common::private_loopback();
    let (holder, line) = common::holder::start(&["states", &ip.to_string()]);
    let pid = holder.child.id();
    let ports: Vec<u64> = line
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let [listener, bound_only, only, dual, client, udp, udp_connected] = ports[..] else {
        panic!("seven ports: {line}")
    };
    let row =
        |proto: &str, port, state: &str, v6: Value| (proto.to_owned(), port, state.to_owned(), v6);
    let null = Value::Null;
    let listeners = vec![
        row("tcp", listener, "LISTEN", null.clone()),
        row("tcp", only, "LISTEN", Value::Bool(true)),
        row("tcp", dual, "LISTEN", Value::Bool(false)),
    ];
    let sorted = |mut v: Vec<(String, u64, String, Value)>| {
        v.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
        v
    };
    assert_eq!(
        held_rows(&["list", "--listening"], pid),
        sorted(listeners.clone())
    );

    // Bound-only TCP sockets are in the kernel's answer from Linux 6.9 on.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut v = release
        .split(['.', '-'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let reports_bound = (v.next().unwrap(), v.next().unwrap()) >= (6, 9);
    let mut bound = listeners.clone();
    if reports_bound {
        bound.push(row("tcp", bound_only, "BOUND", null.clone()));
    }
    bound.push(row("udp", udp, "UNCONN", null.clone()));
    assert_eq!(held_rows(&["list"], pid), sorted(bound.clone()));

    let mut all = bound;
    all.push(row("tcp", client, "ESTABLISHED", null.clone()));
    all.push(row("tcp", listener, "ESTABLISHED", null.clone()));
    all.push(row("udp", udp_connected, "ESTABLISHED", null.clone()));
    assert_eq!(held_rows(&["list", "--all"], pid), sorted(all));
    assert_eq!(
        held_rows(&["list", "--udp"], pid),
        vec![row("udp", udp, "UNCONN", null)]
    );
}
