//! The command line's arguments: clap's definitions and the parsers that turn each value into
//! a core type once (a bad value is one line and exit 2, before anything runs).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::target::{self, Family, InputError, Protocol, Target};

use super::record;
use super::watch;

/// The exit-code table every subcommand's `--help` ends with (and the man pages carry).
pub(crate) const EXIT_CODES: &str = "Exit codes:\n  0  bindable / success\n  1  not bindable / not found / failed at run time\n  2  bad input or usage (nothing was done)\n  3  unknown: cancelled or timed out before an answer\n  4  --on: the machine could not be reached\n  5  --on: the machine refused the login\n  6  --on: the machine's host key is unknown or changed (refused)\n  7  --on: no usable port-inspector on the machine";

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
    /// Another machine to ask over ssh (the help, given below, names the commands that take
    /// it, from their one list: `remote::COMMANDS`).
    #[arg(long, global = true, value_name = "[USER@]HOST[:PORT]", value_parser = crate::remote::Machine::parse, help = super::remote::on_help())]
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

/// The `--format` values of a command that can stream (`who`, `list`, `scan`, `facts`,
/// `errors`): clap's help and its refusal list exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StreamFormat {
    /// Readable text.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per line, for log pipelines.
    Ndjson,
}

/// The `--format` values of a command that prints one document (`check`, `explain`, `matrix`,
/// `end`, `history`, `watch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocFormat {
    /// Readable text.
    Text,
    /// One JSON document.
    Json,
}

/// `report --format`: Markdown, text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown, for a ticket.
    Md,
    /// Readable text.
    Text,
    /// One JSON document.
    Json,
}

impl From<StreamFormat> for Format {
    fn from(f: StreamFormat) -> Self {
        match f {
            StreamFormat::Text => Format::Text,
            StreamFormat::Json => Format::Json,
            StreamFormat::Ndjson => Format::Ndjson,
        }
    }
}

impl From<DocFormat> for Format {
    fn from(f: DocFormat) -> Self {
        match f {
            DocFormat::Text => Format::Text,
            DocFormat::Json => Format::Json,
        }
    }
}

impl From<ReportFormat> for Format {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Md => Format::Md,
            ReportFormat::Text => Format::Text,
            ReportFormat::Json => Format::Json,
        }
    }
}

/// `--json` and `--format` with the formats `$values` (a `ValueEnum`), flattened into each
/// command that prints: `--help` lists only what the command accepts, and clap refuses the rest.
macro_rules! output_args {
    ($(#[$doc:meta])* $name:ident, $values:ty, $help:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Args)]
        pub struct $name {
            /// Print JSON (the same as --format json).
            #[arg(long, conflicts_with = "format")]
            json: bool,
            #[doc = $help]
            #[arg(long, value_enum, default_value = "text")]
            format: $values,
        }

        impl $name {
            /// The format asked for.
            pub(crate) fn format(self) -> Format {
                if self.json {
                    Format::Json
                } else {
                    self.format.into()
                }
            }
        }
    };
}

output_args!(
    /// The output of a command that can stream.
    Output,
    StreamFormat,
    "Output format: text, json (one document) or ndjson (one object per line)."
);
output_args!(
    /// The output of a command that prints one document.
    DocOutput,
    DocFormat,
    "Output format: text or json."
);

pub(crate) fn timeout_secs(text: &str) -> Result<Duration, InputError> {
    target::parse_seconds(text, 0.1, 300.0, "--timeout")
}

pub(crate) fn wait_secs(text: &str) -> Result<Duration, InputError> {
    target::parse_seconds(text, 0.1, 86_400.0, "--timeout")
}

pub(crate) fn interval_secs(text: &str) -> Result<Duration, InputError> {
    target::parse_seconds(text, 0.1, 3600.0, "--interval")
}

pub(crate) fn hold_secs(text: &str) -> Result<Duration, InputError> {
    target::parse_seconds(text, 1.0, 3600.0, "--for")
}

pub(crate) fn count(text: &str) -> Result<usize, InputError> {
    target::parse_count(text, 1000)
}

pub(crate) fn backlog(text: &str) -> Result<i32, InputError> {
    match text.trim().parse::<i32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n),
        _ => Err(InputError::BacklogOutOfRange(
            crate::text::clean(&text.chars().take(20).collect::<String>()).into_owned(),
        )),
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test whether [HOST:]PORT can be bound, step by step, and explain a failure.
    #[command(
        after_help = concat!("Examples:\n  port-inspector check 8080\n  port-inspector check 127.0.0.1:80 --json\n  port-inspector check '[::1]:5432' --v6only on\n  port-inspector check 53 --udp\n\n", "Exit codes:\n  0  bindable\n  1  not bindable (with --wait: still not free when --timeout passed)\n  2  bad input\n  3  unknown: cancelled or the resolver timed out")
    )]
    Check(CheckArgs),
    /// Show what a Winsock or native error code means (10048, 98, -2, WSAEADDRINUSE, EADDRINUSE).
    #[command(
        after_help = concat!("Examples:\n  port-inspector explain 10048\n  port-inspector explain 98\n  port-inspector explain EADDRINUSE --json\n\n", "Exit codes:\n  0  explained\n  2  unknown code")
    )]
    Explain {
        /// WSA number, native number (errno, EAI), WSA name or native name.
        #[arg(allow_hyphen_values = true, value_parser = target::target_text)]
        code: String,
        /// Output format.
        #[command(flatten)]
        output: DocOutput,
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
        #[arg(allow_hyphen_values = true, value_parser = target::target_text)]
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
        #[arg(long, conflicts_with_all = ["all", "udp"])]
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
        after_help = concat!("Examples:\n  port-inspector report 8080 > ticket.md\n  port-inspector report 127.0.0.1:443 --format json -o check.json\n  port-inspector report '[::]:53' --udp --v6only on\n\n", "Exit codes:\n  0  bindable (report written)\n  1  not bindable, or the file could not be written\n  2  bad input\n  3  unknown")
    )]
    Report {
        /// [HOST:]PORT.
        #[arg(allow_hyphen_values = true, value_parser = target::target_text)]
        target: String,
        /// Protocol, family and socket options, as for `check`.
        #[command(flatten)]
        bind: BindOptions,
        /// Give up on a slow name lookup after SECS seconds, 0.1 to 300 (as for `check`).
        #[arg(long, default_value = "10", allow_hyphen_values = true, value_parser = timeout_secs)]
        timeout: Duration,
        /// md (Markdown), text or json.
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
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
        #[arg(allow_hyphen_values = true, value_parser = target::target_text)]
        target: String,
        /// One bound for the whole matrix's name lookups, in seconds (0.1 to 300).
        #[arg(long, default_value = "10", allow_hyphen_values = true, value_parser = timeout_secs)]
        timeout: Duration,
        /// Output format.
        #[command(flatten)]
        output: DocOutput,
    },
    /// Hold the port open and print each connection (or datagram) as it arrives: is a firewall in the way?
    #[command(
        after_help = concat!("Examples:\n  port-inspector listen 8080 --for 120\n  port-inspector listen 0.0.0.0:5353 --udp\n\n", "Exit codes:\n  0  held for the whole time\n  1  could not bind\n  2  bad input")
    )]
    Listen {
        /// [HOST:]PORT.
        #[arg(allow_hyphen_values = true, value_parser = target::target_text)]
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
        /// TERM (ask to stop; the default) or KILL (stop at once); a --dry-run sends none.
        #[arg(
            long,
            value_enum,
            default_value = "TERM",
            ignore_case = true,
            conflicts_with = "dry_run"
        )]
        signal: SignalArg,
        /// Output format.
        #[command(flatten)]
        output: DocOutput,
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
    /// The flight recorder: record every bound socket's life (who held it from when to when)
    /// into a database, until stopped; `history` reads it back.
    #[command(
        after_help = concat!("Examples:\n  port-inspector record --db ./ports.db --for 10m --interval 100\n  sudo port-inspector record\n  sudo systemctl enable --now port-inspector-record   # the packaged service\n\nModes: as root, where the kernel allows it, kernel tracepoints (eBPF) catch every\nTCP listener the instant it starts and stops and every failed bind as it happens;\nthe rest (UDP, bound-only sockets) is read from the socket table every 30 s.\nElse (polling) the table is read every --interval: sockets that live less may be\nmissed and failed binds are not seen. The recorder says which mode it runs in and\nwhy. One recorder per database: a second is refused. As root every holder is\nnamed; as another user, other users' processes are not. The database's folder\nmust be writable only by you (or root).\n\n", "Exit codes:\n  0  stopped cleanly (Ctrl+C, SIGTERM, --for)\n  1  the database could not be written (a full disk stops recording; another\n     recorder writes it)\n  2  bad input")
    )]
    Record(record::RecordArgs),
    /// What the recorder saw: who held a port from when to when, the time it was not
    /// recording, and failed binds (`--failed`), or everything one process did (`--pid`).
    #[command(
        after_help = concat!("Examples:\n  port-inspector history 8080\n  port-inspector history 8080 --since 03:00 --until 03:30\n  port-inspector history --failed --since 2h\n  port-inspector history --pid 812 --json\n\n", "Exit codes:\n  0  shown (possibly nothing in the window)\n  1  no recorder database\n  2  bad input")
    )]
    History(record::HistoryArgs),
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
    #[arg(allow_hyphen_values = true, value_parser = target::parse_held_port)]
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
pub(crate) fn scoped_ip_address(text: &str) -> Result<ScopedIp, InputError> {
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
        _ => Err(InputError::UnknownInterface(
            crate::text::clean(h).into_owned(),
        )),
    }
}

/// An IP address given on the command line (`127.0.0.1`, `::1`, `[::1]`); scans and `who` need
/// an address, not a name.
pub(crate) fn ip_address(text: &str) -> Result<std::net::IpAddr, InputError> {
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
    #[arg(allow_hyphen_values = true, value_parser = target::target_text)]
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
    /// With --wait: seconds between checks (0.1 to 3600). Without --wait there is one check, so
    /// it is refused.
    #[arg(
        long,
        default_value = "1",
        allow_hyphen_values = true,
        value_parser = interval_secs,
        requires = "wait"
    )]
    pub interval: Duration,
    /// Output format.
    #[command(flatten)]
    pub output: DocOutput,
}

/// The bind a check makes: shared by `check`, `report` and `listen`, so a ticket shows the exact
/// options. Each needs a target (`window --udp` with none had nothing to set it on: refused).
#[derive(Debug, Args)]
#[group(requires = "target", multiple = true)]
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
    /// Bind only; do not call listen (TCP: a UDP socket never listens).
    #[arg(long, conflicts_with = "udp")]
    pub no_listen: bool,
    /// Listen backlog (1 to 65535; TCP: a UDP socket never listens, nor does --no-listen).
    #[arg(
        long,
        default_value = "128",
        allow_hyphen_values = true,
        value_parser = backlog,
        conflicts_with_all = ["udp", "no_listen"]
    )]
    pub backlog: i32,
}

impl BindOptions {
    /// The validated target for `[HOST:]PORT` with these options.
    pub fn target(&self, text: &str) -> Result<Target, InputError> {
        let (host, port) = target::parse_host_port(text)?;
        let mut t = Target::tcp(host, port);
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
        t.validate()?;
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
