//! Ports taken with no socket at all: NAT rules (nftables, iptables-nft or iptables-legacy DNAT /
//! REDIRECT) that send a port's incoming connections elsewhere. The bind succeeds, yet clients
//! never reach the program. Each rule is a typed value — the firewall that owns it, its family,
//! table, chain, the hooks it is reached from, its match, where it sends the port and its
//! handle — and [`NatRedirect::reach`] says which connections it really catches for an address:
//! an `ip` table sees IPv4 only (an `inet` table both, unless the rule's own match keeps to one:
//! `ip daddr …`, `meta nfproto ipv6`), a `prerouting` hook sees only what arrives from other
//! hosts (never a connection made on this host, so never one to loopback), an `output` hook only
//! this host's own; the rule's own address conditions pick the destinations (and sources) it
//! catches, and a rule earlier in the chain that ends evaluation for the same traffic (accept,
//! return, drop, an earlier NAT rule) means the redirect never applies. Parsers are pure and
//! tested on fixtures; reading the rules needs root and happens on Linux only.

mod iptables;
mod nft;
mod reach;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::target::Protocol;

pub use reach::{Reach, Untouched};

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

    /// Whether the two networks share an address (one holds the other's first address at the
    /// shorter prefix).
    fn overlaps(self, other: Net) -> bool {
        let (wide, narrow) = if self.prefix <= other.prefix {
            (self, other)
        } else {
            (other, self)
        };
        wide.contains(narrow.addr)
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

/// One way to a rule: the hook it starts at, the conditions met on the way (the rule's own and
/// those of the rules that jumped to it), and the earlier rules that may end the chain first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatPath {
    /// The hook of the base chain it starts at.
    pub hook: Hook,
    /// The destination-address conditions on the way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daddr: Vec<AddrMatch>,
    /// The source-address conditions on the way (`ip saddr`, `-s`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saddr: Vec<AddrMatch>,
    /// The one family the match keeps to in a table that sees both (`meta nfproto ipv4`,
    /// `ip daddr …`, `ip6 saddr …` in an `inet` table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<RuleFamily>,
    /// Rules earlier on the way that end the chain (accept, return, drop, another NAT rule) for
    /// this port with a match that covers some of these connections, or may (an interface, a
    /// mark, a state): for the connections they take, the redirect never applies. A rule that
    /// surely covers all of them removes the path altogether. Each keeps its match typed, so
    /// that a check can tell whether it takes the connections to the address checked.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "typed_or_text"
    )]
    pub earlier: Vec<Earlier>,
}

/// A rule earlier on a way to a redirect that ends the chain for the port (it matched the
/// port and protocol already): its text and its match as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earlier {
    /// The rule as the firewall prints it, with its chain.
    pub rule: String,
    /// Its destination-address conditions (with those of the rules that jumped to it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daddr: Vec<AddrMatch>,
    /// Its source-address conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saddr: Vec<AddrMatch>,
    /// The one family its match keeps to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<RuleFamily>,
    /// Every condition of its match is one this module reads (no interface, mark, state…):
    /// only then can it be said to take a connection for sure.
    #[serde(default)]
    pub understood: bool,
}

/// `NatPath.earlier` as JSON holds it: each rule typed, or as the bare rule text an earlier
/// version wrote (then nothing is known of its match).
fn typed_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Earlier>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Typed(Earlier),
        Text(String),
    }
    Ok(Vec::<Either>::deserialize(d)?
        .into_iter()
        .map(|e| match e {
            Either::Typed(e) => e,
            Either::Text(rule) => Earlier {
                rule,
                daddr: Vec::new(),
                saddr: Vec::new(),
                only: None,
                understood: false,
            },
        })
        .collect())
}

impl Earlier {
    fn of(e: &Ender) -> Earlier {
        Earlier {
            rule: e.text.clone(),
            daddr: e.conds.daddr.clone(),
            saddr: e.conds.saddr.clone(),
            only: e.conds.only,
            understood: e.conds.understood,
        }
    }

    /// Whether the rule takes this host's connections to `ip` (of the family `v4`) before the
    /// redirect: `Some(true)` surely (its match is fully read, names no source, and every
    /// destination condition admits `ip`), `Some(false)` surely not (a family or destination
    /// it never matches), `None` when that depends on what is not read (an interface, a mark,
    /// a source address).
    #[must_use]
    pub fn takes(&self, ip: IpAddr, v4: bool) -> Option<bool> {
        let ip = canonical(ip);
        if self.only.is_some_and(|f| !f.sees(v4))
            || !self
                .daddr
                .iter()
                .chain(&self.saddr)
                .all(|c| c.family_ok(v4))
            || !self.daddr.iter().all(|c| c.admits(ip))
        {
            return Some(false);
        }
        (self.understood && self.saddr.is_empty()).then_some(true)
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The conditions a walk carries from a base chain to a rule, and the rules met on the way that
/// end the chain for the port.
#[derive(Debug, Clone, Default)]
struct Conds {
    daddr: Vec<AddrMatch>,
    saddr: Vec<AddrMatch>,
    only: Option<RuleFamily>,
    /// Every condition is one this module reads (no interface, mark, state…).
    understood: bool,
}

impl Conds {
    /// Conditions that hold for every packet (a rule with no match).
    fn all() -> Conds {
        Conds {
            understood: true,
            ..Conds::default()
        }
    }

    /// Both sets of conditions at once; `None` when no packet meets both (one family each).
    fn and(&self, other: &Conds) -> Option<Conds> {
        let only = match (self.only, other.only) {
            (Some(a), Some(b)) if a != b => return None,
            (a, b) => a.or(b),
        };
        let mut daddr = self.daddr.clone();
        daddr.extend(other.daddr.iter().cloned());
        let mut saddr = self.saddr.clone();
        saddr.extend(other.saddr.iter().cloned());
        Some(Conds {
            daddr,
            saddr,
            only,
            understood: self.understood && other.understood,
        })
    }

    /// The family the conditions keep to, from `only` or the addresses named.
    fn family(&self) -> Option<bool> {
        self.only.map(|f| f == RuleFamily::Ip).or_else(|| {
            self.daddr
                .iter()
                .chain(&self.saddr)
                .find_map(|c| c.nets.first().map(|n| n.addr.is_ipv4()))
        })
    }

    /// Whether every packet that meets `self` (a redirect's way) also meets `ender` (an earlier
    /// rule that ends the chain): then the redirect never applies. Proven only when the ender's
    /// match is fully read and each of its conditions is one of the redirect's.
    fn covered_by(&self, ender: &Conds) -> bool {
        ender.understood
            && ender.family().is_none_or(|v4| self.family() == Some(v4))
            && ender.daddr.iter().all(|c| self.daddr.contains(c))
            && ender.saddr.iter().all(|c| self.saddr.contains(c))
    }

    /// Whether no packet meets both: one family each, or destinations in networks that do not
    /// overlap.
    fn disjoint(&self, ender: &Conds) -> bool {
        if let (Some(a), Some(b)) = (self.family(), ender.family())
            && a != b
        {
            return true;
        }
        let apart = |x: &[AddrMatch], y: &[AddrMatch]| {
            x.iter().any(|a| {
                y.iter().any(|b| {
                    !a.negated
                        && !b.negated
                        && a.nets
                            .iter()
                            .all(|n| b.nets.iter().all(|m| !n.overlaps(*m)))
                })
            })
        };
        apart(&self.daddr, &ender.daddr) || apart(&self.saddr, &ender.saddr)
    }
}

/// A rule met on a walk that ends the chain for the port when its conditions hold.
#[derive(Debug, Clone)]
struct Ender {
    conds: Conds,
    /// The rule as the firewall prints it, with its chain.
    text: String,
}

/// The rules a walk of one chain has met that end evaluation for the port: those that only
/// leave this chain (`return`, `goto`) and those that end the hook's evaluation altogether
/// (accept, drop, a NAT rule), which the caller's later rules see too.
#[derive(Debug, Default)]
struct Ends {
    /// Every ender met before the current rule, the caller's included.
    seen: Vec<Ender>,
    /// The ones met in this chain (or the chains it jumped to) that end the whole evaluation.
    all: Vec<Ender>,
}

impl Ends {
    fn from(inherited: &[Ender]) -> Ends {
        Ends {
            seen: inherited.to_vec(),
            all: Vec::new(),
        }
    }

    /// A rule that leaves this chain only.
    fn leave_chain(&mut self, conds: Conds, text: String) {
        self.seen.push(Ender { conds, text });
    }

    /// A rule that ends the hook's evaluation.
    fn end_all(&mut self, conds: Conds, text: String) {
        let e = Ender { conds, text };
        self.seen.push(e.clone());
        self.all.push(e);
    }

    /// What a chain jumped to ended for good.
    fn absorb(&mut self, sub: Vec<Ender>) {
        self.seen.extend(sub.iter().cloned());
        self.all.extend(sub);
    }

    /// The path to a redirect reached with `conds` at `hook`, or `None` when an earlier rule
    /// surely takes its connections first; the redirect itself then ends evaluation.
    fn redirect(&mut self, hook: Hook, conds: &Conds, text: String) -> Option<NatPath> {
        let earlier = shadow(&self.seen, conds);
        self.end_all(conds.clone(), text);
        Some(NatPath {
            hook,
            daddr: conds.daddr.clone(),
            saddr: conds.saddr.clone(),
            only: conds.only,
            earlier: earlier?,
        })
    }
}

/// What the earlier enders do to a redirect reached with `conds`: `None` when one surely takes
/// all its connections; otherwise the rules that may take some.
fn shadow(enders: &[Ender], conds: &Conds) -> Option<Vec<Earlier>> {
    let mut maybe: Vec<Earlier> = Vec::new();
    for e in enders {
        if conds.covered_by(&e.conds) {
            return None;
        }
        if !conds.disjoint(&e.conds) && !maybe.iter().any(|m| m.rule == e.text) {
            maybe.push(Earlier::of(e));
        }
    }
    Some(maybe)
}

impl NatRedirect {
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
    #[error("NAT redirects were not checked: they are read on Linux only")]
    NotLinux,
    /// Reading them needs root, and the check did not run as root.
    #[error(
        "NAT redirects were not checked: reading the NAT rules (nftables, iptables) needs root"
    )]
    NotRoot,
    /// Neither nft nor iptables-save is installed.
    #[error("NAT redirects were not checked: neither nft nor iptables-save is installed")]
    NoTool,
    /// The tools are there but none answered (refused, or took too long).
    #[error("NAT redirects were not checked: {tools} gave no answer")]
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
    if !crate::platform::Os::current().reads_nat_rules() {
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
