//! The live table's refresher: one thread that reads every socket while "Listening now" is
//! visible and wakes the window only when something changed. The window is then idle between
//! refreshes: with nothing happening on the machine it draws no frame at all, where a frame a
//! second under software rendering cost about 3 % of a core (measured, `cargo bench --bench
//! window_cpu`). The window tells it each frame what it shows (visible, paused, how often, the
//! look); a request to read at once (after an End, F5) or the tab coming into view wakes it.
//! With another machine picked it reads that machine's table instead (its own `list --json`
//! over ssh, every [`REMOTE_REFRESH`] at the most often: each read logs in there).

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::live_table::{Key, Look, REFRESH, Table, key, prepare};
use super::worker::Event;
use crate::owners::{Owner, Scope};
use crate::remote::{ListRow, Remote};

/// The shortest time between two reads of another machine's table: each read is an ssh login
/// and a full `list` there, so a second-by-second refresh would load the machine and the link
/// for little (a support desk looks at what holds its ports, not at a packet trace).
pub const REMOTE_REFRESH: Duration = Duration::from_secs(5);

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
    /// The machine whose table is shown (`None`: this one).
    pub remote: Option<Remote>,
}

impl Default for Wanted {
    fn default() -> Self {
        Self {
            visible: false,
            paused: false,
            interval: REFRESH,
            look: Look::default(),
            remote: None,
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
            || wanted.interval < c.wanted.interval
            || wanted.remote != c.wanted.remote;
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

/// What the thread keeps between reads: the last table, the rows shown as vanished, and where
/// and what they were read from (another machine or scope starts afresh, nothing marked new).
#[derive(Default)]
struct Shown {
    last: Option<Arc<Vec<Owner>>>,
    gone: Vec<(Owner, Instant)>,
    marked_new: bool,
    origin: Option<(Option<String>, Scope)>,
}

impl Shown {
    /// Forgets the last table when `origin` is not where it was read.
    fn from(&mut self, origin: (Option<String>, Scope)) {
        if self.origin.as_ref() != Some(&origin) {
            self.last = None;
            self.gone.clear();
            self.marked_new = false;
            self.origin = Some(origin);
        }
    }

    /// The table of a fresh read, when it differs from the last one (or `soon` asked for it).
    fn take(&mut self, rows: Vec<Owner>, look: Look, soon: bool) -> Option<Table> {
        let mut table = prepare(
            rows,
            self.last.as_deref().map(Vec::as_slice),
            self.gone.clone(),
            look,
        );
        table.machine = self.origin.as_ref().and_then(|o| o.0.clone());
        // Changed: something appeared or vanished, a vanished row's time ran out, a state
        // changed, or the rows marked new last time are not new any more.
        let gone_keys =
            |g: &[(Owner, Instant)]| g.iter().map(|(o, _)| key(o)).collect::<HashSet<Key>>();
        let changed = soon
            || self.last.is_none()
            || self.marked_new
            || !table.new.is_empty()
            || gone_keys(&table.gone) != gone_keys(&self.gone)
            || self
                .last
                .as_deref()
                .is_some_and(|l| states_differ(l, &table.rows));
        self.last = Some(Arc::clone(&table.rows));
        self.gone.clone_from(&table.gone);
        if changed {
            self.marked_new = !table.new.is_empty();
        }
        changed.then_some(table)
    }
}

/// The thread: wait until a read is due and wanted, read, hand it over if it changed.
fn run(shared: &(Mutex<Control>, Condvar), emit: &dyn Fn(Event) -> bool) {
    // The lowest priority, for this thread and the ones it starts: no frame waits for it.
    crate::platform::background_thread();
    let (lock, cv) = shared;
    let mut shown = Shown::default();
    let mut next = Instant::now();
    // The last full read of this machine: its fingerprint, scope and time.
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
        let event = if let Some(remote) = &wanted.remote {
            let event = read_there(remote, &wanted, soon, scope, &mut shown);
            next = Instant::now() + wanted.interval.max(REMOTE_REFRESH);
            // The pick changed while ssh ran: that answer is of a machine no longer shown.
            let still = lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .wanted
                .remote
                == wanted.remote;
            if !still {
                next = Instant::now();
                continue;
            }
            event
        } else {
            // Nothing came, went or changed state since the last full read (the kernel's
            // dump alone says so, in a millisecond or two): skip the walk over every
            // process, unless rows wait to be unmarked or to leave, or the last full read
            // is old.
            let fingerprint = crate::owners::fingerprint(scope);
            shown.from((None, scope));
            let quiet = !soon
                && !shown.marked_new
                && shown.gone.is_empty()
                && shown.last.is_some()
                && read.is_some_and(|(f, s, at)| {
                    Some(f) == fingerprint && s == scope && at.elapsed() < FULL_READ_EVERY
                });
            if quiet {
                next = Instant::now() + wanted.interval;
                continue;
            }
            let rows = crate::owners::table(None, scope).owners;
            read = fingerprint.map(|f| (f, scope, Instant::now()));
            next = Instant::now() + wanted.interval;
            shown
                .take(rows, wanted.look.clone(), soon)
                .map(|t| Event::Sockets(Box::new(t)))
        };
        if let Some(e) = event
            && !emit(e)
        {
            return;
        }
    }
}

/// One read of another machine's table: its `list --json` over ssh (every string escaped),
/// the table when it changed, or why there is none.
fn read_there(
    remote: &Remote,
    wanted: &Wanted,
    soon: bool,
    scope: Scope,
    shown: &mut Shown,
) -> Option<Event> {
    shown.from((Some(remote.machine.to_string()), scope));
    match crate::remote::ask_cleaned::<Vec<ListRow>>(
        remote,
        crate::remote::list_words(wanted.look.all),
    ) {
        Ok((_, rows)) => shown
            .take(
                rows.iter().map(ListRow::owner).collect(),
                wanted.look.clone(),
                soon,
            )
            .map(|t| Event::Sockets(Box::new(t))),
        Err(error) => {
            // The next answer is a first read again: nothing in it is "new".
            shown.last = None;
            shown.gone.clear();
            Some(Event::LiveFailed {
                machine: remote.machine.clone(),
                error,
            })
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
