//! The sentences about other machines and watched ports, one place for the command line and the
//! window: why a machine gave no answer (and the command that installs Port Inspector there),
//! a watched port's state, a watch's condition. Every remote string passes `text::clean`.

use crate::probe::Verdict;
use crate::remote::{AskError, Machine, RemoteError, RemoteOs};
use crate::watch::{PortState, Until};
use crate::wording::Front;

/// Why a machine gave no answer, in one line with what to do.
#[must_use]
pub fn failure(m: &Machine, e: &RemoteError, front: Front) -> String {
    let host = crate::text::clean(&m.host).into_owned();
    let m = crate::text::clean(&m.to_string()).into_owned();
    let (at_path, give_path) = match front {
        Front::Cli(_) => ("--remote-path", "give --remote-path"),
        Front::Window => (
            "the program path set for it in Machines",
            "set its program path in Machines",
        ),
    };
    match e {
        RemoteError::NoClient => "no ssh client here: install OpenSSH's client (Debian: apt install openssh-client; Windows: Settings > Optional features > OpenSSH Client)".into(),
        RemoteError::Unreachable(why) => format!(
            "cannot reach {m}: {}",
            if why.is_empty() {
                "ssh gave no reason".into()
            } else {
                crate::text::clean(why.strip_prefix("ssh: ").unwrap_or(why))
            }
        ),
        RemoteError::LoginRefused(_) => format!(
            "{m} refused the login: no key it accepts was offered (ssh runs in batch mode and never asks for a password); add your key there (ssh-copy-id {m}) or name it in ~/.ssh/config"
        ),
        RemoteError::HostKeyUnknown => format!(
            "the host key of {m} is not known here, and is never accepted unasked: connect once with 'ssh {host}', compare the fingerprint with the server's, then try again"
        ),
        RemoteError::HostKeyChanged => format!(
            "the host key of {m} has CHANGED since it was recorded in known_hosts: refused (it may be a reinstalled server, or someone in the middle); confirm the new key with the server's administrator, then 'ssh-keygen -R {host}'"
        ),
        RemoteError::NotInstalled(os) => format!(
            "port-inspector is not installed on {m} (or not at {at_path}): {}",
            install(*os)
        ),
        RemoteError::Unusable(why) => format!(
            "{m} did not answer as port-inspector does ({}): install port-inspector {} there, or {give_path}",
            crate::text::clean(why),
            crate::build_info::VERSION
        ),
    }
}

/// Why a machine's answer could not be read, in one line (the window's; the command line says
/// the same through its own exit codes).
#[must_use]
pub fn ask_failure(m: &Machine, e: &AskError, front: Front) -> String {
    match e {
        AskError::Remote(r) => failure(m, r, front),
        AskError::Refused(why) => format!(
            "{} refused: {}",
            crate::text::clean(&m.to_string()),
            crate::text::clean(why)
        ),
        AskError::Cancelled => format!(
            "cancelled: the answer of {}, if one comes, is not shown",
            crate::text::clean(&m.to_string())
        ),
        AskError::Unreadable { version, why } => format!(
            "the answer of {} (port-inspector {}) could not be read ({}); install port-inspector {} there",
            crate::text::clean(&m.to_string()),
            crate::text::clean(version),
            crate::text::clean(why),
            crate::build_info::VERSION
        ),
    }
}

/// The command that installs this version on a machine of that OS (the release's file names).
#[must_use]
pub fn install(os: Option<RemoteOs>) -> String {
    let v = crate::build_info::VERSION;
    match os {
        Some(RemoteOs::Debian) => format!(
            "copy port-inspector-cli_{v}_amd64.deb there and run 'sudo apt install ./port-inspector-cli_{v}_amd64.deb'"
        ),
        Some(RemoteOs::Fedora) => format!(
            "copy port-inspector-cli-{v}-1.x86_64.rpm there and run 'sudo dnf install ./port-inspector-cli-{v}-1.x86_64.rpm'"
        ),
        Some(RemoteOs::Suse) => format!(
            "copy port-inspector-cli-{v}-1.x86_64.rpm there and run 'sudo zypper install ./port-inspector-cli-{v}-1.x86_64.rpm'"
        ),
        Some(RemoteOs::Linux) => format!(
            "copy port-inspector-{v}-x86_64-linux.tar.gz there and run 'sudo tar -xzf port-inspector-{v}-x86_64-linux.tar.gz -C /usr/local --strip-components=1'"
        ),
        Some(RemoteOs::MacOs) => {
            "build it there from source: 'cargo install --path . --no-default-features'".into()
        }
        Some(RemoteOs::Windows) => format!(
            "copy port-inspector-{v}-x86_64.msi there and run 'msiexec /i port-inspector-{v}-x86_64.msi /qn', then give --remote-path \"C:\\Program Files\\Port Inspector\\port-inspector.exe\""
        ),
        None => format!(
            "install port-inspector-cli {v} there (Debian/Ubuntu: sudo apt install ./port-inspector-cli_{v}_amd64.deb; Fedora/RHEL: sudo dnf install ./port-inspector-cli-{v}-1.x86_64.rpm; see the README)"
        ),
    }
}

/// A watched port's state: `free`, `taken by nginx (PID 812)`, `unknown (…)`.
#[must_use]
pub fn port_state(state: &PortState) -> String {
    match state.verdict {
        Verdict::Bindable => "free".to_owned(),
        Verdict::Unknown => "unknown (the name did not resolve in time)".to_owned(),
        Verdict::NotBindable if state.holders.is_empty() && state.hidden == 0 => {
            "taken (no holder seen)".to_owned()
        }
        Verdict::NotBindable => {
            let mut names: Vec<String> = state
                .holders
                .iter()
                .map(|h| match (&h.process, h.pid) {
                    (Some(p), Some(pid)) => format!("{} (PID {pid})", crate::text::clean(p)),
                    (None, Some(pid)) => format!("PID {pid}"),
                    (_, None) => "a process not visible here".to_owned(),
                })
                .collect();
            if state.hidden > 0 {
                names.push(format!(
                    "{} whose process is not visible here",
                    crate::wording::count(state.hidden, "socket", "sockets")
                ));
            }
            format!("taken by {}", names.join(", "))
        }
    }
}

/// A watch's condition, as the window lists it: `becomes free`, `gets taken`, `changes owner`.
#[must_use]
pub fn until(u: Until) -> &'static str {
    match u {
        Until::Free => "becomes free",
        Until::Taken => "gets taken",
        Until::Changed => "changes owner",
    }
}

/// A met watch as a desktop notification: its summary and body. `machine` is `None` for this
/// machine.
#[must_use]
pub fn watch_met(
    event: &crate::watch::WatchEvent,
    machine: Option<&str>,
    until: Until,
) -> (String, String) {
    let on = machine.map_or_else(String::new, |m| format!(" on {}", crate::text::clean(m)));
    let summary = match until {
        Until::Free => format!("Port {}{on} is free", event.port),
        Until::Taken => format!("Port {}{on} was taken", event.port),
        Until::Changed => format!("Port {}{on} changed", event.port),
    };
    let secs = event.at_unix_ms / 1000 % 86_400;
    let body = format!(
        "{} {}{on}: {} (seen at {:02}:{:02}:{:02} UTC). The watch ended: the port {}.",
        event.protocol,
        crate::text::clean(&event.target),
        port_state(&event.state),
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        match until {
            Until::Free => "became free",
            Until::Taken => "got taken",
            Until::Changed => "changed",
        }
    );
    (summary, body)
}

/// The window title's note for a met watch: what happened and when, in the past (the port may
/// have changed again since): "Port 8080 on web1 was free at 15:15:50 UTC".
#[must_use]
pub fn watch_met_note(
    event: &crate::watch::WatchEvent,
    machine: Option<&str>,
    until: Until,
) -> String {
    let on = machine.map_or_else(String::new, |m| format!(" on {}", crate::text::clean(m)));
    let at = crate::record::time::clock(event.at_unix_ms, 0);
    let what = match until {
        Until::Free => "was free",
        Until::Taken => "was taken",
        Until::Changed => "changed",
    };
    format!("Port {}{on} {what} at {at} UTC", event.port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::Holder;

    #[test]
    fn a_hostile_holder_name_is_escaped() {
        let s = PortState {
            verdict: Verdict::NotBindable,
            holders: vec![Holder {
                pid: Some(7),
                process: Some("\u{1b}[2Jx\nFAKE".into()),
            }],
            hidden: 0,
        };
        let line = port_state(&s);
        assert!(!line.contains('\u{1b}') && !line.contains('\n'), "{line}");
        assert!(
            line.starts_with("taken by ") && line.ends_with("(PID 7)"),
            "{line}"
        );
    }

    #[test]
    fn the_window_names_its_own_control_for_the_program_path() {
        let m = Machine::parse("web-01").unwrap();
        let e = RemoteError::NotInstalled(None);
        let cli = Front::Cli(&crate::program::Program::OnPath);
        assert!(failure(&m, &e, cli).contains("--remote-path"), "cli");
        let w = failure(&m, &e, Front::Window);
        assert!(
            !w.contains("--remote-path") && w.contains("Machines"),
            "{w}"
        );
    }
}
