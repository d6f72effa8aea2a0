//! Times as people read them, and a name lookup slow enough to say so.

use crate::probe::ProbeReport;

/// Milliseconds as people read them: `850 ms`, `8.0 s`.
#[must_use]
pub fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        #[allow(clippy::cast_precision_loss)] // milliseconds of a check fit f64 exactly
        let s = ms as f64 / 1000.0;
        format!("{s:.1} s")
    }
}

/// Microseconds as people read them: `42 µs`, `3.1 ms`, `8.0 s`.
#[must_use]
pub fn human_us(us: u64) -> String {
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        #[allow(clippy::cast_precision_loss)] // microseconds of a step fit f64 exactly
        let ms = us as f64 / 1000.0;
        format!("{ms:.1} ms")
    } else {
        human_ms(us / 1000)
    }
}

/// A name lookup this slow is worth a line of its own: every program that binds by this name
/// waits as long.
pub const SLOW_LOOKUP_US: u64 = 1_000_000;

/// The lookup's time when it was slow: `Slow name lookup: getaddrinfo took 2.4 s of this check's
/// 2.4 s.` (a lookup that timed out has its own finding instead).
#[must_use]
pub fn slow_lookup(r: &ProbeReport) -> Option<String> {
    (r.resolve.ok && r.resolve.elapsed_us >= SLOW_LOOKUP_US).then(|| {
        format!(
            "Slow name lookup: getaddrinfo took {} of this check's {}.",
            human_us(r.resolve.elapsed_us),
            human_us(r.elapsed_us.max(r.resolve.elapsed_us))
        )
    })
}
