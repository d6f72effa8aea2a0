//! What the window remembers between runs, in one value under one storage key: each tab's form
//! (the check's, the scan's, the kit's hold time, the live table's filter and view) and the tab
//! that was open. Validated on load like every persisted text; the two keys of earlier versions
//! are read once when the new one is missing, so nobody loses their form in an update.

use serde::{Deserialize, Serialize};

use super::action::Tab;
use super::app::App;
use super::form::{Inputs, capped};
use super::scan_tab::ScanInputs;

/// The one storage key.
pub const STORAGE_KEY: &str = "port-inspector-state";
/// The keys of earlier versions: the check form and the scan form, each on its own.
const LEGACY_KEYS: [&str; 2] = ["port-inspector-inputs", "port-inspector-scan"];

/// The theme chosen in the title bar, as remembered (egui's own memory is not kept: its saved
/// zoom once panicked every start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeChoice {
    /// Follow the system (see `desktop_theme`).
    #[default]
    System,
    /// Always dark.
    Dark,
    /// Always light.
    Light,
}

impl ThemeChoice {
    /// egui's preference for this choice.
    #[must_use]
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
            ThemeChoice::Light => egui::ThemePreference::Light,
        }
    }

    /// The choice for egui's preference.
    #[must_use]
    pub fn of(p: egui::ThemePreference) -> Self {
        match p {
            egui::ThemePreference::System => ThemeChoice::System,
            egui::ThemePreference::Dark => ThemeChoice::Dark,
            egui::ThemePreference::Light => ThemeChoice::Light,
        }
    }
}

/// The Listening now tab's view, as remembered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListeningSaved {
    /// The filter text.
    pub filter: String,
    /// Connections too.
    pub all: bool,
    /// Grouped by process.
    pub grouped: bool,
    /// The columns shown, in order (empty: the default).
    pub columns: Vec<super::listening::Column>,
    /// Each column's width, as last drawn.
    pub widths: Vec<(super::listening::Column, f32)>,
    /// Seconds between refreshes (0: the default).
    pub refresh_secs: f32,
}

/// Everything remembered, one field per tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Saved {
    /// The tab open when the window closed.
    pub tab: Tab,
    /// The check form.
    pub check: Inputs,
    /// The scan form.
    pub scan: ScanInputs,
    /// The support kit's hold time, as typed.
    pub hold_secs: String,
    /// The live table's filter and view.
    pub listening: ListeningSaved,
    /// Whether the history panel is shown.
    pub history_open: bool,
    /// The theme chosen in the title bar.
    pub theme: ThemeChoice,
    /// The checks of earlier runs and this one (what, when, the verdict), oldest first, bounded.
    pub history: Vec<super::app::EarlierEntry>,
    /// The machine picker: the pick, the machines added by hand, the ssh command.
    pub machines: super::machines::MachinesSaved,
    /// The watched ports.
    pub watches: Vec<super::watches::WatchSpec>,
}

impl Default for Saved {
    fn default() -> Self {
        Self {
            tab: Tab::Check,
            check: Inputs::default(),
            scan: ScanInputs::default(),
            hold_secs: super::kit::KitState::default().hold_secs_text,
            listening: ListeningSaved::default(),
            history_open: true,
            theme: ThemeChoice::System,
            history: Vec::new(),
            machines: super::machines::MachinesSaved::default(),
            watches: Vec::new(),
        }
    }
}

impl Saved {
    /// What `storage` holds: the one key, else the earlier versions' two, else the defaults.
    /// A value serde cannot read counts as missing.
    #[must_use]
    pub fn load(storage: Option<&dyn eframe::Storage>) -> Self {
        let Some(s) = storage else {
            return Self::default();
        };
        if let Some(saved) = eframe::get_value::<Self>(s, STORAGE_KEY) {
            return saved;
        }
        Self {
            check: eframe::get_value(s, LEGACY_KEYS[0]).unwrap_or_default(),
            scan: eframe::get_value(s, LEGACY_KEYS[1]).unwrap_or_default(),
            ..Self::default()
        }
    }

    /// The same, with each text cut to a sane length and each number in range.
    #[must_use]
    pub fn validated(self) -> Self {
        Self {
            check: self.check.validated(),
            scan: self.scan.validated(),
            hold_secs: capped(self.hold_secs, 16),
            history: {
                let skip = self.history.len().saturating_sub(super::app::EARLIER_KEPT);
                self.history
                    .into_iter()
                    .skip(skip)
                    .map(|e| super::app::EarlierEntry {
                        at: capped(e.at, 32),
                        target: crate::Target {
                            host: capped(e.target.host.to_string(), 300).into(),
                            ..e.target
                        },
                        verdict: e.verdict,
                    })
                    .collect()
            },
            listening: ListeningSaved {
                filter: capped(self.listening.filter, 300),
                columns: {
                    // Each column once, at most all of them.
                    let mut seen = Vec::new();
                    for c in self.listening.columns {
                        if !seen.contains(&c) {
                            seen.push(c);
                        }
                    }
                    seen
                },
                widths: self
                    .listening
                    .widths
                    .into_iter()
                    .filter(|(_, w)| w.is_finite() && (20.0..=4000.0).contains(w))
                    .take(super::listening::Column::ALL.len())
                    .collect(),
                refresh_secs: if super::listening::INTERVALS
                    .iter()
                    .any(|d| (d.as_secs_f32() - self.listening.refresh_secs).abs() < 1e-3)
                {
                    self.listening.refresh_secs
                } else {
                    0.0
                },
                ..self.listening
            },
            ..self
        }
    }
}

impl App {
    /// What the window would remember now.
    #[must_use]
    pub fn saved(&self) -> Saved {
        Saved {
            tab: self.tab,
            check: self.check.inputs.clone(),
            scan: self.scan.inputs.clone(),
            hold_secs: self.kit.hold_secs_text.clone(),
            listening: ListeningSaved {
                filter: self.listening_now.filter.clone(),
                all: self.listening_now.all,
                grouped: self.listening_now.grouped,
                columns: self.listening_now.columns.clone(),
                widths: self.listening_now.widths.clone(),
                refresh_secs: self.listening_now.interval.as_secs_f32(),
            },
            history_open: self.check.history_open,
            theme: self.theme,
            machines: self.machines.saved(),
            watches: self.watches.saved(),
            history: {
                let mut all = self.check.earlier.clone();
                all.extend(self.check.history.iter().map(|h| super::app::EarlierEntry {
                    at: format!("{} {} UTC", h.date, h.at),
                    target: h.check.report.target.clone(),
                    verdict: h.check.report.verdict,
                }));
                let skip = all.len().saturating_sub(super::app::EARLIER_KEPT);
                all.split_off(skip)
            },
        }
    }

    /// Takes back what was remembered (validated first).
    pub fn restore(&mut self, saved: Saved) {
        let s = saved.validated();
        self.tab = s.tab;
        self.check.history_open = s.history_open;
        self.theme = s.theme;
        self.theme_pending = true;
        self.check.earlier = s.history;
        self.machines.restore(s.machines);
        self.watches
            .restore(s.watches, &self.machines, &self.worker);
        self.check.inputs = s.check;
        self.scan.inputs = s.scan;
        self.kit.hold_secs_text = s.hold_secs;
        self.listening_now.filter = s.listening.filter;
        self.listening_now.all = s.listening.all;
        self.listening_now.grouped = s.listening.grouped;
        if !s.listening.columns.is_empty() {
            self.listening_now.columns = s.listening.columns;
        }
        self.listening_now.widths = s.listening.widths;
        if s.listening.refresh_secs > 0.0 {
            self.listening_now.interval =
                std::time::Duration::from_secs_f32(s.listening.refresh_secs);
        }
    }
}
