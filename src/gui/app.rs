//! The window's state: the persisted inputs, the runtime handles (worker, running check, history),
//! and the one place where view actions change state.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::views;
use super::worker::{Command, Event, Waker, Worker};
use crate::check::Check;
use crate::facts::{self, Interface};
use crate::owners::{self, Owner};
use crate::probe::{CancelToken, Resolver, system_resolver};
use crate::scan::{self, Progress, ScanReport, ScanRequest, ScanRow, Scanner, system_scanner};
use crate::target::{self, Family, InputError, Protocol, Target};

/// Where to bind, as the interface picker offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum InterfaceChoice {
    /// getaddrinfo with no node: every wildcard address of the chosen families.
    #[default]
    AllAny,
    /// 0.0.0.0.
    AllIpv4,
    /// ::.
    AllIpv6,
    /// The name `localhost`.
    Localhost,
    /// One address of a local interface.
    Address(String),
    /// Whatever the user types.
    Custom,
}

impl InterfaceChoice {
    /// The picker's text for this choice.
    #[must_use]
    pub fn label(&self, interfaces: &[Interface]) -> String {
        match self {
            InterfaceChoice::AllAny => "All interfaces (IPv4 + IPv6)".into(),
            InterfaceChoice::AllIpv4 => "All interfaces (IPv4) 0.0.0.0".into(),
            InterfaceChoice::AllIpv6 => "All interfaces (IPv6) ::".into(),
            InterfaceChoice::Localhost => "localhost".into(),
            InterfaceChoice::Address(a) => interfaces
                .iter()
                .find(|i| &i.address == a)
                .map_or_else(|| a.clone(), interface_label),
            InterfaceChoice::Custom => "Host name or address…".into(),
        }
    }
}

/// `lo — 127.0.0.1 (IPv4, loopback)`.
#[must_use]
pub fn interface_label(i: &Interface) -> String {
    format!(
        "{} — {} ({}{})",
        i.name,
        i.address,
        if i.ipv6 { "IPv6" } else { "IPv4" },
        if i.loopback { ", loopback" } else { "" }
    )
}

/// The form, remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inputs {
    /// Interface picker.
    pub interface: InterfaceChoice,
    /// Text of the free host field.
    pub custom_host: String,
    /// Text of the port field (kept as typed, validated on each frame).
    pub port_text: String,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// IPv4 / IPv6 / either.
    pub family: Family,
    /// SO_REUSEADDR.
    pub reuse_address: bool,
    /// SO_REUSEPORT (Unix): join a group of same-user sockets on the port.
    pub reuse_port: bool,
    /// IPV6_V6ONLY: None = system default.
    pub v6_only: Option<bool>,
    /// Call listen after bind (TCP).
    pub listen: bool,
    /// SO_EXCLUSIVEADDRUSE (Windows).
    pub exclusive: bool,
    /// Resolver time limit, seconds.
    pub timeout_secs: f32,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            interface: InterfaceChoice::AllAny,
            custom_host: String::new(),
            port_text: "8080".into(),
            protocol: Protocol::Tcp,
            family: Family::Any,
            reuse_address: false,
            reuse_port: false,
            v6_only: None,
            listen: true,
            exclusive: false,
            timeout_secs: 10.0,
        }
    }
}

/// `text` cut to `max` characters: a persisted field longer than any real input is damage.
fn capped(text: String, max: usize) -> String {
    if text.chars().count() > max {
        text.chars().take(max).collect()
    } else {
        text
    }
}

impl Inputs {
    /// The form as persisted, made safe to use: a timeout that is NaN, infinite or out of range
    /// falls back to the default, over-long texts are cut. No persisted value can panic the
    /// window (a value serde cannot read at all makes the whole form the default).
    #[must_use]
    pub fn validated(self) -> Self {
        let d = Self::default();
        Self {
            timeout_secs: if self.timeout_secs.is_finite()
                && (0.5..=120.0).contains(&self.timeout_secs)
            {
                self.timeout_secs
            } else {
                d.timeout_secs
            },
            port_text: capped(self.port_text, 64),
            custom_host: capped(self.custom_host, 300),
            ..self
        }
    }

    /// The target the form describes, or the one-line reason it is not valid.
    pub fn target(&self) -> Result<Target, InputError> {
        let port = target::parse_port(&self.port_text)?;
        let host = match &self.interface {
            InterfaceChoice::AllAny => String::new(),
            InterfaceChoice::AllIpv4 => "0.0.0.0".into(),
            InterfaceChoice::AllIpv6 => "::".into(),
            InterfaceChoice::Localhost => "localhost".into(),
            InterfaceChoice::Address(a) => a.clone(),
            InterfaceChoice::Custom => {
                let h = self.custom_host.trim();
                let h = h
                    .strip_prefix('[')
                    .and_then(|x| x.strip_suffix(']'))
                    .unwrap_or(h);
                target::validate_host(h)?;
                h.to_owned()
            }
        };
        let mut t = Target::tcp(&host, port);
        t.protocol = self.protocol;
        t.family = self.family;
        t.options.reuse_address = self.reuse_address;
        t.options.reuse_port = self.reuse_port;
        t.options.v6_only = self.v6_only;
        t.options.listen = self.listen;
        t.options.exclusive_address_use = self.exclusive;
        Ok(t)
    }
}

/// A check made since the window opened.
pub struct HistoryEntry {
    /// The full result.
    pub check: Check,
    /// Wall-clock time it finished, `HH:MM:SS` UTC.
    pub at: String,
}

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

/// What a view asks for; applied in `App::apply`, the one place state changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run the form's check.
    Test,
    /// Stop the running check.
    Cancel,
    /// Show history entry N.
    Show(usize),
    /// Run history entry N's target again.
    Rerun(usize),
    /// Copy the shown check's report to the clipboard.
    CopyReport,
    /// Re-read the interfaces.
    RefreshInterfaces,
    /// Ask to end owner N of the shown check (opens the confirmation).
    AskEnd(usize),
    /// The user confirmed ending the owner in the confirmation.
    ConfirmEnd,
    /// The user closed the confirmation without ending anything.
    CancelEnd,
    /// Copy this text's source: a PID.
    CopyPid(u32),
    /// Copy the command that ends this PID.
    CopyEndCommand(u32),
    /// Switch tabs.
    SetTab(Tab),
    /// Carry out a fix the window can do itself (another port, an option), then test again.
    ApplyFix(crate::diagnose::Fix),
    /// Open the check of one socket's address and port (from the Listening now tab).
    CheckSocket(std::net::SocketAddr, Protocol),
    /// Ask to end the holders of one socket's port (from the Listening now tab).
    EndSocket(std::net::SocketAddr, Protocol),
    /// Copy this text to the clipboard.
    CopyText(String),
    /// Start the scan the scan form describes.
    StartScan,
    /// Stop the running scan.
    CancelScan,
    /// Open the full check of one port from the scan table.
    CheckPort(u16, Protocol),
    /// Copy the visible scan rows as CSV.
    CopyScanCsv,
    /// Copy the visible scan rows as Markdown.
    CopyScanMarkdown,
    /// Open the Save report dialog (asks where, proposes a dated name).
    SaveReport,
    /// Write the report to the dialog's path; `replace` only after the user asked to.
    SaveTo {
        /// Replace an existing file (the user pressed Replace).
        replace: bool,
    },
    /// Close the Save report dialog.
    CancelSave,
    /// Read the machine facts again.
    RefreshFacts,
    /// Run the what-if matrix for the form's target.
    RunMatrix,
    /// Show matrix cell N's full check.
    OpenMatrixCell(usize),
    /// Start holding the form's target.
    StartListen,
    /// Stop holding.
    StopListen,
    /// Start watching the form's target until it is free.
    StartWatch,
    /// Stop watching.
    StopWatch,
    /// Start this program again elevated (pkexec / runas), on the user's click.
    RelaunchElevated,
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
    /// A short status line ("Report copied").
    pub status: Option<String>,
    /// The owner whose ending awaits confirmation.
    pub confirm_end: Option<crate::end::EndPlan>,
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
    /// The scan form.
    pub scan_inputs: ScanInputs,
    /// The scan in flight and the last result.
    pub scan: ScanState,
    worker: Worker,
    next_id: u64,
}

/// The window's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    /// One bind, explained.
    Check,
    /// A range of ports.
    Scan,
    /// Facts, matrix, hold-and-listen, watch.
    Kit,
    /// Every socket on the machine, live.
    Listening,
}

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
}

/// The support-kit tab.
pub struct KitState {
    /// Facts, once read.
    pub facts: Option<crate::facts::Facts>,
    /// The last matrix.
    pub matrix: Option<crate::support::Matrix>,
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
            matrix: None,
            matrix_running: false,
            hold_secs_text: "60".into(),
            listen: None,
            watch: None,
        }
    }
}

/// Which protocols a scan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanProtocols {
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
    /// Both.
    Both,
}

/// How the scan table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanSort {
    /// By port number.
    Port,
    /// Busy rows first, then by port.
    Status,
}

/// The scan form, remembered between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScanInputs {
    /// `START-END` as typed.
    pub range_text: String,
    /// Address to bind.
    pub address_text: String,
    /// TCP / UDP / both.
    pub protocols: ScanProtocols,
    /// Hide free ranges.
    pub only_busy: bool,
    /// Text filter over every column.
    pub filter: String,
    /// Sort order.
    pub sort: ScanSort,
}

impl ScanInputs {
    /// The scan form as persisted, with over-long texts cut (see `Inputs::validated`).
    #[must_use]
    pub fn validated(self) -> Self {
        Self {
            range_text: capped(self.range_text, 64),
            address_text: capped(self.address_text, 300),
            filter: capped(self.filter, 300),
            ..self
        }
    }
}

impl Default for ScanInputs {
    fn default() -> Self {
        Self {
            range_text: "8000-9000".into(),
            address_text: "127.0.0.1".into(),
            protocols: ScanProtocols::Tcp,
            only_busy: false,
            filter: String::new(),
            sort: ScanSort::Port,
        }
    }
}

impl ScanInputs {
    /// The scan the form describes, or why it is not valid.
    pub fn request(&self) -> Result<ScanRequest, InputError> {
        let (start, end) = target::parse_range(&self.range_text)?;
        let a = self.address_text.trim();
        let a = a
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(a);
        target::validate_host(a)?;
        let address = a
            .parse()
            .map_err(|_| InputError::NotAnAddress(a.to_owned()))?;
        Ok(ScanRequest {
            address,
            start,
            end,
            protocols: match self.protocols {
                ScanProtocols::Tcp => vec![Protocol::Tcp],
                ScanProtocols::Udp => vec![Protocol::Udp],
                ScanProtocols::Both => vec![Protocol::Tcp, Protocol::Udp],
            },
            options: crate::SocketOptions::default(),
        })
    }

    /// The table rows of `report` after filter, toggle and sort.
    #[must_use]
    pub fn visible_rows(&self, report: &ScanReport) -> Vec<ScanRow> {
        let needle = self.filter.trim().to_lowercase();
        let mut rows: Vec<ScanRow> = scan::rows(report)
            .into_iter()
            .filter(|r| !self.only_busy || r.status != "free")
            .filter(|r| {
                needle.is_empty()
                    || [
                        &r.ports,
                        &r.status,
                        &r.owner,
                        &r.note,
                        &r.protocol.to_string(),
                    ]
                    .iter()
                    .any(|c| c.to_lowercase().contains(&needle))
            })
            .collect();
        if self.sort == ScanSort::Status {
            rows.sort_by_key(|r| (r.status == "free", r.first_port));
        }
        rows
    }
}

/// A scan in flight and the last result.
#[derive(Default)]
pub struct ScanState {
    /// Request number and cancel flag of the running scan.
    pub running: Option<(u64, CancelToken, Instant)>,
    /// Latest progress.
    pub progress: Option<Progress>,
    /// The last finished scan.
    pub report: Option<ScanReport>,
    /// Why the last Start did not start (the address cannot be bound here).
    pub error: Option<String>,
}

/// The storage key of the persisted inputs.
pub const STORAGE_KEY: &str = "port-inspector-inputs";
/// The storage key of the persisted scan form.
pub const SCAN_STORAGE_KEY: &str = "port-inspector-scan";

impl App {
    /// A window with the real resolver.
    #[must_use]
    pub fn new(ctx: &egui::Context, inputs: Inputs) -> Self {
        Self::with_resolver(ctx, inputs, system_resolver())
    }

    /// A window whose checks use `resolver` (tests script a hung one).
    #[must_use]
    pub fn with_resolver(ctx: &egui::Context, inputs: Inputs, resolver: Resolver) -> Self {
        Self::with_parts(
            ctx,
            inputs,
            ScanInputs::default(),
            resolver,
            system_scanner(),
        )
    }

    /// A window with every swappable part given: resolver and scanner.
    #[must_use]
    pub fn with_parts(
        ctx: &egui::Context,
        inputs: Inputs,
        scan_inputs: ScanInputs,
        resolver: Resolver,
        scanner: Scanner,
    ) -> Self {
        let ctx2 = ctx.clone();
        let waker: Waker = std::sync::Arc::new(move || ctx2.request_repaint());
        let inputs = inputs.validated();
        let scan_inputs = scan_inputs.validated();
        Self {
            inputs,
            interfaces: facts::interfaces(),
            running: None,
            history: Vec::new(),
            shown: None,
            status: None,
            confirm_end: None,
            worker: Worker::spawn(waker, resolver, scanner),
            tab: Tab::Check,
            kit: KitState::default(),
            save: None,
            listening_now: super::listening::ListeningTab::default(),
            frame_log: std::env::var_os("PORT_INSPECTOR_FRAME_LOG")
                .and_then(|p| std::fs::File::create(p).ok())
                .map(std::io::BufWriter::new),
            report_dir: std::env::var_os("HOME")
                .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from),
            title_note: None,
            title_shown: None,
            scan_inputs,
            scan: ScanState::default(),
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
                    });
                    self.shown = Some(self.history.len() - 1);
                }
                Event::ScanProgress { id, progress } => {
                    if self.scan.running.as_ref().is_some_and(|r| r.0 == id) {
                        self.scan.progress = Some(progress);
                    }
                }
                Event::Facts(f) => self.kit.facts = Some(*f),
                Event::EndPlan(plan) => self.confirm_end = Some(*plan),
                Event::Sockets(rows) => self.listening_now.apply(*rows),
                Event::EndDone(report) => {
                    // The old verdict is stale now: check again and show the fresh answer,
                    // with what was done above it.
                    if let Some(t) = self.shown_check().map(|c| c.report.target.clone()) {
                        self.start(t);
                    }
                    self.status = Some(
                        crate::wording::end_report(&report)
                            .trim_end()
                            .replace('\n', " "),
                    );
                }
                Event::Matrix(m) => {
                    self.kit.matrix_running = false;
                    self.kit.matrix = Some(*m);
                }
                Event::ListenBound(b) => {
                    if let Some(l) = &mut self.kit.listen {
                        l.bound = Some(b);
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
                Event::ListenEnded(msg) => {
                    if let Some(l) = &mut self.kit.listen {
                        l.ended = Some(msg);
                    }
                }
                Event::WatchTick(line) => {
                    if let Some(w) = &mut self.kit.watch {
                        w.status = line;
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
                    });
                    // The watch's last check is the newest answer: it replaces the verdict shown
                    // (never a red "in use" banner left under a "free now" line).
                    self.shown = Some(self.history.len() - 1);
                }
                Event::ScanFinished { id, report } => {
                    if self.scan.running.as_ref().is_some_and(|r| r.0 == id) {
                        self.scan.running = None;
                    }
                    self.scan.report = Some(*report);
                }
            }
        }
    }

    /// Applies one view action.
    #[expect(
        clippy::too_many_lines,
        reason = "a table: one arm per view action, the one place actions are applied"
    )]
    pub fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::Test => {
                if let Ok(t) = self.inputs.target() {
                    self.start(t);
                }
            }
            Action::Rerun(i) => {
                if let Some(t) = self.history.get(i).map(|h| h.check.report.target.clone()) {
                    self.start(t);
                }
            }
            Action::Cancel => {
                if let Some(r) = &self.running {
                    r.cancel.cancel();
                }
            }
            Action::Show(i) => {
                if i < self.history.len() {
                    self.shown = Some(i);
                }
            }
            Action::CopyReport => {
                if let Some(c) = self.shown_check() {
                    ctx.copy_text(crate::report::markdown(c));
                    self.status = Some("Report copied to the clipboard (Markdown).".into());
                }
            }
            Action::AskEnd(i) => {
                // The plan (every PID sharing the socket, what restarts it, what is refused) is
                // built off the UI thread, like every socket lookup.
                if let Some(o) = self.shown_check().and_then(|c| c.owners.get(i)).cloned() {
                    let host = Some(o.local.ip());
                    let started = self.worker.spawn_task("end", move |emit| {
                        emit(Event::EndPlan(Box::new(crate::end::plan(
                            o.local.port(),
                            Some(o.protocol),
                            host,
                        ))));
                    });
                    if !started {
                        self.status = Some("Could not start the lookup of the holders.".into());
                    }
                }
            }
            Action::CancelEnd => self.confirm_end = None,
            Action::ConfirmEnd => {
                if let Some(plan) = self.confirm_end.take() {
                    let started = self.worker.spawn_task("end", move |emit| {
                        let report = crate::end::execute(
                            &plan,
                            crate::end::Signal::Term,
                            std::time::Duration::from_secs(5),
                        );
                        emit(Event::EndDone(Box::new(report)));
                    });
                    self.status = Some(if started {
                        "Ending the processes…".into()
                    } else {
                        "Could not start ending the processes.".into()
                    });
                }
            }
            Action::CopyPid(pid) => {
                ctx.copy_text(pid.to_string());
                self.status = Some(format!("PID {pid} copied."));
            }
            Action::CopyEndCommand(pid) => {
                let cmd = owners::end_command(pid);
                ctx.copy_text(cmd.clone());
                self.status = Some(format!("Copied: {cmd}"));
            }
            Action::CheckSocket(addr, protocol) => {
                self.inputs.interface = if addr.ip().is_unspecified() {
                    if addr.is_ipv4() {
                        InterfaceChoice::AllIpv4
                    } else {
                        InterfaceChoice::AllIpv6
                    }
                } else {
                    InterfaceChoice::Custom
                };
                self.inputs.custom_host = addr.ip().to_string();
                self.inputs.port_text = addr.port().to_string();
                self.inputs.protocol = protocol;
                self.tab = Tab::Check;
                if let Ok(t) = self.inputs.target() {
                    self.start(t);
                }
            }
            Action::EndSocket(addr, protocol) => {
                let started = self.worker.spawn_task("end", move |emit| {
                    emit(Event::EndPlan(Box::new(crate::end::plan(
                        addr.port(),
                        Some(protocol),
                        Some(addr.ip()),
                    ))));
                });
                if !started {
                    self.status = Some("Could not start the lookup of the holders.".into());
                }
            }
            Action::CopyText(text) => {
                ctx.copy_text(text);
                self.status = Some("Copied.".into());
            }
            Action::ApplyFix(fix) => {
                use crate::diagnose::Fix;
                match fix {
                    Fix::UseFreePort { port } => self.inputs.port_text = port.to_string(),
                    Fix::SetReuseAddr => self.inputs.reuse_address = true,
                    Fix::SetReusePort => self.inputs.reuse_port = true,
                    Fix::SetV6Only => self.inputs.v6_only = Some(true),
                    _ => return,
                }
                if let Ok(t) = self.inputs.target() {
                    self.start(t);
                }
            }
            Action::SetTab(t) => {
                self.tab = t;
                if t == Tab::Kit && self.kit.facts.is_none() {
                    self.apply(ctx, Action::RefreshFacts);
                }
            }
            Action::SaveReport => {
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
            Action::SaveTo { replace } => self.save_to(replace),
            Action::CancelSave => self.save = None,
            Action::RefreshFacts => {
                let _ = self.worker.spawn_task("facts", |emit| {
                    emit(Event::Facts(Box::new(crate::facts::gather())));
                });
            }
            Action::RunMatrix => {
                if let (Ok(t), false) = (self.inputs.target(), self.kit.matrix_running) {
                    self.kit.matrix_running = self.worker.spawn_task("matrix", move |emit| {
                        let m = crate::support::matrix(&t, &crate::probe::ProbeConfig::default());
                        emit(Event::Matrix(Box::new(m)));
                    });
                }
            }
            Action::OpenMatrixCell(i) => {
                if let Some(cell) = self.kit.matrix.as_ref().and_then(|m| m.cells.get(i)) {
                    self.history.push(HistoryEntry {
                        check: cell.check.clone(),
                        at: clock_now(),
                    });
                    self.shown = Some(self.history.len() - 1);
                    self.tab = Tab::Check;
                }
            }
            Action::StartListen => self.start_listen(),
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
            Action::StartScan => self.start_scan(),
            Action::CancelScan => {
                if let Some((_, c, _)) = &self.scan.running {
                    c.cancel();
                }
            }
            Action::CheckPort(port, protocol) => {
                let address = self.scan_inputs.address_text.trim().to_owned();
                self.inputs.interface = InterfaceChoice::Custom;
                self.inputs.custom_host = address;
                self.inputs.port_text = port.to_string();
                self.inputs.protocol = protocol;
                self.tab = Tab::Check;
                if let Ok(t) = self.inputs.target() {
                    self.start(t);
                }
            }
            Action::CopyScanCsv | Action::CopyScanMarkdown => {
                if let Some(r) = &self.scan.report {
                    let rows = self.scan_inputs.visible_rows(r);
                    let (text, what) = if action == Action::CopyScanCsv {
                        (scan::to_csv(&rows), "CSV")
                    } else {
                        (scan::to_markdown(&rows), "Markdown")
                    };
                    ctx.copy_text(text);
                    self.status = Some(format!("{} rows copied as {what}.", rows.len()));
                }
            }
            Action::RefreshInterfaces => {
                self.interfaces = facts::interfaces();
                self.status = Some(format!(
                    "{} interface addresses found.",
                    self.interfaces.len()
                ));
            }
        }
    }

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

    fn start_listen(&mut self) {
        if self.listening() {
            return;
        }
        let (Ok(t), Ok(secs)) = (
            self.inputs.target(),
            crate::target::parse_seconds(&self.kit.hold_secs_text, 1.0, 3600.0, "hold time"),
        ) else {
            return;
        };
        let run = ListenRun::default();
        let cancel = run.cancel.clone();
        self.kit.listen = Some(run);
        let started = self.worker.spawn_task("listen", move |emit| {
            let cfg = crate::probe::ProbeConfig {
                cancel,
                ..crate::probe::ProbeConfig::default()
            };
            let r = crate::support::hold(
                &t,
                secs,
                &cfg,
                &mut |b| emit(Event::ListenBound(b.to_owned())),
                &mut |ev| emit(Event::Listen(ev.clone())),
            );
            emit(Event::ListenEnded(match r {
                Ok(s) => format!(
                    "Released {} after {:.1} s{}: {} arrival(s).",
                    s.bound,
                    Duration::from_millis(s.held_ms).as_secs_f64(),
                    if s.stopped { " (stopped)" } else { "" },
                    s.arrivals
                ),
                Err(e) => format!("Could not hold {}: {}", t.display_addr(), e.headline()),
            }));
        });
        if !started && let Some(l) = &mut self.kit.listen {
            l.ended = Some("Could not start the listen thread.".into());
        }
    }

    fn start_watch(&mut self) {
        if self.watching() {
            return;
        }
        let Ok(t) = self.inputs.target() else { return };
        let run = WatchRun {
            status: format!("Watching {}…", t.display_addr()),
            ..WatchRun::default()
        };
        let cancel = run.cancel.clone();
        self.kit.watch = Some(run);
        self.title_note = None;
        let started = self.worker.spawn_task("watch", move |emit| {
            let cfg = crate::probe::ProbeConfig {
                cancel,
                ..crate::probe::ProbeConfig::default()
            };
            let c = crate::support::wait_until_free(
                &t,
                &cfg,
                Duration::from_secs(1),
                Duration::from_hours(24),
                &mut |c| {
                    let who: Vec<String> = c.owners.iter().map(Owner::who).collect();
                    emit(Event::WatchTick(format!(
                        "{} is still not bindable{}; checking every second…",
                        t.display_addr(),
                        if who.is_empty() {
                            String::new()
                        } else {
                            format!(" (held by {})", who.join(", "))
                        }
                    )));
                },
            );
            emit(Event::WatchDone(Box::new(c)));
        });
        if !started && let Some(w) = &mut self.kit.watch {
            w.done = true;
            w.status = "Could not start the watch thread.".into();
        }
    }

    /// Starts a scan unless one is running.
    fn start_scan(&mut self) {
        if self.scan.running.is_some() {
            return;
        }
        let Ok(request) = self.scan_inputs.request() else {
            return;
        };
        if let Err(e) = scan::check_address(request.address) {
            self.scan.error = Some(format!(
                "Cannot bind {} on this machine: {}. Scan one of its addresses (see the Support kit's facts).",
                request.address,
                e.headline()
            ));
            return;
        }
        self.scan.error = None;
        let id = self.next_id;
        self.next_id += 1;
        let cancel = CancelToken::new();
        let job = super::worker::ScanJob {
            id,
            request,
            cancel: cancel.clone(),
        };
        if self.worker.send_scan(job) {
            self.scan.running = Some((id, cancel, Instant::now()));
            self.scan.progress = None;
        }
    }

    /// Starts a check unless one is running (a second click while busy is ignored).
    /// Shows `target` in the form and checks it at once (`port-inspector window TARGET`).
    pub fn open_on(&mut self, target: Target) {
        let host = target.host.trim();
        self.inputs.interface = if host.is_empty() {
            InterfaceChoice::AllAny
        } else {
            InterfaceChoice::Custom
        };
        host.clone_into(&mut self.inputs.custom_host);
        self.inputs.port_text = target.port.to_string();
        self.inputs.protocol = target.protocol;
        self.inputs.family = target.family;
        self.inputs.reuse_address = target.options.reuse_address;
        self.inputs.reuse_port = target.options.reuse_port;
        self.inputs.v6_only = target.options.v6_only;
        self.inputs.listen = target.options.listen;
        self.inputs.exclusive = target.options.exclusive_address_use;
        self.tab = Tab::Check;
        self.start(target);
    }

    fn start(&mut self, target: Target) {
        if self.running.is_some() {
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let cancel = CancelToken::new();
        let timeout = Duration::from_secs_f32(self.inputs.timeout_secs.clamp(0.5, 120.0));
        let sent = self.worker.send(Command::Check {
            id,
            target: target.clone(),
            timeout,
            cancel: cancel.clone(),
        });
        if sent {
            self.status = None;
            self.running = Some(Running {
                id,
                target,
                started: Instant::now(),
                cancel,
            });
        } else {
            self.status = Some("The probe thread is not available; restart the app.".into());
        }
    }

    /// Draws the window for one frame and applies what the user did.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll_worker();
        let ctx = ui.ctx().clone();
        let mut actions = Vec::new();
        // Ctrl+Shift+C copies the shown check's report, from any tab (a ticket is written with
        // the keyboard).
        let copy = egui::KeyboardShortcut::new(
            egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
            egui::Key::C,
        );
        if ctx.input_mut(|i| i.consume_shortcut(&copy)) {
            actions.push(Action::CopyReport);
        }
        egui::Panel::top("title").show(ui, |ui| {
            actions.extend(views::title_ui(
                ui,
                self.running.is_some() || self.scan.running.is_some(),
                self.tab,
            ));
        });
        egui::Panel::left("history")
            .resizable(true)
            .default_size(220.0)
            .min_size(160.0)
            .max_size(360.0)
            .show(ui, |ui| {
                actions.extend(views::history_ui(ui, &self.history, self.shown));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            if self.tab == Tab::Listening {
                actions.extend(self.listening_now.ui(ui));
                if let Some(s) = &self.status {
                    ui.label(s);
                }
                return;
            }
            if self.tab == Tab::Kit {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    let target = self.inputs.target();
                    actions.extend(views::kit_ui(ui, &mut self.kit, target.as_ref()));
                    if let Some(s) = &self.status {
                        ui.label(s);
                    }
                });
                return;
            }
            if self.tab == Tab::Scan {
                actions.extend(views::scan_ui(ui, &mut self.scan_inputs, &self.scan));
                if let Some(s) = &self.status {
                    ui.label(s);
                }
                return;
            }
            egui::ScrollArea::vertical().show(ui, |ui| {
                actions.extend(views::form_ui(
                    ui,
                    &mut self.inputs,
                    &self.interfaces,
                    self.running.as_ref(),
                ));
                if let Some(s) = &self.status {
                    ui.label(s);
                }
                ui.separator();
                if let Some(c) = self.shown_check() {
                    actions.extend(views::result_ui(ui, c));
                } else if self.running.is_none() {
                    ui.label("Pick an interface and a port, then press Test bind (or Enter).");
                }
            });
        });
        if let Some(plan) = &self.confirm_end {
            actions.extend(views::confirm_end_ui(ui, plan));
        }
        if let Some(dialog) = &mut self.save {
            actions.extend(views::save_dialog_ui(ui, dialog));
        }
        for a in actions {
            self.apply(&ctx, a);
        }
        let title = match &self.title_note {
            Some(n) => format!("Port Inspector — {n}"),
            None => "Port Inspector".to_owned(),
        };
        if self.title_shown.as_ref() != Some(&title) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title_shown = Some(title);
        }
        // The Listening now tab refreshes every second while it is visible, on a worker thread.
        if self.tab == Tab::Listening && !self.listening_now.paused {
            if self.listening_now.due() {
                self.listening_now.refreshing = self.worker.spawn_task("list", |emit| {
                    // Sorted here as the tab sorts by default, so the UI thread's sort finds the
                    // work done.
                    crate::platform::background_thread();
                    let mut rows = crate::owners::all(None).owners;
                    rows.sort_by_cached_key(|o| (o.local.port(), o.local.ip()));
                    emit(Event::Sockets(Box::new(rows)));
                });
            }
            ctx.request_repaint_after(super::listening::REFRESH);
        }
        if self.running.is_some()
            || self.scan.running.is_some()
            || self.listening()
            || self.watching()
        {
            // Elapsed time and spinner while busy; nothing repaints when idle.
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }
}

/// `HH:MM:SS` (UTC) without a date-time crate.
/// The Save report dialog: where to write, and whether that file exists (then only an explicit
/// Replace overwrites it, and never through a symbolic link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveDialog {
    /// The path as typed.
    pub path_text: String,
    /// The file exists: the dialog asks before replacing it.
    pub exists: bool,
    /// Why the last write failed.
    pub error: Option<String>,
}

impl App {
    /// Writes the shown check's report where the dialog says: a new file, or a replacement only
    /// when `replace` (asked for by the user); `report::write_new` never follows a link.
    fn save_to(&mut self, replace: bool) {
        let (Some(dialog), Some(c)) = (
            self.save.as_mut(),
            self.history.get(self.shown.unwrap_or(usize::MAX)),
        ) else {
            return;
        };
        let path = std::path::PathBuf::from(dialog.path_text.trim());
        match crate::report::write_new(&path, crate::report::markdown(&c.check).as_bytes(), replace)
        {
            Ok(()) => {
                self.status = Some(format!("Report saved to {}", path.display()));
                self.save = None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && !replace => {
                dialog.exists = true;
                dialog.error = None;
            }
            Err(e) => dialog.error = Some(format!("Could not save to {}: {e}", path.display())),
        }
    }
}

/// `20261125-014130`: the date and time (UTC) for a file name.
fn file_stamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .filter_map(|c| match c {
            'T' => Some('-'),
            c if c.is_ascii_digit() => Some(c),
            _ => None,
        })
        .collect()
}

fn clock_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let s = secs % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

impl eframe::App for App {
    fn logic(&mut self, _ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.poll_worker();
        if let (Some(log), Some(cpu)) = (&mut self.frame_log, frame.info().cpu_usage) {
            use std::io::Write as _;
            // The previous frame: its CPU time in ms, the tab, and whether a refresh of the
            // socket table was running meanwhile (on the worker).
            let _ = writeln!(
                log,
                "{:.3} {:?} {}",
                cpu * 1000.0,
                self.tab,
                self.listening_now.refreshing
            );
            let _ = log.flush();
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        App::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.inputs);
        eframe::set_value(storage, SCAN_STORAGE_KEY, &self.scan_inputs);
    }
}
