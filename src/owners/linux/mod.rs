//! Linux owners: netlink sock_diag for the sockets on a port (including bound-only TCP sockets,
//! state `TCP_BOUND_INACTIVE`, which `/proc/net/tcp`, `ss` and `lsof` never show), then
//! `/proc/<pid>/fd` to map socket inodes to processes, stopping at the last inode found.
//!
//! This module is the lookup that joins them; each subsystem is a module of its own:
//! `sock_diag` (the kernel's socket tables), `walk` (which process holds which socket),
//! `details` (a holder's name, user, parents and manager), `pidfd` (sockets borrowed from their
//! process), `proc_dir` (reading one process's /proc files) and `refusals` (descriptors refused
//! while looking, per lookup).

mod details;
mod pidfd;
mod proc_dir;
mod refusals;
mod sock_diag;
mod walk;

use std::collections::HashMap;
use std::sync::Arc;

use super::{
    Device, LookupNote, Owner, OwnerNote, Owners, Query, Scope, SockState, TableRefusal,
    Uninspected, passwd,
};
use crate::target::{Family, Protocol};
use details::{Details, details_of};
use refusals::{add_starved, in_batches_counted, starved};
use sock_diag::{RawSock, kernel_reports_bound_inactive, sockets, state_of, still_has};
use walk::{ProcScan, find_a_holder, find_all_processes, find_every_holder, parent_first};

pub(super) use details::processes;
pub(super) use pidfd::{bound_only_by_pidfd, reuseport_of};
pub(super) use walk::{ancestors, parent_of};

/// At most this many sockets without a process are confirmed one by one (`still_has`); more
/// are confirmed by one dump.
const ASKED_ONE_BY_ONE: usize = 8;

pub(super) fn of(q: Query) -> Owners {
    of_ports(&[q.port], q.protocol, Scope::Everything)
}

/// Every socket of the machine (this network namespace) in `scope`: the kernel asked for those
/// states only, and one walk over every process's descriptors, spread over the cores.
pub(super) fn table(protocol: Option<Protocol>, scope: Scope) -> Owners {
    lookup(&[], protocol, scope, None)
}

/// A fingerprint of the kernel's sockets in `scope` (each one's inode and state), from the
/// socket dumps alone — no process is read. `None` when a table could not be dumped. The live
/// table compares it between refreshes: when it is the same, so is the table (but for who holds
/// an unchanged socket, which it reads again every few seconds anyway), and the walk over every
/// process (most of a refresh's cost) is skipped.
pub(super) fn fingerprint(scope: Scope) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let mut refused = Vec::new();
    let socks = sockets(&[], None, scope, &mut refused);
    if !refused.is_empty() {
        return None;
    }
    let mut v: Vec<(u32, u8)> = socks.iter().map(|s| (s.inode, s.state)).collect();
    v.sort_unstable();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    Some(h.finish())
}

/// From this many ports on, their owners are found the way the whole table's are: every process
/// read on every core beside the dumps. A search that stops at the last socket and then looks
/// among each holder's relatives wins for a few ports; for a range scan's thousands of busy
/// ports it read /proc once per holder (10,000 listeners in 200 processes: 55 ms, against
/// 20 ms).
const WALK_ALL_FROM: usize = 64;

/// The kernel's sockets on `ports` (every socket when empty), and for the whole table (or `WALK_ALL_FROM` ports and more) the walk
/// over every process's socket descriptors: the two do not depend on each other, so for the whole
/// table they run at the same time.
fn sockets_and_walk(
    ports: &[u16],
    protocol: Option<Protocol>,
    scope: Scope,
    refused: &mut Vec<TableRefusal>,
) -> (Vec<RawSock>, Option<ProcScan>) {
    if !ports.is_empty() && ports.len() < WALK_ALL_FROM {
        return (sockets(ports, protocol, scope, refused), None);
    }
    std::thread::scope(|s| {
        let dumps = s.spawn(|| {
            let mut refused = Vec::new();
            let socks = sockets(ports, protocol, scope, &mut refused);
            // Its refusals count for the lookup that started it.
            (socks, refused, starved())
        });
        let walked = find_all_processes(None);
        let (socks, more, starved_there) = dumps.join().unwrap_or_else(|_| {
            let all = TableRefusal {
                protocol: protocol.unwrap_or(Protocol::Tcp),
                family: Family::Any,
                errno: 0,
                read_instead: false,
            };
            (Vec::new(), vec![all], 0)
        });
        add_starved(starved_there);
        refused.extend(more);
        (socks, Some(walked))
    })
}

/// Owners of several ports at once, the sockets in `scope` only: one table dump and one /proc
/// walk for all of them.
pub(super) fn of_ports(ports: &[u16], protocol: Option<Protocol>, scope: Scope) -> Owners {
    lookup(ports, protocol, scope, None)
}

/// The sockets on `ports` (every socket in `scope` when empty) and their owners. With `spare`
/// (`owners::sparing`), the sockets first, then the holders only of those whose inode it does
/// not name (a spared socket's row has no process and no note), every holder or (`false`) one.
pub(super) fn lookup(
    ports: &[u16],
    protocol: Option<Protocol>,
    scope: Scope,
    spare: Option<(&(dyn Fn(u64) -> bool + Sync), bool)>,
) -> Owners {
    let refusals = starved();
    let mut out = Owners::default();
    let spared = |inode: u64| spare.is_some_and(|(s, _)| s(inode));
    // Sparing: the sockets first, then only the unknown ones' holders, and only when there are
    // any (the whole table's walk beside the dump would read every descriptor anyway).
    let (socks, walked) = if spare.is_some() {
        (sockets(ports, protocol, scope, &mut out.refused), None)
    } else {
        sockets_and_walk(ports, protocol, scope, &mut out.refused)
    };
    // Kernels before 6.9 cannot list bound-only TCP sockets, nor can /proc/net (read when the
    // kernel refused the dump): look for them descriptor by descriptor. (A listeners-only
    // lookup has no use for them.)
    let tcp_refused = out.refused.iter().any(|r| r.protocol == Protocol::Tcp);
    if protocol != Some(Protocol::Udp)
        && scope != Scope::Listening
        && !ports.is_empty()
        && (!kernel_reports_bound_inactive() || tcp_refused)
    {
        let known: std::collections::HashSet<u64> =
            socks.iter().map(|s| u64::from(s.inode)).collect();
        let (extra, denied) = bound_only_by_pidfd(ports, &known);
        if denied > 0 && extra.is_empty() {
            out.notes
                .push(LookupNote::BoundOnlyUnsearched { processes: denied });
        }
        out.owners.extend(extra);
    }
    let wanted: Vec<u64> = socks
        .iter()
        .filter(|s| s.inode != 0 && !spared(u64::from(s.inode)))
        .map(|s| u64::from(s.inode))
        .collect();
    // Every socket: walk every process on every core, keeping every holder of each socket.
    // Some ports: every process too, each read only until it shows the port's sockets.
    let scan = match walked {
        Some(mut all) => {
            let keep: std::collections::HashSet<u64> = wanted.iter().copied().collect();
            all.pids.retain(|inode, _| keep.contains(inode));
            parent_first(&mut all);
            all
        }
        None if spare.is_some() && wanted.is_empty() => ProcScan::default(),
        None if spare.is_some_and(|(_, every)| !every) => find_a_holder(&wanted),
        None => find_every_holder(&wanted),
    };
    // A socket with no process found: look once more. One that is gone by then was short-lived
    // (a client, another tool's probe), not another user's hidden socket.
    let unowned: Vec<u64> = wanted
        .iter()
        .copied()
        .filter(|i| !scan.pids.contains_key(i))
        .collect();
    // The whole table (`list`, refreshed every second) does not look twice: a socket gone by the
    // next refresh simply leaves the table.
    // A few are each asked for by itself first (a hash lookup, tens of microseconds); when one
    // cannot be confirmed so, or there are many (a hidden server's connections), the ports are
    // dumped again (a walk of the kernel's whole tables, 2 ms on a busy machine).
    let confirmed = || {
        unowned.len() <= ASKED_ONE_BY_ONE
            && socks
                .iter()
                .filter(|s| unowned.contains(&u64::from(s.inode)))
                .all(still_has)
    };
    let still_there: std::collections::HashSet<u64> = if unowned.is_empty() {
        std::collections::HashSet::new()
    } else if ports.is_empty() || confirmed() {
        unowned.iter().copied().collect()
    } else {
        let mut refused = Vec::new();
        let again: std::collections::HashSet<u64> = sockets(ports, protocol, scope, &mut refused)
            .iter()
            .map(|s| u64::from(s.inode))
            .collect();
        // A table that could not be read again says nothing of what left it.
        if refused.iter().any(|r| !r.read_instead) {
            unowned.iter().copied().collect()
        } else {
            again
        }
    };
    // Refused a descriptor while looking: "no process found" proves nothing then.
    let starved = starved() != refusals;
    out.out_of_descriptors = starved;
    if scan.unreadable > 0 {
        out.notes.push(unreadable_note(scan.unreadable, starved));
    }
    let hidden_note = hidden_note_for(starved, scan.unreadable > 0);
    // What each holder is and why it runs, read once per process and on every core.
    let mut holders: Vec<u32> = socks
        .iter()
        .filter_map(|s| scan.pids.get(&u64::from(s.inode))?.first().copied())
        .collect();
    holders.sort_unstable();
    holders.dedup();
    let details = details_of(&holders);
    let devices = devices_of(&socks);
    let made = Made {
        spared: &spared,
        pids: &scan.pids,
        details: &details,
        devices: &devices,
        still_there: &still_there,
        starved,
        hidden_note: &hidden_note,
    };
    let (owners, hidden) = made.owners(&socks);
    out.owners = owners;
    out.hidden = hidden;
    // A socket no process holds may be a tunnel device's: its settings say so.
    super::links::attribute(&mut out, |n| {
        matches!(
            n,
            Some(
                OwnerNote::OtherUser
                    | OwnerNote::NoPtrace
                    | OwnerNote::Uninspectable
                    | OwnerNote::NotInView
            )
        )
    });
    // A port's sockets in the order answers name them; the whole table is left in the kernel's
    // order: its readers (`list`, the window) sort it their own way.
    if !ports.is_empty() {
        holders_first(&mut out.owners);
    }
    out
}

/// What a table's rows are made from, read once for all of them: every socket's holders, their
/// details, which sockets without a process are still there, how to word a hidden owner.
struct Made<'a, H> {
    /// Sockets whose holders the caller knows: no process looked for, none named.
    spared: &'a (dyn Fn(u64) -> bool + Sync),
    pids: &'a HashMap<u64, Vec<u32>>,
    details: &'a HashMap<u32, Details>,
    devices: &'a HashMap<u32, Device>,
    still_there: &'a std::collections::HashSet<u64>,
    starved: bool,
    hidden_note: &'a H,
}

impl<H: Fn(u32) -> OwnerNote + Sync> Made<'_, H> {
    /// The owners of `socks` and how many have an owner we cannot see; a whole table's (10,000
    /// rows) made on every core.
    fn owners(&self, socks: &[RawSock]) -> (Vec<Owner>, usize) {
        /// Below this, one thread makes the rows faster than starting others.
        const PARALLEL_FROM: usize = 1024;
        let part = |socks: &[RawSock]| {
            let mut user_of = user_names();
            let mut hidden = 0;
            let owners: Vec<Owner> = socks
                .iter()
                .map(|s| {
                    let (owner, is_hidden) = self.owner(s, &mut user_of);
                    hidden += usize::from(is_hidden);
                    owner
                })
                .collect();
            (owners, hidden)
        };
        if socks.len() < PARALLEL_FROM {
            return part(socks);
        }
        let parts = in_batches_counted(socks, socks.len().div_ceil(crate::par::cores()), part);
        // A part that panicked is made again here: a table never silently misses rows.
        let mut all = (Vec::with_capacity(socks.len()), 0);
        for (made, chunk) in parts
            .into_iter()
            .zip(socks.chunks(socks.len().div_ceil(crate::par::cores())))
        {
            let (mut owners, hidden) = made.unwrap_or_else(|| part(chunk));
            all.0.append(&mut owners);
            all.1 += hidden;
        }
        all
    }

    /// One socket's owner; `true` when a process we cannot see holds it.
    fn owner(&self, s: &RawSock, user_of: &mut impl FnMut(u32) -> Arc<str>) -> (Owner, bool) {
        let inode = u64::from(s.inode);
        let state = state_of(s.protocol, s.state);
        let pids = self.pids.get(&inode).cloned().unwrap_or_default();
        let pid = pids.first().copied();
        let d = pid.and_then(|p| self.details.get(&p));
        let mut hidden = false;
        let note = if state == SockState::TimeWait {
            Some(OwnerNote::TimeWait)
        } else if pid.is_some() || (self.spared)(inode) {
            None
        } else if inode == 0 {
            Some(OwnerNote::Orphan)
        } else if !self.starved && !self.still_there.contains(&inode) {
            Some(OwnerNote::ShortLived)
        } else {
            hidden = true;
            Some((self.hidden_note)(s.uid))
        };
        let is_time_wait = state == SockState::TimeWait;
        let owner = Owner {
            pid,
            pids,
            process: d.and_then(|d| d.0.name.clone()),
            path: d.and_then(|d| d.0.path.clone()),
            cmdline: d.and_then(|d| d.0.cmdline.clone()),
            // The holder's own user; the socket's where no process is named.
            user: (!is_time_wait).then(|| user_of(d.and_then(|d| d.0.uid).unwrap_or(s.uid))),
            uid: (!is_time_wait).then(|| d.and_then(|d| d.0.uid).unwrap_or(s.uid)),
            protocol: s.protocol,
            family: s.family,
            local: s.local,
            remote: s.remote,
            state,
            v6_only: s.v6_only,
            inode,
            note,
            holder: None,
            reuse_port: None,
            ancestry: d.map(|d| Arc::clone(&d.1)).unwrap_or_default(),
            managed_by: d.and_then(|d| d.2.clone()),
            kernel: None,
            device: self.devices.get(&s.device).cloned(),
        };
        (owner, hidden)
    }
}

/// The devices the sockets in `socks` are bound to, each index named once (in this network
/// namespace, where the sockets were dumped); none when no socket is bound to one.
fn devices_of(socks: &[RawSock]) -> HashMap<u32, Device> {
    let mut indices: Vec<u32> = socks.iter().map(|s| s.device).filter(|&i| i != 0).collect();
    if indices.is_empty() {
        return HashMap::new();
    }
    indices.sort_unstable();
    indices.dedup();
    // SIOCGIFNAME needs a socket of any kind to ask through.
    let asker = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        None,
    )
    .ok();
    indices
        .into_iter()
        .map(|index| {
            let name = asker
                .as_ref()
                .and_then(|fd| rustix::net::netdevice::index_to_name(fd, index).ok())
                .map(Arc::from);
            (index, Device { index, name })
        })
        .collect()
}

/// Listening and UDP sockets before connections and bound-only ones, sockets with a process
/// before those without: the order every answer lists owners in.
fn holders_first(owners: &mut [Owner]) {
    owners.sort_by_cached_key(|o| {
        (
            o.state.is_connection() || o.state == SockState::BoundOnly,
            o.pid.is_none(),
        )
    });
}

/// Why some processes could not be inspected.
fn unreadable_note(count: usize, starved: bool) -> LookupNote {
    let why = if starved {
        Uninspected::OutOfDescriptors
    } else if rustix::process::geteuid().is_root() {
        Uninspected::Refused
    } else {
        Uninspected::OtherUsers
    };
    LookupNote::Uninspected { count, why }
}

/// Why a socket that is still there has no process we found.
fn hidden_note_for(starved: bool, uninspected: bool) -> impl Fn(u32) -> OwnerNote {
    let euid = rustix::process::geteuid().as_raw();
    let no_ptrace = is_root_without_ptrace();
    move |socket_uid| {
        if starved {
            OwnerNote::OutOfDescriptors
        } else if socket_uid != euid && euid != 0 {
            OwnerNote::OtherUser
        } else if socket_uid != euid && no_ptrace {
            OwnerNote::NoPtrace
        } else if uninspected {
            // Some process in view could not be read: it may be the one.
            OwnerNote::Uninspectable
        } else {
            // We may read every process that could hold it, and none does.
            OwnerNote::NotInView
        }
    }
}

/// User names by uid, the last one kept at hand: nearly every socket of a table belongs to one
/// of a few users, and the shared cache behind `passwd::user_name` takes a lock per call.
fn user_names() -> impl FnMut(u32) -> Arc<str> {
    let mut last: Option<(u32, Arc<str>)> = None;
    move |uid| match &last {
        Some((u, name)) if *u == uid => Arc::clone(name),
        _ => {
            let name = passwd::user_name(uid);
            last = Some((uid, Arc::clone(&name)));
            name
        }
    }
}

/// Root whose effective set lacks CAP_SYS_PTRACE (a hardened service, a container) cannot read
/// other users' /proc/PID/fd; saying "run as root" to it would be wrong.
fn is_root_without_ptrace() -> bool {
    rustix::process::geteuid().is_root()
        && rustix::thread::capabilities(None).is_ok_and(|c| {
            !c.effective
                .contains(rustix::thread::CapabilitySet::SYS_PTRACE)
        })
}

#[cfg(test)]
mod tests {
    use super::refusals::count_refusal;
    use super::*;

    /// Refusals counted on another thread (another lookup running at once: the live table's
    /// refresh beside a check) do not make this thread's lookup "out of descriptors".
    #[test]
    fn another_threads_refused_descriptors_do_not_starve_this_lookup() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    count_refusal(Some(24)); // EMFILE, over and over
                    std::thread::yield_now();
                }
            });
            for _ in 0..20 {
                let found = lookup(&[port], Some(Protocol::Tcp), Scope::Everything, None);
                assert!(
                    !found.out_of_descriptors,
                    "another thread's refusals made this lookup unknown: {found:?}"
                );
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        // And this thread's own refusal does.
        let before = starved();
        count_refusal(Some(23));
        assert_eq!(starved(), before + 1, "ENFILE counts here");
    }
}
