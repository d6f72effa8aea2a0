//! The bind probe: Microsoft's "Binding a socket" sequence (getaddrinfo → socket → setsockopt →
//! bind → listen → getsockname → close) for every address getaddrinfo returns, each step timed.
//!
//! Every socket is dropped (closed) before `run` returns, on every path.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol as SockProtocol, SockAddr, Socket, Type};

use crate::oserror::OsError;
use crate::target::{Family, Protocol, Target};

/// One call of the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// getaddrinfo with `AI_PASSIVE`.
    Resolve,
    /// socket().
    Socket,
    /// One setsockopt() call.
    Setsockopt,
    /// bind().
    Bind,
    /// listen() (TCP with listening on).
    Listen,
    /// getsockname(): the address really bound.
    Getsockname,
    /// closesocket() / close().
    Close,
}

impl StepKind {
    /// The call's name as the Winsock sample writes it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Resolve => "getaddrinfo",
            StepKind::Socket => "socket",
            StepKind::Setsockopt => "setsockopt",
            StepKind::Bind => "bind",
            StepKind::Listen => "listen",
            StepKind::Getsockname => "getsockname",
            StepKind::Close => "close",
        }
    }
}

/// Why a step of the sequence was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The option exists only on Windows (SO_EXCLUSIVEADDRUSE), and this is another OS.
    WindowsOnly,
}

/// How one step ended: what every front shows for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The call was made and succeeded.
    Ok,
    /// The call was made and failed.
    Failed,
    /// The call was not made, for this reason; it stopped nothing.
    Skipped(SkipReason),
}

/// One call's input, outcome and duration, so a user sees exactly where a bind broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Which call.
    pub step: StepKind,
    /// Whether it stopped nothing: true when it succeeded, and for a skipped step (`skipped`
    /// says it was not run). Read [`Step::outcome`] for which.
    pub ok: bool,
    /// Time the call took, in microseconds.
    pub elapsed_us: u64,
    /// The call's input or result in words (`SO_REUSEADDR=1`, `127.0.0.1:8080`, `2 addresses`).
    pub detail: String,
    /// The error, when it failed.
    pub error: Option<OsError>,
    /// Why the call was not made, for a skipped step (then `ok` is true); `null` for a call that
    /// was made. Absent in the answers of versions before it (read as `null`).
    #[serde(default)]
    pub skipped: Option<SkipReason>,
}

impl Step {
    /// A call that was not made, for `why` (it stops nothing: `ok` stays true for the readers of
    /// the field from before `skipped`); `detail` says what was not done.
    #[must_use]
    pub fn skipped(step: StepKind, why: SkipReason, detail: String) -> Self {
        Self {
            step,
            ok: true,
            elapsed_us: 0,
            detail,
            error: None,
            skipped: Some(why),
        }
    }

    /// How the step ended: made and succeeded, made and failed, or not made (and why).
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        match (self.skipped, self.ok) {
            (Some(why), _) => Outcome::Skipped(why),
            (None, true) => Outcome::Ok,
            (None, false) => Outcome::Failed,
        }
    }

    fn timed<T>(
        step: StepKind,
        detail: String,
        f: impl FnOnce() -> std::io::Result<T>,
    ) -> (Self, Option<T>) {
        let start = Instant::now();
        let out = f();
        let elapsed_us = micros(start.elapsed());
        match out {
            Ok(v) => (
                Self {
                    step,
                    ok: true,
                    elapsed_us,
                    detail,
                    error: None,
                    skipped: None,
                },
                Some(v),
            ),
            Err(e) => (
                Self {
                    step,
                    ok: false,
                    elapsed_us,
                    detail,
                    error: Some(OsError::from_io(&e)),
                    skipped: None,
                },
                None,
            ),
        }
    }
}

/// The steps run for one address getaddrinfo returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The address tried; `None` for the attempt that records a failed lookup (no address was
    /// resolved).
    pub address: Option<SocketAddr>,
    /// `ipv4` or `ipv6`.
    pub family: Family,
    /// The calls, in order; the resolve step that produced this address comes first.
    pub steps: Vec<Step>,
    /// The address getsockname reported (the real port when 0 was asked), if bind succeeded.
    pub bound: Option<SocketAddr>,
}

impl Attempt {
    /// The address tried as people write it: the target as given when no address was resolved.
    #[must_use]
    pub fn address_or_target(&self, target: &Target) -> String {
        self.address
            .map_or_else(|| target.display_addr(), |a| a.to_string())
    }

    /// The first failed step, which decides this attempt's outcome.
    #[must_use]
    pub fn failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.ok)
    }
}

/// Whether the program can bind the target; the one word a script needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every address getaddrinfo returned could be bound (and listened on).
    Bindable,
    /// Resolution failed, or at least one address could not be bound.
    NotBindable,
    /// No answer: the check was cancelled or the resolver did not answer in time, so nothing
    /// was bound and nothing is known about the port.
    Unknown,
}

/// The full record of one probe: inputs, each call, and the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// What was tested.
    pub target: Target,
    /// The getaddrinfo call.
    pub resolve: Step,
    /// One per address getaddrinfo returned.
    pub attempts: Vec<Attempt>,
    /// Bindable or not.
    pub verdict: Verdict,
    /// The first error met (resolve, or the first failing attempt's).
    pub error: Option<OsError>,
    /// The call that produced `error`.
    pub failed_step: Option<StepKind>,
    /// The address whose attempt produced `error`; `None` when the lookup failed (no address).
    pub failed_address: Option<SocketAddr>,
    /// Wall time of the whole probe, in microseconds.
    pub elapsed_us: u64,
}

impl ProbeReport {
    /// The addresses getsockname reported, one per attempt that bound.
    #[must_use]
    pub fn bound_addresses(&self) -> Vec<SocketAddr> {
        self.attempts.iter().filter_map(|a| a.bound).collect()
    }
}

/// What getaddrinfo is asked; owned so a resolver can run it on another thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// Node name; `None` for all interfaces (`AI_PASSIVE` then yields the wildcards).
    pub host: Option<String>,
    /// Service (port number).
    pub port: u16,
    /// Socket type / protocol hint.
    pub protocol: Protocol,
    /// Family hint.
    pub family: Family,
}

/// The name resolver, swappable so tests can script a hung or failing lookup.
pub type Resolver =
    Arc<dyn Fn(&ResolveRequest) -> Result<Vec<SocketAddr>, OsError> + Send + Sync + 'static>;

/// A flag the caller sets to stop a running probe or scan at its next check point.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, not-cancelled token.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether stop was asked.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Whether a copy of this token is held elsewhere (by work that may still run, or by the
    /// one who may cancel it); a holder of tokens lets go of those no one else holds.
    #[must_use]
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
}

/// How a probe runs: time limit, cancel flag and resolver.
#[derive(Clone)]
pub struct ProbeConfig {
    /// Longest wait for getaddrinfo; the lookup thread is abandoned after it.
    pub timeout: Duration,
    /// Stops the probe between steps and while waiting for the resolver.
    pub cancel: CancelToken,
    /// The getaddrinfo implementation.
    pub resolver: Resolver,
    /// How the commands a check's words print name this program (its fixes' `check` commands,
    /// the recorder's hints): the front's decision; the probe itself never reads it.
    pub program: crate::program::Program,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            cancel: CancelToken::new(),
            resolver: system_resolver(),
            program: crate::program::Program::default(),
        }
    }
}

/// The real getaddrinfo, with `AI_PASSIVE` and the socket type / protocol / family hints.
#[must_use]
pub fn system_resolver() -> Resolver {
    Arc::new(getaddrinfo)
}

fn getaddrinfo(req: &ResolveRequest) -> Result<Vec<SocketAddr>, OsError> {
    use dns_lookup::{AddrFamily, Protocol as GaiProtocol, SockType};
    /// `AI_PASSIVE` is 1 on Linux, macOS and Windows alike; the crate has no constant for it.
    const AI_PASSIVE: i32 = 1;
    let (socktype, protocol) = match req.protocol {
        Protocol::Tcp => (SockType::Stream.into(), GaiProtocol::TCP.into()),
        Protocol::Udp => (SockType::DGram.into(), GaiProtocol::UDP.into()),
    };
    let family = match req.family {
        Family::Any => 0, // AF_UNSPEC everywhere
        Family::Ipv4 => AddrFamily::Inet.into(),
        Family::Ipv6 => AddrFamily::Inet6.into(),
    };
    let hints = dns_lookup::AddrInfoHints {
        flags: AI_PASSIVE,
        address: family,
        socktype,
        protocol,
    };
    let service = req.port.to_string();
    match dns_lookup::getaddrinfo(req.host.as_deref(), Some(&service), Some(hints)) {
        Ok(iter) => {
            let mut out = Vec::new();
            for info in iter {
                match info {
                    Ok(ai) => {
                        if !out.contains(&ai.sockaddr) {
                            out.push(ai.sockaddr);
                        }
                    }
                    Err(e) => return Err(OsError::from_io(&e)),
                }
            }
            Ok(out)
        }
        Err(e) => {
            let code = e.error_num();
            let full = std::io::Error::from(e).to_string();
            let message = full
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&full)
                .to_owned();
            Err(OsError::from_eai(code, message))
        }
    }
}

/// The addresses the hosts file (and RFC 6761 for `localhost`) gives `name`, filtered to the
/// family asked, with the request's port.
fn hosts_lookup(name: &str, req: &ResolveRequest) -> Option<Vec<SocketAddr>> {
    let path = crate::platform::Os::current().hosts_file();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut ips = parse_hosts(&text, name);
    if ips.is_empty() && name.eq_ignore_ascii_case("localhost") {
        ips = vec![
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ];
    }
    let addrs: Vec<SocketAddr> = ips
        .into_iter()
        .filter(|ip| match req.family {
            Family::Ipv4 => ip.is_ipv4(),
            Family::Ipv6 => ip.is_ipv6(),
            Family::Any => true,
        })
        .map(|ip| SocketAddr::new(ip, req.port))
        .collect();
    (!addrs.is_empty()).then_some(addrs)
}

/// The addresses of `name` in hosts-file text (`127.0.0.1 localhost`), in file order.
#[must_use]
pub fn parse_hosts(text: &str, name: &str) -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(ip) = words
            .next()
            .and_then(|w| w.parse::<std::net::IpAddr>().ok())
        else {
            continue;
        };
        if words.any(|w| w.eq_ignore_ascii_case(name)) && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// Lookups still running on abandoned threads; capped so a stuck resolver cannot pile up threads.
static PENDING_LOOKUPS: AtomicUsize = AtomicUsize::new(0);
const MAX_PENDING_LOOKUPS: usize = 16;

struct PendingGuard;
impl Drop for PendingGuard {
    fn drop(&mut self) {
        PENDING_LOOKUPS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs getaddrinfo on its own thread so a slow name can be abandoned on timeout or cancel. At
/// most 16 abandoned lookups may hang at once; past that, names the hosts file answers
/// (`localhost` above all) still resolve, without a thread, so hung lookups never poison them.
pub(crate) fn resolve_bounded(
    req: &ResolveRequest,
    cfg: &ProbeConfig,
) -> Result<Vec<SocketAddr>, OsError> {
    if PENDING_LOOKUPS.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING_LOOKUPS {
        PENDING_LOOKUPS.fetch_sub(1, Ordering::SeqCst);
        if let Some(addrs) = req.host.as_deref().and_then(|h| hosts_lookup(h, req)) {
            return Ok(addrs);
        }
        let mut e = OsError::timed_out("too many earlier name lookups are still hanging");
        e.message.push_str("; try an address instead of a name");
        return Err(e);
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let resolver = Arc::clone(&cfg.resolver);
    let owned = req.clone();
    let spawned = std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let _guard = PendingGuard;
            let _ = tx.send(resolver(&owned));
        });
    if let Err(e) = spawned {
        PENDING_LOOKUPS.fetch_sub(1, Ordering::SeqCst);
        return Err(OsError::from_io(&e));
    }
    let deadline = Instant::now() + cfg.timeout;
    loop {
        if cfg.cancel.is_cancelled() {
            return Err(OsError::cancelled());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(OsError::timed_out(&format!(
                "no answer from the resolver within {:.1} s",
                cfg.timeout.as_secs_f64()
            )));
        }
        let slice = (deadline - now).min(Duration::from_millis(20));
        match rx.recv_timeout(slice) {
            Ok(out) => return out,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(OsError::timed_out(
                    "the resolver thread ended without an answer",
                ));
            }
        }
    }
}

/// Whether getaddrinfo can answer without any lookup (no node, or a numeric address).
/// Whether getaddrinfo answers without asking a resolver (no host, or an IP literal without a
/// scope name to look up).
fn is_numeric(target: &Target) -> bool {
    match &target.host {
        crate::target::Host::All => true,
        crate::target::Host::Ip { scope, .. } => scope.is_none(),
        crate::target::Host::Name(_) => false,
    }
}

/// Runs the whole sequence for `target` and reports each step. Never leaves a socket open.
#[must_use]
pub fn run(target: &Target, cfg: &ProbeConfig) -> ProbeReport {
    let started = Instant::now();
    let req = ResolveRequest {
        host: target.host.node(),
        port: target.port,
        protocol: target.protocol,
        family: target.family,
    };
    let detail_in = format!(
        "{} ({}, {}, AI_PASSIVE)",
        if target.host.is_all() {
            "all interfaces".to_owned()
        } else {
            target.host.to_string()
        },
        target.protocol,
        target.family
    );
    let t0 = Instant::now();
    let resolved = if cfg.cancel.is_cancelled() {
        Err(OsError::cancelled())
    } else if is_numeric(target) {
        (cfg.resolver)(&req)
    } else {
        resolve_bounded(&req, cfg)
    };
    let resolve_us = micros(t0.elapsed());
    let (resolve, addrs) = match resolved {
        Ok(addrs) if addrs.is_empty() => {
            let e = OsError::no_address("no address returned".into());
            (
                step_err(StepKind::Resolve, resolve_us, detail_in, e),
                Vec::new(),
            )
        }
        Ok(addrs) => {
            let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            (
                Step {
                    step: StepKind::Resolve,
                    ok: true,
                    elapsed_us: resolve_us,
                    detail: format!("{detail_in} -> {}", list.join(", ")),
                    error: None,
                    skipped: None,
                },
                addrs,
            )
        }
        Err(e) => (
            step_err(StepKind::Resolve, resolve_us, detail_in, e),
            Vec::new(),
        ),
    };

    let mut attempts = Vec::with_capacity(addrs.len().max(1));
    if !resolve.ok {
        attempts.push(Attempt {
            address: None,
            family: target.family,
            steps: vec![resolve.clone()],
            bound: None,
        });
    }
    for addr in &addrs {
        let mut steps = vec![resolve.clone()];
        let bound = if cfg.cancel.is_cancelled() {
            steps.push(step_err(
                StepKind::Socket,
                0,
                "not started".into(),
                OsError::cancelled(),
            ));
            None
        } else {
            bind_one(*addr, target, &mut steps)
        };
        attempts.push(Attempt {
            address: Some(*addr),
            family: if addr.is_ipv4() {
                Family::Ipv4
            } else {
                Family::Ipv6
            },
            steps,
            bound,
        });
    }

    let failure = attempts
        .iter()
        .find_map(|a| a.failure().map(|s| (a.address, s)));
    let (error, failed_step, failed_address) = match failure {
        Some((addr, s)) => (s.error.clone(), Some(s.step), addr),
        None => (None, None, None),
    };
    ProbeReport {
        target: target.clone(),
        resolve,
        verdict: match error.as_ref().map(|e| e.wsa_code) {
            None => Verdict::Bindable,
            Some(crate::oserror::wsa::ETIMEDOUT | crate::oserror::wsa::ECANCELLED) => {
                Verdict::Unknown
            }
            Some(_) => Verdict::NotBindable,
        },
        attempts,
        error,
        failed_step,
        failed_address,
        elapsed_us: micros(started.elapsed()),
    }
}

fn step_err(step: StepKind, elapsed_us: u64, detail: String, e: OsError) -> Step {
    Step {
        step,
        ok: false,
        elapsed_us,
        detail,
        error: Some(e),
        skipped: None,
    }
}

/// socket → setsockopt* → bind → listen → getsockname → close for one address.
fn bind_one(addr: SocketAddr, target: &Target, steps: &mut Vec<Step>) -> Option<SocketAddr> {
    let (ty, proto) = match target.protocol {
        Protocol::Tcp => (Type::STREAM, SockProtocol::TCP),
        Protocol::Udp => (Type::DGRAM, SockProtocol::UDP),
    };
    let domain = Domain::for_address(addr);
    let (step, sock) = Step::timed(
        StepKind::Socket,
        format!(
            "{}, {}",
            if addr.is_ipv4() {
                "AF_INET"
            } else {
                "AF_INET6"
            },
            if target.protocol == Protocol::Tcp {
                "SOCK_STREAM"
            } else {
                "SOCK_DGRAM"
            }
        ),
        || Socket::new(domain, ty, Some(proto)),
    );
    steps.push(step);
    let sock = sock?;
    // From here on `sock` is dropped (closed) on every return path.
    let ok = set_options(&sock, addr, target, steps)
        && {
            let (step, r) = Step::timed(StepKind::Bind, addr.to_string(), || {
                sock.bind(&SockAddr::from(addr))
            });
            steps.push(step);
            r.is_some()
        }
        && (target.protocol == Protocol::Udp || !target.options.listen || {
            let backlog = target.options.backlog;
            let (step, r) = Step::timed(StepKind::Listen, format!("backlog {backlog}"), || {
                sock.listen(backlog)
            });
            steps.push(step);
            r.is_some()
        });
    let mut bound = None;
    if ok {
        let (mut step, r) = Step::timed(StepKind::Getsockname, String::new(), || sock.local_addr());
        if let Some(local) = r.as_ref().and_then(SockAddr::as_socket) {
            step.detail = local.to_string();
            bound = Some(local);
        }
        steps.push(step);
    }
    let start = Instant::now();
    drop(sock);
    steps.push(Step {
        step: StepKind::Close,
        ok: true,
        elapsed_us: micros(start.elapsed()),
        detail: "socket released".into(),
        error: None,
        skipped: None,
    });
    bound
}

/// Sets each requested option as its own timed step; false when one fails.
fn set_options(sock: &Socket, addr: SocketAddr, target: &Target, steps: &mut Vec<Step>) -> bool {
    let o = &target.options;
    if o.reuse_address {
        let (step, r) = Step::timed(StepKind::Setsockopt, "SO_REUSEADDR=1".into(), || {
            sock.set_reuse_address(true)
        });
        steps.push(step);
        if r.is_none() {
            return false;
        }
    }
    if o.reuse_port {
        #[cfg(unix)]
        let (step, r) = Step::timed(StepKind::Setsockopt, "SO_REUSEPORT=1".into(), || {
            sock.set_reuse_port(true)
        });
        // Windows has no SO_REUSEPORT: WSAENOPROTOOPT, as setsockopt would answer.
        #[cfg(not(unix))]
        let (step, r) = Step::timed(StepKind::Setsockopt, "SO_REUSEPORT=1".into(), || {
            Err::<(), _>(std::io::Error::from_raw_os_error(10042))
        });
        steps.push(step);
        if r.is_none() {
            return false;
        }
    }
    if let (Some(v6only), true) = (o.v6_only, addr.is_ipv6()) {
        let (step, r) = Step::timed(
            StepKind::Setsockopt,
            format!("IPV6_V6ONLY={}", u8::from(v6only)),
            || sock.set_only_v6(v6only),
        );
        steps.push(step);
        if r.is_none() {
            return false;
        }
    }
    if o.exclusive_address_use {
        steps.push(exclusive_address_use(sock));
    }
    true
}

#[cfg(windows)]
fn exclusive_address_use(sock: &Socket) -> Step {
    Step::timed(StepKind::Setsockopt, "SO_EXCLUSIVEADDRUSE=1".into(), || {
        crate::winsock::set_exclusive_address_use(sock)
    })
    .0
}

#[cfg(not(windows))]
fn exclusive_address_use(_sock: &Socket) -> Step {
    Step::skipped(
        StepKind::Setsockopt,
        SkipReason::WindowsOnly,
        "SO_EXCLUSIVEADDRUSE skipped: not available on this OS (Windows only)".into(),
    )
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
