//! The bind probe on real loopback sockets: free, held, not local, unresolvable, UDP, IPv6, port 0,
//! descriptor hygiene, and a resolver that hangs (timeout and cancel).
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use port_inspector::probe::{self, CancelToken, ProbeConfig, StepKind, Verdict};
use port_inspector::{Family, Target};

fn cfg() -> ProbeConfig {
    ProbeConfig::default()
}

#[test]
fn free_port_is_bindable_and_released() {
    let port = common::free_tcp_port();
    let r = probe::run(&Target::tcp("127.0.0.1", port), &cfg());
    assert_eq!(r.verdict, Verdict::Bindable, "{r:#?}");
    assert!(r.error.is_none(), "no error");
    let a = &r.attempts[0];
    assert_eq!(
        a.bound,
        Some(SocketAddr::from(([127, 0, 0, 1], port))),
        "bound address"
    );
    let kinds: Vec<StepKind> = a.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        kinds,
        [
            StepKind::Resolve,
            StepKind::Socket,
            StepKind::Bind,
            StepKind::Listen,
            StepKind::Getsockname,
            StepKind::Close
        ],
        "the Winsock sample's sequence"
    );
    // The probe released the port: we can take it right away.
    TcpListener::bind(("127.0.0.1", port)).expect("port free again after the probe");
}

#[test]
fn held_port_gives_wsaeaddrinuse_10048_eaddrinuse_98() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let r = probe::run(&Target::tcp("127.0.0.1", port), &cfg());
    assert_eq!(r.verdict, Verdict::NotBindable, "held port");
    let e = r.error.expect("an error");
    assert_eq!(
        (e.wsa_code, e.wsa_name.as_str()),
        (10048, "WSAEADDRINUSE"),
        "wsa"
    );
    let (code, name) = common::native(10048);
    assert_eq!(
        (e.native_code, e.native_name.as_str()),
        (code, name.as_str()),
        "native (98 EADDRINUSE on Linux)"
    );
    assert_eq!(
        r.failed_step,
        Some(StepKind::Bind),
        "bind is the failing step"
    );
    let last = r.attempts[0].steps.last().unwrap();
    assert_eq!(last.step, StepKind::Close, "socket closed even on failure");
}

#[test]
fn test_net_address_is_not_available_10049() {
    let r = probe::run(&Target::tcp("192.0.2.1", 8080), &cfg());
    let e = r.error.expect("an error");
    assert_eq!(e.wsa_code, 10049, "WSAEADDRNOTAVAIL");
    assert_eq!(e.native_name, common::native(10049).1, "native");
}

#[test]
fn invalid_name_is_host_not_found_11001() {
    let r = probe::run(&Target::tcp("name.invalid", 8080), &cfg());
    let e = r.error.expect("an error");
    // `.invalid` never resolves (RFC 6761). Where no resolver answers at all, glibc says
    // EAI_AGAIN instead (WSATRY_AGAIN 11002); this machine answers EAI_NONAME at once.
    assert!(
        e.wsa_code == 11001 || e.wsa_code == 11002,
        "11001, or 11002 without a resolver: {e:?}"
    );
    assert_eq!(r.failed_step, Some(StepKind::Resolve), "resolve failed");
    assert_eq!(r.attempts.len(), 1, "one attempt records the failed lookup");
}

#[test]
fn udp_free_and_held() {
    let port = common::free_udp_port();
    let r = probe::run(&Target::udp("127.0.0.1", port), &cfg());
    assert_eq!(r.verdict, Verdict::Bindable, "free UDP");
    assert!(
        !r.attempts[0]
            .steps
            .iter()
            .any(|s| s.step == StepKind::Listen),
        "UDP never listens"
    );
    let held = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let r = probe::run(&Target::udp("127.0.0.1", port), &cfg());
    assert_eq!(r.error.map(|e| e.wsa_code), Some(10048), "held UDP");
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "needs ::1 (IPv6 loopback), which containers may lack; CI runs it (cargo test -- --include-ignored)"
)]
fn ipv6_loopback_works() {
    common::require(common::has_ipv6_loopback(), "::1 on this machine");
    let held = TcpListener::bind("[::1]:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let r = probe::run(&Target::tcp("::1", port), &cfg());
    assert_eq!(r.error.map(|e| e.wsa_code), Some(10048), "held ::1");
    drop(held);
    let r = probe::run(&Target::tcp("::1", port), &cfg());
    assert_eq!(r.verdict, Verdict::Bindable, "free ::1");
    assert_eq!(r.attempts[0].family, Family::Ipv6, "family");
}

#[test]
fn port_zero_reports_the_port_the_os_chose() {
    let r = probe::run(&Target::tcp("127.0.0.1", 0), &cfg());
    let bound: SocketAddr = r.attempts[0].bound.unwrap();
    assert_ne!(bound.port(), 0, "the OS picked a real port");
}

fn hanging_resolver() -> probe::Resolver {
    Arc::new(|_req| {
        std::thread::sleep(Duration::from_secs(3));
        Ok(vec!["127.0.0.1:1".parse().unwrap()])
    })
}

#[test]
fn a_hung_resolver_times_out() {
    let cfg = ProbeConfig {
        timeout: Duration::from_millis(200),
        resolver: hanging_resolver(),
        ..ProbeConfig::default()
    };
    let start = Instant::now();
    let r = probe::run(&Target::tcp("slow.example.invalid", 80), &cfg);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "returned before the resolver did"
    );
    assert_eq!(r.error.map(|e| e.wsa_code), Some(10060), "WSAETIMEDOUT");
}

#[test]
fn a_hung_resolver_can_be_cancelled() {
    let cancel = CancelToken::new();
    let cfg = ProbeConfig {
        timeout: Duration::from_secs(30),
        resolver: hanging_resolver(),
        cancel: cancel.clone(),
        ..ProbeConfig::default()
    };
    let t = std::thread::spawn(move || probe::run(&Target::tcp("slow.example.invalid", 80), &cfg));
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    cancel.cancel();
    let r = t.join().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "cancel honoured promptly"
    );
    assert_eq!(r.error.map(|e| e.wsa_code), Some(10103), "WSAECANCELLED");
}
