//! Which connections a rule really catches for the addresses a check bound
//! ([`NatRedirect::reach`]): the family its table and match see, the hook's side (other hosts
//! or this host), the destinations and sources its conditions name, and the earlier rules that
//! take some connections first.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{AddrMatch, Earlier, Hook, NatPath, NatRedirect, canonical};

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
    /// The rule's table sees both families, but its match keeps to IPv4.
    Ipv6ByMatch,
    /// The rule's table sees both families, but its match keeps to IPv6.
    Ipv4ByMatch,
    /// The bind takes every address, and the rule catches only the destinations it names.
    OtherAddresses,
    /// The rule catches only the sources it names.
    OtherSources,
    /// The bind takes every address, and the rule catches all destinations but those its
    /// conditions exclude (`ip daddr != 127.0.0.1`): connections to those.
    ExcludedAddresses,
    /// The bind takes every address, and an earlier rule ([`Reach::exempt`]) surely takes the
    /// connections to some of them first.
    TakenEarlier,
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
    /// The destination addresses the rule keeps to, for each way it is reached (all conditions
    /// of one way hold at once); empty when one way has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daddr: Vec<Vec<AddrMatch>>,
    /// The source addresses it keeps to, likewise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saddr: Vec<Vec<AddrMatch>>,
    /// Earlier rules that may end the chain first for some of these connections (their match
    /// is not all read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<String>,
    /// Earlier rules that surely end the chain first for the connections to some addresses a
    /// wildcard bind receives on (their destinations): those are not redirected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exempt: Vec<Earlier>,
}

impl NatRedirect {
    /// Which connections to `locals` (the addresses the check bound) this rule catches;
    /// `None` when it catches none of them (a prerouting rule and a loopback address, an `ip`
    /// rule and an IPv6-only socket, a rule for another destination address). `dual_stack`:
    /// a `[::]` socket also receives IPv4. `host`: this machine's addresses, which a wildcard
    /// bind receives on: a rule that names destinations catches a wildcard's connections only
    /// when it names one of them (or loopback, for this host's own connections).
    #[must_use]
    pub fn reach(&self, locals: &[IpAddr], dual_stack: bool, host: &[IpAddr]) -> Option<Reach> {
        let mut r = Reach::default();
        // An answer from an older version carries hooks only: no conditions.
        let paths: Vec<NatPath> = if self.paths.is_empty() {
            self.hooks
                .iter()
                .map(|&hook| NatPath {
                    hook,
                    daddr: Vec::new(),
                    saddr: Vec::new(),
                    only: None,
                    earlier: Vec::new(),
                })
                .collect()
        } else {
            self.paths.clone()
        };
        let (mut wants_v4, mut wants_v6, mut remote_ok, mut wildcard) =
            (false, false, false, false);
        // Whether a way with no destination (source) condition caught some connection.
        let (mut any_dest, mut any_source) = (false, false);
        for &ip in locals {
            let families: &[bool] = match ip {
                IpAddr::V4(_) => &[true],
                IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => &[true],
                IpAddr::V6(v6) if v6.is_unspecified() && dual_stack => &[true, false],
                IpAddr::V6(_) => &[false],
            };
            // Other hosts can reach any address but loopback (a packet to 127.0.0.0/8 or ::1
            // from the network is dropped as martian).
            let loopback = is_loopback(ip);
            remote_ok |= !loopback;
            wildcard |= ip.is_unspecified();
            for &v4 in families {
                wants_v4 |= v4;
                wants_v6 |= !v4;
                if !self.family.sees(v4) {
                    continue;
                }
                for path in &paths {
                    if !path.family_ok(v4) {
                        continue;
                    }
                    let c = path.catches(ip, v4, host);
                    let (other, own) = (c.other, c.own);
                    if !(other || own) {
                        continue;
                    }
                    r.ipv4 |= v4;
                    r.ipv6 |= !v4;
                    r.other_hosts |= other;
                    r.this_host |= own;
                    any_dest |= path.daddr.is_empty();
                    any_source |= path.saddr.is_empty();
                    if !path.daddr.is_empty() && !r.daddr.contains(&path.daddr) {
                        r.daddr.push(path.daddr.clone());
                    }
                    if !path.saddr.is_empty() && !r.saddr.contains(&path.saddr) {
                        r.saddr.push(path.saddr.clone());
                    }
                    for e in c.maybe {
                        if !r.earlier.contains(&e.rule) {
                            r.earlier.push(e.rule.clone());
                        }
                    }
                    for e in c.exempt {
                        if !r.exempt.contains(e) {
                            r.exempt.push(e.clone());
                        }
                    }
                }
            }
        }
        if !(r.other_hosts || r.this_host) {
            return None;
        }
        // A way with no condition catches every address: naming the others would say less.
        if any_dest {
            r.daddr.clear();
        }
        if any_source {
            r.saddr.clear();
        }
        if !r.this_host {
            r.untouched.push(Untouched::ThisHost);
        }
        if !r.other_hosts && remote_ok {
            r.untouched.push(Untouched::OtherHosts);
        }
        let by_match = |v4: bool| !paths.iter().any(|p| p.family_ok(v4));
        if wants_v6 && !r.ipv6 {
            r.untouched
                .push(if self.family.sees(false) && by_match(false) {
                    Untouched::Ipv6ByMatch
                } else {
                    Untouched::Ipv6
                });
        }
        if wants_v4 && !r.ipv4 {
            r.untouched
                .push(if self.family.sees(true) && by_match(true) {
                    Untouched::Ipv4ByMatch
                } else {
                    Untouched::Ipv4
                });
        }
        if wildcard && !r.daddr.is_empty() {
            // Ways that only exclude addresses leave exactly those alone: say which.
            let excluding = r.daddr.iter().flatten().all(|c| c.negated);
            r.untouched.push(if excluding {
                Untouched::ExcludedAddresses
            } else {
                Untouched::OtherAddresses
            });
        }
        if !r.exempt.is_empty() {
            r.untouched.push(Untouched::TakenEarlier);
        }
        if !r.saddr.is_empty() {
            r.untouched.push(Untouched::OtherSources);
        }
        Some(r)
    }
}

/// What one way to a rule does to the connections to one address a check bound.
#[derive(Debug, Default)]
struct Catch<'a> {
    /// Connections from other hosts are redirected.
    other: bool,
    /// This host's own connections are redirected.
    own: bool,
    /// Earlier rules that may take some of them first (their match is not all read).
    maybe: Vec<&'a Earlier>,
    /// Earlier rules that surely take the connections to some of the addresses a wildcard
    /// receives on (named in the note as not redirected).
    exempt: Vec<&'a Earlier>,
}

impl NatPath {
    /// What the way does to connections to `ip` (of the family `v4`) from other hosts and from
    /// this host's own programs. For a wildcard, a way that names destinations catches only
    /// those among the addresses the bind receives on (`host`'s and loopback's); an earlier
    /// rule that surely takes the connections to some of them leaves those out.
    fn catches(&self, ip: IpAddr, v4: bool, host: &[IpAddr]) -> Catch<'_> {
        let pre = self.hook == Hook::Prerouting;
        let out = self.hook == Hook::Output;
        let admitted = |a: IpAddr| self.daddr.iter().all(|c| c.admits(canonical(a)));
        let taken = |a: IpAddr| self.earlier.iter().any(|e| e.takes(a, v4) == Some(true));
        let mut c = Catch::default();
        if !ip.is_unspecified() {
            let loopback = is_loopback(ip);
            if !admitted(ip) || taken(ip) {
                return c;
            }
            c.other = pre && !loopback;
            c.own = out;
            c.maybe = self
                .earlier
                .iter()
                .filter(|e| e.takes(ip, v4).is_none())
                .collect();
            return c;
        }
        // The addresses this hook can see connections to: other hosts never reach loopback.
        let seen: Vec<IpAddr> = candidates(host, self, v4)
            .into_iter()
            .filter(|&a| (out || !is_loopback(a)) && admitted(a))
            .collect();
        c.exempt = self
            .earlier
            .iter()
            .filter(|e| seen.iter().any(|&a| e.takes(a, v4) == Some(true)))
            .collect();
        let live: Vec<IpAddr> = seen.iter().copied().filter(|&a| !taken(a)).collect();
        if self.daddr.is_empty() && c.exempt.is_empty() {
            (c.other, c.own) = (pre, out);
        } else {
            (c.other, c.own) = (pre && !live.is_empty(), out && !live.is_empty());
        }
        c.maybe = self
            .earlier
            .iter()
            .filter(|e| !c.exempt.contains(e))
            .filter(|e| live.is_empty() || live.iter().any(|&a| e.takes(a, v4).is_none()))
            .collect();
        c
    }

    /// Whether a packet of this family can meet every condition on the way.
    fn family_ok(&self, v4: bool) -> bool {
        self.only.is_none_or(|f| f.sees(v4))
            && self
                .daddr
                .iter()
                .chain(&self.saddr)
                .all(|c| c.family_ok(v4))
    }
}

/// Loopback, IPv4-mapped or not.
fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
        || matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|a| a.is_loopback()))
}

/// The addresses of one family a wildcard bind receives on that a rule's destination
/// conditions (or an earlier rule's) may tell apart: this host's, loopback's usual one, and
/// within 127.0.0.0/8 (all of it this host's) the first address of each network the conditions
/// name and the one just past its end — the edges where a condition, negated or not, can change
/// its answer (`ip daddr != 127.0.0.1` admits 127.0.0.2).
fn candidates(host: &[IpAddr], path: &NatPath, v4: bool) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = host.iter().copied().filter(|a| a.is_ipv4() == v4).collect();
    out.push(if v4 {
        IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
    });
    let named = path
        .daddr
        .iter()
        .chain(path.earlier.iter().flat_map(|e| &e.daddr))
        .flat_map(|c| c.nets.iter());
    for n in named {
        match n.addr {
            IpAddr::V4(a) if v4 => {
                let size = 1u64 << (32 - u32::from(n.prefix));
                let first = u64::from(a.to_bits()) & !(size - 1);
                for edge in [first, first + size] {
                    let edge = u32::try_from(edge).map(std::net::Ipv4Addr::from_bits);
                    if let Ok(e) = edge
                        && e.is_loopback()
                        && e != std::net::Ipv4Addr::new(127, 255, 255, 255)
                        && !out.contains(&IpAddr::V4(e))
                    {
                        out.push(IpAddr::V4(e));
                    }
                }
            }
            _ => {}
        }
    }
    out
}
