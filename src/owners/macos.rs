//! macOS owners through libproc (`proc_listpids`, `proc_pidinfo(PROC_PIDLISTFDS)`,
//! `proc_pidfdinfo(PROC_PIDFDSOCKETINFO)`): every process's socket descriptors, as `lsof` reads
//! them. The `libproc` crate ships its bindings, so no macOS SDK is needed to build.
#![allow(unsafe_code)] // Reading libproc's socket-info union; see the SAFETY note.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libproc::libproc::bsd_info::BSDInfo;
use libproc::libproc::file_info::{ListFDs, ProcFDType, pidfdinfo};
use libproc::libproc::net_info::{InSockInfo, SocketFDInfo, SocketInfoKind};
use libproc::libproc::proc_pid::{listpidinfo, pidinfo};
use libproc::processes::{ProcFilter, pids_by_type};

use super::table::{self, Row};
use super::{Owners, SockState};
use crate::target::Protocol;

/// Every socket on `ports` (all ports when `None`) of `protocol` (both when `None`).
pub(super) fn collect(ports: Option<&[u16]>, protocol: Option<Protocol>) -> Owners {
    let mut rows = Vec::new();
    let mut unreadable = 0usize;
    let pids = pids_by_type(ProcFilter::All).unwrap_or_default();
    for pid in pids {
        let Ok(pid_i) = i32::try_from(pid) else {
            continue;
        };
        let Ok(info) = pidinfo::<BSDInfo>(pid_i, 0) else {
            unreadable += 1;
            continue;
        };
        let Ok(fds) = listpidinfo::<ListFDs>(pid_i, info.pbi_nfiles as usize) else {
            unreadable += 1;
            continue;
        };
        for fd in fds {
            if !matches!(ProcFDType::from(fd.proc_fdtype), ProcFDType::Socket) {
                continue;
            }
            let Ok(sock) = pidfdinfo::<SocketFDInfo>(pid_i, fd.proc_fd) else {
                continue;
            };
            if let Some(row) = row_of(&sock, pid)
                && table::wanted(row.local.port(), row.protocol, ports, protocol)
            {
                rows.push(row);
            }
        }
    }
    let mut out = table::owners(rows, &|_| None);
    if unreadable > 0 {
        out.notes.push(super::LookupNote::Uninspected {
            count: unreadable,
            why: super::Uninspected::OtherUsers,
        });
    }
    out
}

fn row_of(sock: &SocketFDInfo, pid: u32) -> Option<Row> {
    let psi = &sock.psi;
    let protocol = match psi.soi_protocol {
        6 => Protocol::Tcp,
        17 => Protocol::Udp,
        _ => return None,
    };
    let (ini, state): (InSockInfo, SockState) = match SocketInfoKind::from(psi.soi_kind) {
        // SAFETY: soi_kind tells which member of the union the kernel filled: TCP sockets carry
        // `pri_tcp`, other internet sockets `pri_in`. Both are plain-data structs.
        SocketInfoKind::Tcp => unsafe {
            let tcp = psi.soi_proto.pri_tcp;
            (tcp.tcpsi_ini, tcp_state(tcp.tcpsi_state))
        },
        // SAFETY: as above; an internet socket that is not TCP carries `pri_in`.
        SocketInfoKind::In => (unsafe { psi.soi_proto.pri_in }, SockState::Unconnected),
        _ => return None,
    };
    let v4 = ini.insi_vflag & 0x1 != 0;
    // SAFETY: the address union holds an IPv4 address when insi_vflag has INI_IPV4 (1), else
    // IPv6; both members are plain bytes.
    let (laddr, faddr) = unsafe {
        if v4 {
            (
                IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    ini.insi_laddr.ina_46.i46a_addr4.s_addr,
                ))),
                IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    ini.insi_faddr.ina_46.i46a_addr4.s_addr,
                ))),
            )
        } else {
            (
                IpAddr::V6(Ipv6Addr::from(ini.insi_laddr.ina_6.s6_addr)),
                IpAddr::V6(Ipv6Addr::from(ini.insi_faddr.ina_6.s6_addr)),
            )
        }
    };
    // Ports are kept in network order in an int.
    let port = |p: i32| u16::from_be(u16::try_from(p & 0xffff).unwrap_or(0));
    let remote = (ini.insi_fport != 0).then(|| SocketAddr::new(faddr, port(ini.insi_fport)));
    Some(Row {
        id: psi.soi_pcb,
        protocol,
        local: SocketAddr::new(laddr, port(ini.insi_lport)),
        remote: if state.is_connection() { remote } else { None },
        state: if protocol == Protocol::Udp {
            SockState::Unconnected
        } else {
            state
        },
        pid,
    })
}

/// TCP states as XNU numbers them (TCPS_CLOSED 0 … TCPS_TIME_WAIT 10).
fn tcp_state(raw: i32) -> SockState {
    match raw {
        0 => SockState::BoundOnly,
        1 => SockState::Listen,
        2 => SockState::SynSent,
        3 => SockState::SynRecv,
        4 => SockState::Established,
        5 => SockState::CloseWait,
        6 => SockState::FinWait1,
        7 => SockState::Closing,
        8 => SockState::LastAck,
        9 => SockState::FinWait2,
        10 => SockState::TimeWait,
        _ => SockState::Unknown,
    }
}
