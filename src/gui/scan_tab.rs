//! The Scan tab's form (remembered between runs), its running scan and last result, and how a
//! scan starts.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::form::capped;
use super::worker::Event;
use crate::probe::CancelToken;
use crate::scan::{self, Progress, ScanReport, ScanRequest, ScanRow};
use crate::target::{self, InputError, Protocol};

#[allow(clippy::wildcard_imports)]
use super::app::*;

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

impl App {
    /// Starts a scan unless one is running.
    pub(super) fn start_scan(&mut self) {
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
        if self.worker.start(super::worker::Job::Scan(job)) {
            self.scan.running = Some((id, cancel, Instant::now()));
            self.scan.progress = None;
        }
    }
}

impl App {
    /// Takes the scan's events from the worker.
    pub(super) fn on_scan_event(&mut self, event: Event) {
        match event {
            Event::ScanProgress { id, progress }
                if self.scan.running.as_ref().is_some_and(|r| r.0 == id) =>
            {
                self.scan.progress = Some(progress);
            }
            Event::ScanFinished { id, report } => {
                if self.scan.running.as_ref().is_some_and(|r| r.0 == id) {
                    self.scan.running = None;
                }
                self.scan.report = Some(*report);
            }
            _ => {}
        }
    }
}

impl App {
    /// Applies the Scan tab's actions.
    pub(super) fn apply_scan(&mut self, ctx: &egui::Context, action: &Action) {
        match *action {
            Action::StartScan => self.start_scan(),
            Action::CancelScan => {
                if let Some((_, c, _)) = &self.scan.running {
                    c.cancel();
                }
            }
            Action::CheckPort(port, protocol) => {
                let address = self.scan_inputs.address_text.trim().to_owned();
                self.open_check(&address, port, protocol);
            }
            Action::CopyScanCsv | Action::CopyScanMarkdown => {
                if let Some(r) = &self.scan.report {
                    let rows = self.scan_inputs.visible_rows(r);
                    let (text, what) = if *action == Action::CopyScanCsv {
                        (scan::to_csv(&rows), "CSV")
                    } else {
                        (scan::to_markdown(&rows), "Markdown")
                    };
                    ctx.copy_text(text);
                    self.status = Some(format!("{} rows copied as {what}.", rows.len()));
                }
            }
            _ => {}
        }
    }
}
