//! Every sentence about the recorder: its start line, a timeline's lines, and what `check`
//! adds from the recorder. Outside text (process names, command lines, users, units) passes
//! `text::clean` here, the one place these sentences are made, so no terminal or document
//! receives it raw; the JSON keeps the exact values.

use std::fmt::Write as _;

use super::Holder;
use super::capture::ModeReason;
use super::history::{Entry, FailedBind, GapWhy, Recollection, Span, SpanEnd, Subject, Timeline};
use super::store::Mode;
use super::time;
use crate::owners::ManagedKind;
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
    };
    let why = match reason {
        ModeReason::Tracepoints => String::new(),
        ModeReason::NotLinux => " (failed binds are captured on Linux only)".to_owned(),
        ModeReason::NotRoot => {
            " (capturing failed binds needs root: CAP_BPF and CAP_PERFMON)".to_owned()
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
pub fn stop_line(sum: &super::capture::Summary) -> String {
    format!(
        "Stopped: {} reads of the socket table, {} sockets appeared, {} went, {} changed hands, {} failed binds{}.",
        sum.polls,
        sum.appeared,
        sum.went,
        sum.handed_over,
        sum.failed_binds,
        if sum.incomplete > 0 {
            format!(
                "; {} reads could not see the whole table and were not compared",
                sum.incomplete
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
        k.local,
        seen.state,
        holders(&seen.holders)
    )
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

/// The error's name (`EADDRINUSE`) as Linux numbers it.
#[must_use]
pub fn errno_name(errno: i32) -> String {
    crate::oserror::OsError::for_os(crate::platform::Os::Linux, errno).native_name
}

fn heading(t: &Timeline) -> String {
    let what = match t.subject {
        Subject::Port(p) => format!("Port {p}"),
        Subject::Pid(p) => format!("PID {p}"),
        Subject::FailedBinds => "Failed binds".to_owned(),
    };
    format!(
        "{what}, {} to {} ({}):",
        time::date_time(t.from_ms, t.utc_offset_secs),
        time::date_time(t.to_ms, t.utc_offset_secs),
        time::zone(t.utc_offset_secs)
    )
}

fn span_line(s: &Span, off: i32) -> String {
    let start = match s.after_ms {
        Some(a) => format!(
            "{}  {}",
            time::clock(s.first_ms, off),
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
        SpanEnd::Closed => format!(
            "closed between {} and {}",
            s.last_ms
                .map_or_else(|| "?".to_owned(), |l| time::clock_ms(l, off)),
            s.gone_ms
                .map_or_else(|| "?".to_owned(), |g| time::clock_ms(g, off))
        ),
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
    let held_for = match (s.after_ms, s.last_ms, s.end) {
        (Some(_), Some(l), SpanEnd::Closed | SpanEnd::HandedOver) => {
            format!(", held about {}", time::span(l.saturating_sub(s.first_ms)))
        }
        _ => String::new(),
    };
    format!(
        "{start}\n          {} {} {} held by {}\n          {end}{held_for}",
        s.protocol,
        s.local,
        s.state,
        holders(&s.holders)
    )
}

/// `refused bind: nginx (PID 433) on TCP 0.0.0.0:80, EADDRINUSE, while java (PID 812) held it`.
#[must_use]
pub fn failed_line(f: &FailedBind, off: i32) -> String {
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
        "{}  refused bind: {}{on}, {}{held}",
        time::clock_ms(f.at_ms, off),
        holder(&f.who),
        errno_name(f.errno)
    )
}

/// The whole timeline as text: a heading, then one entry per line group, then what the
/// recorder could not see in the window.
#[must_use]
pub fn timeline_text(t: &Timeline) -> String {
    let off = t.utc_offset_secs;
    let mut out = heading(t);
    out.push('\n');
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
                shown += 1;
            }
            Entry::FailedBind(f) => {
                let _ = writeln!(out, "  {}", failed_line(f, off));
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
                let _ = writeln!(
                    out,
                    "  {}  {why} until {} ({})",
                    time::clock(*from_ms, off),
                    time::date_time(*to_ms, off),
                    time::span(to_ms.saturating_sub(*from_ms))
                );
            }
        }
    }
    if shown == 0 {
        let nothing = match t.subject {
            Subject::Port(_) => "  Nothing recorded on this port in this window.",
            Subject::Pid(_) => "  Nothing recorded for this process in this window.",
            Subject::FailedBinds => "  No failed bind recorded in this window.",
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
    out.push_str(&recorder_line(t.latest_session.as_ref(), off));
    out.push('\n');
    out
}

/// The recorder's state: running since when, in which mode; or when it last ran; or how to
/// start it.
#[must_use]
pub fn recorder_line(s: Option<&super::history::Session>, off: i32) -> String {
    match s {
        Some(s) if s.running => format!(
            "The recorder is running ({} mode, since {}).",
            mode_word(s.mode),
            time::date_time(s.started_ms, off)
        ),
        Some(s) => format!(
            "The recorder is not running (last ran until {}{}). Start it with: sudo port-inspector record",
            time::date_time(s.last_ms, off),
            if s.stopped { "" } else { ", then stopped without a word: killed or crashed" }
        ),
        None => "The recorder has never run with this database. Start it with: sudo port-inspector record".to_owned(),
    }
}

fn mode_word(m: Mode) -> &'static str {
    match m {
        Mode::Polling => "polling",
        Mode::Ebpf => "eBPF",
    }
}

/// What `check` adds from the recorder, one line each: "held since 02:13:05 by java (PID 812)",
/// "the port changed hands 14 times in the last hour", "the last refused bind here: …".
#[must_use]
pub fn recollection_lines(r: &Recollection) -> Vec<String> {
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
            s.local,
            holders(&s.holders)
        ));
    }
    if r.changes_last_hour > 1 {
        out.push(format!(
            "Recorded: port {} changed hands {} times in the last hour.",
            r.port, r.changes_last_hour
        ));
    }
    if let Some(f) = &r.last_refused {
        out.push(format!(
            "Recorded: the last refused bind here: {}.",
            failed_line(f, off)
        ));
    }
    out.push(format!("(history: port-inspector history {})", r.port));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Manager;

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
        assert_eq!(errno_name(98), "EADDRINUSE", "Linux names");
    }
}
