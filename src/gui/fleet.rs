//! The fleet view, under the Check tab's form: the form's port checked on several machines at
//! once (this one and any of the picker's), a row per machine with its verdict and holders, each
//! row opening its full answer. The checks run in parallel on the worker, each machine with a
//! deadline of its own; a machine that gives no answer is a row with its reason, never a failure
//! of the whole view.

use std::time::Duration;

use crate::check::Check;
use crate::probe::CancelToken;
use crate::remote::Remote;

/// How long one machine may take to answer (ssh's own connect timeout is 10 s; the check there
/// has the form's resolver timeout).
pub const FLEET_MACHINE_SECS: u64 = 30;

/// The name of this machine in the fleet's list.
const THIS_MACHINE: &str = "This machine";

/// One machine's row.
#[derive(Debug, Clone)]
pub struct FleetRow {
    /// The machine (`None`: this one).
    pub machine: Option<String>,
    /// Its answer, or why there is none (the window's sentence); `None` while it is awaited.
    pub answer: Option<Result<Check, String>>,
    /// When the answer came, `(2026-12-06, 04:12:05)` UTC: opened in the Check tab, it keeps
    /// this time, not the time it was opened.
    pub at: Option<(String, String)>,
}

/// What the fleet's controls ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetAction {
    /// Check the form's port on the ticked machines.
    Run,
    /// Show row `i`'s full answer.
    Open(usize),
}

/// The fleet view's state.
#[derive(Debug, Default)]
pub struct FleetRoom {
    /// The ticked machines (`None`: this one).
    pub ticked: Vec<Option<String>>,
    /// The rows of the last run.
    pub rows: Vec<FleetRow>,
    /// The run in flight: its number and cancel flag.
    pub running: Option<(u64, CancelToken)>,
}

/// A machine to check: its name (`None`: this one) and how it is reached.
pub type FleetMachine = (Option<String>, Option<Remote>);

impl FleetRoom {
    /// Draws the view; `names` are the picker's machines.
    pub fn ui(&mut self, ui: &mut egui::Ui, names: &[String]) -> Vec<FleetAction> {
        let mut actions = Vec::new();
        egui::CollapsingHeader::new("On several machines")
            .id_salt("fleet")
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    let all = std::iter::once(None).chain(names.iter().cloned().map(Some));
                    for m in all {
                        let text = m.as_deref().map_or_else(
                            || THIS_MACHINE.to_owned(),
                            |n| crate::text::clean(n).into_owned(),
                        );
                        let mut on = self.ticked.contains(&m);
                        if ui.checkbox(&mut on, text).changed() {
                            if on {
                                self.ticked.push(m);
                            } else {
                                self.ticked.retain(|t| *t != m);
                            }
                        }
                    }
                });
                let n = self.ticked.len();
                let can = n > 0 && self.running.is_none();
                if ui
                    .add_enabled(
                        can,
                        egui::Button::new(format!(
                            "Check on {}",
                            crate::wording::count(n, "machine", "machines")
                        )),
                    )
                    .clicked()
                {
                    actions.push(FleetAction::Run);
                }
                self.table_ui(ui, &mut actions);
            });
        actions
    }

    /// The results: when they were had, then a row per machine read along a line — its name,
    /// the verdict, who holds the port, Open —, a machine without an answer its reason on the
    /// same line, wrapped to the panel (in a table's column it stood 14 lines tall at 1024×720).
    fn table_ui(&self, ui: &mut egui::Ui, actions: &mut Vec<FleetAction>) {
        if self.rows.is_empty() {
            return;
        }
        let mut times: Vec<&str> = self
            .rows
            .iter()
            .filter_map(|r| r.at.as_ref().map(|(_, at)| at.as_str()))
            .collect();
        times.sort_unstable();
        let when = match (times.first(), times.last()) {
            (Some(a), Some(b)) if a == b => format!(", checked at {a} UTC"),
            (Some(a), Some(b)) => format!(", checked from {a} to {b} UTC"),
            _ => String::new(),
        };
        let n = self.rows.len();
        ui.label(format!(
            "{}{when}{}",
            crate::wording::count(n, "machine", "machines"),
            if self.running.is_some() {
                " (still waiting for some)"
            } else {
                ""
            }
        ));
        for (i, r) in self.rows.iter().enumerate() {
            let name = r.machine.as_deref().map_or_else(
                || THIS_MACHINE.to_owned(),
                |n| crate::text::clean(n).into_owned(),
            );
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.strong(format!("{name}:"));
                    match &r.answer {
                        None => {
                            ui.spinner();
                        }
                        Some(Err(why)) => {
                            ui.colored_label(ui.visuals().error_fg_color, "No answer.");
                            ui.add(egui::Label::new(why.as_str()).wrap());
                        }
                        Some(Ok(c)) => {
                            ui.add(egui::Label::new(crate::render::report::headline(c)).wrap());
                            let held = crate::wording::holders_in_words(&c.owners);
                            if !held.is_empty() {
                                ui.add(egui::Label::new(format!("Held by {held}.")).wrap());
                            }
                            let b = ui.button("Open");
                            b.widget_info(|| {
                                egui::WidgetInfo::labeled(
                                    egui::Role::Button,
                                    true,
                                    format!("Open the answer of {name}"),
                                )
                            });
                            if b.clicked() {
                                actions.push(FleetAction::Open(i));
                            }
                        }
                    }
                });
            });
        }
    }

    /// A run started: one waiting row per machine.
    pub fn started(&mut self, id: u64, cancel: CancelToken, machines: &[FleetMachine]) {
        self.rows = machines
            .iter()
            .map(|(m, _)| FleetRow {
                at: None,
                machine: m.clone(),
                answer: None,
            })
            .collect();
        self.running = Some((id, cancel));
    }

    /// One machine's answer (or why none) for run `id`; the run ends with its last row.
    pub fn on_row(&mut self, id: u64, index: usize, answer: Result<Check, String>) {
        if self.running.as_ref().is_none_or(|r| r.0 != id) {
            return;
        }
        if let Some(r) = self.rows.get_mut(index) {
            r.answer = Some(answer);
            r.at = Some((super::app::date_now(), super::app::clock_now()));
        }
        if self.rows.iter().all(|r| r.answer.is_some()) {
            self.running = None;
        }
    }
}

/// Checks `target` on every machine at once, each on its own thread, reporting each answer as
/// it comes; a machine still silent after [`FLEET_MACHINE_SECS`] is reported as unreachable.
pub fn run(
    target: &crate::Target,
    timeout: Duration,
    machines: Vec<FleetMachine>,
    cancel: &CancelToken,
    report: &dyn Fn(usize, Result<Check, (crate::remote::Machine, crate::remote::AskError)>),
) {
    use crate::remote::{AskError, RemoteError};
    let (tx, rx) = std::sync::mpsc::channel();
    let mut waiting = Vec::new();
    for (i, (_, remote)) in machines.into_iter().enumerate() {
        let (tx, target, cancel) = (tx.clone(), target.clone(), cancel.clone());
        waiting.push((i, remote.as_ref().map(|r| r.machine.clone())));
        let _ = std::thread::Builder::new()
            .name("fleet".into())
            .spawn(move || {
                let answer = match &remote {
                    None => {
                        let cfg = crate::probe::ProbeConfig {
                            timeout,
                            ..crate::probe::ProbeConfig::default()
                        };
                        Ok(crate::check::run(&target, &cfg))
                    }
                    Some(r) => super::console_jobs::remote_check(r, &target, timeout, &cancel)
                        .map_err(|e| (r.machine.clone(), e)),
                };
                let _ = tx.send((i, answer));
            });
    }
    drop(tx);
    let deadline = std::time::Instant::now() + Duration::from_secs(FLEET_MACHINE_SECS);
    while !waiting.is_empty() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, answer)) => {
                waiting.retain(|w| w.0 != i);
                report(i, answer);
            }
            Err(_) => break,
        }
    }
    // Those still silent: their own row says so; the rest of the fleet is not held up.
    for (i, machine) in waiting {
        let error = if cancel.is_cancelled() {
            AskError::Cancelled
        } else {
            AskError::Remote(RemoteError::Unreachable(format!(
                "no answer within {FLEET_MACHINE_SECS} s"
            )))
        };
        match machine {
            Some(m) => report(i, Err((m, error))),
            None => {
                if let Ok(m) = crate::remote::Machine::parse("localhost") {
                    report(i, Err((m, error)));
                }
            }
        }
    }
}
