//! Descriptor hygiene: 10 000 probes leave this process's descriptor count unchanged.
//!
//! In a test binary of its own: the count is process-wide, and sibling tests in one binary open
//! sockets while it runs, which made it fail at random when it shared a binary with them.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::TcpListener;

use port_inspector::Target;
use port_inspector::probe::{self, ProbeConfig, Verdict};

/// 10,000 probes, every other one on a held port (its bind fails), the rest on port 0; each
/// answer is checked, so a probe that opened nothing (and so leaked nothing) cannot pass.
fn ten_thousand_probes() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = held.local_addr().unwrap().port();
    for i in 0..10_000u32 {
        let (port, expected) = if i % 2 == 0 {
            (busy, Verdict::NotBindable)
        } else {
            (0, Verdict::Bindable)
        };
        let r = probe::run(&Target::tcp("127.0.0.1", port), &ProbeConfig::default());
        assert_eq!(r.verdict, expected, "probe {i} on port {port}");
        assert!(
            r.attempts.iter().any(|a| a.steps.len() > 1),
            "probe {i} opened a socket"
        );
    }
}

#[cfg(unix)]
#[test]
fn ten_thousand_probes_leak_no_descriptor() {
    let before = common::open_fds();
    ten_thousand_probes();
    assert_eq!(common::open_fds(), before, "open descriptors unchanged");
}

/// Windows: the sockets are this process's rows in the socket tables (a probe's socket listens
/// once bound, so a leaked one is listed with our PID), and no handle per probe stays open.
/// The handle count itself is not compared exactly: under Wine it also counts Wine's own
/// handles, which come and go by a few (240 -> 249 was seen); a leak of one handle in either
/// path of the probe would add 5,000 or more.
#[cfg(windows)]
#[test]
fn ten_thousand_probes_leak_no_descriptor() {
    let me = std::process::id();
    let my_sockets = || {
        port_inspector::owners::all(None)
            .owners
            .iter()
            .filter(|o| o.pid == Some(me))
            .count()
    };
    let sockets = my_sockets();
    let handles = handle_count();
    ten_thousand_probes();
    assert_eq!(my_sockets(), sockets, "this process's sockets unchanged");
    let grown = handle_count().saturating_sub(handles);
    assert!(
        grown < 1_000,
        "{grown} more handles after 10,000 probes: {handles} before"
    );
}

#[cfg(windows)]
#[allow(unsafe_code)] // One Win32 call with an out-parameter.
fn handle_count() -> u32 {
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessHandleCount};
    let mut n = 0u32;
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; `n` is a valid
    // u32 the call writes.
    let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &raw mut n) };
    assert_ne!(ok, 0, "GetProcessHandleCount");
    n
}
