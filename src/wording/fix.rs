//! Each fix in its sentence for the CLI or the window, its button, and the catalog's general
//! causes when nothing was proven.

use crate::diagnose::Fix;
use crate::platform::Os;
use crate::program::Program;
use crate::target::{Family, Protocol, SocketOptions, Target};
use crate::text::clean;

use super::{Front, plural};

/// The sentence for one fix, for the CLI (commands) or the window (its controls).
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "a table: one arm per fix kind, each with its CLI and window wording"
)]
pub fn fix(f: &Fix, target: &Target, front: Front<'_>) -> String {
    // The window's words name its controls, never a command: no program.
    static NONE: Program = Program::OnPath;
    let (cli, program) = match front {
        Front::Cli(p) => (true, p),
        Front::Window => (false, &NONE),
    };
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
            if cli {
                format!(
                    "Use port {port} instead: the same bind took it just now ({}).",
                    check_command(&with_port(target, *port), program)
                )
            } else {
                format!("Use port {port} instead: the same bind took it just now.")
            }
        }
        Fix::SetReuseAddr => {
            if cli {
                format!(
                    "Set SO_REUSEADDR on the server's socket before bind ({} shows it binds).",
                    check_command(&with_options(target, |o| o.reuse_address = true), program)
                )
            } else {
                "Set SO_REUSEADDR on the server's socket before bind.".into()
            }
        }
        Fix::SetReusePort => {
            if cli {
                format!(
                    "Set SO_REUSEPORT on your socket, as the group's do, if you mean to join it ({}).",
                    check_command(&with_options(target, |o| o.reuse_port = true), program)
                )
            } else {
                "Set SO_REUSEPORT on your socket, as the group's do, if you mean to join it.".into()
            }
        }
        Fix::SetV6Only => {
            if cli {
                format!(
                    "Set IPV6_V6ONLY on your IPv6 socket so it leaves the IPv4 port alone ({}).",
                    check_command(&with_options(target, |o| o.v6_only = Some(true)), program)
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
                    "Wait about {secs} s for them to go, then retry ({} --wait --timeout {})",
                    check_command(target, program),
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
            clean(&address.to_string())
        ),
        Fix::AddScope { addresses } => {
            if addresses.is_empty() {
                "Add the interface to a link-local address (fe80::…%interface); this machine has no link-local addresses right now.".into()
            } else {
                format!(
                    "Add the interface to the link-local address; this machine's are: {}.",
                    addresses
                        .iter()
                        .map(|a| format!("[{}]", clean(&a.to_string())))
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
                    "Run the check again from an Administrator prompt to name the process: {}",
                    check_command(target, program)
                )
            } else {
                format!(
                    "Run the check again as root to name the process: sudo {}",
                    check_command(target, program)
                )
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
/// The `port-inspector check …` command that makes the same bind as `target`: `program` as the
/// front named it, its address and every option it set (UDP, the family, the socket options),
/// each argument quoted for this OS's shell, so the command runs as printed and asks the same
/// question (a UDP check's "use port N" once printed a TCP check, and `*:8080` unquoted is a glob
/// to bash and zsh).
#[must_use]
pub fn check_command(target: &Target, program: &Program) -> String {
    let mut args = vec![clean(&target.display_addr()).into_owned()];
    let mut flag = |a: &str| args.push(a.to_owned());
    if target.protocol == Protocol::Udp {
        flag("--udp");
    }
    match target.family {
        Family::Ipv4 => flag("-4"),
        Family::Ipv6 => flag("-6"),
        Family::Any => {}
    }
    let o = &target.options;
    if o.reuse_address {
        flag("--reuseaddr");
    }
    if o.reuse_port {
        flag("--reuseport");
    }
    if let Some(on) = o.v6_only {
        flag("--v6only");
        flag(if on { "on" } else { "off" });
    }
    if o.exclusive_address_use {
        flag("--exclusive");
    }
    if target.protocol == Protocol::Tcp {
        if !o.listen {
            flag("--no-listen");
        } else if o.backlog != SocketOptions::default().backlog {
            flag("--backlog");
            args.push(o.backlog.to_string());
        }
    }
    let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    format!("{} check {}", program_word(program), quoted.join(" "))
}

/// `program` as the first word of a command for this OS's shell: `port-inspector`, or its path
/// quoted where the shell would read a character of it (`'/tmp/my tools/port-inspector'`).
#[must_use]
pub fn program_word(program: &Program) -> String {
    shell_quote(&clean(program.name()))
}

/// One argument as this OS's shell takes it literally: POSIX single quotes where a character
/// means something to sh, bash or zsh (`*`, `[`, `%` stay plain only where safe); on Windows,
/// whose cmd.exe and PowerShell expand none of these, double quotes only around a space.
fn shell_quote(arg: &str) -> String {
    if Os::current() == Os::Windows {
        if arg.contains(' ') {
            format!("\"{arg}\"")
        } else {
            arg.to_owned()
        }
    } else {
        shlex::try_quote(arg).map_or_else(|_| arg.to_owned(), std::borrow::Cow::into_owned)
    }
}

/// `target` with another port (what "use port N instead" checks).
fn with_port(target: &Target, port: u16) -> Target {
    let mut t = target.clone();
    t.port = port;
    t
}

/// `target` with a change to its socket options (what a fix's command adds).
fn with_options(target: &Target, change: impl FnOnce(&mut SocketOptions)) -> Target {
    let mut t = target.clone();
    change(&mut t.options);
    t
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
