//! The socket tables as `/proc/net/{tcp,tcp6,udp,udp6}` show them: what the owner lookup reads
//! when the kernel refuses its sock_diag dump (a sandbox that blocks netlink sockets, as `ss`
//! falls back to). These files list no TCP socket that is bound but neither listening nor
//! connected, and no IPV6_V6ONLY; each is read whole (a walk of the kernel's table).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One line of a `/proc/net` socket table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Row {
    /// Local address and port.
    pub local: SocketAddr,
    /// Peer address and port; `None` when both are zero.
    pub remote: Option<SocketAddr>,
    /// The kernel's `TCP_*` state number (UDP: 7 unconnected, 1 connected).
    pub state: u8,
    /// The socket's owner uid.
    pub uid: u32,
    /// The socket's inode (0 for TIME_WAIT and orphans).
    pub inode: u64,
}

/// The rows of one table's text (`/proc/net/tcp` and the like), the header line skipped and
/// any line that does not parse left out.
pub(super) fn parse(text: &str) -> Vec<Row> {
    text.lines().skip(1).filter_map(row).collect()
}

fn row(line: &str) -> Option<Row> {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    let mut f = line.split_whitespace();
    let _sl = f.next()?;
    let local = addr(f.next()?)?;
    let remote = addr(f.next()?)?;
    let state = u8::from_str_radix(f.next()?, 16).ok()?;
    let uid = f.nth(3)?.parse().ok()?;
    let inode = f.nth(1)?.parse().ok()?;
    Some(Row {
        local,
        remote: (remote.port() != 0 || !remote.ip().is_unspecified()).then_some(remote),
        state,
        uid,
        inode,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6): each 32-bit word is printed as
/// the kernel holds it in memory, i.e. in this machine's byte order.
fn addr(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| {
        ip.get(i * 8..i * 8 + 8)
            .and_then(|w| u32::from_str_radix(w, 16).ok())
            .map(u32::to_ne_bytes)
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_as_the_kernel_prints_them() {
        // As printed on a little-endian machine; the words are swapped on a big-endian one (a
        // fact of the build's target, not of an OS: cfg! stays).
        if cfg!(target_endian = "big") {
            return;
        }
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  4001        0 123456 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:1F90 0100007F:D431 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n garbage\n";
        let rows = parse(tcp);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].local, "127.0.0.1:8080".parse().unwrap(), "local");
        assert_eq!(rows[0].remote, None, "no peer");
        assert_eq!(
            (rows[0].state, rows[0].uid, rows[0].inode),
            (10, 4001, 123_456),
            "fields"
        );
        assert_eq!(
            rows[1].remote,
            Some("127.0.0.1:54321".parse().unwrap()),
            "peer"
        );
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n";
        let rows = parse(tcp6);
        assert_eq!(rows[0].local, "[::1]:80".parse().unwrap(), "{rows:?}");
        assert_eq!(rows[0].inode, 777, "inode");
    }
}
