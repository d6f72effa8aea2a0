//! The recorder's loops.
//!
//! - Polling (no eBPF): read the table of bound sockets (`owners::table`, the table `list` shows,
//!   with every holder) every interval, diff it with the last read, write the changes. Between
//!   full reads the kernel's fingerprint of the table (no process walk) says whether anything
//!   changed; a full read still happens every [`FULL_READ_MS`](super::FULL_READ_MS) so a socket handed from a parent
//!   to its child is seen even when the set of sockets stayed the same. A socket's start and end
//!   are known to within one interval.
//! - Traced (eBPF, [`Mode::Traced`]): TCP listeners come from the `inet_sock_set_state`
//!   tracepoint the instant they start and stop listening, with the process that called listen
//!   (named from /proc right away, while it still lives); failed binds from `sys_exit_bind`. The
//!   table is read only every [`RECONCILE_MS`](super::RECONCILE_MS) (and at once when the ring buffer lost events),
//!   for what the tracepoint does not see: UDP and bound-only TCP sockets, and a listener shared
//!   with or handed to other processes (fork, descriptor passing).

use std::sync::atomic::{AtomicBool, Ordering};

use super::store::{Limits, Mode, Store, StoreError};
use super::{
    Change, FULL_READ_MS, HEARTBEAT_MS, Holder, ModeReason, RECONCILE_MS, Snapshot, Summary,
    now_ms, seen_of,
};
use crate::owners::{self, Scope};

#[cfg(target_os = "linux")]
mod failed;
mod polled;
#[cfg(unix)]
mod tell;
#[cfg(target_os = "linux")]
mod traced;

/// In traced mode, at most this long between a known process's traced change and its write to
/// the database (the changes of this time are one transaction: a busy service's churn costs one
/// write a second); a new process's listen and a failed bind are written at once.
#[cfg(target_os = "linux")]
const FLUSH_MS: u64 = 1_000;

/// How often the age and size bounds are applied while recording.
pub const PRUNE_EVERY_MS: u64 = 60_000;

/// What the recorder is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Milliseconds between reads of the table.
    pub interval_ms: u64,
    /// Stop after this long; `None`: until stopped.
    pub duration_ms: Option<u64>,
    /// The database's bounds.
    pub limits: Limits,
}

/// The capture chosen before recording starts: the mode, why, and the attached tracepoints.
pub struct Prepared {
    /// Polling alone, or polling with failed binds through eBPF.
    pub mode: Mode,
    /// Why.
    pub reason: ModeReason,
    #[cfg(target_os = "linux")]
    bpf: Option<super::ebpf::Capture>,
}

/// Attaches the failed-bind capture where this machine allows it. Call before any thread
/// starts (see `ebpf::start`).
#[must_use]
pub fn prepare() -> Prepared {
    #[cfg(target_os = "linux")]
    {
        use super::ebpf::Refusal;
        match super::ebpf::start() {
            Ok(c) => Prepared {
                mode: Mode::Traced,
                reason: ModeReason::Tracepoints,
                bpf: Some(c),
            },
            Err(r) => Prepared {
                mode: Mode::Polling,
                reason: match r {
                    Refusal::NotRoot => ModeReason::NotRoot,
                    Refusal::NoTracefs(s) => ModeReason::NoTracefs(s),
                    Refusal::KernelRefused(s) => ModeReason::KernelRefused(s),
                },
                bpf: None,
            },
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Prepared {
            mode: Mode::Polling,
            reason: ModeReason::NotLinux,
        }
    }
}

/// One read of the table: every bound socket with the PIDs holding it. Only the first holder's
/// details come with the table; the others are read in [`fill_sharers`] for new spans only.
fn read_table() -> Option<Snapshot> {
    let t = owners::table(None, Scope::Bound);
    if !t.complete() {
        return None;
    }
    Some(
        t.owners
            .iter()
            .map(|o| seen_of(o, Holder::pid_only))
            .collect(),
    )
}

/// Names the processes that share a new span's socket beyond the one the table described.
fn fill_sharers(now: &mut Snapshot, changes: &[Change]) {
    for c in changes {
        let (Change::Appeared(k) | Change::HandedOver(k)) = c else {
            continue;
        };
        let Some(seen) = now.get_mut(k) else { continue };
        for h in &mut seen.holders {
            if h.process.is_none() {
                h.process = owners::name_of(h.pid);
                h.cmdline = cmdline_of(h.pid);
            }
        }
    }
}

/// The command line to store for a process an event named, from the arguments the kernel read
/// in the process at the event (`args`, see `ebpf::args_of`) and `/proc/PID/cmdline` (`read`,
/// asked only when needed): the event's own arguments when whole; when they were cut, the whole
/// line from /proc if it is the same line (as long as the event said, and beginning with what
/// it kept: not another program the process has since become by exec); when the kernel read
/// none, /proc.
#[cfg(target_os = "linux")]
fn cmdline_from(
    args: Option<&crate::record::ebpf::Args>,
    read: impl FnOnce() -> Option<String>,
) -> Option<String> {
    match args {
        Some(a) if a.cut() => {
            let kept = a.text.trim_end_matches('…');
            Some(
                read()
                    .filter(|whole| whole.len() + 1 == a.len && whole.starts_with(kept))
                    .unwrap_or_else(|| a.text.clone()),
            )
        }
        Some(a) => Some(a.text.clone()),
        None => read(),
    }
}

/// `/proc/PID/cmdline` with its NULs as spaces (Linux; elsewhere nothing).
fn cmdline_of(pid: u32) -> Option<String> {
    let b = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let s: Vec<u8> = b
        .strip_suffix(b"\0")
        .unwrap_or(&b)
        .iter()
        .map(|&c| if c == 0 { b' ' } else { c })
        .collect();
    (!s.is_empty()).then(|| String::from_utf8_lossy(&s).into_owned())
}

/// Records until `stop` is set or the duration passes; returns what it saw. The session ends
/// cleanly (open sockets recorded as open until the stop) on any way out but a write error.
// Linux takes the prepared eBPF program out of `prepared`; elsewhere only its mode and reason
// are read.
#[cfg_attr(not(target_os = "linux"), allow(clippy::needless_pass_by_value))]
pub fn run(
    store: &mut Store,
    opts: &Options,
    stop: &AtomicBool,
    prepared: Prepared,
) -> Result<Summary, StoreError> {
    let started = now_ms();
    let interval = if prepared.mode == Mode::Traced {
        RECONCILE_MS
    } else {
        opts.interval_ms
    };
    let session = store.begin_session(started, prepared.mode, interval, prepared.reason.tag())?;
    store.prune(opts.limits, started, session)?;
    let sum = Summary {
        session,
        ..Summary::default()
    };
    let done = |stop: &AtomicBool| {
        stop.load(Ordering::Relaxed)
            || opts
                .duration_ms
                .is_some_and(|d| now_ms().saturating_sub(started) >= d)
    };
    #[cfg(target_os = "linux")]
    let result = match prepared.bpf {
        Some(capture) => traced::traced(store, opts, &done, stop, capture, sum),
        None => polled::polled(store, opts, &done, stop, sum),
    };
    #[cfg(not(target_os = "linux"))]
    let result = polled::polled(store, opts, &done, stop, sum);
    let sum = result?;
    store.end_session(session, now_ms())?;
    Ok(sum)
}

fn count(sum: &mut Summary, changes: &[Change]) {
    for c in changes {
        match c {
            Change::Appeared(_) => sum.appeared += 1,
            Change::Went(_) => sum.went += 1,
            Change::HandedOver(_) => sum.handed_over += 1,
        }
    }
}
