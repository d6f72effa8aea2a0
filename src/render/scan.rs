//! The scan table: a row per busy port and per run of free ports, with the holders' details,
//! for the window's table, its CSV and its Markdown (every cell from outside text escaped).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::owners::Owner;
use crate::platform::Os;
use crate::scan::{PortNote, PortStatus, ScanReport, SpecialKind, SpecialRange};
use crate::target::Protocol;

/// A special range's kind in a word: `privileged`, `ephemeral`, `reserved`.
#[must_use]
pub fn special_kind(kind: SpecialKind) -> &'static str {
    match kind {
        SpecialKind::Privileged => "privileged",
        SpecialKind::Ephemeral => "ephemeral",
        SpecialKind::Reserved => "reserved",
    }
}

/// What a special range means on `os`, the OS the scan ran on.
#[must_use]
pub fn special_meaning(kind: SpecialKind, os: Os) -> &'static str {
    match (kind, os) {
        (SpecialKind::Privileged, _) => "needs root or CAP_NET_BIND_SERVICE to bind",
        (SpecialKind::Ephemeral, _) => {
            "handed out to outgoing connections; a server port here may be taken"
        }
        (SpecialKind::Reserved, Os::Windows) => {
            "excluded by Windows: binding gives WSAEACCES 10013"
        }
        (SpecialKind::Reserved, _) => "never handed to outgoing connections",
    }
}

/// A special range of a scan in words: `49152-65535 is ephemeral (handed out to …)`, the same
/// in the CLI's scan and the window's.
#[must_use]
pub fn special_note(s: &SpecialRange, os: Os) -> String {
    format!(
        "{}-{} is {} ({})",
        s.start,
        s.end,
        special_kind(s.kind),
        special_meaning(s.kind, os)
    )
}

/// One line of the scan table: a busy port, or a run of free ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRow {
    /// `8010`, or `8000-8041` for a free range.
    pub ports: String,
    /// First port of the row, for sorting and for opening its check.
    pub first_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Free, in use, refused.
    pub status: PortStatus,
    /// Who holds it.
    pub owner: String,
    /// Error code and OS notes.
    pub note: String,
    /// The address the scan bound (`0.0.0.0`, `127.0.0.1`).
    pub address: String,
    /// The holders' own socket addresses (`127.0.0.1:8080; [::]:8080`), control characters
    /// escaped like every cell below.
    pub holder_address: String,
    /// The holders' socket states (`LISTEN`).
    pub state: String,
    /// The holders' users.
    pub user: String,
    /// The holders' command lines.
    pub command: String,
}

/// The distinct values of one column of `owners`, in their order, joined with `; `.
fn joined(owners: &[Owner], cell: impl Fn(&Owner) -> Option<String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for v in owners.iter().filter_map(cell) {
        if !v.is_empty() && !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join("; ")
}

/// The table rows of a report, sorted by port then protocol.
#[must_use]
pub fn rows(r: &ScanReport) -> Vec<ScanRow> {
    let mut out: Vec<ScanRow> = r
        .free
        .iter()
        .map(|f| ScanRow {
            ports: if f.start == f.end {
                f.start.to_string()
            } else {
                format!("{}-{}", f.start, f.end)
            },
            first_port: f.start,
            protocol: f.protocol,
            status: PortStatus::Free,
            owner: String::new(),
            note: String::new(),
            address: r.request.address.to_string(),
            holder_address: String::new(),
            state: String::new(),
            user: String::new(),
            command: String::new(),
        })
        .collect();
    let clean = |s: Option<&str>| s.map(|s| crate::text::clean(s).into_owned());
    for b in &r.busy {
        let mut note = vec![format!("{} ({})", b.error.wsa_name, b.error.wsa_code)];
        note.extend(b.notes.iter().map(port_note));
        out.push(ScanRow {
            ports: b.port.to_string(),
            first_port: b.port,
            protocol: b.protocol,
            status: b.status,
            owner: crate::wording::holders_in_words(&b.owners),
            note: note.join("; "),
            address: r.request.address.to_string(),
            holder_address: joined(&b.owners, |o| Some(o.address().to_string())),
            state: joined(&b.owners, |o| Some(o.state.name().to_owned())),
            user: joined(&b.owners, |o| clean(o.user.as_deref())),
            command: joined(&b.owners, |o| clean(o.cmdline.as_deref())),
        });
    }
    out.sort_by_key(|r| (r.first_port, r.protocol == Protocol::Udp));
    out
}

/// What a copied scan says of itself, in its first line: the protocols, the range, the address
/// scanned and when (`TCP ports 8000-9000 on 127.0.0.1, scanned at 2026-12-07 15:07:20 UTC`),
/// and the machine when another one scanned (`on 127.0.0.1 of me@box (over ssh)`, escaped here).
#[must_use]
pub fn title(req: &crate::scan::ScanRequest, at_unix_ms: u64, machine: Option<&str>) -> String {
    let protocols = req
        .protocols
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("+");
    let on = machine.map_or_else(String::new, |m| {
        format!(" of {} (over ssh)", crate::text::clean(m))
    });
    format!(
        "{protocols} ports {}-{} on {}{on}, scanned at {} UTC",
        req.start,
        req.end,
        req.address,
        crate::record::time::date_time(at_unix_ms, 0)
    )
}

/// The rows as CSV (RFC 4180 quoting), for spreadsheets: each row with the address scanned and
/// when (`scanned_at`, `2026-12-07 15:07:20 UTC`), so a row pasted elsewhere still says both.
#[must_use]
pub fn to_csv(rows: &[ScanRow], at_unix_ms: u64) -> String {
    // Quoted when it must be, and never a formula (`=`, `+`, `-`, `@` first: OWASP's advice).
    let q = crate::export::csv_cell;
    let at = format!("{} UTC", crate::record::time::date_time(at_unix_ms, 0));
    let mut o = String::from(
        "port,protocol,status,owner,note,address,holder_address,state,user,command,scanned_at\n",
    );
    for r in rows {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{},{},{at}",
            q(&r.ports),
            r.protocol,
            r.status.name(),
            q(&r.owner),
            q(&r.note),
            q(&r.address),
            q(&r.holder_address),
            q(&r.state),
            q(&r.user),
            q(&r.command)
        );
    }
    o
}

/// The rows as a Markdown table, for tickets, under its [`title`]: what was scanned, where, when.
#[must_use]
pub fn to_markdown(rows: &[ScanRow], title: &str) -> String {
    // Outside text (an owner's name) can add no column, link, code or heading.
    let c = crate::text::md;
    let mut o = format!(
        "**{}**\n\n| Port | Protocol | Status | Owner | Note |\n|---|---|---|---|---|\n",
        c(title)
    );
    for r in rows {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            c(&r.ports),
            r.protocol,
            r.status.name(),
            c(&r.owner),
            c(&r.note)
        );
    }
    o
}

/// Why `free` printed fewer ports than asked: it tried every port of the range, and the rest
/// could not be bound (in use, or refused) on each address just now — or the range holds fewer.
#[must_use]
pub fn free_shortfall(
    found: usize,
    asked: usize,
    (start, end): (u16, u16),
    protocol: Protocol,
    addresses: &[std::net::IpAddr],
) -> String {
    use crate::wording::count;
    let size = usize::from(end - start) + 1;
    let on = addresses
        .iter()
        .map(|a| match a {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            std::net::IpAddr::V4(v4) => v4.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" and ");
    let why = if size < asked {
        format!(
            "the range {start}-{end} holds only {}",
            count(size, "port", "ports")
        )
    } else {
        let rest = size - found;
        format!(
            "every port of {start}-{end} was tried, and {} could not be bound for {protocol} on {on} just now (in use, or refused)",
            count(rest, "port", "ports")
        )
    };
    format!(
        "found {} of {asked} asked for: {why}; give a wider --range",
        count(found, "free port", "free ports"),
    )
}

/// A busy port's note in words: `privileged: needs root or CAP_NET_BIND_SERVICE`, `ephemeral:
/// outgoing connections may take it`, why its owners may be incomplete. The same words in the
/// CLI's lines, the CSV and the window's rows. Another version's sentence is shown escaped.
#[must_use]
pub fn port_note(n: &PortNote) -> String {
    match n {
        PortNote::Privileged => "privileged: needs root or CAP_NET_BIND_SERVICE".into(),
        PortNote::Ephemeral => "ephemeral: outgoing connections may take it".into(),
        PortNote::Reserved => "reserved: never handed to outgoing connections".into(),
        PortNote::ExcludedByWindows { start, end } => {
            format!("excluded by Windows ({start}-{end})")
        }
        PortNote::OwnersOutOfDescriptors => crate::wording::lookup_out_of_descriptors(),
        PortNote::TablesUnread { refused } => crate::wording::tables_refused_text(refused),
        PortNote::Said(s) => crate::text::clean(s).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A special range is typed and worded here for the OS the scan ran on: a Windows answer
    /// read on a Linux desk says Windows' meaning of a reserved range. Older answers (a kind
    /// word and a sentence, no OS) still read.
    #[test]
    fn special_ranges_are_typed_and_worded_for_the_scans_os() {
        let facts = crate::facts::Facts {
            os: Os::Windows,
            unprivileged_port_start: None,
            reserved_ranges: vec![crate::facts::PortRange {
                start: 50000,
                end: 50059,
                scope: crate::facts::PortScope::ALL,
            }],
            ..crate::facts::Facts::default()
        };
        let ranges = crate::scan::special_ranges(49000, 60000, &facts);
        assert_eq!(
            ranges,
            vec![SpecialRange {
                kind: SpecialKind::Reserved,
                start: 50000,
                end: 50059
            }]
        );
        assert_eq!(
            special_note(&ranges[0], Os::Windows),
            "50000-50059 is reserved (excluded by Windows: binding gives WSAEACCES 10013)"
        );
        assert_eq!(
            special_note(&ranges[0], Os::Linux),
            "50000-50059 is reserved (never handed to outgoing connections)"
        );
        let json = serde_json::to_value(&ranges[0]).unwrap();
        assert_eq!(json["kind"], "reserved", "the same word as before");
        let old: SpecialRange = serde_json::from_str(
            r#"{"kind":"ephemeral","start":1,"end":2,"meaning":"handed out"}"#,
        )
        .unwrap();
        assert_eq!(old.kind, SpecialKind::Ephemeral);
    }

    /// A port's notes are typed in the JSON and worded here; a sentence an earlier version
    /// wrote (a remote's answer) still reads, and is said escaped.
    #[test]
    fn port_notes_are_typed_and_worded_here() {
        let notes = vec![
            PortNote::Privileged,
            PortNote::ExcludedByWindows {
                start: 50000,
                end: 50059,
            },
        ];
        let json = serde_json::to_string(&notes).unwrap();
        assert_eq!(
            json,
            r#"[{"kind":"privileged"},{"kind":"excluded_by_windows","start":50000,"end":50059}]"#
        );
        assert_eq!(serde_json::from_str::<Vec<PortNote>>(&json).unwrap(), notes);
        assert_eq!(
            notes.iter().map(port_note).collect::<Vec<_>>(),
            [
                "privileged: needs root or CAP_NET_BIND_SERVICE",
                "excluded by Windows (50000-50059)"
            ]
        );
        let earlier: PortNote = serde_json::from_str(r#""ephemeral\u001b[2J""#).unwrap();
        assert_eq!(port_note(&earlier), "ephemeral\\x1b[2J");
    }

    #[test]
    fn csv_quotes_and_markdown_escapes() {
        let rows = vec![ScanRow {
            ports: "80".into(),
            first_port: 80,
            protocol: Protocol::Tcp,
            status: PortStatus::InUse,
            owner: "a, b".into(),
            note: "x|y \"q\"".into(),
            address: "0.0.0.0".into(),
            holder_address: "127.0.0.1:80".into(),
            state: "LISTEN".into(),
            user: "www-data".into(),
            command: "nginx -g daemon off;".into(),
        }];
        assert_eq!(
            to_csv(&rows, 1_796_656_040_000),
            "port,protocol,status,owner,note,address,holder_address,state,user,command,scanned_at\n\
             80,TCP,in use,\"a, b\",\"x|y \"\"q\"\"\",0.0.0.0,127.0.0.1:80,LISTEN,www-data,\
             nginx -g daemon off;,2026-12-07 15:07:20 UTC\n"
        );
        assert!(to_markdown(&rows, "t").contains("x\\|y"), "pipe escaped");
    }

    #[test]
    fn a_copied_scan_says_what_where_and_when() {
        let req = crate::scan::ScanRequest {
            protocols: vec![Protocol::Tcp, Protocol::Udp],
            ..crate::scan::ScanRequest::tcp([127, 0, 0, 1].into(), 8000, 9000)
        };
        assert_eq!(
            title(&req, 1_796_656_040_000, None),
            "TCP+UDP ports 8000-9000 on 127.0.0.1, scanned at 2026-12-07 15:07:20 UTC"
        );
        let there = title(&req, 1_796_656_040_000, Some("me@box\u{1b}[2J"));
        assert_eq!(
            there,
            "TCP+UDP ports 8000-9000 on 127.0.0.1 of me@box\\x1b[2J (over ssh), scanned at 2026-12-07 15:07:20 UTC"
        );
        assert!(
            to_markdown(&[], &there)
                .starts_with("**TCP+UDP ports 8000-9000 on 127.0.0.1 of me@box"),
            "the table's first line says what, where and when"
        );
    }

    #[test]
    fn csv_cells_are_never_formulas_and_markdown_cells_never_links() {
        let row = |owner: &str| ScanRow {
            ports: "80".into(),
            first_port: 80,
            protocol: Protocol::Tcp,
            status: PortStatus::InUse,
            owner: owner.into(),
            note: String::new(),
            address: String::new(),
            holder_address: String::new(),
            state: String::new(),
            user: String::new(),
            command: String::new(),
        };
        for f in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "=HYPERLINK(\"http://e.x\",\"a\")",
        ] {
            let csv = to_csv(&[row(f)], 0);
            let cell = csv.lines().nth(1).unwrap().split(',').nth(3).unwrap();
            assert!(
                cell.starts_with('\'') || cell.starts_with("\"'"),
                "{f} reached the spreadsheet as a formula: {csv}"
            );
        }
        let md = to_markdown(&[row("[a](http://e.x)")], "t");
        assert!(!md.contains("[a](http://e.x)"), "a link: {md}");
        assert!(md.contains("\\[a\\](http://e.x)"), "{md}");
    }
}
