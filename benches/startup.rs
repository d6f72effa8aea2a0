//! Start-up: the command-line paths must not pay for the window. `port-inspector check -q` (a
//! whole check whose answer is the exit code) against `port-inspector --version` (start-up and
//! argument parsing only) and `/bin/true` (a process and nothing else), in one run; then the same
//! check in the build without the window (`--no-default-features`) when it has been built.
//!
//! Run by hand: `cargo bench --bench startup`.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A bench binary: it prints its table.

use std::process::Command;
use std::time::{Duration, Instant};

const ROUNDS: usize = 200;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(program: &str, args: &[&str]) -> Duration {
    let run = || {
        let s = Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(s.code().is_some(), "{program} ran");
    };
    for _ in 0..10 {
        run();
    }
    median(
        (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                run();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_port-inspector");
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = format!("127.0.0.1:{}", held.local_addr().unwrap().port());
    let free = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let version = time(bin, &["--version"]);
    let rows = [
        ("`/bin/true`", time("/bin/true", &[])),
        ("`port-inspector --version`", version),
        (
            "`port-inspector check -q` (a free port)",
            time(bin, &["check", "-q", &free]),
        ),
        (
            "`port-inspector check -q` (a held port)",
            time(bin, &["check", "-q", &busy]),
        ),
    ];
    println!("start-up, median of {ROUNDS} runs:");
    println!("| command | median | vs --version |");
    println!("|---|---:|---:|");
    for (name, d) in rows {
        println!(
            "| {name} | {:.2} ms | {:.2}x |",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / version.as_secs_f64()
        );
    }
    drop(held);
}
