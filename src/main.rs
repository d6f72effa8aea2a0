//! `port-inspector`: no arguments open the window; a subcommand runs the command line.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = port_inspector::cli::Cli::parse();
    if cli.command.is_some() {
        port_inspector::cli::run(cli)
    } else {
        port_inspector::gui::run()
    }
}
