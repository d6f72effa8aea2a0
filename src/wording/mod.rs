//! The one place that turns typed results into sentences: findings, fixes, verdict lines. The CLI,
//! the Markdown/text report, the JSON (`text` fields) and the window all call these, so they say
//! the same thing. Outside text (process names, host names) is escaped here (`text::clean`).
//!
//! Rules: a sentence states only what its finding carries (proven on this machine); a command it
//! prints runs as printed; advice in the window names the window's own controls.

mod finding;
mod fix;
mod holders;
mod lookup;
mod nat;
mod number;
mod time;

use serde::{Deserialize, Serialize};

use crate::diagnose::{Conflict, Diagnosis, Finding, Fix};
use crate::probe::{ProbeReport, Verdict};
use crate::program::Program;
use crate::text::clean;

pub use finding::finding;
pub(crate) use finding::{devices_list, lookup_title};
pub use fix::{Piece, check_command, fix, fix_button, fix_pieces, general_causes, program_word};
pub use holders::{holders_in_words, managed_by, sharing, who, who_sharing};
pub(crate) use holders::{holders_list, holders_phrase, manager_clause, service_list};
pub use lookup::{RAISE_FD_LIMIT, lookup_note, lookup_out_of_descriptors, tables_refused_text};
pub use nat::nat_unread;
pub(crate) use number::plural;
pub use number::{count, noun};
pub use time::{SLOW_LOOKUP_US, human_ms, human_us, slow_lookup};

/// Which sockets a port range applies to, in words: `TCP over IPv4`, `UDP over IPv6,
/// administered`, `TCP`, `IPv6`, `every protocol and family`.
#[must_use]
pub fn port_scope(scope: &crate::facts::PortScope) -> String {
    use crate::target::Family;
    let mut words = match (scope.protocol, scope.family) {
        (Some(p), Family::Any) => p.to_string(),
        (Some(p), f) => format!("{p} over {f}"),
        (None, Family::Any) => "every protocol and family".to_owned(),
        (None, f) => f.to_string(),
    };
    if scope.administered {
        words.push_str(", administered");
    }
    words
}

/// Why a step of the bind was not made, in the few words every front puts beside it:
/// `setsockopt skipped (Windows only)`.
#[must_use]
pub fn skip_reason(why: crate::probe::SkipReason) -> &'static str {
    match why {
        crate::probe::SkipReason::WindowsOnly => "Windows only",
    }
}

/// Which front end the advice is for: the CLI names commands (with the program's name as the
/// CLI decided it), the window names its controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front<'a> {
    /// The command line, the report and the JSON; commands start with this program.
    Cli(&'a Program),
    /// The window.
    Window,
}

/// A typed value with its sentence, for JSON: the fields of the value plus `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worded<T> {
    /// The typed value.
    #[serde(flatten)]
    pub value: T,
    /// Its sentence, as the CLI shows it.
    pub text: String,
}

/// A fix with its sentence, and the sentence's pieces where it holds a command, so a document
/// can set the command apart as code, exactly as it runs (Markdown's escapes would otherwise
/// change what is copied: `'\[::1\]:80'`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordedFix {
    /// The typed fix.
    #[serde(flatten)]
    pub value: Fix,
    /// Its sentence, as the CLI shows it.
    pub text: String,
    /// The same sentence in words and commands; empty when it holds no command (and in answers
    /// from versions that did not keep them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pieces: Vec<Piece>,
}

/// The worded explanation of a check: the JSON `explanation`, and what every front shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The WSA number of the error (0 for a caution on success).
    pub wsa_code: u32,
    /// The WSA name.
    pub wsa_name: String,
    /// For address-in-use: the kind of clash found.
    pub conflict: Option<Conflict>,
    /// One line a person reads first.
    pub title: String,
    /// Which call failed with which code, and what the code means.
    pub summary: String,
    /// What this machine proved, each with its sentence.
    pub findings: Vec<Worded<Finding>>,
    /// What to do, each with its sentence.
    pub fixes: Vec<WordedFix>,
    /// The findings' sentences alone (kept for scripts that read them).
    pub checked: Vec<String>,
    /// The catalog's general causes, given only when nothing was proven, and only those that can
    /// apply to this protocol, family and OS.
    pub causes: Vec<String>,
}

/// Words a diagnosis of a failed probe.
#[must_use]
pub fn explain(report: &ProbeReport, d: &Diagnosis, program: &Program) -> Option<Explanation> {
    let err = report.error.as_ref()?;
    let target = &report.target;
    let findings: Vec<Worded<Finding>> = d
        .findings
        .iter()
        .map(|f| Worded {
            text: finding(f, target),
            value: f.clone(),
        })
        .collect();
    let entry = crate::catalog::by_wsa(err.wsa_code);
    // "Unknown" findings say what was checked; they prove no cause, so the general causes stay.
    let proven = findings.iter().any(|f| {
        !matches!(
            f.value,
            Finding::Unexplained { .. } | Finding::PermissionUnexplained { .. }
        )
    });
    let causes = if proven {
        Vec::new()
    } else {
        entry.map_or_else(Vec::new, |e| general_causes(e, target))
    };
    let mut fixes: Vec<WordedFix> = d
        .fixes
        .iter()
        .map(|f| {
            let pieces = fix_pieces(f, target, Front::Cli(program));
            WordedFix {
                text: pieces.iter().map(Piece::text).collect(),
                pieces: if pieces.iter().any(|p| matches!(p, Piece::Command(_))) {
                    pieces
                } else {
                    Vec::new()
                },
                value: f.clone(),
            }
        })
        .collect();
    fixes.dedup_by(|a, b| a.text == b.text);
    let step = report
        .failed_step
        .map_or("the check", crate::probe::StepKind::name);
    let summary = format!(
        "{step} failed with {} ({}), {} {} on this OS. {}",
        err.wsa_name,
        err.wsa_code,
        err.native_name,
        err.native_code,
        entry.map_or(err.message.as_str(), |e| e.explanation.as_str())
    );
    Some(Explanation {
        wsa_code: err.wsa_code,
        wsa_name: err.wsa_name.clone(),
        conflict: d.conflict,
        title: title(report, d),
        summary,
        checked: findings.iter().map(|f| f.text.clone()).collect(),
        findings,
        fixes,
        causes,
    })
}

/// The cautions of a bind that worked, worded.
#[must_use]
pub fn notes(report: &ProbeReport, d: &Diagnosis) -> Vec<Worded<Finding>> {
    if report.error.is_some() {
        return Vec::new();
    }
    d.findings
        .iter()
        .map(|f| Worded {
            text: finding(f, &report.target),
            value: f.clone(),
        })
        .collect()
}

/// What the failure is, in one line: the proven cause, without the verdict (the headline and the
/// window's verdict label say NOT BINDABLE or UNKNOWN; no front strips a prefix off it).
pub(crate) fn title(report: &ProbeReport, d: &Diagnosis) -> String {
    let target = &report.target;
    let at = report
        .failed_address
        .map_or_else(|| target.display_addr(), |a| a.to_string());
    let at = clean(&at);
    let first = d.findings.first();
    match first {
        Some(Finding::Held { sockets, .. }) => {
            let who = holders_phrase(sockets);
            // What keeps the one holder running, when the machine showed it (its cgroup or
            // its parent): the answer to "will it come back if I end it?".
            let pids: Vec<Option<u32>> = sockets.iter().map(|o| o.pid).collect();
            let manager = match sockets.first() {
                Some(o) if pids.iter().all(|p| *p == o.pid) => manager_clause(o),
                _ => None,
            };
            // Both sides when the holder sits on another address than ours (a wildcard over
            // a specific one, or the other way): "0.0.0.0:8088 collides with nginx (PID 1911)
            // on 127.0.0.1:8088".
            let mut theirs: Vec<String> = Vec::new();
            for o in sockets {
                let l = o.address().to_string();
                if !theirs.contains(&l) {
                    theirs.push(l);
                }
            }
            let verb = if theirs.is_empty() || theirs.iter().any(|l| *l == at) {
                format!("is in use by {who}")
            } else {
                format!("collides with {who} on {}", theirs.join(" and "))
            };
            match manager {
                Some(m) => format!("{at} {verb}, {m}"),
                None => format!("{at} {verb}"),
            }
        }
        Some(Finding::TimeWait { .. }) => format!("{at} is still held by TIME_WAIT connections"),
        Some(Finding::Leftovers { .. }) => {
            format!("{at} is held by leftover connections, with no listener")
        }
        Some(Finding::EphemeralCollision { .. }) => {
            format!("{at} is taken by an outgoing connection")
        }
        Some(Finding::Privileged { .. }) => {
            format!("Permission denied for {at}: a privileged port")
        }
        Some(Finding::ExcludedRange { .. }) => format!("{at} is in a port range Windows reserved"),
        Some(Finding::NotAssigned { .. }) => format!("{at} is not an address of this machine"),
        Some(Finding::NotResolved { host, failure, .. }) => lookup_title(host, *failure, target),
        Some(Finding::ResolverTimedOut { .. }) => format!(
            "the resolver did not answer for '{}' in time",
            clean(&target.host.to_string())
        ),
        Some(Finding::Cancelled) => "the check was cancelled".into(),
        Some(Finding::HiddenOwners { .. }) => format!("{at} is in use by another user's process"),
        _ => match report.error.as_ref().map(|e| e.wsa_code) {
            Some(crate::oserror::wsa::EADDRINUSE) => format!("{at} is already in use"),
            Some(crate::oserror::wsa::EACCES) => format!("Permission denied for {at}"),
            _ => format!(
                "{} failed for {at}",
                report
                    .failed_step
                    .map_or("the check", crate::probe::StepKind::name)
            ),
        },
    }
}

/// The verdict line a person reads first (`BINDABLE: …`, `NOT BINDABLE: …`, `UNKNOWN: …`).
#[must_use]
pub fn headline(report: &ProbeReport, explanation: Option<&Explanation>) -> String {
    let t = &report.target;
    match report.verdict {
        Verdict::Bindable => format!(
            "BINDABLE: {} {} (bound {})",
            t.protocol,
            clean(&t.display_addr()),
            report
                .bound_addresses()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Verdict::NotBindable => format!(
            "NOT BINDABLE: {}",
            explanation.map_or_else(
                || clean(&t.display_addr()).into_owned(),
                |e| e.title.clone()
            )
        ),
        Verdict::Unknown => format!(
            "UNKNOWN: {}",
            explanation.map_or_else(
                || clean(&t.display_addr()).into_owned(),
                |e| e.title.clone()
            )
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owners::SockState;

    #[test]
    fn a_port_scope_in_words() {
        use crate::facts::PortScope;
        use crate::target::{Family, Protocol};
        let tcp4 = PortScope::of(Protocol::Tcp, Family::Ipv4);
        assert_eq!(port_scope(&tcp4), "TCP over IPv4");
        let administered = PortScope {
            administered: true,
            ..PortScope::of(Protocol::Udp, Family::Ipv6)
        };
        assert_eq!(port_scope(&administered), "UDP over IPv6, administered");
        assert_eq!(
            port_scope(&PortScope::of(Protocol::Tcp, Family::Any)),
            "TCP"
        );
        assert_eq!(port_scope(&PortScope::ALL), "every protocol and family");
    }

    #[test]
    fn time_wait_sockets_agree_with_their_count() {
        let target = crate::target::Target::tcp("127.0.0.1", 8080);
        let said = |count: usize| {
            finding(
                &Finding::TimeWait {
                    count,
                    reuse_retry: Some(false),
                },
                &target,
            )
        };
        assert_eq!(
            said(1),
            "Only 1 TIME_WAIT socket of a closed connection holds port 8080; no process owns it. Linux keeps it for 60 seconds. A retry with SO_REUSEADDR failed too: the socket that left it did not set SO_REUSEADDR, so waiting is the only way."
        );
        let two = said(2);
        assert!(
            two.starts_with("Only 2 TIME_WAIT sockets of closed connections hold port 8080; no process owns them. Linux keeps them"),
            "{two}"
        );
        assert!(two.contains("the socket that left them"), "{two}");
    }

    #[test]
    fn ending_two_processes_is_not_stopping_the_owner() {
        let target = crate::target::Target::tcp("127.0.0.1", 8080);
        let end =
            |pids: Vec<u32>, front| fix(&Fix::EndProcesses { port: 8080, pids }, &target, front);
        let cli = Front::Cli(&Program::OnPath);
        assert!(end(vec![7], cli).starts_with("Stop the owner, or choose another port: "));
        let two = end(vec![7, 9], cli);
        assert!(
            two.starts_with("Stop the 2 processes that hold it, or choose another port: "),
            "{two}"
        );
        let window = end(vec![7, 9], Front::Window);
        // Each holder's button ends that holder alone (today's trial, M6): the line names them.
        assert!(
            window.starts_with("Stop the 2 processes that hold it (PIDs 7, 9) with their End buttons under Who uses the port (each asks first)"),
            "{window}"
        );
        assert!(
            end(vec![7], Front::Window)
                .starts_with("Stop the owner with its End PID 7… button (it asks first)")
        );
    }

    #[test]
    fn times_read_as_people_read_them() {
        assert_eq!(human_us(42), "42 µs");
        assert_eq!(human_us(3_100), "3.1 ms");
        assert_eq!(human_us(8_001_924), "8.0 s");
    }

    /// A server with an IPv4 and an IPv6 listener (or a listener and its connections) is one
    /// holder: named once, in the order met, and outside text in its name escaped.
    #[test]
    fn each_holder_is_named_once() {
        let sock = crate::owners::test_owner;
        let owners = [
            sock(7, "nginx", "0.0.0.0:80", SockState::Listen),
            sock(7, "nginx", "[::]:80", SockState::Listen),
            sock(9, "evil\x1b[2Jname", "0.0.0.0:80", SockState::Established),
            sock(7, "nginx", "127.0.0.1:80", SockState::Established),
        ];
        let words = holders_in_words(&owners);
        assert_eq!(words, r"nginx (PID 7), evil\x1b[2Jname (PID 9)");
        assert!(holders_in_words(&[]).is_empty());
    }

    /// A process whose parent is PID 1 may be init's child or an orphan (its parent died): the
    /// Managed by cell says only what was seen, never "init" as if init managed it.
    #[test]
    fn a_parent_of_pid_1_is_not_called_a_manager() {
        use crate::owners::{ManagedBy, ManagedKind};
        let mut o = crate::owners::test_owner(7, "worker", "0.0.0.0:80", SockState::Listen);
        o.managed_by = Some(ManagedBy {
            kind: ManagedKind::Init,
            name: "systemd".into(),
            container: None,
            services: Vec::new(),
        });
        assert_eq!(managed_by(&o), "parent PID 1 (systemd)");
        assert_eq!(manager_clause(&o), None, "no manager clause");
    }
}
