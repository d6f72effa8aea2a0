//! Holders of this OS's own build: `examples/holder.rs`, started as a child process. On Windows
//! (under Wine 10) it is a real Windows process, so the tests see the PID and image name the
//! IP Helper tables give for it, not a Linux process that Wine reports as PID 0.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Holder;

/// The holder executable beside this test binary (`cargo test` builds the examples into
/// `target/…/debug/examples/`).
pub fn path() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/…/debug/deps/test");
    let p = dir
        .join("examples")
        .join(format!("holder{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.is_file(),
        "no holder at {}: `cargo test` builds it (with --test alone: cargo build --example holder)",
        p.display()
    );
    p
}

/// The file name the OS gives the holder's process (`holder`, `holder.exe`).
pub fn image() -> String {
    format!("holder{}", std::env::consts::EXE_SUFFIX)
}

/// Starts a holder of `kind` (`tcp` listening, `bound`, `udp`) on `addr` (`127.0.0.1:0`); returns
/// it once its socket is set. Killed when dropped; it also ends when its standard input closes.
pub fn spawn(kind: &str, addr: &str) -> Holder {
    spawn_with(kind, addr, false).0
}

/// The same, with a child process sharing the socket (inherited): the holder and the child's PID.
pub fn spawn_with_child(kind: &str, addr: &str) -> (Holder, u32) {
    let (h, child) = spawn_with(kind, addr, true);
    (h, child.expect("the holder printed its child's PID"))
}

fn spawn_with(kind: &str, addr: &str, with_child: bool) -> (Holder, Option<u32>) {
    let mut cmd = Command::new(path());
    cmd.args([kind, addr]);
    if with_child {
        cmd.arg("--child");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the holder starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the holder's first line");
    let mut words = line.split_whitespace().map(str::parse::<u32>);
    let port = words
        .next()
        .and_then(Result::ok)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("the holder printed its port: {line:?}"));
    let child_pid = words.next().and_then(Result::ok);
    (Holder { child, port }, child_pid)
}

/// Waits, with a deadline, until `holder` has exited; panics naming `what` if it has not.
pub fn wait_exit(holder: &mut Holder, what: &str) {
    let start = Instant::now();
    while holder.child.try_wait().expect("try_wait").is_none() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
