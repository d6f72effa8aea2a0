//! The window's state: the persisted inputs, the runtime handles (worker, running check, history),
//! and the one place where view actions change state.

use std::time::{Duration, Instant};

use super::views;
use super::worker::{Event, Job, Waker, Worker};
use crate::check::Check;
use crate::probe::{CancelToken, Resolver, system_resolver};
use crate::scan::{Scanner, system_scanner};
use crate::target::Target;

pub use super::action::{Action, Tab};
pub use super::check_tab::{Around, CheckOutcome, CheckTab, EndedSince};
pub use super::end_flow::{EndAround, EndFlow, EndOutcome, Gone};
pub use super::form::{Inputs, InterfaceChoice, interface_label};
pub use super::kit::{KitOutcome, KitState, ListenRun, WatchRun};
pub use super::save::SaveDialog;
pub use super::scan_tab::{ScanInputs, ScanOutcome, ScanProtocols, ScanSort, ScanState, ScanTab};

/// A check made since the window opened.
pub struct HistoryEntry {
    /// The full result.
    pub check: Check,
    /// Wall-clock time it finished, `HH:MM:SS` UTC.
    pub at: String,
    /// The day it finished, `2026-12-06` (UTC).
    pub date: String,
    /// The holders it names that the window ended (or found gone) since: the answer says so,
    /// and offers no End for them.
    pub ended: Vec<super::check_tab::EndedSince>,
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

/// What the Check tab borrows of the window for one action: its fields, borrowed one by one
/// so the tab itself stays free to change.
macro_rules! around {
    ($app:ident) => {
        Around {
            worker: &$app.worker,
            next_id: &mut $app.next_id,
            machines: &mut $app.machines,
            report_dir: &$app.report_dir,
        }
    };
}

/// The whole window.
pub struct App {
    /// The Check tab.
    pub check: CheckTab,
    /// A short status line ("Report copied").
    pub status: Option<String>,
    /// Ending a holder: the plan awaiting confirmation, where it was asked, where it runs.
    pub end: EndFlow,
    /// The fleet view: the form's port on several machines at once.
    pub fleet: super::fleet::FleetRoom,
    /// The connection whose closing awaits confirmation.
    pub confirm_close: Option<crate::owners::Owner>,
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
    /// How the commands the window shows name this program (`Program::this` for the real
    /// window; the installed name in tests).
    pub program: crate::program::Program,
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
            program: crate::program::Program::OnPath,
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

    /// The real machine with the user's saved state and the desktop's theme; the commands it
    /// shows start with `program` (`gui::run` decides it once).
    #[must_use]
    pub fn system(start: Option<Target>, program: crate::program::Program) -> Self {
        let (store, notice) = super::state_file::StateFile::open();
        Self {
            store,
            state_notice: notice.map(|n| n.to_string()),
            start,
            desktop_theme: super::desktop_theme::desktop_theme(),
            program,
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
            deps.program,
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
        program: crate::program::Program,
    ) -> Self {
        let ctx2 = ctx.clone();
        let waker: Waker = std::sync::Arc::new(move || ctx2.request_repaint());
        Self {
            check: CheckTab::new(inputs),
            status: None,
            end: EndFlow::default(),
            fleet: super::fleet::FleetRoom::default(),
            confirm_close: None,
            focus_placed: false,
            theme: super::saved::ThemeChoice::System,
            theme_pending: false,
            worker: Worker::spawn(waker, resolver, scanner, program.clone()),
            tab: Tab::Check,
            kit: KitState::default(),
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
            port_history: super::port_history::PortHistoryRoom::new(program),
            next_id: 1,
        }
    }

    /// Starts a check of `target` in the Check tab (a watch, the kit, an End's fresh check).
    pub(super) fn start(&mut self, target: Target) {
        let outcome = self.check.start(target, &mut around!(self));
        self.on_check_outcome(outcome);
    }

    /// Shows `target` in the form and checks it at once (`port-inspector window TARGET`).
    pub fn open_on(&mut self, target: Target) {
        self.check.load(&target);
        self.tab = Tab::Check;
        self.start(target);
    }

    /// Does what an End asks of the window: a status line, and when it is done, the tab it was
    /// asked from brought up to date (and no other).
    fn on_end_outcome(&mut self, outcome: Option<EndOutcome>) {
        match outcome {
            None => {}
            Some(EndOutcome::Status(s)) => self.status = Some(s),
            Some(EndOutcome::Done {
                said,
                from,
                machine,
                gone,
            }) => {
                // Every answer that names a PID now gone says so at once, whichever tab ended it.
                self.check
                    .mark_ended(machine.as_deref(), &gone, from, &clock_now());
                match from {
                    // Ended from a row of the live table: that table is read again at once,
                    // and the Check tab keeps what it showed.
                    Tab::Listening => self.listening_now.soon = true,
                    // Ended from a check: its verdict is stale now; check again and show the
                    // fresh answer, with what was done above it.
                    _ => {
                        if let Some(t) = self.check.shown_check().map(|c| c.report.target.clone()) {
                            self.start(t);
                        }
                    }
                }
                // After the fresh check started (which clears the last status).
                self.status = Some(said);
            }
        }
    }

    /// Does what a Check tab action asks of the window beyond its tab.
    fn on_check_outcome(&mut self, outcome: Option<CheckOutcome>) {
        match outcome {
            None => {}
            Some(CheckOutcome::Started) => self.status = None,
            Some(CheckOutcome::Status(s)) => self.status = Some(s),
            Some(CheckOutcome::RelaunchElevated) => self.relaunch_elevated(),
        }
    }

    /// Takes finished checks from the worker; cheap when there are none.
    pub fn poll_worker(&mut self) {
        while let Some(event) = self.worker.try_recv() {
            match event {
                Event::Finished { id, check } => self.check.on_finished(id, *check),
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
                ev @ (Event::EndPlan(..) | Event::EndDone(..)) => {
                    let outcome = self.end.on_event(ev);
                    self.on_end_outcome(outcome);
                }
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
        self.tab = Tab::Check;
        if let Some(t) = self.check.load_socket(host, port, protocol) {
            self.start(t);
        }
    }

    /// Applies one view action: the check's own here, each tab's in its module.
    pub fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            a @ (Action::DismissStateNotice
            | Action::ExportSockets { .. }
            | Action::AskCloseConnection(..)
            | Action::CancelClose
            | Action::ConfirmClose) => self.apply_more(ctx, a),
            a @ (Action::Test
            | Action::Rerun(..)
            | Action::RerunShown
            | Action::Cancel
            | Action::ToggleHistory
            | Action::Show(..)
            | Action::ClearHistory
            | Action::LoadEarlier(..)
            | Action::CopyReport
            | Action::ApplyFix(..)
            | Action::RefreshInterfaces
            | Action::SaveReport
            | Action::SaveTo { .. }
            | Action::CancelSave) => {
                let outcome = self.check.apply(ctx, &a, &mut around!(self));
                self.on_check_outcome(outcome);
            }
            Action::CheckSocket(addr, protocol) => {
                self.open_check(&addr.ip().to_string(), addr.port(), protocol);
            }
            Action::CopyText(text) => {
                ctx.copy_text(text);
                self.status = Some("Copied.".into());
            }
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
            a @ (Action::RefreshFacts
            | Action::RunMatrix
            | Action::HoldAllInterfaces
            | Action::OpenMatrixCell(..)
            | Action::StartListen
            | Action::StopListen
            | Action::StartWatch
            | Action::StopWatch) => {
                if let Some(o) = self.kit.apply(&a, self.check.inputs.target(), &self.worker) {
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
            | Action::EndSocket(..)) => {
                let around = EndAround {
                    worker: &self.worker,
                    machines: &self.machines,
                    live_machine: self.listening_now.machine.as_deref(),
                    shown_owners: self.check.shown_check().map_or(&[], |c| &c.owners),
                    shown_machine: self.check.shown_check().and_then(|c| c.machine.as_deref()),
                };
                let outcome = self.end.apply(ctx, &a, &around);
                self.on_end_outcome(outcome);
            }
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
            && !self.end.confirming()
            && ctx.input_mut(|i| i.consume_shortcut(&end))
            && let Some(i) = self.check.first_endable()
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
        if to_port {
            // Asked once the field is drawn (below): from another tab it does not exist yet.
            self.tab = Tab::Check;
            self.focus_placed = false;
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
                self.check.busy() || self.scan.busy(),
                self.tab,
                self.check.history_open,
            ));
            self.machines.ui(ui, views::theme_ui);
        });
        self.theme = super::saved::ThemeChoice::of(ctx.options(|o| o.theme_preference));
        self.notice_ui(ui, &mut actions);
        // The history of checks belongs to the Check tab; it can be hidden, and its width is
        // the user's (bounded), never its longest entry's.
        if self.tab == Tab::Check {
            actions.extend(self.check.history_panel(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            views::runs_here_notice(ui, self.tab, self.machines.picked.as_deref());
            if self.tab == Tab::Listening {
                actions.extend(self.listening_now.ui(ui, self.status.as_deref()));
                return;
            }
            if self.tab == Tab::Kit {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    let target = self.check.inputs.target();
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
            let fleet = &mut self.fleet;
            let picked = self.machines.picked.as_deref();
            actions.extend(self.check.ui(ui, self.status.as_deref(), picked, |ui| {
                fleet_actions = fleet.ui(ui, &names);
            }));
            for a in fleet_actions {
                self.fleet_action(a);
            }
        });
        if let Some(o) = &self.confirm_close {
            actions.extend(views::confirm_close_ui(ui, o));
        }
        if let Some(plan) = &self.end.confirm {
            let on = self.end.on.as_ref().map(|r| r.machine.to_string());
            actions.extend(views::confirm_end_ui(ui, plan, on.as_deref()));
        }
        for a in actions {
            self.apply(&ctx, a);
        }
        let title = self.window_title();
        if self.title_shown.as_ref() != Some(&title) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title_shown = Some(title);
        }
        // Focus starts in the form, asked for once the port field has been drawn (egui drops a
        // focus asked for a widget it has not seen yet).
        if !self.focus_placed {
            self.focus_placed = true;
            if let Some(field) = views::first_field(self.tab) {
                ctx.memory_mut(|m| m.request_focus(field));
            }
        }
        self.drive_live();
        self.console_frame(&ctx);
        if self.check.busy() || self.scan.busy() || self.kit.listening() || self.kit.watching() {
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
                "Could not start elevated: {e}. Run it as {} yourself.",
                crate::platform::Os::current().admin_account()
            ),
        });
    }

    /// Does what a Support kit action or event asks of the window beyond its tab.
    fn on_kit_outcome(&mut self, outcome: KitOutcome) {
        match outcome {
            KitOutcome::CheckNow(t) => {
                self.check.inputs.load_target(&t, &self.check.interfaces);
                self.tab = Tab::Check;
                self.start(t);
            }
            KitOutcome::HoldAllInterfaces => self.check.inputs.interface = InterfaceChoice::AllAny,
            KitOutcome::ClearTitle => self.title_note = None,
            KitOutcome::Watched { check, free } => {
                // A time on every such line: the port may be taken again a second later.
                let (addr, at) = (
                    check.report.target.display_addr(),
                    super::kit::watched_at(&check),
                );
                let shown = self.check.offer_answer(*check);
                if free {
                    let place = if shown {
                        ""
                    } else {
                        " (its check is in the Check tab's history)"
                    };
                    self.status = Some(format!("{addr} was free at {at} UTC{place}."));
                    self.title_note = Some(format!("{addr} was free at {at} UTC"));
                } else {
                    self.title_note = None;
                }
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
                self.status = Some(super::export_flow::export_sockets(
                    ctx,
                    &rows,
                    format,
                    save.then_some(self.report_dir.as_path()),
                ));
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
