//! Each command answered by the other machine: its arguments in the remote's words, the answer
//! read into the local types and rendered by the local renderers.

#[allow(clippy::wildcard_imports)] // the parent's helpers and imports, split from it
use super::*;
pub(super) fn check(args: &CheckArgs, remote: &Remote) -> anyhow::Result<u8> {
    let format = args.output.format();
    // Refused here, in this machine's words, before anything is sent.
    let (_, timeout) = args.to_target()?;
    let mut words = vec!["check".to_owned(), args.target.trim().to_owned()];
    bind_args(&args.bind, &mut words);
    words.extend(["--timeout".to_owned(), format!("{}", timeout.as_secs_f64())]);
    if args.wait {
        words.extend([
            "--wait".to_owned(),
            "--interval".to_owned(),
            format!("{}", args.interval.as_secs_f64()),
        ]);
    }
    let Some((reply, exact, clean)) =
        ask::<crate::check::Check>(remote, words, format == Format::Json)?
    else {
        return Ok(last_code());
    };
    if format == Format::Json {
        output::json(&marked(&exact, &remote.machine));
    } else {
        output::lines(&with_header(
            &remote.machine,
            crate::render::report::text_lines(&clean),
        ));
    }
    Ok(passed_code(&reply))
}

pub(super) fn who(sel: &PortArgs, out: Output, remote: &Remote) -> anyhow::Result<u8> {
    let format = out.format();
    let mut args = vec!["who".to_owned()];
    port_args(sel, &mut args);
    let Some((reply, exact, clean)) =
        ask::<crate::owners::Owners>(remote, args, format != Format::Text)?
    else {
        return Ok(last_code());
    };
    match format {
        Format::Json => output::json(&marked(&exact, &remote.machine)),
        Format::Ndjson => ndjson_marked(exact.owners.iter(), "owner", &remote.machine),
        _ => output::text(
            &(header(&remote.machine)
                + &output::owners_text(
                    sel.port,
                    sel.host,
                    super::super::commands::protocol_of(sel.udp, sel.tcp),
                    &clean,
                    // A command for the other machine would name its own program; none is
                    // printed for the sockets it lists.
                    &crate::program::Program::OnPath,
                )),
        ),
    }
    Ok(passed_code(&reply))
}

pub(super) fn list(args: Vec<String>, out: Output, remote: &Remote) -> anyhow::Result<u8> {
    let format = out.format();
    let Some((reply, exact, clean)) = ask::<Vec<ListRow>>(remote, args, format != Format::Text)?
    else {
        return Ok(last_code());
    };
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> =
                exact.iter().map(|r| marked(r, &remote.machine)).collect();
            output::json(&rows);
        }
        Format::Ndjson => ndjson_marked(exact.iter(), "socket", &remote.machine),
        _ => {
            let owners: Vec<crate::owners::Owner> = clean.iter().map(ListRow::owner).collect();
            output::text(&(header(&remote.machine) + &crate::render::socket_table(&owners)));
        }
    }
    Ok(passed_code(&reply))
}

pub(super) fn report(
    target: &str,
    bind: &BindOptions,
    timeout: Duration,
    format: Format,
    file: Option<&std::path::Path>,
    force: bool,
    remote: &Remote,
) -> anyhow::Result<u8> {
    bind.target(target)?;
    let mut words = vec!["check".to_owned(), target.trim().to_owned()];
    bind_args(bind, &mut words);
    words.extend(["--timeout".to_owned(), format!("{}", timeout.as_secs_f64())]);
    let Some((reply, exact, clean)) =
        ask::<crate::check::Check>(remote, words, format == Format::Json)?
    else {
        return Ok(last_code());
    };
    let machine = crate::text::clean(&remote.machine.to_string()).into_owned();
    let text = match format {
        Format::Json => {
            crate::text::json(&marked(&exact, &remote.machine), true).unwrap_or_default() + "\n"
        }
        Format::Text => format!(
            "Machine: {machine} (over ssh)\n\n{}",
            crate::render::report::text_full(&clean)
        ),
        _ => format!(
            "**Machine:** {} (over ssh)\n\n{}",
            crate::text::md(&remote.machine.to_string()),
            crate::render::report::markdown(&clean)
        ),
    };
    // Only the file the user named here is written; nothing the remote sent names one.
    crate::cli::commands::deliver_report(file, &text, format == Format::Json, force)?;
    Ok(passed_code(&reply))
}

/// `end --on`: the remote's plan (its own dry run) shown here; the same refusals and the same
/// confirmation as locally; then the remote's own `end --yes`, told the PIDs that were
/// confirmed so that it ends nothing else (it plans again, re-checks each PID through a pidfd
/// and proves the port free by binding it, there).
pub(super) fn end(
    sel: &PortArgs,
    dry_run: bool,
    yes: bool,
    signal: crate::cli::SignalArg,
    out: DocOutput,
    remote: &Remote,
) -> anyhow::Result<u8> {
    let format = out.format();
    let json = format == Format::Json;
    let mut words = vec!["end".to_owned()];
    port_args(sel, &mut words);
    let mut plan_words = words.clone();
    plan_words.push("--dry-run".to_owned());
    let Some((reply, exact, clean)) = ask::<crate::end::EndPlan>(remote, plan_words, json)? else {
        return Ok(last_code());
    };
    if !json {
        output::text(&(header(&remote.machine) + &crate::render::end_plan(&clean)));
    }
    let to_end: Vec<u32> = exact.to_end().map(|t| t.pid).collect();
    let refused = to_end.is_empty() && !exact.targets.is_empty();
    let unknown = exact.targets.is_empty() && !exact.complete();
    if json && (dry_run || refused || unknown || (!to_end.is_empty() && !yes)) {
        output::json(&marked(&exact, &remote.machine));
    }
    if dry_run {
        return Ok(passed_code(&reply));
    }
    if unknown {
        return Ok(exit::UNKNOWN);
    }
    if refused {
        return Err(crate::end::NotEnded::NoneMayBe {
            place: format!("on {}", remote.machine),
        }
        .into());
    }
    if to_end.is_empty() {
        // Nobody holds the port there: the remote's own answer (free, or not) decides.
        let mut check_words = words;
        check_words.extend(["--yes", "--expect-pids", "none"].map(str::to_owned));
        return finish_end(remote, check_words, json);
    }
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(crate::end::NotEnded::NoTerminal.into());
        }
        if !output::confirm(&format!(
            "End {} on {}? [y/N] ",
            crate::wording::count(to_end.len(), "process", "processes"),
            crate::text::clean(&remote.machine.to_string())
        )) {
            return Err(crate::end::NotEnded::NotConfirmed.into());
        }
    }
    // Confirmed here: only now does the remote get --yes, with the PIDs confirmed.
    words.extend([
        "--yes".to_owned(),
        "--signal".to_owned(),
        match signal {
            crate::cli::SignalArg::Term => "TERM".to_owned(),
            crate::cli::SignalArg::Kill => "KILL".to_owned(),
        },
        "--expect-pids".to_owned(),
        to_end
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(","),
    ]);
    finish_end(remote, words, json)
}

/// The remote's `end --yes`: its report, rendered here.
fn finish_end(remote: &Remote, words: Vec<String>, json: bool) -> anyhow::Result<u8> {
    let Some((reply, exact, clean)) = ask::<crate::end::EndReport>(remote, words, json)? else {
        return Ok(last_code());
    };
    if json {
        output::json(&marked(&exact, &remote.machine));
    } else {
        output::text(&crate::render::end_report(&clean));
    }
    Ok(passed_code(&reply))
}

/// `watch --on`: the remote's own `watch --json`, streamed through one ssh connection, each
/// object read as a `WatchEvent` and printed here as a local one, marked with the machine. The
/// exit code is the remote's (0 met, 1 timed out).
pub(super) fn watch(args: &crate::cli::watch::WatchArgs, remote: &Remote) -> anyhow::Result<u8> {
    use std::io::BufRead as _;
    let format = args.output.format();
    args.to_target()?;
    let mut words = vec![
        "watch".to_owned(),
        args.target.trim().to_owned(),
        "--until".to_owned(),
        match args.until {
            crate::watch::Until::Free => "free",
            crate::watch::Until::Taken => "taken",
            crate::watch::Until::Changed => "changed",
        }
        .to_owned(),
        "--interval".to_owned(),
        format!("{}", args.interval.as_secs_f64()),
    ];
    flag(&mut words, "--udp", args.udp);
    if let Some(t) = args.timeout {
        words.extend(["--timeout".to_owned(), format!("{}", t.as_secs_f64())]);
    }
    words.push("--json".to_owned());
    let mut child = match crate::remote::spawn(remote, &words) {
        Ok(c) => c,
        Err(e) => {
            fail(&remote.machine, &e);
            return Ok(last_code());
        }
    };
    let stderr = child.stderr.take();
    let err_reader = std::thread::Builder::new()
        .name("ssh-stderr".into())
        .spawn(move || {
            let mut lines = Vec::new();
            if let Some(s) = stderr {
                for l in std::io::BufReader::new(std::io::Read::take(s, 64 << 10))
                    .lines()
                    .map_while(Result::ok)
                {
                    if !l.trim().is_empty() {
                        lines.push(l.trim_end_matches('\r').to_owned());
                    }
                }
            }
            lines
        })?;
    let mut version: Option<crate::remote::RemoteVersion> = None;
    let mut bad: Option<String> = None;
    if let Some(out) = child.stdout.take() {
        let reader =
            std::io::BufReader::new(std::io::Read::take(out, crate::remote::MAX_ANSWER_BYTES));
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if version.is_none() {
                if let Some(v) = crate::remote::version_of_line(&line) {
                    if !v.matches_ours() {
                        output::warn(&format!(
                            "{} runs port-inspector {}, this is {}: answers may differ; install {} there to match",
                            remote.machine,
                            crate::text::clean(&v.version),
                            crate::build_info::VERSION,
                            crate::build_info::VERSION,
                        ));
                    }
                    version = Some(v);
                }
                continue;
            }
            let event = match serde_json::from_str::<crate::watch::WatchEvent>(&line) {
                Ok(e) => e,
                Err(e) => {
                    bad = Some(e.to_string());
                    let _ = child.kill();
                    break;
                }
            };
            crate::cli::watch::emit(&event, format == Format::Json, Some(&remote.machine));
        }
    }
    let status = child.wait()?;
    let stderr = err_reader.join().unwrap_or_default();
    let code = status.code().unwrap_or(-1);
    let Some(version) = version else {
        fail(
            &remote.machine,
            &crate::remote::stream_failure(remote, code, &stderr),
        );
        return Ok(last_code());
    };
    let reply = Reply {
        version,
        document: Vec::new(),
        exit_code: code,
        stderr,
    };
    if let Some(why) = bad {
        unreadable(&remote.machine, &reply, &why);
        return Ok(last_code());
    }
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
    pass_notes(&remote.machine, &reply);
    Ok(passed_code(&reply))
}
