//! One complete check: the probe, then every piece of evidence gathered in one place (the owners
//! of the port, the machine's facts, the retries that prove a cause), then the diagnosis as data
//! and its wording: the single value that the CLI, the JSON, the report and the window render.

use serde::{Deserialize, Serialize};

use crate::diagnose::{self, Conflict, Diagnosis, Evidence, Finding};
use crate::facts::{self, Facts};
use crate::oserror::wsa;
use crate::owners::{self, Owner, Query, SockState};
use crate::probe::{self, ProbeConfig, ProbeReport, Verdict};
use crate::wording::{self, Explanation, Worded};

/// Everything known about one bind attempt; its JSON is the `check --json` contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The probe itself: target, resolve, attempts, verdict, error.
    #[serde(flatten)]
    pub report: ProbeReport,
    /// The diagnosis of a failure: proven findings and their fixes, typed and worded.
    pub explanation: Option<Explanation>,
    /// Sockets that use the port with the same protocol (who is in the way).
    pub owners: Vec<Owner>,
    /// Sockets on the port whose process we may not see.
    pub hidden_owners: usize,
    /// Whether a retry with SO_REUSEADDR bound the port (tried when only connection leftovers or
    /// TIME_WAIT sockets hold it).
    pub reuse_retry_ok: Option<bool>,
    /// Whether a retry with SO_REUSEPORT bound the port (tried when a SO_REUSEPORT group holds it).
    #[serde(default)]
    pub reuseport_retry_ok: Option<bool>,
    /// Cautions (a bind that worked but may not keep working) and NAT redirects, typed and worded.
    #[serde(default)]
    pub notes: Vec<Worded<Finding>>,
    /// The notes' sentences alone (kept for scripts that read them).
    pub warnings: Vec<String>,
    /// NAT rules that send connections to the addresses tried elsewhere (Linux, as root): only
    /// those whose family and hook catch some (each one's `reach` is in its note).
    pub nat: Vec<crate::nat::NatRedirect>,
    /// Why NAT rules were not read, when they were not, in words.
    pub nat_note: Option<String>,
    /// Why NAT rules were not read, when they were not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_error: Option<crate::nat::NatError>,
    /// The facts the diagnosis used.
    pub facts: Facts,
    /// The build that made this check (version, commit, build date), so a report names it.
    #[serde(default)]
    pub tool: crate::build_info::Tool,
    /// What the flight recorder's database knows about the port (who holds it since when, how
    /// often it changed hands, the last refused bind); absent when there is no readable
    /// database or it has nothing on the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<crate::record::Recorded>,
    /// The machine that answered, when another one did (`--on`, the window's machine picker):
    /// `[user@]host[:port]` as it was asked. Absent for this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// When the check was answered, milliseconds since 1970 (UTC), by the clock of the machine
    /// that ran it: the report's "Checked at" row. Absent in an answer from an older version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at_unix_ms: Option<u64>,
}

impl Check {
    /// Whether every address could be bound.
    #[must_use]
    pub fn bindable(&self) -> bool {
        self.report.verdict == Verdict::Bindable
    }
}

/// Runs a check end to end. Blocks for at most the probe's timeout plus a few milliseconds.
#[must_use]
pub fn run(target: &crate::Target, cfg: &ProbeConfig) -> Check {
    let report = probe::run(target, cfg);
    let facts = facts::gather();
    complete(report, facts, cfg)
}

/// One check of a loop that checks again anyway (`check --wait`, the kit's wait until free):
/// when what refused the bind has passed, one round of binds again, not rounds for
/// `PASSED_RETRY_FOR` — the loop's next check is the next round, and a wait that spent 1.5 s
/// in each check noticed a freed port up to 2.3 s late under Wine.
#[must_use]
pub fn run_polling(target: &crate::Target, cfg: &ProbeConfig) -> Check {
    let report = probe::run(target, cfg);
    let facts = facts::gather();
    complete_within(report, facts, cfg, std::time::Duration::ZERO)
}

/// Gathers the evidence for a finished probe, diagnoses it and words the result.
#[must_use]
pub fn complete(report: ProbeReport, facts: Facts, cfg: &ProbeConfig) -> Check {
    complete_within(report, facts, cfg, PASSED_RETRY_FOR)
}

/// `complete`, binding again round after round for at most `retry_for` while what refused the
/// bind keeps passing (at least one round).
fn complete_within(
    mut report: ProbeReport,
    facts: Facts,
    cfg: &ProbeConfig,
    retry_for: std::time::Duration,
) -> Check {
    let mut evidence = gather(&report, &facts, cfg);
    // A socket that refused the bind and is gone (or is another Port Inspector's probe, there
    // for microseconds) is no conflict: bind again before answering, a few times at most.
    // Only the binds are repeated; the evidence is gathered again once, for the last answer.
    // Many checks of one port at once (a script's loop, a test suite under load) keep refusing
    // each other for longer than one round of binds: while what refused the bind keeps passing,
    // another round follows, for up to `PASSED_RETRY_FOR`. The same socket found again a round
    // later is a lasting holder (a `listen` of this program), not a probe: answered at once.
    // Each bind again waits for its turn (`platform::bind_turn`): the checks that collided bind
    // again one at a time, so they cannot collide with each other again, only with a first
    // bind of a check that has just started — each collision proven to have passed.
    if blocker_passed(&report, &evidence) {
        let deadline = std::time::Instant::now() + retry_for;
        loop {
            let before: Vec<u64> = evidence
                .owners
                .iter()
                .map(|o| o.inode)
                .filter(|&i| i != 0)
                .collect();
            for backoff_ms in REBIND_BACKOFF_MS {
                if cfg.cancel.is_cancelled() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(backoff_ms));
                let turn = crate::platform::bind_turn(
                    report.target.protocol,
                    report.target.port,
                    deadline,
                    &cfg.cancel,
                );
                report = probe::run(&report.target, cfg);
                drop(turn);
                if !in_use(&report) {
                    break;
                }
            }
            evidence = gather(&report, &facts, cfg);
            // Found again and still there: a probe descheduled for a whole round under load
            // is found again too, but gone when looked for once more (short-lived).
            let lasting = evidence.owners.iter().any(|o| {
                before.contains(&o.inode) && o.note != Some(owners::OwnerNote::ShortLived)
            });
            if lasting
                || !blocker_passed(&report, &evidence)
                || cfg.cancel.is_cancelled()
                || std::time::Instant::now() >= deadline
            {
                break;
            }
        }
    }
    let diagnosis = diagnose::diagnose(&report, &facts, &evidence);
    let (mut nat, nat_error) = nat_rules(&report, &facts);
    let (locals, dual_stack) = bound_locals(&report, &facts);
    let host: Vec<std::net::IpAddr> = facts.interfaces.iter().map(|i| i.address).collect();
    // Only the rules that catch connections to the addresses tried, for what their family and
    // hook really catch (a prerouting rule never sees this host's connections to loopback).
    let mut nat_notes = Vec::new();
    nat.retain(|r| match r.reach(&locals, dual_stack, &host) {
        Some(reach) => {
            nat_notes.push(Finding::NatRedirect {
                redirect: Box::new(r.clone()),
                reach,
            });
            true
        }
        None => false,
    });
    if let Some(why) = &nat_error {
        nat_notes.push(Finding::NatUnread { why: why.clone() });
    }
    let mut check = finish(report, facts, evidence, &diagnosis, nat_notes, &cfg.program);
    check.nat = nat;
    check.nat_note = nat_error.as_ref().map(wording::nat_unread);
    check.nat_error = nat_error;
    check.recorded = recall(check.report.target.port, &cfg.program);
    check
}

/// What the recorder's database (the default one, or `PORT_INSPECTOR_DB`) knows about `port`
/// now, this process's own probes left out. Silent (`None`) when there is no database, it
/// cannot be read (root's, and this is not root), or it has nothing on the port: a check never
/// waits on the recorder or fails for it. The lines' `history` command starts with `program`.
fn recall(port: u16, program: &crate::program::Program) -> Option<crate::record::Recorded> {
    use crate::record::{history, now_ms, store, words};
    let path = store::default_path()?;
    let value = history::recollect(&path, port, now_ms(), std::process::id())?;
    let lines = words::recollection_lines(&value, program, &path);
    Some(crate::record::Recorded { value, lines })
}

/// How long a check keeps binding again, round after round, while every socket that refused it
/// has passed (gone, or another Port Inspector's probe): 400 checks of one port, 100 at once on a
/// loaded machine (load 32 on 2 cores), outlasted one round of `REBIND_BACKOFF_MS` (about 120 ms)
/// and answered "in use" by nothing found; so did 1.5 s of rounds at load 30-60. Since checks
/// take turns binding again (`platform::bind_turn`), every round that fails met a new,
/// passing collision, and a lasting holder still ends the rounds at once: the bound is for a
/// port that keeps being taken and let go by something out of view.
const PASSED_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// How long to wait before each new bind when the socket that refused the last one has passed
/// (milliseconds): a few tries, spread so that many checks of one port at once stop colliding.
const REBIND_BACKOFF_MS: [u64; 7] = [0, 1, 3, 7, 15, 31, 63];

/// Whether `report` failed with "address in use" and nothing that holds the port now explains
/// it (`owners::passed`): no other user's hidden socket, and every socket found gone or
/// another Port Inspector's probe.
fn blocker_passed(report: &ProbeReport, evidence: &Evidence) -> bool {
    in_use(report) && evidence.hidden == 0 && owners::passed(&evidence.owners)
}

/// Whether `report` failed with "address in use".
fn in_use(report: &ProbeReport) -> bool {
    report.error.as_ref().map(|e| e.wsa_code) == Some(wsa::EADDRINUSE)
}

/// The check of a finished probe from evidence already gathered: the same diagnosis and
/// wording `complete` applies after gathering, with no socket, process or NAT rule looked at.
/// The renderers' tests build their fixture checks this way, so they see what a real check
/// carries (its commands name the installed `port-inspector`).
#[must_use]
pub fn assemble(report: ProbeReport, facts: Facts, evidence: Evidence) -> Check {
    let diagnosis = diagnose::diagnose(&report, &facts, &evidence);
    let program = crate::program::Program::default();
    finish(report, facts, evidence, &diagnosis, Vec::new(), &program)
}

/// The check's value from its evidence and diagnosis. `nat_notes` (the NAT redirects that
/// catch something, or that the rules were not read) are notes beside any verdict, never a
/// cause of a failure: they stay out of the explanation. Its commands start with `program`.
fn finish(
    report: ProbeReport,
    facts: Facts,
    evidence: Evidence,
    diagnosis: &Diagnosis,
    nat_notes: Vec<Finding>,
    program: &crate::program::Program,
) -> Check {
    let explanation = wording::explain(&report, diagnosis, program);
    let mut notes = wording::notes(&report, diagnosis);
    notes.extend(nat_notes.into_iter().map(|f| Worded {
        text: wording::finding(&f, &report.target),
        value: f,
    }));
    Check {
        warnings: notes.iter().map(|n| n.text.clone()).collect(),
        notes,
        nat: Vec::new(),
        nat_note: None,
        nat_error: None,
        explanation,
        owners: evidence.owners,
        hidden_owners: evidence.hidden,
        reuse_retry_ok: evidence.reuse_retry,
        reuseport_retry_ok: evidence.reuseport_retry,
        report,
        facts,
        tool: crate::build_info::Tool::this(),
        recorded: None,
        machine: None,
        checked_at_unix_ms: Some(crate::record::now_ms()),
    }
}

/// Every piece of evidence the diagnosis needs, gathered once: the sockets on the port and the
/// retries that prove a cause (SO_REUSEADDR past leftovers, SO_REUSEPORT into a group), and a
/// free port nearby to offer instead.
#[must_use]
pub fn gather(report: &ProbeReport, facts: &Facts, cfg: &ProbeConfig) -> Evidence {
    let target = &report.target;
    let mut ev = Evidence {
        fin_timeout_secs: facts.tcp_fin_timeout,
        ..Evidence::default()
    };
    if !report.resolve.ok || target.port == 0 {
        return ev;
    }
    let found = owners::of(Query {
        port: target.port,
        protocol: Some(target.protocol),
    });
    ev.hidden = found.hidden;
    ev.lookup_out_of_descriptors = found.out_of_descriptors;
    ev.lookup_refused.clone_from(&found.refused);
    ev.owners = found.owners;
    ev.owners.retain(|o| o.protocol == target.protocol);
    let Some(code) = report.error.as_ref().map(|e| e.wsa_code) else {
        return ev;
    };
    if !matches!(code, wsa::EADDRINUSE | wsa::EACCES) {
        return ev;
    }
    let ip = report.failed_address.map(|a| a.ip());
    let (conflict, blockers) =
        diagnose::classify_conflict(target, ip, &ev.owners, facts.os, facts.bindv6only);
    // Prove, don't promise: retry the same bind with the option that would help.
    if code == wsa::EADDRINUSE
        && matches!(conflict, Conflict::TimeWaitOnly | Conflict::Leftovers)
        && !target.options.reuse_address
    {
        let mut retry = target.clone();
        retry.options.reuse_address = true;
        ev.reuse_retry = Some(probe::run(&retry, cfg).verdict == Verdict::Bindable);
    }
    let listeners: Vec<&Owner> = blockers
        .iter()
        .filter(|o| o.state == SockState::Listen)
        .collect();
    // One listener: ask the socket itself whether it set SO_REUSEPORT (sock_diag cannot say).
    let single_reuseport = listeners.len() == 1 && {
        let flag = owners::reuse_port_of(listeners[0]);
        if let Some(o) = ev.owners.iter_mut().find(|o| o.inode == listeners[0].inode) {
            o.reuse_port = flag;
        }
        flag == Some(true)
    };
    let group = diagnose::share_one_address(&listeners);
    if facts.os.has_reuse_port()
        && code == wsa::EADDRINUSE
        && (group || single_reuseport)
        && !target.options.reuse_port
    {
        let mut retry = target.clone();
        retry.options.reuse_port = true;
        ev.reuseport_retry = Some(probe::run(&retry, cfg).verdict == Verdict::Bindable);
    }
    ev.free_port = free_port_near(target, facts, cfg);
    ev
}

/// The nearest port above `target.port` (within 100) that the same bind takes right now, skipping
/// privileged, reserved and ephemeral ports.
fn free_port_near(target: &crate::Target, facts: &Facts, cfg: &ProbeConfig) -> Option<u16> {
    let start = target
        .port
        .max(facts.unprivileged_port_start.unwrap_or(1024));
    (start.saturating_add(1)..=start.saturating_add(100))
        .filter(|p| {
            !facts.is_ephemeral(*p) && !facts.reserved_ranges.iter().any(|r| r.contains(*p))
        })
        .find(|p| {
            let mut t = target.clone();
            t.port = *p;
            probe::run(&t, cfg).verdict == Verdict::Bindable
        })
}

/// NAT rules for the port (Linux, as root), or why they were not read.
fn nat_rules(
    report: &ProbeReport,
    facts: &Facts,
) -> (Vec<crate::nat::NatRedirect>, Option<crate::nat::NatError>) {
    let target = &report.target;
    if !report.resolve.ok || target.port == 0 || facts.os != crate::platform::Os::Linux {
        (Vec::new(), None)
    } else if !facts.elevated {
        (Vec::new(), Some(crate::nat::NatError::NotRoot))
    } else {
        match crate::nat::redirects(target.port, target.protocol) {
            Ok(v) => (v, None),
            Err(e) => (Vec::new(), Some(e)),
        }
    }
}

/// The addresses the check tried (bound or not: a NAT rule is about the port at that address),
/// and whether a `[::]` among them receives IPv4 too (its IPV6_V6ONLY, asked or the system's
/// default).
fn bound_locals(report: &ProbeReport, facts: &Facts) -> (Vec<std::net::IpAddr>, bool) {
    let locals = report
        .attempts
        .iter()
        .filter_map(|a| a.address.map(|a| a.ip()))
        .collect();
    let v6_only = report
        .target
        .options
        .v6_only
        .or(facts.bindv6only)
        .unwrap_or(false);
    (locals, !v6_only)
}
