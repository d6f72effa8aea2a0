//! The command line: clap definitions, turning arguments into core values, and exit codes.
//! Output formatting lives in `output`; the core never prints.

mod output;
mod remote;
mod watch;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::catalog;
use crate::check;
use crate::owners::{self, Query};
use crate::probe::ProbeConfig;
use crate::target::{self, Family, InputError, Protocol, Target};

/// Exit status for scripts, the same for every subcommand.
pub mod exit {
    /// The port can be bound (or the command did what was asked).
    pub const OK: u8 = 0;
    /// The port cannot be bound, nothing was found, or the command failed at run time (a file
    /// that cannot be written, standard output full).
    pub const NOT_BINDABLE: u8 = 1;
    /// Bad usage or input; nothing was done.
    pub const USAGE: u8 = 2;
    /// No answer: the check was cancelled or timed out before the OS answered, or `who` found
    /// nobody while short of file descriptors.
    pub const UNKNOWN: u8 = 3;
}

/// The exit-code table every subcommand's `--help` ends with (and the man pages carry).
const EXIT_CODES: &str = "Exit codes:\n  0  bindable / success\n  1  not bindable / not found / failed at run time\n  2  bad input or usage (nothing was done)\n  3  unknown: cancelled or timed out before an answer\n  4  --on: the machine could not be reached\n  5  --on: the machine refused the login\n  6  --on: the machine's host key is unknown or changed (refused)\n  7  --on: no usable port-inspector on the machine";

/// Can my program bind this address and port? If not, exactly why, and who is in the way?
///
/// With no command, opens the window.
#[derive(Debug, Parser)]
#[command(name = "port-inspector", version = crate::build_info::LONG_VERSION, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do; no command opens the window.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print nothing on standard output: the exit code is the answer (for scripts).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No colours, even on a terminal (NO_COLOR in the environment does the same).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Ask another machine over ssh ([USER@]HOST[:PORT], as ssh takes it: your ssh config,
    /// agent and known_hosts): check, who, list, scan, end, report and facts.
    #[arg(long, global = true, value_name = "[USER@]HOST[:PORT]", value_parser = crate::remote::Machine::parse)]
    pub on: Option<crate::remote::Machine>,
    /// With --on: the port-inspector program on that machine, when it is not on its PATH.
    #[arg(long, global = true, value_name = "PATH", requires = "on")]
    pub remote_path: Option<String>,
}

/// How a command prints; every command takes `--format` (and `--json` as its short form) with
/// the formats that make sense for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per line, for log pipelines.
    Ndjson,
    /// Markdown, for a ticket (report only).
    Md,
}

/// `--json` and `--format`, flattened into every command that prints.
#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Output format: text, json (one document) or ndjson (one object per line).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

impl Output {
    /// The format asked for, or the one line that refuses a format this command cannot print.
    fn format(self, allowed: &[Format]) -> Result<Format, InputError> {
        let f = if self.json { Format::Json } else { self.format };
        if allowed.contains(&f) {
            Ok(f)
        } else {
            Err(InputError::OutOfBounds(format!(
                "--format {} is not available here: give {}",
                format_name(f),
                allowed
                    .iter()
                    .map(|a| format_name(*a))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Text => "text",
        Format::Json => "json",
        Format::Ndjson => "ndjson",
        Format::Md => "md",
    }
}

fn timeout_secs(text: &str) -> Result<Duration, InputError> {
    target::parse_seconds(text, 0.1, 300.0, "--timeout")
}

fn wait_secs(text: &str) -> Result<Duration, InputError> {
    target::parse_seconds(text, 0.1, 86_400.0, "--timeout")
}

fn interval_secs(text: &str) -> Result<Duration, InputError> {
    target::parse_seconds(text, 0.1, 3600.0, "--interval")
}

fn hold_secs(text: &str) -> Result<Duration, InputError> {
    target::parse_seconds(text, 1.0, 3600.0, "--for")
}

fn count(text: &str) -> Result<usize, InputError> {
    target::parse_count(text, 1000)
}

fn backlog(text: &str) -> Result<i32, InputError> {
    match text.trim().parse::<i32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n),
        _ => Err(InputError::OutOfBounds(format!(
            "backlog '{}' is out of range: give 1 to 65535",
            crate::text::clean(&text.chars().take(20).collect::<String>())
        ))),
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test whether [HOST:]PORT can be bound, step by step, and explain a failure.
    #[command(
        after_help = concat!("Examples:\n  port-inspector check 8080\n  port-inspector check 127.0.0.1:80 --json\n  port-inspector check [::1]:5432 --v6only on\n  port-inspector check 53 --udp\n\n", "Exit codes:\n  0  bindable\n  1  not bindable (with --wait: still not free when --timeout passed)\n  2  bad input\n  3  unknown: cancelled or the resolver timed out")
    )]
    Check(CheckArgs),
    /// Show what a Winsock or native error code means (10048, 98, -2, WSAEADDRINUSE, EADDRINUSE).
    #[command(
        after_help = concat!("Examples:\n  port-inspector explain 10048\n  port-inspector explain 98\n  port-inspector explain EADDRINUSE --json\n\n", "Exit codes:\n  0  explained\n  2  unknown code")
    )]
    Explain {
        /// WSA number, native number (errno, EAI), WSA name or native name.
        #[arg(allow_hyphen_values = true)]
        code: String,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// List every error code the tool knows.
    #[command(
        after_help = concat!("Examples:\n  port-inspector errors\n  port-inspector errors --json | jq '.[].wsa_name'\n\n", "Exit codes:\n  0  listed\n  2  bad usage")
    )]
    Errors {
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// List who uses a port: sockets, states and owning processes.
    #[command(
        after_help = concat!("Examples:\n  port-inspector who 8080\n  port-inspector who 53 --udp --json\n\n", "Exit codes:\n  0  some socket uses the port\n  1  none does\n  2  bad input\n  3  unknown: none found, but it could not look everywhere (out of file descriptors, or no socket table could be read)")
    )]
    Who {
        /// The port, protocol and address.
        #[command(flatten)]
        sel: PortArgs,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Open the window; with a TARGET, open it on that check, run at once (for a desktop shortcut,
    /// or a ticket's "open this check" line).
    #[command(
        after_help = "Examples:\n  port-inspector window\n  port-inspector window 127.0.0.1:8080\n  port-inspector window 5353 --udp\n\nExit codes:\n  0  the window was closed\n  2  bad input, or no display"
    )]
    Window {
        /// [HOST:]PORT to check at once; a bare PORT means all interfaces.
        #[arg(allow_hyphen_values = true)]
        target: Option<String>,
        /// Protocol, family and socket options.
        #[command(flatten)]
        bind: BindOptions,
    },
    /// Every socket on the machine, live: listening TCP and bound UDP by default, with each
    /// owner, who started it and what manages it.
    #[command(
        after_help = concat!("Examples:\n  port-inspector list\n  port-inspector list --all --tcp\n  port-inspector list --process nginx --json\n  port-inspector list --port 53 --format ndjson\n\n", "Exit codes:\n  0  listed (possibly nothing)\n  2  bad input\n  3  unknown: the socket table could not be read in full (said on stderr)")
    )]
    List {
        /// TCP sockets only.
        #[arg(long, conflicts_with = "udp")]
        tcp: bool,
        /// UDP sockets only.
        #[arg(long)]
        udp: bool,
        /// Listening TCP sockets only (no UDP, no bound-only).
        #[arg(long, conflicts_with = "all")]
        listening: bool,
        /// Connections too (ESTABLISHED, TIME_WAIT …), not only listening and bound sockets.
        #[arg(long)]
        all: bool,
        /// Only this port.
        #[arg(long, allow_hyphen_values = true, value_parser = target::parse_port)]
        port: Option<u16>,
        /// Only processes whose name contains this text (case-insensitive).
        #[arg(long)]
        process: Option<String>,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Test every port in START-END for bindability, and name who uses the busy ones.
    #[command(
        after_help = concat!("Examples:\n  port-inspector scan 8000-9000\n  port-inspector scan 1-1024 --both --json\n  port-inspector scan 5000-5100 --host ::1\n\n", "Exit codes:\n  0  scanned\n  1  the scan could not finish (out of descriptors)\n  2  bad input")
    )]
    Scan {
        /// The range, START-END (1-65535).
        #[arg(allow_hyphen_values = true, value_parser = target::parse_range)]
        range: (u16, u16),
        /// Local address to bind (default 127.0.0.1); a link-local IPv6 one with its interface
        /// (fe80::1%eth0).
        #[arg(long, allow_hyphen_values = true, value_parser = scoped_ip_address)]
        host: Option<ScopedIp>,
        /// UDP instead of TCP.
        #[arg(long, conflicts_with = "both")]
        udp: bool,
        /// TCP and UDP.
        #[arg(long)]
        both: bool,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Show the facts of this machine that decide binds (privileged ports, ranges, dual-stack, …).
    #[command(
        after_help = concat!("Examples:\n  port-inspector facts\n  port-inspector facts --json\n\n", "Exit codes:\n  0  shown\n  2  bad usage")
    )]
    Facts {
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Write a report of a check for a ticket: steps, verdict, error, owners and machine facts.
    #[command(
        after_help = concat!("Examples:\n  port-inspector report 8080 > ticket.md\n  port-inspector report 127.0.0.1:443 --format json -o check.json\n  port-inspector report [::]:53 --udp --v6only on\n\n", "Exit codes:\n  0  bindable (report written)\n  1  not bindable, or the file could not be written\n  2  bad input\n  3  unknown")
    )]
    Report {
        /// [HOST:]PORT.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Protocol, family and socket options, as for `check`.
        #[command(flatten)]
        bind: BindOptions,
        /// Give up on a slow name lookup after SECS seconds, 0.1 to 300 (as for `check`).
        #[arg(long, default_value = "10", allow_hyphen_values = true, value_parser = timeout_secs)]
        timeout: Duration,
        /// md (Markdown), text or json.
        #[arg(long, value_enum, default_value = "md")]
        format: Format,
        /// Write to FILE instead of standard output ('-' is standard output). Never over an
        /// existing file without --force, never through a symbolic link; a device or FIFO is
        /// written through.
        #[arg(short = 'o', long = "output")]
        output: Option<std::path::PathBuf>,
        /// Replace FILE if it is an existing regular file (its owner and mode are kept).
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Test the port across TCP/UDP x IPv4/IPv6 x SO_REUSEADDR off/on (and address vs wildcard).
    #[command(
        after_help = concat!("Examples:\n  port-inspector matrix 8080\n  port-inspector matrix 127.0.0.1:5432 --json\n\n", "Exit codes:\n  0  every cell bindable\n  1  some cell not bindable\n  2  bad input\n  3  no cell refused, but some could not be tried (the name did not resolve in time)")
    )]
    Matrix {
        /// [HOST:]PORT.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// One bound for the whole matrix's name lookups, in seconds (0.1 to 300).
        #[arg(long, default_value = "10", allow_hyphen_values = true, value_parser = timeout_secs)]
        timeout: Duration,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Hold the port open and print each connection (or datagram) as it arrives: is a firewall in the way?
    #[command(
        after_help = concat!("Examples:\n  port-inspector listen 8080 --for 120\n  port-inspector listen 0.0.0.0:5353 --udp\n\n", "Exit codes:\n  0  held for the whole time\n  1  could not bind\n  2  bad input")
    )]
    Listen {
        /// [HOST:]PORT.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Protocol, family and socket options, as for `check`.
        #[command(flatten)]
        bind: BindOptions,
        /// Seconds to hold the port (1 to 3600).
        #[arg(long = "for", default_value = "60", allow_hyphen_values = true, value_parser = hold_secs)]
        duration: Duration,
        /// Give up on a slow name lookup after SECS seconds (0.1 to 300).
        #[arg(long, allow_hyphen_values = true, value_parser = timeout_secs)]
        timeout: Option<Duration>,
    },
    /// End every process that holds PORT (all that share its sockets, the parent first), then
    /// bind the port again to prove it is free.
    #[command(
        after_help = concat!("Examples:\n  port-inspector end 8080 --dry-run\n  port-inspector end 8080 --tcp --yes\n  port-inspector end 5353 --udp --host 127.0.0.1 --signal KILL --yes\n\nWithout --yes it asks on a terminal, and refuses without one. It never ends PID 0 or 1, a\nkernel thread, itself or its parent, nor a proven container proxy (stop the container).\nEach PID is checked again right before its signal, through a pidfd.\n\n", "Exit codes:\n  0  the port is bindable afterwards (or --dry-run)\n  1  the port is still not bindable\n  2  bad input, or refused (nothing was ended)\n  3  unknown: no holder found, but the lookup could not look everywhere (nothing was ended)")
    )]
    End {
        /// The port, protocol and address.
        #[command(flatten)]
        sel: PortArgs,
        /// Show what would be ended, and end nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask; needed without a terminal.
        #[arg(long, short = 'y')]
        yes: bool,
        /// TERM (ask to stop; the default) or KILL (stop at once).
        #[arg(long, value_enum, default_value = "TERM", ignore_case = true)]
        signal: SignalArg,
        /// Output format.
        #[command(flatten)]
        output: Output,
        /// For `end --on`: the PIDs confirmed on the other machine ("none", or 1,2,3); when the
        /// port's holders are others now, nothing is ended.
        #[arg(long, hide = true)]
        expect_pids: Option<String>,
    },
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    #[command(
        after_help = concat!("Examples:\n  port-inspector completions bash > /etc/bash_completion.d/port-inspector\n  port-inspector completions zsh > ~/.zfunc/_port-inspector\n\n", "Exit codes:\n  0  printed\n  2  unknown shell")
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per subcommand into a folder.
    #[command(
        after_help = concat!("Examples:\n  port-inspector man > port-inspector.1\n  sudo port-inspector man --dir /usr/local/share/man/man1   # then: man port-inspector-check\n\n", "Exit codes:\n  0  written\n  1  the folder could not be written\n  2  bad usage")
    )]
    Man {
        /// Write port-inspector.1 and port-inspector-SUBCOMMAND.1 for every subcommand here.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Watch a port until it is free, taken, or changes: a line (or JSON object) per change.
    #[command(
        after_help = concat!("Examples:\n  port-inspector watch 8080 --until free\n  port-inspector watch 127.0.0.1:5432 --until changed --json\n  port-inspector watch 8080 --until free --on web-01 --timeout 600\n\n", "Exit codes:\n  0  the condition holds\n  1  --timeout passed first\n  2  bad input\n  4-7  --on: the machine gave no answer (see port-inspector --help)")
    )]
    Watch(watch::WatchArgs),
    /// Print ports that are bindable right now, one per line: PORT=$(port-inspector free).
    #[command(
        after_help = concat!("Examples:\n  PORT=$(port-inspector free)\n  port-inspector free --count 5 --range 8000-9000\n  port-inspector free --udp --host ::1\n\n", "Exit codes:\n  0  as many ports as asked\n  1  fewer were free\n  2  bad input")
    )]
    Free {
        /// How many ports (1 to 1000).
        #[arg(long, default_value = "1", allow_hyphen_values = true, value_parser = count)]
        count: usize,
        /// Where to look, START-END.
        #[arg(long, default_value = "1024-65535", allow_hyphen_values = true, value_parser = target::parse_range)]
        range: (u16, u16),
        /// Local address to bind (default 127.0.0.1).
        #[arg(long, allow_hyphen_values = true, value_parser = ip_address)]
        host: Option<std::net::IpAddr>,
        /// UDP instead of TCP.
        #[arg(long)]
        udp: bool,
    },
}

/// A port and which of its sockets: shared by `who` and `end`, which look at the same sockets.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// The port.
    #[arg(allow_hyphen_values = true, value_parser = target::parse_port)]
    pub port: u16,
    /// UDP sockets only.
    #[arg(long, conflicts_with = "tcp")]
    pub udp: bool,
    /// TCP sockets only.
    #[arg(long)]
    pub tcp: bool,
    /// Only the sockets a bind of this local address would meet: the address itself, its
    /// wildcard, and a dual-stack [::] for IPv4.
    #[arg(long, allow_hyphen_values = true, value_parser = ip_address)]
    pub host: Option<std::net::IpAddr>,
}

/// The signal `end` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignalArg {
    /// SIGTERM.
    #[value(name = "TERM")]
    Term,
    /// SIGKILL.
    #[value(name = "KILL")]
    Kill,
}

/// A local address to scan, with the interface of a scoped IPv6 one (`fe80::1%eth0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopedIp {
    /// The address.
    pub ip: std::net::IpAddr,
    /// The interface index of a scoped IPv6 address; 0 for none.
    pub scope_id: u32,
}

/// An IP address given on the command line, an IPv6 one with its `%scope` (an interface name
/// or number) as getaddrinfo reads it: `fe80::1%eth0`, `[fe80::1%2]`.
fn scoped_ip_address(text: &str) -> Result<ScopedIp, InputError> {
    /// `AI_NUMERICHOST`: 4 on Linux, macOS and Windows alike; an address, never a lookup.
    const AI_NUMERICHOST: i32 = 4;
    let h = text.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    if !h.split_once('%').is_some_and(|(a, _)| a.contains(':')) {
        return ip_address(text).map(|ip| ScopedIp { ip, scope_id: 0 });
    }
    target::validate_host(h)?;
    let hints = dns_lookup::AddrInfoHints {
        flags: AI_NUMERICHOST,
        ..dns_lookup::AddrInfoHints::default()
    };
    let found = dns_lookup::getaddrinfo(Some(h), None, Some(hints))
        .ok()
        .and_then(|mut it| it.find_map(Result::ok))
        .map(|a| a.sockaddr);
    match found {
        Some(std::net::SocketAddr::V6(v6)) if v6.scope_id() != 0 => Ok(ScopedIp {
            ip: std::net::IpAddr::V6(*v6.ip()),
            scope_id: v6.scope_id(),
        }),
        _ => Err(InputError::OutOfBounds(format!(
            "'{}' names no interface of this machine: give the address with one that 'port-inspector facts' lists, e.g. fe80::1%eth0",
            crate::text::clean(h)
        ))),
    }
}

/// An IP address given on the command line (`127.0.0.1`, `::1`, `[::1]`); scans and `who` need
/// an address, not a name.
fn ip_address(text: &str) -> Result<std::net::IpAddr, InputError> {
    let h = text.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    target::validate_host(h)?;
    h.parse()
        .map_err(|_| InputError::NotAnAddress(crate::text::clean(h).into_owned()))
}

/// Options of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// [HOST:]PORT; a bare PORT means all interfaces, IPv6 goes in brackets ([::1]:8080).
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    /// Protocol, family and socket options.
    #[command(flatten)]
    pub bind: BindOptions,
    /// Give up on a slow name lookup after SECS seconds, 0.1 to 300 (with --wait: stop waiting
    /// after SECS, up to 86400).
    #[arg(long, allow_hyphen_values = true)]
    pub timeout: Option<String>,
    /// Keep re-checking until the port is free (exit 0) or --timeout passes (exit 1).
    #[arg(long)]
    pub wait: bool,
    /// With --wait: seconds between checks (0.1 to 3600).
    #[arg(long, default_value = "1", allow_hyphen_values = true, value_parser = interval_secs)]
    pub interval: Duration,
    /// Output format.
    #[command(flatten)]
    pub output: Output,
}

/// The bind a check makes: shared by `check`, `report` and `listen`, so a ticket shows the exact
/// options.
#[derive(Debug, Args)]
pub struct BindOptions {
    /// Test UDP instead of TCP.
    #[arg(long)]
    pub udp: bool,
    /// IPv4 only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// IPv6 only.
    #[arg(short = '6')]
    pub ipv6: bool,
    /// Set SO_REUSEADDR before bind.
    #[arg(long)]
    pub reuseaddr: bool,
    /// Set SO_REUSEPORT before bind (Unix): join a group of same-user sockets that set it.
    #[arg(long)]
    pub reuseport: bool,
    /// Set IPV6_V6ONLY on IPv6 sockets (default: the system's).
    #[arg(long, value_parser = ["on", "off"])]
    pub v6only: Option<String>,
    /// Set SO_EXCLUSIVEADDRUSE (Windows only).
    #[arg(long)]
    pub exclusive: bool,
    /// Bind only; do not call listen.
    #[arg(long)]
    pub no_listen: bool,
    /// Listen backlog (1 to 65535).
    #[arg(long, default_value = "128", allow_hyphen_values = true, value_parser = backlog)]
    pub backlog: i32,
}

impl BindOptions {
    /// The validated target for `[HOST:]PORT` with these options.
    pub fn target(&self, text: &str) -> Result<Target, InputError> {
        let (host, port) = target::parse_host_port(text)?;
        let mut t = Target::tcp(&host, port);
        t.protocol = if self.udp {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        t.family = if self.ipv4 {
            Family::Ipv4
        } else if self.ipv6 {
            Family::Ipv6
        } else {
            Family::Any
        };
        t.options.reuse_address = self.reuseaddr;
        t.options.reuse_port = self.reuseport;
        t.options.v6_only = self.v6only.as_deref().map(|v| v == "on");
        t.options.exclusive_address_use = self.exclusive;
        t.options.listen = !self.no_listen;
        t.options.backlog = self.backlog;
        if let target::Host::Ip { ip, .. } = target::Host::parse(&t.host) {
            target::check_unicast(ip, t.protocol)?;
        }
        Ok(t)
    }
}

impl CheckArgs {
    /// Turns arguments into a validated target and the timeout (its bounds depend on --wait).
    pub fn to_target(&self) -> Result<(Target, Duration), InputError> {
        let t = self.bind.target(&self.target)?;
        let parse = if self.wait { wait_secs } else { timeout_secs };
        let timeout =
            parse(
                self.timeout
                    .as_deref()
                    .unwrap_or(if self.wait { "60" } else { "10" }),
            )?;
        Ok((t, timeout))
    }
}

/// The display variables an elevated relaunch may carry (`--env NAME=VALUE`, added by
/// `platform::elevate_command` because pkexec drops the environment). Only these: an elevated
/// process must not take LD_PRELOAD or PATH from its caller.
const CARRIED_ENV: [&str; 4] = [
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
];

/// When started as `port-inspector --env NAME=VALUE …` (an elevated relaunch), starts this
/// program again with those display variables set and the rest of the arguments, and returns its
/// exit code; `None` for an ordinary start. A name outside the four display variables is refused.
#[must_use]
pub fn env_trampoline() -> Option<ExitCode> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_none_or(|a| a != "--env") {
        return None;
    }
    let mut vars = Vec::new();
    while args.first().is_some_and(|a| a == "--env") {
        let pair = args.get(1).and_then(|p| p.to_str()).map(str::to_owned);
        args.drain(..args.len().min(2));
        match pair.as_deref().and_then(|p| p.split_once('=')) {
            Some((k, v)) if CARRIED_ENV.contains(&k) => vars.push((k.to_owned(), v.to_owned())),
            _ => {
                output::error_line(&format!(
                    "--env takes one of {} as NAME=VALUE",
                    CARRIED_ENV.join(", ")
                ));
                return Some(ExitCode::from(exit::USAGE));
            }
        }
    }
    let status = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .args(args)
            .envs(vars)
            .status()
    });
    Some(match status {
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
        Err(e) => {
            output::error_line(&format!(
                "cannot start again with the display variables: {e}"
            ));
            ExitCode::from(exit::NOT_BINDABLE)
        }
    })
}

/// Parses the process's arguments and runs them: the binary's whole `main` for a subcommand.
/// A usage error is one line and exit 2 (clap's own help and version output stay as they are).
pub fn parse_args() -> Result<Cli, ExitCode> {
    match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return Err(ExitCode::SUCCESS);
            }
            // A value refused by one of our parsers: its own message says it all.
            if e.kind() == ErrorKind::ValueValidation
                && let Some(source) = std::error::Error::source(&e)
            {
                output::error_line(&source.to_string());
                return Err(ExitCode::from(exit::USAGE));
            }
            // clap's message is several lines (usage, a tip); its first line says what is wrong,
            // and for a value out of a list, the list is what the user needs next.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            match text
                .lines()
                .find_map(|l| l.trim().strip_prefix("[possible values: "))
            {
                Some(values) => output::error_line(&format!(
                    "{first}: give one of {}",
                    values.trim_end_matches(']')
                )),
                None => output::error_line(first),
            }
            Err(ExitCode::from(exit::USAGE))
        }
    }
}

/// For `port-inspector window [TARGET]`: `Some(Ok(target))` to open the window (on TARGET when
/// given), `Some(Err(code))` after printing the one-line error of a bad TARGET, `None` for every
/// other command (the window itself is opened by the binary, not by the command line).
#[must_use]
pub fn window_start(cli: &Cli) -> Option<Result<Option<Target>, ExitCode>> {
    let Some(Command::Window { target, bind }) = &cli.command else {
        return None;
    };
    output::configure(cli.quiet, cli.no_color);
    Some(
        match target.as_deref().map(|t| bind.target(t)).transpose() {
            Ok(t) => Ok(t),
            Err(e) => {
                output::error_line(&e.to_string());
                Err(ExitCode::from(exit::USAGE))
            }
        },
    )
}

/// Runs a parsed command line and returns the process exit code. Each error is handled here,
/// once: bad input is exit 2, a failure at run time (a file, standard output) exit 1.
#[must_use]
pub fn run(cli: Cli) -> ExitCode {
    output::configure(cli.quiet, cli.no_color);
    let Some(cmd) = cli.command else {
        return ExitCode::from(exit::USAGE);
    };
    let on = remote::remote_of(cli.on.as_ref(), cli.remote_path.as_deref());
    let result = match &on {
        Some(r) => remote::execute(cmd, r),
        None => execute(cmd),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            output::error_line(&format!("{e:#}"));
            if e.downcast_ref::<InputError>().is_some() {
                exit::USAGE
            } else {
                exit::NOT_BINDABLE
            }
        }
    };
    // Output that could not be written (a full disk; not a closed pipe) is a failure.
    if let Some(e) = output::write_error() {
        output::error_line(&format!("cannot write to standard output: {e}"));
        return ExitCode::from(exit::NOT_BINDABLE);
    }
    ExitCode::from(code)
}

fn simple_target(text: &str, udp: bool) -> Result<Target, InputError> {
    let (host, port) = target::parse_host_port(text)?;
    Ok(if udp {
        Target::udp(&host, port)
    } else {
        Target::tcp(&host, port)
    })
}

/// The exit code for a check's verdict.
fn verdict_code(c: &check::Check) -> u8 {
    verdict_exit(c.report.verdict)
}

fn verdict_exit(v: crate::probe::Verdict) -> u8 {
    match v {
        crate::probe::Verdict::Bindable => exit::OK,
        crate::probe::Verdict::NotBindable => exit::NOT_BINDABLE,
        crate::probe::Verdict::Unknown => exit::UNKNOWN,
    }
}

/// A scan or `free` binds one address: refuse one this machine cannot bind, in one line.
/// The address to scan or search, once a bind on it worked. An address this machine does not
/// have is the user's input (exit 2); running out of descriptors is this process's own limit,
/// said as such (exit 1), never "cannot bind".
fn bindable_address(
    host: Option<std::net::IpAddr>,
    scope_id: u32,
) -> anyhow::Result<std::net::IpAddr> {
    let address = host.unwrap_or_else(crate::scan::default_address);
    match crate::scan::check_scoped_address(address, scope_id) {
        Ok(()) => Ok(address),
        Err(e) if crate::scan::is_out_of_descriptors(&e) => anyhow::bail!(
            "this process ran out of file descriptors ({}) before its first bind; nothing was tested, since that says nothing about the ports; {}, and try again",
            e.headline(),
            crate::wording::RAISE_FD_LIMIT
        ),
        Err(e) => Err(InputError::OutOfBounds(format!(
            "cannot bind {address} on this machine: {} ({})",
            e.headline(),
            match address {
                std::net::IpAddr::V6(v6) if v6.is_unicast_link_local() && scope_id == 0 => {
                    "a link-local address needs its interface, e.g. fe80::1%eth0"
                }
                _ => "'port-inspector facts' lists its addresses",
            }
        ))
        .into()),
    }
}

fn execute(cmd: Command) -> anyhow::Result<u8> {
    match cmd {
        Command::Facts { output: out } => {
            let f = crate::facts::gather();
            match out.format(&[Format::Text, Format::Json, Format::Ndjson])? {
                Format::Json => output::json(&f),
                Format::Ndjson => {
                    output::ndjson(f.table.iter(), "fact");
                    output::ndjson(f.interfaces.iter(), "interface");
                }
                _ => output::text(&output::facts_text(&f)),
            }
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "port-inspector",
                &mut buf,
            );
            output::text(&String::from_utf8_lossy(&buf));
            Ok(exit::OK)
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Report {
            target,
            bind,
            timeout,
            format,
            output: file,
            force,
        } => report(&target, &bind, timeout, format, file.as_deref(), force),
        Command::Matrix {
            target,
            timeout,
            output: out,
        } => matrix(&target, timeout, out),
        Command::Listen {
            target,
            bind,
            duration,
            timeout,
        } => listen(&target, &bind, duration, timeout),
        Command::Scan {
            range,
            host,
            udp,
            both,
            output: out,
        } => scan(range, host, udp, both, out),
        Command::Free {
            count,
            range,
            host,
            udp,
        } => free(count, range, host, udp),
        Command::Check(args) => check(&args),
        Command::Watch(args) => watch::run(&args),
        // main opens the window before the command line runs (see `window_start`).
        Command::Window { .. } => Ok(exit::USAGE),
        Command::List {
            tcp,
            udp,
            listening,
            all,
            port,
            process,
            output: out,
        } => list(
            protocol_of(udp, tcp),
            &ListFilter {
                listening,
                all,
                port,
                process,
            },
            out,
        ),
        Command::End {
            sel,
            dry_run,
            yes,
            signal,
            output: out,
            expect_pids,
        } => end(
            sel.port,
            protocol_of(sel.udp, sel.tcp),
            sel.host,
            EndMode { dry_run, yes },
            expect_pids.as_deref(),
            match signal {
                SignalArg::Term => crate::end::Signal::Term,
                SignalArg::Kill => crate::end::Signal::Kill,
            },
            out,
        ),
        Command::Explain { code, output: out } => explain(&code, out),
        Command::Errors { output: out } => {
            match out.format(&[Format::Text, Format::Json, Format::Ndjson])? {
                Format::Json => output::json(&catalog::all()),
                Format::Ndjson => output::ndjson(catalog::all().iter(), "error"),
                _ => output::text(&output::catalog_table()),
            }
            Ok(exit::OK)
        }
        Command::Who { sel, output: out } => {
            who(sel.port, protocol_of(sel.udp, sel.tcp), sel.host, out)
        }
    }
}

/// `explain CODE`: every meaning of the code, each with its OS; one entry's full text when the
/// code has one meaning.
fn explain(code: &str, out: Output) -> anyhow::Result<u8> {
    let format = out.format(&[Format::Text, Format::Json])?;
    let meanings = catalog::meanings(code);
    if meanings.is_empty() {
        return Err(InputError::OutOfBounds(format!(
            "unknown error code '{}': try a WSA number (10048), a native number (98, -2), a WSA name (WSAEADDRINUSE) or a native name (EADDRINUSE); 'port-inspector errors' lists them",
            crate::text::clean(&code.chars().take(40).collect::<String>())
        ))
        .into());
    }
    let mut entries: Vec<&catalog::CatalogEntry> = Vec::new();
    for m in &meanings {
        if !entries.iter().any(|e| e.wsa_code == m.entry.wsa_code) {
            entries.push(m.entry);
        }
    }
    if format == Format::Json {
        if entries.len() == 1 {
            output::json(entries[0]);
        } else {
            output::json(&serde_json::json!({ "ambiguous": true, "meanings": meanings }));
        }
        return Ok(exit::OK);
    }
    let mut text = String::new();
    let is_number = code.trim().parse::<i64>().is_ok();
    if is_number || entries.len() > 1 {
        text.push_str(&output::meanings_text(code.trim(), &meanings));
        text.push('\n');
    }
    for e in entries {
        text.push_str(&output::entry_text(e));
    }
    output::text(&text);
    Ok(exit::OK)
}

fn scan(
    (start, end): (u16, u16),
    host: Option<ScopedIp>,
    udp: bool,
    both: bool,
    out: Output,
) -> anyhow::Result<u8> {
    let format = out.format(&[Format::Text, Format::Json, Format::Ndjson])?;
    let scope_id = host.map_or(0, |h| h.scope_id);
    let address = bindable_address(host.map(|h| h.ip), scope_id)?;
    let protocols = if both {
        vec![Protocol::Tcp, Protocol::Udp]
    } else if udp {
        vec![Protocol::Udp]
    } else {
        vec![Protocol::Tcp]
    };
    if protocols.contains(&Protocol::Tcp) {
        target::check_unicast(address, Protocol::Tcp)?;
    }
    let req = crate::scan::ScanRequest {
        address,
        start,
        end,
        protocols,
        options: crate::SocketOptions::default(),
    };
    let report = crate::scan::scan_reading_facts(
        &req,
        scope_id,
        &crate::probe::CancelToken::new(),
        &mut |_| {},
    );
    if let Some(e) = &report.stopped_by {
        anyhow::bail!(
            "the scan stopped after {} of {} ports: this process ran out of file descriptors ({}); no port was reported, since that says nothing about the ports; {}, and scan again",
            report.scanned,
            report.request.total(),
            e.headline(),
            crate::wording::RAISE_FD_LIMIT
        );
    }
    match format {
        Format::Json => output::json(&report),
        Format::Ndjson => {
            output::ndjson(report.busy.iter(), "busy");
            output::ndjson(report.free.iter(), "free");
        }
        _ => output::text(&output::scan_text(&report)),
    }
    Ok(exit::OK)
}

fn free(
    count: usize,
    (start, end): (u16, u16),
    host: Option<std::net::IpAddr>,
    udp: bool,
) -> anyhow::Result<u8> {
    // Without --host a port is free when `check PORT` would say so: all interfaces,
    // both families.
    let addresses = match host {
        Some(h) => vec![bindable_address(Some(h), 0)?],
        None => crate::scan::all_interfaces(),
    };
    let protocol = if udp { Protocol::Udp } else { Protocol::Tcp };
    let facts = crate::facts::gather();
    let ports =
        crate::scan::free_ports(&addresses, protocol, start, end, count, &facts).map_err(|e| {
            anyhow::anyhow!(
                "stopped: this process ran out of file descriptors ({}); {}, and try again",
                e.headline(),
                crate::wording::RAISE_FD_LIMIT
            )
        })?;
    let text: String = ports.iter().map(|p| p.to_string() + "\n").collect();
    output::text(&text);
    Ok(if ports.len() == count {
        exit::OK
    } else {
        exit::NOT_BINDABLE
    })
}

fn who(
    port: u16,
    protocol: Option<Protocol>,
    host: Option<std::net::IpAddr>,
    out: Output,
) -> anyhow::Result<u8> {
    let format = out.format(&[Format::Text, Format::Json, Format::Ndjson])?;
    let mut found = owners::of(Query { port, protocol });
    if let Some(ip) = host {
        // The sockets that a bind of ADDR would meet: ADDR itself, its wildcard, a
        // dual-stack [::] for IPv4, and for a wildcard ADDR every address it covers.
        found.owners.retain(|o| {
            owners::covers(o.local.ip(), o.v6_only, ip)
                || (ip.is_unspecified() && owners::covers(ip, Some(false), o.local.ip()))
        });
    }
    match format {
        Format::Json => output::json(&found),
        Format::Ndjson => output::ndjson(found.owners.iter(), "owner"),
        _ => output::text(&output::owners_text(port, &found)),
    }
    // Nothing found by a lookup that could not look everywhere proves nothing: unknown.
    Ok(match (found.owners.is_empty(), found.complete()) {
        (true, false) => exit::UNKNOWN,
        (true, true) => exit::NOT_BINDABLE,
        (false, _) => exit::OK,
    })
}

fn report(
    target: &str,
    bind: &BindOptions,
    timeout: Duration,
    format: Format,
    file: Option<&std::path::Path>,
    force: bool,
) -> anyhow::Result<u8> {
    if format == Format::Ndjson {
        return Err(InputError::OutOfBounds(
            "--format ndjson is not available for report: give md, text or json".into(),
        )
        .into());
    }
    let t = bind.target(target)?;
    let c = check::run(
        &t,
        &ProbeConfig {
            timeout,
            ..ProbeConfig::default()
        },
    );
    let json = matches!(format, Format::Json | Format::Ndjson);
    let text = match format {
        Format::Json | Format::Ndjson => crate::text::json(&c, true).unwrap_or_default() + "\n",
        Format::Text => crate::report::text_full(&c),
        Format::Md => crate::report::markdown(&c),
    };
    let dest = file.map_or(crate::files::Destination::Stdout, |p| {
        crate::files::Destination::parse(p.as_os_str())
    });
    match dest {
        crate::files::Destination::File(path) => {
            crate::files::write(&path, text.as_bytes(), force).with_context(|| {
                format!(
                    "cannot write {}",
                    crate::text::clean(&path.to_string_lossy())
                )
            })?;
        }
        crate::files::Destination::Stderr => output::document_to_stderr(&text),
        crate::files::Destination::Stdout if json => output::data(&text),
        crate::files::Destination::Stdout => output::text(&text),
    }
    Ok(verdict_code(&c))
}

/// `matrix`: the what-if table; exit 0 only when every cell binds.
fn matrix(target: &str, timeout: Duration, out: Output) -> anyhow::Result<u8> {
    let format = out.format(&[Format::Text, Format::Json])?;
    let t = simple_target(target, false)?;
    let m = crate::support::matrix(
        &t,
        &ProbeConfig {
            timeout,
            ..ProbeConfig::default()
        },
    );
    if format == Format::Json {
        output::json(&m);
    } else {
        output::text(&output::matrix_text(&m));
    }
    // A cell that could not be tried (the name did not resolve in time) is unknown, not
    // blocked: the matrix is unknown unless some cell was refused for real.
    let any = |v| m.cells.iter().any(|c| c.verdict == v);
    Ok(if any(crate::probe::Verdict::NotBindable) {
        exit::NOT_BINDABLE
    } else if any(crate::probe::Verdict::Unknown) {
        exit::UNKNOWN
    } else {
        exit::OK
    })
}

/// Which sockets `list` shows.
struct ListFilter {
    listening: bool,
    all: bool,
    port: Option<u16>,
    process: Option<String>,
}

/// `list`: the whole table, filtered.
fn list(protocol: Option<Protocol>, f: &ListFilter, out: Output) -> anyhow::Result<u8> {
    let format = out.format(&[Format::Text, Format::Json, Format::Ndjson])?;
    let needle = f.process.as_deref().map(str::to_lowercase);
    let scope = if f.listening {
        owners::Scope::Listening
    } else if f.all {
        owners::Scope::Everything
    } else {
        owners::Scope::Bound
    };
    let mut found = match f.port {
        Some(port) => owners::of(Query { port, protocol }),
        None => owners::table(protocol, scope),
    };
    found.owners.retain(|o| {
        scope.admits(o.state)
            && needle.as_ref().is_none_or(|n| {
                o.process
                    .as_deref()
                    .is_some_and(|p| p.to_lowercase().contains(n))
            })
    });
    found.owners.sort_by_cached_key(|o| {
        (
            o.protocol == Protocol::Udp,
            o.local.port(),
            o.local.ip(),
            o.state,
        )
    });
    match format {
        // The whole table can be tens of thousands of rows: one compact document.
        Format::Json | Format::Ndjson => {
            let sharers = owners::sharers(&found.owners);
            let arrays = owners::Rows::new(&found.owners, &sharers)?;
            if format == Format::Json {
                // Each row made where it is written, on every core.
                output::json_rows(&found.owners, |o, buf| {
                    crate::text::json_to_writer(buf, &arrays.row(o, &sharers), false)
                });
            } else {
                let rows = arrays.socket_rows(&found.owners, &sharers);
                output::ndjson(rows.iter(), "socket");
            }
        }
        _ if found.owners.is_empty() && !found.complete() => output::text(
            "Unknown: no socket was found, but the socket table could not be read in full (see the note).\n",
        ),
        _ => output::text(&crate::wording::socket_table(&found.owners)),
    }
    // A table the kernel refused is said on standard error (the JSON stays the rows); one not
    // read at all, or a lookup short of descriptors, makes the list unknown, never "nothing".
    if !found.refused.is_empty() {
        output::warn(&crate::wording::tables_refused_text(&found.refused));
    }
    if found.out_of_descriptors {
        output::warn(&format!(
            "Port Inspector ran out of file descriptors while looking: sockets or processes may be missing; {}.",
            crate::wording::RAISE_FD_LIMIT
        ));
    }
    Ok(if found.complete() {
        exit::OK
    } else {
        exit::UNKNOWN
    })
}

/// `--udp` / `--tcp` / neither.
fn protocol_of(udp: bool, tcp: bool) -> Option<Protocol> {
    if udp {
        Some(Protocol::Udp)
    } else if tcp {
        Some(Protocol::Tcp)
    } else {
        None
    }
}

/// How `end` may act.
#[derive(Debug, Clone, Copy)]
struct EndMode {
    dry_run: bool,
    yes: bool,
}

/// `end PORT`: plan, refuse or confirm, act, prove.
fn end(
    port: u16,
    protocol: Option<Protocol>,
    host: Option<std::net::IpAddr>,
    mode: EndMode,
    expect_pids: Option<&str>,
    signal: crate::end::Signal,
    out: Output,
) -> anyhow::Result<u8> {
    let format = out.format(&[Format::Text, Format::Json])?;
    let plan = crate::end::plan(port, protocol, host);
    if let Some(expected) = expect_pids {
        expect_same_pids(&plan, expected)?;
    }
    let json = format == Format::Json;
    if !json {
        output::text(&crate::wording::end_plan(&plan));
    }
    let to_end = plan.to_end().count();
    // JSON shows the plan whenever nothing is carried out (a dry run, a refusal).
    let refused = to_end == 0 && !plan.targets.is_empty();
    // No holder found by a lookup that could not look everywhere: unknown, never "none".
    let unknown = plan.targets.is_empty() && !plan.complete();
    if json && (mode.dry_run || refused || unknown || (to_end > 0 && !mode.yes)) {
        output::json(&plan);
    }
    if mode.dry_run {
        return Ok(if unknown { exit::UNKNOWN } else { exit::OK });
    }
    if unknown {
        return Ok(exit::UNKNOWN);
    }
    if to_end == 0 && !plan.targets.is_empty() {
        return Err(InputError::OutOfBounds(
            "refused: no process here may be ended (see above); nothing was ended".into(),
        )
        .into());
    }
    if to_end > 0 && !mode.yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(InputError::OutOfBounds(
                "refused: no terminal to confirm on; give --yes to end them (or --dry-run to look)"
                    .into(),
            )
            .into());
        }
        if !output::confirm(&format!("End {to_end} process(es)? [y/N] ")) {
            return Err(InputError::OutOfBounds("not confirmed; nothing was ended".into()).into());
        }
    }
    let report = crate::end::execute(&plan, signal, Duration::from_secs(5));
    if json {
        output::json(&report);
    } else {
        output::text(&crate::wording::end_report(&report));
    }
    Ok(if report.after == crate::end::After::Free {
        exit::OK
    } else {
        exit::NOT_BINDABLE
    })
}

/// `end --expect-pids` (sent by `end --on` once the user confirmed on another machine): the
/// processes to end now must be exactly those confirmed, or nothing is ended.
fn expect_same_pids(plan: &crate::end::EndPlan, expected: &str) -> Result<(), InputError> {
    let mut want: Vec<u32> = if expected.trim() == "none" {
        Vec::new()
    } else {
        expected
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| InputError::OutOfBounds("--expect-pids takes none or PID,PID,…".into()))?
    };
    let mut now: Vec<u32> = plan.to_end().map(|t| t.pid).collect();
    want.sort_unstable();
    now.sort_unstable();
    if want == now {
        return Ok(());
    }
    let list = |v: &[u32]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        }
    };
    Err(InputError::OutOfBounds(format!(
        "refused: the processes holding port {} changed since they were confirmed (confirmed: {}; now: {}); nothing was ended",
        plan.port,
        list(&want),
        list(&now)
    )))
}

fn check(args: &CheckArgs) -> anyhow::Result<u8> {
    let format = args.output.format(&[Format::Text, Format::Json])?;
    let (target, timeout) = args.to_target()?;
    if output::quiet() && !args.wait && format == Format::Text {
        // Only the exit code is read, and the probe's verdict alone decides it: no owners, no
        // facts, no NAT rules (a script asking "can I bind?" in a loop pays for the bind only).
        // Only "in use" is looked into: the socket in the way may have been another check's
        // probe, gone already (the full check binds again then).
        let cfg = ProbeConfig {
            timeout,
            ..ProbeConfig::default()
        };
        let r = crate::probe::run(&target, &cfg);
        if r.error.as_ref().map(|e| e.wsa_code) == Some(crate::oserror::wsa::EADDRINUSE) {
            let c = check::complete(r, crate::facts::gather(), &cfg);
            return Ok(verdict_exit(c.report.verdict));
        }
        return Ok(verdict_exit(r.verdict));
    }
    let c = if args.wait {
        let cfg = ProbeConfig {
            timeout: timeout.min(Duration::from_secs(10)),
            ..ProbeConfig::default()
        };
        let quiet = format == Format::Json;
        let started = std::time::Instant::now();
        crate::support::wait_until_free(&target, &cfg, args.interval, timeout, &mut |c| {
            if !quiet {
                output::text(&output::wait_line(c, started.elapsed()));
            }
        })
    } else {
        let cfg = ProbeConfig {
            timeout,
            ..ProbeConfig::default()
        };
        check::run(&target, &cfg)
    };
    if format == Format::Json {
        output::json(&c);
    } else {
        output::text(&crate::report::text(&c));
    }
    Ok(verdict_code(&c))
}

fn listen(
    target: &str,
    bind: &BindOptions,
    d: Duration,
    timeout: Option<Duration>,
) -> anyhow::Result<u8> {
    if bind.no_listen {
        return Err(InputError::OutOfBounds(
            "--no-listen makes no sense for listen: it holds the port listening, to see who arrives"
                .into(),
        )
        .into());
    }
    let t = &bind.target(target)?;
    let r = crate::support::hold(
        t,
        d,
        &ProbeConfig {
            timeout: timeout.unwrap_or(Duration::from_secs(10)),
            ..ProbeConfig::default()
        },
        &mut |bound| {
            output::text(&format!(
                "Listening on {} {bound} for {:.0} s; connect from another machine to test the path. Ctrl+C stops.\n",
                t.protocol,
                d.as_secs_f64()
            ));
        },
        &mut |ev| output::text(&output::listen_line(ev)),
    );
    match r {
        Ok(s) => {
            output::text(&format!("{}\n", crate::wording::hold_released(&s)));
            Ok(exit::OK)
        }
        Err(e) => {
            output::error_line(&format!(
                "cannot hold {}: {}",
                t.display_addr(),
                e.headline()
            ));
            Ok(exit::NOT_BINDABLE)
        }
    }
}

/// The manual: the main page on stdout, or one page per subcommand written into `dir`, so that
/// `man port-inspector-check` finds the page the main page refers to.
fn man(dir: Option<&std::path::Path>) -> anyhow::Result<u8> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let Some(dir) = dir else {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut buf)?;
        output::text(&String::from_utf8_lossy(&buf));
        return Ok(exit::OK);
    };
    let write = |name: &str, page: clap::Command| -> anyhow::Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))
    };
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("port-inspector-{}", sub.get_name());
        write(
            &name,
            sub.clone()
                .name(name.clone())
                .version(env!("CARGO_PKG_VERSION")),
        )?;
    }
    write("port-inspector", cmd)?;
    Ok(exit::OK)
}
