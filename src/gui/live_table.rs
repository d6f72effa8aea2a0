//! The data behind the "Listening now" tab: one refresh's table, prepared on the worker (sorted,
//! compared with the last one for new and vanished sockets, counted, filtered for the view), so
//! the tab only swaps it in. Plain functions of plain values, tested without a window.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::owners::{Owner, SockState};
use crate::target::Protocol;

/// How often the table is read again while the tab is visible.
pub const REFRESH: Duration = Duration::from_secs(1);
/// How long a vanished row stays, struck through.
pub(super) const GONE_FOR: Duration = Duration::from_secs(4);

/// What identifies one socket from one refresh to the next.
pub type Key = (Protocol, SocketAddr, Option<SocketAddr>, u64);

pub(super) fn key(o: &Owner) -> Key {
    (o.protocol, o.local, o.remote, o.inode)
}

/// The column the table is sorted by: every column but the actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Protocol, then port.
    Protocol,
    /// State.
    State,
    /// Port, then address.
    #[default]
    Port,
    /// Remote address.
    Remote,
    /// PID.
    Pid,
    /// Process name.
    Process,
    /// User.
    User,
    /// What manages the process.
    Manager,
    /// The command line.
    Command,
}

/// A column of the table. The order of [`Column::ALL`] is TCPView's: who first (process, PID),
/// then the socket, then why the process runs; the command line last, as wide as the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Column {
    /// The process's name.
    Process,
    /// Its PID.
    Pid,
    /// TCP or UDP.
    Protocol,
    /// The local address and port.
    Local,
    /// The peer (shown only with "Connections too").
    Remote,
    /// The socket's state.
    State,
    /// The process's user.
    User,
    /// What starts and restarts the process.
    ManagedBy,
    /// The full command line.
    Command,
}

impl Column {
    /// Every column, in the default order.
    pub const ALL: [Column; 9] = [
        Column::Process,
        Column::Pid,
        Column::Protocol,
        Column::Local,
        Column::Remote,
        Column::State,
        Column::User,
        Column::ManagedBy,
        Column::Command,
    ];

    /// The header's text.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Column::Process => "Process",
            Column::Pid => "PID",
            Column::Protocol => "Protocol",
            Column::Local => "Local",
            Column::Remote => "Remote",
            Column::State => "State",
            Column::User => "User",
            Column::ManagedBy => "Managed by",
            Column::Command => "Command",
        }
    }

    /// The sort its header sets.
    #[must_use]
    pub fn sort(self) -> SortBy {
        match self {
            Column::Process => SortBy::Process,
            Column::Pid => SortBy::Pid,
            Column::Protocol => SortBy::Protocol,
            Column::Local => SortBy::Port,
            Column::Remote => SortBy::Remote,
            Column::State => SortBy::State,
            Column::User => SortBy::User,
            Column::ManagedBy => SortBy::Manager,
            Column::Command => SortBy::Command,
        }
    }

    /// The width it starts with (points): Process and PID fit at 800 px beside Local.
    #[must_use]
    pub fn width(self) -> f32 {
        match self {
            Column::Process => 130.0,
            Column::Pid => 60.0,
            Column::Protocol | Column::User => 72.0,
            Column::Local | Column::Remote => 170.0,
            Column::State => 96.0,
            Column::ManagedBy => 140.0,
            Column::Command => 420.0,
        }
    }
}

/// What the rows shown depend on besides the table: the filter, "Connections too", the sort and
/// its direction, and whether rows are grouped by process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Look {
    pub(super) filter: String,
    pub(super) all: bool,
    pub(super) sort: SortBy,
    pub(super) descending: bool,
    pub(super) grouped: bool,
}

/// One line of the table as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// A socket: its index into the table's rows, or into the vanished rows when `gone`.
    Socket {
        /// The index.
        index: usize,
        /// Whether it vanished (an index into the vanished rows).
        gone: bool,
    },
    /// The head of a process's group (grouped view): the line of its first socket, and how many
    /// sockets follow.
    Group {
        /// The first socket's line.
        first: usize,
        /// How many sockets the group has.
        count: usize,
    },
}

/// One refresh, prepared on the worker: the new table, what appeared and vanished since the
/// last one, the header's counts and the rows to show for the look the tab had when it asked.
/// Taking it in is a swap of fields, so the frame that shows 10,000 fresh sockets does no more
/// work than any other.
pub struct Table {
    pub(super) rows: Arc<Vec<Owner>>,
    pub(super) new: HashSet<Key>,
    pub(super) gone: Vec<(Owner, Instant)>,
    pub(super) counts: String,
    pub(super) view: Vec<Line>,
    pub(super) look: Look,
    /// The machine the rows are of (`None`: this one).
    pub(super) machine: Option<String>,
}

/// Builds a [`Table`] from a fresh read of the sockets (`rows`), the table shown until now
/// (`before`, `None` on the first load: nothing is "new" then) and the rows already shown as
/// vanished.
#[must_use]
pub fn prepare(
    mut rows: Vec<Owner>,
    before: Option<&[Owner]>,
    mut gone: Vec<(Owner, Instant)>,
    look: Look,
) -> Table {
    rows.sort_by_cached_key(|o| (o.local.port(), o.local.ip()));
    let after: HashSet<Key> = rows.iter().map(key).collect();
    let now = Instant::now();
    gone.retain(|(o, at)| at.elapsed() < GONE_FOR && !after.contains(&key(o)));
    let mut new = HashSet::new();
    if let Some(before) = before {
        let seen: HashSet<Key> = before.iter().map(key).collect();
        new = after.difference(&seen).copied().collect();
        gone.extend(
            before
                .iter()
                .filter(|o| !after.contains(&key(o)))
                .map(|o| (o.clone(), now)),
        );
    }
    let view = view_of(&rows, &gone, &look);
    Table {
        counts: shown_counts(&rows, &view, look.all),
        rows: Arc::new(rows),
        new,
        gone,
        view,
        look,
        machine: None,
    }
}

/// The header's counts for what the view shows: "3 shown of 120 · 2 TCP LISTEN · 1 UDP UNCONN"
/// when a filter hides some, else the counts of the whole table.
pub(super) fn shown_counts(rows: &[Owner], view: &[Line], all: bool) -> String {
    let shown = || {
        view.iter().filter_map(|l| match *l {
            Line::Socket { index, gone: false } => rows.get(index),
            _ => None,
        })
    };
    // Of the sockets the view lists at all (connections only with "Connections too").
    let listed = || rows.iter().filter(|o| all || !o.state.is_connection());
    let n = shown().count();
    let total = listed().count();
    if n == total {
        return counts(listed());
    }
    let of = format!("{n} shown of {total}");
    if n == 0 {
        of
    } else {
        format!("{of} · {}", counts(shown()))
    }
}

/// "9998 tcp LISTEN · 3 udp UNCONN": sockets per protocol and state, in order of first sight.
fn counts<'a>(rows: impl IntoIterator<Item = &'a Owner>) -> String {
    let mut counts: Vec<((Protocol, SockState), usize)> = Vec::new();
    for o in rows {
        let k = (o.protocol, o.state);
        match counts.iter_mut().find(|(c, _)| *c == k) {
            Some((_, n)) => *n += 1,
            None => counts.push((k, 1)),
        }
    }
    counts
        .iter()
        .map(|((p, s), n)| format!("{n} {p} {}", s.name()))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The lines to show, in order: the sockets that pass the filter, sorted, and in the grouped
/// view each process's sockets together under a head line, the groups in the order of their
/// first socket.
pub(super) fn view_of(rows: &[Owner], gone: &[(Owner, Instant)], look: &Look) -> Vec<Line> {
    let needle = look.filter.trim().to_lowercase();
    let keep = |o: &Owner| {
        let has = |t: Option<&str>| t.is_some_and(|t| t.to_lowercase().contains(&needle));
        (look.all || !o.state.is_connection())
            && (needle.is_empty()
                || o.local.to_string().contains(&needle)
                || o.remote.is_some_and(|r| r.to_string().contains(&needle))
                || has(o.process.as_deref())
                || has(o.cmdline.as_deref())
                || has(o.path.as_deref())
                || has(o.user.as_deref())
                || o.pid.is_some_and(|p| p.to_string() == needle))
    };
    let owner =
        |&(i, gone_row): &(usize, bool)| -> &Owner { if gone_row { &gone[i].0 } else { &rows[i] } };
    let mut v: Vec<(usize, bool)> = (0..rows.len())
        .filter(|&i| keep(&rows[i]))
        .map(|i| (i, false))
        .chain(
            (0..gone.len())
                .filter(|&i| keep(&gone[i].0))
                .map(|i| (i, true)),
        )
        .collect();
    let port = |o: &Owner| (o.local.port(), o.local.ip());
    match look.sort {
        SortBy::Protocol => v.sort_by_key(|r| (owner(r).protocol == Protocol::Udp, port(owner(r)))),
        SortBy::State => v.sort_by_key(|r| (owner(r).state, port(owner(r)))),
        SortBy::Port => v.sort_by_key(|r| port(owner(r))),
        SortBy::Remote => v.sort_by_key(|r| (owner(r).remote, port(owner(r)))),
        SortBy::Pid => v.sort_by_key(|r| (owner(r).pid, port(owner(r)))),
        SortBy::Process => v.sort_by_key(|r| (owner(r).process.clone(), port(owner(r)))),
        SortBy::User => v.sort_by_key(|r| (owner(r).user.clone(), port(owner(r)))),
        SortBy::Manager => {
            v.sort_by_cached_key(|r| (crate::wording::managed_by(owner(r)), port(owner(r))));
        }
        SortBy::Command => v.sort_by_key(|r| (owner(r).cmdline.clone(), port(owner(r)))),
    }
    if look.descending {
        v.reverse();
    }
    if !look.grouped {
        return v
            .into_iter()
            .map(|(index, gone)| Line::Socket { index, gone })
            .collect();
    }
    // Grouped: a stable sort by the place of each process's first socket keeps the sort inside
    // and between the groups.
    let mut first_seen: HashMap<Option<u32>, usize> = HashMap::new();
    for (n, r) in v.iter().enumerate() {
        first_seen.entry(owner(r).pid).or_insert(n);
    }
    v.sort_by_key(|r| first_seen[&owner(r).pid]);
    let mut lines = Vec::with_capacity(v.len() + first_seen.len());
    let mut n = 0;
    while n < v.len() {
        let pid = owner(&v[n]).pid;
        let count = v[n..].iter().take_while(|r| owner(r).pid == pid).count();
        lines.push(Line::Group {
            first: lines.len() + 1,
            count,
        });
        lines.extend(
            v[n..n + count]
                .iter()
                .map(|&(index, gone)| Line::Socket { index, gone }),
        );
        n += count;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(port: u16, state: SockState) -> Owner {
        Owner {
            pid: Some(100 + u32::from(port)),
            pids: vec![100 + u32::from(port)],
            process: Some(format!("p{port}").into()),
            path: None,
            cmdline: None,
            user: Some("root".into()),
            uid: Some(0),
            protocol: Protocol::Tcp,
            family: crate::target::Family::Ipv4,
            local: SocketAddr::from(([127, 0, 0, 1], port)),
            remote: None,
            state,
            v6_only: None,
            inode: u64::from(port),
            note: None,
            holder: None,
            reuse_port: None,
            ancestry: Arc::default(),
            managed_by: None,
            kernel: None,
            device: None,
        }
    }

    fn look(filter: &str, sort: SortBy) -> Look {
        Look {
            filter: filter.into(),
            sort,
            ..Look::default()
        }
    }

    #[test]
    fn a_refresh_marks_new_and_gone_rows_and_sorts_the_view() {
        let first = prepare(
            vec![row(30, SockState::Listen), row(10, SockState::Listen)],
            None,
            Vec::new(),
            look("", SortBy::Port),
        );
        assert!(first.new.is_empty(), "nothing is new on the first load");
        assert_eq!(first.counts, "2 TCP LISTEN");
        let ports = |t: &Table| -> Vec<(u16, bool)> {
            t.view
                .iter()
                .filter_map(|line| match *line {
                    Line::Socket { index, gone } => {
                        let o = if gone {
                            &t.gone[index].0
                        } else {
                            &t.rows[index]
                        };
                        Some((o.local.port(), gone))
                    }
                    Line::Group { .. } => None,
                })
                .collect()
        };
        assert_eq!(ports(&first), [(10, false), (30, false)], "sorted by port");
        let second = prepare(
            vec![row(10, SockState::Listen), row(20, SockState::Listen)],
            Some(&first.rows),
            first.gone.clone(),
            look("", SortBy::Port),
        );
        assert_eq!(
            second.new,
            HashSet::from([key(&row(20, SockState::Listen))])
        );
        assert_eq!(
            ports(&second),
            [(10, false), (20, false), (30, true)],
            "30 is gone"
        );
        // A gone socket that comes back is a row again, not also a gone one.
        let third = prepare(
            vec![row(10, SockState::Listen), row(30, SockState::Listen)],
            Some(&second.rows),
            second.gone.clone(),
            look("p30", SortBy::Port),
        );
        assert_eq!(ports(&third), [(30, false)], "filtered by process, 30 back");
        assert_eq!(third.gone.len(), 1, "20 went: {:?}", third.gone.len());
    }

    #[test]
    fn connections_only_with_connections_too() {
        let rows = vec![row(10, SockState::Listen), row(11, SockState::Established)];
        let t = prepare(rows, None, Vec::new(), look("", SortBy::Pid));
        assert_eq!(t.view.len(), 1, "listening only by default");
        let all = Look {
            all: true,
            ..look("", SortBy::Pid)
        };
        assert_eq!(
            view_of(&t.rows, &t.gone, &all).len(),
            2,
            "and the connection"
        );
    }

    #[test]
    fn every_column_sorts_both_ways_and_grouping_keeps_a_process_together() {
        let mut rows = vec![
            row(10, SockState::Listen),
            row(20, SockState::Listen),
            row(30, SockState::Listen),
        ];
        // Ports 10 and 30 belong to one process, 20 to another.
        rows[2].pid = Some(110);
        rows[2].process = Some("p10".into());
        let t = prepare(rows, None, Vec::new(), look("", SortBy::Port));
        let shown = |look: &Look| -> Vec<String> {
            view_of(&t.rows, &t.gone, look)
                .iter()
                .map(|line| match *line {
                    Line::Socket { index, .. } => t.rows[index].local.port().to_string(),
                    Line::Group { count, .. } => format!("group of {count}"),
                })
                .collect()
        };
        let by = |sort, descending, grouped| Look {
            sort,
            descending,
            grouped,
            ..Look::default()
        };
        assert_eq!(shown(&by(SortBy::Port, false, false)), ["10", "20", "30"]);
        assert_eq!(shown(&by(SortBy::Port, true, false)), ["30", "20", "10"]);
        assert_eq!(
            shown(&by(SortBy::Process, true, false)),
            ["20", "30", "10"],
            "p20 before p10, each process's ports descending"
        );
        assert_eq!(
            shown(&by(SortBy::Port, false, true)),
            ["group of 2", "10", "30", "group of 1", "20"]
        );
        assert_eq!(
            shown(&by(SortBy::Port, true, true)),
            ["group of 2", "30", "10", "group of 1", "20"],
            "the group of the first row first"
        );
        assert_eq!(shown(&by(SortBy::Pid, false, false)), ["10", "30", "20"]);
        for sort in [
            SortBy::Protocol,
            SortBy::State,
            SortBy::Remote,
            SortBy::User,
            SortBy::Manager,
        ] {
            assert_eq!(
                shown(&by(sort, false, false)),
                ["10", "20", "30"],
                "{sort:?}: equal keys fall back to the port"
            );
        }
    }
}
