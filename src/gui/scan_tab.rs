//! The Scan tab's form (remembered between runs), its running scan and last result, and how a
//! scan starts.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::form::capped;
use super::worker::Event;
use crate::probe::CancelToken;
use crate::remote::Remote;
use crate::render::scan::{self, ScanRow};
use crate::scan::{PortStatus, Progress, ScanReport, ScanRequest};
use crate::target::{self, InputError, Protocol};

use super::action::Action;
use super::worker::Worker;

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

    /// The table rows (made once, when the scan ended) after filter, toggle and sort.
    #[must_use]
    pub fn visible_rows<'a>(&self, all: &'a [ScanRow]) -> Vec<&'a ScanRow> {
        let needle = self.filter.trim().to_lowercase();
        let mut rows: Vec<&ScanRow> = all
            .iter()
            .filter(|r| !self.only_busy || r.status != PortStatus::Free)
            .filter(|r| {
                needle.is_empty()
                    || [
                        &r.ports,
                        r.status.name(),
                        &r.owner,
                        &r.note,
                        &r.protocol.to_string(),
                        &r.holder_address,
                        &r.user,
                        &r.command,
                    ]
                    .iter()
                    .any(|c| c.to_lowercase().contains(&needle))
            })
            .collect();
        if self.sort == ScanSort::Status {
            rows.sort_by_key(|r| (r.status == PortStatus::Free, r.first_port));
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
    /// Its table rows, made once when it ended (not on every frame: a crowded range has
    /// thousands).
    pub rows: Vec<ScanRow>,
    /// Why the last Start did not start (the address cannot be bound here), or why the
    /// machine gave no answer.
    pub error: Option<String>,
    /// The machine the running scan runs on (`None`: this one).
    pub running_on: Option<String>,
    /// The machine the last result is of (`None`: this one).
    pub report_on: Option<String>,
    /// When the last result came (ms since 1970, UTC): a scan is a moment, said with its time
    /// on the tab and in what is copied of it.
    pub report_at: Option<u64>,
}

/// The Scan tab, a room of its own: its form, the scan in flight and the last result; its
/// actions change only this tab, except "check this port", which it hands to the window.
#[derive(Default)]
pub struct ScanTab {
    /// The form (remembered between runs).
    pub inputs: ScanInputs,
    /// The scan in flight and the last result.
    pub state: ScanState,
}

/// What a Scan tab action asks of the window beyond the tab.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanOutcome {
    /// Say this on the status line.
    Status(String),
    /// Open the Check tab on this port of the scanned address and check it (on the machine
    /// that scanned it).
    OpenCheck {
        /// The machine the scan ran on (`None`: this one).
        machine: Option<String>,
        /// The scanned address, as typed.
        host: String,
        /// The row's port.
        port: u16,
        /// The row's protocol.
        protocol: Protocol,
    },
}

impl ScanTab {
    /// A tab with this form (validated: over-long texts cut).
    #[must_use]
    pub fn new(inputs: ScanInputs) -> Self {
        Self {
            inputs: inputs.validated(),
            state: ScanState::default(),
        }
    }

    /// Whether a scan runs (the window repaints for its progress).
    #[must_use]
    pub fn busy(&self) -> bool {
        self.state.running.is_some()
    }

    /// Draws the tab; returns what the user did.
    pub fn ui(&mut self, ui: &mut egui::Ui, status: Option<&str>) -> Vec<Action> {
        super::views::scan_ui(ui, &mut self.inputs, &self.state, status)
    }

    /// Starts a scan unless one is running: here, or on `on` (the picked machine) over ssh.
    fn start(
        &mut self,
        worker: &Worker,
        next_id: &mut u64,
        on: Option<Result<Remote, InputError>>,
    ) {
        if self.state.running.is_some() {
            return;
        }
        let Ok(request) = self.inputs.request() else {
            return;
        };
        let remote = match on {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                self.state.error = Some(e.to_string());
                return;
            }
            None => None,
        };
        if let Some(remote) = remote {
            // The address is the other machine's: only it can say whether it binds there.
            self.state.error = None;
            let id = *next_id;
            *next_id += 1;
            let cancel = CancelToken::new();
            self.state.running_on = Some(remote.machine.to_string());
            let job = super::worker::Job::RemoteScan {
                id,
                remote,
                request,
                cancel: cancel.clone(),
            };
            if worker.start(job) {
                self.state.running = Some((id, cancel, Instant::now()));
                self.state.progress = None;
            } else {
                self.state.error = Some("The scan thread could not be started.".into());
            }
            return;
        }
        self.state.running_on = None;
        if let Err(e) = crate::scan::check_address(request.address) {
            self.state.error = Some(format!(
                "Cannot bind {} on this machine: {}. Scan one of its addresses (see the Support kit's facts).",
                request.address, e
            ));
            return;
        }
        self.state.error = None;
        let id = *next_id;
        *next_id += 1;
        let cancel = CancelToken::new();
        let job = super::worker::ScanJob {
            id,
            request,
            cancel: cancel.clone(),
        };
        if worker.start(super::worker::Job::Scan(job)) {
            self.state.running = Some((id, cancel, Instant::now()));
            self.state.progress = None;
        } else {
            self.state.error = Some("The scan thread could not be started.".into());
        }
    }

    /// Takes the scan's events from the worker.
    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::ScanProgress { id, progress }
                if self.state.running.as_ref().is_some_and(|r| r.0 == id) =>
            {
                self.state.progress = Some(progress);
            }
            Event::ScanFinished { id, report } => {
                if self.state.running.as_ref().is_some_and(|r| r.0 == id) {
                    self.state.running = None;
                }
                self.state.rows = scan::rows(&report);
                self.state.report = Some(*report);
                self.state.report_on.clone_from(&self.state.running_on);
                self.state.report_at = Some(crate::record::now_ms());
            }
            _ => {}
        }
    }

    /// The picked machine gave no answer to scan `id`: `why`, in the window's words.
    pub fn fail(&mut self, id: u64, why: String) {
        if self.state.running.as_ref().is_some_and(|r| r.0 == id) {
            self.state.running = None;
            self.state.error = Some(why);
        }
    }

    /// Applies the tab's own actions; returns what it asks of the window. `on` is the picked
    /// machine (`None`: this one), where a scan runs.
    pub fn apply(
        &mut self,
        ctx: &egui::Context,
        action: &Action,
        worker: &Worker,
        next_id: &mut u64,
        on: Option<Result<Remote, InputError>>,
    ) -> Option<ScanOutcome> {
        match *action {
            Action::StartScan => self.start(worker, next_id, on),
            Action::CancelScan => {
                if let Some((_, c, _)) = &self.state.running {
                    c.cancel();
                }
            }
            Action::CheckPort(port, protocol) => {
                return Some(ScanOutcome::OpenCheck {
                    machine: self.state.report_on.clone(),
                    host: self.inputs.address_text.trim().to_owned(),
                    port,
                    protocol,
                });
            }
            Action::CopyScanCsv | Action::CopyScanMarkdown => {
                let (Some(report), Some(at)) = (&self.state.report, self.state.report_at) else {
                    return None;
                };
                let rows: Vec<ScanRow> = self
                    .inputs
                    .visible_rows(&self.state.rows)
                    .into_iter()
                    .cloned()
                    .collect();
                let (text, what) = if *action == Action::CopyScanCsv {
                    (scan::to_csv(&rows, at), "CSV")
                } else {
                    let title = scan::title(&report.request, at, self.state.report_on.as_deref());
                    (scan::to_markdown(&rows, &title), "Markdown")
                };
                ctx.copy_text(text);
                return Some(ScanOutcome::Status(format!(
                    "{} copied as {what}.",
                    crate::wording::count(rows.len(), "row", "rows")
                )));
            }
            _ => {}
        }
        None
    }
}
