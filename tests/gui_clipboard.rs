//! The real window on a real X server (Xvfb): `port-inspector window HOST:PORT` opens on the check,
//! Ctrl+Shift+C (Copy report) puts the Markdown report on the X clipboard, and another program
//! (xclip) reads it back. egui_kittest only sees that egui asked for a copy; this sees the copy.
#![cfg(target_os = "linux")] // Xvfb, xdotool and xclip: the X11 desktop.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child killed and reaped when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// An X server of this test alone, on a display number no other server uses. Starts are taken
/// one at a time across every copy of the suite (a lock on a file), so two copies never pick one
/// number.
fn xvfb() -> (Killed, String) {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::env::temp_dir().join("port-inspector-tests-xvfb.lock"))
        .unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let seed = std::process::id() % 4000;
    for n in (0..200).map(|i| 1000 + (seed + i * 37) % 4000) {
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let child = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                // Without it the server resets whenever its last client leaves: an xdotool that
                // ends while the window connects made the window's connection fail (1 run in 20
                // with two copies of the suite at once).
                "-noreset",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Killed(child);
        let socket = format!("/tmp/.X11-unix/X{n}");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if std::path::Path::new(&socket).exists() {
                drop(lock);
                return (server, format!(":{n}"));
            }
            if server.0.try_wait().unwrap().is_some() {
                break; // This number is taken after all: try the next.
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(server);
    }
    panic!("no free X display number for Xvfb");
}

fn x(display: &str, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("DISPLAY", display)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs Xvfb, xdotool and xclip; CI runs it (cargo test -- --include-ignored)"]
fn copy_report_reaches_the_x_clipboard() {
    for tool in ["Xvfb", "xdotool", "xclip"] {
        common::require(
            have(tool),
            &format!("{tool} (.ci/run installs xvfb, xdotool, xclip)"),
        );
    }
    let (_server, display) = xvfb();
    let held = TcpListener::bind((common::private_loopback(), 0)).unwrap();
    let target = held.local_addr().unwrap().to_string();
    let home = std::env::temp_dir().join(format!("pi-clipboard-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let window = Killed(
        common::bin()
            .args(["window", &target])
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            // A fresh home: the test never reads or writes the user's saved window state.
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .stdout(Stdio::null())
            // To a file, never a pipe nobody reads (a full pipe would freeze the window).
            .stderr(std::fs::File::create(home.join("stderr.txt")).unwrap())
            .spawn()
            .unwrap(),
    );
    let me = format!("PID {}", std::process::id());
    let start = Instant::now();
    let mut clipboard = String::new();
    let mut seen = false;
    while start.elapsed() < Duration::from_mins(1) {
        let id = x(&display, "xdotool", &["search", "--name", "Port Inspector"]);
        if let Some(id) = id.lines().next() {
            seen = true;
            // No window manager runs here: give the window the keyboard focus ourselves.
            x(&display, "xdotool", &["windowfocus", id]);
            x(&display, "xdotool", &["key", "ctrl+shift+c"]);
            clipboard = x(
                &display,
                "xclip",
                &["-o", "-selection", "clipboard", "-t", "UTF8_STRING"],
            );
            if clipboard.contains("WSAEADDRINUSE") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        clipboard.starts_with(&format!("# Port Inspector report: TCP {target}"))
            && clipboard.contains("NOT BINDABLE")
            && clipboard.contains("WSAEADDRINUSE")
            && clipboard.contains(&me),
        "the report of the check, read from the X clipboard by xclip: {clipboard:?} (window seen: {seen}; its stderr: {:?})",
        std::fs::read_to_string(home.join("stderr.txt")).unwrap_or_default()
    );
    drop(window);
    drop(held);
    let _ = std::fs::remove_dir_all(&home);
}

/// Starts the window with `home` as its home and closes it with Ctrl+Q (as a user would, so it
/// saves its state); fails if it does not open, or does not close within a minute.
fn open_and_quit(display: &str, home: &std::path::Path) {
    let mut window = Killed(
        common::bin()
            .arg("window")
            .env("DISPLAY", display)
            .env_remove("WAYLAND_DISPLAY")
            .env("HOME", home)
            .env_remove("XDG_DATA_HOME")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(home.join("stderr.txt")).unwrap())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    loop {
        if let Some(status) = window.0.try_wait().unwrap() {
            assert!(status.success(), "the window closed cleanly: {status}");
            return;
        }
        assert!(
            start.elapsed() < Duration::from_mins(1),
            "the window did not open and close within a minute (its stderr: {:?})",
            std::fs::read_to_string(home.join("stderr.txt")).unwrap_or_default()
        );
        let id = x(display, "xdotool", &["search", "--name", "Port Inspector"]);
        if let Some(id) = id.lines().next() {
            x(display, "xdotool", &["windowfocus", id]);
            x(display, "xdotool", &["key", "ctrl+q"]);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The review's case: the saved state was written through a link at `app.ron` (root with another
/// user's HOME overwrote a root-owned file), and a FIFO there hung the start. The real window,
/// closed with Ctrl+Q, replaces the link with its own file and starts past a FIFO.
#[test]
#[ignore = "needs Xvfb and xdotool; CI runs it (cargo test -- --include-ignored)"]
fn the_windows_state_is_never_written_through_a_link() {
    for tool in ["Xvfb", "xdotool"] {
        common::require(
            have(tool),
            &format!("{tool} (.ci/run installs xvfb, xdotool)"),
        );
    }
    let (_server, display) = xvfb();
    let home = std::env::temp_dir().join(format!("pi-state-window-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let dir = home.join(".local/share/port-inspector");
    std::fs::create_dir_all(&dir).unwrap();
    let victim = home.join("precious");
    std::fs::write(&victim, "precious").unwrap();
    let state = dir.join("app.ron");
    std::os::unix::fs::symlink(&victim, &state).unwrap();
    open_and_quit(&display, &home);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious",
        "the link's target is never written"
    );
    assert!(
        std::fs::symlink_metadata(&state).unwrap().is_file()
            && std::fs::read_to_string(&state)
                .unwrap()
                .contains("port-inspector-state"),
        "the window saved its state in a file of its own"
    );
    std::fs::remove_file(&state).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&state)
            .status()
            .unwrap()
            .success(),
        "mkfifo"
    );
    open_and_quit(&display, &home);
    assert!(
        std::fs::symlink_metadata(&state).unwrap().is_file(),
        "past a FIFO: the window opened, closed and saved"
    );
    let _ = std::fs::remove_dir_all(&home);
}

/// The review: with Listening now visible the window repainted continuously. Now it is idle
/// between refreshes: on a machine where no socket changes (a private network namespace), the
/// real window on its Listening now tab draws next to no frame over five seconds, where a frame
/// per refresh was about 2.6 a second.
#[test]
#[ignore = "needs root and Xvfb: a private network namespace; CI runs it (cargo test -- --include-ignored)"]
fn listening_now_is_idle_while_nothing_changes() {
    common::require(have("Xvfb"), "Xvfb (.ci/run installs xvfb)");
    common::require(common::is_root(), "root, for a private network namespace");
    let (_server, display) = xvfb();
    let home = std::env::temp_dir().join(format!("pi-idle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let state = home.join(".local/share/port-inspector");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("app.ron"),
        r#"{"port-inspector-state": "(tab: Listening)"}"#,
    )
    .unwrap();
    let log = home.join("frames.log");
    let _window = Killed(
        Command::new("unshare")
            .args(["-n", env!("CARGO_BIN_EXE_port-inspector"), "window"])
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .env("HOME", &home)
            .env_remove("XDG_DATA_HOME")
            .env("PORT_INSPECTOR_FRAME_LOG", &log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let frames = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Listening"))
            .count()
    };
    // The window opens and reads the table (a few frames).
    let start = Instant::now();
    while frames() < 2 {
        assert!(
            start.elapsed() < Duration::from_mins(1),
            "the window drew its Listening now tab"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let before = frames();
    std::thread::sleep(Duration::from_secs(5));
    let drawn = frames() - before;
    assert!(
        drawn <= 2,
        "{drawn} frames in 5 s with nothing changing (one per refresh would be 5 or more)"
    );
    let _ = std::fs::remove_dir_all(&home);
}
