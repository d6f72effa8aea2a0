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
use crate::target::{Family, Protocol, Target};

/// One combination tested by the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixCell {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// IPv4 or IPv6.
    pub family: Family,
    /// SO_REUSEADDR on or off.
    pub reuse_address: bool,
    /// `address` (as the user gave it) or `wildcard`.
    pub scope: String,
    /// What was bound, `127.0.0.1:8080`.
    pub address: String,
    /// Bindable or not.
    pub verdict: Verdict,
    /// The WSA name of the failure, if any.
    pub wsa_name: Option<String>,
    /// The WSA number of the failure, if any.
    pub wsa_code: Option<u32>,
    /// The full check behind the cell.
    pub check: Check,
}

/// The what-if matrix of one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    /// The target the user gave.
    pub target: Target,
    /// Every combination tested.
    pub cells: Vec<MatrixCell>,
}

fn wildcard(family: Family) -> &'static str {
    if family == Family::Ipv6 {
        "::"
    } else {
        "0.0.0.0"
    }
}

/// Tests `target`'s port across TCP/UDP × IPv4/IPv6 × SO_REUSEADDR off/on, and for a specific
/// address also the wildcard of each family. Cells that cannot exist (an IPv4 literal as IPv6)
/// are left out.
#[must_use]
pub fn matrix(target: &Target, cfg: &ProbeConfig) -> Matrix {
    let host = target.host.trim();
    let literal: Option<IpAddr> = host.split('%').next().and_then(|h| h.parse().ok());
    let specific = !host.is_empty() && !literal.is_some_and(|ip| ip.is_unspecified());
    let mut cells = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        for family in [Family::Ipv4, Family::Ipv6] {
            for reuse in [false, true] {
                let mut scopes: Vec<(&str, String)> = Vec::new();
                if specific {
                    let fits = literal.is_none_or(|ip| ip.is_ipv4() == (family == Family::Ipv4));
                    if fits {
                        scopes.push(("address", host.to_owned()));
                    }
                }
                scopes.push(("wildcard", wildcard(family).to_owned()));
                for (scope, h) in scopes {
                    let mut t = target.clone();
                    t.host = h;
                    t.protocol = protocol;
                    t.family = family;
                    t.options.reuse_address = reuse;
                    let c = check::run(&t, cfg);
                    cells.push(MatrixCell {
                        protocol,
                        family,
                        reuse_address: reuse,
                        scope: scope.into(),
                        address: c
                            .report
                            .attempts
                            .first()
                            .map_or_else(|| t.display_addr(), |a| a.address.clone()),
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
    /// The peer's address and port.
    pub peer: String,
    /// TCP (a connection, accepted and closed at once) or UDP (a datagram, not read further).
    pub protocol: Protocol,
    /// Datagram size for UDP; connections carry no size because no data is read.
    pub bytes: Option<usize>,
}

/// How a hold ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenSummary {
    /// The address that was held.
    pub bound: String,
    /// Everything that arrived.
    pub events: Vec<ListenEvent>,
    /// Whether Stop ended it before the time ran out.
    pub stopped: bool,
    /// How long the port was held, in milliseconds.
    pub held_ms: u64,
}

/// Longest hold allowed: an hour, so a forgotten window does not keep a port forever.
pub const MAX_HOLD: Duration = Duration::from_hours(1);

fn resolve_one(target: &Target, cfg: &ProbeConfig) -> Result<SocketAddr, OsError> {
    if target.host.is_empty() {
        return Ok(SocketAddr::new(
            if target.family == Family::Ipv6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            },
            target.port,
        ));
    }
    let req = ResolveRequest {
        host: Some(target.host.clone()),
        port: target.port,
        protocol: target.protocol,
        family: target.family,
    };
    (cfg.resolver)(&req)?
        .into_iter()
        .next()
        .ok_or_else(|| OsError::from_eai(if cfg!(unix) { -5 } else { 11004 }, "no address".into()))
}

/// Keeps the port bound (and listening, for TCP) for `duration` (at most an hour) or until
/// `cancel`, reporting each connection or datagram as it arrives. Connections are accepted and
/// reset at once without reading, so the hold leaves no TIME_WAIT behind; datagrams are counted,
/// not kept. The port is released on return.
pub fn hold(
    target: &Target,
    duration: Duration,
    cfg: &ProbeConfig,
    on_bound: &mut dyn FnMut(&str),
    on_event: &mut dyn FnMut(&ListenEvent),
) -> Result<ListenSummary, OsError> {
    let duration = duration.min(MAX_HOLD);
    let addr = resolve_one(target, cfg)?;
    let (ty, proto) = match target.protocol {
        Protocol::Tcp => (Type::STREAM, SockProtocol::TCP),
        Protocol::Udp => (Type::DGRAM, SockProtocol::UDP),
    };
    let io = |e: std::io::Error| OsError::from_io(&e);
    let sock = Socket::new(Domain::for_address(addr), ty, Some(proto)).map_err(io)?;
    if target.options.reuse_address {
        sock.set_reuse_address(true).map_err(io)?;
    }
    if let (Some(v6), true) = (target.options.v6_only, addr.is_ipv6()) {
        sock.set_only_v6(v6).map_err(io)?;
    }
    sock.bind(&SockAddr::from(addr)).map_err(io)?;
    if target.protocol == Protocol::Tcp {
        sock.listen(target.options.backlog).map_err(io)?;
        sock.set_nonblocking(true).map_err(io)?;
    } else {
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(io)?;
    }
    let bound = sock
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map_or_else(|| addr.to_string(), |a| a.to_string());
    on_bound(&bound);
    let started = Instant::now();
    let ms = |t: Instant| u64::try_from(t.duration_since(started).as_millis()).unwrap_or(u64::MAX);
    let mut events = Vec::new();
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 65_536];
    while started.elapsed() < duration && !cfg.cancel.is_cancelled() {
        let got = match target.protocol {
            Protocol::Tcp => match sock.accept() {
                Ok((conn, peer)) => {
                    // Closed at once, nothing read, with a reset (linger 0): a graceful close
                    // would leave a TIME_WAIT on the port for 60 s after the hold, and the
                    // user's own server (without SO_REUSEADDR) could not start meanwhile.
                    let _ = conn.set_linger(Some(Duration::ZERO));
                    drop(conn);
                    Some((peer, None))
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10));
                    None
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => None,
                Err(e) => return Err(OsError::from_io(&e)),
            },
            Protocol::Udp => match sock.recv_from(&mut buf) {
                Ok((n, peer)) => Some((peer, Some(n))),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    None
                }
                // Windows reports an ICMP port-unreachable for an earlier send as an error here.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => None,
                Err(e) => return Err(OsError::from_io(&e)),
            },
        };
        if let Some((peer, bytes)) = got {
            let ev = ListenEvent {
                at_ms: ms(Instant::now()),
                peer: peer
                    .as_socket()
                    .map_or_else(|| "?".into(), |p| p.to_string()),
                protocol: target.protocol,
                bytes,
            };
            on_event(&ev);
            events.push(ev);
        }
    }
    let stopped = cfg.cancel.is_cancelled();
    drop(sock);
    Ok(ListenSummary {
        bound,
        events,
        stopped,
        held_ms: ms(Instant::now()),
    })
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
        let c = check::run(target, cfg);
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
        scope: &str,
    ) -> Option<&MatrixCell> {
        self.cells.iter().find(|c| {
            c.protocol == protocol
                && c.family == family
                && c.reuse_address == reuse
                && c.scope == scope
        })
    }
}
