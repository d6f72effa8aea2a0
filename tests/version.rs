//! Which build wrote this: `--version` names the version, the commit and the build date, and the
//! check's JSON and its text and Markdown reports carry the same, so a ticket says which Port
//! Inspector made it.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::process::Command;

/// The commit git says HEAD is, when the tests run from a git checkout.
fn head_commit() -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(common::source_dir())
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn version_names_version_commit_and_build_date() {
    let out = common::bin().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "--version exits 0");
    let line = String::from_utf8(out.stdout).unwrap();
    let prefix = format!("port-inspector {} (", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&prefix), "{line}");
    let inner = line.trim_end().strip_prefix(&prefix).unwrap();
    let (commit, date) = inner
        .strip_suffix(')')
        .and_then(|s| s.split_once(", built "))
        .unwrap_or_else(|| panic!("(commit …, built DATE): {line}"));
    let d = date.as_bytes();
    assert!(
        d.len() == 10
            && d[4] == b'-'
            && d[7] == b'-'
            && date.replace('-', "").bytes().all(|b| b.is_ascii_digit()),
        "a YYYY-MM-DD date: {line}"
    );
    // Built from this checkout, the binary names the commit its sources are at (build.rs reruns
    // when HEAD moves); elsewhere it says so rather than guess.
    match head_commit() {
        Some(head) => assert_eq!(commit, format!("commit {head}"), "{line}"),
        // Under Wine the test cannot run the build host's git: the binary names the commit the
        // host saw, or says it does not know.
        None if cfg!(windows) => assert!(
            commit == "unknown commit"
                || commit
                    .strip_prefix("commit ")
                    .is_some_and(|c| c.len() == 12 && c.bytes().all(|b| b.is_ascii_hexdigit())),
            "{line}"
        ),
        None => assert_eq!(commit, "unknown commit", "{line}"),
    }
}

#[test]
fn the_check_json_and_both_reports_name_the_build() {
    let out = common::bin().arg("--version").output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (code, v) = common::json(&["check", "127.0.0.1:0", "--json"]);
    assert_eq!(code, Some(0), "127.0.0.1:0 is bindable");
    let tool = &v["tool"];
    assert_eq!(tool["name"], "port-inspector", "{tool}");
    assert_eq!(tool["version"], env!("CARGO_PKG_VERSION"), "{tool}");
    assert!(
        line.contains(tool["commit"].as_str().unwrap())
            && line.contains(tool["build_date"].as_str().unwrap()),
        "JSON {tool} agrees with --version {line}"
    );
    for (format, want) in [
        ("md", format!("| Checked by | {line} |")),
        ("text", format!("Checked by {line}")),
    ] {
        let out = common::bin()
            .args(["report", "127.0.0.1:0", "--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(&want),
            "{format} report names the build:\n{text}"
        );
    }
}
