//! `port-inspector`: no arguments open the window; a subcommand runs the command line.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(code) = port_inspector::cli::env_trampoline() {
        return code;
    }
    let cli = match port_inspector::cli::parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match port_inspector::cli::window_start(&cli) {
        Some(Ok(start)) => window(start),
        Some(Err(code)) => code,
        None if cli.command.is_none() => window(None),
        None => port_inspector::cli::run(cli),
    }
}

#[cfg(feature = "gui")]
fn window(start: Option<port_inspector::Target>) -> ExitCode {
    port_inspector::gui::run(start)
}

/// A build without the window (`--no-default-features`) says so and points at the commands.
#[cfg(not(feature = "gui"))]
#[expect(
    clippy::print_stderr,
    reason = "the one message of a build that has no window"
)]
fn window(_start: Option<port_inspector::Target>) -> ExitCode {
    use port_inspector::render::program::{NoWindow, no_window};
    eprintln!(
        "port-inspector: {}",
        no_window(
            &NoWindow::NotBuilt,
            &port_inspector::program::Program::this()
        )
    );
    ExitCode::from(2)
}
