//! The Scan tab: the range form, progress with Cancel, the map and the result table.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The result of a scan: summary, special ranges, filter and copy, the table.
fn scan_results_ui(
    ui: &mut egui::Ui,
    inputs: &mut ScanInputs,
    state: &ScanState,
    report: &crate::scan::ScanReport,
    status: Option<&str>,
    actions: &mut Vec<Action>,
) {
    let (all_rows, machine, at) = (&state.rows, state.report_on.as_deref(), state.report_at);
    if let Some(m) = machine {
        ui.label(RichText::new(format!("On {} (over ssh):", crate::text::clean(m))).strong());
    }
    ui.label(format!(
        "{}{} {}-{} on {}: {} free, {} not free, {} tested in {:.0} ms{}",
        at.map_or_else(String::new, |t| format!(
            "Scanned at {} UTC: ",
            crate::record::time::clock(t, 0)
        )),
        report
            .request
            .protocols
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("+"),
        report.request.start,
        report.request.end,
        report.request.address,
        report.free_count,
        report.busy.len(),
        report.scanned,
        std::time::Duration::from_micros(report.elapsed_us).as_secs_f64() * 1000.0,
        if report.cancelled { " (cancelled)" } else { "" }
    ));
    for s in &report.special {
        ui.label(format!(
            "Note: {}.",
            crate::render::scan::special_note(s, report.os)
        ));
    }
    crate::gui::scan_map::map_ui(ui, report, actions);
    // Wraps onto a second line on a narrow window instead of pushing the Copy buttons off it.
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut inputs.only_busy, "Show only in use");
        let l = ui.label("Filter");
        ui.add(egui::TextEdit::singleline(&mut inputs.filter).desired_width(140.0))
            .labelled_by(l.id);
        ui.label("Sort:");
        ui.radio_value(&mut inputs.sort, ScanSort::Port, "by port");
        ui.radio_value(&mut inputs.sort, ScanSort::Status, "busy first");
        if ui.button("Copy CSV").clicked() {
            actions.push(Action::CopyScanCsv);
        }
        if ui.button("Copy Markdown").clicked() {
            actions.push(Action::CopyScanMarkdown);
        }
        // What a Copy did, beside the buttons (not under a table that may be long).
        if let Some(s) = status {
            ui.label(RichText::new(s).strong());
        }
    });
    let rows = inputs.visible_rows(all_rows);
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("scan-table")
            .striped(true)
            .num_columns(5)
            .show(ui, |ui| {
                for h in ["Port", "Protocol", "Status", "Owner", "Note"] {
                    ui.strong(h);
                }
                ui.end_row();
                for r in &rows {
                    if r.status == crate::scan::PortStatus::Free {
                        ui.label(&r.ports);
                    } else if ui
                        .button(format!("Check {} {}", r.protocol, r.ports))
                        .on_hover_text("Open the full check of this port")
                        .clicked()
                    {
                        actions.push(Action::CheckPort(r.first_port, r.protocol));
                    }
                    ui.label(r.protocol.to_string());
                    let color = if r.status == crate::scan::PortStatus::Free {
                        ok_color(ui)
                    } else {
                        bad_color(ui)
                    };
                    ui.colored_label(color, r.status.name());
                    ui.label(&r.owner);
                    ui.label(&r.note);
                    ui.end_row();
                }
            });
    });
}

/// The Scan tab: range form, progress with rate and Cancel, and the result table.
pub fn scan_ui(
    ui: &mut egui::Ui,
    inputs: &mut ScanInputs,
    state: &ScanState,
    status: Option<&str>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut enter = false;
    let before = inputs.clone();
    egui::Grid::new("scan-form")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let l = ui.label("Port range");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut inputs.range_text)
                        .id(super::scan_range_field())
                        .hint_text("START-END, e.g. 8000-9000")
                        .desired_width(160.0),
                )
                .labelled_by(l.id);
            enter |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.end_row();
            let l = ui.label("Address");
            ui.add(
                egui::TextEdit::singleline(&mut inputs.address_text)
                    .hint_text("127.0.0.1, 0.0.0.0, ::1 …")
                    .desired_width(160.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            ui.label("Protocols");
            ui.horizontal(|ui| {
                ui.radio_value(&mut inputs.protocols, ScanProtocols::Tcp, "TCP only");
                ui.radio_value(&mut inputs.protocols, ScanProtocols::Udp, "UDP only");
                ui.radio_value(&mut inputs.protocols, ScanProtocols::Both, "TCP and UDP");
            });
            ui.end_row();
        });
    let valid = inputs.request();
    // Said beside the button once the user asks or pauses typing, never mid-typing (the range
    // "80" on its way to "8000-9000" is not an error), in the window's words.
    let empty = inputs.range_text.trim().is_empty();
    let problem = valid
        .as_ref()
        .err()
        .filter(|_| super::super::form::judge_now(ui, "scan", *inputs != before, enter, empty));
    ui.horizontal(|ui| {
        let can = valid.is_ok() && state.running.is_none();
        let reason = match &valid {
            Err(e) => super::super::form::window_words(e),
            Ok(_) => "A scan is running".into(),
        };
        if ui
            .add_enabled(can, egui::Button::new(RichText::new("Start scan").strong()))
            .on_disabled_hover_text(reason)
            .clicked()
            || (enter && can)
        {
            actions.push(Action::StartScan);
        }
        if state.running.is_some() && ui.button("Cancel scan").clicked() {
            actions.push(Action::CancelScan);
        }
        if let Some(e) = problem {
            ui.colored_label(bad_color(ui), super::super::form::window_words(e));
        }
    });
    if let Some(e) = &state.error {
        ui.colored_label(bad_color(ui), e);
    }
    if let Some(p) = state.progress.filter(|_| state.running.is_some()) {
        let secs = p.elapsed.as_secs_f64().max(1e-3);
        let frac = f64::from(p.done) / f64::from(p.total.max(1));
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a progress fraction fits in f32"
        )]
        let bar = egui::ProgressBar::new(frac as f32).text(format!(
            "{} of {} ports · {:.0} ports/s",
            p.done,
            p.total,
            f64::from(p.done) / secs
        ));
        ui.add(bar);
    } else if state.running.is_some() {
        ui.horizontal(|ui| {
            ui.spinner();
            match &state.running_on {
                // The machine sends its whole answer at the end: no progress on the way.
                Some(m) => ui.label(format!(
                    "Scanning on {} over ssh (its answer comes at the end)…",
                    crate::text::clean(m)
                )),
                None => ui.label("Starting the scan…"),
            };
        });
    }
    ui.separator();
    if let Some(report) = &state.report {
        scan_results_ui(ui, inputs, state, report, status, &mut actions);
    } else {
        ui.label("Give a range (for example 8000-9000) and press Start scan.");
        if let Some(s) = status {
            ui.add(egui::Label::new(s).wrap());
        }
    }
    actions
}
