//! Renders a check as plain text (the CLI) or Markdown (tickets, the window's Copy report).
//! Rendering happens here, once; the core values stay free of presentation.

use std::fmt::Write as _;

use crate::check::Check;
use crate::owners::Owner;
use crate::probe::{Step, Verdict};

fn mark(ok: bool) -> &'static str {
    if ok { "✓" } else { "✗" }
}

fn step_line(s: &Step) -> String {
    let mut line = format!(
        "{:<12} {} {:>8} µs  {}",
        s.step.name(),
        mark(s.ok),
        s.elapsed_us,
        s.detail
    );
    if let Some(e) = &s.error {
        let _ = write!(line, "  → {}", e.headline());
    }
    line
}

/// One line per owner, for text and the window's copy.
#[must_use]
pub fn owner_line(o: &Owner) -> String {
    let mut s = format!("{:<11} {} {:<22}", o.state, o.protocol, o.local);
    if let Some(r) = &o.remote {
        let _ = write!(s, " ↔ {r}");
    }
    let _ = write!(s, "  {}", o.who());
    if let Some(u) = &o.user {
        let _ = write!(s, "  user {u}");
    }
    if let Some(c) = o.cmdline.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(
            s,
            "  [{}]",
            shorten(&c.replace(['\n', '\r', '\t'], " "), 80)
        );
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

/// The verdict line a person reads first.
#[must_use]
pub fn headline(c: &Check) -> String {
    let r = &c.report;
    match r.verdict {
        Verdict::Bindable => {
            let bound = r.bound_addresses();
            format!(
                "BINDABLE: {} {} (bound {})",
                r.target.protocol,
                r.target.display_addr(),
                bound.join(", ")
            )
        }
        Verdict::NotBindable => format!(
            "NOT BINDABLE: {}",
            c.explanation
                .as_ref()
                .map_or_else(|| r.target.display_addr(), |d| d.title.clone())
        ),
    }
}

/// The CLI's readable trace and verdict.
#[must_use]
pub fn text(c: &Check) -> String {
    let r = &c.report;
    let t = &r.target;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Checking {} {} ({}){}{}",
        t.protocol,
        t.display_addr(),
        t.family,
        if t.options.reuse_address {
            ", SO_REUSEADDR"
        } else {
            ""
        },
        match t.options.v6_only {
            Some(true) => ", IPV6_V6ONLY=1",
            Some(false) => ", IPV6_V6ONLY=0",
            None => "",
        }
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", step_line(&r.resolve));
    for (i, a) in r.attempts.iter().enumerate() {
        if a.steps.len() <= 1 {
            continue;
        }
        let _ = writeln!(o, "attempt {}: {}", i + 1, a.address);
        for s in a.steps.iter().skip(1) {
            let _ = writeln!(o, "  {}", step_line(s));
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", headline(c));
    if let Some(e) = &r.error {
        let _ = writeln!(o, "  {}", e.headline());
    }
    if let Some(d) = &c.explanation {
        let _ = writeln!(o, "  {}", d.summary);
    }
    if !c.owners.is_empty() {
        let _ = writeln!(o, "\nWho uses port {}:", t.port);
        for ow in &c.owners {
            let _ = writeln!(o, "  {}", owner_line(ow));
        }
    }
    if let Some(d) = &c.explanation {
        if !d.checked.is_empty() {
            let _ = writeln!(o, "\nChecked on this machine:");
            for x in &d.checked {
                let _ = writeln!(o, "  • {}", x.trim_start_matches("Checked: "));
            }
        }
        let others: Vec<&String> = d.causes.iter().filter(|x| !d.checked.contains(x)).collect();
        if !others.is_empty() {
            let _ = writeln!(o, "\nOther possible causes:");
            for x in others {
                let _ = writeln!(o, "  • {x}");
            }
        }
        let _ = writeln!(o, "\nWhat to do:");
        for x in &d.fixes {
            let _ = writeln!(o, "  • {x}");
        }
    }
    for w in &c.warnings {
        let _ = writeln!(o, "\nNote: {w}");
    }
    if let Some(ns) = &c.facts.netns {
        let _ = writeln!(
            o,
            "\nChecked in network namespace {ns}; sockets in other namespaces (containers) are not visible from here."
        );
    }
    o
}

/// A Markdown document for a ticket: target, steps table, verdict, error, explanation, owners, facts.
#[must_use]
#[allow(clippy::many_single_char_names)] // c/r/t/o/w: check, report, target, out, owner
pub fn markdown(c: &Check) -> String {
    let r = &c.report;
    let t = &r.target;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Port Inspector report: {} {}\n",
        t.protocol,
        t.display_addr()
    );
    let _ = writeln!(o, "**{}**\n", headline(c));
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(
        o,
        "| Target | {} {} ({}) |",
        t.protocol,
        t.display_addr(),
        t.family
    );
    let _ = writeln!(
        o,
        "| Options | SO_REUSEADDR={}, IPV6_V6ONLY={}, listen={} (backlog {}) |",
        u8::from(t.options.reuse_address),
        t.options
            .v6_only
            .map_or("default".into(), |v| u8::from(v).to_string()),
        t.options.listen,
        t.options.backlog
    );
    let _ = writeln!(
        o,
        "| Verdict | {} |",
        if c.bindable() {
            "bindable"
        } else {
            "not bindable"
        }
    );
    if let Some(e) = &r.error {
        let _ = writeln!(
            o,
            "| Error | {} ({}) / {} ({}): {} |",
            e.wsa_name, e.wsa_code, e.native_name, e.native_code, e.message
        );
    }
    let _ = writeln!(o, "| OS | {} |", c.facts.os_version);
    let _ = writeln!(o, "| Host | {} |\n", c.facts.hostname);
    let _ = writeln!(
        o,
        "## Steps\n\n| Address | Step | Result | Time (µs) | Detail |\n|---|---|---|---:|---|"
    );
    let _ = writeln!(
        o,
        "| | {} | {} | {} | {} |",
        r.resolve.step.name(),
        mark(r.resolve.ok),
        r.resolve.elapsed_us,
        md_cell(&r.resolve.detail)
    );
    for a in &r.attempts {
        for s in a.steps.iter().skip(1) {
            let detail = match &s.error {
                Some(e) => format!("{} — {}", s.detail, e.headline()),
                None => s.detail.clone(),
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                a.address,
                s.step.name(),
                mark(s.ok),
                s.elapsed_us,
                md_cell(&detail)
            );
        }
    }
    if let Some(d) = &c.explanation {
        let _ = writeln!(
            o,
            "\n## Explanation: {} ({})\n\n{}\n",
            d.wsa_name, d.wsa_code, d.summary
        );
        let _ = writeln!(o, "### Causes (checked on this machine first)\n");
        for x in &d.causes {
            let _ = writeln!(o, "- {x}");
        }
        let _ = writeln!(o, "\n### What to do\n");
        for x in &d.fixes {
            let _ = writeln!(o, "- {x}");
        }
    }
    if !c.owners.is_empty() {
        let _ = writeln!(
            o,
            "\n## Who uses port {}\n\n| PID | Process | User | Protocol | Local | Remote | State |\n|---:|---|---|---|---|---|---|",
            t.port
        );
        for w in &c.owners {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                w.pid.map_or("—".into(), |p| p.to_string()),
                md_cell(
                    &w.process
                        .clone()
                        .or_else(|| w.note.clone())
                        .unwrap_or_default()
                ),
                w.user.clone().unwrap_or_default(),
                w.protocol,
                w.local,
                w.remote.clone().unwrap_or_default(),
                w.state
            );
        }
    }
    for w in &c.warnings {
        let _ = writeln!(o, "\n> **Note:** {w}");
    }
    let _ = writeln!(
        o,
        "\n## Machine facts\n\n| Fact | Value | Meaning |\n|---|---|---|"
    );
    for f in &c.facts.table {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            f.name,
            md_cell(&f.value),
            md_cell(&f.meaning)
        );
    }
    o
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The plain-text report: the CLI trace plus the machine facts, for `report --format text`.
#[must_use]
pub fn text_full(c: &Check) -> String {
    let mut o = text(c);
    let _ = writeln!(
        o,
        "\nMachine facts ({}, host {}):",
        c.facts.os_version, c.facts.hostname
    );
    for f in &c.facts.table {
        let _ = writeln!(o, "  {:<38} {:<16} {}", f.name, f.value, f.meaning);
    }
    o
}

/// Writes `bytes` to a new file at `path`: never through a symbolic link, never over an existing
/// file unless `replace` is set. A new file is created with O_CREAT|O_EXCL (which refuses a link
/// or file already there); a replacement is written to a temporary file in the same folder and
/// renamed over the old name, which replaces a link itself rather than the file it points to.
pub fn write_new(path: &std::path::Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    if !replace {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    std::io::Error::new(e.kind(), "it already exists (give --force to replace it)")
                } else {
                    e
                }
            })?;
        return f.write_all(bytes).and_then(|()| f.sync_all());
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    for n in 0..100u32 {
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = f
            .write_all(bytes)
            .and_then(|()| f.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        return written;
    }
    Err(std::io::Error::other("no temporary file name was free"))
}
