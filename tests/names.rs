//! A process name the kernel cut at 15 characters is shown whole: "a-daemon-with-a-long-name",
//! not "a-daemon-with-a" (the review saw "systemd-socket- (PID 22515)"), in `who` and its JSON.
#![cfg(target_os = "linux")] // /proc/PID/comm: a Linux fact.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

#[test]
#[ignore = "needs python3 (a holder child); CI runs it (cargo test -- --include-ignored)"]
fn a_name_cut_by_the_kernel_is_shown_whole() {
    let dir = std::env::temp_dir().join(format!("pi-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let python = String::from_utf8(
        // The interpreter itself (python3 on PATH may be a shell script, e.g. pyenv's shim).
        std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let link = dir.join("a-daemon-with-a-long-name");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(python.trim(), &link).unwrap();
    let ip = common::private_loopback().to_string();
    let holder = common::spawn_holder_as("tcp", &ip, None, link.to_str().unwrap());
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", holder.child.id())).unwrap();
    assert_eq!(comm.trim(), "a-daemon-with-a", "the kernel cut it");
    let (_, v) = common::json(&["who", &holder.port.to_string(), "--json"]);
    let text = v.to_string();
    assert!(
        text.contains("\"process\":\"a-daemon-with-a-long-name\""),
        "the whole name in the JSON: {text}"
    );
    let out = common::bin()
        .args(["who", &holder.port.to_string()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "a-daemon-with-a-long-name (PID {})",
            holder.child.id()
        )),
        "and in words: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(holder);
    std::fs::remove_dir_all(&dir).unwrap();
}
