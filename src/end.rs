//! Ending the processes that hold a port, exactly: the one safe path the CLI's `end` and the
//! window's End process share. A plan names every process that holds the port (all PIDs sharing
//! each socket, the parent first), refuses what must not be touched, and warns when something
//! will start it again; carrying it out re-checks each PID right before the signal (through a
//! pidfd, so a recycled PID is never hit), waits for the sockets to go, and proves the result by
//! binding the port again.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::owners::{self, Owner, Query, SockState};
use crate::probe::{self, ProbeConfig, Verdict};
use crate::target::{Protocol, Target};

/// Which signal ends a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Signal {
    /// SIGTERM: ask it to stop (it may clean up, or refuse).
    Term,
    /// SIGKILL: stop it at once. Only when asked.
    Kill,
}

/// What will start a process again after it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Supervisor {
    /// A systemd service unit (from the process's cgroup).
    SystemdUnit(String),
    /// A container (Docker, Podman, containerd), by id.
    Container(String),
    /// A parent process that restarts its children (supervisord, runit, s6, a container shim).
    Parent(String),
    /// Windows services, by key name: the service control manager restarts them by their
    /// recovery settings; stopping the service is the way.
    WindowsService(Vec<String>),
}

/// Why a process is not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// PID 0 (the idle task, or "unknown" in a table) and PID 1 (init: ending it stops the
    /// machine or the container).
    InitOrIdle,
    /// PID 1 of its own PID namespace (a container's init): ending it ends everything in it.
    NamespaceInit,
    /// A kernel thread.
    KernelThread,
    /// This very program.
    Ourselves,
    /// The program that started this one (a shell, the window).
    OurParent,
    /// Windows' System process (PID 4, http.sys) or its idle process.
    WindowsSystem,
    /// A Windows service process (`svchost.exe` or a service's own program): the service is
    /// stopped, not its process, which the service control manager may restart or which may run
    /// other services too.
    WindowsService {
        /// The services it runs, by key name.
        services: Vec<String>,
    },
    /// A process Windows cannot run without (csrss.exe, wininit.exe, lsass.exe, …): ending it
    /// stops the machine.
    WindowsCritical,
    /// A proven container proxy, or a runtime's helper holding a container's port reservation:
    /// stop or re-publish the container instead.
    ContainerProxy {
        /// What it forwards to, or the container it reserves the port for.
        detail: Option<String>,
        /// It holds a reservation (bound, not listening) rather than forwarding.
        #[serde(default)]
        reservation: bool,
        /// The command that names the container.
        command: String,
    },
}

/// One process the plan would end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndTarget {
    /// The PID.
    pub pid: u32,
    /// Its name, when readable.
    pub process: Option<String>,
    /// The sockets on the port it holds: address, state and the kernel inode that identifies
    /// the socket when we look again.
    pub sockets: Vec<(SocketAddr, SockState, u64)>,
    /// Its user, when readable.
    #[serde(default)]
    pub user: Option<String>,
    /// Its full command line, when readable.
    #[serde(default)]
    pub cmdline: Option<String>,
    /// Every other socket it holds (other ports, TCP and UDP): what else goes when it ends.
    #[serde(default)]
    pub other_sockets: Vec<(Protocol, SocketAddr, SockState)>,
    /// The devices its sockets are bound to (SO_BINDTODEVICE, a VRF): one entry for each socket
    /// of `sockets` and `other_sockets` bound to one, in their order. Kept apart so a plan from
    /// an older version (no devices) still reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<(Protocol, SocketAddr, owners::Device)>,
    /// What will likely start it again.
    pub supervisor: Option<Supervisor>,
    /// Why it must not be ended, if so.
    pub refused: Option<Refusal>,
}

impl EndTarget {
    /// Its sockets' addresses as every view writes them (`0.0.0.0%lo:8080`), for `sockets`
    /// (of `protocol`, either when `None`) then `other_sockets`, in their order: each takes
    /// the first device entry left with its protocol and address.
    #[must_use]
    pub fn addresses(&self, protocol: Option<Protocol>) -> (Vec<String>, Vec<String>) {
        let mut left: Vec<&(Protocol, SocketAddr, owners::Device)> = self.devices.iter().collect();
        let mut shown = |p: Option<Protocol>, local: SocketAddr| {
            let at = left
                .iter()
                .position(|(q, l, _)| p.is_none_or(|p| p == *q) && *l == local);
            let device = at.map(|i| &left.remove(i).2);
            owners::BoundAddress { local, device }.to_string()
        };
        let own = self
            .sockets
            .iter()
            .map(|(a, _, _)| shown(protocol, *a))
            .collect();
        let others = self
            .other_sockets
            .iter()
            .map(|(p, a, _)| shown(Some(*p), *a))
            .collect();
        (own, others)
    }
}

/// Everything `end` would do, before it does anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndPlan {
    /// The port.
    pub port: u16,
    /// TCP or UDP; `None` for both.
    pub protocol: Option<Protocol>,
    /// Only the sockets a bind of this address would meet; `None` for every address.
    pub host: Option<IpAddr>,
    /// The processes, parents before their children.
    pub targets: Vec<EndTarget>,
    /// Sockets on the port with no process we may end (TIME_WAIT, another user's, another
    /// namespace's).
    pub unowned: usize,
    /// Sockets on the port the kernel holds for a network device: no process to end (not
    /// counted in `unowned`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernel: Vec<owners::Owner>,
    /// The lookup ran out of file descriptors: a holder it did not find may still be there.
    #[serde(default)]
    pub out_of_descriptors: bool,
    /// Socket tables the kernel would not dump, each read from /proc/net instead or not at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<owners::TableRefusal>,
    /// Processes holding the port that this plan leaves running because only others were asked
    /// for (`only`: the window's End of one holder's row).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left: Vec<u32>,
}

impl EndPlan {
    /// The same plan for the processes of `pids` alone (what one holder's End button names):
    /// the others are left running, and named in `left`. A PID asked for that no longer holds
    /// the port is simply not in the plan.
    #[must_use]
    pub fn only(mut self, pids: &[u32]) -> Self {
        let (keep, rest): (Vec<EndTarget>, Vec<EndTarget>) = self
            .targets
            .into_iter()
            .partition(|t| pids.contains(&t.pid));
        self.targets = keep;
        self.left = rest.into_iter().map(|t| t.pid).collect();
        self
    }

    /// Whether every socket table was read: when not, an empty plan proves nothing.
    #[must_use]
    pub fn complete(&self) -> bool {
        !self.out_of_descriptors && self.refused.iter().all(|r| r.read_instead)
    }

    /// The processes that will be signalled.
    pub fn to_end(&self) -> impl Iterator<Item = &EndTarget> {
        self.targets.iter().filter(|t| t.refused.is_none())
    }
}

/// Why `end` ended nothing though the port has holders. Not bad input — the command line was
/// right — but nothing was done, which the CLI's exit 2 says as for bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotEnded {
    /// Every holder is one `end` refuses (see the plan's refusals).
    #[error("refused: no process {place} may be ended (see above); nothing was ended")]
    NoneMayBe {
        /// Where: "here", or "on HOST".
        place: String,
    },
    /// Holders to end, no `--yes`, and no terminal to ask on.
    #[error("refused: no terminal to confirm on; give --yes to end them (or --dry-run to look)")]
    NoTerminal,
    /// The user answered no.
    #[error("not confirmed; nothing was ended")]
    NotConfirmed,
    /// `--expect-pids`: the holders are not the processes the user confirmed.
    #[error(
        "refused: the processes holding port {port} changed since they were confirmed (confirmed: {}; now: {}); nothing was ended",
        pid_list(.confirmed),
        pid_list(.now)
    )]
    Changed {
        /// The port.
        port: u16,
        /// The PIDs confirmed.
        confirmed: Vec<u32>,
        /// The PIDs that would be ended now.
        now: Vec<u32>,
    },
}

/// `812, 900`, or `none`.
fn pid_list(pids: &[u32]) -> String {
    if pids.is_empty() {
        "none".to_owned()
    } else {
        pids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What happened to one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Signalled, and it exited.
    Ended,
    /// Signalled, but still running when we stopped waiting (it ignored SIGTERM, or is slow).
    StillRunning,
    /// It had exited before the signal.
    AlreadyGone,
    /// The PID no longer holds the socket it held (it closed it, or the PID was reused):
    /// nothing was sent.
    NoLongerHolds,
    /// The OS refused the signal.
    Failed {
        /// The OS's error, typed (its code and names) with its message; in the JSON its fields
        /// sit beside `kind`, `message` among them.
        #[serde(flatten)]
        error: crate::oserror::OsError,
    },
}

/// The port after the processes ended, proven by binding it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum After {
    /// The same bind works now.
    Free,
    /// Only TIME_WAIT sockets are left: a bind with SO_REUSEADDR worked just now, a plain one
    /// works within about this many seconds.
    TimeWait {
        /// About how long, in seconds.
        secs: u32,
    },
    /// Still held, by these sockets.
    Held {
        /// Who holds it now.
        owners: Vec<Owner>,
    },
}

/// The result of carrying out a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndReport {
    /// The plan that was carried out.
    pub plan: EndPlan,
    /// What happened to each process signalled, by PID.
    pub outcomes: Vec<(u32, Outcome)>,
    /// The port afterwards.
    pub after: After,
}

/// The plan for `port`: every process holding a socket on it (of `protocol`, covering `host`).
#[must_use]
pub fn plan(port: u16, protocol: Option<Protocol>, host: Option<IpAddr>) -> EndPlan {
    let found = owners::of(Query { port, protocol });
    let mut targets: Vec<EndTarget> = Vec::new();
    let mut unowned = 0;
    let mut kernel = Vec::new();
    for o in found.owners.iter().filter(|o| {
        host.is_none_or(|h| {
            owners::covers(o.local.ip(), o.v6_only, h)
                || (h.is_unspecified() && owners::covers(h, Some(false), o.local.ip()))
        })
    }) {
        let pids: Vec<u32> = if o.pids.is_empty() {
            o.pid.into_iter().collect()
        } else {
            o.pids.clone()
        };
        if o.kernel.is_some() {
            kernel.push(o.clone());
            continue;
        }
        if pids.is_empty() {
            unowned += 1;
            continue;
        }
        for pid in pids {
            let socket = (o.local, o.state, o.inode);
            if let Some(t) = targets.iter_mut().find(|t| t.pid == pid) {
                if !t.sockets.contains(&socket) {
                    t.sockets.push(socket);
                    t.devices
                        .extend(o.device.clone().map(|d| (o.protocol, o.local, d)));
                }
                continue;
            }
            targets.push(EndTarget {
                pid,
                process: if Some(pid) == o.pid {
                    o.process.as_deref().map(str::to_owned)
                } else {
                    owners::name_of(pid)
                },
                user: (Some(pid) == o.pid)
                    .then(|| o.user.as_deref().map(str::to_owned))
                    .flatten(),
                cmdline: (Some(pid) == o.pid)
                    .then(|| o.cmdline.as_deref().map(str::to_owned))
                    .flatten(),
                other_sockets: Vec::new(),
                devices: o
                    .device
                    .clone()
                    .map(|d| (o.protocol, o.local, d))
                    .into_iter()
                    .collect(),
                sockets: vec![socket],
                // A Windows service's manager is the service control manager, which the owner
                // already names (no cgroup or parent chain says it).
                supervisor: o
                    .managed_by
                    .as_ref()
                    .filter(|m| Some(pid) == o.pid && m.kind == owners::ManagedKind::Service)
                    .and_then(|m| restarter(m, 0))
                    .or_else(|| supervisor(pid)),
                refused: refusal(pid, o),
            });
        }
    }
    // A process that shares a socket and is the first holder of none: its user and command
    // line are read as `list` reads them (the confirmation names everything it ends).
    if targets
        .iter()
        .any(|t| t.user.is_none() || t.cmdline.is_none())
    {
        let sharers = owners::sharers(&found.owners);
        for t in &mut targets {
            let (user, command) = sharers.user_and_command(t.pid);
            if t.user.is_none() {
                t.user = user.map(str::to_owned);
            }
            if t.cmdline.is_none() {
                t.cmdline = command.map(str::to_owned);
            }
        }
    }
    // Parents first: a child that a parent will restart goes after it.
    targets.sort_by_key(|t| (ancestry_depth(t.pid), t.pid));
    other_sockets(&mut targets, port);
    EndPlan {
        port,
        protocol,
        host,
        targets,
        unowned,
        kernel,
        out_of_descriptors: found.out_of_descriptors,
        refused: found.refused,
        left: Vec::new(),
    }
}

/// Fills in what else each process holds (its sockets on other ports, TCP and UDP, listening,
/// bound or connected), and the user and command line of those the port's lookup did not name:
/// the confirmation shows everything that dies with it. One read of the whole table.
fn other_sockets(targets: &mut [EndTarget], port: u16) {
    if targets.is_empty() {
        return;
    }
    let table = owners::all(None);
    for t in targets.iter_mut() {
        for o in table
            .owners
            .iter()
            .filter(|o| o.pid == Some(t.pid) || o.pids.contains(&t.pid))
        {
            if t.user.is_none() && o.pid == Some(t.pid) {
                t.user = o.user.as_deref().map(str::to_owned);
            }
            if t.cmdline.is_none() && o.pid == Some(t.pid) {
                t.cmdline = o.cmdline.as_deref().map(str::to_owned);
            }
            let s = (o.protocol, o.local, o.state);
            if o.local.port() != port && !t.other_sockets.contains(&s) {
                t.other_sockets.push(s);
                t.devices
                    .extend(o.device.clone().map(|d| (o.protocol, o.local, d)));
            }
        }
        t.other_sockets
            .sort_by_key(|(p, a, _)| (*p == Protocol::Udp, a.port(), a.ip()));
    }
}

/// Why `pid` (holding `o`) must not be ended, if so.
/// Windows processes whose end stops the machine (a blue screen or a log-off).
const WINDOWS_CRITICAL: [&str; 7] = [
    "csrss.exe",
    "wininit.exe",
    "winlogon.exe",
    "services.exe",
    "lsass.exe",
    "smss.exe",
    "System",
];

fn refusal(pid: u32, o: &Owner) -> Option<Refusal> {
    let os = crate::platform::Os::current();
    if os.is_system_pid(pid) {
        return Some(Refusal::WindowsSystem);
    }
    if pid <= 1 {
        return Some(Refusal::InitOrIdle);
    }
    if pid == std::process::id() {
        return Some(Refusal::Ourselves);
    }
    if Some(pid) == parent_pid() {
        return Some(Refusal::OurParent);
    }
    if is_kernel_thread(pid) {
        return Some(Refusal::KernelThread);
    }
    if is_namespace_init(pid) {
        return Some(Refusal::NamespaceInit);
    }
    if let Some(m) = o
        .managed_by
        .as_ref()
        .filter(|m| Some(pid) == o.pid && m.kind == owners::ManagedKind::Service)
    {
        return Some(Refusal::WindowsService {
            services: m.services.iter().map(|s| s.name.to_string()).collect(),
        });
    }
    if os == crate::platform::Os::Windows
        && Some(pid) == o.pid
        && o.process
            .as_deref()
            .is_some_and(|n| WINDOWS_CRITICAL.iter().any(|c| n.eq_ignore_ascii_case(c)))
    {
        return Some(Refusal::WindowsCritical);
    }
    if let Some(h) = o.holder.as_ref().filter(|h| {
        h.verified
            && matches!(
                h.kind,
                crate::owners::holders::HolderKind::ContainerProxy
                    | crate::owners::holders::HolderKind::ContainerReservation
            )
    }) {
        return Some(Refusal::ContainerProxy {
            detail: h.detail.clone(),
            reservation: h.kind == crate::owners::holders::HolderKind::ContainerReservation,
            command: h.command.clone(),
        });
    }
    None
}

#[cfg(unix)]
fn parent_pid() -> Option<u32> {
    rustix::process::getppid().map(|p| p.as_raw_nonzero().get().unsigned_abs())
}

/// Windows: the parent as the process list records it (a PID the tool must never end: the
/// shell or program that ran it).
#[cfg(not(unix))]
fn parent_pid() -> Option<u32> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    let me = Pid::from_u32(std::process::id());
    let mut sys = System::new().ok()?;
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[me]),
        true,
        ProcessRefreshKind::nothing(),
    );
    sys.process(me)?.parent().map(Pid::as_u32)
}

/// Kernel threads have no command line and descend from kthreadd (PID 2).
fn is_kernel_thread(pid: u32) -> bool {
    if crate::platform::Os::current() != crate::platform::Os::Linux {
        return false;
    }
    pid == 2 || owners::parent_chain(pid).first() == Some(&2)
}

/// Whether `pid` is PID 1 inside a PID namespace of its own (`NSpid: 4242 1`).
fn is_namespace_init(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let ids: Vec<String> = s
                .lines()
                .find_map(|l| l.strip_prefix("NSpid:"))?
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            Some(ids.len() > 1 && ids.last().is_some_and(|l| l == "1"))
        })
        .unwrap_or(false)
}

/// Depth in the process tree below PID 1: parents sort before their children.
fn ancestry_depth(pid: u32) -> usize {
    owners::parent_chain(pid).iter().filter(|p| **p > 1).count()
}

/// What will likely start `pid` again, from what manages it (`owners::managed_by`): a systemd
/// service (a scope is not restarted), a container, or a supervising parent.
fn supervisor(pid: u32) -> Option<Supervisor> {
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let ancestry: Vec<owners::Ancestor> = owners::parent_chain(pid)
        .into_iter()
        .map(|p| owners::Ancestor {
            pid: p,
            name: owners::name_of(p),
        })
        .collect();
    let parent = ancestry.first().map_or(0, |a| a.pid);
    restarter(&owners::managed_by(&cgroup, &ancestry)?, parent)
}

/// The managers that start a process again, from what manages it.
fn restarter(m: &owners::ManagedBy, parent: u32) -> Option<Supervisor> {
    match m.kind {
        owners::ManagedKind::Systemd => m
            .name
            .ends_with(".service")
            .then_some(Supervisor::SystemdUnit(m.name.to_string())),
        owners::ManagedKind::Container => Some(Supervisor::Container(m.name.to_string())),
        owners::ManagedKind::Supervisor => {
            Some(Supervisor::Parent(format!("{} (PID {parent})", m.name)))
        }
        owners::ManagedKind::Service => Some(Supervisor::WindowsService(
            m.services.iter().map(|s| s.name.to_string()).collect(),
        )),
        owners::ManagedKind::Shell | owners::ManagedKind::Init => None,
    }
}

/// A systemd service or a container from a `/proc/PID/cgroup` text (cgroup v2 or v1 lines).
#[must_use]
pub fn supervisor_from_cgroup(text: &str) -> Option<Supervisor> {
    restarter(&owners::managed_by(text, &[])?, 0)
}

/// Carries out `plan` with `signal`: each process is re-checked right before its signal (it
/// must still hold one of the very sockets the plan saw), signalled through a pidfd, and waited
/// for (at most `wait`); then the port is bound again to prove the result.
#[must_use]
pub fn execute(plan: &EndPlan, signal: Signal, wait: Duration) -> EndReport {
    let mut outcomes = Vec::new();
    for t in plan.to_end() {
        outcomes.push((t.pid, end_one(t, signal, wait)));
    }
    EndReport {
        plan: plan.clone(),
        outcomes,
        after: prove(plan),
    }
}

/// Binds the port again the way `check` does (all interfaces, or the host), and says what is
/// left. A refusal by a socket that was gone when looked up (a short-lived client, another
/// tool's probe, a socket of an ended holder the kernel is still releasing) is tried again for up to 2 s
/// before the port is called held: CI saw "still held by a short-lived socket" once right after
/// a holder ended.
#[must_use]
pub fn prove(plan: &EndPlan) -> After {
    let host = plan
        .host
        .map_or(crate::target::Host::All, crate::target::Host::from);
    let protocols = plan
        .protocol
        .map_or_else(|| vec![Protocol::Tcp, Protocol::Udp], |p| vec![p]);
    let cfg = ProbeConfig::default();
    let mut time_wait = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    for protocol in protocols {
        let mut t = Target::tcp(host.clone(), plan.port);
        t.protocol = protocol;
        let left = loop {
            if probe::run(&t, &cfg).verdict == Verdict::Bindable {
                break None;
            }
            let left = owners::of(Query {
                port: plan.port,
                protocol: Some(protocol),
            })
            .owners;
            let fleeting = left.iter().all(|o| releasing(plan, o));
            if !fleeting || std::time::Instant::now() >= deadline {
                break Some(left);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let Some(left) = left else {
            continue;
        };
        let only_tw = !left.is_empty() && left.iter().all(|o| o.state == SockState::TimeWait);
        let mut retry = t.clone();
        retry.options.reuse_address = true;
        if only_tw && probe::run(&retry, &cfg).verdict == Verdict::Bindable {
            time_wait = true;
            continue;
        }
        return After::Held { owners: left };
    }
    if time_wait {
        After::TimeWait { secs: 60 }
    } else {
        After::Free
    }
}

/// Whether `o` is a socket on its way out, worth binding again for before the port is called
/// held: one gone when looked up (a short-lived client, another tool's probe), or one of the
/// very sockets the plan's processes held that no process holds any more. A process that has
/// closed its descriptors is not yet done: the kernel releases its sockets a moment later, and
/// in that moment they are listed with no process, the ending one unreadable ("a process that
/// could not be inspected"); CI saw that answer right after the holder ended, under load.
fn releasing(plan: &EndPlan, o: &owners::Owner) -> bool {
    o.note == Some(owners::OwnerNote::ShortLived)
        || (o.pid.is_none()
            && o.inode != 0
            && plan
                .targets
                .iter()
                .any(|t| t.sockets.iter().any(|(_, _, inode)| *inode == o.inode)))
}

#[cfg(target_os = "linux")]
fn end_one(t: &EndTarget, signal: Signal, wait: Duration) -> Outcome {
    use rustix::process::{Pid, PidfdFlags, pidfd_open, pidfd_send_signal};
    let Some(pid) = i32::try_from(t.pid).ok().and_then(Pid::from_raw) else {
        return Outcome::AlreadyGone;
    };
    // The pidfd pins this very process: if the PID is reused after this point, the signal
    // cannot reach the newcomer.
    let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return Outcome::AlreadyGone,
        Err(e) => {
            return Outcome::Failed {
                error: crate::oserror::OsError::from_io(&std::io::Error::from(e)),
            };
        }
    };
    // Re-check, now that the process is pinned: it must still hold one of the sockets we saw.
    let inodes: Vec<u64> = t.sockets.iter().map(|(_, _, inode)| *inode).collect();
    if !holds_any(t.pid, &inodes) {
        return Outcome::NoLongerHolds;
    }
    let sig = match signal {
        Signal::Term => rustix::process::Signal::TERM,
        Signal::Kill => rustix::process::Signal::KILL,
    };
    if let Err(e) = pidfd_send_signal(&pidfd, sig) {
        return if e == rustix::io::Errno::SRCH {
            Outcome::AlreadyGone
        } else {
            Outcome::Failed {
                error: crate::oserror::OsError::from_io(&std::io::Error::from(e)),
            }
        };
    }
    let start = std::time::Instant::now();
    while start.elapsed() < wait {
        if !holds_any(t.pid, &inodes) || exited(t.pid) {
            return Outcome::Ended;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Outcome::StillRunning
}

/// Whether `pid` holds any socket of `inodes` now. Read through each of its threads: once the
/// leader of a multi-threaded process has ended, `/proc/PID/fd` reads as nothing while its other
/// threads still hold the descriptors (and the port) for a moment.
#[cfg(target_os = "linux")]
fn holds_any(pid: u32, inodes: &[u64]) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        std::fs::read_dir(task.path().join("fd"))
            .is_ok_and(|fds| fds.flatten().any(|fd| is_one_of(&fd.path(), inodes)))
    })
}

/// Whether the descriptor link at `path` is a socket of `inodes`.
#[cfg(target_os = "linux")]
fn is_one_of(path: &std::path::Path, inodes: &[u64]) -> bool {
    std::fs::read_link(path)
        .ok()
        .and_then(|l| {
            l.to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse::<u64>()
                .ok()
        })
        .is_some_and(|i| inodes.contains(&i))
}

/// Whether `pid` has exited (gone, or a zombie waiting for its parent). The leader of a
/// multi-threaded process shows "Z" as soon as its own thread ends, while its other threads
/// (and the descriptors they share, its sockets) live on for a moment: only a zombie with no
/// thread left but itself has let go of its sockets.
#[cfg(target_os = "linux")]
fn exited(pid: u32) -> bool {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rfind(')')
            .and_then(|i| s[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X")
    });
    zombie && std::fs::read_dir(format!("/proc/{pid}/task")).map_or(true, |d| d.count() <= 1)
}

/// Whether `t`'s process holds one of the very sockets the plan saw, read from the table now.
#[cfg(not(target_os = "linux"))]
fn still_holds(t: &EndTarget) -> bool {
    t.sockets.iter().any(|(local, _, _)| {
        owners::of(Query {
            port: local.port(),
            protocol: None,
        })
        .owners
        .iter()
        .any(|o| o.pid == Some(t.pid) && o.local == *local)
    })
}

/// Windows: the process handle is the pidfd's counterpart. It is opened first and held to the
/// end, so the PID cannot be given to another process meanwhile; with it held, the table is read
/// again (the process must still hold one of the plan's sockets), then the process is terminated
/// through that handle and waited for on it (at most `wait`). Terminating is the only way Windows
/// has (there is no SIGTERM to ask politely), so `signal` does not apply.
#[cfg(windows)]
#[allow(unsafe_code)] // OpenProcess, WaitForSingleObject, TerminateProcess, CloseHandle on the one handle opened here.
fn end_one(t: &EndTarget, _signal: Signal, wait: Duration) -> Outcome {
    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_INVALID_PARAMETER, GetLastError, WAIT_OBJECT_0,
    };
    use windows_sys::Win32::System::Threading::{
        OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, PROCESS_TERMINATE,
        TerminateProcess, WaitForSingleObject,
    };
    // SAFETY: OpenProcess takes plain values; a null handle is its failure, checked below.
    let handle = unsafe {
        OpenProcess(
            PROCESS_TERMINATE | PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
            0,
            t.pid,
        )
    };
    if handle.is_null() {
        // SAFETY: reads this thread's last error, set by the failed call just above.
        let code = unsafe { GetLastError() };
        return if code == ERROR_INVALID_PARAMETER {
            // No process has this PID any more.
            Outcome::AlreadyGone
        } else {
            Outcome::Failed {
                error: crate::oserror::OsError::from_errno(i32::try_from(code).unwrap_or(0)),
            }
        };
    }
    let wait_ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    // SAFETY: `handle` is the valid process handle opened above (SYNCHRONIZE access).
    let outcome = if unsafe { WaitForSingleObject(handle, 0) } == WAIT_OBJECT_0 {
        Outcome::AlreadyGone
    } else if !still_holds(t) {
        Outcome::NoLongerHolds
    // SAFETY: the same handle, opened with PROCESS_TERMINATE.
    } else if unsafe { TerminateProcess(handle, 1) } == 0 {
        Outcome::Failed {
            error: crate::oserror::OsError::from_io(&std::io::Error::last_os_error()),
        }
    // SAFETY: the same handle; the wait ends when the process has exited or at `wait`.
    } else if unsafe { WaitForSingleObject(handle, wait_ms(wait)) } == WAIT_OBJECT_0 {
        Outcome::Ended
    } else {
        Outcome::StillRunning
    };
    // SAFETY: closes the handle opened above, once; nothing uses it afterwards.
    unsafe { CloseHandle(handle) };
    outcome
}

#[cfg(not(any(target_os = "linux", windows)))]
fn end_one(t: &EndTarget, _signal: Signal, wait: Duration) -> Outcome {
    // macOS has no pidfd: re-check through the owners table right before the signal.
    if !still_holds(t) {
        return Outcome::NoLongerHolds;
    }
    match owners::terminate(t.pid) {
        Ok(()) => {
            std::thread::sleep(wait.min(Duration::from_millis(500)));
            Outcome::Ended
        }
        Err(e) => Outcome::Failed {
            error: crate::oserror::OsError::from_io(&e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused signal keeps the OS's error typed: its code and names beside `kind`, its
    /// message where it always was.
    #[test]
    fn a_refused_signal_keeps_its_os_error() {
        let failed = Outcome::Failed {
            error: crate::oserror::OsError::from_io(&std::io::Error::from_raw_os_error(1)),
        };
        let v = serde_json::to_value(&failed).unwrap();
        assert_eq!(v["kind"], "failed", "{v}");
        assert_eq!(v["native_code"], 1, "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert_eq!(serde_json::from_value::<Outcome>(v).unwrap(), failed);
        let changed = NotEnded::Changed {
            port: 8080,
            confirmed: vec![812],
            now: vec![],
        };
        assert_eq!(
            changed.to_string(),
            "refused: the processes holding port 8080 changed since they were confirmed (confirmed: 812; now: none); nothing was ended"
        );
    }

    /// The proof binds again for a socket the plan's ended holders held that no process holds
    /// now (the kernel is releasing it), and not for one a process still holds or one the plan
    /// never saw. The sockets are real: this process's listeners, as the lookup returns them.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_planned_socket_with_no_process_left_is_on_its_way_out() {
        let ours = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let find = |l: &std::net::TcpListener| {
            let port = l.local_addr().unwrap().port();
            owners::of(Query {
                port,
                protocol: Some(Protocol::Tcp),
            })
            .owners
            .into_iter()
            .find(|o| o.pid == Some(std::process::id()))
            .expect("this process's listener is found")
        };
        let (mine, foreign) = (find(&ours), find(&other));
        let plan = EndPlan {
            port: mine.local.port(),
            protocol: Some(Protocol::Tcp),
            host: None,
            targets: vec![EndTarget {
                pid: std::process::id(),
                process: None,
                sockets: vec![(mine.local, mine.state, mine.inode)],
                user: None,
                cmdline: None,
                other_sockets: Vec::new(),
                devices: Vec::new(),
                supervisor: None,
                refused: None,
            }],
            unowned: 0,
            kernel: Vec::new(),
            out_of_descriptors: false,
            refused: Vec::new(),
            left: Vec::new(),
        };
        assert!(!releasing(&plan, &mine), "a process still holds it");
        let released = owners::Owner {
            pid: None,
            pids: Vec::new(),
            note: Some(owners::OwnerNote::Uninspectable),
            ..mine
        };
        assert!(
            releasing(&plan, &released),
            "the planned socket, no process left"
        );
        let stranger = owners::Owner {
            pid: None,
            pids: Vec::new(),
            note: Some(owners::OwnerNote::Uninspectable),
            ..foreign
        };
        assert!(!releasing(&plan, &stranger), "a socket the plan never saw");
    }

    #[test]
    fn supervisors_from_cgroup_paths() {
        assert_eq!(
            supervisor_from_cgroup("0::/system.slice/nginx.service\n"),
            Some(Supervisor::SystemdUnit("nginx.service".into()))
        );
        assert_eq!(
            supervisor_from_cgroup(
                "0::/system.slice/docker-3f2a9c1b7d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4.scope\n"
            ),
            Some(Supervisor::Container("3f2a9c1b7d4e".into()))
        );
        assert_eq!(
            supervisor_from_cgroup(
                "0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n"
            ),
            None,
            "a login session is no supervisor"
        );
        assert_eq!(supervisor_from_cgroup("0::/\n"), None, "the root cgroup");
    }
}
