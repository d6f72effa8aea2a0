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
    let mut args = vec![kind, addr];
    if with_child {
        args.push("--child");
    }
    let (h, line) = start(&args);
    let child_pid = line.split_whitespace().nth(1).and_then(|p| p.parse().ok());
    (h, child_pid)
}

/// Starts the holder with `args` (see examples/holder.rs: sockets, children, options); returns
/// it and its first line (the ports, then the children's PIDs) once its sockets are set. Killed
/// when dropped; it and its children also end when its standard input closes.
pub fn start(args: &[&str]) -> (Holder, String) {
    start_as(Command::new(path()), args)
}

/// The same, started by `cmd`: a link to the holder named like a daemon ([`Named`]), or
/// [`as_user`]'s setpriv.
pub fn start_as(mut cmd: Command, args: &[&str]) -> (Holder, String) {
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the holder starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the holder's first line");
    let port = line
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("the holder printed its port: {line:?}"));
    (Holder { child, port }, line.trim().to_owned())
}

/// The holder started through setpriv as `user` (Debian's `nobody` with the group `nogroup`),
/// with no other groups.
#[cfg(unix)]
pub fn as_user(user: &str) -> Command {
    let group = if user == "nobody" { "nogroup" } else { user };
    let mut c = Command::new("setpriv");
    c.args(["--reuid", user, "--regid", group, "--clear-groups"])
        .arg(path());
    c
}

/// A link to the holder with another file name, so its process has that name (`docker-proxy`,
/// `sshd`, one with escapes in it), in a folder of its own, removed when dropped.
#[cfg(unix)]
pub struct Named {
    dir: PathBuf,
    /// The link.
    pub path: PathBuf,
}

#[cfg(unix)]
impl Named {
    /// A link named `name`.
    pub fn new(name: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pi-holder-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a folder for the link");
        let link = dir.join(name);
        std::os::unix::fs::symlink(path(), &link).expect("a link to the holder");
        Named { dir, path: link }
    }

    /// A command that runs the link.
    pub fn command(&self) -> Command {
        Command::new(&self.path)
    }
}

#[cfg(unix)]
impl Drop for Named {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits, with a deadline, until `holder` has exited; panics naming `what` if it has not.
pub fn wait_exit(holder: &mut Holder, what: &str) {
    let start = Instant::now();
    while holder.child.try_wait().expect("try_wait").is_none() {
        assert!(start.elapsed() < super::PATIENCE, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
