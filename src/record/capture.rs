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

/// The failed binds as the database keeps them: who tried (named by /proc while it lives), and
/// for EADDRINUSE who held the port right then, sockets on another specific address left out.
/// A TCP bind refused by a TCP listener is answered from the recorder's own table: the
/// tracepoints keep its listeners exact (each appears and goes the instant it starts and stops
/// listening, its holders looked at every second). Anything else (UDP, a bound-only socket,
/// no listener in the table) costs one lookup of the port's sockets per port and batch.
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
    // The table's TCP listeners by port, made at the first refused TCP bind of the batch.
    let mut listeners: Option<ListenersByPort<'_>> = None;
    let collides = |held: std::net::SocketAddr, asked: std::net::SocketAddr| {
        held.ip() == asked.ip() || held.ip().is_unspecified() || asked.ip().is_unspecified()
    };
    events
        .into_iter()
        .map(|e| {
            // A TCP bind refused by a listener of the recorder's table: its holders, no /proc.
            let known: Vec<Holder> = match (e.errno, e.local, e.protocol) {
                (98, Some(l), Some(crate::target::Protocol::Tcp)) => {
                    let by_port = listeners.get_or_insert_with(|| tcp_listeners(table));
                    let mut hs: Vec<Holder> = Vec::new();
                    for (k, seen) in by_port.get(&l.port()).into_iter().flatten() {
                        if collides(k.local, l) {
                            for h in &seen.holders {
                                if !hs.iter().any(|x| x.pid == h.pid) {
                                    hs.push(h.clone());
                                }
                            }
                        }
                    }
                    hs
                }
                _ => Vec::new(),
            };
            let held_by = match (e.errno, e.local) {
                _ if !known.is_empty() => known,
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
                    for o in owners.iter().filter(|o| collides(o.local, l)) {
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
                            if k.local.port() == l.port() && collides(k.local, l) {
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
                protocol: e.protocol,
                local: e.local,
                errno: e.errno,
                held_by,
            }
        })
        .collect()
}

/// The TCP listeners of a table, by port.
#[cfg(target_os = "linux")]
type ListenersByPort<'a> =
    std::collections::HashMap<u16, Vec<(&'a super::SocketKey, &'a super::Seen)>>;

/// The TCP listeners of `table`, by port (one pass).
#[cfg(target_os = "linux")]
fn tcp_listeners(table: &Snapshot) -> ListenersByPort<'_> {
    let mut by_port: ListenersByPort<'_> = std::collections::HashMap::new();
    for (k, seen) in table {
        if k.protocol == crate::target::Protocol::Tcp
            && seen.state == crate::owners::SockState::Listen
        {
            by_port.entry(k.local.port()).or_default().push((k, seen));
        }
    }
    by_port
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
        let seen = match c {
            Change::Appeared(k) | Change::HandedOver(k) => now.get(k),
            Change::Went(k) => before.get(k),
        };
        if let Some(seen) = seen {
            tell_journal_one(j, *c, seen);
        }
    }
}

/// One change to the journal; `seen` is the socket after it (for one that went: before).
#[cfg(unix)]
fn tell_journal_one(j: &super::journal::Journal, c: Change, seen: &super::Seen) {
    let (k, event) = match c {
        Change::Appeared(k) => (k, "appeared"),
        Change::Went(k) => (k, "went"),
        Change::HandedOver(k) => (k, "handed_over"),
    };
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
    j.send(&super::words::event_message(&c, seen), &fields);
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
        Some(capture) => traced(store, opts, &done, stop, capture, sum),
        None => polled(store, opts, &done, stop, sum),
    };
    #[cfg(not(target_os = "linux"))]
    let result = polled(store, opts, &done, stop, sum);
    let sum = result?;
    store.end_session(session, now_ms())?;
    Ok(sum)
}

/// The polling loop: each read's changes are one transaction.
fn polled(
    store: &mut Store,
    opts: &Options,
    done: &dyn Fn(&AtomicBool) -> bool,
    stop: &AtomicBool,
    mut sum: Summary,
) -> Result<Summary, StoreError> {
    let session = sum.session;
    let started = now_ms();
    #[cfg(unix)]
    let journal = super::journal::Journal::open();
    let mut prev = Snapshot::new();
    let mut prev_ms: Option<u64> = None;
    let mut last_full = 0u64;
    let mut last_print: Option<u64> = None;
    let mut last_written = started;
    let mut last_prune = started;
    let interval = Duration::from_millis(opts.interval_ms.max(1));
    loop {
        let tick = std::time::Instant::now();
        let t = now_ms();
        let unchanged = prev_ms.is_some()
            && t.saturating_sub(last_full) < FULL_READ_MS
            && owners::fingerprint(Scope::Bound).is_some_and(|f| Some(f) == last_print);
        sum.polls += 1;
        if unchanged {
            if t.saturating_sub(last_written) >= HEARTBEAT_MS {
                store.apply(session, t, prev_ms, &[], &prev)?;
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
                    count(&mut sum, &changes);
                    // The first read is always written: its heartbeat says recording began.
                    if prev_ms.is_none()
                        || !changes.is_empty()
                        || t.saturating_sub(last_written) >= HEARTBEAT_MS
                    {
                        store.apply(session, t, prev_ms, &changes, &now)?;
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
        if t.saturating_sub(last_prune) >= PRUNE_EVERY_MS {
            store.prune(opts.limits, t, session)?;
            last_prune = t;
        }
        if done(stop) {
            #[cfg(unix)]
            if let Some(j) = &journal {
                sum.journal_dropped = j.dropped();
            }
            return Ok(sum);
        }
        // Sleep to the next tick in short slices, so a stop is honoured within 50 ms.
        while let Some(left) = interval.checked_sub(tick.elapsed()) {
            if done(stop) || left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        if done(stop) {
            #[cfg(unix)]
            if let Some(j) = &journal {
                sum.journal_dropped = j.dropped();
            }
            return Ok(sum);
        }
    }
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

/// What the traced loop knows between two reads of the table.
#[cfg(target_os = "linux")]
struct Traced {
    /// The sockets as the tracepoints and the last read left them.
    now: Snapshot,
    /// The kernel's socket address of each traced listener: its end names it by that.
    by_sk: std::collections::HashMap<u64, super::SocketKey>,
    /// Traced changes not yet written.
    pending: Vec<super::store::Exact>,
    /// The network namespace this recorder reads the table of: listeners of others are not
    /// this machine's table (as in polling mode).
    netns: Option<u32>,
    /// Each listener holder's children at the last look ([`Traced::holders_changed`]).
    children: std::collections::HashMap<u32, Vec<u32>>,
    /// The journal, when there is one.
    journal: Option<super::journal::Journal>,
    /// The instant each traced listener began listening: a hand-over found later happened
    /// after it, whatever the last look at the holders.
    began: std::collections::HashMap<super::SocketKey, u64>,
    /// The kernel addresses of listeners traced in other network namespaces: their ends are
    /// not ours (without this each would be looked for among every socket by inode).
    foreign: std::collections::HashSet<u64>,
    /// What /proc said of each listening process.
    processes: Processes,
}

#[cfg(target_os = "linux")]
impl Traced {
    /// Applies the ring buffer's events to `now` and `pending`; returns the failed binds, and
    /// the sockets each event added or removed (for a read of the table racing with them).
    fn take(
        &mut self,
        events: Vec<super::ebpf::Event>,
        touched: &mut std::collections::HashSet<super::SocketKey>,
    ) -> Vec<super::ebpf::FailedBindEvent> {
        use super::ebpf::Event;
        let mono = super::ebpf::mono_now_ns();
        let wall = now_ms();
        let mut failed = Vec::new();
        for ev in events {
            match ev {
                // A bind refused in another network namespace is not about this table's ports.
                Event::FailedBind(f) => {
                    if f.netns == 0 || self.netns.is_none_or(|n| n == f.netns) {
                        failed.push(f);
                    }
                }
                Event::Listen(l) => {
                    if l.netns != 0 && self.netns.is_some_and(|n| n != l.netns) {
                        // Its end is skipped by its socket, not looked for among ours.
                        self.foreign.insert(l.sk);
                        continue;
                    }
                    let key = super::SocketKey {
                        protocol: crate::target::Protocol::Tcp,
                        local: l.local,
                        inode: l.inode,
                    };
                    let seen = super::Seen {
                        state: crate::owners::SockState::Listen,
                        // The kernel's own flag at listen (IPv6); for IPv4 there is none.
                        v6_only: l
                            .v6_only
                            .or_else(|| self.now.get(&key).and_then(|s| s.v6_only)),
                        holders: vec![self.processes.listener(&l)],
                    };
                    let change = match self.now.get(&key) {
                        None => Change::Appeared(key),
                        Some(s) if s.state != seen.state || s.pids() != seen.pids() => {
                            Change::HandedOver(key)
                        }
                        Some(_) => continue,
                    };
                    self.by_sk.insert(l.sk, key);
                    touched.insert(key);
                    let at_ms = super::ebpf::wall_ms(l.ktime_ns, mono, wall);
                    self.began.insert(key, at_ms);
                    self.pending.push(super::store::Exact {
                        at_ms,
                        change,
                        seen: Some(seen.clone()),
                    });
                    self.now.insert(key, seen);
                }
                Event::Unlisten {
                    sk,
                    inode,
                    ktime_ns,
                } => {
                    if self.foreign.remove(&sk) {
                        continue;
                    }
                    // A listener the last read found (not traced from its start) is known by
                    // its inode.
                    let key = self.by_sk.remove(&sk).or_else(|| {
                        (inode != 0)
                            .then(|| {
                                self.now.keys().find(|k| {
                                    k.inode == inode && k.protocol == crate::target::Protocol::Tcp
                                })
                            })
                            .flatten()
                            .copied()
                    });
                    let Some(key) = key else { continue };
                    self.began.remove(&key);
                    if let Some(before) = self.now.remove(&key) {
                        touched.insert(key);
                        self.pending.push(super::store::Exact {
                            at_ms: super::ebpf::wall_ms(ktime_ns, mono, wall),
                            change: Change::Went(key),
                            seen: Some(before),
                        });
                    }
                }
            }
        }
        failed
    }
}

#[cfg(target_os = "linux")]
impl Traced {
    /// The ports of listeners whose holders may have changed since the last look: a holder
    /// that ended (or is a zombie: its descriptors are closed) while the socket stayed, or one
    /// with a new child (a fork shares every descriptor). The tracepoint sees neither; the
    /// caller reads those ports' holders again. One read of `/proc/PID/stat` and of its main
    /// thread's `children` per holding process.
    fn holders_changed(&mut self) -> Vec<u16> {
        let mut by_pid: std::collections::HashMap<u32, Vec<u16>> = std::collections::HashMap::new();
        for (k, seen) in &self.now {
            if seen.state == crate::owners::SockState::Listen {
                for h in &seen.holders {
                    by_pid.entry(h.pid).or_default().push(k.local.port());
                }
            }
        }
        self.children.retain(|pid, _| by_pid.contains_key(pid));
        let mut ports = Vec::new();
        for (pid, p) in by_pid {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    // The state follows the name's closing parenthesis (the name may hold one).
                    s.rsplit_once(") ")
                        .and_then(|(_, rest)| rest.chars().next())
                })
                .is_some_and(|state| state != 'Z' && state != 'X');
            let kids: Vec<u32> = if alive {
                std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|c| c.parse().ok())
                    .collect()
            } else {
                Vec::new()
            };
            let known = self.children.insert(pid, kids.clone());
            let forked = known.is_some_and(|k| kids.iter().any(|c| !k.contains(c)));
            if !alive || forked {
                ports.extend(p);
            }
        }
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

/// What /proc said of each process that called listen, per (PID, start time, command name):
/// the PID and the instant it started name one process for its whole life (a later one reusing
/// the PID started later), and the name changes with an exec. A service accepting thousands of
/// listeners costs two reads of /proc once, not per listen.
#[cfg(target_os = "linux")]
#[derive(Default)]
struct Processes {
    known: std::collections::HashMap<(u32, u64, String), Option<String>>,
}

#[cfg(target_os = "linux")]
impl Processes {
    /// At most this many processes are remembered; past it the memory starts again.
    const MAX: usize = 4_096;

    /// The process that called listen, as the event named it, with what /proc still shows of
    /// it: its command line only while `/proc/PID/comm` is still the event's (not a later
    /// process that took the PID).
    fn listener(&mut self, l: &super::ebpf::ListenEvent) -> Holder {
        let key = (l.pid, l.start_ns, l.comm.clone());
        let cmdline = if let Some(c) = self.known.get(&key) {
            c.clone()
        } else {
            let alive = owners::name_of(l.pid).is_some_and(|n| n == l.comm);
            let c = if alive { cmdline_of(l.pid) } else { None };
            // A process already gone is not remembered: nothing was read of it.
            if alive && l.start_ns != 0 {
                if self.known.len() >= Self::MAX {
                    self.known.clear();
                }
                self.known.insert(key, c.clone());
            }
            c
        };
        Holder {
            pid: l.pid,
            process: Some(l.comm.clone()),
            user: Some(crate::owners::passwd::user_name(l.uid).to_string()),
            uid: Some(l.uid),
            cmdline,
            managed_by: None,
        }
    }
}

/// The traced loop: wakes when the ring buffer has events (so a listener's process is read
/// while it lives), writes the traced changes at most every [`FLUSH_MS`], reads the whole table
/// every [`RECONCILE_MS`] or at once after a loss.
#[cfg(target_os = "linux")]
fn traced(
    store: &mut Store,
    opts: &Options,
    done: &dyn Fn(&AtomicBool) -> bool,
    stop: &AtomicBool,
    mut capture: super::ebpf::Capture,
    mut sum: Summary,
) -> Result<Summary, StoreError> {
    let session = sum.session;
    let started = now_ms();
    let mut st = Traced {
        now: Snapshot::new(),
        by_sk: std::collections::HashMap::new(),
        pending: Vec::new(),
        netns: super::ebpf::own_netns(),
        children: std::collections::HashMap::new(),
        journal: super::journal::Journal::open(),
        began: std::collections::HashMap::new(),
        foreign: std::collections::HashSet::new(),
        processes: Processes::default(),
    };
    let mut last_watch = started;
    let mut last_read: Option<u64> = None;
    let mut lost = capture.lost();
    let mut last_written = started;
    let mut last_prune = started;
    loop {
        let t = now_ms();
        let mut touched = std::collections::HashSet::new();
        // Before the first read, events wait in the ring buffer: the read and they are put
        // together below (nothing is written, not even a heartbeat, before the first read).
        let failed = if last_read.is_some() {
            st.take(capture.drain(), &mut touched)
        } else {
            Vec::new()
        };
        let lost_now = capture.lost();
        if last_read.is_none_or(|r| t.saturating_sub(r) >= RECONCILE_MS) || lost_now != lost {
            sum.lost_events += lost_now.saturating_sub(lost);
            lost = lost_now;
            // What is traced so far is written first: the read's changes come after it.
            if last_read.is_some() {
                flush(store, session, t, &mut st, &mut sum)?;
            }
            sum.polls += 1;
            if let Some(table) = read_table() {
                sum.full_reads += 1;
                // Events that raced with the read: a listener traced after it is not "gone"
                // for being absent from it, one traced closing is not "back" for being in it.
                // Their sockets are as the events left them (written with their own instants
                // below), the others as the read found them.
                let mut raced = std::collections::HashSet::new();
                let late = st.take(capture.drain(), &mut raced);
                let mut now = table;
                for k in &raced {
                    match st.now.get(k) {
                        Some(seen) => {
                            now.insert(*k, seen.clone());
                        }
                        None => {
                            now.remove(k);
                        }
                    }
                }
                let changes = diff(&st.now, &now);
                fill_sharers(&mut now, &changes);
                count(&mut sum, &changes);
                store.apply(session, t, last_read, &changes, &now)?;
                if let (Some(j), Some(_)) = (&st.journal, last_read) {
                    tell_journal(j, &changes, &st.now, &now);
                }
                st.by_sk.retain(|_, k| now.contains_key(k));
                st.began.retain(|k, _| now.contains_key(k));
                st.now = now;
                flush(store, session, t, &mut st, &mut sum)?;
                last_read = Some(t);
                last_written = t;
                // Every holder as of this read: a later hand-over happened after it.
                last_watch = t;
                record_failed(store, session, late, &st.now, &mut sum, st.journal.as_ref())?;
            } else {
                sum.incomplete += 1;
            }
        }
        record_failed(
            store,
            session,
            failed,
            &st.now,
            &mut sum,
            st.journal.as_ref(),
        )?;
        if t.saturating_sub(last_watch) >= HEARTBEAT_MS {
            let ports = st.holders_changed();
            if !ports.is_empty() {
                flush(store, session, t, &mut st, &mut sum)?;
                reread_ports(store, session, t, last_watch, &ports, &mut st, &mut sum)?;
                last_written = t;
            }
            last_watch = t;
        }
        if !st.pending.is_empty() || t.saturating_sub(last_written) >= HEARTBEAT_MS {
            let oldest = st.pending.first().map_or(t, |e| e.at_ms);
            if t.saturating_sub(oldest) >= FLUSH_MS
                || t.saturating_sub(last_written) >= HEARTBEAT_MS
            {
                flush(store, session, t, &mut st, &mut sum)?;
                last_written = t;
            }
        }
        if t.saturating_sub(last_prune) >= PRUNE_EVERY_MS {
            store.prune(opts.limits, t, session)?;
            last_prune = t;
        }
        if done(stop) {
            flush(store, session, now_ms(), &mut st, &mut sum)?;
            sum.journal_dropped = st
                .journal
                .as_ref()
                .map_or(0, super::journal::Journal::dropped);
            return Ok(sum);
        }
        // Woken by the next event; at most 50 ms asleep, so a stop is honoured and a pending
        // write goes out in time.
        capture.wait(Duration::from_millis(if st.pending.is_empty() {
            50
        } else {
            FLUSH_MS / 2
        }));
    }
}

/// Reads the TCP sockets of `ports` again, holders included, and records how they changed
/// since `since_ms` (the last look): a listener handed to a child, shared with one, left by
/// an ended holder.
#[cfg(target_os = "linux")]
fn reread_ports(
    store: &mut Store,
    session: i64,
    t: u64,
    since_ms: u64,
    ports: &[u16],
    st: &mut Traced,
    sum: &mut Summary,
) -> Result<(), StoreError> {
    let found = owners::of_ports_in(ports, Some(crate::target::Protocol::Tcp), Scope::Bound);
    if !found.complete() {
        return Ok(());
    }
    let mine = |k: &super::SocketKey| {
        k.protocol == crate::target::Protocol::Tcp && ports.contains(&k.local.port())
    };
    let before: Snapshot = st
        .now
        .iter()
        .filter(|(k, _)| mine(k))
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let mut after: Snapshot = found
        .owners
        .iter()
        .map(|o| seen_of(o, Holder::pid_only))
        .filter(|(k, _)| mine(k))
        .collect();
    // Only changes of holders: a socket that came or went is the tracepoint's (or the next
    // full read's) to tell.
    let changes: Vec<Change> = diff(&before, &after)
        .into_iter()
        .filter(|c| matches!(c, Change::HandedOver(_)))
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    fill_sharers(&mut after, &changes);
    count(sum, &changes);
    for c in &changes {
        // Between the last look and now, and never before the listen that began the span.
        let since = st
            .began
            .get(&c.key())
            .map_or(since_ms, |&b| b.max(since_ms));
        store.apply(session, t, Some(since), std::slice::from_ref(c), &after)?;
    }
    if let Some(j) = &st.journal {
        tell_journal(j, &changes, &before, &after);
    }
    for c in &changes {
        if let Some(seen) = after.remove(&c.key()) {
            st.now.insert(c.key(), seen);
        }
    }
    Ok(())
}

/// Writes the traced changes (one transaction, with the heartbeat) and tells the journal.
#[cfg(target_os = "linux")]
fn flush(
    store: &mut Store,
    session: i64,
    t: u64,
    st: &mut Traced,
    sum: &mut Summary,
) -> Result<(), StoreError> {
    let pending = std::mem::take(&mut st.pending);
    store.apply_exact(session, t, &pending)?;
    let changes: Vec<Change> = pending.iter().map(|e| e.change).collect();
    count(sum, &changes);
    if let Some(j) = &st.journal {
        for e in &pending {
            if let Some(seen) = &e.seen {
                tell_journal_one(j, e.change, seen);
            }
        }
    }
    Ok(())
}

/// Records failed binds with who held the port, and tells the journal.
#[cfg(target_os = "linux")]
fn record_failed(
    store: &mut Store,
    session: i64,
    events: Vec<super::ebpf::FailedBindEvent>,
    table: &Snapshot,
    sum: &mut Summary,
    journal: Option<&super::journal::Journal>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    sum.failed_binds += events.len() as u64;
    let rows = failed_rows(events, table);
    store.record_failed_binds(session, &rows)?;
    if let Some(j) = journal {
        tell_journal_failed(j, &rows);
    }
    Ok(())
}
