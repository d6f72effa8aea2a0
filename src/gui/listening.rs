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
use crate::owners::{Owner, SockState};

/// The tab's state (runtime only: nothing here is worth persisting but the filter).
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
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Vec<Action> {
        let mut actions = Vec::new();
        // Vanished rows leave after a few seconds, without waiting for the next refresh.
        let before = self.gone.len();
        self.gone.retain(|(_, at)| at.elapsed() < GONE_FOR);
        if self.gone.len() != before {
            self.view_look = None;
        }
        self.header_ui(ui);
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

    fn header_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Listening now");
            ui.label(&self.counts);
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

/// A column's header: a button that sorts by it; the sort column carries a triangle that
/// points the way it runs (drawn: the window's font has no arrows) and says so to screen readers.
fn sort_header(
    ui: &mut egui::Ui,
    label: &str,
    selected: bool,
    descending: bool,
    width: f32,
    height: f32,
) -> bool {
    let text = if selected {
        RichText::new(format!("{label}    ")).strong()
    } else {
        RichText::new(label).strong()
    };
    let resp = left(ui, width, height, |ui| {
        ui.add(egui::Button::selectable(selected, text))
    });
    if selected {
        let way = if descending {
            "largest first"
        } else {
            "smallest first"
        };
        let name = format!("{label}, sorted {way}");
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
        let r = resp.rect;
        let c = egui::pos2(r.right() - 10.0, r.center().y);
        let (tip, base) = if descending { (4.0, -3.0) } else { (-4.0, 3.0) };
        ui.painter().add(egui::Shape::convex_polygon(
            vec![
                egui::pos2(c.x, c.y + tip),
                egui::pos2(c.x + 4.0, c.y + base),
                egui::pos2(c.x - 4.0, c.y + base),
            ],
            ui.visuals().strong_text_color(),
            egui::Stroke::NONE,
        ));
    }
    resp.on_hover_text(format!("Sort by {label} (click again to reverse)"))
        .clicked()
}

/// The head of a process's group: who it is, what manages it, how many sockets it holds.
fn group_ui(ui: &mut egui::Ui, o: &Owner, count: usize, height: f32) {
    let who = o.pid.map_or_else(
        || "No process visible".to_owned(),
        |_| crate::text::clean(&o.who()).into_owned(),
    );
    let manager = if o.pid.is_some() && o.managed_by.is_some() {
        format!(" · {}", crate::wording::managed_by(o))
    } else {
        String::new()
    };
    let sockets = if count == 1 { "socket" } else { "sockets" };
    ui.allocate_ui_with_layout(
        egui::vec2(WIDTHS.iter().sum::<f32>(), height),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.add(
                egui::Label::new(
                    RichText::new(format!("{who}{manager} · {count} {sockets}")).strong(),
                )
                .truncate(),
            );
        },
    );
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
    let h = ui.spacing().interact_size.y;
    // A cell of column `c`: its fixed width, long text shortened with an ellipsis.
    let cell = |ui: &mut egui::Ui, c: usize, text: RichText| {
        left(ui, WIDTHS[c], h, |ui| {
            ui.add(egui::Label::new(text).truncate())
        })
    };
    // The actions first: on a narrow window they stay in sight, the wide columns scroll.
    ui.allocate_ui_with_layout(
        egui::vec2(WIDTHS[0], h),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(WIDTHS[0]);
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
        },
    );
    cell(ui, 1, style(o.protocol.to_string()));
    cell(ui, 2, style(state));
    cell(ui, 3, style(o.local.to_string()));
    cell(
        ui,
        4,
        style(o.remote.map(|r| r.to_string()).unwrap_or_default()),
    );
    cell(
        ui,
        5,
        style(o.pid.map_or_else(|| "—".into(), |p| p.to_string())),
    );
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
    let resp = cell(ui, 6, style(name));
    if o.process.is_none() {
        resp.on_hover_text(o.who());
    } else if !chain.is_empty() {
        resp.on_hover_text(format!("Started by (parent first): {}", chain.join(", ")));
    }
    cell(
        ui,
        7,
        style(crate::text::clean(o.user.as_deref().unwrap_or("")).into_owned()),
    );
    cell(ui, 8, style(crate::wording::managed_by(o)));
}

/// A cell `width` wide, its content on the left (a table reads down its left edges).
fn left(
    ui: &mut egui::Ui,
    width: f32,
    height: f32,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    ui.allocate_ui_with_layout(
        egui::vec2(width, height),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(width);
            ui.set_max_width(width);
            add(ui)
        },
    )
    .inner
}

/// The columns, and which sort each header sets.
const COLUMNS: [(&str, Option<SortBy>); 9] = [
    ("", None),
    ("Protocol", Some(SortBy::Protocol)),
    ("State", Some(SortBy::State)),
    ("Local", Some(SortBy::Port)),
    ("Remote", Some(SortBy::Remote)),
    ("PID", Some(SortBy::Pid)),
    ("Process", Some(SortBy::Process)),
    ("User", Some(SortBy::User)),
    ("Managed by", Some(SortBy::Manager)),
];

/// Fixed column widths (points): a header and its rows line up without measuring every row.
const WIDTHS: [f32; 9] = [150.0, 64.0, 110.0, 190.0, 170.0, 64.0, 130.0, 90.0, 170.0];
