//! The window's saved state as read at start: any bytes in `app.ron` give the defaults or a
//! validated state, never a panic (a NaN zoom once panicked every start), and whatever is taken
//! from it is within its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use port_inspector::gui::saved::Saved;
use port_inspector::gui::state_file::{self, WindowSize};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(kv) = state_file::parse(text) else {
        return;
    };
    for (key, value) in &kv {
        assert!(key.starts_with("port-inspector"), "only the window's own keys are kept");
        assert!(value.len() <= 64 * 1024, "values are capped");
        if let Ok(saved) = ron::from_str::<Saved>(value) {
            let v = saved.validated();
            assert!(v.check.timeout_secs.is_finite(), "a finite timeout");
            assert!(v.hold_secs.chars().count() <= 16, "a capped hold time");
        }
        if let Ok(size) = ron::from_str::<WindowSize>(value)
            && let Some(s) = size.validated()
        {
            assert!(s.width.is_finite() && s.height.is_finite(), "a size a screen can show");
        }
    }
});
