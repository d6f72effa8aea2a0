//! Listeners and failed binds, as they happen: the committed BPF object `bpf/bind.bpf.o` (source
//! `bpf/bind.bpf.c`, rebuilt by `bpf/build.sh`) attached through aya (pure Rust: no clang or
//! libbpf at build or run time) to three tracepoints, one ring buffer:
//! - `syscalls:sys_enter_bind` and `sys_exit_bind`: each bind that returns an error, with the
//!   PID, uid, command name, the address asked for, the socket's type (TCP or UDP) and the errno;
//! - `sock:inet_sock_set_state`: each TCP socket entering TCP_LISTEN and leaving it, with its
//!   address, its inode and the kernel's socket address that ties the two together.
//!
//! The PID of `inet_sock_set_state`: the tracepoint fires in softirq context for some transitions
//! (a connection's states moved by arriving packets), where the "current" task is whichever ran.
//! The one transition into TCP_LISTEN is made by `listen(2)` itself (`inet_csk_listen_start`), in
//! the listening process: its PID, uid and comm are the listener's, and only [`Event::Listen`]
//! carries them. Leaving TCP_LISTEN (close, shutdown, the exit of the last holder, possibly in
//! another process or context) is [`Event::Unlisten`]: only the socket and the time, never a PID.
//!
//! Loading needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN) and a mounted tracefs; where
//! tracefs is not mounted the recorder mounts it in a mount namespace of its own, so the
//! machine's mounts are never changed. Anything refused is said and the recorder polls.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use aya::Ebpf;
use aya::maps::{MapData, RingBuf};
use aya::programs::TracePoint;

/// The compiled program, aligned for the ELF reader.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../bpf/bind.bpf.o");

/// One event of the ring buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A bind the kernel refused.
    FailedBind(FailedBindEvent),
    /// A TCP socket entered TCP_LISTEN, in `listen(2)` of the process named.
    Listen(ListenEvent),
    /// A TCP socket left TCP_LISTEN (closed, shut down, its last holder gone).
    Unlisten {
        /// The kernel's address of the socket, as in its [`ListenEvent`].
        sk: u64,
        /// The socket's inode, 0 when it could not be read.
        inode: u64,
        /// When, in CLOCK_MONOTONIC nanoseconds.
        ktime_ns: u64,
    },
}

/// A socket that started listening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenEvent {
    /// The process that called listen (the thread group).
    pub pid: u32,
    /// Its uid.
    pub uid: u32,
    /// Its process's command name (the thread group leader's `comm`, what `ps` shows; not the
    /// name of the thread that called listen), as the kernel has it.
    pub comm: String,
    /// The address and port it listens on.
    pub local: SocketAddr,
    /// The socket's inode (what sock_diag reports), 0 when it could not be read.
    pub inode: u64,
    /// The network namespace's inode number, 0 when it could not be read.
    pub netns: u32,
    /// The kernel's address of the socket: its [`Event::Unlisten`] carries the same.
    pub sk: u64,
    /// When, in CLOCK_MONOTONIC nanoseconds.
    pub ktime_ns: u64,
    /// IPV6_V6ONLY of an IPv6 listener as the kernel has it at listen; `None` for IPv4.
    pub v6_only: Option<bool>,
    /// When the listening process started (boot-based nanoseconds): with the PID, it names one
    /// process for its whole life, so what /proc said of it is read once.
    pub start_ns: u64,
    /// Its command line as the kernel had it at the listen (see [`args_of`]): what is stored
    /// when the process is gone before /proc is read.
    pub args: Option<Args>,
}

/// One failed bind, as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedBindEvent {
    /// The process (thread group) that called bind.
    pub pid: u32,
    /// Its uid.
    pub uid: u32,
    /// The process's command name (the thread group leader's `comm`, 15 bytes at most, not the
    /// calling thread's), exactly as the kernel has it.
    pub comm: String,
    /// The positive errno (98 EADDRINUSE, 13 EACCES, 99 EADDRNOTAVAIL …).
    pub errno: i32,
    /// The address asked for, when it was IPv4 or IPv6.
    pub local: Option<SocketAddr>,
    /// The socket's protocol, read from its type when the bind began (a stream socket of
    /// AF_INET/AF_INET6 is TCP, a datagram socket UDP); `None` for any other type.
    pub protocol: Option<crate::target::Protocol>,
    /// When, in CLOCK_MONOTONIC nanoseconds (the kernel's `bpf_ktime_get_ns`).
    pub ktime_ns: u64,
    /// The network namespace it was refused in (inode number), 0 when unknown.
    pub netns: u32,
    /// Its command line as the kernel had it at the bind (see [`args_of`]): a service that fails
    /// its bind and exits is gone before /proc can be read.
    pub args: Option<Args>,
}

/// The attached capture: the loaded programs (kept so they stay attached), the ring buffer and
/// the count of events it had no room for.
pub struct Capture {
    _ebpf: Ebpf,
    events: RingBuf<MapData>,
    lost: aya::maps::Array<MapData, u64>,
}

/// Why the capture could not start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "why", content = "detail")]
pub enum Refusal {
    /// Not root: loading BPF programs needs CAP_BPF and CAP_PERFMON.
    NotRoot,
    /// tracefs is not mounted and could not be mounted privately.
    NoTracefs(String),
    /// The kernel refused to load or attach the program.
    KernelRefused(String),
}

/// Loads and attaches the program. Call before any thread starts (a private mount namespace
/// for tracefs cannot be made by a process whose threads share its file system view).
pub fn start() -> Result<Capture, Refusal> {
    if !rustix::process::geteuid().is_root() {
        return Err(Refusal::NotRoot);
    }
    ensure_tracefs().map_err(Refusal::NoTracefs)?;
    let mut ebpf = Ebpf::load(OBJECT).map_err(|e| Refusal::KernelRefused(format!("{e:#}")))?;
    for (name, category, tracepoint) in [
        ("enter_bind", "syscalls", "sys_enter_bind"),
        ("exit_bind", "syscalls", "sys_exit_bind"),
        ("set_state", "sock", "inet_sock_set_state"),
    ] {
        let prog: &mut TracePoint = ebpf
            .program_mut(name)
            .ok_or_else(|| Refusal::KernelRefused(format!("no program {name} in the object")))?
            .try_into()
            .map_err(|e| Refusal::KernelRefused(format!("{e:#}")))?;
        prog.load()
            .map_err(|e| Refusal::KernelRefused(format!("{name}: {e:#}")))?;
        prog.attach(category, tracepoint)
            .map_err(|e| Refusal::KernelRefused(format!("{tracepoint}: {e:#}")))?;
    }
    let map = ebpf
        .take_map("EVENTS")
        .ok_or_else(|| Refusal::KernelRefused("no EVENTS map in the object".into()))?;
    let events = RingBuf::try_from(map).map_err(|e| Refusal::KernelRefused(format!("{e:#}")))?;
    let lost = ebpf
        .take_map("LOST")
        .ok_or_else(|| Refusal::KernelRefused("no LOST map in the object".into()))?;
    let lost =
        aya::maps::Array::try_from(lost).map_err(|e| Refusal::KernelRefused(format!("{e:#}")))?;
    Ok(Capture {
        _ebpf: ebpf,
        events,
        lost,
    })
}

/// tracefs where aya looks for tracepoint ids; mounted in a private mount namespace when the
/// machine has none mounted.
fn ensure_tracefs() -> Result<(), String> {
    let mounted = |p: &str| std::path::Path::new(p).join("events").is_dir();
    if mounted("/sys/kernel/tracing") || mounted("/sys/kernel/debug/tracing") {
        return Ok(());
    }
    // SAFETY: only NEWNS is unshared (a mount namespace of this process's own), never FILES, so
    // no thread loses sight of a descriptor; `start` runs before the recorder starts threads.
    #[allow(unsafe_code)]
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }
        .map_err(|e| format!("a private mount namespace: {e}"))?;
    rustix::mount::mount_change(
        "/",
        rustix::mount::MountPropagationFlags::PRIVATE | rustix::mount::MountPropagationFlags::REC,
    )
    .map_err(|e| format!("making mounts private: {e}"))?;
    rustix::mount::mount(
        "nodev",
        "/sys/kernel/tracing",
        "tracefs",
        rustix::mount::MountFlags::empty(),
        None,
    )
    .map_err(|e| format!("mounting tracefs: {e}"))
}

impl Capture {
    /// Every event that arrived since the last call, in the order the kernel wrote them.
    pub fn drain(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(item) = self.events.next() {
            if let Some(e) = parse(&item) {
                out.push(e);
            }
        }
        out
    }

    /// Waits until an event is in the ring buffer, at most `timeout`: the recorder reads a
    /// listener's process while it still lives.
    pub fn wait(&self, timeout: std::time::Duration) {
        use std::os::fd::AsRawFd as _;
        // SAFETY: the ring buffer's descriptor lives as long as `self.events`, which outlives
        // this borrow (it ends with the poll below).
        #[allow(unsafe_code)]
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.events.as_raw_fd()) };
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        let ts = rustix::event::Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        // Interrupted or refused: the caller's loop goes on at its own pace.
        let _ = rustix::event::poll(&mut fds, Some(&ts));
    }

    /// How many events the ring buffer had no room for since the program was loaded.
    #[must_use]
    pub fn lost(&self) -> u64 {
        self.lost.get(&0, 0).unwrap_or(0)
    }
}

/// The network namespace this process sees sockets in (`/proc/self/ns/net`'s inode number).
#[must_use]
pub fn own_netns() -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self/ns/net")
        .ok()
        .and_then(|m| u32::try_from(m.ino()).ok())
}

/// The wall-clock milliseconds of a CLOCK_MONOTONIC instant, given the two clocks now.
#[must_use]
pub fn wall_ms(ktime_ns: u64, mono_now_ns: u64, wall_now_ms: u64) -> u64 {
    wall_now_ms.saturating_sub(mono_now_ns.saturating_sub(ktime_ns) / 1_000_000)
}

/// CLOCK_MONOTONIC now, in nanoseconds.
#[must_use]
pub fn mono_now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// A `sockaddr_in` or `sockaddr_in6` as the kernel lays it out; `None` for any other family.
fn sockaddr(sa: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_le_bytes([*sa.first()?, *sa.get(1)?]);
    let port = u16::from_be_bytes([*sa.get(2)?, *sa.get(3)?]);
    match i32::from(family) {
        libc::AF_INET => {
            let ip: [u8; 4] = sa.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
        }
        libc::AF_INET6 => {
            let ip: [u8; 16] = sa.get(8..24)?.try_into().ok()?;
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
        }
        _ => None,
    }
}

/// A process's arguments as the kernel read them in the process at an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// NULs between them as spaces, an ellipsis where they were cut.
    pub text: String,
    /// Their whole length in bytes, the last NUL included (as `/proc/PID/cmdline` has them):
    /// more than the text when cut.
    pub len: usize,
}

impl Args {
    /// Whether the kernel kept only their first bytes.
    #[must_use]
    pub fn cut(&self) -> bool {
        self.len > ARGS_MAX
    }
}

/// The bytes of arguments an event keeps (`ARGS_MAX` in bind.bpf.c).
const ARGS_MAX: usize = 128;

/// The arguments an event carries (`args_len` at 120, the first 128 bytes from 128); `None`
/// when the kernel could not read them. A character cut in two at the end is left out.
fn args_of(b: &[u8]) -> Option<Args> {
    let len = usize::try_from(u32::from_le_bytes(b.get(120..124)?.try_into().ok()?)).ok()?;
    let kept = b.get(128..128 + ARGS_MAX)?;
    let cut = len > kept.len();
    let mut got = &kept[..len.min(kept.len())];
    got = got.strip_suffix(b"\0").unwrap_or(got);
    if got.iter().all(|&c| c == 0) {
        return None;
    }
    if cut
        && let Err(e) = std::str::from_utf8(got)
        && e.error_len().is_none()
    {
        got = &got[..e.valid_up_to()];
    }
    let mut text: String = String::from_utf8_lossy(got)
        .chars()
        .map(|c| if c == '\0' { ' ' } else { c })
        .collect();
    if cut {
        text.push('…');
    }
    Some(Args { text, len })
}

/// One `struct event` of bind.bpf.c (256 bytes, little-endian).
fn parse(b: &[u8]) -> Option<Event> {
    let u32_at = |i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let u64_at = |i: usize| Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?));
    let pid = u32_at(0)?;
    let uid = u32_at(8)?;
    let ret = i32::from_le_bytes(b.get(12..16)?.try_into().ok()?);
    let ktime_ns = u64_at(16)?;
    let comm = b.get(32..48)?;
    let comm = String::from_utf8_lossy(comm.split(|&c| c == 0).next().unwrap_or_default());
    let local = sockaddr(b.get(48..80)?);
    let kind = u32_at(80)?;
    let netns = u32_at(84)?;
    let inode = u64_at(88)?;
    let sk = u64_at(96)?;
    let sock_type = i32::from_le_bytes(b.get(104..108)?.try_into().ok()?);
    let v6_only = match u32_at(108)? {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    };
    let start_ns = u64_at(112)?;
    let args = args_of(b);
    let family = i32::from(u16::from_le_bytes(b.get(48..50)?.try_into().ok()?));
    match kind {
        // A refused bind of another family than IPv4 or IPv6 (a Unix socket's path in use, a
        // netlink socket's): no port, nothing of the recorder's. Family 0 is an address the
        // kernel could not read, kept with its address unknown.
        0 if family != 0 && family != libc::AF_INET && family != libc::AF_INET6 => None,
        0 => Some(Event::FailedBind(FailedBindEvent {
            pid,
            uid,
            comm: comm.into_owned(),
            errno: -ret,
            local,
            protocol: match sock_type {
                libc::SOCK_STREAM => Some(crate::target::Protocol::Tcp),
                libc::SOCK_DGRAM => Some(crate::target::Protocol::Udp),
                _ => None,
            },
            ktime_ns,
            netns,
            args,
        })),
        1 => Some(Event::Listen(ListenEvent {
            pid,
            uid,
            comm: comm.into_owned(),
            local: local?,
            inode,
            netns,
            sk,
            ktime_ns,
            v6_only,
            start_ns,
            args,
        })),
        2 => Some(Event::Unlisten {
            sk,
            inode,
            ktime_ns,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_back_as_the_program_wrote_it() {
        let mut b = vec![0u8; 256];
        b[0..4].copy_from_slice(&812u32.to_le_bytes());
        b[8..12].copy_from_slice(&33u32.to_le_bytes());
        b[12..16].copy_from_slice(&(-98i32).to_le_bytes());
        b[16..24].copy_from_slice(&5_000_000_000u64.to_le_bytes());
        b[32..37].copy_from_slice(b"nginx");
        b[48..50].copy_from_slice(&2u16.to_le_bytes());
        b[50..52].copy_from_slice(&8080u16.to_be_bytes());
        b[52..56].copy_from_slice(&[127, 0, 0, 1]);
        b[104..108].copy_from_slice(&2i32.to_le_bytes());
        let Some(Event::FailedBind(e)) = parse(&b) else {
            panic!("kind 0 is a failed bind")
        };
        assert_eq!(e.pid, 812, "pid");
        assert_eq!(e.errno, 98, "EADDRINUSE");
        assert_eq!(e.comm, "nginx", "comm up to its NUL");
        assert_eq!(e.args, None, "no arguments read");
        assert_eq!(e.local, Some("127.0.0.1:8080".parse().unwrap()), "address");
        assert_eq!(
            e.protocol,
            Some(crate::target::Protocol::Udp),
            "a datagram socket"
        );
        let argv = b"nginx\0-g\0daemon off;\0";
        b[120..124].copy_from_slice(&u32::try_from(argv.len()).unwrap().to_le_bytes());
        b[128..128 + argv.len()].copy_from_slice(argv);
        assert_eq!(
            parse(&b).and_then(|e| match e {
                Event::FailedBind(f) => f.args,
                _ => None,
            }),
            Some(Args {
                text: "nginx -g daemon off;".to_owned(),
                len: argv.len()
            }),
            "the arguments, NULs as spaces"
        );
        b[120..124].copy_from_slice(&4000u32.to_le_bytes());
        b[128..256].fill(b'x');
        let cut = args_of(&b).unwrap();
        assert_eq!(
            (cut.text, cut.len),
            (format!("{}…", "x".repeat(128)), 4000),
            "cut after 128 bytes, and said so"
        );
        // "é" is two bytes: the 64th is cut in two by the 128-byte bound.
        b[128] = b'x';
        for i in 0..63 {
            b[129 + 2 * i..131 + 2 * i].copy_from_slice("é".as_bytes());
        }
        b[255] = "é".as_bytes()[0];
        assert_eq!(
            args_of(&b).unwrap().text,
            format!("x{}…", "é".repeat(63)),
            "no half character before the ellipsis"
        );
        let mut unix = b.clone();
        unix[48..50].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(
            parse(&unix),
            None,
            "a Unix socket's refused bind is no port's"
        );
        b[80..84].copy_from_slice(&1u32.to_le_bytes());
        b[88..96].copy_from_slice(&4242u64.to_le_bytes());
        b[96..104].copy_from_slice(&0xffff_8880_0000_1000u64.to_le_bytes());
        b[108..112].copy_from_slice(&2u32.to_le_bytes());
        b[112..120].copy_from_slice(&77_000u64.to_le_bytes());
        let Some(Event::Listen(l)) = parse(&b) else {
            panic!("kind 1 is a listen")
        };
        assert_eq!(
            (l.pid, l.inode, l.sk, l.v6_only, l.start_ns),
            (812, 4242, 0xffff_8880_0000_1000, Some(true), 77_000),
            "listener"
        );
        b[80..84].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            parse(&b),
            Some(Event::Unlisten {
                sk: 0xffff_8880_0000_1000,
                inode: 4242,
                ktime_ns: 5_000_000_000
            }),
            "its end"
        );
        assert_eq!(
            wall_ms(4_000_000_000, 5_000_000_000, 10_000),
            9_000,
            "a second ago"
        );
    }
}
