//! The command line: clap definitions, turning arguments into core values, and exit codes.
//! Output formatting lives in `output`; the core never prints.

mod output;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::catalog;
use crate::check;
use crate::owners::{self, Query};
use crate::probe::ProbeConfig;
use crate::target::{self, Family, InputError, Protocol, Target};

/// Exit status for scripts: 0 bindable / found, 1 not bindable / not found, 2 bad usage.
pub mod exit {
    /// The port can be bound (or the lookup found what was asked).
    pub const OK: u8 = 0;
    /// The port cannot be bound (or nothing was found).
    pub const NOT_BINDABLE: u8 = 1;
    /// Bad usage or input.
    pub const USAGE: u8 = 2;
}

/// Can my program bind this address and port? If not, exactly why, and who is in the way?
///
/// With no command, opens the window.
#[derive(Debug, Parser)]
#[command(name = "port-inspector", version, about, long_about = None)]
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
}

/// How list-like commands print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per line, for log pipelines.
    Ndjson,
}

impl Format {
    /// `--json` (kept for compatibility) wins over `--format`.
    #[must_use]
    pub fn or_json(self, json: bool) -> Self {
        if json { Format::Json } else { self }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test whether [HOST:]PORT can be bound, step by step, and explain a failure.
    #[command(
        after_help = "Examples:\n  port-inspector check 8080\n  port-inspector check 127.0.0.1:80 --json\n  port-inspector check [::1]:5432 --v6only on\n  port-inspector check 53 --udp"
    )]
    Check(CheckArgs),
    /// Show what a Winsock or native error code means (10048, WSAEADDRINUSE, EADDRINUSE, EAI_NONAME).
    #[command(
        after_help = "Examples:\n  port-inspector explain 10048\n  port-inspector explain EADDRINUSE --json"
    )]
    Explain {
        /// WSA number, WSA name or native name.
        code: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List every error code the tool knows.
    #[command(
        after_help = "Examples:\n  port-inspector errors\n  port-inspector errors --json | jq '.[].wsa_name'"
    )]
    Errors {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Output format: text, json (one document) or ndjson (one object per line).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// List who uses a port: sockets, states and owning processes.
    #[command(
        after_help = "Examples:\n  port-inspector who 8080\n  port-inspector who 53 --udp --json"
    )]
    Who {
        /// The port.
        #[arg(allow_hyphen_values = true)]
        port: String,
        /// UDP sockets only.
        #[arg(long, conflicts_with = "tcp")]
        udp: bool,
        /// TCP sockets only.
        #[arg(long)]
        tcp: bool,
        /// Only sockets on this local address.
        #[arg(long)]
        host: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Output format: text, json (one document) or ndjson (one object per line).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Test every port in START-END for bindability, and name who uses the busy ones.
    #[command(
        after_help = "Examples:\n  port-inspector scan 8000-9000\n  port-inspector scan 1-1024 --both --json\n  port-inspector scan 5000-5100 --host ::1"
    )]
    Scan {
        /// The range, START-END (1-65535).
        range: String,
        /// Local address to bind (default 127.0.0.1).
        #[arg(long)]
        host: Option<String>,
        /// UDP instead of TCP.
        #[arg(long, conflicts_with = "both")]
        udp: bool,
        /// TCP and UDP.
        #[arg(long)]
        both: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Output format: text, json (one document) or ndjson (one object per line).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show the facts of this machine that decide binds (privileged ports, ranges, dual-stack, …).
    #[command(after_help = "Examples:\n  port-inspector facts\n  port-inspector facts --json")]
    Facts {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Output format: text, json (one document) or ndjson (one object per line).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Write a report of a check for a ticket: steps, verdict, error, owners and machine facts.
    #[command(
        after_help = "Examples:\n  port-inspector report 8080 > ticket.md\n  port-inspector report 127.0.0.1:443 --format json -o check.json\n  port-inspector report [::]:53 --udp --v6only on"
    )]
    Report {
        /// [HOST:]PORT.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Protocol, family and socket options, as for `check`.
        #[command(flatten)]
        bind: BindOptions,
        /// md (Markdown), text or json.
        #[arg(long, default_value = "md", value_parser = ["md", "text", "json"])]
        format: String,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<std::path::PathBuf>,
    },
    /// Test the port across TCP/UDP x IPv4/IPv6 x SO_REUSEADDR off/on (and address vs wildcard).
    #[command(
        after_help = "Examples:\n  port-inspector matrix 8080\n  port-inspector matrix 127.0.0.1:5432 --json"
    )]
    Matrix {
        /// [HOST:]PORT.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Hold the port open and print each connection (or datagram) as it arrives: is a firewall in the way?
    #[command(
        after_help = "Examples:\n  port-inspector listen 8080 --for 120\n  port-inspector listen 0.0.0.0:5353 --udp"
    )]
    Listen {
        /// [HOST:]PORT.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Protocol, family and socket options, as for `check`.
        #[command(flatten)]
        bind: BindOptions,
        /// Seconds to hold the port (1 to 3600).
        #[arg(long = "for", default_value = "60")]
        duration: String,
    },
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    #[command(
        after_help = "Examples:\n  port-inspector completions bash > /etc/bash_completion.d/port-inspector\n  port-inspector completions zsh > ~/.zfunc/_port-inspector"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from these definitions.
    #[command(
        after_help = "Examples:\n  port-inspector man > /usr/local/share/man/man1/port-inspector.1"
    )]
    Man,
    /// Print ports that are bindable right now, one per line: PORT=$(port-inspector free).
    #[command(
        after_help = "Examples:\n  PORT=$(port-inspector free)\n  port-inspector free --count 5 --range 8000-9000\n  port-inspector free --udp --host ::1"
    )]
    Free {
        /// How many ports.
        #[arg(long, default_value = "1")]
        count: String,
        /// Where to look, START-END.
        #[arg(long, default_value = "1024-65535")]
        range: String,
        /// Local address to bind (default 127.0.0.1).
        #[arg(long)]
        host: Option<String>,
        /// UDP instead of TCP.
        #[arg(long)]
        udp: bool,
    },
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
    /// Give up on a slow name lookup after SECS seconds (with --wait: stop waiting after SECS).
    #[arg(long)]
    pub timeout: Option<String>,
    /// Keep re-checking until the port is free (exit 0) or --timeout passes (exit 1).
    #[arg(long)]
    pub wait: bool,
    /// With --wait: seconds between checks.
    #[arg(long, default_value = "1")]
    pub interval: String,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// The bind a check makes: shared by `check` and `report`, so a ticket shows the exact options.
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
    /// Set IPV6_V6ONLY on IPv6 sockets (default: the system's).
    #[arg(long, value_parser = ["on", "off"])]
    pub v6only: Option<String>,
    /// Set SO_EXCLUSIVEADDRUSE (Windows only).
    #[arg(long)]
    pub exclusive: bool,
    /// Bind only; do not call listen.
    #[arg(long)]
    pub no_listen: bool,
    /// Listen backlog.
    #[arg(long, default_value_t = 128)]
    pub backlog: i32,
}

impl BindOptions {
    /// The validated target for `[HOST:]PORT` with these options.
    pub fn target(&self, text: &str) -> Result<Target, InputError> {
        let (host, port) = target::parse_host_port(text)?;
        if !(1..=65535).contains(&self.backlog) {
            return Err(InputError::OutOfBounds(format!(
                "backlog {} is out of range: give 1 to 65535",
                self.backlog
            )));
        }
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
        t.options.v6_only = self.v6only.as_deref().map(|v| v == "on");
        t.options.exclusive_address_use = self.exclusive;
        t.options.listen = !self.no_listen;
        t.options.backlog = self.backlog;
        Ok(t)
    }
}

impl CheckArgs {
    /// Turns arguments into a validated target and probe settings.
    pub fn to_target(&self) -> Result<(Target, Duration), InputError> {
        let t = self.bind.target(&self.target)?;
        let default = if self.wait { "60" } else { "10" };
        let timeout = match &self.timeout {
            Some(x) if self.wait => parse_seconds(x, 1.0, 86_400.0, "timeout")?,
            Some(x) => parse_timeout(x)?,
            None => parse_timeout(default)?,
        };
        Ok((t, timeout))
    }
}

/// A number of seconds between `min` and `max`, with a one-line refusal naming the option.
pub fn parse_seconds(text: &str, min: f64, max: f64, what: &str) -> Result<Duration, InputError> {
    match text.trim().parse::<f64>() {
        Ok(s) if s >= min && s <= max => Ok(Duration::from_secs_f64(s)),
        _ => Err(InputError::OutOfBounds(format!(
            "{what} '{}' is not valid: give seconds from {min} to {max}",
            text.chars().take(20).collect::<String>()
        ))),
    }
}

/// `--timeout` in seconds: a positive number up to 300.
pub fn parse_timeout(text: &str) -> Result<Duration, InputError> {
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 300.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(InputError::OutOfBounds(format!(
            "timeout '{}' is not valid: give seconds from 0.1 to 300",
            text.chars().take(20).collect::<String>()
        ))),
    }
}

/// Runs a parsed command line and returns the process exit code.
#[must_use]
pub fn run(cli: Cli) -> ExitCode {
    output::configure(cli.quiet, cli.no_color);
    let Some(cmd) = cli.command else {
        return ExitCode::from(exit::USAGE);
    };
    match execute(cmd) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::error_line(&e.to_string());
            ExitCode::from(exit::USAGE)
        }
    }
}

/// An optional `--host` that must be an IP address of this machine's form (no names for scans).
fn parse_ip(host: Option<&str>) -> Result<std::net::IpAddr, InputError> {
    match host {
        None => Ok(crate::scan::default_address()),
        Some(h) => {
            let h = h
                .strip_prefix('[')
                .and_then(|x| x.strip_suffix(']'))
                .unwrap_or(h);
            target::validate_host(h)?;
            h.parse()
                .map_err(|_| InputError::NotAnAddress(h.to_owned()))
        }
    }
}

fn simple_target(text: &str, udp: bool) -> Result<Target, InputError> {
    let (host, port) = target::parse_host_port(text)?;
    Ok(if udp {
        Target::udp(&host, port)
    } else {
        Target::tcp(&host, port)
    })
}

fn execute(cmd: Command) -> Result<u8, InputError> {
    match cmd {
        Command::Facts { json, format } => {
            let f = crate::facts::gather();
            match format.or_json(json) {
                Format::Json => output::json(&f),
                Format::Ndjson => {
                    output::ndjson(f.table.iter(), "fact");
                    output::ndjson(f.interfaces.iter(), "interface");
                }
                Format::Text => output::text(&output::facts_text(&f)),
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
        Command::Man => {
            let mut buf = Vec::new();
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd.clone())
                .render(&mut buf)
                .map_err(|e| InputError::OutOfBounds(e.to_string()))?;
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = format!("port-inspector-{}", sub.get_name());
                let sub = sub.clone().name(name).version(env!("CARGO_PKG_VERSION"));
                clap_mangen::Man::new(sub)
                    .render(&mut buf)
                    .map_err(|e| InputError::OutOfBounds(e.to_string()))?;
            }
            output::text(&String::from_utf8_lossy(&buf));
            Ok(exit::OK)
        }
        Command::Report {
            target,
            bind,
            format,
            output: file,
        } => {
            let t = bind.target(&target)?;
            let c = check::run(&t, &ProbeConfig::default());
            let text = match format.as_str() {
                "json" => serde_json::to_string_pretty(&c).unwrap_or_default() + "\n",
                "text" => crate::report::text_full(&c),
                _ => crate::report::markdown(&c),
            };
            match file {
                Some(path) => std::fs::write(&path, text).map_err(|e| {
                    InputError::OutOfBounds(format!("cannot write {}: {e}", path.display()))
                })?,
                None => output::text(&text),
            }
            Ok(if c.bindable() {
                exit::OK
            } else {
                exit::NOT_BINDABLE
            })
        }
        Command::Matrix { target, json } => {
            let t = simple_target(&target, false)?;
            let m = crate::support::matrix(&t, &ProbeConfig::default());
            if json {
                output::json(&m);
            } else {
                output::text(&output::matrix_text(&m));
            }
            Ok(exit::OK)
        }
        Command::Listen {
            target,
            bind,
            duration,
        } => {
            let t = bind.target(&target)?;
            let d = parse_seconds(&duration, 1.0, 3600.0, "--for")?;
            let r = crate::support::hold(
                &t,
                d,
                &ProbeConfig::default(),
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
                    output::text(&format!(
                        "Released {} after {:.1} s: {} arrival(s).\n",
                        s.bound,
                        Duration::from_millis(s.held_ms).as_secs_f64(),
                        s.events.len()
                    ));
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
        Command::Scan {
            range,
            host,
            udp,
            both,
            json,
            format,
        } => {
            let (start, end) = target::parse_range(&range)?;
            let address = parse_ip(host.as_deref())?;
            crate::scan::check_address(address).map_err(|e| {
                InputError::OutOfBounds(format!(
                    "cannot bind {address} on this machine: {} ('port-inspector facts' lists its addresses)",
                    e.headline()
                ))
            })?;
            let protocols = if both {
                vec![Protocol::Tcp, Protocol::Udp]
            } else if udp {
                vec![Protocol::Udp]
            } else {
                vec![Protocol::Tcp]
            };
            let req = crate::scan::ScanRequest {
                address,
                start,
                end,
                protocols,
                options: crate::SocketOptions::default(),
            };
            let facts = crate::facts::gather();
            let report =
                crate::scan::scan(&req, &facts, &crate::probe::CancelToken::new(), &mut |_| {});
            match format.or_json(json) {
                Format::Json => output::json(&report),
                Format::Ndjson => {
                    output::ndjson(report.busy.iter(), "busy");
                    output::ndjson(report.free.iter(), "free");
                }
                Format::Text => output::text(&output::scan_text(&report)),
            }
            Ok(exit::OK)
        }
        Command::Free {
            count,
            range,
            host,
            udp,
        } => {
            let n: usize = match count.trim().parse() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(InputError::OutOfBounds(format!(
                        "count '{}' is not valid: give 1 to 1000",
                        count.chars().take(20).collect::<String>()
                    )));
                }
            };
            let (start, end) = target::parse_range(&range)?;
            let address = parse_ip(host.as_deref())?;
            crate::scan::check_address(address).map_err(|e| {
                InputError::OutOfBounds(format!(
                    "cannot bind {address} on this machine: {} ('port-inspector facts' lists its addresses)",
                    e.headline()
                ))
            })?;
            let protocol = if udp { Protocol::Udp } else { Protocol::Tcp };
            let facts = crate::facts::gather();
            let ports = crate::scan::free_ports(address, protocol, start, end, n, &facts);
            let text: String = ports.iter().map(|p| p.to_string() + "\n").collect();
            output::text(&text);
            Ok(if ports.len() == n {
                exit::OK
            } else {
                exit::NOT_BINDABLE
            })
        }
        Command::Check(args) => {
            let (target, timeout) = args.to_target()?;
            let cfg = ProbeConfig {
                timeout,
                ..ProbeConfig::default()
            };
            let c = if args.wait {
                let interval = parse_seconds(&args.interval, 0.1, 3600.0, "--interval")?;
                let cfg = ProbeConfig {
                    timeout: timeout.min(Duration::from_secs(10)),
                    ..ProbeConfig::default()
                };
                let quiet = args.json;
                let started = std::time::Instant::now();
                crate::support::wait_until_free(&target, &cfg, interval, timeout, &mut |c| {
                    if !quiet {
                        output::text(&output::wait_line(c, started.elapsed()));
                    }
                })
            } else {
                check::run(&target, &cfg)
            };
            if args.json {
                output::json(&c);
            } else {
                output::text(&crate::report::text(&c));
            }
            Ok(if c.bindable() {
                exit::OK
            } else {
                exit::NOT_BINDABLE
            })
        }
        Command::Explain { code, json } => {
            let Some(entry) = catalog::lookup(&code) else {
                return Err(InputError::OutOfBounds(format!(
                    "unknown error code '{}': try a WSA number (10048), a WSA name (WSAEADDRINUSE) or a native name (EADDRINUSE); 'port-inspector errors' lists them",
                    code.chars().take(40).collect::<String>()
                )));
            };
            if json {
                output::json(entry);
            } else {
                output::text(&output::entry_text(entry));
            }
            Ok(exit::OK)
        }
        Command::Errors { json, format } => {
            match format.or_json(json) {
                Format::Json => output::json(&catalog::all()),
                Format::Ndjson => output::ndjson(catalog::all().iter(), "error"),
                Format::Text => output::text(&output::catalog_table()),
            }
            Ok(exit::OK)
        }
        Command::Who {
            port,
            udp,
            tcp,
            host,
            json,
            format,
        } => {
            let port = target::parse_port(&port)?;
            let host_ip = match host.as_deref() {
                Some(h) => {
                    target::validate_host(h)?;
                    Some(
                        h.parse::<std::net::IpAddr>()
                            .map_err(|_| InputError::NotAnAddress(h.to_owned()))?,
                    )
                }
                None => None,
            };
            let protocol = if udp {
                Some(Protocol::Udp)
            } else if tcp {
                Some(Protocol::Tcp)
            } else {
                None
            };
            let mut found = owners::of(Query { port, protocol });
            if let Some(ip) = host_ip {
                found.owners.retain(|o| o.local_ip() == Some(ip));
            }
            match format.or_json(json) {
                Format::Json => output::json(&found),
                Format::Ndjson => output::ndjson(found.owners.iter(), "owner"),
                Format::Text => output::text(&output::owners_text(port, &found)),
            }
            Ok(if found.owners.is_empty() {
                exit::NOT_BINDABLE
            } else {
                exit::OK
            })
        }
    }
}
