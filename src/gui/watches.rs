//! The Watches tab: a list of watched ports (port, protocol, address, machine; condition:
//! becomes free, gets taken, changes owner), remembered between runs and started again when the
//! window opens. Each row shows the port's state and when it last changed; when a condition is
//! met the watch ends, a desktop notification is shown and the window asks for attention.

use serde::{Deserialize, Serialize};

use super::console_jobs::{LOCAL_WATCH_SECS, REMOTE_WATCH_SECS, WatchJob, WatchUpdate};
use super::machines::MachinesRoom;
use super::worker::{Job, Worker};
use crate::probe::CancelToken;
use crate::target::{Host, Protocol};
use crate::watch::{PortState, Until};

/// The most watches kept.
const WATCHES_KEPT: usize = 200;

/// One watch, as remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchSpec {
    /// The port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The address to bind, read once where it was typed. Saved as the text typed, `""` for
    /// every interface, as when it was kept as text.
    pub address: Host,
    /// The machine (`None`: this machine).
    pub machine: Option<String>,
    /// When it is over.
    pub until: Until,
    /// When its condition was met (ms since 1970, UTC); a met watch is not started again.
    pub met_at_unix_ms: Option<u64>,
}

impl Default for WatchSpec {
    fn default() -> Self {
        Self {
            port: 8080,
            protocol: Protocol::Tcp,
            address: Host::All,
            machine: None,
            until: Until::Free,
            met_at_unix_ms: None,
        }
    }
}

impl WatchSpec {
    /// The bind it watches.
    #[must_use]
    pub fn target(&self) -> crate::Target {
        crate::Target {
            host: self.address.clone(),
            port: self.port,
            protocol: self.protocol,
            ..crate::Target::default()
        }
    }
}

/// One row: the watch, and what it saw since the window opened.
#[derive(Debug)]
pub struct WatchRow {
    /// The watch.
    pub spec: WatchSpec,
    /// Ties the worker's updates to this row.
    pub key: u64,
    /// Stops it, while it runs.
    pub running: Option<CancelToken>,
    /// The port's state at the last look.
    pub state: Option<PortState>,
    /// When that state was first seen (ms since 1970, UTC).
    pub since_unix_ms: Option<u64>,
    /// Why it could not be watched (the window's sentence).
    pub error: Option<String>,
    /// How the notification went, and the service's own words when it failed (shown on hover).
    pub notice: Option<(String, Option<String>)>,
}

/// The tab.
pub struct WatchesRoom {
    /// The watches, in the order they were added.
    pub rows: Vec<WatchRow>,
    /// The form's port, as typed.
    pub port_text: String,
    /// The form's address, as typed (empty: every interface).
    pub address_text: String,
    /// The form's protocol.
    pub protocol: Protocol,
    /// The form's condition.
    pub until: Until,
    /// Why the last Add was refused.
    pub form_error: Option<String>,
    /// A watch was met: the window asks for attention at its next frame.
    pub attention: bool,
    /// What the last met watch saw, and when: the window's title says it (taken once).
    pub met_note: Option<String>,
    next_key: u64,
}

impl Default for WatchesRoom {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            port_text: String::new(),
            address_text: String::new(),
            protocol: Protocol::Tcp,
            until: Until::Free,
            form_error: None,
            attention: false,
            met_note: None,
            next_key: 1,
        }
    }
}

/// What the tab's controls ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchAction {
    /// Add the form's watch on the picked machine and start it.
    Add,
    /// Stop watch N.
    Stop(usize),
    /// Start watch N again.
    Start(usize),
    /// Forget watch N.
    Remove(usize),
    /// Check watch N's port now, in the Check tab, on its machine.
    Open(usize),
}

/// What the tab asks of the window.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchOutcome {
    /// Check this target on this machine in the Check tab.
    OpenCheck {
        /// The bind.
        target: crate::Target,
        /// The machine (`None`: this machine).
        machine: Option<String>,
    },
}

/// `HH:MM:SS` UTC of a time in ms since 1970.
fn clock(ms: u64) -> String {
    let s = ms / 1000 % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

impl WatchesRoom {
    /// What is remembered: every watch.
    #[must_use]
    pub fn saved(&self) -> Vec<WatchSpec> {
        self.rows.iter().map(|r| r.spec.clone()).collect()
    }

    /// Takes back the remembered watches and starts each that was not met.
    pub fn restore(&mut self, specs: Vec<WatchSpec>, machines: &MachinesRoom, worker: &Worker) {
        for spec in specs.into_iter().take(WATCHES_KEPT) {
            let valid = spec.port != 0
                && spec.address.validate().is_ok()
                && spec
                    .machine
                    .as_deref()
                    .is_none_or(|m| crate::remote::Machine::parse(m).is_ok());
            if valid {
                let met = spec.met_at_unix_ms.is_some();
                let i = self.push(spec);
                if !met {
                    self.start(i, machines, worker);
                }
            }
        }
    }

    /// Whether a watch runs.
    #[must_use]
    pub fn any_running(&self) -> bool {
        self.rows.iter().any(|r| r.running.is_some())
    }

    fn push(&mut self, spec: WatchSpec) -> usize {
        self.rows.push(WatchRow {
            spec,
            key: self.next_key,
            running: None,
            state: None,
            since_unix_ms: None,
            error: None,
            notice: None,
        });
        self.next_key += 1;
        self.rows.len() - 1
    }

    fn start(&mut self, i: usize, machines: &MachinesRoom, worker: &Worker) {
        let Some(row) = self.rows.get_mut(i) else {
            return;
        };
        let remote = match row.spec.machine.as_deref().map(|m| machines.remote_for(m)) {
            None => None,
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                row.error = Some(e.to_string());
                return;
            }
        };
        let cancel = CancelToken::new();
        row.spec.met_at_unix_ms = None;
        row.error = None;
        row.notice = None;
        let job = WatchJob {
            key: row.key,
            target: row.spec.target(),
            until: row.spec.until,
            remote,
            cancel: cancel.clone(),
        };
        if worker.start(Job::WatchPort(job)) {
            row.running = Some(cancel);
        } else {
            row.error = Some("The watch thread could not be started.".into());
        }
    }

    /// Applies the tab's own actions; new watches go on the `picked` machine.
    pub fn apply(
        &mut self,
        action: WatchAction,
        machines: &MachinesRoom,
        worker: &Worker,
    ) -> Option<WatchOutcome> {
        match action {
            WatchAction::Add => {
                let port = crate::target::parse_port(&self.port_text);
                let address = self.address_text.trim();
                let address = address
                    .strip_prefix('[')
                    .and_then(|a| a.strip_suffix(']'))
                    .unwrap_or(address);
                let host = if address.is_empty() {
                    Ok(Host::All)
                } else {
                    crate::target::parse_host(address)
                };
                match (port, host) {
                    (Err(e), _) | (_, Err(e)) => self.form_error = Some(e.to_string()),
                    (Ok(0), _) => {
                        self.form_error =
                            Some("Port 0 is any port: watch a port from 1 to 65535.".into());
                    }
                    (Ok(_), _) if self.rows.len() >= WATCHES_KEPT => {
                        self.form_error = Some(format!("At most {WATCHES_KEPT} watches are kept."));
                    }
                    (Ok(port), Ok(address)) => {
                        self.form_error = None;
                        let i = self.push(WatchSpec {
                            port,
                            protocol: self.protocol,
                            address,
                            machine: machines.picked.clone(),
                            until: self.until,
                            met_at_unix_ms: None,
                        });
                        self.start(i, machines, worker);
                    }
                }
            }
            WatchAction::Stop(i) => {
                if let Some(c) = self.rows.get(i).and_then(|r| r.running.as_ref()) {
                    c.cancel();
                }
            }
            WatchAction::Start(i) => {
                if self.rows.get(i).is_some_and(|r| r.running.is_none()) {
                    self.start(i, machines, worker);
                }
            }
            WatchAction::Remove(i) => {
                if i < self.rows.len() {
                    let row = self.rows.remove(i);
                    if let Some(c) = row.running {
                        c.cancel();
                    }
                }
            }
            WatchAction::Open(i) => {
                return self.rows.get(i).map(|r| WatchOutcome::OpenCheck {
                    target: r.spec.target(),
                    machine: r.spec.machine.clone(),
                });
            }
        }
        None
    }

    /// Takes a watch's update; a met condition starts the notification and asks for attention.
    pub fn on_update(&mut self, key: u64, update: WatchUpdate, worker: &Worker) {
        let Some(row) = self.rows.iter_mut().find(|r| r.key == key) else {
            return;
        };
        match update {
            WatchUpdate::Seen(event) => {
                if row.state.as_ref() != Some(&event.state) {
                    row.since_unix_ms = Some(event.at_unix_ms);
                }
                row.state = Some(event.state.clone());
                if event.met {
                    row.running = None;
                    row.spec.met_at_unix_ms = Some(event.at_unix_ms);
                    self.attention = true;
                    self.met_note = Some(crate::render::remote::watch_met_note(
                        &event,
                        row.spec.machine.as_deref(),
                        row.spec.until,
                    ));
                    let (summary, body) = crate::render::remote::watch_met(
                        &event,
                        row.spec.machine.as_deref(),
                        row.spec.until,
                    );
                    if !worker.start(Job::Notify { key, summary, body }) {
                        row.notice =
                            Some(("No desktop notification: no thread for it.".into(), None));
                    }
                }
            }
            WatchUpdate::Failed(e) => {
                row.running = None;
                let machine = row
                    .spec
                    .machine
                    .as_deref()
                    .and_then(|m| crate::remote::Machine::parse(m).ok());
                row.error = Some(match machine {
                    Some(m) => {
                        crate::render::remote::ask_failure(&m, &e, crate::wording::Front::Window)
                    }
                    None => "The watch ended unexpectedly.".into(),
                });
            }
            WatchUpdate::Stopped => row.running = None,
        }
    }

    /// Notes how a watch's notification went.
    pub fn on_notified(&mut self, key: u64, note: (String, Option<String>)) {
        if let Some(row) = self.rows.iter_mut().find(|r| r.key == key) {
            row.notice = Some(note);
        }
    }

    /// The row index of a watch.
    #[must_use]
    pub fn index_of(&self, key: u64) -> Option<usize> {
        self.rows.iter().position(|r| r.key == key)
    }

    /// Draws the tab; `machine` is the picked machine, where the form adds.
    pub fn ui(&mut self, ui: &mut egui::Ui, machine: Option<&str>) -> Vec<WatchAction> {
        let mut actions = Vec::new();
        ui.heading("Watched ports");
        ui.label(format!(
            "Each watch looks every {LOCAL_WATCH_SECS} s on this machine and every {REMOTE_WATCH_SECS} s on another one (over ssh), and ends when its condition is met: a desktop notification, and the window asks for attention."
        ));
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Port");
            ui.add(
                egui::TextEdit::singleline(&mut self.port_text)
                    .id(port_field())
                    .desired_width(60.0),
            )
            .labelled_by(l.id);
            let l = ui.label("Address");
            ui.add(
                egui::TextEdit::singleline(&mut self.address_text)
                    .desired_width(140.0)
                    .hint_text("every interface"),
            )
            .labelled_by(l.id);
            ui.selectable_value(&mut self.protocol, Protocol::Tcp, "TCP");
            ui.selectable_value(&mut self.protocol, Protocol::Udp, "UDP");
            for u in [Until::Free, Until::Taken, Until::Changed] {
                ui.selectable_value(&mut self.until, u, crate::render::remote::until(u));
            }
            let on = machine.map_or_else(
                || "this machine".to_owned(),
                |m| crate::text::clean(m).into_owned(),
            );
            if ui
                .button("Watch")
                .on_hover_text(format!("Watch this port on {on}"))
                .clicked()
            {
                actions.push(WatchAction::Add);
            }
            ui.label(format!("on {on}"));
        });
        if let Some(e) = &self.form_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.separator();
        if self.rows.is_empty() {
            ui.label("No watched ports yet.");
            return actions;
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("watches")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for h in ["Machine", "Port", "Condition", "State since", "", "State"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for (i, r) in self.rows.iter().enumerate() {
                        row_ui(ui, i, r, &mut actions);
                        ui.end_row();
                    }
                });
        });
        actions
    }
}

fn row_ui(ui: &mut egui::Ui, i: usize, r: &WatchRow, actions: &mut Vec<WatchAction>) {
    let s = &r.spec;
    ui.label(s.machine.as_deref().map_or_else(
        || "This machine".to_owned(),
        |m| crate::text::clean(m).into_owned(),
    ));
    ui.label(format!(
        "{} {}",
        s.protocol,
        crate::text::clean(&s.target().display_addr())
    ));
    ui.label(crate::render::remote::until(s.until));
    ui.label(
        r.since_unix_ms
            .map_or_else(String::new, |t| format!("{} UTC", clock(t))),
    );
    let what = format!(
        "{} {}",
        s.protocol,
        crate::text::clean(&s.target().display_addr())
    );
    ui.horizontal(|ui| {
        if r.running.is_some() {
            if ui
                .button("Stop")
                .on_hover_text(format!("Stop watching {what}"))
                .clicked()
            {
                actions.push(WatchAction::Stop(i));
            }
        } else if ui
            .button("Watch again")
            .on_hover_text(format!("Watch {what} again"))
            .clicked()
        {
            actions.push(WatchAction::Start(i));
        }
        if ui
            .button("Check now")
            .on_hover_text(format!("Check {what} now in the Check tab"))
            .clicked()
        {
            actions.push(WatchAction::Open(i));
        }
        if ui
            .button("Remove")
            .on_hover_text(format!("Forget the watch of {what}"))
            .clicked()
        {
            actions.push(WatchAction::Remove(i));
        }
    });
    ui.vertical(|ui| {
        // Room for a sentence: a narrow column broke words letter by letter.
        ui.set_min_width(220.0);
        let state = r.state.as_ref().map(crate::render::remote::port_state);
        match (&r.error, state, s.met_at_unix_ms, &r.running) {
            (Some(e), ..) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            (None, Some(st), Some(at), _) => {
                ui.label(format!("Met at {} UTC: {st}", clock(at)));
            }
            (None, None, Some(at), _) => {
                ui.label(format!("Met at {} UTC (an earlier run)", clock(at)));
            }
            (None, Some(st), None, Some(_)) => {
                ui.label(format!("Now {st}"));
            }
            (None, Some(st), None, None) => {
                ui.label(format!("Stopped; last seen {st}"));
            }
            (None, None, None, Some(_)) => {
                ui.label("Looking…");
            }
            (None, None, None, None) => {
                ui.label("Stopped");
            }
        }
        if let Some((n, detail)) = &r.notice {
            let l = ui.label(n.as_str());
            if let Some(d) = detail {
                l.on_hover_text(d.as_str());
            }
        }
    });
}

/// The form's port field: focus starts there when the window opens on this tab.
#[must_use]
pub fn port_field() -> egui::Id {
    egui::Id::unique("watch-port-field")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `WatchSpec` as builds before the typed address wrote it.
    #[derive(Serialize, Deserialize)]
    struct OldWatchSpec {
        port: u16,
        protocol: Protocol,
        address: String,
        machine: Option<String>,
        until: Until,
        met_at_unix_ms: Option<u64>,
    }

    fn old(address: &str) -> String {
        ron::to_string(&OldWatchSpec {
            port: 8080,
            protocol: Protocol::Udp,
            address: address.to_owned(),
            machine: Some("web1".to_owned()),
            until: Until::Taken,
            met_at_unix_ms: None,
        })
        .unwrap()
    }

    /// Watches saved by an older build (the address as text) load with the address typed; an
    /// address no one could have typed loads but is refused by the check `restore` makes; and
    /// what this build saves is what an older build wrote.
    #[test]
    fn an_old_saved_watch_loads_with_its_address_typed() {
        let cases = [
            ("", Host::All),
            (
                "127.0.0.1",
                Host::from(std::net::IpAddr::from([127, 0, 0, 1])),
            ),
            (
                "fe80::1%eth0",
                Host::Ip {
                    ip: "fe80::1".parse().unwrap(),
                    scope: Some("eth0".to_owned()),
                },
            ),
            (
                "db.example.invalid",
                Host::Name("db.example.invalid".to_owned()),
            ),
        ];
        for (text, host) in cases {
            let saved = old(text);
            let spec: WatchSpec = ron::from_str(&saved).expect(&saved);
            assert_eq!(spec.address, host, "{saved}");
            assert_eq!((spec.port, spec.protocol), (8080, Protocol::Udp));
            assert!(spec.address.validate().is_ok(), "{saved}");
            assert_eq!(ron::to_string(&spec).unwrap(), saved, "saved as before");
        }
        for bad in ["bad host!", "fe80::1%\u{1b}[2J", "1.2.3.999"] {
            let spec: WatchSpec = ron::from_str(&old(bad)).expect(bad);
            assert!(spec.address.validate().is_err(), "{bad:?} is not restored");
        }
    }
}
