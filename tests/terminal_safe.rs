//! Names set by someone else (the host name, an interface's name) never reach a terminal raw:
//! `facts` escapes them, and its JSON carries DEL, C1 controls and bidi overrides `\u`-escaped
//! while meaning exactly the same text.
#![allow(clippy::unwrap_used)]

mod common;

/// The host name and the loopback interface's name set in a private UTS and network namespace.
const HOST: &str = "h\u{1b}]0;owned\u{7}\u{202e}x\u{7f}\u{9b}31m";
const IFACE: &str = "l\u{1b}[2J\u{7}\u{202e}";

fn facts_in_namespace(args: &str) -> (Option<i32>, Vec<u8>) {
    // Python sets the host name (any bytes, as sethostname takes them); no socket is held.
    let script = format!(
        r#"python3 -c 'import socket, sys; socket.sethostname(sys.argv[1])' "$HOST" &&
ip link set lo name "$IFACE" && ip link set "$IFACE" up && exec "$BIN" {args}"#
    );
    let out = std::process::Command::new("unshare")
        .args(["-n", "-u", "sh", "-c", &script])
        .env("HOST", HOST)
        .env("IFACE", IFACE)
        .env("BIN", env!("CARGO_BIN_EXE_port-inspector"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), out.stdout)
}

/// Bytes a terminal acts on: C0 controls but the line break, DEL, C1 controls (as UTF-8) and
/// the bidi overrides.
fn raw_controls(out: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(out)
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[test]
#[ignore = "needs root and python3: private UTS and network namespaces; CI runs it (cargo test -- --include-ignored)"]
fn facts_escapes_host_and_interface_names() {
    common::require(
        common::is_root(),
        "root (private UTS and network namespaces)",
    );
    let (_, out) = facts_in_namespace("facts");
    assert_eq!(
        raw_controls(&out),
        Vec::<char>::new(),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("h\\x1b]0;owned\\x07\\u{202e}x\\x7f\\u{9b}31m"),
        "{text}"
    );
    assert!(text.contains("l\\x1b[2J\\x07\\u{202e}"), "{text}");

    let (_, out) = facts_in_namespace("facts --json");
    assert_eq!(
        raw_controls(&out),
        Vec::<char>::new(),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["hostname"], HOST, "the JSON is exact");
    assert!(
        v["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == IFACE),
        "{v}"
    );
}
