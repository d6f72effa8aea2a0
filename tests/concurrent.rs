//! Runs at the same time: another scan's or check's probe holds a port for microseconds, and
//! must never be reported as the port being in use.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::Value;

#[test]
fn two_scans_of_one_range_at_once_find_every_free_port_free() {
    let ip = common::private_loopback();
    // Below the ephemeral range (32768 and up on Linux): a port there can be taken at any moment
    // by another test's connect or bind to port 0 on the wildcard, which covers this address too
    // (free_run starts at 20000-29999).
    let len: u16 = 2000;
    let start = common::free_run(ip, len);
    assert!(start + len <= 32768, "a range below the ephemeral ports");
    let range = format!("{start}-{}", start + len - 1);
    let host = ip.to_string();
    let mut wrong = Vec::new();
    // Each round is two scans of 4,000 binds each (TCP and UDP) over the same ports at once.
    for _ in 0..32 {
        let scans: Vec<_> = (0..2)
            .map(|_| {
                common::bin()
                    .args(["scan", &range, "--host", &host, "--both", "--json"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for s in scans {
            let out = s.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "scan exit: {}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| l.contains("\"port\""))
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["scanned"], u32::from(len) * 2, "every port tested: {v}");
            wrong.extend(v["busy"].as_array().unwrap().iter().cloned());
        }
    }
    assert!(
        wrong.is_empty(),
        "free ports reported busy while another scan ran: {wrong:?}"
    );
}

#[test]
fn many_checks_of_one_free_port_at_once_all_say_bindable() {
    let ip = common::private_loopback();
    let port = common::free_run(ip, 1);
    let target = format!("{ip}:{port}");
    let mut failed = Vec::new();
    // 400 checks, 100 at a time; half of them --quiet (the probe alone, the exit code).
    for round in 0..4 {
        let checks: Vec<_> = (0..100)
            .map(|i| {
                let mut c = common::bin();
                c.arg("check").arg(&target);
                if (round + i) % 2 == 0 {
                    c.arg("--quiet");
                } else {
                    c.arg("--json");
                }
                c.stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in checks {
            let out = c.wait_with_output().unwrap();
            // The exit code and both streams: a --quiet check prints nothing, so its code
            // (1 in use, 3 unknown) is what tells a collision from a timeout.
            if out.status.code() != Some(0) {
                failed.push(format!(
                    "exit {:?}: {}{}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 400 concurrent checks of a free port said it was not bindable: {:?}",
        failed.len(),
        failed.first()
    );
}
