//! Holders that are no process: sockets the kernel opens for a network device, met on real
//! devices in a private network namespace the test creates.
#![cfg(target_os = "linux")] // Network namespaces and tunnel devices: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use serde_json::Value;

/// Runs `script` with `sh` in a private network namespace (loopback up) with the binary as
/// `$PI`, and returns each section of its output: the script prints `@@` between commands.
fn in_private_netns(script: &str) -> Vec<String> {
    common::require(common::is_root(), "root (unshare -n, ip link add)");
    let out = std::process::Command::new("unshare")
        .args(["-n", "sh", "-c"])
        .arg(format!("set -e; ip link set lo up; {script}"))
        .env("PI", env!("CARGO_BIN_EXE_port-inspector"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the script failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split("@@\n").map(str::to_owned).collect()
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
#[ignore = "needs root (a VXLAN device in a private network namespace); CI runs it (cargo test -- --include-ignored)"]
fn a_vxlan_devices_port_is_the_kernels_in_every_view() {
    let add =
        "ip link add vx0 type vxlan id 42 dstport 4789 local 127.0.0.1 dev lo; ip link set vx0 up;";
    let parts = in_private_netns(&format!(
        "{add}
         $PI check 4789 --udp --json || true; echo @@
         $PI check 4789 --udp || true; echo @@
         $PI who 4789 --udp --json; echo @@
         $PI who 4789 --udp; echo @@
         $PI list --udp --json; echo @@
         $PI list --udp; echo @@
         $PI report 4789 --udp || true; echo @@
         $PI end 4789 --udp --dry-run; echo @@
         ip link del vx0; $PI check 4789 --udp -4 --json || true"
    ));
    assert_eq!(parts.len(), 9, "{parts:?}");
    let check = parse(&parts[0]);
    let e = &check["explanation"];
    let kinds: Vec<&str> = e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"kernel_holds"), "{e}");
    assert!(
        !kinds.contains(&"hidden_owners"),
        "a proven kernel socket is no hidden owner: {e}"
    );
    let k = e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "kernel_holds")
        .unwrap();
    assert_eq!(k["holder"]["kind"], "vxlan", "{k}");
    assert_eq!(k["holder"]["devices"][0], "vx0", "{k}");
    assert_eq!(k["local"], "0.0.0.0:4789", "{k}");
    assert!(
        k["text"]
            .as_str()
            .unwrap()
            .starts_with("The kernel holds UDP 4789 for VXLAN device vx0"),
        "{k}"
    );
    assert_eq!(e["fixes"][0]["kind"], "remove_devices", "{e}");
    assert!(
        e["fixes"][0]["text"]
            .as_str()
            .unwrap()
            .contains("ip link del vx0"),
        "{e}"
    );
    assert!(
        e["title"]
            .as_str()
            .unwrap()
            .contains("the kernel (VXLAN device vx0)"),
        "{e}"
    );
    // Every view says the same, and none blames another PID namespace or a process.
    let sentence = "The kernel holds UDP 4789 for VXLAN device vx0";
    for (i, what) in [(1, "check"), (3, "who"), (6, "report"), (7, "end")] {
        assert!(parts[i].contains(sentence), "{what}: {}", parts[i]);
        assert!(parts[i].contains("ip link del vx0"), "{what}: {}", parts[i]);
    }
    for (i, p) in parts.iter().enumerate().take(8) {
        assert!(!p.contains("PID namespace"), "part {i}: {p}");
        assert!(
            !p.contains("a process here that could not"),
            "part {i}: {p}"
        );
    }
    let who = parse(&parts[2]);
    let o = &who["owners"][0];
    assert_eq!(
        (
            o["note"].as_str(),
            o["pid"].is_null(),
            o["kernel"]["devices"][0].as_str()
        ),
        (Some("kernel"), true, Some("vx0")),
        "{who}"
    );
    assert_eq!(who["hidden"], 0, "{who}");
    let list = parse(&parts[4]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["port"] == 4789)
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(row["kernel"]["kind"], "vxlan", "{row}");
    assert!(
        parts[5].contains("the kernel (VXLAN device vx0)"),
        "{}",
        parts[5]
    );
    // Deleting the device frees the port: what the advice said.
    let after = parse(&parts[8]);
    assert_eq!(after["verdict"], "bindable", "{after}");
}

#[test]
#[ignore = "needs root (VXLAN devices in a private network namespace); CI runs it (cargo test -- --include-ignored)"]
fn devices_sharing_a_port_are_all_named_and_a_device_that_is_down_is_not() {
    let parts = in_private_netns(
        "ip link add vx0 type vxlan id 42 dstport 4789 local 127.0.0.1 dev lo; ip link set vx0 up
         ip link add vx1 type vxlan id 43 dstport 4789 local 127.0.0.1 dev lo; ip link set vx1 up
         ip link add vx2 type vxlan id 44 dstport 4790 local 127.0.0.1 dev lo
         $PI who 4789 --udp --json; echo @@
         $PI who 4790 --udp --json || true; echo @@
         $PI end 4789 --udp --dry-run",
    );
    let who = parse(&parts[0]);
    assert_eq!(
        who["owners"][0]["kernel"]["devices"],
        serde_json::json!(["vx0", "vx1"]),
        "{who}"
    );
    let down = parse(&parts[1]);
    assert_eq!(
        down["owners"].as_array().map(Vec::len),
        Some(0),
        "a device that is down holds no socket: {down}"
    );
    assert!(
        parts[2].contains("VXLAN devices vx0 and vx1")
            && parts[2].contains("ip link del vx0; ip link del vx1"),
        "{}",
        parts[2]
    );
}
