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
