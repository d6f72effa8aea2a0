//! The machine facts as a table of name, value and what each means for binds: made here from
//! the typed [`Facts`], for the OS the facts were read on (a fleet answer from Windows reads as
//! Windows' facts on a Linux desk), the same rows for `facts`, the report and the window.

use serde::Serialize;

use crate::facts::Facts;
use crate::platform::Os;
use crate::wording::port_scope;

/// One row of the facts table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactRow {
    /// `net.ipv4.ip_unprivileged_port_start`.
    pub name: String,
    /// `1024`: outside text (the OS's version, a namespace) is not yet escaped.
    pub value: String,
    /// Why it matters for binds.
    pub meaning: String,
}

/// A value that could not be read (a /proc without /proc/sys, `subset=pid`): unknown, never a
/// default stated as fact.
const UNREAD: &str = "unknown (not readable here)";

fn row(name: &str, value: impl Into<String>, meaning: impl Into<String>) -> FactRow {
    FactRow {
        name: name.to_owned(),
        value: value.into(),
        meaning: meaning.into(),
    }
}

fn one_zero(b: Option<bool>) -> String {
    b.map_or_else(
        || "unknown".to_owned(),
        |b| if b { "1" } else { "0" }.to_owned(),
    )
}

/// The table of `f`, for the OS it was read on.
#[must_use]
pub fn table(f: &Facts) -> Vec<FactRow> {
    match f.os {
        Os::Linux => linux(f),
        Os::Macos => macos(f),
        Os::Windows => windows(f),
    }
}

fn linux(f: &Facts) -> Vec<FactRow> {
    let caps_here = f.netns_caps_apply != Some(false);
    let uid = f
        .uid
        .map_or_else(|| "unknown".to_owned(), |u| u.to_string());
    // `elevated` is the answer; the uid and where the capabilities count say why root is not.
    let elevated = match (f.elevated, f.uid == Some(0) && !caps_here) {
        (true, _) => "yes, root",
        (false, true) => "no: root of a user namespace that does not own this network namespace",
        (false, false) => "no",
    };
    let bind_cap = match f.cap_net_bind_service_held {
        Some(true) if !caps_here => {
            "1 (its user namespace does not own this network namespace: not for binds here)"
                .to_owned()
        }
        held => one_zero(held.or(f.cap_net_bind_service)),
    };
    let mut t = vec![
        row("os", f.os_version.clone(), "Operating system and kernel."),
        row(
            "elevated",
            format!("{elevated} (uid {uid})"),
            if caps_here {
                "root, with its capabilities, may bind any port and see every process."
            } else {
                "Capabilities count only in the network namespaces their user namespace owns: here this process binds as any user does."
            },
        ),
        row(
            "CAP_NET_BIND_SERVICE",
            bind_cap,
            "Binding ports below the unprivileged start needs this capability, root included (containers often drop it).",
        ),
        row(
            "CAP_SYS_PTRACE",
            // Like the bind capability: held in a user namespace that does not own this network
            // namespace (`unshare -Ur`), it reaches only that namespace's processes.
            match f.cap_sys_ptrace {
                Some(true) if !caps_here => "1 (its user namespace is not this machine's: only its own processes can be inspected)".to_owned(),
                held => one_zero(held),
            },
            "Without it even root cannot see which process of another user owns a socket.",
        ),
        row(
            "net.ipv4.ip_unprivileged_port_start",
            f.unprivileged_port_start
                .map_or_else(|| UNREAD.to_owned(), |s| s.to_string()),
            f.unprivileged_port_start.map_or_else(
                || {
                    "Ports below it need root or CAP_NET_BIND_SERVICE (WSAEACCES otherwise)."
                        .to_owned()
                },
                |s| {
                    format!(
                        "Ports below {s} need root or CAP_NET_BIND_SERVICE (WSAEACCES otherwise)."
                    )
                },
            ),
        ),
    ];
    if let Some(r) = &f.ephemeral_range {
        t.push(row(
            "net.ipv4.ip_local_port_range",
            format!("{}-{}", r.start, r.end),
            "Ports handed to outgoing connections; a server port here may be taken at any moment.",
        ));
    }
    t.push(row(
        "net.ipv4.ip_local_reserved_ports",
        if f.reserved_unread {
            UNREAD.to_owned()
        } else if f.reserved_ranges.is_empty() {
            "(none)".to_owned()
        } else {
            f.reserved_ranges
                .iter()
                .map(|r| format!("{}-{}", r.start, r.end))
                .collect::<Vec<_>>()
                .join(",")
        },
        "Never handed out to outgoing connections; still bindable explicitly.",
    ));
    t.push(row(
        "net.ipv4.ip_nonlocal_bind",
        one_zero(f.nonlocal_bind_v4),
        "1 lets programs bind IPv4 addresses this machine does not have (no WSAEADDRNOTAVAIL).",
    ));
    t.push(row(
        "net.ipv6.ip_nonlocal_bind",
        one_zero(f.nonlocal_bind_v6),
        "The same for IPv6.",
    ));
    t.push(row(
        "net.ipv6.bindv6only",
        one_zero(f.bindv6only),
        "0: a socket on [::] also takes the IPv4 port (dual-stack) unless it sets IPV6_V6ONLY.",
    ));
    if let Some(ns) = &f.netns {
        t.push(row(
            "network namespace",
            ns.clone(),
            "Sockets in other namespaces (containers) are invisible from here and never conflict.",
        ));
    }
    t
}

fn macos(f: &Facts) -> Vec<FactRow> {
    vec![
        row("os", f.os_version.clone(), "Operating system."),
        row(
            "net.inet.ip.portrange.first/last",
            f.ephemeral_range.as_ref().map_or_else(
                || "unknown".to_owned(),
                |r| format!("{}-{}", r.start, r.end),
            ),
            "Ports handed to outgoing connections.",
        ),
        row(
            "privileged ports",
            "below 1024 on a specific address",
            "Since 10.14, non-root may bind low ports on the wildcard address only.",
        ),
    ]
}

fn windows(f: &Facts) -> Vec<FactRow> {
    let mut ranges: Vec<String> = f
        .reserved_ranges
        .iter()
        .map(|r| format!("{}-{} ({})", r.start, r.end, port_scope(&r.scope)))
        .collect();
    if ranges.is_empty() && f.excluded_unread.is_empty() {
        ranges.push("none".to_owned());
    }
    ranges.extend(f.excluded_unread.iter().map(|s| {
        format!(
            "unknown for {} (netsh's answer could not be read)",
            port_scope(s)
        )
    }));
    vec![
        row("os", f.os_version.clone(), "Operating system."),
        row(
            "elevated",
            if f.elevated {
                "yes, Administrator"
            } else {
                "no"
            },
            "Administrators see every process that holds a port.",
        ),
        row(
            "excluded port ranges",
            ranges.join(", "),
            "Reserved by Hyper-V, WSL, Docker or WinNAT; binding inside gives WSAEACCES 10013.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{PortRange, PortScope};
    use crate::target::{Family, Protocol};

    fn linux_facts() -> Facts {
        Facts {
            os: Os::Linux,
            os_version: "Debian GNU/Linux 12, kernel 6.18".into(),
            elevated: true,
            uid: Some(0),
            cap_net_bind_service: Some(true),
            cap_net_bind_service_held: Some(true),
            unprivileged_port_start: Some(1024),
            ephemeral_range: Some(PortRange {
                start: 32768,
                end: 60999,
                scope: PortScope::ALL,
            }),
            ..Facts::default()
        }
    }

    fn value<'a>(t: &'a [FactRow], name: &str) -> &'a str {
        &t.iter().find(|r| r.name == name).expect(name).value
    }

    #[test]
    fn linux_rows_say_what_was_read_and_what_was_not() {
        let mut f = linux_facts();
        let t = table(&f);
        assert_eq!(value(&t, "elevated"), "yes, root (uid 0)");
        assert_eq!(value(&t, "net.ipv4.ip_local_port_range"), "32768-60999");
        assert_eq!(value(&t, "net.ipv4.ip_local_reserved_ports"), "(none)");
        assert_eq!(value(&t, "net.ipv4.ip_nonlocal_bind"), "unknown");
        f.reserved_unread = true;
        // Root of a user namespace that does not own this network namespace (as gathered).
        f.netns_caps_apply = Some(false);
        f.elevated = false;
        f.cap_net_bind_service = Some(false);
        let t = table(&f);
        assert_eq!(value(&t, "net.ipv4.ip_local_reserved_ports"), UNREAD);
        assert!(
            value(&t, "CAP_NET_BIND_SERVICE").starts_with("1 (its user namespace"),
            "held, but not for binds here"
        );
        assert!(value(&t, "elevated").starts_with("no: root of a user namespace"));
        f.cap_sys_ptrace = Some(true);
        assert!(
            table(&f)
                .iter()
                .any(|r| r.name == "CAP_SYS_PTRACE" && r.value.starts_with("1 (its user namespace")),
            "held, but not for the machine's processes"
        );
    }

    #[test]
    fn windows_rows_say_an_unread_scope() {
        let f = Facts {
            os: Os::Windows,
            excluded_unread: vec![PortScope::of(Protocol::Tcp, Family::Ipv6)],
            ..Facts::default()
        };
        let t = table(&f);
        assert_eq!(
            value(&t, "excluded port ranges"),
            "unknown for TCP over IPv6 (netsh's answer could not be read)"
        );
    }
}
