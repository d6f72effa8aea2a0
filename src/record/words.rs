//! Every sentence about the recorder: its start line, a timeline's lines, and what `check`
//! adds from the recorder. Outside text (process names, command lines, users, units) passes
//! `text::clean` here, the one place these sentences are made, so no terminal or document
//! receives it raw; the JSON keeps the exact values.

use std::fmt::Write as _;

use super::Holder;
use super::ModeReason;
use super::history::{
    self, Entry, FailedBind, GapWhy, Recollection, Span, SpanEnd, Subject, Timeline,
};
use super::store::Mode;
use super::time;
use crate::owners::ManagedKind;
use crate::program::Program;
use crate::text::clean;

/// The line the recorder starts with: the mode, its time resolution, what it cannot see, and
/// where it writes.
#[must_use]
pub fn start_line(
    mode: Mode,
    reason: &ModeReason,
    interval_ms: u64,
    db: &std::path::Path,
) -> String {
    let how = match mode {
        Mode::Polling => format!(
            "Recording in polling mode, every {interval_ms} ms: sockets that live less than that may be missed, and failed binds are not seen in this mode"
        ),
        Mode::Ebpf => format!(
            "Recording sockets by polling every {interval_ms} ms (sockets that live less than that may be missed), and every failed bind as it happens through kernel tracepoints (eBPF)"
        ),
        Mode::Traced => format!(
            "Recording through kernel tracepoints (eBPF): every TCP listener the instant it starts and stops listening, with the process that called listen, and every failed bind as it happens; UDP and bound-only TCP sockets, and listeners shared with other processes, by reading the socket table every {} s (those that live less than that may be missed)",
            super::RECONCILE_MS / 1000
        ),
    };
    let why = match reason {
        ModeReason::Tracepoints => String::new(),
        ModeReason::NotLinux => " (listeners and failed binds are traced on Linux only)".to_owned(),
        ModeReason::NotRoot => {
            " (tracing listeners and failed binds needs root: CAP_BPF and CAP_PERFMON)".to_owned()
        }
        ModeReason::NoTracefs(why) => {
            format!(" (tracefs is not mounted and could not be: {})", clean(why))
        }
        ModeReason::KernelRefused(why) => format!(
            " (the kernel refused the tracepoint program: {})",
            clean(why)
        ),
    };
    format!(
        "{how}{why}.\nDatabase: {}. Stop with Ctrl+C.",
        clean(&db.display().to_string())
    )
}

/// The line at a clean stop.
#[must_use]
pub fn stop_line(sum: &super::Summary) -> String {
    use crate::wording::{count, noun};
    format!(
        "Stopped: {} of the socket table, {} appeared, {} went, {} changed hands, {}{}{}{}.",
        count(sum.polls, "read", "reads"),
        count(sum.appeared, "socket", "sockets"),
        sum.went,
        sum.handed_over,
        count(sum.failed_binds, "failed bind", "failed binds"),
        if sum.incomplete > 0 {
            format!(
                "; {} could not see the whole table and {} not compared",
                count(sum.incomplete, "read", "reads"),
                noun(sum.incomplete, "was", "were")
            )
        } else {
            String::new()
        },
        if sum.lost_events > 0 {
            format!(
                "; {} did not fit the ring buffer (the table was read again after each loss)",
                count(sum.lost_events, "kernel event", "kernel events")
            )
        } else {
            String::new()
        },
        if sum.journal_dropped > 0 {
            format!(
                "; {} journal {} dropped because the journal's queue was full or it was gone (the database has {})",
                sum.journal_dropped,
                if sum.journal_dropped == 1 {
                    "entry was"
                } else {
                    "entries were"
                },
                if sum.journal_dropped == 1 {
                    "it"
                } else {
                    "them"
                },
            )
        } else {
            String::new()
        }
    )
}

/// The journal's MESSAGE for one change: `TCP 0.0.0.0:8080 LISTEN appeared, held by nginx (PID
/// 433, …)`; `seen` is the socket as the read that shows the change has it (for a socket that
/// went, the read before).
#[must_use]
pub fn event_message(change: &super::Change, seen: &super::Seen) -> String {
    let (k, what) = match change {
        super::Change::Appeared(k) => (k, "appeared, held by"),
        super::Change::Went(k) => (k, "went; it was held by"),
        super::Change::HandedOver(k) => (k, "changed hands, now held by"),
    };
    format!(
        "{} {} {} {what} {}",
        k.protocol,
        address(k.local, seen.v6_only),
        seen.state,
        holders(&seen.holders)
    )
}

/// A socket's address, and for the IPv6 wildcard whether it also holds the IPv4 port, where the
/// recorder learned it (the socket's own IPV6_V6ONLY): `[::]:8080 (IPv6 only)`,
/// `[::]:8080 (dual-stack)`. Any other address says nothing more: the flag changes nothing there.
#[must_use]
pub fn address(local: std::net::SocketAddr, v6_only: Option<bool>) -> String {
    match (local.ip(), v6_only) {
        (std::net::IpAddr::V6(ip), Some(only)) if ip.is_unspecified() => format!(
            "{local} ({})",
            if only { "IPv6 only" } else { "dual-stack" }
        ),
        _ => local.to_string(),
    }
}

/// `nginx (PID 433, user www-data, unit nginx.service)`, escaped.
#[must_use]
pub fn holder(h: &Holder) -> String {
    let mut s = match &h.process {
        Some(p) => format!("{} (PID {}", clean(p), h.pid),
        None => format!("PID {} (", h.pid),
    };
    let mut extra = Vec::new();
    if let Some(u) = &h.user {
        extra.push(format!("user {}", clean(u)));
    }
    if let Some(m) = &h.managed_by {
        let what = match m.kind {
            ManagedKind::Systemd => "unit",
            ManagedKind::Container => "container",
            ManagedKind::Supervisor => "supervised by",
            ManagedKind::Shell => "started from",
            ManagedKind::Init => "child of",
            ManagedKind::Service => "service",
        };
        let name = m.container.as_deref().unwrap_or(&m.name);
        extra.push(format!("{what} {}", clean(name)));
    }
    if h.process.is_none() {
        s.push_str(&extra.join(", "));
        if extra.is_empty() {
            s.pop();
            s.pop();
            return s;
        }
    } else {
        for e in extra {
            s.push_str(", ");
            s.push_str(&e);
        }
    }
    s.push(')');
    s
}

/// `nginx (PID 433) and 2 more`, for a line that names several holders.
#[must_use]
pub fn holders(hs: &[Holder]) -> String {
    match hs {
        [] => "no process we could name (another user's, without the rights to see it)".to_owned(),
        [one] => holder(one),
        [first, rest @ ..] => format!(
            "{} and {} more ({})",
            holder(first),
            rest.len(),
            rest.iter()
                .map(|h| format!("PID {}", h.pid))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// What a bounded timeline left out: "Showing the newest 200 entries; 35800 older ones in this
/// window are not shown (3000 sockets held, 32800 refused binds), all before 03:12:04."
#[must_use]
pub fn omitted_line(o: &super::history::Omitted, shown: usize, off: i32) -> String {
    use crate::wording::{count, noun};
    let older = o.spans + o.failed_binds;
    format!(
        "Showing the newest {}; {older} older {} in this window {} not shown ({}, {}), all before {}.",
        count(shown, "entry", "entries"),
        noun(older, "one", "ones"),
        noun(older, "is", "are"),
        count(o.spans, "socket held", "sockets held"),
        count(o.failed_binds, "refused bind", "refused binds"),
        time::date_time_ms(o.shown_from_ms, off)
    )
}

fn heading(t: &Timeline) -> String {
    let what = match t.subject {
        Subject::Port(p) => format!("Port {p}"),
        Subject::Pid(p) => format!("PID {p}"),
        Subject::FailedBinds => "Failed binds".to_owned(),
        Subject::FailedBindsOn(p) => format!("Failed binds on port {p}"),
    };
    format!(
        "{what}, {} to {} ({}):",
        time::date_time(t.from_ms, t.utc_offset_secs),
        time::date_time(t.to_ms, t.utc_offset_secs),
        time::zone(t.utc_offset_secs)
    )
}

/// For a span already there when a recorder started: the last instant an earlier span of the
/// timeline showed the very same socket (its inode, protocol and address) before a recorder
/// stopped — one socket across a restart, not two.
fn same_socket_before(t: &Timeline, s: &Span) -> Option<u64> {
    if s.after_ms.is_some() || s.inode == 0 {
        return None;
    }
    t.entries
        .iter()
        .filter_map(|e| match e {
            Entry::Held(p)
                if p.end == SpanEnd::RecorderStopped
                    && p.inode == s.inode
                    && p.protocol == s.protocol
                    && p.local == s.local
                    && p.first_ms < s.first_ms =>
            {
                p.last_ms
            }
            _ => None,
        })
        .max()
}

fn span_line(s: &Span, off: i32) -> String {
    let start = match s.after_ms {
        // Stamped with the start of the gap it appeared in: the time the timeline is sorted by.
        // Traced: the kernel told the instant.
        Some(a) if a == s.first_ms => format!(
            "{}  appeared at {}",
            time::clock(a, off),
            time::clock_ms(a, off)
        ),
        Some(a) => format!(
            "{}  {}",
            time::clock(a, off),
            format_args!(
                "appeared between {} and {}",
                time::clock_ms(a, off),
                time::clock_ms(s.first_ms, off)
            )
        ),
        None => format!(
            "{}  already there when the recorder started",
            time::clock(s.first_ms, off)
        ),
    };
    let end = match s.end {
        SpanEnd::Closed => match (s.last_ms, s.gone_ms) {
            (Some(l), Some(g)) if l == g => format!("closed at {}", time::clock_ms(g, off)),
            (l, g) => format!(
                "closed between {} and {}",
                l.map_or_else(|| "?".to_owned(), |l| time::clock_ms(l, off)),
                g.map_or_else(|| "?".to_owned(), |g| time::clock_ms(g, off))
            ),
        },
        SpanEnd::HandedOver => format!(
            "held by other processes (or in another state) from {} on",
            s.gone_ms
                .map_or_else(|| "?".to_owned(), |g| time::clock_ms(g, off))
        ),
        SpanEnd::RecorderStopped => format!(
            "still held at {} when the recorder stopped; after that, unknown",
            s.last_ms
                .map_or_else(|| "?".to_owned(), |l| time::clock_ms(l, off))
        ),
        SpanEnd::StillHeld => "still held now".to_owned(),
    };
    // From the middle of the read gap it appeared in to the middle of the one it went in: the
    // shortest possible time (last seen minus first seen) ran a read interval short.
    let held_for = match (s.after_ms, s.last_ms, s.end) {
        (Some(a), Some(l), SpanEnd::Closed | SpanEnd::HandedOver) => {
            let start = a.midpoint(s.first_ms);
            let end = s.gone_ms.map_or(l, |g| l.midpoint(g));
            format!(", held about {}", time::span(end.saturating_sub(start)))
        }
        _ => String::new(),
    };
    format!(
        "{start}\n          {} {} {} held by {}\n          {end}{held_for}",
        s.protocol,
        address(s.local, s.v6_only),
        s.state,
        holders(&s.holders)
    )
}

/// `refused bind: nginx (PID 433) on TCP 0.0.0.0:80, EADDRINUSE, while java (PID 812) held it`.
#[must_use]
pub fn failed_line(f: &FailedBind, off: i32) -> String {
    format!(
        "{}  refused bind: {}",
        time::clock_ms(f.at_ms, off),
        refusal(f)
    )
}

/// Who was refused what, and while whom held it: "nginx (PID 433) on TCP 0.0.0.0:80,
/// EADDRINUSE, while java (PID 812) held it" (the line and check's recollection both say it).
fn refusal(f: &FailedBind) -> String {
    let on = match (f.protocol, f.local) {
        (Some(p), Some(l)) => format!(" on {p} {l}"),
        (None, Some(l)) => format!(" on {l}"),
        _ => String::new(),
    };
    let held = if f.held_by.is_empty() {
        String::new()
    } else {
        format!(", while {} held it", holders(&f.held_by))
    };
    format!(
        "{}{on}, {}{held}",
        holder(&f.who),
        history::errno_name(f.errno)
    )
}

/// An entry's line of its process's command line, when recorded: two crashing `python3` tell
/// apart by it, and a refused bind's process is usually gone by the time anyone asks.
fn command_line(out: &mut String, h: Option<&Holder>) {
    if let Some(c) = h
        .and_then(|h| h.cmdline.as_deref())
        .filter(|c| !c.is_empty())
    {
        let _ = writeln!(out, "          command: {}", clean(c));
    }
}

/// The whole timeline as text: a heading, then one entry per line group, then what the
/// recorder could not see in the window.
#[must_use]
pub fn timeline_text(
    t: &Timeline,
    db: &std::path::Path,
    unit_installed: bool,
    program: &Program,
    root: bool,
) -> String {
    let off = t.utc_offset_secs;
    let mut out = heading(t);
    out.push('\n');
    if let Some(o) = &t.omitted {
        let shown = t
            .entries
            .iter()
            .filter(|e| !matches!(e, Entry::NotRecorded { .. }))
            .count();
        let _ = writeln!(
            out,
            "  {} Narrow the window with --since and --until (--since 03:00 --until 03:30), or give --limit 0 for all.",
            omitted_line(o, shown, off)
        );
    }
    let mut shown = 0usize;
    let mut day = String::new();
    for e in &t.entries {
        let d = time::date_time(e.start_ms(), off)[..10].to_owned();
        if d != day {
            let _ = writeln!(out, "  {d}");
            day = d;
        }
        match e {
            Entry::Held(s) => {
                let _ = writeln!(out, "  {}", span_line(s, off));
                command_line(&mut out, s.holders.first());
                if let Some(before) = same_socket_before(t, s) {
                    let _ = writeln!(
                        out,
                        "          the same socket as before the gap (inode {}, held at {})",
                        s.inode,
                        time::clock_ms(before, off)
                    );
                }
                shown += 1;
            }
            Entry::FailedBind(f) => {
                let _ = writeln!(out, "  {}", failed_line(f, off));
                command_line(&mut out, Some(&f.who));
                shown += 1;
            }
            Entry::NotRecorded {
                from_ms,
                to_ms,
                why,
            } => {
                let why = match why {
                    GapWhy::NotRunning => "not recorded: the recorder was not running",
                    GapWhy::Removed => "no record: removed by the database's age or size bound",
                };
                let long = time::span(to_ms.saturating_sub(*from_ms));
                // A gap to the window's end has no end yet: "until <the window's end>" read as
                // if the recorder had started then.
                let _ = if *to_ms >= t.to_ms {
                    writeln!(
                        out,
                        "  {}  {why} from then to the end of this window ({long})",
                        time::clock(*from_ms, off),
                    )
                } else {
                    writeln!(
                        out,
                        "  {}  {why} until {} ({long})",
                        time::clock(*from_ms, off),
                        time::date_time(*to_ms, off),
                    )
                };
            }
        }
    }
    if shown == 0 {
        let nothing = match t.subject {
            Subject::Port(_) => "  Nothing recorded on this port in this window.",
            Subject::Pid(_) => "  Nothing recorded for this process in this window.",
            Subject::FailedBinds | Subject::FailedBindsOn(_) => {
                "  No failed bind recorded in this window."
            }
        };
        out.push_str(nothing);
        out.push('\n');
    }
    let blind: Vec<_> = t
        .sessions
        .iter()
        .filter(|s| !s.sees_failed_binds())
        .collect();
    if !blind.is_empty() {
        let min = blind.iter().map(|s| s.interval_ms).min().unwrap_or(0);
        let _ = writeln!(
            out,
            "Recorded by polling every {min} ms or more: sockets that lived less may be missing, and failed binds were not captured."
        );
    }
    out.push_str(&recorder_state(
        t.latest_session.as_ref(),
        db,
        unit_installed,
        off,
        program,
        root,
    ));
    out.push('\n');
    out
}

fn mode_word(m: Mode) -> &'static str {
    match m {
        Mode::Polling => "polling",
        Mode::Ebpf | Mode::Traced => "eBPF",
    }
}

/// `program` as the first word of a command for sh (the recorder, its sudo and its history are
/// Unix's).
fn sh_program(program: &Program) -> String {
    crate::text::shell_word(&clean(program.name()))
}

/// The exact command that starts the recorder writing `db`: the packaged unit when it is
/// installed and `db` is the system's database, else `port-inspector record` (`program` as the
/// front named it), with `--db` when `db` is not where a root recorder writes by default.
/// `sudo` only where it is needed and can help: the system's database is root's, but a root
/// shell has nothing to gain from it (and a machine without sudo fails on it), and a user's own
/// database is written by that user (root refuses a folder another user may write).
#[must_use]
pub fn start_command(
    db: &std::path::Path,
    unit_installed: bool,
    program: &Program,
    root: bool,
) -> String {
    let system = db == std::path::Path::new(super::store::SYSTEM_DB);
    let sudo = if system && !root { "sudo " } else { "" };
    if system && unit_installed {
        format!("{sudo}systemctl start port-inspector-record")
    } else if system {
        let program = if root {
            sh_program(program)
        } else {
            sh_program(&program.under_sudo())
        };
        format!("{sudo}{program} record")
    } else {
        format!(
            "{} record --db {}",
            sh_program(program),
            crate::text::shell_word(&clean(&db.display().to_string()))
        )
    }
}

/// The recorder's state, for `history` and the window alike: running (mode, since when, up to its last read), or
/// not running and the exact command that starts it.
#[must_use]
pub fn recorder_state(
    s: Option<&super::history::Session>,
    db: &std::path::Path,
    unit_installed: bool,
    off: i32,
    program: &Program,
    root: bool,
) -> String {
    let start = start_command(db, unit_installed, program, root);
    match s {
        Some(s) if s.running => format!(
            "The recorder is running in {} mode, from {} to its last read at {}{}.",
            mode_word(s.mode),
            time::date_time(s.started_ms, off),
            time::date_time(s.last_ms, off),
            match s.mode {
                Mode::Polling => format!(
                    ": it reads the socket table every {} ms (sockets that live less may be missing) and does not see failed binds",
                    s.interval_ms
                ),
                Mode::Ebpf => ": failed binds are captured as they happen".to_owned(),
                Mode::Traced => format!(
                    ": TCP listeners and failed binds are captured as they happen, UDP and bound-only sockets read every {} s",
                    s.interval_ms / 1000
                ),
            }
        ),
        Some(s) => format!(
            "The recorder is not running: it last ran from {} to {}{}. Start it with: {start}",
            time::date_time(s.started_ms, off),
            time::date_time(s.last_ms, off),
            if s.stopped {
                ""
            } else {
                ", then stopped without a word (killed or crashed)"
            }
        ),
        None => format!("The recorder has never run with this database. Start it with: {start}"),
    }
}

/// No database where the recorder keeps it.
#[must_use]
pub fn no_database(
    db: &std::path::Path,
    unit_installed: bool,
    program: &Program,
    root: bool,
) -> String {
    format!(
        "No recorder database at {}: nothing has been recorded on this machine. Start the recorder with: {}",
        clean(&db.display().to_string()),
        start_command(db, unit_installed, program, root)
    )
}

/// ` --db PATH` for a printed `history` command reading `db`, or nothing for the system's
/// database: the command then runs as printed from any shell (another user's, sudo's, one
/// without `PORT_INSPECTOR_DB`), reading what was read.
fn db_arg(db: &std::path::Path) -> String {
    if db == std::path::Path::new(super::store::SYSTEM_DB) {
        String::new()
    } else {
        format!(
            " --db {}",
            crate::text::shell_word(&clean(&db.display().to_string()))
        )
    }
}

/// A database this user may not read (the system's is root's alone).
#[must_use]
pub fn unreadable_database(
    db: &std::path::Path,
    why: &str,
    port: u16,
    program: &Program,
) -> String {
    let db_arg = db_arg(db);
    format!(
        "No recorder database readable as this user: {} cannot be read ({}). Open the window as root, or read it with: sudo {} history {port}{db_arg}",
        clean(&db.display().to_string()),
        clean(why),
        sh_program(&program.under_sudo())
    )
}

/// Where a span's bar ends on a time strip: the first read without it, else its last read,
/// else (still held) the end of the window.
#[must_use]
pub fn span_end_ms(s: &Span, to_ms: u64) -> u64 {
    match s.end {
        SpanEnd::Closed | SpanEnd::HandedOver => s.gone_ms.or(s.last_ms).unwrap_or(s.first_ms),
        SpanEnd::RecorderStopped => s.last_ms.unwrap_or(s.first_ms),
        SpanEnd::StillHeld => to_ms.max(s.first_ms),
    }
}

/// A span's one-line name with the time it covers: `holder (PID 12): TCP 127.0.0.2:4000 LISTEN,
/// 21:03:04.120 to 21:03:04.180`.
#[must_use]
pub fn span_label(s: &Span, to_ms: u64, off: i32) -> String {
    let until = match s.end {
        SpanEnd::StillHeld => "now".to_owned(),
        _ => time::clock_ms(span_end_ms(s, to_ms), off),
    };
    format!(
        "{}: {} {} {}, {} to {until}",
        holders(&s.holders),
        s.protocol,
        address(s.local, s.v6_only),
        s.state,
        time::clock_ms(s.first_ms, off)
    )
}

/// A refused bind's one-line name with its instant.
#[must_use]
pub fn failed_label(f: &FailedBind, off: i32) -> String {
    failed_line(f, off)
}

/// Refused binds too close in time to be drawn apart, as one marker: `3 refused binds from
/// 2026-12-08 03:12:04.120 to 03:12:04.480`.
#[must_use]
pub fn failed_stack_label(n: usize, first_ms: u64, last_ms: u64, off: i32) -> String {
    let to = if time::date(first_ms, off) == time::date(last_ms, off) {
        time::clock_ms(last_ms, off)
    } else {
        time::date_time_ms(last_ms, off)
    };
    format!(
        "{} from {} to {to}",
        crate::wording::count(n, "refused bind", "refused binds"),
        time::date_time_ms(first_ms, off)
    )
}

/// A gap's line: `Not recorded from 21:00:00 to 21:10:00: the recorder was not running`.
#[must_use]
pub fn gap_label(from_ms: u64, to_ms: u64, why: GapWhy, off: i32) -> String {
    let why = match why {
        GapWhy::NotRunning => "the recorder was not running",
        GapWhy::Removed => "removed by the database's age or size bound",
    };
    format!(
        "Not recorded from {} to {} ({}): {why}.",
        time::date_time(from_ms, off),
        time::date_time(to_ms, off),
        time::span(to_ms.saturating_sub(from_ms))
    )
}

/// The heading of a timeline: what, from when to when, in which zone.
#[must_use]
pub fn timeline_heading(t: &Timeline) -> String {
    heading(t)
}

fn holder_rows(h: &Holder, out: &mut Vec<(&'static str, String)>) {
    let known = |v: Option<&str>| v.map_or_else(|| "unknown".to_owned(), |v| clean(v).into_owned());
    out.push(("PID", h.pid.to_string()));
    out.push(("Process", known(h.process.as_deref())));
    out.push((
        "User",
        match (&h.user, h.uid) {
            (Some(u), Some(id)) => format!("{} (uid {id})", clean(u)),
            (Some(u), None) => clean(u).into_owned(),
            (None, Some(id)) => format!("uid {id}"),
            (None, None) => "unknown".to_owned(),
        },
    ));
    out.push(("Command line", known(h.cmdline.as_deref())));
    if let Some(m) = &h.managed_by {
        out.push((
            "Managed by",
            clean(m.container.as_deref().unwrap_or(&m.name)).into_owned(),
        ));
    }
}

/// A span's details, label and value: the socket, its times, then each holder.
#[must_use]
pub fn span_details(s: &Span, off: i32) -> Vec<(&'static str, String)> {
    let mut out = vec![
        (
            "Socket",
            format!("{} {} {}", s.protocol, address(s.local, s.v6_only), s.state),
        ),
        (
            "Appeared",
            match s.after_ms {
                Some(a) if a == s.first_ms => format!("at {}", time::date_time_ms(a, off)),
                Some(a) => format!(
                    "between {} and {}",
                    time::date_time_ms(a, off),
                    time::date_time_ms(s.first_ms, off)
                ),
                None => format!(
                    "before {} (already there when the recorder started)",
                    time::date_time_ms(s.first_ms, off)
                ),
            },
        ),
    ];
    let at = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| time::date_time_ms(v, off));
    out.push((
        "Ended",
        match s.end {
            SpanEnd::Closed if s.last_ms.is_some() && s.last_ms == s.gone_ms => {
                format!("closed at {}", at(s.gone_ms))
            }
            SpanEnd::Closed => format!("closed between {} and {}", at(s.last_ms), at(s.gone_ms)),
            SpanEnd::HandedOver => format!(
                "held by other processes (or in another state) from {} on",
                at(s.gone_ms)
            ),
            SpanEnd::RecorderStopped => format!(
                "still held at {} when the recorder stopped; after that, unknown",
                at(s.last_ms)
            ),
            SpanEnd::StillHeld => format!("still held at the last read, {}", at(s.last_ms)),
        },
    ));
    for h in &s.holders {
        holder_rows(h, &mut out);
    }
    out
}

/// A refused bind's details, label and value.
#[must_use]
pub fn failed_details(f: &FailedBind, off: i32) -> Vec<(&'static str, String)> {
    let mut out = vec![("When", time::date_time_ms(f.at_ms, off))];
    holder_rows(&f.who, &mut out);
    out.push((
        "Asked for",
        match (f.protocol, f.local) {
            (Some(p), Some(l)) => format!("{p} {l}"),
            (None, Some(l)) => format!("{l} (protocol not recorded)"),
            _ => "unknown".to_owned(),
        },
    ));
    let os = crate::oserror::OsError::for_os(crate::platform::Os::Linux, f.errno);
    out.push((
        "Error",
        if os.message.is_empty() {
            format!("{} ({})", os.native_name, f.errno)
        } else {
            format!("{} ({}): {}", os.native_name, f.errno, os.message)
        },
    ));
    out.push((
        "Held by then",
        if f.held_by.is_empty() {
            "nobody the recorder had seen".to_owned()
        } else {
            holders(&f.held_by)
        },
    ));
    out
}

/// What `check` adds from the recorder, one line each: "held since 02:13:05 by java (PID 812)",
/// "port 8080 was taken 14 times in the last hour" (a socket begun on it each time: 14 holders
/// one after another are 14 takes, 13 changes of hands), "the last refused bind here at …: …"; the
/// `history` command it ends with reads `db`, the database these came from.
#[must_use]
pub fn recollection_lines(
    r: &Recollection,
    program: &Program,
    db: &std::path::Path,
) -> Vec<String> {
    let off = r.utc_offset_secs;
    let mut out = Vec::new();
    for s in &r.held_now {
        let since = match s.after_ms {
            Some(_) => format!("since {}", time::date_time(s.first_ms, off)),
            None => format!(
                "since before {} (when the recorder started)",
                time::date_time(s.first_ms, off)
            ),
        };
        out.push(format!(
            "Recorded: {} {} held {since} by {}.",
            s.protocol,
            address(s.local, s.v6_only),
            holders(&s.holders)
        ));
    }
    if r.changes_last_hour > 1 {
        out.push(format!(
            "Recorded: port {} was taken {} times in the last hour.",
            r.port, r.changes_last_hour
        ));
    }
    if let Some(f) = &r.last_refused {
        // Up to a day old: the day is said with the time.
        out.push(format!(
            "Recorded: the last refused bind here at {}: {}.",
            time::date_time_ms(f.at_ms, off),
            refusal(f)
        ));
    }
    out.push(format!(
        "(history: {} history {}{})",
        sh_program(program),
        r.port,
        db_arg(db)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Manager;

    #[test]
    fn a_stack_of_refused_binds_says_how_many_and_when() {
        let at = 1_765_163_524_120; // 2025-12-08 03:12:04.120 UTC
        assert_eq!(
            failed_stack_label(3, at, at + 360, 0),
            "3 refused binds from 2025-12-08 03:12:04.120 to 03:12:04.480"
        );
        assert!(
            failed_stack_label(2, at, at + 86_400_000, 0).ends_with("to 2025-12-09 03:12:04.120"),
            "another day is said"
        );
    }

    /// The stop line agrees with its counts (today's trial: "1 reads of the socket table").
    #[test]
    fn the_stop_line_agrees_with_its_counts() {
        let one = super::super::Summary {
            polls: 1,
            appeared: 1,
            failed_binds: 1,
            incomplete: 1,
            lost_events: 1,
            ..Default::default()
        };
        assert_eq!(
            stop_line(&one),
            "Stopped: 1 read of the socket table, 1 socket appeared, 0 went, 0 changed hands, 1 failed bind; 1 read could not see the whole table and was not compared; 1 kernel event did not fit the ring buffer (the table was read again after each loss)."
        );
        let two = super::super::Summary {
            polls: 2,
            appeared: 2,
            failed_binds: 2,
            incomplete: 2,
            ..Default::default()
        };
        assert_eq!(
            stop_line(&two),
            "Stopped: 2 reads of the socket table, 2 sockets appeared, 0 went, 0 changed hands, 2 failed binds; 2 reads could not see the whole table and were not compared."
        );
    }

    /// Today's trial (M7): the window read PORT_INSPECTOR_DB=/tmp/wt/rec.db and printed
    /// "(history: … history 35435)", which a shell without that variable answered "no recorder
    /// database at /var/lib/port-inspector/record.db". The command names the database read.
    #[test]
    fn the_recollection_s_history_command_names_the_database_it_came_from() {
        let r = Recollection {
            port: 35435,
            held_now: Vec::new(),
            changes_last_hour: 2,
            last_refused: None,
            recorder: None,
            utc_offset_secs: 0,
        };
        let last = |db: &str| {
            recollection_lines(&r, &Program::OnPath, std::path::Path::new(db))
                .pop()
                .unwrap_or_default()
        };
        assert_eq!(
            last("/tmp/wt/my rec.db"),
            "(history: port-inspector history 35435 --db '/tmp/wt/my rec.db')"
        );
        assert_eq!(
            last(super::super::store::SYSTEM_DB),
            "(history: port-inspector history 35435)",
            "the system's database is where history looks by default"
        );
    }

    #[test]
    fn a_gap_to_the_window_s_end_is_not_said_to_end() {
        let gap = |from_ms, to_ms| super::super::history::Timeline {
            subject: super::super::history::Subject::Port(8080),
            from_ms: 0,
            to_ms: 600_000,
            entries: vec![Entry::NotRecorded {
                from_ms,
                to_ms,
                why: GapWhy::NotRunning,
            }],
            sessions: Vec::new(),
            latest_session: None,
            removed_before_ms: None,
            utc_offset_secs: 0,
            omitted: None,
        };
        let db = std::path::Path::new("/tmp/r.db");
        let text = timeline_text(&gap(0, 600_000), db, false, &Program::OnPath, false);
        assert!(
            text.contains(
                "the recorder was not running from then to the end of this window (10 min 00 s)"
            ),
            "{text}"
        );
        assert!(!text.contains("until"), "{text}");
        let text = timeline_text(&gap(0, 60_000), db, false, &Program::OnPath, false);
        assert!(
            text.contains("the recorder was not running until 1970-01-01 00:01:00 (1 min 00 s)"),
            "{text}"
        );
    }

    #[test]
    fn a_hostile_name_is_escaped_in_every_line() {
        let h = Holder {
            pid: 7,
            process: Some("\u{1b}[2J\nFAKE".to_owned()),
            user: Some("app".to_owned()),
            uid: Some(1000),
            cmdline: None,
            managed_by: Some(Manager {
                kind: ManagedKind::Systemd,
                name: "x\u{7}.service".to_owned(),
                container: None,
            }),
        };
        let line = holder(&h);
        assert_eq!(
            line, "\\x1b[2J\\nFAKE (PID 7, user app, unit x\\x07.service)",
            "escaped"
        );
        assert!(
            !line.chars().any(char::is_control),
            "no control reaches the line"
        );
    }

    #[test]
    fn the_start_command_is_the_unit_or_the_command_with_its_database() {
        let system = std::path::Path::new(crate::record::store::SYSTEM_DB);
        let installed = Program::OnPath;
        assert_eq!(
            start_command(system, true, &installed, false),
            "sudo systemctl start port-inspector-record",
            "the packaged unit"
        );
        assert_eq!(
            start_command(system, true, &installed, true),
            "systemctl start port-inspector-record",
            "root needs no sudo (a machine may have none)"
        );
        assert_eq!(
            start_command(system, false, &installed, false),
            "sudo port-inspector record",
            "the default database needs no --db"
        );
        assert_eq!(
            start_command(
                std::path::Path::new("/tmp/my dir/r.db"),
                true,
                &installed,
                false
            ),
            "port-inspector record --db '/tmp/my dir/r.db'",
            "another database is named, quoted for the shell, and written by this user"
        );
        // Not installed: the path this program was started by, quoted like the rest.
        let unpacked = Program::At("/tmp/pi 1.0/port-inspector".into());
        assert_eq!(
            start_command(system, false, &unpacked, false),
            "sudo '/tmp/pi 1.0/port-inspector' record",
            "the program as it runs"
        );
        // On the user's PATH but not on sudo's (~/.cargo/bin): the name without sudo, the path
        // with it, and root (no sudo) keeps the name its PATH finds.
        let cargo = Program::OnUserPath("/home/me/.cargo/bin/port-inspector".into());
        assert_eq!(
            start_command(system, false, &cargo, false),
            "sudo /home/me/.cargo/bin/port-inspector record",
            "sudo's secure_path lacks ~/.cargo/bin"
        );
        assert_eq!(
            start_command(system, false, &cargo, true),
            "port-inspector record",
            "root runs it by name"
        );
        assert_eq!(
            start_command(std::path::Path::new("/tmp/r.db"), false, &cargo, false),
            "port-inspector record --db /tmp/r.db",
            "no sudo, the name"
        );
    }

    #[test]
    fn a_hostile_command_line_is_escaped_in_the_details() {
        let who = Holder {
            pid: 7,
            process: Some("x\u{1b}]0;t\u{7}".to_owned()),
            user: None,
            uid: Some(5),
            cmdline: Some("a\nb".to_owned()),
            managed_by: None,
        };
        let f = FailedBind {
            at_ms: 0,
            who,
            protocol: None,
            local: None,
            errno: 98,
            errno_name: history::errno_name(98),
            held_by: Vec::new(),
        };
        for (k, v) in failed_details(&f, 0) {
            assert!(!v.chars().any(char::is_control), "{k}: {v:?}");
        }
    }

    #[test]
    fn the_ipv6_wildcard_says_whether_it_holds_the_ipv4_port_where_known() {
        let any6: std::net::SocketAddr = "[::]:8080".parse().unwrap();
        assert_eq!(address(any6, Some(true)), "[::]:8080 (IPv6 only)");
        assert_eq!(address(any6, Some(false)), "[::]:8080 (dual-stack)");
        assert_eq!(address(any6, None), "[::]:8080", "unknown: silent");
        let one6: std::net::SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(
            address(one6, Some(true)),
            "[::1]:8080",
            "the flag changes nothing there"
        );
        let any4: std::net::SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(address(any4, None), "0.0.0.0:8080");
    }

    #[test]
    fn a_holder_without_a_name_reads_as_its_pid() {
        let h = Holder {
            pid: 9,
            process: None,
            user: None,
            uid: None,
            cmdline: None,
            managed_by: None,
        };
        assert_eq!(holder(&h), "PID 9", "bare PID");
        assert_eq!(history::errno_name(98), "EADDRINUSE", "Linux names");
    }
}
