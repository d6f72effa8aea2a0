//! Holders a plain address does not describe: sockets the kernel opens for a network device, and
//! sockets bound to a device (SO_BINDTODEVICE), met on real devices in a private network
//! namespace the test creates.
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

#[test]
#[ignore = "needs root (a veth pair in a private network namespace); CI runs it (cargo test -- --include-ignored)"]
fn sockets_bound_to_devices_show_their_device_and_the_rule_in_every_view() {
    // Two devices (a veth pair: this kernel has no dummy driver), a listener bound to each on
    // the same 0.0.0.0 port: the kernel lets them share it. The holders read their standard
    // input from a FIFO this shell keeps open, and are ended by PID at the end.
    let holder = common::holder::path();
    let parts = in_private_netns(&format!(
        "ip link add pi-d0 type veth peer name pi-d1; ip link set pi-d0 up; ip link set pi-d1 up
         dir=$(mktemp -d); mkfifo $dir/in; exec 3<>$dir/in
         wait_port() {{ n=0; while [ ! -s $1 ]; do n=$((n+1)); [ $n -lt 400 ] || exit 9; sleep 0.05; done; }}
         {h} tcp 0.0.0.0:0 --device pi-d0 --for 120 <&3 >$dir/p0 & h0=$!; wait_port $dir/p0
         P=$(cat $dir/p0)
         {h} tcp 0.0.0.0:$P --device pi-d1 --for 120 <&3 >$dir/p1 & h1=$!; wait_port $dir/p1
         echo $P; echo @@
         $PI who $P; echo @@
         $PI who $P --json; echo @@
         $PI check $P || true; echo @@
         $PI check 127.0.0.1:$P --json || true; echo @@
         {h} tcp 127.0.0.1:$P --device lo </dev/null >/dev/null && echo shared || echo refused; echo @@
         $PI list; echo @@
         $PI list --json; echo @@
         $PI report $P || true; echo @@
         kill $h0 $h1; wait $h0 $h1 || true; rm -r $dir",
        h = holder.display()
    ));
    assert_eq!(parts.len(), 10, "{parts:?}");
    let port: u16 = parts[0].trim().parse().unwrap();
    let (a0, a1) = (
        format!("0.0.0.0%pi-d0:{port}"),
        format!("0.0.0.0%pi-d1:{port}"),
    );
    // who: both sockets, each with its device.
    assert!(
        parts[1].contains(&a0) && parts[1].contains(&a1),
        "who: {}",
        parts[1]
    );
    let who = parse(&parts[2]);
    let mut devices: Vec<&str> = who["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o["device"]["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{o}"))
        })
        .collect();
    devices.sort_unstable();
    assert_eq!(devices, ["pi-d0", "pi-d1"], "{who}");
    assert!(
        who["owners"][0]["device"]["index"].as_u64().unwrap() > 1,
        "the kernel's interface index (1 is lo): {who}"
    );
    // check: the rule that decided, with both devices, and no SO_REUSEPORT group claimed (two
    // listeners on one address share it only by their devices here).
    let rule = "sockets bound to different devices may share a port, but one bound to no device conflicts with all of them; this bind names no device";
    for (i, what) in [(3, "check"), (8, "report")] {
        let p = &parts[i];
        assert!(p.contains(rule), "{what}: {p}");
        assert!(p.contains(&a0) && p.contains(&a1), "{what}: {p}");
        assert!(!p.contains("SO_REUSEPORT group"), "{what}: {p}");
    }
    let check = parse(&parts[4]);
    let e = &check["explanation"];
    assert_eq!(check["verdict"], "not_bindable", "{check}");
    let held = &e["findings"][0];
    assert_eq!(held["kind"], "held", "{e}");
    assert!(held["text"].as_str().unwrap().contains(rule), "{held}");
    // Said for what the kernel did: the wildcard sockets on pi-d0 and pi-d1 do not receive
    // what is sent to 127.0.0.1 (they are no "wildcard covering" it); the bind was refused by
    // the rule for a bind naming no device. The same bind naming lo shares the port.
    let text = held["text"].as_str().unwrap();
    assert!(
        text.contains("bound to the wildcard address on devices pi-d0 and pi-d1 only: they receive only what arrives on those devices, not everything sent to 127.0.0.1"),
        "{held}"
    );
    assert!(
        !text.contains("Wildcard conflict") && !text.contains("covers"),
        "{held}"
    );
    assert!(
        text.contains("Bound to a device other than pi-d0 or pi-d1"),
        "{held}"
    );
    assert_eq!(
        parts[5].trim(),
        "shared",
        "127.0.0.1%lo:{port} binds beside them"
    );
    assert!(
        e["title"].as_str().unwrap().contains(&a0),
        "the title names the device too: {e}"
    );
    assert!(
        e["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] != "reuse_port_group"),
        "{e}"
    );
    // list, text and JSON.
    assert!(
        parts[6].contains(&a0) && parts[6].contains(&a1),
        "list: {}",
        parts[6]
    );
    let list = parse(&parts[7]);
    let rows: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["port"] == port)
        .collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(
        rows.iter().all(|r| r["device"]["name"].is_string()),
        "{rows:?}"
    );
}
