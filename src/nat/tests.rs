//! The NAT rules' parsers on fixtures (nft's and iptables' own printouts, captured in a private
//! network namespace unless said), and which connections a rule catches for an address.

use super::*;

const NFT: &str = include_str!("../../tests/fixtures/nft_ruleset.txt");
const IPT: &str = include_str!("../../tests/fixtures/iptables_save_nat.txt");

/// `nft list ruleset` as nftables 1.0.6 printed a named set and a DNAT map (captured in a
/// private network namespace).
const NFT_SETS: &str = "table ip pi {
\tset webports {
\t\ttype inet_service
\t\tflags interval
\t\telements = { 8081, 8443, 9000-9010 }
\t}

\tmap portmap {
\t\ttype inet_service : ipv4_addr . inet_service
\t\telements = { 7000 : 10.9.0.2 . 80 }
\t}

\tchain pre {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\ttcp dport @webports dnat to 10.9.0.2:8080
\t\tdnat ip to tcp dport map @portmap
\t}
}
";

#[test]
fn nft_named_sets_and_maps() {
    let to = |port, p| -> Vec<String> {
        parse_nft(NFT_SETS, port, p)
            .into_iter()
            .map(|r| r.to)
            .collect()
    };
    assert_eq!(to(8443, Protocol::Tcp), ["10.9.0.2:8080"]);
    assert_eq!(
        to(9005, Protocol::Tcp),
        ["10.9.0.2:8080"],
        "a range in the set"
    );
    assert_eq!(to(7000, Protocol::Tcp), ["10.9.0.2:80"], "through the map");
    assert!(to(8082, Protocol::Tcp).is_empty(), "in no set");
    assert!(to(8443, Protocol::Udp).is_empty(), "another protocol");
}

#[test]
fn nft_dnat_and_redirect() {
    let r = parse_nft(NFT, 8080, Protocol::Tcp);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].to, "10.9.9.9:80");
    let u = parse_nft(NFT, 5353, Protocol::Udp);
    assert_eq!(u[0].to, ":5300", "set match and redirect");
    assert!(
        parse_nft(NFT, 8080, Protocol::Udp).is_empty(),
        "protocol respected"
    );
    assert_eq!(
        parse_nft(NFT, 8050, Protocol::Tcp)[0].to,
        "192.168.50.2:8050",
        "range match"
    );
    assert!(
        parse_nft(NFT, 9999, Protocol::Tcp).is_empty(),
        "other ports untouched"
    );
}

#[test]
fn iptables_docker_dnat() {
    let r = parse_iptables_save(IPT, RuleFamily::Ip, 8080, Protocol::Tcp);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].to, "172.17.0.2:80");
    assert_eq!(
        parse_iptables_save(IPT, RuleFamily::Ip, 2222, Protocol::Tcp)[0].to,
        ":22",
        "redirect"
    );
    assert!(
        parse_iptables_save(IPT, RuleFamily::Ip, 53, Protocol::Tcp).is_empty(),
        "MASQUERADE is not a redirect"
    );
}

/// `nft -a list ruleset` of a private network namespace holding: iptables-nft rules (`ip nat`,
/// `ip6 nat`: a DNAT, a multiport REDIRECT at output, an ip6tables REDIRECT nft cannot
/// translate), and native tables with a named set, a DNAT map, a verdict map (named and
/// anonymous) jumping to a chain that redirects, an output rule for 127.0.0.1, an `inet` and an
/// `ip6` table. Captured with nftables 1.0.6 and iptables 1.8.9.
const NFT_ALL: &str = include_str!("../../tests/fixtures/nft_ruleset_handles.txt");
/// `iptables-save -t nat` and `ip6tables-save -t nat` of the same namespace (nf_tables backend).
const IPT_NFT: &str = include_str!("../../tests/fixtures/iptables_nft_save_nat.txt");
const IP6T_NFT: &str = include_str!("../../tests/fixtures/ip6tables_nft_save_nat.txt");

fn one(v: Vec<NatRedirect>) -> NatRedirect {
    assert_eq!(v.len(), 1, "{v:#?}");
    v.into_iter().next().unwrap()
}

#[test]
fn nft_rules_carry_family_table_chain_hook_and_handle() {
    let r = one(parse_nft(NFT_ALL, 8443, Protocol::Tcp));
    assert_eq!(
        (
            r.family,
            r.table.as_str(),
            r.chain.as_str(),
            r.hooks.as_slice(),
            r.handle
        ),
        (
            RuleFamily::Ip,
            "pi",
            "pre",
            [Hook::Prerouting].as_slice(),
            Some(8)
        ),
        "{r:#?}"
    );
    assert_eq!(r.matched, "tcp dport @webports");
    assert_eq!(r.via.as_deref(), Some("the port is in set @webports"));
    assert_eq!(
        r.remove_argv().unwrap().join(" "),
        "nft delete rule ip pi pre handle 8"
    );
    assert_eq!(r.show_argv().join(" "), "nft -a list chain ip pi pre");

    let out = one(parse_nft(NFT_ALL, 7300, Protocol::Tcp));
    assert_eq!(
        (out.chain.as_str(), out.hooks.as_slice(), out.to.as_str()),
        ("out", [Hook::Output].as_slice(), ":5301")
    );
    assert_eq!(
        out.paths[0].daddr.len(),
        1,
        "ip daddr 127.0.0.1 is a condition"
    );

    let inet = one(parse_nft(NFT_ALL, 7400, Protocol::Tcp));
    assert_eq!((inet.family, inet.to.as_str()), (RuleFamily::Inet, ":5302"));
    let six = one(parse_nft(NFT_ALL, 7500, Protocol::Tcp));
    assert_eq!(
        (six.family, six.to.as_str()),
        (RuleFamily::Ip6, "[fd00::2]:80")
    );
}

#[test]
fn nft_verdict_maps_lead_to_the_chain_that_redirects() {
    for (port, via) in [(7100, "vmap @vm"), (7200, "vmap { 7200 : jump tolocal }")] {
        let r = one(parse_nft(NFT_ALL, port, Protocol::Tcp));
        assert_eq!(
            (r.chain.as_str(), r.to.as_str(), r.handle),
            ("tolocal", ":5300", Some(7)),
            "{port}"
        );
        assert_eq!(
            r.hooks,
            [Hook::Prerouting],
            "reached from the prerouting chain"
        );
        let how = r.via.unwrap();
        assert!(
            how.contains("chain pre by the verdict map") && how.contains(via),
            "{how}"
        );
    }
    assert!(
        parse_nft(NFT_ALL, 7101, Protocol::Tcp).is_empty(),
        "not a key of the map"
    );
    assert!(
        parse_nft(NFT_ALL, 7100, Protocol::Udp).is_empty(),
        "the target rule is tcp only"
    );
}

#[test]
fn iptables_nft_rules_are_read_from_nft_and_from_iptables() {
    // nft prints iptables-nft's DNAT translated.
    let r = one(parse_nft(NFT_ALL, 7600, Protocol::Tcp));
    assert_eq!(
        (r.table.as_str(), r.chain.as_str(), r.to.as_str()),
        ("nat", "PREROUTING", "10.9.0.4:80")
    );
    // iptables-save of the nf_tables backend: the rule as iptables removes it.
    let r = one(parse_iptables_save(
        IPT_NFT,
        RuleFamily::Ip,
        7600,
        Protocol::Tcp,
    ));
    assert_eq!(
        (r.firewall, r.to.as_str(), r.hooks.as_slice()),
        (
            Firewall::IptablesNft,
            "10.9.0.4:80",
            [Hook::Prerouting].as_slice()
        )
    );
    assert_eq!(
        r.remove_argv().unwrap().join(" "),
        "iptables -t nat -D PREROUTING -p tcp -m tcp --dport 7600 -j DNAT --to-destination 10.9.0.4:80"
    );
    let m = one(parse_iptables_save(
        IPT_NFT,
        RuleFamily::Ip,
        7701,
        Protocol::Tcp,
    ));
    assert_eq!(
        (m.to.as_str(), m.hooks.as_slice()),
        (":22", [Hook::Output].as_slice()),
        "multiport at output"
    );
    // ip6tables' REDIRECT, which nft 1.0.6 prints without its target, is read from ip6tables.
    assert!(
        parse_nft(NFT_ALL, 7800, Protocol::Tcp).is_empty(),
        "nft shows no action"
    );
    let six = one(parse_iptables_save(
        IP6T_NFT,
        RuleFamily::Ip6,
        7800,
        Protocol::Tcp,
    ));
    assert_eq!((six.family, six.to.as_str()), (RuleFamily::Ip6, ":80"));
    assert_eq!(six.remove_argv().unwrap()[0], "ip6tables");
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_rule_reaches_only_its_family_and_its_traffic() {
    let pre = one(parse_nft(NFT_ALL, 8443, Protocol::Tcp)); // ip, prerouting
    assert_eq!(
        pre.reach(&[ip("127.0.0.1")], false, &[]),
        None,
        "prerouting never sees this host's connections to loopback"
    );
    assert_eq!(
        pre.reach(&[ip("::1")], false, &[]),
        None,
        "nor an ip rule IPv6"
    );
    assert_eq!(
        pre.reach(&[ip("::")], false, &[]),
        None,
        "an IPv6-only wildcard gets no IPv4"
    );
    let r = pre.reach(&[ip("0.0.0.0")], false, &[]).unwrap();
    assert_eq!(
        (r.ipv4, r.ipv6, r.other_hosts, r.this_host),
        (true, false, true, false)
    );
    assert_eq!(r.untouched, [Untouched::ThisHost]);
    let dual = pre.reach(&[ip("::")], true, &[]).unwrap();
    assert_eq!((dual.ipv4, dual.ipv6), (true, false));
    assert_eq!(dual.untouched, [Untouched::ThisHost, Untouched::Ipv6]);

    let out = one(parse_nft(NFT_ALL, 7300, Protocol::Tcp)); // ip daddr 127.0.0.1, output
    let r = out.reach(&[ip("127.0.0.1")], false, &[]).unwrap();
    assert_eq!((r.this_host, r.other_hosts), (true, false));
    assert!(
        r.untouched.is_empty(),
        "other hosts cannot reach loopback: nothing left out: {r:?}"
    );
    assert_eq!(
        out.reach(&[ip("127.0.0.2")], false, &[]),
        None,
        "another destination"
    );
    let any = out.reach(&[ip("0.0.0.0")], false, &[]).unwrap();
    assert_eq!(
        any.untouched,
        [Untouched::OtherHosts, Untouched::OtherAddresses],
        "an output rule leaves other hosts' connections alone, and this one other addresses"
    );
    assert_eq!(
        any.daddr,
        [out.paths[0].daddr.clone()],
        "127.0.0.1 is named"
    );

    let inet = one(parse_nft(NFT_ALL, 7400, Protocol::Tcp));
    let r = inet.reach(&[ip("::")], true, &[]).unwrap();
    assert_eq!((r.ipv4, r.ipv6), (true, true), "an inet table sees both");
}

#[test]
fn docker_s_output_jump_leaves_loopback_alone() {
    // Docker's legacy rules: loopback excluded from the output jump, and from prerouting by
    // the kernel (martians).
    let ipt = format!("{IPT}\n-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n");
    let r = one(parse_iptables_save(
        &ipt,
        RuleFamily::Ip,
        8080,
        Protocol::Tcp,
    ));
    assert_eq!(r.firewall, Firewall::IptablesLegacy);
    assert_eq!(r.hooks, [Hook::Prerouting, Hook::Output]);
    assert_eq!(r.reach(&[ip("127.0.0.1")], false, &[]), None);
    let r2 = r.reach(&[ip("0.0.0.0")], false, &[ip("10.0.0.1")]).unwrap();
    assert_eq!((r2.other_hosts, r2.this_host), (true, true));
    assert_eq!(
        r.remove_argv().unwrap()[..5].join(" "),
        "iptables-legacy -t nat -D DOCKER"
    );
}

/// `nft -a list ruleset` of a private network namespace (nftables 1.0.6): address conditions, family matches in an inet table, and verdicts ahead of a
/// redirect.
const NFT_FIRST: &str = include_str!("../../tests/fixtures/nft_first_match.txt");

#[test]
fn a_rule_s_own_addresses_and_family_match_pick_its_connections() {
    let host = [ip("10.1.2.3"), ip("fd00::3")];
    let r = one(parse_nft(NFT_FIRST, 8086, Protocol::Tcp));
    let any = r.reach(&[ip("0.0.0.0")], false, &host).unwrap();
    assert_eq!((any.this_host, any.other_hosts), (true, false));
    assert_eq!(any.daddr[0][0].nets[0].addr, ip("127.0.0.5"));
    assert!(
        any.untouched.contains(&Untouched::OtherAddresses),
        "{any:?}"
    );
    assert_eq!(r.reach(&[ip("127.0.0.1")], false, &host), None);
    assert!(r.reach(&[ip("127.0.0.5")], false, &host).is_some());

    let pre = one(parse_nft(NFT_FIRST, 8091, Protocol::Tcp));
    assert_eq!(
        pre.reach(&[ip("0.0.0.0")], false, &host),
        None,
        "other hosts never reach 127.0.0.5"
    );

    let v4 = one(parse_nft(NFT_FIRST, 8092, Protocol::Tcp));
    let dual = v4.reach(&[ip("::")], true, &host).unwrap();
    assert_eq!((dual.ipv4, dual.ipv6), (true, false));
    assert!(dual.untouched.contains(&Untouched::Ipv6ByMatch), "{dual:?}");
    let v6 = one(parse_nft(NFT_FIRST, 8093, Protocol::Tcp));
    assert_eq!(v6.paths[0].only, Some(RuleFamily::Ip6));
    assert_eq!(v6.reach(&[ip("0.0.0.0")], false, &host), None);
    let dual = v6.reach(&[ip("::")], true, &host).unwrap();
    assert_eq!((dual.ipv4, dual.ipv6), (false, true));
    assert!(dual.untouched.contains(&Untouched::Ipv4ByMatch), "{dual:?}");
}

#[test]
fn a_verdict_ahead_of_the_redirect_takes_its_connections_first() {
    assert!(
        parse_nft(NFT_FIRST, 8087, Protocol::Tcp).is_empty(),
        "accept of the same match first: the redirect never applies"
    );
    let maybe = one(parse_nft(NFT_FIRST, 8088, Protocol::Tcp));
    assert_eq!(
        rules(&maybe.paths[0].earlier),
        ["meta mark 0x00000001 tcp dport 8088 accept (chain out)"],
        "a mark is not read: it may take some"
    );
    let apart = one(parse_nft(NFT_FIRST, 8089, Protocol::Tcp));
    assert_eq!(
        rules(&apart.paths[0].earlier),
        ["ip daddr 127.0.0.9 tcp dport 8089 return (chain out)"],
        "127.0.0.9 is outside 10.0.0.0/8: it may be taken first"
    );
    assert!(
        parse_nft(NFT_FIRST, 8090, Protocol::Tcp).is_empty(),
        "the chain jumped to accepts everything the return leaves"
    );
    assert!(
        parse_nft(NFT_FIRST, 8087, Protocol::Udp).is_empty(),
        "the protocol"
    );

    let ipt = "# Generated by iptables-save v1.8.9 (nf_tables)
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8086 -j ACCEPT
-A PREROUTING -p tcp -m tcp --dport 8086 -j DNAT --to-destination 10.9.0.4:80
-A PREROUTING -i eth0 -j RETURN
-A PREROUTING -p tcp -m tcp --dport 8087 -j DNAT --to-destination 10.9.0.4:81
-A PREROUTING -p udp -m udp --dport 8088 -j ACCEPT
-A PREROUTING -p tcp -m tcp --dport 8088 -j DNAT --to-destination 10.9.0.4:82
COMMIT
";
    assert!(parse_iptables_save(ipt, RuleFamily::Ip, 8086, Protocol::Tcp).is_empty());
    let r = one(parse_iptables_save(
        ipt,
        RuleFamily::Ip,
        8087,
        Protocol::Tcp,
    ));
    assert_eq!(
        rules(&r.paths[0].earlier),
        ["-A PREROUTING -i eth0 -j RETURN"]
    );
    let r = one(parse_iptables_save(
        ipt,
        RuleFamily::Ip,
        8088,
        Protocol::Tcp,
    ));
    assert_eq!(
        rules(&r.paths[0].earlier),
        ["-A PREROUTING -i eth0 -j RETURN"],
        "udp is not tcp"
    );
}

/// The earlier rules' texts.
fn rules(earlier: &[Earlier]) -> Vec<&str> {
    earlier.iter().map(|e| e.rule.as_str()).collect()
}

/// An output chain where an earlier accept exempts exactly one address, and a redirect of all
/// addresses but one (the rules of the traps test, as nft -a prints them).
const NFT_EXEMPT: &str = "table ip pi { # handle 1
\tchain out { # handle 1
\t\ttype nat hook output priority -100; policy accept;
\t\tip daddr 127.0.0.1 tcp dport 8096 accept # handle 2
\t\ttcp dport 8096 redirect to :9010 # handle 3
\t\tip daddr != 127.0.0.1 tcp dport 8097 redirect to :9011 # handle 4
\t}
}
";

#[test]
fn an_earlier_rule_for_one_address_is_compared_with_the_address_checked() {
    let host = [ip("10.1.2.3")];
    let r = one(parse_nft(NFT_EXEMPT, 8096, Protocol::Tcp));
    let e = &r.paths[0].earlier[0];
    assert_eq!(
        e.rule,
        "ip daddr 127.0.0.1 tcp dport 8096 accept (chain out)"
    );
    assert!(e.understood && e.daddr[0].nets[0].addr == ip("127.0.0.1"));
    assert_eq!(
        r.reach(&[ip("127.0.0.1")], false, &host),
        None,
        "the accept takes 127.0.0.1"
    );
    let other = r.reach(&[ip("127.0.0.5")], false, &host).unwrap();
    assert!(
        other.earlier.is_empty() && other.exempt.is_empty(),
        "{other:?}"
    );
    let any = r.reach(&[ip("0.0.0.0")], false, &host).unwrap();
    assert!(any.this_host && any.earlier.is_empty(), "{any:?}");
    assert!(any.untouched.contains(&Untouched::TakenEarlier), "{any:?}");
    assert_eq!(any.exempt, std::slice::from_ref(e));
    // Only loopback is this host's: the accept still leaves 127.0.0.2 and the rest.
    assert!(r.reach(&[ip("0.0.0.0")], false, &[]).is_some());

    // A redirect of every address but 127.0.0.1 catches a wildcard's connections to the rest.
    let r = one(parse_nft(NFT_EXEMPT, 8097, Protocol::Tcp));
    assert_eq!(r.reach(&[ip("127.0.0.1")], false, &[]), None);
    assert!(r.reach(&[ip("127.0.0.5")], false, &[]).is_some());
    for wildcard in [ip("0.0.0.0"), ip("::")] {
        let any = r.reach(&[wildcard], true, &[]).unwrap();
        assert!(any.this_host && any.ipv4, "{any:?}");
        assert!(
            any.untouched.contains(&Untouched::ExcludedAddresses),
            "{any:?}"
        );
    }
}

#[test]
fn an_earlier_rule_an_older_version_wrote_as_text_reads_back_as_unknown() {
    let old: NatPath =
        serde_json::from_str(r#"{"hook":"prerouting","earlier":["iif eth0 accept (chain pre)"]}"#)
            .unwrap();
    let e = &old.earlier[0];
    assert_eq!(e.rule, "iif eth0 accept (chain pre)");
    assert_eq!(
        e.takes(ip("127.0.0.1"), true),
        None,
        "nothing known of its match"
    );
    let r = one(parse_nft(NFT_EXEMPT, 8096, Protocol::Tcp));
    let typed = serde_json::to_string(&r.paths[0]).unwrap();
    assert_eq!(serde_json::from_str::<NatPath>(&typed).unwrap(), r.paths[0]);
}
