//! "Who holds port X", side by side in one run with `ss -Htlnp 'sport = :X'` and
//! `lsof -nP -iTCP:X -sTCP:LISTEN`, in two cases:
//! - a small holder (this process) while another process keeps 5,000 listening sockets;
//! - a busy holder: a server (run as `nobody`) with 5,000 sockets open besides the one asked
//!   about, which it opened last (the worst case: its descriptor is the last one listed), and
//!   300 other idle processes on the machine.
//!
//! Run by hand: `cargo bench --bench who` (Linux, as root: the busy holder runs as `nobody`).
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

/// A python3 child running `code`, started through `setpriv` as `user` when given; returns it
/// once it printed its first line (its port).
fn python(code: &str, user: Option<&str>) -> (std::process::Child, String) {
    let mut cmd = match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid",
                u,
                "--regid",
                "nogroup",
                "--clear-groups",
                "/usr/bin/python3",
            ]);
            c
        }
        None => Command::new("python3"),
    };
    let mut child = cmd
        .args(["-c", code])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, line.trim().to_owned())
}

fn busy_holder() {
    // 300 idle processes (root's), and a server as nobody: 5,000 sockets (listeners, as a server's
    // many connections would be), then the listener we ask about, opened last.
    let idle: Vec<std::process::Child> = (0..300)
        .map(|_| Command::new("sleep").arg("3600").spawn().unwrap())
        .collect();
    let (mut server, port) = python(
        &format!(
            "import socket,resource,time\nresource.setrlimit(resource.RLIMIT_NOFILE,(20000,20000))\nl=[]\nfor i in range({SOCKETS}):\n s=socket.socket();s.bind(('127.0.0.1',0));s.listen(1);l.append(s)\nt=socket.socket();t.bind(('127.0.0.1',0));t.listen(8)\nprint(t.getsockname()[1],flush=True)\ntime.sleep(3600)"
        ),
        Some("nobody"),
    );
    let pid = server.id();
    let port: u16 = port.parse().unwrap();
    let bin = env!("CARGO_BIN_EXE_port-inspector");
    let p = port.to_string();
    let ours = time(|| {
        let found = owners::of(Query {
            port,
            protocol: Some(Protocol::Tcp),
        });
        assert!(found.owners.iter().any(|o| o.pid == Some(pid)), "found");
    });
    let ours_cli = time(run(bin, &["who", &p, "--tcp"]));
    let ss = time(run("ss", &["-Htlnp", &format!("sport = :{port}")]));
    let lsof = time(run(
        "lsof",
        &["-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN"],
    ));
    println!();
    println!(
        "busy holder: who holds port {port}, held by a server with {} sockets open (its listener opened last), 300 idle processes (median of {ROUNDS}):",
        SOCKETS + 1
    );
    table(port, ours, ours_cli, ss, lsof);
    let _ = server.kill();
    let _ = server.wait();
    for mut c in idle {
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn table(port: u16, ours: Duration, ours_cli: Duration, ss: Duration, lsof: Duration) {
    println!("| tool | median | vs ss |");
    println!("|---|---:|---:|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let vs = |d: Duration| d.as_secs_f64() / ss.as_secs_f64();
    println!(
        "| port-inspector library call (owners::of) | {:.2} ms | {:.2}x |",
        ms(ours),
        vs(ours)
    );
    println!(
        "| `port-inspector who {port} --tcp` (process) | {:.2} ms | {:.2}x |",
        ms(ours_cli),
        vs(ours_cli)
    );
    println!(
        "| `ss -Htlnp 'sport = :{port}'` | {:.2} ms | 1.00x |",
        ms(ss)
    );
    println!(
        "| `lsof -nP -iTCP:{port} -sTCP:LISTEN` | {:.2} ms | {:.2}x |",
        ms(lsof),
        vs(lsof)
    );
    println!(
        "the CLI: {:.2}x the time of ss, {:.1}x faster than lsof",
        ours_cli.as_secs_f64() / ss.as_secs_f64(),
        lsof.as_secs_f64() / ours_cli.as_secs_f64()
    );
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

    println!(
        "small holder: who holds port {port} (this process) while another keeps {SOCKETS} listening sockets (median of {ROUNDS}):"
    );
    table(port, ours, ours_cli, ss, lsof);
    let _ = crowd.kill();
    let _ = crowd.wait();
    drop(holder);
    busy_holder();
}
