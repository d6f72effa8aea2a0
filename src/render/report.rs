//! Renders a check as plain text (the CLI) or Markdown (tickets, the window's Copy report).
//! Rendering happens here, once; the core values stay free of presentation.

use std::fmt::Write as _;

use crate::check::Check;
use crate::owners::Owner;
use crate::probe::{Outcome, Step, Verdict};
use crate::render::{Lines, Tone};
use crate::text::{clean, md};

/// A step's outcome and time: `✓ 6 µs`, `✗ 4 µs`, or `skipped (Windows only)` for a call that
/// was not made (no ✓: it did not run, and no time).
fn outcome(s: &Step) -> String {
    let time = crate::wording::human_us(s.elapsed_us);
    match s.outcome() {
        Outcome::Ok => format!("✓ {time}"),
        Outcome::Failed => format!("✗ {time}"),
        Outcome::Skipped(why) => format!("skipped ({})", crate::wording::skip_reason(why)),
    }
}

/// A step's Result and Time cells of the Markdown table: `✓` and `6 µs`, or `skipped (Windows
/// only)` and no time for a call that was not made.
fn cells(s: &Step) -> (String, String) {
    let time = crate::wording::human_us(s.elapsed_us);
    match s.outcome() {
        Outcome::Ok => ("✓".into(), time),
        Outcome::Failed => ("✗".into(), time),
        Outcome::Skipped(why) => (
            format!("skipped ({})", crate::wording::skip_reason(why)),
            String::new(),
        ),
    }
}

/// One attempt's steps on one line: `socket ✓ 6 µs, bind ✗ 4 µs, close ✓ 2 µs`.
fn steps_line(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| format!("{} {}", s.step.name(), outcome(s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per owner, for text and the window's copy. Outside text is escaped.
#[must_use]
pub fn owner_line(o: &Owner) -> String {
    let mut s = format!(
        "{:<11} {} {:<22}",
        o.state,
        o.protocol,
        o.address().to_string()
    );
    if let Some(r) = &o.remote {
        let _ = write!(s, " ↔ {r}");
    }
    let _ = write!(s, "  {}", crate::wording::who_sharing(o));
    if let Some(u) = &o.user {
        let _ = write!(s, "  user {}", clean(u));
    }
    if let Some(c) = o.cmdline.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(s, "  [{}]", shorten(&clean(c), 80));
    }
    s
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// When the check was answered, `2026-12-07 15:07:20 UTC`, by the clock of the machine that ran
/// it; `None` for an answer from a version that did not say.
#[must_use]
pub fn checked_at(c: &Check) -> Option<String> {
    c.checked_at_unix_ms
        .map(|ms| format!("{} UTC", crate::record::time::date_time(ms, 0)))
}

/// The verdict line a person reads first.
#[must_use]
pub fn headline(c: &Check) -> String {
    crate::wording::headline(&c.report, c.explanation.as_ref())
}

/// The options line: `TCP 127.0.0.1:8080 (IPv4), SO_REUSEADDR`.
fn target_line(c: &Check) -> String {
    let t = &c.report.target;
    // The family says something only where the address does not: a name, or every interface.
    // An address written out is of one family (`127.0.0.1` is not "IPv4 or IPv6").
    let literal = t.host.ip().is_some();
    let mut s = if literal {
        format!("{} {}", t.protocol, clean(&t.display_addr()))
    } else {
        format!("{} {} ({})", t.protocol, clean(&t.display_addr()), t.family)
    };
    if t.options.reuse_address {
        s.push_str(", SO_REUSEADDR");
    }
    if t.options.reuse_port {
        s.push_str(", SO_REUSEPORT");
    }
    match t.options.v6_only {
        Some(true) => s.push_str(", IPV6_V6ONLY=1"),
        Some(false) => s.push_str(", IPV6_V6ONLY=0"),
        None => {}
    }
    s
}

/// The CLI's readable trace and verdict: the steps, the answer, who is in the way, what was
/// proven and what to do. General causes appear only when nothing was proven.
#[must_use]
pub fn text(c: &Check) -> String {
    text_lines(c).text()
}

/// [`text`] line by line with each line's tone: the verdict good or bad, an attempt with a failed
/// step bad (the CLI colours them on a terminal).
#[must_use]
pub fn text_lines(c: &Check) -> Lines {
    let r = &c.report;
    let mut o = Lines::default();
    o.plain(&format!("Checking {}\n", target_line(c)));
    o.plain(&format!(
        "resolve {}  {}",
        outcome(&r.resolve),
        clean(&r.resolve.detail)
    ));
    for (i, a) in r.attempts.iter().enumerate() {
        if a.steps.len() <= 1 {
            continue;
        }
        let failed = a.steps.iter().any(|s| !s.ok);
        o.toned(
            if failed { Tone::Bad } else { Tone::Plain },
            &format!(
                "attempt {} {}: {}",
                i + 1,
                a.address_or_target(&r.target),
                steps_line(&a.steps[1..])
            ),
        );
    }
    if let Some(slow) = crate::wording::slow_lookup(r) {
        o.plain(&slow);
    }
    o.plain("");
    o.toned(
        match r.verdict {
            Verdict::Bindable => Tone::Good,
            Verdict::NotBindable => Tone::Bad,
            Verdict::Unknown => Tone::Plain,
        },
        &headline(c),
    );
    if let Some(e) = &r.error {
        o.plain(&format!("  {}", clean(&e.to_string())));
    }
    let lines = crate::render::owner_lines(&c.owners);
    if !lines.is_empty() {
        o.plain(&format!("\nWho uses port {}:", r.target.port));
        for l in lines {
            o.plain(&format!("  {l}"));
        }
    }
    // The recorder's lines are made (and outside text escaped) in `record::words`.
    if let Some(rec) = &c.recorded {
        o.plain("\nFrom the flight recorder:");
        for l in &rec.lines {
            o.plain(&format!("  {l}"));
        }
    }
    if let Some(d) = &c.explanation {
        if d.findings.is_empty() {
            o.plain(&format!("  {}", d.summary));
        } else {
            o.plain("\nFound on this machine:");
            for f in &d.findings {
                o.plain(&format!("  • {}", f.text));
            }
        }
        if !d.causes.is_empty() {
            o.plain(&format!(
                "\nNothing was proven here; general causes of {} on this OS:",
                d.wsa_name
            ));
            for x in &d.causes {
                o.plain(&format!("  • {x}"));
            }
        }
        if !d.fixes.is_empty() {
            o.plain("\nWhat to do:");
            for x in &d.fixes {
                o.plain(&format!("  • {}", x.text));
            }
        }
    }
    for w in &c.notes {
        o.plain(&format!("\nNote: {}", w.text));
    }
    if let Some(ns) = &c.facts.netns {
        o.plain(&format!(
            "\nChecked in network namespace {}; sockets in other namespaces (containers) are not visible from here.",
            clean(ns)
        ));
    }
    o
}

/// A Markdown document for a ticket: target, steps table, verdict, error, findings and fixes,
/// owners, facts. Every cell built from outside text is escaped (`text::md`).
#[must_use]
// c/r/t/o/d: check, report, target, out, diagnosis; and one document read top to bottom (split
// into parts, the order of its sections would be harder to follow than its length).
#[allow(clippy::many_single_char_names, clippy::too_many_lines)]
pub fn markdown(c: &Check) -> String {
    let r = &c.report;
    let t = &r.target;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Port Inspector report: {} {}\n",
        t.protocol,
        md(&t.display_addr())
    );
    let _ = writeln!(o, "**{}**\n", md(&headline(c)));
    let _ = writeln!(o, "| | |\n|---|---|");
    if let Some(m) = &c.machine {
        let _ = writeln!(o, "| Machine | {} (over ssh) |", md(m));
    }
    let _ = writeln!(o, "| Target | {} |", md(&target_line(c)));
    if let Some(at) = checked_at(c) {
        let _ = writeln!(o, "| Checked at | {at} |");
    }
    // A UDP socket never listens: its row says so instead of a listen and backlog it never had.
    let listen = match (t.protocol, t.options.listen) {
        (crate::target::Protocol::Udp, _) => "no listen (UDP)".to_owned(),
        (_, true) => format!("listen=true (backlog {})", t.options.backlog),
        (_, false) => "listen=false".to_owned(),
    };
    // Asked for, and set or skipped (Windows' own option, skipped elsewhere: the Steps table says
    // so too; the row must not read as if it was set).
    let skipped = r
        .attempts
        .iter()
        .flat_map(|a| &a.steps)
        .find_map(|s| s.skipped);
    let exclusive = match (t.options.exclusive_address_use, skipped) {
        (false, _) => String::new(),
        (true, None) => ", SO_EXCLUSIVEADDRUSE=1".to_owned(),
        (true, Some(why)) => format!(
            ", SO_EXCLUSIVEADDRUSE=1 (skipped: {})",
            crate::wording::skip_reason(why)
        ),
    };
    let _ = writeln!(
        o,
        "| Options | SO_REUSEADDR={}, SO_REUSEPORT={}, IPV6_V6ONLY={}{exclusive}, {listen} |",
        u8::from(t.options.reuse_address),
        u8::from(t.options.reuse_port),
        t.options
            .v6_only
            .map_or("default".into(), |v| u8::from(v).to_string()),
    );
    let verdict = match r.verdict {
        Verdict::Bindable => "bindable",
        Verdict::NotBindable => "not bindable",
        Verdict::Unknown => "unknown",
    };
    let _ = writeln!(o, "| Verdict | {verdict} |");
    if let Some(e) = &r.error {
        let _ = writeln!(
            o,
            "| Error | {} ({}) / {} ({}): {} |",
            e.wsa_name,
            e.wsa_code,
            e.native_name,
            e.native_code,
            md(&e.message)
        );
    }
    let _ = writeln!(o, "| OS | {} |", md(&c.facts.os_version));
    let _ = writeln!(o, "| Host | {} |", md(&c.facts.hostname));
    let _ = writeln!(o, "| Checked by | {} |\n", md(&c.tool.line()));
    let _ = writeln!(
        o,
        "## Steps\n\n| Address | Step | Result | Time | Detail |\n|---|---|---|---:|---|"
    );
    let (result, time) = cells(&r.resolve);
    let _ = writeln!(
        o,
        "| | {} | {result} | {time} | {} |",
        r.resolve.step.name(),
        md(&r.resolve.detail)
    );
    for a in &r.attempts {
        for s in a.steps.iter().skip(1) {
            let detail = match &s.error {
                Some(e) => format!("{} — {}", s.detail, e),
                None => s.detail.clone(),
            };
            let (result, time) = cells(s);
            let _ = writeln!(
                o,
                "| {} | {} | {result} | {time} | {} |",
                md(&a.address_or_target(&r.target)),
                s.step.name(),
                md(&detail)
            );
        }
    }
    if let Some(slow) = crate::wording::slow_lookup(r) {
        let _ = writeln!(o, "\n{slow}");
    }
    if let Some(d) = &c.explanation {
        let _ = writeln!(o, "\n## {} ({})\n", d.wsa_name, d.wsa_code);
        if d.findings.is_empty() {
            let _ = writeln!(o, "{}\n", md(&d.summary));
        } else {
            let _ = writeln!(o, "### Found on this machine\n");
            for x in &d.findings {
                let _ = writeln!(o, "- {}", md(&x.text));
            }
        }
        if !d.causes.is_empty() {
            let _ = writeln!(
                o,
                "\n### Nothing was proven here; general causes on this OS\n"
            );
            for x in &d.causes {
                let _ = writeln!(o, "- {}", md(x));
            }
        }
        if !d.fixes.is_empty() {
            let _ = writeln!(o, "\n### What to do\n");
            for x in &d.fixes {
                let _ = writeln!(o, "- {}", md_fix(x));
            }
        }
    }
    if !c.owners.is_empty() {
        owners_table(&mut o, c);
    }
    if let Some(rec) = &c.recorded {
        let _ = writeln!(o, "\n## From the flight recorder\n");
        for l in &rec.lines {
            let _ = writeln!(o, "- {}", md(l));
        }
    }
    for w in &c.notes {
        let _ = writeln!(o, "\n> **Note:** {}", md(&w.text));
    }
    let _ = writeln!(
        o,
        "\n## Machine facts\n\n| Fact | Value | Meaning |\n|---|---|---|"
    );
    for f in super::facts::table(&c.facts) {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            md(&f.name),
            md(&f.value),
            md(&f.meaning)
        );
    }
    o
}

/// A fix in Markdown: its words escaped, its commands as code spans, copied exactly as they run.
fn md_fix(x: &crate::wording::WordedFix) -> String {
    if x.pieces.is_empty() {
        return md(&x.text);
    }
    x.pieces
        .iter()
        .map(|p| match p {
            crate::wording::Piece::Words(w) => md(w),
            crate::wording::Piece::Command(c) => crate::text::md_code(c),
        })
        .collect()
}

/// The owners as a Markdown table: listening, bound and UDP sockets one per row, connections
/// summarised.
fn owners_table(o: &mut String, c: &Check) {
    let _ = writeln!(
        o,
        "\n## Who uses port {}\n\n| PIDs | Process | User | Protocol | Local | Remote | State |\n|---:|---|---|---|---|---|---|",
        c.report.target.port
    );
    for w in c.owners.iter().filter(|w| !w.state.is_connection()) {
        let pids = if w.pids.is_empty() {
            w.pid.map_or("—".into(), |p| p.to_string())
        } else {
            w.pids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            pids,
            md(&w
                .process
                .as_deref()
                .map_or_else(|| crate::wording::who(w), str::to_owned)),
            md(w.user.as_deref().unwrap_or_default()),
            w.protocol,
            md(&w.address().to_string()),
            w.remote.map(|r| r.to_string()).unwrap_or_default(),
            w.state
        );
    }
    for l in crate::render::connection_lines(&c.owners) {
        let _ = writeln!(o, "\n{}", md(&l));
    }
}

/// The plain-text report: the CLI trace plus the machine facts, for `report --format text`.
#[must_use]
pub fn text_full(c: &Check) -> String {
    let mut o = text(c);
    let _ = writeln!(
        o,
        "\nMachine facts ({}, host {}):",
        clean(&c.facts.os_version),
        clean(&c.facts.hostname)
    );
    for f in super::facts::table(&c.facts) {
        let _ = writeln!(
            o,
            "  {:<38} {:<16} {}",
            clean(&f.name),
            clean(&f.value),
            clean(&f.meaning)
        );
    }
    o.push('\n');
    if let Some(at) = checked_at(c) {
        let _ = writeln!(o, "Checked at {at}");
    }
    let _ = writeln!(o, "Checked by {}", clean(&c.tool.line()));
    o
}
