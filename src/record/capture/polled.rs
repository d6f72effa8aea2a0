//! The polling loop (no eBPF): the table read every interval, diffed with the last read.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[cfg(unix)]
use super::tell::tell_journal;
use super::{FULL_READ_MS, HEARTBEAT_MS, Options, PRUNE_EVERY_MS, Summary};
use super::{count, fill_sharers, now_ms, read_table};
use crate::owners::{self, Scope};
use crate::record::store::{Store, StoreError};
use crate::record::{Snapshot, diff};
/// The polling loop: each read's changes are one transaction.
pub(super) fn polled(
    store: &mut Store,
    opts: &Options,
    done: &dyn Fn(&AtomicBool) -> bool,
    stop: &AtomicBool,
    mut sum: Summary,
) -> Result<Summary, StoreError> {
    let session = sum.session;
    let started = now_ms();
    #[cfg(unix)]
    let journal = crate::record::journal::Journal::open();
    let mut prev = Snapshot::new();
    let mut prev_ms: Option<u64> = None;
    let mut last_full = 0u64;
    let mut last_print: Option<u64> = None;
    let mut last_written = started;
    let mut last_prune = started;
    let interval = Duration::from_millis(opts.interval_ms.max(1));
    loop {
        let tick = std::time::Instant::now();
        let t = now_ms();
        let unchanged = prev_ms.is_some()
            && t.saturating_sub(last_full) < FULL_READ_MS
            && owners::fingerprint(Scope::Bound).is_some_and(|f| Some(f) == last_print);
        sum.polls += 1;
        if unchanged {
            if t.saturating_sub(last_written) >= HEARTBEAT_MS {
                store.apply(session, t, prev_ms, &[], &prev)?;
                last_written = t;
            }
            prev_ms = Some(t);
        } else {
            let print = owners::fingerprint(Scope::Bound);
            match read_table() {
                Some(mut now) => {
                    sum.full_reads += 1;
                    last_full = t;
                    last_print = print;
                    let changes = diff(&prev, &now);
                    fill_sharers(&mut now, &changes);
                    count(&mut sum, &changes);
                    // The first read is always written: its heartbeat says recording began.
                    if prev_ms.is_none()
                        || !changes.is_empty()
                        || t.saturating_sub(last_written) >= HEARTBEAT_MS
                    {
                        store.apply(session, t, prev_ms, &changes, &now)?;
                        last_written = t;
                    }
                    // The first read lists what was already there: not events.
                    #[cfg(unix)]
                    if let (Some(j), Some(_)) = (&journal, prev_ms) {
                        tell_journal(j, &changes, &prev, &now);
                    }
                    prev = now;
                    prev_ms = Some(t);
                }
                None => sum.incomplete += 1,
            }
        }
        if t.saturating_sub(last_prune) >= PRUNE_EVERY_MS {
            store.prune(opts.limits, t, session)?;
            last_prune = t;
        }
        if done(stop) {
            #[cfg(unix)]
            if let Some(j) = &journal {
                sum.journal_dropped = j.dropped();
            }
            return Ok(sum);
        }
        // Sleep to the next tick in short slices, so a stop is honoured within 50 ms.
        while let Some(left) = interval.checked_sub(tick.elapsed()) {
            if done(stop) || left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        if done(stop) {
            #[cfg(unix)]
            if let Some(j) = &journal {
                sum.journal_dropped = j.dropped();
            }
            return Ok(sum);
        }
    }
}
