//! The window's CPU with "Listening now" visible and nobody touching it: what it costs to keep
//! the live table open all day. For 100 and for 10,000 sockets (python3 children holding
//! listeners on 127.0.0.1), the release window on a private Xvfb (software rendering) opens on
//! the tab (its saved state says so), refreshes every second, and after 5 s of warm-up the
//! process's CPU time (all its threads: the drawing and the refreshes on the worker) is read from
//! /proc over 60 s. Also the frames drawn and the worst frame's CPU time.
//!
//! Run by hand: `cargo bench --bench window_cpu` (Linux, with Xvfb and python3 installed).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints its table.
#![allow(clippy::cast_precision_loss)] // Counts far below 2^52 shown as rates.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::Killed;

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn run(sockets: usize, measure: Duration) {
    let (processes, per) = if sockets <= 100 {
        (2, sockets / 2)
    } else {
        (200, sockets / 200)
    };
    let crowd = common::crowd(processes, per);
    let n = 4100 + std::process::id() % 800;
    let display = format!(":{n}");
    let _x = Killed(
        Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let home = std::env::temp_dir().join(format!("pi-window-cpu-{}", std::process::id()));
    let state = home.join(".local/share/port-inspector");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("app.ron"),
        r#"{"port-inspector-state": "(tab: Listening)"}"#,
    )
    .unwrap();
    let log = home.join("frames.log");
    let window = Killed(
        Command::new(env!("CARGO_BIN_EXE_port-inspector"))
            .arg("window")
            .env("DISPLAY", &display)
            .env("HOME", &home)
            .env_remove("XDG_DATA_HOME")
            .env("PORT_INSPECTOR_FRAME_LOG", &log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = window.0.id();
    std::thread::sleep(Duration::from_secs(5));
    let frames_before = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    let t0 = cpu_ticks(pid);
    std::thread::sleep(measure);
    let t1 = cpu_ticks(pid);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    drop(window);
    drop(crowd);
    let tick = 100.0; // USER_HZ on Linux
    let cpu = (t1 - t0) as f64 / tick / measure.as_secs_f64() * 100.0;
    let frames: Vec<f64> = text
        .lines()
        .skip(frames_before)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let worst = frames.iter().copied().fold(0.0, f64::max);
    println!(
        "{sockets:>6} sockets: window process {cpu:.2} % of a core over {} s; {} frames ({:.1}/s), worst frame {worst:.1} ms CPU",
        measure.as_secs(),
        frames.len(),
        frames.len() as f64 / measure.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&home);
}

fn main() {
    let secs = std::env::var("WINDOW_CPU_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    println!(
        "Listening now visible, untouched, refresh every second, 1280x800 under Xvfb (Mesa software GL):"
    );
    for sockets in [100, 10_000] {
        run(sockets, Duration::from_secs(secs));
    }
}
