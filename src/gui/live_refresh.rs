//! The live table's refresher: one thread that reads every socket while "Listening now" is
//! visible and wakes the window only when something changed. The window is then idle between
//! refreshes: with nothing happening on the machine it draws no frame at all, where a frame a
//! second under software rendering cost about 3 % of a core (measured, `cargo bench --bench
//! window_cpu`). The window tells it each frame what it shows (visible, paused, how often, the
//! look); a request to read at once (after an End, F5) or the tab coming into view wakes it.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::live_table::{Key, Look, REFRESH, key, prepare};
use super::worker::Event;
use crate::owners::{Owner, Scope};

/// However quiet the kernel's tables, the processes are read again this often (a socket can
/// change hands without changing: a holder exits and a child it shared it with keeps it).
const FULL_READ_EVERY: Duration = Duration::from_secs(10);

/// What the window wants of the refresher, as of its last frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    /// The tab is shown.
    pub visible: bool,
    /// The user paused it.
    pub paused: bool,
    /// How often to read.
    pub interval: Duration,
    /// The filter, sort and grouping the prepared view is for.
    pub look: Look,
}

impl Default for Wanted {
    fn default() -> Self {
        Self {
            visible: false,
            paused: false,
            interval: REFRESH,
            look: Look::default(),
        }
    }
}

#[derive(Default)]
struct Control {
    wanted: Wanted,
    soon: bool,
    stop: bool,
}

/// The handle: dropping it ends the thread.
pub struct LiveRefresher {
    shared: Arc<(Mutex<Control>, Condvar)>,
}

impl LiveRefresher {
    /// Starts the thread; `emit` hands a table to the window and wakes it, and says false once
    /// the window is gone.
    #[must_use]
    pub fn spawn(emit: impl Fn(Event) -> bool + Send + 'static) -> Self {
        let shared = Arc::new((Mutex::new(Control::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("live-table".into())
            .spawn(move || run(&theirs, &emit));
        if let Err(e) = spawned {
            super::worker::log_spawn_failure(&e);
        }
        Self { shared }
    }

    /// What the window shows now; `soon` asks for a read at once. Wakes the thread only when
    /// that matters (the tab came into view, a pause ended, a read is asked for).
    pub fn update(&self, wanted: &Wanted, soon: bool) {
        let (lock, cv) = &*self.shared;
        let mut c = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let wake = soon
            || (wanted.visible && !c.wanted.visible)
            || (c.wanted.paused && !wanted.paused)
            || wanted.interval < c.wanted.interval;
        if c.wanted != *wanted {
            c.wanted = wanted.clone();
        }
        c.soon |= soon;
        if wake {
            cv.notify_all();
        }
    }
}

impl Drop for LiveRefresher {
    fn drop(&mut self) {
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        cv.notify_all();
    }
}

/// The thread: wait until a read is due and wanted, read, hand it over if it changed.
fn run(shared: &(Mutex<Control>, Condvar), emit: &dyn Fn(Event) -> bool) {
    // The lowest priority, for this thread and the ones it starts: no frame waits for it.
    crate::platform::background_thread();
    let (lock, cv) = shared;
    let mut last: Option<Arc<Vec<Owner>>> = None;
    let mut gone: Vec<(Owner, Instant)> = Vec::new();
    let mut marked_new = false;
    let mut next = Instant::now();
    // The last full read: its fingerprint, scope and time.
    let mut read: Option<(u64, Scope, Instant)> = None;
    loop {
        let (wanted, soon) = {
            let mut c = lock.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if c.stop {
                    return;
                }
                let active = c.wanted.visible && !c.wanted.paused;
                let now = Instant::now();
                if active && (c.soon || now >= next) {
                    break;
                }
                c = if active {
                    cv.wait_timeout(c, next - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                } else {
                    // Hidden or paused: nothing to do until the window says otherwise.
                    next = now;
                    cv.wait(c).unwrap_or_else(PoisonError::into_inner)
                };
            }
            let soon = std::mem::take(&mut c.soon);
            (c.wanted.clone(), soon)
        };
        // "Connections too" off: only what holds a port without a peer is read (the table
        // of `list`), which is also what comes and goes less.
        let scope = if wanted.look.all {
            Scope::Everything
        } else {
            Scope::Bound
        };
        // Nothing came, went or changed state since the last full read (the kernel's dump
        // alone says so, in a millisecond or two): skip the walk over every process, unless
        // rows wait to be unmarked or to leave, or the last full read is old.
        let fingerprint = crate::owners::fingerprint(scope);
        let quiet = !soon
            && !marked_new
            && gone.is_empty()
            && last.is_some()
            && read.is_some_and(|(f, s, at)| {
                Some(f) == fingerprint && s == scope && at.elapsed() < FULL_READ_EVERY
            });
        if quiet {
            next = Instant::now() + wanted.interval;
            continue;
        }
        if read.is_some_and(|(_, s, _)| s != scope) {
            // Another scope ("Connections too" switched): a first read, nothing marked new.
            last = None;
            gone.clear();
        }
        let rows = crate::owners::table(None, scope).owners;
        read = fingerprint.map(|f| (f, scope, Instant::now()));
        let table = prepare(
            rows,
            last.as_deref().map(Vec::as_slice),
            gone.clone(),
            wanted.look,
        );
        // Changed: something appeared or vanished, a vanished row's time ran out, a state
        // changed, or the rows marked new last time are not new any more.
        let gone_keys =
            |g: &[(Owner, Instant)]| g.iter().map(|(o, _)| key(o)).collect::<HashSet<Key>>();
        let changed = soon
            || last.is_none()
            || marked_new
            || !table.new.is_empty()
            || gone_keys(&table.gone) != gone_keys(&gone)
            || last
                .as_deref()
                .is_some_and(|l| states_differ(l, &table.rows));
        last = Some(Arc::clone(&table.rows));
        gone.clone_from(&table.gone);
        next = Instant::now() + wanted.interval;
        if changed {
            marked_new = !table.new.is_empty();
            if !emit(Event::Sockets(Box::new(table))) {
                return;
            }
        }
    }
}

/// Whether two reads of the same sockets differ in a socket's state or holder (the sets are
/// the same, sorted the same way).
fn states_differ(a: &[Owner], b: &[Owner]) -> bool {
    a.len() != b.len()
        || a.iter()
            .zip(b)
            .any(|(x, y)| key(x) != key(y) || x.state != y.state || x.pid != y.pid)
}
