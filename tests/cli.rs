//! The command-line contract, checked by running the built binary: exit codes, JSON shape,
//! `explain` lookups and one-line errors for bad input.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::TcpListener;

use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = common::bin().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_exit_codes_and_json_shape() {
    let port = common::free_tcp_port();
    let (code, out, _) = run(&["check", &format!("127.0.0.1:{port}"), "--json"]);
    assert_eq!(code, 0, "free port exits 0");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "bindable", "verdict");
    assert!(
        v["error"].is_null() && v["explanation"].is_null(),
        "no error"
    );
    assert!(v["owners"].as_array().unwrap().is_empty(), "no owners");
    assert_eq!(v["target"]["port"], port, "target");
    let a = &v["attempts"][0];
    assert_eq!(a["address"], format!("127.0.0.1:{port}"), "address");
    assert_eq!(a["bound"], format!("127.0.0.1:{port}"), "bound");
    let steps: Vec<&str> = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "resolve",
            "socket",
            "bind",
            "listen",
            "getsockname",
            "close"
        ],
        "steps"
    );
    for s in a["steps"].as_array().unwrap() {
        assert!(
            s["ok"].as_bool().unwrap() && s["elapsed_us"].is_u64() && s["error"].is_null(),
            "step fields"
        );
    }

    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let (code, out, _) = run(&["check", &format!("127.0.0.1:{port}"), "--json"]);
    assert_eq!(code, 1, "held port exits 1");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "not_bindable", "verdict");
    let e = &v["error"];
    let (native, native_name) = common::native(10048);
    assert_eq!(
        (e["wsa_code"].as_u64(), e["native_code"].as_i64()),
        (Some(10048), Some(i64::from(native))),
        "codes"
    );
    assert_eq!(
        (e["wsa_name"].as_str(), e["native_name"].as_str()),
        (Some("WSAEADDRINUSE"), Some(native_name.as_str())),
        "names"
    );
    assert!(e["message"].is_string(), "message");
    let x = &v["explanation"];
    assert_eq!(x["wsa_code"], 10048, "explanation code");
    assert!(
        x["title"].is_string() && x["summary"].is_string(),
        "title/summary"
    );
    let me = std::process::id();
    let found = &x["findings"][0];
    assert_eq!(
        (found["kind"].as_str(), found["conflict"].as_str()),
        (Some("held"), Some("same_address")),
        "typed finding: {x}"
    );
    assert!(
        found["text"]
            .as_str()
            .unwrap()
            .contains(&format!("PID {me}")),
        "worded finding names the holder: {found}"
    );
    assert!(
        x["causes"].as_array().unwrap().is_empty(),
        "proven, so no general causes: {x}"
    );
    let fixes = x["fixes"].as_array().unwrap();
    assert!(
        fixes
            .iter()
            .any(|f| f["kind"] == "end_processes" && f["pids"][0] == me),
        "typed fix: {x}"
    );
    assert!(fixes.iter().all(|f| f["text"].is_string()), "worded fixes");
    assert!(
        v["owners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["pid"] == me),
        "the test process is named as the owner"
    );
}

#[test]
fn check_text_names_error_and_cause() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let (code, out, _) = run(&["check", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 1, "exit 1");
    assert!(out.contains(&common::codes(10048)), "{out}");
    assert!(
        out.contains(&format!("PID {}", std::process::id())),
        "{out}"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let long = format!("{}:80", "a".repeat(300));
    for bad in [
        "70000",
        "-1",
        "abc",
        ":80",
        "[::zz]:80",
        "[1:2:3]:80",
        long.as_str(),
        "bücher.de:80",
        "",
        "::1:80",
    ] {
        let (code, out, err) = run(&["check", bad]);
        assert_eq!(code, 2, "{bad:?} exits 2");
        assert!(out.is_empty(), "{bad:?}: nothing on stdout");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{bad:?}: one line: {err}"
        );
        assert!(!err.contains("panicked"), "{bad:?} no panic");
    }
    let (code, _, err) = run(&["check", "80", "--timeout", "abc"]);
    assert_eq!(code, 2, "bad timeout: {err}");
    let (code, _, err) = run(&["who", "99999"]);
    assert_eq!(code, 2, "bad who port: {err}");
    let (code, _, err) = run(&["explain", "NOPE"]);
    assert_eq!((code, err.lines().count()), (2, 1), "unknown code: {err}");
}

#[test]
fn explain_finds_by_number_wsa_name_and_native_name() {
    for q in ["10048", "WSAEADDRINUSE", "EADDRINUSE", "eaddrinuse"] {
        let (code, out, _) = run(&["explain", q, "--json"]);
        assert_eq!(code, 0, "{q}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["wsa_code"], 10048, "{q}");
        assert_eq!(v["wsa_name"], "WSAEADDRINUSE", "{q}");
        for f in ["meaning", "explanation"] {
            assert!(!v[f].as_str().unwrap().is_empty(), "{q} {f}");
        }
        assert!(
            v["native"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["os"] == "linux" && n["name"] == "EADDRINUSE" && n["code"] == 98),
            "native"
        );
    }
    let (_, out, _) = run(&["explain", "EAI_NONAME", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["wsa_code"], 11001, "EAI_NONAME");
}

#[test]
fn errors_lists_the_whole_catalog_and_each_explains() {
    let (code, out, _) = run(&["errors", "--json"]);
    assert_eq!(code, 0, "exit");
    let v: Value = serde_json::from_str(&out).unwrap();
    let all = v.as_array().unwrap();
    assert!(all.len() >= 31, "every documented code");
    for e in all {
        for f in ["wsa_name", "meaning", "explanation"] {
            assert!(!e[f].as_str().unwrap().is_empty(), "{f}");
        }
        assert!(
            !e["causes"].as_array().unwrap().is_empty()
                && !e["fixes"].as_array().unwrap().is_empty(),
            "lists"
        );
        let name = e["wsa_name"].as_str().unwrap();
        let (code, out, _) = run(&["explain", name]);
        assert_eq!(code, 0, "{name}");
        assert!(out.starts_with(name), "{name}");
    }
}

#[test]
fn broken_pipe_is_not_an_error() {
    use std::process::Stdio;
    let mut child = common::bin()
        .args(["errors"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "no panic on closed stdout"
    );
}

/// An address of one family with only the other asked contradicts itself: known from the input
/// alone, it is bad input (exit 2, one line, nothing tried), not a failed lookup (it was exit 1
/// "getaddrinfo failed").
#[test]
fn an_address_of_the_other_family_is_bad_input() {
    for (args, says) in [
        (
            &["check", "0.0.0.0:8080", "-6", "--json"][..],
            "0.0.0.0 is an IPv4 address, but -6 asks for IPv6 only: drop -6, or give an IPv6 address such as ::1",
        ),
        (
            &["check", "-4", "[::1]:80"][..],
            "::1 is an IPv6 address, but -4 asks for IPv4 only: drop -4, or give an IPv4 address such as 127.0.0.1",
        ),
        (
            &["report", "-6", "127.0.0.1:80"][..],
            "127.0.0.1 is an IPv4 address, but -6 asks for IPv6 only",
        ),
        (
            &["listen", "-4", "[::1]:0"][..],
            "::1 is an IPv6 address, but -4 asks for IPv4 only",
        ),
        (
            &["check", "127.0.0.1:80", "--v6only", "on"][..],
            "--v6only sets an option of IPv6 sockets, but 127.0.0.1 makes only an IPv4 socket",
        ),
        (
            &["check", "80", "-4", "--v6only", "off"][..],
            "--v6only sets an option of IPv6 sockets, but -4 makes only an IPv4 socket",
        ),
        (
            &["check", "80", "--udp", "--no-listen"][..],
            "the argument '--udp' cannot be used with '--no-listen'",
        ),
        (
            &["check", "80", "--udp", "--backlog", "5"][..],
            "the argument '--udp' cannot be used with '--backlog <BACKLOG>'",
        ),
    ] {
        refused_in_one_line(args, says);
    }
}

#[test]
fn negative_and_out_of_range_numbers_get_the_tools_own_one_line() {
    for (args, says) in [
        (
            &["check", "8080", "--timeout", "-1"][..],
            "--timeout '-1' is not valid: give seconds from 0.1 to 300",
        ),
        (&["free", "--count", "-3"][..], "count '-3' is not valid"),
        (
            &["listen", "8080", "--for", "-5"][..],
            "--for '-5' is not valid",
        ),
        (&["check", "8080", "--backlog", "-1"][..], "backlog '-1'"),
        (&["who", "-1"][..], "'-1' is not a port"),
        (&["scan", "-5"][..], "is not a port range"),
        (
            &["scan", "1-5", "--format", "md"][..],
            "invalid value 'md' for '--format <FORMAT>': give one of text, json, ndjson",
        ),
        (
            &["check", "8080", "--bogus"][..],
            "unexpected argument '--bogus'",
        ),
        (
            &["end", "8080", "--signal", "HUP"][..],
            "give one of TERM, KILL",
        ),
        (
            &["who", "1", "--host", "nothere"][..],
            "'nothere' is not an IP address",
        ),
        (
            &["report", "1", "--format", "ndjson"][..],
            "invalid value 'ndjson' for '--format <FORMAT>': give one of md, text, json",
        ),
        // A mistyped option before the target is named (clap blamed the argument after it).
        (
            &["check", "--bogus", "1"][..],
            "'--bogus' is not an option of this command",
        ),
        (
            &["who", "--udpx", "5"][..],
            "'--udpx' is not an option of this command",
        ),
        (
            &["check", "1", "--udpx"][..],
            "unexpected argument '--udpx' found (did you mean '--udp'?)",
        ),
        // A format given as an option is pointed at --format (clap suggested --json for
        // `facts --ndjson`); where the command has no such format, clap's tip stays.
        (
            &["facts", "--ndjson"][..],
            "'--ndjson' is not an option of this command: give --format ndjson",
        ),
        (
            &["report", "80", "--md"][..],
            "'--md' is not an option of this command: give --format md",
        ),
        (
            &["check", "80", "--ndjson"][..],
            "unexpected argument '--ndjson' found (did you mean '--json'?)",
        ),
        // A mistyped command gets clap's suggestion too (it said only "unrecognized").
        (
            &["chek", "80"][..],
            "unrecognized subcommand 'chek' (did you mean 'check'?)",
        ),
        (
            &["lst"][..],
            "unrecognized subcommand 'lst' (did you mean 'listen' or 'list'?)",
        ),
        // The missing argument is named, not cut off after "not provided:".
        (
            &["watch", "8080"][..],
            "watch needs --until <UNTIL> (see its --help)",
        ),
        // Port 0 is never held: an answer about it would prove nothing.
        (
            &["end", "0", "--dry-run"][..],
            "port 0 is not a port a socket holds",
        ),
        (&["who", "0"][..], "port 0 is not a port a socket holds"),
        // Four numbers that are no IPv4 address are not sent to the resolver as a name.
        (
            &["check", "999.1.1.1:80"][..],
            "'999.1.1.1' is not a valid IPv4 address",
        ),
        // Each names what is wrong (they said "the port is empty" and "not a valid IPv6
        // address").
        (
            &["check", "[::1]80"][..],
            "'[::1]80': a port after ']' needs ':' before it, e.g. [::1]:8080",
        ),
        (
            &["check", "127.0.0.1:80:90"][..],
            "'127.0.0.1:80:90' has more than one ':' after the host: give one port (HOST:PORT, e.g. 127.0.0.1:8080); an IPv6 address goes in brackets, e.g. [::1]:8080",
        ),
    ] {
        refused_in_one_line(args, says);
    }
}

/// A mistyped short option is named, not the target after it (clap said "unexpected argument
/// '80' found" for `check -x 80`); an option given twice in one word says which; an option
/// without the one it works with, and a command without its argument, are said in the tool's
/// words (clap's "the following required arguments were not provided: --wait").
#[test]
fn short_option_typos_and_missing_partners_are_named_in_one_line() {
    let not_an_option =
        |o: &str| format!("'{o}' is not an option of this command (see its --help)");
    for (args, says) in [
        (&["check", "-x", "80"][..], not_an_option("-x")),
        (&["check", "-6x", "80"][..], not_an_option("-6x")),
        (&["check", "-q", "-x", "80"][..], not_an_option("-x")),
        (&["who", "-x", "80"][..], not_an_option("-x")),
        (&["check", "80", "-x"][..], not_an_option("-x")),
        (&["check", "-x"][..], not_an_option("-x")),
        (
            &["check", "-66", "80"][..],
            "-6 is given twice (in '-66'): give it once".into(),
        ),
        (
            &["check", "-6", "-6", "80"][..],
            "-6 is given twice: give it once".into(),
        ),
        (
            &["check", "80", "--interval=5"][..],
            "--interval needs --wait: give both, or leave out --interval".into(),
        ),
        (
            &["report", "80", "--force"][..],
            "--force needs --output <OUTPUT>: give both, or leave out --force".into(),
        ),
        (
            &["--remote-path", "/opt/pi", "who", "80"][..],
            "--remote-path needs --on <[USER@]HOST[:PORT]>: give both, or leave out --remote-path"
                .into(),
        ),
        (
            &["check"][..],
            "check needs <TARGET> (see its --help)".into(),
        ),
    ] {
        refused_in_one_line(args, &says);
        let (_, _, err) = run(args);
        assert!(!err.contains("'80'"), "{args:?} blames the target: {err}");
    }
    // A negative number is still a value: explain takes one (EAI_NONAME).
    let (code, out, err) = run(&["explain", "-2"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn control_characters_in_arguments_are_shown_escaped() {
    let (code, _, err) = run(&["check", "\u{1b}]0;owned\u{7}8080"]);
    assert_eq!(code, 2, "bad input");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.contains("\\x1b]0;owned\\x07"), "visible: {err}");
}

#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_is_exit_1_but_a_closed_pipe_is_not() {
    for args in [
        &["report", "127.0.0.1:0"][..],
        &["free"][..],
        &["errors"][..],
    ] {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = common::bin().args(args).stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?} > /dev/full");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot write to standard output"),
            "{args:?}: says why"
        );
    }
    // `errors | head -1`: the reader goes away early; that is not a failure.
    let mut child = common::bin()
        .arg("errors")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0), "broken pipe exits 0");
}

#[cfg(unix)]
#[test]
fn report_never_follows_a_link_nor_replaces_a_file_unasked() {
    let dir = std::env::temp_dir().join(format!("pi-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = dir.join("link.md");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let existing = dir.join("old.md");
    std::fs::write(&existing, "old").unwrap();
    for (path, why) in [
        (&link, "it is a symbolic link"),
        (&existing, "already exists (give --force"),
    ] {
        let out = common::bin()
            .args(["report", "127.0.0.1:0", "-o"])
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}: refused", path.display());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{}: says why",
            path.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious",
        "link target untouched"
    );
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        "old",
        "file untouched"
    );
    // --force replaces a regular file only: a link is refused (never followed, never replaced).
    let out = common::bin()
        .args(["report", "127.0.0.1:0", "--force", "-o"])
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "refused");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("it is a symbolic link"),
        "says why"
    );
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious",
        "still untouched"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link itself is left as it was"
    );
    let fresh = dir.join("new.md");
    let out = common::bin()
        .args(["report", "127.0.0.1:0", "-o"])
        .arg(&fresh)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "a new file is written");
    assert!(
        std::fs::read_to_string(&fresh)
            .unwrap()
            .contains("BINDABLE"),
        "content"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// JSON is data: on a terminal, where the text views are coloured, a document comes out with no
/// escape code, even when a command line in it holds the words the colouring marks (`IN USE`).
/// The text view on the same terminal is coloured, so the terminal was one.
#[test]
#[ignore = "needs script (util-linux), for a terminal; CI runs it (cargo test -- --include-ignored)"]
#[cfg(target_os = "linux")]
fn json_on_a_terminal_carries_no_colour() {
    // `IN USE` on the holder's command line (words it does not read).
    let (holder, _) = common::holder::start(&["tcp", "127.0.0.1:0", "--", "IN USE"]);
    let on_a_terminal = |args: &str| {
        let out = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("{} {args}", env!("CARGO_BIN_EXE_port-inspector")),
                "/dev/null",
            ])
            .env_remove("NO_COLOR")
            .output()
            .expect("script (util-linux) runs a command on a terminal");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let port = holder.port;
    let text = on_a_terminal(&format!("check 127.0.0.1:{port}"));
    assert!(
        text.contains("\x1b[1;31m"),
        "the text view is coloured on a terminal: {text}"
    );
    // Colour is the tone a line was made with, never read from its words: `who`'s lines hold
    // the holder's command line with `IN USE` in it and are not coloured.
    let who = on_a_terminal(&format!("who {port}"));
    assert!(who.contains("IN USE"), "the command line is shown: {who}");
    assert!(
        !who.contains('\x1b'),
        "no line coloured for its words: {who}"
    );
    // Each document, and whether it is one JSON value per line (NDJSON).
    for (args, per_line) in [
        (format!("who {port} --json"), false),
        (format!("scan {port}-{port} --host 127.0.0.1 --json"), false),
        (format!("report 127.0.0.1:{port} --format json"), false),
        (format!("who {port} --format ndjson"), true),
    ] {
        let doc = on_a_terminal(&args);
        assert!(
            doc.contains("IN USE"),
            "the holder's command line is in the document: {doc}"
        );
        assert!(!doc.contains('\x1b'), "no escape code in `{args}`: {doc}");
        let values: Vec<&str> = if per_line {
            doc.lines().filter(|l| !l.trim().is_empty()).collect()
        } else {
            vec![doc.trim()]
        };
        for v in values {
            let v: Value = serde_json::from_str(v.trim()).unwrap_or_else(|e| panic!("{e}: {doc}"));
            assert!(v.is_object(), "{v}");
        }
    }
}

/// Each command's `--help` lists the formats it prints and no other, and clap refuses the rest
/// with exit 2: `check` text or json, `who` also ndjson, `report` md, text or json.
#[test]
fn help_lists_only_the_formats_each_command_prints() {
    let formats = |cmd: &str| {
        let (code, out, _) = run(&[cmd, "--help"]);
        assert_eq!(code, 0, "{out}");
        let after = &out[out.find("--format <FORMAT>").expect(&out)..];
        let section = &after[..after.find("\n  -").unwrap_or(after.len())];
        ["text", "json", "ndjson", "md"]
            .into_iter()
            .filter(|f| section.contains(&format!("- {f}:")))
            .collect::<Vec<_>>()
    };
    assert_eq!(formats("check"), ["text", "json"]);
    assert_eq!(formats("end"), ["text", "json"]);
    assert_eq!(formats("who"), ["text", "json", "ndjson"]);
    assert_eq!(formats("report"), ["text", "json", "md"]);
    let (code, _, err) = run(&["report", "1", "--format", "ndjson"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["check", "1", "--format", "md"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn who_with_a_host_says_which_sockets_it_looked_for() {
    // A socket on 127.0.0.1 uses the port, but a bind of ::1 would not meet it: the empty
    // answer names the address (it said "No socket uses port P", which is false).
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let (_, out, err) = run(&["who", &port, "--host", "::1"]);
    assert!(
        out.contains(&format!(
            "No socket on port {port} would meet a bind of ::1."
        )),
        "{out}{err}"
    );
    assert!(!out.contains("No socket uses port"), "{out}");
    let (_, out, err) = run(&["who", &port, "--host", "127.0.0.1"]);
    assert!(
        out.contains(&format!(
            "1 socket on port {port} would meet a bind of 127.0.0.1:"
        )),
        "{out}{err}"
    );
}

/// The command of a check's "Use port N instead" fix, as printed (its tests run it through sh).
#[cfg(unix)]
fn free_port_command(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains("instead: the same bind took it just now"))
        .unwrap_or_else(|| panic!("a free port is offered:\n{text}"));
    line.split_once('(')
        .and_then(|(_, c)| c.strip_suffix(")."))
        .unwrap_or_else(|| panic!("the command in: {line}"))
        .to_owned()
}

/// "Use port N instead" prints the command that asks the same question: a UDP check's command
/// checks UDP (it printed a TCP check, which a TCP holder of N answered "not bindable"), and an
/// address a shell would expand (`*:N`) is quoted: run as printed, in a folder holding a file
/// named like the glob's match, each command answers BINDABLE for the bind it names.
#[cfg(unix)]
#[test]
fn the_free_port_command_asks_the_same_question_run_as_printed() {
    let ip = common::private_loopback();
    let base = common::free_run(ip, 3);
    let udp = std::net::UdpSocket::bind((ip, base)).unwrap();
    // The next port is taken for TCP only: a TCP check there says not bindable.
    let tcp = TcpListener::bind((ip, base + 1)).unwrap();
    let out = common::bin()
        .args(["check", "--udp", &format!("{ip}:{base}")])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let command = &free_port_command(&String::from_utf8_lossy(&out.stdout));
    assert!(command.contains("--udp"), "a UDP check: {command}");
    let dir = std::env::temp_dir().join(format!("pi-printed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, said) = common::run_as_printed(command, &dir);
    assert_eq!(code, Some(0), "{command}:\n{said}");
    assert!(said.contains("BINDABLE: UDP"), "{command}:\n{said}");
    // Every interface: `*:N` is one argument whatever files the folder holds.
    let all = port_inspector::target::Target {
        host: port_inspector::target::Host::All,
        port: base + 2,
        protocol: port_inspector::target::Protocol::Udp,
        ..Default::default()
    };
    let command =
        port_inspector::wording::check_command(&all, &port_inspector::program::Program::OnPath);
    std::fs::write(dir.join(format!("decoy:{}", base + 2)), "").unwrap();
    let (code, said) = common::run_as_printed(&command, &dir);
    assert!(
        said.contains(&format!("UDP *:{}", base + 2)),
        "{command} checks every interface, not a file's name:\n{said}"
    );
    assert!(matches!(code, Some(0 | 1)), "{command}:\n{said}");
    std::fs::remove_dir_all(&dir).unwrap();
    drop((udp, tcp));
}

/// SO_EXCLUSIVEADDRUSE is Windows' own: elsewhere its setsockopt is skipped, and every front says
/// so (the text answer showed ✓ for it while the JSON's detail said skipped).
#[cfg(not(windows))]
#[test]
fn exclusive_off_windows_is_skipped_in_the_text_and_the_json() {
    let port = common::free_tcp_port();
    let target = format!("127.0.0.1:{port}");
    let (code, out, err) = run(&["check", &target, "--exclusive"]);
    assert_eq!(code, 0, "the bind itself works: {out}{err}");
    assert!(
        out.contains("setsockopt skipped (Windows only), bind ✓"),
        "{out}"
    );
    assert!(!out.contains("setsockopt ✓"), "{out}");
    let (code, v) = common::json(&["check", &target, "--exclusive", "--json"]);
    assert_eq!(code, Some(0), "{v}");
    let steps = v["attempts"][0]["steps"].as_array().unwrap();
    let set = steps.iter().find(|s| s["step"] == "setsockopt").unwrap();
    assert_eq!(set["skipped"], "windows_only", "{set}");
    assert_eq!(set["ok"], true, "the old field keeps its meaning: {set}");
    let bind = steps.iter().find(|s| s["step"] == "bind").unwrap();
    assert!(bind["skipped"].is_null(), "a call made: {bind}");
    let (_, md, _) = run(&["report", &target, "--exclusive"]);
    assert!(
        md.contains("| setsockopt | skipped (Windows only) |  | SO_EXCLUSIVEADDRUSE"),
        "{md}"
    );
    assert!(
        md.contains("SO_EXCLUSIVEADDRUSE=1 (skipped: Windows only)"),
        "the Options row says it was not set: {md}"
    );
}

/// An option that means nothing without its partner is refused (exit 2, one line), never
/// silently ignored: one check has no interval (`check --interval 5` checked once), a bind that
/// never listens has no backlog, a dry run sends no signal, UDP sockets never listen, and the
/// window's bind options need its target.
#[test]
fn an_option_without_its_partner_is_bad_input() {
    for (args, says) in [
        (
            &["check", "80", "--interval", "5"][..],
            "--interval needs --wait: give both, or leave out --interval",
        ),
        (
            &["check", "80", "--no-listen", "--backlog", "5"][..],
            "the argument '--no-listen' cannot be used with '--backlog <BACKLOG>'",
        ),
        (
            &["end", "8080", "--dry-run", "--signal", "KILL"][..],
            "the argument '--dry-run' cannot be used with '--signal <SIGNAL>'",
        ),
        (
            &["list", "--listening", "--udp"][..],
            "the argument '--listening' cannot be used with '--udp'",
        ),
        (
            &["window", "--udp"][..],
            "--udp needs <TARGET>: give both, or leave out --udp",
        ),
    ] {
        refused_in_one_line(args, says);
    }
    // Each with its partner is taken.
    for args in [
        &[
            "check",
            "127.0.0.1:0",
            "--wait",
            "--interval",
            "0.1",
            "--quiet",
        ][..],
        &["check", "127.0.0.1:0", "--backlog", "5", "--quiet"][..],
        &["list", "--listening", "--tcp", "--quiet"][..],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
}

/// A command the tool prints runs as printed wherever the program is: run from a copy in a
/// folder not on PATH (an unpacked tarball, `./target/release/port-inspector`), it names itself
/// by that path (it printed `port-inspector check …`, which sh did not find: exit 127); from a
/// folder on PATH, by its name.
#[cfg(unix)]
#[test]
fn printed_commands_name_the_program_that_runs() {
    let ip = common::private_loopback();
    let base = common::free_run(ip, 2);
    let held = std::net::UdpSocket::bind((ip, base)).unwrap();
    let dir = std::env::temp_dir().join(format!("pi-unpacked-{}-{ip}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("port-inspector");
    let bin = env!("CARGO_BIN_EXE_port-inspector");
    if std::fs::hard_link(bin, &copy).is_err() {
        std::fs::copy(bin, &copy).unwrap();
    }
    // The system's tools, and no port-inspector that is this one.
    let system = "/usr/sbin:/usr/bin:/sbin:/bin";
    let printed = |path: &str| {
        let out = std::process::Command::new(&copy)
            .args(["check", "--udp", &format!("{ip}:{base}")])
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        free_port_command(&String::from_utf8_lossy(&out.stdout))
    };
    let run = |command: &str, path: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(std::env::temp_dir())
            .env("PATH", path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let away = printed(system);
    assert!(
        away.starts_with(&format!("{} check ", copy.display())),
        "named by its path: {away}"
    );
    let (code, said) = run(&away, system);
    assert_eq!(code, Some(0), "{away}:\n{said}");
    assert!(said.contains("BINDABLE: UDP"), "{away}:\n{said}");
    let on_path = format!("{}:{system}", dir.display());
    let named = printed(&on_path);
    assert!(
        named.starts_with("port-inspector check "),
        "named by its name: {named}"
    );
    let (code, said) = run(&named, &on_path);
    assert_eq!(code, Some(0), "{named}:\n{said}");
    assert!(said.contains("BINDABLE: UDP"), "{named}:\n{said}");
    drop(held);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The report (Markdown, `report`'s default on standard output) sets a fix's command apart as
/// code, exactly as it runs: its words are escaped for Markdown, the command is not. The
/// SO_REUSEPORT fix of `[::1]:P` printed `'\[::1\]:P'` inside the sentence, which sh passed on
/// with its backslashes and the check refused (exit 2).
#[cfg(unix)]
#[test]
#[ignore = "needs ::1 (IPv6 loopback), which containers may lack; CI runs it (cargo test -- --include-ignored)"]
fn the_report_s_commands_run_as_printed() {
    let held = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
    held.set_reuse_port(true).unwrap();
    held.bind(&"[::1]:0".parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    held.listen(4).unwrap();
    let port = held.local_addr().unwrap().as_socket().unwrap().port();
    let (code, md, err) = run(&["report", &format!("[::1]:{port}")]);
    assert_eq!(code, 1, "{md}{err}");
    let fix = md
        .lines()
        .find(|l| l.starts_with("- Set SO_REUSEPORT on your socket"))
        .unwrap_or_else(|| panic!("the SO_REUSEPORT fix:\n{md}"));
    let command = fix
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("the command is a code span: {fix}"));
    assert!(
        command.contains("'[::1]:"),
        "nothing escaped in it: {command}"
    );
    let dir = std::env::temp_dir().join(format!("pi-report-cmd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, said) = common::run_as_printed(command, &dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, Some(0), "{command}:\n{said}");
    assert!(said.contains("BINDABLE"), "{command}:\n{said}");
}

/// With a family asked for, the resolver's "no such name" is not proof that the name does not
/// exist (glibc answers it for `-6 localhost` where the hosts file has only 127.0.0.1): the
/// answer says what it proves, and offers an address of that family, never 127.0.0.1 for -6.
#[test]
fn a_name_not_found_in_one_family_is_not_said_not_to_exist() {
    let port = common::free_tcp_port();
    let (code, out, err) = run(&["check", "-6", &format!("name.invalid:{port}")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("Host name 'name.invalid' has no IPv6 address (or does not exist)"),
        "{out}"
    );
    assert!(!out.contains("such as 127.0.0.1"), "{out}");
    let (code, out, _) = run(&["check", &format!("name.invalid:{port}")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Host name 'name.invalid' not found"), "{out}");
}

/// `who --udp` on a port only TCP uses says no UDP socket uses it: "No socket uses port P"
/// read as if the TCP listener were not there (today's trial).
#[test]
fn who_of_one_protocol_says_which_it_looked_for() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let (code, out, err) = run(&["who", "--udp", &port.to_string()]);
    assert_eq!(code, 1, "none does: {out}{err}");
    assert_eq!(out.trim(), format!("No UDP socket uses port {port}."));
    let (_, out, _) = run(&["who", &port.to_string()]);
    assert!(out.contains("LISTEN"), "the TCP listener: {out}");
}

/// Bad input: exit 2, nothing on standard output, one line on standard error that says `says`.
fn refused_in_one_line(args: &[&str], says: &str) {
    let (code, out, err) = run(args);
    assert_eq!(code, 2, "{args:?}: exit 2: {err}");
    assert!(out.is_empty(), "{args:?}: nothing on stdout: {out}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line: {err}"
    );
    assert!(err.contains(says), "{args:?}: {err}");
}

/// The commands a refusal or a start-up line points at run as printed when the program was not
/// started from PATH: run from a copy in a folder whose name a shell would split, with no
/// port-inspector on PATH, each printed command (the copy's path, quoted) runs and answers.
/// They said a bare 'port-inspector facts', which such a shell answers 'not found' (127).
#[cfg(unix)]
#[test]
fn commands_printed_at_the_edge_run_as_printed_from_outside_path() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pi copy {}", std::process::id()));
    let empty = dir.join("bin");
    std::fs::create_dir_all(&empty).unwrap();
    let copy = dir.join("port-inspector");
    let built = env!("CARGO_BIN_EXE_port-inspector");
    std::fs::hard_link(built, &copy)
        .or_else(|_| std::fs::copy(built, &copy).map(drop))
        .unwrap();
    let cases: [(&[&str], &str, &str); 3] = [
        (&["explain", "FOO"], "; to see them: ", "WSAEADDRINUSE"),
        (
            &["scan", "1-2", "--host", "fe80::1%nosuch0"],
            "; to see them: ",
            "127.0.0.1",
        ),
        (&["window"], "; every command: ", "Usage:"),
    ];
    // With nothing on PATH but an empty folder: a bare `port-inspector` is not found.
    let bare = |program: &std::path::Path, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", &empty)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    for (args, marker, answer) in cases {
        let out = bare(&copy, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let command = err
            .lines()
            .find_map(|l| l.split_once(marker).map(|(_, c)| c.to_owned()))
            .unwrap_or_else(|| panic!("{args:?} prints a command after '{marker}': {err}"));
        let ran = bare(std::path::Path::new("/bin/sh"), &["-c", &command]);
        let said = String::from_utf8_lossy(&ran.stdout);
        assert_eq!(
            ran.status.code(),
            Some(0),
            "{args:?} printed '{command}', which did not run: {said}{}",
            String::from_utf8_lossy(&ran.stderr)
        );
        assert!(said.contains(answer), "{command}: {said}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The report says when the check ran (today's trial: Target, Options, Verdict, OS, Host and
/// Checked by, but no time): Markdown's "Checked at" row and the text's line, a time between
/// the command's start and end, the same as the JSON's `checked_at_unix_ms`.
#[test]
fn the_report_says_when_the_check_ran() {
    let now_s = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let utc = |s: u64| port_inspector::record::time::date_time(s * 1000, 0);
    let target = format!("127.0.0.1:{}", common::free_tcp_port());
    for (format, row) in [("md", "| Checked at | "), ("text", "\nChecked at ")] {
        let before = now_s();
        let (code, out, err) = run(&["report", &target, "--format", format]);
        let after = now_s();
        assert_eq!(code, 0, "{out}{err}");
        let (_, rest) = out
            .split_once(row)
            .unwrap_or_else(|| panic!("{format}: no {row:?} in {out}"));
        let at = rest
            .split([' ', '\n'])
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            (before..=after).any(|s| at == format!("{} UTC", utc(s))),
            "{format}: {at:?} is not between {} and {}",
            utc(before),
            utc(after)
        );
    }
    let before = now_s() * 1000;
    let (code, v) = common::json(&["check", &target, "--json"]);
    let after = now_s() * 1000 + 999;
    assert_eq!(code, Some(0), "{v}");
    let ms = v["checked_at_unix_ms"].as_u64().unwrap();
    assert!(
        (before..=after).contains(&ms),
        "{ms} not in {before}..={after}"
    );
}

/// A number where the host goes (`80:90`) or one of inet_aton's short forms is refused in one
/// line, exit 2 (today's trial: `check 80:90` checked 0.0.0.80 and said it was not an address
/// of this machine); a dotted quad still checks.
#[test]
fn a_number_or_a_short_form_is_no_host() {
    refused_in_one_line(
        &["check", "80:90"],
        "'80:90': 80 is not an address; give HOST:PORT (e.g. 127.0.0.1:90), and a range of ports as 80-90 to scan",
    );
    refused_in_one_line(&["report", "80:90"], "'80:90': 80 is not an address");
    for short in ["127.1:80", "0x7f.1:80", "2130706433.0:80"] {
        refused_in_one_line(
            &["check", short],
            "is not an address: write it as four numbers",
        );
    }
    refused_in_one_line(&["window", "80:90"], "'80:90': 80 is not an address");
    let port = common::free_tcp_port();
    let (code, out, err) = run(&["check", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 0, "{out}{err}");
}

/// `--on`'s help names exactly the commands that take it (it left out watch, which took it):
/// each command it names is sent over ssh (to an ssh client that does not exist here: exit 4,
/// "no ssh client"), and every other command of `--help`, the window included, is refused
/// before anything runs, in one line naming the same list, exit 2.
#[test]
fn on_help_names_exactly_the_commands_that_take_it() {
    let (_, help, _) = run(&["--help"]);
    let para: String = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("--on <"))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !l.trim_start().starts_with('-'))
        .map(|(_, l)| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let list = para.rsplit_once("): ").map_or_else(
        || panic!("--on's help lists commands: {help}"),
        |(_, l)| l.trim_end_matches('.').to_owned(),
    );
    let listed: Vec<&str> = list
        .split([',', ' '])
        .filter(|w| !w.is_empty() && *w != "and")
        .collect();
    assert!(listed.contains(&"watch"), "{para}");
    let commands = subcommands(&help);
    assert!(commands.len() > listed.len(), "{help}");
    for name in &listed {
        assert!(
            commands.contains(name),
            "--on names {name}, no command: {help}"
        );
    }
    for name in commands {
        let args: &[&str] = match name {
            "check" | "who" | "end" | "report" | "listen" | "matrix" | "history" => &["80"],
            "watch" => &["80", "--until", "free"],
            "scan" => &["1-2"],
            "explain" => &["98"],
            "completions" => &["bash"],
            _ => &[],
        };
        let out = common::bin()
            .arg(name)
            .args(args)
            .args(["--on", "nowhere.invalid"])
            .env("PORT_INSPECTOR_SSH", "/nonexistent/ssh")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if listed.contains(&name) {
            assert_eq!(
                out.status.code(),
                Some(4),
                "{name} --on is sent over ssh: {err}"
            );
            assert!(err.contains("no ssh client"), "{name}: {err}");
        } else {
            assert_eq!(out.status.code(), Some(2), "{name} --on is refused: {err}");
            assert_eq!(
                err.trim_end(),
                format!(
                    "port-inspector: error: --on is not available for {name}: it works with {list}"
                ),
                "{name}"
            );
        }
    }
}

/// A database history cannot read is said once (today's trial: "FILE: file is not a database:
/// file is not a database: Error code 26: file is not a database"): one line, SQLite's answer
/// once, exit 1.
#[test]
fn an_unreadable_history_database_is_said_once() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pi-bad-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("not-a.db");
    std::fs::write(
        &db,
        "this is not SQLite, and long enough to be read as a header\n".repeat(20),
    )
    .unwrap();
    let (code, out, err) = run(&["history", "80", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "port-inspector: error: {}: file is not a database",
            db.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `history --pid` that is not a process number says which option and what to give, in one
/// line with exit 2, its text cleaned (clap's own "invalid digit found in string" named
/// neither, and PID 0 was taken).
#[test]
fn history_pid_that_is_not_a_process_number_is_one_clear_line() {
    for bad in ["abc", "0", "4294967296", "a\u{1b}[31mb"] {
        let (code, out, err) = run(&["history", "--pid", bad]);
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("give a process number (1 or more)"),
            "{bad}: {err}"
        );
        assert!(!err.contains('\u{1b}'), "no raw escape: {err:?}");
    }
}

/// `free` that finds fewer ports than asked says why on standard error (it printed them and
/// exited 1, saying nothing): the ports of the range it could not bind, or a range too small.
#[test]
fn free_says_why_it_found_fewer_ports_than_asked() {
    let ip = common::private_loopback();
    let base = common::free_run(ip, 2);
    let held = TcpListener::bind((ip, base)).unwrap();
    let host = ip.to_string();
    let range = format!("{base}-{}", base + 1);
    let (code, out, err) = run(&["free", "--host", &host, "--range", &range, "--count", "2"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(out.trim(), (base + 1).to_string(), "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "port-inspector: note: found 1 free port of 2 asked for: every port of {range} was tried, and 1 port could not be bound for TCP on {ip} just now (in use, or refused); give a wider --range"
        )
    );
    let one = format!("{}-{}", base + 1, base + 1);
    let (code, _, err) = run(&["free", "--host", &host, "--range", &one, "--count", "2"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("found 1 free port of 2 asked for: the range")
            && err.contains("holds only 1 port"),
        "{err}"
    );
    drop(held);
}

/// Every example in the commands' help runs as printed in a shell: an IPv6 address in brackets
/// is quoted (`check [::1]:5432` is a glob: zsh refuses it when no file matches, and bash turns
/// it into a file's name when one does).
#[test]
fn help_examples_quote_what_a_shell_would_expand() {
    let (_, top, _) = run(&["--help"]);
    let mut examples = 0;
    for name in subcommands(&top) {
        let (_, help, _) = run(&[name, "--help"]);
        for line in help
            .lines()
            .skip_while(|l| !l.starts_with("Examples:"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
        {
            examples += 1;
            let words = shlex_words(line.trim());
            for w in &words {
                assert!(
                    !(w.starts_with('[') && line.contains(&format!(" {w}"))),
                    "{name}: '{w}' unquoted in: {line}"
                );
            }
        }
    }
    assert!(examples > 20, "examples read: {examples}");
}

/// The words of a command line, split on spaces outside single quotes (enough for the help's
/// examples).
fn shlex_words(line: &str) -> Vec<String> {
    let mut words = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => words.push(String::new()),
            c => words.last_mut().unwrap().push(c),
        }
    }
    words.retain(|w| !w.is_empty());
    words
}

/// The commands `--help` lists (`help` aside).
fn subcommands(help: &str) -> Vec<&str> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command's line; its description's wrapped lines are indented further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect()
}
