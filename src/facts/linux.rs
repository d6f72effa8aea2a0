//! Linux facts from `/proc/sys/net` and `/proc/self`.

use std::fs;

use super::{Fact, Facts, procfs};

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
    f.elevated = uid == 0;
    f.cap_net_bind_service =
        caps.map(|c| c.contains(rustix::thread::CapabilitySet::NET_BIND_SERVICE));
    f.cap_sys_ptrace = caps.map(|c| c.contains(rustix::thread::CapabilitySet::SYS_PTRACE));
    f.unprivileged_port_start =
        read("/proc/sys/net/ipv4/ip_unprivileged_port_start").and_then(|s| s.trim().parse().ok());
    f.ephemeral_range =
        read("/proc/sys/net/ipv4/ip_local_port_range").and_then(|t| procfs::parse_port_range(&t));
    f.reserved_ranges = read("/proc/sys/net/ipv4/ip_local_reserved_ports")
        .map(|t| procfs::parse_reserved_ports(&t))
        .unwrap_or_default();
    f.tcp_fin_timeout =
        read("/proc/sys/net/ipv4/tcp_fin_timeout").and_then(|s| s.trim().parse().ok());
    f.nonlocal_bind_v4 = flag("/proc/sys/net/ipv4/ip_nonlocal_bind");
    f.nonlocal_bind_v6 = flag("/proc/sys/net/ipv6/ip_nonlocal_bind");
    f.bindv6only = flag("/proc/sys/net/ipv6/bindv6only");
    f.netns = fs::read_link("/proc/self/ns/net")
        .ok()
        .map(|p| p.to_string_lossy().into_owned());

    let yes_no = |b: Option<bool>| {
        b.map_or("unknown".to_owned(), |b| {
            if b { "1".into() } else { "0".into() }
        })
    };
    let mut t = vec![
        Fact {
            name: "os".into(),
            value: f.os_version.clone(),
            meaning: "Operating system and kernel.".into(),
        },
        Fact {
            name: "elevated".into(),
            value: format!(
                "{} (uid {})",
                if f.elevated { "yes, root" } else { "no" },
                uid
            ),
            meaning: "root, with its capabilities, may bind any port and see every process.".into(),
        },
        Fact {
            name: "CAP_NET_BIND_SERVICE".into(),
            value: yes_no(f.cap_net_bind_service),
            meaning: "Binding ports below the unprivileged start needs this capability, root included (containers often drop it).".into(),
        },
        Fact {
            name: "CAP_SYS_PTRACE".into(),
            value: yes_no(f.cap_sys_ptrace),
            meaning: "Without it even root cannot see which process of another user owns a socket.".into(),
        },
    ];
    if let Some(s) = f.unprivileged_port_start {
        t.push(Fact {
            name: "net.ipv4.ip_unprivileged_port_start".into(),
            value: s.to_string(),
            meaning: format!(
                "Ports below {s} need root or CAP_NET_BIND_SERVICE (WSAEACCES otherwise)."
            ),
        });
    }
    if let Some(r) = &f.ephemeral_range {
        t.push(Fact {
            name: "net.ipv4.ip_local_port_range".into(),
            value: format!("{}-{}", r.start, r.end),
            meaning: "Ports handed to outgoing connections; a server port here may be taken at any moment.".into(),
        });
    }
    t.push(Fact {
        name: "net.ipv4.ip_local_reserved_ports".into(),
        value: if f.reserved_ranges.is_empty() {
            "(none)".into()
        } else {
            f.reserved_ranges
                .iter()
                .map(|r| format!("{}-{}", r.start, r.end))
                .collect::<Vec<_>>()
                .join(",")
        },
        meaning: "Never handed out to outgoing connections; still bindable explicitly.".into(),
    });
    t.push(Fact {
        name: "net.ipv4.ip_nonlocal_bind".into(),
        value: yes_no(f.nonlocal_bind_v4),
        meaning:
            "1 lets programs bind IPv4 addresses this machine does not have (no WSAEADDRNOTAVAIL)."
                .into(),
    });
    t.push(Fact {
        name: "net.ipv6.ip_nonlocal_bind".into(),
        value: yes_no(f.nonlocal_bind_v6),
        meaning: "The same for IPv6.".into(),
    });
    t.push(Fact {
        name: "net.ipv6.bindv6only".into(),
        value: yes_no(f.bindv6only),
        meaning:
            "0: a socket on [::] also takes the IPv4 port (dual-stack) unless it sets IPV6_V6ONLY."
                .into(),
    });
    if let Some(ns) = &f.netns {
        t.push(Fact {
            name: "network namespace".into(),
            value: ns.clone(),
            meaning: "Sockets in other namespaces (containers) are invisible from here and never conflict.".into(),
        });
    }
    f.table = t;
}
