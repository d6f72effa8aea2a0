//! The Scan tab's map: the range as a grid of cells above the table, one cell per port (or per
//! block of ports on a wide range), coloured free / in use / refused, with a stripe for the
//! ports the OS treats specially (ephemeral, reserved, privileged). People see a range faster
//! than they read it: hover a cell for its ports and owner, click it to open its check.

use egui::{Color32, Rect, Sense, Vec2};

use super::app::Action;
use crate::render::scan::special_kind;
use crate::scan::{PortStatus, ScanReport, SpecialKind};
use crate::target::Protocol;

/// At most this many cells; wider ranges group ports into blocks.
const MAX_CELLS: u32 = 1024;
const CELL: f32 = 10.0;
const GAP: f32 = 1.0;

/// What one cell shows: the worst outcome among its ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Untested,
    Free,
    Refused,
    InUse,
}

/// One cell: its first and last port, its state and the busy port to open on a click.
struct Cell {
    first: u16,
    last: u16,
    state: State,
    busy: Option<(u16, Protocol)>,
    free: u32,
    special: Option<SpecialKind>,
}

fn cells(report: &ScanReport) -> Vec<Cell> {
    let start = u32::from(report.request.start);
    let end = u32::from(report.request.end);
    let n = end - start + 1;
    let per = n.div_ceil(MAX_CELLS).max(1);
    let mut out: Vec<Cell> = (0..n.div_ceil(per))
        .map(|i| {
            let first = start + i * per;
            let last = (first + per - 1).min(end);
            let to_port = |p: u32| u16::try_from(p).unwrap_or(u16::MAX);
            Cell {
                first: to_port(first),
                last: to_port(last),
                state: State::Untested,
                busy: None,
                free: 0,
                special: report
                    .special
                    .iter()
                    .find(|s| u32::from(s.start) <= last && u32::from(s.end) >= first)
                    .map(|s| s.kind),
            }
        })
        .collect();
    let index = |port: u16| ((u32::from(port) - start) / per) as usize;
    for f in &report.free {
        for p in f.start..=f.end {
            if let Some(c) = out.get_mut(index(p)) {
                c.free += 1;
                c.state = c.state.max(State::Free);
            }
        }
    }
    for b in &report.busy {
        if let Some(c) = out.get_mut(index(b.port)) {
            let s = match b.status {
                PortStatus::InUse => State::InUse,
                PortStatus::Refused => State::Refused,
                PortStatus::Free => State::Free,
            };
            if s >= c.state {
                c.state = s;
                c.busy = Some((b.port, b.protocol));
            }
        }
    }
    out
}

fn color(ui: &egui::Ui, s: State) -> Color32 {
    match s {
        State::Untested => ui.visuals().weak_text_color().gamma_multiply(0.4),
        State::Free => super::views::ok_color(ui).gamma_multiply(0.7),
        State::Refused => ui.visuals().warn_fg_color,
        State::InUse => ui.visuals().error_fg_color,
    }
}

fn stripe(ui: &egui::Ui, kind: SpecialKind) -> Color32 {
    match kind {
        SpecialKind::Ephemeral => ui.visuals().hyperlink_color,
        SpecialKind::Reserved => ui.visuals().warn_fg_color,
        SpecialKind::Privileged => ui.visuals().text_color(),
    }
}

/// Draws the map of `report`; a click on a busy cell asks to open that port's check.
pub fn map_ui(ui: &mut egui::Ui, report: &ScanReport, actions: &mut Vec<Action>) {
    let cells = cells(report);
    if cells.is_empty() {
        return;
    }
    let width = ui.available_width().max(CELL * 8.0);
    let cols = ((width + GAP) / (CELL + GAP)).floor().max(1.0);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small positive column count"
    )]
    let cols_n = cols as usize;
    let rows = cells.len().div_ceil(cols_n);
    #[expect(clippy::cast_precision_loss, reason = "at most 1024 rows")]
    let size = Vec2::new(cols * (CELL + GAP), rows as f32 * (CELL + GAP));
    let busy = report.busy.len();
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            format!(
                "Port map: {} free, {busy} not free (hover a cell for its ports, click a busy one to check it)",
                report.free_count
            ),
        )
    });
    super::views::focus_ring(ui, &response);
    let painter = ui.painter_at(rect);
    let cell_rect = |i: usize| {
        #[expect(clippy::cast_precision_loss, reason = "at most 1024 cells")]
        let (x, y) = ((i % cols_n) as f32, (i / cols_n) as f32);
        Rect::from_min_size(
            rect.min + Vec2::new(x * (CELL + GAP), y * (CELL + GAP)),
            Vec2::splat(CELL),
        )
    };
    for (i, c) in cells.iter().enumerate() {
        let r = cell_rect(i);
        painter.rect_filled(r, 1.0, color(ui, c.state));
        if let Some(kind) = c.special {
            let band = Rect::from_min_max(egui::pos2(r.min.x, r.max.y - 2.0), r.max);
            painter.rect_filled(band, 0.0, stripe(ui, kind));
        }
    }
    let hovered = response
        .hover_pos()
        .and_then(|p| (0..cells.len()).find(|&i| cell_rect(i).expand(GAP / 2.0).contains(p)));
    if let Some(i) = hovered {
        let c = &cells[i];
        let ports = if c.first == c.last {
            format!("port {}", c.first)
        } else {
            format!("ports {}-{}", c.first, c.last)
        };
        // Every busy port of the cell, each protocol on its own (TCP and UDP may both be busy).
        let busy: Vec<String> = report
            .busy
            .iter()
            .filter(|b| (c.first..=c.last).contains(&b.port))
            .take(4)
            .map(|b| {
                let what = match b.status {
                    PortStatus::InUse => match b.owners.first() {
                        Some(o) => format!("in use by {}", crate::wording::who(o)),
                        None => "in use".to_owned(),
                    },
                    _ => "refused".to_owned(),
                };
                format!(
                    "port {} ({}) {what}, {}",
                    b.port, b.protocol, b.error.wsa_name
                )
            })
            .collect();
        let owner = (!busy.is_empty()).then(|| format!("{}. Click to check it.", busy.join("; ")));
        let text = match (c.state, owner) {
            (State::Untested, _) => format!("{ports}: not tested"),
            (_, Some(o)) if c.first == c.last => o,
            (_, Some(o)) => format!("{ports}: {} free; {o}", c.free),
            _ => format!("{ports}: {} free", c.free),
        };
        let special = c
            .special
            .map(|k| format!("\n{} range", special_kind(k)))
            .unwrap_or_default();
        response.clone().on_hover_text(format!("{text}{special}"));
        if response.clicked()
            && let Some((port, proto)) = c.busy
        {
            actions.push(Action::CheckPort(port, proto));
        }
    }
    ui.horizontal_wrapped(|ui| {
        for (s, name) in [
            (State::Free, "free"),
            (State::InUse, "in use"),
            (State::Refused, "refused"),
            (State::Untested, "not tested"),
        ] {
            let (r, _) = ui.allocate_exact_size(Vec2::splat(CELL), Sense::hover());
            ui.painter().rect_filled(r, 1.0, color(ui, s));
            ui.small(name);
        }
        for kind in [
            SpecialKind::Ephemeral,
            SpecialKind::Reserved,
            SpecialKind::Privileged,
        ] {
            if cells.iter().any(|c| c.special == Some(kind)) {
                let (r, _) = ui.allocate_exact_size(Vec2::new(CELL, 3.0), Sense::hover());
                ui.painter().rect_filled(r, 0.0, stripe(ui, kind));
                ui.small(special_kind(kind));
            }
        }
        if cells.first().is_some_and(|c| c.first != c.last) {
            let per = u32::from(cells[0].last) - u32::from(cells[0].first) + 1;
            ui.small(format!("· one cell = {per} ports"));
        }
    });
}
