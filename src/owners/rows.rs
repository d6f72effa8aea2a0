//! The rows of `list --json` / `--format ndjson`: one per socket, with every process that holds
//! it in `owners[]` (a pre-fork server's master and workers share one listening socket). The
//! table itself stays a list of [`Owner`]s, one per socket with its first process in full, as
//! the window and the diagnosis use it; this view adds the others' details.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;

use super::{Ancestor, ManagedBy, Owner, OwnerNote, SockState};
use crate::holders::KnownHolder;
use crate::target::{Family, Protocol};

/// One socket and the processes that hold it.
#[derive(Debug, Serialize)]
pub struct SocketRow<'a> {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// IPv4 or IPv6.
    pub family: Family,
    /// Local address and port.
    pub local: SocketAddr,
    /// The local port (also in `local`), for filters such as `jq 'map(select(.port == 80))'`.
    pub port: u16,
    /// The peer, for a connection.
    pub remote: Option<SocketAddr>,
    /// `LISTEN`, `UNCONN`, `ESTABLISHED`, …
    pub state: SockState,
    /// For IPv6: whether it holds IPv6 only (false: IPv4 too).
    pub v6_only: Option<bool>,
    /// The kernel's socket inode.
    pub inode: u64,
    /// The socket's owner as the OS records it (Linux: the socket's uid; Windows and macOS:
    /// the owning process's user).
    pub user: Option<&'a str>,
    /// The numeric id of `user`, where the OS gives it.
    pub uid: Option<u32>,
    /// Why `owners` is empty or incomplete.
    pub note: Option<OwnerNote>,
    /// What a well-known holder (container proxy, WSL relay, …) really is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<&'a KnownHolder>,
    /// SO_REUSEPORT on the socket, when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reuse_port: Option<bool>,
    /// Every process holding the socket, the one to stop first (the parent of the others) first.
    pub owners: Vec<ProcessRow>,
}

/// One process holding a socket, and why it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessRow {
    /// Its PID.
    pub pid: u32,
    /// Its short name.
    pub process: Option<Arc<str>>,
    /// Its executable.
    pub path: Option<Arc<str>>,
    /// Its command line, arguments separated by spaces.
    pub command: Option<Arc<str>>,
    /// The user it runs as (for the first process where the OS gave only the socket's owner:
    /// that owner, which is the user that opened the socket).
    pub user: Option<Arc<str>>,
    /// Its parent chain up to PID 1, the parent first.
    pub ancestry: Arc<[Ancestor]>,
    /// What starts it and may restart it.
    pub managed_by: Option<ManagedBy>,
}

/// The rows of `owners`, the processes after each socket's first read once each.
#[must_use]
pub fn socket_rows(owners: &[Owner]) -> Vec<SocketRow<'_>> {
    let mut others: Vec<u32> = owners
        .iter()
        .flat_map(|o| o.pids.iter().skip(1).copied())
        .collect();
    others.sort_unstable();
    others.dedup();
    let details = processes(&others);
    owners
        .iter()
        .map(|o| SocketRow {
            protocol: o.protocol,
            family: o.family,
            local: o.local,
            port: o.local.port(),
            remote: o.remote,
            state: o.state,
            v6_only: o.v6_only,
            inode: o.inode,
            user: o.user.as_deref(),
            uid: o.uid,
            note: o.note,
            holder: o.holder.as_ref(),
            reuse_port: o.reuse_port,
            owners: process_rows(o, &details),
        })
        .collect()
}

/// The first process from the row itself, the others from `details` (a PID whose details
/// could not be read, because it just ended, keeps its number alone).
fn process_rows(o: &Owner, details: &HashMap<u32, ProcessRow>) -> Vec<ProcessRow> {
    let Some(first) = o.pid else {
        return Vec::new();
    };
    let mut rows = vec![ProcessRow {
        pid: first,
        process: o.process.clone(),
        path: o.path.clone(),
        command: o.cmdline.clone(),
        user: o.user.clone(),
        ancestry: Arc::clone(&o.ancestry),
        managed_by: o.managed_by.clone(),
    }];
    rows.extend(o.pids.iter().filter(|&&p| p != first).map(|&p| {
        details.get(&p).cloned().unwrap_or(ProcessRow {
            pid: p,
            process: None,
            path: None,
            command: None,
            user: None,
            ancestry: Arc::default(),
            managed_by: None,
        })
    }));
    rows
}

/// Name, command line, user and parent chain of each of `pids` (Linux: from /proc; elsewhere
/// none, where the socket tables name one process per socket row).
fn processes(pids: &[u32]) -> HashMap<u32, ProcessRow> {
    #[cfg(target_os = "linux")]
    {
        super::linux::processes(pids)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pids;
        HashMap::new()
    }
}
