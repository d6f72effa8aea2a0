//! A process name the kernel cut at 15 characters is shown whole: "a-daemon-with-a-long-name",
//! not "a-daemon-with-a" (the review saw "systemd-socket- (PID 22515)"), in `who` and its JSON.
#![cfg(target_os = "linux")] // /proc/PID/comm: a Linux fact.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

#[test]
fn a_name_cut_by_the_kernel_is_shown_whole() {
    let link = common::holder::Named::new("a-daemon-with-a-long-name");
    let ip = common::private_loopback();
    let (holder, _) = common::holder::start_as(link.command(), &["tcp", &format!("{ip}:0")]);
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
}
