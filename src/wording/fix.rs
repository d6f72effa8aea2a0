//! Each fix in its sentence for the CLI or the window, its button, and the catalog's general
//! causes when nothing was proven.

use crate::diagnose::Fix;
use crate::platform::Os;
use crate::target::{Protocol, Target};
use crate::text::clean;

use super::{Front, plural};

/// The sentence for one fix, for the CLI (commands) or the window (its controls).
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "a table: one arm per fix kind, each with its CLI and window wording"
)]
pub fn fix(f: &Fix, target: &Target, front: Front) -> String {
    let t = clean(&target.display_addr()).into_owned();
    let cli = front == Front::Cli;
    match f {
        Fix::EndProcesses { pids, .. } => {
            let list: Vec<String> = pids.iter().map(ToString::to_string).collect();
            if cli {
                format!(
                    "Stop the owner, or choose another port: {}",
                    Os::current().kill_command(pids)
                )
            } else {
                format!(
                    "Stop the owner with its End PID {}… button (it ends PID {} after asking), or choose another port.",
                    list[0],
                    list.join(", ")
                )
            }
        }
        Fix::StopServices { services, hosts } => {
            let host = hosts
                .iter()
                .map(|(pid, name)| format!("{} (PID {pid})", clean(name)))
                .collect::<Vec<_>>()
                .join(", ");
            match services.as_slice() {
                [one] => format!(
                    "Stop the service, not its process {host}, from an Administrator prompt: sc.exe stop {}",
                    clean(&one.name)
                ),
                _ => format!(
                    "Stop the service that holds the port, not {host}, which also runs the others: one of {}. From an Administrator prompt: sc.exe stop NAME",
                    super::service_list(services)
                ),
            }
        }
        Fix::HolderAdvice { advice, command } => {
            format!("{} ({})", clean(advice), clean(command))
        }
        Fix::UseFreePort { port } => {
            let other = target_with_port(target, *port);
            if cli {
                format!(
                    "Use port {port} instead: the same bind took it just now (port-inspector check {other})."
                )
            } else {
                format!("Use port {port} instead: the same bind took it just now.")
            }
        }
        Fix::SetReuseAddr => {
            if cli {
                format!(
                    "Set SO_REUSEADDR on the server's socket before bind (port-inspector check {t} --reuseaddr shows it binds)."
                )
            } else {
                "Set SO_REUSEADDR on the server's socket before bind.".into()
            }
        }
        Fix::SetReusePort => {
            if cli {
                format!(
                    "Set SO_REUSEPORT on your socket, as the group's do, if you mean to join it (port-inspector check {t} --reuseport)."
                )
            } else {
                "Set SO_REUSEPORT on your socket, as the group's do, if you mean to join it.".into()
            }
        }
        Fix::SetV6Only => {
            if cli {
                format!(
                    "Set IPV6_V6ONLY on your IPv6 socket so it leaves the IPv4 port alone (port-inspector check {t} --v6only on)."
                )
            } else {
                "Set IPV6_V6ONLY on your IPv6 socket so it leaves the IPv4 port alone.".into()
            }
        }
        Fix::HolderSetsV6Only => {
            "Make the holder set IPV6_V6ONLY on its [::] socket (many servers call it 'ipv6only'), so its IPv6 socket leaves the IPv4 port free.".into()
        }
        Fix::BindSpecific => {
            "Bind only the address you need instead of the wildcard.".into()
        }
        Fix::Wait { secs } => {
            if cli {
                format!(
                    "Wait about {secs} s for them to go, then retry (port-inspector check {t} --wait --timeout {})",
                    secs + 10
                )
            } else {
                format!("Wait about {secs} s for them to go, then retry (Watch until free).")
            }
        }
        Fix::UsePortFrom { start } => format!("Use a port of {start} or above."),
        Fix::GrantBindCapability { root } => {
            if *root {
                "Give the process back CAP_NET_BIND_SERVICE (a container: docker run --cap-add NET_BIND_SERVICE …; a systemd unit: AmbientCapabilities=CAP_NET_BIND_SERVICE).".into()
            } else {
                "Grant your program's executable the capability as root: setcap cap_net_bind_service=+ep on its file (or, for a systemd unit, AmbientCapabilities=CAP_NET_BIND_SERVICE).".into()
            }
        }
        Fix::ReservePort { port, existing, os } => if *os == Os::Windows {
            format!(
                "Reserve the port so outgoing connections leave it alone, from an Administrator prompt: netsh int ipv4 add excludedportrange protocol={} startport={port} numberofports=1",
                if target.protocol == Protocol::Udp { "udp" } else { "tcp" }
            )
        } else {
            {
                let mut list: Vec<String> = existing
                    .iter()
                    .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                    .collect();
                list.push(port.to_string());
                format!(
                    "Reserve the port so outgoing connections leave it alone (keeps the ports reserved already): sudo sysctl -w net.ipv4.ip_local_reserved_ports={}",
                    list.join(",")
                )
            }
        }
        Fix::RetryLookup => {
            "Look the name up again in a moment: the resolver called this failure temporary.".into()
        }
        Fix::BindAssigned { address } => format!(
            "Bind an address this machine has, such as {}, or the wildcard.",
            clean(address)
        ),
        Fix::AddScope { addresses } => {
            if addresses.is_empty() {
                "Add the interface to a link-local address (fe80::…%interface); this machine has no link-local addresses right now.".into()
            } else {
                format!(
                    "Add the interface to the link-local address; this machine's are: {}.",
                    addresses
                        .iter()
                        .map(|a| format!("[{}]", clean(a)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
        Fix::MatchFamily { example } => format!(
            "Drop the family option, or use an address of the family you asked for (for example {example})."
        ),
        Fix::RunElevated => {
            if !cli {
                "Relaunch Port Inspector as administrator to name the process.".into()
            } else if Os::current() == Os::Windows {
                format!(
                    "Run the check again from an Administrator prompt to name the process: port-inspector check {t}"
                )
            } else {
                format!("Run the check again as root to name the process: sudo port-inspector check {t}")
            }
        }
        Fix::RemoveDevices { devices } => format!(
            "Delete or reconfigure the device{} ({}), or use another port.",
            plural(devices.len()),
            devices
                .iter()
                .map(|d| format!("ip link del {}", clean(d)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Fix::GrantPtrace => {
            "Run the check with CAP_SYS_PTRACE in its capability set to name the process (being root is not enough without it).".into()
        }
    }
}

/// The label of the window's button that carries out `f` itself, for the fixes it can do
/// (another port, an option and Test again); `None` for the rest.
#[must_use]
pub fn fix_button(f: &Fix) -> Option<String> {
    match f {
        Fix::UseFreePort { port } => Some(format!("Use port {port}")),
        Fix::SetReuseAddr => Some("Retry with SO_REUSEADDR".into()),
        Fix::SetReusePort => Some("Retry with SO_REUSEPORT".into()),
        Fix::SetV6Only => Some("Retry with IPv6-only".into()),
        Fix::RunElevated => Some("Relaunch as administrator".into()),
        _ => None,
    }
}

/// `target` with another port, written as the CLI takes it.
pub(crate) fn target_with_port(target: &Target, port: u16) -> String {
    let mut t = target.clone();
    t.port = port;
    clean(&t.display_addr()).into_owned()
}

/// The catalog's general causes for an error, keeping only those that can apply to this protocol,
/// family and OS.
#[must_use]
pub fn general_causes(e: &crate::catalog::CatalogEntry, target: &Target) -> Vec<String> {
    let os = Os::current();
    e.causes
        .iter()
        .filter(|c| c.applies(target.protocol, target.family, os))
        .map(|c| c.text.clone())
        .collect()
}
