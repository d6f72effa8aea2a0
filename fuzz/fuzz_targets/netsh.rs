//! Windows `netsh` output (any language, any damage).
#![no_main]

use libfuzzer_sys::fuzz_target;
use port_inspector::facts::netsh;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = netsh::parse_excluded_ranges(&s, "tcp");
    let _ = netsh::parse_dynamic_range(&s, "tcp");
    let _ = netsh::parse_portproxy(&s);
    let _ = netsh::parse_http_servicestate(&s);
});
