//! Windows facts from `netsh` (excluded and dynamic port ranges) and the process token level.

use super::{Facts, PortScope, netsh};
use crate::target::{Family, Protocol};

use super::command_output as run;

pub(super) fn gather_into(f: &mut Facts) {
    f.os_version =
        run(&["cmd", "/C", "ver"]).map_or_else(|| "Windows".into(), |s| s.trim().to_owned());
    // S-1-16-12288 is the High Mandatory Level SID: the token is elevated.
    f.elevated = run(&["whoami", "/groups"]).is_some_and(|s| s.contains("S-1-16-12288"));
    f.unprivileged_port_start = Some(0);
    for (family, fam) in [(Family::Ipv4, "ipv4"), (Family::Ipv6, "ipv6")] {
        for (protocol, proto) in [(Protocol::Tcp, "tcp"), (Protocol::Udp, "udp")] {
            excluded_into(f, PortScope::of(protocol, family), fam, proto);
        }
    }
    if let Some(text) = run(&["netsh", "int", "ipv4", "show", "dynamicport", "tcp"]) {
        f.ephemeral_range =
            netsh::parse_dynamic_range(&text, PortScope::of(Protocol::Tcp, Family::Ipv4));
    }
}

/// The excluded port ranges of one protocol (`proto`, netsh's word) of one family (`fam`), or
/// `scope` among those that could not be read.
fn excluded_into(f: &mut Facts, scope: PortScope, fam: &str, proto: &str) {
    match run(&[
        "netsh",
        "int",
        fam,
        "show",
        "excludedportrange",
        &format!("protocol={proto}"),
    ])
    .and_then(|text| netsh::parse_excluded_ranges(&text, scope))
    {
        Some(ranges) => f.reserved_ranges.extend(ranges),
        None => f.excluded_unread.push(scope),
    }
}
