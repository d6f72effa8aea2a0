//! Closing one TCP connection, as TCPView's "Close Connection": the kernel aborts that socket
//! (the peer gets a reset, the process holding it sees the connection aborted), then the table
//! is read again to prove it is gone. Linux asks sock_diag to destroy the socket (needs
//! CAP_NET_ADMIN and a kernel with CONFIG_INET_DIAG_DESTROY); other systems say it is not
//! available here rather than pretend.

use std::net::SocketAddr;

/// Why a connection was not closed.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// Only root (CAP_NET_ADMIN) may abort another process's connection.
    #[error("closing a connection needs CAP_NET_ADMIN: run Port Inspector as root")]
    NeedsNetAdmin,
    /// No such connection (it closed meanwhile, or the addresses are wrong).
    #[error("no TCP connection from {local} to {remote} exists now")]
    NotFound {
        /// Its local end.
        local: SocketAddr,
        /// Its peer.
        remote: SocketAddr,
    },
    /// The kernel cannot destroy sockets (built without CONFIG_INET_DIAG_DESTROY), or this OS
    /// has no way here.
    #[error("this system cannot close a connection from outside its process ({0})")]
    Unsupported(String),
    /// The kernel said it was done, but the connection is still there.
    #[error(
        "the connection from {local} to {remote} is still there after the kernel was asked to close it"
    )]
    StillThere {
        /// Its local end.
        local: SocketAddr,
        /// Its peer.
        remote: SocketAddr,
    },
    /// The request could not be made.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Closes the TCP connection from `local` to `remote` and proves it is gone.
pub fn tcp_connection(local: SocketAddr, remote: SocketAddr) -> Result<(), CloseError> {
    imp::destroy(local, remote)?;
    if still_open(local, remote) {
        return Err(CloseError::StillThere { local, remote });
    }
    Ok(())
}

/// Whether a TCP connection from `local` to `remote` is in the kernel's table now (in any state but
/// CLOSE: an aborted socket may linger a moment as CLOSE before it is freed).
fn still_open(local: SocketAddr, remote: SocketAddr) -> bool {
    crate::owners::all(Some(crate::target::Protocol::Tcp))
        .owners
        .iter()
        .any(|o| {
            o.local == local
                && o.remote == Some(remote)
                && o.state != crate::owners::SockState::Unknown
        })
}

#[cfg(target_os = "linux")]
mod imp {
    //! sock_diag's SOCK_DESTROY for the socket's exact 4-tuple.
    use super::CloseError;
    use netlink_packet_core::{
        NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    };
    use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
    use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
    use netlink_packet_sock_diag::{SockDiagDestroy, SockDiagMessage};
    use netlink_sys::{Socket, SocketAddr as NlAddr, protocols::NETLINK_SOCK_DIAG};
    use std::net::{IpAddr, SocketAddr};

    pub fn destroy(local: SocketAddr, remote: SocketAddr) -> Result<(), CloseError> {
        // A v4 address seen through a dual-stack socket is asked for as IPv4.
        let (family, src, dst) = match (local.ip(), remote.ip()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (AF_INET, IpAddr::V4(a), IpAddr::V4(b)),
            (a, b) => (AF_INET6, a, b),
        };
        let request = InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::all(),
            socket_id: SocketId {
                source_port: local.port(),
                destination_port: remote.port(),
                source_address: src,
                destination_address: dst,
                interface_id: 0,
                // INET_DIAG_NOCOOKIE: any socket with these addresses.
                cookie: [0xff; 8],
            },
        };
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK;
        let mut packet = NetlinkMessage::new(
            header,
            NetlinkPayload::from(SockDiagDestroy::new(SockDiagMessage::InetRequest(request))),
        );
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
        socket.bind_auto()?;
        socket.connect(&NlAddr::new(0, 0))?;
        socket.send(&buf, 0)?;
        let mut rx = vec![0u8; 4096];
        let size = socket.recv(&mut &mut rx[..], 0)?;
        // The answer is NLMSG_ERROR carrying 0 (done) or a negative errno.
        let code = (size >= 20)
            .then(|| i32::from_ne_bytes([rx[16], rx[17], rx[18], rx[19]]))
            .ok_or_else(|| std::io::Error::other("a short answer from sock_diag"))?;
        match -code {
            0 => Ok(()),
            libc::EPERM | libc::EACCES => Err(CloseError::NeedsNetAdmin),
            libc::ENOENT => Err(CloseError::NotFound { local, remote }),
            libc::EOPNOTSUPP | libc::EINVAL => Err(CloseError::Unsupported(
                std::io::Error::from_raw_os_error(-code).to_string(),
            )),
            e => Err(std::io::Error::from_raw_os_error(e).into()),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    //! Elsewhere: not available here (Windows' SetTcpEntry is the way there; not wired yet).
    use super::CloseError;
    use std::net::SocketAddr;

    pub fn destroy(_local: SocketAddr, _remote: SocketAddr) -> Result<(), CloseError> {
        Err(CloseError::Unsupported(
            "closing another process's connection is available on Linux".into(),
        ))
    }
}
