//! Each fix in its sentence for the CLI or the window, its button, and the catalog's general
//! causes when nothing was proven.

use serde::{Deserialize, Serialize};

use crate::diagnose::Fix;
use crate::platform::Os;
use crate::program::Program;
use crate::target::{Family, Protocol, SocketOptions, Target};
use crate::text::clean;

use super::{Front, plural};

/// A piece of a fix's sentence: words, or a command to be copied and run exactly as printed (a
/// document sets it apart as code, where nothing in it is escaped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    /// Words.
    Words(String),
    /// A command, whole.
    Command(String),
}

impl Piece {
    /// The piece as the sentence reads.
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Piece::Words(s) | Piece::Command(s) => s,
        }
    }
}

/// Words alone.
fn words(s: impl Into<String>) -> Vec<Piece> {
    vec![Piece::Words(s.into())]
}

/// Words, a command, words.
fn with_command(before: impl Into<String>, command: String, after: &str) -> Vec<Piece> {
    let mut out = vec![Piece::Words(before.into()), Piece::Command(command)];
    if !after.is_empty() {
        out.push(Piece::Words(after.to_owned()));
    }
    out
}

/// The sentence for one fix, for the CLI (commands) or the window (its controls).
#[must_use]
pub fn fix(f: &Fix, target: &Target, front: Front<'_>) -> String {
    fix_pieces(f, target, front)
        .iter()
        .map(Piece::text)
        .collect()
}

/// The sentence for one fix in its pieces: the commands apart from the words.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "a table: one arm per fix kind, each with its CLI and window wording"
)]
pub fn fix_pieces(f: &Fix, target: &Target, front: Front<'_>) -> Vec<Piece> {
    // The window's words name its controls, never a command: no program.
    static NONE: Program = Program::OnPath;
    let (cli, program) = match front {
        Front::Cli(p) => (true, p),
        Front::Window => (false, &NONE),
    };
    match f {
        Fix::EndProcesses { pids, .. } => {
            let list: Vec<String> = pids.iter().map(ToString::to_string).collect();
            // One owner, or the processes that share its sockets (a server and its workers).
            let whom = match pids.len() {
                1 => "the owner".to_owned(),
                n => format!("the {n} processes that hold it"),
            };
            if cli {
                with_command(
                    format!("Stop {whom}, or choose another port: "),
                    Os::current().kill_command(pids),
                    "",
                )
            } else {
                // Each holder's End button ends that holder (with the processes sharing its
                // socket) after asking, never the rest of a SO_REUSEPORT group.
                words(if let [one] = list.as_slice() {
                    format!(
                        "Stop {whom} with its End PID {one}… button (it asks first), or choose another port."
                    )
                } else {
                    format!(
                        "Stop {whom} (PIDs {}) with their End buttons under Who uses the port (each asks first), or choose another port.",
                        list.join(", ")
                    )
                })
            }
        }
        Fix::StopServices { services, hosts } => {
            let host = hosts
                .iter()
                .map(|(pid, name)| format!("{} (PID {pid})", clean(name)))
                .collect::<Vec<_>>()
                .join(", ");
            match services.as_slice() {
                [one] => with_command(
                    format!(
                        "Stop the service, not its process {host}, from an Administrator prompt: "
                    ),
                    format!("sc.exe stop {}", clean(&one.name)),
                    "",
                ),
                _ => words(format!(
                    "Stop the service that holds the port, not {host}, which also runs the others: one of {}. From an Administrator prompt: sc.exe stop NAME",
                    super::service_list(services)
                )),
            }
        }
        Fix::HolderAdvice { advice, command } => with_command(
            format!("{} (", clean(advice)),
            clean(command).into_owned(),
            ")",
        ),
        Fix::UseFreePort { port } => {
            if cli {
                with_command(
                    format!("Use port {port} instead: the same bind took it just now ("),
                    check_command(&with_port(target, *port), program),
                    ").",
                )
            } else {
                words(format!(
                    "Use port {port} instead: the same bind took it just now."
                ))
            }
        }
        Fix::SetReuseAddr => {
            if cli {
                with_command(
                    "Set SO_REUSEADDR on the server's socket before bind (",
                    check_command(&with_options(target, |o| o.reuse_address = true), program),
                    " shows it binds).",
                )
            } else {
                words("Set SO_REUSEADDR on the server's socket before bind.")
            }
        }
        Fix::SetReusePort => {
            if cli {
                with_command(
                    "Set SO_REUSEPORT on your socket, as the group's do, if you mean to join it (",
                    check_command(&with_options(target, |o| o.reuse_port = true), program),
                    ").",
                )
            } else {
                words("Set SO_REUSEPORT on your socket, as the group's do, if you mean to join it.")
            }
        }
        Fix::SetV6Only => {
            if cli {
                with_command(
                    "Set IPV6_V6ONLY on your IPv6 socket so it leaves the IPv4 port alone (",
                    check_command(&with_options(target, |o| o.v6_only = Some(true)), program),
                    ").",
                )
            } else {
                words("Set IPV6_V6ONLY on your IPv6 socket so it leaves the IPv4 port alone.")
            }
        }
        Fix::HolderSetsV6Only => words(
            "Make the holder set IPV6_V6ONLY on its [::] socket (many servers call it 'ipv6only'), so its IPv6 socket leaves the IPv4 port free.",
        ),
        Fix::BindSpecific => words("Bind only the address you need instead of the wildcard."),
        Fix::Wait { secs } => {
            if cli {
                with_command(
                    format!("Wait about {secs} s for them to go, then retry ("),
                    format!(
                        "{} --wait --timeout {}",
                        check_command(target, program),
                        secs + 10
                    ),
                    ")",
                )
            } else {
                words(format!(
                    "Wait about {secs} s for them to go, then retry (Watch until free)."
                ))
            }
        }
        Fix::UsePortFrom { start } => words(format!("Use a port of {start} or above.")),
        Fix::GrantBindCapability { root } => words(if *root {
            "Give the process back CAP_NET_BIND_SERVICE (a container: docker run --cap-add NET_BIND_SERVICE …; a systemd unit: AmbientCapabilities=CAP_NET_BIND_SERVICE)."
        } else {
            "Grant your program's executable the capability as root: setcap cap_net_bind_service=+ep on its file (or, for a systemd unit, AmbientCapabilities=CAP_NET_BIND_SERVICE)."
        }),
        Fix::ReservePort { port, existing, os } => {
            if *os == Os::Windows {
                with_command(
                    "Reserve the port so outgoing connections leave it alone, from an Administrator prompt: ",
                    format!(
                        "netsh int ipv4 add excludedportrange protocol={} startport={port} numberofports=1",
                        if target.protocol == Protocol::Udp {
                            "udp"
                        } else {
                            "tcp"
                        }
                    ),
                    "",
                )
            } else {
                let mut list: Vec<String> = existing
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                list.push(port.to_string());
                with_command(
                    "Reserve the port so outgoing connections leave it alone (keeps the ports reserved already): ",
                    format!(
                        "sudo sysctl -w net.ipv4.ip_local_reserved_ports={}",
                        list.join(",")
                    ),
                    "",
                )
            }
        }
        Fix::RetryLookup => {
            words("Look the name up again in a moment: the resolver called this failure temporary.")
        }
        Fix::BindAssigned { address } => words(format!(
            "Bind an address this machine has, such as {}, or the wildcard.",
            clean(&address.to_string())
        )),
        Fix::AddScope { addresses } => {
            if addresses.is_empty() {
                words(
                    "Add the interface to a link-local address (fe80::…%interface); this machine has no link-local addresses right now.",
                )
            } else {
                words(format!(
                    "Add the interface to the link-local address; this machine's are: {}.",
                    addresses
                        .iter()
                        .map(|a| format!("[{}]", clean(&a.to_string())))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
        Fix::MatchFamily { example } => words(format!(
            "Drop the family option, or use an address of the family you asked for (for example {example})."
        )),
        Fix::RunElevated => {
            if !cli {
                words("Relaunch Port Inspector as administrator to name the process.")
            } else if Os::current() == Os::Windows {
                with_command(
                    "Run the check again from an Administrator prompt to name the process: ",
                    check_command(target, program),
                    "",
                )
            } else {
                with_command(
                    "Run the check again as root to name the process: ",
                    format!("sudo {}", check_command(target, &program.under_sudo())),
                    "",
                )
            }
        }
        Fix::RemoveDevices { devices } => {
            let mut out = vec![Piece::Words(format!(
                "Delete or reconfigure the device{} (",
                plural(devices.len())
            ))];
            for (i, d) in devices.iter().enumerate() {
                if i > 0 {
                    out.push(Piece::Words("; ".into()));
                }
                out.push(Piece::Command(format!("ip link del {}", clean(d))));
            }
            out.push(Piece::Words("), or use another port.".into()));
            out
        }
        Fix::GrantPtrace => words(
            "Run the check with CAP_SYS_PTRACE in its capability set to name the process (being root is not enough without it).",
        ),
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
