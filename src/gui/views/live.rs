//! Drawing the Listening now table's parts: the sort headers, a process's group line, a
//! socket's row with its actions, and the fixed columns they share.

use egui::RichText;

use super::super::app::Action;
use super::super::live_table::SortBy;
use crate::owners::{Owner, SockState};

/// A column's header: a button that sorts by it; the sort column carries a triangle that
/// points the way it runs (drawn: the window's font has no arrows) and says so to screen readers.
pub(in crate::gui) fn sort_header(
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
pub(in crate::gui) fn group_ui(ui: &mut egui::Ui, o: &Owner, count: usize, height: f32) {
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
pub(in crate::gui) fn row_ui(
    ui: &mut egui::Ui,
    o: &Owner,
    gone: bool,
    new: bool,
    actions: &mut Vec<Action>,
) {
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
    // The text starts where a header button's does: inset by the button's padding.
    let pad = ui.spacing().button_padding.x;
    let cell = |ui: &mut egui::Ui, c: usize, text: RichText| {
        left(ui, WIDTHS[c], h, |ui| {
            ui.add_space(pad);
            ui.add(egui::Label::new(text).truncate())
        })
    };
    // The actions first: on a narrow window they stay in sight, the wide columns scroll.
    ui.allocate_ui_with_layout(
        egui::vec2(WIDTHS[0], h),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(WIDTHS[0]);
            ui.set_max_width(WIDTHS[0]);
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
pub(in crate::gui) fn left(
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
pub(in crate::gui) const COLUMNS: [(&str, Option<SortBy>); 9] = [
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
pub(in crate::gui) const WIDTHS: [f32; 9] =
    [172.0, 72.0, 120.0, 190.0, 170.0, 64.0, 130.0, 90.0, 170.0];
