//! The support-desk kit on real sockets: facts against /proc, reports of a real conflict in three
//! formats, the what-if matrix, hold-and-listen with real connections, and watch.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use port_inspector::probe::{CancelToken, ProbeConfig, Verdict};
use port_inspector::support::{self, MatrixScope};
use port_inspector::{Family, Protocol, Target};
use serde_json::Value;

/// Children of this test binary are spawned under a read lock; a test that ends a hold and binds
/// its port again holds the write lock across the two. A child forked from this process holds a
/// copy of every descriptor open at the fork until its exec (`SOCK_CLOEXEC` acts only then), and
/// std's `spawn` returns only once the exec is done: under the lock, no copy of the hold's socket
/// outlives its release. Without it, two suites at once with `--test-threads 8` (load 30-60)
/// failed "free after Stop" / "free after the time ends" (EADDRINUSE) in 5 of 10 runs.
/// The library forks too: a check run in this process as root reads the NAT rules with `nft` and
/// `iptables-save` (the matrix runs a check per cell), so library calls that may run a check
/// hold the read lock as well (`forks_allowed`); without it "free after Stop" still failed, 1 of
/// 4 support runs beside two concurrent suites (load 22).
static FORKS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// While held, no child of this process is between its fork and its exec.
fn no_fork_in_flight() -> std::sync::RwLockWriteGuard<'static, ()> {
    FORKS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// While held, this process may fork (a library call that runs a check; see `FORKS`).
fn forks_allowed() -> std::sync::RwLockReadGuard<'static, ()> {
    FORKS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `spawn` and `output` under the read lock (see `FORKS`).
trait SpawnApart {
    fn spawn_apart(&mut self) -> std::io::Result<std::process::Child>;
    fn output_apart(&mut self) -> std::io::Result<std::process::Output>;
}

impl SpawnApart for std::process::Command {
    fn spawn_apart(&mut self) -> std::io::Result<std::process::Child> {
        let _forking = forks_allowed();
        self.spawn()
    }

    /// As `output`: stdin from /dev/null, both streams captured; the lock is held for the spawn
    /// only, not while the child runs.
    fn output_apart(&mut self) -> std::io::Result<std::process::Output> {
        use std::process::Stdio;
        self.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn_apart()?
            .wait_with_output()
    }
}

#[cfg(target_os = "linux")]
fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

#[test]
#[cfg(target_os = "linux")]
fn linux_facts_are_the_real_proc_values() {
    let f = port_inspector::facts::gather();
    assert_eq!(f.os.to_string(), "linux", "os");
    assert_eq!(
        f.unprivileged_port_start.map(|p| p.to_string()),
        Some(read("/proc/sys/net/ipv4/ip_unprivileged_port_start")),
        "unprivileged start"
    );
    let range: Vec<u16> = read("/proc/sys/net/ipv4/ip_local_port_range")
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let eph = f.ephemeral_range.clone().unwrap();
    assert_eq!(
        (eph.start, eph.end),
        (range[0], range[1]),
        "ephemeral range"
    );
    assert_eq!(
        f.bindv6only,
        Some(read("/proc/sys/net/ipv6/bindv6only") == "1"),
        "bindv6only"
    );
    assert_eq!(
        f.nonlocal_bind_v4,
        Some(read("/proc/sys/net/ipv4/ip_nonlocal_bind") == "1"),
        "nonlocal v4"
    );
    let uid_line = read("/proc/self/status");
    let uid: u32 = uid_line
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    // Root whose rights count here (not root of a user namespace that does not own this
    // network namespace).
    assert_eq!(
        f.elevated,
        uid == 0 && f.netns_caps_apply != Some(false),
        "elevated = root, here"
    );
    assert!(
        f.interfaces
            .iter()
            .any(|i| i.address == std::net::Ipv4Addr::LOCALHOST && i.loopback),
        "loopback listed"
    );
    assert!(
        port_inspector::render::facts::table(&f)
            .iter()
            .any(|x| x.name == "net.ipv4.ip_local_port_range"),
        "table"
    );
    let out = common::bin()
        .args(["facts", "--json"])
        .output_apart()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ephemeral_range"]["start"], eph.start, "CLI json");
    assert!(
        v["table"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "net.ipv4.ip_local_port_range"
                && x["value"] == format!("{}-{}", eph.start, eph.end)),
        "the CLI's JSON carries the table as the text prints it: {}",
        v["table"]
    );
}

#[test]
#[cfg_attr(windows, ignore = "needs owner PIDs (tested on Linux)")]
fn report_of_a_real_conflict_in_three_formats() {
    let h = {
        let _forking = forks_allowed();
        common::holder::spawn("tcp", "127.0.0.1:0")
    };
    let pid = h.child.id().to_string();
    let target = format!("127.0.0.1:{}", h.port);
    let md = common::bin()
        .args(["report", &target])
        .output_apart()
        .unwrap();
    assert_eq!(md.status.code(), Some(1), "not bindable");
    let md = String::from_utf8(md.stdout).unwrap();
    for needle in [
        pid.as_str(),
        "WSAEADDRINUSE",
        "10048",
        "ip_unprivileged_port_start",
        &common::holder::image(),
    ] {
        assert!(md.contains(needle), "markdown lacks {needle}");
    }
    assert!(md.starts_with("# Port Inspector report"), "a heading");
    assert!(md.lines().any(|l| l.starts_with("|---")), "a table");
    assert!(md.lines().any(|l| l.starts_with("- ")), "a list");

    let text = common::bin()
        .args(["report", &target, "--format", "text"])
        .output_apart()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    for needle in [
        pid.as_str(),
        "WSAEADDRINUSE (10048)",
        "Machine facts",
        "ip_local_port_range",
    ] {
        assert!(text.contains(needle), "text lacks {needle}");
    }

    let dir = std::env::temp_dir().join(format!("pi-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("r.json");
    let out = common::bin()
        .args(["report", &target, "--format", "json", "-o"])
        .arg(&file)
        .output_apart()
        .unwrap();
    assert!(out.stdout.is_empty(), "written to the file, not stdout");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v["error"]["wsa_code"], 10048, "json error");
    assert!(
        v["owners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["pid"] == h.child.id()),
        "json owner"
    );
    assert!(v["facts"]["unprivileged_port_start"].is_u64(), "json facts");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn matrix_shows_tcp_ipv4_blocked_and_udp_free() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let m = {
        // Each cell's check reads the NAT rules with child processes (as root).
        let _forking = forks_allowed();
        support::matrix(&Target::tcp("127.0.0.1", port), &ProbeConfig::default())
    };
    let tcp = m
        .cell(Protocol::Tcp, Family::Ipv4, false, MatrixScope::Address)
        .unwrap();
    assert_eq!(tcp.verdict, Verdict::NotBindable, "TCP/IPv4 blocked");
    assert_eq!(tcp.wsa_code, Some(10048), "in use");
    let udp = m
        .cell(Protocol::Udp, Family::Ipv4, false, MatrixScope::Address)
        .unwrap();
    assert_eq!(udp.verdict, Verdict::Bindable, "UDP/IPv4 free");
    assert!(
        m.cell(Protocol::Tcp, Family::Ipv4, true, MatrixScope::Wildcard)
            .is_some(),
        "wildcard and reuse covered"
    );
    assert!(
        m.cell(Protocol::Tcp, Family::Ipv6, false, MatrixScope::Address)
            .is_none(),
        "an IPv4 literal has no IPv6 cell"
    );
    let out = common::bin()
        .args(["matrix", &format!("127.0.0.1:{port}"), "--json"])
        .output_apart()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["cells"].as_array().unwrap().len() >= 12, "cells in JSON");
}

/// `listen` on a port another process holds says who holds it, in `check`'s own words, and
/// exits as `check` does (it said "cannot hold 127.0.0.1:P: WSAEADDRINUSE …", naming nobody).
/// TCP and UDP, each with a real holder.
#[test]
fn listen_on_a_held_port_names_the_holder_as_check_does() {
    let ip = common::private_loopback();
    for kind in ["tcp", "udp"] {
        let h = {
            let _forking = forks_allowed();
            common::holder::spawn(kind, &format!("{ip}:0"))
        };
        let target = format!("{ip}:{}", h.port);
        let udp: &[&str] = if kind == "udp" { &["--udp"] } else { &[] };
        let check = common::bin()
            .args(["check", &target, "--json"])
            .args(udp)
            .output_apart()
            .unwrap();
        let v: Value = serde_json::from_slice(&check.stdout).unwrap();
        let title = v["explanation"]["title"].as_str().unwrap().to_owned();
        let who = format!("{} (PID {})", common::holder::image(), h.child.id());
        assert!(title.contains(&who), "{kind}: check names {who}: {title}");
        let listen = common::bin()
            .args(["listen", &target, "--for", "1"])
            .args(udp)
            .output_apart()
            .unwrap();
        let err = String::from_utf8_lossy(&listen.stderr);
        assert_eq!(
            listen.status.code(),
            check.status.code(),
            "{kind}: exit as check does: {err}"
        );
        assert_eq!(listen.status.code(), Some(1), "{kind}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{kind}: one line: {err}");
        assert!(
            err.contains(&format!(
                "cannot hold the port: {title} (WSAEADDRINUSE (10048)"
            )),
            "{kind}: check's words, {title}: {err}"
        );
        assert!(listen.stdout.is_empty(), "{kind}: nothing held");
    }
}

#[test]
fn listen_reports_two_connections_then_frees_the_port() {
    // This test's own address: a port from 127.0.0.1's ephemeral range can be handed to another
    // test's (or another suite's) connect the moment the hold ends, and the bind below would fail
    // for the wrong reason (it did once with two suites running).
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let target = Target::tcp(ip.to_string(), port);
    let cfg = ProbeConfig::default();
    // No sibling's fork may copy the held socket from its bind to the bind again below.
    let _no_fork = no_fork_in_flight();
    let (tx, rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        support::hold(
            &target,
            Duration::from_millis(800),
            &cfg,
            &mut |_| tx.send(()).unwrap(),
            &mut |_| {},
        )
    });
    rx.recv().unwrap(); // bound and listening
    for _ in 0..2 {
        drop(TcpStream::connect((ip, port)).unwrap());
    }
    let summary = holder.join().unwrap().unwrap();
    assert_eq!(
        summary.events.len(),
        2,
        "both connections reported: {:?}",
        summary.events
    );
    assert!(
        summary
            .events
            .iter()
            .all(|e| e.peer.is_some_and(|p| p.is_ipv4() && p.ip().is_loopback())),
        "peers: {:?}",
        summary.events
    );
    assert!(!summary.stopped, "ran to its time");
    TcpListener::bind((ip, port)).expect("free after the time ends");
}

/// Connections the kernel completed and queued before the hold ended are reported, not dropped
/// with the socket: here they arrive before the hold's clock starts (from its own `on_bound`),
/// and the hold's time is zero, so only the reading at the end can see them.
#[test]
fn connections_queued_when_the_hold_ends_are_reported() {
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let target = Target::tcp(ip.to_string(), port);
    let summary = support::hold(
        &target,
        Duration::ZERO,
        &ProbeConfig::default(),
        &mut |_| {
            for _ in 0..2 {
                drop(TcpStream::connect((ip, port)).unwrap());
            }
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        (summary.arrivals, summary.events.len()),
        (2, 2),
        "both queued connections reported: {:?}",
        summary.events
    );
}

#[test]
fn listen_stop_frees_the_port_and_udp_records_size() {
    // This test's own address: on 127.0.0.1 another test's bind to port 0 could be handed the
    // port the moment Stop frees it, and the check below would fail for the wrong reason.
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let target = Target::udp(ip.to_string(), port);
    let cancel = CancelToken::new();
    let cfg = ProbeConfig {
        cancel: cancel.clone(),
        ..ProbeConfig::default()
    };
    // No sibling's fork may copy the held socket from its bind to the bind again below.
    let _no_fork = no_fork_in_flight();
    let (tx, rx) = std::sync::mpsc::channel();
    let (etx, erx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        support::hold(
            &target,
            Duration::from_mins(1),
            &cfg,
            &mut |_| tx.send(()).unwrap(),
            &mut |e| etx.send(e.clone()).unwrap(),
        )
    });
    rx.recv().unwrap();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(b"hello", (ip, port)).unwrap();
    let ev = erx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev.bytes, Some(5), "datagram size recorded");
    let t = Instant::now();
    cancel.cancel();
    let summary = holder.join().unwrap().unwrap();
    assert!(t.elapsed() < Duration::from_secs(1), "Stop is prompt");
    assert!(summary.stopped, "stopped");
    UdpSocket::bind((ip, port)).expect("free after Stop");
}

#[test]
fn check_wait_returns_0_soon_after_the_port_is_released() {
    use std::io::BufRead as _;
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut child = common::bin()
        .args([
            "check",
            &format!("127.0.0.1:{port}"),
            "--wait",
            "--timeout",
            "120",
            "--interval",
            "0.2",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn_apart()
        .unwrap();
    // Released once the tool says it is waiting (not after a fixed sleep: a slow start, as under
    // Wine, would find the port already free).
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("still not bindable") {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "waiting lines: {text}"
        );
        text.push_str(&line);
    }
    drop(held);
    let released_at = Instant::now();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    text.push_str(&rest);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "exit 0 once free: {text}");
    // Soon: at one of its next checks, not at its 120 s timeout (which exits 1). No tighter
    // bound: under Wine on a loaded machine 2 s was not enough for the process to see it.
    assert!(
        released_at.elapsed() < common::PATIENCE,
        "returned soon after the release, long before its timeout: {:?}",
        released_at.elapsed()
    );
    assert!(text.contains("still not bindable"), "waiting lines: {text}");
    assert!(
        text.contains(&format!("PID {}", std::process::id())),
        "current owner shown while waiting: {text}"
    );

    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = common::bin()
        .args([
            "check",
            &format!("127.0.0.1:{port}"),
            "--wait",
            "--timeout",
            "1",
        ])
        .output_apart()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "exit 1 on timeout");
}

#[test]
fn report_takes_the_same_bind_options_as_check() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = common::bin()
        .args([
            "report",
            &format!("127.0.0.1:{port}"),
            "--udp",
            "--reuseaddr",
            "--format",
            "json",
        ])
        .output_apart()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "UDP is free where only TCP is held"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["target"]["protocol"].as_str(),
            v["target"]["options"]["reuse_address"].as_bool()
        ),
        (Some("udp"), Some(true)),
        "{v}"
    );
    // The Markdown report's options row says what was set: a UDP socket never listens.
    let target = format!("127.0.0.1:{port}");
    let options_row = |extra: &[&str]| {
        let out = common::bin()
            .args(["report", target.as_str()])
            .args(extra)
            .output_apart()
            .unwrap();
        let md = String::from_utf8_lossy(&out.stdout).into_owned();
        md.lines()
            .find(|l| l.starts_with("| Options |"))
            .map_or_else(|| panic!("an options row:\n{md}"), str::to_owned)
    };
    let row = options_row(&["--udp", "--reuseaddr"]);
    assert!(
        row.contains("SO_REUSEADDR=1")
            && row.contains("no listen (UDP)")
            && !row.contains("backlog"),
        "{row}"
    );
    let row = options_row(&["--backlog", "7"]);
    assert!(row.contains("listen=true (backlog 7)"), "{row}");
    let out = common::bin()
        .args(["report", "8080", "--backlog", "0"])
        .output_apart()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "bad option refused");
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "needs ::1 (IPv6 loopback), which containers may lack; CI runs it (cargo test -- --include-ignored)"
)]
fn listen_on_a_bare_port_holds_both_families_and_keeps_only_the_newest_arrivals() {
    common::require(common::has_ipv6_loopback(), "::1 on this machine");
    let port = common::free_tcp_port();
    let cancel = CancelToken::new();
    let cfg = ProbeConfig {
        cancel: cancel.clone(),
        ..ProbeConfig::default()
    };
    let sent = support::KEPT_ARRIVALS + 20;
    let summary = std::thread::scope(|s| {
        let holder = s.spawn(|| {
            let mut bound = Vec::new();
            support::hold(
                &Target::udp("", port),
                Duration::from_secs(30),
                &cfg,
                &mut |b| bound = b.to_vec(),
                &mut |_| {},
            )
            .map(|sum| (bound, sum))
        });
        // Send to both families until every datagram has been seen, then stop.
        let v4 = UdpSocket::bind("127.0.0.1:0").unwrap();
        let v6 = UdpSocket::bind("[::1]:0").unwrap();
        let start = Instant::now();
        let mut i = 0;
        while i < sent {
            let ok = if i % 2 == 0 {
                v4.send_to(b"x", ("127.0.0.1", port))
            } else {
                v6.send_to(b"yy", ("::1", port))
            };
            if ok.is_ok() {
                i += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
            assert!(start.elapsed() < Duration::from_secs(20), "sent");
        }
        std::thread::sleep(Duration::from_millis(300));
        cancel.cancel();
        holder.join().unwrap()
    });
    let (bound, sum) = summary.expect("held");
    assert!(
        bound.contains(&format!("0.0.0.0:{port}").parse().unwrap())
            && bound.contains(&format!("[::]:{port}").parse().unwrap()),
        "both families held: {bound:?}"
    );
    assert_eq!(sum.bound, bound, "the summary holds what was bound");
    assert!(sum.arrivals >= 2, "arrivals counted: {}", sum.arrivals);
    assert!(
        sum.events.len() <= support::KEPT_ARRIVALS,
        "only the newest {} kept, not {}",
        support::KEPT_ARRIVALS,
        sum.events.len()
    );
    assert!(
        sum.events
            .iter()
            .any(|e| e.peer.is_some_and(|p| p.is_ipv6() && p.ip().is_loopback()))
            && sum.events.iter().any(|e| e
                .peer
                .is_some_and(|p| p.ip() == std::net::Ipv4Addr::LOCALHOST)),
        "datagrams from both families arrived"
    );
}

#[test]
fn matrix_exits_0_only_when_every_cell_is_bindable() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = common::bin()
        .args(["matrix", &format!("127.0.0.1:{port}"), "--timeout", "5"])
        .output_apart()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a TCP cell is blocked");
    let out = common::bin()
        .args(["matrix", "127.0.0.1:8080", "--timeout", "-3"])
        .output_apart()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "bad timeout");
}
