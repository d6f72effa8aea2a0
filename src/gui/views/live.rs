//! Drawing the Listening now table's parts: the sort headers, a process's group line, and each
//! cell of a socket's row, a row's actions and a process's properties window (the table itself
//! is laid out by `listening.rs`).

use egui::RichText;

use super::super::app::Action;
use super::super::live_table::Column;
use crate::owners::{Owner, SockState};

/// A column's header: a button that sorts by it; the sort column carries a triangle that
/// points the way it runs (drawn: the window's font has no arrows) and says so to screen readers.
pub(in crate::gui) fn sort_header(
    ui: &mut egui::Ui,
    label: &str,
    selected: bool,
    descending: bool,
) -> bool {
    let text = if selected {
        RichText::new(format!("{label}    ")).strong()
    } else {
        RichText::new(label).strong()
    };
    let resp = ui.add(egui::Button::selectable(selected, text));
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

/// The head of a process's group: who it is, what manages it, how many sockets it holds, and
/// whether it is folded (a click folds or unfolds it).
pub(in crate::gui) fn group_text(o: &Owner, count: usize, folded: bool) -> String {
    let who = o.pid.map_or_else(
        || "No process visible".to_owned(),
        |_| crate::text::clean(&crate::wording::who(o)).into_owned(),
    );
    let manager = if o.pid.is_some() && o.managed_by.is_some() {
        format!(" · {}", crate::wording::managed_by(o))
    } else {
        String::new()
    };
    let sockets = if count == 1 { "socket" } else { "sockets" };
    let mark = if folded { "+" } else { "−" };
    format!("{mark} {who}{manager} · {count} {sockets}")
}

/// A group's line, drawn from the first column's cell across `span` points (every column), cut
/// to what the table shows (`table_clip`), not to the first column. It is a band of its own
/// over the table's column edges (egui_extras draws each resizable column's edge down the whole
/// body, after the rows): drawn on a layer above the table's (below any window or menu), so no
/// edge runs through the process's name; the band shows the pointer over it, as a row does.
pub(in crate::gui) fn group_line(
    ui: &mut egui::Ui,
    text: String,
    span: f32,
    table_clip: egui::Rect,
) {
    let cell = ui.max_rect();
    let rect =
        egui::Rect::from_min_size(cell.min, egui::vec2(span.max(cell.width()), cell.height()));
    let clip = ui.clip_rect().with_max_x(rect.max.x.min(table_clip.max.x));
    let layer = egui::LayerId::new(ui.layer_id().order, egui::Id::unique("live-table-groups"));
    let visuals = ui.visuals();
    let band = rect.intersect(clip);
    // A header's shade, set apart from the rows' stripes; stronger under the pointer.
    let over = if ui.rect_contains_pointer(band) {
        visuals.widgets.hovered.weak_bg_fill.gamma_multiply(0.8)
    } else {
        visuals.widgets.inactive.weak_bg_fill.gamma_multiply(0.6)
    };
    let painter = ui
        .painter()
        .clone()
        .with_layer_id(layer)
        .with_clip_rect(clip);
    painter.rect_filled(rect, 0.0, visuals.panel_fill);
    painter.rect_filled(rect, 0.0, over);
    let mut line = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(rect)
            .layer_id(layer)
            .layout(egui::Layout::left_to_right(egui::Align::Center)),
    );
    line.set_clip_rect(clip);
    line.add(
        egui::Label::new(RichText::new(text).strong())
            .selectable(false)
            .truncate(),
    );
}

/// One cell of a socket's row: its text (struck through when the socket vanished, marked when it
/// is new) and what its hover says (the parent chain, the reason a process is not named).
pub(in crate::gui) fn cell_text(
    ui: &egui::Ui,
    o: &Owner,
    column: Column,
    gone: bool,
    new: bool,
) -> (RichText, Option<String>) {
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
    let clean = |s: Option<&str>| crate::text::clean(s.unwrap_or("")).into_owned();
    match column {
        Column::Process => {
            // No process named: a dash, the reason on hover (it is long).
            let name = o
                .process
                .as_deref()
                .map_or_else(|| "—".to_owned(), |p| crate::text::clean(p).into_owned());
            let hover = if o.process.is_none() {
                Some(crate::wording::who(o))
            } else if o.ancestry.is_empty() {
                None
            } else {
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
                Some(format!("Started by (parent first): {}", chain.join(", ")))
            };
            (style(name), hover)
        }
        Column::Pid => (
            style(o.pid.map_or_else(|| "—".into(), |p| p.to_string())),
            None,
        ),
        Column::Protocol => (style(o.protocol.to_string()), None),
        Column::Local => (style(o.address().to_string()), None),
        Column::Remote => (
            style(o.remote.map(|r| r.to_string()).unwrap_or_default()),
            None,
        ),
        Column::State => {
            let state = if gone {
                format!("{} (gone)", o.state.name())
            } else if new {
                format!("{} (new)", o.state.name())
            } else {
                o.state.name().to_owned()
            };
            (style(state), None)
        }
        Column::User => (style(clean(o.user.as_deref())), None),
        Column::ManagedBy => (style(crate::wording::managed_by(o)), None),
        Column::Command => {
            let cmd = clean(o.cmdline.as_deref());
            let hover = (!cmd.is_empty()).then(|| cmd.clone());
            (style(cmd), hover)
        }
    }
}

/// A process's properties: path, command line, user, parent chain, what manages it, and
/// every socket it holds in the table (`rows`). `false` once the window is closed.
pub(in crate::gui) fn properties_window(
    ui: &egui::Ui,
    o: &Owner,
    rows: &[Owner],
    gone: Option<&crate::gui::listening::PropertiesGone>,
) -> bool {
    let mut open = true;
    egui::Window::new("Process properties")
        .open(&mut open)
        .default_width(520.0)
        .show(ui.ctx(), |ui| {
            if let Some(g) = gone {
                // No longer live: said first, and nothing below reads as if it were.
                let pid = g.pid;
                let said = if g.ended {
                    format!("PID {pid} ended at {} UTC. What follows was read before it ended.", g.at)
                } else {
                    format!("PID {pid} holds no socket since {} UTC (it closed them or ended). What follows was read before.", g.at)
                };
                ui.add(
                    egui::Label::new(
                        RichText::new(said)
                            .strong()
                            .color(ui.visuals().warn_fg_color),
                    )
                    .wrap(),
                );
                ui.separator();
            }
            let clean = |s: Option<&str>| {
                s.map_or_else(
                    || "unknown".to_owned(),
                    |s| crate::text::clean(s).into_owned(),
                )
            };
            egui::Grid::new("properties").num_columns(2).show(ui, |ui| {
                for (name, value) in [
                    ("Process", crate::wording::who(o)),
                    ("Path", clean(o.path.as_deref())),
                    ("Command line", clean(o.cmdline.as_deref())),
                    ("User", clean(o.user.as_deref())),
                    ("Managed by", crate::wording::managed_by(o)),
                    (
                        "Started by",
                        o.ancestry
                            .iter()
                            .map(|a| format!("{} ({})", clean(a.name.as_deref()), a.pid))
                            .collect::<Vec<_>>()
                            .join(", started by "),
                    ),
                ] {
                    ui.label(name);
                    ui.add(egui::Label::new(value).wrap());
                    ui.end_row();
                }
            });
            if gone.is_none() {
                ui.separator();
                ui.label(RichText::new("Sockets it holds").strong());
                for s in rows.iter().filter(|s| s.pid.is_some() && s.pid == o.pid) {
                    ui.label(format!("{} {} {}", s.protocol, s.address(), s.state.name()));
                }
            }
        });
    open
}

/// A row's actions, on the toolbar and in its right-click menu. Each button names its socket for
/// screen readers (and tests).
pub(in crate::gui) fn row_actions(
    ui: &mut egui::Ui,
    o: &Owner,
    gone: bool,
    actions: &mut Vec<Action>,
    properties: &mut Option<Owner>,
) {
    let named = |ui: &mut egui::Ui, text: &str, name: String, enabled: bool| {
        let r = ui.add_enabled(enabled, egui::Button::new(text));
        r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, &name));
        r.on_hover_text(name).clicked()
    };
    if named(
        ui,
        "Check",
        format!("Check {} {} in the Check tab", o.protocol, o.address()),
        true,
    ) {
        actions.push(Action::CheckSocket(o.local, o.protocol));
        ui.close();
    }
    let can_end = !gone && o.pid.is_some() && o.state != SockState::TimeWait;
    if named(
        ui,
        "End…",
        format!(
            "End the processes holding {} {} (asks first)",
            o.protocol,
            o.address()
        ),
        can_end,
    ) {
        actions.push(Action::EndSocket(o.local, o.protocol));
        ui.close();
    }
    if let Some(remote) = o.remote.filter(|_| {
        !gone
            && o.protocol == crate::target::Protocol::Tcp
            && !matches!(o.state, SockState::TimeWait | SockState::Listen)
    }) && named(
        ui,
        "Close connection…",
        format!(
            "Close the connection from {} to {remote} (asks first)",
            o.address()
        ),
        true,
    ) {
        actions.push(Action::AskCloseConnection(Box::new(o.clone())));
        ui.close();
    }
    if named(
        ui,
        "Copy",
        format!("Copy the row of {} {}", o.protocol, o.address()),
        true,
    ) {
        actions.push(Action::CopyText(crate::render::report::owner_line(o)));
        ui.close();
    }
    if named(
        ui,
        "Properties",
        format!(
            "Properties of the process holding {} {}",
            o.protocol,
            o.address()
        ),
        o.pid.is_some(),
    ) {
        *properties = Some(o.clone());
        ui.close();
    }
}
