//! Who holds the port: real child processes holding TCP, UDP, IPv6 and bound-only sockets, real
//! TIME_WAIT connections, dual-stack and wildcard clashes, and the unprivileged view as `nobody`.
#![cfg(target_os = "linux")] // /proc, setpriv, network namespaces, sshd: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::io::Read as _;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use port_inspector::check;
use port_inspector::diagnose::Conflict;
use port_inspector::owners::{self, OwnerNote, Query, SockState};
use port_inspector::probe::ProbeConfig;
use port_inspector::{Protocol, Target};
use serde_json::Value;
use socket2::{Domain, Socket, Type};

fn cli_json(args: &[&str]) -> (i32, Value) {
    let out = common::bin().args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

fn run_check(t: &Target) -> check::Check {
    check::run(t, &ProbeConfig::default())
}

#[test]
#[ignore = "needs root: the holder's user is root; CI runs it (cargo test -- --include-ignored)"]
fn tcp_holder_is_named_by_who_and_check() {
    let h = common::holder::spawn("tcp", "127.0.0.1:0");
    let pid = h.child.id();
    let found = owners::of(Query {
        port: h.port,
        protocol: Some(Protocol::Tcp),
    });
    let o = found
        .owners
        .iter()
        .find(|o| o.pid == Some(pid))
        .expect("child found");
    assert_eq!(
        o.process.as_deref(),
        Some(common::holder::image().as_str()),
        "process name"
    );
    assert_eq!(o.state, SockState::Listen, "state");
    assert_eq!(o.user.as_deref(), Some("root"), "user");
    assert!(
        o.cmdline.as_deref().unwrap().contains("tcp 127.0.0.1:0"),
        "command line"
    );

    let (code, v) = cli_json(&["who", &h.port.to_string(), "--json"]);
    assert_eq!(code, 0, "who finds it");
    assert!(
        v["owners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["pid"] == pid && o["process"] == common::holder::image().as_str()),
        "{v}"
    );

    let (code, v) = cli_json(&["check", &format!("127.0.0.1:{}", h.port), "--json"]);
    assert_eq!(code, 1, "held");
    let o = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["pid"] == pid)
        .expect("owner in check");
    for f in [
        "pid", "process", "path", "cmdline", "user", "protocol", "family", "local", "remote",
        "state",
    ] {
        assert!(o.get(f).is_some(), "owner field {f}");
    }
    assert_eq!(
        v["explanation"]["conflict"], "same_address",
        "conflict kind"
    );
}

#[test]
fn udp_holder_is_named() {
    let h = common::holder::spawn("udp", "127.0.0.1:0");
    let (code, v) = cli_json(&["check", &format!("127.0.0.1:{}", h.port), "--udp", "--json"]);
    assert_eq!(code, 1, "held UDP");
    let o = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["pid"] == h.child.id())
        .expect("owner");
    assert_eq!(
        (o["protocol"].as_str(), o["state"].as_str()),
        (Some("udp"), Some("UNCONN")),
        "udp"
    );
}

#[test]
#[ignore = "needs ::1 (IPv6 loopback), which containers may lack; CI runs it (cargo test -- --include-ignored)"]
fn ipv6_holder_is_named() {
    common::require(common::has_ipv6_loopback(), "::1 on this machine");
    let h = common::holder::spawn("tcp", "[::1]:0");
    let c = run_check(&Target::tcp("::1", h.port));
    let o = c
        .owners
        .iter()
        .find(|o| o.pid == Some(h.child.id()))
        .expect("owner");
    assert_eq!(o.family, port_inspector::Family::Ipv6, "family");
    assert_eq!(o.local.to_string(), format!("[::1]:{}", h.port), "local");
}

#[test]
#[ignore = "needs ss (iproute2); CI runs it (cargo test -- --include-ignored)"]
fn bound_only_socket_is_found_though_ss_shows_nothing() {
    let h = common::holder::spawn("bound", "127.0.0.1:0");
    let ss = std::process::Command::new("ss")
        .args(["-tanp"])
        .output()
        .unwrap();
    let ss = String::from_utf8_lossy(&ss.stdout);
    assert!(
        !ss.contains(&format!(":{} ", h.port)),
        "ss -tanp does not show it:\n{ss}"
    );
    let c = run_check(&Target::tcp("127.0.0.1", h.port));
    assert_eq!(
        c.report.error.as_ref().map(|e| e.wsa_code),
        Some(10048),
        "still in use"
    );
    let o = c
        .owners
        .iter()
        .find(|o| o.pid == Some(h.child.id()))
        .expect("hidden holder named");
    assert_eq!(o.state, SockState::BoundOnly, "bound-only");
    let d = c.explanation.unwrap();
    assert_eq!(d.conflict, Some(Conflict::BoundOnly), "conflict kind");
    assert!(
        d.checked[0].contains("neither listening nor connected"),
        "{:?}",
        d.checked
    );
}

/// Opens a connection to `listener` and lets the server side close first, so the server's
/// port keeps a TIME_WAIT socket.
fn make_time_wait(listener: &TcpListener) {
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.shutdown(Shutdown::Both).unwrap();
    drop(server);
    let mut buf = [0u8; 1];
    let _ = client.read(&mut buf); // sees the FIN
    drop(client);
    // Poll, with a deadline, until the kernel shows the TIME_WAIT socket.
    let start = std::time::Instant::now();
    while !owners::of(Query {
        port: addr.port(),
        protocol: Some(Protocol::Tcp),
    })
    .owners
    .iter()
    .any(|o| o.local == addr && o.state == SockState::TimeWait)
    {
        assert!(
            start.elapsed() < common::PATIENCE,
            "a TIME_WAIT socket on {addr}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A listener on this test's own loopback address: once only TIME_WAIT sockets hold its port,
/// the kernel may hand that port to another test's `bind(127.0.0.1:0)` with SO_REUSEADDR, which
/// cannot happen on an address no other test uses.
fn listener(reuse: bool) -> TcpListener {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_address(reuse).unwrap();
    let ip = common::private_loopback();
    s.bind(&SocketAddr::from((ip, 0)).into()).unwrap();
    s.listen(8).unwrap();
    s.into()
}

/// A port whose only sockets are TIME_WAIT leftovers of a server with or without SO_REUSEADDR:
/// the check of it, and the exit code of `check --reuseaddr` on it.
fn time_wait_case(server_reuse: bool) -> (check::Check, Option<i32>) {
    let l = listener(server_reuse);
    let addr = l.local_addr().unwrap();
    make_time_wait(&l);
    drop(l);
    // A sibling test's fork may hold a copy of the listener until its exec: wait until only the
    // TIME_WAIT socket is left on the address.
    let start = std::time::Instant::now();
    while owners::of(Query {
        port: addr.port(),
        protocol: Some(Protocol::Tcp),
    })
    .owners
    .iter()
    .any(|o| o.local == addr && o.state != SockState::TimeWait)
    {
        assert!(
            start.elapsed() < common::PATIENCE,
            "only TIME_WAIT left on {addr}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let c = run_check(&Target::tcp(addr.ip().to_string(), addr.port()));
    let out = common::bin()
        .args(["check", &addr.to_string(), "--reuseaddr"])
        .output()
        .unwrap();
    (c, out.status.code())
}

#[test]
fn time_wait_with_reuseaddr_server_is_passable() {
    let (c, reuse_exit) = time_wait_case(true);
    let tw = c
        .owners
        .iter()
        .find(|o| o.state == SockState::TimeWait)
        .expect("TIME_WAIT listed");
    assert!(
        tw.pid.is_none() && tw.note == Some(OwnerNote::TimeWait),
        "no process"
    );
    let d = c.explanation.expect("in use");
    assert_eq!(
        d.conflict,
        Some(Conflict::TimeWaitOnly),
        "kind: {:?}",
        c.owners
    );
    assert_eq!(c.reuse_retry_ok, Some(true), "retry proved it");
    assert!(
        d.checked
            .iter()
            .any(|x| x.contains("SO_REUSEADDR gets past")),
        "{:?}",
        d.checked
    );
    assert_eq!(reuse_exit, Some(0), "check --reuseaddr succeeds");
}

#[test]
fn time_wait_without_reuseaddr_server_means_waiting() {
    let (c, reuse_exit) = time_wait_case(false);
    let d = c.explanation.expect("in use");
    assert_eq!(
        d.conflict,
        Some(Conflict::TimeWaitOnly),
        "kind: {:?}",
        c.owners
    );
    assert_eq!(c.reuse_retry_ok, Some(false), "retry failed");
    assert!(
        d.checked
            .iter()
            .any(|x| x.contains("waiting is the only way")),
        "{:?}",
        d.checked
    );
    assert_eq!(reuse_exit, Some(1), "check --reuseaddr still fails");
}

#[test]
#[ignore = "needs ::1 (IPv6 loopback), which containers may lack; CI runs it (cargo test -- --include-ignored)"]
fn dual_stack_listener_blocks_ipv4_wildcard() {
    common::require(common::has_ipv6_loopback(), "IPv6 on this machine");
    let s = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
    s.set_only_v6(false).unwrap();
    s.bind(&"[::]:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    s.listen(8).unwrap();
    let port = s.local_addr().unwrap().as_socket().unwrap().port();
    let c = run_check(&Target::tcp("0.0.0.0", port));
    assert_eq!(
        c.report.error.as_ref().map(|e| e.wsa_code),
        Some(10048),
        "blocked"
    );
    let d = c.explanation.unwrap();
    assert_eq!(d.conflict, Some(Conflict::DualStack), "dual-stack named");
    assert!(d.checked[0].contains("IPV6_V6ONLY off"), "{:?}", d.checked);
}

#[test]
fn wildcard_conflicts_both_ways() {
    let specific = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = specific.local_addr().unwrap().port();
    let c = run_check(&Target::tcp("0.0.0.0", port));
    assert_eq!(
        c.explanation.unwrap().conflict,
        Some(Conflict::SpecificBlocksWildcard),
        "specific blocks wildcard"
    );
    drop(specific);

    let wild = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = wild.local_addr().unwrap().port();
    let c = run_check(&Target::tcp("127.0.0.1", port));
    let d = c.explanation.unwrap();
    assert_eq!(
        d.conflict,
        Some(Conflict::WildcardBlocksSpecific),
        "wildcard blocks specific"
    );
    assert!(
        d.checked[0].contains("Wildcard conflict"),
        "{:?}",
        d.checked
    );
}

#[test]
#[ignore = "needs root: a check run as nobody; CI runs it (cargo test -- --include-ignored)"]
fn another_users_socket_is_counted_not_dropped_for_nobody() {
    common::require(
        !(std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .any(|l| l.starts_with("Uid:") && !l.contains("\t0\t"))),
        "root, to start a child as nobody",
    );
    let h = common::holder::spawn("tcp", "127.0.0.1:0");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_port-inspector"))
        .args(["check", &format!("127.0.0.1:{}", h.port), "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hidden_owners"], 1, "{v}");
    let o = &v["owners"][0];
    assert!(o["pid"].is_null(), "pid not visible to nobody");
    assert_eq!(o["note"], "other_user", "why no process is named");
    assert_eq!(o["user"], "root", "the socket's user is still known");
    let x = &v["explanation"];
    assert!(
        x["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "hidden_owners" && f["why"] == "other_user"),
        "hidden owner proven: {x}"
    );
    assert!(
        x["fixes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "run_elevated"
                && f["text"].as_str().unwrap().contains(&format!(
                    "sudo {} check 127.0.0.1:{}",
                    env!("CARGO_BIN_EXE_port-inspector"),
                    h.port
                ))),
        "elevation hint, runnable as printed (the binary is not on PATH: its path): {x}"
    );
}

#[test]
fn bound_only_socket_is_also_found_descriptor_by_descriptor() {
    // The path kernels before 6.9 take (pidfd_getfd), forced here on a newer kernel.
    let h = common::holder::spawn("bound", "127.0.0.1:0");
    let found = owners::bound_only_by_descriptor(&[h.port]);
    let o = found
        .iter()
        .find(|o| o.pid == Some(h.child.id()))
        .expect("found by its descriptor");
    assert_eq!(
        (o.state, o.local.to_string()),
        (SockState::BoundOnly, format!("127.0.0.1:{}", h.port)),
        "{o:?}"
    );
    let listening = common::holder::spawn("tcp", "127.0.0.1:0");
    assert!(
        owners::bound_only_by_descriptor(&[listening.port]).is_empty(),
        "a listening socket is not bound-only"
    );
}

/// A busy holder is searched nearest-first by inode order; when its descriptors do not follow
/// creation order (the listener opened last, then moved to a low descriptor with dup2, and the
/// sockets around it opened later), the search must still reach it and name every socket asked.
#[test]
#[ignore = "needs python3 (a holder child); CI runs it (cargo test -- --include-ignored)"]
fn a_busy_holder_is_found_whatever_its_descriptor_order() {
    let ip = common::private_loopback();
    // Stays Python: a bespoke descriptor layout (1,200 sockets, the listener moved to a low
    // descriptor with dup2), not a plain holder.
    let code = format!(
        "import socket,os,resource,time\n\
resource.setrlimit(resource.RLIMIT_NOFILE,(4096,4096))\n\
keep=[socket.socket() for i in range(300)]\n\
t=socket.socket();t.bind(('{ip}',0));t.listen(8)\n\
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);u.bind(('{ip}',0))\n\
os.dup2(t.fileno(),3);os.dup2(u.fileno(),4);pt=t.getsockname()[1];pu=u.getsockname()[1];t.close();u.close()\n\
keep+=[socket.socket() for i in range(900)]\n\
print(pt,pu,flush=True)\n\
time.sleep(60)"
    );
    let (h, line) = common::spawn_python(&code);
    let ports: Vec<u16> = line
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(ports.len(), 2, "holder printed two ports: {line}");
    let pid = h.child.id();
    let found = owners::of_ports(&ports, None);
    for (port, proto) in [(ports[0], Protocol::Tcp), (ports[1], Protocol::Udp)] {
        assert!(
            found
                .owners
                .iter()
                .any(|o| o.local.port() == port && o.protocol == proto && o.pid == Some(pid)),
            "{proto} {port} named to PID {pid}: {found:?}"
        );
    }
    let (code, v) = cli_json(&["who", &ports[0].to_string(), "--tcp", "--json"]);
    assert_eq!(code, 0, "found");
    // The same port number may be held on another loopback address (another test, another
    // copy of the suite): the row for our address names our holder.
    let ours = format!("{ip}:{}", ports[0]);
    let row = v["owners"]
        .as_array()
        .and_then(|rows| rows.iter().find(|o| o["local"] == ours.as_str()));
    assert_eq!(
        row.map(|o| &o["pid"]),
        Some(&pid.into()),
        "who names it: {v}"
    );
}

/// A listener whose process lives outside the PID namespace `who` runs in (its /proc shows only
/// that namespace's processes, while the network is shared): the socket is seen, no process is,
/// and the socket, asked for again, is still there, so it is worded as held by a process not in
/// view, never as short-lived or as no socket.
#[test]
#[ignore = "needs root: a private PID namespace; CI runs it (cargo test -- --include-ignored)"]
fn an_owner_outside_the_tools_pid_namespace_is_not_in_view_not_short_lived() {
    common::require(common::is_root(), "root, for a private PID namespace");
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let ports = [
        ("tcp", tcp.local_addr().unwrap().port()),
        ("udp", udp.local_addr().unwrap().port()),
    ];
    for (proto, port) in ports {
        let out = std::process::Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "--mount-proc"])
            .arg(env!("CARGO_BIN_EXE_port-inspector"))
            .args(["who", &port.to_string(), &format!("--{proto}"), "--json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let mine: Vec<&Value> = v["owners"]
            .as_array()
            .unwrap_or_else(|| panic!("{proto}: {v} {}", String::from_utf8_lossy(&out.stderr)))
            .iter()
            .filter(|o| o["local"] == format!("127.0.0.1:{port}"))
            .collect();
        assert_eq!(mine.len(), 1, "{proto}: {v}");
        assert_eq!(mine[0]["pid"], Value::Null, "{proto}: {v}");
        assert_eq!(mine[0]["note"], "not_in_view", "{proto}: {v}");
        assert_eq!(v["hidden"], 1, "{proto}: {v}");
    }
}
