//! `nft -a list ruleset` read into tables, chains and rules, and walked from each NAT base chain
//! for one port: literal ports, named and anonymous sets, DNAT maps, verdict maps and jumps.

use std::collections::HashMap;

use super::{
    AddrMatch, Conds, Ender, Ends, Firewall, Hook, MAX_DEPTH, NatRedirect, RuleFamily, ports_match,
    proto_word,
};
use crate::target::Protocol;

struct Table {
    family: RuleFamily,
    name: String,
    /// Named sets' and maps' elements, without the braces.
    elements: HashMap<String, String>,
    chains: Vec<Chain>,
}

struct Chain {
    name: String,
    /// The hook of a `type nat` base chain.
    nat_hook: Option<Hook>,
    rules: Vec<Rule>,
}

struct Rule {
    text: String,
    handle: Option<u64>,
}

/// A line without its `# handle N` comment, and the handle.
fn strip_handle(line: &str) -> (&str, Option<u64>) {
    match line.rfind("# handle ") {
        Some(i) => (line[..i].trim_end(), line[i + 9..].trim().parse().ok()),
        None => (line, None),
    }
}

fn family(word: &str) -> Option<RuleFamily> {
    match word {
        "ip" => Some(RuleFamily::Ip),
        "ip6" => Some(RuleFamily::Ip6),
        "inet" => Some(RuleFamily::Inet),
        _ => None, // arp, bridge, netdev: no NAT of IP ports
    }
}

fn tables(text: &str) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut depth = 0usize;
    let mut in_chain = false;
    let mut named: Option<(String, String)> = None;
    for raw in text.lines() {
        let (line, handle) = strip_handle(raw.trim());
        let opens = line.matches('{').count();
        let closes = line.matches('}').count();
        if depth == 0 {
            if let Some(rest) = line.strip_prefix("table ") {
                let mut w = rest.trim_end_matches('{').split_whitespace();
                if let (Some(f), Some(name)) = (w.next().and_then(family), w.next()) {
                    out.push(Table {
                        family: f,
                        name: name.to_owned(),
                        elements: HashMap::new(),
                        chains: Vec::new(),
                    });
                } else {
                    // A table of another family: its lines are skipped.
                    out.push(Table {
                        family: RuleFamily::Ip,
                        name: String::new(),
                        elements: HashMap::new(),
                        chains: Vec::new(),
                    });
                }
            }
        } else if depth == 1 {
            let name = |rest: &str| rest.trim_end_matches('{').trim().to_owned();
            if let Some(rest) = line.strip_prefix("chain ") {
                in_chain = true;
                if let Some(t) = out.last_mut() {
                    t.chains.push(Chain {
                        name: name(rest),
                        nat_hook: None,
                        rules: Vec::new(),
                    });
                }
            } else if let Some(rest) = line
                .strip_prefix("set ")
                .or_else(|| line.strip_prefix("map "))
            {
                named = Some((name(rest), String::new()));
            }
        } else if depth == 2 && in_chain && !line.is_empty() && line != "}" {
            let chain = out.last_mut().and_then(|t| t.chains.last_mut());
            if let Some(chain) = chain {
                if let Some(spec) = line.strip_prefix("type ") {
                    let w: Vec<&str> = spec.split([' ', ';']).collect();
                    let hook = w
                        .iter()
                        .position(|x| *x == "hook")
                        .and_then(|i| w.get(i + 1));
                    chain.nat_hook = match (w.first(), hook) {
                        (Some(&"nat"), Some(&"prerouting")) => Some(Hook::Prerouting),
                        (Some(&"nat"), Some(&"output")) => Some(Hook::Output),
                        _ => None,
                    };
                } else if !line.starts_with("policy ") && !line.starts_with("comment ") {
                    chain.rules.push(Rule {
                        text: without_counters(line),
                        handle,
                    });
                }
            }
        }
        if let Some((_, acc)) = named.as_mut() {
            acc.push_str(line);
            acc.push(' ');
        }
        depth = (depth + opens).saturating_sub(closes);
        if depth <= 1 {
            in_chain = false;
            if let Some((name, acc)) = named.take()
                && let (Some(t), Some(e)) = (out.last_mut(), elements_of(&acc))
            {
                t.elements.insert(name, e);
            }
        }
    }
    out.retain(|t| !t.name.is_empty());
    out
}

/// `elements = { a, b }` of a set's or map's text.
fn elements_of(block: &str) -> Option<String> {
    let rest = &block[block.find("elements = {")? + "elements = {".len()..];
    Some(rest[..rest.find('}')?].trim().to_owned())
}

/// A rule's text without its counters (`counter packets 0 bytes 0`), which change with traffic.
fn without_counters(rule: &str) -> String {
    let w: Vec<&str> = rule.split_whitespace().collect();
    let mut out = Vec::with_capacity(w.len());
    let mut i = 0;
    while i < w.len() {
        if w[i] == "counter" {
            i += 1;
            while i + 1 < w.len() && (w[i] == "packets" || w[i] == "bytes") {
                i += 2;
            }
            continue;
        }
        out.push(w[i]);
        i += 1;
    }
    out.join(" ")
}

/// The rule split at its action: (match, action). The action starts at the first of `dnat`,
/// `redirect`, `jump`, `goto`, `vmap`, or a verdict that ends the chain (`accept`, `return`,
/// `drop`, `reject`).
fn split_action(rule: &str) -> Option<(&str, &str)> {
    let mut at = 0;
    for word in rule.split(' ') {
        if matches!(
            word,
            "dnat"
                | "redirect"
                | "jump"
                | "goto"
                | "vmap"
                | "accept"
                | "return"
                | "drop"
                | "reject"
        ) {
            return Some((rule[..at].trim(), &rule[at..]));
        }
        at += word.len() + 1;
    }
    None
}

/// The value after `key` in `text` (`@name`, `{ … }` or one word), whether it is negated
/// (`!=`), or `Some(("", false))` when the key ends the text (a map's key).
fn value_after<'a>(text: &'a str, key: &str) -> Option<(&'a str, bool)> {
    let i = text.find(key)?;
    let rest = text[i + key.len()..].trim_start();
    let (rest, negated) = match rest.strip_prefix("!=") {
        Some(r) => (r.trim_start(), true),
        None => (rest, false),
    };
    let value = if rest.starts_with('{') {
        &rest[..=rest.find('}')?]
    } else {
        rest.split_whitespace().next().unwrap_or("")
    };
    Some((value, negated))
}

impl Table {
    /// A set's elements, when `value` names one (`@webports`), else `value` itself.
    fn resolve<'a>(&'a self, value: &'a str) -> Option<&'a str> {
        match value.strip_prefix('@') {
            Some(name) => self.elements.get(name).map(String::as_str),
            None => Some(value),
        }
    }

    fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// What a rule's match says for the port: `None` when it does not match it.
struct Matched {
    /// Its address and family conditions, and whether it has others this module does not read.
    conds: Conds,
    /// The named set the port matched through.
    via_set: Option<String>,
    /// The match ends with the port as a map's key (`tcp dport vmap …`).
    keyed: bool,
}

fn match_port(t: &Table, matched: &str, port: u16, protocol: Protocol) -> Option<Matched> {
    let ours = proto_word(protocol);
    let other = proto_word(match protocol {
        Protocol::Tcp => Protocol::Udp,
        Protocol::Udp => Protocol::Tcp,
    });
    let words: Vec<&str> = matched
        .split([' ', ',', '{', '}'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.contains(&other) && !words.contains(&ours) {
        return None;
    }
    let mut out = Matched {
        conds: Conds {
            understood: understood(matched),
            only: only_family(&words),
            ..Conds::default()
        },
        via_set: None,
        keyed: false,
    };
    let dport =
        value_after(matched, &format!("{ours} dport")).or_else(|| value_after(matched, "th dport"));
    if let Some((value, negated)) = dport {
        if value.is_empty() {
            out.keyed = true;
        } else {
            let ports = t.resolve(value)?;
            if ports_match(ports, port) == negated {
                return None;
            }
            out.via_set = value.strip_prefix('@').map(|_| value.to_owned());
        }
    }
    for (key, dest) in [
        ("ip daddr", true),
        ("ip6 daddr", true),
        ("ip saddr", false),
        ("ip6 saddr", false),
    ] {
        if let Some((value, negated)) = value_after(matched, key) {
            match t.resolve(value).and_then(|v| AddrMatch::parse(v, negated)) {
                Some(m) if dest => out.conds.daddr.push(m),
                Some(m) => out.conds.saddr.push(m),
                // A range or a set of another kind: a condition not read.
                None => out.conds.understood = false,
            }
        }
    }
    Some(out)
}

/// The family a match keeps to in a table that sees both: `meta nfproto ipv4`, or any `ip …` /
/// `ip6 …` field (`ip daddr`, `ip6 saddr`, `ip protocol`).
fn only_family(words: &[&str]) -> Option<RuleFamily> {
    let mut only = None;
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        let f = match (*w, next) {
            ("nfproto", Some("ipv4")) | ("ip", Some(_)) => Some(RuleFamily::Ip),
            ("nfproto", Some("ipv6")) | ("ip6", Some(_)) => Some(RuleFamily::Ip6),
            _ => None,
        };
        only = only.or(f);
    }
    only
}

/// Whether every part of a match is one this module reads: protocols, ports, addresses and
/// families (an interface, a mark, a connection state or a log statement is not).
fn understood(matched: &str) -> bool {
    let words: Vec<&str> = matched.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let key = (words[i], words.get(i + 1).copied().unwrap_or(""));
        let len = match key {
            ("ip" | "ip6", "daddr" | "saddr" | "protocol" | "nexthdr")
            | ("tcp" | "udp" | "th", "dport")
            | ("meta", "l4proto" | "nfproto") => 2,
            ("l4proto" | "nfproto", _) => 1,
            _ => return false,
        };
        i += len;
        if words.get(i) == Some(&"!=") {
            i += 1;
        }
        // The value: one word, or `{ … }` to its closing brace.
        if words.get(i).is_some_and(|w| w.starts_with('{')) {
            while i < words.len() && !words[i].ends_with('}') {
                i += 1;
            }
        }
        i += 1;
    }
    true
}

/// Where a map's elements (`7000 : 10.9.0.2 . 80, 7001 : jump x`) send `port`.
fn map_value(elements: &str, port: u16) -> Option<&str> {
    elements.split(',').find_map(|entry| {
        let (key, value) = entry.split_once(" : ")?;
        ports_match(key, port).then_some(value.trim())
    })
}

/// A map named (`map @m`, `vmap @m`) or written inline (`{ … }`) after `key` in `action`.
fn map_elements<'a>(t: &'a Table, action: &'a str, key: &str) -> Option<&'a str> {
    let (value, _) = value_after(action, key)?;
    let value = value.trim_start_matches('{').trim_end_matches('}');
    t.resolve(value.trim())
}

struct Walk<'a> {
    table: &'a Table,
    port: u16,
    protocol: Protocol,
    out: Vec<NatRedirect>,
}

/// Where a walk stands: the hook it started at, the conditions met so far, how it came here.
struct At<'a> {
    hook: Hook,
    conds: &'a Conds,
    via: Option<&'a str>,
    depth: usize,
}

impl Walk<'_> {
    /// Where a `dnat` action sends the port, and the named map it went through: `None` when
    /// it names no address, or is a map without the port as a key.
    fn dnat_target(&self, action: &str) -> Option<(String, Option<String>)> {
        let after_to = action.split_once(" to ").map(|x| x.1.trim())?;
        let key = format!("{} dport map", proto_word(self.protocol));
        if after_to.starts_with(&key) {
            let value =
                map_elements(self.table, after_to, &key).and_then(|e| map_value(e, self.port))?;
            let named = value_after(after_to, &key)
                .map(|(v, _)| v)
                .filter(|v| v.starts_with('@'))
                .map(str::to_owned);
            let to = value
                .split(" . ")
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(":");
            Some((to, named))
        } else if after_to.contains(" map ") || after_to.starts_with("map") {
            None // a map keyed by something else than this port
        } else {
            Some((
                after_to.split_whitespace().next().unwrap_or("").to_owned(),
                None,
            ))
        }
    }

    /// Walks `chain` for the port with the enders met before it; returns the rules in it (and
    /// the chains it jumps to) that end the hook's evaluation for the port.
    fn chain(&mut self, chain: &Chain, at: &At, inherited: &[Ender]) -> Vec<Ender> {
        let mut ends = Ends::from(inherited);
        if at.depth > MAX_DEPTH {
            return ends.all;
        }
        for rule in &chain.rules {
            let Some((matched, action)) = split_action(&rule.text) else {
                continue;
            };
            let Some(m) = match_port(self.table, matched, self.port, self.protocol) else {
                continue;
            };
            let Some(conds) = at.conds.and(&m.conds) else {
                continue; // one family each: no packet meets both
            };
            let text = format!("{} (chain {})", rule.text, chain.name);
            let mut words = action.split_whitespace();
            let mut verb = words.next().unwrap_or("");
            let mut target = words.next();
            let mut how = format!("jumped to from chain {} ({})", chain.name, rule.text);
            if verb == "vmap" {
                // The verdict the map holds for the port, if any.
                let Some(verdict) = map_elements(self.table, action, "vmap")
                    .and_then(|e| map_value(e, self.port))
                    .filter(|_| m.keyed)
                else {
                    continue;
                };
                let mut v = verdict.split_whitespace();
                verb = v.next().unwrap_or("");
                target = v.next();
                how = format!(
                    "jumped to from chain {} by the verdict map ({})",
                    chain.name, rule.text
                );
            } else if m.keyed {
                continue; // the port is a key of something this walk does not read
            }
            let (to, via_map) = match verb {
                "accept" | "drop" | "reject" => {
                    ends.end_all(conds, text);
                    continue;
                }
                "return" => {
                    ends.leave_chain(conds, text);
                    continue;
                }
                "jump" | "goto" => {
                    if let Some(next) = target.and_then(|n| self.table.chain(n)) {
                        let next_at = At {
                            hook: at.hook,
                            conds: &conds,
                            via: Some(&how),
                            depth: at.depth + 1,
                        };
                        let sub = self.chain(next, &next_at, &ends.seen);
                        ends.absorb(sub);
                    }
                    if verb == "goto" {
                        // The packet never comes back to this chain.
                        ends.leave_chain(conds, text);
                    }
                    continue;
                }
                "dnat" => match self.dnat_target(action) {
                    Some(t) => t,
                    None => continue,
                },
                "redirect" => (
                    action.split_once(" to ").map_or_else(
                        || "this host".to_owned(),
                        |(_, t)| t.split_whitespace().next().unwrap_or("").to_owned(),
                    ),
                    None,
                ),
                _ => continue,
            };
            let Some(path) = ends.redirect(at.hook, &conds, text) else {
                continue; // an earlier rule takes every such connection first
            };
            self.out.push(NatRedirect {
                to,
                rule: rule.text.clone(),
                source: "nftables".into(),
                firewall: Firewall::Nftables,
                family: self.table.family,
                table: self.table.name.clone(),
                chain: chain.name.clone(),
                hooks: vec![at.hook],
                matched: matched.to_owned(),
                via: at
                    .via
                    .map(str::to_owned)
                    .or(m.via_set.map(|s| format!("the port is in set {s}")))
                    .or(via_map.map(|s| format!("the port is a key of map {s}"))),
                handle: rule.handle,
                spec: Vec::new(),
                paths: vec![path],
            });
        }
        ends.all
    }
}

pub(super) fn parse(text: &str, port: u16, protocol: Protocol) -> Vec<NatRedirect> {
    let mut out = Vec::new();
    for t in tables(text) {
        let mut walk = Walk {
            table: &t,
            port,
            protocol,
            out: Vec::new(),
        };
        for c in &t.chains {
            if let Some(hook) = c.nat_hook {
                let all = Conds::all();
                let at = At {
                    hook,
                    conds: &all,
                    via: None,
                    depth: 0,
                };
                walk.chain(c, &at, &[]);
            }
        }
        out.append(&mut walk.out);
    }
    out
}
