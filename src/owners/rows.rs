//! The rows of `list --json` / `--format ndjson`: one per socket, with every process that holds
//! it in `owners[]` (a pre-fork server's master and workers share one listening socket). The
//! table itself stays a list of [`Owner`]s, one per socket with its first process in full, as
//! the window and the diagnosis use it; this view adds the others' details.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::{Ancestor, ManagedBy, Owner, OwnerNote, SockState};
use crate::owners::holders::KnownHolder;
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
    /// The network devices the kernel holds this socket for (no process holds it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<&'a super::KernelHolder>,
    /// The network device the socket is bound to (SO_BINDTODEVICE, a VRF, an IPv6 scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<&'a super::Device>,
    /// Every process holding the socket, the one to stop first (the parent of the others) first:
    /// a JSON array of [`ProcessRow`]s, written once per distinct list (see [`Rows`]).
    pub owners: &'a RawValue,
}

/// One process holding a socket, and why it runs: borrowed from the table, so the rows of
/// 10,000 sockets cost no copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessRow<'a> {
    /// Its PID.
    pub pid: u32,
    /// Its short name.
    pub process: Option<&'a str>,
    /// Its executable.
    pub path: Option<&'a str>,
    /// Its command line, arguments separated by spaces.
    pub command: Option<&'a str>,
    /// The user it runs as (its effective uid; for the first process, where its own could
    /// not be read, the socket's owner: the user that opened the socket).
    pub user: Option<&'a str>,
    /// Its parent chain up to PID 1, the parent first.
    pub ancestry: &'a [Ancestor],
    /// What starts it and may start it again.
    pub managed_by: Option<&'a ManagedBy>,
}

/// The details of the processes that share a socket with its first holder (a pre-fork server's
/// workers), which the table itself does not carry.
#[derive(Debug, Default)]
pub struct Sharers(HashMap<u32, Sharer>);

/// What [`Sharers`] knows of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
// Only Linux reads sharing processes (elsewhere a socket row names one process).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(super) struct Sharer {
    pub process: Option<Arc<str>>,
    pub path: Option<Arc<str>>,
    pub command: Option<Arc<str>>,
    pub user: Option<Arc<str>>,
    pub ancestry: Arc<[Ancestor]>,
    pub managed_by: Option<ManagedBy>,
}

impl Sharers {
    /// The user and command line of a process sharing a socket, as read (`None` where it could
    /// not be read or `pid` shares none): `end` shows them for every process it would end.
    #[must_use]
    pub fn user_and_command(&self, pid: u32) -> (Option<&str>, Option<&str>) {
        self.0
            .get(&pid)
            .map_or((None, None), |s| (s.user.as_deref(), s.command.as_deref()))
    }
}

/// The processes after each socket's first in `owners`, read once each (Linux: from /proc;
/// elsewhere nothing, where the socket tables name one process per socket row).
#[must_use]
pub fn sharers(owners: &[Owner]) -> Sharers {
    let mut pids: Vec<u32> = owners
        .iter()
        .flat_map(|o| o.pids.iter().skip(1).copied())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    #[cfg(target_os = "linux")]
    {
        Sharers(super::linux::processes(&pids))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pids;
        Sharers::default()
    }
}

/// The `owners[]` arrays of a table, each written as JSON once: a process with 50 sockets has
/// the same array in its 50 rows (path, command line, parent chain: about three quarters of a
/// row), and writing it 50 times was most of the time `list --json` spent writing.
#[derive(Debug)]
pub struct Rows<'a> {
    /// Per first PID, the distinct arrays seen with it and their JSON.
    arrays: HashMap<Option<u32>, Vec<Written<'a>>>,
    /// `[]`, for a socket of another table (never: the rows are of the table given to `new`).
    empty: Box<RawValue>,
}

/// One `owners[]` array and its JSON.
type Written<'a> = (Vec<ProcessRow<'a>>, Box<RawValue>);

impl<'a> Rows<'a> {
    /// Writes each distinct `owners[]` array of `owners` once.
    ///
    /// # Errors
    /// When an array cannot be written as JSON (it always can: strings and numbers).
    pub fn new(owners: &'a [Owner], sharers: &'a Sharers) -> serde_json::Result<Self> {
        let mut arrays: HashMap<Option<u32>, Vec<Written<'a>>> = HashMap::new();
        for o in owners {
            let rows = process_rows(o, sharers);
            let seen = arrays.entry(o.pid).or_default();
            // The same array, compared in full: the key alone (the first PID) is not enough,
            // since a socket's user is the socket's, not the process's.
            if !seen.iter().any(|(r, _)| *r == rows) {
                // Escaped as the document around it is (DEL, C1, bidi overrides too).
                let json = RawValue::from_string(crate::text::json(&rows, false)?)?;
                seen.push((rows, json));
            }
        }
        Ok(Self {
            arrays,
            empty: RawValue::from_string("[]".to_owned())?,
        })
    }

    /// The rows of `owners` (the table [`Rows::new`] was given).
    #[must_use]
    pub fn socket_rows(&self, owners: &'a [Owner], sharers: &'a Sharers) -> Vec<SocketRow<'_>> {
        owners.iter().map(|o| self.row(o, sharers)).collect()
    }

    /// The row of one socket of the table [`Rows::new`] was given.
    #[must_use]
    pub fn row<'s>(&'s self, o: &'s Owner, sharers: &'s Sharers) -> SocketRow<'s> {
        let rows = process_rows(o, sharers);
        let json = self
            .arrays
            .get(&o.pid)
            .and_then(|seen| seen.iter().find(|(r, _)| *r == rows))
            .map_or(&*self.empty, |(_, json)| &**json);
        SocketRow {
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
            holder: o.holder.as_deref(),
            reuse_port: o.reuse_port,
            kernel: o.kernel.as_deref(),
            device: o.device.as_ref(),
            owners: json,
        }
    }
}

/// The first process from the row itself, the others from `sharers` (a PID whose details
/// could not be read, because it just ended, keeps its number alone).
fn process_rows<'a>(o: &'a Owner, sharers: &'a Sharers) -> Vec<ProcessRow<'a>> {
    let Some(first) = o.pid else {
        return Vec::new();
    };
    let mut rows = Vec::with_capacity(o.pids.len().max(1));
    rows.push(ProcessRow {
        pid: first,
        process: o.process.as_deref(),
        path: o.path.as_deref(),
        command: o.cmdline.as_deref(),
        user: o.user.as_deref(),
        ancestry: &o.ancestry,
        managed_by: o.managed_by.as_ref(),
    });
    rows.extend(o.pids.iter().filter(|&&p| p != first).map(|&p| {
        let s = sharers.0.get(&p);
        ProcessRow {
            pid: p,
            process: s.and_then(|s| s.process.as_deref()),
            path: s.and_then(|s| s.path.as_deref()),
            command: s.and_then(|s| s.command.as_deref()),
            user: s.and_then(|s| s.user.as_deref()),
            ancestry: s.map_or(&[], |s| &s.ancestry),
            managed_by: s.and_then(|s| s.managed_by.as_ref()),
        }
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owners::ManagedKind;

    fn socket(port: u16, user: &str, cmd: &Arc<str>) -> Owner {
        Owner {
            pid: Some(42),
            pids: vec![42],
            process: Some("server".into()),
            path: Some("/usr/bin/server".into()),
            cmdline: Some(Arc::clone(cmd)),
            user: Some(user.into()),
            uid: Some(0),
            protocol: Protocol::Tcp,
            family: Family::Ipv4,
            local: SocketAddr::from(([127, 0, 0, 1], port)),
            remote: None,
            state: SockState::Listen,
            v6_only: None,
            inode: u64::from(port),
            note: None,
            holder: None,
            reuse_port: None,
            ancestry: vec![Ancestor {
                pid: 1,
                name: Some("init".into()),
            }]
            .into(),
            managed_by: Some(ManagedBy {
                kind: ManagedKind::Init,
                name: "init".into(),
                container: None,
                services: Vec::new(),
            }),
            kernel: None,
            device: None,
        }
    }

    /// Each row's `owners[]` is written once per distinct array, and reads exactly as the array
    /// written on its own: a socket of the same process with another user keeps its own.
    #[test]
    fn each_distinct_owners_array_is_written_once_and_reads_the_same() {
        let cmd: Arc<str> = "server --port \"1\"\n\u{1b}[2J".into();
        let owners = [
            socket(1, "root", &cmd),
            socket(2, "root", &cmd),
            socket(3, "www-data", &cmd),
        ];
        let sharers = Sharers::default();
        let rows = Rows::new(&owners, &sharers).unwrap();
        assert_eq!(rows.arrays[&Some(42)].len(), 2, "root's and www-data's");
        for (row, o) in rows.socket_rows(&owners, &sharers).iter().zip(&owners) {
            let direct = serde_json::to_string(&process_rows(o, &sharers)).unwrap();
            assert_eq!(row.owners.get(), direct);
            let whole: serde_json::Value = serde_json::to_value(row).unwrap();
            assert_eq!(whole["owners"][0]["user"], o.user.as_deref().unwrap());
            assert_eq!(whole["owners"][0]["command"], &*cmd);
        }
    }
}
