//! Owners from an OS socket table (Windows' IP Helper tables, macOS' libproc): the per-OS module
//! lists rows with their PIDs; this turns them into [`Owner`]s with process details from
//! `sysinfo` (user, command line, parent chain) for the PIDs found, and nothing else.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users};

use super::{Ancestor, Owner, OwnerNote, Owners, SockState};
use crate::target::{Family, Protocol};

/// One socket of the OS table, as one process holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Row {
    /// An id of the socket itself: rows with the same id are one socket shared by several
    /// processes (macOS: the protocol control block; Windows: one row per socket, its index).
    pub id: u64,
    pub protocol: Protocol,
    pub local: SocketAddr,
    pub remote: Option<SocketAddr>,
    pub state: SockState,
    /// The owning process; 0 when the table names none (TIME_WAIT, or Wine, which reports 0 for
    /// every row): "unknown", never a process.
    pub pid: u32,
}

/// The OS's own table reader.
#[cfg(target_os = "macos")]
use super::macos::collect;
#[cfg(windows)]
use super::windows::collect;

pub(super) fn of(q: super::Query) -> Owners {
    collect(Some(&[q.port]), q.protocol)
}

/// The sockets on `ports`: these OSes' tables come whole; `owners::of_ports_in` keeps those in
/// the scope.
pub(super) fn of_ports(ports: &[u16], protocol: Option<Protocol>, _scope: super::Scope) -> Owners {
    collect(Some(ports), protocol)
}

/// Every socket: these OSes' tables come whole; `owners::table` keeps those in the scope.
pub(super) fn table(protocol: Option<Protocol>, _scope: super::Scope) -> Owners {
    collect(None, protocol)
}

/// Builds the owners of `rows` (already filtered to what was asked). `path_of` names a process's
/// executable where the OS has a faster way than sysinfo (Windows: QueryFullProcessImageNameW).
pub(super) fn owners(rows: Vec<Row>, path_of: &dyn Fn(u32) -> Option<String>) -> Owners {
    let mut out = Owners::default();
    // One socket, every process holding it.
    let mut sockets: BTreeMap<u64, (Row, Vec<u32>)> = BTreeMap::new();
    for row in rows {
        let pid = row.pid;
        let entry = sockets.entry(row.id).or_insert_with(|| (row, Vec::new()));
        if pid != 0 && !entry.1.contains(&pid) {
            entry.1.push(pid);
        }
    }
    let wanted: Vec<Pid> = sockets
        .values()
        .flat_map(|(_, pids)| pids.iter().map(|p| Pid::from_u32(*p)))
        .collect();
    let mut sys = System::new().ok();
    if let Some(sys) = sys.as_mut() {
        // Names and parents of every process (cheap: one system call on Windows, one listing on
        // macOS), then user and command line for the owners only.
        sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing(),
        );
        if !wanted.is_empty() {
            sys.refresh_processes_specifics(
                ProcessesToUpdate::Some(&wanted),
                false,
                ProcessRefreshKind::nothing()
                    .with_user(UpdateKind::Always)
                    .with_cmd(UpdateKind::Always),
            );
        }
    }
    let users = Users::new_with_refreshed_list().ok();
    for (id, (row, mut pids)) in sockets {
        // The parent first, as on Linux: a process whose parent also holds the socket goes after.
        if let Some(sys) = sys.as_ref() {
            let holders = pids.clone();
            pids.sort_by_key(|p| {
                let parent = sys
                    .process(Pid::from_u32(*p))
                    .and_then(sysinfo::Process::parent);
                parent.is_some_and(|pp| holders.contains(&pp.as_u32()))
            });
        }
        let pid = pids.first().copied();
        let process = pid.and_then(|p| sys.as_ref()?.process(Pid::from_u32(p)));
        let note = match pid {
            None if row.state == SockState::TimeWait => Some(OwnerNote::TimeWait),
            None => {
                out.hidden += 1;
                Some(OwnerNote::NoPid)
            }
            Some(_) => None,
        };
        let name = match (pid, process) {
            // The kernel and http.sys hold their sockets under Windows' "System" process.
            (Some(p), _) if Some(p) == crate::platform::Os::current().kernel_pid() => {
                Some("System (kernel, http.sys)".into())
            }
            (_, Some(p)) => Some(p.name().to_string_lossy().into()),
            _ => None,
        };
        let ancestry = match (pid, sys.as_ref()) {
            (Some(p), Some(sys)) => ancestry(sys, p),
            _ => Vec::new(),
        };
        let managed_by = pid.and(super::managed_by("", &ancestry));
        out.owners.push(Owner {
            pid,
            pids,
            process: name,
            path: pid
                .and_then(path_of)
                .or_else(|| {
                    process
                        .and_then(sysinfo::Process::exe)
                        .map(|p| p.display().to_string())
                })
                .map(Into::into),
            // An empty list is a command line not read (Wine gives none), never an empty one.
            cmdline: process.filter(|p| !p.cmd().is_empty()).map(|p| {
                p.cmd()
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
                    .into()
            }),
            user: process
                .and_then(sysinfo::Process::user_id)
                .and_then(|uid| users.as_ref()?.get_user_by_id(uid))
                .map(|u| u.name().into()),
            uid: None,
            protocol: row.protocol,
            family: if row.local.is_ipv4() {
                Family::Ipv4
            } else {
                Family::Ipv6
            },
            local: row.local,
            remote: row.remote,
            state: row.state,
            v6_only: None,
            inode: id,
            note,
            holder: None,
            reuse_port: None,
            ancestry: ancestry.into(),
            managed_by,
            kernel: None,
            device: None,
        });
    }
    out
}

/// The parent chain of `pid`, parent first, up to a process without a parent (a loop or a chain
/// longer than 64 stops it: PIDs are reused on Windows, so a "parent" may be younger).
fn ancestry(sys: &System, pid: u32) -> Vec<Ancestor> {
    let mut chain = Vec::new();
    let mut at = Pid::from_u32(pid);
    while let Some(parent) = sys.process(at).and_then(sysinfo::Process::parent) {
        if parent.as_u32() == 0
            || chain.len() >= 64
            || chain.iter().any(|a: &Ancestor| a.pid == parent.as_u32())
        {
            break;
        }
        chain.push(Ancestor {
            pid: parent.as_u32(),
            name: sys
                .process(parent)
                .map(|p| p.name().to_string_lossy().into_owned()),
        });
        at = parent;
    }
    chain
}

/// Whether a row belongs to the query: its port among `ports` (all when `None`) and its protocol.
pub(super) fn wanted(
    row_port: u16,
    proto: Protocol,
    ports: Option<&[u16]>,
    protocol: Option<Protocol>,
) -> bool {
    protocol.is_none_or(|p| p == proto) && ports.is_none_or(|ps| ps.contains(&row_port))
}
