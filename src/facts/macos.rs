//! macOS facts from `sysctl` and the process's own effective uid.

use super::{Facts, PortRange, PortScope};

use super::command_output as run;

pub(super) fn gather_into(f: &mut Facts) {
    f.os_version = run(&["sw_vers", "-productVersion"])
        .map_or_else(|| "macOS".into(), |v| format!("macOS {v}"));
    f.uid = Some(rustix::process::geteuid().as_raw());
    f.elevated = f.uid == Some(0);
    f.unprivileged_port_start = Some(1024);
    let first = run(&["sysctl", "-n", "net.inet.ip.portrange.first"]).and_then(|s| s.parse().ok());
    let last = run(&["sysctl", "-n", "net.inet.ip.portrange.last"]).and_then(|s| s.parse().ok());
    if let (Some(start), Some(end)) = (first, last) {
        f.ephemeral_range = Some(PortRange {
            start,
            end,
            scope: PortScope::ALL,
        });
    }
}
