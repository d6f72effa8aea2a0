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
    /// What this holder really is, when it is a well-known one (container proxy, WSL relay, …).
    #[serde(default)]
    pub holder: Option<crate::holders::KnownHolder>,
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
            _ if self.state == "TIME_WAIT" => "a TIME_WAIT socket (no process)".into(),
            _ if self.note.as_deref() == Some(HIDDEN_NOTE) => format!(
                "a process of user {} (run as root/Administrator to see which)",
                self.user.as_deref().unwrap_or("unknown")
            ),
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
    identify(os::of(q))
}

fn identify(mut found: Owners) -> Owners {
    for o in &mut found.owners {
        o.holder = crate::holders::identify(o);
    }
    found
}

/// Every socket on any of `ports`, in one pass (range scans use this for the ports in use).
#[must_use]
pub fn of_ports(ports: &[u16], protocol: Option<Protocol>) -> Owners {
    if ports.is_empty() {
        return Owners::default();
    }
    identify(os::of_ports(ports, protocol))
}

/// Finds bound-only TCP sockets on `ports` descriptor by descriptor (pidfd_getfd). `of` does this
/// by itself on Linux kernels before 6.9, whose sock_diag cannot report such sockets; this entry
/// point lets a caller force it. Needs root or ptrace rights; elsewhere it finds nothing.
#[must_use]
pub fn bound_only_by_descriptor(ports: &[u16]) -> Vec<Owner> {
    #[cfg(target_os = "linux")]
    {
        linux::bound_only_by_pidfd(ports, &std::collections::HashSet::new()).0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = ports;
        Vec::new()
    }
}

pub(crate) const HIDDEN_NOTE: &str =
    "owned by another user — run as root/Administrator to see which process";
pub(crate) const TIME_WAIT_NOTE: &str =
    "TIME_WAIT: left by a closed connection; no process owns it";

/// Why an owner was not ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndError {
    /// TIME_WAIT sockets and other users' sockets have no PID we may signal.
    #[error("this socket has no process we can see, so there is nothing to end")]
    NoPid,
    /// The PID no longer holds that socket (it exited, closed it, or the PID was reused).
    #[error(
        "PID {pid} no longer holds {local}; nothing was ended (the PID may now belong to another program)"
    )]
    NoLongerOwner {
        /// The PID the user saw.
        pid: u32,
        /// The socket the user saw.
        local: String,
    },
    /// The OS refused the signal (permission, or the process just ended).
    #[error("could not end PID {pid}: {message}")]
    Refused {
        /// The PID.
        pid: u32,
        /// The OS's reason.
        message: String,
    },
}

/// Ends the process that owns `owner`, after checking again, right before the signal, that this
/// PID still holds this very socket (same local address and inode), since PIDs are reused.
pub fn end_process(owner: &Owner) -> Result<(), EndError> {
    let pid = owner.pid.ok_or(EndError::NoPid)?;
    let port = owner
        .local
        .parse::<std::net::SocketAddr>()
        .map(|a| a.port())
        .map_err(|_| EndError::NoPid)?;
    let now = of(Query {
        port,
        protocol: Some(owner.protocol),
    });
    let still = now
        .owners
        .iter()
        .any(|o| o.pid == Some(pid) && o.local == owner.local && o.inode == owner.inode);
    if !still {
        return Err(EndError::NoLongerOwner {
            pid,
            local: owner.local.clone(),
        });
    }
    terminate(pid).map_err(|e| EndError::Refused {
        pid,
        message: e.to_string(),
    })
}

/// The command a person can paste to end the owner by hand.
#[must_use]
pub fn end_command(pid: u32) -> String {
    if cfg!(windows) {
        format!("taskkill /PID {pid} /F")
    } else {
        format!("kill {pid}")
    }
}

#[cfg(unix)]
fn terminate(pid: u32) -> std::io::Result<()> {
    let raw = i32::try_from(pid).map_err(|_| std::io::Error::other("PID out of range"))?;
    let pid = rustix::process::Pid::from_raw(raw).ok_or_else(|| std::io::Error::other("PID 0"))?;
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).map_err(std::io::Error::from)
}

#[cfg(windows)]
fn terminate(pid: u32) -> std::io::Result<()> {
    let out = std::process::Command::new("taskkill")
        .args(["/PID", &pid.to_string(), "/F"])
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}
