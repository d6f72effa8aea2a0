//! Saved state and results read back from JSON: a target, a check, machine facts. Damaged input
//! is refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<port_inspector::Target>(data);
    let _ = serde_json::from_slice::<port_inspector::check::Check>(data);
    let _ = serde_json::from_slice::<port_inspector::facts::Facts>(data);
});
