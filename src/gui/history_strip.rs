//! The Port history tab's time strip, drawn with egui's painter: the axis, a lane of refused-bind
//! markers (binds too close in time to draw apart are one marker with their count), a lane per
//! holder with a bar per socket it held, the time no recorder ran shaded, and the legend. Each
//! bar and marker is an interactive region named by its sentence (from `record::words`), which
//! asks the tab to open its details.

use super::port_history::HistoryAction;
use crate::record::history::{self, Entry, Timeline};
use crate::record::words;

/// The strip's geometry: a lane's height, the column of lane names, the axis above.
const LANE_H: f32 = 22.0;
const NAME_W: f32 = 170.0;
const AXIS_H: f32 = 18.0;
/// The most lanes drawn (the rest are counted).
const LANES_SHOWN: usize = 400;

/// Where things go on the strip: the time axis and the lanes.
struct Strip {
    rect: egui::Rect,
    x0: f32,
    x1: f32,
    from_ms: u64,
    to_ms: u64,
}

impl Strip {
    /// The x of an instant (clamped to the window).
    fn x_of(&self, at_ms: u64) -> f32 {
        let len = self.to_ms.saturating_sub(self.from_ms).max(1);
        let d = at_ms.clamp(self.from_ms, self.to_ms) - self.from_ms;
        #[expect(clippy::cast_precision_loss, reason = "a pixel position")]
        let part = d as f32 / len as f32;
        self.x0 + (self.x1 - self.x0) * part
    }

    /// The top of lane `lane` (0: refused binds).
    fn lane_top(&self, lane: usize) -> f32 {
        #[expect(clippy::cast_precision_loss, reason = "a few hundred lanes")]
        let l = lane as f32;
        self.rect.top() + AXIS_H + LANE_H * l
    }
}

/// The time strip: a lane of refused-bind markers, then one lane per holder's span; the time no
/// recorder ran shaded across every lane.
pub(super) fn strip_ui(
    ui: &mut egui::Ui,
    t: &Timeline,
    (selected, stack): (Option<usize>, Option<(usize, usize)>),
    actions: &mut Vec<HistoryAction>,
) {
    let spans: Vec<usize> = t
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Entry::Held(_)))
        .map(|(i, _)| i)
        .collect();
    let lanes = lanes_of(t, &spans);
    let rows = 1 + lanes.len().min(LANES_SHOWN);
    #[expect(clippy::cast_precision_loss, reason = "a few hundred lanes")]
    let height = AXIS_H + LANE_H * rows as f32;
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width().max(NAME_W + 100.0), height),
        egui::Sense::hover(),
    );
    let strip = Strip {
        rect,
        x0: rect.left() + NAME_W,
        x1: rect.right() - 6.0,
        from_ms: t.from_ms,
        to_ms: t.to_ms,
    };
    background_ui(ui, &strip, t, rows);
    markers_ui(ui, &strip, t, (selected, stack), actions);
    bars_ui(ui, &strip, t, &lanes, selected, actions);
    if lanes.len() > LANES_SHOWN {
        let hidden: usize = lanes[LANES_SHOWN..].iter().map(|l| l.spans.len()).sum();
        ui.label(format!(
            "{hidden} more sockets held in this window are not drawn: narrow the time range."
        ));
    }
    legend_ui(ui);
}

/// A lane of the strip: one holder's sockets, one after another in time.
struct Lane {
    /// The holder, as the lane is named: its process and PID.
    name: String,
    /// The end of the lane's last span.
    end_ms: u64,
    /// The timeline's entries drawn in this lane, oldest first.
    spans: Vec<usize>,
}

/// One lane per holder, its sockets one after another (a service restarted 70 times on the port
/// is one lane of 70 bars, not 70 lanes); a socket it held at the same time as one already in
/// its lane (its IPv4 and IPv6 listeners) takes a lane of its own.
fn lanes_of(t: &Timeline, spans: &[usize]) -> Vec<Lane> {
    let mut order: Vec<(usize, &history::Span)> = spans
        .iter()
        .filter_map(|&i| match &t.entries[i] {
            Entry::Held(s) => Some((i, s)),
            _ => None,
        })
        .collect();
    order.sort_by_key(|(i, s)| (s.first_ms, *i));
    let mut lanes: Vec<Lane> = Vec::new();
    for (i, span) in order {
        let name = span.holders.first().map_or_else(
            || "unknown".to_owned(),
            |h| match &h.process {
                Some(p) => format!("{} ({})", crate::text::clean(p), h.pid),
                None => format!("PID {}", h.pid),
            },
        );
        let end_ms = words::span_end_ms(span, t.to_ms);
        match lanes
            .iter_mut()
            .find(|l| l.name == name && l.end_ms <= span.first_ms)
        {
            Some(lane) => {
                lane.end_ms = end_ms;
                lane.spans.push(i);
            }
            None => lanes.push(Lane {
                name,
                end_ms,
                spans: vec![i],
            }),
        }
    }
    lanes
}

/// The shade of time no recorder ran: the text's colour, faint, so it reads as grey in the
/// light theme and the dark (the panel's own faint shade was white on light grey there).
fn unrecorded(visuals: &egui::Visuals) -> egui::Color32 {
    visuals.text_color().gamma_multiply(0.14)
}

/// What the strip's marks mean, each drawn as the strip draws it: a refused bind's diamond, a
/// holder's bar, the shade of time no recorder ran.
fn legend_ui(ui: &mut egui::Ui) {
    let visuals = ui.visuals().clone();
    // Each mark beside its words, kept together on one line when the legend wraps (at 800 px
    // "no recorder running" broke away from its swatch).
    let entry = |ui: &mut egui::Ui, draw: &dyn Fn(&egui::Painter, egui::Rect), words: &str| {
        let font = egui::TextStyle::Body.resolve(ui.style());
        let text_w = ui
            .painter()
            .layout_no_wrap(words.to_owned(), font, egui::Color32::PLACEHOLDER)
            .size()
            .x;
        if ui.available_size_before_wrap().x < 16.0 + ui.spacing().item_spacing.x + text_w {
            ui.end_row();
        }
        let (rect, _) = ui.allocate_exact_size(egui::vec2(16.0, 12.0), egui::Sense::hover());
        draw(ui.painter(), rect);
        ui.add(egui::Label::new(words).extend());
        ui.add_space(8.0);
    };
    ui.horizontal_wrapped(|ui| {
        entry(
            ui,
            &|p, r| {
                let c = r.center();
                p.add(egui::Shape::convex_polygon(
                    vec![
                        egui::pos2(c.x, r.top()),
                        egui::pos2(c.x + 5.0, c.y),
                        egui::pos2(c.x, r.bottom()),
                        egui::pos2(c.x - 5.0, c.y),
                    ],
                    visuals.error_fg_color,
                    egui::Stroke::NONE,
                ));
            },
            "a refused bind",
        );
        entry(
            ui,
            &|p, r| {
                pill(
                    p,
                    (r.left() + 2.0, r.top()..=r.bottom()),
                    "3".to_owned(),
                    (visuals.error_fg_color, egui::Color32::WHITE),
                    egui::Stroke::NONE,
                );
            },
            "refused binds too close in time to draw apart",
        );
        entry(
            ui,
            &|p, r| {
                p.rect_filled(
                    r.shrink2(egui::vec2(0.0, 2.0)),
                    2.0,
                    visuals.selection.bg_fill,
                );
            },
            "a socket held, from its start to its end",
        );
        entry(
            ui,
            &|p, r| {
                p.rect_filled(r, 0.0, unrecorded(&visuals));
            },
            "no recorder running",
        );
        ui.weak("Click a mark for its details.");
    });
}

/// The axis (the window's two ends and its middle), the shaded gaps and the lane lines.
fn background_ui(ui: &egui::Ui, strip: &Strip, t: &Timeline, lanes: usize) {
    let painter = ui.painter_at(strip.rect);
    let visuals = ui.visuals();
    let off = t.utc_offset_secs;
    let len = t.to_ms.saturating_sub(t.from_ms).max(1);
    let font = egui::FontId::proportional(11.0);
    for (at, align) in [
        (t.from_ms, egui::Align2::LEFT_TOP),
        (t.from_ms + len / 2, egui::Align2::CENTER_TOP),
        (t.to_ms, egui::Align2::RIGHT_TOP),
    ] {
        let label = if len > 86_400_000 {
            crate::record::time::date_time(at, off)
        } else {
            crate::record::time::clock(at, off)
        };
        painter.text(
            egui::pos2(strip.x_of(at), strip.rect.top()),
            align,
            label,
            font.clone(),
            visuals.text_color(),
        );
    }
    // Every stretch no recorder ran, from the runs themselves: the entries say only those among
    // the entries shown, and a busy port's newest 500 may begin long after the strip does (its
    // earlier gaps were drawn as recorded time, blank).
    for (from_ms, to_ms) in history::gaps(&t.sessions, t.from_ms, t.to_ms, t.to_ms) {
        let left = strip.x_of(from_ms);
        let shade = egui::Rect::from_x_y_ranges(
            left..=strip.x_of(to_ms).max(left + 1.0),
            strip.lane_top(0)..=strip.rect.bottom(),
        );
        painter.rect_filled(shade, 0.0, unrecorded(visuals));
    }
    for lane in 0..lanes {
        let y = strip.lane_top(lane) + LANE_H;
        painter.line_segment(
            [egui::pos2(strip.rect.left(), y), egui::pos2(strip.x1, y)],
            egui::Stroke::new(0.5, visuals.weak_text_color().gamma_multiply(0.4)),
        );
    }
    painter.text(
        egui::pos2(strip.rect.left(), strip.lane_top(0) + LANE_H / 2.0),
        egui::Align2::LEFT_CENTER,
        "refused binds",
        font,
        visuals.weak_text_color(),
    );
}

/// One diamond per refused bind, each a button named by its sentence and instant; binds too
/// close in time to be drawn apart (a crash loop's retries, seconds apart on a day's strip) are
/// one marker with their count, a button that opens their list.
fn markers_ui(
    ui: &egui::Ui,
    strip: &Strip,
    t: &Timeline,
    (selected, stack): (Option<usize>, Option<(usize, usize)>),
    actions: &mut Vec<HistoryAction>,
) {
    let painter = ui.painter_at(strip.rect);
    let pick = ui.visuals().selection.stroke;
    let colour = ui.visuals().error_fg_color;
    // White on the error colour: readable on both themes' reds (the panel colour was not on
    // the dark theme's).
    let ink = egui::Color32::WHITE;
    let top = strip.lane_top(0);
    let off = t.utc_offset_secs;
    for group in marker_groups(strip, t) {
        let (first, oldest) = group[0];
        let (last, newest) = group[group.len() - 1];
        let x = strip.x_of(oldest.at_ms);
        let rows = top + 3.0..=top + LANE_H - 3.0;
        let picked = if group.len() == 1 {
            selected == Some(first)
        } else {
            stack == Some((first, last))
        };
        let stroke = if picked { pick } else { egui::Stroke::NONE };
        // Filled in below once the marker's place is known, drawn under it.
        let under = painter.add(egui::Shape::Noop);
        let (area, label, action) = if group.len() == 1 {
            let area = egui::Rect::from_x_y_ranges(x - 5.0..=x + 5.0, rows);
            painter.add(egui::Shape::convex_polygon(
                vec![
                    egui::pos2(x, area.top()),
                    egui::pos2(area.right(), area.center().y),
                    egui::pos2(x, area.bottom()),
                    egui::pos2(area.left(), area.center().y),
                ],
                colour,
                stroke,
            ));
            (
                area,
                words::failed_label(oldest, off),
                HistoryAction::Select(first),
            )
        } else {
            // A pill with the count in it, as wide as the count (within STACK_W).
            let count = if group.len() > 99 {
                "99+".to_owned()
            } else {
                group.len().to_string()
            };
            // From the first bind on, pulled left where it would pass the strip's end.
            let left = (x - 5.0).min(strip.rect.right() - STACK_W);
            let area = pill(&painter, (left, rows), count, (colour, ink), stroke);
            (
                area,
                words::failed_stack_label(group.len(), oldest.at_ms, newest.at_ms, off),
                HistoryAction::SelectStack(first, last),
            )
        };
        if picked {
            // The open one stands on the selection's colour across the lane: its outline alone
            // looked like the keyboard's focus ring on another marker.
            painter.set(
                under,
                egui::Shape::rect_filled(
                    egui::Rect::from_x_y_ranges(
                        area.left() - 3.0..=area.right() + 3.0,
                        top..=top + LANE_H,
                    ),
                    3.0,
                    ui.visuals().selection.bg_fill,
                ),
            );
        }
        let resp = ui.interact(
            area,
            ui.scope_id().with(("refused", first)),
            egui::Sense::click(),
        );
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
        super::views::focus_ring(ui, &resp);
        if resp.on_hover_text(label).clicked() {
            actions.push(action);
        }
    }
}

/// A stack's marker: a pill from `left` over `rows`, as wide as `count` (within `STACK_W`), the
/// count written in `ink` on `fill`. Its rectangle.
fn pill(
    painter: &egui::Painter,
    (left, rows): (f32, std::ops::RangeInclusive<f32>),
    count: String,
    (fill, ink): (egui::Color32, egui::Color32),
    stroke: egui::Stroke,
) -> egui::Rect {
    let galley = painter.layout_no_wrap(count, egui::FontId::proportional(10.0), ink);
    let width = (galley.size().x + 6.0).clamp(10.0, STACK_W - 2.0);
    let area = egui::Rect::from_x_y_ranges(left..=left + width, rows);
    painter.rect(area, 4.0, fill, stroke, egui::StrokeKind::Outside);
    painter.galley(area.center() - galley.size() / 2.0, galley, ink);
    area
}

/// How far apart two refused binds' markers must be to be drawn apart: a stack's marker takes
/// this much of the strip from its first bind on.
const STACK_W: f32 = 24.0;

/// The refused binds in groups drawn as one marker each: a group is every bind less than
/// `STACK_W` to the right of its first, in time order (the entries' order).
fn marker_groups<'a>(strip: &Strip, t: &'a Timeline) -> Vec<Vec<(usize, &'a history::FailedBind)>> {
    let mut groups: Vec<Vec<(usize, &history::FailedBind)>> = Vec::new();
    let mut group_x = f32::NEG_INFINITY;
    for (i, e) in t.entries.iter().enumerate() {
        let Entry::FailedBind(f) = e else { continue };
        let x = strip.x_of(f.at_ms);
        match groups.last_mut() {
            Some(g) if x - group_x < STACK_W => g.push((i, f)),
            _ => {
                groups.push(vec![(i, f)]);
                group_x = x;
            }
        }
    }
    groups
}

/// One bar per holder's span, in its holder's lane (named by its process), each a button named
/// by its sentence and time range.
fn bars_ui(
    ui: &egui::Ui,
    strip: &Strip,
    t: &Timeline,
    lanes: &[Lane],
    selected: Option<usize>,
    actions: &mut Vec<HistoryAction>,
) {
    let painter = ui.painter_at(strip.rect);
    let visuals = ui.visuals();
    let font = egui::FontId::proportional(11.0);
    for (n, lane) in lanes.iter().take(LANES_SHOWN).enumerate() {
        let top = strip.lane_top(n + 1);
        painter.text(
            egui::pos2(strip.rect.left(), top + LANE_H / 2.0),
            egui::Align2::LEFT_CENTER,
            &lane.name,
            font.clone(),
            visuals.text_color(),
        );
        for &i in &lane.spans {
            let Entry::Held(span) = &t.entries[i] else {
                continue;
            };
            let start = strip.x_of(span.first_ms);
            let end = strip
                .x_of(words::span_end_ms(span, t.to_ms))
                .max(start + 3.0);
            let bar = egui::Rect::from_x_y_ranges(start..=end, top + 4.0..=top + LANE_H - 4.0);
            let resp = ui.interact(bar, ui.scope_id().with(("held", i)), egui::Sense::click());
            let label = words::span_label(span, t.to_ms, t.utc_offset_secs);
            resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            super::views::focus_ring(ui, &resp);
            painter.rect_filled(bar, 2.0, visuals.selection.bg_fill);
            if selected == Some(i) {
                painter.rect_stroke(
                    bar,
                    2.0,
                    visuals.selection.stroke,
                    egui::StrokeKind::Outside,
                );
            }
            if resp.on_hover_text(label).clicked() {
                actions.push(HistoryAction::Select(i));
            }
        }
    }
}
