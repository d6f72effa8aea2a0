//! The commands themselves: each turns its parsed arguments into a core call and hands the typed
//! result to `output` (the core never prints).

use std::time::Duration;

use anyhow::Context as _;

use crate::catalog;
use crate::check;
use crate::end::NotEnded;
use crate::owners::{self, Query};
use crate::probe::ProbeConfig;
use crate::program::Program;
use crate::target::{self, InputError, Protocol, Target};

use super::{
    BindOptions, CheckArgs, Cli, Command, DocOutput, Format, Output, ScopedIp, SignalArg, exit,
    output, watch,
};

pub(crate) fn simple_target(text: &str, udp: bool) -> Result<Target, InputError> {
    let (host, port) = target::parse_host_port(text)?;
    Ok(if udp {
        Target::udp(host, port)
    } else {
        Target::tcp(host, port)
    })
}

/// The exit code for a check's verdict.
pub(crate) fn verdict_code(c: &check::Check) -> u8 {
    verdict_exit(c.report.verdict)
}

pub(crate) fn verdict_exit(v: crate::probe::Verdict) -> u8 {
    match v {
        crate::probe::Verdict::Bindable => exit::OK,
        crate::probe::Verdict::NotBindable => exit::NOT_BINDABLE,
        crate::probe::Verdict::Unknown => exit::UNKNOWN,
    }
}

/// A scan or `free` binds one address: refuse one this machine cannot bind, in one line.
/// The address to scan or search, once a bind on it worked. An address this machine does not
/// have is the user's input (exit 2); running out of descriptors is this process's own limit,
/// said as such (exit 1), never "cannot bind".
pub(crate) fn bindable_address(
    host: Option<std::net::IpAddr>,
    scope_id: u32,
) -> anyhow::Result<std::net::IpAddr> {
    let address = host.unwrap_or_else(crate::scan::default_address);
    match crate::scan::check_scoped_address(address, scope_id) {
        Ok(()) => Ok(address),
        Err(e) if crate::scan::is_out_of_descriptors(&e) => anyhow::bail!(
            "this process ran out of file descriptors ({}) before its first bind; nothing was tested, since that says nothing about the ports; {}, and try again",
            e,
            crate::wording::RAISE_FD_LIMIT
        ),
        Err(e) => Err(InputError::AddressNotBindable {
            address: address.to_string(),
            error: e.to_string(),
            hint: match address {
                std::net::IpAddr::V6(v6) if v6.is_unicast_link_local() && scope_id == 0 => {
                    "a link-local address needs its interface, e.g. fe80::1%eth0"
                }
                _ => "give one of its addresses",
            },
        }
        .into()),
    }
}

/// `facts --json`: the values, and beside them the table the text prints.
#[derive(serde::Serialize)]
pub(crate) struct FactsJson<'a> {
    #[serde(flatten)]
    pub(crate) facts: &'a crate::facts::Facts,
    pub(crate) table: Vec<crate::render::facts::FactRow>,
}

/// Runs `cmd` here; the commands it prints start with `program`.
pub(crate) fn execute(cmd: Command, program: &Program) -> anyhow::Result<u8> {
    match cmd {
        Command::Facts { output: out } => {
            let f = crate::facts::gather();
            let table = crate::render::facts::table(&f);
            match out.format() {
                // The values, and the table as `facts` prints it (what each means).
                Format::Json => output::json(&FactsJson { facts: &f, table }),
                Format::Ndjson => {
                    output::ndjson(table.iter(), "fact");
                    output::ndjson(f.interfaces.iter(), "interface");
                }
                _ => output::text(&output::facts_text(&f)),
            }
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "port-inspector",
                &mut buf,
            );
            output::text(&String::from_utf8_lossy(&buf));
            Ok(exit::OK)
        }
        Command::Man { dir } => man(dir.as_deref()),
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
            program,
        ),
        Command::Matrix {
            target,
            timeout,
            output: out,
        } => matrix(&target, timeout, out, program),
        Command::Listen {
            target,
            bind,
            duration,
            timeout,
        } => listen(&target, &bind, duration, timeout),
        Command::Scan {
            range,
            host,
            udp,
            both,
            output: out,
        } => scan(range, host, udp, both, out),
        Command::Free {
            count,
            range,
            host,
            udp,
        } => free(count, range, host, udp),
        Command::Check(args) => check(&args, program),
        Command::Watch(args) => watch::run(&args),
        Command::Record(args) => super::record::record(&args),
        Command::History(args) => super::record::history(&args, program),
        // main opens the window before the command line runs (see `window_start`).
        Command::Window { .. } => Ok(exit::USAGE),
        Command::List {
            tcp,
            udp,
            listening,
            all,
            port,
            process,
            output: out,
        } => list(
            protocol_of(udp, tcp),
            &ListFilter {
                listening,
                all,
                port,
                process,
            },
            out,
        ),
        Command::End {
            sel,
            dry_run,
            yes,
            signal,
            output: out,
            expect_pids,
        } => end(
            sel.port,
            protocol_of(sel.udp, sel.tcp),
            sel.host,
            EndMode { dry_run, yes },
            expect_pids.as_deref(),
            match signal {
                SignalArg::Term => crate::end::Signal::Term,
                SignalArg::Kill => crate::end::Signal::Kill,
            },
            out,
        ),
        Command::Explain { code, output: out } => explain(&code, out),
        Command::Errors { output: out } => {
            match out.format() {
                Format::Json => output::json(&catalog::all()),
                Format::Ndjson => output::ndjson(catalog::all().iter(), "error"),
                _ => output::text(&output::catalog_table()),
            }
            Ok(exit::OK)
        }
        Command::Who { sel, output: out } => Ok(who(&sel, out, program)),
    }
}

/// `explain CODE`: every meaning of the code, each with its OS; one entry's full text when the
/// code has one meaning.
pub(crate) fn explain(code: &str, out: DocOutput) -> anyhow::Result<u8> {
    let format = out.format();
    let meanings = catalog::meanings(code);
    if meanings.is_empty() {
        return Err(InputError::UnknownErrorCode(
            crate::text::clean(&code.chars().take(40).collect::<String>()).into_owned(),
        )
        .into());
    }
    let mut entries: Vec<&catalog::CatalogEntry> = Vec::new();
    for m in &meanings {
        if !entries.iter().any(|e| e.wsa_code == m.entry.wsa_code) {
            entries.push(m.entry);
        }
    }
    if format == Format::Json {
        if entries.len() == 1 {
            output::json(entries[0]);
        } else {
            output::json(&serde_json::json!({ "ambiguous": true, "meanings": meanings }));
        }
        return Ok(exit::OK);
    }
    let mut text = String::new();
    let is_number = code.trim().parse::<i64>().is_ok();
    if is_number || entries.len() > 1 {
        text.push_str(&output::meanings_text(code.trim(), &meanings));
        text.push('\n');
    }
    for e in entries {
        text.push_str(&output::entry_text(e));
    }
    output::text(&text);
    Ok(exit::OK)
}

pub(crate) fn scan(
    (start, end): (u16, u16),
    host: Option<ScopedIp>,
    udp: bool,
    both: bool,
    out: Output,
) -> anyhow::Result<u8> {
    let format = out.format();
    let scope_id = host.map_or(0, |h| h.scope_id);
    let address = bindable_address(host.map(|h| h.ip), scope_id)?;
    let protocols = if both {
        vec![Protocol::Tcp, Protocol::Udp]
    } else if udp {
        vec![Protocol::Udp]
    } else {
        vec![Protocol::Tcp]
    };
    if protocols.contains(&Protocol::Tcp) {
        target::check_unicast(address, Protocol::Tcp)?;
    }
    let req = crate::scan::ScanRequest {
        address,
        start,
        end,
        protocols,
        options: crate::SocketOptions::default(),
    };
    let report = crate::scan::scan_reading_facts(
        &req,
        scope_id,
        &crate::probe::CancelToken::new(),
        &mut |_| {},
    );
    if let Some(e) = &report.stopped_by {
        anyhow::bail!(
            "the scan stopped after {} of {} ports: this process ran out of file descriptors ({}); no port was reported, since that says nothing about the ports; {}, and scan again",
            report.scanned,
            report.request.total(),
            e,
            crate::wording::RAISE_FD_LIMIT
        );
    }
    match format {
        Format::Json => output::json(&report),
        Format::Ndjson => {
            output::ndjson(report.busy.iter(), "busy");
            output::ndjson(report.free.iter(), "free");
        }
        _ => output::lines(&output::scan_lines(&report)),
    }
    Ok(exit::OK)
}

pub(crate) fn free(
    count: usize,
    (start, end): (u16, u16),
    host: Option<std::net::IpAddr>,
    udp: bool,
) -> anyhow::Result<u8> {
    // Without --host a port is free when `check PORT` would say so: all interfaces,
    // both families.
    let addresses = match host {
        Some(h) => vec![bindable_address(Some(h), 0)?],
        None => crate::scan::all_interfaces(),
    };
    let protocol = if udp { Protocol::Udp } else { Protocol::Tcp };
    let facts = crate::facts::gather();
    let ports =
        crate::scan::free_ports(&addresses, protocol, start, end, count, &facts).map_err(|e| {
            anyhow::anyhow!(
                "stopped: this process ran out of file descriptors ({}); {}, and try again",
                e,
                crate::wording::RAISE_FD_LIMIT
            )
        })?;
    let text: String = ports.iter().map(|p| p.to_string() + "\n").collect();
    output::text(&text);
    if ports.len() == count {
        return Ok(exit::OK);
    }
    output::warn(&crate::render::scan::free_shortfall(
        ports.len(),
        count,
        (start, end),
        protocol,
        &addresses,
    ));
    Ok(exit::NOT_BINDABLE)
}

pub(crate) fn who(sel: &super::PortArgs, out: Output, program: &Program) -> u8 {
    let (port, protocol, host) = (sel.port, protocol_of(sel.udp, sel.tcp), sel.host);
    let format = out.format();
    let mut found = owners::of(Query { port, protocol });
    if let Some(ip) = host {
        // The sockets that a bind of ADDR would meet: ADDR itself, its wildcard, a
        // dual-stack [::] for IPv4, and for a wildcard ADDR every address it covers.
        found.owners.retain(|o| {
            owners::covers(o.local.ip(), o.v6_only, ip)
                || (ip.is_unspecified() && owners::covers(ip, Some(false), o.local.ip()))
        });
    }
    match format {
        Format::Json => output::json(&found),
        Format::Ndjson => output::ndjson(found.owners.iter(), "owner"),
        _ => output::text(&output::owners_text(port, host, protocol, &found, program)),
    }
    // Nothing found by a lookup that could not look everywhere proves nothing: unknown.
    match (found.owners.is_empty(), found.complete()) {
        (true, false) => exit::UNKNOWN,
        (true, true) => exit::NOT_BINDABLE,
        (false, _) => exit::OK,
    }
}

pub(crate) fn report(
    target: &str,
    bind: &BindOptions,
    timeout: Duration,
    format: Format,
    file: Option<&std::path::Path>,
    force: bool,
    program: &Program,
) -> anyhow::Result<u8> {
    let t = bind.target(target)?;
    let c = check::run(
        &t,
        &ProbeConfig {
            timeout,
            program: program.clone(),
            ..ProbeConfig::default()
        },
    );
    let json = matches!(format, Format::Json | Format::Ndjson);
    let text = match format {
        Format::Json | Format::Ndjson => crate::text::json(&c, true).unwrap_or_default() + "\n",
        Format::Text => crate::render::report::text_full(&c),
        Format::Md => crate::render::report::markdown(&c),
    };
    deliver_report(file, &text, json, force)?;
    Ok(verdict_code(&c))
}

/// Writes a report where `report -o` says: the file named (replaced only with `--force`), the
/// standard error, or the standard output (a JSON document as data, never coloured).
pub(crate) fn deliver_report(
    file: Option<&std::path::Path>,
    text: &str,
    json: bool,
    force: bool,
) -> anyhow::Result<()> {
    let dest = file.map_or(crate::files::Destination::Stdout, |p| {
        crate::files::Destination::parse(p.as_os_str())
    });
    match dest {
        crate::files::Destination::File(path) => {
            crate::files::write(&path, text.as_bytes(), force).with_context(|| {
                format!(
                    "cannot write {}",
                    crate::text::clean(&path.to_string_lossy())
                )
            })?;
        }
        crate::files::Destination::Stderr => output::document_to_stderr(text),
        crate::files::Destination::Stdout if json => output::data(text),
        crate::files::Destination::Stdout => output::text(text),
    }
    Ok(())
}

/// `matrix`: the what-if table; exit 0 only when every cell binds.
pub(crate) fn matrix(
    target: &str,
    timeout: Duration,
    out: DocOutput,
    program: &Program,
) -> anyhow::Result<u8> {
    let format = out.format();
    let t = simple_target(target, false)?;
    let m = crate::support::matrix(
        &t,
        &ProbeConfig {
            timeout,
            program: program.clone(),
            ..ProbeConfig::default()
        },
    );
    if format == Format::Json {
        output::json(&m);
    } else {
        output::text(&output::matrix_text(&m));
    }
    // A cell that could not be tried (the name did not resolve in time) is unknown, not
    // blocked: the matrix is unknown unless some cell was refused for real.
    let any = |v| m.cells.iter().any(|c| c.verdict == v);
    Ok(if any(crate::probe::Verdict::NotBindable) {
        exit::NOT_BINDABLE
    } else if any(crate::probe::Verdict::Unknown) {
        exit::UNKNOWN
    } else {
        exit::OK
    })
}

/// Which sockets `list` shows.
pub(crate) struct ListFilter {
    listening: bool,
    all: bool,
    port: Option<u16>,
    process: Option<String>,
}

/// `list`: the whole table, filtered.
pub(crate) fn list(protocol: Option<Protocol>, f: &ListFilter, out: Output) -> anyhow::Result<u8> {
    let format = out.format();
    let needle = f.process.as_deref().map(str::to_lowercase);
    let scope = if f.listening {
        owners::Scope::Listening
    } else if f.all {
        owners::Scope::Everything
    } else {
        owners::Scope::Bound
    };
    let mut found = match f.port {
        Some(port) => owners::of(Query { port, protocol }),
        None => owners::table(protocol, scope),
    };
    found.owners.retain(|o| {
        scope.admits(o.state)
            && needle.as_ref().is_none_or(|n| {
                o.process
                    .as_deref()
                    .is_some_and(|p| p.to_lowercase().contains(n))
            })
    });
    found.owners.sort_by_cached_key(|o| {
        (
            o.protocol == Protocol::Udp,
            o.local.port(),
            o.local.ip(),
            o.state,
        )
    });
    match format {
        // The whole table can be tens of thousands of rows: one compact document.
        Format::Json | Format::Ndjson => {
            let sharers = owners::sharers(&found.owners);
            let arrays = owners::Rows::new(&found.owners, &sharers)?;
            if format == Format::Json {
                // Each row made where it is written, on every core.
                output::json_rows(&found.owners, |o, buf| {
                    crate::text::json_to_writer(buf, &arrays.row(o, &sharers), false)
                });
            } else {
                let rows = arrays.socket_rows(&found.owners, &sharers);
                output::ndjson(rows.iter(), "socket");
            }
        }
        _ if found.owners.is_empty() && !found.complete() => output::text(
            "Unknown: no socket was found, but the socket table could not be read in full (see the note).\n",
        ),
        _ => output::text(&crate::render::socket_table(&found.owners)),
    }
    // A table the kernel refused is said on standard error (the JSON stays the rows); one not
    // read at all, or a lookup short of descriptors, makes the list unknown, never "nothing".
    if !found.refused.is_empty() {
        output::warn(&crate::wording::tables_refused_text(&found.refused));
    }
    if found.out_of_descriptors {
        output::warn(&format!(
            "Port Inspector ran out of file descriptors while looking: sockets or processes may be missing; {}.",
            crate::wording::RAISE_FD_LIMIT
        ));
    }
    Ok(if found.complete() {
        exit::OK
    } else {
        exit::UNKNOWN
    })
}

/// `--udp` / `--tcp` / neither.
pub(crate) fn protocol_of(udp: bool, tcp: bool) -> Option<Protocol> {
    if udp {
        Some(Protocol::Udp)
    } else if tcp {
        Some(Protocol::Tcp)
    } else {
        None
    }
}

/// How `end` may act.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EndMode {
    dry_run: bool,
    yes: bool,
}

/// `end PORT`: plan, refuse or confirm, act, prove.
pub(crate) fn end(
    port: u16,
    protocol: Option<Protocol>,
    host: Option<std::net::IpAddr>,
    mode: EndMode,
    expect_pids: Option<&str>,
    signal: crate::end::Signal,
    out: DocOutput,
) -> anyhow::Result<u8> {
    let format = out.format();
    let plan = crate::end::plan(port, protocol, host);
    if let Some(expected) = expect_pids {
        expect_same_pids(&plan, expected)?;
    }
    let json = format == Format::Json;
    if !json {
        output::text(&crate::render::end_plan(&plan));
    }
    let to_end = plan.to_end().count();
    // JSON shows the plan whenever nothing is carried out (a dry run, a refusal).
    let refused = to_end == 0 && !plan.targets.is_empty();
    // No holder found by a lookup that could not look everywhere: unknown, never "none".
    let unknown = plan.targets.is_empty() && !plan.complete();
    if json && (mode.dry_run || refused || unknown || (to_end > 0 && !mode.yes)) {
        output::json(&plan);
    }
    if mode.dry_run {
        return Ok(if unknown { exit::UNKNOWN } else { exit::OK });
    }
    if unknown {
        return Ok(exit::UNKNOWN);
    }
    if to_end == 0 && !plan.targets.is_empty() {
        return Err(NotEnded::NoneMayBe {
            place: "here".into(),
        }
        .into());
    }
    if to_end > 0 && !mode.yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(NotEnded::NoTerminal.into());
        }
        if !output::confirm(&format!(
            "End {}? [y/N] ",
            crate::wording::count(to_end, "process", "processes")
        )) {
            return Err(NotEnded::NotConfirmed.into());
        }
    }
    let report = crate::end::execute(&plan, signal, Duration::from_secs(5));
    if json {
        output::json(&report);
    } else {
        output::text(&crate::render::end_report(&report));
    }
    Ok(if report.after == crate::end::After::Free {
        exit::OK
    } else {
        exit::NOT_BINDABLE
    })
}

/// `end --expect-pids` (sent by `end --on` once the user confirmed on another machine): the
/// processes to end now must be exactly those confirmed, or nothing is ended.
pub(crate) fn expect_same_pids(plan: &crate::end::EndPlan, expected: &str) -> anyhow::Result<()> {
    let mut want: Vec<u32> = if expected.trim() == "none" {
        Vec::new()
    } else {
        expected
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| InputError::BadExpectedPids)?
    };
    let mut now: Vec<u32> = plan.to_end().map(|t| t.pid).collect();
    want.sort_unstable();
    now.sort_unstable();
    if want == now {
        return Ok(());
    }
    Err(NotEnded::Changed {
        port: plan.port,
        confirmed: want,
        now,
    }
    .into())
}

pub(crate) fn check(args: &CheckArgs, program: &Program) -> anyhow::Result<u8> {
    let format = args.output.format();
    let (target, timeout) = args.to_target()?;
    if output::quiet() && !args.wait && format == Format::Text {
        // Only the exit code is read, and the probe's verdict alone decides it: no owners, no
        // facts, no NAT rules (a script asking "can I bind?" in a loop pays for the bind only).
        // Only "in use" is looked into: the socket in the way may have been another check's
        // probe, gone already (the full check binds again then).
        let cfg = ProbeConfig {
            timeout,
            program: program.clone(),
            ..ProbeConfig::default()
        };
        let r = crate::probe::run(&target, &cfg);
        if r.error.as_ref().map(|e| e.wsa_code) == Some(crate::oserror::wsa::EADDRINUSE) {
            let c = check::complete(r, crate::facts::gather(), &cfg);
            return Ok(verdict_exit(c.report.verdict));
        }
        return Ok(verdict_exit(r.verdict));
    }
    let c = if args.wait {
        let cfg = ProbeConfig {
            timeout: timeout.min(Duration::from_secs(10)),
            program: program.clone(),
            ..ProbeConfig::default()
        };
        let quiet = format == Format::Json;
        let started = std::time::Instant::now();
        crate::support::wait_until_free(&target, &cfg, args.interval, timeout, &mut |c| {
            if !quiet {
                output::text(&output::wait_line(c, started.elapsed()));
            }
        })
    } else {
        let cfg = ProbeConfig {
            timeout,
            program: program.clone(),
            ..ProbeConfig::default()
        };
        check::run(&target, &cfg)
    };
    if format == Format::Json {
        output::json(&c);
    } else {
        output::lines(&crate::render::report::text_lines(&c));
    }
    Ok(verdict_code(&c))
}

pub(crate) fn listen(
    target: &str,
    bind: &BindOptions,
    d: Duration,
    timeout: Option<Duration>,
) -> anyhow::Result<u8> {
    if bind.no_listen {
        return Err(InputError::NoListenForListen.into());
    }
    let t = &bind.target(target)?;
    let r = crate::support::hold(
        t,
        d,
        &ProbeConfig {
            timeout: timeout.unwrap_or(Duration::from_secs(10)),
            ..ProbeConfig::default()
        },
        &mut |bound| {
            output::text(&format!(
                "{}\n",
                crate::render::hold::listening(t.protocol, bound, d.as_secs_f64())
            ));
        },
        &mut |ev| output::text(&output::listen_line(ev)),
    );
    match r {
        Ok(s) => {
            output::text(&format!("{}\n", crate::render::hold_released(&s)));
            Ok(exit::OK)
        }
        // Exit as `check` does for what its check proved (1 not bindable, 3 unknown).
        Err(e) => {
            output::error_line(&crate::render::hold::refused(Some(t), &e));
            Ok(e.explained().map_or(exit::NOT_BINDABLE, verdict_code))
        }
    }
}

/// The manual: the main page on stdout, or one page per subcommand written into `dir`, so that
/// `man port-inspector-check` finds the page the main page refers to.
pub(crate) fn man(dir: Option<&std::path::Path>) -> anyhow::Result<u8> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let Some(dir) = dir else {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut buf)?;
        output::text(&String::from_utf8_lossy(&buf));
        return Ok(exit::OK);
    };
    let write = |name: &str, page: clap::Command| -> anyhow::Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))
    };
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("port-inspector-{}", sub.get_name());
        write(
            &name,
            sub.clone()
                .name(name.clone())
                .version(env!("CARGO_PKG_VERSION")),
        )?;
    }
    write("port-inspector", cmd)?;
    Ok(exit::OK)
}
