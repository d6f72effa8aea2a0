//! The headline names both sides of a clash: the address asked for and the holder's own address
//! when they differ (the review: "0.0.0.0:8088 is in use by nginx" while nginx held 127.0.0.1).
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::TcpListener;

#[test]
fn the_headline_names_both_sides_of_a_clash() {
    let ip = common::private_loopback();
    let held = TcpListener::bind((ip, 0)).unwrap();
    let theirs = held.local_addr().unwrap();
    let port = theirs.port();
    let me = std::process::id();
    let out = common::bin()
        .args(["check", &format!("0.0.0.0:{port}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "not bindable: {text}");
    assert!(
        text.contains(&format!("0.0.0.0:{port} collides with "))
            && text.contains(&format!("(PID {me}) on {theirs}")),
        "both sides named: {text}"
    );
    // The same address: the plain sentence.
    let out = common::bin()
        .args(["check", &theirs.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{theirs} is in use by ")),
        "same address, one side: {text}"
    );
    drop(held);
}
