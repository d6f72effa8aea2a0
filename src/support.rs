//! The support-desk kit on top of a single check: the what-if matrix (which combination of
//! protocol, family, SO_REUSEADDR and address works), hold-and-listen (is a firewall in the way?)
//! and watch (tell me when the port is free).

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol as SockProtocol, SockAddr, Socket, Type};

use crate::check::{self, Check};
use crate::oserror::OsError;
use crate::probe::{ProbeConfig, ResolveRequest, Verdict};
use crate::target::{Family, Host, Protocol, Target};

/// One combination tested by the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixCell {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// IPv4 or IPv6.
    pub family: Family,
    /// SO_REUSEADDR on or off.
    pub reuse_address: bool,
    /// The address as the user gave it, or the family's wildcard.
    pub scope: MatrixScope,
    /// What was bound, `127.0.0.1:8080`; none when no address was tried (a name that did not
    /// resolve): the cell's check has the target.
    pub address: Option<SocketAddr>,
    /// Bindable or not.
    pub verdict: Verdict,
    /// The WSA name of the failure, if any.
    pub wsa_name: Option<String>,
    /// The WSA number of the failure, if any.
    pub wsa_code: Option<u32>,
    /// The full check behind the cell.
    pub check: Check,
}

/// Which address a matrix cell bound: the one the user gave, or the family's wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatrixScope {
    /// The address (or name) as the user gave it.
    Address,
    /// `0.0.0.0` or `::`.
    Wildcard,
}

/// The what-if matrix of one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    /// The target the user gave.
    pub target: Target,
    /// Every combination tested.
    pub cells: Vec<MatrixCell>,
}

fn wildcard(family: Family) -> Host {
    Host::from(if family == Family::Ipv6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    })
}

/// Tests `target`'s port across TCP/UDP × IPv4/IPv6 × SO_REUSEADDR off/on, and for a specific
/// address also the wildcard of each family. Cells that cannot exist (an IPv4 literal as IPv6)
/// are left out. `cfg.timeout` bounds the whole matrix: each cell's name lookup gets what is left
/// of it, so a slow resolver makes the late cells `unknown` (timed out), never a long wait.
#[must_use]
pub fn matrix(target: &Target, cfg: &ProbeConfig) -> Matrix {
    let deadline = Instant::now() + cfg.timeout;
    let literal: Option<IpAddr> = target.host.ip();
    let specific = !target.host.is_all() && !literal.is_some_and(|ip| ip.is_unspecified());
    let mut cells = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        for family in [Family::Ipv4, Family::Ipv6] {
            for reuse in [false, true] {
                let mut scopes: Vec<(MatrixScope, Host)> = Vec::new();
                if specific {
                    let fits = literal.is_none_or(|ip| ip.is_ipv4() == (family == Family::Ipv4));
                    if fits {
                        scopes.push((MatrixScope::Address, target.host.clone()));
                    }
                }
                scopes.push((MatrixScope::Wildcard, wildcard(family)));
                for (scope, h) in scopes {
                    let mut t = target.clone();
                    t.host = h;
                    t.protocol = protocol;
                    t.family = family;
                    t.options.reuse_address = reuse;
                    let left = deadline.saturating_duration_since(Instant::now());
                    // Addresses need no lookup; a name gets what is left of the bound.
                    let cell_cfg = ProbeConfig {
                        timeout: left.max(Duration::from_millis(1)),
                        cancel: cfg.cancel.clone(),
                        resolver: std::sync::Arc::clone(&cfg.resolver),
                        program: cfg.program.clone(),
                    };
                    let c = check::run(&t, &cell_cfg);
                    cells.push(MatrixCell {
                        protocol,
                        family,
                        reuse_address: reuse,
                        scope,
                        address: c.report.attempts.first().and_then(|a| a.address),
                        verdict: c.report.verdict,
                        wsa_name: c.report.error.as_ref().map(|e| e.wsa_name.clone()),
                        wsa_code: c.report.error.as_ref().map(|e| e.wsa_code),
                        check: c,
                    });
                }
            }
        }
    }
    Matrix {
        target: target.clone(),
        cells,
    }
}

/// Something that reached the held port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenEvent {
    /// Milliseconds since listening started.
    pub at_ms: u64,
    /// The peer's address and port; none when the socket's address is not an IP one.
    pub peer: Option<SocketAddr>,
    /// TCP (a connection, accepted and closed at once) or UDP (a datagram, not read further).
    pub protocol: Protocol,
    /// Datagram size for UDP; connections carry no size because no data is read.
    pub bytes: Option<usize>,
}

/// How a hold ended. Memory stays flat under any flood: counts, and the last
/// [`KEPT_ARRIVALS`] arrivals only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenSummary {
    /// The addresses that were held (both families for a bare port).
    pub bound: Vec<SocketAddr>,
    /// The last arrivals, oldest first (at most [`KEPT_ARRIVALS`]).
    pub events: Vec<ListenEvent>,
    /// How many arrivals in all.
    #[serde(default)]
    pub arrivals: u64,
    /// Bytes of all datagrams, in all.
    #[serde(default)]
    pub bytes: u64,
    /// Whether Stop ended it before the time ran out.
    pub stopped: bool,
    /// How long the port was held, in milliseconds.
    pub held_ms: u64,
}

/// How many arrivals a hold keeps (the newest).
pub const KEPT_ARRIVALS: usize = 200;

/// Longest hold allowed: an hour, so a forgotten window does not keep a port forever.
pub const MAX_HOLD: Duration = Duration::from_hours(1);

/// The addresses to hold: the wildcard of both families for a bare port (as `check PORT` tests
/// them), or what the name resolves to, within the check's time limit and Cancel.
fn resolve_all(target: &Target, cfg: &ProbeConfig) -> Result<Vec<SocketAddr>, OsError> {
    if target.host.is_all() {
        let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), target.port);
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), target.port);
        return Ok(match target.family {
            Family::Ipv4 => vec![v4],
            Family::Ipv6 => vec![v6],
            Family::Any => vec![v4, v6],
        });
    }
    let req = ResolveRequest {
        host: target.host.node(),
        port: target.port,
        protocol: target.protocol,
        family: target.family,
    };
    let addrs = crate::probe::resolve_bounded(&req, cfg)?;
    if addrs.is_empty() {
        return Err(OsError::no_address("no address".into()));
    }
    Ok(addrs)
}

/// One held socket: socket, options, bind, listen (TCP), non-blocking.
fn hold_socket(target: &Target, addr: SocketAddr, both: bool) -> Result<Socket, OsError> {
    let (ty, proto) = match target.protocol {
        Protocol::Tcp => (Type::STREAM, SockProtocol::TCP),
        Protocol::Udp => (Type::DGRAM, SockProtocol::UDP),
    };
    let io = |e: std::io::Error| OsError::from_io(&e);
    let sock = Socket::new(Domain::for_address(addr), ty, Some(proto)).map_err(io)?;
    if target.options.reuse_address {
        sock.set_reuse_address(true).map_err(io)?;
    }
    if addr.is_ipv6() {
        // Holding both families: the [::] socket leaves IPv4 to the 0.0.0.0 one.
        match (target.options.v6_only, both) {
            (Some(v6), _) => sock.set_only_v6(v6).map_err(io)?,
            (None, true) => sock.set_only_v6(true).map_err(io)?,
            (None, false) => {}
        }
    }
    sock.bind(&SockAddr::from(addr)).map_err(io)?;
    if target.protocol == Protocol::Tcp {
        sock.listen(target.options.backlog).map_err(io)?;
    }
    sock.set_nonblocking(true).map_err(io)?;
    Ok(sock)
}

/// Why a hold failed: the OS's error and, when the port could not be held at all, the check of
/// the same bind made right after the refusal, which proves why as `check` does (who holds the
/// port, a privileged port, a name that does not resolve).
#[derive(Debug, Clone)]
pub struct HoldError {
    /// The OS's error.
    pub error: OsError,
    /// The check of the same target after the refusal; none for a failure after the port was
    /// held, or a hold stopped before it was.
    pub check: Option<Box<Check>>,
}

impl HoldError {
    /// The check's answer, when it explains the refusal (the port was still not bindable).
    #[must_use]
    pub fn explained(&self) -> Option<&Check> {
        self.check
            .as_deref()
            .filter(|c| c.report.verdict != Verdict::Bindable && c.explanation.is_some())
    }
}

impl From<OsError> for HoldError {
    fn from(error: OsError) -> Self {
        HoldError { error, check: None }
    }
}

/// Keeps the port bound (and listening, for TCP) for `duration` (at most an hour) or until
/// `cancel`, reporting each connection or datagram as it arrives. A bare port is held on both
/// families. Connections are accepted and reset at once without reading, so the hold leaves no
/// TIME_WAIT behind; datagrams are counted, not kept; only the last [`KEPT_ARRIVALS`] arrivals are
/// remembered. The port is released on return. A port it cannot hold is checked at once, so
/// the refusal can say why as `check` does.
pub fn hold(
    target: &Target,
    duration: Duration,
    cfg: &ProbeConfig,
    on_bound: &mut dyn FnMut(&[SocketAddr]),
    on_event: &mut dyn FnMut(&ListenEvent),
) -> Result<ListenSummary, HoldError> {
    let duration = duration.min(MAX_HOLD);
    let held = resolve_all(target, cfg).and_then(|addrs| {
        let both = addrs.iter().any(SocketAddr::is_ipv4) && addrs.iter().any(SocketAddr::is_ipv6);
        addrs
            .iter()
            .map(|a| hold_socket(target, *a, both).map(|s| (s, *a)))
            .collect::<Result<Vec<_>, _>>()
    });
    let (socks, addrs): (Vec<Socket>, Vec<SocketAddr>) = match held {
        Ok(v) => v.into_iter().unzip(),
        Err(error) => {
            let check = (!cfg.cancel.is_cancelled()).then(|| Box::new(check::run(target, cfg)));
            return Err(HoldError { error, check });
        }
    };
    let bound = socks
        .iter()
        .zip(&addrs)
        .map(|(s, a)| {
            s.local_addr()
                .ok()
                .and_then(|l| l.as_socket())
                .unwrap_or(*a)
        })
        .collect::<Vec<_>>();
    on_bound(&bound);
    let started = Instant::now();
    let ms = |t: Instant| u64::try_from(t.duration_since(started).as_millis()).unwrap_or(u64::MAX);
    let mut kept = std::collections::VecDeque::with_capacity(KEPT_ARRIVALS);
    let (mut arrivals, mut bytes_total) = (0u64, 0u64);
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 65_536];
    let mut note = |peer: SockAddr, bytes: Option<usize>| {
        let ev = ListenEvent {
            at_ms: ms(Instant::now()),
            peer: peer.as_socket(),
            protocol: target.protocol,
            bytes,
        };
        on_event(&ev);
        arrivals += 1;
        bytes_total += bytes.map_or(0, |b| b as u64);
        if kept.len() == KEPT_ARRIVALS {
            kept.pop_front();
        }
        kept.push_back(ev);
    };
    while started.elapsed() < duration && !cfg.cancel.is_cancelled() {
        let mut idle = true;
        for sock in &socks {
            let Some((peer, bytes)) = arrival(sock, target.protocol, &mut buf)? else {
                continue;
            };
            idle = false;
            note(peer, bytes);
        }
        if idle {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    // What had already arrived when the time ran out or Stop was pressed — a connection the
    // kernel completed and queued in the backlog, a datagram in the buffer — is reported, not
    // dropped with the socket: the clock is read between naps, and on a loaded machine the
    // last read can come well after the arrival (a suite under load lost a connection so).
    // Bounded, so a flood cannot keep the hold open.
    for sock in &socks {
        for _ in 0..DRAINED_AT_END {
            let Some((peer, bytes)) = arrival(sock, target.protocol, &mut buf)? else {
                break;
            };
            note(peer, bytes);
        }
    }
    let stopped = cfg.cancel.is_cancelled();
    drop(socks);
    Ok(ListenSummary {
        bound,
        events: kept.into(),
        arrivals,
        bytes: bytes_total,
        stopped,
        held_ms: ms(Instant::now()),
    })
}

/// The most arrivals read per socket once a hold ends: more than a listen backlog holds.
const DRAINED_AT_END: usize = 1024;

/// One arrival on a non-blocking socket, if any: a connection (accepted and reset at once) or a
/// datagram (its size).
fn arrival(
    sock: &Socket,
    protocol: Protocol,
    buf: &mut [std::mem::MaybeUninit<u8>],
) -> Result<Option<(SockAddr, Option<usize>)>, OsError> {
    let quiet = |e: &std::io::Error| {
        matches!(
            e.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
        )
    };
    match protocol {
        Protocol::Tcp => match sock.accept() {
            Ok((conn, peer)) => {
                // Closed at once, nothing read, with a reset (linger 0): a graceful close would
                // leave a TIME_WAIT on the port for 60 s after the hold, and the user's own
                // server (without SO_REUSEADDR) could not start meanwhile.
                let _ = conn.set_linger(Some(Duration::ZERO));
                drop(conn);
                Ok(Some((peer, None)))
            }
            Err(e) if quiet(&e) => Ok(None),
            Err(e) => Err(OsError::from_io(&e)),
        },
        Protocol::Udp => match sock.recv_from(buf) {
            Ok((n, peer)) => Ok(Some((peer, Some(n)))),
            Err(e) if quiet(&e) => Ok(None),
            // Windows reports an ICMP port-unreachable for an earlier send as an error here.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(None),
            Err(e) => Err(OsError::from_io(&e)),
        },
    }
}

/// Re-checks `target` every `interval` until it is bindable, `timeout` passes or `cancel` is set.
/// `on_tick` sees every check (with the current owners) while waiting. Returns the last check.
pub fn wait_until_free(
    target: &Target,
    cfg: &ProbeConfig,
    interval: Duration,
    timeout: Duration,
    on_tick: &mut dyn FnMut(&Check),
) -> Check {
    let started = Instant::now();
    loop {
        let c = check::run_polling(target, cfg);
        if c.bindable() || started.elapsed() >= timeout || cfg.cancel.is_cancelled() {
            return c;
        }
        on_tick(&c);
        let next = Instant::now() + interval;
        while Instant::now() < next {
            if cfg.cancel.is_cancelled() || started.elapsed() >= timeout {
                break;
            }
            std::thread::sleep(Duration::from_millis(20).min(interval));
        }
    }
}

impl Matrix {
    /// The cell for a combination, if it was tested.
    #[must_use]
    pub fn cell(
        &self,
        protocol: Protocol,
        family: Family,
        reuse: bool,
        scope: MatrixScope,
    ) -> Option<&MatrixCell> {
        self.cells.iter().find(|c| {
            c.protocol == protocol
                && c.family == family
                && c.reuse_address == reuse
                && c.scope == scope
        })
    }
}
