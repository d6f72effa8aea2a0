//! Real holders of this OS's own build (`examples/holder.rs`) on every OS: `who`, `check`,
//! `list`, `scan` and `end` name the holder by its PID and image, and `end` ends it and proves
//! the port free. On Windows this runs under Wine 10 in CI, where the holder is a Windows
//! process and the IP Helper tables give its real PID (Wine 8 gave 0 for every socket).
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use common::holder;
use port_inspector::owners::{self, Query, SockState};
use port_inspector::probe::ProbeConfig;
use port_inspector::{Protocol, Target, check};
use serde_json::Value;

/// The JSON owners (or rows' owners) that name `pid`.
fn with_pid(owners: &Value, pid: u32) -> Vec<&Value> {
    owners
        .as_array()
        .map(|a| a.iter().filter(|o| o["pid"] == pid).collect())
        .unwrap_or_default()
}

/// The file name at the end of a path, either OS's separators.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// An owner named as the holder: its image name, and the full path of the holder's executable.
fn assert_is_holder(o: &Value, what: &str) {
    assert_eq!(
        o["process"],
        holder::image().as_str(),
        "{what}: process: {o}"
    );
    let path = o["path"].as_str().unwrap_or_default();
    assert!(
        file_name(path).eq_ignore_ascii_case(&holder::image()),
        "{what}: the executable's full path: {o}"
    );
}

#[test]
fn who_names_a_tcp_holder_by_pid_image_and_path() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let (code, v) = common::json(&["who", &h.port.to_string(), "--tcp", "--json"]);
    assert_eq!(code, Some(0), "found: {v}");
    let mine = with_pid(&v["owners"], h.child.id());
    assert_eq!(mine.len(), 1, "one socket of PID {}: {v}", h.child.id());
    assert_is_holder(mine[0], "who");
    assert_eq!(mine[0]["state"], "LISTEN", "{v}");
    assert_eq!(
        mine[0]["local"],
        format!("127.0.0.1:{}", h.port).as_str(),
        "{v}"
    );
}

#[test]
fn who_names_a_udp_holder() {
    let h = holder::spawn("udp", "127.0.0.1:0");
    let (code, v) = common::json(&["who", &h.port.to_string(), "--udp", "--json"]);
    assert_eq!(code, Some(0), "found: {v}");
    let mine = with_pid(&v["owners"], h.child.id());
    assert_eq!(mine.len(), 1, "{v}");
    assert_is_holder(mine[0], "who --udp");
    assert_eq!(mine[0]["protocol"], "udp", "{v}");
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "needs ::1 (IPv6 loopback), which containers may lack; CI runs it (cargo test -- --include-ignored)"
)]
fn who_names_an_ipv6_holder() {
    common::require(common::has_ipv6_loopback(), "::1 on this machine");
    let h = holder::spawn("tcp", "[::1]:0");
    let (code, v) = common::json(&["who", &h.port.to_string(), "--json"]);
    assert_eq!(code, Some(0), "found: {v}");
    let mine = with_pid(&v["owners"], h.child.id());
    assert_eq!(mine.len(), 1, "{v}");
    assert_eq!(
        mine[0]["local"],
        format!("[::1]:{}", h.port).as_str(),
        "{v}"
    );
    assert_eq!(mine[0]["family"], "ipv6", "{v}");
}

#[test]
fn who_after_the_holder_ends_finds_nobody() {
    // This test's own address: no other test's bind(127.0.0.1:0) takes the port meanwhile.
    let ip = common::private_loopback().to_string();
    let mut h = holder::spawn("tcp", &format!("{ip}:0"));
    let port = h.port.to_string();
    let who = ["who", &port, "--tcp", "--host", &ip, "--json"];
    let (code, _) = common::json(&who);
    assert_eq!(code, Some(0), "held first");
    h.child.kill().unwrap();
    h.child.wait().unwrap();
    // The OS may take a moment to drop the socket of an ended process: poll with a deadline.
    let start = std::time::Instant::now();
    loop {
        let (code, v) = common::json(&who);
        if code == Some(1) {
            break;
        }
        assert!(
            start.elapsed() < common::PATIENCE,
            "the ended holder's socket is gone: {v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_library_names_the_holder_with_its_parent_chain() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let found = owners::of(Query {
        port: h.port,
        protocol: Some(Protocol::Tcp),
    });
    let o = found
        .owners
        .iter()
        .find(|o| o.pid == Some(h.child.id()))
        .unwrap_or_else(|| panic!("PID {} among {:?}", h.child.id(), found.owners));
    assert_eq!(
        o.process.as_deref(),
        Some(holder::image().as_str()),
        "{o:?}"
    );
    assert_eq!(o.state, SockState::Listen, "{o:?}");
    assert_eq!(
        o.ancestry.first().map(|a| a.pid),
        Some(std::process::id()),
        "the holder's parent is this test: {o:?}"
    );
    // Wine gives sysinfo no command line of another process: there it must say none, never
    // an empty one; everywhere else it is the holder's.
    if cfg!(windows) && o.cmdline.is_none() {
        return;
    }
    assert!(
        o.cmdline.as_deref().is_some_and(|c| c.contains("tcp")),
        "its command line: {o:?}"
    );
}

#[test]
fn check_names_the_holder_and_the_command_that_ends_it() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let pid = h.child.id();
    let (code, v) = common::json(&["check", &format!("127.0.0.1:{}", h.port), "--json"]);
    assert_eq!(code, Some(1), "not bindable: {v}");
    assert_eq!(v["error"]["wsa_code"], 10048, "{v}");
    let mine = with_pid(&v["owners"], pid);
    assert_eq!(mine.len(), 1, "{v}");
    assert_is_holder(mine[0], "check");
    let fixes = v["explanation"]["fixes"].as_array().unwrap();
    let end = fixes
        .iter()
        .find(|f| f["kind"] == "end_processes")
        .unwrap_or_else(|| panic!("an end_processes fix: {v}"));
    assert_eq!(end["pids"], serde_json::json!([pid]), "{v}");
    let command = if cfg!(windows) {
        format!("taskkill /PID {pid}")
    } else {
        format!("kill {pid}")
    };
    assert!(
        end["text"].as_str().unwrap().contains(&command),
        "{command}: {v}"
    );
}

#[test]
fn check_in_the_library_proves_the_same_address_clash() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let c = check::run(&Target::tcp("127.0.0.1", h.port), &ProbeConfig::default());
    assert_eq!(
        c.report.error.as_ref().map(|e| e.wsa_code),
        Some(10048),
        "in use"
    );
    assert!(
        c.owners.iter().any(|o| o.pid == Some(h.child.id())),
        "{:?}",
        c.owners
    );
    assert_eq!(
        c.explanation.and_then(|e| e.conflict),
        Some(port_inspector::diagnose::Conflict::SameAddress),
        "same address"
    );
}

#[test]
fn check_of_the_wildcard_names_a_holder_on_loopback() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let (code, v) = common::json(&["check", &format!("0.0.0.0:{}", h.port), "--json"]);
    // Windows lets a wildcard bind sit beside a specific one (no SO_EXCLUSIVEADDRUSE), Linux
    // does not: whichever the OS answers, a refusal must name the holder.
    if code == Some(1) {
        assert_eq!(with_pid(&v["owners"], h.child.id()).len(), 1, "{v}");
    } else {
        assert!(
            cfg!(windows) && code == Some(0),
            "Linux refuses 0.0.0.0 beside 127.0.0.1; Windows binds it: {code:?} {v}"
        );
    }
}

#[test]
fn check_of_a_udp_holder_names_it() {
    let h = holder::spawn("udp", "127.0.0.1:0");
    let (code, v) = common::json(&["check", &format!("127.0.0.1:{}", h.port), "--udp", "--json"]);
    assert_eq!(code, Some(1), "{v}");
    let mine = with_pid(&v["owners"], h.child.id());
    assert_eq!(mine.len(), 1, "{v}");
    assert_eq!(mine[0]["protocol"], "udp", "{v}");
}

#[test]
fn the_text_answer_names_the_holder() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let out = common::bin()
        .args(["check", &format!("127.0.0.1:{}", h.port)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("{} (PID {})", holder::image(), h.child.id())),
        "{text}"
    );
}

#[test]
fn list_has_a_row_for_a_tcp_and_a_udp_holder() {
    let t = holder::spawn("tcp", "127.0.0.1:0");
    let u = holder::spawn("udp", "127.0.0.1:0");
    for (h, proto, state) in [(&t, "tcp", "LISTEN"), (&u, "udp", "UNCONN")] {
        let (code, v) = common::json(&["list", "--port", &h.port.to_string(), "--json"]);
        assert_eq!(code, Some(0), "{v}");
        let row = v
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["protocol"] == proto && !with_pid(&r["owners"], h.child.id()).is_empty())
            .unwrap_or_else(|| panic!("a {proto} row held by PID {}: {v}", h.child.id()));
        assert_eq!(row["state"], state, "{row}");
        assert_eq!(row["port"], h.port, "{row}");
        assert_is_holder(with_pid(&row["owners"], h.child.id())[0], "list");
    }
}

#[test]
fn list_names_the_holders_parent_chain() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let (_, v) = common::json(&["list", "--port", &h.port.to_string(), "--json"]);
    let o = v
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| with_pid(&r["owners"], h.child.id()))
        .next()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        o["ancestry"][0]["pid"],
        std::process::id(),
        "the parent is this test: {o}"
    );
}

#[test]
fn list_by_process_name_finds_the_holder() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let (code, v) = common::json(&["list", "--process", "holder", "--json"]);
    assert_eq!(code, Some(0), "{v}");
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["port"] == h.port && !with_pid(&r["owners"], h.child.id()).is_empty()),
        "{v}"
    );
}

#[test]
fn scan_names_the_holder_of_a_busy_port() {
    let h = holder::spawn("tcp", "127.0.0.1:0");
    let range = format!("{}-{}", h.port, h.port);
    let (code, v) = common::json(&["scan", &range, "--host", "127.0.0.1", "--json"]);
    assert!(code.is_some(), "{v}");
    let busy = v["busy"].as_array().unwrap();
    assert_eq!(busy.len(), 1, "{v}");
    assert_eq!(busy[0]["error"]["wsa_code"], 10048, "{v}");
    let mine = with_pid(&busy[0]["owners"], h.child.id());
    assert_eq!(mine.len(), 1, "{v}");
    assert_eq!(mine[0]["process"], holder::image().as_str(), "{v}");
}

#[test]
fn scan_of_both_protocols_names_each_holder() {
    let t = holder::spawn("tcp", "127.0.0.1:0");
    let u = holder::spawn("udp", "127.0.0.1:0");
    let (lo, hi) = (t.port.min(u.port), t.port.max(u.port));
    // A short range around both (they may be far apart: then each alone).
    for (h, proto) in [(&t, "tcp"), (&u, "udp")] {
        let (from, to) = if hi - lo <= 64 {
            (lo, hi)
        } else {
            (h.port, h.port)
        };
        let (_, v) = common::json(&[
            "scan",
            &format!("{from}-{to}"),
            "--host",
            "127.0.0.1",
            "--both",
            "--json",
        ]);
        let b = v["busy"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["port"] == h.port && b["protocol"] == proto)
            .unwrap_or_else(|| panic!("{proto} {} busy: {v}", h.port));
        assert_eq!(with_pid(&b["owners"], h.child.id()).len(), 1, "{b}");
    }
}

#[test]
fn end_ends_the_holder_and_proves_the_port_free() {
    // On this test's own loopback address: once freed, no other test's bind(127.0.0.1:0) can
    // take the port before the bind below.
    let ip = common::private_loopback();
    let mut h = holder::spawn("tcp", &format!("{ip}:0"));
    let pid = h.child.id();
    let (code, v) = common::json(&[
        "end",
        &h.port.to_string(),
        "--host",
        &ip.to_string(),
        "--yes",
        "--json",
    ]);
    assert_eq!(code, Some(0), "ended and free: {v}");
    let targets: Vec<u64> = v["plan"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(targets, [u64::from(pid)], "{v}");
    assert_eq!(v["after"]["kind"], "free", "proven by a bind: {v}");
    holder::wait_exit(&mut h, "the holder ended");
    std::net::TcpListener::bind((ip, h.port)).expect("the port binds afterwards");
}

#[test]
fn end_of_a_udp_holder_ends_it() {
    let ip = common::private_loopback();
    let mut h = holder::spawn("udp", &format!("{ip}:0"));
    let (code, v) = common::json(&[
        "end",
        &h.port.to_string(),
        "--udp",
        "--host",
        &ip.to_string(),
        "--yes",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{v}");
    holder::wait_exit(&mut h, "the UDP holder ended");
    std::net::UdpSocket::bind((ip, h.port)).expect("the port binds afterwards");
}

#[test]
fn a_dry_run_names_the_holder_and_ends_nothing() {
    let mut h = holder::spawn("tcp", "127.0.0.1:0");
    let out = common::bin()
        .args([
            "end",
            &h.port.to_string(),
            "--host",
            "127.0.0.1",
            "--dry-run",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("PID {}", h.child.id())), "{text}");
    assert!(h.child.try_wait().unwrap().is_none(), "still running");
    let (code, _) = common::json(&["who", &h.port.to_string(), "--tcp", "--json"]);
    assert_eq!(code, Some(0), "still held");
}

#[test]
fn end_without_a_terminal_and_without_yes_refuses() {
    let mut h = holder::spawn("tcp", "127.0.0.1:0");
    let out = common::bin()
        .args(["end", &h.port.to_string(), "--host", "127.0.0.1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "refused");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("give --yes"),
        "says how"
    );
    assert!(h.child.try_wait().unwrap().is_none(), "nothing was ended");
}

#[test]
fn end_refuses_to_end_this_very_process() {
    // The test itself holds the port: `end` is run by this process's child, so this process is
    // its parent, which it never ends.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // Another test's child caught between its fork and its exec holds a copy of the listener
    // for a moment (seen at two suites at once): `end` plans it, finds it no longer holds the
    // port, and says so with exit 1. Asked again, only this process holds it.
    let mut tries = 0;
    let (code, v) = loop {
        tries += 1;
        let (code, v) = common::json(&[
            "end",
            &port.to_string(),
            "--host",
            "127.0.0.1",
            "--yes",
            "--json",
        ]);
        let passed = v["outcomes"]
            .as_array()
            .is_some_and(|o| !o.is_empty() && o.iter().all(|o| o[1]["kind"] == "no_longer_holds"));
        if code == Some(1) && passed && tries < 5 {
            continue;
        }
        break (code, v);
    };
    assert_eq!(code, Some(2), "refused: {v}");
    let refused = &v["targets"][0]["refused"]["kind"];
    assert!(
        refused == "our_parent" || refused == "ourselves",
        "the reason, typed: {v}"
    );
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_err(),
        "still held by this test"
    );
}

/// A socket inherited by a child process (Windows: an inheritable handle; Unix: a descriptor
/// kept across exec): both processes hold it, `who` names both, `end` ends both and the port
/// binds again.
#[test]
fn a_socket_shared_with_a_child_names_and_ends_both() {
    let ip = common::private_loopback();
    let (mut h, child) = holder::spawn_with_child("tcp", &format!("{ip}:0"));
    let parent = h.child.id();
    let port = h.port.to_string();
    let host = ip.to_string();
    let (code, v) = common::json(&["who", &port, "--tcp", "--host", &host, "--json"]);
    assert_eq!(code, Some(0), "{v}");
    for pid in [parent, child] {
        assert!(
            v["owners"].as_array().unwrap().iter().any(|o| {
                o["pid"] == pid
                    || o["pids"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|x| *x == pid))
            }),
            "PID {pid} named: {v}"
        );
    }
    let (code, v) = common::json(&["end", &port, "--host", &host, "--yes", "--json"]);
    assert_eq!(code, Some(0), "both ended, the port free: {v}");
    let mut ended: Vec<u64> = v["plan"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["pid"].as_u64().unwrap())
        .collect();
    ended.sort_unstable();
    let mut want = [u64::from(parent), u64::from(child)];
    want.sort_unstable();
    assert_eq!(ended, want, "{v}");
    assert_eq!(v["after"]["kind"], "free", "{v}");
    holder::wait_exit(&mut h, "the parent ended");
    std::net::TcpListener::bind((ip, h.port)).expect("the port binds afterwards");
}
