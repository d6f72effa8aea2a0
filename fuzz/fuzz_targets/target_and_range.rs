//! `[HOST:]PORT`, ports, ranges, hosts and seconds as the user types them, and the escaping of
//! whatever they contain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use port_inspector::target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Ok((host, port)) = target::parse_host_port(&s) {
        // What parses, prints and parses back the same.
        let printed = port_inspector::Target::tcp(host.clone(), port).display_addr();
        assert_eq!(target::parse_host_port(&printed).ok(), Some((host, port)));
    }
    let _ = target::parse_port(&s);
    let _ = target::parse_range(&s);
    let _ = target::validate_host(&s);
    let _ = target::parse_seconds(&s, 0.1, 300.0, "--timeout");
    let _ = target::parse_count(&s, 1000);
    let clean = port_inspector::text::clean(&s);
    assert!(!clean.chars().any(char::is_control), "no control character survives");
    let _ = port_inspector::text::md(&s);
});
