//! Outside text made safe to show. Process names, command lines, user and host names, rule
//! comments and the user's own arguments are written by someone else; before they reach a
//! terminal, a report or the window, every control character is shown as a visible escape, so an
//! `ESC ] 0 ;` in a process name cannot retitle the terminal, and a newline cannot forge a line of
//! the report. JSON does not use [`clean`]: it stays exact, and [`json`] writes it with DEL, C1
//! controls and bidi overrides `\u`-escaped as well as the C0 controls serde escapes, so a
//! document printed to a terminal cannot drive it either and still parses back to the same text.

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

/// `s` as a Markdown code span: shown and copied exactly as it is (nothing inside is escaped:
/// a backslash there is a backslash), fenced by more backticks than it holds in a row and
/// cleaned of control characters like every outside text.
#[must_use]
pub fn md_code(s: &str) -> String {
    let clean = clean(s).replace('\n', " ");
    let longest = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A span that starts or ends with a backtick (or a space) needs a space inside the fence.
    let pad = if clean.starts_with(['`', ' ']) || clean.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

/// A serde_json formatter (`F`: compact or pretty) that also writes DEL, C1 controls and the
/// bidi overrides as `\u` escapes with four hex digits: serde_json escapes only C0 controls, and
/// a terminal acts on the rest. The document means exactly what it did.
struct Escaping<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Writes `v` as JSON (indented when `pretty`) with every character a terminal would act on
/// escaped ([`Escaping`]): what the command line prints and saves.
pub fn json_to_writer<W: std::io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    v: &T,
    pretty: bool,
) -> serde_json::Result<()> {
    if pretty {
        let f = Escaping(serde_json::ser::PrettyFormatter::new());
        v.serialize(&mut serde_json::Serializer::with_formatter(w, f))
    } else {
        let f = Escaping(serde_json::ser::CompactFormatter);
        v.serialize(&mut serde_json::Serializer::with_formatter(w, f))
    }
}

/// [`json_to_writer`] into a string.
pub fn json<T: serde::Serialize + ?Sized>(v: &T, pretty: bool) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    json_to_writer(&mut out, v, pretty)?;
    // Only UTF-8 was written: serde_json writes strings as they are, and escapes as ASCII.
    String::from_utf8(out).map_err(serde::ser::Error::custom)
}

/// `word` as one word for a POSIX shell (the remote's, or a command printed to be run): as it
/// is when it has only characters no shell reads specially (so a plain path also works under
/// Windows' cmd), else single-quoted.
#[must_use]
pub fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.' | '/' | ':' | '=' | '@' | '%' | '+' | ',' | '-')
        })
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_word("8080"), "8080", "plain");
        assert_eq!(shell_word("[::1]:80"), "'[::1]:80'", "glob chars quoted");
        assert_eq!(shell_word("a b"), "'a b'", "space");
        assert_eq!(shell_word("it's"), "'it'\\''s'", "quote");
        assert_eq!(shell_word("$(id)"), "'$(id)'", "substitution");
        assert_eq!(shell_word(""), "''", "empty");
    }

    #[test]
    fn a_code_span_keeps_its_text_and_outfences_its_backticks() {
        assert_eq!(md_code("check '[::1]:80' *"), "`check '[::1]:80' *`");
        assert_eq!(md_code("echo `id`"), "`` echo `id` ``");
        assert_eq!(md_code("a``b"), "```a``b```");
        assert_eq!(
            md_code("x\u{1b}[2Jy"),
            "`x\\x1b[2Jy`",
            "cleaned like all outside text"
        );
    }

    use super::*;

    #[test]
    fn json_escapes_what_a_terminal_acts_on_and_reads_back_the_same() {
        let raw = "a\u{1b}[2J\u{7}\u{7f}\u{9b}31m\u{202e}txt.exe\u{2066} ok ✓ 東京 \"q\" \\";
        for pretty in [false, true] {
            let text = json(&serde_json::json!({ "name": raw }), pretty).unwrap();
            assert!(
                text.chars().all(|c| !is_unsafe(c) || c == '\n' || c == ' '),
                "nothing raw: {text:?}"
            );
            assert!(
                text.contains("\\u007f") && text.contains("\\u009b"),
                "{text}"
            );
            assert!(
                text.contains("\\u202e") && text.contains("ok ✓ 東京"),
                "{text}"
            );
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back["name"], raw, "the document is exact");
        }
    }

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
