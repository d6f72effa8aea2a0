//! The bind rules that differ per OS, written as plain functions of an `Os` value so every OS's
//! rules are unit-tested on any machine. The diagnosis asks these; it never tests `cfg!` itself.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// An operating system whose bind rules we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    /// Linux.
    Linux,
    /// macOS.
    Macos,
    /// Windows.
    Windows,
}

impl Default for Os {
    fn default() -> Self {
        Self::current()
    }
}

impl std::fmt::Display for Os {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Os::Linux => "linux",
            Os::Macos => "macos",
            Os::Windows => "windows",
        })
    }
}

impl Os {
    /// The OS this binary runs on.
    #[must_use]
    pub const fn current() -> Self {
        if cfg!(target_os = "windows") {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::Macos
        } else {
            Os::Linux
        }
    }
}

/// Whether this OS refuses an unprivileged bind of `port` on `ip`.
///
/// Linux: below `ip_unprivileged_port_start` without CAP_NET_BIND_SERVICE. macOS (10.14+):
/// below 1024 only on a specific address; the wildcard is allowed. Windows: no privileged ports.
#[must_use]
pub fn privileged_refusal(
    os: Os,
    port: u16,
    ip: Option<IpAddr>,
    unprivileged_start: Option<u16>,
    may_bind_privileged: bool,
) -> bool {
    if port == 0 || may_bind_privileged {
        return false;
    }
    match os {
        Os::Windows => false,
        Os::Linux => port < unprivileged_start.unwrap_or(1024),
        Os::Macos => port < 1024 && !ip.is_some_and(|i| i.is_unspecified()),
    }
}

/// Whether a new IPv6 socket on `::` also takes the IPv4 port, given the option the program sets
/// (`None` = default) and, on Linux, `net.ipv6.bindv6only`.
#[must_use]
pub fn ipv6_is_dual_stack(os: Os, v6_only_option: Option<bool>, bindv6only: Option<bool>) -> bool {
    match v6_only_option {
        Some(v6only) => !v6only,
        None => match os {
            // Windows sockets default to IPV6_V6ONLY on.
            Os::Windows => false,
            Os::Macos => true,
            Os::Linux => bindv6only != Some(true),
        },
    }
}

/// A caution for a bind that worked while other sockets use the same port on other addresses.
#[must_use]
pub fn sharing_warning(os: Os, port: u16, tested: &str, others: &[String]) -> Option<String> {
    if others.is_empty() {
        return None;
    }
    let list = others.join(", ");
    Some(match os {
        Os::Windows => format!(
            "{tested} bound, but port {port} is also held on {list}. Windows lets different processes hold 0.0.0.0:{port} and 127.0.0.1:{port} at once; with SO_REUSEADDR a socket can even take over a live port, and a holder using SO_EXCLUSIVEADDRUSE makes such binds fail with WSAEACCES 10013 rather than 10048. Test the exact address and options your program will use."
        ),
        Os::Linux | Os::Macos => format!(
            "{tested} bound, but port {port} is also held on {list}; a bind on another address of the same port (or on the wildcard) may fail. Test the exact address and options your program will use."
        ),
    })
}

/// The standard way to start `exe` elevated on `os`, as (program, arguments): pkexec on Linux
/// (carrying the display variables pkexec would drop), the `runas` verb on Windows, an
/// administrator prompt through osascript on macOS. We never ask for or store a password.
#[must_use]
pub fn elevate_command(
    os: Os,
    exe: &str,
    display_env: &[(String, String)],
) -> (String, Vec<String>) {
    match os {
        Os::Linux => {
            let mut args = vec!["env".to_owned()];
            args.extend(display_env.iter().map(|(k, v)| format!("{k}={v}")));
            args.push(exe.to_owned());
            ("pkexec".into(), args)
        }
        Os::Windows => (
            "powershell".into(),
            vec![
                "-NoProfile".into(),
                "-Command".into(),
                format!(
                    "Start-Process -FilePath '{}' -Verb RunAs",
                    exe.replace('\'', "''")
                ),
            ],
        ),
        Os::Macos => (
            "osascript".into(),
            vec![
                "-e".into(),
                format!(
                    "do shell script quoted form of \"{}\" & \" > /dev/null 2>&1 &\" with administrator privileges",
                    exe.replace('"', "\\\"")
                ),
            ],
        ),
    }
}

/// Starts this program again elevated, on the user's click; the current window stays open.
pub fn relaunch_elevated() -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    let vars = [
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "XAUTHORITY",
        "XDG_RUNTIME_DIR",
    ];
    let env: Vec<(String, String)> = vars
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect();
    let (program, args) = elevate_command(Os::current(), &exe.to_string_lossy(), &env);
    std::process::Command::new(program)
        .args(args)
        .spawn()
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn privileged_ports_per_os() {
        assert!(
            privileged_refusal(Os::Linux, 80, ip("0.0.0.0"), Some(1024), false),
            "linux wildcard"
        );
        assert!(
            !privileged_refusal(Os::Linux, 80, ip("127.0.0.1"), Some(80), false),
            "start lowered"
        );
        assert!(
            !privileged_refusal(Os::Linux, 80, ip("127.0.0.1"), Some(1024), true),
            "capability"
        );
        assert!(
            !privileged_refusal(Os::Macos, 80, ip("0.0.0.0"), None, false),
            "mac wildcard ok"
        );
        assert!(
            privileged_refusal(Os::Macos, 80, ip("127.0.0.1"), None, false),
            "mac: a specific address is refused"
        );
        assert!(
            !privileged_refusal(Os::Windows, 80, ip("127.0.0.1"), None, false),
            "windows"
        );
        assert!(
            !privileged_refusal(Os::Linux, 0, ip("127.0.0.1"), Some(1024), false),
            "port 0"
        );
    }

    #[test]
    fn dual_stack_defaults_per_os() {
        assert!(
            ipv6_is_dual_stack(Os::Linux, None, Some(false)),
            "linux default"
        );
        assert!(
            !ipv6_is_dual_stack(Os::Linux, None, Some(true)),
            "bindv6only=1"
        );
        assert!(
            !ipv6_is_dual_stack(Os::Windows, None, None),
            "windows default v6only"
        );
        assert!(
            ipv6_is_dual_stack(Os::Macos, None, None),
            "macos default dual"
        );
        assert!(
            ipv6_is_dual_stack(Os::Windows, Some(false), None),
            "explicit off"
        );
        assert!(
            !ipv6_is_dual_stack(Os::Linux, Some(true), Some(false)),
            "explicit on"
        );
    }

    #[test]
    fn elevation_uses_each_platforms_standard_tool() {
        let env = vec![("DISPLAY".to_owned(), ":0".to_owned())];
        let (p, a) = elevate_command(Os::Linux, "/usr/bin/port-inspector", &env);
        assert_eq!(p, "pkexec");
        assert_eq!(a, ["env", "DISPLAY=:0", "/usr/bin/port-inspector"]);
        let (p, a) = elevate_command(Os::Windows, "C:\\pi.exe", &[]);
        assert_eq!(p, "powershell");
        assert!(a[2].contains("-Verb RunAs"), "{a:?}");
        let (p, _) = elevate_command(Os::Macos, "/Applications/pi", &[]);
        assert_eq!(p, "osascript");
    }

    #[test]
    fn sharing_warnings_per_os() {
        let others = vec!["0.0.0.0:8080".to_owned()];
        let w = sharing_warning(Os::Windows, 8080, "127.0.0.1:8080", &others).unwrap();
        assert!(
            w.contains("SO_EXCLUSIVEADDRUSE") && w.contains("10013"),
            "{w}"
        );
        let l = sharing_warning(Os::Linux, 8080, "127.0.0.1:8080", &others).unwrap();
        assert!(
            !l.contains("EXCLUSIVE") && l.contains("exact address"),
            "{l}"
        );
        assert!(
            sharing_warning(Os::Linux, 8080, "x", &[]).is_none(),
            "nothing to warn about"
        );
    }
}
