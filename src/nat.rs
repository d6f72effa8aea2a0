//! Ports taken with no socket at all: NAT rules (nftables or iptables DNAT / REDIRECT) that send
//! a port's incoming connections elsewhere. The bind succeeds, yet clients never reach the program.
//! Parsers are pure and tested on fixtures; reading the ruleset needs root and happens on Linux only.

use serde::{Deserialize, Serialize};

use crate::target::Protocol;

/// One NAT rule that redirects the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatRedirect {
    /// Where connections go instead (`172.17.0.2:80`, or `:5300` for a local redirect).
    pub to: String,
    /// The rule as the firewall prints it.
    pub rule: String,
    /// `nftables` or `iptables`.
    pub source: String,
}

fn proto_word(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

/// Whether an nft port expression (`8080`, `{ 53, 5353 }`, `8000-8100`) covers `port`.
fn nft_ports_match(expr: &str, port: u16) -> bool {
    expr.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .any(|x| match x.split_once('-') {
            Some((a, b)) => a
                .trim()
                .parse::<u16>()
                .ok()
                .zip(b.trim().parse::<u16>().ok())
                .is_some_and(|(a, b)| (a..=b).contains(&port)),
            None => x.parse::<u16>().ok() == Some(port),
        })
}

/// The named sets and maps of an `nft list ruleset` text, by table and name: each one's
/// `elements = { … }` (which nft may spread over several lines), without the braces.
fn nft_named_elements(text: &str) -> std::collections::HashMap<(String, String), String> {
    let mut out = std::collections::HashMap::new();
    let mut table = String::new();
    let mut named: Option<String> = None;
    let mut elements: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(t) = line.strip_prefix("table ") {
            t.trim_end_matches('{').trim().clone_into(&mut table);
        } else if let Some(n) = line
            .strip_prefix("set ")
            .or_else(|| line.strip_prefix("map "))
            .filter(|_| elements.is_none())
        {
            named = Some(n.trim_end_matches('{').trim().to_owned());
        } else if elements.is_none() && line.starts_with("elements = {") {
            elements = Some(String::new());
        }
        if let Some(acc) = elements.as_mut() {
            let part = line.strip_prefix("elements = {").unwrap_or(line);
            if let Some(end) = part.find('}') {
                acc.push_str(&part[..end]);
                if let Some(n) = named.take() {
                    out.insert((table.clone(), n), std::mem::take(acc));
                }
                elements = None;
            } else {
                acc.push_str(part);
                acc.push(' ');
            }
        }
    }
    out
}

/// From a map's elements (`7000 : 10.9.0.2 . 80, 7001 : 10.9.0.3 . 81`), where `port` goes:
/// `10.9.0.2:80`.
fn nft_map_target(elements: &str, port: u16) -> Option<String> {
    elements.split(',').find_map(|entry| {
        let (key, value) = entry.split_once(" : ")?;
        nft_ports_match(key, port).then(|| {
            value
                .split(" . ")
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(":")
        })
    })
}

/// Finds DNAT / REDIRECT rules for `port` in `nft list ruleset` text: ports matched literally
/// (`tcp dport 8080`, `{ 80, 443 }`, a range), through a named set (`tcp dport @webports`,
/// the set read from the same table), or through a DNAT map keyed by the port (`dnat to tcp
/// dport map @portmap` or an anonymous `map { 80 : 10.0.0.2 . 8080 }`).
#[must_use]
pub fn parse_nft(text: &str, port: u16, protocol: Protocol) -> Vec<NatRedirect> {
    let want = format!("{} dport ", proto_word(protocol));
    let named = nft_named_elements(text);
    let mut table = String::new();
    text.lines()
        .map(str::trim)
        .filter_map(|line| {
            if let Some(t) = line.strip_prefix("table ") {
                t.trim_end_matches('{').trim().clone_into(&mut table);
                return None;
            }
            let rest = &line[line.find(&want)? + want.len()..];
            // A DNAT map keyed by the port: the map says where this port goes.
            if let Some(map) = rest.strip_prefix("map ")
                && (line.starts_with("dnat") || line.contains(" dnat "))
            {
                let elements = match map.strip_prefix('@') {
                    Some(name) => named
                        .get(&(table.clone(), name.split_whitespace().next()?.to_owned()))?
                        .clone(),
                    None => map.trim_start_matches('{').split('}').next()?.to_owned(),
                };
                return Some(NatRedirect {
                    to: nft_map_target(&elements, port)?,
                    rule: line.to_owned(),
                    source: "nftables".into(),
                });
            }
            let looked_up;
            let (ports, action) = if let Some(set) = rest.strip_prefix('@') {
                let (name, action) = set.split_once(' ')?;
                looked_up = named.get(&(table.clone(), name.to_owned()))?.clone();
                (looked_up.as_str(), action.trim())
            } else if rest.starts_with('{') {
                let end = rest.find('}')?;
                (&rest[..=end], rest[end + 1..].trim())
            } else {
                let (p, a) = rest.split_once(' ')?;
                (p, a.trim())
            };
            if !nft_ports_match(ports, port) {
                return None;
            }
            let to = if let Some(i) = action.find("dnat") {
                action[i..]
                    .split(" to ")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .to_owned()
            } else if let Some(i) = action.find("redirect") {
                action[i..].split(" to ").nth(1).map_or_else(
                    || "this host".to_owned(),
                    |t| t.split_whitespace().next().unwrap_or("").to_owned(),
                )
            } else {
                return None;
            };
            Some(NatRedirect {
                to,
                rule: line.to_owned(),
                source: "nftables".into(),
            })
        })
        .collect()
}

/// Finds DNAT / REDIRECT rules for `port` in `iptables-save -t nat` text.
#[must_use]
pub fn parse_iptables_save(text: &str, port: u16, protocol: Protocol) -> Vec<NatRedirect> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("-A "))
        .filter_map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            let after = |flag: &str| {
                w.iter()
                    .position(|x| *x == flag)
                    .and_then(|i| w.get(i + 1))
                    .copied()
            };
            if after("-p") != Some(proto_word(protocol)) {
                return None;
            }
            let ports = after("--dport").or_else(|| after("--dports"))?;
            let hit = ports.split(',').any(|p| match p.split_once(':') {
                Some((a, b)) => a
                    .parse::<u16>()
                    .ok()
                    .zip(b.parse::<u16>().ok())
                    .is_some_and(|(a, b)| (a..=b).contains(&port)),
                None => p.parse::<u16>().ok() == Some(port),
            });
            if !hit {
                return None;
            }
            let to = match after("-j")? {
                "DNAT" => after("--to-destination")?.to_owned(),
                "REDIRECT" => format!(":{}", after("--to-ports").unwrap_or("?")),
                _ => return None,
            };
            Some(NatRedirect {
                to,
                rule: line.to_owned(),
                source: "iptables".into(),
            })
        })
        .collect()
}

/// Reads this network namespace's NAT rules for `port`. `Err` says why they could not be read
/// (not root, no nft/iptables); never changes anything.
pub fn redirects(port: u16, protocol: Protocol) -> Result<Vec<NatRedirect>, String> {
    if !cfg!(target_os = "linux") {
        return Err("NAT rules are read on Linux only".into());
    }
    let run = crate::tools::output;
    if let Some(text) = run("nft", &["list", "ruleset"]) {
        let mut found = parse_nft(&text, port, protocol);
        if let Some(ipt) = run("iptables-save", &["-t", "nat"]) {
            found.extend(parse_iptables_save(&ipt, port, protocol));
        }
        return Ok(found);
    }
    if let Some(ipt) = run("iptables-save", &["-t", "nat"]) {
        return Ok(parse_iptables_save(&ipt, port, protocol));
    }
    Err("the NAT ruleset is not readable (needs root and nft or iptables)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NFT: &str = include_str!("../tests/fixtures/nft_ruleset.txt");
    const IPT: &str = include_str!("../tests/fixtures/iptables_save_nat.txt");

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
        let r = parse_iptables_save(IPT, 8080, Protocol::Tcp);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].to, "172.17.0.2:80");
        assert_eq!(
            parse_iptables_save(IPT, 2222, Protocol::Tcp)[0].to,
            ":22",
            "redirect"
        );
        assert!(
            parse_iptables_save(IPT, 53, Protocol::Tcp).is_empty(),
            "MASQUERADE is not a redirect"
        );
    }
}
