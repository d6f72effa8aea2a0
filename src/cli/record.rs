//! `record` (the flight recorder) and `history` (reading it back): arguments, the one start
//! line and stop line, the timeline as text or JSON. The sentences come from `record::words`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{DocOutput, Format, exit, output};
use crate::record::capture::{self, Options};
use crate::record::history::{self, Subject};
use crate::record::store::{self, Limits, Store, StoreError};
use crate::record::{time, words};
use crate::target::InputError;

/// `record`'s options.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The database (default: /var/lib/port-inspector/record.db as root, else
    /// ~/.local/share/port-inspector/record.db).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Stop after this long (90s, 30m, 2h; a bare number is seconds); without it, until Ctrl+C
    /// or SIGTERM.
    #[arg(long = "for", value_name = "DURATION", value_parser = duration_ms)]
    pub for_ms: Option<u64>,
    /// Polling mode: milliseconds between reads of the socket table (10 to 60000).
    #[arg(long, value_name = "MS", default_value = "200", value_parser = interval_ms)]
    pub interval: u64,
    /// Remove records older than this.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = duration_ms)]
    pub max_age: u64,
    /// Keep the database under this size: 100M, 1G, 500K.
    #[arg(long, value_name = "SIZE", default_value = "100M", value_parser = size_bytes)]
    pub max_size: u64,
}

/// `history`'s options.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The port whose timeline to show.
    #[arg(value_parser = crate::target::parse_port, required_unless_present_any = ["failed", "pid"], conflicts_with = "pid")]
    pub port: Option<u16>,
    /// Every failed bind on the machine (with a PORT: on that port).
    #[arg(long, conflicts_with = "pid")]
    pub failed: bool,
    /// Everything one process did: the sockets it held, the binds it failed, and the binds
    /// refused while it held the port.
    #[arg(long, value_name = "PID", value_parser = pid_number)]
    pub pid: Option<u32>,
    /// From when: a duration back (2h, 30m, 3d), a clock time (03:00), a date and time
    /// (2026-12-06 03:00).
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Until when, in the same forms (default: now).
    #[arg(long, default_value = "now")]
    pub until: String,
    /// Show only the newest N entries of the window, with a count of the older ones (0: all).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LIMIT)]
    pub limit: usize,
    /// The database (default: the recorder's, as for `record`).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Output format: text or json.
    #[command(flatten)]
    pub output: DocOutput,
}

/// How many entries `history` shows by default: a screenful or two of the newest, answered in
/// milliseconds however busy the port was over 30 days.
const DEFAULT_LIMIT: usize = 200;

fn duration_ms(s: &str) -> Result<u64, InputError> {
    time::parse_duration_ms(s)
        .filter(|&ms| ms > 0)
        .ok_or_else(|| InputError::NotADuration(crate::text::clean(s).into_owned()))
}

fn pid_number(s: &str) -> Result<u32, InputError> {
    match s.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(InputError::NotAPid(crate::text::clean(s).into_owned())),
    }
}

fn interval_ms(s: &str) -> Result<u64, InputError> {
    match s.trim().parse::<u64>() {
        Ok(n) if (10..=60_000).contains(&n) => Ok(n),
        _ => Err(InputError::IntervalMsOutOfRange(
            crate::text::clean(s).into_owned(),
        )),
    }
}

fn size_bytes(s: &str) -> Result<u64, InputError> {
    let t = s.trim();
    let (n, mult) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1_000),
        Some((i, 'M' | 'm')) => (&t[..i], 1_000_000),
        Some((i, 'G' | 'g')) => (&t[..i], 1_000_000_000),
        _ => (t, 1),
    };
    n.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&b| b >= 100_000)
        .ok_or_else(|| InputError::SizeTooSmall(crate::text::clean(s).into_owned()))
}

fn db_path(given: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    given.cloned().or_else(store::default_path).ok_or_else(|| {
        anyhow::anyhow!(
            "no place for the database here (no data folder of this user): give --db FILE"
        )
    })
}

/// Runs the recorder until Ctrl+C, SIGTERM or `--for`.
pub(super) fn record(args: &RecordArgs) -> anyhow::Result<u8> {
    let path = db_path(args.db.as_ref())?;
    // Before any thread (the Ctrl+C handler's): the capture may need a mount namespace of its own.
    let prepared = capture::prepare();
    let mut store = Store::open_for_writing(&path)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .map_err(|e| anyhow::anyhow!("cannot catch Ctrl+C and SIGTERM: {e}"))?;
    }
    output::text(
        &(words::start_line(prepared.mode, &prepared.reason, args.interval, &path) + "\n"),
    );
    let opts = Options {
        interval_ms: args.interval,
        duration_ms: args.for_ms,
        limits: Limits {
            max_age_ms: args.max_age,
            max_bytes: args.max_size,
        },
    };
    match capture::run(&mut store, &opts, &stop, prepared) {
        Ok(sum) => {
            output::text(&(words::stop_line(&sum) + "\n"));
            Ok(exit::OK)
        }
        Err(StoreError::Full) => {
            output::error_line(&format!(
                "recording stopped: the disk holding {} is full (every record before is kept)",
                crate::text::clean(&path.display().to_string())
            ));
            Ok(exit::NOT_BINDABLE)
        }
        Err(e) => Err(e.into()),
    }
}

/// Prints a timeline.
pub(super) fn history(args: &HistoryArgs, program: &crate::program::Program) -> anyhow::Result<u8> {
    let format = args.output.format();
    let path = db_path(args.db.as_ref())?;
    let now = crate::record::now_ms();
    let offset = store::local_offset_secs(now);
    let from = time::parse_when(&args.since, now, offset).map_err(|e| InputError::NotATime {
        option: "--since",
        why: e.to_string(),
    })?;
    let to = time::parse_when(&args.until, now, offset).map_err(|e| InputError::NotATime {
        option: "--until",
        why: e.to_string(),
    })?;
    if from > to {
        return Err(InputError::SinceAfterUntil.into());
    }
    let subject = match (args.port, args.pid, args.failed) {
        (_, Some(pid), _) => Subject::Pid(pid),
        (Some(p), None, true) => Subject::FailedBindsOn(p),
        (None, None, true) => Subject::FailedBinds,
        (Some(p), None, false) => Subject::Port(p),
        (None, None, false) => {
            return Err(InputError::NoHistorySubject.into());
        }
    };
    let Some(store) = Store::open_for_reading(&path)? else {
        output::error_line(&format!(
            "no recorder database at {}: start the recorder ({}), or give the --db FILE it writes",
            crate::text::clean(&path.display().to_string()),
            words::start_command(
                &path,
                crate::record::store::unit_installed(),
                program,
                crate::platform::running_as_root()
            )
        ));
        return Ok(exit::NOT_BINDABLE);
    };
    let limit = (args.limit > 0).then_some(args.limit);
    let t = history::timeline_newest(&store, subject, from, to, now, limit)?;
    if format == Format::Json {
        output::json(&t);
    } else {
        output::text(&words::timeline_text(
            &t,
            &path,
            crate::record::store::unit_installed(),
            program,
            crate::platform::running_as_root(),
        ));
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_intervals_are_checked_at_the_edge() {
        assert_eq!(size_bytes("100M").ok(), Some(100_000_000), "megabytes");
        assert_eq!(size_bytes("500k").ok(), Some(500_000), "kilobytes");
        assert!(size_bytes("10").is_err(), "too small to hold a schema");
        assert!(interval_ms("5").is_err(), "too fast");
        assert_eq!(duration_ms("30d").ok(), Some(30 * 86_400_000), "days");
        assert!(duration_ms("0").is_err(), "zero");
    }
}
