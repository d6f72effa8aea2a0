//! Shipping: completions and the man page cover every
//! subcommand, ndjson parses line by line, --quiet prints nothing, and the README's commands are
//! the ones CI runs.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::TcpListener;

/// Every subcommand, read from the command line's own definition (a hand-kept list lacked
/// `window` and `watch`), and clap's `help`.
fn subcommands() -> Vec<String> {
    use clap::CommandFactory as _;
    let mut names: Vec<String> = port_inspector::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    assert!(names.len() >= 15, "the subcommands: {names:?}");
    names.push("help".to_owned());
    names
}

#[test]
fn completions_and_man_page_mention_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = common::bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for sub in &subcommands() {
            assert!(
                text.contains(sub.as_str()),
                "{shell} completion lacks {sub}"
            );
        }
    }
    let out = common::bin().arg("man").output().unwrap();
    let man = String::from_utf8(out.stdout).unwrap();
    assert!(man.contains(".TH port-inspector"), "roff on stdout");
    // One page per subcommand, so every page the main one names exists (man port-inspector-check).
    let dir = std::env::temp_dir().join(format!("pi-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = common::bin()
        .args(["man", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "man --dir");
    let main_page = std::fs::read_to_string(dir.join("port-inspector.1")).unwrap();
    for sub in subcommands().iter().filter(|s| *s != "help") {
        let page = std::fs::read_to_string(dir.join(format!("port-inspector-{sub}.1")))
            .unwrap_or_else(|e| panic!("page for {sub}: {e}"));
        assert!(
            page.contains(&format!(".TH port-inspector-{sub}")),
            "man page for {sub}"
        );
        assert!(page.contains("Exit codes"), "{sub}: exit codes documented");
        assert!(main_page.contains(sub), "main page names {sub}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let bad = common::bin()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "unknown shell is a usage error");
}

#[test]
fn every_subcommand_help_has_an_example() {
    for sub in subcommands().iter().filter(|s| *s != "help") {
        let out = common::bin().args([sub, "--help"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Examples:\n  port-inspector") || text.contains("Examples:\n  PORT="),
            "{sub} --help has examples:\n{text}"
        );
        assert!(
            text.contains("Exit codes:\n  0  "),
            "{sub} --help documents its exit codes:\n{text}"
        );
    }
}

#[test]
fn ndjson_parses_line_by_line_for_who_and_scan() {
    let ip = common::private_loopback();
    let p = common::free_run(ip, 10);
    let held = TcpListener::bind((ip, p + 5)).unwrap();
    let out = common::bin()
        .args(["who", &(p + 5).to_string(), "--format", "ndjson"])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty(), "one line per owner");
    assert!(lines.iter().all(|v| v["type"] == "owner"), "typed");
    assert!(
        lines.iter().any(|v| v["pid"] == std::process::id()),
        "our PID"
    );

    let out = common::bin()
        .args([
            "scan",
            &format!("{p}-{}", p + 9),
            "--host",
            &ip.to_string(),
            "--format",
            "ndjson",
        ])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let busy: Vec<&serde_json::Value> = lines.iter().filter(|v| v["type"] == "busy").collect();
    let free: Vec<&serde_json::Value> = lines.iter().filter(|v| v["type"] == "free").collect();
    assert_eq!(busy.len(), 1, "{lines:?}");
    assert_eq!(busy[0]["port"], p + 5, "busy port");
    assert_eq!(free.len(), 2, "free ranges around it");
    drop(held);
}

#[test]
fn quiet_prints_nothing_and_answers_with_the_exit_code() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = common::bin()
        .args(["check", &format!("127.0.0.1:{port}"), "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "not bindable");
    assert!(out.stdout.is_empty(), "quiet");
    let out = common::bin()
        .args(["-q", "check", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(
        (out.status.code(), out.stdout.len()),
        (Some(0), 0),
        "bindable, quiet"
    );
    let out = common::bin()
        .args(["check", &format!("127.0.0.1:{port}")])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        !out.stdout.contains(&0x1b),
        "no escape codes when not a terminal / NO_COLOR"
    );
}

#[test]
fn readme_commands_are_the_ones_ci_runs() {
    // Built in, not read at run time: the Windows build of this test runs under Wine, which sees
    // only the folders .ci/wine10 binds, and a CI run found no README.md there.
    let readme = include_str!("../README.md");
    let ci = include_str!("../.ci/run");
    assert!(
        readme.contains("cargo run --release"),
        "README: how to run the app"
    );
    assert!(
        readme.contains("\ncargo test "),
        "README: how to run the tests"
    );
    assert!(
        ci.lines()
            .any(|l| l.trim() == "cargo test -- --include-ignored"),
        "CI runs the README's test command, with the tests it ignores for a normal user"
    );
    assert!(
        readme.contains("cargo test -- --include-ignored"),
        "README: how CI runs the ignored tests"
    );
    assert!(
        ci.contains("cargo install") && ci.contains("--no-default-features"),
        "CI installs the command-line-only build"
    );
    assert!(
        ci.contains("cargo fmt --all -- --check")
            && ci.contains("cargo clippy --all-targets -- -D warnings"),
        "lint"
    );
    assert!(
        readme.contains("examples/fanout.sh"),
        "the fan-out example is documented"
    );
}
