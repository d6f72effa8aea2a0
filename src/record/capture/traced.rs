//! The traced loop (eBPF): listeners and failed binds from the ring buffer as they happen, the
//! table read every [`RECONCILE_MS`] for what the tracepoints do not see.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::failed::{Learned, record_failed};
use super::tell::{tell_journal, tell_journal_one};
use super::{FLUSH_MS, HEARTBEAT_MS, Options, PRUNE_EVERY_MS, RECONCILE_MS, Summary};
use super::{cmdline_from, cmdline_of, count, fill_sharers, now_ms, read_table};
use crate::owners::{self, Scope};
use crate::record::store::{Store, StoreError};
use crate::record::{Change, Holder, Snapshot, diff, seen_of};

/// Every this many reads of the table (and at the first), every holder of every socket is
/// looked for among every process's descriptors; the reads between look only for the holders
/// of sockets the recorder does not know, or whose holders ended or forked since the read
/// before. A socket passed to an unrelated process (SCM_RIGHTS, pidfd_getfd) while its holder
/// lives on is seen by the next full walk: within this many times [`RECONCILE_MS`].
const FULL_WALK_EVERY: u64 = 10;

/// A loss of events (the ring buffer was full) is looked for this often; the table is read
/// again at once when there was one.
const LOST_CHECK_MS: u64 = 200;

/// After a wake that brought only the churn of processes already known (nothing to read from
/// /proc while it lives), the recorder lets events gather this long before waking again.
const COALESCE_MS: u64 = 20;

/// The sockets as the tracepoints and the last read left them, with two indexes kept as they
/// change: how many listeners each process holds (the holders looked at every second are these
/// PIDs, not a pass over 10,000 sockets each second) and each TCP socket's key by inode (the
/// end of a listener the last read found, not traced from its listen, is named by its inode).
#[derive(Default)]
struct Known {
    map: Snapshot,
    listen_pids: std::collections::HashMap<u32, u32>,
    tcp_by_inode: std::collections::HashMap<u64, crate::record::SocketKey>,
}

impl Known {
    fn map(&self) -> &Snapshot {
        &self.map
    }

    fn get(&self, k: &crate::record::SocketKey) -> Option<&crate::record::Seen> {
        self.map.get(k)
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn insert(&mut self, k: crate::record::SocketKey, seen: crate::record::Seen) {
        self.remove(&k);
        self.index(&k, &seen);
        self.map.insert(k, seen);
    }

    fn remove(&mut self, k: &crate::record::SocketKey) -> Option<crate::record::Seen> {
        let seen = self.map.remove(k)?;
        if seen.state == crate::owners::SockState::Listen {
            for h in &seen.holders {
                if let std::collections::hash_map::Entry::Occupied(mut e) =
                    self.listen_pids.entry(h.pid)
                {
                    *e.get_mut() -= 1;
                    if *e.get() == 0 {
                        e.remove();
                    }
                }
            }
        }
        if self.tcp_by_inode.get(&k.inode) == Some(k) {
            self.tcp_by_inode.remove(&k.inode);
        }
        Some(seen)
    }

    /// Takes a whole new read of the table.
    fn replace(&mut self, map: Snapshot) {
        self.listen_pids.clear();
        self.tcp_by_inode.clear();
        for (k, seen) in &map {
            self.index(k, seen);
        }
        self.map = map;
    }

    fn index(&mut self, k: &crate::record::SocketKey, seen: &crate::record::Seen) {
        if seen.state == crate::owners::SockState::Listen {
            for h in &seen.holders {
                *self.listen_pids.entry(h.pid).or_default() += 1;
            }
        }
        if k.protocol == crate::target::Protocol::Tcp && k.inode != 0 {
            self.tcp_by_inode.insert(k.inode, *k);
        }
    }

    /// The TCP socket of `inode`.
    fn tcp_of_inode(&self, inode: u64) -> Option<crate::record::SocketKey> {
        (inode != 0)
            .then(|| self.tcp_by_inode.get(&inode).copied())
            .flatten()
    }
}

/// What the traced loop knows between two reads of the table.
struct Traced {
    /// The sockets as the tracepoints and the last read left them.
    now: Known,
    /// The kernel's socket address of each traced listener: its end names it by that.
    by_sk: std::collections::HashMap<u64, crate::record::SocketKey>,
    /// Traced changes not yet written.
    pending: Vec<crate::record::store::Exact>,
    /// The network namespace this recorder reads the table of: listeners of others are not
    /// this machine's table (as in polling mode).
    netns: Option<u32>,
    /// Each listener holder's children at the last look ([`Traced::holders_changed`]).
    children: std::collections::HashMap<u32, Vec<u32>>,
    /// The journal, when there is one.
    journal: Option<crate::record::journal::Journal>,
    /// The instant each traced listener began listening: a hand-over found later happened
    /// after it, whatever the last look at the holders.
    began: std::collections::HashMap<crate::record::SocketKey, u64>,
    /// The kernel addresses of listeners traced in other network namespaces: their ends are
    /// not ours (without this each would be looked for among every socket by inode).
    foreign: std::collections::HashSet<u64>,
    /// What /proc said of each listening process.
    processes: Processes,
    /// Reads of the table so far.
    reads: u64,
    /// Each holder's children at the last read of the table ([`Traced::suspects`]).
    watched: std::collections::HashMap<u32, Vec<u32>>,
    /// The holders refused binds' lookups found since the last read of the table.
    learned: Learned,
    /// The sockets the last read looked for among every process's descriptors and found no
    /// process holding (a kernel socket: NFS, a VXLAN or WireGuard port; one held by a process
    /// this PID namespace does not show): the reads between two full walks spare them too, as
    /// they spare the sockets whose holders they know, instead of walking every process's
    /// descriptors each time for a holder there is none of.
    unheld: std::collections::HashSet<u64>,
}

impl Traced {
    fn new(journal: Option<crate::record::journal::Journal>) -> Self {
        Self {
            now: Known::default(),
            by_sk: std::collections::HashMap::new(),
            pending: Vec::new(),
            netns: crate::record::ebpf::own_netns(),
            children: std::collections::HashMap::new(),
            journal,
            began: std::collections::HashMap::new(),
            foreign: std::collections::HashSet::new(),
            processes: Processes::default(),
            reads: 0,
            watched: std::collections::HashMap::new(),
            learned: Learned::default(),
            unheld: std::collections::HashSet::new(),
        }
    }

    /// Records failed binds, their holders named from what the recorder knows.
    fn record_failed(
        &mut self,
        store: &mut Store,
        session: i64,
        events: Vec<crate::record::ebpf::FailedBindEvent>,
        sum: &mut Summary,
    ) -> Result<(), StoreError> {
        record_failed(
            store,
            session,
            events,
            self.now.map(),
            &mut self.learned,
            sum,
            self.journal.as_ref(),
        )
    }

    /// Applies the ring buffer's events to `now` and `pending`; returns the failed binds, and
    /// the sockets each event added or removed (for a read of the table racing with them).
    fn take(
        &mut self,
        events: Vec<crate::record::ebpf::Event>,
        touched: &mut std::collections::HashSet<crate::record::SocketKey>,
    ) -> Vec<crate::record::ebpf::FailedBindEvent> {
        use crate::record::ebpf::Event;
        let mono = crate::record::ebpf::mono_now_ns();
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
                    let key = crate::record::SocketKey {
                        protocol: crate::target::Protocol::Tcp,
                        local: l.local,
                        inode: l.inode,
                    };
                    let seen = crate::record::Seen {
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
                    let at_ms = crate::record::ebpf::wall_ms(l.ktime_ns, mono, wall);
                    self.began.insert(key, at_ms);
                    self.pending.push(crate::record::store::Exact {
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
                    let key = self
                        .by_sk
                        .remove(&sk)
                        .or_else(|| self.now.tcp_of_inode(inode));
                    let Some(key) = key else { continue };
                    self.began.remove(&key);
                    if let Some(before) = self.now.remove(&key) {
                        touched.insert(key);
                        self.pending.push(crate::record::store::Exact {
                            at_ms: crate::record::ebpf::wall_ms(ktime_ns, mono, wall),
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

impl Traced {
    /// One read of the table (every bound socket), each socket with its holders: looked for
    /// among every process's descriptors at the first read and every [`FULL_WALK_EVERY`]-th;
    /// in the reads between, only for sockets the recorder does not know yet (or knows with no
    /// holder) and those of holders that ended or forked since the last read — the others
    /// keep the holders the recorder already has (traced at their listen, or found by an
    /// earlier read). With 10,000 sockets of one process and a few new ones, that is one dump
    /// and no walk of its 10,000 descriptors.
    fn read_table(&mut self) -> Option<Snapshot> {
        let read = self.read_holders()?;
        self.unheld = read
            .iter()
            .filter(|(k, seen)| k.inode != 0 && seen.holders.is_empty())
            .map(|(k, _)| k.inode)
            .collect();
        Some(read)
    }

    /// [`Traced::read_table`]'s read, before it notes the sockets with no holder.
    fn read_holders(&mut self) -> Option<Snapshot> {
        self.reads += 1;
        let full = self.reads % FULL_WALK_EVERY == 1 || FULL_WALK_EVERY == 1;
        let suspects = self.suspects();
        if full || self.now.is_empty() {
            return read_table();
        }
        let known: std::collections::HashMap<u64, &crate::record::Seen> = self
            .now
            .map()
            .iter()
            .filter(|(k, seen)| {
                k.inode != 0
                    && !seen.holders.is_empty()
                    && !seen.holders.iter().any(|h| suspects.contains(&h.pid))
            })
            .map(|(k, seen)| (k.inode, seen))
            .collect();
        let unheld = &self.unheld;
        let t = owners::sparing(
            &[],
            None,
            Scope::Bound,
            &|i| known.contains_key(&i) || unheld.contains(&i),
            true,
        );
        if !t.complete() {
            return None;
        }
        Some(
            t.owners
                .iter()
                .map(|o| {
                    let (k, mut seen) = seen_of(o, Holder::pid_only);
                    if o.pid.is_none()
                        && let Some(had) = known.get(&o.inode)
                    {
                        seen.holders.clone_from(&had.holders);
                        seen.v6_only = seen.v6_only.or(had.v6_only);
                    }
                    (k, seen)
                })
                .collect(),
        )
    }

    /// The holders of the recorder's sockets that ended (or are zombies: their descriptors are
    /// closed) or forked (a child shares every descriptor) since the last read of the table:
    /// their sockets' holders are looked for again. One read of `/proc/PID/stat` and of its
    /// main thread's `children` per holding process.
    fn suspects(&mut self) -> std::collections::HashSet<u32> {
        let mut pids: std::collections::HashSet<u32> = std::collections::HashSet::new();
        for seen in self.now.map().values() {
            pids.extend(seen.holders.iter().map(|h| h.pid));
        }
        self.watched.retain(|pid, _| pids.contains(pid));
        let mut out = std::collections::HashSet::new();
        for pid in pids {
            let (alive, kids) = life_of(pid);
            let known = self.watched.insert(pid, kids.clone());
            if !alive || known.is_some_and(|k| kids.iter().any(|c| !k.contains(c))) {
                out.insert(pid);
            }
        }
        out
    }

    /// The ports of listeners whose holders may have changed since the last look: a holder
    /// that ended (or is a zombie: its descriptors are closed) while the socket stayed, or one
    /// with a new child (a fork shares every descriptor). The tracepoint sees neither; the
    /// caller reads those ports' holders again. One read of `/proc/PID/stat` and of its main
    /// thread's `children` per holding process.
    fn holders_changed(&mut self) -> Vec<u16> {
        let listen_pids = &self.now.listen_pids;
        self.children.retain(|pid, _| listen_pids.contains_key(pid));
        let mut changed = std::collections::HashSet::new();
        for &pid in listen_pids.keys() {
            let (alive, kids) = life_of(pid);
            let known = self.children.insert(pid, kids.clone());
            let forked = known.is_some_and(|k| kids.iter().any(|c| !k.contains(c)));
            if !alive || forked {
                changed.insert(pid);
            }
        }
        if changed.is_empty() {
            return Vec::new();
        }
        let mut ports: Vec<u16> = self
            .now
            .map()
            .iter()
            .filter(|(_, seen)| {
                seen.state == crate::owners::SockState::Listen
                    && seen.holders.iter().any(|h| changed.contains(&h.pid))
            })
            .map(|(k, _)| k.local.port())
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

/// Whether `pid` lives (not a zombie: its descriptors are still open), and its main thread's
/// children.
fn life_of(pid: u32) -> (bool, Vec<u32>) {
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
    (alive, kids)
}

/// What /proc said of each process that called listen, per (PID, start time, command name):
/// the PID and the instant it started name one process for its whole life (a later one reusing
/// the PID started later), and the name changes with an exec. A service accepting thousands of
/// listeners costs two reads of /proc once, not per listen.
#[derive(Default)]
struct Processes {
    /// Processes read from /proc so far (each a listener's process not known before).
    read: u64,
    known: std::collections::HashMap<(u32, u64, String), Option<String>>,
}

impl Processes {
    /// At most this many processes are remembered; past it the memory starts again.
    const MAX: usize = 4_096;

    /// The process that called listen, as the event named it, with what /proc still shows of
    /// it: its command line only while `/proc/PID/comm` is still the event's (not a later
    /// process that took the PID).
    fn listener(&mut self, l: &crate::record::ebpf::ListenEvent) -> Holder {
        let key = (l.pid, l.start_ns, l.comm.clone());
        let cmdline = if let Some(whole) = l.args.as_ref().filter(|a| !a.cut()) {
            // The kernel read the whole line in the process at its listen: no /proc read.
            Some(whole.text.clone())
        } else if let Some(c) = self.known.get(&key) {
            c.clone()
        } else {
            self.read += 1;
            let alive = owners::name_of(l.pid).is_some_and(|n| n == l.comm);
            let c = cmdline_from(l.args.as_ref(), || {
                if alive { cmdline_of(l.pid) } else { None }
            });
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
pub(super) fn traced(
    store: &mut Store,
    opts: &Options,
    done: &dyn Fn(&AtomicBool) -> bool,
    stop: &AtomicBool,
    mut capture: crate::record::ebpf::Capture,
    mut sum: Summary,
) -> Result<Summary, StoreError> {
    let session = sum.session;
    let started = now_ms();
    let mut st = Traced::new(crate::record::journal::Journal::open());
    let mut last_watch = started;
    let mut last_read: Option<u64> = None;
    let mut lost = capture.lost();
    let mut lost_checked = started;
    let mut last_written = started;
    let mut last_prune = started;
    loop {
        let t = now_ms();
        let mut touched = std::collections::HashSet::new();
        // Before the first read, events wait in the ring buffer: the read and they are put
        // together below (nothing is written, not even a heartbeat, before the first read).
        let read_before = st.processes.read;
        let (failed, events) = if last_read.is_some() {
            let events = capture.drain();
            let n = events.len();
            (st.take(events, &mut touched), n)
        } else {
            (Vec::new(), 0)
        };
        // Woken for nothing that had to be read while it lives (listens of processes already
        // read, their ends): a busy process's churn, answered in batches below.
        let churn = events > 0 && failed.is_empty() && st.processes.read == read_before;
        // The loss counter is a system call: asked every LOST_CHECK_MS, not at each wake.
        let lost_now = if t.saturating_sub(lost_checked) >= LOST_CHECK_MS {
            lost_checked = t;
            capture.lost()
        } else {
            lost
        };
        if last_read.is_none_or(|r| t.saturating_sub(r) >= RECONCILE_MS) || lost_now != lost {
            sum.lost_events += lost_now.saturating_sub(lost);
            lost = lost_now;
            // What is traced so far is written first: the read's changes come after it.
            if last_read.is_some() {
                flush(store, session, t, &mut st, &mut sum)?;
            }
            sum.polls += 1;
            if let Some(table) = st.read_table() {
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
                let changes = diff(st.now.map(), &now);
                fill_sharers(&mut now, &changes);
                count(&mut sum, &changes);
                store.apply(session, t, last_read, &changes, &now)?;
                if let (Some(j), Some(_)) = (&st.journal, last_read) {
                    tell_journal(j, &changes, st.now.map(), &now);
                }
                st.by_sk.retain(|_, k| now.contains_key(k));
                st.began.retain(|k, _| now.contains_key(k));
                st.now.replace(now);
                st.learned.clear();
                flush(store, session, t, &mut st, &mut sum)?;
                last_read = Some(t);
                last_written = t;
                // Every holder as of this read: a later hand-over happened after it.
                last_watch = t;
                st.record_failed(store, session, late, &mut sum)?;
            } else {
                sum.incomplete += 1;
            }
        }
        st.record_failed(store, session, failed, &mut sum)?;
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
            // A new process's listen (or a failed bind) is written at once, so a kill -9 right
            // after it keeps it; only a known process's churn waits up to FLUSH_MS, batched.
            if t.saturating_sub(oldest) >= FLUSH_MS
                || t.saturating_sub(last_written) >= HEARTBEAT_MS
                || (events > 0 && !churn)
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
                .map_or(0, crate::record::journal::Journal::dropped);
            return Ok(sum);
        }
        sleep(&capture, churn, st.pending.is_empty());
    }
}

/// Waits for the next event. Under a known process's churn (hundreds of listens a second),
/// events are let gather for [`COALESCE_MS`] first instead of one wake per event: a new process
/// or a failed bind among them is read at most that much later. Woken by the next event; at
/// most 50 ms asleep (with writes pending, `FLUSH_MS / 2`), so a stop is honoured and a pending
/// write goes out in time.
fn sleep(capture: &crate::record::ebpf::Capture, churn: bool, nothing_pending: bool) {
    if churn {
        std::thread::sleep(Duration::from_millis(COALESCE_MS));
    }
    capture.wait(Duration::from_millis(if nothing_pending {
        50
    } else {
        FLUSH_MS / 2
    }));
}

/// Reads the TCP sockets of `ports` again, holders included, and records how they changed
/// since `since_ms` (the last look): a listener handed to a child, shared with one, left by
/// an ended holder.
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
    let mine = |k: &crate::record::SocketKey| {
        k.protocol == crate::target::Protocol::Tcp && ports.contains(&k.local.port())
    };
    let before: Snapshot = st
        .now
        .map()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `fd` over `via` (SCM_RIGHTS): until it is received, no process holds it.
    fn send(via: &std::os::unix::net::UnixStream, fd: std::os::fd::BorrowedFd<'_>) {
        use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
        let fds = [fd];
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(&fds)));
        rustix::net::sendmsg(
            via,
            &[std::io::IoSlice::new(b"s")],
            &mut control,
            SendFlags::empty(),
        )
        .unwrap();
    }

    /// Takes the descriptor sent over `via`.
    fn receive(via: &std::os::unix::net::UnixStream) -> std::os::fd::OwnedFd {
        use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut byte = [0u8; 1];
        rustix::net::recvmsg(
            via,
            &mut [std::io::IoSliceMut::new(&mut byte)],
            &mut control,
            RecvFlags::empty(),
        )
        .unwrap();
        control
            .drain()
            .find_map(|m| match m {
                RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
                _ => None,
            })
            .unwrap()
    }

    /// A socket no process holds (here: in flight over a Unix socket, as a kernel socket or one
    /// of another PID namespace would be) is looked for once, not at every read: the reads
    /// between two full walks spare it as they spare the sockets whose holders they know, and
    /// the next full walk names the holder it gained.
    #[test]
    fn a_socket_nobody_holds_is_walked_for_once_then_at_each_full_walk() {
        let ip = std::net::Ipv4Addr::new(127, 77, 0, 1);
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        let local = listener.local_addr().unwrap();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        send(&a, std::os::fd::AsFd::as_fd(&listener));
        drop(listener);
        let me = std::process::id();
        let find = |t: &Snapshot| {
            t.iter()
                .find(|(k, _)| k.local == local)
                .map(|(k, seen)| (*k, seen.holders.iter().map(|h| h.pid).collect::<Vec<_>>()))
        };
        let mut st = Traced::new(None);
        // The first read walks every process: nobody holds the socket.
        let first = st.read_table().expect("the table was read");
        let (key, holders) = find(&first).expect("the socket in flight is in the table");
        assert!(holders.is_empty(), "nobody holds it yet: {holders:?}");
        assert!(st.unheld.contains(&key.inode), "noted as held by nobody");
        st.now.replace(first);
        // Received: this process holds it now. The read between two full walks spares it.
        let held = receive(&b);
        let between = st.read_table().expect("the table was read");
        assert_eq!(
            find(&between).map(|(_, h)| h),
            Some(Vec::new()),
            "spared: not walked for again between two full walks"
        );
        st.now.replace(between);
        // The next full walk names its holder.
        while !st.reads.is_multiple_of(FULL_WALK_EVERY) {
            st.reads += 1;
        }
        let full = st.read_table().expect("the table was read");
        assert_eq!(
            find(&full).map(|(_, h)| h),
            Some(vec![me]),
            "named by the full walk"
        );
        assert!(!st.unheld.contains(&key.inode));
        drop(held);
    }
}
