//! Failed binds as the database keeps them: who tried, and for EADDRINUSE who held the port.

use super::now_ms;
use super::{Summary, cmdline_from, cmdline_of};
use crate::owners;
use crate::record::store::{Store, StoreError};
use crate::record::{Holder, Snapshot, seen_of};

/// At most this many ports are looked up for the holders of refused binds in one batch.
const LOOKUPS_PER_BATCH: usize = 64;

/// At most this many sockets' holders are kept between reads of the table ([`Learned`]).
const LEARNED_MAX: usize = 4_096;

/// The holders of sockets the table did not have, found by the refused binds' lookups since the
/// last read of the table: a flood of refused binds on a socket bound since then (a service
/// restarted in a loop against a UDP port, a test suite's bound-only holders) walks `/proc` for
/// it once, not once per batch. A holder is used again only while a process of its PID and name
/// still runs (a process that held a copy for a moment, a child between its fork and its exec,
/// is looked for again once it has ended). Emptied at each read of the table, which then names
/// every holder itself.
#[derive(Debug, Default)]
pub(super) struct Learned(std::collections::HashMap<u64, Vec<Holder>>);

impl Learned {
    /// Forgets every socket (the table was read again).
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// The holders found for `inode`, while each still runs.
    fn holders(&self, inode: u64) -> Option<&[Holder]> {
        self.0
            .get(&inode)
            .filter(|hs| {
                hs.iter()
                    .all(|h| h.process.is_some() && owners::name_of(h.pid) == h.process)
            })
            .map(Vec::as_slice)
    }

    /// Keeps the holders found for `inode`, when a running process was named.
    fn learn(&mut self, inode: u64, holders: &[Holder]) {
        if inode == 0 || holders.is_empty() || holders.iter().any(|h| h.process.is_none()) {
            return;
        }
        if self.0.len() >= LEARNED_MAX {
            self.0.clear();
        }
        self.0.insert(inode, holders.to_vec());
    }
}

/// The failed binds as the database keeps them: who tried (named by /proc while it lives), and
/// for EADDRINUSE who held the port right then, sockets on another specific address left out.
/// A TCP bind refused by a TCP listener is answered from the recorder's own table: the
/// tracepoints keep its listeners exact (each appears and goes the instant it starts and stops
/// listening, its holders looked at every second). Anything else (UDP, a bound-only socket,
/// no listener in the table) costs one dump of the port's sockets per port and batch: a socket
/// the recorder's table has is answered with its holders, and only a socket it does not have
/// (bound since its last read, a connection) is looked for among the processes — one holder of
/// it, newest processes first, the walk stopping at it.
fn failed_rows(
    events: Vec<crate::record::ebpf::FailedBindEvent>,
    table: &Snapshot,
    learned: &mut Learned,
) -> Vec<crate::record::store::FailedRow> {
    let mono = crate::record::ebpf::mono_now_ns();
    let wall = now_ms();
    // The sockets of each port and protocol looked up in this batch.
    #[allow(clippy::type_complexity)] // A map, read where it is made.
    let mut held: std::collections::HashMap<
        (u16, Option<crate::target::Protocol>),
        Vec<crate::owners::Owner>,
    > = std::collections::HashMap::new();
    let mut cmdlines: std::collections::HashMap<u32, Option<String>> =
        std::collections::HashMap::new();
    // The table's TCP listeners by port, made at the first refused TCP bind of the batch.
    let mut listeners: Option<ListenersByPort<'_>> = None;
    // The table's sockets by inode, made at the first bind that needs a lookup of its port.
    let mut by_inode: Option<std::collections::HashMap<u64, &crate::record::Seen>> = None;
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
                    // Only the protocol refused collides (TCP and UDP ports are apart): a
                    // refused UDP bind never walks the kernel's TCP table, which holds every
                    // listener and connection of the machine.
                    let asked = (l.port(), e.protocol);
                    let looked_up = held.len() < LOOKUPS_PER_BATCH || held.contains_key(&asked);
                    let index = by_inode.get_or_insert_with(|| {
                        table
                            .iter()
                            .filter(|(k, s)| k.inode != 0 && !s.holders.is_empty())
                            .map(|(k, s)| (k.inode, s))
                            .collect()
                    });
                    // The port's sockets right then; only those the recorder's last read did
                    // not have (or had with no holder), and whose holders no lookup since
                    // found, are looked for among every process's descriptors: a refused bind
                    // on a UDP or bound-only socket the read named costs one dump of the
                    // port, no walk of /proc.
                    let owners: &[crate::owners::Owner] = if looked_up {
                        held.entry(asked).or_insert_with(|| {
                            // One holder of each unknown socket is enough to name who held
                            // the port: the walk stops at it, newest processes first.
                            owners::sparing(
                                &[l.port()],
                                e.protocol,
                                owners::Scope::Everything,
                                &|i| index.contains_key(&i) || learned.holders(i).is_some(),
                                false,
                            )
                            .owners
                        })
                    } else {
                        &[]
                    };
                    let mut hs: Vec<Holder> = Vec::new();
                    for o in owners.iter().filter(|o| collides(o.local, l)) {
                        // Spared (no process in the row): the table's holders, or a lookup's
                        // since; found now: named, and kept for the next refused binds.
                        let table_s = o
                            .pid
                            .is_none()
                            .then(|| index.get(&o.inode))
                            .flatten()
                            .map(|seen| seen.holders.clone());
                        let found = if let Some(known) =
                            table_s.or_else(|| learned.holders(o.inode).map(<[Holder]>::to_vec))
                        {
                            known
                        } else {
                            let found = named(o);
                            learned.learn(o.inode, &found);
                            found
                        };
                        for h in found {
                            if !hs.iter().any(|x| x.pid == h.pid) {
                                hs.push(h);
                            }
                        }
                    }
                    if hs.is_empty() {
                        // Nobody named right then (gone already, or not traced to a process):
                        // the holders of the recorder's last read, on a colliding address.
                        hs = last_read_s(table, l, e.protocol);
                    }
                    hs
                }
                _ => Vec::new(),
            };
            crate::record::store::FailedRow {
                at_ms: crate::record::ebpf::wall_ms(e.ktime_ns, mono, wall),
                who: Holder {
                    pid: e.pid,
                    process: Some(e.comm),
                    user: Some(crate::owners::passwd::user_name(e.uid).to_string()),
                    uid: Some(e.uid),
                    cmdline: cmdline_from(e.args.as_ref(), || {
                        cmdlines
                            .entry(e.pid)
                            .or_insert_with(|| cmdline_of(e.pid))
                            .clone()
                    }),
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

/// The holders of `table`'s sockets of `protocol` (any when unknown) whose address collides with
/// `asked`.
fn last_read_s(
    table: &Snapshot,
    asked: std::net::SocketAddr,
    protocol: Option<crate::target::Protocol>,
) -> Vec<Holder> {
    let mut hs: Vec<Holder> = Vec::new();
    for (k, seen) in table {
        if k.local.port() == asked.port()
            && protocol.is_none_or(|p| p == k.protocol)
            && (k.local.ip() == asked.ip()
                || k.local.ip().is_unspecified()
                || asked.ip().is_unspecified())
        {
            for h in &seen.holders {
                if !hs.iter().any(|x| x.pid == h.pid) {
                    hs.push(h.clone());
                }
            }
        }
    }
    hs
}

/// The holders of a socket a lookup found, named as `/proc` says now.
fn named(o: &crate::owners::Owner) -> Vec<Holder> {
    seen_of(o, |pid| Holder {
        pid,
        process: owners::name_of(pid),
        user: None,
        uid: None,
        cmdline: cmdline_of(pid),
        managed_by: None,
    })
    .1
    .holders
}

/// The TCP listeners of a table, by port.
type ListenersByPort<'a> =
    std::collections::HashMap<u16, Vec<(&'a crate::record::SocketKey, &'a crate::record::Seen)>>;

/// The TCP listeners of `table`, by port (one pass).
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
fn tell_journal_failed(
    j: &crate::record::journal::Journal,
    rows: &[crate::record::store::FailedRow],
) {
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
        let f = crate::record::history::FailedBind {
            at_ms: r.at_ms,
            who: r.who.clone(),
            protocol: r.protocol,
            local: r.local,
            errno: r.errno,
            errno_name: crate::record::history::errno_name(r.errno),
            held_by: r.held_by.clone(),
        };
        j.send(&crate::record::words::failed_line(&f, 0), &fields);
    }
}

/// Records failed binds with who held the port, and tells the journal.
pub(super) fn record_failed(
    store: &mut Store,
    session: i64,
    events: Vec<crate::record::ebpf::FailedBindEvent>,
    table: &Snapshot,
    learned: &mut Learned,
    sum: &mut Summary,
    journal: Option<&crate::record::journal::Journal>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    sum.failed_binds += events.len() as u64;
    let rows = failed_rows(events, table, learned);
    store.record_failed_binds(session, &rows)?;
    if let Some(j) = journal {
        tell_journal_failed(j, &rows);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(pid: u32, process: Option<String>) -> Holder {
        Holder {
            process,
            ..Holder::pid_only(pid)
        }
    }

    #[test]
    fn the_kernel_s_arguments_are_kept_and_proc_fills_in_only_a_cut_line() {
        use crate::record::ebpf::Args;
        let args = |text: &str, len: usize| Args {
            text: text.to_owned(),
            len,
        };
        let never = || -> Option<String> { panic!("/proc is not read for a whole line") };
        let whole = args("nginx -g daemon off;", 21);
        assert_eq!(
            cmdline_from(Some(&whole), never).as_deref(),
            Some("nginx -g daemon off;"),
            "the event's whole line, /proc not read"
        );
        let long = format!("java -jar billing.jar {}", "--opt ".repeat(30));
        let cut = args(&format!("{}…", &long[..128]), long.len() + 1);
        assert_eq!(
            cmdline_from(Some(&cut), || Some(long.clone())).as_deref(),
            Some(long.as_str()),
            "a cut line made whole from /proc"
        );
        assert_eq!(
            cmdline_from(Some(&cut), || Some("bash".to_owned())).as_deref(),
            Some(cut.text.as_str()),
            "another process now under the PID: the cut line, said cut"
        );
        let exec_d = format!("{} AFTER-EXEC", long.trim_end());
        assert_eq!(
            cmdline_from(Some(&cut), || Some(exec_d)).as_deref(),
            Some(cut.text.as_str()),
            "the same first bytes, another length: the process has exec'd since, the cut line"
        );
        assert_eq!(
            cmdline_from(None, || Some("bash".to_owned())).as_deref(),
            Some("bash"),
            "none read by the kernel: /proc"
        );
    }

    #[test]
    fn a_learned_holder_is_used_only_while_it_runs() {
        let me = std::process::id();
        let name = owners::name_of(me);
        assert!(name.is_some(), "this process's name is readable");
        let mut learned = Learned::default();
        learned.learn(7, &[holder(me, name.clone())]);
        assert_eq!(
            learned.holders(7).map(<[Holder]>::len),
            Some(1),
            "a running holder is used again"
        );
        // A child that held a copy for a moment and has ended.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        learned.learn(8, &[holder(gone, Some("true".into()))]);
        assert!(learned.holders(8).is_none(), "an ended holder is not");
        learned.learn(9, &[holder(me, Some("another name".into()))]);
        assert!(
            learned.holders(9).is_none(),
            "nor one whose PID another program runs under now"
        );
        learned.learn(10, &[holder(me, None)]);
        assert!(
            learned.holders(10).is_none(),
            "an unnamed holder is not kept"
        );
        learned.clear();
        assert!(
            learned.holders(7).is_none(),
            "a read of the table forgets them"
        );
    }
}
