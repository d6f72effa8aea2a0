//! Answers that must say exactly what is so: a holder's own user, a matrix that could not be
//! tried, `report`'s options, a range error that names what is wrong.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;

#[test]
#[ignore = "needs root: a holder that drops from root to uid 4001; CI runs it (cargo test -- --include-ignored)"]
fn a_holder_that_dropped_privileges_reads_as_its_own_user() {
    common::require(
        common::is_root(),
        "root (a holder that drops from root to uid 4001)",
    );
    let ip = common::private_loopback();
    // The socket is made as root, then the process becomes uid 4001: the socket's uid stays 0.
    let (holder, _) = common::holder::start(&["tcp", &format!("{ip}:0"), "--uid", "4001"]);
    let port = holder.port.to_string();
    let (exit, v) = common::json(&["who", &port, "--json"]);
    assert_eq!(exit, Some(0), "{v}");
    let first = &v["owners"][0];
    assert_eq!(first["pid"], holder.child.id(), "{v}");
    assert_eq!(
        first["uid"], 4001,
        "the process's own uid, not the socket's: {v}"
    );
    assert_ne!(first["user"], "root", "{v}");

    let (_, rows) = common::json(&["list", "--json", "--port", &port]);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["port"] == holder.port)
        .unwrap_or_else(|| panic!("{rows}"));
    assert_ne!(row["owners"][0]["user"], "root", "list: {row}");

    let out = common::bin().args(["who", &port]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("user root"), "{text}");
}

/// A resolver that never answers: a private mount namespace whose /etc/resolv.conf names a
/// loopback address where a UDP socket of this test reads nothing and answers nothing.
fn with_hung_resolver(args: &[&str]) -> std::process::Output {
    let ip = common::private_loopback();
    let silent = std::net::UdpSocket::bind((ip, 53)).unwrap();
    let dir = std::env::temp_dir().join(format!("pi-resolv-{}-{ip}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("resolv.conf");
    let mut f = std::fs::File::create(&conf).unwrap();
    writeln!(f, "nameserver {ip}\noptions timeout:30 attempts:1").unwrap();
    let out = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount --bind \"$CONF\" /etc/resolv.conf && exec \"$@\"",
            "sh",
        ])
        .arg(env!("CARGO_BIN_EXE_port-inspector"))
        .args(args)
        .env("CONF", &conf)
        .output()
        .unwrap();
    drop(silent);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
#[ignore = "needs root: a private mount namespace for resolv.conf; CI runs it (cargo test -- --include-ignored)"]
fn a_matrix_whose_name_never_resolves_is_unknown_not_blocked() {
    common::require(
        common::is_root(),
        "root (a private mount namespace for resolv.conf)",
    );
    let port = common::free_run(common::private_loopback(), 1).to_string();
    let target = format!("hung-resolver.example:{port}");
    let out = with_hung_resolver(&["matrix", &target, "--timeout", "0.5"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "unknown: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("blocked: WSAETIMEDOUT"), "{text}");
    assert!(text.contains("unknown"), "{text}");
}

#[test]
#[ignore = "needs root: a private mount namespace for resolv.conf; CI runs it (cargo test -- --include-ignored)"]
fn report_takes_checks_timeout() {
    common::require(
        common::is_root(),
        "root (a private mount namespace for resolv.conf)",
    );
    let target = "hung-resolver.example:8080";
    let started = std::time::Instant::now();
    let out = with_hung_resolver(&["report", target, "--timeout", "0.5", "--format", "json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "unknown after the timeout: {err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the timeout was kept"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "unknown", "{v}");
}

#[test]
fn each_wrong_range_says_what_is_wrong() {
    let said = |range: &str| {
        let out = common::bin().args(["scan", range]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "bad input: {range}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let past = said("1-65536");
    let zero = said("0-65535");
    let backwards = said("9000-8000");
    assert!(past.contains("65536 is out of range"), "{past}");
    assert!(zero.contains("starts at port 0"), "{zero}");
    assert!(backwards.contains("start is above its end"), "{backwards}");
    assert_ne!(past, zero, "two range errors read the same");
}

#[test]
fn tcp_on_a_multicast_address_is_not_called_bindable() {
    let port = common::free_run(common::private_loopback(), 1).to_string();
    for target in [
        format!("224.0.0.251:{port}"),
        format!("[ff02::fb]:{port}"),
        format!("255.255.255.255:{port}"),
    ] {
        let out = common::bin().args(["check", &target]).output().unwrap();
        let (text, err) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_ne!(out.status.code(), Some(0), "{target}: {text}{err}");
        assert!(
            !text.contains("BINDABLE:") || text.contains("NOT BINDABLE"),
            "{text}"
        );
        assert!(
            err.contains("not a unicast address TCP can use"),
            "{target}: {err}"
        );
    }
    let out = common::bin()
        .args(["scan", "5000-5001", "--host", "224.0.0.251"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "scan: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // UDP is what multicast is for: still tested.
    let out = common::bin()
        .args(["check", &format!("224.0.0.251:{port}"), "--udp", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("unicast"), "{err}");
}

#[test]
#[ignore = "needs root: a private network namespace (unshare -n); CI runs it (cargo test -- --include-ignored)"]
fn a_scan_takes_a_scoped_link_local_address() {
    common::require(common::is_root(), "root (a private network namespace)");
    let script = r#"ip link set lo up && ip addr add fe80::1/64 dev lo nodad && exec "$BIN" scan 20000-20010 --host fe80::1%lo --both --json"#;
    let out = std::process::Command::new("unshare")
        .args(["-n", "sh", "-c", script])
        .env("BIN", env!("CARGO_BIN_EXE_port-inspector"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["scanned"], 22, "{v}");
    assert_eq!(
        v["free_count"], 22,
        "a fresh namespace's ports are all free: {v}"
    );

    let out = common::bin()
        .args(["scan", "20000-20010", "--host", "fe80::1%no-such-if0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("names no interface"), "{err}");
}

/// The built binary with `args` in a new user namespace whose root is this test's uid, and
/// with `-n` in a network namespace of its own too.
fn in_user_namespace(own_netns: bool, args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new("unshare");
    c.args(["-U", "-r"]);
    if own_netns {
        c.arg("-n");
    }
    c.arg(env!("CARGO_BIN_EXE_port-inspector"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs root: unshare -U; CI runs it (cargo test -- --include-ignored)"]
fn root_of_a_user_namespace_that_does_not_own_the_network_namespace_is_not_elevated() {
    common::require(common::is_root(), "root (unshare -U)");
    let out = in_user_namespace(false, &["facts", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["netns_caps_apply"], false, "{v}");
    assert_eq!(v["cap_net_bind_service"], false, "not for binds here: {v}");
    // One answer, said alike: the JSON's value (it said true) and its table's row, the text's.
    assert_eq!(v["elevated"], false, "{v}");
    assert_eq!(v["uid"], 0, "{v}");
    let out = in_user_namespace(false, &["facts"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let elevated_row = |text: &str| {
        text.lines()
            .find_map(|l| l.trim_start().strip_prefix("elevated"))
            .map_or_else(
                || panic!("an elevated row: {text}"),
                |r| r.trim_start().to_owned(),
            )
    };
    let said = elevated_row(&text);
    assert!(
        said.starts_with("no: root of a user namespace that does not own this network namespace"),
        "{text}"
    );
    let json_row = v["table"]
        .as_array()
        .and_then(|t| t.iter().find(|r| r["name"] == "elevated"))
        .map(|r| r["value"].as_str().unwrap_or_default().to_owned());
    assert_eq!(json_row.as_deref(), Some(said.as_str()), "{v}");
    // With a network namespace of its own, its root's capabilities count: elevated, alike.
    let out = in_user_namespace(true, &["facts", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["netns_caps_apply"], true, "{v}");
    assert_eq!(v["elevated"], true, "{v}");
    let out = in_user_namespace(true, &["facts"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(elevated_row(&text).starts_with("yes, root"), "{text}");

    // A privileged port it may not bind is worded as what it is, not "something unseen".
    let ip = common::private_loopback();
    let port = (600..1000)
        .find(|&p| common::is_free(ip, p))
        .expect("a free privileged port on the test's own address");
    let out = in_user_namespace(false, &["check", &format!("{ip}:{port}")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("capabilities do not apply to this network namespace"),
        "{text}"
    );
    assert!(!text.contains("SELinux"), "{text}");
}

#[test]
#[ignore = "needs root: a private mount namespace; CI runs it (cargo test -- --include-ignored)"]
fn values_that_could_not_be_read_are_unknown_not_defaults() {
    common::require(common::is_root(), "root (a private mount namespace)");
    let out = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t proc -o subset=pid proc /proc && exec \"$BIN\" facts",
        ])
        .env("BIN", env!("CARGO_BIN_EXE_port-inspector"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {text}"))
            .to_owned()
    };
    assert!(
        row("net.ipv4.ip_unprivileged_port_start").contains("unknown"),
        "{text}"
    );
    assert!(
        row("net.ipv4.ip_local_reserved_ports").contains("unknown"),
        "{text}"
    );
    assert!(!text.contains("(none)"), "{text}");
}

#[test]
#[ignore = "needs root: unshare -U; CI runs it (cargo test -- --include-ignored)"]
fn a_holder_in_view_that_cannot_be_inspected_is_not_called_another_namespaces() {
    common::require(common::is_root(), "root (unshare -U)");
    let ip = common::private_loopback().to_string();
    let holder = common::holder::spawn("tcp", &format!("{ip}:0"));
    let port = holder.port.to_string();
    // Root of a new user namespace sees every process but may read none of root's descriptors.
    let out = in_user_namespace(false, &["who", &port, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["owners"][0]["note"], "uninspectable", "{v}");
    let out = in_user_namespace(false, &["who", &port]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("could not be inspected"), "{text}");
    assert!(!text.contains("another PID namespace"), "{text}");
    assert!(
        !text.contains("run as root to see them"),
        "root is told to run as root: {text}"
    );
    let out = in_user_namespace(false, &["check", &format!("{ip}:{port}")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("another PID namespace"), "{text}");
}
