//! The command line, in four rooms: `args` (clap's definitions and the value parsers), `entry`
//! (the binary's way in and the one place errors become exit codes), `commands` (each command
//! turned into a core call) and `output` (every line printed). `remote` runs a command on another
//! machine over ssh; `watch` streams a port's changes. The core never prints.

mod args;
mod commands;
mod entry;
mod output;
mod record;
mod remote;
mod watch;

pub use args::{
    BindOptions, CheckArgs, Cli, Command, DocFormat, DocOutput, Format, Output, PortArgs,
    ReportFormat, ScopedIp, SignalArg, StreamFormat,
};
use args::{interval_secs, wait_secs};
use commands::{execute, simple_target};
pub use entry::{env_trampoline, parse_args, run, window_start};

/// Exit status for scripts, the same for every subcommand.
pub mod exit {
    /// The port can be bound (or the command did what was asked).
    pub const OK: u8 = 0;
    /// The port cannot be bound, nothing was found, or the command failed at run time (a file
    /// that cannot be written, standard output full).
    pub const NOT_BINDABLE: u8 = 1;
    /// Bad usage or input; nothing was done.
    pub const USAGE: u8 = 2;
    /// No answer: the check was cancelled or timed out before the OS answered, or `who` found
    /// nobody while short of file descriptors.
    pub const UNKNOWN: u8 = 3;
}
