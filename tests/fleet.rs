//! Many machines without an agent: the shipped fan-out script, parallel-ssh and an Ansible ad-hoc
//! command drive `check --json` over real SSH. The only host is this machine: a private sshd on
//! 127.0.0.1 that the test starts and stops (no other address is ever contacted).
#![cfg(target_os = "linux")] // /proc, setpriv, network namespaces, sshd: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Sshd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Sshd {
    fn key(&self) -> PathBuf {
        self.dir.join("client_key")
    }

    /// Options that reach this sshd with the test's key and no host-key prompt.
    fn options(&self) -> Vec<String> {
        vec![
            "-p".into(),
            self.port.to_string(),
            "-i".into(),
            self.key().display().to_string(),
            "-o".into(),
            "StrictHostKeyChecking=no".into(),
            "-o".into(),
            "UserKnownHostsFile=/dev/null".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "LogLevel=ERROR".into(),
        ]
    }
}

fn keygen(path: &Path) -> bool {
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A private sshd on 127.0.0.1; the test fails, naming what is missing, where that is impossible.
fn start_sshd(tag: &str) -> Sshd {
    common::require(
        common::is_root() && Path::new("/usr/sbin/sshd").exists(),
        "root and openssh-server for a private sshd on 127.0.0.1",
    );
    let dir = std::env::temp_dir().join(format!("pi-sshd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    assert!(
        keygen(&dir.join("host_key")) && keygen(&dir.join("client_key")),
        "keys made"
    );
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    let port = common::free_tcp_port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n",
        d = dir.display()
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sshd = Sshd { child, port, dir };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < common::PATIENCE, "sshd came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    sshd
}

fn pi() -> &'static str {
    env!("CARGO_BIN_EXE_port-inspector")
}

#[test]
#[ignore = "needs root, sshd and ssh: a private sshd on 127.0.0.1; CI runs it (cargo test -- --include-ignored)"]
fn fanout_script_reports_each_host_over_ssh() {
    let sshd = start_sshd("fanout");
    let hosts = sshd.dir.join("hosts");
    std::fs::write(&hosts, "# the fleet\n127.0.0.1\n").unwrap();
    let ssh = format!("ssh {}", sshd.options().join(" "));
    let run = |target: &str| {
        Command::new("sh")
            .arg(common::source_dir().join("examples/fanout.sh"))
            .arg(&hosts)
            .arg(target)
            .env("SSH", &ssh)
            .env("PI", pi())
            .output()
            .unwrap()
    };
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = run(&format!("127.0.0.1:{port}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "some host cannot bind: {text}");
    let line = text.lines().find(|l| l.starts_with("127.0.0.1 ")).unwrap();
    assert!(line.contains("NOT BINDABLE  WSAEADDRINUSE 10048"), "{line}");
    assert!(
        line.contains(&format!("(PID {})", std::process::id())),
        "owner named: {line}"
    );
    assert!(text.contains("0 of 1 hosts can bind"), "{text}");

    drop(held);
    let out = run(&format!("127.0.0.1:{port}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("127.0.0.1                bindable"), "{text}");
}

#[test]
#[ignore = "needs root, sshd and parallel-ssh (pssh); CI runs it (cargo test -- --include-ignored)"]
fn parallel_ssh_collects_check_json() {
    common::require(
        Command::new("parallel-ssh")
            .arg("--version")
            .output()
            .is_ok(),
        "parallel-ssh (Debian package pssh)",
    );
    let sshd = start_sshd("pssh");
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = Command::new("parallel-ssh")
        .args(["-H", "127.0.0.1", "-l", "root", "-i", "-x"])
        .arg(sshd.options().join(" "))
        .arg(format!("{} check 127.0.0.1:{port} --json", pi()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Exited with error code 1"),
        "exit code 1 reported: {text}"
    );
    assert!(
        text.contains("\"wsa_code\": 10048"),
        "JSON collected: {text}"
    );
}

#[test]
#[ignore = "needs root, sshd and ansible; CI runs it (cargo test -- --include-ignored)"]
fn ansible_ad_hoc_collects_check_json() {
    common::require(
        Command::new("ansible").arg("--version").output().is_ok(),
        "ansible (pip install ansible-core)",
    );
    let sshd = start_sshd("ansible");
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = Command::new("ansible")
        .args([
            "all",
            "-i",
            "127.0.0.1,",
            "-u",
            "root",
            "-m",
            "command",
            "-a",
        ])
        .arg(format!("{} check 127.0.0.1:{port} --json", pi()))
        .args(["-e", &format!("ansible_port={}", sshd.port)])
        // Pin the remote interpreter: discovery may pick a version-manager shim.
        .args(["-e", "ansible_python_interpreter=/usr/bin/python3"])
        .args([
            "-e",
            &format!("ansible_ssh_private_key_file={}", sshd.key().display()),
        ])
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env(
            "ANSIBLE_SSH_ARGS",
            "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        )
        .env("ANSIBLE_LOCAL_TEMP", sshd.dir.join("ansible-local"))
        .env("ANSIBLE_REMOTE_TEMP", sshd.dir.join("ansible-remote"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAILED | rc=1"),
        "rc 1 reported per host: {text}"
    );
    assert!(
        text.contains("\"wsa_code\": 10048"),
        "JSON collected: {text}"
    );
}
