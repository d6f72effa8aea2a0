//! A full 1024-65535 TCP scan of 127.0.0.1: Port Inspector's scan (the library call, and the
//! whole `port-inspector scan --json` process) against a plain single-threaded
//! socket+bind+close loop (the floor one thread can reach), two such loops on two threads, and a
//! naive Python scan, in one run. Then the same range on a crowded machine (10,000 listeners in
//! 200 processes, all in the range): the scan must name every one's owner, which `ss -Htlnp`
//! (what an engineer would run to see them) is timed beside.
//!
//! Run by hand: `cargo bench --bench scan`.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A bench binary: it prints its table.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use port_inspector::facts;
use port_inspector::probe::CancelToken;
use port_inspector::scan::{self, ScanRequest};
use socket2::{Domain, SockAddr, Socket, Type};

const START: u16 = 1024;
const END: u16 = 65535;
const ROUNDS: usize = 21;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The medians of the contenders, run in turn round after round (so a slower minute of the
/// machine falls on all of them alike), after one warm-up round.
fn alternate(contenders: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); contenders.len()];
    for round in 0..=ROUNDS {
        for (i, f) in contenders.iter_mut().enumerate() {
            let t = Instant::now();
            f();
            if round > 0 {
                times[i].push(t.elapsed());
            }
        }
    }
    times.into_iter().map(median).collect()
}

fn own_table_loop(start: u16, end: u16) -> u32 {
    port_inspector::platform::private_descriptor_table();
    plain_loop(start, end)
}

fn own_table_and_credentials_loop(start: u16, end: u16) -> u32 {
    port_inspector::platform::private_descriptor_table();
    port_inspector::platform::private_credentials();
    plain_loop(start, end)
}

fn plain_loop(start: u16, end: u16) -> u32 {
    let mut free = 0;
    for port in start..=end {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let addr = SockAddr::from(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        if s.bind(&addr).is_ok() {
            free += 1;
        }
    }
    free
}

const PYTHON: &str = "import socket\nfree=0\nfor p in range(1024,65536):\n    s=socket.socket()\n    try:\n        s.bind(('127.0.0.1',p)); free+=1\n    except OSError:\n        pass\n    s.close()\nprint(free)";

fn main() {
    let f = facts::gather();
    let req = ScanRequest::tcp(IpAddr::V4(Ipv4Addr::LOCALHOST), START, END);
    let bin = env!("CARGO_BIN_EXE_port-inspector");
    let range = format!("{START}-{END}");
    let mid = START + (END - START) / 2;
    let t = alternate(&mut [
        &mut || {
            let r = scan::scan(&req, &f, &CancelToken::new(), &mut |_| {});
            assert!(!r.cancelled, "complete");
        },
        &mut || common::drained(bin, &["scan", &range, "--host", "127.0.0.1", "--json"]),
        &mut || {
            plain_loop(START, END);
        },
        &mut || {
            std::thread::scope(|s| {
                s.spawn(|| plain_loop(START, mid));
                s.spawn(|| plain_loop(mid + 1, END));
            });
        },
        &mut || {
            std::thread::scope(|s| {
                s.spawn(|| own_table_loop(START, mid));
                s.spawn(|| own_table_loop(mid + 1, END));
            });
        },
        &mut || {
            std::thread::scope(|s| {
                s.spawn(|| own_table_and_credentials_loop(START, mid));
                s.spawn(|| own_table_and_credentials_loop(mid + 1, END));
            });
        },
        &mut || {
            let out = Command::new("python3")
                .args(["-c", PYTHON])
                .output()
                .unwrap();
            assert!(out.status.success(), "python ran");
        },
    ]);
    let (ours, cli, single, two, two_own, two_creds, python) =
        (t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per_port = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(u32::from(END - START) + 1);
    println!(
        "TCP scan of 127.0.0.1 ports {START}-{END}, median of {ROUNDS} runs in turn, {} cores:",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    println!("| scanner | time | per port | vs plain loop |");
    println!("|---|---:|---:|---:|");
    for (name, d) in [
        ("port-inspector scan (library)", ours),
        (
            "`port-inspector scan 1024-65535 --json` (whole process)",
            cli,
        ),
        ("plain Rust loop, 1 thread", single),
        ("plain Rust loop, 2 threads (halves)", two),
        (
            "plain Rust loop, 2 threads with their own descriptor tables",
            two_own,
        ),
        (
            "plain Rust loop, 2 threads with their own descriptor tables and credentials",
            two_creds,
        ),
        ("naive Python loop, 1 thread (incl. start-up)", python),
    ] {
        println!(
            "| {name} | {:.1} ms | {:.2} µs | {:.2}x |",
            ms(d),
            per_port(d),
            d.as_secs_f64() / single.as_secs_f64()
        );
    }

    let crowd = common::crowd(200, 50);
    let mut busy = 0;
    let t = alternate(&mut [
        &mut || {
            let r = scan::scan(&req, &f, &CancelToken::new(), &mut |_| {});
            busy = r.busy.iter().filter(|b| !b.owners.is_empty()).count();
        },
        &mut || common::drained(bin, &["scan", &range, "--host", "127.0.0.1", "--json"]),
        &mut || {
            plain_loop(START, END);
        },
        &mut || common::drained("ss", &["-Htlnp"]),
    ]);
    drop(crowd);
    let single = t[2];
    println!(
        "\nThe same scan beside 10,000 listeners in 200 processes ({busy} busy ports named with their owner):"
    );
    println!("| command | time | vs plain loop |");
    println!("|---|---:|---:|");
    for (name, d) in [
        ("port-inspector scan (library)", t[0]),
        (
            "`port-inspector scan 1024-65535 --json` (whole process)",
            t[1],
        ),
        ("plain Rust loop, 1 thread", t[2]),
        ("`ss -Htlnp` (listeners and their processes, no scan)", t[3]),
    ] {
        println!(
            "| {name} | {:.1} ms | {:.2}x |",
            ms(d),
            d.as_secs_f64() / single.as_secs_f64()
        );
    }
}
