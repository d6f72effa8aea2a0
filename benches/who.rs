//! "Who holds port X" with 5,000 listening sockets on the machine: Port Inspector's lookup
//! against `ss -Htlnp 'sport = :X'` and `lsof -nP -iTCP:X -sTCP:LISTEN`, side by side in one run.
//!
//! Run by hand: `cargo bench --bench who` (Linux, as root or with a raised open-file limit).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A bench binary: it prints its table.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use port_inspector::Protocol;
use port_inspector::owners::{self, Query};

const SOCKETS: usize = 5_000;
const ROUNDS: usize = 30;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    median(
        (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn run(cmd: &str, args: &[&str]) -> impl FnMut() {
    let cmd = cmd.to_owned();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    move || {
        let out = Command::new(&cmd).args(&args).output().unwrap();
        assert!(!out.stdout.is_empty(), "{cmd} found the holder");
    }
}

fn main() {
    // The crowd: 5,000 listeners in a child process, like a busy server on the machine.
    let mut crowd = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import socket,resource,sys,time\nresource.setrlimit(resource.RLIMIT_NOFILE,(20000,20000))\nl=[]\nfor i in range({SOCKETS}):\n s=socket.socket();s.bind(('127.0.0.1',0));s.listen(1);l.append(s)\nprint('ready',flush=True)\ntime.sleep(3600)"
            ),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(crowd.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready", "crowd started");

    // The holder we look for: this process.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let p = port.to_string();
    let me = std::process::id();

    let ours = time(|| {
        let found = owners::of(Query {
            port,
            protocol: Some(Protocol::Tcp),
        });
        assert!(found.owners.iter().any(|o| o.pid == Some(me)), "found");
    });
    let bin = env!("CARGO_BIN_EXE_port-inspector");
    let ours_cli = time(run(bin, &["who", &p, "--tcp"]));
    let ss = time(run("ss", &["-Htlnp", &format!("sport = :{port}")]));
    let lsof = time(run(
        "lsof",
        &["-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN"],
    ));

    println!("who holds port {port} with {SOCKETS} listening sockets open (median of {ROUNDS}):");
    println!("| tool | median |");
    println!("|---|---:|");
    println!(
        "| port-inspector library call (owners::of) | {:.2} ms |",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "| `port-inspector who {port} --tcp` (process) | {:.2} ms |",
        ours_cli.as_secs_f64() * 1e3
    );
    println!(
        "| `ss -Htlnp 'sport = :{port}'` | {:.2} ms |",
        ss.as_secs_f64() * 1e3
    );
    println!(
        "| `lsof -nP -iTCP:{port} -sTCP:LISTEN` | {:.2} ms |",
        lsof.as_secs_f64() * 1e3
    );
    println!(
        "speed-up of the CLI: {:.1}x vs ss, {:.1}x vs lsof",
        ss.as_secs_f64() / ours_cli.as_secs_f64(),
        lsof.as_secs_f64() / ours_cli.as_secs_f64()
    );
    let _ = crowd.kill();
    let _ = crowd.wait();
}
