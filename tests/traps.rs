//! Platform traps on real processes and rules: a root-owned docker-proxy executable is reported as a
//! container proxy, another user's socket is counted with the elevation hint, and a DNAT rule in
//! a network namespace the test creates is reported next to a bindable verdict.
#![cfg(target_os = "linux")] // /proc, setpriv, network namespaces, sshd: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
#[ignore = "needs root: a private mount namespace; CI runs it (cargo test -- --include-ignored)"]
fn a_docker_proxy_holder_is_reported_as_a_container_proxy() {
    // A real, root-owned executable named docker-proxy in a system folder: the holder copied to
    // /usr/local/bin/docker-proxy inside a private mount namespace (a tmpfs over that folder, so
    // the host's /usr/local/bin is never touched), started with docker-proxy's arguments.
    let holder = common::holder::path();
    let (mut child, port) = installed_as(
        "docker-proxy",
        &holder,
        &[
            "tcp",
            "127.0.0.1:0",
            "--for",
            "120",
            "--",
            "-proto",
            "tcp",
            "-host-ip",
            "127.0.0.1",
            "-container-ip",
            "172.17.0.2",
            "-container-port",
            "80",
        ],
    );

    let out = common::bin()
        .args(["check", &format!("127.0.0.1:{port}"), "--json"])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["process"] == "docker-proxy")
        .expect("holder named");
    assert_eq!(o["holder"]["kind"], "container_proxy", "{o}");
    assert_eq!(
        o["holder"]["verified"], true,
        "its executable proves it: {o}"
    );
    assert_eq!(
        o["holder"]["detail"], "forwards to container 172.17.0.2:80",
        "{o}"
    );
    let causes = v["explanation"]["checked"].to_string();
    assert!(
        causes.contains("A container publishes this port"),
        "{causes}"
    );
    advises_without_ending(&v, &format!("docker ps --filter publish={port}"));
}

/// The check's first fix is the holder's own advice with `command`, and no process is offered
/// to end (a proven container proxy or runtime helper is dealt with through its container).
fn advises_without_ending(v: &Value, command: &str) {
    let fixes = &v["explanation"]["fixes"];
    assert_eq!(fixes[0]["kind"], "holder_advice", "advice first: {fixes}");
    assert!(
        fixes[0]["text"].as_str().unwrap().contains(command),
        "{fixes}"
    );
    assert!(
        !fixes
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "end_processes"),
        "not ended: {fixes}"
    );
}

#[test]
#[ignore = "needs root: a check run as nobody; CI runs it (cargo test -- --include-ignored)"]
fn nobody_sees_the_hidden_owner_count_and_the_elevation_hint() {
    common::require(common::is_root(), "root, to start a child as nobody");
    let h = common::holder::spawn("tcp", "127.0.0.1:0");
    let out = Command::new("setpriv")
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_port-inspector"))
        .args(["check", &format!("127.0.0.1:{}", h.port)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 socket on this port belongs to another user's process"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Run the check again as root to name the process: sudo {} check 127.0.0.1:{}",
            env!("CARGO_BIN_EXE_port-inspector"),
            h.port
        )),
        "the elevation hint, runnable as printed (the binary is not on PATH: its path): {text}"
    );
    assert!(
        !text.contains(&format!("PID {}", h.child.id())),
        "the PID stays hidden from nobody"
    );
}

/// Installed in a folder on the user's PATH that sudo does not search (`~/.cargo/bin`): the
/// hint's `sudo` names the program by its path, which sudo runs; a bare `sudo port-inspector`
/// would say "command not found" under sudo's secure_path.
#[test]
#[ignore = "needs root: a check run as nobody; CI runs it (cargo test -- --include-ignored)"]
fn the_sudo_hint_names_a_program_sudo_would_not_find_by_its_path() {
    common::require(common::is_root(), "root, to start a child as nobody");
    let dir = std::env::temp_dir().join(format!("pi-cargo-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let installed = dir.join("port-inspector");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_port-inspector"), &installed).unwrap();
    let h = common::holder::spawn("tcp", "127.0.0.1:0");
    let out = Command::new("setpriv")
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .arg(&installed)
        .args(["check", &format!("127.0.0.1:{}", h.port)])
        .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let hint = format!(
        "Run the check again as root to name the process: sudo {} check 127.0.0.1:{}",
        installed.display(),
        h.port
    );
    assert!(text.contains(&hint), "the path after sudo: {hint}\n{text}");
    // The same program run by hand from a folder sudo searches would print its name; here the
    // path in the hint really runs (as root, as sudo would run it).
    let again = Command::new(&installed)
        .args(["check", &format!("127.0.0.1:{}", h.port), "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(
        v["owners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["pid"] == h.child.id()),
        "as root the hint's command names the process: {v}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs root: a check run as nobody; CI runs it (cargo test -- --include-ignored)"]
fn nobody_is_told_in_text_that_nat_redirects_were_not_checked() {
    common::require(common::is_root(), "root, to start a child as nobody");
    let line =
        "NAT redirects were not checked: reading the NAT rules (nftables, iptables) needs root.";
    let as_nobody = |args: &[&str]| -> String {
        let out = Command::new("setpriv")
            .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_port-inspector"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    // A bindable port: the line is the check's note, in text, in the report and in JSON.
    let text = as_nobody(&["check", &free]);
    assert!(text.contains("BINDABLE"), "{text}");
    assert_eq!(text.matches(line).count(), 1, "once: {text}");
    let report = as_nobody(&["report", &free]);
    assert_eq!(report.matches(line).count(), 1, "once: {report}");
    let v: Value = serde_json::from_str(&as_nobody(&["check", &free, "--json"])).unwrap();
    assert_eq!(v["nat_error"], "not_root", "{v}");
    assert!(v["warnings"].to_string().contains(line), "{v}");
    // A held port: said once, as a note beside the failure, not as one of its causes.
    let h = common::holder::spawn("tcp", "127.0.0.1:0");
    let held = format!("127.0.0.1:{}", h.port);
    let text = as_nobody(&["check", &held]);
    assert!(text.contains("NOT BINDABLE"), "{text}");
    assert_eq!(text.matches(line).count(), 1, "once: {text}");
    let v: Value = serde_json::from_str(&as_nobody(&["check", &held, "--json"])).unwrap();
    assert!(
        !v["explanation"]["checked"].to_string().contains("NAT"),
        "not a cause: {v}"
    );
    // Root reads them: no such line.
    let out = common::bin().args(["check", &free]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("were not checked"),
        "{out:?}"
    );
}

/// A network namespace that removes itself.
struct Netns(String);

impl Netns {
    /// A network namespace of this test run's own (`TAG-PID`), deleted when dropped.
    fn new(tag: &str) -> Netns {
        common::require(common::is_root(), "root, to create a network namespace");
        let name = format!("{tag}-{}", std::process::id());
        common::require(
            ok(Command::new("ip").args(["netns", "add", &name])),
            "'ip netns add' (iproute2)",
        );
        Netns(name)
    }
}

impl Netns {
    /// Brings loopback up and loads an nft ruleset into the namespace (skips the test when nft
    /// cannot).
    fn load(&self, ruleset: &str) {
        let file = std::env::temp_dir().join(format!("{}.nft", self.0));
        std::fs::write(&file, ruleset).unwrap();
        let exec = |args: &[&str]| {
            ok(Command::new("ip")
                .args(["netns", "exec", &self.0])
                .args(args))
        };
        let ready = exec(&["ip", "link", "set", "lo", "up"])
            && exec(&["nft", "-f", file.to_str().unwrap()]);
        let _ = std::fs::remove_file(&file);
        common::require(
            ready,
            "nft (nftables), able to add tables in the test namespace",
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
#[ignore = "needs root, ip netns and nft; CI runs it (cargo test -- --include-ignored)"]
fn a_dnat_rule_in_a_test_namespace_is_reported_next_to_the_verdict() {
    let ns = Netns::new("pi-nat");
    let nft = |args: &[&str]| {
        ok(Command::new("ip")
            .args(["netns", "exec", &ns.0, "nft"])
            .args(args))
    };
    let ready = nft(&["add", "table", "ip", "nat"])
        && nft(&["add chain ip nat prerouting { type nat hook prerouting priority -100; }"])
        && nft(&[
            "add",
            "rule",
            "ip",
            "nat",
            "prerouting",
            "tcp",
            "dport",
            "8080",
            "dnat",
            "to",
            "10.9.9.9:80",
        ]);
    common::require(
        ready,
        "nft (nftables), able to add rules in the test namespace",
    );
    // Only the test's own namespace is touched; the host's ruleset is never read or changed.
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.0,
            env!("CARGO_BIN_EXE_port-inspector"),
            "check",
            "0.0.0.0:8080",
            "-4",
            "--json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "bindable", "the bind itself works");
    assert_eq!(v["nat"][0]["to"], "10.9.9.9:80", "{v}");
    let w = v["warnings"].to_string();
    assert!(w.contains("redirected to 10.9.9.9:80 by a NAT rule"), "{w}");
    assert_ne!(v["facts"]["netns"], Value::Null, "the namespace is named");
}

#[test]
#[ignore = "needs root: a child as nobody (setpriv); CI runs it (cargo test -- --include-ignored)"]
fn nobody_binding_a_privileged_port_gets_wsaeacces_with_the_checked_reason() {
    common::require(common::is_root(), "root, to start a child as nobody");
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    common::require(
        start > 80,
        &format!("port 80 privileged on this machine (ip_unprivileged_port_start is {start})"),
    );
    let out = Command::new("setpriv")
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_port-inspector"))
        .args(["check", "127.0.0.1:80", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "not bindable");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["error"]["wsa_code"].as_u64(),
            v["error"]["native_name"].as_str()
        ),
        (Some(10013), Some("EACCES")),
        "{v}"
    );
    let checked = v["explanation"]["checked"][0].as_str().unwrap();
    assert!(
        checked.contains(&format!("ip_unprivileged_port_start={start}")),
        "{checked}"
    );
    assert!(checked.contains("CAP_NET_BIND_SERVICE"), "{checked}");
    assert!(
        v["explanation"]["fixes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["text"].as_str().unwrap().contains("setcap")),
        "the fix names the capability"
    );
}

#[test]
fn an_address_that_is_not_here_lists_the_addresses_that_are() {
    let out = common::bin()
        .args(["check", "192.0.2.1:8080", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["wsa_code"], 10049, "WSAEADDRNOTAVAIL");
    let checked = v["explanation"]["checked"].to_string();
    assert!(
        checked.contains("192.0.2.1 is not assigned to any interface"),
        "{checked}"
    );
    assert!(
        checked.contains("127.0.0.1 (lo)"),
        "the assigned addresses are listed: {checked}"
    );
    assert!(checked.contains("ip_nonlocal_bind is"), "{checked}");
}

#[test]
#[ignore = "needs IPv6 (fe80:: and ::1), which containers may lack; CI runs it (cargo test -- --include-ignored)"]
fn link_local_addresses_need_their_interface() {
    common::require(common::has_ipv6_loopback(), "IPv6 on this machine");
    let run = |t: &str| -> Value {
        let out = common::bin().args(["check", t, "--json"]).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = run("[fe80::1]:8080");
    assert_eq!(
        v["error"]["wsa_code"], 10022,
        "Linux refuses an unscoped link-local bind: {v}"
    );
    assert!(
        v["explanation"]["checked"][0]
            .as_str()
            .unwrap()
            .contains("without a scope"),
        "{v}"
    );
    let v = run("[fe80::1%nosuchif]:8080");
    assert_eq!(v["error"]["wsa_code"], 11001, "{v}");
    assert!(
        v["explanation"]["checked"][0]
            .as_str()
            .unwrap()
            .contains("'%nosuchif' names no interface"),
        "{v}"
    );
    let v = run("[fe80::1%lo]:8080");
    assert_eq!(
        v["error"]["wsa_code"], 10049,
        "scoped but not assigned: {v}"
    );
    assert!(
        !v["explanation"]["checked"]
            .to_string()
            .contains("without a scope"),
        "the scope was given: {v}"
    );
}

#[test]
#[ignore = "needs root, ip netns and nft; CI runs it (cargo test -- --include-ignored)"]
fn dnat_rules_through_a_named_set_and_a_map_are_reported() {
    let ns = Netns::new("pi-natset");
    // A named set of ports (one a range) and a DNAT map keyed by the port, in the test's own
    // namespace only.
    let ruleset = "table ip pi {
  set webports { type inet_service; flags interval; elements = { 8081, 8443, 9000-9010 } }
  map portmap { type inet_service : ipv4_addr . inet_service; elements = { 7000 : 10.9.0.3 . 80 } }
  chain pre { type nat hook prerouting priority dstnat;
    tcp dport @webports dnat to 10.9.0.2:8080
    dnat ip to tcp dport map @portmap
  }
}
";
    let file = std::env::temp_dir().join(format!("{}.nft", ns.0));
    std::fs::write(&file, ruleset).unwrap();
    let ready = ok(Command::new("ip")
        .args(["netns", "exec", &ns.0, "nft", "-f"])
        .arg(&file));
    let _ = std::fs::remove_file(&file);
    common::require(ready, "nft (nftables), able to add sets and maps");
    let check = |port: &str| -> Value {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns.0, env!("CARGO_BIN_EXE_port-inspector")])
            .args(["check", &format!("0.0.0.0:{port}"), "-4", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    for (port, to) in [
        ("8443", "10.9.0.2:8080"),
        ("9005", "10.9.0.2:8080"),
        ("7000", "10.9.0.3:80"),
    ] {
        let v = check(port);
        assert_eq!(
            v["verdict"], "bindable",
            "{port}: the bind itself works: {v}"
        );
        assert_eq!(v["nat"][0]["to"], to, "{port}: {v}");
        let w = v["warnings"].to_string();
        assert!(
            w.contains(&format!("redirected to {to} by a NAT rule")),
            "{port}: {w}"
        );
    }
    let other = check("8082");
    assert_eq!(
        other["nat"],
        serde_json::json!([]),
        "a port in no set: {other}"
    );
}

/// `check` in the namespace, as JSON.
fn check_in(ns: &Netns, args: &[&str]) -> Value {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, env!("CARGO_BIN_EXE_port-inspector")])
        .arg("check")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The one NAT note of a check (panics naming the check when there is not exactly one).
fn one_note(v: &Value) -> String {
    let w = v["warnings"].as_array().unwrap();
    let notes: Vec<&str> = w
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| s.contains("by a NAT rule"))
        .collect();
    assert_eq!(notes.len(), 1, "one NAT note: {v}");
    notes[0].to_owned()
}

/// The removal command a note prints, run as printed (through a shell) in the namespace.
fn run_removal(ns: &Netns, note: &str) {
    let cmd = note
        .split("Remove the rule (as root): ")
        .nth(1)
        .and_then(|r| r.split("; see its chain: ").next())
        .unwrap_or_else(|| panic!("a removal command: {note}"));
    assert!(
        ok(Command::new("ip").args(["netns", "exec", &ns.0, "sh", "-c", cmd])),
        "the printed command runs: {cmd}"
    );
}

/// A namespace with native nft rules (a named set, a verdict map jumping to a redirecting chain,
/// an output rule for 127.0.0.1, an inet table) and one iptables-nft DNAT.
fn nat_lab() -> Netns {
    let ns = Netns::new("pi-natreach");
    let ruleset = "table ip pi {
  set webports { type inet_service; flags interval; elements = { 8443 } }
  map vm { type inet_service : verdict; elements = { 7100 : jump tolocal } }
  chain tolocal { meta l4proto tcp redirect to :5300; }
  chain pre { type nat hook prerouting priority dstnat;
    tcp dport @webports dnat to 10.9.0.2:8080
    tcp dport vmap @vm
  }
  chain out { type nat hook output priority -100;
    ip daddr 127.0.0.1 tcp dport 7300 redirect to :5301
  }
}
table inet both {
  chain pre { type nat hook prerouting priority dstnat;
    tcp dport 7400 redirect to :5302
  }
}
";
    ns.load(ruleset);
    let exec = |args: &[&str]| ok(Command::new("ip").args(["netns", "exec", &ns.0]).args(args));
    common::require(
        exec(&[
            "iptables-nft",
            "-t",
            "nat",
            "-A",
            "PREROUTING",
            "-p",
            "tcp",
            "--dport",
            "7600",
            "-j",
            "DNAT",
            "--to-destination",
            "10.9.0.4:80",
        ]),
        "iptables-nft (Debian package iptables)",
    );

    ns
}

#[test]
#[ignore = "needs root, ip netns, nft and iptables-nft; CI runs it (cargo test -- --include-ignored)"]
fn nat_notes_say_which_connections_a_rule_catches_and_removal_runs_as_printed() {
    let ns = nat_lab();

    // A prerouting rule of an ip table: never for a connection to loopback made here, never
    // for IPv6.
    let lo = check_in(&ns, &["127.0.0.1:8443"]);
    assert_eq!(lo["verdict"], "bindable", "{lo}");
    assert_eq!(
        lo["nat"],
        serde_json::json!([]),
        "prerouting never sees loopback: {lo}"
    );
    assert!(!lo["warnings"].to_string().contains("NAT"), "{lo}");
    let any = check_in(&ns, &["0.0.0.0:8443", "-4"]);
    let note = one_note(&any);
    assert!(
        note.starts_with("IPv4 connections from other hosts to port 8443 are redirected to 10.9.0.2:8080 by a NAT rule (nftables table ip pi, chain pre at the prerouting hook"),
        "{note}"
    );
    assert!(note.contains("the port is in set @webports"), "{note}");
    assert!(
        note.contains(
            "Not redirected: connections made on this host (a prerouting rule never sees them)."
        ),
        "{note}"
    );
    assert!(
        note.contains("see its chain: nft -a list chain ip pi pre."),
        "{note}"
    );
    let v6 = check_in(&ns, &["[::]:8443", "-6", "--v6only", "on"]);
    assert_eq!(
        v6["nat"],
        serde_json::json!([]),
        "an ip table never sees IPv6: {v6}"
    );

    // A verdict map jumping to a chain that redirects.
    let vm = one_note(&check_in(&ns, &["0.0.0.0:7100", "-4"]));
    assert!(vm.contains("redirected to :5300 by a NAT rule (nftables table ip pi, chain tolocal at the prerouting hook"), "{vm}");
    assert!(
        vm.contains("by the verdict map (tcp dport vmap @vm): such a client never reaches"),
        "{vm}"
    );

    // An output rule for 127.0.0.1: this host's own connections, and nothing is left out.
    let out = one_note(&check_in(&ns, &["127.0.0.1:7300"]));
    assert!(
        out.starts_with(
            "IPv4 connections made on this host to port 7300 at 127.0.0.1 are redirected to :5301"
        ),
        "{out}"
    );
    assert!(!out.contains("Not redirected"), "{out}");
    assert!(
        check_in(&ns, &["127.0.0.2:7300"])["nat"] == serde_json::json!([]),
        "another address"
    );

    // An inet table sees both families.
    let both = one_note(&check_in(&ns, &["[::]:7400", "-6"]));
    assert!(
        both.starts_with("Connections from other hosts to port 7400"),
        "{both}"
    );

    // iptables-nft: one note (not one from nft and one from iptables), removed with iptables.
    let ipt = check_in(&ns, &["0.0.0.0:7600", "-4"]);
    let note = one_note(&ipt);
    assert!(note.contains("(iptables (nf_tables), table nat, chain PREROUTING at the prerouting hook: -A PREROUTING -p tcp -m tcp --dport 7600 -j DNAT --to-destination 10.9.0.4:80)"), "{note}");
    run_removal(&ns, &note);
    assert_eq!(
        check_in(&ns, &["0.0.0.0:7600", "-4"])["nat"],
        serde_json::json!([]),
        "removed as printed"
    );

    // The nft removal, run as printed, removes exactly that rule.
    run_removal(&ns, &one_note(&any));
    assert_eq!(
        check_in(&ns, &["0.0.0.0:8443", "-4"])["nat"],
        serde_json::json!([]),
        "removed as printed"
    );
    assert_eq!(
        check_in(&ns, &["0.0.0.0:7100", "-4"])["nat"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the others stay"
    );
}

/// Where a connection from this namespace to `dst`:`port` lands, seen from real listeners on
/// `[::]` (dual-stack) at each of `ports`: the port of the listener that accepted it, or 0.
fn lands(ns: &Netns, dst: &str, port: u16, ports: &[u16]) -> u16 {
    // Stays Python: a probe (connect, then see which listener accepted), not a holder.
    let script = "import socket,select,sys
ls=[]
for p in sys.argv[3:]:
    s=socket.socket(socket.AF_INET6);s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)
    s.bind(('::',int(p)));s.listen();ls.append(s)
c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=5)
r,_,_=select.select(ls,[],[],5)
print(r[0].getsockname()[1] if r else 0)";
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "python3", "-c", script, dst])
        .arg(port.to_string())
        .args(ports.iter().map(u16::to_string))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{dst}:{port}: {out:?}"))
}

/// What the note's "see its chain" command prints, run as printed in the namespace.
fn run_show(ns: &Netns, note: &str) -> String {
    let cmd = note
        .split("see its chain: ")
        .nth(1)
        .and_then(|r| r.strip_suffix('.'))
        .unwrap_or_else(|| panic!("a show command: {note}"));
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "sh", "-c", cmd])
        .output()
        .unwrap();
    assert!(out.status.success(), "the printed command runs: {cmd}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs root, ip netns, nft and python3; CI runs it (cargo test -- --include-ignored)"]
fn a_nat_note_keeps_to_the_rule_s_addresses_family_and_first_match() {
    let ns = Netns::new("pi-natfirst");
    // Part of the ruleset printed in tests/fixtures/nft_first_match.txt (the parser's fixture).
    ns.load(
        "table ip pi {
  chain out { type nat hook output priority -100;
    ip daddr 127.0.0.5 tcp dport 8086 redirect to :9000
    tcp dport 8087 accept
    tcp dport 8087 redirect to :9001
    meta mark 1 tcp dport 8088 accept
    tcp dport 8088 redirect to :9002
  }
  chain pre { type nat hook prerouting priority dstnat;
    ip daddr 127.0.0.5 tcp dport 8091 redirect to :9005
  }
}
table inet both {
  chain out { type nat hook output priority -100;
    ip daddr 127.0.0.1 tcp dport 8092 redirect to :9006
    meta nfproto ipv6 tcp dport 8093 redirect to :9007
  }
}",
    );

    // The rule's own destination: 127.0.0.5 only, named in the note; 127.0.0.1 is left alone.
    assert_eq!(lands(&ns, "127.0.0.5", 8086, &[8086, 9000]), 9000);
    assert_eq!(lands(&ns, "127.0.0.1", 8086, &[8086, 9000]), 8086);
    let note = one_note(&check_in(&ns, &["0.0.0.0:8086", "-4"]));
    assert!(
        note.starts_with("IPv4 connections made on this host to port 8086 at 127.0.0.5 are redirected to :9000 by a NAT rule (nftables table ip pi, chain out at the output hook: ip daddr 127.0.0.5 tcp dport 8086 redirect to :9000)"),
        "{note}"
    );
    assert!(
        note.contains("Not redirected: connections from other hosts (an output rule sees only this host's own); connections to other addresses of this host."),
        "{note}"
    );
    assert_eq!(
        check_in(&ns, &["127.0.0.1:8086"])["nat"],
        serde_json::json!([]),
        "the rule never catches 127.0.0.1"
    );
    assert!(
        run_show(&ns, &note).contains("ip daddr 127.0.0.5 tcp dport 8086 redirect to :9000"),
        "the chain shown holds the rule"
    );
    run_removal(&ns, &note);
    assert_eq!(
        lands(&ns, "127.0.0.5", 8086, &[8086, 9000]),
        8086,
        "removed"
    );
    assert_eq!(
        check_in(&ns, &["0.0.0.0:8086", "-4"])["nat"],
        serde_json::json!([]),
        "removed as printed"
    );

    // A prerouting rule for a loopback destination: other hosts never reach it.
    assert_eq!(
        check_in(&ns, &["0.0.0.0:8091", "-4"])["nat"],
        serde_json::json!([]),
        "no connection to a wildcard bind can meet it"
    );

    // An inet table sees both families; the rule's `ip daddr` keeps it to IPv4.
    assert_eq!(lands(&ns, "127.0.0.1", 8092, &[8092, 9006]), 9006);
    assert_eq!(lands(&ns, "::1", 8092, &[8092, 9006]), 8092);
    let note = one_note(&check_in(&ns, &["[::]:8092", "--v6only", "off"]));
    assert!(
        note.starts_with(
            "IPv4 connections made on this host to port 8092 at 127.0.0.1 are redirected to :9006"
        ),
        "{note}"
    );
    assert!(
        note.contains(
            "IPv6 connections (the rule's match is for IPv4 only; its inet table sees both)"
        ),
        "{note}"
    );
    assert!(!note.contains("sees IPv4 only"), "{note}");
    // `meta nfproto ipv6`: IPv6 only.
    assert_eq!(lands(&ns, "::1", 8093, &[8093, 9007]), 9007);
    assert_eq!(lands(&ns, "127.0.0.1", 8093, &[8093, 9007]), 8093);
    assert_eq!(
        check_in(&ns, &["0.0.0.0:8093", "-4"])["nat"],
        serde_json::json!([]),
        "IPv4 never meets meta nfproto ipv6"
    );
    let note = one_note(&check_in(&ns, &["[::]:8093", "--v6only", "off"]));
    assert!(
        note.starts_with("IPv6 connections made on this host to port 8093"),
        "{note}"
    );
    assert!(
        note.contains(
            "IPv4 connections (the rule's match is for IPv6 only; its inet table sees both)"
        ),
        "{note}"
    );

    // First match: an accept of the same traffic ahead of the redirect means it never applies.
    assert_eq!(lands(&ns, "127.0.0.1", 8087, &[8087, 9001]), 8087);
    let shadowed = check_in(&ns, &["0.0.0.0:8087", "-4"]);
    assert_eq!(shadowed["nat"], serde_json::json!([]), "{shadowed}");
    assert!(
        !shadowed["warnings"].to_string().contains("NAT"),
        "{shadowed}"
    );
    // An earlier accept on a mark (not set here): the redirect applies, and the note says
    // which connections the earlier rule may keep.
    assert_eq!(lands(&ns, "127.0.0.1", 8088, &[8088, 9002]), 9002);
    let note = one_note(&check_in(&ns, &["0.0.0.0:8088", "-4"]));
    assert!(
        note.contains("A rule earlier in the chain ends it first for the connections it matches, which are then not redirected: meta mark 0x00000001 tcp dport 8088 accept (chain out)."),
        "{note}"
    );
}

#[test]
#[ignore = "needs root, ip netns, iptables-nft and python3; CI runs it (cargo test -- --include-ignored)"]
fn an_iptables_nat_note_keeps_to_its_address_and_first_match() {
    let ns = Netns::new("pi-iptfirst");
    common::require(
        ok(Command::new("ip").args(["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"])),
        "ip link in the test namespace",
    );
    // iptables' -d: the rule catches 127.0.0.6 only, and is removed with iptables' own
    // command as printed.
    let ipt = |args: &str| {
        let argv: Vec<&str> = args.split(' ').collect();
        ok(Command::new("ip")
            .args(["netns", "exec", &ns.0, "iptables-nft", "-t", "nat"])
            .args(argv))
    };
    common::require(
        ipt("-A OUTPUT -d 127.0.0.6 -p tcp --dport 8094 -j REDIRECT --to-ports 9008")
            && ipt("-A OUTPUT -p tcp --dport 8095 -j ACCEPT")
            && ipt("-A OUTPUT -p tcp --dport 8095 -j REDIRECT --to-ports 9009"),
        "iptables-nft (Debian package iptables)",
    );
    assert_eq!(lands(&ns, "127.0.0.6", 8094, &[8094, 9008]), 9008);
    assert_eq!(lands(&ns, "127.0.0.1", 8094, &[8094, 9008]), 8094);
    let note = one_note(&check_in(&ns, &["0.0.0.0:8094", "-4"]));
    assert!(
        note.starts_with("IPv4 connections made on this host to port 8094 at 127.0.0.6 are redirected to :9008 by a NAT rule (iptables (nf_tables), table nat, chain OUTPUT at the output hook: -A OUTPUT -d 127.0.0.6/32 -p tcp -m tcp --dport 8094 -j REDIRECT --to-ports 9008)"),
        "{note}"
    );
    run_removal(&ns, &note);
    assert_eq!(
        lands(&ns, "127.0.0.6", 8094, &[8094, 9008]),
        8094,
        "removed"
    );
    // iptables' first match: the ACCEPT keeps 8095.
    assert_eq!(lands(&ns, "127.0.0.1", 8095, &[8095, 9009]), 8095);
    assert_eq!(
        check_in(&ns, &["0.0.0.0:8095", "-4"])["nat"],
        serde_json::json!([]),
        "an ACCEPT of the same match comes first"
    );
}

/// The checks of every address a bind can name for `port`: the bare port, IPv4 only, and
/// 0.0.0.0 (each gets the same note).
fn wildcard_notes(ns: &Netns, port: u16) -> Vec<String> {
    let p = port.to_string();
    let any = format!("0.0.0.0:{port}");
    [vec![p.as_str()], vec!["-4", p.as_str()], vec![any.as_str()]]
        .iter()
        .map(|args| one_note(&check_in(ns, args)))
        .collect()
}

#[test]
#[ignore = "needs root, ip netns, nft, iptables-nft and python3; CI runs it (cargo test -- --include-ignored)"]
fn a_nat_note_honours_an_earlier_rule_s_address_and_a_negated_destination() {
    let ns = Netns::new("pi-natexempt");
    ns.load(
        "table ip pi {
  chain out { type nat hook output priority -100;
    ip daddr 127.0.0.1 tcp dport 8096 accept
    tcp dport 8096 redirect to :9010
    ip daddr != 127.0.0.1 tcp dport 8097 redirect to :9011
    tcp dport 8099 jump sub
  }
  chain sub {
    tcp dport 8099 redirect to :9013
  }
}",
    );
    common::require(
        ok(Command::new("ip").args([
            "netns",
            "exec",
            &ns.0,
            "iptables-nft",
            "-t",
            "nat",
            "-A",
            "OUTPUT",
            "!",
            "-d",
            "127.0.0.1",
            "-p",
            "tcp",
            "--dport",
            "8098",
            "-j",
            "REDIRECT",
            "--to-ports",
            "9012",
        ])),
        "iptables-nft (Debian package iptables)",
    );

    // An accept of 127.0.0.1 ahead of the redirect: the kernel leaves 127.0.0.1 alone and
    // redirects the other addresses.
    assert_eq!(lands(&ns, "127.0.0.1", 8096, &[8096, 9010]), 8096);
    assert_eq!(lands(&ns, "127.0.0.5", 8096, &[8096, 9010]), 9010);
    let exact = check_in(&ns, &["127.0.0.1:8096"]);
    assert_eq!(exact["nat"], serde_json::json!([]), "{exact}");
    assert!(!exact["warnings"].to_string().contains("NAT"), "{exact}");
    let note = one_note(&check_in(&ns, &["127.0.0.5:8096"]));
    assert!(
        note.starts_with("IPv4 connections made on this host to port 8096 are redirected to :9010 by a NAT rule (nftables table ip pi, chain out at the output hook: tcp dport 8096 redirect to :9010)"),
        "{note}"
    );
    assert!(
        !note.contains("earlier"),
        "the accept never takes 127.0.0.5: {note}"
    );
    let mut last = String::new();
    for note in wildcard_notes(&ns, 8096) {
        assert!(
            note.starts_with(
                "IPv4 connections made on this host to port 8096 are redirected to :9010"
            ),
            "{note}"
        );
        assert!(
            note.contains("connections to 127.0.0.1 (a rule earlier in the chain ends it first for them: ip daddr 127.0.0.1 tcp dport 8096 accept (chain out))"),
            "{note}"
        );
        assert!(
            !note.contains("for the connections it matches"),
            "no caveat beside the exemption: {note}"
        );
        last = note;
    }
    assert!(
        run_show(&ns, &last).contains("ip daddr 127.0.0.1 tcp dport 8096 accept"),
        "the chain shown holds the earlier rule"
    );
    run_removal(&ns, &last);
    assert_eq!(
        lands(&ns, "127.0.0.5", 8096, &[8096, 9010]),
        8096,
        "removed"
    );

    // A redirect of every destination but 127.0.0.1, native and iptables-nft's: a wildcard
    // bind's connections to 127.0.0.5 are redirected, to 127.0.0.1 not.
    for (port, to) in [(8097, 9011), (8098, 9012)] {
        assert_eq!(lands(&ns, "127.0.0.1", port, &[port, to]), port);
        assert_eq!(lands(&ns, "127.0.0.5", port, &[port, to]), to);
        assert_eq!(
            check_in(&ns, &[&format!("127.0.0.1:{port}")])["nat"],
            serde_json::json!([]),
            "127.0.0.1 is excluded"
        );
        assert!(
            one_note(&check_in(&ns, &[&format!("127.0.0.5:{port}")])).contains(&format!(":{to}"))
        );
        let mut last = String::new();
        for note in wildcard_notes(&ns, port) {
            assert!(
                note.starts_with(&format!("IPv4 connections made on this host to port {port} at addresses other than 127.0.0.1 are redirected to :{to}")),
                "{note}"
            );
            assert!(note.contains("; connections to 127.0.0.1."), "{note}");
            last = note;
        }
        assert!(run_show(&ns, &last).contains(&port.to_string()), "{last}");
        run_removal(&ns, &last);
        assert_eq!(
            lands(&ns, "127.0.0.5", port, &[port, to]),
            port,
            "removed as printed: {last}"
        );
    }

    // A rule in a chain jumped to: the jump is named once, without a second colon.
    assert_eq!(lands(&ns, "127.0.0.1", 8099, &[8099, 9013]), 9013);
    let note = one_note(&check_in(&ns, &["0.0.0.0:8099"]));
    assert!(
        note.contains("tcp dport 8099 redirect to :9013); jumped to from chain out (tcp dport 8099 jump sub): such a client never reaches"),
        "{note}"
    );
}

/// `source` installed as `/usr/local/bin/NAME` in a private mount namespace (a tmpfs over that
/// folder: the host's is never touched; a root-owned file in a system folder, as a package
/// installs it) and started with `args`; returns the child and the port it prints first.
fn installed_as(name: &str, source: &std::path::Path, args: &[&str]) -> (std::process::Child, u16) {
    common::require(common::is_root(), "root, for a private mount namespace");
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs tmpfs /usr/local/bin && cp \"$0\" /usr/local/bin/{name} && exec /usr/local/bin/{name} \"$@\""
        ))
        .arg(source)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let port: u16 = first_line
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("{name} printed no port"))
        .parse()
        .unwrap();
    (child, port)
}

/// The holder example as a runtime's helper `name`, holding `bound 127.0.0.1:0` with `args`
/// after it.
fn runtime_helper(name: &str, args: &[&str]) -> (std::process::Child, u16) {
    let mut all = vec!["bound", "127.0.0.1:0", "--for", "120"];
    all.extend_from_slice(args);
    installed_as(name, &common::holder::path(), &all)
}

#[test]
#[ignore = "needs root: a private mount namespace; CI runs it (cargo test -- --include-ignored)"]
fn a_runtime_helpers_bound_socket_is_named_as_a_container_reservation() {
    // conmon (root's file in a system folder, proven by its executable) holding a port bound
    // but not listening, as Podman reserves a published port: its command line names the
    // container.
    let id = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
    let (mut conmon, port) =
        runtime_helper("conmon", &["--api-version", "1", "-c", id, "-n", "web-1"]);
    let check = common::bin()
        .args(["check", &format!("127.0.0.1:{port}"), "--json"])
        .output()
        .unwrap();
    let who = common::bin()
        .args(["who", &port.to_string()])
        .output()
        .unwrap();
    let _ = conmon.kill();
    let _ = conmon.wait();
    let v: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(v["verdict"], "not_bindable", "{v}");
    let o = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["process"] == "conmon")
        .unwrap_or_else(|| panic!("conmon named: {v}"));
    assert_eq!(o["state"], "BOUND", "bound, not listening: {o}");
    assert_eq!(o["holder"]["kind"], "container_reservation", "{o}");
    assert_eq!(o["holder"]["verified"], true, "{o}");
    assert_eq!(
        o["holder"]["detail"], "reserves it for container web-1 (3f2a9c1b7d4e)",
        "{o}"
    );
    let checked = v["explanation"]["checked"].to_string();
    assert!(
        checked.contains("holds a container port reservation: A container runtime reserves this port for a container")
            && checked.contains("Here it reserves it for container web-1 (3f2a9c1b7d4e)."),
        "{checked}"
    );
    advises_without_ending(&v, "podman port --all");
    let who = String::from_utf8(who.stdout).unwrap();
    assert!(
        who.contains("conmon (PID") && who.contains("BOUND"),
        "{who}"
    );

    // A helper whose runtime says nothing (rootlessport has no container on its command line,
    // and no podman runs here): a runtime's reservation, with the process named, and no name.
    let (mut rlp, port) = runtime_helper("rootlessport", &[]);
    let out = common::bin()
        .args(["check", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    let _ = rlp.kill();
    let _ = rlp.wait();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("holds a container port reservation: A container runtime reserves this port")
            && text.contains("rootlessport (PID"),
        "{text}"
    );
    assert!(
        !text.contains("Here it reserves it for container"),
        "{text}"
    );
}

#[test]
#[ignore = "needs root: a private mount namespace; CI runs it (cargo test -- --include-ignored)"]
fn an_inetd_or_xinetd_listener_names_the_service_its_configuration_starts() {
    // The holder example installed as /usr/local/bin/inetd and /usr/local/bin/xinetd (root's
    // files in a system folder), each listening on a port its configuration file names; the
    // file is given on the command line, as both superservers take it.
    let dir = std::env::temp_dir().join(format!("pi-inetd-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("xinetd.d")).unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (p1, p2) = (free(), free());
    let inetd_conf = dir.join("inetd.conf");
    std::fs::write(
        &inetd_conf,
        format!("# test\n{p1} stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.fingerd -w\n"),
    )
    .unwrap();
    let xinetd_conf = dir.join("xinetd.conf");
    std::fs::write(
        &xinetd_conf,
        format!(
            "defaults\n{{\n}}\nincludedir {}\n",
            dir.join("xinetd.d").display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("xinetd.d").join("echo-alt"),
        format!("service echo-alt\n{{\n\ttype = UNLISTED\n\tport = {p2}\n\tsocket_type = stream\n\tprotocol = tcp\n\twait = no\n\tuser = root\n\tserver = /usr/bin/cat\n}}\n"),
    )
    .unwrap();
    let holder = common::holder::path();
    let (mut inetd, port1) = installed_as(
        "inetd",
        &holder,
        &[
            "tcp",
            &format!("127.0.0.1:{p1}"),
            "--for",
            "120",
            inetd_conf.to_str().unwrap(),
        ],
    );
    let (mut xinetd, port2) = installed_as(
        "xinetd",
        &holder,
        &[
            "tcp",
            &format!("127.0.0.1:{p2}"),
            "--for",
            "120",
            "-f",
            xinetd_conf.to_str().unwrap(),
        ],
    );
    let check = |port: u16| {
        let out = common::bin()
            .args(["check", &format!("127.0.0.1:{port}")])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let (t1, t2) = (check(port1), check(port2));
    for c in [&mut inetd, &mut xinetd] {
        let _ = c.kill();
        let _ = c.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!((port1, port2), (p1, p2));
    assert!(
        t1.contains(&format!(
            "Here it starts /usr/sbin/tcpd /usr/sbin/in.fingerd -w for each connection, as user nobody (service {p1}) ({})",
            inetd_conf.display()
        )),
        "{t1}"
    );
    assert!(
        t2.contains(&format!(
            "Here it starts /usr/bin/cat for each connection, as user root (service echo-alt) ({})",
            dir.join("xinetd.d").join("echo-alt").display()
        )),
        "{t2}"
    );
}
