//! Outside text made safe to show. Process names, command lines, user and host names, rule
//! comments and the user's own arguments are written by someone else; before they reach a
//! terminal, a report or the window, every control character is shown as a visible escape, so an
//! `ESC ] 0 ;` in a process name cannot retitle the terminal, and a newline cannot forge a line of
//! the report. JSON does not use this: serde escapes exactly.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal or document as it is: C0 and C1 controls, DEL, and the
/// bidirectional overrides that make text read differently from what it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character escaped (`\n`, `\t`, `\r`, `\x1b`, `\u{9b}`, `\u{202e}`);
/// borrowed when there was nothing to escape, which is nearly always.
#[must_use]
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) && u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Bytes that may not be UTF-8 (a process name, a command line): invalid sequences become
/// U+FFFD, then controls are escaped as by [`clean`].
#[must_use]
pub fn clean_bytes(b: &[u8]) -> String {
    clean(&String::from_utf8_lossy(b)).into_owned()
}

/// Text for one Markdown table cell or list line: cleaned, then every character Markdown would
/// read as markup escaped with a backslash (list and heading marks only at the start), so a name
/// cannot add a column, a heading, a link or code.
#[must_use]
pub fn md(s: &str) -> String {
    let clean = clean(s);
    let mut out = String::with_capacity(clean.len() + 4);
    for (i, c) in clean.chars().enumerate() {
        // `_` inside words never makes emphasis in CommonMark, and names are full of it.
        let markup = matches!(c, '\\' | '|' | '`' | '*' | '[' | ']' | '<' | '>' | '~')
            || (i == 0 && matches!(c, '#' | '-' | '+' | '!'));
        if markup {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_control_and_keeps_the_rest() {
        assert_eq!(clean("nginx"), "nginx", "plain text untouched");
        assert!(matches!(clean("nginx"), Cow::Borrowed(_)), "no copy");
        assert_eq!(clean("a\u{1b}]0;x\u{7}b"), "a\\x1b]0;x\\x07b", "OSC title");
        assert_eq!(clean("l1\nl2\r\t"), "l1\\nl2\\r\\t", "line breaks");
        assert_eq!(
            clean("\u{0}\u{7f}\u{9b}"),
            "\\x00\\x7f\\u{9b}",
            "NUL, DEL, CSI"
        );
        assert_eq!(clean("a\u{202e}b"), "a\\u{202e}b", "bidi override");
        assert_eq!(clean("naïve ✓ 東京"), "naïve ✓ 東京", "non-ASCII text kept");
        assert_eq!(clean_bytes(b"x\xff\x1b"), "x\u{fffd}\\x1b", "invalid UTF-8");
    }

    #[test]
    fn markdown_cells_cannot_break_out() {
        assert_eq!(md("a|b"), "a\\|b", "no extra column");
        assert_eq!(md("# h"), "\\# h", "no heading");
        assert_eq!(md("`x`"), "\\`x\\`", "no code");
        assert_eq!(md("[l](u)"), "\\[l\\](u)", "no link");
        assert_eq!(md("x\ny"), "x\\\\ny", "no new line");
    }
}
