//! Everything the CLI writes. A closed stdout (`| head`) ends output quietly, not with a panic.
#![expect(
    clippy::print_stderr,
    reason = "the CLI's one place that writes to the terminal"
)]

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::Duration;

use serde::Serialize;

use crate::catalog::{self, CatalogEntry};
use crate::owners::Owners;
use crate::render::{Lines, Tone};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether `--quiet` was given: nothing goes to standard output, the exit code is the answer.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}
static COLOR: AtomicBool = AtomicBool::new(false);

/// Sets `--quiet` and decides colour: only on a terminal, never with `--no-color` or `NO_COLOR`.
pub fn configure(quiet: bool, no_color: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    COLOR.store(
        !no_color && !no_color_env && std::io::stdout().is_terminal(),
        Ordering::Relaxed,
    );
}

/// The lines with their tones coloured when colour is on (the tone was set where each line was
/// made; no line is coloured for the words it holds).
fn paint(lines: &Lines) -> String {
    if !COLOR.load(Ordering::Relaxed) {
        return lines.text();
    }
    lines.0.iter().fold(String::new(), |mut o, l| {
        match l.tone {
            Tone::Good => {
                let _ = writeln!(o, "\x1b[1;32m{}\x1b[0m", l.text);
            }
            Tone::Bad => {
                let _ = writeln!(o, "\x1b[1;31m{}\x1b[0m", l.text);
            }
            Tone::Plain => {
                o.push_str(&l.text);
                o.push('\n');
            }
        }
        o
    })
}

/// The first failure to write standard output, other than a closed pipe.
static WRITE_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Writes text to stdout (nothing with `--quiet`). A broken pipe (`| head`) is not an error and
/// stops nothing; any other failure (a full disk) is kept for [`write_error`].
pub fn text(s: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        write_stdout(s.as_bytes());
    }
}

/// Writes toned lines to stdout, coloured on a terminal (nothing with `--quiet`).
pub fn lines(l: &Lines) {
    if !QUIET.load(Ordering::Relaxed) {
        write_stdout(paint(l).as_bytes());
    }
}

/// Writes a document (JSON, NDJSON) to stdout as it is: never coloured, since escape codes
/// inside it would make it another document (nothing with `--quiet`).
pub fn data(s: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        write_stdout(s.as_bytes());
    }
}

/// Says something about the answer on standard error (what could not be read), so standard
/// output stays the answer itself (a table, a JSON document).
pub fn warn(s: &str) {
    let mut err = std::io::stderr().lock();
    keep_write_error(writeln!(err, "port-inspector: note: {s}").and_then(|()| err.flush()));
}

/// Writes a document to standard error as it is (`-o /dev/stderr`): never coloured.
pub fn document_to_stderr(s: &str) {
    let mut err = std::io::stderr().lock();
    keep_write_error(err.write_all(s.as_bytes()).and_then(|()| err.flush()));
}

fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let result = out.write_all(bytes).and_then(|()| out.flush());
    keep_write_error(result);
}

/// Keeps the first failure to write standard output, except a broken pipe.
fn keep_write_error(result: std::io::Result<()>) {
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        let mut slot = WRITE_ERROR
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert_with(|| e.to_string());
    }
}

/// Asks a yes/no question on the terminal; only `y` or `yes` is yes.
pub fn confirm(question: &str) -> bool {
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok()
        && matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Why standard output could not be written, if it could not.
#[must_use]
pub fn write_error() -> Option<String> {
    WRITE_ERROR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Writes one JSON object per line, each with a `type` field naming what it is.
pub fn ndjson<'a, T: Serialize + 'a>(items: impl Iterator<Item = &'a T>, kind: &str) {
    let mut o = String::new();
    for item in items {
        let mut v = serde_json::to_value(item).unwrap_or(serde_json::Value::Null);
        if let Some(map) = v.as_object_mut() {
            map.insert("type".into(), kind.into());
        }
        o.push_str(&crate::text::json(&v, false).unwrap_or_default());
        o.push('\n');
    }
    data(&o);
}

/// Writes a JSON array of the rows of `items` on one line (`row` writes the row of one item),
/// the rows made and serialized on every core (the whole socket table is 10,000 rows and
/// megabytes: one thread spends as long on it as the table's whole /proc walk takes on two).
pub fn json_rows<T: Sync>(
    items: &[T],
    row: impl Fn(&T, &mut Vec<u8>) -> serde_json::Result<()> + Sync,
) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let parts = crate::par::in_batches(items, items.len().div_ceil(crate::par::cores()), |part| {
        let mut buf = Vec::with_capacity(part.len() * 512);
        for (i, item) in part.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            row(item, &mut buf).map_err(std::io::Error::from)?;
        }
        Ok::<_, std::io::Error>(buf)
    });
    let mut out = unbuffered_stdout();
    let write = || -> std::io::Result<()> {
        out.write_all(b"[")?;
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            // A part that panicked: an error, never a table silently missing rows.
            let part = part.ok_or_else(|| std::io::Error::other("serializing the table failed"))?;
            out.write_all(&part?)?;
        }
        out.write_all(b"]\n")?;
        out.flush()
    };
    keep_write_error(write());
}

/// Standard output for a few large blocks. On Unix its own descriptor, written directly: the
/// line buffer of `stdout()` searches each block for a newline (megabytes of JSON without one:
/// about a millisecond per table) only to pass it on whole. Elsewhere (a Windows console wants
/// its text converted) `stdout()` itself.
fn unbuffered_stdout() -> Box<dyn Write> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        let mut stdout = std::io::stdout().lock();
        // What was written before through the buffer goes first.
        if stdout.flush().is_ok()
            && let Ok(fd) = stdout.as_fd().try_clone_to_owned()
        {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(std::io::stdout().lock())
}

/// Writes one JSON document and a newline, straight to standard output's descriptor in 64 KiB
/// blocks: never coloured (colour is for the text views; a command line holding `IN USE` must
/// not get escape codes inside a JSON string), never copied whole first (a scan of a crowded
/// range is 12 MB).
pub fn json<T: Serialize + ?Sized>(v: &T) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 16, unbuffered_stdout());
    let result = crate::text::json_to_writer(&mut out, v, true)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    keep_write_error(result);
}

/// The one-line message for an error; control characters (from the user's own arguments or a
/// system message) are shown escaped, so the message cannot drive the terminal.
pub fn error_line(msg: &str) {
    eprintln!("port-inspector: error: {}", crate::text::clean(msg));
}

/// What a code means on each OS: `98 is EADDRINUSE on Linux → WSAEADDRINUSE (10048)`; the same
/// name on several OSes is one meaning.
#[must_use]
pub fn meanings_text(code: &str, meanings: &[catalog::Meaning]) -> String {
    let os_name = |os: crate::platform::Os| match os {
        crate::platform::Os::Linux => "Linux",
        crate::platform::Os::Macos => "macOS",
        crate::platform::Os::Windows => "Windows",
    };
    let mut groups: Vec<(&catalog::Meaning, Vec<&str>)> = Vec::new();
    for m in meanings {
        match groups
            .iter_mut()
            .find(|(g, _)| g.name == m.name && g.entry.wsa_code == m.entry.wsa_code)
        {
            Some((_, oses)) => oses.push(os_name(m.os)),
            None => groups.push((m, vec![os_name(m.os)])),
        }
    }
    let mut o = String::new();
    if groups.len() > 1 {
        let _ = writeln!(o, "{code} has {} meanings, by OS:", groups.len());
    }
    for (m, oses) in groups {
        let to = if m.name == m.entry.wsa_name {
            String::new()
        } else {
            format!(" → {} ({})", m.entry.wsa_name, m.entry.wsa_code)
        };
        let _ = writeln!(o, "{} is {} on {}{to}", m.code, m.name, oses.join(" and "));
    }
    o
}

/// The full text of one catalog entry.
#[must_use]
pub fn entry_text(e: &CatalogEntry) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} ({}) — {}", e.wsa_name, e.wsa_code, e.meaning);
    let _ = writeln!(o);
    for os in catalog::OSES {
        let names: Vec<String> = e
            .native
            .iter()
            .filter(|n| n.os == os)
            .map(|n| format!("{} {}", n.name, n.code))
            .collect();
        let shown = if names.is_empty() {
            "(does not occur)".to_owned()
        } else {
            names.join(", ")
        };
        let _ = writeln!(o, "  {:<8} {shown}", os.to_string());
    }
    let _ = writeln!(o, "  returned by: {}", e.calls.join(", "));
    let _ = writeln!(o, "\n{}\n\nLikely causes:", e.explanation);
    for c in &e.causes {
        let _ = writeln!(o, "  • {}", c.text);
    }
    let _ = writeln!(o, "\nWhat to do:");
    for f in &e.fixes {
        let _ = writeln!(o, "  • {f}");
    }
    o
}

/// All codes, one line each.
#[must_use]
pub fn catalog_table() -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<24} {:>6}  {:<28} meaning",
        "WSA name", "code", "Linux"
    );
    for e in catalog::all() {
        let linux: Vec<String> = e
            .native
            .iter()
            .filter(|n| n.os == crate::platform::Os::Linux)
            .map(|n| format!("{} {}", n.name, n.code))
            .collect();
        let _ = writeln!(
            o,
            "{:<24} {:>6}  {:<28} {}",
            e.wsa_name,
            e.wsa_code,
            linux.join(", "),
            e.meaning
        );
    }
    o
}

/// `who` output.
#[must_use]
pub fn owners_text(
    port: u16,
    host: Option<std::net::IpAddr>,
    protocol: Option<crate::target::Protocol>,
    found: &Owners,
    program: &crate::program::Program,
) -> String {
    let mut o = String::new();
    let unread = found.refused.iter().any(|r| !r.read_instead);
    if found.owners.is_empty() && unread {
        let _ = writeln!(
            o,
            "Unknown: no socket could be looked for on port {port}. {}",
            crate::wording::tables_refused_text(&found.refused)
        );
    } else if found.owners.is_empty() && found.out_of_descriptors {
        let _ = writeln!(
            o,
            "Unknown: no socket was found on port {port}, but Port Inspector ran out of file descriptors while looking, so one may still be there; {}, and look again.",
            crate::wording::RAISE_FD_LIMIT
        );
    } else if found.owners.is_empty() {
        // With --host, only the sockets a bind of that address would meet were kept: the
        // sentence says so (others may use the port on other addresses).
        // With --udp or --tcp, only that protocol's sockets were looked for: said so.
        let kind = protocol.map_or_else(String::new, |p| format!("{p} "));
        let _ = match host {
            Some(ip) => writeln!(
                o,
                "No {kind}socket on port {port} would meet a bind of {ip}."
            ),
            None => writeln!(o, "No {kind}socket uses port {port}."),
        };
    } else {
        let n = found.owners.len();
        let s = crate::wording::plural(n);
        let _ = match host {
            Some(ip) => writeln!(o, "{n} socket{s} on port {port} would meet a bind of {ip}:"),
            None => writeln!(
                o,
                "{n} socket{s} {} port {port}:",
                if n == 1 { "uses" } else { "use" }
            ),
        };
        for line in crate::render::owner_lines(&found.owners) {
            let _ = writeln!(o, "  {line}");
        }
    }
    // Each kind of hidden owner, worded as the diagnosis words it (never "run as root" to root).
    let target = crate::Target::tcp("", port);
    for why in [
        crate::owners::OwnerNote::OtherUser,
        crate::owners::OwnerNote::NoPtrace,
        crate::owners::OwnerNote::NotInView,
        crate::owners::OwnerNote::Uninspectable,
        crate::owners::OwnerNote::NoPid,
        crate::owners::OwnerNote::OutOfDescriptors,
    ] {
        let count = found.owners.iter().filter(|w| w.note == Some(why)).count();
        if count > 0 {
            let f = crate::diagnose::Finding::HiddenOwners { count, why };
            let _ = writeln!(o, "\n{}", crate::wording::finding(&f, &target));
        }
    }
    // Sockets the kernel holds for a device: the diagnosis's own finding and fix.
    let diagnosed = crate::diagnose::kernel_holds(&found.owners);
    for f in &diagnosed.findings {
        let _ = writeln!(o, "\n{}", crate::wording::finding(f, &target));
    }
    for f in &diagnosed.fixes {
        let _ = writeln!(
            o,
            "{}",
            crate::wording::fix(f, &target, crate::wording::Front::Cli(program))
        );
    }
    if found.out_of_descriptors && !found.owners.is_empty() {
        let _ = writeln!(
            o,
            "\nPort Inspector ran out of file descriptors while looking: there may be more sockets on this port than these; {}, and look again.",
            crate::wording::RAISE_FD_LIMIT
        );
    }
    // Said once: the "Unknown" line above already carries it.
    if !found.refused.is_empty() && (!found.owners.is_empty() || !unread) {
        let _ = writeln!(
            o,
            "\nnote: {}",
            crate::wording::tables_refused_text(&found.refused)
        );
    }
    for n in &found.notes {
        let _ = writeln!(o, "note: {}", crate::wording::lookup_note(n));
    }
    o
}

/// `scan` output: special ranges, busy ports with owners, free ranges collapsed.
#[must_use]
pub fn scan_lines(r: &crate::scan::ScanReport) -> Lines {
    let mut o = String::new();
    let q = &r.request;
    let protos: Vec<String> = q.protocols.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        o,
        "Scanned {} {}-{} on {}: {} tested in {:.1} ms{}",
        protos.join("+"),
        q.start,
        q.end,
        q.address,
        r.scanned,
        Duration::from_micros(r.elapsed_us).as_secs_f64() * 1000.0,
        if r.cancelled { " (cancelled)" } else { "" }
    );
    for s in &r.special {
        let _ = writeln!(o, "  note: {}", crate::render::scan::special_note(s, r.os));
    }
    let _ = writeln!(o);
    let mut lines: Vec<(u16, Tone, String)> = r
        .free
        .iter()
        .map(|f| {
            let range = if f.start == f.end {
                f.start.to_string()
            } else {
                format!("{}-{}", f.start, f.end)
            };
            (
                f.start,
                Tone::Plain,
                format!("{range:<12} {} free", f.protocol),
            )
        })
        .collect();
    for b in &r.busy {
        let who = crate::wording::holders_in_words(&b.owners);
        let mut line = format!(
            "{:<12} {} {}  {} ({})",
            b.port,
            b.protocol,
            if b.status == crate::scan::PortStatus::InUse {
                "IN USE "
            } else {
                "REFUSED"
            },
            b.error.wsa_name,
            b.error.wsa_code
        );
        if !who.is_empty() {
            let _ = write!(line, "  by {who}");
        }
        if !b.notes.is_empty() {
            let notes: Vec<String> = b.notes.iter().map(crate::render::scan::port_note).collect();
            let _ = write!(line, "  [{}]", notes.join("; "));
        }
        lines.push((b.port, Tone::Bad, line));
    }
    lines.sort_by_key(|(p, _, _)| *p);
    let mut out = Lines::default();
    out.plain(o.strip_suffix('\n').unwrap_or(&o));
    for (_, tone, l) in lines {
        out.toned(tone, &l);
    }
    out.plain(&format!(
        "\n{} free, {} not free.",
        r.free_count,
        r.busy.len()
    ));
    out
}

/// `facts` output: a table of name, value and meaning.
#[must_use]
pub fn facts_text(f: &crate::facts::Facts) -> String {
    use crate::text::clean;
    let mut o = String::new();
    // Host and interface names, the OS's version and the values read are outside text.
    let _ = writeln!(
        o,
        "{} ({}), host {}",
        f.os,
        clean(&f.os_version),
        clean(&f.hostname)
    );
    let rows = crate::render::facts::table(f);
    // Columns as wide as their longest entry; a value longer than 24 characters (the OS's
    // version, a namespace) puts its meaning on the next line, under the values.
    let name_w = rows
        .iter()
        .map(|x| x.name.chars().count())
        .max()
        .unwrap_or(0);
    let value_w = rows
        .iter()
        .map(|x| x.value.chars().count())
        .filter(|&n| n <= 24)
        .max()
        .unwrap_or(0);
    for x in &rows {
        let value = clean(&x.value);
        if value.chars().count() > value_w {
            let _ = writeln!(
                o,
                "  {:<name_w$} {value}\n  {:<name_w$} {:<value_w$} {}",
                clean(&x.name),
                "",
                "",
                clean(&x.meaning)
            );
        } else {
            let _ = writeln!(
                o,
                "  {:<name_w$} {value:<value_w$} {}",
                clean(&x.name),
                clean(&x.meaning)
            );
        }
    }
    let _ = writeln!(o, "\nAddresses:");
    for i in &f.interfaces {
        let _ = writeln!(
            o,
            "  {:<12} {}{}",
            clean(&i.name),
            clean(&i.host().to_string()),
            if i.loopback { "  (loopback)" } else { "" }
        );
    }
    o
}

/// `matrix` output: one line per combination.
#[must_use]
pub fn matrix_text(m: &crate::support::Matrix) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "What-if matrix for port {}:", m.target.port);
    let _ = writeln!(
        o,
        "  {:<5} {:<5} {:<13} {:<9} {:<24} result",
        "proto", "fam", "SO_REUSEADDR", "scope", "address"
    );
    for c in &m.cells {
        let result = crate::render::matrix::cell(c).long;
        let _ = writeln!(
            o,
            "  {:<5} {:<5} {:<13} {:<9} {:<24} {result}",
            c.protocol.to_string(),
            c.family.to_string(),
            if c.reuse_address { "on" } else { "off" },
            crate::render::matrix::scope(c.scope),
            crate::render::matrix::address(c)
        );
    }
    o
}

/// One arrival during `listen`.
#[must_use]
pub fn listen_line(ev: &crate::support::ListenEvent) -> String {
    format!(
        "{:>8.3} s  {}\n",
        Duration::from_millis(ev.at_ms).as_secs_f64(),
        crate::render::hold::arrival(ev)
    )
}

/// One line while `check --wait` waits.
#[must_use]
pub fn wait_line(c: &crate::check::Check, waited: Duration) -> String {
    let who = crate::wording::holders_in_words(
        c.owners
            .iter()
            .filter(|o| o.state != crate::owners::SockState::TimeWait),
    );
    let tw = c
        .owners
        .iter()
        .filter(|o| o.state == crate::owners::SockState::TimeWait)
        .count();
    let mut held = if who.is_empty() {
        String::new()
    } else {
        format!(" by {who}")
    };
    if tw > 0 {
        let _ = write!(held, " ({tw} TIME_WAIT)");
    }
    format!(
        "{:>6.1} s  still not bindable{held}: {}\n",
        waited.as_secs_f64(),
        c.report
            .error
            .as_ref()
            .map_or_else(String::new, |e| format!("{} {}", e.wsa_name, e.wsa_code))
    )
}
