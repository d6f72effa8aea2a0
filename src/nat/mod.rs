//! Ports taken with no socket at all: NAT rules (nftables, iptables-nft or iptables-legacy DNAT /
//! REDIRECT) that send a port's incoming connections elsewhere. The bind succeeds, yet clients
//! never reach the program. Each rule is a typed value — the firewall that owns it, its family,
//! table, chain, the hooks it is reached from, its match, where it sends the port and its
//! handle — and [`NatRedirect::reach`] says which connections it really catches for an address:
//! an `ip` table sees IPv4 only, a `prerouting` hook sees only what arrives from other hosts
//! (never a connection made on this host, so never one to loopback), an `output` hook only this
//! host's own. Parsers are pure and tested on fixtures; reading the rules needs root and happens
//! on Linux only.

mod iptables;
mod nft;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::target::Protocol;

/// Jumps followed at most from a base chain (nft and iptables refuse loops; this bounds a
/// malformed text).
const MAX_DEPTH: usize = 16;

/// The address family a rule's table sees (nftables' table family; iptables is `ip`, ip6tables
/// `ip6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RuleFamily {
    /// IPv4 only.
    #[default]
    Ip,
    /// IPv6 only.
    Ip6,
    /// Both.
    Inet,
}

impl RuleFamily {
    /// The family's word in nft's and the tools' own syntax.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            RuleFamily::Ip => "ip",
            RuleFamily::Ip6 => "ip6",
            RuleFamily::Inet => "inet",
        }
    }

    fn sees(self, v4: bool) -> bool {
        match self {
            RuleFamily::Ip => v4,
            RuleFamily::Ip6 => !v4,
            RuleFamily::Inet => true,
        }
    }
}

/// The netfilter hook a destination NAT rule runs at (DNAT and REDIRECT exist only at these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// Packets arriving from the network: other hosts, containers, other namespaces. Never a
    /// connection made on this host.
    Prerouting,
    /// Packets this host sends: connections its own programs make.
    Output,
}

impl Hook {
    /// The hook's name as nft and iptables print it.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Output => "output",
        }
    }
}

/// Which tool owns the rule (and so which command removes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Firewall {
    /// A native nftables rule.
    #[default]
    Nftables,
    /// An iptables rule stored in nftables (iptables-nft): removed with its own iptables
    /// command, since nft says such tables are not to be touched.
    IptablesNft,
    /// An iptables rule of the legacy backend (not in `nft list ruleset`).
    IptablesLegacy,
}

/// A destination-address condition of a rule (`ip daddr != 127.0.0.0/8`, `-d 10.0.0.5`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrMatch {
    /// `!=` / `!`: the rule matches addresses outside the networks.
    pub negated: bool,
    /// The networks, each `address/prefix`.
    pub nets: Vec<Net>,
}

/// One network of an [`AddrMatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Net {
    /// The network's address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
}

impl Net {
    /// `10.0.0.0/8`, `::1`, `127.0.0.1` (a full-length prefix when none is written).
    fn parse(s: &str) -> Option<Net> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.trim().parse().ok()?;
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            full
        } else {
            p.parse().ok().filter(|p| *p <= full)?
        };
        Some(Net { addr, prefix })
    }

    fn contains(self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| match a {
            IpAddr::V4(v) => u128::from(v.to_bits()) << 96,
            IpAddr::V6(v) => v.to_bits(),
        };
        if self.addr.is_ipv4() != ip.is_ipv4() {
            return false;
        }
        let keep = u32::from(self.prefix);
        let mask = if keep == 0 {
            0
        } else {
            u128::MAX << (128 - keep)
        };
        bits(self.addr) & mask == bits(ip) & mask
    }
}

impl AddrMatch {
    /// Parses a condition's value: one address or network, or `{ a, b/24 }`. `None` when any
    /// part is not an address (a range, a set of another type): then the condition is not used.
    fn parse(value: &str, negated: bool) -> Option<AddrMatch> {
        let nets = value
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(Net::parse)
            .collect::<Option<Vec<_>>>()?;
        (!nets.is_empty()).then_some(AddrMatch { negated, nets })
    }

    /// Whether a packet to `ip` meets the condition. A condition on IPv4 addresses never meets
    /// an IPv6 packet, negated or not (it matches IPv4 packets only).
    fn admits(&self, ip: IpAddr) -> bool {
        let v4 = self.nets.first().is_some_and(|n| n.addr.is_ipv4());
        if v4 != ip.is_ipv4() {
            return false;
        }
        self.nets.iter().any(|n| n.contains(ip)) != self.negated
    }

    /// Whether the condition can meet a packet of this family at all.
    fn family_ok(&self, v4: bool) -> bool {
        self.nets.first().is_some_and(|n| n.addr.is_ipv4()) == v4
    }
}

/// One NAT rule that redirects the port, with where it sits and what it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatRedirect {
    /// Where connections go instead (`172.17.0.2:80`, `:5300` for a local redirect, `this host`
    /// for a redirect that keeps the port).
    pub to: String,
    /// The rule as the firewall prints it (counters left out).
    pub rule: String,
    /// `nftables` or `iptables` (kept for scripts; `firewall` says which backend).
    pub source: String,
    /// The tool that owns the rule.
    #[serde(default)]
    pub firewall: Firewall,
    /// The family of its table.
    #[serde(default)]
    pub family: RuleFamily,
    /// Its table (`nat` for iptables).
    #[serde(default)]
    pub table: String,
    /// The chain that holds the rule.
    #[serde(default)]
    pub chain: String,
    /// The hooks the rule is reached from (its own chain's, or those of the base chains that
    /// jump to it); a rule reached from no NAT hook is never reported.
    #[serde(default)]
    pub hooks: Vec<Hook>,
    /// The rule's match, before its action (`tcp dport 8080`, `-p tcp --dport 8080`).
    #[serde(default)]
    pub matched: String,
    /// How the port reached the rule when not literally: the named set or map it is in, or
    /// the rule that jumped here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// nftables' handle of the rule (what `nft delete rule` takes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<u64>,
    /// An iptables rule's own arguments after `-A CHAIN` (what `iptables -D CHAIN` takes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spec: Vec<String>,
    /// Each way a packet reaches the rule: from which hook, and the destination-address
    /// conditions on the way (the rule's own and those of the rules that jumped to it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<NatPath>,
}

/// One way to a rule: the hook it starts at, and the address conditions met on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatPath {
    /// The hook of the base chain it starts at.
    pub hook: Hook,
    /// The destination-address conditions on the way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daddr: Vec<AddrMatch>,
}

/// Connections the rule does not catch although the check's bind would receive them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Untouched {
    /// A prerouting rule never sees connections made on this host.
    ThisHost,
    /// An output rule sees only this host's own connections.
    OtherHosts,
    /// The rule's table sees IPv4 only.
    Ipv6,
    /// The rule's table sees IPv6 only.
    Ipv4,
}

/// The connections a rule catches for the addresses a check bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reach {
    /// IPv4 connections are caught.
    pub ipv4: bool,
    /// IPv6 connections are caught.
    pub ipv6: bool,
    /// Connections arriving from other hosts are caught (a prerouting rule).
    pub other_hosts: bool,
    /// Connections made on this host are caught (an output rule).
    pub this_host: bool,
    /// Connections the bind would receive that the rule leaves alone.
    pub untouched: Vec<Untouched>,
}

impl NatRedirect {
    /// Which connections to `locals` (the addresses the check bound) this rule catches;
    /// `None` when it catches none of them (a prerouting rule and a loopback address, an `ip`
    /// rule and an IPv6-only socket, a rule for another destination address). `dual_stack`:
    /// a `[::]` socket also receives IPv4.
    #[must_use]
    pub fn reach(&self, locals: &[IpAddr], dual_stack: bool) -> Option<Reach> {
        let mut r = Reach::default();
        // An answer from an older version carries hooks only: no address conditions.
        let paths: Vec<NatPath> = if self.paths.is_empty() {
            self.hooks
                .iter()
                .map(|&hook| NatPath {
                    hook,
                    daddr: Vec::new(),
                })
                .collect()
        } else {
            self.paths.clone()
        };
        let (mut wants_v4, mut wants_v6, mut remote_ok) = (false, false, false);
        for &ip in locals {
            let families: &[bool] = match ip {
                IpAddr::V4(_) => &[true],
                IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => &[true],
                IpAddr::V6(v6) if v6.is_unspecified() && dual_stack => &[true, false],
                IpAddr::V6(_) => &[false],
            };
            // Other hosts can reach any address but loopback (a packet to 127.0.0.0/8 or ::1
            // from the network is dropped as martian).
            let loopback = ip.is_loopback()
                || matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|a| a.is_loopback()));
            remote_ok |= !loopback;
            for &v4 in families {
                wants_v4 |= v4;
                wants_v6 |= !v4;
                if !self.family.sees(v4) {
                    continue;
                }
                for path in &paths {
                    if !path.daddr.iter().all(|c| c.family_ok(v4)) {
                        continue;
                    }
                    // A specific address must meet every address condition; for a wildcard
                    // the conditions pick the addresses, which the rule's match shows.
                    if !ip.is_unspecified() && !path.daddr.iter().all(|c| c.admits(ip)) {
                        continue;
                    }
                    let other = path.hook == Hook::Prerouting && !loopback;
                    let own = path.hook == Hook::Output;
                    if other || own {
                        r.ipv4 |= v4;
                        r.ipv6 |= !v4;
                        r.other_hosts |= other;
                        r.this_host |= own;
                    }
                }
            }
        }
        if !(r.other_hosts || r.this_host) {
            return None;
        }
        if !r.this_host {
            r.untouched.push(Untouched::ThisHost);
        }
        if !r.other_hosts && remote_ok {
            r.untouched.push(Untouched::OtherHosts);
        }
        if wants_v6 && !r.ipv6 {
            r.untouched.push(Untouched::Ipv6);
        }
        if wants_v4 && !r.ipv4 {
            r.untouched.push(Untouched::Ipv4);
        }
        Some(r)
    }

    /// The command that removes the rule, as argv (runs as root, as printed).
    #[must_use]
    pub fn remove_argv(&self) -> Option<Vec<String>> {
        match self.firewall {
            Firewall::Nftables => Some(
                [
                    "nft",
                    "delete",
                    "rule",
                    self.family.word(),
                    &self.table,
                    &self.chain,
                    "handle",
                    &self.handle?.to_string(),
                ]
                .map(str::to_owned)
                .to_vec(),
            ),
            Firewall::IptablesNft | Firewall::IptablesLegacy => {
                if self.spec.is_empty() {
                    return None;
                }
                let mut v = vec![
                    self.iptables_tool().to_owned(),
                    "-t".into(),
                    "nat".into(),
                    "-D".into(),
                    self.chain.clone(),
                ];
                v.extend(self.spec.iter().cloned());
                Some(v)
            }
        }
    }

    /// The command that shows the rule's chain, as argv.
    #[must_use]
    pub fn show_argv(&self) -> Vec<String> {
        match self.firewall {
            Firewall::Nftables => ["nft", "-a", "list", "chain", self.family.word()]
                .map(str::to_owned)
                .into_iter()
                .chain([self.table.clone(), self.chain.clone()])
                .collect(),
            Firewall::IptablesNft | Firewall::IptablesLegacy => vec![
                self.iptables_tool().to_owned(),
                "-t".into(),
                "nat".into(),
                "-S".into(),
                self.chain.clone(),
            ],
        }
    }

    fn iptables_tool(&self) -> &'static str {
        match (self.firewall, self.family) {
            (Firewall::IptablesLegacy, RuleFamily::Ip6) => "ip6tables-legacy",
            (Firewall::IptablesLegacy, _) => "iptables-legacy",
            (_, RuleFamily::Ip6) => "ip6tables",
            _ => "iptables",
        }
    }
}

/// Why the NAT rules were not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum NatError {
    /// NAT rules are read on Linux only.
    #[error("NAT rules are read on Linux only")]
    NotLinux,
    /// Reading them needs root, and the check did not run as root.
    #[error("NAT rules were not read: run as root to see DNAT rules that redirect this port")]
    NotRoot,
    /// Neither nft nor iptables-save is installed.
    #[error("NAT rules were not read: neither nft nor iptables-save is installed")]
    NoTool,
    /// The tools are there but none answered (refused, or took too long).
    #[error("NAT rules were not read: {tools} gave no answer")]
    Unanswered {
        /// The tools tried, as `nft, iptables-save`.
        tools: String,
    },
}

fn proto_word(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

/// Whether a port list (`8080`, `{ 53, 5353 }`, `8000-8100`; iptables' `80,443`, `8000:8100`)
/// covers `port`.
fn ports_match(expr: &str, port: u16) -> bool {
    expr.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .any(|x| match x.split_once(['-', ':']) {
            Some((a, b)) => a
                .trim()
                .parse::<u16>()
                .ok()
                .zip(b.trim().parse::<u16>().ok())
                .is_some_and(|(a, b)| (a..=b).contains(&port)),
            None => x.parse::<u16>().ok() == Some(port),
        })
}

/// The same rule reached along two paths (jumped to from prerouting and from output) is one
/// redirect with both hooks.
fn merge(found: Vec<NatRedirect>) -> Vec<NatRedirect> {
    let mut out: Vec<NatRedirect> = Vec::new();
    for r in found {
        if let Some(same) = out.iter_mut().find(|o| {
            (o.firewall, o.family, &o.table, &o.chain, &o.rule, o.handle)
                == (r.firewall, r.family, &r.table, &r.chain, &r.rule, r.handle)
        }) {
            for p in r.paths {
                if !same.paths.contains(&p) {
                    same.paths.push(p);
                }
            }
            let mut hooks: Vec<Hook> = same.paths.iter().map(|p| p.hook).collect();
            hooks.sort_unstable();
            hooks.dedup();
            same.hooks = hooks;
        } else {
            out.push(r);
        }
    }
    out
}

/// Finds the DNAT / REDIRECT rules for `port` in `nft -a list ruleset` text (native rules and
/// iptables-nft's, which nft prints translated).
#[must_use]
pub fn parse_nft(text: &str, port: u16, protocol: Protocol) -> Vec<NatRedirect> {
    merge(nft::parse(text, port, protocol))
}

/// Finds the DNAT / REDIRECT rules for `port` in `iptables-save -t nat` (or `ip6tables-save`)
/// text; the header says which backend printed it.
#[must_use]
pub fn parse_iptables_save(
    text: &str,
    family: RuleFamily,
    port: u16,
    protocol: Protocol,
) -> Vec<NatRedirect> {
    merge(iptables::parse(text, family, port, protocol))
}

/// Reads this network namespace's NAT rules for `port`: `nft -a list ruleset`, then the
/// iptables tools of both families and both backends. An iptables-nft table that iptables
/// reads is taken from iptables (it names the rule the way its own `-D` removes it) and left
/// out of nft's. Never changes anything.
///
/// # Errors
/// [`NatError`] when no rule could be read.
pub fn redirects(port: u16, protocol: Protocol) -> Result<Vec<NatRedirect>, NatError> {
    if !cfg!(target_os = "linux") {
        return Err(NatError::NotLinux);
    }
    let run = crate::tools::output;
    let mut tried = Vec::new();
    let mut answered = false;
    let mut from_iptables: Vec<NatRedirect> = Vec::new();
    // (family, backend) already read, and the iptables-nft families iptables holds rules in.
    let mut read: Vec<(RuleFamily, Firewall)> = Vec::new();
    let mut managed: Vec<RuleFamily> = Vec::new();
    for (tool, family) in [
        ("iptables-save", RuleFamily::Ip),
        ("ip6tables-save", RuleFamily::Ip6),
        ("iptables-legacy-save", RuleFamily::Ip),
        ("ip6tables-legacy-save", RuleFamily::Ip6),
    ] {
        if crate::tools::find(tool).is_none() {
            continue;
        }
        tried.push(tool);
        let Some(text) = run(tool, &["-t", "nat"]) else {
            continue;
        };
        answered = true;
        let backend = iptables::backend(&text);
        if read.contains(&(family, backend)) {
            continue;
        }
        read.push((family, backend));
        if backend == Firewall::IptablesNft && iptables::has_rules(&text) {
            managed.push(family);
        }
        from_iptables.extend(parse_iptables_save(&text, family, port, protocol));
    }
    let mut found = Vec::new();
    if crate::tools::find("nft").is_some() {
        tried.insert(0, "nft");
        if let Some(text) = run("nft", &["-a", "list", "ruleset"]) {
            answered = true;
            found.extend(
                parse_nft(&text, port, protocol)
                    .into_iter()
                    .filter(|r| !(r.table == "nat" && managed.contains(&r.family))),
            );
        }
    }
    found.extend(from_iptables);
    if tried.is_empty() {
        Err(NatError::NoTool)
    } else if !answered {
        Err(NatError::Unanswered {
            tools: tried.join(", "),
        })
    } else {
        Ok(found)
    }
}

#[cfg(test)]
mod tests;
