//! The Check tab, a room of its own: the form, the check in flight, the answers since the window
//! opened and those of earlier runs, and the Save report dialog. Its `ui` draws the tab and
//! returns actions; its `apply` changes only this tab and says what the window around it must do
//! (a status line, an elevated copy). A check runs on the worker, here or on the picked machine
//! over ssh; never a lookup on the UI thread.

use std::time::{Duration, Instant};

use super::action::{Action, Tab};
use super::app::{EarlierEntry, HistoryEntry, Running, clock_now, date_now};
use super::end_flow::Gone;
use super::form::{Inputs, InterfaceChoice};
use super::machines::MachinesRoom;
use super::save::{SaveDialog, failure, file_stamp};
use super::views;
use super::worker::{Job, Worker};
use crate::check::Check;
use crate::facts::{self, Interface};
use crate::probe::CancelToken;
use crate::target::{Protocol, Target};

/// The Check tab's state.
pub struct CheckTab {
    /// The form.
    pub inputs: Inputs,
    /// Local interfaces for the picker.
    pub interfaces: Vec<Interface>,
    /// The check in flight.
    pub running: Option<Running>,
    /// Checks since the window opened, newest last.
    pub history: Vec<HistoryEntry>,
    /// Which history entry is shown.
    pub shown: Option<usize>,
    /// Checks of earlier runs, oldest first (remembered between runs, bounded).
    pub earlier: Vec<EarlierEntry>,
    /// Whether the history panel is shown.
    pub history_open: bool,
    /// The Save report dialog, while open.
    pub save: Option<SaveDialog>,
    /// Why the window cannot start itself elevated here, `None` when it can: decided once, by
    /// the function the Listening now tab asks (Relaunch as administrator only where it works).
    pub elevation: Option<String>,
    /// A width asked for from the keyboard (the panel's edge focused, then ← or →), applied at
    /// the next frame.
    history_resize_to: Option<f32>,
}

/// A holder an answer names that the window ended, or found gone, after the answer was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSince {
    /// Its PID.
    pub pid: u32,
    /// How it went.
    pub how: Gone,
    /// When the End reported it, `HH:MM:SS` UTC.
    pub at: String,
    /// The tab the End was asked from.
    pub from: Tab,
}

/// What the window around the Check tab lends it for one action: the worker its checks run on,
/// the request numbers, and the machine picker (an answer of another machine re-picks it).
pub struct Around<'a> {
    /// Where checks run.
    pub worker: &'a Worker,
    /// The next request number (shared by every tab's jobs).
    pub next_id: &'a mut u64,
    /// The machine the answers come from.
    pub machines: &'a mut MachinesRoom,
    /// Where Save report proposes to write.
    pub report_dir: &'a std::path::Path,
}

/// What a Check tab action asks of the window beyond the tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// A check started: the last status line no longer applies.
    Started,
    /// Say this on the status line.
    Status(String),
    /// Start an elevated copy of the window (a fix the answer offered).
    RelaunchElevated,
}

impl CheckTab {
    /// A tab with `inputs` in its form, the machine's interfaces read, nothing checked yet.
    #[must_use]
    pub fn new(inputs: Inputs) -> Self {
        Self {
            inputs: inputs.validated(),
            interfaces: facts::interfaces(),
            running: None,
            history: Vec::new(),
            shown: None,
            earlier: Vec::new(),
            history_open: true,
            save: None,
            history_resize_to: None,
            elevation: crate::platform::elevation_unavailable(),
        }
    }

    /// The check on screen.
    #[must_use]
    pub fn shown_check(&self) -> Option<&Check> {
        self.shown
            .and_then(|i| self.history.get(i))
            .map(|h| &h.check)
    }

    /// The shown answer's first holder with a PID that the window has not ended since (what
    /// Ctrl+E asks to end, as its button does).
    #[must_use]
    pub fn first_endable(&self) -> Option<usize> {
        let entry = self.history.get(self.shown?)?;
        entry.check.owners.iter().position(|o| {
            o.pid
                .is_some_and(|pid| !entry.ended.iter().any(|e| e.pid == pid))
        })
    }

    /// Whether a check runs.
    #[must_use]
    pub fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Shows `target` in the form (`port-inspector window TARGET`, a watch's or the kit's
    /// target): its interface picked when it is an address of this machine, as a scan row does.
    pub fn load(&mut self, target: &Target) {
        let host = target.host.to_string();
        self.inputs.interface = if target.host.is_all() {
            InterfaceChoice::AllAny
        } else {
            InterfaceChoice::for_host(&host, &self.interfaces)
        };
        self.inputs.custom_host = host;
        self.inputs.port_text = target.port.to_string();
        self.inputs.protocol = target.protocol;
        self.inputs.family = target.family;
        self.inputs.reuse_address = target.options.reuse_address;
        self.inputs.reuse_port = target.options.reuse_port;
        self.inputs.v6_only = target.options.v6_only;
        self.inputs.listen = target.options.listen;
        self.inputs.exclusive = target.options.exclusive_address_use;
    }

    /// Shows `host`:`port` (a scan's row, a socket of the live table) in the form with the
    /// matching interface picked, and returns the target to check.
    pub fn load_socket(&mut self, host: &str, port: u16, protocol: Protocol) -> Option<Target> {
        self.inputs.interface = InterfaceChoice::for_host(host, &self.interfaces);
        if self.inputs.interface == InterfaceChoice::Custom {
            host.clone_into(&mut self.inputs.custom_host);
        }
        self.inputs.port_text = port.to_string();
        self.inputs.protocol = protocol;
        self.inputs.target().ok()
    }

    /// Starts a check of `target` unless one is running (a second click while busy is ignored):
    /// on the probe thread, or over ssh on the picked machine.
    pub fn start(&mut self, target: Target, around: &mut Around<'_>) -> Option<CheckOutcome> {
        if self.running.is_some() {
            return None;
        }
        let id = *around.next_id;
        *around.next_id += 1;
        let cancel = CancelToken::new();
        let timeout = Duration::from_secs_f32(self.inputs.timeout_secs.clamp(0.5, 120.0));
        let job = match around.machines.picked_remote() {
            None => Job::Check {
                id,
                target: target.clone(),
                timeout,
                cancel: cancel.clone(),
            },
            Some(Ok(remote)) => Job::RemoteCheck {
                id,
                remote,
                target: target.clone(),
                timeout,
                cancel: cancel.clone(),
            },
            Some(Err(e)) => return Some(CheckOutcome::Status(e.to_string())),
        };
        if !around.worker.start(job) {
            return Some(CheckOutcome::Status(
                "The probe thread is not available; restart the app.".into(),
            ));
        }
        self.running = Some(Running {
            id,
            target,
            started: Instant::now(),
            cancel,
        });
        Some(CheckOutcome::Started)
    }

    /// A finished check: the newest answer, shown.
    pub fn on_finished(&mut self, id: u64, check: Check) {
        if self.running.as_ref().is_some_and(|r| r.id == id) {
            self.running = None;
        }
        self.push_answer(check);
    }

    /// A remote check that gave no answer: it stands alone, with no earlier answer (of this or
    /// another machine) left under it as if it were the reply.
    pub fn on_failed(&mut self, id: u64) {
        if self.running.as_ref().is_some_and(|r| r.id == id) {
            self.running = None;
        }
        self.shown = None;
    }

    /// An answer made elsewhere (a watch's last check) becomes the newest answer, shown: never
    /// a red "in use" banner left under a "free now" line.
    pub fn push_answer(&mut self, check: Check) {
        self.push_answer_at(check, date_now(), clock_now());
    }

    /// An answer made elsewhere without the user asking (a watch's last check): kept as the
    /// newest of its target, and shown only in place of nothing or of an older answer of the
    /// same target (never over another answer the user is reading). True when shown.
    pub fn offer_answer(&mut self, check: Check) -> bool {
        let keep = self
            .shown_check()
            .filter(|c| c.report.target != check.report.target || c.machine != check.machine);
        let kept = keep.is_some().then_some(self.shown).flatten();
        self.push_answer(check);
        if kept.is_some() {
            self.shown = kept;
        }
        kept.is_none()
    }

    /// An answer that came at `date` `at` (UTC), shown as the newest with its own time: the
    /// time the check says it was answered, the one its report carries, when it says one (an
    /// older version's answer does not).
    pub fn push_answer_at(&mut self, check: Check, date: String, at: String) {
        let (date, at) = check.checked_at_unix_ms.map_or((date, at), |ms| {
            (
                crate::record::time::date(ms, 0),
                crate::record::time::clock(ms, 0),
            )
        });
        self.history.push(HistoryEntry {
            check,
            at,
            date,
            ended: Vec::new(),
        });
        self.shown = Some(self.history.len() - 1);
    }

    /// An End on `machine` (`None`: this one) left the PIDs of `gone` gone at `at`: every
    /// answer of that machine naming one of them says so (the window knows it is older), and
    /// offers no End for it. The answers are not checked again: what the user reads stays, with
    /// what happened since above it, and Check again is one click.
    pub fn mark_ended(&mut self, machine: Option<&str>, gone: &[(u32, Gone)], from: Tab, at: &str) {
        for entry in &mut self.history {
            if entry.check.machine.as_deref() != machine {
                continue;
            }
            for &(pid, how) in gone {
                let named = entry
                    .check
                    .owners
                    .iter()
                    .any(|o| o.pid == Some(pid) || o.pids.contains(&pid));
                if named && !entry.ended.iter().any(|e| e.pid == pid) {
                    entry.ended.push(EndedSince {
                        pid,
                        how,
                        at: at.to_owned(),
                        from,
                    });
                }
            }
        }
    }

    /// The history panel (left of the tab, when open): bounded and resizable, never as wide as
    /// its longest entry.
    pub fn history_panel(&mut self, ui: &mut egui::Ui) -> Vec<Action> {
        const WIDTHS: std::ops::RangeInclusive<f32> = 150.0..=320.0;
        let mut actions = Vec::new();
        if !self.history_open {
            return actions;
        }
        // egui's own id of the panel's resize edge: a Tab stop that shows nothing and does
        // nothing from the keyboard unless the window makes it.
        let edge = ui.scope_id().with("history").with("__resize");
        let mut panel = egui::Panel::left("history")
            .resizable(true)
            .default_size(200.0)
            .min_size(*WIDTHS.start())
            .max_size(*WIDTHS.end());
        if let Some(w) = self.history_resize_to.take() {
            panel = panel.exact_size(w);
        }
        let shown = panel.show(ui, |ui| {
            // The panel keeps the width it was given (by default, a drag or the keys), not the
            // width of its entries.
            ui.set_min_width(ui.available_width());
            actions = views::history_ui(ui, &self.history, &self.earlier, self.shown);
        });
        if ui.ctx().memory(|m| m.has_focus(edge)) {
            // Focused from the keyboard: the edge is drawn, and ← → move it.
            let rect = shown.response.rect;
            let step = views::edge_keys(ui, edge, rect.right(), rect.y_range());
            if step != 0.0 {
                self.history_resize_to =
                    Some((rect.width() + step).clamp(*WIDTHS.start(), *WIDTHS.end()));
                ui.ctx().request_repaint();
            }
        }
        actions
    }

    /// The tab's body: the form (for the picked `machine`, `None` for this one), then what
    /// `between` draws (the fleet view), then the answer shown with its target and time, or the
    /// status line when there is none.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        status: Option<&str>,
        machine: Option<&str>,
        between: impl FnOnce(&mut egui::Ui),
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        egui::ScrollArea::vertical().show(ui, |ui| {
            actions.extend(views::form_ui(
                ui,
                &mut self.inputs,
                &self.interfaces,
                machine,
                self.running.as_ref(),
            ));
            between(ui);
            let shown = self.shown_check();
            if shown.is_none()
                && let Some(s) = status
            {
                ui.add(egui::Label::new(s).wrap());
            }
            ui.separator();
            if let Some(c) = shown {
                if let Some(i) = self.shown
                    && let Some(entry) = self.history.get(i)
                {
                    let newest = !self.history[i + 1..]
                        .iter()
                        .any(|h| h.check.report.target == entry.check.report.target);
                    actions.extend(views::answer_heading_ui(ui, entry, newest));
                }
                let ended = self
                    .shown
                    .and_then(|i| self.history.get(i))
                    .map_or(&[][..], |e| &e.ended);
                let around = views::AnswerAround {
                    status,
                    ended,
                    elevation: self.elevation.as_deref(),
                };
                actions.extend(views::result_ui(ui, c, &around));
            } else if self.running.is_none() {
                ui.label("Pick an interface and a port, then press Test bind (or Enter).");
            }
        });
        if let Some(dialog) = &mut self.save {
            actions.extend(views::save_dialog_ui(ui, dialog));
        }
        actions
    }

    /// Applies one of the tab's own actions; the others are not its business (`None`).
    pub fn apply(
        &mut self,
        ctx: &egui::Context,
        action: &Action,
        around: &mut Around<'_>,
    ) -> Option<CheckOutcome> {
        match *action {
            Action::Test => {
                let t = self.inputs.target().ok()?;
                self.start(t, around)
            }
            Action::Rerun(i) => {
                let h = self.history.get(i)?;
                let t = h.check.report.target.clone();
                around.machines.picked.clone_from(&h.check.machine);
                self.inputs.load_target(&t, &self.interfaces);
                self.start(t, around)
            }
            Action::RerunShown => self.apply(ctx, &Action::Rerun(self.shown?), around),
            Action::Cancel => {
                if let Some(r) = &self.running {
                    r.cancel.cancel();
                }
                None
            }
            Action::ToggleHistory => {
                self.history_open = !self.history_open;
                None
            }
            Action::Show(i) => {
                let h = self.history.get(i)?;
                let t = h.check.report.target.clone();
                around.machines.picked.clone_from(&h.check.machine);
                self.shown = Some(i);
                self.inputs.load_target(&t, &self.interfaces);
                None
            }
            Action::ClearHistory => {
                self.history.clear();
                self.earlier.clear();
                self.shown = None;
                None
            }
            Action::LoadEarlier(i) => {
                let t = self.earlier.get(i).map(|e| e.target.clone())?;
                self.inputs.load_target(&t, &self.interfaces);
                self.shown = None;
                Some(CheckOutcome::Status(
                    "Loaded into the form: press Test bind (or Enter) to check it now.".into(),
                ))
            }
            Action::CopyReport => {
                let c = self.shown_check()?;
                ctx.copy_text(crate::render::report::markdown(c));
                Some(CheckOutcome::Status(
                    "Report copied to the clipboard (Markdown).".into(),
                ))
            }
            Action::ApplyFix(ref fix) => self.apply_fix(fix, around),
            Action::RefreshInterfaces => {
                self.interfaces = facts::interfaces();
                Some(CheckOutcome::Status(format!(
                    "{} interface addresses found.",
                    self.interfaces.len()
                )))
            }
            Action::SaveReport => {
                self.ask_save(around.report_dir);
                None
            }
            Action::SaveTo { replace } => self.save_to(replace),
            Action::CancelSave => {
                self.save = None;
                None
            }
            _ => None,
        }
    }

    /// Applies a fix the answer offered (a free port, an option) to the form and checks again.
    fn apply_fix(
        &mut self,
        fix: &crate::diagnose::Fix,
        around: &mut Around<'_>,
    ) -> Option<CheckOutcome> {
        use crate::diagnose::Fix;
        match *fix {
            Fix::UseFreePort { port } => self.inputs.port_text = port.to_string(),
            Fix::SetReuseAddr => self.inputs.reuse_address = true,
            Fix::SetReusePort => self.inputs.reuse_port = true,
            Fix::SetV6Only => self.inputs.v6_only = Some(true),
            Fix::RunElevated => return Some(CheckOutcome::RelaunchElevated),
            _ => return None,
        }
        let t = self.inputs.target().ok()?;
        self.start(t, around)
    }

    /// Opens the Save report dialog, proposing a name with the port and the date and time of
    /// the check (not of the save: the report is of that moment).
    fn ask_save(&mut self, dir: &std::path::Path) {
        if let Some(c) = self.shown_check() {
            let name = format!(
                "port-inspector-report-{}-{}.md",
                c.report.target.port,
                file_stamp(c.checked_at_unix_ms.unwrap_or_else(crate::record::now_ms))
            );
            self.save = Some(SaveDialog {
                path_text: dir.join(name).display().to_string(),
                exists: false,
                error: None,
            });
        }
    }

    /// Writes the shown check's report where the dialog says: a new file, or a replacement only
    /// when `replace` (asked for by the user); `files::write` never follows a link.
    fn save_to(&mut self, replace: bool) -> Option<CheckOutcome> {
        let c = self.shown.and_then(|i| self.history.get(i))?;
        let dialog = self.save.as_mut()?;
        let path = std::path::PathBuf::from(dialog.path_text.trim());
        match crate::files::write(
            &path,
            crate::render::report::markdown(&c.check).as_bytes(),
            replace,
        ) {
            Ok(()) => {
                self.save = None;
                return Some(CheckOutcome::Status(format!(
                    "Report saved to {}",
                    path.display()
                )));
            }
            Err(crate::files::WriteError::Exists) if !replace => {
                dialog.exists = true;
                dialog.error = None;
            }
            Err(e) => {
                dialog.error = Some(format!(
                    "Could not save to {}: {}.",
                    path.display(),
                    failure(&e)
                ));
            }
        }
        None
    }
}
