//! The recorder's loop in polling mode: read the table of bound sockets (`owners::table`, the
//! table `list` shows, with every holder) every interval, diff it with the last read, write the
//! changes. Between full reads the kernel's fingerprint of the table (no process walk) says
//! whether anything changed; a full read still happens every [`FULL_READ_MS`] so a socket handed
//! from a parent to its child is seen even when the set of sockets stayed the same.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::store::{Limits, Mode, Store, StoreError};
use super::{Change, Holder, Snapshot, diff, seen_of};
use crate::owners::{self, Scope};

/// At least this often the whole table is read, holders included, even when the kernel's
/// fingerprint of the sockets is unchanged.
pub const FULL_READ_MS: u64 = 2_000;

/// At most this long between two heartbeats: a recorder killed without a word is known to have
/// run until its last heartbeat, so a gap is never wider than the truth by more than this.
pub const HEARTBEAT_MS: u64 = 1_000;

/// At most this many ports are looked up for the holders of refused binds in one batch.
#[cfg(target_os = "linux")]
const LOOKUPS_PER_BATCH: usize = 64;

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
}

/// Why the recorder runs in the mode it does, said at its start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "why", content = "detail")]
pub enum ModeReason {
    /// The tracepoints are attached: failed binds are captured as they happen.
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
                mode: Mode::Ebpf,
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
            .map(|o| {
                seen_of(o, |pid| Holder {
                    pid,
                    process: None,
                    user: None,
                    uid: None,
                    cmdline: None,
                    managed_by: None,
                })
            })
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

/// The failed binds as the database keeps them: who tried (named by /proc while it lives), and
/// for EADDRINUSE who held the port right then (one lookup of the port's sockets per port and
/// batch, sockets on another specific address left out).
#[cfg(target_os = "linux")]
fn failed_rows(
    events: Vec<super::ebpf::FailedBindEvent>,
    table: &Snapshot,
) -> Vec<super::store::FailedRow> {
    let mono = super::ebpf::mono_now_ns();
    let wall = now_ms();
    let mut held: std::collections::HashMap<u16, Vec<crate::owners::Owner>> =
        std::collections::HashMap::new();
    let mut cmdlines: std::collections::HashMap<u32, Option<String>> =
        std::collections::HashMap::new();
    events
        .into_iter()
        .map(|e| {
            let held_by = match (e.errno, e.local) {
                (98, Some(l)) => {
                    // A scan refused on thousands of ports would cost a lookup each: past
                    // LOOKUPS_PER_BATCH ports, the recorder's last read of the table answers.
                    let looked_up = held.len() < LOOKUPS_PER_BATCH || held.contains_key(&l.port());
                    let owners: &[crate::owners::Owner] = if looked_up {
                        held.entry(l.port()).or_insert_with(|| {
                            owners::of(owners::Query {
                                port: l.port(),
                                protocol: None,
                            })
                            .owners
                        })
                    } else {
                        &[]
                    };
                    let mut hs: Vec<Holder> = Vec::new();
                    for o in owners.iter().filter(|o| {
                        o.local.ip() == l.ip()
                            || o.local.ip().is_unspecified()
                            || l.ip().is_unspecified()
                    }) {
                        for h in seen_of(o, |pid| Holder {
                            pid,
                            process: owners::name_of(pid),
                            user: None,
                            uid: None,
                            cmdline: cmdline_of(pid),
                            managed_by: None,
                        })
                        .1
                        .holders
                        {
                            if !hs.iter().any(|x| x.pid == h.pid) {
                                hs.push(h);
                            }
                        }
                    }
                    if hs.is_empty() {
                        // Nobody named right then (gone already, or not traced to a process):
                        // the holders of the recorder's last read, on a colliding address.
                        for (k, seen) in table {
                            if k.local.port() == l.port()
                                && (k.local.ip() == l.ip()
                                    || k.local.ip().is_unspecified()
                                    || l.ip().is_unspecified())
                            {
                                for h in &seen.holders {
                                    if !hs.iter().any(|x| x.pid == h.pid) {
                                        hs.push(h.clone());
                                    }
                                }
                            }
                        }
                    }
                    hs
                }
                _ => Vec::new(),
            };
            super::store::FailedRow {
                at_ms: super::ebpf::wall_ms(e.ktime_ns, mono, wall),
                who: Holder {
                    pid: e.pid,
                    process: Some(e.comm),
                    user: Some(crate::owners::passwd::user_name(e.uid).to_string()),
                    uid: Some(e.uid),
                    cmdline: cmdlines
                        .entry(e.pid)
                        .or_insert_with(|| cmdline_of(e.pid))
                        .clone(),
                    managed_by: None,
                },
                protocol: None,
                local: e.local,
                errno: e.errno,
                held_by,
            }
        })
        .collect()
}

/// Sends each failed bind to the journal (`EVENT=failed_bind`, `ERRNO`, `PORT`, `PID`, `COMM`).
#[cfg(target_os = "linux")]
fn tell_journal_failed(j: &super::journal::Journal, rows: &[super::store::FailedRow]) {
    for r in rows {
        let mut fields = vec![
            ("EVENT", "failed_bind".to_owned()),
            ("ERRNO", r.errno.to_string()),
            ("PID", r.who.pid.to_string()),
        ];
        if let Some(l) = r.local {
            fields.push(("PORT", l.port().to_string()));
            fields.push(("ADDRESS", l.ip().to_string()));
        }
        if let Some(p) = &r.who.process {
            fields.push(("COMM", p.clone()));
        }
        let held = r.held_by.first().map(|h| h.pid.to_string());
        if let Some(h) = held {
            fields.push(("HELD_BY_PID", h));
        }
        let f = super::history::FailedBind {
            at_ms: r.at_ms,
            who: r.who.clone(),
            protocol: r.protocol,
            local: r.local,
            errno: r.errno,
            held_by: r.held_by.clone(),
        };
        j.send(&super::words::failed_line(&f, 0), &fields);
    }
}

/// Sends each change to the journal with its fields (`EVENT`, `PORT`, `PROTOCOL`, `ADDRESS`,
/// `STATE`, `PID` — the first holder —, `PIDS`, `COMM`, `USER`, `UNIT`).
#[cfg(unix)]
fn tell_journal(
    j: &super::journal::Journal,
    changes: &[Change],
    before: &Snapshot,
    now: &Snapshot,
) {
    for c in changes {
        let (k, event, seen) = match c {
            Change::Appeared(k) => (k, "appeared", now.get(k)),
            Change::Went(k) => (k, "went", before.get(k)),
            Change::HandedOver(k) => (k, "handed_over", now.get(k)),
        };
        let Some(seen) = seen else { continue };
        let mut fields = vec![
            ("EVENT", event.to_owned()),
            ("PORT", k.local.port().to_string()),
            (
                "PROTOCOL",
                super::store::protocol_str(k.protocol).to_owned(),
            ),
            ("ADDRESS", k.local.ip().to_string()),
            ("STATE", seen.state.name().to_owned()),
        ];
        if let Some(h) = seen.holders.first() {
            fields.push(("PID", h.pid.to_string()));
            fields.push((
                "PIDS",
                seen.holders
                    .iter()
                    .map(|h| h.pid.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ));
            if let Some(p) = &h.process {
                fields.push(("COMM", p.clone()));
            }
            if let Some(u) = &h.user {
                fields.push(("USER", u.clone()));
            }
            if let Some(m) = &h.managed_by {
                fields.push((
                    "UNIT",
                    m.container.clone().unwrap_or_else(|| m.name.clone()),
                ));
            }
        }
        j.send(&super::words::event_message(c, seen), &fields);
    }
}

/// Records until `stop` is set or the duration passes; returns what it saw. Each read's
/// changes are one transaction; the session ends cleanly (open sockets recorded as open until
/// the stop) on any way out but a write error.
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
    #[cfg(target_os = "linux")]
    let mut bpf = prepared.bpf;
    let session = store.begin_session(
        started,
        prepared.mode,
        opts.interval_ms,
        prepared.reason.tag(),
    )?;
    store.prune(opts.limits, started, session)?;
    let mut sum = Summary {
        session,
        ..Summary::default()
    };
    #[cfg(unix)]
    let journal = super::journal::Journal::open();
    let mut prev = Snapshot::new();
    let mut prev_ms: Option<u64> = None;
    let mut last_full = 0u64;
    let mut last_print: Option<u64> = None;
    let mut last_written = started;
    let mut last_prune = started;
    let interval = Duration::from_millis(opts.interval_ms.max(1));
    let result = loop {
        let tick = std::time::Instant::now();
        let t = now_ms();
        let unchanged = prev_ms.is_some()
            && t.saturating_sub(last_full) < FULL_READ_MS
            && owners::fingerprint(Scope::Bound).is_some_and(|f| Some(f) == last_print);
        sum.polls += 1;
        if unchanged {
            if t.saturating_sub(last_written) >= HEARTBEAT_MS {
                if let Err(e) = store.apply(session, t, prev_ms, &[], &prev) {
                    break Err(e);
                }
                last_written = t;
            }
            prev_ms = Some(t);
        } else {
            let print = owners::fingerprint(Scope::Bound);
            match read_table() {
                Some(mut now) => {
                    sum.full_reads += 1;
                    last_full = t;
                    last_print = print;
                    let changes = diff(&prev, &now);
                    fill_sharers(&mut now, &changes);
                    for c in &changes {
                        match c {
                            Change::Appeared(_) => sum.appeared += 1,
                            Change::Went(_) => sum.went += 1,
                            Change::HandedOver(_) => sum.handed_over += 1,
                        }
                    }
                    // The first read is always written: its heartbeat says recording began.
                    if prev_ms.is_none()
                        || !changes.is_empty()
                        || t.saturating_sub(last_written) >= HEARTBEAT_MS
                    {
                        if let Err(e) = store.apply(session, t, prev_ms, &changes, &now) {
                            break Err(e);
                        }
                        last_written = t;
                    }
                    // The first read lists what was already there: not events.
                    #[cfg(unix)]
                    if let (Some(j), Some(_)) = (&journal, prev_ms) {
                        tell_journal(j, &changes, &prev, &now);
                    }
                    prev = now;
                    prev_ms = Some(t);
                }
                None => sum.incomplete += 1,
            }
        }
        #[cfg(target_os = "linux")]
        if let Some(c) = &mut bpf {
            let events = c.drain();
            if !events.is_empty() {
                sum.failed_binds += events.len() as u64;
                let rows = failed_rows(events, &prev);
                if let Err(e) = store.record_failed_binds(session, &rows) {
                    break Err(e);
                }
                #[cfg(unix)]
                if let Some(j) = &journal {
                    tell_journal_failed(j, &rows);
                }
            }
        }
        if t.saturating_sub(last_prune) >= PRUNE_EVERY_MS {
            if let Err(e) = store.prune(opts.limits, t, session) {
                break Err(e);
            }
            last_prune = t;
        }
        let done = |stop: &AtomicBool| {
            stop.load(Ordering::Relaxed)
                || opts
                    .duration_ms
                    .is_some_and(|d| now_ms().saturating_sub(started) >= d)
        };
        if done(stop) {
            break Ok(());
        }
        // Sleep to the next tick in short slices, so a stop is honoured within 50 ms.
        while let Some(left) = interval.checked_sub(tick.elapsed()) {
            if done(stop) || left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        if done(stop) {
            break Ok(());
        }
    };
    match result {
        Ok(()) => {
            store.end_session(session, now_ms())?;
            Ok(sum)
        }
        Err(e) => Err(e),
    }
}
