//! Link-local addresses are offered with their scope: `facts` lists an interface's fe80:: address
//! as `fe80::…%NAME`, and a check of it binds. In a network namespace the test makes, with a
//! veth pair of its own (the machine's interfaces are never touched).
#![cfg(target_os = "linux")] // unshare, ip: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

#[test]
#[ignore = "needs root: a private network namespace; CI runs it (cargo test -- --include-ignored)"]
fn a_link_local_address_is_listed_with_its_scope_and_binds() {
    common::require(common::is_root(), "root, for a private network namespace");
    let out = std::process::Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            r#"set -e
ip link add pi0 type veth peer name pi1
ip link set pi0 up && ip link set pi1 up
ip addr add fe80::1:2/64 dev pi0 nodad
"$BIN" facts
echo "---"
"$BIN" check '[fe80::1:2%pi0]:0' --quiet; echo "rc=$?""#,
        ])
        .env("BIN", env!("CARGO_BIN_EXE_port-inspector"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("pi0") && l.contains("fe80::1:2%pi0")),
        "facts lists the link-local address with its scope: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("rc=0"), "a check of it binds: {text}");
}
