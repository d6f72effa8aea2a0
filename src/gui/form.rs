//! The Check tab's form: the interface choice and the inputs, remembered between runs and
//! validated on load.

use serde::{Deserialize, Serialize};

use crate::facts::Interface;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::target::{self, Family, Host, InputError, Protocol, Target};

/// Where to bind, as the interface picker offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum InterfaceChoice {
    /// getaddrinfo with no node: every wildcard address of the chosen families.
    #[default]
    AllAny,
    /// 0.0.0.0.
    AllIpv4,
    /// ::.
    AllIpv6,
    /// The name `localhost`.
    Localhost,
    /// One address of a local interface, with its scope for a link-local one (saved as its
    /// text, `fe80::1%eth0`).
    Address(Host),
    /// Whatever the user types.
    Custom,
}

impl InterfaceChoice {
    /// The picker's entry for `host` as the tool prints it (a scan's address, a socket's): the
    /// wildcards and `localhost` by name, an address of this machine as its interface (a
    /// link-local one with its `%scope`), anything else as typed text.
    #[must_use]
    pub fn for_host(host: &str, interfaces: &[Interface]) -> Self {
        match host.trim_start_matches('[').trim_end_matches(']') {
            "0.0.0.0" => Self::AllIpv4,
            "::" => Self::AllIpv6,
            "localhost" => Self::Localhost,
            h => match Host::parse(h) {
                // The address's interface; a scope, when given, must be its own.
                Host::Ip { ip, scope } => interfaces
                    .iter()
                    .find(|i| i.address == ip && (scope.is_none() || scope.as_deref() == i.scope()))
                    .map_or(Self::Custom, |i| Self::Address(i.host())),
                _ => Self::Custom,
            },
        }
    }

    /// The picker's text for this choice.
    #[must_use]
    pub fn label(&self, interfaces: &[Interface]) -> String {
        match self {
            InterfaceChoice::AllAny => "All interfaces (IPv4 + IPv6)".into(),
            InterfaceChoice::AllIpv4 => "All interfaces (IPv4) 0.0.0.0".into(),
            InterfaceChoice::AllIpv6 => "All interfaces (IPv6) ::".into(),
            InterfaceChoice::Localhost => "localhost".into(),
            InterfaceChoice::Address(a) => interfaces
                .iter()
                .find(|i| i.host() == *a)
                .map_or_else(|| a.to_string(), interface_label),
            InterfaceChoice::Custom => "Host name or address…".into(),
        }
    }
}

/// `lo — 127.0.0.1 (IPv4, loopback)`.
#[must_use]
pub fn interface_label(i: &Interface) -> String {
    format!(
        "{} — {} ({}{})",
        i.name,
        i.host(),
        if i.ipv6 { "IPv6" } else { "IPv4" },
        if i.loopback { ", loopback" } else { "" }
    )
}

/// The form, remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inputs {
    /// Interface picker.
    pub interface: InterfaceChoice,
    /// Text of the free host field.
    pub custom_host: String,
    /// Text of the port field (kept as typed, validated on each frame).
    pub port_text: String,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// IPv4 / IPv6 / either.
    pub family: Family,
    /// SO_REUSEADDR.
    pub reuse_address: bool,
    /// SO_REUSEPORT (Unix): join a group of same-user sockets on the port.
    pub reuse_port: bool,
    /// IPV6_V6ONLY: None = system default.
    pub v6_only: Option<bool>,
    /// Call listen after bind (TCP).
    pub listen: bool,
    /// SO_EXCLUSIVEADDRUSE (Windows).
    pub exclusive: bool,
    /// Resolver time limit, seconds.
    pub timeout_secs: f32,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            interface: InterfaceChoice::AllAny,
            custom_host: String::new(),
            port_text: "8080".into(),
            protocol: Protocol::Tcp,
            family: Family::Any,
            reuse_address: false,
            reuse_port: false,
            v6_only: None,
            listen: true,
            exclusive: false,
            timeout_secs: 10.0,
        }
    }
}

/// `text` cut to `max` characters: a persisted field longer than any real input is damage.
pub(super) fn capped(text: String, max: usize) -> String {
    if text.chars().count() > max {
        text.chars().take(max).collect()
    } else {
        text
    }
}

impl Inputs {
    /// The form as persisted, made safe to use: a timeout that is NaN, infinite or out of range
    /// falls back to the default, over-long texts are cut. No persisted value can panic the
    /// window (a value serde cannot read at all makes the whole form the default).
    #[must_use]
    pub fn validated(self) -> Self {
        let d = Self::default();
        Self {
            timeout_secs: if self.timeout_secs.is_finite()
                && (0.5..=120.0).contains(&self.timeout_secs)
            {
                self.timeout_secs
            } else {
                d.timeout_secs
            },
            port_text: capped(self.port_text, 64),
            custom_host: capped(self.custom_host, 300),
            ..self
        }
    }

    /// Fills the form with `t` (its interface, port, protocol, family and options), so what the
    /// form says is what was checked: selecting a history entry or running it again loads it,
    /// and Enter then tests that same target. The resolver limit stays as the user set it.
    pub fn load_target(&mut self, t: &Target, interfaces: &[Interface]) {
        let host = t.host.to_string();
        self.interface = if t.host.is_all() {
            InterfaceChoice::AllAny
        } else {
            InterfaceChoice::for_host(&host, interfaces)
        };
        if self.interface == InterfaceChoice::Custom {
            self.custom_host = host;
        }
        self.port_text = t.port.to_string();
        self.protocol = t.protocol;
        self.family = t.family;
        self.reuse_address = t.options.reuse_address;
        self.reuse_port = t.options.reuse_port;
        self.v6_only = t.options.v6_only;
        self.listen = t.options.listen;
        self.exclusive = t.options.exclusive_address_use;
    }

    /// The target the form describes, or the one-line reason it is not valid.
    pub fn target(&self) -> Result<Target, InputError> {
        let port = target::parse_port(&self.port_text)?;
        let host = match &self.interface {
            InterfaceChoice::AllAny => Host::All,
            InterfaceChoice::AllIpv4 => Host::from(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            InterfaceChoice::AllIpv6 => Host::from(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            InterfaceChoice::Localhost => Host::Name("localhost".into()),
            InterfaceChoice::Address(a) => a.clone(),
            InterfaceChoice::Custom => {
                let h = self.custom_host.trim();
                let h = h
                    .strip_prefix('[')
                    .and_then(|x| x.strip_suffix(']'))
                    .unwrap_or(h);
                target::parse_host(h)?
            }
        };
        let mut t = Target::tcp(host, port);
        t.protocol = self.protocol;
        t.family = self.family;
        t.options.reuse_address = self.reuse_address;
        t.options.reuse_port = self.reuse_port;
        t.options.v6_only = self.v6_only;
        t.options.listen = self.listen;
        t.options.exclusive_address_use = self.exclusive;
        t.validate()?;
        Ok(t)
    }
}

/// An input's problem in the window's own words (the CLI's sentences name flags and syntax the
/// window does not have).
#[must_use]
pub fn window_words(e: &InputError) -> String {
    match e {
        InputError::PortEmpty => "Type a port from 0 to 65535.".into(),
        InputError::PortNotNumber(t) => {
            format!("\u{201c}{t}\u{201d} is not a port: type a number from 0 to 65535.")
        }
        InputError::PortOutOfRange(t) => {
            format!("There is no port {t}: ports go from 0 to 65535.")
        }
        InputError::HostEmpty => {
            "Type a host name or address, or pick an interface from the list.".into()
        }
        InputError::HostInvalid(t) => format!(
            "\u{201c}{t}\u{201d} is not a host name or address (letters, digits, '-' and '.')."
        ),
        InputError::FamilyContradiction {
            host,
            family_of_host,
            family,
            ..
        } => format!(
            "{host} is an {family_of_host} address, but IP version {family} is picked: pick {family_of_host} or Either, or type an {family} address."
        ),
        InputError::V6OnlyWithoutIpv6 { what } => {
            let what = if what == "-4" {
                "IP version IPv4 makes".to_owned()
            } else {
                format!("{what} is an IPv4 address, which makes")
            };
            format!(
                "\u{201c}IPv6 only\u{201d} applies to IPv6 sockets; {what} only an IPv4 socket: set it to system default, or bind an IPv6 address."
            )
        }
        InputError::ShortIpv4(t) => format!(
            "\u{201c}{t}\u{201d} is not an address: type four numbers from 0 to 255, such as 127.0.0.1."
        ),
        InputError::BadRange(t) => {
            format!("\u{201c}{t}\u{201d} is not a range of ports: type START-END, e.g. 8000-9000.")
        }
        other => {
            let s = other.to_string();
            let mut c = s.chars();
            c.next().map_or_else(String::new, |f| {
                format!("{}{}.", f.to_uppercase(), c.as_str().trim_end_matches('.'))
            })
        }
    }
}

/// Whether a form's problem is said now: after the user asked (Enter or the button) or once
/// typing has paused for a second; never while a field is still empty and nobody asked (picking
/// "Host name or address…" must not greet the user with an error). `changed` is whether the
/// form changed this frame, `asked` whether the user tried to submit it.
#[must_use]
pub fn judge_now(ui: &egui::Ui, form: &str, changed: bool, asked: bool, empty: bool) -> bool {
    let key = egui::Id::unique(("form-judged", form));
    let now = ui.input(|i| i.time);
    if asked {
        ui.data_mut(|d| d.insert_temp(key, (now, true)));
        return true;
    }
    let (edited_at, was_asked) = ui
        .data(|d| d.get_temp::<(f64, bool)>(key))
        .unwrap_or((f64::MIN, false));
    if changed {
        ui.data_mut(|d| d.insert_temp(key, (now, false)));
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs(1));
        return false;
    }
    if was_asked {
        return true;
    }
    if empty {
        return false;
    }
    let waited = now - edited_at;
    if waited < 1.0 {
        // The repaint asked for at the edit can come a hair before the second is up: ask again
        // for the rest, or the message waits for the next key or click (it waited for Enter).
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs_f64((1.0 - waited).max(0.01)));
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_opens_on_its_own_interface() {
        let iface = |name: &str, address: &str| Interface {
            name: name.into(),
            address: Host::parse(address).ip().expect("an address"),
            ipv6: address.contains(':'),
            loopback: name == "lo",
        };
        let here = [
            iface("lo", "127.0.0.1"),
            iface("eth0", "fe80::1%eth0"),
            iface("eth0", "192.168.1.20"),
        ];
        let pick = |h: &str| InterfaceChoice::for_host(h, &here);
        assert_eq!(pick("0.0.0.0"), InterfaceChoice::AllIpv4);
        assert_eq!(pick("::"), InterfaceChoice::AllIpv6);
        assert_eq!(pick("[::]"), InterfaceChoice::AllIpv6);
        assert_eq!(pick("localhost"), InterfaceChoice::Localhost);
        assert_eq!(
            pick("192.168.1.20"),
            InterfaceChoice::Address("192.168.1.20".into())
        );
        assert_eq!(
            pick("fe80::1"),
            InterfaceChoice::Address("fe80::1%eth0".into()),
            "a link-local address gets its scope"
        );
        assert_eq!(
            pick("fe80::1%wlan0"),
            InterfaceChoice::Custom,
            "another scope"
        );
        assert_eq!(pick("10.9.8.7"), InterfaceChoice::Custom);
    }

    #[test]
    fn a_contradictory_form_is_said_in_the_windows_words() {
        let form = Inputs {
            interface: InterfaceChoice::AllIpv4,
            family: Family::Ipv6,
            ..Inputs::default()
        };
        let e = form.target().unwrap_err();
        assert!(
            matches!(e, InputError::FamilyContradiction { .. }),
            "0.0.0.0 as IPv6: {e:?}"
        );
        assert_eq!(
            window_words(&e),
            "0.0.0.0 is an IPv4 address, but IP version IPv6 is picked: pick IPv4 or Either, or type an IPv6 address."
        );
        let form = Inputs {
            interface: InterfaceChoice::Custom,
            custom_host: "[::1]".into(),
            family: Family::Ipv4,
            ..Inputs::default()
        };
        assert_eq!(
            window_words(&form.target().unwrap_err()),
            "::1 is an IPv6 address, but IP version IPv4 is picked: pick IPv6 or Either, or type an IPv4 address."
        );
        let form = Inputs {
            interface: InterfaceChoice::AllAny,
            family: Family::Ipv4,
            v6_only: Some(true),
            ..Inputs::default()
        };
        assert_eq!(
            window_words(&form.target().unwrap_err()),
            "\u{201c}IPv6 only\u{201d} applies to IPv6 sockets; IP version IPv4 makes only an IPv4 socket: set it to system default, or bind an IPv6 address."
        );
        let form = Inputs {
            interface: InterfaceChoice::AllIpv6,
            family: Family::Ipv6,
            v6_only: Some(true),
            ..Inputs::default()
        };
        assert!(form.target().is_ok(), "a consistent form is a target");
    }
}
