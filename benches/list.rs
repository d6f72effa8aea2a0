//! The whole socket table with 10,000 listening sockets spread over 200 processes:
//! `port-inspector list --json` against `ss -tuanp`, whole processes, side by side in one run;
//! and the library call against the `listeners` crate's `get_all` (the same question asked of a
//! library: every listening socket and its process) on the same machine.
//! Run by hand: `cargo bench --bench list` (Linux, as root).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints its table.

mod common;

use std::time::{Duration, Instant};

const PROCESSES: usize = 200;
const PER_PROCESS: usize = 50;
const ROUNDS: usize = 15;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One whole run of `cmd`, its output drained through a pipe.
fn run(cmd: &str, args: &[&str]) -> Duration {
    let t = Instant::now();
    common::drained(cmd, args);
    t.elapsed()
}

/// The medians of the commands, run in turn round after round (so a slower minute of the
/// machine falls on all of them alike), after one warm-up round.
fn alternate(cmds: &[(&str, &[&str])]) -> Vec<Duration> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cmds.len()];
    for round in 0..=ROUNDS {
        for (i, (cmd, args)) in cmds.iter().enumerate() {
            let d = run(cmd, args);
            if round > 0 {
                times[i].push(d);
            }
        }
    }
    times.into_iter().map(median).collect()
}

fn main() {
    let crowd = common::crowd(PROCESSES, PER_PROCESS);
    let bin = env!("CARGO_BIN_EXE_port-inspector");
    let t = alternate(&[
        (bin, &["list", "--json"]),
        (bin, &["list"]),
        ("ss", &["-tuanp"]),
    ]);
    let (ours, ours_text, ss) = (t[0], t[1], t[2]);
    let lib = {
        let run = || {
            let t = Instant::now();
            let n = port_inspector::owners::all(None).owners.len();
            assert!(n >= PROCESSES * PER_PROCESS, "all sockets: {n}");
            t.elapsed()
        };
        run();
        median((0..ROUNDS).map(|_| run()).collect())
    };
    println!(
        "whole socket table, {} listening sockets in {PROCESSES} processes (median of {ROUNDS}, the tools run in turn):",
        PROCESSES * PER_PROCESS
    );
    println!("| tool | median |\n|---|---:|");
    println!(
        "| port-inspector library (`owners::all`) | {:.1} ms |",
        lib.as_secs_f64() * 1e3
    );
    println!(
        "| `port-inspector list --json` (process) | {:.1} ms |",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "| `port-inspector list` (process) | {:.1} ms |",
        ours_text.as_secs_f64() * 1e3
    );
    println!(
        "| `ss -tuanp` (process) | {:.1} ms |",
        ss.as_secs_f64() * 1e3
    );
    println!(
        "list --json / ss: {:.2}x",
        ours.as_secs_f64() / ss.as_secs_f64()
    );
    listeners_side_by_side();
    drop(crowd);
}

/// Listening sockets and their processes as a library: `owners::table` of the sockets that hold
/// a port without a peer (TCP LISTEN and bound, UDP unconnected) against `listeners::get_all`,
/// alternated round by round.
#[cfg(target_os = "linux")]
fn listeners_side_by_side() {
    let ours = || {
        let t = Instant::now();
        let n = port_inspector::owners::table(None, port_inspector::owners::Scope::Bound)
            .owners
            .len();
        (t.elapsed(), n)
    };
    let theirs = || {
        let t = Instant::now();
        let n = listeners::get_all().map_or(0, |l| l.len());
        (t.elapsed(), n)
    };
    let (_, n_ours) = ours();
    let (_, n_theirs) = theirs();
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..ROUNDS {
        a.push(ours().0);
        b.push(theirs().0);
    }
    let (a, b) = (median(a), median(b));
    println!("| library | median | listeners found |\n|---|---:|---:|");
    println!(
        "| port-inspector `owners::table` (Scope::Bound) | {:.1} ms | {n_ours} |",
        a.as_secs_f64() * 1e3
    );
    println!(
        "| `listeners::get_all` 0.6 | {:.1} ms | {n_theirs} |",
        b.as_secs_f64() * 1e3
    );
    println!(
        "owners::table / listeners::get_all: {:.2}x",
        a.as_secs_f64() / b.as_secs_f64()
    );
}

#[cfg(not(target_os = "linux"))]
fn listeners_side_by_side() {}
