//! The support desk's console in the window: what the machine picker, the remote checks and
//! the watched ports ask of the `App` (a remote failure said inline, a watch's update, a
//! notification's click, the urgency hint), kept out of `app.rs`.

#[allow(clippy::wildcard_imports)]
use super::app::*;
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
                if self.running.as_ref().is_some_and(|r| r.id == id) {
                    self.running = None;
                }
                // The failure stands alone: no earlier answer (of this or another machine) is
                // left under it as if it were the reply.
                self.shown = None;
                self.status = Some(failure(&machine, &error));
            }
            Event::LiveFailed { machine, error } => {
                let why = failure(&machine, &error);
                self.listening_now.fail(machine.to_string(), why);
            }
            Event::ScanFailed { id, machine, error } => {
                self.scan.fail(id, failure(&machine, &error));
            }
            Event::EndFailed { machine, error } => {
                self.confirm_end = None;
                self.end_on = None;
                self.status = Some(failure(&machine, &error));
            }
            Event::Watch { key, update } => self.watches.on_update(key, update, &self.worker),
            Event::Notification { key, how } => match how {
                Notified::Shown => self
                    .watches
                    .on_notified(key, format!("Notified at {} UTC.", clock_now())),
                Notified::Failed(why) => self.watches.on_notified(
                    key,
                    format!("No desktop notification: {}.", crate::text::clean(&why)),
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

    fn watch_action(&mut self, action: super::watches::WatchAction) {
        let outcome = self.watches.apply(action, &self.machines, &self.worker);
        if let Some(WatchOutcome::OpenCheck { target, machine }) = outcome {
            self.machines.picked = machine;
            self.open_on(target);
        }
    }
}
