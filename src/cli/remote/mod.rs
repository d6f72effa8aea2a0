//! `--on [USER@]HOST[:PORT]`: the same commands answered by another machine over ssh
//! (`crate::remote`), read into the same typed values and rendered here exactly as a local
//! answer, under one line naming the machine. Every string the remote sent is outside text:
//! the text views see it with control characters escaped, the JSON stays exact (and is written
//! with `text::json`'s escapes), and nothing in it becomes a path, a file or a command here.

use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BindOptions, CheckArgs, Command, DocOutput, Format, Output, PortArgs, exit, output};
use crate::remote::{ListRow, Machine, Remote, RemoteError, Reply};
use crate::target::InputError;

mod commands;

use commands::{check, end, list, report, watch, who};

/// The exit codes of a machine that gave no answer (documented beside the others).
pub mod code {
    /// The machine could not be reached: its name did not resolve, the connection was refused
    /// or timed out, or there is no ssh client here.
    pub const UNREACHABLE: u8 = 4;
    /// The machine refused the login (no key it accepts; ssh runs in batch mode, never asks).
    pub const LOGIN_REFUSED: u8 = 5;
    /// The machine's host key is unknown here or has changed: refused, never accepted silently.
    pub const HOST_KEY: u8 = 6;
    /// No usable Port Inspector there: not installed (or not at --remote-path), or its answer
    /// could not be read.
    pub const NO_PORT_INSPECTOR: u8 = 7;
}

/// `--on` and `--remote-path`, read once.
#[must_use]
pub fn remote_of(on: Option<&Machine>, remote_path: Option<&str>) -> Option<Remote> {
    on.map(|m| Remote {
        machine: m.clone(),
        program: remote_path.map(str::to_owned),
        ssh: None,
    })
}

/// The commands `--on` runs on another machine: the one list `--on`'s help, its refusal and
/// [`execute`] follow (a command not here is refused before anything runs).
pub(crate) const COMMANDS: [&str; 8] = [
    "check", "who", "list", "scan", "end", "report", "facts", "watch",
];

/// [`COMMANDS`] in words: `check, who, … and watch`.
fn commands_in_words() -> String {
    match COMMANDS.split_last() {
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// `--on`'s help, naming [`COMMANDS`].
pub(crate) fn on_help() -> String {
    format!(
        "Ask another machine over ssh ([USER@]HOST[:PORT], as ssh takes it: your ssh config, agent and known_hosts): {}.",
        commands_in_words()
    )
}

/// The refusal of `--on` with a command not in [`COMMANDS`].
pub(crate) fn not_remote(command: &str) -> InputError {
    InputError::NotRemote {
        command: command.to_owned(),
        works_with: commands_in_words(),
    }
}

/// Runs `cmd` on the machine; the exit code is the remote's (0-3) or one of [`code`].
pub(super) fn execute(cmd: Command, remote: &Remote) -> anyhow::Result<u8> {
    let name = command_name(&cmd);
    if !COMMANDS.contains(&name.as_str()) {
        return Err(not_remote(&name).into());
    }
    match cmd {
        Command::Check(args) => check(&args, remote),
        Command::Who { sel, output: out } => who(&sel, out, remote),
        Command::List {
            tcp,
            udp,
            listening,
            all,
            port,
            process,
            output: out,
        } => {
            let mut args = vec!["list".to_owned()];
            flag(&mut args, "--tcp", tcp);
            flag(&mut args, "--udp", udp);
            flag(&mut args, "--listening", listening);
            flag(&mut args, "--all", all);
            if let Some(p) = port {
                args.extend(["--port".to_owned(), p.to_string()]);
            }
            if let Some(p) = process {
                args.extend(["--process".to_owned(), p]);
            }
            list(args, out, remote)
        }
        Command::Scan {
            range,
            host,
            udp,
            both,
            output: out,
        } => {
            let format = out.format();
            let mut args = vec!["scan".to_owned(), format!("{}-{}", range.0, range.1)];
            if let Some(h) = host {
                if h.scope_id != 0 {
                    return Err(InputError::LinkLocalElsewhere.into());
                }
                args.extend(["--host".to_owned(), h.ip.to_string()]);
            }
            flag(&mut args, "--udp", udp);
            flag(&mut args, "--both", both);
            let Some((reply, exact, clean)) =
                ask::<crate::scan::ScanReport>(remote, args, format != Format::Text)?
            else {
                return Ok(last_code());
            };
            match format {
                Format::Json => output::json(&marked(&exact, &remote.machine)),
                Format::Ndjson => {
                    ndjson_marked(exact.busy.iter(), "busy", &remote.machine);
                    ndjson_marked(exact.free.iter(), "free", &remote.machine);
                }
                _ => output::lines(&with_header(&remote.machine, output::scan_lines(&clean))),
            }
            Ok(passed_code(&reply))
        }
        Command::Facts { output: out } => {
            let format = out.format();
            let Some((reply, exact, clean)) = ask::<crate::facts::Facts>(
                remote,
                vec!["facts".to_owned()],
                format != Format::Text,
            )?
            else {
                return Ok(last_code());
            };
            // The table in the remote's words for its own OS, made here from its values.
            let table = crate::render::facts::table(&exact);
            match format {
                Format::Json => output::json(&marked(
                    &super::commands::FactsJson {
                        facts: &exact,
                        table,
                    },
                    &remote.machine,
                )),
                Format::Ndjson => {
                    ndjson_marked(table.iter(), "fact", &remote.machine);
                    ndjson_marked(exact.interfaces.iter(), "interface", &remote.machine);
                }
                _ => output::text(&(header(&remote.machine) + &output::facts_text(&clean))),
            }
            Ok(passed_code(&reply))
        }
        Command::Report {
            target,
            bind,
            timeout,
            format,
            output: file,
            force,
        } => report(
            &target,
            &bind,
            timeout,
            format.into(),
            file.as_deref(),
            force,
            remote,
        ),
        Command::End {
            sel,
            dry_run,
            yes,
            signal,
            output: out,
            ..
        } => end(&sel, dry_run, yes, signal, out, remote),
        Command::Watch(args) => watch(&args, remote),
        // Refused above; a command added to COMMANDS without its arm here is refused too (the
        // test of `--on` with every command says which).
        other => Err(not_remote(&command_name(&other)).into()),
    }
}

/// The subcommand's name, for a refusal.
fn command_name(cmd: &Command) -> String {
    format!("{cmd:?}")
        .split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

fn flag(args: &mut Vec<String>, name: &str, on: bool) {
    if on {
        args.push(name.to_owned());
    }
}

/// The words of the bind options, as `check` reads them.
fn bind_args(b: &BindOptions, args: &mut Vec<String>) {
    flag(args, "--udp", b.udp);
    flag(args, "-4", b.ipv4);
    flag(args, "-6", b.ipv6);
    flag(args, "--reuseaddr", b.reuseaddr);
    flag(args, "--reuseport", b.reuseport);
    if let Some(v) = &b.v6only {
        args.extend(["--v6only".to_owned(), v.clone()]);
    }
    flag(args, "--exclusive", b.exclusive);
    flag(args, "--no-listen", b.no_listen);
    // Only where a backlog applies: `check` refuses it with --udp and with --no-listen.
    if !b.udp && !b.no_listen {
        args.extend(["--backlog".to_owned(), b.backlog.to_string()]);
    }
}

/// The words of `who`'s and `end`'s port selection.
fn port_args(sel: &PortArgs, args: &mut Vec<String>) {
    args.push(sel.port.to_string());
    flag(args, "--udp", sel.udp);
    flag(args, "--tcp", sel.tcp);
    if let Some(h) = sel.host {
        args.extend(["--host".to_owned(), h.to_string()]);
    }
}

/// The exit code of the last machine that gave no answer (set by [`ask`] when it said why).
static LAST_CODE: std::sync::atomic::AtomicU8 =
    std::sync::atomic::AtomicU8::new(code::NO_PORT_INSPECTOR);

fn last_code() -> u8 {
    LAST_CODE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs `args --json` on the machine and reads the answer as a `T`: the exact value (for JSON)
/// and, when `exact_only` is false, the same with every string's control characters escaped
/// (for the text views, whose words were made there). `None` after one line said why there
/// is no answer (its exit code in [`last_code`]); a usage error the remote refused is exit 2
/// with its line.
fn ask<T: DeserializeOwned>(
    remote: &Remote,
    mut args: Vec<String>,
    exact_only: bool,
) -> anyhow::Result<Option<(Reply, T, T)>> {
    args.push("--json".to_owned());
    let reply = match crate::remote::run(remote, &args) {
        Ok(r) => r,
        Err(e) => {
            fail(&remote.machine, &e);
            return Ok(None);
        }
    };
    say_version(&remote.machine, &reply);
    pass_notes(&remote.machine, &reply);
    if reply.exit_code == i32::from(exit::USAGE) {
        let why = reply
            .stderr
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("port-inspector: error: "))
            .unwrap_or("it refused the arguments");
        return Err(InputError::RefusedThere {
            machine: remote.machine.to_string(),
            why: crate::text::clean(why).into_owned(),
        }
        .into());
    }
    let value: serde_json::Value = match serde_json::from_slice(&reply.document) {
        Ok(v) => v,
        Err(e) => {
            unreadable(&remote.machine, &reply, &e.to_string());
            return Ok(None);
        }
    };
    let clean = if exact_only {
        None
    } else {
        match serde_json::from_value::<T>(crate::remote::cleaned(value.clone())) {
            Ok(c) => Some(c),
            Err(e) => {
                unreadable(&remote.machine, &reply, &e.to_string());
                return Ok(None);
            }
        }
    };
    let exact: T = match serde_json::from_value(value) {
        Ok(v) => v,
        Err(e) => {
            unreadable(&remote.machine, &reply, &e.to_string());
            return Ok(None);
        }
    };
    let clean = match clean {
        Some(c) => c,
        None => serde_json::from_slice(&reply.document)
            .context("the answer read once could not be read again")?,
    };
    Ok(Some((reply, exact, clean)))
}

/// The remote's exit code when it is one of ours (0-3); anything else means it did not answer
/// as Port Inspector does.
fn passed_code(reply: &Reply) -> u8 {
    match u8::try_from(reply.exit_code) {
        Ok(c) if c <= exit::UNKNOWN => c,
        _ => code::NO_PORT_INSPECTOR,
    }
}

/// The line above a remote answer: which machine gave it.
fn header(m: &Machine) -> String {
    format!("On {} (over ssh):\n", crate::text::clean(&m.to_string()))
}

/// Toned lines under the machine's header line.
fn with_header(m: &Machine, body: crate::render::Lines) -> crate::render::Lines {
    let mut l = crate::render::Lines::default();
    l.plain(header(m).trim_end_matches('\n'));
    l.0.extend(body.0);
    l
}

/// A document with `"machine": "HOST"` added at its top, so a saved answer says where it is from.
fn marked<T: Serialize>(v: &T, m: &Machine) -> serde_json::Value {
    let mut value = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("machine".into(), m.to_string().into());
    }
    value
}

/// One object a line, each with its `type` and the machine.
fn ndjson_marked<'a, T: Serialize + 'a>(
    items: impl Iterator<Item = &'a T>,
    kind: &str,
    m: &Machine,
) {
    let rows: Vec<serde_json::Value> = items.map(|i| marked(i, m)).collect();
    output::ndjson(rows.iter(), kind);
}

/// A remote of another version is said once, on standard error: its answer may lack what this
/// version shows, or carry what it cannot read.
fn say_version(m: &Machine, reply: &Reply) {
    if !reply.version.matches_ours() {
        output::warn(&format!(
            "{m} runs port-inspector {}, this is {}: answers may differ; install {} there to match",
            crate::text::clean(&reply.version.version),
            crate::build_info::VERSION,
            crate::build_info::VERSION,
        ));
    }
}

/// The remote's own notes (a table it could not read …), on standard error, marked with the
/// machine; its error lines are left to the caller.
fn pass_notes(m: &Machine, reply: &Reply) {
    for l in &reply.stderr {
        if l.starts_with("port-inspector: error: ") {
            continue;
        }
        let l = l.strip_prefix("port-inspector: note: ").unwrap_or(l);
        output::warn(&format!("{m}: {}", crate::text::clean(l)));
    }
}

/// An answer that is not the JSON this version reads: one line, exit 7.
fn unreadable(m: &Machine, reply: &Reply, why: &str) {
    LAST_CODE.store(
        code::NO_PORT_INSPECTOR,
        std::sync::atomic::Ordering::Relaxed,
    );
    output::error_line(&format!(
        "the answer of {m} (port-inspector {}) could not be read ({}); install port-inspector {} there",
        crate::text::clean(&reply.version.version),
        crate::text::clean(&why.chars().take(160).collect::<String>()),
        crate::build_info::VERSION
    ));
}

/// Why a machine gave no answer, in one line, and its exit code kept for [`last_code`].
fn fail(m: &Machine, e: &RemoteError) {
    let (line, code) = error_words(m, e);
    LAST_CODE.store(code, std::sync::atomic::Ordering::Relaxed);
    output::error_line(&line);
}

/// The one line and exit code for each reason a machine gave no answer.
#[must_use]
pub fn error_words(m: &Machine, e: &RemoteError) -> (String, u8) {
    let code = match e {
        RemoteError::NoClient | RemoteError::Unreachable(_) => code::UNREACHABLE,
        RemoteError::LoginRefused(_) => code::LOGIN_REFUSED,
        RemoteError::HostKeyUnknown | RemoteError::HostKeyChanged => code::HOST_KEY,
        RemoteError::NotInstalled(_) | RemoteError::Unusable(_) => code::NO_PORT_INSPECTOR,
    };
    (
        // The words name --remote-path, no command of this program.
        crate::render::remote::failure(
            m,
            e,
            crate::wording::Front::Cli(&crate::program::Program::OnPath),
        ),
        code,
    )
}
