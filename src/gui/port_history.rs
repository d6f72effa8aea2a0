//! The Port history tab: what the flight recorder knows about one port, as a time strip — one
//! bar per holder, one marker per refused bind, the time nobody recorded shaded — whose bars
//! and markers open their details (PID, process, user, command line, times, error), with the
//! recorder's state (running and in which mode, or the exact command that starts it, or why
//! this user cannot read its database). The database is read on the worker, never on the UI
//! thread; every sentence comes from `record::words`.

use std::path::{Path, PathBuf};

use super::worker::{Job, Worker};
use crate::program::Program;
use crate::record::history::{self, Entry, Subject, Timeline};
use crate::record::store::{self, Store};
use crate::record::words;

/// How far back the strip looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// The last 5 minutes: events seconds apart drawn apart.
    FiveMinutes,
    /// The last hour.
    #[default]
    Hour,
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
    /// The last 30 days (the database's default bound).
    Month,
}

impl Reach {
    const ALL: [Reach; 5] = [
        Reach::FiveMinutes,
        Reach::Hour,
        Reach::Day,
        Reach::Week,
        Reach::Month,
    ];

    fn ms(self) -> u64 {
        const HOUR_MS: u64 = 3_600_000;
        match self {
            Reach::FiveMinutes => HOUR_MS / 12,
            Reach::Hour => HOUR_MS,
            Reach::Day => 24 * HOUR_MS,
            Reach::Week => 7 * 24 * HOUR_MS,
            Reach::Month => 30 * 24 * HOUR_MS,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Reach::FiveMinutes => "last 5 minutes",
            Reach::Hour => "last hour",
            Reach::Day => "last 24 hours",
            Reach::Week => "last 7 days",
            Reach::Month => "last 30 days",
        }
    }
}

/// What the worker found where the recorder keeps its database.
#[derive(Debug, Clone)]
pub enum Reading {
    /// The port's timeline.
    Timeline {
        /// It.
        timeline: Box<Timeline>,
        /// The database read.
        db: PathBuf,
        /// Whether the packaged unit is installed (how to start the recorder).
        unit_installed: bool,
    },
    /// No database there: the recorder never ran with it.
    NoDatabase {
        /// Where it was looked for.
        db: PathBuf,
        /// Whether the packaged unit is installed.
        unit_installed: bool,
    },
    /// A database this user cannot read, or one that is damaged.
    Unreadable {
        /// Which.
        db: PathBuf,
        /// The system's reason.
        why: String,
    },
    /// No place to look (no data folder of this user).
    NoPlace,
}

/// Where to look: the given file; else `PORT_INSPECTOR_DB`; else the system's database (a root
/// recorder's, the unit's) and then this user's own.
fn candidates(given: Option<&Path>) -> Vec<PathBuf> {
    if let Some(g) = given {
        return vec![g.to_path_buf()];
    }
    let own = store::default_path();
    if std::env::var_os("PORT_INSPECTOR_DB").is_some_and(|v| !v.is_empty()) {
        return own.into_iter().collect();
    }
    let mut out = Vec::new();
    // The system's database is a Unix path (`/var/lib/…`): a fact of the build, not of an OS
    // the answer came from.
    if cfg!(unix) {
        out.push(PathBuf::from(store::SYSTEM_DB));
    }
    out.extend(own.filter(|p| !out.contains(p)));
    out
}

/// At most this many entries are drawn (the newest): a strip of more is not readable, and a
/// port busy for 30 days is read in milliseconds; the rest is counted above the strip.
const WINDOW_LIMIT: usize = 500;

/// Reads `port`'s timeline over the last `reach_ms`, as of `now_ms` (on the worker).
#[must_use]
pub fn read(given: Option<&Path>, port: u16, reach_ms: u64, now_ms: u64) -> Reading {
    let places = candidates(given);
    let unit_installed = store::unit_installed();
    let mut unreadable = None;
    for db in &places {
        match Store::open_for_reading(db) {
            Ok(Some(s)) => {
                let from = now_ms.saturating_sub(reach_ms);
                return match history::timeline_newest(
                    &s,
                    Subject::Port(port),
                    from,
                    now_ms,
                    now_ms,
                    Some(WINDOW_LIMIT),
                ) {
                    Ok(t) => Reading::Timeline {
                        timeline: Box::new(t),
                        db: db.clone(),
                        unit_installed,
                    },
                    Err(e) => Reading::Unreadable {
                        db: db.clone(),
                        why: format!("{e:#}"),
                    },
                };
            }
            Ok(None) => {}
            Err(e) => {
                unreadable.get_or_insert_with(|| Reading::Unreadable {
                    db: db.clone(),
                    why: std::error::Error::source(&e)
                        .map_or_else(|| e.to_string(), ToString::to_string),
                });
            }
        }
    }
    unreadable.unwrap_or_else(|| match places.into_iter().next() {
        Some(db) => Reading::NoDatabase { db, unit_installed },
        None => Reading::NoPlace,
    })
}

/// Reading one port's timeline, for the worker.
#[derive(Debug, Clone)]
pub struct HistoryJob {
    /// Request number.
    pub id: u64,
    /// The database (`None`: where the recorder keeps it).
    pub db: Option<PathBuf>,
    /// The port.
    pub port: u16,
    /// How far back from now.
    pub reach_ms: u64,
}

impl HistoryJob {
    /// Reads, then hands the answer to the window.
    pub fn run(self, emit: super::worker::Emit<'_>) {
        let now = crate::record::now_ms();
        let reading = read(self.db.as_deref(), self.port, self.reach_ms, now);
        emit(super::worker::Event::PortHistory {
            id: self.id,
            port: self.port,
            reading: Box::new(reading),
        });
    }
}

/// What the tab asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryAction {
    /// Read the port's timeline.
    Show,
    /// Open entry N's details.
    Select(usize),
    /// Open the list of the refused binds drawn as one marker: the ones among entries
    /// `first..=last`.
    SelectStack(usize, usize),
    /// Close the details.
    Unselect,
}

/// The tab's state.
#[derive(Debug, Default)]
pub struct PortHistoryRoom {
    /// The port typed.
    pub port_text: String,
    /// How far back.
    pub reach: Reach,
    /// The database to read (`None`: where the recorder keeps it).
    pub db: Option<PathBuf>,
    /// The request in flight.
    pub loading: Option<u64>,
    /// The last answer, and the port it is about.
    pub shown: Option<(u16, Reading)>,
    /// The entry whose details are open.
    pub selected: Option<usize>,
    /// The stack of refused binds whose list is open (entries `first..=last`): binds too close
    /// in time to be drawn apart, one marker.
    pub stack: Option<(usize, usize)>,
    /// Bad input, said inline.
    pub error: Option<String>,
    /// How the recorder commands shown name this program.
    pub program: Program,
    /// Whether this window runs as root (its commands then need no sudo).
    pub root: bool,
    next_id: u64,
}

impl PortHistoryRoom {
    /// An empty tab whose recorder commands start with `program`.
    #[must_use]
    pub fn new(program: Program) -> Self {
        Self {
            program,
            root: crate::platform::running_as_root(),
            ..Self::default()
        }
    }

    /// Applies one action; reading starts a job on the worker.
    pub fn apply(&mut self, action: HistoryAction, worker: &Worker) {
        match action {
            HistoryAction::Show => {
                let Ok(port) = crate::target::parse_port(&self.port_text) else {
                    self.error = Some(format!(
                        "{:?} is not a port: give a number from 1 to 65535.",
                        crate::text::clean(self.port_text.trim())
                    ));
                    return;
                };
                self.error = None;
                self.next_id += 1;
                let id = self.next_id;
                let started = worker.start(Job::PortHistory(HistoryJob {
                    id,
                    db: self.db.clone(),
                    port,
                    reach_ms: self.reach.ms(),
                }));
                if started {
                    self.loading = Some(id);
                } else {
                    self.error =
                        Some("The database could not be read: no thread to read it on.".into());
                }
            }
            HistoryAction::Select(i) => {
                // Picked from an open stack's list, the list stays open; anything else closes it.
                if !self.stack.is_some_and(|(a, b)| (a..=b).contains(&i)) {
                    self.stack = None;
                }
                self.selected = Some(i);
            }
            HistoryAction::SelectStack(first, last) => {
                self.stack = Some((first, last));
                self.selected = None;
            }
            HistoryAction::Unselect => {
                self.selected = None;
                self.stack = None;
            }
        }
    }

    /// Takes the worker's answer (a later request's answer replaces an earlier one's).
    pub fn on_reading(&mut self, id: u64, port: u16, reading: Reading) {
        if self.loading == Some(id) {
            self.loading = None;
            self.selected = None;
            self.stack = None;
            self.shown = Some((port, reading));
        }
    }

    /// Draws the tab and applies what the user asked for.
    pub fn show(&mut self, ui: &mut egui::Ui, worker: &Worker) {
        for a in self.ui(ui) {
            self.apply(a, worker);
        }
    }

    /// Draws the tab; returns what the user asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Vec<HistoryAction> {
        let mut actions = Vec::new();
        ui.heading("Port history");
        ui.add(
            egui::Label::new(
                "What the flight recorder saw on one port: who held it from when to when, and every refused bind.",
            )
            .wrap(),
        );
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Port");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.port_text)
                        .id(port_field())
                        .desired_width(70.0),
                )
                .labelled_by(l.id);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            // Read left to right as a sentence: "Port [8080] over the [last hour]".
            let l = ui.label("over the");
            egui::ComboBox::from_id_salt("history-reach")
                .selected_text(self.reach.label())
                .show_ui(ui, |ui| {
                    for r in Reach::ALL {
                        ui.selectable_value(&mut self.reach, r, r.label());
                    }
                })
                .response
                .labelled_by(l.id);
            if ui.button("Show history").clicked() || enter {
                actions.push(HistoryAction::Show);
            }
            if self.loading.is_some() {
                ui.spinner();
                ui.label("Reading the recorder's database…");
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.separator();
        let Some((port, reading)) = &self.shown else {
            return actions;
        };
        match reading {
            Reading::NoPlace => {
                ui.add(
                    egui::Label::new(
                        "No place to look for the recorder's database: this user has no data folder.",
                    )
                    .wrap(),
                );
            }
            Reading::NoDatabase { db, unit_installed } => {
                ui.add(
                    egui::Label::new(words::no_database(
                        db,
                        *unit_installed,
                        &self.program,
                        self.root,
                    ))
                    .wrap(),
                );
            }
            Reading::Unreadable { db, why } => {
                ui.add(
                    egui::Label::new(words::unreadable_database(db, why, *port, &self.program))
                        .wrap(),
                );
            }
            Reading::Timeline {
                timeline,
                db,
                unit_installed,
            } => {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    timeline_ui(
                        ui,
                        timeline,
                        db,
                        *unit_installed,
                        (self.selected, self.stack),
                        (&self.program, self.root),
                        &mut actions,
                    );
                });
            }
        }
        actions
    }
}

/// The heading, the recorder's state, the strip, the gaps and the open details; `(selected,
/// stack)`: the open entry and the open stack of refused binds; `(program, root)`: how the
/// commands shown start (the program, no sudo for root).
fn timeline_ui(
    ui: &mut egui::Ui,
    t: &Timeline,
    db: &Path,
    unit_installed: bool,
    (selected, stack): (Option<usize>, Option<(usize, usize)>),
    (program, root): (&Program, bool),
    actions: &mut Vec<HistoryAction>,
) {
    let off = t.utc_offset_secs;
    ui.strong(words::timeline_heading(t));
    ui.add(
        egui::Label::new(words::recorder_state(
            t.latest_session.as_ref(),
            db,
            unit_installed,
            off,
            program,
            root,
        ))
        .wrap(),
    );
    let shown = t
        .entries
        .iter()
        .filter(|e| !matches!(e, Entry::NotRecorded { .. }))
        .count();
    if let Some(o) = &t.omitted {
        ui.add(egui::Label::new(words::omitted_line(o, shown, off)).wrap());
    }
    if shown == 0 {
        ui.label(format!(
            "Nothing recorded on this port from {} to {}.",
            crate::record::time::date_time(t.from_ms, off),
            crate::record::time::date_time(t.to_ms, off)
        ));
    }
    super::history_strip::strip_ui(ui, t, (selected, stack), actions);
    for e in &t.entries {
        if let Entry::NotRecorded {
            from_ms,
            to_ms,
            why,
        } = e
        {
            ui.label(words::gap_label(*from_ms, *to_ms, *why, off));
        }
    }
    if let Some((first, last)) = stack {
        ui.separator();
        stack_ui(ui, t, (first, last), selected, actions);
    }
    if let Some(i) = selected
        && let Some(e) = t.entries.get(i)
    {
        if stack.is_none() {
            ui.separator();
        } else {
            ui.add_space(6.0);
        }
        let (title, rows) = match e {
            Entry::Held(s) => (
                words::span_label(s, t.to_ms, off),
                words::span_details(s, off),
            ),
            Entry::FailedBind(f) => (words::failed_label(f, off), words::failed_details(f, off)),
            Entry::NotRecorded { .. } => return,
        };
        ui.horizontal_wrapped(|ui| {
            ui.strong(title);
            if stack.is_none() && ui.button("Close details").clicked() {
                actions.push(HistoryAction::Unselect);
            }
        });
        egui::Grid::new("history-details")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for (k, v) in rows {
                    let l = ui.label(k);
                    ui.add(egui::Label::new(v).wrap()).labelled_by(l.id);
                    ui.end_row();
                }
            });
    }
}

/// The open stack of refused binds: how many and when, then one line each, the one picked opening
/// its details below; the list scrolls when the stack is long (a crash loop's hundreds).
fn stack_ui(
    ui: &mut egui::Ui,
    t: &Timeline,
    (first, last): (usize, usize),
    selected: Option<usize>,
    actions: &mut Vec<HistoryAction>,
) {
    let members = stack_members(t, first, last);
    let (Some((_, a)), Some((_, b))) = (members.first(), members.last()) else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.strong(words::failed_stack_label(
            members.len(),
            a.at_ms,
            b.at_ms,
            t.utc_offset_secs,
        ));
        if ui.button("Close details").clicked() {
            actions.push(HistoryAction::Unselect);
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("history-stack")
        .max_height(280.0)
        .show(ui, |ui| {
            for (i, f) in &members {
                let line = words::failed_label(f, t.utc_offset_secs);
                if ui.selectable_label(selected == Some(*i), line).clicked() {
                    actions.push(HistoryAction::Select(*i));
                }
            }
        });
}

/// The refused binds among entries `first..=last`, with their entry numbers.
fn stack_members(t: &Timeline, first: usize, last: usize) -> Vec<(usize, &history::FailedBind)> {
    t.entries
        .iter()
        .enumerate()
        .take(last.saturating_add(1))
        .skip(first)
        .filter_map(|(i, e)| match e {
            Entry::FailedBind(f) => Some((i, f)),
            _ => None,
        })
        .collect()
}

/// The form's port field: focus starts there when the window opens on this tab.
#[must_use]
pub fn port_field() -> egui::Id {
    egui::Id::unique("history-port-field")
}
