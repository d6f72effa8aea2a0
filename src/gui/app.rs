//! The window's state: the persisted inputs, the runtime handles (worker, running check, history),
//! and the one place where view actions change state.

use std::time::{Duration, Instant};

use super::views;
use super::worker::{Event, Job, Waker, Worker};
use crate::check::Check;
use crate::facts::{self, Interface};
use crate::probe::{CancelToken, Resolver, system_resolver};
use crate::scan::{Scanner, system_scanner};
use crate::target::Target;

pub use super::action::{Action, Tab};
pub use super::form::{Inputs, InterfaceChoice, interface_label};
pub use super::kit::{KitOutcome, KitState, ListenRun, WatchRun};
pub use super::save::SaveDialog;
use super::save::file_stamp;
pub use super::scan_tab::{ScanInputs, ScanOutcome, ScanProtocols, ScanSort, ScanState, ScanTab};

/// A check made since the window opened.
pub struct HistoryEntry {
    /// The full result.
    pub check: Check,
    /// Wall-clock time it finished, `HH:MM:SS` UTC.
    pub at: String,
    /// The day it finished, `2026-12-06` (UTC).
    pub date: String,
}

/// A check of an earlier run of the window: what was checked, when, and the verdict it had then.
/// Its answer is not kept (it would be stale): selecting it loads the form to check it again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EarlierEntry {
    /// When it was checked, `2026-12-06 04:12:05 UTC`.
    pub at: String,
    /// What was checked.
    pub target: Target,
    /// The verdict then.
    pub verdict: crate::probe::Verdict,
}

/// How many earlier checks are remembered between runs.
pub const EARLIER_KEPT: usize = 50;

/// The check in flight.
pub struct Running {
    /// Request number.
    pub id: u64,
    /// What is being tested.
    pub target: Target,
    /// When it started, for the elapsed-time display.
    pub started: Instant,
    /// Cancel flag shared with the worker.
    pub cancel: CancelToken,
}

/// The whole window.
pub struct App {
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
    /// A short status line ("Report copied").
    pub status: Option<String>,
    /// The owner whose ending awaits confirmation.
    pub confirm_end: Option<crate::end::EndPlan>,
    /// The tab an End was asked from: its answer goes there, and nowhere else.
    pub end_from: Option<Tab>,
    /// The fleet view: the form's port on several machines at once.
    pub fleet: super::fleet::FleetRoom,
    /// The machine the End being planned or confirmed runs on (`None`: this one).
    pub end_on: Option<crate::remote::Remote>,
    /// The connection whose closing awaits confirmation.
    pub confirm_close: Option<crate::owners::Owner>,
    /// Whether the history panel is shown (on the Check tab).
    pub history_open: bool,
    /// Whether the first frame put the focus in the form.
    focus_placed: bool,
    /// The theme chosen in the title bar (remembered between runs).
    pub theme: super::saved::ThemeChoice,
    /// A remembered theme waits to be applied at the next frame.
    pub theme_pending: bool,
    /// Which tab is shown.
    pub tab: Tab,
    /// The support-kit tab's state.
    pub kit: KitState,
    /// Where Save report writes (the home directory unless a test points elsewhere).
    pub report_dir: std::path::PathBuf,
    /// The Save report dialog, while open.
    pub save: Option<SaveDialog>,
    /// The Listening now tab.
    pub listening_now: super::listening::ListeningTab,
    /// Each frame's CPU time, when `PORT_INSPECTOR_FRAME_LOG` names a file (for measuring the
    /// window, e.g. `cargo bench --bench frames`).
    frame_log: Option<std::io::BufWriter<std::fs::File>>,
    /// A short note shown in the window title (e.g. "127.0.0.1:8080 is free").
    pub title_note: Option<String>,
    title_shown: Option<String>,
    /// The Scan tab.
    pub scan: ScanTab,
    /// The machine picker (where the Check tab's answers come from).
    pub machines: super::machines::MachinesRoom,
    /// The Watches tab.
    pub watches: super::watches::WatchesRoom,
    /// The Port history tab.
    pub port_history: super::port_history::PortHistoryRoom,
    pub(super) worker: Worker,
    pub(super) next_id: u64,
    /// The live table's refresher, started when the tab is first shown.
    live: Option<super::live_refresh::LiveRefresher>,
    /// Where the window's state is saved (None in tests, or when it cannot be saved safely).
    pub store: Option<super::state_file::StateFile>,
    /// What went wrong with the saved state, said once at the bottom until dismissed.
    pub state_notice: Option<String>,
    /// The window's inner size, last seen (saved with the state).
    window_size: Option<super::state_file::WindowSize>,
}

/// Everything a window is made from. `Deps::default()` is the real machine with nothing
/// remembered; `Deps::system()` adds the saved state and the desktop's theme (what `run` opens);
/// tests swap the resolver (a hung one), the scanner, the form and the store.
pub struct Deps {
    /// The check form, when no saved state replaces it.
    pub inputs: Inputs,
    /// The scan form, likewise.
    pub scan_inputs: ScanInputs,
    /// How names are looked up.
    pub resolver: Resolver,
    /// How ports are scanned.
    pub scanner: Scanner,
    /// Where the state is saved and read back (None: nothing is remembered).
    pub store: Option<super::state_file::StateFile>,
    /// What went wrong opening the store, said once at the bottom.
    pub state_notice: Option<String>,
    /// A check to run at once (the `window PORT` command).
    pub start: Option<Target>,
    /// What "System theme" follows where the windowing system does not say (X11).
    pub desktop_theme: Option<egui::Theme>,
}

impl Default for Deps {
    fn default() -> Self {
        Self {
            inputs: Inputs::default(),
            scan_inputs: ScanInputs::default(),
            resolver: system_resolver(),
            scanner: system_scanner(),
            store: None,
            state_notice: None,
            start: None,
            desktop_theme: None,
        }
    }
}

impl Deps {
    /// The real machine with nothing remembered and the form set to `inputs`.
    #[must_use]
    pub fn with_inputs(inputs: Inputs) -> Self {
        Self {
            inputs,
            ..Self::default()
        }
    }

    /// The real machine with the user's saved state and the desktop's theme.
    #[must_use]
    pub fn system(start: Option<Target>) -> Self {
        let (store, notice) = super::state_file::StateFile::open();
        Self {
            store,
            state_notice: notice.map(|n| n.to_string()),
            start,
            desktop_theme: super::desktop_theme::desktop_theme(),
            ..Self::default()
        }
    }
}

impl App {
    /// The one way a window is made, by `run` and by the tests alike (through kittest's
    /// `build_eframe`): the parts from `deps`, then the saved state, then the start check.
    #[must_use]
    pub fn new(cc: &eframe::CreationContext<'_>, deps: Deps) -> Self {
        if let Some(t) = deps.desktop_theme {
            cc.egui_ctx.options_mut(|o| o.fallback_theme = t);
        }
        let mut app = Self::parts(
            &cc.egui_ctx,
            deps.inputs,
            deps.scan_inputs,
            deps.resolver,
            deps.scanner,
        );
        if let Some(store) = &deps.store {
            app.restore(super::saved::Saved::load(Some(store)));
        }
        app.store = deps.store;
        app.state_notice = deps.state_notice;
        if let Some(t) = deps.start {
            app.open_on(t);
        }
        app
    }

    fn parts(
        ctx: &egui::Context,
        inputs: Inputs,
        scan_inputs: ScanInputs,
        resolver: Resolver,
        scanner: Scanner,
    ) -> Self {
        let ctx2 = ctx.clone();
        let waker: Waker = std::sync::Arc::new(move || ctx2.request_repaint());
        let inputs = inputs.validated();
        Self {
            inputs,
            interfaces: facts::interfaces(),
            running: None,
            history: Vec::new(),
            earlier: Vec::new(),
            shown: None,
            status: None,
            confirm_end: None,
            end_from: None,
            end_on: None,
            fleet: super::fleet::FleetRoom::default(),
            confirm_close: None,
            history_open: true,
            focus_placed: false,
            theme: super::saved::ThemeChoice::System,
            theme_pending: false,
            worker: Worker::spawn(waker, resolver, scanner),
            tab: Tab::Check,
            kit: KitState::default(),
            save: None,
            listening_now: super::listening::ListeningTab::default(),
            frame_log: std::env::var_os("PORT_INSPECTOR_FRAME_LOG")
                .and_then(|p| std::fs::File::create(p).ok())
                .map(std::io::BufWriter::new),
            live: None,
            store: None,
            state_notice: None,
            window_size: None,
            report_dir: std::env::var_os("HOME")
                .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from),
            title_note: None,
            title_shown: None,
            scan: ScanTab::new(scan_inputs),
            machines: super::machines::MachinesRoom::new(),
            watches: super::watches::WatchesRoom::default(),
            port_history: super::port_history::PortHistoryRoom::default(),
            next_id: 1,
        }
    }

    /// The check on screen.
    #[must_use]
    pub fn shown_check(&self) -> Option<&Check> {
        self.shown
            .and_then(|i| self.history.get(i))
            .map(|h| &h.check)
    }

    /// Takes finished checks from the worker; cheap when there are none.
    pub fn poll_worker(&mut self) {
        while let Some(event) = self.worker.try_recv() {
            match event {
                Event::Finished { id, check } => {
                    if self.running.as_ref().is_some_and(|r| r.id == id) {
                        self.running = None;
                    }
                    self.history.push(HistoryEntry {
                        check: *check,
                        at: clock_now(),
                        date: date_now(),
                    });
                    self.shown = Some(self.history.len() - 1);
                }
                Event::Sockets(rows) => self.listening_now.apply(*rows),
                Event::PortHistory { id, port, reading } => {
                    self.port_history.on_reading(id, port, *reading);
                }
                ev @ (Event::Facts(..)
                | Event::Matrix(..)
                | Event::ListenBound(..)
                | Event::Listen(..)
                | Event::ListenEnded(..)
                | Event::WatchTick(..)
                | Event::WatchDone(..)) => {
                    if let Some(o) = self.kit.on_event(ev) {
                        self.on_kit_outcome(o);
                    }
                }
                ev @ (Event::ScanProgress { .. } | Event::ScanFinished { .. }) => {
                    self.scan.on_event(ev);
                }
                ev @ (Event::EndPlan(..) | Event::EndDone(..)) => self.on_end_event(ev),
                ev @ (Event::RemoteFailed { .. }
                | Event::LiveFailed { .. }
                | Event::ScanFailed { .. }
                | Event::FleetRow { .. }
                | Event::EndFailed { .. }
                | Event::Watch { .. }
                | Event::Notification { .. }) => self.on_console_event(ev),
                Event::Closed {
                    local,
                    remote,
                    result,
                } => {
                    self.status = Some(match result {
                        Ok(()) => format!(
                            "Closed the connection from {local} to {remote}: the table was read again and it is gone."
                        ),
                        Err(e) => {
                            format!("The connection from {local} to {remote} was not closed: {e}.")
                        }
                    });
                    self.listening_now.soon = true;
                }
            }
        }
    }

    /// Opens the Check tab on `host`:`port` (a scan's row, a socket of the live table) with the
    /// matching interface picked, and runs the check.
    pub(super) fn open_check(&mut self, host: &str, port: u16, protocol: crate::target::Protocol) {
        self.inputs.interface = InterfaceChoice::for_host(host, &self.interfaces);
        if self.inputs.interface == InterfaceChoice::Custom {
            host.clone_into(&mut self.inputs.custom_host);
        }
        self.inputs.port_text = port.to_string();
        self.inputs.protocol = protocol;
        self.tab = Tab::Check;
        if let Ok(t) = self.inputs.target() {
            self.start(t);
        }
    }

    /// Applies one view action: the check's own here, each tab's in its module.
    pub fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            a @ (Action::DismissStateNotice
            | Action::ClearHistory
            | Action::LoadEarlier(..)
            | Action::ExportSockets { .. }
            | Action::AskCloseConnection(..)
            | Action::CancelClose
            | Action::ConfirmClose) => self.apply_more(ctx, a),
            Action::Test => {
                if let Ok(t) = self.inputs.target() {
                    self.start(t);
                }
            }
            Action::Rerun(i) => {
                if let Some(h) = self.history.get(i) {
                    let t = h.check.report.target.clone();
                    self.machines.picked.clone_from(&h.check.machine);
                    self.inputs.load_target(&t, &self.interfaces);
                    self.start(t);
                }
            }
            Action::Cancel => {
                if let Some(r) = &self.running {
                    r.cancel.cancel();
                }
            }
            Action::RerunShown => {
                if let Some(i) = self.shown {
                    self.apply(ctx, Action::Rerun(i));
                }
            }
            Action::ToggleHistory => self.history_open = !self.history_open,
            Action::Show(i) => {
                if let Some(h) = self.history.get(i) {
                    let t = h.check.report.target.clone();
                    self.machines.picked.clone_from(&h.check.machine);
                    self.shown = Some(i);
                    self.inputs.load_target(&t, &self.interfaces);
                }
            }
            Action::CopyReport => {
                if let Some(c) = self.shown_check() {
                    ctx.copy_text(crate::render::report::markdown(c));
                    self.status = Some("Report copied to the clipboard (Markdown).".into());
                }
            }
            Action::CheckSocket(addr, protocol) => {
                self.open_check(&addr.ip().to_string(), addr.port(), protocol);
            }
            Action::CopyText(text) => {
                ctx.copy_text(text);
                self.status = Some("Copied.".into());
            }
            Action::ApplyFix(fix) => self.apply_fix(&fix),
            Action::SetTab(t) => {
                // What the last click did belongs to the tab it was done in.
                if t != self.tab {
                    self.status = None;
                }
                self.tab = t;
                if t == Tab::Kit && self.kit.facts.is_none() {
                    self.apply(ctx, Action::RefreshFacts);
                }
            }
            Action::SaveReport => self.ask_save(),
            Action::SaveTo { replace } => self.save_to(replace),
            Action::CancelSave => self.save = None,
            Action::RefreshInterfaces => {
                self.interfaces = facts::interfaces();
                self.status = Some(format!(
                    "{} interface addresses found.",
                    self.interfaces.len()
                ));
            }
            a @ (Action::RefreshFacts
            | Action::RunMatrix
            | Action::HoldAllInterfaces
            | Action::OpenMatrixCell(..)
            | Action::StartListen
            | Action::StopListen
            | Action::StartWatch
            | Action::StopWatch) => {
                if let Some(o) = self.kit.apply(&a, self.inputs.target(), &self.worker) {
                    self.on_kit_outcome(o);
                }
            }
            Action::RelaunchElevated => self.relaunch_elevated(),
            a @ (Action::StartScan
            | Action::CancelScan
            | Action::CheckPort(..)
            | Action::CopyScanCsv
            | Action::CopyScanMarkdown) => {
                let on = self.machines.picked_remote();
                if let Some(o) = self
                    .scan
                    .apply(ctx, &a, &self.worker, &mut self.next_id, on)
                {
                    self.on_scan_outcome(o);
                }
            }
            a @ (Action::AskEnd(..)
            | Action::CancelEnd
            | Action::ConfirmEnd
            | Action::CopyPid(..)
            | Action::CopyEndCommand(..)
            | Action::EndSocket(..)) => self.apply_end(ctx, &a),
        }
    }

    /// The window's keys: Ctrl+Shift+C copies the report, Ctrl+E asks to end the shown answer's
    /// holder, Ctrl+L goes to the port field, Ctrl+F to the live table's filter, F5 checks again
    /// or reads the table again, Ctrl+Q closes.
    fn shortcuts(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        // Ctrl+Shift+C copies the shown check's report, from any tab (a ticket is written with
        // the keyboard).
        let copy = egui::KeyboardShortcut::new(
            egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
            egui::Key::C,
        );
        if ctx.input_mut(|i| i.consume_shortcut(&copy)) {
            actions.push(Action::CopyReport);
        }
        // Ctrl+E on the Check tab: End… for the shown answer's first holder with a PID, as its
        // button does (the plan is made afresh and confirmed; nothing ends on the key alone).
        let end = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::E);
        if self.tab == Tab::Check
            && self.confirm_end.is_none()
            && ctx.input_mut(|i| i.consume_shortcut(&end))
            && let Some(i) = self
                .shown_check()
                .and_then(|c| c.owners.iter().position(|o| o.pid.is_some()))
        {
            actions.push(Action::AskEnd(i));
        }
        // Ctrl+L: the port field; Ctrl+F: the live table's filter; F5: check again or read the
        // table again. Focus starts in the form.
        let (to_port, to_filter, refresh) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&egui::KeyboardShortcut::new(
                    egui::Modifiers::COMMAND,
                    egui::Key::L,
                )),
                i.consume_shortcut(&egui::KeyboardShortcut::new(
                    egui::Modifiers::COMMAND,
                    egui::Key::F,
                )),
                i.consume_key(egui::Modifiers::NONE, egui::Key::F5),
            )
        });
        if to_port || !self.focus_placed {
            self.focus_placed = true;
            if self.tab == Tab::Check || to_port {
                self.tab = Tab::Check;
                ctx.memory_mut(|m| m.request_focus(views::port_field()));
            }
        }
        if to_filter && self.tab == Tab::Listening {
            ctx.memory_mut(|m| m.request_focus(super::listening::filter_field()));
        }
        if refresh {
            match self.tab {
                Tab::Listening => self.listening_now.soon = true,
                Tab::Check => actions.push(Action::RerunShown),
                _ => {}
            }
        }
        // Ctrl+Q closes the window the way its close button does (the state is saved).
        let quit = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Q);
        if ctx.input_mut(|i| i.consume_shortcut(&quit)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// Draws the window for one frame and applies what the user did.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll_worker();
        let ctx = ui.ctx().clone();
        let mut actions = Vec::new();
        self.shortcuts(&ctx, &mut actions);
        if std::mem::take(&mut self.theme_pending) {
            ctx.set_theme(self.theme.preference());
        }
        egui::Panel::top("title").show(ui, |ui| {
            actions.extend(views::title_ui(
                ui,
                self.running.is_some() || self.scan.busy(),
                self.tab,
                self.history_open,
            ));
            self.machines.ui(ui);
        });
        self.theme = super::saved::ThemeChoice::of(ctx.options(|o| o.theme_preference));
        self.notice_ui(ui, &mut actions);
        // The history of checks belongs to the Check tab; it can be hidden, and its width is
        // the user's (bounded), never its longest entry's.
        if self.tab == Tab::Check && self.history_open {
            egui::Panel::left("history")
                .resizable(true)
                .default_size(200.0)
                .min_size(150.0)
                .max_size(320.0)
                .show(ui, |ui| {
                    actions.extend(views::history_ui(
                        ui,
                        &self.history,
                        &self.earlier,
                        self.shown,
                    ));
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            views::runs_here_notice(ui, self.tab, self.machines.picked.as_deref());
            if self.tab == Tab::Listening {
                actions.extend(self.listening_now.ui(ui, self.status.as_deref()));
                return;
            }
            if self.tab == Tab::Kit {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    let target = self.inputs.target();
                    actions.extend(self.kit.ui(ui, target.as_ref()));
                    if let Some(s) = &self.status {
                        ui.add(egui::Label::new(s.as_str()).wrap());
                    }
                });
                return;
            }
            if self.tab == Tab::Scan {
                actions.extend(self.scan.ui(ui, self.status.as_deref()));
                return;
            }
            if self.tab == Tab::Watches {
                return self.watches_tab_ui(ui);
            }
            if self.tab == Tab::PortHistory {
                return self.port_history.show(ui, &self.worker);
            }
            let names = self.machines.names();
            let mut fleet_actions = Vec::new();
            egui::ScrollArea::vertical().show(ui, |ui| {
                actions.extend(views::form_ui(
                    ui,
                    &mut self.inputs,
                    &self.interfaces,
                    self.running.as_ref(),
                ));
                fleet_actions = self.fleet.ui(ui, &names);
                let shown = self.shown_check();
                if shown.is_none()
                    && let Some(s) = &self.status
                {
                    ui.add(egui::Label::new(s.as_str()).wrap());
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
                    actions.extend(views::result_ui(ui, c, self.status.as_deref()));
                } else if self.running.is_none() {
                    ui.label("Pick an interface and a port, then press Test bind (or Enter).");
                }
            });
            for a in fleet_actions {
                self.fleet_action(a);
            }
        });
        if let Some(o) = &self.confirm_close {
            actions.extend(views::confirm_close_ui(ui, o));
        }
        if let Some(plan) = &self.confirm_end {
            let on = self.end_on.as_ref().map(|r| r.machine.to_string());
            actions.extend(views::confirm_end_ui(ui, plan, on.as_deref()));
        }
        if let Some(dialog) = &mut self.save {
            actions.extend(views::save_dialog_ui(ui, dialog));
        }
        for a in actions {
            self.apply(&ctx, a);
        }
        let title = self.window_title();
        if self.title_shown.as_ref() != Some(&title) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title_shown = Some(title);
        }
        self.drive_live();
        self.console_frame(&ctx);
        if self.running.is_some() || self.scan.busy() || self.kit.listening() || self.kit.watching()
        {
            // Elapsed time and spinner while busy; nothing repaints when idle.
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }
}

impl App {
    /// The note about the saved state, at the bottom until dismissed.
    fn notice_ui(&self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        if let Some(notice) = &self.state_notice {
            egui::Panel::bottom("state-notice").show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(notice);
                    if ui.button("Dismiss").clicked() {
                        actions.push(Action::DismissStateNotice);
                    }
                });
            });
        }
    }

    /// Applies a fix the answer offered (a free port, an option) to the form and checks again.
    fn apply_fix(&mut self, fix: &crate::diagnose::Fix) {
        use crate::diagnose::Fix;
        match *fix {
            Fix::UseFreePort { port } => self.inputs.port_text = port.to_string(),
            Fix::SetReuseAddr => self.inputs.reuse_address = true,
            Fix::SetReusePort => self.inputs.reuse_port = true,
            Fix::SetV6Only => self.inputs.v6_only = Some(true),
            Fix::RunElevated => return self.relaunch_elevated(),
            _ => return,
        }
        if let Ok(t) = self.inputs.target() {
            self.start(t);
        }
    }

    /// Opens the Save report dialog, proposing a name with the date and time.
    fn ask_save(&mut self) {
        // Ask where, proposing a name with the date and time.
        if let Some(c) = self.shown_check() {
            let name = format!(
                "port-inspector-report-{}-{}.md",
                c.report.target.port,
                file_stamp()
            );
            self.save = Some(SaveDialog {
                path_text: self.report_dir.join(name).display().to_string(),
                exists: false,
                error: None,
            });
        }
    }

    /// Does what a Scan tab action asks of the window beyond its tab.
    fn on_scan_outcome(&mut self, outcome: ScanOutcome) {
        match outcome {
            ScanOutcome::Status(s) => self.status = Some(s),
            ScanOutcome::OpenCheck {
                machine,
                host,
                port,
                protocol,
            } => {
                // The port is checked where it was scanned.
                self.machines.picked = machine;
                self.open_check(&host, port, protocol);
            }
        }
    }

    /// Asks the system to start an elevated copy of the window, and says how that went.
    fn relaunch_elevated(&mut self) {
        self.status = Some(match crate::platform::relaunch_elevated() {
            Ok(()) => {
                "Asked the system to start Port Inspector elevated; answer its prompt.".into()
            }
            Err(e) => format!(
                "Could not start elevated: {e}. Run it with sudo (or as Administrator) yourself."
            ),
        });
    }

    /// Does what a Support kit action or event asks of the window beyond its tab.
    fn on_kit_outcome(&mut self, outcome: KitOutcome) {
        match outcome {
            KitOutcome::CheckNow(t) => {
                self.inputs.load_target(&t, &self.interfaces);
                self.tab = Tab::Check;
                self.start(t);
            }
            KitOutcome::HoldAllInterfaces => self.inputs.interface = InterfaceChoice::AllAny,
            KitOutcome::ClearTitle => self.title_note = None,
            KitOutcome::Watched { check, free } => {
                if free {
                    let addr = check.report.target.display_addr();
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
        }
    }

    /// Tells the live table's refresher what the window shows (started when the tab is first
    /// shown).
    fn drive_live(&mut self) {
        // The Support kit reads the facts once it is shown, whichever way it was opened (a
        // window restored on it showed "Reading the facts…" forever).
        if self.tab == Tab::Kit && self.kit.facts.is_none() && !self.kit.facts_asked {
            self.kit.ask_facts(&self.worker);
        }
        // The Listening now tab is read again on its own thread while it is visible, which
        // wakes the window only when something changed: idle between refreshes.
        if self.tab == Tab::Listening && self.live.is_none() {
            self.live = Some(self.worker.live_refresher());
        }
        self.listening_now.picked.clone_from(&self.machines.picked);
        if let Some(live) = &self.live {
            live.update(
                &super::live_refresh::Wanted {
                    visible: self.tab == Tab::Listening,
                    paused: self.listening_now.paused,
                    interval: self.listening_now.interval,
                    look: self.listening_now.look(),
                    // A machine that is not one was refused when it was added.
                    remote: self.machines.picked_remote().and_then(Result::ok),
                },
                std::mem::take(&mut self.listening_now.soon),
            );
        }
    }

    /// The actions of the live table's toolbar and the window's notes: dismiss a note, export
    /// the table, close a connection (asked first).
    fn apply_more(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::ClearHistory => {
                self.history.clear();
                self.earlier.clear();
                self.shown = None;
            }
            Action::LoadEarlier(i) => {
                if let Some(t) = self.earlier.get(i).map(|e| e.target.clone()) {
                    self.inputs.load_target(&t, &self.interfaces);
                    self.shown = None;
                    self.status = Some(
                        "Loaded into the form: press Test bind (or Enter) to check it now.".into(),
                    );
                }
            }
            Action::DismissStateNotice => self.state_notice = None,
            Action::AskCloseConnection(o) => self.confirm_close = Some(*o),
            Action::CancelClose => self.confirm_close = None,
            Action::ConfirmClose => {
                if let Some(o) = self.confirm_close.take()
                    && let Some(remote) = o.remote
                {
                    let started = self.worker.start(Job::CloseConnection {
                        local: o.local,
                        remote,
                    });
                    self.status = Some(if started {
                        format!("Closing the connection from {} to {remote}…", o.address())
                    } else {
                        "Could not start closing the connection.".into()
                    });
                }
            }
            Action::ExportSockets { rows, format, save } => {
                self.export_sockets(ctx, &rows, format, save);
            }
            _ => {}
        }
    }

    /// Writes the state to its file now (when it changed); a failure is said once.
    pub fn save_state(&mut self) {
        let Some(mut store) = self.store.take() else {
            return;
        };
        eframe::App::save(self, &mut store);
        if let Err(e) = store.try_flush()
            && self.state_notice.is_none()
        {
            self.state_notice = Some(format!(
                "The window's state could not be saved to {}: {e}.",
                crate::text::clean(&store.path().to_string_lossy())
            ));
        }
        self.store = Some(store);
    }
}

/// Today's date, `2026-12-06` (UTC).
pub(super) fn date_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .take(10)
        .collect()
}

/// `HH:MM:SS` (UTC) without a date-time crate.
pub(super) fn clock_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let s = secs % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.poll_worker();
        if let Some(r) = ctx.input(|i| i.viewport().inner_rect) {
            self.window_size = Some(super::state_file::WindowSize {
                width: r.width(),
                height: r.height(),
            });
        }
        if self
            .store
            .as_ref()
            .is_some_and(super::state_file::StateFile::due)
        {
            self.save_state();
        }
        if let (Some(log), Some(cpu)) = (&mut self.frame_log, frame.info().cpu_usage) {
            use std::io::Write as _;
            // The previous frame: its CPU time in ms, the tab, and whether a refresh of the
            // socket table was running meanwhile (on the worker).
            let _ = writeln!(log, "{:.3} {:?} false", cpu * 1000.0, self.tab);
            let _ = log.flush();
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        App::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, super::saved::STORAGE_KEY, &self.saved());
        if let Some(size) = self
            .window_size
            .and_then(super::state_file::WindowSize::validated)
        {
            eframe::set_value(storage, super::state_file::WINDOW_KEY, &size);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.save_state();
    }
}
