//! The "Listening now" tab: every socket on the machine with its owner and what manages it,
//! refreshed every second on a worker thread while the tab is visible (no frame waits for it),
//! new rows highlighted, vanished rows struck through for a few seconds, sortable and filterable.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use egui::RichText;

use super::app::Action;
use super::live_table::{GONE_FOR, Line, Look, key, view_of};
pub use super::live_table::{Key, REFRESH, Refresh, SortBy, Table};
use super::views::live::{COLUMNS, WIDTHS, group_ui, left, row_ui, sort_header};
use crate::owners::Owner;

/// The tab's state: runtime only, but for the filter, "Connections too" and the grouping, which
/// `saved.rs` remembers.
#[derive(Default)]
pub struct ListeningTab {
    /// The sockets of the last refresh (shared with the worker preparing the next one).
    pub rows: Arc<Vec<Owner>>,
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
    /// Sorted from the largest down (a second click on the sort column).
    pub descending: bool,
    /// Each process's sockets together under a line that names it.
    pub grouped: bool,
    /// A refresh is running on a worker thread.
    pub refreshing: bool,
    /// When the last refresh arrived.
    pub last: Option<Instant>,
    /// Sockets per protocol and state, for the header.
    counts: String,
    /// The lines shown, in order; rebuilt only when the filter, the sort, the grouping or
    /// "Connections too" change or a vanished row leaves, never per frame.
    view: Vec<Line>,
    /// What `view` was built for.
    view_look: Option<Look>,
}

impl ListeningTab {
    /// Whether a refresh should start now.
    #[must_use]
    pub fn due(&self) -> bool {
        !self.paused && !self.refreshing && self.last.is_none_or(|t| t.elapsed() >= REFRESH)
    }

    fn look(&self) -> Look {
        Look {
            filter: self.filter.clone(),
            all: self.all,
            sort: self.sort,
            descending: self.descending,
            grouped: self.grouped,
        }
    }

    /// The next refresh, for the worker: what the tab shows now, to compare the fresh table with.
    #[must_use]
    pub fn refresh(&self) -> Refresh {
        Refresh {
            before: self.last.is_some().then(|| Arc::clone(&self.rows)),
            gone: self.gone.clone(),
            look: self.look(),
        }
    }

    /// Takes a prepared table: a swap, whatever its size.
    pub fn apply(&mut self, table: Table) {
        let old = std::mem::replace(&mut self.rows, table.rows);
        // Freeing ten thousand rows (their parent chains and buffers) takes milliseconds: not
        // on the frame that shows the new table.
        if old.len() > 1000 {
            std::thread::spawn(move || {
                crate::platform::background_thread();
                drop(old);
            });
        }
        self.new = table.new;
        self.gone = table.gone;
        self.counts = table.counts;
        self.view = table.view;
        self.view_look = Some(table.look);
        self.refreshing = false;
        self.last = Some(Instant::now());
    }

    /// The rows to show, rebuilt when the look changed since they were built.
    fn refresh_view(&mut self) {
        let look = self.look();
        if self.view_look.as_ref() == Some(&look) {
            return;
        }
        self.view = view_of(&self.rows, &self.gone, &look);
        self.view_look = Some(look);
    }

    /// Draws the tab; returns what the user asked for. Only the rows in sight are laid out
    /// (a table of 10,000 sockets costs what its visible rows cost).
    /// `status` (what the last click did: a row copied …) is shown in the header, in sight
    /// whatever the table's length.
    pub fn ui(&mut self, ui: &mut egui::Ui, status: Option<&str>) -> Vec<Action> {
        let mut actions = Vec::new();
        // Vanished rows leave after a few seconds, without waiting for the next refresh.
        let before = self.gone.len();
        self.gone.retain(|(_, at)| at.elapsed() < GONE_FOR);
        if self.gone.len() != before {
            self.view_look = None;
        }
        self.header_ui(ui, status);
        self.refresh_view();
        if self.view.is_empty() {
            ui.label(if self.last.is_none() {
                "Reading the sockets…"
            } else {
                "No socket matches."
            });
            return actions;
        }
        let row_height = ui.spacing().interact_size.y;
        // Solid scroll bars in their own space, and the sideways one at the bottom of the tab:
        // a floating bar over a short table would lie across its last row's buttons.
        ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
        egui::ScrollArea::horizontal()
            .id_salt("listening-wide")
            .auto_shrink([false, false])
            .scroll_source(
                egui::scroll_area::ScrollSource::SCROLL_BAR
                    | egui::scroll_area::ScrollSource::MOUSE_WHEEL,
            )
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    for (i, (label, by)) in COLUMNS.iter().enumerate() {
                        let text = RichText::new(*label).strong();
                        match by {
                            Some(by) => {
                                let selected = self.sort == *by;
                                if sort_header(
                                    ui,
                                    label,
                                    selected,
                                    self.descending,
                                    WIDTHS[i],
                                    row_height,
                                ) {
                                    // A second click on the sort column reverses it.
                                    self.descending = selected && !self.descending;
                                    self.sort = *by;
                                }
                            }
                            None => {
                                left(ui, WIDTHS[i], row_height, |ui| ui.label(text));
                            }
                        }
                    }
                });
                egui::ScrollArea::vertical()
                    .id_salt("listening-rows")
                    .scroll_source(
                        egui::scroll_area::ScrollSource::SCROLL_BAR
                            | egui::scroll_area::ScrollSource::MOUSE_WHEEL,
                    )
                    .show_rows(ui, row_height, self.view.len(), |ui, range| {
                        for n in range {
                            let (i, gone) = match self.view[n] {
                                Line::Socket { index, gone } => (index, gone),
                                Line::Group { first, count } => {
                                    if let Line::Socket { index, gone } = self.view[first] {
                                        let o = if gone {
                                            &self.gone[index].0
                                        } else {
                                            &self.rows[index]
                                        };
                                        group_ui(ui, o, count, row_height);
                                    }
                                    continue;
                                }
                            };
                            let o = if gone { &self.gone[i].0 } else { &self.rows[i] };
                            if n % 2 == 1 {
                                let r = ui.available_rect_before_wrap();
                                let stripe = egui::Rect::from_min_size(
                                    r.min,
                                    egui::vec2(WIDTHS.iter().sum::<f32>(), row_height),
                                );
                                ui.painter()
                                    .rect_filled(stripe, 0.0, ui.visuals().faint_bg_color);
                            }
                            // Ids from the socket, not from the row's place: a row above that
                            // gains or loses a button must not change this row's buttons, or a
                            // click in between would be lost.
                            ui.push_id((key(o), gone), |ui| {
                                ui.horizontal(|ui| {
                                    row_ui(ui, o, gone, self.new.contains(&key(o)), &mut actions);
                                });
                            });
                        }
                    });
            });
        actions
    }

    fn header_ui(&mut self, ui: &mut egui::Ui, status: Option<&str>) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Listening now");
            ui.label(&self.counts);
            if let Some(s) = status {
                ui.label(RichText::new(s).strong());
            }
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
            ui.checkbox(&mut self.grouped, "Group by process");
            ui.checkbox(&mut self.paused, "Pause");
            // The spinner's room is kept when idle: the table must not jump every second
            // (a click on a row's button would land on the row that moved under it).
            ui.add_visible(self.refreshing, egui::Spinner::new());
        });
    }
}
