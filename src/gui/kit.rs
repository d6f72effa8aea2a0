//! The Support kit tab's state (hold and listen, watch until free, matrix, facts) and how its
//! jobs start.

use super::app::clock_now;
use super::worker::{Event, Job};
use crate::probe::CancelToken;

#[allow(clippy::wildcard_imports)]
use super::app::*;

/// A hold-and-listen in progress or just ended.
#[derive(Default)]
pub struct ListenRun {
    /// Stops the hold.
    pub cancel: CancelToken,
    /// What is held, once bound.
    pub bound: Option<String>,
    /// Arrivals so far.
    pub events: Vec<crate::support::ListenEvent>,
    /// How it ended.
    pub ended: Option<String>,
    /// How long it holds.
    pub secs: std::time::Duration,
    /// When the hold lets go (counted from the bind), for the countdown.
    pub until: Option<std::time::Instant>,
    /// What it holds, as asked (shown beside its lines: the form may say another target now).
    pub target: Option<crate::Target>,
}

impl ListenRun {
    /// Whole seconds left of the hold, once bound and until it ends.
    #[must_use]
    pub fn secs_left(&self) -> Option<u64> {
        let until = self.until.filter(|_| self.ended.is_none())?;
        let left = until.saturating_duration_since(std::time::Instant::now());
        Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
    }
}

/// A watch in progress or just ended.
#[derive(Default)]
pub struct WatchRun {
    /// Stops the watch.
    pub cancel: CancelToken,
    /// The latest line: who holds it now, or that it is free.
    pub status: String,
    /// Whether it ended.
    pub done: bool,
    /// What it watches.
    pub target: Option<crate::Target>,
}

/// The support-kit tab.
pub struct KitState {
    /// Facts, once read.
    pub facts: Option<crate::facts::Facts>,
    /// Whether they were asked for (the tab asks once, however it was opened).
    pub facts_asked: bool,
    /// Why they could not be read.
    pub facts_error: Option<String>,
    /// The last matrix.
    pub matrix: Option<crate::support::Matrix>,
    /// When the last matrix was tested (`HH:MM:SS` UTC).
    pub matrix_at: String,
    /// Whether a matrix is being computed.
    pub matrix_running: bool,
    /// Hold duration as typed, seconds.
    pub hold_secs_text: String,
    /// The current or last hold.
    pub listen: Option<ListenRun>,
    /// The current or last watch.
    pub watch: Option<WatchRun>,
}

impl Default for KitState {
    fn default() -> Self {
        Self {
            facts: None,
            facts_asked: false,
            facts_error: None,
            matrix: None,
            matrix_at: String::new(),
            matrix_running: false,
            hold_secs_text: "60".into(),
            listen: None,
            watch: None,
        }
    }
}

impl App {
    /// Whether a hold is running.
    #[must_use]
    pub fn listening(&self) -> bool {
        self.kit.listen.as_ref().is_some_and(|l| l.ended.is_none())
    }

    /// Whether a watch is running.
    #[must_use]
    pub fn watching(&self) -> bool {
        self.kit.watch.as_ref().is_some_and(|w| !w.done)
    }

    pub(super) fn start_listen(&mut self) {
        if self.listening() {
            return;
        }
        let (Ok(t), Ok(secs)) = (
            self.inputs.target(),
            crate::target::parse_seconds(&self.kit.hold_secs_text, 1.0, 3600.0, "hold time"),
        ) else {
            return;
        };
        let run = ListenRun {
            secs,
            target: Some(t.clone()),
            ..ListenRun::default()
        };
        let cancel = run.cancel.clone();
        self.kit.listen = Some(run);
        let job = Job::Hold {
            target: t,
            secs,
            cancel,
        };
        if !self.worker.start(job)
            && let Some(l) = &mut self.kit.listen
        {
            l.ended = Some("Could not start the listen thread.".into());
        }
    }

    pub(super) fn start_watch(&mut self) {
        if self.watching() {
            return;
        }
        let Ok(t) = self.inputs.target() else { return };
        let run = WatchRun {
            status: format!("Watching {}…", t.display_addr()),
            target: Some(t.clone()),
            ..WatchRun::default()
        };
        let cancel = run.cancel.clone();
        self.kit.watch = Some(run);
        self.title_note = None;
        if !self.worker.start(Job::Watch { target: t, cancel })
            && let Some(w) = &mut self.kit.watch
        {
            w.done = true;
            w.status = "Could not start the watch thread.".into();
        }
    }
}

impl App {
    /// Takes the support kit's events from the worker.
    pub(super) fn on_kit_event(&mut self, event: Event) {
        match event {
            Event::Facts(f) => self.kit.facts = Some(*f),
            Event::Matrix(m) => {
                self.kit.matrix_running = false;
                self.kit.matrix = Some(*m);
                self.kit.matrix_at = clock_now();
            }
            Event::ListenBound(b) => {
                if let Some(l) = &mut self.kit.listen {
                    l.bound = Some(b);
                    l.until = std::time::Instant::now().checked_add(l.secs);
                }
            }
            Event::Listen(ev) => {
                if let Some(l) = &mut self.kit.listen {
                    // Flat memory under a flood: the newest arrivals only, and a count.
                    if l.events.len() >= crate::support::KEPT_ARRIVALS {
                        l.events.remove(0);
                    }
                    l.events.push(ev);
                }
            }
            Event::ListenEnded(r) => {
                if let Some(l) = &mut self.kit.listen {
                    l.ended = Some(match *r {
                        Ok(s) => crate::wording::hold_released(&s),
                        Err(e) => format!("Could not hold the port: {}", e.headline()),
                    });
                }
            }
            Event::WatchTick(c) => {
                if let Some(w) = &mut self.kit.watch {
                    w.status = crate::wording::still_not_bindable(&c);
                }
            }
            Event::WatchDone(check) => {
                let free = check.bindable();
                let addr = check.report.target.display_addr();
                if let Some(w) = &mut self.kit.watch {
                    w.done = true;
                    w.status = if free {
                        format!("{addr} is free now.")
                    } else {
                        format!("Stopped watching {addr}; it is still not bindable.")
                    };
                }
                if free {
                    self.status = Some(format!("{addr} is free now."));
                    self.title_note = Some(format!("{addr} is free"));
                }
                self.history.push(HistoryEntry {
                    check: *check,
                    at: clock_now(),
                    date: date_now(),
                });
                // The watch's last check is the newest answer: it replaces the verdict shown
                // (never a red "in use" banner left under a "free now" line).
                self.shown = Some(self.history.len() - 1);
            }
            _ => {}
        }
    }
}

impl App {
    /// Applies the support kit's actions.
    pub(super) fn apply_kit(&mut self, action: &Action) {
        match *action {
            Action::RefreshFacts => {
                self.kit.facts_asked = true;
                self.kit.facts_error = (!self.worker.start(Job::Facts)).then(|| {
                    "The facts could not be read: no thread could be started for it.".into()
                });
            }
            Action::RunMatrix => {
                if let (Ok(t), false) = (self.inputs.target(), self.kit.matrix_running) {
                    self.kit.matrix_running = self.worker.start(Job::Matrix(t));
                }
            }
            Action::OpenMatrixCell(i) => {
                // A cell's answer is as old as the matrix: its check runs again, fresh, in the
                // Check tab (a stored one offered to end a holder that had exited meanwhile).
                if let Some(t) = self
                    .kit
                    .matrix
                    .as_ref()
                    .and_then(|m| m.cells.get(i))
                    .map(|c| c.check.report.target.clone())
                {
                    self.inputs.load_target(&t, &self.interfaces);
                    self.tab = Tab::Check;
                    self.start(t);
                }
            }
            Action::StartListen => self.start_listen(),
            Action::HoldAllInterfaces => {
                self.inputs.interface = super::form::InterfaceChoice::AllAny;
            }
            Action::StopListen => {
                if let Some(l) = &self.kit.listen {
                    l.cancel.cancel();
                }
            }
            Action::StartWatch => self.start_watch(),
            Action::RelaunchElevated => {
                self.status = Some(match crate::platform::relaunch_elevated() {
                    Ok(()) => {
                        "Asked the system to start Port Inspector elevated; answer its prompt."
                            .into()
                    }
                    Err(e) => format!(
                        "Could not start elevated: {e}. Run it with sudo (or as Administrator) yourself."
                    ),
                });
            }
            Action::StopWatch => {
                if let Some(w) = &self.kit.watch {
                    w.cancel.cancel();
                }
            }
            _ => {}
        }
    }
}
