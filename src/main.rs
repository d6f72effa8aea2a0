//! `port-inspector`: no arguments open the window; a subcommand runs the command line.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = port_inspector::cli::Cli::parse();
    match cli.command {
        Some(cmd) => port_inspector::cli::run(cmd),
        None => port_inspector::gui::run(),
    }
}
