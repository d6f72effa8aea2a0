//! The lines of the waiting features: a hold that ended, a watch still waiting.

use crate::text::clean;
use crate::wording::{count, holders_in_words, human_ms};

/// How a hold ended: `Released 127.0.0.1:8080 after 30.0 s (stopped): 2 arrivals, 10 bytes.`
/// The same line in the CLI's `listen` and the window's Hold.
#[must_use]
pub fn hold_released(s: &crate::support::ListenSummary) -> String {
    format!(
        "Released {} after {}{}: {}{}.",
        clean(&s.bound),
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
