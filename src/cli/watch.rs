//! `watch [HOST:]PORT --until free|taken|changed`: one line (or JSON object) for the state at
//! the start and one per change; exit 0 when the condition holds, 1 when `--timeout` passes.

use std::time::{Duration, Instant};

use super::{DocOutput, Format, exit, output};
use crate::probe::ProbeConfig;
use crate::watch::{EventKind, PortState, Until, WatchEvent};

/// `watch`'s options.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// [HOST:]PORT, as for `check`; a bare PORT means all interfaces.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    /// UDP instead of TCP.
    #[arg(long)]
    pub udp: bool,
    /// When to stop: free (the bind works), taken (it is refused), changed (anything changes).
    #[arg(long, value_enum)]
    pub until: Until,
    /// Seconds between looks (0.1 to 3600).
    #[arg(long, default_value = "1", allow_hyphen_values = true, value_parser = super::interval_secs)]
    pub interval: Duration,
    /// Give up after SECS seconds (0.1 to 86400), exit 1; without it, watch until the condition.
    #[arg(long, allow_hyphen_values = true, value_parser = super::wait_secs)]
    pub timeout: Option<Duration>,
    /// Output format: text (a line per change) or json (an object per line).
    #[command(flatten)]
    pub output: DocOutput,
}

impl WatchArgs {
    /// The target, refused here in one line when it is not one.
    pub fn to_target(&self) -> Result<crate::Target, crate::target::InputError> {
        super::simple_target(&self.target, self.udp)
    }
}

/// Runs the watch here.
pub(super) fn run(args: &WatchArgs) -> anyhow::Result<u8> {
    let format = args.output.format();
    let target = args.to_target()?;
    let cfg = ProbeConfig {
        timeout: args
            .interval
            .clamp(Duration::from_secs(1), Duration::from_secs(10)),
        ..ProbeConfig::default()
    };
    let started = Instant::now();
    let mut last: Option<PortState> = None;
    loop {
        let now = crate::watch::look(&target, &cfg);
        let changed = last.as_ref().is_some_and(|l| *l != now);
        if last.is_none() || changed {
            let met = crate::watch::met(args.until, &now, changed);
            let event = WatchEvent {
                at_unix_ms: crate::watch::now_unix_ms(),
                target: target.display_addr(),
                port: target.port,
                protocol: target.protocol,
                kind: if last.is_none() {
                    EventKind::Start
                } else {
                    EventKind::Change
                },
                state: now.clone(),
                met,
            };
            emit(&event, format == Format::Json, None);
            if met {
                return Ok(exit::OK);
            }
            last = Some(now);
        }
        let left = args.timeout.map(|t| t.saturating_sub(started.elapsed()));
        if left.is_some_and(|l| l.is_zero()) {
            output::warn(&format!(
                "{} is still not {} after {:.1} s",
                target.display_addr(),
                until_word(args.until),
                started.elapsed().as_secs_f64()
            ));
            return Ok(exit::NOT_BINDABLE);
        }
        std::thread::sleep(left.map_or(args.interval, |l| l.min(args.interval)));
    }
}

fn until_word(u: Until) -> &'static str {
    match u {
        Until::Free => "free",
        Until::Taken => "taken",
        Until::Changed => "changed",
    }
}

/// Writes one event: a JSON object on one line (with `machine` for a remote's), or a line of
/// text. Names are outside text: escaped.
pub(super) fn emit(e: &WatchEvent, json: bool, machine: Option<&crate::remote::Machine>) {
    if json {
        let mut v = serde_json::to_value(e).unwrap_or(serde_json::Value::Null);
        if let (Some(m), Some(map)) = (machine, v.as_object_mut()) {
            map.insert("machine".into(), m.to_string().into());
        }
        output::data(&(crate::text::json(&v, false).unwrap_or_default() + "\n"));
    } else {
        output::text(&(event_line(e, machine) + "\n"));
    }
}

/// `08:05:01 UTC  TCP 127.0.0.1:8080  taken by nginx (PID 812)`, and what the line means.
#[must_use]
pub fn event_line(e: &WatchEvent, machine: Option<&crate::remote::Machine>) -> String {
    let secs = e.at_unix_ms / 1000 % 86_400;
    let mut line = format!(
        "{:02}:{:02}:{:02} UTC  {} {}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        e.protocol,
        crate::text::clean(&e.target)
    );
    if let Some(m) = machine {
        line.push_str(" on ");
        line.push_str(&crate::text::clean(&m.to_string()));
    }
    line.push_str("  ");
    let state = crate::render::remote::port_state(&e.state);
    line.push_str(&state);
    if e.met {
        line.push_str("  (done)");
    }
    line
}
