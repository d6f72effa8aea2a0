//! `end`'s words: the plan shown before anything is done, and what was done and proven after.

use std::fmt::Write as _;

use crate::owners::{Owner, SockState};
use crate::text::clean;
use crate::wording::{RAISE_FD_LIMIT, devices_list, holders_phrase, plural, tables_refused_text};

/// `end`'s line for a socket the kernel holds for a device: nothing to end, what frees it
/// (when the kernel holds all there is, this line is `end`'s whole answer).
fn kernel_end_line(k: &Owner) -> String {
    let Some(h) = k.kernel.as_deref() else {
        return format!("{} {} is held by the kernel.", k.protocol, k.address());
    };
    format!(
        "The kernel holds {} {} for {} device{} {}: there is no process to end; delete or reconfigure the device{} ({}), or use another port.",
        k.protocol,
        k.local.port(),
        h.kind.name(),
        plural(h.devices.len()),
        devices_list(&h.devices),
        plural(h.devices.len()),
        h.devices
            .iter()
            .map(|d| format!("ip link del {}", clean(d)))
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// What `end` will do, before it does anything: each process with its sockets, what will
/// restart it, and why some are refused.
#[must_use]
pub fn end_plan(plan: &crate::end::EndPlan) -> String {
    end_plan_words(plan).text()
}

/// `end`'s plan as a heading and indented lines: the CLI prints them as text, the window lays
/// them out, and neither takes the other's text apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanWords {
    /// What the plan is about (`Processes holding port 80 …`, `No process holds …`); absent
    /// when the kernel's lines say it all.
    pub heading: Option<String>,
    /// Each line under it with its indent in spaces (2 for a process, 7 for its details, 0 for
    /// a device the kernel holds the port for).
    pub lines: Vec<(usize, String)>,
}

impl PlanWords {
    /// The plan as `end --dry-run` prints it.
    #[must_use]
    pub fn text(&self) -> String {
        let mut o = String::new();
        if let Some(h) = &self.heading {
            let _ = writeln!(o, "{h}");
        }
        for (indent, line) in &self.lines {
            let _ = writeln!(o, "{:indent$}{line}", "");
        }
        o
    }
}

/// `PID 7`, `PIDs 7, 8 and 9`.
fn pid_list(pids: &[u32]) -> String {
    let words: Vec<String> = pids.iter().map(ToString::to_string).collect();
    match words.as_slice() {
        [one] => format!("PID {one}"),
        [rest @ .., last] => format!("PIDs {} and {last}", rest.join(", ")),
        [] => String::new(),
    }
}

/// The plan's first line: who it ends on `what` (the protocol) `at` (the address), or why it
/// ends nobody.
fn plan_heading(plan: &crate::end::EndPlan, what: &str, at: &str) -> Option<String> {
    if plan.targets.is_empty() && !plan.left.is_empty() {
        // Only some holders were asked for, and none of them holds the port now.
        Some(format!(
            "The process asked for no longer holds port {} ({what}) on {at}; {} still {} (not asked for).",
            plan.port,
            pid_list(&plan.left),
            if plan.left.len() == 1 { "does" } else { "do" }
        ))
    } else if plan.targets.is_empty() && !plan.complete() {
        Some(format!(
            "Unknown: no process was found holding port {} ({what}) on {at}, but the lookup could not look everywhere, so one may.",
            plan.port
        ))
    } else if plan.targets.is_empty() && plan.unowned > 0 {
        // Held, but by no process this user may end or see (another user's, TIME_WAIT, another
        // namespace's): never "no process holds it".
        Some(format!(
            "Port {} ({what}) on {at} is held by {} socket{} with no process that may be ended from here (TIME_WAIT, another user's, or another namespace's): run as {} to see and end its holder.",
            plan.port,
            plan.unowned,
            plural(plan.unowned),
            crate::platform::Os::current().admin_account()
        ))
    } else if plan.targets.is_empty() && plan.kernel.is_empty() {
        Some(format!(
            "No process holds port {} ({what}) on {at}.",
            plan.port
        ))
    } else if !plan.targets.is_empty() {
        // One subject, one number: "The process holding" for one PID, "Processes" for more.
        let pids: std::collections::BTreeSet<u32> = plan.targets.iter().map(|t| t.pid).collect();
        Some(format!(
            "{} port {} ({what}) on {at}:",
            if pids.len() == 1 {
                "The process holding"
            } else {
                "Processes holding"
            },
            plan.port
        ))
    } else {
        None
    }
}

/// What `end` will do, as [`PlanWords`].
#[must_use]
pub fn end_plan_words(plan: &crate::end::EndPlan) -> PlanWords {
    const PROCESS: usize = 2;
    const DETAIL: usize = 7;
    let what = plan
        .protocol
        .map_or_else(|| "TCP and UDP".to_owned(), |p| p.to_string());
    let at = plan
        .host
        .map_or_else(|| "every address".to_owned(), |h| h.to_string());
    let heading = plan_heading(plan, &what, &at);
    let mut lines: Vec<(usize, String)> = Vec::new();
    for t in &plan.targets {
        let name = t
            .process
            .as_deref()
            .map_or_else(|| "(name unreadable)".to_owned(), |n| clean(n).into_owned());
        let (own, others) = t.addresses(plan.protocol);
        let sockets: Vec<String> = t
            .sockets
            .iter()
            .zip(&own)
            .map(|((_, s, _), a)| format!("{a} {s}"))
            .collect();
        let verb = if t.refused.is_some() { "kept" } else { "end" };
        lines.push((
            PROCESS,
            format!("{verb:<4} {name} (PID {}) on {}", t.pid, sockets.join(", ")),
        ));
        // Who it is and what else goes with it: its user, its command line, its other ports.
        if let Some(u) = &t.user {
            lines.push((DETAIL, format!("user {}", clean(u))));
        }
        if let Some(c) = t.cmdline.as_deref().filter(|c| !c.is_empty()) {
            lines.push((DETAIL, format!("command {}", clean(c))));
        }
        if !t.other_sockets.is_empty() {
            let others: Vec<String> = t
                .other_sockets
                .iter()
                .zip(&others)
                .map(|((p, _, s), a)| format!("{p} {a} {s}"))
                .collect();
            lines.push((DETAIL, format!("also holds {}", others.join(", "))));
        }
        if let Some(line) = t.supervisor.as_ref().map(supervisor_words) {
            lines.push((DETAIL, line));
        }
        if let Some(r) = &t.refused {
            lines.push((DETAIL, format!("refused: {}", refusal_words(r))));
        }
    }
    if !plan.left.is_empty() && !plan.targets.is_empty() {
        lines.push((
            PROCESS,
            format!(
                "left running: {}, which also {} port {} (not asked for)",
                pid_list(&plan.left),
                if plan.left.len() == 1 {
                    "holds"
                } else {
                    "hold"
                },
                plan.port
            ),
        ));
    }
    if !plan.refused.is_empty() {
        lines.push((
            PROCESS,
            format!("note: {}", tables_refused_text(&plan.refused)),
        ));
    }
    if plan.out_of_descriptors {
        lines.push((
            PROCESS,
            format!(
                "note: Port Inspector ran out of file descriptors while looking; {RAISE_FD_LIMIT}, and look again."
            ),
        ));
    }
    lines.extend(plan.kernel.iter().map(|k| (0, kernel_end_line(k))));
    if plan.unowned > 0 && !plan.targets.is_empty() {
        lines.push((
            PROCESS,
            format!(
                "and {} socket{} with no process that may be ended here (TIME_WAIT, another user's, or another namespace's)",
                plan.unowned,
                plural(plan.unowned)
            ),
        ));
    }
    PlanWords { heading, lines }
}

/// What starts a process again, and how to stop it for good.
fn supervisor_words(s: &crate::end::Supervisor) -> String {
    use crate::end::Supervisor;
    match s {
        Supervisor::SystemdUnit(u) => format!(
            "runs as systemd unit {}: it may be started again; to stop it for good: systemctl stop {}",
            clean(u),
            clean(u)
        ),
        Supervisor::Container(id) => format!(
            "runs in container {}: its runtime may start it again; to stop it: docker stop {}",
            clean(id),
            clean(id)
        ),
        Supervisor::WindowsService(names) => format!(
            "runs the Windows {} {}: the service control manager may start it again; stop the service instead (sc.exe stop NAME)",
            crate::wording::noun(names.len(), "service", "services"),
            names
                .iter()
                .map(|s| clean(s).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Supervisor::Parent(p) => format!(
            "supervised by {}: it will likely be started again",
            clean(p)
        ),
    }
}

/// Why `end` keeps a process running.
fn refusal_words(r: &crate::end::Refusal) -> String {
    use crate::end::Refusal;
    match r {
        Refusal::InitOrIdle => "PID 0 and PID 1 are never ended (init: ending it stops the system or the container)".to_owned(),
        Refusal::KernelThread => "a kernel thread".to_owned(),
        Refusal::NamespaceInit => "PID 1 of its own PID namespace (a container's init): ending it ends everything inside; stop the container instead".to_owned(),
        Refusal::Ourselves => "this program itself".to_owned(),
        Refusal::OurParent => "the program that started this one".to_owned(),
        Refusal::WindowsSystem => "the Windows System process (http.sys); stop the service behind the URL reservation instead (netsh http show servicestate)".to_owned(),
        Refusal::WindowsService { services } => match services.as_slice() {
            [one] => format!(
                "a Windows service process: stop the service instead, from an Administrator prompt: sc.exe stop {}",
                clean(one)
            ),
            _ => format!(
                "a Windows service host running {}: ending it stops them all; stop the one that holds the port instead, from an Administrator prompt: sc.exe stop NAME",
                services.iter().map(|s| clean(s).into_owned()).collect::<Vec<_>>().join(", ")
            ),
        },
        Refusal::WindowsCritical => "a process Windows cannot run without (ending it stops the machine)".to_owned(),
        Refusal::ContainerProxy {
            detail,
            command,
            reservation,
        } => {
            let what = match (reservation, detail) {
                (true, Some(d)) => format!("a container runtime's helper that {}", clean(d)),
                (true, None) => "a container runtime's helper holding the port for a container".to_owned(),
                (false, Some(d)) => format!("a container proxy that {}", clean(d)),
                (false, None) => "a container proxy".to_owned(),
            };
            format!(
                "{what}: stop or re-publish the container instead ({})",
                clean(command)
            )
        }
    }
}

/// What `end` did and what the port is now, proven by a bind.
#[must_use]
pub fn end_report(r: &crate::end::EndReport) -> String {
    use crate::end::{After, Outcome};
    let mut o = String::new();
    for (pid, outcome) in &r.outcomes {
        let line = match outcome {
            Outcome::Ended => format!("PID {pid}: ended"),
            Outcome::StillRunning => format!(
                "PID {pid}: still running after the signal (it may ignore SIGTERM; --signal KILL stops it at once)"
            ),
            Outcome::AlreadyGone => format!("PID {pid}: had already exited"),
            Outcome::NoLongerHolds => format!(
                "PID {pid}: no longer holds the socket it held, so nothing was sent (it closed it, or the PID now belongs to another program)"
            ),
            Outcome::Failed { error } => {
                format!("PID {pid}: not ended: {}", clean(&error.message))
            }
        };
        let _ = writeln!(o, "{line}");
    }
    let port = r.plan.port;
    let _ = match &r.after {
        After::Free => writeln!(o, "Port {port} is free now: the same bind worked just now."),
        After::TimeWait { secs } => writeln!(
            o,
            "Port {port} is free in about {secs} s: only TIME_WAIT sockets are left (a bind with SO_REUSEADDR worked just now)."
        ),
        After::Held { owners } => writeln!(
            o,
            "Port {port} is still held by {}.",
            holders_phrase(
                &owners
                    .iter()
                    .filter(|w| w.state != SockState::TimeWait)
                    .cloned()
                    .collect::<Vec<_>>()
            )
        ),
    };
    o
}
