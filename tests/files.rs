//! Writing files as root: `report -o` never turns a device into a file, never follows another
//! user's link, keeps a replaced file's owner and mode, and leaves nothing behind on a full disk.
//! Each case runs in a folder of its own, the device and disk cases in a private mount namespace
//! with their own /dev or tmpfs (the machine's /dev is never touched).
#![cfg(target_os = "linux")] // unshare, mknod, setpriv: Linux facts.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A fresh folder for one test, readable by everyone (the `nobody` child needs to pass through).
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pi-files-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// Runs `sh -c script` in a private mount namespace, with `$BIN` the built binary.
fn in_private_mounts(script: &str) -> std::process::Output {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script])
        .env("BIN", env!("CARGO_BIN_EXE_port-inspector"))
        .output()
        .unwrap()
}

fn report_to(path: &Path, force: bool) -> std::process::Output {
    let mut c = common::bin();
    c.args(["report", "127.0.0.1:0", "-o"]).arg(path);
    if force {
        c.arg("--force");
    }
    c.output().unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The review's case: in a private /dev, `-o /dev/null --force` as root turned /dev/null into a
/// regular file. Now a character device is written through and stays a device.
#[test]
#[ignore = "needs root: a private mount namespace with its own /dev; CI runs it (cargo test -- --include-ignored)"]
fn a_device_is_written_through_and_stays_a_device() {
    common::require(
        common::is_root(),
        "root, for a private mount namespace with its own /dev",
    );
    let out = in_private_mounts(
        r#"set -e
mount -t tmpfs -o mode=755 pi-dev /dev
mknod -m 666 /dev/null c 1 3
"$BIN" report 127.0.0.1:0 -o /dev/null --force
echo "rc=$?"
stat -c 'type=%F' /dev/null
echo hello > /dev/null
echo "content=[$(cat /dev/null)]""#,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ran: {text}{}", stderr(&out));
    assert!(
        text.contains("rc=0"),
        "the report was written through: {text}"
    );
    assert!(
        text.contains("type=character special file"),
        "/dev/null is still a device: {text}"
    );
    assert!(text.contains("content=[]"), "and still discards: {text}");
}

/// `-o -` and `-o /dev/stdout` are standard output (no --force asked); `/dev/stderr` standard
/// error.
#[test]
fn the_standard_streams_are_streams() {
    for name in ["-", "/dev/stdout"] {
        let out = report_to(Path::new(name), false);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("# Port Inspector report"),
            "{name}: the report on standard output"
        );
    }
    let out = report_to(Path::new("/dev/stderr"), false);
    assert_eq!(out.status.code(), Some(0), "/dev/stderr: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing on standard output");
    assert!(
        stderr(&out).contains("# Port Inspector report"),
        "on standard error"
    );
}

/// A FIFO with a reader gets the report; without one the write is refused at once (never a hang)
/// and the FIFO stays a FIFO.
#[test]
fn a_fifo_is_written_through_or_refused_with_its_reason() {
    let d = scratch("fifo");
    let fifo = d.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    let out = report_to(&fifo, false);
    assert_eq!(out.status.code(), Some(1), "refused: {}", stderr(&out));
    assert!(
        stderr(&out).contains("FIFO that nobody is reading"),
        "says why: {}",
        stderr(&out)
    );
    let reader = Command::new("cat")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader opens the FIFO in its own time: try until it has (a bounded wait).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let out = report_to(&fifo, false);
        if out.status.code() == Some(0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reader never opened the FIFO: {}",
            stderr(&out)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let got = reader.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&got.stdout).contains("# Port Inspector report"),
        "the reader got the report"
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "still a FIFO"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// `--force` replaces a regular file and keeps its owner and mode (a 0600 file of another user
/// stays theirs and 0600); a link is refused even with --force, and its target is untouched.
#[test]
#[ignore = "needs root: a file of another user; CI runs it (cargo test -- --include-ignored)"]
fn force_keeps_the_owner_and_mode_and_never_replaces_a_link() {
    common::require(common::is_root(), "root, to make a file of another user");
    let d = scratch("force");
    let f = d.join("theirs.md");
    std::fs::write(&f, "old").unwrap();
    std::os::unix::fs::chown(&f, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = report_to(&f, true);
    assert_eq!(out.status.code(), Some(0), "replaced: {}", stderr(&out));
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!((m.uid(), m.gid()), (65534, 65534), "the owner is kept");
    assert_eq!(m.mode() & 0o7777, 0o600, "the mode is kept");
    assert!(
        std::fs::read_to_string(&f)
            .unwrap()
            .contains("# Port Inspector report"),
        "the new content"
    );
    let link = d.join("link.md");
    std::os::unix::fs::symlink(&f, &link).unwrap();
    let before = std::fs::read(&f).unwrap();
    let out = report_to(&link, true);
    assert_eq!(out.status.code(), Some(1), "a link is refused");
    assert!(
        stderr(&out).contains("symbolic link"),
        "says why: {}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&f).unwrap(), before, "its target untouched");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link itself untouched"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// A full disk: the write fails with the system's reason and leaves neither the file nor a
/// temporary file behind.
#[test]
#[ignore = "needs root: a private mount namespace with a small tmpfs; CI runs it (cargo test -- --include-ignored)"]
fn a_full_disk_leaves_no_partial_file() {
    common::require(
        common::is_root(),
        "root, for a private mount namespace with a small tmpfs",
    );
    let d = scratch("full");
    let out = in_private_mounts(&format!(
        r#"mount -t tmpfs -o size=16k pi-full {dir}
dd if=/dev/zero of={dir}/fill bs=1k count=64 2>/dev/null
"$BIN" report 127.0.0.1:0 -o {dir}/r.md
echo "rc=$?"
ls -A {dir} | tr '\n' ' '"#,
        dir = d.display()
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rc=1"),
        "the write failed: {text}{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("No space left on device"),
        "with the reason: {}",
        stderr(&out)
    );
    let listed = text.lines().last().unwrap_or_default().trim().to_owned();
    assert_eq!(listed, "fill", "nothing but the filler is left: {text}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A folder on the way that is another user's link is never followed: root writing into a shared
/// folder cannot be sent elsewhere. First the link standing still, then a folder swapped for a
/// link and back as fast as `nobody` can, 300 writes meanwhile: none lands in the target.
#[test]
#[ignore = "needs root: a child as nobody (setpriv); CI runs it (cargo test -- --include-ignored)"]
fn another_users_link_on_the_way_is_never_followed() {
    common::require(common::is_root(), "root, to start a child as nobody");
    let d = scratch("swap");
    let shared = d.join("shared");
    let victim = d.join("victim");
    std::fs::create_dir(&shared).unwrap();
    std::fs::create_dir(&victim).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let as_nobody = |script: &str| {
        Command::new("setpriv")
            .args([
                "--reuid",
                "nobody",
                "--regid",
                "nogroup",
                "--clear-groups",
                "sh",
                "-c",
                script,
            ])
            .current_dir(&shared)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let made = as_nobody(&format!("ln -s {} still", victim.display()))
        .wait()
        .unwrap();
    assert!(made.success(), "nobody made a link");
    let out = report_to(&shared.join("still").join("r.md"), false);
    assert_eq!(out.status.code(), Some(1), "refused");
    assert!(
        stderr(&out).contains("symbolic link owned by another user (uid 65534)"),
        "says why: {}",
        stderr(&out)
    );
    // Root's own link is followed as before.
    std::os::unix::fs::symlink(&victim, d.join("mine")).unwrap();
    let out = report_to(&d.join("mine").join("ok.md"), false);
    assert_eq!(out.status.code(), Some(0), "own link: {}", stderr(&out));
    std::fs::remove_file(victim.join("ok.md")).unwrap();

    let mut flipper = as_nobody(&format!(
        "while :; do mkdir d; rm -rf d; ln -s {} d; rm -f d; done",
        victim.display()
    ));
    let mut written = 0;
    for i in 0..300 {
        if report_to(&shared.join("d").join(format!("r{i}.md")), false)
            .status
            .success()
        {
            written += 1;
        }
    }
    let _ = flipper.kill();
    let _ = flipper.wait();
    let landed: Vec<_> = std::fs::read_dir(&victim).unwrap().collect();
    assert!(
        landed.is_empty(),
        "{} of 300 writes were redirected into the link's target ({written} written in all)",
        landed.len()
    );
    std::fs::remove_dir_all(&d).unwrap();
}
