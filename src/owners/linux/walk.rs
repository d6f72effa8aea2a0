//! The walk over `/proc/*/fd`: which processes hold which socket inodes, every holder of each
//! socket (not the first), on every core, a busy process read nearest-first.

use std::collections::HashMap;
use std::fs;

use super::proc_dir::{open_proc_dir, parent_in_stat};
use super::refusals::{count_refusal, in_batches_counted, starved};

/// What the /proc walk learned.
#[derive(Debug, Default)]
pub(super) struct ProcScan {
    /// socket inode → every PID holding it, the parent first.
    pub pids: HashMap<u64, Vec<u32>>,
    /// Processes whose descriptors we could not list.
    pub unreadable: usize,
}

/// Appends the socket inodes among `pid`'s descriptors to `out`; `false` when we may not list
/// them.
/// Each link is read as its name is listed: no name is copied.
fn socket_inodes(pid: u32, out: &mut Vec<u64>) -> bool {
    let Some(dir) = open_fd_dir(pid) else {
        return false;
    };
    each_fd_name(&dir, |name| out.extend(socket_link(&dir, name)))
}

/// The socket inode behind descriptor `name` of an open `/proc/PID/fd` (`None`: not a socket),
/// its link read into a buffer on the stack; `NOENT` when no such descriptor is open.
fn link_inode(dir: &rustix::fd::OwnedFd, name: &std::ffi::CStr) -> rustix::io::Result<Option<u64>> {
    let mut link = [std::mem::MaybeUninit::<u8>::uninit(); 64];
    let (read, _) = rustix::fs::readlinkat_raw(dir, name, &mut link)?;
    Ok(std::str::from_utf8(read).ok().and_then(parse_socket_link))
}

/// `/proc/PID/fd` opened once, and the names of its descriptors. Reading each link relative to
/// this open directory (readlinkat) walks one path component instead of four, which is most of
/// the cost of mapping a busy server's thousands of descriptors.
fn fd_names(pid: u32) -> Option<(rustix::fd::OwnedFd, Vec<std::ffi::CString>)> {
    let dir = open_fd_dir(pid)?;
    let names = fd_names_in(&dir)?;
    Some((dir, names))
}

/// `/proc/PID/fd`, open; `None` when we may not read it (a refused descriptor is counted).
fn open_fd_dir(pid: u32) -> Option<rustix::fd::OwnedFd> {
    open_proc_dir(pid, "/fd")
        .map_err(|e| count_refusal(Some(e.raw_os_error())))
        .ok()
}

/// The names of the descriptors in an open `/proc/PID/fd`, listed with getdents on this very
/// descriptor (a `Dir` would open "." again: one more open and close per process, for every
/// process of a whole-table walk).
fn fd_names_in(dir: &rustix::fd::OwnedFd) -> Option<Vec<std::ffi::CString>> {
    let mut names = Vec::new();
    each_fd_name(dir, |name| names.push(name.to_owned())).then_some(names)
}

/// Calls `f` with the name of each descriptor in an open `/proc/PID/fd` as getdents lists it;
/// `false` when the listing failed.
fn each_fd_name(dir: &rustix::fd::OwnedFd, mut f: impl FnMut(&std::ffi::CStr)) -> bool {
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 16 * 1024];
    let mut list = rustix::fs::RawDir::new(dir, &mut buf);
    while let Some(entry) = list.next() {
        let Ok(entry) = entry else {
            return false;
        };
        let name = entry.file_name();
        if name.to_bytes().first().is_some_and(u8::is_ascii_digit) {
            f(name);
        }
    }
    true
}

/// `names` (ascending descriptor numbers) reordered so the descriptors most likely to hold
/// `missing` come first; every name stays, so the search remains complete.
///
/// The kernel numbers socket inodes in creation order and hands out the lowest free descriptor,
/// so in a process the two orders mostly agree: a server's listener, opened at start, has a low
/// descriptor and a low inode; a socket opened last, a high one. Sixteen evenly spaced samples
/// place each missing inode between two descriptors; the search starts there and widens. When
/// the orders do not agree (descriptors reused, dup2 to fixed numbers) it only costs the samples.
fn nearest_first(
    dir: &rustix::fd::OwnedFd,
    names: Vec<std::ffi::CString>,
    missing: &std::collections::HashSet<u64>,
) -> Vec<std::ffi::CString> {
    const SAMPLES: usize = 16;
    let last = names.len() - 1;
    let samples: Vec<(usize, u64)> = (0..SAMPLES)
        .map(|k| k * last / (SAMPLES - 1))
        .filter_map(|at| socket_link(dir, &names[at]).map(|ino| (at, ino)))
        .collect();
    if samples.len() < 2 {
        return names;
    }
    // Where each missing inode should sit: interpolated between the samples around it.
    let guesses: Vec<usize> = missing
        .iter()
        .map(|&target| {
            let below = samples.iter().filter(|s| s.1 <= target).max_by_key(|s| s.1);
            let above = samples.iter().filter(|s| s.1 >= target).min_by_key(|s| s.1);
            match (below, above) {
                (Some(&(at_low, ino_low)), Some(&(at_high, ino_high))) if ino_high > ino_low => {
                    // Integer interpolation; u128 cannot overflow on u64 inodes times indices.
                    let span = u128::from(ino_high - ino_low);
                    let part = u128::from(target - ino_low);
                    let offset = part * at_low.abs_diff(at_high) as u128 / span;
                    let offset = usize::try_from(offset).unwrap_or(0);
                    // From the lower inode's descriptor toward the higher one's, either way.
                    if at_high >= at_low {
                        at_low + offset
                    } else {
                        at_low - offset
                    }
                }
                (Some(&(at, _)), _) | (None, Some(&(at, _))) => at,
                (None, None) => 0,
            }
        })
        .collect();
    let mut order: Vec<(usize, std::ffi::CString)> = names.into_iter().enumerate().collect();
    order.sort_by_key(|(i, _)| guesses.iter().map(|g| g.abs_diff(*i)).min().unwrap_or(0));
    order.into_iter().map(|(_, name)| name).collect()
}

/// The socket inode behind descriptor `name` of an open `/proc/PID/fd`, if it is a socket.
fn socket_link(dir: &rustix::fd::OwnedFd, name: &std::ffi::CStr) -> Option<u64> {
    link_inode(dir, name).ok().flatten()
}

/// Which of `missing` process `pid` holds. A process with many descriptors (a busy server) is
/// read nearest-first and on every core at once; all stop as soon as every missing inode is
/// found. `None` when its descriptors may not be listed.
fn holds_which(pid: u32, missing: &std::collections::HashSet<u64>) -> Option<Vec<u64>> {
    /// Below this, one thread reads faster than starting others.
    const PARALLEL_FROM: usize = 512;
    let (dir, mut names) = fd_names(pid)?;
    // Listed but not readable (a process this one may not inspect: not dumpable, or in a user
    // namespace it has no rights in): as unreadable as a list refused.
    if names.first().is_some_and(|n| {
        matches!(
            link_inode(&dir, n),
            Err(rustix::io::Errno::ACCESS | rustix::io::Errno::PERM)
        )
    }) {
        return None;
    }
    let threads = crate::par::cores();
    if names.len() >= PARALLEL_FROM {
        names = nearest_first(&dir, names, missing);
    }
    if names.len() < PARALLEL_FROM || threads == 1 {
        let mut hits = Vec::new();
        for n in &names {
            if let Some(i) = socket_link(&dir, n).filter(|i| missing.contains(i)) {
                hits.push(i);
                if hits.len() == missing.len() {
                    break;
                }
            }
        }
        return Some(hits);
    }
    let found = std::sync::atomic::AtomicUsize::new(0);
    let hits = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (dir, found, names) = (&dir, &found, &names);
                // Thread t reads every threads-th name of the nearest-first order.
                s.spawn(move || {
                    let mut hits = Vec::new();
                    for n in names.iter().skip(t).step_by(threads) {
                        if found.load(std::sync::atomic::Ordering::Relaxed) >= missing.len() {
                            break;
                        }
                        if let Some(i) = socket_link(dir, n).filter(|i| missing.contains(i)) {
                            hits.push(i);
                            found.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    hits
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .flatten()
            .collect()
    });
    Some(hits)
}

/// Every process holding any of `inodes` (every socket descriptor when `None`), all of them, not
/// the first, reading `/proc/*/fd` on every core at once; the holders of each socket are ordered
/// parent first.
pub(super) fn find_all_processes(inodes: Option<&[u64]>) -> ProcScan {
    let mut scan = ProcScan::default();
    let wanted: Option<std::collections::HashSet<u64>> =
        inodes.map(|i| i.iter().copied().collect());
    let Some(pids) = process_ids() else {
        return scan;
    };
    // Small batches taken in turn: the dumps run beside this walk and slow one core or another.
    let parts = in_batches_counted(&pids, 8, |part| {
        let mut hits = Vec::new();
        let mut unreadable = 0;
        let mut inodes = Vec::new();
        for &pid in part {
            inodes.clear();
            if socket_inodes(pid, &mut inodes) {
                hits.extend(
                    inodes
                        .iter()
                        .filter(|i| wanted.as_ref().is_none_or(|w| w.contains(i)))
                        .map(|&i| (i, pid)),
                );
            } else {
                unreadable += 1;
            }
        }
        (hits, unreadable)
    });
    for (hits, unreadable) in parts.into_iter().flatten() {
        scan.unreadable += unreadable;
        for (inode, pid) in hits {
            scan.pids.entry(inode).or_default().push(pid);
        }
    }
    scan
}

/// The PIDs of every process in view (the numbered entries of /proc); `None` when /proc cannot
/// be listed.
fn process_ids() -> Option<Vec<u32>> {
    let dir = fs::read_dir("/proc").ok()?;
    Some(
        dir.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect(),
    )
}

/// Parent first among the holders of one socket (only shared sockets need the lookup).
pub(super) fn parent_first(scan: &mut ProcScan) {
    let mut depth: HashMap<u32, usize> = HashMap::new();
    // A holder gone since the walk (a child between its fork and its exec, which held a copy
    // of its parent's socket for a moment) has no ancestry to read: it comes last, never as
    // the first holder before the parent that holds the socket on (two suites at once named
    // such a child, its name already unreadable, instead of the test's own process).
    let depth_of = |p: u32| {
        if parent_of(p).is_some() {
            ancestors(p).len()
        } else {
            usize::MAX
        }
    };
    for holders in scan.pids.values_mut().filter(|h| h.len() > 1) {
        holders.sort_by_key(|p| (*depth.entry(*p).or_insert_with(|| depth_of(*p)), *p));
    }
}

/// Every process holding any of `inodes`, whatever its relation to the others: a socket reaches
/// a process by inheritance (a pre-fork server's workers, orphaned when their master is killed:
/// siblings re-parented to PID 1, none a parent of another) or by descriptor passing (SCM_RIGHTS,
/// pidfd_getfd) to a process of any executable, any parent and any user. No kernel interface
/// counts a socket's open descriptors, so a holder set found any other way may be incomplete:
/// every process is read, on every core. A process is read only until it shows every one of
/// `inodes` (a busy server's thousands of connections are not read past its listener, found
/// nearest-first), so the cost is the descriptors of the processes that do not hold the port.
/// Processes refused for want of descriptors while the threads ran side by side are read again
/// one at a time. The holders of each socket come parent first.
pub(super) fn find_every_holder(inodes: &[u64]) -> ProcScan {
    /// Processes per batch: a batch is tens of system calls, enough to outweigh taking it.
    const BATCH: usize = 8;
    let mut scan = ProcScan::default();
    if inodes.is_empty() {
        return scan;
    }
    let wanted: std::collections::HashSet<u64> = inodes.iter().copied().collect();
    let Some(pids) = process_ids() else {
        return scan;
    };
    let refusals = starved();
    let parts = in_batches_counted(&pids, BATCH, |part| {
        let (mut hits, mut unread) = (Vec::new(), Vec::new());
        for &pid in part {
            match holds_which(pid, &wanted) {
                None => unread.push(pid),
                Some(found) => hits.extend(found.into_iter().map(|i| (i, pid))),
            }
        }
        (hits, unread)
    });
    let mut unread = Vec::new();
    let mut hits = Vec::new();
    for (batch, part) in pids.chunks(BATCH).zip(parts) {
        match part {
            Some((h, u)) => {
                hits.extend(h);
                unread.extend(u);
            }
            None => unread.extend_from_slice(batch),
        }
    }
    if starved() != refusals {
        unread.retain(|&pid| match holds_which(pid, &wanted) {
            None => true,
            Some(found) => {
                hits.extend(found.into_iter().map(|i| (i, pid)));
                false
            }
        });
    }
    scan.unreadable = unread.len();
    for (inode, pid) in hits {
        scan.pids.entry(inode).or_default().push(pid);
    }
    parent_first(&mut scan);
    for holders in scan.pids.values_mut() {
        holders.dedup();
    }
    scan
}

/// One holder of each of `inodes` (not every one): processes read newest first (the highest
/// PIDs: a socket bound a moment ago is most often a new process's), each only until it shows
/// the inodes still missing, and the walk stops as soon as every inode has a holder. In the
/// worst case (an old process holds one) it reads what [`find_every_holder`] reads.
pub(super) fn find_a_holder(inodes: &[u64]) -> ProcScan {
    let mut scan = ProcScan::default();
    let mut missing: std::collections::HashSet<u64> = inodes.iter().copied().collect();
    if missing.is_empty() {
        return scan;
    }
    let Some(mut pids) = process_ids() else {
        return scan;
    };
    pids.sort_unstable_by(|a, b| b.cmp(a));
    for pid in pids {
        match holds_which(pid, &missing) {
            None => scan.unreadable += 1,
            Some(found) => {
                for i in found {
                    missing.remove(&i);
                    scan.pids.entry(i).or_default().push(pid);
                }
            }
        }
        if missing.is_empty() {
            break;
        }
    }
    scan
}

/// The parent chain of `pid`, nearest first, up to and including PID 1.
pub(in crate::owners) fn ancestors(pid: u32) -> Vec<u32> {
    let mut chain = Vec::new();
    let mut cur = pid;
    while let Some(ppid) = parent_of(cur) {
        if ppid == 0 || chain.contains(&ppid) || chain.len() > 64 {
            break;
        }
        chain.push(ppid);
        cur = ppid;
    }
    chain
}

/// The parent PID from `/proc/PID/stat` (the field after the parenthesised name, which may itself
/// contain spaces and parentheses).
pub(in crate::owners) fn parent_of(pid: u32) -> Option<u32> {
    parent_in_stat(&fs::read(format!("/proc/{pid}/stat")).ok()?)
}

/// `socket:[12345]` → 12345.
pub(super) fn parse_socket_link(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A holder that has ended comes after the living process that holds the socket on,
    /// whatever their PIDs and depths.
    #[test]
    fn a_holder_gone_since_the_walk_comes_last() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        let mut scan = ProcScan::default();
        scan.pids.insert(1, vec![gone, me]);
        scan.pids.insert(2, vec![me, gone]);
        parent_first(&mut scan);
        assert_eq!(scan.pids[&1], vec![me, gone]);
        assert_eq!(scan.pids[&2], vec![me, gone]);
    }

    #[test]
    fn socket_links_parse() {
        assert_eq!(parse_socket_link("socket:[4242]"), Some(4242));
        assert_eq!(parse_socket_link("pipe:[4242]"), None);
        assert_eq!(parse_socket_link("/dev/null"), None);
    }
}
