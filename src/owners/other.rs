//! Windows and macOS owners: the OS socket tables through `netstat2` (GetExtendedTcpTable on
//! Windows, libproc on macOS), process details through `sysinfo`.

use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState, get_sockets_info};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, Users};

use super::{HIDDEN_NOTE, Owner, Owners, Query, TIME_WAIT_NOTE};
use crate::target::{Family, Protocol};

pub(super) fn of(q: Query) -> Owners {
    of_ports(&[q.port], q.protocol)
}

pub(super) fn of_ports(ports: &[u16], protocol: Option<Protocol>) -> Owners {
    let q = Query { port: 0, protocol };
    let mut out = Owners::default();
    let protos = match q.protocol {
        Some(Protocol::Tcp) => ProtocolFlags::TCP,
        Some(Protocol::Udp) => ProtocolFlags::UDP,
        None => ProtocolFlags::TCP | ProtocolFlags::UDP,
    };
    let sockets =
        match get_sockets_info(AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6, protos) {
            Ok(s) => s,
            Err(e) => {
                out.notes.push(format!("socket table unavailable: {e}"));
                return out;
            }
        };
    let on_port: Vec<_> = sockets
        .into_iter()
        .filter(|s| match &s.protocol_socket_info {
            ProtocolSocketInfo::Tcp(t) => ports.contains(&t.local_port),
            ProtocolSocketInfo::Udp(u) => ports.contains(&u.local_port),
        })
        .collect();
    let pids: Vec<Pid> = on_port
        .iter()
        .flat_map(|s| s.associated_pids.iter().map(|p| Pid::from_u32(*p)))
        .collect();
    let mut sys = System::new().ok();
    if let Some(sys) = sys.as_mut() {
        sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&pids),
            true,
            ProcessRefreshKind::everything(),
        );
    }
    let users = Users::new_with_refreshed_list().ok();
    for s in on_port {
        let (protocol, local, remote, state) = match &s.protocol_socket_info {
            ProtocolSocketInfo::Tcp(t) => (
                Protocol::Tcp,
                std::net::SocketAddr::new(t.local_addr, t.local_port),
                (t.state != TcpState::Listen)
                    .then(|| std::net::SocketAddr::new(t.remote_addr, t.remote_port).to_string()),
                tcp_state(t.state),
            ),
            ProtocolSocketInfo::Udp(u) => (
                Protocol::Udp,
                std::net::SocketAddr::new(u.local_addr, u.local_port),
                None,
                "UNCONN".to_owned(),
            ),
        };
        let pid = s
            .associated_pids
            .first()
            .copied()
            .filter(|p| *p != 0 || state != "TIME_WAIT");
        let proc_ = pid.and_then(|p| sys.as_ref().and_then(|sys| sys.process(Pid::from_u32(p))));
        let user = proc_
            .and_then(|p| p.user_id())
            .and_then(|uid| users.as_ref().and_then(|u| u.get_user_by_id(uid)))
            .map(|u| u.name().to_owned());
        let note = if state == "TIME_WAIT" {
            Some(TIME_WAIT_NOTE.to_owned())
        } else if pid.is_some() && proc_.is_none() {
            out.hidden += 1;
            Some(HIDDEN_NOTE.to_owned())
        } else {
            None
        };
        out.owners.push(Owner {
            pid,
            process: proc_.map(|p| p.name().to_string_lossy().into_owned()),
            path: proc_.and_then(|p| p.exe()).map(|p| p.display().to_string()),
            cmdline: proc_.map(|p| {
                p.cmd()
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            user,
            uid: None,
            protocol,
            family: if local.is_ipv4() {
                Family::Ipv4
            } else {
                Family::Ipv6
            },
            local: local.to_string(),
            remote,
            state,
            v6_only: None,
            inode: 0,
            note,
            holder: None,
            reuse_port: None,
            ancestry: Vec::new(),
            managed_by: None,
        });
    }
    out
}

fn tcp_state(s: TcpState) -> String {
    match s {
        TcpState::Listen => "LISTEN",
        TcpState::Established => "ESTABLISHED",
        TcpState::TimeWait => "TIME_WAIT",
        TcpState::CloseWait => "CLOSE_WAIT",
        TcpState::SynSent => "SYN_SENT",
        TcpState::SynReceived => "SYN_RECV",
        TcpState::FinWait1 => "FIN_WAIT1",
        TcpState::FinWait2 => "FIN_WAIT2",
        TcpState::Closing => "CLOSING",
        TcpState::LastAck => "LAST_ACK",
        TcpState::Closed => "BOUND",
        _ => "UNKNOWN",
    }
    .to_owned()
}
