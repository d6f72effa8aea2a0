//! Facts of this machine that decide whether a bind works (privileged ports, ephemeral and
//! reserved ranges, non-local binds, dual-stack default, privileges, addresses) as values; the
//! table of what each means is made in `render::facts`.
//!
//! Per-OS readers live in one module per OS; the parsers they use are pure and tested on fixtures.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::target::{Family, Protocol};

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

pub mod netsh;
pub mod procfs;

/// One address assigned to a local interface. In JSON its address is the text it is bound
/// with (`fe80::1%eth0` for a link-local one), as it always was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "InterfaceJson", into = "InterfaceJson")]
pub struct Interface {
    /// Interface name (`lo`, `eth0`, `Ethernet 2`).
    pub name: String,
    /// The address.
    pub address: IpAddr,
    /// IPv6 or not.
    pub ipv6: bool,
    /// A loopback interface.
    pub loopback: bool,
}

impl Interface {
    /// The scope a bind of this address needs: the interface's name for an IPv6 link-local
    /// address, none for any other.
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        matches!(self.address, IpAddr::V6(v6) if v6.is_unicast_link_local())
            .then_some(self.name.as_str())
    }

    /// The address as a bind takes it, with its scope (its text is `fe80::1%eth0`).
    #[must_use]
    pub fn host(&self) -> crate::target::Host {
        crate::target::Host::Ip {
            ip: self.address,
            scope: self.scope().map(str::to_owned),
        }
    }
}

/// [`Interface`] as JSON holds it (and as facts from another machine arrive).
#[derive(Serialize, Deserialize)]
struct InterfaceJson {
    name: String,
    address: String,
    ipv6: bool,
    loopback: bool,
}

impl From<Interface> for InterfaceJson {
    fn from(i: Interface) -> Self {
        InterfaceJson {
            address: i.host().to_string(),
            name: i.name,
            ipv6: i.ipv6,
            loopback: i.loopback,
        }
    }
}

impl TryFrom<InterfaceJson> for Interface {
    type Error = String;

    fn try_from(j: InterfaceJson) -> Result<Self, String> {
        let address = crate::target::Host::parse(&j.address)
            .ip()
            .ok_or_else(|| format!("not an interface address: {:?}", j.address))?;
        Ok(Interface {
            name: j.name,
            address,
            ipv6: j.ipv6,
            loopback: j.loopback,
        })
    }
}

/// An inclusive range of ports with the reason the OS treats it specially.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (inclusive).
    pub end: u16,
    /// Which sockets it applies to.
    pub scope: PortScope,
}

/// Which sockets a port range applies to (Windows keeps one list per protocol and family), and
/// whether an administrator made it (netsh's `*`). Worded by `wording::port_scope`. In JSON an
/// object; facts from an older version (another machine's, a saved answer) held netsh's words,
/// `"tcp ipv4, administered"`, `""` for all, and still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "PortScopeJson")]
pub struct PortScope {
    /// The protocol; `None`: both.
    pub protocol: Option<Protocol>,
    /// The family; `Any`: both.
    pub family: Family,
    /// An administered exclusion (Windows).
    pub administered: bool,
}

impl PortScope {
    /// Every socket: the protocol and family a range of Linux or macOS applies to.
    pub const ALL: PortScope = PortScope {
        protocol: None,
        family: Family::Any,
        administered: false,
    };

    /// One protocol of one family.
    #[must_use]
    pub fn of(protocol: Protocol, family: Family) -> Self {
        PortScope {
            protocol: Some(protocol),
            family,
            administered: false,
        }
    }
}

/// [`PortScope`] as JSON holds it, now or as an older version wrote it.
#[derive(Deserialize)]
#[serde(untagged)]
enum PortScopeJson {
    /// Netsh's words, as versions before the typed scope wrote them.
    Words(String),
    /// The typed scope.
    Typed {
        #[serde(default)]
        protocol: Option<Protocol>,
        #[serde(default)]
        family: Family,
        #[serde(default)]
        administered: bool,
    },
}

impl From<PortScopeJson> for PortScope {
    fn from(j: PortScopeJson) -> Self {
        match j {
            PortScopeJson::Typed {
                protocol,
                family,
                administered,
            } => PortScope {
                protocol,
                family,
                administered,
            },
            PortScopeJson::Words(words) => {
                let mut scope = PortScope::ALL;
                for word in words.split([' ', ',']).filter(|w| !w.is_empty()) {
                    match word {
                        "tcp" => scope.protocol = Some(Protocol::Tcp),
                        "udp" => scope.protocol = Some(Protocol::Udp),
                        "ipv4" => scope.family = Family::Ipv4,
                        "ipv6" => scope.family = Family::Ipv6,
                        "administered" => scope.administered = true,
                        _ => {}
                    }
                }
                scope
            }
        }
    }
}

impl PortRange {
    /// Whether `port` lies inside.
    #[must_use]
    pub fn contains(&self, port: u16) -> bool {
        (self.start..=self.end).contains(&port)
    }
}

/// Everything the diagnosis consults about this machine.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Facts {
    /// `linux`, `macos`, `windows`.
    pub os: crate::platform::Os,
    /// Distribution / version text.
    pub os_version: String,
    /// Host name.
    pub hostname: String,
    /// root or Administrator, with the rights that go with it here: root of a user namespace
    /// that does not own this network namespace (`unshare -Ur`) is not (its `uid` is 0, and
    /// `netns_caps_apply` is false). The one value every front says.
    pub elevated: bool,
    /// Effective user id (Unix).
    pub uid: Option<u32>,
    /// Whether this process may bind privileged ports without root (Linux capability, and
    /// only where it counts for binds: see `netns_caps_apply`).
    pub cap_net_bind_service: Option<bool>,
    /// Whether CAP_NET_BIND_SERVICE is in this process's effective set at all, whether or not
    /// it counts in this network namespace (Linux).
    #[serde(default)]
    pub cap_net_bind_service_held: Option<bool>,
    /// Whether CAP_SYS_PTRACE is effective (Linux): without it even root cannot read other
    /// users' /proc/PID/fd, so owners stay hidden.
    #[serde(default)]
    pub cap_sys_ptrace: Option<bool>,
    /// `net.ipv4.tcp_fin_timeout` (Linux): how long an orphaned FIN_WAIT2 socket lasts, seconds.
    #[serde(default)]
    pub tcp_fin_timeout: Option<u32>,
    /// Lowest port an unprivileged process may bind (Linux; 1024 elsewhere on Unix).
    pub unprivileged_port_start: Option<u16>,
    /// The range the OS hands out to outgoing connections.
    pub ephemeral_range: Option<PortRange>,
    /// Ports the OS will not hand out automatically (Linux) or excludes entirely (Windows).
    pub reserved_ranges: Vec<PortRange>,
    /// Linux: the reserved ports could not be read, so `reserved_ranges` being empty proves
    /// nothing.
    #[serde(default)]
    pub reserved_unread: bool,
    /// Windows: the scopes (TCP over IPv4, …) whose excluded port ranges could not be read, so
    /// an exclusion there is not ruled out.
    #[serde(default)]
    pub excluded_unread: Vec<PortScope>,
    /// Whether binding addresses this machine does not have is allowed (IPv4).
    pub nonlocal_bind_v4: Option<bool>,
    /// The same for IPv6.
    pub nonlocal_bind_v6: Option<bool>,
    /// System default for IPV6_V6ONLY on new IPv6 sockets.
    pub bindv6only: Option<bool>,
    /// The network namespace this check ran in (Linux), since other namespaces' sockets are invisible.
    pub netns: Option<String>,
    /// Whether this process's capabilities apply to this network namespace (Linux): `false`
    /// when the process runs in a user namespace that neither owns the network namespace nor
    /// is an ancestor of its owner (`unshare -U` without `-n`), where even its root binds as
    /// any user; `None` when it could not be asked.
    #[serde(default)]
    pub netns_caps_apply: Option<bool>,
    /// Local interface addresses.
    pub interfaces: Vec<Interface>,
}

impl Facts {
    /// Whether `ip` (a bindable form, scope allowed) is one of this machine's addresses.
    #[must_use]
    pub fn has_address(&self, ip: std::net::IpAddr) -> bool {
        self.interfaces.iter().any(|i| i.address == ip)
    }

    /// Whether `port` is in the ephemeral range.
    #[must_use]
    pub fn is_ephemeral(&self, port: u16) -> bool {
        self.ephemeral_range
            .as_ref()
            .is_some_and(|r| r.contains(port))
    }

    /// Whether an unprivileged process needs extra rights for `port`.
    #[must_use]
    pub fn is_privileged(&self, port: u16) -> bool {
        port != 0 && self.unprivileged_port_start.is_some_and(|s| port < s)
    }

    /// Whether this process may bind privileged ports. Where the OS reports capabilities (Linux)
    /// the capability decides, not the uid: root in a container that dropped
    /// CAP_NET_BIND_SERVICE may not.
    #[must_use]
    pub fn may_bind_privileged(&self) -> bool {
        self.cap_net_bind_service.unwrap_or(self.elevated)
    }
}

/// Runs a system tool by its absolute path and returns its trimmed standard output when it
/// succeeds (netsh, sysctl, …).
#[cfg(not(target_os = "linux"))]
pub(crate) fn command_output(args: &[&str]) -> Option<String> {
    crate::tools::output(args[0], &args[1..]).map(|s| s.trim().to_owned())
}

/// Reads the facts of this machine now; a few milliseconds of file reads.
#[must_use]
pub fn gather() -> Facts {
    let mut f = Facts {
        os: crate::platform::Os::current(),
        hostname: dns_lookup::get_hostname().unwrap_or_default(),
        interfaces: interfaces(),
        ..Facts::default()
    };
    os::gather_into(&mut f);
    f
}

/// The machine's interface addresses, loopback first, IPv4 before IPv6.
#[must_use]
pub fn interfaces() -> Vec<Interface> {
    let mut out: Vec<Interface> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| {
            let ip = i.ip();
            Interface {
                loopback: i.is_loopback(),
                ipv6: ip.is_ipv6(),
                name: i.name,
                address: ip,
            }
        })
        .collect();
    out.sort_by_key(|i| (!i.loopback, i.ipv6, i.name.clone()));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An interface's address is typed: a link-local one keeps its interface as its scope, the
    /// JSON holds the text it is bound with (as before, so facts from another machine read),
    /// and `has_address` compares addresses, never text.
    #[test]
    fn an_interface_address_is_typed_and_its_json_is_the_bindable_text() {
        let json = r#"[{"name":"eth0","address":"fe80::1%eth0","ipv6":true,"loopback":false},
            {"name":"lo","address":"127.0.0.1","ipv6":false,"loopback":true}]"#;
        let read: Vec<Interface> = serde_json::from_str(json).unwrap();
        assert_eq!(read[0].address, "fe80::1".parse::<IpAddr>().unwrap());
        assert_eq!(read[0].scope(), Some("eth0"));
        assert_eq!(read[0].host().to_string(), "fe80::1%eth0");
        assert_eq!(read[1].scope(), None, "no scope off link-local");
        let again: serde_json::Value = serde_json::to_value(&read).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
        let f = Facts {
            interfaces: read,
            ..Facts::default()
        };
        assert!(f.has_address("fe80::1".parse().unwrap()));
        assert!(f.has_address("127.0.0.1".parse().unwrap()));
        assert!(!f.has_address("127.0.0.2".parse().unwrap()));
        assert!(
            serde_json::from_str::<Interface>(
                r#"{"name":"x","address":"not an address","ipv6":false,"loopback":false}"#
            )
            .is_err()
        );
    }

    /// A range's scope is typed: facts written before it was (another machine's older version,
    /// a saved answer) held netsh's words and read as the same values; the typed JSON reads back.
    #[test]
    fn a_range_scope_reads_from_the_old_words_and_the_typed_json() {
        let tcp4 = PortScope::of(Protocol::Tcp, Family::Ipv4);
        let old = r#"{"os":"windows","os_version":"","hostname":"","elevated":false,"uid":null,
            "cap_net_bind_service":null,"unprivileged_port_start":0,
            "ephemeral_range":{"start":49152,"end":65535,"scope":"tcp"},
            "reserved_ranges":[{"start":50000,"end":50059,"scope":"tcp ipv4, administered"},
                {"start":1080,"end":1179,"scope":"udp ipv6"},{"start":8080,"end":8080,"scope":""}],
            "excluded_unread":["tcp ipv6"],
            "nonlocal_bind_v4":null,"nonlocal_bind_v6":null,"bindv6only":null,"netns":null,
            "interfaces":[]}"#;
        let f: Facts = serde_json::from_str(old).expect("old facts read");
        assert_eq!(
            f.ephemeral_range.as_ref().map(|r| r.scope),
            Some(PortScope {
                family: Family::Any,
                ..tcp4
            })
        );
        let scopes: Vec<PortScope> = f.reserved_ranges.iter().map(|r| r.scope).collect();
        assert_eq!(
            scopes,
            [
                PortScope {
                    administered: true,
                    ..tcp4
                },
                PortScope::of(Protocol::Udp, Family::Ipv6),
                PortScope::ALL,
            ]
        );
        assert_eq!(
            f.excluded_unread,
            [PortScope::of(Protocol::Tcp, Family::Ipv6)]
        );

        let typed = serde_json::to_value(&f).unwrap();
        assert_eq!(
            typed["reserved_ranges"][0]["scope"],
            serde_json::json!({"protocol": "tcp", "family": "ipv4", "administered": true})
        );
        assert_eq!(
            typed["reserved_ranges"][2]["scope"],
            serde_json::json!({"protocol": null, "family": "any", "administered": false})
        );
        let again: Facts = serde_json::from_value(typed).expect("typed facts read");
        assert_eq!(again, f);
    }
}
