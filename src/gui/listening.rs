//! The "Listening now" tab: every socket on the machine with its owner and what manages it,
//! refreshed every second on a worker thread while the tab is visible (no frame waits for it),
//! new rows highlighted, vanished rows struck through for a few seconds, sortable and filterable.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egui::RichText;

use super::app::Action;
use crate::owners::{Owner, SockState};
use crate::target::Protocol;

/// How often the table is read again while the tab is visible.
pub const REFRESH: Duration = Duration::from_secs(1);
/// How long a vanished row stays, struck through.
const GONE_FOR: Duration = Duration::from_secs(4);

/// What identifies one socket from one refresh to the next.
type Key = (Protocol, SocketAddr, Option<SocketAddr>, u64);

fn key(o: &Owner) -> Key {
    (o.protocol, o.local, o.remote, o.inode)
}

/// The column the table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Port, then address.
    #[default]
    Port,
    /// Process name.
    Process,
    /// PID.
    Pid,
    /// State.
    State,
    /// User.
    User,
}

/// The tab's state (runtime only: nothing here is worth persisting but the filter).
#[derive(Default)]
pub struct ListeningTab {
    /// The sockets of the last refresh.
    pub rows: Vec<Owner>,
    /// Sockets that appeared in the last refresh.
    pub new: HashSet<Key>,
    /// Sockets that vanished, and when.
    pub gone: Vec<(Owner, Instant)>,
    /// Text filter over port, process, address.
    pub filter: String,
    /// Connections too, not only listening and bound sockets.
    pub all: bool,
    /// Refreshing is paused.
    pub paused: bool,
    /// The sort column.
    pub sort: SortBy,
    /// A refresh is running on a worker thread.
    pub refreshing: bool,
    /// When the last refresh arrived.
    pub last: Option<Instant>,
}

impl ListeningTab {
    /// Whether a refresh should start now.
    #[must_use]
    pub fn due(&self) -> bool {
        !self.paused && !self.refreshing && self.last.is_none_or(|t| t.elapsed() >= REFRESH)
    }

    /// Takes a fresh table: marks new rows (not on the first load) and keeps vanished ones a
    /// moment.
    pub fn apply(&mut self, rows: Vec<Owner>) {
        let before: HashSet<Key> = self.rows.iter().map(key).collect();
        let after: HashSet<Key> = rows.iter().map(key).collect();
        self.new = if self.last.is_some() {
            after.difference(&before).copied().collect()
        } else {
            HashSet::new()
        };
        let now = Instant::now();
        for o in self.rows.drain(..) {
            if !after.contains(&key(&o)) {
                self.gone.push((o, now));
            }
        }
        self.gone
            .retain(|(o, at)| at.elapsed() < GONE_FOR && !after.contains(&key(o)));
        self.rows = rows;
        self.refreshing = false;
        self.last = Some(now);
    }

    fn visible(&self) -> Vec<(&Owner, bool)> {
        let needle = self.filter.trim().to_lowercase();
        let keep = |o: &Owner| {
            (self.all || !o.state.is_connection())
                && (needle.is_empty()
                    || o.local.to_string().contains(&needle)
                    || o.process
                        .as_deref()
                        .is_some_and(|p| p.to_lowercase().contains(&needle))
                    || o.pid.is_some_and(|p| p.to_string() == needle))
        };
        let mut v: Vec<(&Owner, bool)> = self
            .rows
            .iter()
            .filter(|o| keep(o))
            .map(|o| (o, false))
            .chain(
                self.gone
                    .iter()
                    .filter(|(o, _)| keep(o))
                    .map(|(o, _)| (o, true)),
            )
            .collect();
        match self.sort {
            SortBy::Port => v.sort_by_key(|(o, _)| (o.local.port(), o.local.ip())),
            SortBy::Process => v.sort_by_key(|(o, _)| o.process.clone()),
            SortBy::Pid => v.sort_by_key(|(o, _)| o.pid),
            SortBy::State => v.sort_by_key(|(o, _)| o.state),
            SortBy::User => v.sort_by_key(|(o, _)| o.user.clone()),
        }
        v
    }

    /// Draws the tab; returns what the user asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Vec<Action> {
        let mut actions = Vec::new();
        self.header_ui(ui);
        // Owned rows: the header's sort buttons change `self` while they are drawn.
        let rows: Vec<(Owner, bool)> = self
            .visible()
            .into_iter()
            .map(|(o, gone)| (o.clone(), gone))
            .collect();
        if rows.is_empty() {
            ui.label(if self.last.is_none() {
                "Reading the sockets…"
            } else {
                "No socket matches."
            });
            return actions;
        }
        egui::ScrollArea::both().show(ui, |ui| {
            egui::Grid::new("listening")
                .striped(true)
                .num_columns(9)
                .show(ui, |ui| {
                    for (label, by) in [
                        ("Protocol", None),
                        ("State", Some(SortBy::State)),
                        ("Local", Some(SortBy::Port)),
                        ("Remote", None),
                        ("PID", Some(SortBy::Pid)),
                        ("Process", Some(SortBy::Process)),
                        ("User", Some(SortBy::User)),
                        ("Managed by", None),
                        ("", None),
                    ] {
                        match by {
                            Some(by) => {
                                if ui
                                    .selectable_label(
                                        self.sort == by,
                                        RichText::new(label).strong(),
                                    )
                                    .on_hover_text(format!("Sort by {label}"))
                                    .clicked()
                                {
                                    self.sort = by;
                                }
                            }
                            None => {
                                ui.strong(label);
                            }
                        }
                    }
                    ui.end_row();
                    for (o, gone) in &rows {
                        row_ui(ui, o, *gone, self.new.contains(&key(o)), &mut actions);
                    }
                });
        });
        actions
    }

    fn header_ui(&mut self, ui: &mut egui::Ui) {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for o in &self.rows {
            let k = format!("{} {}", o.protocol, o.state.name());
            match counts.iter_mut().find(|(c, _)| *c == k) {
                Some((_, n)) => *n += 1,
                None => counts.push((k, 1)),
            }
        }
        ui.horizontal_wrapped(|ui| {
            ui.heading("Listening now");
            ui.label(
                counts
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(" · "),
            );
        });
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .hint_text("port, process, address or PID")
                    .desired_width(220.0),
            )
            .labelled_by(l.id);
            ui.checkbox(&mut self.all, "Connections too");
            ui.checkbox(&mut self.paused, "Pause");
            if self.refreshing {
                ui.spinner();
            }
        });
    }
}

/// One socket's row: struck through when it vanished, marked when it is new; its actions.
fn row_ui(ui: &mut egui::Ui, o: &Owner, gone: bool, new: bool, actions: &mut Vec<Action>) {
    let warn = ui.visuals().warn_fg_color;
    let style = |t: String| {
        let mut r = RichText::new(t);
        if gone {
            r = r.strikethrough().weak();
        } else if new {
            r = r.color(warn);
        }
        r
    };
    let state = if gone {
        format!("{} (gone)", o.state.name())
    } else if new {
        format!("{} (new)", o.state.name())
    } else {
        o.state.name().to_owned()
    };
    ui.label(style(o.protocol.to_string()));
    ui.label(style(state));
    ui.label(style(o.local.to_string()));
    ui.label(style(o.remote.map(|r| r.to_string()).unwrap_or_default()));
    ui.label(style(o.pid.map_or_else(|| "-".into(), |p| p.to_string())));
    // No process named: a dash in the table, the reason on hover (it is long).
    let name = o
        .process
        .as_deref()
        .map_or_else(|| "—".to_owned(), |p| crate::text::clean(p).into_owned());
    let chain: Vec<String> = o
        .ancestry
        .iter()
        .map(|a| {
            format!(
                "{} ({})",
                crate::text::clean(a.name.as_deref().unwrap_or("?")),
                a.pid
            )
        })
        .collect();
    let resp = ui.label(style(name));
    if o.process.is_none() {
        resp.on_hover_text(o.who());
    } else if !chain.is_empty() {
        resp.on_hover_text(format!("Started by: {}", chain.join(" ← ")));
    }
    ui.label(style(
        crate::text::clean(o.user.as_deref().unwrap_or("")).into_owned(),
    ));
    ui.label(style(crate::wording::managed_by(o)));
    ui.horizontal(|ui| {
        if gone {
            return;
        }
        // Each button names its socket for screen readers (and tests): many rows, one word each.
        let named = |ui: &mut egui::Ui, text: &str, name: String| {
            let r = ui.small_button(text);
            r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            r.on_hover_text(name).clicked()
        };
        if named(
            ui,
            "Check",
            format!("Check {} {} in the Check tab", o.protocol, o.local),
        ) {
            actions.push(Action::CheckSocket(o.local, o.protocol));
        }
        if o.pid.is_some()
            && o.state != SockState::TimeWait
            && named(
                ui,
                "End…",
                format!(
                    "End the processes holding {} {} (asks first)",
                    o.protocol, o.local
                ),
            )
        {
            actions.push(Action::EndSocket(o.local, o.protocol));
        }
        if named(
            ui,
            "Copy",
            format!("Copy the row of {} {}", o.protocol, o.local),
        ) {
            actions.push(Action::CopyText(crate::report::owner_line(o)));
        }
    });
    ui.end_row();
}
