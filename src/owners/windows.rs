//! Windows owners from the IP Helper tables (`GetExtendedTcpTable` / `GetExtendedUdpTable` with
//! owner PIDs, every TCP state including TIME_WAIT) and executable paths through
//! `QueryFullProcessImageNameW` (one call per owner; a toolhelp snapshot per PID is slow).
#![allow(unsafe_code)] // Win32 calls with buffers sized by the API itself; see each SAFETY note.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use windows_sys::Win32::Foundation::{CloseHandle, ERROR_INSUFFICIENT_BUFFER, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GetExtendedTcpTable, GetExtendedUdpTable, MIB_TCP6ROW_OWNER_PID, MIB_TCPROW_OWNER_PID,
    MIB_UDP6ROW_OWNER_PID, MIB_UDPROW_OWNER_PID, TCP_TABLE_OWNER_PID_ALL, UDP_TABLE_OWNER_PID,
};
use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};
use windows_sys::Win32::System::Threading::{
    OpenProcess, PROCESS_NAME_WIN32, PROCESS_QUERY_LIMITED_INFORMATION, QueryFullProcessImageNameW,
};

use super::table::{self, Row};
use super::{Owners, SockState, WinService};
use crate::target::{Family, Protocol};

/// Every socket on `ports` (all ports when `None`) of `protocol` (both when `None`).
pub(super) fn collect(ports: Option<&[u16]>, protocol: Option<Protocol>) -> Owners {
    let mut notes = Vec::new();
    let mut rows = Vec::new();
    for (proto, family) in [
        (Protocol::Tcp, AF_INET),
        (Protocol::Tcp, AF_INET6),
        (Protocol::Udp, AF_INET),
        (Protocol::Udp, AF_INET6),
    ] {
        if protocol.is_some_and(|p| p != proto) {
            continue;
        }
        match table_bytes(proto, u32::from(family)) {
            Ok(bytes) => rows.extend(
                parse(&bytes, proto, family == AF_INET6)
                    .into_iter()
                    .filter(|r| table::wanted(r.local.port(), proto, ports, protocol)),
            ),
            Err(code) => notes.push(super::LookupNote::TableUnreadable {
                protocol: proto,
                family: if family == AF_INET6 {
                    Family::Ipv6
                } else {
                    Family::Ipv4
                },
                code,
            }),
        }
    }
    for (i, r) in rows.iter_mut().enumerate() {
        r.id = i as u64 + 1;
    }
    let mut out = table::owners(rows, &image_path);
    out.notes.extend(notes);
    name_services(&mut out.owners, &running_services());
    out
}

/// Marks each owner whose process runs Windows services as managed by them: the services are
/// what to stop (`svchost.exe` hosts several; the service control manager restarts them).
fn name_services(owners: &mut [super::Owner], running: &[(u32, WinService)]) {
    for o in owners {
        let Some(pid) = o.pid else { continue };
        let services: Vec<WinService> = running
            .iter()
            .filter(|(p, _)| *p == pid)
            .map(|(_, s)| s.clone())
            .collect();
        if let Some(first) = services.first() {
            o.managed_by = Some(super::ManagedBy {
                kind: super::ManagedKind::Service,
                name: first.name.clone(),
                container: None,
                services,
            });
        }
    }
}

/// Every running Win32 service with its process ID, from the service control manager in one
/// enumeration (`EnumServicesStatusExW`, `SC_ENUM_PROCESS_INFO`). None when this user may not
/// ask: then no owner is said to be a service.
pub(crate) fn running_services() -> Vec<(u32, WinService)> {
    use windows_sys::Win32::Foundation::{ERROR_MORE_DATA, GetLastError};
    use windows_sys::Win32::System::Services::{
        CloseServiceHandle, ENUM_SERVICE_STATUS_PROCESSW, EnumServicesStatusExW, OpenSCManagerW,
        SC_ENUM_PROCESS_INFO, SC_MANAGER_ENUMERATE_SERVICE, SERVICE_ACTIVE, SERVICE_WIN32,
    };
    // SAFETY: null machine and database names mean this machine's active database.
    let scm = unsafe {
        OpenSCManagerW(
            std::ptr::null(),
            std::ptr::null(),
            SC_MANAGER_ENUMERATE_SERVICE,
        )
    };
    if scm.is_null() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut resume: u32 = 0;
    // u64 elements keep the buffer aligned for the structs; the strings live in it too.
    let mut words: Vec<u64> = Vec::new();
    for _ in 0..16 {
        let (mut needed, mut count) = (0u32, 0u32);
        let bytes = u32::try_from(words.len() * 8).unwrap_or(u32::MAX);
        let ptr = if words.is_empty() {
            std::ptr::null_mut()
        } else {
            words.as_mut_ptr().cast::<u8>()
        };
        // SAFETY: `ptr` is null with size 0, or `bytes` writable bytes; the API writes at most
        // that many and says how many entries it wrote.
        let ok = unsafe {
            EnumServicesStatusExW(
                scm,
                SC_ENUM_PROCESS_INFO,
                SERVICE_WIN32,
                SERVICE_ACTIVE,
                ptr,
                bytes,
                &raw mut needed,
                &raw mut count,
                &raw mut resume,
                std::ptr::null(),
            )
        } != 0;
        // SAFETY: read right after the call, on the same thread.
        let more = !ok && unsafe { GetLastError() } == ERROR_MORE_DATA;
        // From the u64 buffer itself (8-aligned, as the entries need); never read when empty.
        let entries = words.as_ptr().cast::<ENUM_SERVICE_STATUS_PROCESSW>();
        for i in 0..count as usize {
            // SAFETY: the API wrote `count` entries at the start of the buffer; their string
            // pointers point into the same buffer, NUL-terminated.
            let e = unsafe { &*entries.add(i) };
            let pid = e.ServiceStatusProcess.dwProcessId;
            if pid != 0 {
                out.push((
                    pid,
                    WinService {
                        // SAFETY: as above.
                        name: unsafe { wide(e.lpServiceName) }.into(),
                        // SAFETY: as above.
                        display: unsafe { wide(e.lpDisplayName) }.into(),
                    },
                ));
            }
        }
        if !more {
            break;
        }
        words = vec![0u64; (needed as usize).div_ceil(8).max(words.len())];
    }
    // SAFETY: opened above, closed once.
    unsafe { CloseServiceHandle(scm) };
    out
}

/// A NUL-terminated UTF-16 string (lossy; empty for null).
///
/// # Safety
/// `p` is null or points to a NUL-terminated UTF-16 string.
unsafe fn wide(p: *const u16) -> String {
    if p.is_null() {
        return String::new();
    }
    let mut n = 0;
    // SAFETY: the caller's promise: read up to and not past the NUL.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    // SAFETY: the `n` units just read.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, n) })
}

/// One whole table, as the API fills it: asked once for its size, then again (the table may grow
/// in between, so a few tries).
fn table_bytes(proto: Protocol, family: u32) -> Result<Vec<u8>, u32> {
    let mut size: u32 = 0;
    for _ in 0..5 {
        // u64 elements keep the buffer aligned for the row structs (DWORD fields).
        let mut words = vec![0u64; (size as usize).div_ceil(8)];
        let ptr = if words.is_empty() {
            std::ptr::null_mut()
        } else {
            words.as_mut_ptr().cast()
        };
        // SAFETY: `ptr` is null (size query) or points to `size` writable bytes; the API writes at
        // most `size` bytes and updates `size` to what it needs.
        let rc = unsafe {
            match proto {
                Protocol::Tcp => {
                    GetExtendedTcpTable(ptr, &raw mut size, 0, family, TCP_TABLE_OWNER_PID_ALL, 0)
                }
                Protocol::Udp => {
                    GetExtendedUdpTable(ptr, &raw mut size, 0, family, UDP_TABLE_OWNER_PID, 0)
                }
            }
        };
        match rc {
            NO_ERROR => {
                let mut buf: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
                buf.truncate(size as usize);
                return Ok(buf);
            }
            ERROR_INSUFFICIENT_BUFFER => {}
            other => return Err(other),
        }
    }
    Err(ERROR_INSUFFICIENT_BUFFER)
}

/// The rows of one table: a `u32` count, then the rows (each starts 4-aligned).
fn parse(bytes: &[u8], proto: Protocol, v6: bool) -> Vec<Row> {
    let word = |at: usize| -> u32 {
        bytes
            .get(at..at + 4)
            .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = word(0) as usize;
    let size = match (proto, v6) {
        (Protocol::Tcp, false) => size_of::<MIB_TCPROW_OWNER_PID>(),
        (Protocol::Tcp, true) => size_of::<MIB_TCP6ROW_OWNER_PID>(),
        (Protocol::Udp, false) => size_of::<MIB_UDPROW_OWNER_PID>(),
        (Protocol::Udp, true) => size_of::<MIB_UDP6ROW_OWNER_PID>(),
    };
    let ip6 = |at: usize| -> Ipv6Addr {
        let mut a = [0u8; 16];
        if let Some(b) = bytes.get(at..at + 16) {
            a.copy_from_slice(b);
        }
        Ipv6Addr::from(a)
    };
    // A scope id means something for a link-local address only (Wine fills it for ::1 too,
    // which would print as [::1%4096]).
    let v6addr = |ip: Ipv6Addr, port: u32, scope: u32| -> SocketAddr {
        let scope = if ip.is_unicast_link_local() { scope } else { 0 };
        SocketAddr::V6(SocketAddrV6::new(ip, port_of(port), 0, scope))
    };
    let mut rows = Vec::with_capacity(count);
    for i in 0..count {
        let at = 4 + i * size;
        if at + size > bytes.len() {
            break;
        }
        // Field offsets follow the row structs (all DWORDs and byte arrays, no padding).
        let (local, remote, state, pid) = match (proto, v6) {
            (Protocol::Tcp, false) => (
                SocketAddr::new(IpAddr::V4(ipv4(word(at + 4))), port_of(word(at + 8))),
                Some(SocketAddr::new(
                    IpAddr::V4(ipv4(word(at + 12))),
                    port_of(word(at + 16)),
                )),
                tcp_state(word(at)),
                word(at + 20),
            ),
            (Protocol::Tcp, true) => (
                v6addr(ip6(at), word(at + 20), word(at + 16)),
                Some(v6addr(ip6(at + 24), word(at + 44), word(at + 40))),
                tcp_state(word(at + 48)),
                word(at + 52),
            ),
            (Protocol::Udp, false) => (
                SocketAddr::new(IpAddr::V4(ipv4(word(at))), port_of(word(at + 4))),
                None,
                SockState::Unconnected,
                word(at + 8),
            ),
            (Protocol::Udp, true) => (
                v6addr(ip6(at), word(at + 20), word(at + 16)),
                None,
                SockState::Unconnected,
                word(at + 24),
            ),
        };
        let remote = remote.filter(|_| state.is_connection());
        rows.push(Row {
            id: 0,
            protocol: proto,
            local,
            remote,
            state,
            pid,
        });
    }
    rows
}

/// The tables keep an address as it sits in the packet (network order in a DWORD).
fn ipv4(raw: u32) -> Ipv4Addr {
    Ipv4Addr::from(raw.to_ne_bytes())
}

/// The port sits in the low 16 bits of its DWORD, in network order.
fn port_of(raw: u32) -> u16 {
    let b = raw.to_ne_bytes();
    u16::from_be_bytes([b[0], b[1]])
}

/// MIB_TCP_STATE values (1 CLOSED … 12 DELETE_TCB).
fn tcp_state(raw: u32) -> SockState {
    match raw {
        1 => SockState::BoundOnly,
        2 => SockState::Listen,
        3 => SockState::SynSent,
        4 => SockState::SynRecv,
        5 => SockState::Established,
        6 => SockState::FinWait1,
        7 => SockState::FinWait2,
        8 => SockState::CloseWait,
        9 => SockState::Closing,
        10 => SockState::LastAck,
        11 => SockState::TimeWait,
        _ => SockState::Unknown,
    }
}

/// The executable path of `pid` (`C:\Program Files\nginx\nginx.exe`), where this user may ask.
fn image_path(pid: u32) -> Option<String> {
    if pid == 0 || pid == 4 {
        return None;
    }
    // SAFETY: OpenProcess takes plain values; a null handle means failure and is not used.
    let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if handle.is_null() {
        return None;
    }
    let mut buf = vec![0u16; 32_768];
    let mut len: u32 = 32_768;
    // SAFETY: `handle` is open; `buf` has `len` UTF-16 units and the API writes at most that many,
    // setting `len` to the count written (without the terminating NUL).
    let ok = unsafe {
        QueryFullProcessImageNameW(handle, PROCESS_NAME_WIN32, buf.as_mut_ptr(), &raw mut len)
    };
    // SAFETY: `handle` came from OpenProcess above and is closed once.
    unsafe { CloseHandle(handle) };
    (ok != 0).then(|| String::from_utf16_lossy(&buf[..len as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_at_the_struct_offsets() {
        // One IPv4 TCP row: LISTEN on 127.0.0.1:8080, PID 812, in the table's own byte order.
        let mut b = 1u32.to_ne_bytes().to_vec();
        for w in [
            2u32,
            u32::from_ne_bytes([127, 0, 0, 1]),
            u32::from_ne_bytes([0x1f, 0x90, 0, 0]),
            0,
            0,
            812,
        ] {
            b.extend(w.to_ne_bytes());
        }
        let rows = parse(&b, Protocol::Tcp, false);
        assert_eq!(rows.len(), 1, "one row");
        assert_eq!(
            rows[0].local,
            "127.0.0.1:8080".parse().expect("addr"),
            "local"
        );
        assert_eq!(rows[0].state, SockState::Listen, "state");
        assert_eq!(rows[0].pid, 812, "pid");
        assert_eq!(rows[0].remote, None, "a listener has no peer");
        assert_eq!(size_of::<MIB_TCPROW_OWNER_PID>(), 24, "row size");
        assert_eq!(size_of::<MIB_TCP6ROW_OWNER_PID>(), 56, "row size");
        assert_eq!(size_of::<MIB_UDP6ROW_OWNER_PID>(), 28, "row size");
    }

    #[test]
    fn a_short_table_never_reads_past_its_end() {
        let mut b = 1000u32.to_ne_bytes().to_vec();
        b.extend([0u8; 30]);
        assert_eq!(parse(&b, Protocol::Tcp, true).len(), 0, "no whole row");
    }
}
