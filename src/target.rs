//! What to test: the parsed, validated description of one bind (host, port, protocol, options).
//!
//! Parsing happens here, once, at the edge; everything downstream takes these typed values.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest host name DNS allows (RFC 1035, without the trailing dot).
pub const MAX_HOST_LEN: usize = 253;

/// Transport protocol of the socket under test; decides the socket type and whether `listen` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// A stream socket (`SOCK_STREAM`), the usual server case.
    #[default]
    Tcp,
    /// A datagram socket (`SOCK_DGRAM`); it binds but never listens.
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        })
    }
}

/// Which address families getaddrinfo may return, like `ai_family` in the hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `AF_UNSPEC`: every family the name has.
    #[default]
    Any,
    /// `AF_INET` only.
    Ipv4,
    /// `AF_INET6` only.
    Ipv6,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Any => "IPv4 or IPv6",
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// Socket options set between `socket` and `bind`, because each one changes what bind allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SocketOptions {
    /// `SO_REUSEADDR`: lets a bind pass TIME_WAIT leftovers (and on Windows, steal a live port).
    pub reuse_address: bool,
    /// `SO_REUSEPORT` (Unix): lets this socket join a group of sockets of the same user on the
    /// same address and port, all of which set it.
    pub reuse_port: bool,
    /// `IPV6_V6ONLY` for IPv6 sockets; `None` keeps the system default (`net.ipv6.bindv6only`).
    pub v6_only: Option<bool>,
    /// `SO_EXCLUSIVEADDRUSE` (Windows only); elsewhere recorded as not available.
    pub exclusive_address_use: bool,
    /// Whether to call `listen` after a TCP bind, as a server would.
    pub listen: bool,
    /// The `listen` backlog.
    pub backlog: i32,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            reuse_address: false,
            reuse_port: false,
            v6_only: None,
            exclusive_address_use: false,
            listen: true,
            backlog: 128,
        }
    }
}

/// What the host of a target is: every interface, an IP address (with its `%scope` for IPv6
/// link-local ones), or a name the resolver must turn into addresses.
///
/// In JSON and saved state it is the text a person types (`""` for every interface), so the
/// output stays what it was when the host was a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Host {
    /// No host: getaddrinfo with a null node and AI_PASSIVE, the wildcard of each family.
    #[default]
    All,
    /// An IP literal.
    Ip {
        /// The address.
        ip: IpAddr,
        /// The `%scope` of an IPv6 address, as given (`eth0` or a number).
        scope: Option<String>,
    },
    /// A host name.
    Name(String),
}

impl Host {
    /// Reads a host text already checked by [`validate_host`] (empty = all interfaces); text
    /// that is not an address is a name. Use [`parse_host`] for the user's own text.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        if text.is_empty() {
            return Host::All;
        }
        let (addr, scope) = match text.split_once('%') {
            Some((a, s)) if a.contains(':') => (a, Some(s.to_owned())),
            _ => (text, None),
        };
        match addr.parse::<IpAddr>() {
            Ok(ip) => Host::Ip { ip, scope },
            Err(_) => Host::Name(text.to_owned()),
        }
    }

    /// Whether this is every interface (no host given).
    #[must_use]
    pub fn is_all(&self) -> bool {
        *self == Host::All
    }

    /// The IP address of a literal host; `None` for every interface or a name.
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip { ip, .. } => Some(*ip),
            _ => None,
        }
    }

    /// The `%scope` of a literal IPv6 host, as given.
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        match self {
            Host::Ip { scope, .. } => scope.as_deref(),
            _ => None,
        }
    }

    /// Checks a host read from outside — saved state, another machine's JSON: serde takes any
    /// text, as [`Host::parse`] does — as [`parse_host`] checks the user's own: every interface
    /// and an address without a scope always pass.
    pub fn validate(&self) -> Result<(), InputError> {
        match self {
            Host::All | Host::Ip { scope: None, .. } => Ok(()),
            Host::Ip { .. } | Host::Name(_) => validate_host(&self.to_string()),
        }
    }

    /// The node getaddrinfo is given: `None` for every interface (a null node with AI_PASSIVE
    /// is the wildcard of each family), else the host as typed.
    #[must_use]
    pub fn node(&self) -> Option<String> {
        (!self.is_all()).then(|| self.to_string())
    }
}

/// The host as a person types it: the address (with `%scope`) or the name; nothing for every
/// interface (the form getaddrinfo's null node and the JSON's `""` take).
impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::All => Ok(()),
            Host::Ip { ip, scope: None } => write!(f, "{ip}"),
            Host::Ip {
                ip,
                scope: Some(scope),
            } => write!(f, "{ip}%{scope}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

impl From<&str> for Host {
    fn from(text: &str) -> Self {
        Host::parse(text)
    }
}

impl From<&String> for Host {
    fn from(text: &String) -> Self {
        Host::parse(text)
    }
}

impl From<String> for Host {
    fn from(text: String) -> Self {
        Host::parse(&text)
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        Host::Ip { ip, scope: None }
    }
}

impl From<Host> for String {
    fn from(host: Host) -> Self {
        host.to_string()
    }
}

/// One bind to test: the complete input of a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Interface address, host name, or every interface.
    pub host: Host,
    /// Port to bind; 0 lets the OS choose one.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Address families getaddrinfo may return.
    pub family: Family,
    /// Options set before bind.
    pub options: SocketOptions,
}

impl Default for Target {
    fn default() -> Self {
        Self {
            host: Host::All,
            port: 8080,
            protocol: Protocol::Tcp,
            family: Family::Any,
            options: SocketOptions::default(),
        }
    }
}

impl Target {
    /// A TCP target with default options, the common case for tests and scripts.
    #[must_use]
    pub fn tcp(host: impl Into<Host>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            ..Self::default()
        }
    }

    /// A UDP target with default options.
    #[must_use]
    pub fn udp(host: impl Into<Host>, port: u16) -> Self {
        Self {
            protocol: Protocol::Udp,
            ..Self::tcp(host, port)
        }
    }

    /// `host:port` as a person would type it back (IPv6 in brackets, `*` for all interfaces).
    #[must_use]
    pub fn display_addr(&self) -> String {
        join_host_port(&self.host.to_string(), self.port)
    }
}

/// Formats a host and port the way `check` accepts them, so output can be pasted back.
#[must_use]
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.is_empty() {
        format!("*:{port}")
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The command whose output lists what a refused input may be: the command line names it after
/// the refusal as a command that runs as printed (`wording::input_error`), which the core cannot
/// write (it does not know how this program was started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `facts`: this machine's addresses and interfaces.
    Facts,
    /// `errors`: every error code the tool knows.
    Errors,
}

impl Listing {
    /// The subcommand that lists them.
    #[must_use]
    pub fn subcommand(self) -> &'static str {
        match self {
            Listing::Facts => "facts",
            Listing::Errors => "errors",
        }
    }
}

/// Why a piece of user input was refused. Each message fits on one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Nothing was given where a port was expected.
    #[error("the port is empty: give a number from 0 to 65535")]
    PortEmpty,
    /// The port text is not a whole number (letters, a sign, a fraction).
    #[error("'{0}' is not a port: give a number from 0 to 65535")]
    PortNotNumber(String),
    /// A number, but not one that fits in 16 bits.
    #[error("port {0} is out of range: ports go from 0 to 65535")]
    PortOutOfRange(String),
    /// `:8080` or `[]:8080`: a host part was written but is empty.
    #[error("the host is empty: leave it out (just the port) to mean all interfaces")]
    HostEmpty,
    /// Longer than DNS allows.
    #[error("the host name is {0} characters long; names can have at most 253")]
    HostTooLong(usize),
    /// One dot-separated label is longer than 63 characters.
    #[error("the host name has a part longer than 63 characters")]
    LabelTooLong,
    /// Characters that no host name or address may contain.
    #[error("'{0}' is not a valid host name or address (use letters, digits, '-' and '.')")]
    HostInvalid(String),
    /// Non-ASCII text; names must be given in their ASCII (punycode) form.
    #[error("the host name contains non-ASCII characters; give its ASCII form (e.g. xn--...)")]
    HostNonAscii,
    /// Looks like IPv6 but does not parse.
    #[error("'{0}' is not a valid IPv6 address")]
    BadIpv6(String),
    /// Four dot-separated numbers that are not an IPv4 address (`999.1.1.1`): no name looks
    /// like that, and the resolver would answer "not found" after a lookup.
    #[error("'{0}' is not a valid IPv4 address: each of its four numbers goes from 0 to 255")]
    BadIpv4(String),
    /// A host that the C resolver would read as an IPv4 address in one of inet_aton's legacy
    /// forms — a bare number (`80` is 0.0.0.80), fewer than four parts (`127.1`), hex or octal
    /// parts (`0x7f.0.0.1`) —: most often a typo, and never how an address is written back.
    #[error(
        "'{0}' is not an address: write it as four numbers from 0 to 255, e.g. 127.0.0.1 (short, hex and octal forms are not read)"
    )]
    ShortIpv4(String),
    /// `80:90`: a number where the host goes, before the port: two ports, not HOST:PORT.
    #[error(
        "'{given}': {host} is not an address; give HOST:PORT (e.g. 127.0.0.1:{port}), and a range of ports as {host}-{port} to scan"
    )]
    PortPair {
        /// The text given, shortened and cleaned.
        given: String,
        /// The number before the ':'.
        host: String,
        /// The text after it, shortened and cleaned.
        port: String,
    },
    /// An IPv6 address with a port but no brackets is ambiguous.
    #[error("put IPv6 addresses in brackets before a port, e.g. [::1]:8080")]
    Ipv6NeedsBrackets,
    /// `[::1]80`: something follows the closing bracket without the ':' that starts a port.
    #[error("'{given}': a port after ']' needs ':' before it, e.g. [{host}]:8080")]
    PortAfterBracketNeedsColon {
        /// The text given, shortened and cleaned.
        given: String,
        /// The address inside the brackets, shortened and cleaned.
        host: String,
    },
    /// `127.0.0.1:80:90`: more than one ':' after a host that is no IPv6 address: two ports,
    /// or an IPv6 address without its brackets.
    #[error(
        "'{0}' has more than one ':' after the host: give one port (HOST:PORT, e.g. 127.0.0.1:8080); an IPv6 address goes in brackets, e.g. [::1]:8080"
    )]
    TooManyColons(String),
    /// Text that is not `START-END` (or one port) at all.
    #[error("'{0}' is not a port range: give START-END, e.g. 8000-9000")]
    BadRange(String),
    /// A range whose start is above its end (`9000-8000`).
    #[error(
        "'{0}' runs backwards: its start is above its end; give START-END with START <= END, e.g. 8000-9000"
    )]
    RangeReversed(String),
    /// A range that starts at port 0 (`0-65535`): 0 asks the OS for any port, so it cannot be
    /// tested as one.
    #[error(
        "'{0}' starts at port 0, which is not a port a scan can test (binding port 0 asks the OS for any free port): start at 1, e.g. 1-65535"
    )]
    RangeStartsAtZero(String),
    /// Port 0 where a held port is meant (`who 0`, `end 0`): no socket holds port 0, and a bind
    /// of it always works, so an answer about it would prove nothing.
    #[error(
        "port 0 is not a port a socket holds (binding port 0 asks the OS for any free port): give a port from 1 to 65535"
    )]
    HeldPortZero,
    /// An argument that looks like an option this command does not have (`--bogus`, `-x`),
    /// taken for the target because a target may start with a hyphen.
    #[error("'{0}' is not an option of this command (see its --help)")]
    UnknownOption(String),
    /// A format of `--format` given as an option of its own (`facts --ndjson`).
    #[error("'--{0}' is not an option of this command: give --format {0}")]
    FormatAsOption(String),
    /// One option given twice: in one word (`-66`) or apart (`-6 -6`).
    #[error(
        "{option} is given twice{}: give it once",
        .word.as_deref().map(|w| format!(" (in '{w}')")).unwrap_or_default()
    )]
    OptionTwice {
        /// The option given twice (`-6`).
        option: String,
        /// The one word that gives it twice (`-66`), shortened and cleaned.
        word: Option<String>,
    },
    /// An option given without the one it works with (`check --interval 5` without --wait).
    #[error("{option} needs {needs}: give both, or leave out {option}")]
    NeedsPartner {
        /// The option given.
        option: String,
        /// What it needs, as its --help names it (`--wait`, `--output <OUTPUT>`, `<TARGET>`).
        needs: String,
    },
    /// A command without an argument it must have (`check` with no target).
    #[error("{command} needs {missing} (see its --help)")]
    Missing {
        /// The subcommand.
        command: String,
        /// What is missing, as its --help names it (`<TARGET>`).
        missing: String,
    },
    /// A range with an end beyond 65535 (`1-65536`).
    #[error("'{range}': {port} is out of range: ports go from 1 to 65535, e.g. 1-65535")]
    RangePortOutOfRange {
        /// The range as given.
        range: String,
        /// The number past 65535.
        port: String,
    },
    /// A scan needs one local IP address, not a name.
    #[error("'{0}' is not an IP address: give one such as 127.0.0.1, 0.0.0.0 or ::1")]
    NotAnAddress(String),
    /// A number of seconds that is not one, or out of the option's bounds.
    #[error("{option} '{given}' is not valid: give seconds from {min} to {max}")]
    SecondsOutOfBounds {
        /// The option (`--timeout`).
        option: String,
        /// The text given, shortened and cleaned.
        given: String,
        /// The least allowed, as written in the message.
        min: String,
        /// The most allowed.
        max: String,
    },
    /// A count that is not one, or out of 1 to `max`.
    #[error("count '{given}' is not valid: give 1 to {max}")]
    CountOutOfBounds {
        /// The text given, shortened and cleaned.
        given: String,
        /// The most allowed.
        max: usize,
    },
    /// A listen backlog outside 1 to 65535.
    #[error("backlog '{0}' is out of range: give 1 to 65535")]
    BacklogOutOfRange(String),
    /// A link-local address whose `%scope` names no interface of this machine (`facts` lists
    /// them: [`InputError::listing`]).
    #[error(
        "'{0}' names no interface of this machine: give the address with one of its interfaces, e.g. fe80::1%eth0"
    )]
    UnknownInterface(String),
    /// The address to scan cannot be bound here at all (not an address of this machine;
    /// `facts` lists them: [`InputError::listing`]).
    #[error("cannot bind {address} on this machine: {error} ({hint})")]
    AddressNotBindable {
        /// The address.
        address: String,
        /// The OS's error.
        error: String,
        /// What to give instead.
        hint: &'static str,
    },
    /// `explain` of a code the catalog does not know (`errors` lists them:
    /// [`InputError::listing`]).
    #[error(
        "unknown error code '{0}': try a WSA number (10048), a native number (98, -2), a WSA name (WSAEADDRINUSE) or a native name (EADDRINUSE)"
    )]
    UnknownErrorCode(String),
    /// `--expect-pids` that is neither `none` nor a list of PIDs.
    #[error("--expect-pids takes none or PID,PID,…")]
    BadExpectedPids,
    /// `listen --no-listen`: listen holds the port listening.
    #[error(
        "--no-listen makes no sense for listen: it holds the port listening, to see who arrives"
    )]
    NoListenForListen,
    /// `--on` text that is not `[USER@]HOST[:PORT]`.
    #[error(
        "--on '{given}': {why}; give [USER@]HOST[:PORT] (web-01, admin@10.0.0.5:2222, [fe80::1%eth0])"
    )]
    BadMachine {
        /// The text given, cut and cleaned.
        given: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// `--on` with a command that does not run on another machine.
    #[error("--on is not available for {command}: it works with {works_with}")]
    NotRemote {
        /// The subcommand given.
        command: String,
        /// The commands that take `--on`, in words (the command line's one list).
        works_with: String,
    },
    /// A link-local `--host` with `--on`: its scope names an interface of this machine.
    #[error(
        "a link-local --host names an interface of this machine, not of the other one: scan a global or loopback address there"
    )]
    LinkLocalElsewhere,
    /// The other machine refused the arguments (its own one-line reason, cleaned).
    #[error("{machine} refused: {why}")]
    RefusedThere {
        /// The machine.
        machine: String,
        /// Its reason.
        why: String,
    },
    /// A duration that is not one (`90s`, `30m`, `2h`, `3d`).
    #[error("'{0}' is not a duration: give 90s, 30m, 2h or 3d")]
    NotADuration(String),
    /// `history --pid` that is not a process number.
    #[error("--pid {0}: give a process number (1 or more)")]
    NotAPid(String),
    /// The recorder's `--interval` outside 10 to 60000 milliseconds.
    #[error("--interval {0}: give milliseconds from 10 to 60000")]
    IntervalMsOutOfRange(String),
    /// The recorder's `--max-size` below 100K or not a size.
    #[error("--max-size {0}: give a size of at least 100K (500K, 100M, 1G)")]
    SizeTooSmall(String),
    /// `--since` or `--until` that is not a time.
    #[error("{option}: {why}")]
    NotATime {
        /// The option.
        option: &'static str,
        /// Why it is not one.
        why: String,
    },
    /// `--since` after `--until`.
    #[error("--since is later than --until")]
    SinceAfterUntil,
    /// `history` with nothing to show the history of.
    #[error("give a PORT, --failed or --pid")]
    NoHistorySubject,
    /// An IP literal of one family with only the other family asked (`-4 [::1]:80`,
    /// `-6 127.0.0.1:80`): no bind can satisfy both, so it is bad input, not a failed lookup.
    #[error(
        "{host} is an {family_of_host} address, but {flag} asks for {family} only: drop {flag}, or give an {family} address such as {example}"
    )]
    FamilyContradiction {
        /// The host as given (cleaned).
        host: String,
        /// The family of the address.
        family_of_host: Family,
        /// The family asked for.
        family: Family,
        /// The flag that asked for it (`-4` or `-6`).
        flag: &'static str,
        /// An address of the asked family.
        example: &'static str,
    },
    /// `IPV6_V6ONLY` asked of a bind that makes no IPv6 socket (an IPv4 address, or IPv4 only).
    #[error(
        "--v6only sets an option of IPv6 sockets, but {what} makes only an IPv4 socket: drop --v6only, or bind an IPv6 address"
    )]
    V6OnlyWithoutIpv6 {
        /// What makes the bind IPv4 only: the address, or `-4`.
        what: String,
    },
    /// TCP asked of a multicast or broadcast address: the kernel may bind it, but no TCP
    /// connection can ever reach it (a connection has one peer, at a unicast address).
    #[error(
        "{0} is a {1} address, not a unicast address TCP can use (no connection can reach a TCP socket there): test it with --udp, or give a unicast address of this machine"
    )]
    NotUnicast(String, &'static str),
}

impl InputError {
    /// The command that lists what this input may be, where one does: an interface or an
    /// address of this machine (`facts`), an error code (`errors`).
    #[must_use]
    pub fn listing(&self) -> Option<Listing> {
        match self {
            InputError::UnknownInterface(_) | InputError::AddressNotBindable { .. } => {
                Some(Listing::Facts)
            }
            InputError::UnknownErrorCode(_) => Some(Listing::Errors),
            _ => None,
        }
    }
}

/// Refuses TCP on an address no TCP connection can reach: a multicast address (IPv4 224/4,
/// IPv6 ff00::/8) or the IPv4 broadcast address. Linux binds such a socket and lets it listen,
/// so the probe alone would read "bindable".
pub fn check_unicast(ip: IpAddr, protocol: Protocol) -> Result<(), InputError> {
    let kind = match ip.to_canonical() {
        IpAddr::V4(v4) if v4.is_broadcast() => "broadcast",
        ip if ip.is_multicast() => "multicast",
        _ => return Ok(()),
    };
    if protocol == Protocol::Tcp {
        Err(InputError::NotUnicast(ip.to_string(), kind))
    } else {
        Ok(())
    }
}

impl Target {
    /// Refuses a target that contradicts itself before anything is tried: an address of one
    /// family with the other family asked, `IPV6_V6ONLY` on an IPv4-only bind, TCP on a
    /// multicast or broadcast address. Each is known from the input alone, so it is bad input
    /// (exit 2), not a failed lookup or bind.
    pub fn validate(&self) -> Result<(), InputError> {
        let ip = self.host.ip();
        if let Some(ip) = ip {
            let (own, other) = if ip.is_ipv4() {
                (Family::Ipv4, Family::Ipv6)
            } else {
                (Family::Ipv6, Family::Ipv4)
            };
            if self.family == other {
                return Err(InputError::FamilyContradiction {
                    host: shorten(&self.host.to_string()),
                    family_of_host: own,
                    family: other,
                    flag: if other == Family::Ipv4 { "-4" } else { "-6" },
                    example: if other == Family::Ipv4 {
                        "127.0.0.1"
                    } else {
                        "::1"
                    },
                });
            }
            check_unicast(ip, self.protocol)?;
        }
        if self.options.v6_only.is_some() {
            if let Some(ip) = ip.filter(IpAddr::is_ipv4) {
                return Err(InputError::V6OnlyWithoutIpv6 {
                    what: ip.to_string(),
                });
            }
            if self.family == Family::Ipv4 {
                return Err(InputError::V6OnlyWithoutIpv6 { what: "-4".into() });
            }
        }
        Ok(())
    }
}

/// Parses a port number (0–65535), refusing signs, spaces and fractions with a clear message.
pub fn parse_port(text: &str) -> Result<u16, InputError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(InputError::PortEmpty);
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InputError::PortNotNumber(shorten(t)));
    }
    match t.parse::<u32>() {
        Ok(n) if n <= 65535 => Ok(u16::try_from(n).unwrap_or(u16::MAX)),
        _ => Err(InputError::PortOutOfRange(shorten(t))),
    }
}

/// Parses a port a socket holds (`who`, `end`): 1 to 65535.
pub fn parse_held_port(text: &str) -> Result<u16, InputError> {
    if looks_like_option(text) {
        return Err(InputError::UnknownOption(shorten(text)));
    }
    match parse_port(text)? {
        0 => Err(InputError::HeldPortZero),
        p => Ok(p),
    }
}

/// A `[HOST:]PORT` argument as given, refusing what is an unknown option (`--bogus`, `-x`): the
/// target takes values with a leading hyphen (so `-1` is refused as a port, in words), and a
/// mistyped option was otherwise taken for the target, the error then blaming the next argument.
pub fn target_text(text: &str) -> Result<String, InputError> {
    if looks_like_option(text) {
        Err(InputError::UnknownOption(shorten(text)))
    } else {
        Ok(text.to_owned())
    }
}

/// `--name` or `-x…` (a letter after one hyphen): an option, never a port or a host (no host
/// name starts with a hyphen); `-1` stays a number, refused as a port in words.
fn looks_like_option(text: &str) -> bool {
    let mut c = text.chars();
    c.next() == Some('-')
        && match c.next() {
            Some('-') => text.len() > 2,
            Some(x) => x.is_ascii_alphabetic(),
            None => false,
        }
}

/// Parses `START-END` (or a single port, meaning a range of one) into an inclusive range.
pub fn parse_range(text: &str) -> Result<(u16, u16), InputError> {
    let t = text.trim();
    let (a, b) = match t.split_once('-') {
        Some((a, b)) => (a, b),
        None => (t, t),
    };
    let port = |p: &str| {
        parse_port(p).map_err(|e| match e {
            InputError::PortOutOfRange(n) => InputError::RangePortOutOfRange {
                range: shorten(t),
                port: n,
            },
            _ => InputError::BadRange(shorten(t)),
        })
    };
    let (start, end) = (port(a)?, port(b)?);
    if start == 0 {
        return Err(InputError::RangeStartsAtZero(shorten(t)));
    }
    if start > end {
        return Err(InputError::RangeReversed(shorten(t)));
    }
    Ok((start, end))
}

/// Checks a host (interface address or name) before it reaches getaddrinfo.
///
/// Empty is refused here: callers that mean "all interfaces" pass no host at all.
pub fn validate_host(host: &str) -> Result<(), InputError> {
    if host.is_empty() {
        return Err(InputError::HostEmpty);
    }
    if !host.is_ascii() {
        return Err(InputError::HostNonAscii);
    }
    if host.contains(':') {
        // IPv6 literal, optionally with a %scope (fe80::1%eth0).
        let (addr, scope) = match host.split_once('%') {
            Some((a, s)) => (a, Some(s)),
            None => (host, None),
        };
        if addr.parse::<Ipv6Addr>().is_err() {
            return Err(InputError::BadIpv6(shorten(host)));
        }
        if let Some(scope) = scope
            && (scope.is_empty()
                || scope.len() > 15
                || !scope
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b)))
        {
            return Err(InputError::BadIpv6(shorten(host)));
        }
        return Ok(());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let parts: Vec<&str> = host.split('.').collect();
    let decimal = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() == 4 && parts.iter().all(decimal) {
        return Err(InputError::BadIpv4(shorten(host)));
    }
    // inet_aton's other forms, which getaddrinfo reads as an address before any name: one to
    // four parts, each decimal, octal (a leading 0) or hex (0x). No name is written so (a
    // top-level label is never all digits), so they are refused, not looked up.
    let number = |p: &&str| {
        decimal(p)
            || p.strip_prefix("0x")
                .or_else(|| p.strip_prefix("0X"))
                .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if parts.len() <= 4 && parts.iter().all(number) {
        return Err(InputError::ShortIpv4(shorten(host)));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > MAX_HOST_LEN {
        return Err(InputError::HostTooLong(host.len()));
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(InputError::HostInvalid(shorten(host)));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(InputError::HostInvalid(shorten(host)));
        }
        if label.len() > 63 {
            return Err(InputError::LabelTooLong);
        }
    }
    Ok(())
}

/// A host the user typed, checked and read once: an address (with its scope) or a name.
pub fn parse_host(text: &str) -> Result<Host, InputError> {
    validate_host(text)?;
    Ok(Host::parse(text))
}

/// Splits `[HOST:]PORT` into a validated host (none = all interfaces) and port.
///
/// Accepted: `8080`, `127.0.0.1:8080`, `localhost:80`, `[::1]:8080`, `[fe80::1%eth0]:80`.
pub fn parse_host_port(text: &str) -> Result<(Host, u16), InputError> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(InputError::BadIpv6(shorten(t)));
        };
        let port = match after.strip_prefix(':') {
            Some(port) => port,
            None if after.is_empty() => return Err(InputError::PortEmpty),
            None => {
                return Err(InputError::PortAfterBracketNeedsColon {
                    given: shorten(t),
                    host: shorten(host),
                });
            }
        };
        if host.is_empty() {
            return Err(InputError::HostEmpty);
        }
        if !host.contains(':') {
            return Err(InputError::BadIpv6(shorten(host)));
        }
        return Ok((parse_host(host)?, parse_port(port)?));
    }
    match t.rsplit_once(':') {
        None => Ok((Host::All, parse_port(t)?)),
        Some((host, port)) => {
            if host.contains(':') {
                // Either a bare IPv6 address (no port) or IPv6 with a port and no brackets.
                // A first part that is no group of an IPv6 address (`127.0.0.1:80:90`,
                // `localhost:80:90`) is a host followed by more than one port.
                let first = t.split(':').next().unwrap_or_default();
                let group = first.len() <= 4 && first.chars().all(|c| c.is_ascii_hexdigit());
                return Err(
                    if t.parse::<Ipv6Addr>().is_ok() || host.parse::<Ipv6Addr>().is_ok() {
                        InputError::Ipv6NeedsBrackets
                    } else if group {
                        InputError::BadIpv6(shorten(t))
                    } else {
                        InputError::TooManyColons(shorten(t))
                    },
                );
            }
            if host.is_empty() {
                return Err(InputError::HostEmpty);
            }
            // `*:8080` is how the tool itself writes "all interfaces": it reads it back.
            if host == "*" {
                return Ok((Host::All, parse_port(port)?));
            }
            // `80:90` is two ports (a range, or docker's HOST:CONTAINER), not host 0.0.0.80.
            if host.bytes().all(|b| b.is_ascii_digit()) {
                return Err(InputError::PortPair {
                    given: shorten(t),
                    host: shorten(host),
                    port: shorten(port),
                });
            }
            Ok((parse_host(host)?, parse_port(port)?))
        }
    }
}

impl FromStr for Target {
    type Err = InputError;

    /// Parses `[HOST:]PORT` into a TCP target with default options.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, port) = parse_host_port(s)?;
        Ok(Target::tcp(host, port))
    }
}

/// Keeps echoed input short so an error stays on one line even for a 300-character paste.
/// The user's own text, cut to 40 characters and with control characters made visible, for
/// quoting it back in a one-line error.
fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    let head: String = s.chars().take(MAX).collect();
    let more = if s.chars().count() > MAX { "…" } else { "" };
    format!("{}{more}", crate::text::clean(&head))
}

/// A number of seconds between `min` and `max`; the refusal names the option (`what`) and the
/// bounds, on one line.
pub fn parse_seconds(
    text: &str,
    min: f64,
    max: f64,
    what: &str,
) -> Result<std::time::Duration, InputError> {
    match text.trim().parse::<f64>() {
        Ok(s) if s >= min && s <= max => Ok(std::time::Duration::from_secs_f64(s)),
        _ => Err(InputError::SecondsOutOfBounds {
            option: what.to_owned(),
            given: shorten(text),
            min: min.to_string(),
            max: max.to_string(),
        }),
    }
}

/// A count between 1 and `max` (how many ports `free` hands out).
pub fn parse_count(text: &str, max: usize) -> Result<usize, InputError> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(InputError::CountOutOfBounds {
            given: shorten(text),
            max,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_and_refuse_clearly() {
        assert_eq!(parse_port("8080"), Ok(8080));
        assert_eq!(parse_port("0"), Ok(0));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(
            parse_port("70000"),
            Err(InputError::PortOutOfRange("70000".into()))
        );
        assert_eq!(
            parse_port("-1"),
            Err(InputError::PortNotNumber("-1".into()))
        );
        assert_eq!(
            parse_port("abc"),
            Err(InputError::PortNotNumber("abc".into()))
        );
        assert_eq!(parse_port(""), Err(InputError::PortEmpty));
        assert!(matches!(
            parse_port("99999999999999999999"),
            Err(InputError::PortOutOfRange(_))
        ));
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(parse_host_port("8080"), Ok((Host::All, 8080)));
        assert_eq!(
            parse_host_port("127.0.0.1:80"),
            Ok(("127.0.0.1".into(), 80))
        );
        assert_eq!(parse_host_port("[::1]:8080"), Ok(("::1".into(), 8080)));
        assert_eq!(
            parse_host_port("[fe80::1%eth0]:80"),
            Ok(("fe80::1%eth0".into(), 80))
        );
        assert_eq!(
            parse_host_port("localhost:443"),
            Ok(("localhost".into(), 443))
        );
        assert_eq!(parse_host_port(":80"), Err(InputError::HostEmpty));
        assert_eq!(parse_host_port("[]:80"), Err(InputError::HostEmpty));
        assert_eq!(
            parse_host_port("::1:80"),
            Err(InputError::Ipv6NeedsBrackets)
        );
        assert_eq!(
            parse_host_port("[::1]80"),
            Err(InputError::PortAfterBracketNeedsColon {
                given: "[::1]80".into(),
                host: "::1".into()
            })
        );
        assert_eq!(parse_host_port("[::1]"), Err(InputError::PortEmpty));
        for two in ["127.0.0.1:80:90", "localhost:80:90", "*:1:2"] {
            assert_eq!(
                parse_host_port(two),
                Err(InputError::TooManyColons(two.into())),
                "{two}"
            );
        }
        assert!(matches!(
            parse_host_port("fe80::zz:80"),
            Err(InputError::BadIpv6(_))
        ));
        assert!(matches!(
            parse_host_port("[::zz]:80"),
            Err(InputError::BadIpv6(_))
        ));
        assert!(matches!(
            parse_host_port("[1:2:3]:80"),
            Err(InputError::BadIpv6(_))
        ));
        let long = format!("{}:80", "a".repeat(300));
        assert!(matches!(
            parse_host_port(&long),
            Err(InputError::HostTooLong(300))
        ));
        assert_eq!(
            parse_host_port("bücher.de:80"),
            Err(InputError::HostNonAscii)
        );
        assert!(matches!(
            parse_host_port("a b:80"),
            Err(InputError::HostInvalid(_))
        ));
    }

    /// inet_aton's legacy forms are refused, in one line that says how an address is written;
    /// a dotted quad and names (even ones with digits and hex-looking labels) still pass.
    #[test]
    fn legacy_ipv4_forms_are_refused_and_real_hosts_pass() {
        assert_eq!(
            parse_host_port("80:90"),
            Err(InputError::PortPair {
                given: "80:90".into(),
                host: "80".into(),
                port: "90".into()
            })
        );
        assert_eq!(
            InputError::PortPair {
                given: "80:90".into(),
                host: "80".into(),
                port: "90".into()
            }
            .to_string(),
            "'80:90': 80 is not an address; give HOST:PORT (e.g. 127.0.0.1:90), and a range of ports as 80-90 to scan"
        );
        for short in [
            "80",
            "2130706433",
            "127.1",
            "127.0.1",
            "0x7f.1",
            "0x7f.0.0.1",
            "0x7F000001",
            "0x",
        ] {
            assert_eq!(
                parse_host(short),
                Err(InputError::ShortIpv4(short.into())),
                "{short}"
            );
            assert_eq!(
                parse_host_port(&format!("{short}:80")).map(|_| ()),
                Err(if short.bytes().all(|b| b.is_ascii_digit()) {
                    InputError::PortPair {
                        given: format!("{short}:80"),
                        host: short.into(),
                        port: "80".into(),
                    }
                } else {
                    InputError::ShortIpv4(short.into())
                }),
                "{short}:80"
            );
        }
        assert!(matches!(
            parse_host("0177.0.0.1"),
            Err(InputError::BadIpv4(_))
        ));
        for real in [
            "127.0.0.1",
            "10.0.0.5",
            "localhost",
            "web-01",
            "0x7f.example.com",
            "1.2.3.4.5",
            "host1.example",
            "123abc",
            "cafe",
        ] {
            assert!(parse_host(real).is_ok(), "{real}");
        }
        assert_eq!(
            parse_host_port("127.0.0.1:90"),
            Ok(("127.0.0.1".into(), 90))
        );
    }

    #[test]
    fn messages_stay_on_one_short_line() {
        let long = "x".repeat(300);
        let msg = parse_port(&long).unwrap_err().to_string();
        assert!(!msg.contains('\n'), "one line: {msg}");
        assert!(msg.len() < 120, "short: {msg}");
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("8000-9000"), Ok((8000, 9000)));
        assert_eq!(parse_range("80"), Ok((80, 80)));
        assert!(parse_range("9000-8000").is_err(), "reversed range refused");
        assert!(parse_range("0-10").is_err(), "port 0 is not scannable");
        assert!(parse_range("1-70000").is_err(), "out of range refused");
        // Each wrong range says what is wrong with it.
        let said = |r: &str| parse_range(r).unwrap_err().to_string();
        assert!(
            said("1-65536").contains("65536 is out of range"),
            "{}",
            said("1-65536")
        );
        assert!(
            said("0-65535").contains("starts at port 0"),
            "{}",
            said("0-65535")
        );
        assert!(
            said("9000-8000").contains("start is above its end"),
            "{}",
            said("9000-8000")
        );
        assert!(
            said("x-y").contains("is not a port range"),
            "{}",
            said("x-y")
        );
        let all = ["1-65536", "0-65535", "9000-8000", "x-y"].map(said);
        for (i, a) in all.iter().enumerate() {
            assert!(
                !all[i + 1..].contains(a),
                "two range errors read the same: {a}"
            );
        }
    }

    #[test]
    fn display_brackets_ipv6() {
        assert_eq!(Target::tcp("::1", 80).display_addr(), "[::1]:80");
        assert_eq!(Target::tcp("", 80).display_addr(), "*:80");
        assert_eq!(Target::tcp("localhost", 80).display_addr(), "localhost:80");
    }

    #[test]
    fn a_host_is_read_once_and_written_as_typed() {
        assert_eq!(Host::parse(""), Host::All);
        assert_eq!(
            Host::parse("fe80::1%eth0"),
            Host::Ip {
                ip: "fe80::1".parse().unwrap(),
                scope: Some("eth0".into())
            }
        );
        assert_eq!(Host::parse("localhost"), Host::Name("localhost".into()));
        for text in ["", "127.0.0.1", "::1", "fe80::1%eth0", "localhost"] {
            assert_eq!(Host::parse(text).to_string(), text, "{text} reads back");
            let t = Target::tcp(text, 80);
            let json = serde_json::to_value(&t).unwrap();
            assert_eq!(json["host"], text, "the JSON keeps the text");
            let back: Target = serde_json::from_value(json).unwrap();
            assert_eq!(back, t, "{text}: the JSON reads back");
        }
        assert_eq!(Host::All.node(), None, "every interface is a null node");
        assert_eq!(Host::parse("::1").node().as_deref(), Some("::1"));
    }

    #[test]
    fn a_target_that_contradicts_itself_is_refused() {
        let t = |text: &str, family: Family| Target {
            family,
            ..text.parse::<Target>().unwrap()
        };
        assert!(matches!(
            t("[::1]:80", Family::Ipv4).validate(),
            Err(InputError::FamilyContradiction {
                family: Family::Ipv4,
                ..
            })
        ));
        assert!(matches!(
            t("127.0.0.1:80", Family::Ipv6).validate(),
            Err(InputError::FamilyContradiction {
                family: Family::Ipv6,
                ..
            })
        ));
        for ok in [
            t("[::1]:80", Family::Ipv6),
            t("127.0.0.1:80", Family::Ipv4),
            t("80", Family::Ipv4),
            t("localhost:80", Family::Ipv6),
        ] {
            assert_eq!(ok.validate(), Ok(()), "{ok:?}");
        }
        let mut v4 = t("127.0.0.1:80", Family::Any);
        v4.options.v6_only = Some(false);
        assert!(matches!(
            v4.validate(),
            Err(InputError::V6OnlyWithoutIpv6 { .. })
        ));
        let mut all = t("80", Family::Any);
        all.options.v6_only = Some(true);
        assert_eq!(all.validate(), Ok(()), "every interface has an IPv6 socket");
        assert!(matches!(
            t("224.0.0.1:80", Family::Any).validate(),
            Err(InputError::NotUnicast(..))
        ));
    }
}
