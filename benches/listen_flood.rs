//! Memory of `listen` under a UDP flood: the whole process's resident size before and after
//! 12 seconds of datagrams as fast as two senders can go. Run by hand:
//! `cargo bench --bench listen_flood`. The hold keeps counts and the newest 200 arrivals only, so
//! the growth must stay within a few MiB.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints its table; unwrap is its assert.

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn main() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_port-inspector"))
        .args([
            "listen",
            &format!("127.0.0.1:{port}"),
            "--udp",
            "--for",
            "16",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let before = rss_kib(child.id());
    let stop = AtomicBool::new(false);
    let sent = AtomicU64::new(0);
    let start = Instant::now();
    let mut peak = before;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
                let payload = [7u8; 512];
                while !stop.load(Ordering::Relaxed) {
                    if sock.send_to(&payload, ("127.0.0.1", port)).is_ok() {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        while start.elapsed() < Duration::from_secs(12) {
            std::thread::sleep(Duration::from_millis(500));
            peak = peak.max(rss_kib(child.id()));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let after = rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "listen under a 12 s UDP flood ({} datagrams of 512 bytes sent)",
        sent.load(Ordering::Relaxed)
    );
    println!("  RSS before {before:>8} KiB");
    println!("  RSS peak   {peak:>8} KiB");
    println!("  RSS after  {after:>8} KiB");
    #[allow(clippy::cast_precision_loss)] // KiB of one process fit f64
    let growth = (peak.saturating_sub(before)) as f64 / 1024.0;
    println!("  growth     {growth:>8.2} MiB (limit 8 MiB)");
}
