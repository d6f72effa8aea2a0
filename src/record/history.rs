//! Reading the recorder's database back: the timeline of a port, of a process, or of every
//! failed bind, as typed values (`history --json` writes them as they are). The time the
//! recorder did not run inside the asked window is an entry of its own ([`Entry::NotRecorded`]):
//! a timeline never reads "free" where nobody was looking.

use std::net::{IpAddr, SocketAddr};

use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use super::store::{self, Mode, Store, StoreError};
use super::{Holder, Manager};
use crate::owners::SockState;
use crate::target::Protocol;

/// What the timeline is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "of", content = "value")]
pub enum Subject {
    /// One port (TCP and UDP).
    Port(u16),
    /// One process: the sockets it held and the binds it failed.
    Pid(u32),
    /// Every failed bind on the machine.
    FailedBinds,
    /// The failed binds on one port (`history --failed PORT`): bounded and counted in the
    /// database like the others, not filtered after the limit.
    FailedBindsOn(u16),
}

/// How a span ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanEnd {
    /// The socket closed (the read after `last_ms` no longer had it).
    Closed,
    /// The socket stayed, held by other processes (or in another state) from `gone_ms` on.
    HandedOver,
    /// The recorder stopped (or was killed) while the socket was open: what came after is not
    /// known.
    RecorderStopped,
    /// Still held at the recorder's latest read, and the recorder is running.
    StillHeld,
}

/// One socket held by one set of processes, from one read of the table to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The address and port it held.
    pub local: SocketAddr,
    /// LISTEN, BOUND, UNCONN.
    pub state: SockState,
    /// The kernel's inode: the same number across a gap means the same socket.
    pub inode: u64,
    /// For an IPv6 socket, its own IPV6_V6ONLY (`false`: dual-stack, it holds the IPv4 port
    /// too), when the recorder learned it; `None` for IPv4 and where unknown.
    #[serde(default)]
    pub v6_only: Option<bool>,
    /// The first read that saw it.
    pub first_ms: u64,
    /// The read before, which did not see it; `None`: it was already there when the recorder
    /// started, so it began earlier.
    pub after_ms: Option<u64>,
    /// The last read that saw it (while it is still held: the recorder's latest heartbeat).
    pub last_ms: Option<u64>,
    /// The first read that no longer saw it (or saw other holders).
    pub gone_ms: Option<u64>,
    /// How it ended.
    pub end: SpanEnd,
    /// Every process that held it, the parent first.
    pub holders: Vec<Holder>,
}

/// A bind the kernel refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedBind {
    /// When.
    pub at_ms: u64,
    /// The process that tried.
    pub who: Holder,
    /// The protocol, where known.
    pub protocol: Option<Protocol>,
    /// The address it asked for, where known.
    pub local: Option<SocketAddr>,
    /// The error (98 EADDRINUSE, 13 EACCES, 99 EADDRNOTAVAIL …).
    pub errno: i32,
    /// `errno` by its name (`EADDRINUSE`), so a reader of the JSON need not look it up.
    #[serde(default)]
    pub errno_name: String,
    /// Who held the port at that instant, in the recorder's table.
    pub held_by: Vec<Holder>,
}

/// A Linux errno's name (`EADDRINUSE`): the recorder's failed binds are Linux's.
#[must_use]
pub fn errno_name(errno: i32) -> String {
    crate::oserror::OsError::for_os(crate::platform::Os::Linux, errno).native_name
}

/// Why part of the window has no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapWhy {
    /// The recorder was not running.
    NotRunning,
    /// Records of that time were removed by the age or size bound.
    Removed,
}

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Entry {
    /// A socket held.
    Held(Span),
    /// A refused bind.
    FailedBind(FailedBind),
    /// Time with no record.
    NotRecorded {
        /// From.
        from_ms: u64,
        /// To.
        to_ms: u64,
        /// Why.
        why: GapWhy,
    },
}

impl Entry {
    /// When the entry begins, for ordering.
    #[must_use]
    pub fn start_ms(&self) -> u64 {
        match self {
            Entry::Held(s) => s.after_ms.unwrap_or(s.first_ms),
            Entry::FailedBind(f) => f.at_ms,
            Entry::NotRecorded { from_ms, .. } => *from_ms,
        }
    }
}

/// One run of the recorder that overlaps the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// When it started.
    pub started_ms: u64,
    /// Until when it surely ran (its last heartbeat, or its stop).
    pub last_ms: u64,
    /// Whether it stopped cleanly (`false`: killed, or still running).
    pub stopped: bool,
    /// Whether it is running now (a heartbeat within a few intervals).
    pub running: bool,
    /// Polling or eBPF.
    pub mode: Mode,
    /// Its interval between reads.
    pub interval_ms: u64,
}

impl Session {
    /// Whether failed binds were captured during this session.
    #[must_use]
    pub fn sees_failed_binds(&self) -> bool {
        matches!(self.mode, Mode::Ebpf | Mode::Traced)
    }
}

/// A timeline: what the database knows about a port, a process or failed binds in a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// What it is about.
    pub subject: Subject,
    /// The window's start.
    pub from_ms: u64,
    /// The window's end.
    pub to_ms: u64,
    /// Entries in time order.
    pub entries: Vec<Entry>,
    /// The recorder's runs inside the window.
    pub sessions: Vec<Session>,
    /// The recorder's latest run, whether or not it overlaps the window (running now or not).
    pub latest_session: Option<Session>,
    /// Records before this instant were removed by the bounds.
    pub removed_before_ms: Option<u64>,
    /// The local offset from UTC the times are shown in (seconds).
    pub utc_offset_secs: i32,
    /// What the window holds beyond the newest entries shown (a bounded timeline): `None`
    /// when every entry is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omitted: Option<Omitted>,
}

/// The entries of a window left out of a bounded timeline: all older than those shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omitted {
    /// Spans not shown.
    pub spans: u64,
    /// Refused binds not shown.
    pub failed_binds: u64,
    /// The entries shown begin here; everything omitted begins earlier.
    pub shown_from_ms: u64,
    /// At most this many entries were asked for.
    pub limit: usize,
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A session is running if its heartbeat is younger than this many intervals (or seconds).
const RUNNING_SLACK: u64 = 3;

fn session_of(r: &rusqlite::Row<'_>, now_ms: u64) -> rusqlite::Result<Session> {
    let last = u(r.get(1)?);
    let stopped: Option<i64> = r.get(2)?;
    let interval = u(r.get(4)?);
    let mode: String = r.get(3)?;
    let mode = store::parse_mode(&mode);
    Ok(Session {
        started_ms: u(r.get(0)?),
        last_ms: last,
        stopped: stopped.is_some(),
        running: stopped.is_none() && fresh(now_ms, last, mode, interval),
        mode,
        interval_ms: interval,
    })
}

/// Whether a session's last heartbeat is recent enough for it to be running: a few intervals
/// between reads, or (traced, whose table is read every 30 s) a few heartbeats.
fn fresh(now_ms: u64, last_ms: u64, mode: Mode, interval_ms: u64) -> bool {
    let beat = if mode == Mode::Traced {
        super::HEARTBEAT_MS
    } else {
        interval_ms.max(super::HEARTBEAT_MS)
    };
    now_ms.saturating_sub(last_ms) <= RUNNING_SLACK * beat + super::FULL_READ_MS
}

/// The timeline of `subject` from `from_ms` to `to_ms`, as of `now_ms`, every entry.
pub fn timeline(
    s: &Store,
    subject: Subject,
    from_ms: u64,
    to_ms: u64,
    now_ms: u64,
) -> Result<Timeline, StoreError> {
    timeline_newest(s, subject, from_ms, to_ms, now_ms, None)
}

/// The timeline of `subject` from `from_ms` to `to_ms`, as of `now_ms`: with a `limit`, only
/// the newest `limit` spans and refused binds (each read newest first through its index, so a
/// port with 36,000 entries in 30 days costs what its newest do), and a count of the older
/// ones ([`Timeline::omitted`]); the time no recorder ran is then said only where entries are
/// shown. Narrowing the window (`--since 03:00 --until 03:30`) shows that time in full.
pub fn timeline_newest(
    s: &Store,
    subject: Subject,
    from_ms: u64,
    to_ms: u64,
    now_ms: u64,
    limit: Option<usize>,
) -> Result<Timeline, StoreError> {
    let conn = s.conn();
    let e = |e| s.err(e);
    let sessions: Vec<Session> = conn
        .prepare(
            "SELECT started_ms, last_ms, stopped_ms, mode, interval_ms FROM sessions
             WHERE started_ms <= ?2 ORDER BY started_ms",
        )
        .map_err(e)?
        .query_map(params![i(from_ms), i(to_ms)], |r| session_of(r, now_ms))
        .map_err(e)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
    let latest_session = conn
        .query_row(
            "SELECT started_ms, last_ms, stopped_ms, mode, interval_ms FROM sessions
             ORDER BY started_ms DESC LIMIT 1",
            [],
            |r| session_of(r, now_ms),
        )
        .optional()
        .map_err(e)?;
    // Only the newest run may be running: an older one is over, however fresh its last
    // heartbeat (a recorder killed just now and started again).
    let mut sessions = sessions;
    for x in &mut sessions {
        if latest_session.is_some_and(|l| x.started_ms < l.started_ms) {
            x.running = false;
        }
    }
    let sessions: Vec<Session> = sessions
        .into_iter()
        .filter(|x| session_end(x, now_ms) >= from_ms)
        .collect();
    let removed_before_ms: Option<u64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'removed_before_ms'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(e)?
        .map(u);

    let mut entries: Vec<Entry> = Vec::new();
    if !matches!(subject, Subject::FailedBinds | Subject::FailedBindsOn(_)) {
        held_spans(conn, subject, from_ms, to_ms, now_ms, limit, &mut entries).map_err(e)?;
    }
    failed_binds(conn, subject, from_ms, to_ms, limit, &mut entries).map_err(e)?;
    entries.sort_by_key(Entry::start_ms);
    let mut omitted = None;
    let mut gaps_from = from_ms;
    if let Some(limit) = limit {
        let read = entries.len();
        let mut shown_from_ms = entries.first().map_or(to_ms, Entry::start_ms);
        if read > limit {
            // The newest `limit`, and a socket older than them still held when they begin (the
            // holder a crash loop's refused binds ran into: left out, the holder asked about by
            // `--pid` was missing from its own timeline).
            let cut = read - limit;
            shown_from_ms = entries[cut].start_ms();
            // When the first entry shown was seen (a socket's first read, not the read before
            // it): a socket that ended at that instant was replaced by it, not still held.
            let seen_ms = match &entries[cut] {
                Entry::Held(sp) => sp.first_ms,
                other => other.start_ms(),
            };
            let mut n = 0;
            entries.retain(|x| {
                n += 1;
                n > cut
                    || matches!(x, Entry::Held(sp)
                        if sp.gone_ms.or(sp.last_ms).is_none_or(|end| end > seen_ms))
            });
        }
        // Either list may have been cut at `limit` rows: count what the window holds.
        let (spans_all, failed_all) = if read >= limit {
            counts(conn, subject, from_ms, to_ms).map_err(e)?
        } else {
            (0, 0)
        };
        let spans_shown = entries
            .iter()
            .filter(|x| matches!(x, Entry::Held(_)))
            .count() as u64;
        let failed_shown = entries.len() as u64 - spans_shown;
        if spans_all + failed_all > entries.len() as u64 {
            gaps_from = shown_from_ms.max(from_ms);
            omitted = Some(Omitted {
                spans: spans_all.saturating_sub(spans_shown),
                failed_binds: failed_all.saturating_sub(failed_shown),
                shown_from_ms,
                limit,
            });
        }
    }
    // Under two seconds between two runs, or after a stop, is the seam of a restart: the spans
    // on either side already say "when the recorder stopped" and "already there when it started".
    for (from, to) in gaps(&sessions, gaps_from, to_ms, now_ms)
        .into_iter()
        .filter(|(a, b)| b - a >= 2 * super::HEARTBEAT_MS)
    {
        let why = if removed_before_ms.is_some_and(|r| to <= r) {
            GapWhy::Removed
        } else {
            GapWhy::NotRunning
        };
        entries.push(Entry::NotRecorded {
            from_ms: from,
            to_ms: to,
            why,
        });
    }
    entries.sort_by_key(Entry::start_ms);
    Ok(Timeline {
        subject,
        from_ms,
        to_ms,
        entries,
        sessions,
        latest_session,
        removed_before_ms,
        utc_offset_secs: s.local_offset_secs(now_ms),
        omitted,
    })
}

/// The spans and refused binds of `subject` in the window, counted through their indexes.
fn counts(
    conn: &rusqlite::Connection,
    subject: Subject,
    from_ms: u64,
    to_ms: u64,
) -> rusqlite::Result<(u64, u64)> {
    let spans = if matches!(subject, Subject::FailedBinds | Subject::FailedBindsOn(_)) {
        0
    } else {
        let (filter, value) = span_filter(subject);
        conn.query_row(
            &format!(
                "SELECT count(*) FROM spans sp JOIN sessions se ON se.id = sp.session
                 WHERE {filter} AND sp.first_ms <= ?2
                   AND coalesce(sp.gone_ms, sp.last_ms, se.last_ms) >= ?1"
            ),
            params![i(from_ms), i(to_ms), value],
            |r| r.get::<_, i64>(0),
        )?
    };
    let (filter, value) = failed_filter(subject);
    let failed = conn.query_row(
        &format!("SELECT count(*) FROM failed_binds WHERE {filter} AND at_ms BETWEEN ?1 AND ?2"),
        params![i(from_ms), i(to_ms), value],
        |r| r.get::<_, i64>(0),
    )?;
    Ok((u(spans), u(failed)))
}

/// The `WHERE` part choosing a subject's spans (`?3` its value).
fn span_filter(subject: Subject) -> (&'static str, i64) {
    match subject {
        Subject::Port(p) => ("sp.port = ?3", i64::from(p)),
        Subject::Pid(p) => (
            "sp.id IN (SELECT span FROM holders WHERE pid = ?3)",
            i64::from(p),
        ),
        Subject::FailedBinds | Subject::FailedBindsOn(_) => ("0", 0),
    }
}

/// The `WHERE` part choosing a subject's refused binds (`?3` its value).
fn failed_filter(subject: Subject) -> (&'static str, i64) {
    match subject {
        Subject::Port(p) | Subject::FailedBindsOn(p) => ("port = ?3", i64::from(p)),
        // A process's own refused binds, and the ones it caused: binds refused while it held
        // the port (`held_by` is a JSON list of holders).
        Subject::Pid(p) => (
            "(pid = ?3 OR EXISTS (SELECT 1 FROM json_each(held_by) \
              WHERE json_extract(value, '$.pid') = ?3))",
            i64::from(p),
        ),
        Subject::FailedBinds => ("?3 = ?3", 0),
    }
}

/// The spans of `subject` in the window, each with its holders.
fn held_spans(
    conn: &rusqlite::Connection,
    subject: Subject,
    from_ms: u64,
    to_ms: u64,
    now_ms: u64,
    limit: Option<usize>,
    entries: &mut Vec<Entry>,
) -> rusqlite::Result<()> {
    let (filter, value) = span_filter(subject);
    // Newest first when bounded (the index on port and first_ms is read backwards).
    let order = match limit {
        Some(n) => format!("ORDER BY sp.first_ms DESC, sp.id DESC LIMIT {n}"),
        None => "ORDER BY sp.first_ms, sp.id".to_owned(),
    };
    let sql = format!(
        "SELECT sp.id, sp.protocol, sp.ip, sp.port, sp.state, sp.inode, sp.first_ms, sp.after_ms,
                sp.last_ms, sp.gone_ms, sp.ended, se.last_ms, se.stopped_ms, se.interval_ms, se.mode,
                sp.v6_only
         FROM spans sp JOIN sessions se ON se.id = sp.session
         WHERE {filter} AND sp.first_ms <= ?2
           AND coalesce(sp.gone_ms, sp.last_ms, se.last_ms) >= ?1
         {order}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![i(from_ms), i(to_ms), value], |r| {
        let ip: String = r.get(2)?;
        let port: u16 = r.get(3)?;
        let state: String = r.get(4)?;
        let ended: Option<String> = r.get(10)?;
        let session_last = u(r.get(11)?);
        let session_stopped: Option<i64> = r.get(12)?;
        let interval = u(r.get(13)?);
        let mode: String = r.get(14)?;
        let running = session_stopped.is_none()
            && fresh(now_ms, session_last, store::parse_mode(&mode), interval);
        let mut last_ms = r.get::<_, Option<i64>>(8)?.map(u);
        let end = match ended.as_deref() {
            Some("closed") => SpanEnd::Closed,
            Some("handed_over") => SpanEnd::HandedOver,
            None if running => SpanEnd::StillHeld,
            Some(_) | None => SpanEnd::RecorderStopped,
        };
        if last_ms.is_none() {
            last_ms = Some(session_last);
        }
        let proto: String = r.get(1)?;
        Ok((
            r.get::<_, i64>(0)?,
            Span {
                protocol: store::parse_protocol(&proto),
                local: SocketAddr::new(
                    ip.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    port,
                ),
                state: store::parse_state(&state),
                inode: u(r.get(5)?),
                v6_only: r.get(15)?,
                first_ms: u(r.get(6)?),
                after_ms: r.get::<_, Option<i64>>(7)?.map(u),
                last_ms,
                gone_ms: r.get::<_, Option<i64>>(9)?.map(u),
                end,
                holders: Vec::new(),
            },
        ))
    })?;
    let mut hstmt = conn.prepare_cached(
        "SELECT pid, process, user, uid, cmdline, managed_kind, managed_name, container
             FROM holders WHERE span = ?1 ORDER BY rowid",
    )?;
    let at = entries.len();
    for row in rows {
        let (id, mut span) = row?;
        span.holders = hstmt
            .query_map(params![id], holder_of)?
            .collect::<Result<Vec<_>, _>>()?;
        entries.push(Entry::Held(span));
    }
    // Read newest first when bounded: back in time order, so entries that start at the same
    // instant keep the order they were recorded in (the caller's sort is stable).
    if limit.is_some() {
        entries[at..].reverse();
    }
    Ok(())
}

/// The failed binds of `subject` in the window.
fn failed_binds(
    conn: &rusqlite::Connection,
    subject: Subject,
    from_ms: u64,
    to_ms: u64,
    limit: Option<usize>,
    entries: &mut Vec<Entry>,
) -> rusqlite::Result<()> {
    let (filter, value) = failed_filter(subject);
    let order = match limit {
        Some(n) => format!("ORDER BY at_ms DESC, id DESC LIMIT {n}"),
        None => "ORDER BY at_ms, id".to_owned(),
    };
    let sql = format!(
        "SELECT at_ms, pid, process, user, uid, cmdline, protocol, ip, port, errno, held_by
         FROM failed_binds WHERE {filter} AND at_ms BETWEEN ?1 AND ?2 {order}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let failed = stmt.query_map(params![i(from_ms), i(to_ms), value], |r| {
        let proto: Option<String> = r.get(6)?;
        let ip: Option<String> = r.get(7)?;
        let port: Option<u16> = r.get(8)?;
        let held: Option<String> = r.get(10)?;
        Ok(FailedBind {
            at_ms: u(r.get(0)?),
            who: Holder {
                pid: r.get(1)?,
                process: r.get(2)?,
                user: r.get(3)?,
                uid: r.get(4)?,
                cmdline: r.get(5)?,
                managed_by: None,
            },
            protocol: proto.as_deref().map(store::parse_protocol),
            local: ip
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .zip(port)
                .map(|(ip, p)| SocketAddr::new(ip, p)),
            errno: r.get(9)?,
            errno_name: errno_name(r.get(9)?),
            held_by: held
                .and_then(|h| serde_json::from_str(&h).ok())
                .unwrap_or_default(),
        })
    })?;
    let at = entries.len();
    for f in failed {
        entries.push(Entry::FailedBind(f?));
    }
    if limit.is_some() {
        entries[at..].reverse();
    }
    Ok(())
}

fn holder_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Holder> {
    let kind: Option<String> = r.get(5)?;
    let name: Option<String> = r.get(6)?;
    Ok(Holder {
        pid: r.get(0)?,
        process: r.get(1)?,
        user: r.get(2)?,
        uid: r.get(3)?,
        cmdline: r.get(4)?,
        managed_by: kind
            .as_deref()
            .and_then(store::parse_managed)
            .zip(name)
            .map(|(kind, name)| Manager {
                kind,
                name,
                container: r.get(7).ok().flatten(),
            }),
    })
}

fn session_end(s: &Session, now_ms: u64) -> u64 {
    if s.running { now_ms } else { s.last_ms }
}

/// The parts of `[from, to]` no session covered. A gap shorter than a session's own
/// heartbeat allowance is not a gap (the heartbeat is written once a second).
#[must_use]
pub fn gaps(sessions: &[Session], from_ms: u64, to_ms: u64, now_ms: u64) -> Vec<(u64, u64)> {
    let mut covered: Vec<(u64, u64)> = sessions
        .iter()
        .map(|s| (s.started_ms, session_end(s, now_ms)))
        .collect();
    covered.sort_unstable();
    let mut out = Vec::new();
    let mut at = from_ms;
    let to = to_ms.min(now_ms);
    for (a, b) in covered {
        if a > at && a.min(to) > at {
            out.push((at, a.min(to)));
        }
        at = at.max(b);
        if at >= to {
            break;
        }
    }
    if at < to {
        out.push((at, to));
    }
    out
}

/// What the recorder knows about a port, for `check`: who holds it since when, how often it
/// changed hands lately, the last refused bind. `None` when the database has nothing on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recollection {
    /// The port.
    pub port: u16,
    /// The spans still held now, as recorded (the recorder is running).
    pub held_now: Vec<Span>,
    /// Spans that began on the port in the last hour.
    pub changes_last_hour: usize,
    /// The last refused bind on the port in the last day.
    pub last_refused: Option<FailedBind>,
    /// The recorder's latest run.
    pub recorder: Option<Session>,
    /// The local offset from UTC (seconds), for showing times.
    pub utc_offset_secs: i32,
}

/// Whether `h` is a Port Inspector process (its `comm` is the program's name).
fn is_port_inspector(h: &Holder) -> bool {
    h.process.as_deref() == Some(crate::program::NAME)
}

/// A probe of Port Inspector's: a socket that only Port Inspector processes held, for less than
/// a second (a check's bind and listen, a scan's; a `listen` or `hold` on purpose lasts longer
/// and stays a holder); or one recorded as still held whose every holder is `asking` (the
/// process that recollects: the check, its probes closed) or has ended (`running` says no),
/// whose end the recorder has not written yet: under load it writes a probe's close tens of
/// milliseconds late, and the check asking right after it, or its own, read as held now.
fn own_probe(span: &Span, asking: u32, running: &dyn Fn(u32) -> bool) -> bool {
    !span.holders.is_empty()
        && span.holders.iter().all(is_port_inspector)
        && match span.gone_ms {
            Some(g) => g.saturating_sub(span.after_ms.unwrap_or(span.first_ms)) < 1_000,
            None => {
                span.end == SpanEnd::StillHeld
                    && span
                        .holders
                        .iter()
                        .all(|h| h.pid == asking || !running(h.pid))
            }
        }
}

/// Whether a Port Inspector process `pid` is running now; where this OS does not say, yes.
fn port_inspector_running(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        crate::owners::name_of(pid).as_deref() == Some(crate::program::NAME)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        true
    }
}

/// What the database at `path` knows about `port`, asked by the process `asking` (its own
/// probes are none of the port's): silent (`None`) when there is no database, it cannot be
/// read, or it has nothing on the port.
#[must_use]
pub fn recollect(
    path: &std::path::Path,
    port: u16,
    now_ms: u64,
    asking: u32,
) -> Option<Recollection> {
    let s = Store::open_for_reading(path).ok()??;
    let day = timeline(
        &s,
        Subject::Port(port),
        now_ms.saturating_sub(86_400_000),
        now_ms,
        now_ms,
    )
    .ok()?;
    let mut held_now = Vec::new();
    let mut changes_last_hour = 0;
    let mut last_refused = None;
    for e in day.entries {
        match e {
            // Port Inspector's own probes (this check's, earlier checks', a scan's) are no
            // holder and no refusal of the port's: a check run three times must not make the
            // port "change hands" or report its own refused bind.
            Entry::Held(span) if own_probe(&span, asking, &port_inspector_running) => {}
            Entry::FailedBind(f) if is_port_inspector(&f.who) => {}
            Entry::Held(span) => {
                if span.after_ms.is_some_and(|a| a + 3_600_000 >= now_ms) {
                    changes_last_hour += 1;
                }
                if span.end == SpanEnd::StillHeld {
                    held_now.push(span);
                }
            }
            Entry::FailedBind(f) => last_refused = Some(f),
            Entry::NotRecorded { .. } => {}
        }
    }
    if held_now.is_empty() && changes_last_hour == 0 && last_refused.is_none() {
        return None;
    }
    Some(Recollection {
        port,
        held_now,
        changes_last_hour,
        last_refused,
        recorder: day.latest_session,
        utc_offset_secs: day.utc_offset_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_inspector_s_own_probes_are_no_holders() {
        let holder = |name: &str| Holder {
            process: Some(name.into()),
            ..Holder::pid_only(42)
        };
        let span = |name: &str, first: u64, gone: Option<u64>| Span {
            protocol: Protocol::Tcp,
            local: SocketAddr::from(([127, 0, 0, 1], 7000)),
            state: SockState::Listen,
            inode: 1,
            v6_only: None,
            first_ms: first,
            after_ms: Some(first - 100),
            last_ms: Some(first),
            gone_ms: gone,
            end: if gone.is_some() {
                SpanEnd::Closed
            } else {
                SpanEnd::StillHeld
            },
            holders: vec![holder(name)],
        };
        let (asking, running, ended) = (7, |_| true, |_| false);
        let probe = |name, gone| own_probe(&span(name, 5_000, gone), asking, &running);
        assert!(probe("port-inspector", Some(5_100)));
        assert!(
            !probe("port-inspector", Some(9_000)),
            "a listen or hold on purpose"
        );
        assert!(!probe("port-inspector", None), "still held: a holder");
        assert!(
            own_probe(&span("port-inspector", 5_000, None), 42, &running),
            "still held by the asking check itself (its end not written yet): its probe"
        );
        assert!(
            own_probe(&span("port-inspector", 5_000, None), asking, &ended),
            "still held by a check that has ended (its end not written yet): its probe"
        );
        assert!(!probe("nginx", Some(5_100)), "not ours");
        assert!(
            !own_probe(&span("nginx", 5_000, None), 42, &ended),
            "not ours"
        );
        assert!(is_port_inspector(&holder("port-inspector")));
        assert!(!is_port_inspector(&holder("port-inspecto")));
    }

    fn session(a: u64, b: u64) -> Session {
        Session {
            started_ms: a,
            last_ms: b,
            stopped: true,
            running: false,
            mode: Mode::Polling,
            interval_ms: 200,
        }
    }

    /// A database of 50 sockets on port 7000, one after another (the nth held by PID n + 10), a
    /// refused bind on 7000 after each, while it held the port, and one on 7001 (both by PID 9);
    /// returns its folder and file.
    fn fifty_on_7000(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        use crate::record::store::FailedRow;
        use crate::record::{Change, Seen, Snapshot, SocketKey};
        let dir = std::env::temp_dir().join(format!("pi-history-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let path = dir.join("record.db");
        let mut s = Store::open_for_writing(&path).unwrap();
        let session = s.begin_session(1_000, Mode::Polling, 100, "test").unwrap();
        let mut open = Snapshot::new();
        // 50 sockets on port 7000, one after another, and a refused bind after each.
        for n in 0..50u64 {
            let t = 2_000 + n * 1_000;
            let key = SocketKey {
                protocol: Protocol::Tcp,
                local: SocketAddr::from(([127, 0, 0, 1], 7000)),
                inode: 100 + n,
            };
            let mut changes: Vec<Change> = open.keys().map(|k| Change::Went(*k)).collect();
            changes.push(Change::Appeared(key));
            let now: Snapshot = [(
                key,
                Seen {
                    state: SockState::Listen,
                    v6_only: None,
                    holders: vec![Holder::pid_only(u32::try_from(n).unwrap() + 10)],
                },
            )]
            .into();
            s.apply(session, t, Some(t - 100), &changes, &now).unwrap();
            s.record_failed_binds(
                session,
                &[
                    FailedRow {
                        at_ms: t + 500,
                        who: Holder::pid_only(9),
                        protocol: Some(Protocol::Tcp),
                        local: Some(SocketAddr::from(([127, 0, 0, 1], 7000))),
                        errno: 98,
                        held_by: vec![Holder::pid_only(u32::try_from(n).unwrap() + 10)],
                    },
                    FailedRow {
                        at_ms: t + 600,
                        who: Holder::pid_only(9),
                        protocol: Some(Protocol::Udp),
                        local: Some(SocketAddr::from(([127, 0, 0, 1], 7001))),
                        errno: 98,
                        held_by: Vec::new(),
                    },
                ],
            )
            .unwrap();
            open = now;
        }
        (dir, path)
    }

    /// The entries of a timeline, its gaps left out.
    fn real(t: &Timeline) -> Vec<Entry> {
        t.entries
            .iter()
            .filter(|e| !matches!(e, Entry::NotRecorded { .. }))
            .cloned()
            .collect()
    }

    #[test]
    fn a_bounded_timeline_shows_the_newest_and_counts_the_rest() {
        let (dir, path) = fifty_on_7000("newest");
        let end = 60_000;
        let r = Store::open_for_reading(&path).unwrap().unwrap();
        let all = timeline(&r, Subject::Port(7000), 0, end, end).unwrap();
        assert_eq!(real(&all).len(), 100, "every entry unbounded");
        assert_eq!(all.omitted, None, "nothing left out");
        let newest = timeline_newest(&r, Subject::Port(7000), 0, end, end, Some(10)).unwrap();
        let shown = real(&newest);
        assert_eq!(shown.len(), 10, "the limit");
        assert_eq!(
            shown,
            real(&all)[90..].to_vec(),
            "the newest ten, in time order"
        );
        let o = newest.omitted.unwrap();
        assert_eq!(
            (o.spans, o.failed_binds),
            (45, 45),
            "the rest counted by kind"
        );
        assert_eq!(
            o.shown_from_ms,
            shown[0].start_ms(),
            "where the shown begin"
        );
        assert!(
            newest.entries.iter().all(
                |e| !matches!(e, Entry::NotRecorded { to_ms, .. } if *to_ms <= o.shown_from_ms)
            ),
            "no gap said before the entries shown"
        );
        let fits = timeline_newest(&r, Subject::Port(7000), 0, end, end, Some(500)).unwrap();
        assert_eq!(
            fits.omitted, None,
            "a limit above the count leaves nothing out"
        );
        assert_eq!(real(&fits), real(&all), "and shows all");
        drop(r);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A crash loop: 30 binds refused while one socket held the port. The newest ten are shown
    /// with the socket they ran into, though it is older than them.
    #[test]
    fn a_bounded_timeline_keeps_the_socket_still_held_when_its_entries_begin() {
        use crate::record::store::FailedRow;
        use crate::record::{Change, Seen, Snapshot, SocketKey};
        let dir = std::env::temp_dir().join(format!("pi-history-loop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("record.db");
        let mut s = Store::open_for_writing(&path).unwrap();
        let session = s.begin_session(1_000, Mode::Polling, 100, "test").unwrap();
        let key = SocketKey {
            protocol: Protocol::Tcp,
            local: SocketAddr::from(([127, 0, 0, 1], 7000)),
            inode: 100,
        };
        let seen = Seen {
            state: SockState::Listen,
            v6_only: None,
            holders: vec![Holder::pid_only(42)],
        };
        let now: Snapshot = [(key, seen)].into();
        s.apply(session, 2_000, Some(1_900), &[Change::Appeared(key)], &now)
            .unwrap();
        let rows: Vec<FailedRow> = (0..30)
            .map(|n| FailedRow {
                at_ms: 3_000 + n * 100,
                who: Holder::pid_only(9),
                protocol: Some(Protocol::Tcp),
                local: Some(SocketAddr::from(([127, 0, 0, 1], 7000))),
                errno: 98,
                held_by: vec![Holder::pid_only(42)],
            })
            .collect();
        s.record_failed_binds(session, &rows).unwrap();
        s.apply(session, 9_000, Some(8_900), &[], &now).unwrap();
        drop(s);
        let r = Store::open_for_reading(&path).unwrap().unwrap();
        for subject in [Subject::Port(7000), Subject::Pid(42)] {
            let t = timeline_newest(&r, subject, 0, 10_000, 10_000, Some(10)).unwrap();
            let shown = real(&t);
            assert!(
                matches!(&shown[0], Entry::Held(sp) if sp.holders[0].pid == 42),
                "{subject:?}: the socket the binds ran into comes first: {shown:#?}"
            );
            assert_eq!(shown.len(), 11, "{subject:?}: it and the newest ten binds");
            let o = t.omitted.unwrap();
            assert_eq!(
                (o.spans, o.failed_binds, o.shown_from_ms),
                (0, 20, 5_000),
                "{subject:?}: the older binds counted, from the first bind shown"
            );
        }
        drop(r);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_binds_and_a_process_are_bounded_like_a_port() {
        let (dir, path) = fifty_on_7000("failed");
        let end = 60_000;
        let r = Store::open_for_reading(&path).unwrap().unwrap();
        // `--failed`, `--failed PORT` and `--pid` are bounded and counted the same way.
        for (subject, total) in [
            (Subject::FailedBinds, 100),
            (Subject::FailedBindsOn(7000), 50),
            (Subject::Pid(9), 100),
        ] {
            let every = timeline(&r, subject, 0, end, end).unwrap();
            assert_eq!(
                real(&every).len(),
                total,
                "{subject:?}: every entry unbounded"
            );
            let newest = timeline_newest(&r, subject, 0, end, end, Some(10)).unwrap();
            assert_eq!(
                real(&newest),
                real(&every)[total - 10..].to_vec(),
                "{subject:?}: the newest ten"
            );
            let o = newest.omitted.unwrap();
            assert_eq!(
                (o.spans, o.failed_binds),
                (0, total as u64 - 10),
                "{subject:?}: the rest counted"
            );
        }
        // A holder's timeline: its socket, and the bind refused while it held the port.
        let holder = real(&timeline(&r, Subject::Pid(15), 0, end, end).unwrap());
        assert!(
            matches!(&holder[..], [Entry::Held(s), Entry::FailedBind(f)]
                if s.holders[0].pid == 15 && f.who.pid == 9 && f.held_by[0].pid == 15),
            "PID 15's socket and the bind it refused: {holder:#?}"
        );
        assert!(
            real(
                &timeline_newest(&r, Subject::FailedBindsOn(7000), 0, end, end, Some(10)).unwrap()
            )
            .iter()
            .all(
                |e| matches!(e, Entry::FailedBind(f) if f.local.is_some_and(|l| l.port() == 7000))
            ),
            "only the port asked"
        );
        drop(r);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gaps_are_the_time_no_session_covered() {
        let s = [session(100, 200), session(300, 400)];
        assert_eq!(
            gaps(&s, 0, 500, 1_000),
            vec![(0, 100), (200, 300), (400, 500)],
            "before, between and after"
        );
        assert_eq!(gaps(&s, 120, 180, 1_000), vec![], "inside one session");
        assert_eq!(gaps(&[], 0, 50, 1_000), vec![(0, 50)], "never recorded");
        assert_eq!(
            gaps(&s, 0, 5_000, 1_000).last(),
            Some(&(400, 1_000)),
            "not past now"
        );
    }
}
