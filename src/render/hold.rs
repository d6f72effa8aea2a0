//! The lines of the waiting features: a hold that ended, a watch still waiting.

use std::net::SocketAddr;

use crate::text::clean;
use crate::wording::{count, holders_in_words, human_ms};

/// The addresses a hold bound: `0.0.0.0:8080, [::]:8080`.
#[must_use]
pub fn addresses(bound: &[SocketAddr]) -> String {
    bound
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The line a hold starts with: what is held, for how long, and who can reach it — on loopback
/// addresses only this machine (another machine's connection could never arrive); a UDP hold
/// receives datagrams, it is not connected to.
#[must_use]
pub fn listening(protocol: crate::target::Protocol, bound: &[SocketAddr], secs: f64) -> String {
    let udp = protocol == crate::target::Protocol::Udp;
    let reach = if udp { "send to it" } else { "connect" };
    let from = if !bound.is_empty() && bound.iter().all(|a| a.ip().is_loopback()) {
        format!("{reach} from this machine (a loopback address: no other machine can reach it)")
    } else {
        format!("{reach} from another machine to test the path")
    };
    format!(
        "Listening on {protocol} {} for {secs:.0} s; {from}. Ctrl+C stops.",
        addresses(bound)
    )
}

/// One arrival at a held port: `TCP connection from 10.0.0.5:51234 (accepted and closed)`,
/// `UDP datagram from 10.0.0.5:5353 (48 bytes)`; a peer with no IP address is `?`.
#[must_use]
pub fn arrival(ev: &crate::support::ListenEvent) -> String {
    let peer = ev.peer.map_or_else(|| "?".to_owned(), |p| p.to_string());
    match ev.bytes {
        Some(n) => format!("UDP datagram from {peer} ({n} bytes)"),
        None => format!("TCP connection from {peer} (accepted and closed)"),
    }
}

/// Why a hold failed, in one line, the same in the CLI's `listen` and the window's Hold: what
/// the check made after the refusal proved, in `check`'s own words (`cannot hold the port:
/// 127.0.0.1:8080 is in use by nginx (PID 812) (WSAEADDRINUSE …)`), else the OS's error alone.
#[must_use]
pub fn refused(target: Option<&crate::target::Target>, e: &crate::support::HoldError) -> String {
    match (e.explained().and_then(|c| c.explanation.as_ref()), target) {
        (Some(x), _) => format!("cannot hold the port: {} ({})", x.title, e.error),
        (None, Some(t)) => format!("cannot hold {}: {}", clean(&t.display_addr()), e.error),
        (None, None) => format!("cannot hold the port: {}", e.error),
    }
}

/// How a hold ended: `Released 127.0.0.1:8080 after 30.0 s (stopped): 2 arrivals, 10 bytes.`
/// The same line in the CLI's `listen` and the window's Hold.
#[must_use]
pub fn hold_released(s: &crate::support::ListenSummary) -> String {
    format!(
        "Released {} after {}{}: {}{}.",
        addresses(&s.bound),
        human_ms(s.held_ms),
        if s.stopped { " (stopped)" } else { "" },
        count(s.arrivals, "arrival", "arrivals"),
        if s.bytes > 0 {
            format!(", {}", count(s.bytes, "byte", "bytes"))
        } else {
            String::new()
        }
    )
}

/// A watch's line while the target is still not bindable: its error and who holds it now.
#[must_use]
pub fn still_not_bindable(c: &crate::check::Check) -> String {
    let who = holders_in_words(&c.owners);
    let code = c
        .report
        .error
        .as_ref()
        .map_or_else(String::new, |e| format!(" ({} {})", e.wsa_name, e.wsa_code));
    format!(
        "{} is still not bindable{code}{}; checking every second…",
        clean(&c.report.target.display_addr()),
        if who.is_empty() {
            String::new()
        } else {
            format!(", held by {who}")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Protocol;

    #[test]
    fn a_loopback_hold_is_not_offered_to_other_machines() {
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let all: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(
            listening(Protocol::Tcp, &[lo], 60.0),
            "Listening on TCP 127.0.0.1:8080 for 60 s; connect from this machine (a loopback address: no other machine can reach it). Ctrl+C stops."
        );
        assert!(
            listening(Protocol::Udp, &[all], 60.0)
                .contains("; send to it from another machine to test the path.")
        );
    }
}
