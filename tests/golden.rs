//! The words and documents of every command on fixed real situations, kept in
//! `tests/golden/` and compared on each run: a restructuring that changes no behaviour changes
//! none of them, and an output changed on purpose is updated on purpose
//! (`UPDATE_GOLDEN=1 cargo test --test golden -- --include-ignored`, then read the diff).
//!
//! The situations are staged in network and PID namespaces this test creates (`unshare`), so
//! nothing else on the machine is in them: a real holder process on 127.0.0.1, a free port, bad
//! input. What differs from run to run (the port, PIDs, times, the namespace's number, paths) is
//! replaced by a placeholder before comparing; nothing else is.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The commands, by name, in a network namespace of their own where a holder listens on
/// 127.0.0.1:8080, a holder and its child share 127.0.0.1:8443, and 8081 is free (fixed ports
/// are safe there: nothing else is in it).
const COMMANDS: &[(&str, &str)] = &[
    ("check-held", "check 127.0.0.1:8080"),
    ("check-held-json", "check 127.0.0.1:8080 --json"),
    ("check-wildcard", "check 8080"),
    ("check-free", "check 127.0.0.1:8081"),
    ("check-free-udp-json", "check 127.0.0.1:8081 --udp --json"),
    ("who", "who 8080"),
    ("who-json", "who 8080 --json"),
    ("who-shared", "who 8443"),
    ("end-dry-run", "end 8080 --dry-run"),
    ("end-dry-run-shared", "end 8443 --dry-run"),
    ("list", "list"),
    ("list-json", "list --json"),
    ("scan", "scan 8079-8081 --host 127.0.0.1"),
    ("scan-json", "scan 8079-8081 --host 127.0.0.1 --json"),
    ("explain", "explain 10048"),
    ("bad-port", "check 127.0.0.1:99999"),
    ("bad-target", "check 127.0.0.1:80x"),
];

/// Runs every command in fresh network and PID namespaces with the holders, and returns each
/// command's normalised output, standard error and exit code as one text.
fn stage(dir: &Path) -> Vec<(String, String)> {
    let mut script = String::from(
        "set -e\nip link set lo up\n\
         sleep 600 | \"$HOLDER\" tcp 127.0.0.1:8080 > \"$DIR/held\" &\n\
         echo $! > \"$DIR/pids\"\n\
         sleep 600 | \"$HOLDER\" tcp 127.0.0.1:8443 --child > \"$DIR/shared\" &\n\
         echo $! >> \"$DIR/pids\"\n\
         i=0; while [ ! -s \"$DIR/held\" ] || [ ! -s \"$DIR/shared\" ]; do i=$((i+1)); [ $i -gt 400 ] && exit 9; sleep 0.05; done\n\
         set +e\n",
    );
    for (name, args) in COMMANDS {
        let _ = writeln!(
            script,
            "\"$BIN\" {args} > \"$DIR/{name}.out\" 2> \"$DIR/{name}.err\"; echo $? > \"$DIR/{name}.rc\""
        );
    }
    let out = std::process::Command::new("unshare")
        .args([
            "--net",
            "--pid",
            "--fork",
            "--mount-proc",
            "sh",
            "-c",
            &script,
        ])
        .env("HOLDER", common::holder::path())
        .env("BIN", env!("CARGO_BIN_EXE_port-inspector"))
        .env("DIR", dir)
        .env("NO_COLOR", "1")
        // The binary's folder first on PATH, as for an installed program: the commands it
        // prints name `port-inspector` (it names itself by its path where that name runs
        // another program or none; tests/cli.rs runs that case through sh).
        .env("PATH", installed_path())
        // No recorder database: what a recorder on this machine saw is not part of the answer
        // the files keep (its words have tests of their own).
        .env("PORT_INSPECTOR_DB", dir.join("no-recorder.db"))
        .output()
        .expect("unshare (util-linux) runs");
    assert!(
        out.status.success(),
        "the stage: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every PID of the namespace's processes (PIDs there are small numbers that would also match
    // a column or a count, so they are replaced where they stand as PIDs only).
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let pids: Vec<String> = [read("pids"), read("shared")]
        .iter()
        .flat_map(|t| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| w != "8443")
        .collect();
    COMMANDS
        .iter()
        .map(|(name, args)| {
            let text = format!(
                "$ port-inspector {args}\n--- exit {}--- stdout\n{}--- stderr\n{}",
                read(&format!("{name}.rc")),
                machine_free(&read(&format!("{name}.out"))),
                read(&format!("{name}.err"))
            );
            ((*name).to_owned(), normalise(&text, &pids))
        })
        .collect()
}

/// PATH with the built binary's folder first.
fn installed_path() -> std::ffi::OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_port-inspector"));
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(
        std::iter::once(bin.parent().unwrap().to_path_buf()).chain(std::env::split_paths(&dirs)),
    )
    .unwrap()
}

/// A JSON document with the machine's own facts (kernel version, host name, limits) and the
/// build that answered (commit, date) replaced by placeholders, pretty-printed; any other text as it is. The facts have tests of their own;
/// here they would make the files differ from machine to machine.
fn machine_free(out: &str) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    // The facts, and the build (commit and date) that answered.
                    if k == "facts" || k == "tool" {
                        *x = serde_json::Value::String(format!("<{}>", k.to_uppercase()));
                    } else {
                        strip(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(out) {
        Ok(mut v) => {
            strip(&mut v);
            serde_json::to_string_pretty(&v).unwrap() + "\n"
        }
        Err(_) => out.to_owned(),
    }
}

/// Replaces what differs between runs with placeholders: PIDs, times, the network namespace's
/// number, the paths of the binaries.
fn normalise(text: &str, pids: &[String]) -> String {
    let mut subs: Vec<(String, &str)> = [
        (r#""elapsed_us": \d+"#, r#""elapsed_us": 0"#),
        (r#""checked_at_unix_ms": \d+"#, r#""checked_at_unix_ms": 0"#),
        (r"\d+(\.\d+)? (µs|ms|s)\b", "<TIME>"),
        (r"net:\[\d+\]", "net:[<NS>]"),
        (r"PID \d+", "PID <PID>"),
        (r#""(pid|ppid|inode)":( ?)\d+"#, r#""$1":${2}0"#),
        (r#""pids": \[[\d,\s]*\]"#, r#""pids": [<PIDS>]"#),
        (r"kill \d+", "kill <PID>"),
    ]
    .iter()
    .map(|(re, with)| ((*re).to_owned(), *with))
    .collect();
    // `list`'s PID column: the known PIDs where they stand alone in a row of the table.
    for p in pids {
        subs.push((format!(r"(?m)^((?:TCP|UDP) .*\s){p}(\s)"), "${1}<PID>${2}"));
    }
    let mut t = text
        .replace(&common::holder::path().display().to_string(), "<HOLDER>")
        .replace(env!("CARGO_BIN_EXE_port-inspector"), "<BIN>");
    for (re, with) in &subs {
        t = regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, *with)
            .into_owned();
    }
    t
}

fn golden_dir() -> PathBuf {
    common::source_dir().join("tests/golden")
}

#[test]
#[ignore = "needs root (network and PID namespaces, unshare); CI runs it (cargo test -- --include-ignored)"]
fn every_command_says_what_it_said_before() {
    let dir = std::env::temp_dir().join(format!("pi-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let outputs = stage(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut differ = Vec::new();
    for (name, text) in outputs {
        let path = golden_dir().join(format!("{name}.txt"));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let kept = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        if kept != text {
            differ.push(format!(
                "{name}: kept in {}\n{kept}\n--- now:\n{text}",
                path.display()
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "outputs changed (if on purpose: UPDATE_GOLDEN=1 and read the diff):\n{}",
        differ.join("\n")
    );
}
