//! Linux facts from `/proc/sys/net` and `/proc/self`.

use std::fs;

use super::{Facts, procfs};

/// `NS_GET_USERNS`: the user namespace that owns a namespace, as a new descriptor.
const NS_GET_USERNS: u64 = 0xb701;
/// `NS_GET_PARENT`: a user namespace's parent; EPERM past what this process may see.
const NS_GET_PARENT: u64 = 0xb702;

/// One namespace ioctl that takes no argument and answers with a new descriptor.
#[allow(unsafe_code)] // Two ioctls with no argument; see the SAFETY notes.
fn ns_ioctl(fd: &std::fs::File, request: u64) -> std::io::Result<std::fs::File> {
    use std::os::fd::{AsRawFd as _, FromRawFd as _};
    // SAFETY: NS_GET_USERNS and NS_GET_PARENT read no argument and write none of this
    // process's memory; `fd` is open for the whole call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), request as libc::Ioctl) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: on success the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { std::fs::File::from_raw_fd(r) })
}

/// Whether this process's user namespace owns this network namespace or is an ancestor of its
/// owner, i.e. whether its capabilities count for binds here: the owner is asked of the kernel
/// and followed up to this process's own user namespace; EPERM means the owner, or the walk,
/// lies outside what this process may see, so its namespace is not among the owner's ancestors.
fn netns_caps_apply() -> Option<bool> {
    use std::os::unix::fs::MetadataExt as _;
    let ours = fs::metadata("/proc/self/ns/user").ok()?;
    let net = fs::File::open("/proc/self/ns/net").ok()?;
    // EPERM: the owner is outside this process's user namespace (an ancestor of it).
    let mut owner = match ns_ioctl(&net, NS_GET_USERNS) {
        Ok(owner) => owner,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Some(false),
        Err(_) => return None,
    };
    for _ in 0..64 {
        let m = owner.metadata().ok()?;
        if (m.dev(), m.ino()) == (ours.dev(), ours.ino()) {
            return Some(true);
        }
        owner = match ns_ioctl(&owner, NS_GET_PARENT) {
            Ok(parent) => parent,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Some(false),
            Err(_) => return None,
        };
    }
    None
}

fn read(path: &str) -> Option<String> {
    fs::read_to_string(path).ok()
}

fn flag(path: &str) -> Option<bool> {
    read(path).map(|s| s.trim() == "1")
}

pub(super) fn gather_into(f: &mut Facts) {
    let release = read("/proc/sys/kernel/osrelease").unwrap_or_default();
    let distro = read("/etc/os-release")
        .and_then(|t| procfs::parse_os_release(&t))
        .unwrap_or_else(|| "Linux".into());
    f.os_version = format!("{distro}, kernel {}", release.trim());
    // The effective uid and capabilities from the kernel (capget), not parsed from /proc text.
    let uid = rustix::process::geteuid().as_raw();
    let caps = rustix::thread::capabilities(None).ok().map(|c| c.effective);
    f.uid = Some(uid);
    f.netns_caps_apply = netns_caps_apply();
    let caps_here = f.netns_caps_apply != Some(false);
    // Root whose rights count here: root of a user namespace that does not own this network
    // namespace (`unshare -Ur`) binds and sees as any user does.
    f.elevated = uid == 0 && caps_here;
    let has_bind_cap = caps.map(|c| c.contains(rustix::thread::CapabilitySet::NET_BIND_SERVICE));
    // A capability of a user namespace that does not own this network namespace grants
    // nothing for binds here.
    f.cap_net_bind_service = has_bind_cap.map(|c| c && caps_here);
    f.cap_net_bind_service_held = has_bind_cap;
    f.cap_sys_ptrace = caps.map(|c| c.contains(rustix::thread::CapabilitySet::SYS_PTRACE));
    f.unprivileged_port_start =
        read("/proc/sys/net/ipv4/ip_unprivileged_port_start").and_then(|s| s.trim().parse().ok());
    f.ephemeral_range =
        read("/proc/sys/net/ipv4/ip_local_port_range").and_then(|t| procfs::parse_port_range(&t));
    let reserved = read("/proc/sys/net/ipv4/ip_local_reserved_ports");
    f.reserved_unread = reserved.is_none();
    f.reserved_ranges = reserved
        .as_deref()
        .map(procfs::parse_reserved_ports)
        .unwrap_or_default();
    f.tcp_fin_timeout =
        read("/proc/sys/net/ipv4/tcp_fin_timeout").and_then(|s| s.trim().parse().ok());
    f.nonlocal_bind_v4 = flag("/proc/sys/net/ipv4/ip_nonlocal_bind");
    f.nonlocal_bind_v6 = flag("/proc/sys/net/ipv6/ip_nonlocal_bind");
    f.bindv6only = flag("/proc/sys/net/ipv6/bindv6only");
    f.netns = fs::read_link("/proc/self/ns/net")
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
}
