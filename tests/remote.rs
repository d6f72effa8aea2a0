//! `--on HOST`: another machine asked over real ssh. Each test builds its own two-machine lab:
//! two network namespaces it creates ("here" and "there"), joined by a veth pair with their own
//! addresses, and a private sshd with its own keys inside "there". A port held only inside
//! "there" is free here and held there, so the remote answer provably is the remote's. The
//! client reaches it with its own config (`PORT_INSPECTOR_SSH="ssh -F …"`): its key, its
//! known_hosts; nothing of this machine's ssh setup is read or changed.
#![cfg(target_os = "linux")] // network namespaces, sshd: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::io::BufRead as _;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::lab::{Lab, THERE, pi};

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn a_port_held_only_there_is_free_here_and_held_on_the_other_machine() {
    let lab = Lab::new("a");
    let (mut holder, port) = lab.hold_there();
    let p = port.to_string();

    // Here: nobody on the port, and it binds.
    let here = lab.pi(&["who", &p]);
    assert_eq!(
        here.status.code(),
        Some(1),
        "nobody here: {:?}",
        text(&here)
    );
    let here = lab.pi(&["check", &p, "--quiet"]);
    assert_eq!(here.status.code(), Some(0), "bindable here");

    // There: held, by the holder, named with its PID as the other machine sees it.
    let there = lab.pi_on(&["who", &p]);
    let (out, err) = text(&there);
    assert_eq!(there.status.code(), Some(0), "{out}{err}");
    assert!(
        out.starts_with(&format!("On {THERE} (over ssh):\n")),
        "marked: {out}"
    );
    assert!(
        out.contains(&format!("(PID {})", holder.id())),
        "the holder named: {out}"
    );
    assert!(out.contains("holder"), "{out}");
    assert!(
        !err.contains("runs port-inspector"),
        "same version, no mismatch said: {err}"
    );

    let check = lab.pi_on(&["check", &p]);
    let (out, err) = text(&check);
    assert_eq!(
        check.status.code(),
        Some(1),
        "not bindable there: {out}{err}"
    );
    assert!(out.contains("NOT BINDABLE"), "{out}");
    assert!(out.contains(&format!("(PID {})", holder.id())), "{out}");

    // A UDP check and a bind-only check there (the holder's is TCP, listening): there's own
    // `check` takes the words it is sent (it was sent --backlog with --udp and --no-listen,
    // which it refuses: exit 2, "refused").
    for (args, code) in [
        (&["--udp"][..], 0),
        (&["--no-listen"][..], 1),
        (&["--backlog", "7"][..], 1),
    ] {
        let check = lab.pi_on(&[&["check", &p][..], args].concat());
        let (out, err) = text(&check);
        assert_eq!(check.status.code(), Some(code), "{args:?}: {out}{err}");
    }

    // JSON: the same typed value, marked with the machine.
    let json = lab.pi_on(&["check", &p, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["machine"], THERE, "{v}");
    assert_eq!(v["verdict"], "not_bindable", "{v}");
    assert_eq!(v["owners"][0]["pid"], holder.id(), "{v}");

    // list, scan, facts and report answer from there too.
    let list = lab.pi_on(&["list", "--port", &p]);
    assert_eq!(list.status.code(), Some(0), "{:?}", text(&list));
    assert!(
        text(&list).0.contains(&format!("{}", holder.id())),
        "{:?}",
        text(&list)
    );
    let list = lab.pi_on(&["list", "--port", &p, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows[0]["owners"][0]["pid"], holder.id(), "{rows}");
    assert_eq!(rows[0]["machine"], THERE, "{rows}");
    let scan = lab.pi_on(&["scan", &format!("{p}-{p}"), "--host", "0.0.0.0", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(v["busy"][0]["port"], port, "{v}");
    let facts = lab.pi_on(&["facts"]);
    assert!(
        text(&facts).0.contains(THERE),
        "there's own address among its facts: {:?}",
        text(&facts)
    );
    let here_facts = lab.pi(&["facts"]);
    assert!(!text(&here_facts).0.contains(THERE), "not among ours");
    let file = lab.dir.join("report.md");
    let report = lab.pi_on(&["report", &p, "-o", file.to_str().unwrap()]);
    assert_eq!(report.status.code(), Some(1), "{:?}", text(&report));
    let md = std::fs::read_to_string(&file).unwrap();
    assert!(md.starts_with(&format!("**Machine:** {THERE}")), "{md}");

    // end there: without --yes and without a terminal it refuses, ending nothing; the plan
    // is shown.
    let refused = lab.pi_on(&["end", &p]);
    let (out, err) = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{out}{err}");
    assert!(err.contains("no terminal to confirm on"), "{err}");
    assert!(holder.try_wait().unwrap().is_none(), "nothing ended");
    // With --yes it ends it there, and the remote proves the port free.
    let ended = lab.pi_on(&["end", &p, "--yes"]);
    let (out, err) = text(&ended);
    assert_eq!(ended.status.code(), Some(0), "{out}{err}");
    let start = Instant::now();
    while holder.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < common::PATIENCE, "the holder ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    let who = lab.pi_on(&["who", &p]);
    assert_eq!(
        who.status.code(),
        Some(1),
        "nobody there now: {:?}",
        text(&who)
    );
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn unknown_or_changed_host_keys_are_refused_never_accepted() {
    let lab = Lab::new("k");
    // A known_hosts that records another key for the machine: refused, exit 6.
    lab.trust(&lab.dir.join("other_key.pub"));
    let o = lab.pi_on(&["who", "22"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(6), "{out}{err}");
    assert!(err.contains("has CHANGED"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(out.is_empty(), "{out}");
    // No known key at all: refused too, and nothing was added to known_hosts.
    std::fs::write(lab.dir.join("known_hosts"), "").unwrap();
    let o = lab.pi_on(&["who", "22"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(err.contains("is not known here"), "{err}");
    assert_eq!(
        std::fs::read_to_string(lab.dir.join("known_hosts")).unwrap(),
        "",
        "never accepted"
    );
    // A key the machine does not accept: exit 5.
    lab.trust(&lab.dir.join("host_key.pub"));
    lab.client_config("other_key");
    let o = lab.pi_on(&["who", "22"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(err.contains("refused the login"), "{err}");
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn an_unreachable_machine_and_a_missing_program_each_say_so() {
    let lab = Lab::new("u");
    // Nothing listens on port 2 there: connection refused, exit 4.
    let o = lab.pi(&["who", "22", "--on", &format!("{THERE}:2")]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.starts_with(&format!("port-inspector: error: cannot reach {THERE}:2")),
        "{err}"
    );
    // A name that does not resolve.
    let o = lab.pi(&["who", "22", "--on", "nowhere.invalid"]);
    assert_eq!(o.status.code(), Some(4), "{:?}", text(&o));
    // No such program there: exit 7, with the install command for that machine's OS.
    let o = lab.pi(&[
        "who",
        "22",
        "--on",
        THERE,
        "--remote-path",
        "/nonexistent/port-inspector",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(7), "{out}{err}");
    assert!(err.contains("port-inspector is not installed on"), "{err}");
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    if os_release.contains("ID=debian") || os_release.contains("ID_LIKE=debian") {
        assert!(
            err.contains("sudo apt install ./port-inspector-cli_"),
            "{err}"
        );
    }
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn a_hostile_remote_cannot_drive_the_terminal_or_write_files() {
    let lab = Lab::new("h");
    // A fake port-inspector there: another version, a process name and a note with escape
    // sequences and a forged line, a "path" pointing at a file here.
    let victim = lab.dir.join("victim");
    let owners = serde_json::json!({
        "owners": [{
            "pid": 4242, "pids": [4242], "process": "evil\u{1b}]0;pwned\u{7}\nBINDABLE",
            "path": victim.to_str().unwrap(), "cmdline": "x\u{1b}[2J\u{202e}", "user": "root", "uid": 0,
            "protocol": "tcp", "family": "ipv4", "local": "0.0.0.0:80", "remote": null,
            "state": "LISTEN", "v6_only": null, "inode": 1, "note": null
        }],
        "hidden": 0, "notes": ["\u{1b}[31mred"], "out_of_descriptors": false
    });
    let fake = lab.dir.join("fake-pi");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'port-inspector 0.0.1 (commit x, built y)'; exit 0; fi\nprintf '%s\\n' '{}'\nprintf 'port-inspector: note: \\033[2Jnote\\n' >&2\nexit 0\n",
            serde_json::to_string(&owners).unwrap()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&fake)
        .status()
        .unwrap();
    let o = lab.pi(&[
        "who",
        "80",
        "--on",
        THERE,
        "--remote-path",
        fake.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    for s in [&out, &err] {
        assert!(
            !s.contains('\u{1b}') && !s.contains('\u{7}') && !s.contains('\u{202e}'),
            "escaped: {s:?}"
        );
    }
    assert!(
        out.contains("evil\\x1b]0;pwned\\x07\\nBINDABLE"),
        "shown escaped: {out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("BINDABLE")),
        "no forged line: {out}"
    );
    assert!(
        err.contains("runs port-inspector 0.0.1, this is"),
        "the version mismatch said: {err}"
    );
    assert!(!victim.exists(), "nothing written here");
    // JSON stays exact and parses back to the same text.
    let o = lab.pi(&[
        "who",
        "80",
        "--json",
        "--on",
        THERE,
        "--remote-path",
        fake.to_str().unwrap(),
    ]);
    assert!(!o.stdout.contains(&0x1b), "no raw escape in the document");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["owners"][0]["process"], "evil\u{1b}]0;pwned\u{7}\nBINDABLE",
        "{v}"
    );
    // A reply that is not JSON: one line, exit 7.
    std::fs::write(&fake, "#!/bin/sh\necho 'port-inspector 9.9.9'\n[ \"$1\" = --version ] && exit 0\necho '\u{1b}[2J not json'\n").unwrap();
    let o = lab.pi(&[
        "who",
        "80",
        "--on",
        THERE,
        "--remote-path",
        fake.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(7), "{out}{err}");
    assert!(err.contains("could not be read"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn end_on_ends_only_what_was_confirmed() {
    let lab = Lab::new("e");
    let (mut holder, port) = lab.hold_there();
    // The remote's own end, told other PIDs than those holding the port: refuses, ends nothing.
    let o = lab
        .in_there(pi())
        .args(["end", &port.to_string(), "--yes", "--expect-pids", "1"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("changed since they were confirmed"), "{err}");
    assert!(holder.try_wait().unwrap().is_none(), "nothing ended");
    // A dry run over ssh shows the plan and ends nothing.
    let o = lab.pi_on(&["end", &port.to_string(), "--dry-run"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains(&holder.id().to_string()), "{out}");
    assert!(holder.try_wait().unwrap().is_none(), "nothing ended");
    let _ = holder.kill();
}

#[test]
#[ignore = "needs root, sshd and ssh (network namespaces and a private sshd); CI runs it (cargo test -- --include-ignored)"]
fn watch_on_streams_the_other_machines_changes() {
    let lab = Lab::new("w");
    let (mut holder, port) = lab.hold_there();
    let mut watch = lab
        .in_here(pi())
        .args([
            "watch",
            &port.to_string(),
            "--until",
            "free",
            "--json",
            "--interval",
            "0.1",
        ])
        .args(["--timeout", "60", "--on", THERE, "--remote-path", pi()])
        .env(
            "PORT_INSPECTOR_SSH",
            format!("ssh -F {}/ssh_config", lab.dir.display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["machine"], THERE, "{first}");
    assert_eq!(
        first["state"]["verdict"], "not_bindable",
        "taken there: {first}"
    );
    assert_eq!(first["state"]["holders"][0]["pid"], holder.id(), "{first}");
    // Free here all along; the holder there ends: the next event is free, and the watch is done.
    drop(holder.stdin.take());
    holder.wait().unwrap();
    let freed: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(freed["state"]["verdict"], "bindable", "{freed}");
    assert_eq!(freed["met"], true, "{freed}");
    assert_eq!(watch.wait().unwrap().code(), Some(0), "met there: exit 0");
}
