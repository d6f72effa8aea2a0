//! A two-machine lab for the remote tests (the CLI's and the window's): two network namespaces
//! the test creates ("here" and "there"), joined by a veth pair with their own addresses, and a
//! private sshd with its own keys inside "there". The client reaches it with its own config
//! (`PORT_INSPECTOR_SSH="ssh -F …"`): its key, its known_hosts; nothing of this machine's ssh
//! setup is read or changed.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The address of "there" on the veth pair (inside namespaces this test made: no other
/// machine sees it).
pub const THERE: &str = "10.253.0.2";
pub const HERE: &str = "10.253.0.1";

pub struct Lab {
    pub here: String,
    pub there: String,
    pub dir: PathBuf,
    sshd: Option<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.sshd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.here, &self.there] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ssh-keygen made {}", path.display());
}

impl Lab {
    /// Two namespaces, the veth between them, keys, and sshd running in "there" on port 22.
    pub fn new(tag: &str) -> Lab {
        super::require(
            super::is_root()
                && Path::new("/usr/sbin/sshd").exists()
                && Path::new("/usr/bin/ssh").exists(),
            "root (network namespaces), openssh-server and openssh-client",
        );
        let id = format!("{tag}{}", std::process::id());
        let dir = std::env::temp_dir().join(format!("pi-remote-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let mut lab = Lab {
            here: format!("pih-{id}"),
            there: format!("pit-{id}"),
            dir,
            sshd: None,
        };
        ip(&["netns", "add", &lab.here]);
        ip(&["netns", "add", &lab.there]);
        let (a, b) = (
            format!("va{}", std::process::id() % 100_000),
            format!("vb{}", std::process::id() % 100_000),
        );
        let (a, b) = (format!("{a}{}", &tag[..1]), format!("{b}{}", &tag[..1]));
        ip(&[
            "link", "add", &a, "netns", &lab.here, "type", "veth", "peer", "name", &b, "netns",
            &lab.there,
        ]);
        for (ns, dev, addr) in [(&lab.here, &a, HERE), (&lab.there, &b, THERE)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/30"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        keygen(&lab.dir.join("host_key"));
        keygen(&lab.dir.join("client_key"));
        keygen(&lab.dir.join("other_key"));
        std::fs::copy(
            lab.dir.join("client_key.pub"),
            lab.dir.join("authorized_keys"),
        )
        .unwrap();
        let config = format!(
            "Port 22\nListenAddress {THERE}\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n",
            d = lab.dir.display()
        );
        std::fs::write(lab.dir.join("sshd_config"), config).unwrap();
        lab.trust(&lab.dir.join("host_key.pub"));
        lab.client_config("client_key");
        lab.sshd = Some(
            lab.in_there("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(lab.dir.join("sshd_config"))
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let start = Instant::now();
        while !lab
            .in_here("bash")
            .args(["-c", &format!("exec 3<>/dev/tcp/{THERE}/22")])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            assert!(start.elapsed() < super::PATIENCE, "sshd came up");
            std::thread::sleep(Duration::from_millis(50));
        }
        lab
    }

    /// known_hosts holding `key` as the host key of "there".
    pub fn trust(&self, key: &Path) {
        let pubkey = std::fs::read_to_string(key).unwrap();
        let mut words = pubkey.split_whitespace();
        let line = format!(
            "{THERE} {} {}\n",
            words.next().unwrap(),
            words.next().unwrap()
        );
        std::fs::write(self.dir.join("known_hosts"), line).unwrap();
    }

    /// The client's ssh config: this key, this lab's known_hosts, nothing else.
    pub fn client_config(&self, key: &str) {
        let config = format!(
            "Host *\n  User root\n  IdentityFile {d}/{key}\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n",
            d = self.dir.display()
        );
        std::fs::write(self.dir.join("ssh_config"), config).unwrap();
    }

    pub fn in_ns(ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    pub fn in_here(&self, program: &str) -> Command {
        Self::in_ns(&self.here, program)
    }

    pub fn in_there(&self, program: &str) -> Command {
        Self::in_ns(&self.there, program)
    }

    /// port-inspector run "here", with this lab's ssh client config.
    pub fn pi(&self, args: &[&str]) -> Output {
        self.in_here(pi())
            .args(args)
            .env(
                "PORT_INSPECTOR_SSH",
                format!("ssh -F {}/ssh_config", self.dir.display()),
            )
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// port-inspector run here `--on` there, with the remote program named by its path.
    pub fn pi_on(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--on", THERE, "--remote-path", pi()]);
        self.pi(&all)
    }

    /// A holder listening on 0.0.0.0 inside "there"; its port.
    pub fn hold_there(&self) -> (Child, u16) {
        self.hold_there_at("0.0.0.0:0")
    }

    /// A holder listening on `addr` inside "there"; its port.
    pub fn hold_there_at(&self, addr: &str) -> (Child, u16) {
        let mut child = self
            .in_there(super::holder::path().to_str().unwrap())
            .args(["tcp", addr])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.split_whitespace().next().unwrap().parse().unwrap();
        (child, port)
    }
}

pub fn pi() -> &'static str {
    env!("CARGO_BIN_EXE_port-inspector")
}
