//! The socket table as documents a support desk attaches to a ticket: CSV for a spreadsheet,
//! JSON (the rows of `list --json`), and one self-contained HTML page. Render layer: takes the
//! typed rows, makes the words; outside text (process names, command lines, users) is escaped
//! for each format, and a CSV cell can never become a spreadsheet formula.

use std::fmt::Write as _;

use crate::owners::Owner;

/// The columns of every export, in TCPView's order.
const HEADERS: [&str; 10] = [
    "Process",
    "PID",
    "Protocol",
    "Local",
    "Remote",
    "State",
    "User",
    "Managed by",
    "Path",
    "Command",
];

/// One row's cells, as shown (control characters escaped).
fn cells(o: &Owner) -> [String; 10] {
    let clean = |s: Option<&str>| crate::text::clean(s.unwrap_or("")).into_owned();
    [
        clean(o.process.as_deref()),
        o.pid.map(|p| p.to_string()).unwrap_or_default(),
        o.protocol.to_string(),
        o.address().to_string(),
        o.remote.map(|r| r.to_string()).unwrap_or_default(),
        o.state.name().to_owned(),
        clean(o.user.as_deref()),
        crate::wording::managed_by(o),
        clean(o.path.as_deref()),
        clean(o.cmdline.as_deref()),
    ]
}

/// A CSV cell: quoted when it must be, and a cell a spreadsheet would read as a formula
/// (`=`, `+`, `-`, `@`, tab, carriage return first) kept as text with a leading apostrophe,
/// as OWASP advises for CSV injection.
#[must_use]
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The rows as CSV, with a header line.
#[must_use]
pub fn csv(rows: &[Owner]) -> String {
    let mut o = HEADERS.join(",");
    o.push('\n');
    for r in rows {
        let line: Vec<String> = cells(r).iter().map(|c| csv_cell(c)).collect();
        o.push_str(&line.join(","));
        o.push('\n');
    }
    o
}

/// The rows as JSON: the documents `list --json` writes (every process sharing a socket in
/// `owners[]`), escaped as every JSON document of the tool is.
pub fn json(rows: &[Owner]) -> serde_json::Result<String> {
    let sharers = crate::owners::sharers(rows);
    let written = crate::owners::Rows::new(rows, &sharers)?;
    let socket_rows = written.socket_rows(rows, &sharers);
    // DEL, C1 controls and bidi overrides `\u`-escaped too: the file is read in terminals.
    crate::text::json(&socket_rows, true)
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` as entities.
fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// One self-contained HTML page (no script, no outside resource): a title saying what and when,
/// and the table.
#[must_use]
pub fn html(rows: &[Owner], title: &str) -> String {
    let mut o = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    let _ = writeln!(o, "<title>{}</title>", html_escape(title));
    o.push_str(
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;font-size:90%}th{background:#eee}td.cmd{font-family:monospace}</style>\n</head>\n<body>\n",
    );
    let _ = writeln!(o, "<h1>{}</h1>", html_escape(title));
    o.push_str("<table>\n<tr>");
    for h in HEADERS {
        let _ = write!(o, "<th>{h}</th>");
    }
    o.push_str("</tr>\n");
    for r in rows {
        o.push_str("<tr>");
        for (i, c) in cells(r).iter().enumerate() {
            let class = if i == HEADERS.len() - 1 {
                " class=\"cmd\""
            } else {
                ""
            };
            let _ = write!(o, "<td{class}>{}</td>", html_escape(c));
        }
        o.push_str("</tr>\n");
    }
    let _ = writeln!(
        o,
        "</table>\n<p>{} sockets.</p>\n</body>\n</html>",
        rows.len()
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_never_formulas_and_quote_what_they_must() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-c"), "'-c");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("nginx"), "nginx");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn json_export_escapes_what_a_terminal_acts_on_and_stays_exact() {
        let mut o = crate::owners::test_owner(
            7,
            "a\u{7f}\u{9b}31m\u{202e}x",
            "127.0.0.1:8080",
            crate::owners::SockState::Listen,
        );
        o.cmdline = Some("run \u{1b}[2J\u{85}".into());
        let text = json(&[o.clone()]).unwrap();
        assert!(
            !text.contains(['\u{7f}', '\u{9b}', '\u{202e}', '\u{85}', '\u{1b}']),
            "{text:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back[0]["owners"][0]["process"],
            &*o.process.unwrap(),
            "exact"
        );
        assert_eq!(
            back[0]["owners"][0]["command"],
            &*o.cmdline.unwrap(),
            "exact"
        );
    }
}
