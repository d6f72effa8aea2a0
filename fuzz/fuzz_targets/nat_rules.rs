//! `nft list ruleset` and `iptables-save -t nat` output, whose rule comments anyone with
//! CAP_NET_ADMIN in the namespace writes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use port_inspector::Protocol;
use port_inspector::nat;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    for port in [0, 80, 8080, 65535] {
        let _ = nat::parse_nft(&s, port, Protocol::Tcp);
        let _ = nat::parse_iptables_save(&s, port, Protocol::Udp);
    }
});
