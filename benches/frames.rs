//! Frame times of the real window while "Listening now" refreshes a table of 10,000 sockets:
//! 200 processes with 50 listeners each, the release window on a private Xvfb, its Listening tab
//! opened with xdotool, each frame's CPU time logged by the window (`PORT_INSPECTOR_FRAME_LOG`)
//! for 15 s. Prints the mean, the 99th percentile and the worst frame, overall and during the
//! refreshes (which run on a worker thread). A frame over 16.7 ms would drop one at 60 Hz.
//!
//! Run by hand: `cargo bench --bench frames` (Linux, with Xvfb and xdotool installed).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints its table.

mod common;

use std::process::{Command, Stdio};

use common::Killed;
use std::time::Duration;

const PROCESSES: usize = 200;
const PER_PROCESS: usize = 50;

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stats(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "no frames".into();
    }
    v.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let p99 = v[(v.len() * 99 / 100).min(v.len() - 1)];
    format!(
        "{} frames, mean {mean:.1} ms, p99 {p99:.1} ms, worst {:.1} ms",
        v.len(),
        v[v.len() - 1]
    )
}

fn main() {
    let crowd = common::crowd(PROCESSES, PER_PROCESS);
    let n = 4000 + std::process::id() % 1000;
    let display = format!(":{n}");
    let _x = Killed(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let dir = std::env::temp_dir().join(format!("pi-frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("frames.log");
    let window = Killed(
        Command::new(env!("CARGO_BIN_EXE_port-inspector"))
            .arg("window")
            .env("DISPLAY", &display)
            .env("HOME", &dir)
            .env("PORT_INSPECTOR_FRAME_LOG", &log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(3));
    let id = xdotool(&display, &["search", "--name", "Port Inspector"]);
    let id = id.lines().next().expect("the window opened");
    xdotool(&display, &["windowsize", id, "1280", "800"]);
    std::thread::sleep(Duration::from_millis(500));
    // The tab's button sits in the title bar, after "Support kit".
    xdotool(&display, &["mousemove", "473", "12", "click", "1"]);
    // Keep the pointer moving over the table, so frames are drawn between refreshes too.
    for i in 0..15 {
        let (x, y) = (600 + i * 5, 300 + i * 10);
        xdotool(&display, &["mousemove", &x.to_string(), &y.to_string()]);
        std::thread::sleep(Duration::from_secs(1));
    }
    drop(window);
    let text = std::fs::read_to_string(&log).unwrap();
    let frames: Vec<(f64, bool)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let ms: f64 = f.next()?.parse().ok()?;
            (f.next()? == "Listening").then(|| (ms, f.next() == Some("true")))
        })
        .collect();
    println!(
        "window frames on Listening now, {} sockets in {PROCESSES} processes, 1280x800 under Xvfb (CPU time per frame):",
        PROCESSES * PER_PROCESS
    );
    println!(
        "all frames: {}",
        stats(frames.iter().map(|f| f.0).collect())
    );
    println!(
        "while a refresh ran: {}",
        stats(frames.iter().filter(|f| f.1).map(|f| f.0).collect())
    );
    // Where the slow frames fall: the first frames on the tab, during a refresh or between.
    let mut slowest: Vec<(usize, f64, bool)> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (i, f.0, f.1))
        .collect();
    slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!(
        "slowest: {}",
        slowest
            .iter()
            .take(5)
            .map(|(i, ms, r)| format!("#{i} {ms:.1} ms{}", if *r { " (refresh)" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ")
    );
    drop(crowd);
    let _ = std::fs::remove_dir_all(&dir);
}
