//! Network devices as rtnetlink reports them (Linux): which tunnel device owns a kernel socket's
//! port. The device's own settings say its port (`IFLA_VXLAN_PORT`, `IFLA_GENEVE_PORT`,
//! `IFLA_BAREUDP_PORT`), so no `ip -d link` output is parsed.

use std::sync::Arc;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoBareUdp, InfoData, InfoGeneve, InfoVxlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_sys::{Socket, SocketAddr as NlAddr, protocols::NETLINK_ROUTE};

use super::{KernelHolder, Owner, OwnerNote, Owners, SockState, TunnelKind};
use crate::target::Protocol;

/// A tunnel device of this network namespace whose kernel socket listens on `port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TunnelPort {
    /// The device's name.
    pub device: Arc<str>,
    /// Its kind.
    pub kind: TunnelKind,
    /// The UDP port its kernel socket is bound to.
    pub port: u16,
}

/// The tunnel port of one device, when it is a tunnel that is up and whose socket lives in this
/// network namespace. A device moved here from another namespace keeps its socket there
/// (`IFLA_LINK_NETNSID` says so); a device that is down has no socket.
pub(super) fn tunnel_port(link: &LinkMessage) -> Option<TunnelPort> {
    if !link.header.flags.contains(LinkFlags::Up) {
        return None;
    }
    let mut name = None;
    let mut found = None;
    for a in &link.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.as_str()),
            // Its socket lives in the namespace the device was made in.
            LinkAttribute::LinkNetNsId(_) => return None,
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Data(data) = i {
                        found = found.or_else(|| port_of(data));
                    }
                }
            }
            _ => {}
        }
    }
    let (kind, port) = found?;
    Some(TunnelPort {
        device: name?.into(),
        kind,
        port,
    })
}

/// The kind and port a tunnel device's settings name.
fn port_of(data: &InfoData) -> Option<(TunnelKind, u16)> {
    match data {
        InfoData::Vxlan(v) => v.iter().find_map(|a| match a {
            InfoVxlan::Port(p) => Some((TunnelKind::Vxlan, *p)),
            _ => None,
        }),
        InfoData::Geneve(v) => v.iter().find_map(|a| match a {
            InfoGeneve::Port(p) => Some((TunnelKind::Geneve, *p)),
            _ => None,
        }),
        InfoData::BareUdp(v) => v.iter().find_map(|a| match a {
            InfoBareUdp::Port(p) => Some((TunnelKind::BareUdp, *p)),
            _ => None,
        }),
        _ => None,
    }
    .filter(|(_, p)| *p != 0)
}

/// Every link of this network namespace, from one rtnetlink dump. A message this build cannot
/// read is skipped, never the whole dump.
pub(super) fn links() -> std::io::Result<Vec<LinkMessage>> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&NlAddr::new(0, 0))?;
    let mut packet = NetlinkMessage::from(RouteNetlinkMessage::GetLink(LinkMessage::default()));
    packet.header.flags = NLM_F_DUMP | NLM_F_REQUEST;
    packet.header.sequence_number = 1;
    packet.finalize();
    let mut buf = vec![0; packet.buffer_len()];
    packet.serialize(&mut buf[..]);
    socket.send(&buf, 0)?;
    let mut out = Vec::new();
    let mut rx = vec![0u8; 64 * 1024];
    loop {
        let size = socket.recv(&mut &mut rx[..], 0)?;
        if size == 0 {
            return Err(std::io::Error::other("rtnetlink ended without NLMSG_DONE"));
        }
        let mut offset = 0;
        while offset + 16 <= size {
            let header_len = u32::from_ne_bytes(
                rx[offset..offset + 4]
                    .try_into()
                    .map_err(|_| std::io::Error::other("short netlink header"))?,
            ) as usize;
            if header_len < 16 || offset + header_len > size {
                return Err(std::io::Error::other("malformed rtnetlink answer"));
            }
            // A device this build cannot read is skipped: the others still count.
            if let Ok(m) =
                NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[offset..offset + header_len])
            {
                match m.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        return Err(e.code.map_or_else(
                            || std::io::Error::other("rtnetlink error"),
                            |c| std::io::Error::from_raw_os_error(-c.get()),
                        ));
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => out.push(l),
                    _ => {}
                }
            }
            offset += header_len.next_multiple_of(4);
        }
    }
}

/// Whether `o` could be a tunnel device's kernel socket: UDP, on a wildcard address, not
/// connected, and no process found holding it.
fn may_be_kernels(o: &Owner) -> bool {
    o.protocol == Protocol::Udp
        && o.pid.is_none()
        && o.state == SockState::Unconnected
        && o.local.ip().is_unspecified()
        && o.inode != 0
        && !matches!(
            o.note,
            Some(OwnerNote::ShortLived | OwnerNote::OutOfDescriptors | OwnerNote::TimeWait)
        )
}

/// Names the kernel as the holder of each unowned UDP wildcard socket whose port is the port of
/// a tunnel device that is up here (see `KernelHolder` for why that proves it). Asks rtnetlink
/// only when there is such a socket.
pub(super) fn attribute(out: &mut Owners, hidden_notes: impl Fn(Option<OwnerNote>) -> bool) {
    if !out.owners.iter().any(may_be_kernels) {
        return;
    }
    let Ok(links) = links() else {
        return;
    };
    let tunnels: Vec<TunnelPort> = links.iter().filter_map(tunnel_port).collect();
    apply(out, &tunnels, hidden_notes);
}

/// `attribute` on the tunnels already read: pure, for the unit tests.
pub(super) fn apply(
    out: &mut Owners,
    tunnels: &[TunnelPort],
    hidden_notes: impl Fn(Option<OwnerNote>) -> bool,
) {
    let mut made: Vec<(u16, Arc<KernelHolder>)> = Vec::new();
    for o in out.owners.iter_mut().filter(|o| may_be_kernels(o)) {
        let port = o.local.port();
        let holder = if let Some((_, h)) = made.iter().find(|(p, _)| *p == port) {
            Arc::clone(h)
        } else {
            let on_port: Vec<&TunnelPort> = tunnels.iter().filter(|t| t.port == port).collect();
            let Some(first) = on_port.first() else {
                continue;
            };
            let h = Arc::new(KernelHolder {
                kind: first.kind,
                devices: on_port
                    .iter()
                    .filter(|t| t.kind == first.kind)
                    .map(|t| Arc::clone(&t.device))
                    .collect(),
            });
            made.push((port, Arc::clone(&h)));
            h
        };
        if hidden_notes(o.note) {
            out.hidden = out.hidden.saturating_sub(1);
        }
        o.note = Some(OwnerNote::Kernel);
        o.kernel = Some(holder);
        // The kernel's socket: no user created it.
        o.user = None;
        o.uid = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::InfoKind;

    fn link(name: &str, up: bool, data: InfoData, kind: InfoKind) -> LinkMessage {
        let mut l = LinkMessage::default();
        if up {
            l.header.flags = LinkFlags::Up;
        }
        l.attributes = vec![
            LinkAttribute::IfName(name.into()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(kind), LinkInfo::Data(data)]),
        ];
        l
    }

    #[test]
    fn each_tunnel_kind_says_its_port() {
        let vx = link(
            "vx0",
            true,
            InfoData::Vxlan(vec![InfoVxlan::Id(42), InfoVxlan::Port(4789)]),
            InfoKind::Vxlan,
        );
        let gn = link(
            "gnv0",
            true,
            InfoData::Geneve(vec![InfoGeneve::Id(7), InfoGeneve::Port(6081)]),
            InfoKind::Geneve,
        );
        let bu = link(
            "bu0",
            true,
            InfoData::BareUdp(vec![InfoBareUdp::Port(6635)]),
            InfoKind::BareUdp,
        );
        let got: Vec<_> = [vx, gn, bu]
            .iter()
            .map(|l| tunnel_port(l).map(|t| (t.device.to_string(), t.kind, t.port)))
            .collect();
        assert_eq!(
            got,
            vec![
                Some(("vx0".into(), TunnelKind::Vxlan, 4789)),
                Some(("gnv0".into(), TunnelKind::Geneve, 6081)),
                Some(("bu0".into(), TunnelKind::BareUdp, 6635)),
            ],
            "each kind's own port attribute"
        );
    }

    #[test]
    fn a_device_down_or_from_another_namespace_holds_nothing_here() {
        let down = link(
            "vx0",
            false,
            InfoData::Vxlan(vec![InfoVxlan::Port(4789)]),
            InfoKind::Vxlan,
        );
        assert_eq!(
            tunnel_port(&down),
            None,
            "a device that is down has no socket"
        );
        let mut moved = link(
            "vx1",
            true,
            InfoData::Vxlan(vec![InfoVxlan::Port(4789)]),
            InfoKind::Vxlan,
        );
        moved.attributes.push(LinkAttribute::LinkNetNsId(3));
        assert_eq!(
            tunnel_port(&moved),
            None,
            "its socket lives in the namespace it was made in"
        );
    }

    #[test]
    fn only_unowned_wildcard_udp_sockets_on_the_port_are_the_kernels() {
        let mut kernel = crate::owners::test_owner(1, "x", "0.0.0.0:4789", SockState::Unconnected);
        kernel.protocol = Protocol::Udp;
        kernel.pid = None;
        kernel.pids.clear();
        kernel.process = None;
        kernel.note = Some(OwnerNote::NotInView);
        let mut other_port = kernel.clone();
        other_port.local = "0.0.0.0:4790".parse().unwrap();
        let mut specific = kernel.clone();
        specific.local = "127.0.0.1:4789".parse().unwrap();
        let mut out = Owners {
            owners: vec![kernel, other_port, specific],
            hidden: 3,
            ..Owners::default()
        };
        let tunnels = [
            TunnelPort {
                device: "vx0".into(),
                kind: TunnelKind::Vxlan,
                port: 4789,
            },
            TunnelPort {
                device: "vx1".into(),
                kind: TunnelKind::Vxlan,
                port: 4789,
            },
        ];
        apply(&mut out, &tunnels, |n| n == Some(OwnerNote::NotInView));
        assert_eq!(out.hidden, 2, "one hidden socket is now named");
        assert_eq!(out.owners[0].note, Some(OwnerNote::Kernel), "the kernel's");
        assert_eq!(
            crate::wording::who(&out.owners[0]),
            "the kernel (VXLAN device vx0 and vx1)",
            "both devices share the socket"
        );
        assert_eq!(out.owners[1].kernel, None, "no device on that port");
        assert_eq!(out.owners[2].kernel, None, "a tunnel binds the wildcard");
    }
}
