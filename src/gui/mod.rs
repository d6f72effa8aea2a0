//! The desktop window (eframe/egui).

use std::process::ExitCode;

/// Opens the window.
#[must_use]
pub fn run() -> ExitCode {
    ExitCode::SUCCESS
}
