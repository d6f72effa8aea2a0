//! NAT redirects in sentences: which connections the rule catches (its family and hook, for the
//! addresses the check bound), which it leaves alone, where it sits and the commands that show
//! and remove it, exactly as they run.

use crate::nat::{AddrMatch, Firewall, NatError, NatRedirect, Reach, RuleFamily, Untouched};
use std::fmt::Write as _;

use crate::text::clean;

/// An argv as a shell line, cleaned for a terminal: a word is quoted only when a shell would
/// read it otherwise (`7700,7701` stays as it is; a comment with spaces is quoted).
fn command_line(argv: &[String]) -> String {
    let plain = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./:,=+-@%".contains(c))
    };
    let words: Vec<String> = argv
        .iter()
        .map(|w| {
            if plain(w) {
                w.clone()
            } else {
                shlex::try_quote(w).map_or_else(|_| w.clone(), std::borrow::Cow::into_owned)
            }
        })
        .collect();
    clean(&words.join(" ")).into_owned()
}

/// Where the rule sits: "nftables table ip nat, chain prerouting at the prerouting hook".
fn place(r: &NatRedirect) -> String {
    let owner = match (r.firewall, r.family) {
        (Firewall::Nftables, f) => format!("nftables table {} {}", f.word(), clean(&r.table)),
        (Firewall::IptablesNft, RuleFamily::Ip6) => "ip6tables (nf_tables), table nat".to_owned(),
        (Firewall::IptablesNft, _) => "iptables (nf_tables), table nat".to_owned(),
        (Firewall::IptablesLegacy, RuleFamily::Ip6) => "ip6tables-legacy, table nat".to_owned(),
        (Firewall::IptablesLegacy, _) => "iptables-legacy, table nat".to_owned(),
    };
    let hooks: Vec<&str> = r.hooks.iter().map(|h| h.word()).collect();
    let hooks = match hooks.as_slice() {
        [] => String::new(),
        [one] => format!(" at the {one} hook"),
        many => format!(" reached from the {} hooks", many.join(" and ")),
    };
    format!("{owner}, chain {}{hooks}", clean(&r.chain))
}

fn untouched(u: Untouched, r: &NatRedirect, reach: &Reach) -> String {
    match u {
        Untouched::ThisHost => {
            "connections made on this host (a prerouting rule never sees them)".to_owned()
        }
        Untouched::OtherHosts => {
            "connections from other hosts (an output rule sees only this host's own)".to_owned()
        }
        Untouched::Ipv6 => format!(
            "IPv6 connections (an {} table sees IPv4 only)",
            r.family.word()
        ),
        Untouched::Ipv4 => "IPv4 connections (an ip6 table sees IPv6 only)".to_owned(),
        Untouched::Ipv6ByMatch => format!(
            "IPv6 connections (the rule's match is for IPv4 only; its {} table sees both)",
            r.family.word()
        ),
        Untouched::Ipv4ByMatch => format!(
            "IPv4 connections (the rule's match is for IPv6 only; its {} table sees both)",
            r.family.word()
        ),
        Untouched::OtherAddresses => "connections to other addresses of this host".to_owned(),
        Untouched::OtherSources => "connections from other addresses".to_owned(),
        Untouched::ExcludedAddresses => {
            // The excluded networks themselves, said as a plain (not negated) list.
            let mut nets = Vec::new();
            for n in reach.daddr.iter().flatten().flat_map(|c| &c.nets) {
                if !nets.contains(n) {
                    nets.push(*n);
                }
            }
            format!(
                "connections to {}",
                addresses(&AddrMatch {
                    negated: false,
                    nets
                })
            )
        }
        Untouched::TakenEarlier => reach
            .exempt
            .iter()
            .map(|e| {
                let to = if e.daddr.is_empty() {
                    "the connections it matches".to_owned()
                } else {
                    format!("connections to {}", ways(std::slice::from_ref(&e.daddr)))
                };
                format!(
                    "{to} (a rule earlier in the chain ends it first for them: {})",
                    clean(&e.rule)
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// One address condition: "127.0.0.5", "127.0.0.5 or 10.0.0.0/8", "addresses other than
/// 127.0.0.1", "addresses outside 127.0.0.0/8".
fn addresses(m: &AddrMatch) -> String {
    let nets: Vec<String> = m
        .nets
        .iter()
        .map(|n| {
            let full = if n.addr.is_ipv4() { 32 } else { 128 };
            if n.prefix == full {
                n.addr.to_string()
            } else {
                format!("{}/{}", n.addr, n.prefix)
            }
        })
        .collect();
    let list = match nets.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [head @ .., last] => format!("{} or {last}", head.join(", ")),
    };
    let single = m
        .nets
        .iter()
        .all(|n| n.prefix == if n.addr.is_ipv4() { 32 } else { 128 });
    if m.negated && single {
        format!("addresses other than {list}")
    } else if m.negated {
        format!("addresses outside {list}")
    } else {
        list
    }
}

/// The address conditions of each way to the rule: "127.0.0.5", "10.0.0.0/8 and addresses
/// outside 10.1.0.0/16", ways joined with "or".
fn ways(alternatives: &[Vec<AddrMatch>]) -> String {
    alternatives
        .iter()
        .map(|all| all.iter().map(addresses).collect::<Vec<_>>().join(" and "))
        .collect::<Vec<_>>()
        .join(", or ")
}

/// The note for a NAT rule that redirects `port`, said for the connections it catches.
pub(crate) fn redirect(r: &NatRedirect, reach: &Reach, port: u16) -> String {
    let who = match (reach.ipv4, reach.ipv6) {
        (true, false) => "IPv4 connections",
        (false, true) => "IPv6 connections",
        _ => "Connections",
    };
    let sources = ways(&reach.saddr);
    let from = match (reach.other_hosts, reach.this_host, sources.is_empty()) {
        (true, false, true) => " from other hosts".to_owned(),
        (true, false, false) => format!(" from other hosts at {sources}"),
        (false, true, true) => " made on this host".to_owned(),
        (false, true, false) => format!(" made on this host from {sources}"),
        (_, _, true) => String::new(),
        (_, _, false) => format!(" from {sources}"),
    };
    let dests = ways(&reach.daddr);
    let at = if dests.is_empty() {
        String::new()
    } else {
        format!(" at {dests}")
    };
    let mut s = format!(
        "{who}{from} to port {port}{at} are redirected to {} by a NAT rule ({}: {})",
        clean(&r.to),
        place(r),
        clean(&r.rule)
    );
    if let Some(via) = &r.via {
        s.push_str("; ");
        s.push_str(&clean(via));
    }
    s.push_str(": such a client never reaches a program on this port.");
    if !reach.untouched.is_empty() {
        let left: Vec<String> = reach
            .untouched
            .iter()
            .map(|u| untouched(*u, r, reach))
            .collect();
        s.push_str(" Not redirected: ");
        s.push_str(&left.join("; "));
        s.push('.');
    }
    if !reach.earlier.is_empty() {
        let rules: Vec<String> = reach
            .earlier
            .iter()
            .map(|e| clean(e).into_owned())
            .collect();
        s.push_str(if rules.len() == 1 {
            " A rule earlier in the chain ends it first for the connections it matches, which are then not redirected: "
        } else {
            " Rules earlier in the chain end it first for the connections they match, which are then not redirected: "
        });
        s.push_str(&rules.join("; "));
        s.push('.');
    }
    let show = command_line(&r.show_argv());
    // Writing to a String cannot fail.
    let _ = match r.remove_argv() {
        Some(remove) => write!(
            s,
            " Remove the rule (as root): {}; see its chain: {show}.",
            command_line(&remove)
        ),
        None => write!(s, " See its chain (as root): {show}."),
    };
    s
}

/// Why NAT redirects were not checked, in one short line.
#[must_use]
pub fn nat_unread(e: &NatError) -> String {
    match e {
        NatError::NotLinux => {
            "NAT redirects were not checked: they are read on Linux only.".to_owned()
        }
        NatError::NotRoot => {
            "NAT redirects were not checked: reading the NAT rules (nftables, iptables) needs root."
                .to_owned()
        }
        NatError::NoTool => {
            "NAT redirects were not checked: neither nft nor iptables-save is installed.".to_owned()
        }
        NatError::Unanswered { tools } => {
            format!(
                "NAT redirects were not checked: {} gave no answer.",
                clean(tools)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nat::Hook;

    #[test]
    fn a_hook_is_named_once_and_two_are_joined() {
        let mut r = NatRedirect {
            to: "10.9.9.9:80".into(),
            rule: "tcp dport 8080 dnat to 10.9.9.9:80".into(),
            source: "nftables".into(),
            firewall: Firewall::Nftables,
            family: RuleFamily::Ip,
            table: "nat".into(),
            chain: "prerouting".into(),
            hooks: vec![Hook::Prerouting],
            matched: "tcp dport 8080".into(),
            via: None,
            handle: Some(2),
            spec: Vec::new(),
            paths: Vec::new(),
        };
        assert_eq!(
            place(&r),
            "nftables table ip nat, chain prerouting at the prerouting hook"
        );
        r.hooks.push(Hook::Output);
        assert!(
            place(&r).ends_with("reached from the prerouting and output hooks"),
            "{}",
            place(&r)
        );
    }
}
