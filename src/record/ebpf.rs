//! Failed binds, as they happen: the committed BPF object `bpf/bind.bpf.o` (source
//! `bpf/bind.bpf.c`, rebuilt by `bpf/build.sh`) attached to the tracepoints
//! `syscalls:sys_enter_bind` and `sys_exit_bind` through aya (pure Rust: no clang or libbpf at
//! build or run time). Each bind that returns an error arrives in a ring buffer with the PID,
//! thread, uid, command name, file descriptor, the address asked for and the errno.
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

/// One failed bind, as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedBindEvent {
    /// The process (thread group) that called bind.
    pub pid: u32,
    /// Its uid.
    pub uid: u32,
    /// The command name (`comm`, 15 bytes at most), exactly as the kernel has it.
    pub comm: String,
    /// The positive errno (98 EADDRINUSE, 13 EACCES, 99 EADDRNOTAVAIL …).
    pub errno: i32,
    /// The address asked for, when it was IPv4 or IPv6.
    pub local: Option<SocketAddr>,
    /// When, in CLOCK_MONOTONIC nanoseconds (the kernel's `bpf_ktime_get_ns`).
    pub ktime_ns: u64,
}

/// The attached capture: the loaded programs (kept so they stay attached) and the ring buffer.
pub struct Capture {
    _ebpf: Ebpf,
    events: RingBuf<MapData>,
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
    for (name, tracepoint) in [
        ("enter_bind", "sys_enter_bind"),
        ("exit_bind", "sys_exit_bind"),
    ] {
        let prog: &mut TracePoint = ebpf
            .program_mut(name)
            .ok_or_else(|| Refusal::KernelRefused(format!("no program {name} in the object")))?
            .try_into()
            .map_err(|e| Refusal::KernelRefused(format!("{e:#}")))?;
        prog.load()
            .map_err(|e| Refusal::KernelRefused(format!("{name}: {e:#}")))?;
        prog.attach("syscalls", tracepoint)
            .map_err(|e| Refusal::KernelRefused(format!("{tracepoint}: {e:#}")))?;
    }
    let map = ebpf
        .take_map("EVENTS")
        .ok_or_else(|| Refusal::KernelRefused("no EVENTS map in the object".into()))?;
    let events = RingBuf::try_from(map).map_err(|e| Refusal::KernelRefused(format!("{e:#}")))?;
    Ok(Capture {
        _ebpf: ebpf,
        events,
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
    /// Every failed bind that arrived since the last call.
    pub fn drain(&mut self) -> Vec<FailedBindEvent> {
        let mut out = Vec::new();
        while let Some(item) = self.events.next() {
            if let Some(e) = parse(&item) {
                out.push(e);
            }
        }
        out
    }
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

/// One event of `struct event` in bind.bpf.c (80 bytes, little-endian).
fn parse(b: &[u8]) -> Option<FailedBindEvent> {
    let u32_at = |i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let u64_at = |i: usize| Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?));
    let pid = u32_at(0)?;
    let uid = u32_at(8)?;
    let ret = i32::from_le_bytes(b.get(12..16)?.try_into().ok()?);
    let ktime_ns = u64_at(16)?;
    let comm = b.get(32..48)?;
    let comm = comm.split(|&c| c == 0).next().unwrap_or_default();
    let sa = b.get(48..80)?;
    let family = u16::from_le_bytes([sa[0], sa[1]]);
    let port = u16::from_be_bytes([sa[2], sa[3]]);
    let local = match i32::from(family) {
        libc::AF_INET => {
            let ip: [u8; 4] = sa.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
        }
        libc::AF_INET6 => {
            let ip: [u8; 16] = sa.get(8..24)?.try_into().ok()?;
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
        }
        _ => None,
    };
    Some(FailedBindEvent {
        pid,
        uid,
        comm: String::from_utf8_lossy(comm).into_owned(),
        errno: -ret,
        local,
        ktime_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_back_as_the_program_wrote_it() {
        let mut b = vec![0u8; 80];
        b[0..4].copy_from_slice(&812u32.to_le_bytes());
        b[8..12].copy_from_slice(&33u32.to_le_bytes());
        b[12..16].copy_from_slice(&(-98i32).to_le_bytes());
        b[16..24].copy_from_slice(&5_000_000_000u64.to_le_bytes());
        b[32..37].copy_from_slice(b"nginx");
        b[48..50].copy_from_slice(&2u16.to_le_bytes());
        b[50..52].copy_from_slice(&8080u16.to_be_bytes());
        b[52..56].copy_from_slice(&[127, 0, 0, 1]);
        let e = parse(&b).unwrap();
        assert_eq!(e.pid, 812, "pid");
        assert_eq!(e.errno, 98, "EADDRINUSE");
        assert_eq!(e.comm, "nginx", "comm up to its NUL");
        assert_eq!(e.local, Some("127.0.0.1:8080".parse().unwrap()), "address");
        assert_eq!(
            wall_ms(4_000_000_000, 5_000_000_000, 10_000),
            9_000,
            "a second ago"
        );
    }
}
