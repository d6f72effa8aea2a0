//! A what-if matrix cell in words, the same in `matrix`'s table and the window's grid: a short
//! form for the cell (the row and column say the rest) and the whole result.

use crate::probe::Verdict;
use crate::support::{MatrixCell, MatrixScope};

/// A cell's scope in a word: `address` (as the user gave it) or `wildcard`.
#[must_use]
pub fn scope(s: MatrixScope) -> &'static str {
    match s {
        MatrixScope::Address => "address",
        MatrixScope::Wildcard => "wildcard",
    }
}

/// What a cell bound: its address, or the target as given when none was tried (a name that
/// did not resolve).
#[must_use]
pub fn address(c: &MatrixCell) -> String {
    c.address.map_or_else(
        || crate::text::clean(&c.check.report.target.display_addr()).into_owned(),
        |a| a.to_string(),
    )
}

/// A cell's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellWords {
    /// For a grid cell: `ok`, `blocked 10048`, `unknown`.
    pub short: String,
    /// The result in full: `bindable`, `blocked: WSAEADDRINUSE 10048`, `unknown: WSAETIMEDOUT
    /// 10060 (not tried)`.
    pub long: String,
}

/// The words of one cell. A cell whose bind was never tried (the name did not resolve in time)
/// is unknown, never blocked, whatever code its lookup ended with.
#[must_use]
pub fn cell(c: &MatrixCell) -> CellWords {
    let (short, long) = match (&c.wsa_name, c.wsa_code, c.verdict) {
        (Some(n), Some(code), Verdict::Unknown) => (
            "unknown".to_owned(),
            format!("unknown: {n} {code} (not tried)"),
        ),
        (_, _, Verdict::Unknown) => ("unknown".to_owned(), "unknown (not tried)".to_owned()),
        (Some(n), Some(code), _) => (format!("blocked {code}"), format!("blocked: {n} {code}")),
        _ => ("ok".to_owned(), "bindable".to_owned()),
    };
    CellWords { short, long }
}
