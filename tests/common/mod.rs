//! Helpers shared by the integration tests: free ports and held ports on loopback.
#![allow(dead_code)]

use std::net::{TcpListener, UdpSocket};

pub mod holder;

/// How long something that takes a moment (a process starting or ending, a worker answering, a
/// recorder writing) may take before a test says it never happened. Only a failing test waits
/// this long; it is a minute because two copies of the suite beside a build made a load of 20
/// on two cores, where 15 s and 20 s deadlines ran out with nothing wrong.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_mins(1);
#[cfg(target_os = "linux")]
pub mod lab;
#[cfg(target_os = "linux")]
pub mod recorder;
#[cfg(feature = "gui")]
pub mod ui;

/// The native code and name the OS under test gives for a Winsock code, from the catalog
/// (Linux: 98 `EADDRINUSE` for 10048; Windows: 10048 `WSAEADDRINUSE`).
pub fn native(wsa: u32) -> (i32, String) {
    let os = port_inspector::platform::Os::current();
    let entry = port_inspector::catalog::by_wsa(wsa).expect("the catalog has the code");
    let n = entry
        .native
        .iter()
        .find(|n| n.os == os && !n.is_eai())
        .expect("the catalog has this OS's code");
    (n.code, n.name.clone())
}

/// How a headline spells a Winsock code with the native one beside it:
/// `WSAEADDRINUSE (10048) / EADDRINUSE (98)` on Linux, `WSAEADDRINUSE (10048)` on Windows.
pub fn codes(wsa: u32) -> String {
    let entry = port_inspector::catalog::by_wsa(wsa).expect("the catalog has the code");
    let (code, name) = native(wsa);
    if name == entry.wsa_name {
        format!("{name} ({code})")
    } else {
        format!("{} ({wsa}) / {name} ({code})", entry.wsa_name)
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback address of this test alone: 127.X.Y.Z drawn at random (X ≥ 1, so never the
/// 127.0.0.x that other programs use). Linux answers for all of 127.0.0.0/8, so a test that needs
/// a fixed run of ports binds them here and cannot collide with another copy of the suite, which
/// draws its own address.
pub fn private_loopback() -> std::net::Ipv4Addr {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let [a, b, c, ..] = h.finish().to_le_bytes();
    std::net::Ipv4Addr::new(127, a.max(1), b, c.clamp(1, 254))
}

/// The first port of `len` consecutive ports that are free for TCP and UDP on `ip` right now,
/// found by binding each in turn (and releasing it at once, so a long run needs no descriptors).
pub fn free_run(ip: std::net::Ipv4Addr, len: u16) -> u16 {
    use std::hash::{BuildHasher, Hasher};
    for attempt in 0..200u32 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(attempt);
        let start = 20_000 + u16::try_from(h.finish() % 10_000).unwrap();
        let Some(end) = start.checked_add(len) else {
            continue;
        };
        if (start..end).all(|p| is_free(ip, p)) {
            return start;
        }
    }
    panic!("no run of {len} free ports on {ip} in 200 tries");
}

/// Whether TCP and UDP `ip:port` are free: bound with SO_REUSEADDR, never listening, and
/// released. A sibling test's fork may hold a copy of these sockets until its exec; since they
/// set SO_REUSEADDR and do not listen, such a copy never stops the test's own bind that follows.
pub fn is_free(ip: std::net::Ipv4Addr, port: u16) -> bool {
    use socket2::{Domain, Socket, Type};
    let addr: socket2::SockAddr = std::net::SocketAddr::from((ip, port)).into();
    [Type::STREAM, Type::DGRAM].into_iter().all(|ty| {
        Socket::new(Domain::IPV4, ty, None)
            .is_ok_and(|s| s.set_reuse_address(true).is_ok() && s.bind(&addr).is_ok())
    })
}

/// A child running the Python `code`, which prints one line once it is ready (read back here)
/// and then waits; killed when dropped. For the few scripts that are no plain holder (a stand-in
/// server, a bespoke layout of descriptors); a process holding sockets is [`holder`]'s.
pub fn spawn_python(code: &str) -> (Holder, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new("python3")
        .args(["-c", code])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is installed");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    (Holder { child, port }, line.trim().to_owned())
}

/// The first line a child printed on its piped standard output, trimmed (a holder's port).
pub fn first_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim().to_owned()
}

/// Runs the built binary with `args` and parses its JSON output; also returns the exit code.
pub fn json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = bin().args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// Whether this test runs as root (its real uid, from /proc).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

/// Fails the test, naming what it needs, when `ok` is false: a test that cannot run must not pass
/// as if it had. `.ci/run` installs everything these tests need and CI runs as root.
pub fn require(ok: bool, what: &str) {
    assert!(
        ok,
        "this test cannot run here: it needs {what} (CI runs as root and .ci/run installs the tools)"
    );
}

/// Whether this machine has ::1 configured.
pub fn has_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// The source folder, as cargo names it when it runs the test, not as it was when the test was
/// built: the Windows tests share one build folder between checkouts (.ci/windows), and a test
/// built in another checkout, unchanged since, would read files of a folder that is gone.
pub fn source_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    )
}

/// Number of open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The built binary.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_port-inspector"))
}

/// `history ARGS --db DB --since 10m --json`: the recorder's timeline, or the error while there
/// is no database yet (the recorder makes its file, then its schema).
pub fn history_json(db: &std::path::Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = bin()
        .arg("history")
        .args(args)
        .arg("--db")
        .arg(db)
        .args(["--since", "10m", "--json"])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

/// A child process holding a socket; killed when dropped.
pub struct Holder {
    /// The child.
    pub child: std::process::Child,
    /// The port it holds.
    pub port: u16,
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The built binary with `args`, run where the kernel refuses every netlink socket (a seccomp
/// filter, installed by a few lines of Python before the binary is started, makes
/// `socket(AF_NETLINK, …)` fail with EAFNOSUPPORT, as systemd's `RestrictAddressFamilies=` and
/// container sandboxes do); everything else runs as usual.
pub fn bin_without_netlink(args: &[&str]) -> std::process::Command {
    without_netlink(&[env!("CARGO_BIN_EXE_port-inspector")], args)
}

/// The built binary with `args` where the kernel refuses netlink sockets (as
/// [`bin_without_netlink`]) and with `n` open descriptors allowed (`prlimit --nofile`).
pub fn bin_without_netlink_nofile(n: u32, args: &[&str]) -> std::process::Command {
    let limit = format!("--nofile={n}");
    without_netlink(
        &[
            "prlimit",
            &limit,
            "--",
            env!("CARGO_BIN_EXE_port-inspector"),
        ],
        args,
    )
}

/// `program` (a path or a name on PATH, with its first arguments) and `args`, started where
/// `socket(AF_NETLINK, …)` fails.
fn without_netlink(program: &[&str], args: &[&str]) -> std::process::Command {
    // Stays Python: a seccomp filter installed before an exec (ctypes), not a holder.
    const NO_NETLINK: &str = r#"
import ctypes, os, struct, sys
arch, nr = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}[os.uname().machine]
def ins(code, jt, jf, k): return struct.pack("HBBI", code, jt, jf, k)
# arch == ours and nr == socket and args[0] == AF_NETLINK (16): EAFNOSUPPORT (97); else allow.
prog = b"".join([
    ins(0x20, 0, 0, 4), ins(0x15, 0, 5, arch),
    ins(0x20, 0, 0, 0), ins(0x15, 0, 3, nr),
    ins(0x20, 0, 0, 16), ins(0x15, 0, 1, 16),
    ins(0x06, 0, 0, 0x00050000 | 97), ins(0x06, 0, 0, 0x7FFF0000),
])
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure): _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
f = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(f), 0, 0) != 0:
    sys.exit("seccomp: %d" % ctypes.get_errno())
os.execvp(sys.argv[1], sys.argv[1:])
"#;
    let mut c = std::process::Command::new("python3");
    c.args(["-c", NO_NETLINK]).args(program).args(args);
    c
}

/// The built binary with `args`, allowed `n` open descriptors (`prlimit --nofile`), the way
/// `ulimit -n` leaves a program started from a shell.
pub fn bin_with_nofile(n: u32, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new("prlimit");
    c.arg(format!("--nofile={n}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_port-inspector"))
        .args(args);
    c
}

/// Runs a command the tool printed, as printed, through sh (with this build for a leading
/// `port-inspector`; a command that names the program by its path runs as it is), in `dir`;
/// returns its exit code and output.
#[cfg(unix)]
pub fn run_as_printed(command: &str, dir: &std::path::Path) -> (Option<i32>, String) {
    let bin = env!("CARGO_BIN_EXE_port-inspector");
    let line = match command.strip_prefix("port-inspector ") {
        Some(rest) => format!("{bin} {rest}"),
        None => command.to_owned(),
    };
    let out = std::process::Command::new("sh")
        .args(["-c", &line])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
