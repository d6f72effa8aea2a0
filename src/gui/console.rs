//! The support desk's console in the window: what the machine picker, the remote checks and
//! the watched ports ask of the `App` (a remote failure said inline, a watch's update, a
//! notification's click, the urgency hint), kept out of `app.rs`.

use super::action::Tab;
use super::app::{App, clock_now};
use super::console_jobs::Notified;
use super::watches::WatchOutcome;
use super::worker::Event;

/// The first letter upper-cased (the core's one-line sentences start lower-case, as the command
/// line prints them after `port-inspector: error:`); the program's own name stays as it is.
fn sentence(s: &str) -> String {
    if s.starts_with("port-inspector") {
        return s.to_owned();
    }
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Why `machine` gave no answer, in the window's words (the CLI's sentence naming the window's
/// controls).
fn failure(machine: &crate::remote::Machine, error: &crate::remote::AskError) -> String {
    sentence(&crate::render::remote::ask_failure(
        machine,
        error,
        crate::wording::Front::Window,
    ))
}

impl App {
    /// The window's title: the picked machine, then the note ("… is free").
    #[must_use]
    pub fn window_title(&self) -> String {
        self.machines.title(self.title_note.as_deref())
    }

    /// Takes the console's events from the worker.
    pub(super) fn on_console_event(&mut self, event: Event) {
        match event {
            Event::RemoteFailed { id, machine, error } => {
                self.check.on_failed(id);
                self.status = Some(failure(&machine, &error));
            }
            Event::LiveFailed { machine, error } => {
                let why = failure(&machine, &error);
                self.listening_now.fail(machine.to_string(), why);
            }
            Event::FleetRow { id, index, answer } => {
                let answer = (*answer).map_err(|(m, e)| failure(&m, &e));
                self.fleet.on_row(id, index, answer);
            }
            Event::ScanFailed { id, machine, error } => {
                self.scan.fail(id, failure(&machine, &error));
            }
            Event::EndFailed { machine, error } => {
                self.end.failed();
                self.status = Some(failure(&machine, &error));
            }
            Event::Watch { key, update } => {
                self.watches.on_update(key, update, &self.worker);
                // The title says the newest met watch, of either tab, with its time.
                if let Some(note) = self.watches.met_note.take() {
                    self.title_note = Some(note);
                }
            }
            Event::Notification { key, how } => match how {
                Notified::Shown => self
                    .watches
                    .on_notified(key, (format!("Notified at {} UTC.", clock_now()), None)),
                // The service's own words (a D-Bus address, an OS error) on hover: the line says
                // what it means for the user.
                Notified::Failed(why) => self.watches.on_notified(
                    key,
                    (
                        "No desktop notification: the desktop's notification service could not be reached (the window asked for attention instead).".into(),
                        Some(crate::text::clean(&why).into_owned()),
                    ),
                ),
                Notified::Clicked => {
                    if let Some(i) = self.watches.index_of(key) {
                        self.watch_action(super::watches::WatchAction::Open(i));
                    }
                }
            },
            _ => {}
        }
    }

    /// Once a frame: the urgency hint when a watch was met.
    pub(super) fn console_frame(&mut self, ctx: &egui::Context) {
        if std::mem::take(&mut self.watches.attention) {
            ctx.send_viewport_cmd(egui::ViewportCommand::RequestUserAttention(
                egui::UserAttentionType::Informational,
            ));
        }
    }

    /// The Watches tab, drawn and its actions applied.
    pub(super) fn watches_tab_ui(&mut self, ui: &mut egui::Ui) {
        let picked = self.machines.picked.clone();
        for a in self.watches.ui(ui, picked.as_deref()) {
            self.watch_action(a);
        }
    }

    /// Runs the fleet view's check, or opens one of its answers in the Check tab.
    pub(super) fn fleet_action(&mut self, action: super::fleet::FleetAction) {
        match action {
            super::fleet::FleetAction::Run => {
                let Ok(target) = self.check.inputs.target() else {
                    self.status = Some("Give a port in the form first.".into());
                    return;
                };
                let mut machines = Vec::new();
                for m in self.fleet.ticked.clone() {
                    let remote = match &m {
                        None => None,
                        // A machine that is not one was refused when it was added.
                        Some(name) => match self.machines.remote_for(name) {
                            Ok(r) => Some(r),
                            Err(_) => continue,
                        },
                    };
                    machines.push((m, remote));
                }
                let id = self.next_id;
                self.next_id += 1;
                let cancel = crate::probe::CancelToken::new();
                self.fleet.started(id, cancel.clone(), &machines);
                let job = super::worker::Job::Fleet {
                    id,
                    target,
                    timeout: std::time::Duration::from_secs_f32(
                        self.check.inputs.timeout_secs.clamp(0.5, 120.0),
                    ),
                    machines,
                    cancel,
                };
                if !self.worker.start(job) {
                    self.fleet.running = None;
                    self.status = Some("Could not start the checks.".into());
                }
            }
            super::fleet::FleetAction::Open(i) => {
                // Shown as the answer it is, with the time it came (not the time it was opened).
                if let Some(row) = self.fleet.rows.get(i)
                    && let (Some(Ok(check)), Some((date, at))) = (&row.answer, &row.at)
                {
                    self.check
                        .push_answer_at(check.clone(), date.clone(), at.clone());
                    self.tab = Tab::Check;
                }
            }
        }
    }

    fn watch_action(&mut self, action: super::watches::WatchAction) {
        let outcome = self.watches.apply(action, &self.machines, &self.worker);
        if let Some(WatchOutcome::OpenCheck { target, machine }) = outcome {
            self.machines.picked = machine;
            self.open_on(target);
        }
    }
}
