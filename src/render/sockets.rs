//! Sockets as a front prints them: `list`'s table and the lines of a port's sockets (listeners
//! one per line, connections summed per state).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::owners::{Owner, SockState};
use crate::text::clean;
use crate::wording::{managed_by, plural};

/// Sockets on the port for a listing: every listening, bound and UDP socket on its own line, and
/// the connections summarised per state (a busy server has thousands).
#[must_use]
pub fn owner_lines(owners: &[Owner]) -> Vec<String> {
    let mut lines: Vec<String> = owners
        .iter()
        .filter(|o| !o.state.is_connection())
        .map(crate::render::report::owner_line)
        .collect();
    lines.extend(connection_lines(owners));
    lines
}

/// The connections on the port summed per state (`+ 3 ESTABLISHED connections with …`): a busy
/// server has thousands, and the report's table lists only the listening and bound sockets.
#[must_use]
pub fn connection_lines(owners: &[Owner]) -> Vec<String> {
    let mut lines = Vec::new();
    // Per state: how many, the distinct peers, the distinct processes holding them.
    let mut groups: Vec<(SockState, usize, Vec<IpAddr>, Vec<String>)> = Vec::new();
    for o in owners.iter().filter(|o| o.state.is_connection()) {
        let peer = o.remote.map(|r: SocketAddr| r.ip());
        let who = o.pid.is_some().then(|| crate::wording::who(o));
        let i = groups
            .iter()
            .position(|g| g.0 == o.state)
            .unwrap_or_else(|| {
                groups.push((o.state, 0, Vec::new(), Vec::new()));
                groups.len() - 1
            });
        let g = &mut groups[i];
        g.1 += 1;
        if let Some(p) = peer
            && !g.2.contains(&p)
        {
            g.2.push(p);
        }
        if let Some(w) = who
            && !g.3.contains(&w)
        {
            g.3.push(w);
        }
    }
    let some = |items: &[String]| {
        let shown = items.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        if items.len() > 3 {
            format!("{shown} and {} more", items.len() - 3)
        } else {
            shown
        }
    };
    for (state, n, peers, holders) in groups {
        let peers: Vec<String> = peers.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "+ {n} {state} connection{}{}{}",
            plural(n),
            if peers.is_empty() {
                String::new()
            } else {
                format!(" with {}", some(&peers))
            },
            if holders.is_empty() {
                String::new()
            } else {
                format!(", held by {}", some(&holders))
            }
        ));
    }
    lines
}

/// The socket table of `list`: one row per socket with its owner and what manages it.
#[must_use]
pub fn socket_table(owners: &[Owner]) -> String {
    let mut o = String::new();
    if owners.is_empty() {
        o.push_str("No socket matches.\n");
        return o;
    }
    let _ = writeln!(
        o,
        "{:<5} {:<11} {:<24} {:<24} {:>7}  {:<16} {:<10} MANAGED BY",
        "PROTO", "STATE", "LOCAL", "REMOTE", "PID", "PROCESS", "USER"
    );
    for w in owners {
        let pid = w.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
        let mut name = w
            .process
            .as_deref()
            .map_or_else(|| crate::wording::who(w), |p| clean(p).into_owned());
        if let Some(more) = crate::wording::sharing(w) {
            name = format!("{name} {more}");
        }
        let _ = writeln!(
            o,
            "{:<5} {:<11} {:<24} {:<24} {:>7}  {:<16} {:<10} {}",
            w.protocol.to_string(),
            w.state.name(),
            w.address().to_string(),
            w.remote.map(|r| r.to_string()).unwrap_or_default(),
            pid,
            name,
            clean(w.user.as_deref().unwrap_or("")),
            managed_by(w)
        );
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for w in owners {
        let key = format!("{} {}", w.protocol, w.state.name());
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    let _ = writeln!(
        o,
        "\n{} socket{}: {}",
        owners.len(),
        plural(owners.len()),
        counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    o
}
