//! The worker's jobs for other machines and watched ports: a check, a scan or an End answered
//! by another machine (its `check --json`, `scan --json`, `end --json` over ssh, read into the
//! same types as here), a watch of one port here or there
//! (each look, or the remote's own `watch --json` streamed), and a desktop notification.
//! Each runs on its own named thread and reports typed values, never sentences.

use std::io::BufRead as _;
use std::time::Duration;

use super::worker::{Emit, Event};
use crate::check::Check;
use crate::probe::{CancelToken, ProbeConfig};
use crate::remote::{AskError, Remote, RemoteError};
use crate::watch::{EventKind, PortState, Until, WatchEvent};

/// Seconds between looks of a watch on this machine.
pub const LOCAL_WATCH_SECS: u64 = 1;
/// Seconds between looks of a watch on another machine (each look runs there; one ssh session
/// carries them all).
pub const REMOTE_WATCH_SECS: u64 = 5;

/// What a watch reports.
#[derive(Debug, Clone)]
pub enum WatchUpdate {
    /// The state at the start, or a change (with `met` when the condition holds: the watch ends).
    Seen(WatchEvent),
    /// The machine could not be watched, or the connection ended.
    Failed(AskError),
    /// Stopped by the user.
    Stopped,
}

/// How a desktop notification went.
#[derive(Debug, Clone)]
pub enum Notified {
    /// Shown by the desktop's notification service.
    Shown,
    /// Not shown: why (the service's own message, outside text).
    Failed(String),
    /// The user clicked it.
    Clicked,
}

/// A watch to run.
#[derive(Debug, Clone)]
pub struct WatchJob {
    /// Ties its updates to its row.
    pub key: u64,
    /// What is watched.
    pub target: crate::Target,
    /// When it is over.
    pub until: Until,
    /// Where (`None`: this machine).
    pub remote: Option<Remote>,
    /// Set by Stop.
    pub cancel: CancelToken,
}

/// A check of `target` answered by the machine: its own `check --json`, read into a `Check`
/// with every string escaped, marked with the machine.
///
/// # Errors
/// Why the machine gave no answer, or Cancel.
pub fn remote_check(
    remote: &Remote,
    target: &crate::Target,
    timeout: Duration,
    cancel: &CancelToken,
) -> Result<Check, AskError> {
    let mut words = crate::remote::check_words(target);
    words.extend(["--timeout".to_owned(), format!("{}", timeout.as_secs_f64())]);
    let mut check: Check = ask_cancellable(remote, words, cancel)?;
    check.machine = Some(remote.machine.to_string());
    Ok(check)
}

/// A range scan run by the machine: its own `scan --json` (every string escaped).
///
/// # Errors
/// Why the machine gave no answer, or Cancel.
pub fn remote_scan(
    remote: &Remote,
    request: &crate::scan::ScanRequest,
    cancel: &CancelToken,
) -> Result<crate::scan::ScanReport, AskError> {
    let mut words = vec![
        "scan".to_owned(),
        format!("{}-{}", request.start, request.end),
        "--host".to_owned(),
        request.address.to_string(),
    ];
    let (tcp, udp) = (
        request.protocols.contains(&crate::Protocol::Tcp),
        request.protocols.contains(&crate::Protocol::Udp),
    );
    match (tcp, udp) {
        (true, true) => words.push("--both".to_owned()),
        (false, true) => words.push("--udp".to_owned()),
        _ => {}
    }
    ask_cancellable(remote, words, cancel)
}

/// Asks the machine (see `remote::ask_cleaned`) on a thread of its own, so Cancel lets the
/// window go at once; the ssh session then ends on its own (its connect timeout, the work's
/// own end there).
fn ask_cancellable<T: serde::de::DeserializeOwned + Send + 'static>(
    remote: &Remote,
    words: Vec<String>,
    cancel: &CancelToken,
) -> Result<T, AskError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let r = remote.clone();
    std::thread::Builder::new()
        .name("ssh-ask".into())
        .spawn(move || {
            let _ = tx.send(crate::remote::ask_cleaned::<T>(&r, words));
        })
        .map_err(|e| AskError::Remote(RemoteError::Unreachable(e.to_string())))?;
    loop {
        if cancel.is_cancelled() {
            return Err(AskError::Cancelled);
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(answer) => return answer.map(|(_, value)| value),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(AskError::Remote(RemoteError::Unusable(
                    "the ssh thread ended without an answer".into(),
                )));
            }
        }
    }
}

/// The words of `end` for the sockets of `port` (of `protocol`, meeting a bind of `host`).
fn end_words(
    port: u16,
    protocol: Option<crate::Protocol>,
    host: Option<std::net::IpAddr>,
) -> Vec<String> {
    let mut words = vec!["end".to_owned(), port.to_string()];
    match protocol {
        Some(crate::Protocol::Tcp) => words.push("--tcp".to_owned()),
        Some(crate::Protocol::Udp) => words.push("--udp".to_owned()),
        None => {}
    }
    if let Some(h) = host {
        words.extend(["--host".to_owned(), h.to_string()]);
    }
    words
}

/// The plan of ending whoever holds `addr` on the machine: its own `end --dry-run`, read
/// (escaped) into the same `EndPlan` the confirmation shows for this machine.
///
/// # Errors
/// Why the machine gave no plan.
pub fn remote_end_plan(
    remote: &Remote,
    addr: std::net::SocketAddr,
    protocol: crate::Protocol,
) -> Result<crate::end::EndPlan, AskError> {
    let mut words = end_words(addr.port(), Some(protocol), Some(addr.ip()));
    words.push("--dry-run".to_owned());
    crate::remote::ask_cleaned(remote, words).map(|(_, plan)| plan)
}

/// A confirmed plan carried out on the machine: its own `end --yes`, told the PIDs that were
/// confirmed here (`--expect-pids`: it ends nothing else), which checks each PID again before
/// its signal and binds the port there to prove it free; its report, escaped.
///
/// # Errors
/// Why the machine gave no report.
pub fn remote_end(
    remote: &Remote,
    plan: &crate::end::EndPlan,
) -> Result<crate::end::EndReport, AskError> {
    let pids: Vec<String> = plan.to_end().map(|t| t.pid.to_string()).collect();
    let mut words = end_words(plan.port, plan.protocol, plan.host);
    words.extend([
        "--yes".to_owned(),
        "--signal".to_owned(),
        "TERM".to_owned(),
        "--expect-pids".to_owned(),
        if pids.is_empty() {
            "none".to_owned()
        } else {
            pids.join(",")
        },
    ]);
    crate::remote::ask_cleaned(remote, words).map(|(_, report)| report)
}

/// Runs a watch until its condition holds, it fails or it is stopped, reporting each change.
pub fn watch(job: &WatchJob, emit: Emit<'_>) {
    let update = |u: WatchUpdate| {
        emit(Event::Watch {
            key: job.key,
            update: u,
        });
    };
    match &job.remote {
        None => watch_here(job, &update),
        Some(r) => watch_there(job, r, &update),
    }
}

fn watch_here(job: &WatchJob, update: &dyn Fn(WatchUpdate)) {
    let cfg = ProbeConfig::default();
    let mut last: Option<PortState> = None;
    loop {
        if job.cancel.is_cancelled() {
            return update(WatchUpdate::Stopped);
        }
        let now = crate::watch::look(&job.target, &cfg);
        let changed = last.as_ref().is_some_and(|l| *l != now);
        if last.is_none() || changed {
            let met = crate::watch::met(job.until, &now, changed);
            update(WatchUpdate::Seen(WatchEvent {
                at_unix_ms: crate::watch::now_unix_ms(),
                target: job.target.display_addr(),
                port: job.target.port,
                protocol: job.target.protocol,
                kind: if last.is_none() {
                    EventKind::Start
                } else {
                    EventKind::Change
                },
                state: now.clone(),
                met,
            }));
            if met {
                return;
            }
            last = Some(now);
        }
        // Stop is honoured within a tenth of a second.
        for _ in 0..LOCAL_WATCH_SECS * 10 {
            if job.cancel.is_cancelled() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The remote's own `watch --json`, one object a line, each read (escaped) as a `WatchEvent`.
fn watch_there(job: &WatchJob, remote: &Remote, update: &dyn Fn(WatchUpdate)) {
    let mut words = vec![
        "watch".to_owned(),
        job.target.display_addr(),
        "--until".to_owned(),
        match job.until {
            Until::Free => "free",
            Until::Taken => "taken",
            Until::Changed => "changed",
        }
        .to_owned(),
        "--interval".to_owned(),
        REMOTE_WATCH_SECS.to_string(),
    ];
    if job.target.protocol == crate::Protocol::Udp {
        words.push("--udp".to_owned());
    }
    words.push("--json".to_owned());
    let mut child = match crate::remote::spawn(remote, &words) {
        Ok(c) => c,
        Err(e) => return update(WatchUpdate::Failed(AskError::Remote(e))),
    };
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let child = std::sync::Arc::new(std::sync::Mutex::new(child));
    // Stop kills the ssh session: the read below then ends.
    let (killer, cancel) = (std::sync::Arc::clone(&child), job.cancel.clone());
    let done = CancelToken::new();
    let done2 = done.clone();
    let _ = std::thread::Builder::new()
        .name("watch-stop".into())
        .spawn(move || {
            while !done2.is_cancelled() {
                if cancel.is_cancelled() {
                    if let Ok(mut c) = killer.lock() {
                        let _ = c.kill();
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
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
        });
    let mut version: Option<String> = None;
    let mut met = false;
    let mut bad: Option<String> = None;
    if let Some(out) = stdout {
        let reader =
            std::io::BufReader::new(std::io::Read::take(out, crate::remote::MAX_ANSWER_BYTES));
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if version.is_none() {
                version = crate::remote::version_of_line(&line).map(|v| v.version);
                continue;
            }
            let event = serde_json::from_str::<serde_json::Value>(&line)
                .map(crate::remote::cleaned)
                .and_then(serde_json::from_value::<WatchEvent>);
            match event {
                Ok(e) => {
                    met |= e.met;
                    update(WatchUpdate::Seen(e));
                }
                Err(e) => {
                    bad = Some(e.to_string());
                    break;
                }
            }
        }
    }
    done.cancel();
    let code = child
        .lock()
        .ok()
        .and_then(|mut c| {
            if bad.is_some() {
                let _ = c.kill();
            }
            c.wait().ok()
        })
        .and_then(|s| s.code())
        .unwrap_or(-1);
    let stderr = err_reader
        .ok()
        .and_then(|t| t.join().ok())
        .unwrap_or_default();
    if job.cancel.is_cancelled() {
        update(WatchUpdate::Stopped);
    } else if let (Some(v), Some(why)) = (&version, bad) {
        update(WatchUpdate::Failed(AskError::Unreadable {
            version: v.clone(),
            why: why.chars().take(160).collect(),
        }));
    } else if version.is_none() {
        update(WatchUpdate::Failed(AskError::Remote(
            crate::remote::stream_failure(remote, code, &stderr),
        )));
    } else if !met {
        // The session ended before the condition: the link went down, or the remote stopped.
        update(WatchUpdate::Failed(AskError::Remote(
            RemoteError::Unreachable(
                stderr
                    .last()
                    .cloned()
                    .unwrap_or_else(|| format!("the ssh session ended (exit {code})")),
            ),
        )));
    }
}

/// Shows a desktop notification through the freedesktop notification service on the session
/// bus (Linux), then reports a click on it. The signals are subscribed to before the
/// notification is sent, on one stream, so a click that comes at once is not missed.
#[cfg(target_os = "linux")]
pub fn notify(summary: &str, body: &str, report: &dyn Fn(Notified)) {
    if let Err(e) = notify_on_bus(summary, body, report) {
        report(Notified::Failed(e.to_string()));
    }
}

#[cfg(target_os = "linux")]
fn notify_on_bus(summary: &str, body: &str, report: &dyn Fn(Notified)) -> zbus::Result<()> {
    const SERVICE: &str = "org.freedesktop.Notifications";
    const PATH: &str = "/org/freedesktop/Notifications";
    let conn = zbus::blocking::Connection::session()?;
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(SERVICE)?
        .path(PATH)?
        .build();
    let signals = zbus::blocking::MessageIterator::for_match_rule(rule, &conn, Some(64))?;
    let hints: std::collections::HashMap<&str, zbus::zvariant::Value<'_>> =
        std::collections::HashMap::new();
    let reply = conn.call_method(
        Some(SERVICE),
        PATH,
        Some(SERVICE),
        "Notify",
        &(
            "Port Inspector",
            0u32,
            "port-inspector",
            summary,
            body,
            vec!["default", "Show the answer"],
            hints,
            -1i32,
        ),
    )?;
    let id: u32 = reply.body().deserialize()?;
    report(Notified::Shown);
    for msg in signals {
        let msg = msg?;
        let header = msg.header();
        match header.member().map(zbus::names::MemberName::as_str) {
            Some("ActionInvoked") => {
                if let Ok((nid, action)) = msg.body().deserialize::<(u32, String)>()
                    && nid == id
                {
                    if action == "default" {
                        report(Notified::Clicked);
                    }
                    break;
                }
            }
            Some("NotificationClosed")
                if msg
                    .body()
                    .deserialize::<(u32, u32)>()
                    .is_ok_and(|(nid, _)| nid == id) =>
            {
                break;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Shows a toast notification (Windows), then reports a click on it. Without an installed
/// shortcut that names Port Inspector's AppUserModelID, Windows shows the toast as PowerShell's
/// (the id every unpackaged program may use).
#[cfg(windows)]
pub fn notify(summary: &str, body: &str, report: &dyn Fn(Notified)) {
    use tauri_winrt_notification::Toast;
    // true: clicked; false: dismissed (by the user, or timed out).
    let (tx, rx) = std::sync::mpsc::channel::<bool>();
    let dismissed = tx.clone();
    let shown = Toast::new(Toast::POWERSHELL_APP_ID)
        .title(summary)
        .text1(body)
        .on_activated(move |_| {
            let _ = tx.send(true);
            Ok(())
        })
        .on_dismissed(move |_| {
            let _ = dismissed.send(false);
            Ok(())
        })
        .show();
    if let Err(e) = shown {
        return report(Notified::Failed(e.to_string()));
    }
    report(Notified::Shown);
    // A toast left in the action centre can still be clicked later; an hour is plenty.
    if rx.recv_timeout(Duration::from_hours(1)) == Ok(true) {
        report(Notified::Clicked);
    }
}

/// Desktop notifications are shown on Linux and Windows; elsewhere the window asks for
/// attention.
#[cfg(not(any(target_os = "linux", windows)))]
pub fn notify(_summary: &str, _body: &str, report: &dyn Fn(Notified)) {
    report(Notified::Failed(
        "desktop notifications are shown on Linux and Windows only for now".into(),
    ));
}
