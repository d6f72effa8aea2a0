//! The flight recorder: the life of every bound socket and its holders, kept in a database so
//! "who had port 8080 at 03:12 last night?" has an answer after the holder is gone.
//!
//! - [`capture`] polls the socket table (`owners::table`, the table `list` reads) and turns two
//!   consecutive reads into [`Change`]s with [`diff`];
//! - [`store`] keeps sessions, spans (one socket held by one set of processes from one poll to
//!   another) and failed binds in SQLite, bounded by age and size;
//! - [`history`] reads a port's, a process's or the machine's timeline back as typed values;
//! - [`words`] is the one place that turns those values into sentences;
//! - [`time`] parses `--since 2h` / `--until 03:12` and formats instants.
//!
//! Proven or silent: a span's start is "between the poll before and this one", never a guess;
//! the time the recorder was not running is a gap, never "nothing happened".

use std::collections::HashMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::owners::{ManagedKind, Owner, SockState};
use crate::target::Protocol;

pub mod capture;
#[cfg(target_os = "linux")]
pub mod ebpf;
pub mod history;
#[cfg(unix)]
pub mod journal;
pub mod store;
pub mod time;
pub mod words;

/// What identifies one socket between two reads of the table: the kernel's inode is unique while
/// the socket lives, the protocol and address say what it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SocketKey {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The local address and port.
    pub local: SocketAddr,
    /// The kernel's socket inode (0 where the OS gives none: then the address alone).
    pub inode: u64,
}

/// One process holding a recorded socket, as it was when the span began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Its PID.
    pub pid: u32,
    /// Its short name (`comm`), exactly as the kernel gave it: outside text, escaped on output.
    pub process: Option<String>,
    /// Its user's name.
    pub user: Option<String>,
    /// Its effective uid.
    pub uid: Option<u32>,
    /// Its command line, arguments separated by spaces (outside text).
    pub cmdline: Option<String>,
    /// What manages it (systemd unit, container, supervisor, shell), when the table said.
    pub managed_by: Option<Manager>,
}

impl Holder {
    /// A holder known by its PID alone (named later, or never).
    #[must_use]
    pub fn pid_only(pid: u32) -> Self {
        Self {
            pid,
            process: None,
            user: None,
            uid: None,
            cmdline: None,
            managed_by: None,
        }
    }
}

/// What manages a holder, as `owners::ManagedBy` says, in a form the database keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    /// systemd, container, supervisor, shell, init.
    pub kind: ManagedKind,
    /// The unit, container id, supervisor or shell.
    pub name: String,
    /// A container's name, when its runtime said.
    pub container: Option<String>,
}

/// One socket in one read of the table, with every process holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// LISTEN, BOUND, UNCONN.
    pub state: SockState,
    /// The socket's own IPV6_V6ONLY, for IPv6 sockets.
    pub v6_only: Option<bool>,
    /// Every process holding it, the parent first; empty when none could be named.
    pub holders: Vec<Holder>,
}

impl Seen {
    /// The PIDs holding the socket, sorted: two reads with the same set are the same span.
    #[must_use]
    pub fn pids(&self) -> Vec<u32> {
        let mut p: Vec<u32> = self.holders.iter().map(|h| h.pid).collect();
        p.sort_unstable();
        p
    }
}

/// One read of the socket table.
pub type Snapshot = HashMap<SocketKey, Seen>;

/// What changed between two reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A socket the earlier read did not have.
    Appeared(SocketKey),
    /// A socket the later read does not have.
    Went(SocketKey),
    /// The same socket, held by another set of processes (a parent that handed it to a child and
    /// ended, a worker that joined), or in another state (bound, then listening).
    HandedOver(SocketKey),
}

impl Change {
    /// The socket it is about.
    #[must_use]
    pub fn key(self) -> SocketKey {
        match self {
            Change::Appeared(k) | Change::Went(k) | Change::HandedOver(k) => k,
        }
    }
}

/// The changes from `before` to `now`, in a stable order (by socket).
#[must_use]
pub fn diff(before: &Snapshot, now: &Snapshot) -> Vec<Change> {
    let mut out = Vec::new();
    for (k, seen) in now {
        match before.get(k) {
            None => out.push(Change::Appeared(*k)),
            Some(b) if b.pids() != seen.pids() || b.state != seen.state => {
                out.push(Change::HandedOver(*k));
            }
            Some(_) => {}
        }
    }
    for k in before.keys() {
        if !now.contains_key(k) {
            out.push(Change::Went(*k));
        }
    }
    out.sort_by_key(|c| match c {
        Change::Appeared(k) | Change::Went(k) | Change::HandedOver(k) => {
            (k.local, k.inode, k.protocol == Protocol::Udp)
        }
    });
    out
}

/// The socket and holders of one row of the owners table, where `more` names the processes
/// sharing it beyond the one the row describes (read by the caller, which may reach /proc).
#[must_use]
pub fn seen_of(o: &Owner, more: impl Fn(u32) -> Holder) -> (SocketKey, Seen) {
    let key = SocketKey {
        protocol: o.protocol,
        local: o.local,
        inode: o.inode,
    };
    let manager = o.managed_by.as_ref().map(|m| Manager {
        kind: m.kind,
        name: m.name.to_string(),
        container: m.container.as_deref().map(str::to_owned),
    });
    let mut pids: Vec<u32> = o.pids.clone();
    if let Some(p) = o.pid
        && !pids.contains(&p)
    {
        pids.insert(0, p);
    }
    let holders = pids
        .into_iter()
        .map(|pid| {
            if Some(pid) == o.pid {
                Holder {
                    pid,
                    process: o.process.as_deref().map(str::to_owned),
                    user: o.user.as_deref().map(str::to_owned),
                    uid: o.uid,
                    cmdline: o.cmdline.as_deref().map(str::to_owned),
                    managed_by: manager.clone(),
                }
            } else {
                let mut h = more(pid);
                if h.managed_by.is_none() {
                    h.managed_by.clone_from(&manager);
                }
                h
            }
        })
        .collect();
    (
        key,
        Seen {
            state: o.state,
            v6_only: o.v6_only,
            holders,
        },
    )
}

/// At least this often the whole table is read, holders included, even when the kernel's
/// fingerprint of the sockets is unchanged.
pub const FULL_READ_MS: u64 = 2_000;

/// At most this long between two heartbeats: a recorder killed without a word is known to have
/// run until its last heartbeat, so a gap is never wider than the truth by more than this.
pub const HEARTBEAT_MS: u64 = 1_000;

/// In traced mode, how often the whole table is read for what the tracepoints do not see.
pub const RECONCILE_MS: u64 = 30_000;

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

/// The milliseconds since the Unix epoch, now.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What the recorder knows about a port, with its sentences: what `check` carries (JSON
/// `recorded`), the same lines for every front.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The typed facts.
    #[serde(flatten)]
    pub value: history::Recollection,
    /// Their sentences (`words::recollection_lines`).
    pub lines: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16, inode: u64) -> SocketKey {
        SocketKey {
            protocol: Protocol::Tcp,
            local: SocketAddr::from(([127, 0, 0, 1], port)),
            inode,
        }
    }

    fn seen(pids: &[u32]) -> Seen {
        Seen {
            state: SockState::Listen,
            v6_only: None,
            holders: pids.iter().map(|&pid| Holder::pid_only(pid)).collect(),
        }
    }

    #[test]
    fn diff_names_new_gone_and_handed_over_sockets() {
        let before: Snapshot = [(key(1, 10), seen(&[5])), (key(2, 20), seen(&[6, 7]))].into();
        let now: Snapshot = [(key(2, 20), seen(&[7])), (key(3, 30), seen(&[8]))].into();
        assert_eq!(
            diff(&before, &now),
            vec![
                Change::Went(key(1, 10)),
                Change::HandedOver(key(2, 20)),
                Change::Appeared(key(3, 30))
            ],
            "one of each change"
        );
        assert!(diff(&now, &now).is_empty(), "no change between equal reads");
    }

    #[test]
    fn same_pids_in_another_order_are_the_same_holders() {
        let a: Snapshot = [(key(2, 20), seen(&[6, 7]))].into();
        let b: Snapshot = [(key(2, 20), seen(&[7, 6]))].into();
        assert!(diff(&a, &b).is_empty(), "order of sharers does not matter");
    }
}
