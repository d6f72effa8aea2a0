//! Property tests: what the tool prints, it reads back. A target written as `display_addr`
//! (`*:8080` for all interfaces, `[::1]:8080`, `[fe80::1%eth0]:80`, `host.example:53`) parses to
//! the same host and port; ranges and ports round-trip; no input panics a parser.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::net::{Ipv4Addr, Ipv6Addr};

use port_inspector::Target;
use port_inspector::target::{parse_host_port, parse_port, parse_range};
use proptest::prelude::*;

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<u32>().prop_map(|n| Ipv4Addr::from(n).to_string()),
        any::<u128>().prop_map(|n| Ipv6Addr::from(n).to_string()),
        (any::<u128>(), "[a-z][a-z0-9]{0,7}")
            .prop_map(|(n, s)| format!("{}%{s}", Ipv6Addr::from(n))),
        "[a-z][a-z0-9-]{0,20}(\\.[a-z][a-z0-9-]{0,20}){0,3}",
    ]
}

proptest! {
    #[test]
    fn a_printed_target_reads_back(h in host(), port in any::<u16>()) {
        let t = Target::tcp(&h, port);
        let printed = t.display_addr();
        let (host, p) = parse_host_port(&printed).unwrap();
        prop_assert_eq!(p, port);
        prop_assert_eq!(host.to_string(), h);
    }

    #[test]
    fn ports_and_ranges_read_back(a in 1u16.., b in 1u16..) {
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert_eq!(parse_range(&format!("{lo}-{hi}")).unwrap(), (lo, hi));
        prop_assert_eq!(parse_port(&lo.to_string()).unwrap(), lo);
    }

    #[test]
    fn no_text_panics_the_parsers(s in "\\PC{0,80}") {
        let _ = parse_host_port(&s);
        let _ = parse_range(&s);
        let _ = parse_port(&s);
        let _ = port_inspector::target::validate_host(&s);
    }
}
