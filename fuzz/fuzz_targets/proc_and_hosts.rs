//! `/proc` values, os-release, the hosts file and cgroup paths.
#![no_main]

use libfuzzer_sys::fuzz_target;
use port_inspector::facts::procfs;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = procfs::parse_port_range(&s);
    let _ = procfs::parse_reserved_ports(&s);
    let _ = procfs::parse_os_release(&s);
    let _ = port_inspector::probe::parse_hosts(&s, "localhost");
    let _ = port_inspector::end::supervisor_from_cgroup(&s);
});
