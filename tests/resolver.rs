//! Hung name lookups are bounded without poisoning later checks. In a test binary of its own:
//! the cap on abandoned lookups is process-wide, and this test fills it on purpose.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use port_inspector::Target;
use port_inspector::probe::{self, ProbeConfig};

/// Hung name lookups are abandoned, at most 16 at once; past that, `localhost` (and every name
/// the hosts file answers) still resolves instead of failing with the others.
#[test]
fn hung_lookups_never_poison_localhost() {
    use std::sync::Arc;
    use std::time::Duration;
    let hung: port_inspector::probe::Resolver = Arc::new(|_req| {
        std::thread::sleep(Duration::from_secs(3));
        Ok(Vec::new())
    });
    let slow = ProbeConfig {
        timeout: Duration::from_millis(20),
        resolver: hung,
        ..ProbeConfig::default()
    };
    for i in 0..20 {
        let r = probe::run(&Target::tcp(format!("hung{i}.invalid"), 0), &slow);
        assert_ne!(
            r.verdict,
            port_inspector::probe::Verdict::Bindable,
            "hung lookup {i}"
        );
    }
    // The same hung resolver: past the cap, localhost comes from the hosts file.
    let r = probe::run(&Target::tcp("localhost", 0), &slow);
    assert_eq!(
        r.verdict,
        port_inspector::probe::Verdict::Bindable,
        "localhost still resolves: {:?}",
        r.error
    );
}
