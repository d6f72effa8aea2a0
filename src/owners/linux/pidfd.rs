//! Sockets borrowed from the process that holds them (`pidfd_open` + `pidfd_getfd`, root or
//! ptrace rights) and asked what sock_diag cannot say: bound-only TCP sockets on kernels before
//! 6.9, and SO_REUSEPORT.

use std::fs;
use std::net::SocketAddr;
use std::sync::Arc;

use super::details::proc_info;
use super::walk::parse_socket_link;
use crate::owners::{Owner, OwnerNote, SockState, passwd};
use crate::target::{Family, Protocol};

/// Finds TCP sockets bound to one of `ports` that neither listen nor connect, by borrowing each
/// socket descriptor of each process we may inspect (`pidfd_open` + `pidfd_getfd`, which needs
/// root or ptrace rights over the process) and asking it `getsockname`. Sockets whose inode is in
/// `known` are skipped. Returns the owners found and how many processes we could not inspect.
pub(in crate::owners) fn bound_only_by_pidfd(
    ports: &[u16],
    known: &std::collections::HashSet<u64>,
) -> (Vec<Owner>, usize) {
    use rustix::net::{SocketType, getpeername, getsockname, sockopt};
    use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};

    let mut found = Vec::new();
    let mut denied = 0;
    let Ok(dir) = fs::read_dir("/proc") else {
        return (found, denied);
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let mut pidfd = None;
        for fd in fds.flatten() {
            let Some(num) = fd.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Some(inode) = fs::read_link(fd.path())
                .ok()
                .and_then(|l| parse_socket_link(l.to_str().unwrap_or("")))
            else {
                continue;
            };
            if known.contains(&inode) {
                continue;
            }
            if pidfd.is_none() {
                if let Some(Ok(p)) = Pid::from_raw(pid).map(|p| pidfd_open(p, PidfdFlags::empty()))
                {
                    pidfd = Some(p);
                } else {
                    denied += 1;
                    break;
                }
            }
            let Some(pfd) = pidfd.as_ref() else { break };
            let Ok(sock) = pidfd_getfd(pfd, num, PidfdGetfdFlags::empty()) else {
                denied += 1;
                break;
            };
            let stream = sockopt::socket_type(&sock).is_ok_and(|t| t == SocketType::STREAM);
            let Some(local) = getsockname(&sock)
                .ok()
                .and_then(|a| SocketAddr::try_from(a).ok())
            else {
                continue;
            };
            if !stream || !ports.contains(&local.port()) {
                continue;
            }
            let listening = sockopt::socket_acceptconn(&sock).unwrap_or(true);
            let connected = getpeername(&sock).ok().flatten().is_some();
            if listening || connected {
                continue;
            }
            let pid_u = u32::try_from(pid).unwrap_or(0);
            let info = proc_info(pid_u);
            let Some(uid) = info.uid.or_else(|| {
                entry
                    .metadata()
                    .ok()
                    .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            }) else {
                continue;
            };
            found.push(Owner {
                pid: Some(pid_u),
                pids: vec![pid_u],
                process: info.name,
                path: info.path,
                cmdline: info.cmdline,
                user: Some(passwd::user_name(uid)),
                uid: Some(uid),
                protocol: Protocol::Tcp,
                family: if local.is_ipv4() {
                    Family::Ipv4
                } else {
                    Family::Ipv6
                },
                local,
                remote: None,
                state: SockState::BoundOnly,
                v6_only: None,
                inode,
                note: Some(OwnerNote::FoundByDescriptor),
                holder: None,
                reuse_port: None,
                ancestry: Arc::default(),
                kernel: None,
                device: None,
                managed_by: None,
            });
        }
    }
    (found, denied)
}

/// Whether the socket `inode` held by `pid` has SO_REUSEPORT set: sock_diag does not report it,
/// so the socket is borrowed (pidfd_getfd, root or ptrace rights) and asked. `None` when it
/// cannot be (no rights, the process or socket is gone).
pub(in crate::owners) fn reuseport_of(pid: u32, inode: u64) -> Option<bool> {
    use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};
    let pidfd = pidfd_open(
        Pid::from_raw(i32::try_from(pid).ok()?)?,
        PidfdFlags::empty(),
    )
    .ok()?;
    let fd = fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .flatten()
        .find_map(|e| {
            let link = fs::read_link(e.path()).ok()?;
            (parse_socket_link(link.to_str()?)? == inode)
                .then(|| e.file_name().to_str()?.parse::<i32>().ok())
                .flatten()
        })?;
    let sock = pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty()).ok()?;
    rustix::net::sockopt::socket_reuseport(&sock).ok()
}
