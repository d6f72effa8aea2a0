//! When the kernel says no: a sandbox that refuses netlink sockets (the socket dump) and a
//! descriptor limit too low to look. The answer then comes from /proc/net (as `ss` does), or it
//! is unknown (exit 3) with what could not be read; never "nothing".
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin_with_nofile, bin_without_netlink, private_loopback, spawn_holder};

fn run(mut c: std::process::Command) -> (Option<i32>, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_netlink_every_command_still_finds_the_listener() {
    let ip = private_loopback().to_string();
    let holder = spawn_holder("tcp", &ip);
    let (port, pid) = (holder.port.to_string(), holder.child.id().to_string());

    let (code, out, err) = run(bin_without_netlink(&["list", "--json"]));
    assert_eq!(code, Some(0), "list: {out}{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mine = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local"] == format!("{ip}:{port}").as_str())
        .unwrap_or_else(|| panic!("list --json without netlink lacks {ip}:{port}: {out}"));
    assert_eq!(mine["owners"][0]["pid"], holder.child.id(), "{mine}");
    assert!(err.contains("/proc/net"), "list says where it read: {err}");

    let (code, out, err) = run(bin_without_netlink(&["list"]));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!out.contains("No socket matches"), "{out}");
    assert!(
        out.contains(&format!("{ip}:{port}")),
        "list without netlink: {out}"
    );

    let (code, out, err) = run(bin_without_netlink(&["who", &port]));
    assert_eq!(code, Some(0), "who: {out}{err}");
    assert!(
        out.contains(&format!("(PID {pid})")),
        "who names the holder: {out}"
    );
    assert!(!out.contains("No socket uses port"), "{out}");
    assert!(out.contains("/proc/net"), "who says where it read: {out}");

    let (code, out, err) = run(bin_without_netlink(&["end", &port, "--dry-run"]));
    assert_eq!(code, Some(0), "end --dry-run: {out}{err}");
    assert!(
        out.contains(&format!("(PID {pid})")),
        "end plans the holder: {out}"
    );
    assert!(!out.contains("No process holds"), "{out}");

    let (code, out, err) = run(bin_without_netlink(&["check", &format!("{ip}:{port}")]));
    assert_eq!(code, Some(1), "check: {out}{err}");
    assert!(
        out.contains(&format!("in use by python3 (PID {pid})")),
        "check names the holder: {out}"
    );
    assert!(!out.contains("another network namespace"), "{out}");
}

#[test]
fn too_few_descriptors_to_look_is_unknown_never_nothing() {
    let ip = private_loopback().to_string();
    let holder = spawn_holder("tcp", &ip);
    let port = holder.port.to_string();
    // Standard input, output and error, and one more: the dump takes it or /proc/net does.
    for n in [4, 5] {
        let (code, out, err) = run(bin_with_nofile(n, &["list"]));
        assert!(
            code == Some(3) || (code == Some(0) && out.contains(&format!("{ip}:{port}"))),
            "list with {n} descriptors: exit {code:?}: {out}{err}"
        );
        assert!(!out.contains("No socket matches"), "{out}{err}");

        let (code, out, err) = run(bin_with_nofile(n, &["list", "--json"]));
        assert!(
            code == Some(3) || (code == Some(0) && out.contains(&format!("{ip}:{port}"))),
            "list --json with {n} descriptors: exit {code:?}: {out}{err}"
        );

        let (code, out, err) = run(bin_with_nofile(n, &["who", &port]));
        assert!(
            matches!(code, Some(0 | 3)),
            "who with {n} descriptors: {code:?} {out}{err}"
        );
        assert!(!out.contains("No socket uses port"), "{out}");

        let (code, out, err) = run(bin_with_nofile(n, &["end", &port, "--dry-run"]));
        assert!(
            code == Some(3) || out.contains(&format!("(PID {})", holder.child.id())),
            "end --dry-run with {n} descriptors: {code:?} {out}{err}"
        );
        assert!(!out.contains("No process holds"), "{out}");

        let (code, out, err) = run(bin_with_nofile(n, &["check", &format!("{ip}:{port}")]));
        assert!(matches!(code, Some(1 | 3)), "check: {code:?} {out}{err}");
        assert!(!out.contains("another network namespace"), "{out}");
    }
}

/// `c` run in a private mount namespace whose /proc shows processes only (`subset=pid`: no
/// /proc/net), so with netlink refused too no socket table can be read at all.
fn without_proc_net(c: &std::process::Command) -> std::process::Command {
    let mut u = std::process::Command::new("unshare");
    u.args([
        "-m",
        "sh",
        "-c",
        "mount -t proc -o subset=pid proc /proc && exec \"$@\"",
        "sh",
    ])
    .arg(c.get_program())
    .args(c.get_args());
    u
}

#[test]
fn with_no_socket_table_readable_every_command_says_unknown() {
    common::require(common::is_root(), "root (a private mount namespace)");
    let ip = private_loopback().to_string();
    let holder = spawn_holder("tcp", &ip);
    let port = holder.port.to_string();
    let target = format!("{ip}:{port}");

    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&["who", &port])));
    assert_eq!(code, Some(3), "who: {out}{err}");
    assert!(out.starts_with("Unknown"), "{out}");
    assert!(!out.contains("No socket uses port"), "{out}");

    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&["list"])));
    assert_eq!(code, Some(3), "list: {out}{err}");
    assert!(!out.contains("No socket matches"), "{out}");
    assert!(
        err.contains("/proc/net could not be read"),
        "list says what it could not read: {err}"
    );

    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&["list", "--json"])));
    assert_eq!(code, Some(3), "list --json: {out}{err}");

    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&[
        "end",
        &port,
        "--dry-run",
    ])));
    assert_eq!(code, Some(3), "end --dry-run: {out}{err}");
    assert!(!out.contains("No process holds"), "{out}");

    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&["check", &target])));
    assert_eq!(code, Some(1), "the bind itself failed: {out}{err}");
    assert!(!out.contains("another network namespace"), "{out}");
    assert!(
        out.contains("could not be read"),
        "check says what it could not read: {out}"
    );
}
