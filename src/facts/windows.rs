//! Windows facts from `netsh` (excluded and dynamic port ranges) and the process token level.

use super::{Facts, netsh};

use super::command_output as run;

pub(super) fn gather_into(f: &mut Facts) {
    f.os_version =
        run(&["cmd", "/C", "ver"]).map_or_else(|| "Windows".into(), |s| s.trim().to_owned());
    // S-1-16-12288 is the High Mandatory Level SID: the token is elevated.
    f.elevated = run(&["whoami", "/groups"]).is_some_and(|s| s.contains("S-1-16-12288"));
    f.unprivileged_port_start = Some(0);
    for (fam, proto) in [
        ("ipv4", "tcp"),
        ("ipv4", "udp"),
        ("ipv6", "tcp"),
        ("ipv6", "udp"),
    ] {
        let scope = format!("{proto} {fam}");
        match run(&[
            "netsh",
            "int",
            fam,
            "show",
            "excludedportrange",
            &format!("protocol={proto}"),
        ])
        .and_then(|text| netsh::parse_excluded_ranges(&text, &scope))
        {
            Some(ranges) => f.reserved_ranges.extend(ranges),
            None => f.excluded_unread.push(scope),
        }
    }
    if let Some(text) = run(&["netsh", "int", "ipv4", "show", "dynamicport", "tcp"]) {
        f.ephemeral_range = netsh::parse_dynamic_range(&text, "tcp");
    }
}
