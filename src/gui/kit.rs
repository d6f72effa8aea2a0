//! The Support kit tab's state (hold and listen, watch until free, matrix, facts) and how its
//! jobs start.

use super::action::Action;
use super::app::clock_now;
use super::worker::{Event, Job, Worker};
use crate::probe::CancelToken;

/// When a watch's last check answered, `HH:MM:SS` UTC (now, for an answer with no time).
#[must_use]
pub fn watched_at(check: &crate::check::Check) -> String {
    check
        .checked_at_unix_ms
        .map_or_else(clock_now, |ms| crate::record::time::clock(ms, 0))
}

/// A hold-and-listen in progress or just ended.
#[derive(Default)]
pub struct ListenRun {
    /// Stops the hold.
    pub cancel: CancelToken,
    /// What is held, once bound.
    pub bound: Option<Vec<std::net::SocketAddr>>,
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

/// What a Support kit action or event asks of the window beyond the tab.
pub enum KitOutcome {
    /// Load this target into the Check tab's form, show that tab and check it now (a matrix
    /// cell's answer is as old as the matrix).
    CheckNow(crate::Target),
    /// Set the Check form's interface to all interfaces (a hold on loopback cannot be reached
    /// from elsewhere).
    HoldAllInterfaces,
    /// The watch ended with this fresh check: the newest answer of its target, in the Check
    /// tab's history (shown there in place of an older answer of the same target, never of
    /// another); `free` says whether the port could be bound then.
    Watched {
        /// The watch's last check.
        check: Box<crate::check::Check>,
        /// Whether it is bindable now.
        free: bool,
    },
    /// A watch started: the title's note of the last one is no longer its business.
    ClearTitle,
}

impl KitState {
    /// Whether a hold is running.
    #[must_use]
    pub fn listening(&self) -> bool {
        self.listen.as_ref().is_some_and(|l| l.ended.is_none())
    }

    /// Whether a watch is running.
    #[must_use]
    pub fn watching(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| !w.done)
    }

    /// Draws the tab for the Check form's `target`; returns what the user did.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        target: Result<&crate::Target, &crate::target::InputError>,
    ) -> Vec<Action> {
        super::views::kit_ui(ui, self, target)
    }

    /// Asks the worker for the facts (once the tab is shown, however it was opened).
    pub fn ask_facts(&mut self, worker: &Worker) {
        self.facts_asked = true;
        self.facts_error = (!worker.start(Job::Facts))
            .then(|| "The facts could not be read: no thread could be started for it.".into());
    }

    fn start_listen(&mut self, target: crate::Target, worker: &Worker) {
        if self.listening() {
            return;
        }
        let Ok(secs) = crate::target::parse_seconds(&self.hold_secs_text, 1.0, 3600.0, "hold time")
        else {
            return;
        };
        let run = ListenRun {
            secs,
            target: Some(target.clone()),
            ..ListenRun::default()
        };
        let cancel = run.cancel.clone();
        self.listen = Some(run);
        let job = Job::Hold {
            target,
            secs,
            cancel,
        };
        if !worker.start(job)
            && let Some(l) = &mut self.listen
        {
            l.ended = Some("Could not start the listen thread.".into());
        }
    }

    fn start_watch(&mut self, target: crate::Target, worker: &Worker) {
        let run = WatchRun {
            status: format!("Watching {}…", target.display_addr()),
            target: Some(target.clone()),
            ..WatchRun::default()
        };
        let cancel = run.cancel.clone();
        self.watch = Some(run);
        if !worker.start(Job::Watch { target, cancel })
            && let Some(w) = &mut self.watch
        {
            w.done = true;
            w.status = "Could not start the watch thread.".into();
        }
    }

    /// Takes the support kit's events from the worker.
    pub fn on_event(&mut self, event: Event) -> Option<KitOutcome> {
        match event {
            Event::Facts(f) => self.facts = Some(*f),
            Event::Matrix(m) => {
                self.matrix_running = false;
                self.matrix = Some(*m);
                self.matrix_at = clock_now();
            }
            Event::ListenBound(b) => {
                if let Some(l) = &mut self.listen {
                    l.bound = Some(b);
                    l.until = std::time::Instant::now().checked_add(l.secs);
                }
            }
            Event::Listen(ev) => {
                if let Some(l) = &mut self.listen {
                    // Flat memory under a flood: the newest arrivals only, and a count.
                    if l.events.len() >= crate::support::KEPT_ARRIVALS {
                        l.events.remove(0);
                    }
                    l.events.push(ev);
                }
            }
            Event::ListenEnded(r) => {
                if let Some(l) = &mut self.listen {
                    l.ended = Some(match *r {
                        Ok(s) => crate::render::hold_released(&s),
                        // The CLI's line (who holds the port, as a check says it), as a sentence.
                        Err(e) => sentence(&crate::render::hold::refused(l.target.as_ref(), &e)),
                    });
                }
            }
            Event::WatchTick(c) => {
                if let Some(w) = &mut self.watch {
                    w.status = crate::render::still_not_bindable(&c);
                }
            }
            Event::WatchDone(check) => {
                let free = check.bindable();
                let addr = check.report.target.display_addr();
                if let Some(w) = &mut self.watch {
                    w.done = true;
                    // When, never "now": the port may be taken again a second later.
                    w.status = if free {
                        format!("{addr} was free at {} UTC.", watched_at(&check))
                    } else {
                        format!("Stopped watching {addr}; it is still not bindable.")
                    };
                }
                return Some(KitOutcome::Watched { check, free });
            }
            _ => {}
        }
        None
    }

    /// Applies the tab's own actions with the Check form's `target`; returns what it asks of
    /// the window.
    pub fn apply(
        &mut self,
        action: &Action,
        target: Result<crate::Target, crate::target::InputError>,
        worker: &Worker,
    ) -> Option<KitOutcome> {
        match *action {
            Action::RefreshFacts => self.ask_facts(worker),
            Action::RunMatrix => {
                if let (Ok(t), false) = (target, self.matrix_running) {
                    self.matrix_running = worker.start(Job::Matrix(t));
                }
            }
            Action::OpenMatrixCell(i) => {
                // A cell's answer is as old as the matrix: its check runs again, fresh, in the
                // Check tab (a stored one offered to end a holder that had exited meanwhile).
                return self
                    .matrix
                    .as_ref()
                    .and_then(|m| m.cells.get(i))
                    .map(|c| KitOutcome::CheckNow(c.check.report.target.clone()));
            }
            Action::StartListen => {
                if let Ok(t) = target {
                    self.start_listen(t, worker);
                }
            }
            Action::HoldAllInterfaces => return Some(KitOutcome::HoldAllInterfaces),
            Action::StopListen => {
                if let Some(l) = &self.listen {
                    l.cancel.cancel();
                }
            }
            Action::StartWatch => {
                if let (Ok(t), false) = (target, self.watching()) {
                    self.start_watch(t, worker);
                    return Some(KitOutcome::ClearTitle);
                }
            }
            Action::StopWatch => {
                if let Some(w) = &self.watch {
                    w.cancel.cancel();
                }
            }
            _ => {}
        }
        None
    }
}

/// A line as a sentence: its first letter upper-case.
fn sentence(line: &str) -> String {
    let mut c = line.chars();
    c.next().map_or_else(String::new, |f| {
        format!("{}{}", f.to_uppercase(), c.as_str())
    })
}
