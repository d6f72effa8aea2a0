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
    if cli.command.is_some() {
        port_inspector::cli::run(cli)
    } else {
        window()
    }
}

#[cfg(feature = "gui")]
fn window() -> ExitCode {
    port_inspector::gui::run()
}

/// A build without the window (`--no-default-features`) says so and points at the commands.
#[cfg(not(feature = "gui"))]
#[expect(
    clippy::print_stderr,
    reason = "the one message of a build that has no window"
)]
fn window() -> ExitCode {
    eprintln!(
        "port-inspector: this build has no window (built without the 'gui' feature); use a command, e.g. 'port-inspector check 8080' (see 'port-inspector --help')"
    );
    ExitCode::from(2)
}
