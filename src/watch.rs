//! Watching a port until a condition holds: it becomes free, gets taken, or changes (another
//! holder, freed, taken). Each look is the real bind (`probe::run`) and the port's holders
//! (`owners::of`); a change is a new [`PortState`]. Pure values and one look; the CLI polls and
//! prints, the window can do the same.

use serde::{Deserialize, Serialize};

use crate::owners::{self, Query};
use crate::probe::{self, ProbeConfig, Verdict};
use crate::target::Target;

/// When a watch is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Until {
    /// The same bind works.
    Free,
    /// The same bind is refused.
    Taken,
    /// Anything changes: freed, taken, or another holder.
    Changed,
}

/// One process holding the port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Holder {
    /// Its PID, when visible.
    pub pid: Option<u32>,
    /// Its name, when readable (outside text).
    pub process: Option<String>,
}

/// The port at one moment: the bind's verdict and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortState {
    /// `bindable` (free), `not_bindable` (taken) or `unknown` (the name did not resolve in time).
    pub verdict: Verdict,
    /// The processes holding it (listening, bound or UDP sockets that a bind of the target
    /// meets), each once, sorted.
    pub holders: Vec<Holder>,
    /// Sockets on the port whose process is not visible from here.
    pub hidden: usize,
}

/// One line of a watch: the state when it started, and every change after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchEvent {
    /// When it was seen, milliseconds since 1970 (UTC).
    pub at_unix_ms: u64,
    /// What is watched, as `check` takes it (`127.0.0.1:8080`, `*:8080`).
    pub target: String,
    /// The port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: crate::Protocol,
    /// `start` for the first line, `change` after.
    pub kind: EventKind,
    /// The port now.
    pub state: PortState,
    /// Whether the watch's condition holds now (the last line of a watch that succeeded).
    pub met: bool,
}

/// Whether an event is the first look or a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The state when the watch started.
    Start,
    /// The state changed.
    Change,
}

/// Looks once: binds the target and reads its holders.
#[must_use]
pub fn look(target: &Target, cfg: &ProbeConfig) -> PortState {
    let report = probe::run(target, cfg);
    let found = owners::of(Query {
        port: target.port,
        protocol: Some(target.protocol),
    });
    let ip = target.host.ip();
    let mut hidden = 0;
    let mut holders: Vec<Holder> = Vec::new();
    for o in found.owners.iter().filter(|o| {
        !o.state.is_connection()
            && ip.is_none_or(|ip| {
                owners::covers(o.local.ip(), o.v6_only, ip)
                    || (ip.is_unspecified() && owners::covers(ip, Some(false), o.local.ip()))
            })
    }) {
        let pids: Vec<u32> = if o.pids.is_empty() {
            o.pid.into_iter().collect()
        } else {
            o.pids.clone()
        };
        if pids.is_empty() {
            hidden += 1;
        }
        for pid in pids {
            let h = Holder {
                pid: Some(pid),
                process: if Some(pid) == o.pid {
                    o.process.as_deref().map(str::to_owned)
                } else {
                    crate::owners::name_of(pid)
                },
            };
            if !holders.contains(&h) {
                holders.push(h);
            }
        }
    }
    holders.sort();
    PortState {
        verdict: report.verdict,
        holders,
        hidden: hidden + found.hidden,
    }
}

/// Whether `now` meets `until`; `changed` tells whether it differs from the state before.
#[must_use]
pub fn met(until: Until, now: &PortState, changed: bool) -> bool {
    match until {
        Until::Free => now.verdict == Verdict::Bindable,
        Until::Taken => now.verdict == Verdict::NotBindable,
        Until::Changed => changed,
    }
}

/// Milliseconds since 1970, for an event's time.
#[must_use]
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
