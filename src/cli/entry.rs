//! Where the binary enters the command line: the elevated relaunch's trampoline, argument
//! parsing with one-line usage errors, the window's start, and `run`, which handles every error once.

use std::process::ExitCode;

use crate::program::Program;
use crate::target::{InputError, Target};

use super::{Cli, Command, execute, exit, output, remote};

/// The display variables an elevated relaunch may carry (`--env NAME=VALUE`, added by
/// `platform::elevate_command` because pkexec drops the environment). Only these: an elevated
/// process must not take LD_PRELOAD or PATH from its caller.
pub(crate) const CARRIED_ENV: [&str; 4] = [
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
];

/// When started as `port-inspector --env NAME=VALUE …` (an elevated relaunch), starts this
/// program again with those display variables set and the rest of the arguments, and returns its
/// exit code; `None` for an ordinary start. A name outside the four display variables is refused.
#[must_use]
pub fn env_trampoline() -> Option<ExitCode> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_none_or(|a| a != "--env") {
        return None;
    }
    let mut vars = Vec::new();
    while args.first().is_some_and(|a| a == "--env") {
        let pair = args.get(1).and_then(|p| p.to_str()).map(str::to_owned);
        args.drain(..args.len().min(2));
        match pair.as_deref().and_then(|p| p.split_once('=')) {
            Some((k, v)) if CARRIED_ENV.contains(&k) => vars.push((k.to_owned(), v.to_owned())),
            _ => {
                output::error_line(&format!(
                    "--env takes one of {} as NAME=VALUE",
                    CARRIED_ENV.join(", ")
                ));
                return Some(ExitCode::from(exit::USAGE));
            }
        }
    }
    let status = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .args(args)
            .envs(vars)
            .status()
    });
    Some(match status {
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
        Err(e) => {
            output::error_line(&format!(
                "cannot start again with the display variables: {e}"
            ));
            ExitCode::from(exit::NOT_BINDABLE)
        }
    })
}

/// Parses the process's arguments and runs them: the binary's whole `main` for a subcommand.
/// A usage error is one line and exit 2 (clap's own help and version output stay as they are).
pub fn parse_args() -> Result<Cli, ExitCode> {
    match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return Err(ExitCode::SUCCESS);
            }
            // A value refused by one of our parsers: its own message says it all.
            if e.kind() == ErrorKind::ValueValidation
                && let Some(source) = std::error::Error::source(&e)
            {
                match source.downcast_ref::<InputError>() {
                    Some(input) => input_error_line(input, &Program::this()),
                    None => output::error_line(&source.to_string()),
                }
                return Err(ExitCode::from(exit::USAGE));
            }
            let args: Vec<String> = std::env::args().skip(1).collect();
            if let Some(input) = usage_error(&e, &args) {
                output::error_line(&input.to_string());
                return Err(ExitCode::from(exit::USAGE));
            }
            // clap's message is several lines (usage, a tip); its first line says what is wrong,
            // and for a value out of a list, the list is what the user needs next.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            // A first line that ends in ':' announces a list (the required arguments not
            // given): the list is the message, joined on the line.
            let listed;
            let first = if first.ends_with(':') {
                let items: Vec<&str> = text
                    .lines()
                    .skip(1)
                    .map(str::trim)
                    .take_while(|l| !l.is_empty())
                    .collect();
                listed = format!("{first} {}", items.join(", "));
                listed.as_str()
            } else {
                first
            };
            // clap's tip of a similar argument or command is kept: it is what a typo needs next.
            let tip = text.lines().find_map(|l| {
                let tip = l.trim();
                [
                    "argument exists: ",
                    "subcommand exists: ",
                    "subcommands exist: ",
                ]
                .iter()
                .find_map(|what| {
                    tip.strip_prefix("tip: a similar ")
                        .or_else(|| tip.strip_prefix("tip: some similar "))
                        .and_then(|t| t.strip_prefix(what))
                })
            });
            let with_tip;
            let first = if let Some(t) = tip {
                // 'listen', 'list' → 'listen' or 'list'
                let t = match t.rsplit_once(", ") {
                    Some((more, last)) => format!("{more} or {last}"),
                    None => t.to_owned(),
                };
                with_tip = format!("{first} (did you mean {t}?)");
                with_tip.as_str()
            } else {
                first
            };
            match text
                .lines()
                .find_map(|l| l.trim().strip_prefix("[possible values: "))
            {
                Some(values) => output::error_line(&format!(
                    "{first}: give one of {}",
                    values.trim_end_matches(']')
                )),
                None => output::error_line(first),
            }
            Err(ExitCode::from(exit::USAGE))
        }
    }
}

/// clap's refusal of `args` in the tool's words, where clap's own would mislead or read as
/// clap's: a mistyped option the target took (`check -x 80`, `check --bogus 1`: clap blames the
/// `80`), one option given twice (`-66`), an option without its partner (`check 80 --interval 5`
/// needs --wait), a command without its argument. `None`: clap's first line says it.
fn usage_error(e: &clap::Error, args: &[String]) -> Option<InputError> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let invalid = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(a)) => vec![a.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    };
    let (top, sub) = subcommand_of(args)?;
    match e.kind() {
        // `facts --ndjson`: clap would suggest --json; the command takes --format ndjson.
        ErrorKind::UnknownArgument
            if let Some(format) = invalid
                .first()
                .and_then(|a| a.strip_prefix("--"))
                .filter(|f| is_format_of(&sub, f)) =>
        {
            Some(InputError::FormatAsOption(format.to_owned()))
        }
        // A blamed `--name` keeps clap's line: it carries clap's "did you mean" tip.
        ErrorKind::UnknownArgument if !invalid.iter().any(|a| a.starts_with("--")) => {
            mistyped_option(args, &top, &sub).map(InputError::UnknownOption)
        }
        ErrorKind::ArgumentConflict
            if matches!(
                (e.get(ContextKind::InvalidArg), e.get(ContextKind::PriorArg)),
                (Some(a), Some(b)) if a == b
            ) =>
        {
            let option = invalid.first()?.clone();
            let c = option.strip_prefix('-').filter(|c| c.len() == 1)?;
            let word = args
                .iter()
                .take_while(|a| *a != "--")
                .find(|a| !a.starts_with("--") && a.matches(c).count() > 1)
                .map(|a| crate::text::clean(a).into_owned());
            Some(InputError::OptionTwice { option, word })
        }
        ErrorKind::MissingRequiredArgument => {
            let needs = invalid.join(", ");
            Some(match needing(args, &top, &sub) {
                Some(option) => InputError::NeedsPartner { option, needs },
                None => InputError::Missing {
                    command: sub.get_name().to_owned(),
                    missing: needs,
                },
            })
        }
        _ => None,
    }
}

/// Whether `value` is one of `sub`'s `--format` values.
fn is_format_of(sub: &clap::Command, value: &str) -> bool {
    sub.get_arguments()
        .filter(|a| a.get_long() == Some("format"))
        .flat_map(clap::Arg::get_possible_values)
        .any(|v| v.get_name() == value)
}

/// The program's command and the subcommand `args` name.
fn subcommand_of(args: &[String]) -> Option<(clap::Command, clap::Command)> {
    let top = <Cli as clap::CommandFactory>::command();
    // The first word that names one (an option's value may come before it: `--on web-01 who`).
    let sub = args
        .iter()
        .take_while(|a| *a != "--")
        .find_map(|name| top.find_subcommand(name))?
        .clone();
    Some((top, sub))
}

/// The first option among `args` that neither the subcommand nor the program has (`--help`
/// and `--version` aside): `--name`, or `-x…` with a letter neither has (`-6x`): what a user
/// mistyped when clap blames the argument after it.
fn mistyped_option(args: &[String], top: &clap::Command, sub: &clap::Command) -> Option<String> {
    let known_long = |name: &str| {
        matches!(name, "help" | "version")
            || sub
                .get_arguments()
                .chain(top.get_arguments())
                .any(|a| a.get_long() == Some(name))
    };
    let known_short = |c: char| {
        matches!(c, 'h' | 'V')
            || sub
                .get_arguments()
                .chain(top.get_arguments())
                .any(|a| a.get_short() == Some(c))
    };
    args.iter()
        .take_while(|a| *a != "--")
        .find(|a| match a.strip_prefix("--") {
            Some(rest) => rest
                .split('=')
                .next()
                .is_some_and(|name| !name.is_empty() && !known_long(name)),
            // `-x`, `-6x`; not `-1` (a negative number: a value, refused as a port in words).
            None => a.strip_prefix('-').is_some_and(|flags| {
                !flags.chars().all(|c| c.is_ascii_digit()) && !flags.chars().all(known_short)
            }),
        })
        .map(|a| crate::text::clean(a).into_owned())
}

/// The option among `args` that needs what clap found missing: the one whose leaving out makes
/// clap stop asking for it (`--interval` in `check 80 --interval 5`, which needs --wait). The
/// requirements stay clap's, written once in `args.rs`.
fn needing(args: &[String], top: &clap::Command, sub: &clap::Command) -> Option<String> {
    let still_missing = |rest: &[String]| {
        top.clone()
            .try_get_matches_from(
                std::iter::once(crate::program::NAME).chain(rest.iter().map(String::as_str)),
            )
            .is_err_and(|e| e.kind() == clap::error::ErrorKind::MissingRequiredArgument)
    };
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    (0..end).find_map(|i| {
        let (name, inline) = match args[i].strip_prefix("--")?.split_once('=') {
            Some((n, _)) => (n, true),
            None => (args[i].strip_prefix("--")?, false),
        };
        let arg = sub
            .get_arguments()
            .chain(top.get_arguments())
            .find(|a| a.get_long() == Some(name))?;
        let width = if !inline && arg.get_action().takes_values() {
            2
        } else {
            1
        };
        let mut rest = args.to_vec();
        rest.drain(i..(i + width).min(end));
        (!still_missing(&rest)).then(|| format!("--{name}"))
    })
}

/// For `port-inspector window [TARGET]`: `Some(Ok(target))` to open the window (on TARGET when
/// given), `Some(Err(code))` after printing the one-line error of a bad TARGET, `None` for every
/// other command (the window itself is opened by the binary, not by the command line).
#[must_use]
pub fn window_start(cli: &Cli) -> Option<Result<Option<Target>, ExitCode>> {
    let Some(Command::Window { target, bind }) = &cli.command else {
        return None;
    };
    output::configure(cli.quiet, cli.no_color);
    // The window asks this machine (its machine picker asks others); `window --on` is refused
    // as every command outside `--on`'s list is.
    if cli.on.is_some() {
        output::error_line(&remote::not_remote("window").to_string());
        return Some(Err(ExitCode::from(exit::USAGE)));
    }
    Some(
        match target.as_deref().map(|t| bind.target(t)).transpose() {
            Ok(t) => Ok(t),
            Err(e) => {
                input_error_line(&e, &Program::this());
                Err(ExitCode::from(exit::USAGE))
            }
        },
    )
}

/// A refused input's one line, with the command that lists what it may be (starting with
/// `program`) where one does.
fn input_error_line(e: &InputError, program: &Program) {
    output::error_line(&crate::render::program::input_error(e, program));
}

/// Runs a parsed command line and returns the process exit code. Each error is handled here,
/// once: bad input and an `end` that ended nothing are exit 2, a failure at run time (a file, standard output) exit 1.
#[must_use]
pub fn run(cli: Cli) -> ExitCode {
    output::configure(cli.quiet, cli.no_color);
    let Some(cmd) = cli.command else {
        return ExitCode::from(exit::USAGE);
    };
    let on = remote::remote_of(cli.on.as_ref(), cli.remote_path.as_deref());
    // How every command this run prints names this program: decided once, here.
    let program = Program::this();
    let result = match &on {
        Some(r) => remote::execute(cmd, r),
        None => execute(cmd, &program),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<InputError>() {
                Some(input) if e.chain().count() == 1 => input_error_line(input, &program),
                _ => output::error_line(&format!("{e:#}")),
            }
            // Bad input, or an `end` that ended nothing (refused, not confirmed): nothing was
            // done either way.
            if e.downcast_ref::<InputError>().is_some()
                || e.downcast_ref::<crate::end::NotEnded>().is_some()
            {
                exit::USAGE
            } else {
                exit::NOT_BINDABLE
            }
        }
    };
    // Output that could not be written (a full disk; not a closed pipe) is a failure.
    if let Some(e) = output::write_error() {
        output::error_line(&format!("cannot write to standard output: {e}"));
        return ExitCode::from(exit::NOT_BINDABLE);
    }
    ExitCode::from(code)
}
