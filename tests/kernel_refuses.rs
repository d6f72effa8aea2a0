//! When the kernel says no: a sandbox that refuses netlink sockets (the socket dump) and a
//! descriptor limit too low to look. The answer then comes from /proc/net (as `ss` does), or it
//! is unknown (exit 3) with what could not be read; never "nothing".
#![cfg(target_os = "linux")] // seccomp, prlimit, /proc/net: Linux facts.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin_with_nofile, bin_without_netlink, private_loopback};

fn run(mut c: std::process::Command) -> (Option<i32>, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs python3 (a seccomp filter); CI runs it (cargo test -- --include-ignored)"]
fn without_netlink_every_command_still_finds_the_listener() {
    let ip = private_loopback().to_string();
    let holder = common::holder::spawn("tcp", &format!("{ip}:0"));
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
        out.contains(&format!(
            "in use by {} (PID {pid})",
            common::holder::image()
        )),
        "check names the holder: {out}"
    );
    assert!(!out.contains("another network namespace"), "{out}");
}

#[test]
fn too_few_descriptors_to_look_is_unknown_never_nothing() {
    let ip = private_loopback().to_string();
    let holder = common::holder::spawn("tcp", &format!("{ip}:0"));
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

/// Whether the holder still runs.
fn holder_alive(h: &common::Holder) -> bool {
    // Not a zombie: a child that was ended stays in /proc until it is reaped.
    std::fs::read_to_string(format!("/proc/{}/stat", h.child.id())).is_ok_and(|s| {
        s.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
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
#[ignore = "needs root and python3: a private mount namespace and a seccomp filter; CI runs it (cargo test -- --include-ignored)"]
fn with_no_socket_table_readable_every_command_says_unknown() {
    common::require(common::is_root(), "root (a private mount namespace)");
    let ip = private_loopback().to_string();
    let holder = common::holder::spawn("tcp", &format!("{ip}:0"));
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

    // Asked to end, it ends nothing and shows the plan it could not complete.
    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&[
        "end", &port, "--yes", "--json",
    ])));
    assert_eq!(code, Some(3), "end --yes: {out}{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["refused"][0]["read_instead"], false, "{plan}");
    assert!(holder_alive(&holder), "nothing was ended");

    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&["check", &target])));
    assert_eq!(code, Some(1), "the bind itself failed: {out}{err}");
    assert!(!out.contains("another network namespace"), "{out}");
    assert!(
        out.contains("could not be read"),
        "check says what it could not read: {out}"
    );

    let range = format!("{port}-{port}");
    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&[
        "scan", &range, "--host", &ip, "--json",
    ])));
    assert_eq!(code, Some(0), "scan: {out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let note = &v["busy"][0]["notes"][0];
    assert_eq!(
        (&note["kind"], &note["refused"][0]["read_instead"]),
        (
            &serde_json::json!("tables_unread"),
            &serde_json::json!(false)
        ),
        "a busy port says its owners may be missing, typed: {v}"
    );
    // The scan's own line says it in words.
    let (code, out, err) = run(without_proc_net(&bin_without_netlink(&[
        "scan", &range, "--host", &ip,
    ])));
    assert_eq!(code, Some(0), "scan: {out}{err}");
    assert!(
        out.contains("could not be read"),
        "a busy port says its owners may be missing: {out}"
    );
}

/// A holder moved into a cgroup named as Docker names a container's (`docker-ID.scope`, in the
/// `pids` hierarchy), so its lookup asks the container runtime for the container's name; the
/// cgroup is removed when dropped.
struct InContainerCgroup {
    holder: common::Holder,
    dir: std::path::PathBuf,
}

impl Drop for InContainerCgroup {
    fn drop(&mut self) {
        let _ = self.holder.child.kill();
        let _ = self.holder.child.wait();
        // The cgroup empties once the holder is reaped; rmdir then succeeds.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::remove_dir(&self.dir).is_err() && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
    }
}

#[test]
#[ignore = "needs root and cgroup v1 pids; CI runs it (cargo test -- --include-ignored)"]
fn a_runtime_that_trickles_its_answer_holds_no_lookup() {
    use std::io::{Read as _, Write as _};
    common::require(
        common::is_root() && std::path::Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists(),
        "root and the cgroup v1 pids hierarchy (a container-like cgroup for the holder)",
    );
    let ip = private_loopback();
    let holder = common::holder::spawn("tcp", &format!("{ip}:0"));
    let id: String = format!("{:016x}", std::process::id())
        .chars()
        .chain(
            format!("{ip:?}")
                .bytes()
                .map(|b| char::from(b"0123456789abcdef"[usize::from(b % 16)])),
        )
        .cycle()
        .take(64)
        .collect();
    let dir = std::path::PathBuf::from(format!("/sys/fs/cgroup/pids/docker-{id}.scope"));
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("cgroup.procs"), holder.child.id().to_string()).unwrap();
    let port = holder.port.to_string();
    let held = InContainerCgroup { holder, dir };

    // The fake runtime: reads the request, then sends one byte every 0.4 s (30 bytes: 12 s).
    let sock_dir =
        std::env::temp_dir().join(format!("pi-slow-runtime-{}-{ip}", std::process::id()));
    std::fs::create_dir_all(&sock_dir).unwrap();
    let sock = sock_dir.join("docker.sock");
    let _ = std::fs::remove_file(&sock);
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        for mut c in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut req = [0u8; 1024];
                let _ = c.read(&mut req);
                for b in b"HTTP/1.0 200 OK\r\n\r\n{\"Name\":\"/x\"}"
                    .iter()
                    .cycle()
                    .take(30)
                {
                    if c.write_all(&[*b]).is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(400));
                }
            });
        }
    });
    for args in [
        vec!["who", port.as_str()],
        vec!["list", "--port", port.as_str()],
    ] {
        let started = std::time::Instant::now();
        let out = common::bin()
            .args(&args)
            .env("DOCKER_HOST", format!("unix://{}", sock.display()))
            .output()
            .unwrap();
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&held.holder.child.id().to_string())
                && (args[0] == "who" || text.contains("container")),
            "{args:?}: {text}"
        );
        assert!(
            took < std::time::Duration::from_secs(3),
            "{args:?} waited {took:?} on a runtime that trickles its answer"
        );
    }
    let _ = std::fs::remove_dir_all(&sock_dir);
}
