//! The desktop window (eframe/egui): `app` holds state, `views` draws it, `worker` runs checks
//! off the UI thread.

pub mod action;
pub mod app;
mod check_tab;
mod console;
pub mod console_jobs;
mod desktop_theme;
mod end_flow;
mod export_flow;
pub mod fleet;
pub mod form;
mod history_strip;
pub mod kit;
pub mod listening;
mod live_refresh;
mod live_table;
pub mod machines;
pub mod port_history;
pub mod save;
pub mod saved;
pub mod scan_map;
pub mod scan_tab;
pub mod state_file;
pub mod views;
pub mod watches;
pub mod worker;

use std::process::ExitCode;

pub use app::{App, Deps, Inputs};

/// Whether there is no display to open the window on.
fn no_display() -> bool {
    crate::platform::Os::current().needs_display_server()
        && std::env::var_os("DISPLAY").is_none_or(|v| v.is_empty())
        && std::env::var_os("WAYLAND_DISPLAY").is_none_or(|v| v.is_empty())
}

/// Opens the window (on a check of `start`, run at once, when given) and runs until it closes.
#[must_use]
#[expect(
    clippy::print_stderr,
    reason = "start-up failures are reported before any window exists"
)]
pub fn run(start: Option<crate::Target>) -> ExitCode {
    use crate::render::program::{NoWindow, no_window};
    // How the commands the window (and these start-up lines) print name this program: once.
    let program = crate::program::Program::this();
    if no_display() {
        eprintln!(
            "port-inspector: {}",
            no_window(&NoWindow::NoDisplay, &program)
        );
        return ExitCode::from(2);
    }
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Port Inspector")
        .with_app_id("port-inspector")
        .with_inner_size([1024.0, 720.0])
        .with_min_inner_size([720.0, 520.0]);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon-256.png"))
    {
        viewport = viewport.with_icon(icon);
    }
    let deps = app::Deps::system(start, program.clone());
    let saved_size = deps
        .store
        .as_ref()
        .and_then(|s| eframe::get_value::<state_file::WindowSize>(s, state_file::WINDOW_KEY))
        .and_then(state_file::WindowSize::validated);
    if let Some(size) = saved_size {
        viewport = viewport.with_inner_size([size.width, size.height]);
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let result = eframe::run_native(
        "port-inspector",
        options,
        Box::new(|cc| Ok(Box::new(App::new(cc, deps)))),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "port-inspector: {}",
                no_window(&NoWindow::OpenFailed(e.to_string()), &program)
            );
            ExitCode::from(2)
        }
    }
}
