//! Helpers for driving the window through egui_kittest: find text, wait for the worker, type.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use port_inspector::gui::app::App;

/// How many nodes have a label containing `text`.
pub fn count(h: &Harness<'_, App>, text: &str) -> usize {
    h.query_all_by_label_contains(text).count()
}

/// Whether any node's label contains `text` (a label and its parent may both match).
pub fn has(h: &Harness<'_, App>, text: &str) -> bool {
    count(h, text) > 0
}

/// Steps frames until `done`, failing after [`super::PATIENCE`] with `what` in the message.
pub fn wait_until(
    h: &mut Harness<'_, App>,
    what: &str,
    done: impl FnMut(&Harness<'_, App>) -> bool,
) {
    wait_within(h, what, super::PATIENCE, done);
}

/// Steps frames until `done`, failing after `limit` with `what` in the message (a minute for
/// what goes over ssh to another namespace's debug build, on a loaded machine).
pub fn wait_within(
    h: &mut Harness<'_, App>,
    what: &str,
    limit: Duration,
    mut done: impl FnMut(&Harness<'_, App>) -> bool,
) {
    let start = Instant::now();
    while !done(h) {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

/// Steps frames until a node whose label contains `text` appears.
pub fn wait_for(h: &mut Harness<'_, App>, text: &str) {
    wait_until(h, &format!("'{text}' to appear"), |h| has(h, text));
}

/// Replaces a labelled text field's content the way a user does: focus, select all, type.
pub fn set_text(h: &mut Harness<'_, App>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(2);
}

/// On the Listening now tab: selects the TCP row of `addr` (shown) and asks to end its holders
/// from the toolbar (the confirmation opens once the plan is read).
pub fn ask_end_of_row(h: &mut Harness<'_, App>, addr: &str) {
    h.get_by_label(addr).click();
    h.run_steps(2);
    h.get_by_label(&format!(
        "End the processes holding TCP {addr} (asks first)"
    ))
    .click();
    h.run_steps(2);
}
