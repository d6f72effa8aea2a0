//! What a holder is and why it runs: its name, executable, command line and effective user,
//! its parent chain and what manages it (a service, a container), read once per process.

use std::collections::HashMap;
use std::fs;
use std::sync::Arc;

use super::proc_dir::{ProcDir, parent_in_stat};
use super::refusals::in_batches_counted;
use super::walk::parent_of;
use crate::owners::passwd;

/// Parent PIDs and names already read during one lookup: many owners share their ancestors.
#[derive(Default)]
struct Kin {
    parent: HashMap<u32, Option<u32>>,
    name: HashMap<u32, Option<String>>,
}

impl Kin {
    fn parent(&mut self, pid: u32) -> Option<u32> {
        *self.parent.entry(pid).or_insert_with(|| parent_of(pid))
    }

    fn name(&mut self, pid: u32) -> Option<String> {
        self.name
            .entry(pid)
            .or_insert_with(|| {
                fs::read(format!("/proc/{pid}/comm")).ok().map(|b| {
                    String::from_utf8_lossy(b.strip_suffix(b"\n").unwrap_or(&b)).into_owned()
                })
            })
            .clone()
    }
}

/// Why `pid` runs: its parent chain up to PID 1 (nearest first) and what manages it (from its
/// `cgroup` text and that chain).
fn why_it_runs(
    pid: u32,
    cgroup: &str,
    family: &mut Kin,
) -> (
    Vec<crate::owners::Ancestor>,
    Option<crate::owners::ManagedBy>,
) {
    let mut ancestry: Vec<crate::owners::Ancestor> = Vec::new();
    let mut cur = pid;
    while let Some(p) = family.parent(cur) {
        if p == 0 || ancestry.len() > 64 || ancestry.iter().any(|a| a.pid == p) {
            break;
        }
        let name = family.name(p);
        ancestry.push(crate::owners::Ancestor { pid: p, name });
        cur = p;
    }
    let mut managed = crate::owners::managed_by(cgroup, &ancestry);
    if let Some(m) = managed
        .as_mut()
        .filter(|m| m.kind == crate::owners::ManagedKind::Container)
    {
        m.container = crate::owners::runtime::container_name(&m.name).map(Into::into);
    }
    (ancestry, managed)
}

/// Name, executable and command line of a process, its parent chain and what manages it.
pub(super) type Details = (
    ProcInfo,
    Arc<[crate::owners::Ancestor]>,
    Option<crate::owners::ManagedBy>,
);

/// The details of each of `pids`, read on every core (a few files under /proc per process and
/// per ancestor: for a table of hundreds of processes, most of the time after the walk).
pub(super) fn details_of(pids: &[u32]) -> HashMap<u32, Details> {
    // One batch per core: each keeps its own cache of shared ancestors.
    in_batches_counted(pids, pids.len().div_ceil(crate::par::cores()), |part| {
        // Each thread keeps its own cache of ancestors: most owners share them.
        let mut family = Kin::default();
        part.iter()
            .map(|&p| {
                let mut dir = ProcDir::open(p);
                // Its parent from its own stat, read through the open directory.
                let parent = dir.read("stat").and_then(parent_in_stat);
                family.parent.insert(p, parent);
                let cgroup = dir
                    .read("cgroup")
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                let (ancestry, managed) = why_it_runs(p, &cgroup, &mut family);
                let info = proc_info_in(&mut dir);
                (p, (info, ancestry.into(), managed))
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .flatten()
    .collect()
}

/// The details of processes that share a socket with its first holder, for `list`'s rows; the
/// user is the process's own (the owner of its /proc directory), not the socket's.
pub(in crate::owners) fn processes(pids: &[u32]) -> HashMap<u32, crate::owners::rows::Sharer> {
    use std::os::unix::fs::MetadataExt;
    details_of(pids)
        .into_iter()
        .map(|(pid, (info, ancestry, managed_by))| {
            let user = info.uid.map(passwd::user_name).or_else(|| {
                fs::metadata(format!("/proc/{pid}"))
                    .ok()
                    .map(|m| passwd::user_name(m.uid()))
            });
            let row = crate::owners::rows::Sharer {
                process: info.name,
                path: info.path,
                command: info.cmdline,
                user,
                ancestry,
                managed_by,
            };
            (pid, row)
        })
        .collect()
}

#[derive(Debug, Clone, Default)]
pub(super) struct ProcInfo {
    pub(super) name: Option<Arc<str>>,
    pub(super) path: Option<Arc<str>>,
    pub(super) cmdline: Option<Arc<str>>,
    /// The process's own effective uid (`/proc/PID/status`): not the socket's, which is the
    /// user that created it (a server that drops from root keeps root's sockets), and not the
    /// owner of /proc/PID, which is root for a process that is not dumpable.
    pub(super) uid: Option<u32>,
}

/// Name, executable and command line of `pid`. Read as bytes: a name is whatever the process
/// set (prctl PR_SET_NAME, argv[0]), not necessarily UTF-8; invalid bytes become U+FFFD here
/// and control characters are escaped when shown. A name that cannot be read (the process just
/// exited) is `None`, never an empty string.
pub(super) fn proc_info(pid: u32) -> ProcInfo {
    proc_info_in(&mut ProcDir::open(pid))
}

/// [`proc_info`] of an open /proc/PID.
fn proc_info_in(dir: &mut ProcDir) -> ProcInfo {
    let name = dir
        .read("comm")
        .map(|b| {
            let b = b.strip_suffix(b"\n").unwrap_or(b);
            Arc::<str>::from(String::from_utf8_lossy(b))
        })
        .filter(|n| !n.is_empty());
    let path = dir.link("exe");
    let cmdline = dir
        .read("cmdline")
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(String::from_utf8_lossy)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| !c.is_empty())
        .map(Arc::from);
    let uid = dir.read("status").and_then(effective_uid_in_status);
    // The kernel keeps 15 bytes of a name: "systemd-socket-activate" reads "systemd-socket-".
    // The executable's name or argv[0], when it starts with the cut name, is the whole one.
    let name = name.map(|n| {
        let argv0 = cmdline.as_deref().and_then(|c: &str| c.split(' ').next());
        untruncated(&n, argv0, path.as_deref()).map_or(n, Arc::from)
    });
    ProcInfo {
        name,
        path,
        cmdline,
        uid,
    }
}

/// The whole name of a process whose `comm` the kernel cut at 15 bytes: the last part of argv[0]
/// or of the executable's path that is longer and starts with the cut name. `None` when the name
/// was not cut, or nothing longer matches (then the cut name is all there is).
fn untruncated(comm: &str, argv0: Option<&str>, exe: Option<&str>) -> Option<String> {
    const COMM_MAX: usize = 15;
    if comm.len() != COMM_MAX {
        return None;
    }
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    [argv0.map(base), exe.map(base)]
        .into_iter()
        .flatten()
        .find(|c| c.len() > COMM_MAX && c.starts_with(comm))
}

/// The effective uid of a `/proc/PID/status` text (`Uid:` real, effective, saved, filesystem).
fn effective_uid_in_status(status: &[u8]) -> Option<u32> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Uid:"))?;
    std::str::from_utf8(line)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
