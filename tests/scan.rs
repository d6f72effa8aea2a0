//! Range scans and free ports on real loopback sockets: held ports found with our PID, free
//! ports bindable, and a cancel that stops fast and leaves nothing bound.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use port_inspector::Protocol;
use port_inspector::facts;
use port_inspector::probe::CancelToken;
use port_inspector::scan::{self, PortStatus, ScanRequest};
use serde_json::Value;

const LOOPBACK: &str = "127.0.0.1";

#[test]
fn scan_reports_exactly_the_held_ports_with_our_pid() {
    // Below the ephemeral range, so no outgoing connection lands here by chance.
    let (start, end) = (20_000u16, 20_099u16);
    let _t1 = TcpListener::bind((LOOPBACK, 20_010)).unwrap();
    let _t2 = TcpListener::bind((LOOPBACK, 20_050)).unwrap();
    let _u1 = UdpSocket::bind((LOOPBACK, 20_020)).unwrap();
    let req = ScanRequest {
        protocols: vec![Protocol::Tcp, Protocol::Udp],
        ..ScanRequest::tcp(LOOPBACK.parse().unwrap(), start, end)
    };
    let mut ticks = 0;
    let r = scan::scan(&req, &facts::gather(), &CancelToken::new(), &mut |_| {
        ticks += 1;
    });
    assert!(ticks >= 1, "progress reported");
    assert!(!r.cancelled, "complete");
    assert_eq!(r.scanned, 200, "100 ports x 2 protocols");
    let busy: Vec<(u16, Protocol)> = r.busy.iter().map(|b| (b.port, b.protocol)).collect();
    assert_eq!(
        busy,
        vec![
            (20_010, Protocol::Tcp),
            (20_050, Protocol::Tcp),
            (20_020, Protocol::Udp)
        ],
        "exactly the held ports"
    );
    let me = std::process::id();
    for b in &r.busy {
        assert_eq!(b.status, PortStatus::InUse, "in use");
        assert_eq!(b.error.wsa_code, 10048, "WSAEADDRINUSE");
        assert!(
            b.owners.iter().any(|o| o.pid == Some(me)),
            "port {} names our PID",
            b.port
        );
    }
    assert_eq!(r.free_count, 197, "the rest free");
    assert!(
        r.free
            .iter()
            .any(|f| f.protocol == Protocol::Tcp && f.start == 20_011 && f.end == 20_049),
        "free ranges collapsed: {:?}",
        r.free
    );
}

#[test]
fn cli_scan_json_lists_busy_ports_and_free_ranges() {
    let _t = TcpListener::bind((LOOPBACK, 20_205)).unwrap();
    let out = common::bin()
        .args(["scan", "20200-20209", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "exit 0");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["busy"][0]["port"], 20_205, "{v}");
    assert_eq!(
        v["busy"][0]["owners"][0]["pid"],
        std::process::id(),
        "owner"
    );
    assert_eq!(
        v["free"].as_array().unwrap().len(),
        2,
        "two free ranges around it"
    );
    let text = common::bin()
        .args(["scan", "20200-20209"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("20200-20204  TCP free"), "{text}");
    assert!(text.contains("20205        TCP IN USE"), "{text}");
}

#[test]
fn free_count_5_gives_ports_we_can_bind() {
    let out = common::bin()
        .args(["free", "--count", "5", "--range", "22000-22999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "exit 0");
    let ports: Vec<u16> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(ports.len(), 5, "five ports");
    let held: Vec<TcpListener> = ports
        .iter()
        .map(|p| TcpListener::bind((LOOPBACK, *p)).unwrap())
        .collect();
    assert_eq!(held.len(), 5, "all five bound");
    for bad in [
        ["free", "--count", "0"],
        ["free", "--count", "x"],
        ["free", "--range", "9-1"],
    ] {
        let out = common::bin().args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn free_prefers_ports_outside_the_ephemeral_range() {
    let f = facts::gather();
    let Some(eph) = f.ephemeral_range.clone() else {
        return;
    };
    // 33000-65535 spans the ephemeral range and what lies above it; other tests here stay below.
    let ports = scan::free_ports(
        LOOPBACK.parse().unwrap(),
        Protocol::Tcp,
        33_000,
        65_535,
        20,
        &f,
    );
    assert_eq!(ports.len(), 20, "found");
    assert!(
        ports.iter().all(|p| !eph.contains(*p)),
        "none in {}-{}: {ports:?}",
        eph.start,
        eph.end
    );
}

#[test]
fn cancel_stops_fast_and_leaves_nothing_bound() {
    // 23000-32000 overlaps no other test in this file (they run in parallel).
    let (start, end) = (23_000u16, 32_000u16);
    let req = ScanRequest {
        protocols: vec![Protocol::Tcp, Protocol::Udp],
        ..ScanRequest::tcp(LOOPBACK.parse().unwrap(), start, end)
    };
    let cancel = CancelToken::new();
    let (r, cancelled_at) = std::thread::scope(|s| {
        let c = cancel.clone();
        let canceller = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            let at = Instant::now();
            c.cancel();
            at
        });
        let r = scan::scan(&req, &facts::gather(), &cancel, &mut |_| {});
        (r, canceller.join().unwrap())
    });
    let stopped = cancelled_at.elapsed();
    assert!(r.cancelled, "reported as cancelled");
    assert!(
        r.scanned < req.total(),
        "stopped early: {} of {}",
        r.scanned,
        req.total()
    );
    assert!(
        stopped < Duration::from_millis(100),
        "stopped within 100 ms: {stopped:?}"
    );
    let busy: std::collections::HashSet<(u16, Protocol)> =
        r.busy.iter().map(|b| (b.port, b.protocol)).collect();
    for port in start..=end {
        if !busy.contains(&(port, Protocol::Tcp)) {
            TcpListener::bind((LOOPBACK, port))
                .unwrap_or_else(|e| panic!("TCP {port} left bound: {e}"));
        }
        if !busy.contains(&(port, Protocol::Udp)) {
            UdpSocket::bind((LOOPBACK, port))
                .unwrap_or_else(|e| panic!("UDP {port} left bound: {e}"));
        }
    }
}

#[test]
fn scanning_or_freeing_on_an_address_not_here_is_one_clear_error() {
    for args in [
        &["scan", "8000-8005", "--host", "192.0.2.1"][..],
        &["free", "--host", "192.0.2.1"][..],
        &["scan", "8000-8005", "--host", "localhost"][..],
    ] {
        let out = common::bin().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing listed");
    }
}
