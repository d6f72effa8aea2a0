//! Helper programs (nft, iptables-save, netsh, sysctl, sw_vers, pkexec, osascript) run from the
//! system's own folders by absolute path, never looked up through PATH or the program's own
//! folder, with arguments passed as a list (no shell). A tool run as root must not be replaceable
//! by whoever can write a folder early in PATH.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The folders a Unix system installs its tools in, most specific first.
#[cfg(unix)]
const SYSTEM_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// The absolute path of the system tool `name`, if the system has it.
#[must_use]
pub fn find(name: &str) -> Option<PathBuf> {
    if name.contains(['/', '\\']) {
        return None;
    }
    #[cfg(unix)]
    {
        SYSTEM_DIRS
            .iter()
            .map(|d| std::path::Path::new(d).join(name))
            .find(|p| p.is_file())
    }
    #[cfg(windows)]
    {
        crate::winsock::system_directory()
            .map(|d| d.join(format!("{name}.exe")))
            .filter(|p| p.is_file())
    }
}

/// A command for the system tool `name` by its absolute path, or `None` when it is missing.
#[must_use]
pub fn command(name: &str) -> Option<Command> {
    find(name).map(Command::new)
}

/// How long a helper may take before it is ended and its answer counted as missing.
const TOOL_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the system tool `name` with `args` and returns its standard output when it succeeds
/// within [`TOOL_TIME_LIMIT`]; a tool that hangs (seen: `whoami` under Wine) is killed, never
/// waited on forever.
#[must_use]
pub fn output(name: &str, args: &[&str]) -> Option<String> {
    output_within(name, args, TOOL_TIME_LIMIT)
}

fn output_within(name: &str, args: &[&str], limit: std::time::Duration) -> Option<String> {
    use std::io::Read as _;
    let mut child = command(name)?
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let start = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() < limit => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    // After a kill the reader ends when the pipe closes; a grandchild still holding it is not
    // waited for.
    let text = if status.is_some() {
        reader.join().unwrap_or_default()
    } else {
        Vec::new()
    };
    status
        .filter(std::process::ExitStatus::success)
        .map(|_| String::from_utf8_lossy(&text).into_owned())
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn a_tool_that_hangs_is_ended_not_waited_on() {
        let started = std::time::Instant::now();
        let out = super::output_within("sleep", &["30"], std::time::Duration::from_millis(200));
        assert_eq!(out, None, "no answer from a tool ended for taking too long");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "ended, not waited for"
        );
        assert_eq!(
            super::output("echo", &["ok"]).as_deref(),
            Some("ok\n"),
            "a quick tool answers"
        );
    }

    #[test]
    fn tools_are_found_in_system_folders_only() {
        let sh = super::find("sh").expect("every Unix has sh");
        assert!(sh.is_absolute(), "{}", sh.display());
        assert!(super::find("../bin/sh").is_none(), "no paths, only names");
        assert!(super::find("no-such-tool-here").is_none());
    }
}
