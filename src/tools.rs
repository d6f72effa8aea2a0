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

/// Runs the system tool `name` with `args` and returns its standard output when it succeeds.
#[must_use]
pub fn output(name: &str, args: &[&str]) -> Option<String> {
    let out = command(name)?
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn tools_are_found_in_system_folders_only() {
        let sh = super::find("sh").expect("every Unix has sh");
        assert!(sh.is_absolute(), "{}", sh.display());
        assert!(super::find("../bin/sh").is_none(), "no paths, only names");
        assert!(super::find("no-such-tool-here").is_none());
    }
}
