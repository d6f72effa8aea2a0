//! Who holds a port: every socket on it, with its state and owning process.
//!
//! One function per OS behind `of`; the rest of the crate never asks which OS it runs on.

use serde::{Deserialize, Serialize};

use crate::target::{Family, Protocol};

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;
#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
use other as os;

pub mod passwd;

/// One socket that uses the port, and the process behind it where we may know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Process ID; `None` for TIME_WAIT (no process) or a socket we may not inspect.
    pub pid: Option<u32>,
    /// Short process name (`nginx`).
    pub process: Option<String>,
    /// Executable path.
    pub path: Option<String>,
    /// Full command line, arguments separated by spaces.
    pub cmdline: Option<String>,
    /// User name of the socket's owner.
    pub user: Option<String>,
    /// Numeric user id of the socket's owner.
    pub uid: Option<u32>,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// IPv4 or IPv6.
    pub family: Family,
    /// Local address and port, `0.0.0.0:8080` / `[::]:8080`.
    pub local: String,
    /// Peer address for connections.
    pub remote: Option<String>,
    /// `LISTEN`, `ESTABLISHED`, `TIME_WAIT`, `BOUND` (bound, not listening), `UNCONN` (UDP), …
    pub state: String,
    /// For IPv6 sockets: whether IPV6_V6ONLY is set (false = dual-stack, also holds IPv4).
    pub v6_only: Option<bool>,
    /// Kernel socket inode, the key that links a socket to a process.
    pub inode: u64,
    /// Why some fields are empty, in words ("TIME_WAIT sockets belong to no process").
    pub note: Option<String>,
}

impl Owner {
    /// The local IP address, parsed back for conflict checks.
    #[must_use]
    pub fn local_ip(&self) -> Option<std::net::IpAddr> {
        self.local
            .parse::<std::net::SocketAddr>()
            .ok()
            .map(|a| a.ip())
    }

    /// `nginx (PID 123)` or a plain account of why no process is named.
    #[must_use]
    pub fn who(&self) -> String {
        match (self.pid, &self.process) {
            (Some(pid), Some(name)) => format!("{name} (PID {pid})"),
            (Some(pid), None) => format!("PID {pid}"),
            _ => self
                .note
                .clone()
                .unwrap_or_else(|| "unknown process".into()),
        }
    }
}

/// What to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Query {
    /// The port.
    pub port: u16,
    /// Only this protocol; `None` for both.
    pub protocol: Option<Protocol>,
}

/// The sockets on a port, and how many we could see but not attribute.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Owners {
    /// Every socket found on the port.
    pub owners: Vec<Owner>,
    /// Sockets whose process we may not inspect (another user's, without privilege).
    pub hidden: usize,
    /// How the lookup went (which kernel interface, limits met), for the curious and for bug reports.
    pub notes: Vec<String>,
}

/// Lists every socket using `q.port` and names its process where this OS lets us.
#[must_use]
pub fn of(q: Query) -> Owners {
    os::of(q)
}

pub(crate) const HIDDEN_NOTE: &str =
    "owned by another user — run as root/Administrator to see which process";
pub(crate) const TIME_WAIT_NOTE: &str =
    "TIME_WAIT: left by a closed connection; no process owns it";
