//! What each resolver answer proves, met on a real name server: a tiny DNS responder on the
//! loopback of a private network namespace, reached by the real binary through a private mount
//! namespace with its own /etc/resolv.conf (the host's is never touched).
#![cfg(target_os = "linux")] // Namespaces and glibc's resolver: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::net::UdpSocket;
use std::os::fd::AsFd as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

/// DNS response codes the responder answers with, chosen by the first label of the name asked.
fn rcode_for(first_label: &[u8]) -> u8 {
    match first_label {
        b"servfail" => 2,
        b"refused" => 5,
        b"nxdomain" => 3,
        // "empty": NOERROR with no answer, a name that exists with no address.
        _ => 0,
    }
}

/// Answers every query on `sock` with no records and the response code its name asks for, until
/// `stop` is set.
fn serve(sock: &UdpSocket, stop: &AtomicBool) {
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, peer)) = sock.recv_from(&mut buf) else {
            continue;
        };
        if n < 13 {
            continue;
        }
        let q = &buf[..n];
        let len = usize::from(q[12]);
        let label = q.get(13..13 + len).unwrap_or_default();
        // Header: the query's id; QR, its opcode and RD, RA, the code; one question, no records.
        let flags_hi = 0x80 | (q[2] & 0x79);
        let flags_lo = 0x80 | rcode_for(label);
        let mut r = Vec::with_capacity(n);
        r.extend_from_slice(&q[..2]);
        r.extend_from_slice(&[flags_hi, flags_lo]);
        r.extend_from_slice(&q[4..6]);
        r.extend_from_slice(&[0; 6]);
        r.extend_from_slice(&q[12..]);
        let _ = sock.send_to(&r, peer);
    }
}

/// A network namespace of this test (`ip netns add`), deleted when dropped.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A name server on 127.0.0.1:53 of a fresh network namespace, and the files that make the
/// resolver of a private mount namespace ask it alone.
struct Lab {
    ns: Netns,
    dir: std::path::PathBuf,
    stop: Arc<AtomicBool>,
}

impl Lab {
    fn new() -> Self {
        common::require(
            common::is_root(),
            "root (ip netns add, unshare -m, mount --bind)",
        );
        let name = format!("pi-dns-{}", std::process::id());
        run(std::process::Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns(name);
        run(std::process::Command::new("ip").args(["-n", &ns.0, "link", "set", "lo", "up"]));
        // The responder's socket is made in the namespace by a thread that entered it (a network
        // namespace is per thread); port 53 is the only port resolv.conf can name, and it is free
        // in a namespace this test just made.
        let file = std::fs::File::open(format!("/run/netns/{}", ns.0)).unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        std::thread::spawn(move || {
            rustix::thread::move_into_link_name_space(
                file.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap();
            let sock = UdpSocket::bind("127.0.0.1:53").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            tx.send(()).unwrap();
            serve(&sock, &stop2);
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the responder is up");
        let dir = std::env::temp_dir().join(format!("pi-dns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n",
        )
        .unwrap();
        std::fs::write(dir.join("nsswitch.conf"), "hosts: files dns\n").unwrap();
        Self { ns, dir, stop }
    }

    /// The binary with `args`, in the namespace, asking the responder for every name.
    fn pi(&self, args: &str) -> (Option<i32>, String) {
        let script = format!(
            "mount --bind {d}/resolv.conf /etc/resolv.conf && mount --bind {d}/nsswitch.conf /etc/nsswitch.conf && exec \"$PI\" {args}",
            d = self.dir.display()
        );
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns.0, "unshare", "-m", "sh", "-c"])
            .arg(script)
            .env("PI", env!("CARGO_BIN_EXE_port-inspector"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
#[ignore = "needs root (a network namespace, a private mount namespace); CI runs it (cargo test -- --include-ignored)"]
fn each_resolver_answer_is_worded_for_what_it_proves() {
    let lab = Lab::new();
    let port = common::free_tcp_port().to_string();
    // (name, the failure it proves, EAI name, words the title has, words it must not have)
    let cases = [
        (
            "servfail.pi.test",
            "temporary",
            "EAI_AGAIN",
            "could not be looked up now: the resolver failed temporarily",
        ),
        (
            "refused.pi.test",
            "temporary",
            "EAI_AGAIN",
            "could not be looked up now: the resolver failed temporarily",
        ),
        (
            "nxdomain.pi.test",
            "no_such_name",
            "EAI_NONAME",
            "not found",
        ),
        (
            "empty.pi.test",
            "no_address",
            "EAI_NODATA",
            "has no address",
        ),
    ];
    for (name, failure, eai, title) in cases {
        let target = format!("{name}:{port}");
        let (code, out) = lab.pi(&format!("check {target} --json"));
        assert_eq!(code, Some(1), "{name}: not bindable: {out}");
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let e = &v["explanation"];
        let f = &e["findings"][0];
        assert_eq!(f["kind"], "not_resolved", "{name}: {e}");
        assert_eq!(f["failure"], failure, "{name}: {e}");
        assert_eq!(f["native_name"], eai, "{name}: {e}");
        let t = e["title"].as_str().unwrap();
        assert!(t.contains(title), "{name}: title {t:?}");
        if failure != "no_such_name" {
            assert!(!t.contains("not found"), "{name}: {t:?}");
            assert!(
                !f["text"].as_str().unwrap().contains("no host"),
                "{name}: {f}"
            );
        }
        if failure == "temporary" {
            let text = f["text"].as_str().unwrap();
            assert!(
                text.contains("says nothing about whether the name exists"),
                "{name}: {text}"
            );
            let fixes: Vec<&str> = e["fixes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|x| x["kind"].as_str())
                .collect();
            assert!(fixes.contains(&"retry_lookup"), "{name}: {fixes:?}");
        }
        // The text of `check` and of the report say the same title and finding.
        let (_, text) = lab.pi(&format!("check {target}"));
        assert!(text.contains(t), "{name}: check says {text}");
        assert!(text.contains(eai), "{name}: {text}");
        let (_, report) = lab.pi(&format!("report {target}"));
        assert!(report.contains(t), "{name}: report says {report}");
        assert!(
            report.contains(f["text"].as_str().unwrap()),
            "{name}: {report}"
        );
    }
}
