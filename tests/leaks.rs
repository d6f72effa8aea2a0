//! Descriptor hygiene: 10 000 probes leave this process's descriptor count unchanged.
//!
//! In a test binary of its own: the count is process-wide, and sibling tests in one binary open
//! sockets while it runs, which made it fail at random when it shared a binary with them.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::TcpListener;

use port_inspector::Target;
use port_inspector::probe::{self, ProbeConfig};

#[test]
fn ten_thousand_probes_leak_no_descriptor() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = held.local_addr().unwrap().port();
    let before = common::open_fds();
    for i in 0..10_000u32 {
        let port = if i % 2 == 0 { busy } else { 0 };
        let _ = probe::run(&Target::tcp("127.0.0.1", port), &ProbeConfig::default());
    }
    assert_eq!(common::open_fds(), before, "open descriptors unchanged");
}
