//! The "Listening now" tab: every socket on the machine with its owner and what manages it,
//! refreshed on a worker thread while the tab is visible (every second, or as chosen; no frame
//! waits for it), new rows highlighted, vanished rows struck through for a few seconds, sortable,
//! filterable (command lines and paths too), grouped by process with groups that fold.
//! Laid out as TCPView is: who holds the socket first (Process, PID), the socket, why the process
//! runs, the command line; a row is selected by a click and acted on from the toolbar, its
//! right-click menu or the keyboard (Enter checks, Delete ends, Ctrl+C copies, arrows move), so
//! no row carries buttons and the columns that matter fit at 800 px.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::RichText;

use super::app::Action;
pub use super::live_table::{Column, Key, REFRESH, SortBy, Table};
use super::live_table::{GONE_FOR, Line, Look, key, shown_counts, view_of};
use super::views::live::{
    cell_text, group_line, group_text, properties_window, row_actions, sort_header,
};
use crate::owners::{Owner, OwnerNote, SockState};

/// The refresh intervals offered.
pub const INTERVALS: [Duration; 4] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

/// The tab's state: runtime only, but for the filter, "Connections too" and the grouping, which
/// `saved.rs` remembers.
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
    /// When the last refresh arrived.
    pub last: Option<Instant>,
    /// The wall-clock time of the last table read, `HH:MM:SS` UTC (said while paused).
    pub last_at: Option<String>,
    /// Sockets per protocol and state, for the header.
    counts: String,
    /// The lines shown, in order; rebuilt only when the filter, the sort, the grouping or
    /// "Connections too" change or a vanished row leaves, never per frame.
    view: Vec<Line>,
    /// What `view` was built for.
    view_look: Option<Look>,
    /// The lines in sight: `view` without the sockets of folded groups.
    visible: Vec<usize>,
    /// The folded groups (by PID).
    pub folded: HashSet<Option<u32>>,
    /// The folded groups `visible` was built for.
    visible_folded: Option<HashSet<Option<u32>>>,
    /// The selected socket.
    pub selected: Option<Key>,
    /// The columns shown, in order (a chooser shows, hides and moves them; remembered).
    pub columns: Vec<Column>,
    /// Each column's width as last drawn (remembered between runs).
    pub widths: Vec<(Column, f32)>,
    /// How often the table is read again.
    pub interval: Duration,
    /// Read the table again at the next frame (after an End, or F5), comparing as usual.
    pub soon: bool,
    /// The process whose properties are shown.
    pub properties: Option<Owner>,
    /// When a table read first found none of its sockets, and whether it had ended then.
    pub properties_gone: Option<PropertiesGone>,
    /// Why the window cannot relaunch itself elevated (asked once), `None` when it can.
    elevation: Option<String>,
    /// An export the user asked for this frame: its format and whether to a file.
    export: Option<(ExportFormat, bool)>,
    /// The machine the rows are of (`None`: this one); every row and the heading name it.
    pub machine: Option<String>,
    /// The machine picked in the window, whose table is asked for (set each frame).
    pub picked: Option<String>,
    /// Why the picked machine's table could not be read (the window's sentence).
    pub error: Option<String>,
}

/// What the live table can be exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// For a spreadsheet.
    Csv,
    /// The rows of `list --json`.
    Json,
    /// One self-contained page.
    Html,
}

impl Default for ListeningTab {
    fn default() -> Self {
        Self {
            rows: Arc::default(),
            new: HashSet::new(),
            gone: Vec::new(),
            filter: String::new(),
            all: false,
            paused: false,
            sort: SortBy::default(),
            descending: false,
            grouped: false,
            last: None,
            last_at: None,
            counts: String::new(),
            view: Vec::new(),
            view_look: None,
            visible: Vec::new(),
            folded: HashSet::new(),
            visible_folded: None,
            selected: None,
            columns: Column::ALL.to_vec(),
            widths: Vec::new(),
            interval: REFRESH,
            soon: false,
            properties: None,
            properties_gone: None,
            elevation: crate::platform::elevation_unavailable(),
            export: None,
            machine: None,
            picked: None,
            error: None,
        }
    }
}

/// The process of the Properties window holds no socket any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesGone {
    /// Its PID.
    pub pid: u32,
    /// When a read first found none of its sockets, `HH:MM:SS` UTC.
    pub at: String,
    /// Whether it had ended then (else it closed them, or it is another machine's).
    pub ended: bool,
}

impl ListeningTab {
    /// The filter, sort and grouping the view is made for.
    pub(super) fn look(&self) -> Look {
        Look {
            filter: self.filter.clone(),
            all: self.all,
            sort: self.sort,
            descending: self.descending,
            grouped: self.grouped,
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
        self.visible_folded = None;
        self.soon = false;
        self.last = Some(Instant::now());
        self.last_at = Some(super::app::clock_now());
        self.machine = table.machine;
        self.error = None;
        self.note_properties_gone();
    }

    /// A read with none of the shown process's sockets: when, and whether it has ended (asked
    /// of this machine's OS; another machine's process is not asked after).
    fn note_properties_gone(&mut self) {
        let Some(pid) = self.properties.as_ref().and_then(|o| o.pid) else {
            return;
        };
        if self.properties_gone.as_ref().is_some_and(|g| g.pid == pid) {
            return;
        }
        if self
            .rows
            .iter()
            .any(|r| r.pid == Some(pid) || r.pids.contains(&pid))
        {
            return;
        }
        self.properties_gone = Some(PropertiesGone {
            pid,
            at: super::app::clock_now(),
            ended: self.machine.is_none() && crate::platform::process_ended(pid),
        });
    }

    /// The picked machine's table could not be read: `why` is said above the table, and rows of
    /// another machine are never left under it as if they were this one's.
    pub fn fail(&mut self, machine: String, why: String) {
        if self.machine.as_ref() != Some(&machine) {
            self.rows = Arc::default();
            self.gone.clear();
            self.new.clear();
            self.view.clear();
            self.visible.clear();
            self.counts.clear();
            self.view_look = None;
            self.selected = None;
            self.machine = Some(machine);
        }
        self.error = Some(why);
        self.soon = false;
        self.last = Some(Instant::now());
    }

    /// The rows to show, rebuilt when the look changed since they were built.
    fn refresh_view(&mut self) {
        let look = self.look();
        if self.view_look.as_ref() == Some(&look) {
            return;
        }
        self.view = view_of(&self.rows, &self.gone, &look);
        self.counts = shown_counts(&self.rows, &self.view, self.all);
        self.view_look = Some(look);
        self.visible_folded = None;
    }

    /// The lines in sight, rebuilt when the view or the folded groups changed.
    fn refresh_visible(&mut self) {
        if self.visible_folded.as_ref() == Some(&self.folded) {
            return;
        }
        self.visible.clear();
        let mut n = 0;
        while n < self.view.len() {
            self.visible.push(n);
            if let Line::Group { first, count } = self.view[n]
                && self.folded.contains(&self.group_pid(first))
            {
                n = first + count;
                continue;
            }
            n += 1;
        }
        self.visible_folded = Some(self.folded.clone());
    }

    /// The socket of line `n` of the view (none for a group's head).
    fn socket(&self, n: usize) -> Option<(&Owner, bool)> {
        match *self.view.get(n)? {
            Line::Socket { index, gone } => Some(if gone {
                (&self.gone.get(index)?.0, true)
            } else {
                (self.rows.get(index)?, false)
            }),
            Line::Group { .. } => None,
        }
    }

    /// The PID of the group whose first socket is line `first`.
    fn group_pid(&self, first: usize) -> Option<u32> {
        self.socket(first).and_then(|(o, _)| o.pid)
    }

    /// The selected socket as it is now (none once it vanished and left).
    #[must_use]
    pub fn selected_socket(&self) -> Option<&Owner> {
        let k = self.selected?;
        self.rows
            .iter()
            .find(|o| key(o) == k)
            .or_else(|| self.gone.iter().map(|(o, _)| o).find(|o| key(o) == k))
    }

    /// The sockets the view shows (the filter applied; vanished ones left out), in its order.
    #[must_use]
    pub fn shown_rows(&self) -> Vec<Owner> {
        self.view
            .iter()
            .filter_map(|l| match *l {
                Line::Socket { index, gone: false } => self.rows.get(index).cloned(),
                _ => None,
            })
            .collect()
    }

    /// Sockets whose process this user may not see (another user's), for the banner.
    fn hidden(&self) -> usize {
        self.rows
            .iter()
            .filter(|o| matches!(o.note, Some(OwnerNote::OtherUser | OwnerNote::NoPtrace)))
            .count()
    }

    /// Draws the tab; returns what the user asked for. Only the rows in sight are laid out
    /// (a table of 10,000 sockets costs what its visible rows cost). `status` (what the last
    /// action did: a row copied, holders ended …) is shown under the toolbar, wrapped.
    pub fn ui(&mut self, ui: &mut egui::Ui, status: Option<&str>) -> Vec<Action> {
        let mut actions = Vec::new();
        // Vanished rows leave after a few seconds, without waiting for the next refresh.
        let before = self.gone.len();
        self.gone.retain(|(_, at)| at.elapsed() < GONE_FOR);
        if self.gone.len() != before {
            self.view_look = None;
        }
        self.refresh_view();
        self.refresh_visible();
        self.header_ui(ui);
        if let Some((format, save)) = self.export.take() {
            actions.push(Action::ExportSockets {
                rows: self.shown_rows(),
                format,
                save,
            });
        }
        self.toolbar_ui(ui, &mut actions);
        if let Some(s) = status {
            ui.add(egui::Label::new(RichText::new(s).strong()).wrap());
        }
        self.keys(ui, &mut actions);
        // Drawn whatever the table shows (a filter that matches nothing hid it, and clearing
        // the filter brought it back, stale).
        if let Some(o) = &self.properties {
            let gone = self
                .properties_gone
                .as_ref()
                .filter(|g| Some(g.pid) == o.pid);
            if !properties_window(ui, o, &self.rows, gone) {
                self.properties = None;
            }
        }
        // Rows of another machine than the picked one are never shown as if they were its.
        if self.picked != self.machine || self.last.is_none() {
            ui.label("Reading the sockets…");
            return actions;
        }
        if let Some(e) = &self.error {
            ui.add(egui::Label::new(RichText::new(e).color(ui.visuals().error_fg_color)).wrap());
        }
        if self.view.is_empty() {
            if self.error.is_none() {
                ui.label("No socket matches.");
            }
            return actions;
        }
        // Columns wider than the window scroll sideways (at 800 px the default columns fill it,
        // and a widened one must never push Command out of reach).
        egui::ScrollArea::horizontal()
            .id_salt("listening-columns")
            .auto_shrink([false, false])
            .show(ui, |ui| self.table_ui(ui, &mut actions));
        actions
    }

    /// The title, the counts (of what the filter shows), the filter and the view's switches.
    fn header_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            match &self.machine {
                Some(m) => ui.heading(format!("Listening now on {}", crate::text::clean(m))),
                None => ui.heading("Listening now"),
            };
            ui.label(&self.counts);
        });
        if self.paused
            && let Some(at) = &self.last_at
        {
            // A paused table is a moment, not the machine now: said so, with its time.
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("Paused: the table as read at {at} UTC, not updated until Pause is off."),
            );
        }
        if let Some(m) = &self.picked {
            ui.label(format!(
                "Read from {} over ssh (its own list), every {} s at the most often: each read logs in there.",
                crate::text::clean(m),
                self.interval.max(super::live_refresh::REMOTE_REFRESH).as_secs_f32()
            ));
        }
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .id(filter_field())
                    .hint_text("port, process, command, user or PID")
                    .desired_width(200.0),
            )
            .labelled_by(l.id);
            ui.checkbox(&mut self.all, "Connections too");
            ui.checkbox(&mut self.grouped, "Group by process");
            ui.checkbox(&mut self.paused, "Pause");
            let l = ui.label("Every");
            egui::ComboBox::from_id_salt("refresh-every")
                .selected_text(interval_text(self.interval))
                .show_ui(ui, |ui| {
                    for d in INTERVALS {
                        ui.selectable_value(&mut self.interval, d, interval_text(d));
                    }
                })
                .response
                .labelled_by(l.id);
            self.columns_ui(ui);
            ui.menu_button("Export", |ui| {
                for (label, format, save) in [
                    ("Copy as CSV", ExportFormat::Csv, false),
                    ("Copy as JSON", ExportFormat::Json, false),
                    ("Save as CSV", ExportFormat::Csv, true),
                    ("Save as JSON", ExportFormat::Json, true),
                    ("Save as HTML page", ExportFormat::Html, true),
                ] {
                    if ui
                        .button(label)
                        .on_hover_text("The sockets the filter shows, with every column")
                        .clicked()
                    {
                        self.export = Some((format, save));
                        ui.close();
                    }
                }
            });
        });
    }

    /// The column chooser: show or hide each column, move it left or right.
    fn columns_ui(&mut self, ui: &mut egui::Ui) {
        ui.menu_button("Columns", |ui| {
            for c in Column::ALL {
                ui.horizontal(|ui| {
                    let mut shown = self.columns.contains(&c);
                    if ui.checkbox(&mut shown, c.title()).changed() {
                        if shown {
                            self.columns.push(c);
                        } else if self.columns.len() > 1 {
                            self.columns.retain(|x| *x != c);
                        }
                    }
                    if let Some(i) = self.columns.iter().position(|x| *x == c) {
                        let left = ui.add_enabled(i > 0, egui::Button::new("Left").small());
                        let left = left.on_hover_text(format!("Move {} one place left", c.title()));
                        if left.clicked() {
                            self.columns.swap(i, i - 1);
                        }
                        let right = ui.add_enabled(
                            i + 1 < self.columns.len(),
                            egui::Button::new("Right").small(),
                        );
                        if right
                            .on_hover_text(format!("Move {} one place right", c.title()))
                            .clicked()
                        {
                            self.columns.swap(i, i + 1);
                        }
                    }
                });
            }
            if ui.button("Default columns").clicked() {
                self.columns = Column::ALL.to_vec();
                self.widths.clear();
            }
        });
    }

    /// What can be done with the selected row; unprivileged, how many owners are hidden.
    fn toolbar_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        let hidden = self.hidden();
        if hidden > 0 {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!(
                    "{hidden} {} of other users: their processes are hidden from this user.",
                    if hidden == 1 {
                        "socket belongs to a process"
                    } else {
                        "sockets belong to processes"
                    }
                ));
                match &self.elevation {
                    None => {
                        if ui.button("Relaunch as administrator").clicked() {
                            actions.push(Action::RelaunchElevated);
                        }
                    }
                    Some(why) => {
                        ui.label(format!("To see them, run Port Inspector as root ({why})."));
                    }
                }
            });
        }
        let selected = self.selected_socket().cloned();
        ui.horizontal_wrapped(|ui| match &selected {
            Some(o) => {
                // A connection by both ends: two rows can share the local address.
                let remote = o
                    .remote
                    .map_or_else(String::new, |r| format!(", connected to {r}"));
                ui.label(format!("Selected: {} {}{remote}", o.protocol, o.address()));
                row_actions(ui, o, self.gone_has(o), actions, &mut self.properties);
            }
            None => {
                ui.weak(
                    "Select a row to check it, end its holders or copy it (or right-click it).",
                );
            }
        });
    }

    fn gone_has(&self, o: &Owner) -> bool {
        let k = key(o);
        !self.rows.iter().any(|r| key(r) == k)
    }

    /// Keys for the selected row, when no text field has the keyboard.
    fn keys(&mut self, ui: &egui::Ui, actions: &mut Vec<Action>) {
        if ui.ctx().memory(|m| m.focused().is_some()) {
            return;
        }
        let (up, down, enter, delete, copy) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::ArrowUp),
                i.key_pressed(egui::Key::ArrowDown),
                i.key_pressed(egui::Key::Enter),
                i.key_pressed(egui::Key::Delete),
                i.events.iter().any(|e| matches!(e, egui::Event::Copy)),
            )
        });
        if up || down {
            let sockets: Vec<Key> = self
                .visible
                .iter()
                .filter_map(|&n| self.socket(n).map(|(o, _)| key(o)))
                .collect();
            let at = self
                .selected
                .and_then(|k| sockets.iter().position(|s| *s == k));
            let next = match (at, down) {
                (None, _) => sockets.first(),
                (Some(i), true) => sockets.get(i + 1).or(sockets.get(i)),
                (Some(i), false) => sockets.get(i.saturating_sub(1)),
            };
            self.selected = next.copied();
        }
        let Some(o) = self.selected_socket() else {
            return;
        };
        if enter {
            actions.push(Action::CheckSocket(o.local, o.protocol));
        }
        if delete && o.pid.is_some() && o.state != SockState::TimeWait {
            actions.push(Action::EndSocket(o.local, o.protocol));
        }
        if copy {
            actions.push(Action::CopyText(crate::render::report::owner_line(o)));
        }
    }

    /// The table's columns: the machine's first when the rows are another machine's, then the
    /// chosen ones at their remembered widths, the last taking what is left.
    fn builder<'a>(
        &self,
        ui: &'a mut egui::Ui,
        columns: &[Column],
        machine_column: bool,
    ) -> egui_extras::TableBuilder<'a> {
        let mut table = egui_extras::TableBuilder::new(ui)
            .id_salt(("listening", columns.to_vec()))
            .striped(true)
            .resizable(true)
            // Rows are picked by click and by the arrow keys, not by Tab: 2,000 rows of cells
            // as Tab stops would stand between the toolbar and everything after it.
            .sense(egui::Sense::CLICK)
            .auto_shrink([false, false])
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
        if machine_column {
            table = table.column(
                egui_extras::Column::initial(110.0)
                    .at_least(36.0)
                    .clip(true)
                    .resizable(true),
            );
        }
        for (i, c) in columns.iter().enumerate() {
            let width = self
                .widths
                .iter()
                .find(|(w, _)| w == c)
                .map_or(c.width(), |(_, w)| *w);
            table = table.column(if i + 1 == columns.len() {
                egui_extras::Column::remainder().at_least(60.0).clip(true)
            } else {
                egui_extras::Column::initial(width)
                    .at_least(36.0)
                    .clip(true)
                    .resizable(true)
            });
        }
        table
    }

    /// The table: resizable columns, rows in sight only, a click selects, a right click offers
    /// the row's actions, a group's head folds it.
    fn table_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        let columns: Vec<Column> = self
            .columns
            .iter()
            .copied()
            .filter(|c| *c != Column::Remote || self.all)
            .collect();
        let row_height = ui.spacing().interact_size.y;
        // Another machine's rows each name it, in a first column of their own.
        let on = self
            .machine
            .as_deref()
            .map(|m| crate::text::clean(m).into_owned());
        let offset = usize::from(on.is_some());
        let resized = self.column_edge_keys(ui, &columns, offset);
        // A group's line spans the row: it is drawn across every column, inside what the table
        // shows (not cut to the first column: two groups read "python3 (PID 1063…").
        let (gap, table_clip) = (ui.spacing().item_spacing.x, ui.clip_rect());
        let table = self.builder(ui, &columns, on.is_some());
        if resized {
            // The widths asked for from the keyboard: the table starts again from them.
            table.reset();
        }
        let mut clicked_sort = None;
        let mut widths = Vec::new();
        table
            .header(row_height, |mut header| {
                if on.is_some() {
                    header.col(|ui| {
                        ui.strong("Machine");
                    });
                }
                for c in &columns {
                    header.col(|ui| {
                        let selected = self.sort == c.sort();
                        if sort_header(ui, c.title(), selected, self.descending) {
                            clicked_sort = Some((c.sort(), selected));
                        }
                    });
                }
            })
            .body(|body| {
                let span = body.widths().iter().map(|w| w + gap).sum::<f32>() - gap;
                widths = body
                    .widths()
                    .get(usize::from(on.is_some())..)
                    .unwrap_or_default()
                    .to_vec();
                let visible = std::mem::take(&mut self.visible);
                body.rows(row_height, visible.len(), |mut row| {
                    let n = visible[row.index()];
                    if let Line::Group { first, count } = self.view[n] {
                        let pid = self.group_pid(first);
                        let folded = self.folded.contains(&pid);
                        let text = self
                            .socket(first)
                            .map(|(o, _)| group_text(o, count, folded));
                        row.col(|ui| group_line(ui, text.unwrap_or_default(), span, table_clip));
                        for _ in 1..columns.len() + usize::from(on.is_some()) {
                            row.col(|_| {});
                        }
                        if row.response().clicked() {
                            if folded {
                                self.folded.remove(&pid);
                            } else {
                                self.folded.insert(pid);
                            }
                        }
                        return;
                    }
                    let Some((o, gone)) = self.socket(n).map(|(o, g)| (o.clone(), g)) else {
                        return;
                    };
                    let o = &o;
                    let k = key(o);
                    let new = self.new.contains(&k);
                    row.set_selected(self.selected == Some(k));
                    if let Some(m) = &on {
                        row.col(|ui| {
                            ui.add(egui::Label::new(m.as_str()).selectable(false).truncate());
                        });
                    }
                    for c in &columns {
                        row.col(|ui| {
                            let (text, hover) = cell_text(ui, o, *c, gone, new);
                            // Not selectable text: a click on a cell is a click on its row.
                            let r = ui.add(egui::Label::new(text).selectable(false).truncate());
                            if let Some(h) = hover {
                                r.on_hover_text(h);
                            }
                        });
                    }
                    let resp = row.response();
                    if resp.clicked() {
                        self.selected = Some(k);
                    }
                    resp.context_menu(|ui| {
                        self.selected = Some(k);
                        row_actions(ui, o, gone, actions, &mut self.properties);
                    });
                });
                self.visible = visible;
            });
        if let Some((by, selected)) = clicked_sort {
            // A second click on the sort column reverses it.
            self.descending = selected && !self.descending;
            self.sort = by;
        }
        self.widths = columns.iter().copied().zip(widths).collect();
    }

    /// A column's edge focused from the keyboard (egui_extras makes each a Tab stop that shows
    /// nothing and does nothing from the keys): it is drawn, and ← → move it by 20 points, kept
    /// as the column's remembered width. Returns whether a width changed.
    fn column_edge_keys(&mut self, ui: &egui::Ui, columns: &[Column], offset: usize) -> bool {
        // egui_extras' own ids of the edges (its table state id, then "resize_column", i).
        let state_id = ui
            .scope_id()
            .with(egui::IdSalt::new(("listening", columns.to_vec())));
        let Some(i) = (0..columns.len() + offset)
            .find(|&i| ui.memory(|m| m.has_focus(state_id.with("resize_column").with(i))))
        else {
            return false;
        };
        let edge = state_id.with("resize_column").with(i);
        let Some(rect) = ui.ctx().read_response(edge).map(|r| r.rect) else {
            return false;
        };
        let step = super::views::edge_keys(ui, edge, rect.center().x, rect.y_range());
        let Some(c) = i.checked_sub(offset).and_then(|n| columns.get(n)) else {
            return false;
        };
        if step == 0.0 {
            return false;
        }
        let now = self
            .widths
            .iter()
            .find(|(w, _)| w == c)
            .map_or(c.width(), |(_, w)| *w);
        let new = (now + step).clamp(36.0, 4000.0);
        // Every column keeps its width; the moved one takes the new one.
        let widths: Vec<(Column, f32)> = columns
            .iter()
            .map(|col| {
                let w = self
                    .widths
                    .iter()
                    .find(|(x, _)| x == col)
                    .map_or(col.width(), |(_, w)| *w);
                (*col, if col == c { new } else { w })
            })
            .collect();
        self.widths = widths;
        ui.ctx().request_repaint();
        true
    }
}

/// The filter field's id (Ctrl+F comes to it).
#[must_use]
pub fn filter_field() -> egui::Id {
    egui::Id::unique("listening-filter")
}

/// "1 s", "0.5 s".
fn interval_text(d: Duration) -> String {
    format!("{} s", d.as_secs_f32())
}
