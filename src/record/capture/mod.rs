//! The recorder's loops.
//!
//! - Polling (no eBPF): read the table of bound sockets (`owners::table`, the table `list` shows,
//!   with every holder) every interval, diff it with the last read, write the changes. Between
//!   full reads the kernel's fingerprint of the table (no process walk) says whether anything
//!   changed; a full read still happens every [`FULL_READ_MS`] so a socket handed from a parent
//!   to its child is seen even when the set of sockets stayed the same. A socket's start and end
//!   are known to within one interval.
//! - Traced (eBPF, [`Mode::Traced`]): TCP listeners come from the `inet_sock_set_state`
//!   tracepoint the instant they start and stop listening, with the process that called listen
//!   (named from /proc right away, while it still lives); failed binds from `sys_exit_bind`. The
//!   table is read only every [`RECONCILE_MS`] (and at once when the ring buffer lost events),
//!   for what the tracepoint does not see: UDP and bound-only TCP sockets, and a listener shared
//!   with or handed to other processes (fork, descriptor passing).

use std::sync::atomic::{AtomicBool, Ordering};

use super::store::{Limits, Mode, Store, StoreError};
use super::{Change, Holder, Snapshot, seen_of};
use crate::owners::{self, Scope};

#[cfg(target_os = "linux")]
mod failed;
mod polled;
#[cfg(unix)]
mod tell;
#[cfg(target_os = "linux")]
mod traced;

/// At least this often the whole table is read, holders included, even when the kernel's
/// fingerprint of the sockets is unchanged.
pub const FULL_READ_MS: u64 = 2_000;

/// At most this long between two heartbeats: a recorder killed without a word is known to have
/// run until its last heartbeat, so a gap is never wider than the truth by more than this.
pub const HEARTBEAT_MS: u64 = 1_000;

/// In traced mode, how often the whole table is read for what the tracepoints do not see.
pub const RECONCILE_MS: u64 = 30_000;

/// In traced mode, at most this long between a traced change and its write to the database
/// (the changes of this time are one transaction).
#[cfg(target_os = "linux")]
const FLUSH_MS: u64 = 500;

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

/// How a recording went, for the line at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// The session's number in the database.
    pub session: i64,
    /// Reads of the table.
    pub polls: u64,
    /// Of those, full reads with every process.
    pub full_reads: u64,
    /// Reads that could not see the whole table (refused, out of descriptors): not compared,
    /// so no socket is recorded as gone because it was not seen.
    pub incomplete: u64,
    /// Sockets recorded as appearing (the first read's included).
    pub appeared: u64,
    /// Sockets recorded as gone.
    pub went: u64,
    /// Sockets recorded as handed to other processes.
    pub handed_over: u64,
    /// Failed binds recorded (eBPF mode).
    pub failed_binds: u64,
    /// Events the kernel's ring buffer had no room for (eBPF mode): the table was read again
    /// after each loss.
    pub lost_events: u64,
    /// Journal entries lost because the journal's queue was full or it was gone (sends never
    /// wait); the database has them all.
    pub journal_dropped: u64,
}

/// Why the recorder runs in the mode it does, said at its start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "why", content = "detail")]
pub enum ModeReason {
    /// The tracepoints are attached: listeners and failed binds are captured as they happen.
    Tracepoints,
    /// This OS has no tracepoint capture here: polling only.
    NotLinux,
    /// Not root: loading the BPF program needs CAP_BPF and CAP_PERFMON.
    NotRoot,
    /// tracefs is not mounted and could not be mounted privately.
    NoTracefs(String),
    /// The kernel refused to load or attach the program.
    KernelRefused(String),
}

impl ModeReason {
    /// A short tag for the database's session note.
    fn tag(&self) -> &'static str {
        match self {
            ModeReason::Tracepoints => "tracepoints",
            ModeReason::NotLinux => "not_linux",
            ModeReason::NotRoot => "not_root",
            ModeReason::NoTracefs(_) => "no_tracefs",
            ModeReason::KernelRefused(_) => "kernel_refused",
        }
    }
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

/// The milliseconds since the Unix epoch, now.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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
