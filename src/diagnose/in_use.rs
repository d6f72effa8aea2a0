//! Address in use: which clash blocks the bind (decided from the real sockets on the port), who
//! holds it, leftovers proven by a retry, hidden and short-lived sockets, sockets the kernel holds
//! for a device; the findings and fixes each proves.

use std::net::IpAddr;

use crate::facts::Facts;
use crate::owners::{Owner, OwnerNote, SockState};
use crate::platform::Os;
use crate::target::{Protocol, Target};

use super::{Conflict, ConnectionProcess, Diagnosis, Evidence, Finding, Fix};

/// Decides which clash blocks a bind of `target` on `ip` from the real sockets; pure, so every case
/// is unit-tested. Returns the clash and the sockets that make it.
#[must_use]
pub fn classify_conflict(
    target: &Target,
    ip: Option<IpAddr>,
    owners: &[Owner],
    os: Os,
    bindv6only: Option<bool>,
) -> (Conflict, Vec<Owner>) {
    // A socket that was gone when looked at again (a forked child holding a copy of a descriptor
    // until its exec, a short-lived client) blocks nothing now.
    let same_proto: Vec<&Owner> = owners
        .iter()
        .filter(|o| o.protocol == target.protocol && o.note != Some(OwnerNote::ShortLived))
        .collect();
    let Some(ip) = ip.map(|i| i.to_canonical()) else {
        return (Conflict::Unexplained, Vec::new());
    };
    // Live holders: listeners, bound-only sockets, UDP sockets (connected UDP sockets hold the
    // address too).
    let live = same_proto
        .iter()
        .copied()
        .filter(|o| !o.state.is_connection() || o.protocol == Protocol::Udp);
    let mut best: Option<(u8, Conflict, Vec<Owner>)> = None;
    let mut consider = |rank: u8, c: Conflict, o: &Owner| match &mut best {
        Some((r, _, v)) if *r == rank => v.push(o.clone()),
        Some((r, _, _)) if *r < rank => {}
        _ => best = Some((rank, c, vec![o.clone()])),
    };
    for o in live {
        let held = o.local.ip().to_canonical();
        let bound_only = o.protocol == Protocol::Tcp && o.state == SockState::BoundOnly;
        let pick = |c: Conflict| if bound_only { Conflict::BoundOnly } else { c };
        if held == ip {
            consider(u8::from(bound_only), pick(Conflict::SameAddress), o);
        } else if held.is_ipv4() == ip.is_ipv4() && held.is_unspecified() {
            consider(2, pick(Conflict::WildcardBlocksSpecific), o);
        } else if held.is_ipv4() == ip.is_ipv4() && ip.is_unspecified() {
            consider(3, pick(Conflict::SpecificBlocksWildcard), o);
        } else if ip.is_ipv4() && held.is_ipv6() && held.is_unspecified() {
            // The kernel's own word on the holder's IPV6_V6ONLY (sock_diag), else the defaults.
            let dual = o.v6_only.map_or_else(
                || crate::platform::ipv6_is_dual_stack(os, None, bindv6only),
                |v| !v,
            );
            if dual {
                consider(4, Conflict::DualStack, o);
            }
        } else if ip.is_ipv6() && ip.is_unspecified() && held.is_ipv4() {
            // Our own [::] socket would be dual-stack and collide with an IPv4 holder.
            if crate::platform::ipv6_is_dual_stack(os, target.options.v6_only, bindv6only) {
                consider(5, Conflict::OursDualStack, o);
            }
        }
    }
    if let Some((_, c, v)) = best {
        return (c, v);
    }
    let ends: Vec<Owner> = same_proto
        .iter()
        .filter(|o| o.state.is_connection() && o.state != SockState::TimeWait)
        .map(|o| (*o).clone())
        .collect();
    if !ends.is_empty() {
        return (Conflict::Leftovers, ends);
    }
    let tw: Vec<Owner> = same_proto
        .iter()
        .filter(|o| o.state == SockState::TimeWait)
        .map(|o| (*o).clone())
        .collect();
    if !tw.is_empty() {
        return (Conflict::TimeWaitOnly, tw);
    }
    (Conflict::Unexplained, Vec::new())
}

/// The PIDs of `sockets`, each once, parents before their children. A proven known holder (a
/// container proxy, a relay) is dealt with through its own advice, never ended.
pub(super) fn pids_of(sockets: &[Owner]) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for o in sockets
        .iter()
        // A proven proxy or relay is not ended (its engine starts it again, or owns the port);
        // a socket activator is: ending it is what frees the port.
        .filter(|o| {
            o.holder.as_ref().is_none_or(|h| {
                !h.verified || h.kind == crate::owners::holders::HolderKind::SocketActivator
            }) && windows_services(o).is_empty()
        })
    {
        let all = if o.pids.is_empty() {
            o.pid.into_iter().collect()
        } else {
            o.pids.clone()
        };
        for p in all {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The Windows services the process holding `o` runs (none elsewhere): they are stopped as
/// services, never by ending their host process, which may run others too.
pub(super) fn windows_services(o: &Owner) -> &[crate::owners::WinService] {
    o.managed_by
        .as_ref()
        .filter(|m| m.kind == crate::owners::ManagedKind::Service)
        .map_or(&[], |m| m.services.as_slice())
}

pub(super) fn push_free_port(ev: &Evidence, d: &mut Diagnosis) {
    if let Some(port) = ev.free_port {
        d.fixes.push(Fix::UseFreePort { port });
    }
}

pub(super) fn address_in_use(
    target: &Target,
    ip: Option<IpAddr>,
    facts: &Facts,
    ev: &Evidence,
    d: &mut Diagnosis,
) {
    let (conflict, blockers) =
        classify_conflict(target, ip, &ev.owners, facts.os, facts.bindv6only);
    let port = target.port;
    // An outgoing connection's local end: the port is ephemeral and the peer's port is not (an
    // accepted connection's peer is a client, whose port is ephemeral itself).
    let conflict = match conflict {
        Conflict::Leftovers
            if facts.is_ephemeral(port)
                && blockers.iter().all(|o| {
                    matches!(o.state, SockState::Established | SockState::SynSent)
                        && o.remote.is_some_and(|r| !facts.is_ephemeral(r.port()))
                }) =>
        {
            Conflict::Ephemeral
        }
        c => c,
    };
    d.conflict = Some(conflict);
    match conflict {
        Conflict::TimeWaitOnly => {
            d.findings.push(Finding::TimeWait {
                count: blockers.len(),
                reuse_retry: ev.reuse_retry,
            });
            match ev.reuse_retry {
                Some(true) => d.fixes.push(Fix::SetReuseAddr),
                Some(false) => d.fixes.push(Fix::Wait { secs: 60 }),
                None => {}
            }
            push_free_port(ev, d);
        }
        Conflict::Leftovers => {
            leftovers(&blockers, ev, d);
            push_free_port(ev, d);
        }
        Conflict::Ephemeral => {
            if let (Some(o), Some(r)) = (blockers.first(), facts.ephemeral_range.as_ref()) {
                d.findings.push(Finding::EphemeralCollision {
                    local: o.local,
                    remote: o.remote,
                    pid: o.pid,
                    process: o.process.as_deref().map(str::to_owned),
                    range: (r.start, r.end),
                });
                d.fixes.push(Fix::ReservePort {
                    port,
                    existing: facts
                        .reserved_ranges
                        .iter()
                        .map(|r| (r.start, r.end))
                        .collect(),
                    os: facts.os,
                });
            }
            push_free_port(ev, d);
        }
        Conflict::Unexplained => {
            if ev.hidden == 0 {
                d.findings.push(Finding::Unexplained {
                    netns: facts.netns.clone(),
                    lookup_out_of_descriptors: ev.lookup_out_of_descriptors,
                    tables_refused: ev.lookup_refused.clone(),
                });
            }
            push_free_port(ev, d);
        }
        _ => held(target, ip, conflict, &blockers, ev, d),
    }
    hidden_and_transient(ev, d);
}

/// Whether several listening sockets share one address, port and device: only SO_REUSEPORT
/// allows that. Sockets bound to different devices share a port without it (SO_BINDTODEVICE).
#[must_use]
pub fn share_one_address(listeners: &[&Owner]) -> bool {
    listeners.len() > 1
        && listeners
            .iter()
            .all(|o| o.local == listeners[0].local && o.device == listeners[0].device)
}

fn held(
    target: &Target,
    ip: Option<IpAddr>,
    conflict: Conflict,
    blockers: &[Owner],
    ev: &Evidence,
    d: &mut Diagnosis,
) {
    let port = target.port;
    // Several listening sockets on one address and port can only be a SO_REUSEPORT group; a
    // single one is, when the socket itself said it set SO_REUSEPORT.
    let listeners: Vec<&Owner> = blockers
        .iter()
        .filter(|o| o.state == SockState::Listen)
        .collect();
    let group = (share_one_address(&listeners)
        && listeners.windows(2).any(|w| w[0].inode != w[1].inode))
        || (listeners.len() == 1 && listeners[0].reuse_port == Some(true));
    let pids = pids_of(blockers);
    // The Held finding goes before the holder details, after any finding made before (a
    // privileged port is the kernel's first check).
    let first = d.findings.len();
    for o in blockers {
        if let Some(h) = &o.holder {
            d.findings.push(Finding::KnownHolder {
                pid: o.pid,
                holder: (**h).clone(),
            });
        }
    }
    d.findings.insert(
        first,
        Finding::Held {
            conflict,
            tried: ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            sockets: blockers.to_vec(),
        },
    );
    if group {
        d.findings.push(Finding::ReusePortGroup {
            local: listeners[0].local,
            sockets: listeners.len(),
            retry: ev.reuseport_retry,
        });
        if ev.reuseport_retry == Some(true) {
            d.fixes.push(Fix::SetReusePort);
        }
    }
    let connections: Vec<&Owner> = ev
        .owners
        .iter()
        .filter(|o| o.state.is_connection() && o.state != SockState::TimeWait)
        .collect();
    if !connections.is_empty() {
        let mut peers: Vec<IpAddr> = Vec::new();
        for c in &connections {
            if let Some(r) = c.remote
                && !peers.contains(&r.ip())
                && peers.len() < 5
            {
                peers.push(r.ip());
            }
        }
        let mut processes: Vec<ConnectionProcess> = Vec::new();
        for c in &connections {
            for &pid in c.pids.iter().chain(c.pid.iter()) {
                if processes.len() < 5 && !processes.iter().any(|p| p.pid == pid) {
                    processes.push(ConnectionProcess {
                        pid,
                        process: c.process.as_deref().map(str::to_owned),
                    });
                }
            }
        }
        d.findings.push(Finding::Connections {
            count: connections.len(),
            peers,
            processes,
        });
    }
    for o in blockers {
        if let Some(h) = o.holder.as_ref().filter(|h| h.verified) {
            d.fixes.push(Fix::HolderAdvice {
                advice: h.advice.clone(),
                command: h.command.clone(),
            });
        }
    }
    let mut services: Vec<crate::owners::WinService> = Vec::new();
    let mut hosts: Vec<(u32, String)> = Vec::new();
    for o in blockers {
        for s in windows_services(o) {
            if !services.contains(s) {
                services.push(s.clone());
            }
        }
        if let Some(pid) = o.pid.filter(|_| !windows_services(o).is_empty())
            && !hosts.iter().any(|(p, _)| *p == pid)
        {
            hosts.push((pid, o.process.as_deref().unwrap_or_default().to_owned()));
        }
    }
    if !services.is_empty() {
        d.fixes.push(Fix::StopServices { services, hosts });
    }
    match conflict {
        Conflict::DualStack => d.fixes.push(Fix::HolderSetsV6Only),
        Conflict::OursDualStack => d.fixes.push(Fix::SetV6Only),
        Conflict::SpecificBlocksWildcard => d.fixes.push(Fix::BindSpecific),
        _ => {}
    }
    if !pids.is_empty() {
        d.fixes.push(Fix::EndProcesses { port, pids });
    }
    push_free_port(ev, d);
}

fn leftovers(blockers: &[Owner], ev: &Evidence, d: &mut Diagnosis) {
    let mut states: Vec<(SockState, usize)> = Vec::new();
    for o in blockers {
        match states.iter_mut().find(|(s, _)| *s == o.state) {
            Some((_, n)) => *n += 1,
            None => states.push((o.state, 1)),
        }
    }
    let pids = pids_of(blockers);
    let orphans = blockers.iter().filter(|o| o.pid.is_none()).count();
    d.findings.push(Finding::Leftovers {
        states,
        pids: pids.clone(),
        orphans,
        reuse_retry: ev.reuse_retry,
        fin_timeout_secs: ev.fin_timeout_secs,
    });
    if ev.reuse_retry == Some(true) {
        d.fixes.push(Fix::SetReuseAddr);
    }
    if !pids.is_empty() {
        d.fixes.push(Fix::EndProcesses {
            port: blockers.first().map_or(0, |o| o.local.port()),
            pids,
        });
    } else if orphans > 0 {
        d.fixes.push(Fix::Wait {
            secs: ev.fin_timeout_secs.unwrap_or(60),
        });
    }
}

fn hidden_and_transient(ev: &Evidence, d: &mut Diagnosis) {
    let short = ev
        .owners
        .iter()
        .filter(|o| o.note == Some(OwnerNote::ShortLived))
        .count();
    if short > 0 {
        d.findings.push(Finding::ShortLived { count: short });
    }
    let kernel = kernel_holds(&ev.owners);
    d.findings.extend(kernel.findings);
    if !kernel.fixes.is_empty() {
        // Before "use another port": the device is the cause.
        let at = d
            .fixes
            .iter()
            .position(|f| matches!(f, Fix::UseFreePort { .. }))
            .unwrap_or(d.fixes.len());
        d.fixes.splice(at..at, kernel.fixes);
    }
    for why in [
        OwnerNote::OtherUser,
        OwnerNote::NoPtrace,
        OwnerNote::NotInView,
        OwnerNote::Uninspectable,
        OwnerNote::NoPid,
        OwnerNote::OutOfDescriptors,
    ] {
        let count = ev.owners.iter().filter(|o| o.note == Some(why)).count();
        if count == 0 {
            continue;
        }
        d.findings.push(Finding::HiddenOwners { count, why });
        match why {
            OwnerNote::OtherUser => d.fixes.push(Fix::RunElevated),
            OwnerNote::NoPtrace => d.fixes.push(Fix::GrantPtrace),
            _ => {}
        }
    }
}

/// The sockets among `owners` the kernel holds for a network device: a finding for each and
/// the one fix that frees them (`who` shows these too, worded the same).
#[must_use]
pub fn kernel_holds(owners: &[Owner]) -> Diagnosis {
    let mut d = Diagnosis::default();
    let mut devices: Vec<String> = Vec::new();
    for o in owners.iter().filter(|o| o.note == Some(OwnerNote::Kernel)) {
        let Some(k) = o.kernel.as_deref() else {
            continue;
        };
        d.findings.push(Finding::KernelHolds {
            protocol: o.protocol,
            local: o.local,
            holder: k.clone(),
        });
        for dev in &k.devices {
            if !devices.iter().any(|x| **x == **dev) {
                devices.push(dev.to_string());
            }
        }
    }
    if !devices.is_empty() {
        d.fixes.push(Fix::RemoveDevices { devices });
    }
    d
}
