//! The Check tab's answer: the verdict, its actions, who holds the port, the findings and fixes,
//! and the steps with their times.

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::gui::app::EndedSince;
use crate::probe::Outcome;

/// The answer: verdict banner, error code, explanation, steps, owners, fixes. `status` (what the
/// last click did: copied, saved, ending …) is shown beside the report buttons, under the verdict,
/// where the eye is after a click on any of the answer's buttons.
pub fn result_ui(ui: &mut egui::Ui, c: &Check, around: &AnswerAround<'_>) -> Vec<Action> {
    let AnswerAround {
        status,
        ended,
        elevation,
    } = *around;
    let mut actions = Vec::new();
    let r = &c.report;
    verdict_banner(ui, c);
    for w in &c.warnings {
        ui.colored_label(ui.visuals().warn_fg_color, format!("Note: {w}"));
    }
    ui.horizontal(|ui| {
        if ui
            .button("Copy report")
            .on_hover_text("Copy a Markdown report of this check (Ctrl+Shift+C)")
            .clicked()
        {
            actions.push(Action::CopyReport);
        }
        if ui
            .button("Save report")
            .on_hover_text("Save the Markdown report in your home folder")
            .clicked()
        {
            actions.push(Action::SaveReport);
        }
    });
    // What a click did, under the buttons: wrapped, one line per PID after an End, never
    // widening the panel. Its line is kept when there is nothing to say, so a one-line status
    // ("Copied: kill 812") moves no button under it: the next click lands where it was aimed.
    match status {
        Some(s) => {
            ui.add(egui::Label::new(RichText::new(s).strong()).wrap());
        }
        None => {
            ui.allocate_space(egui::vec2(
                0.0,
                ui.text_style_height(&egui::TextStyle::Body),
            ));
        }
    }

    if let Some(d) = &c.explanation {
        if !c.owners.is_empty() || c.hidden_owners > 0 {
            ui.add_space(6.0);
            ui.strong(format!("Who uses port {}", r.target.port));
            owners_ui(ui, c, ended, &mut actions);
        }
        if !d.findings.is_empty() {
            ui.add_space(6.0);
            ui.strong("Found on this machine");
            for x in &d.findings {
                ui.label(format!("• {}", x.text));
            }
        }
        if d.fixes.iter().any(|x| !ends_only_gone(&x.value, ended)) {
            ui.add_space(6.0);
            ui.strong("What to do");
            for x in d.fixes.iter().filter(|x| !ends_only_gone(&x.value, ended)) {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!(
                        "• {}",
                        crate::wording::fix(&x.value, &r.target, crate::wording::Front::Window)
                    ));
                    match (&x.value, elevation) {
                        // No way to elevate here: no button that can only fail; what is needed.
                        (crate::diagnose::Fix::RunElevated, Some(why)) => {
                            ui.label(format!(
                                "This window cannot start itself elevated here ({why}): start it as {} yourself.",
                                crate::platform::Os::current().admin_account()
                            ));
                        }
                        _ => {
                            if let Some(label) = crate::wording::fix_button(&x.value)
                                && ui.button(label).clicked()
                            {
                                actions.push(Action::ApplyFix(x.value.clone()));
                            }
                        }
                    }
                });
            }
        }
        egui::CollapsingHeader::new(format!("About {}", d.wsa_name))
            .default_open(false)
            .show(ui, |ui| {
                ui.label(&d.summary);
            });
        if !d.causes.is_empty() {
            egui::CollapsingHeader::new("Nothing was proven here: general causes")
                .default_open(true)
                .show(ui, |ui| {
                    for x in &d.causes {
                        ui.label(format!("• {x}"));
                    }
                });
        }
    } else if !c.owners.is_empty() {
        ui.add_space(6.0);
        ui.strong(format!("Also on port {}", r.target.port));
        owners_ui(ui, c, ended, &mut actions);
    }

    ui.add_space(6.0);
    let steps = egui::CollapsingHeader::new("Steps")
        .default_open(true)
        .show(ui, |ui| steps_ui(ui, c));
    // Reached by Tab below the fold (a longer answer, as Windows' taskkill button makes one):
    // brought into view, so the focus is seen where it went.
    let header = &steps.header_response;
    if header.has_focus() && !ui.clip_rect().contains_rect(header.rect) {
        header.scroll_to_me_animation(None, egui::style::ScrollAnimation::none());
    }
    actions
}

/// What an answer is shown with, beyond the check itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnswerAround<'a> {
    /// What the last click did: copied, saved, ending … (beside the report buttons).
    pub status: Option<&'a str>,
    /// The holders the window ended since the answer was made (no End is offered for them).
    pub ended: &'a [EndedSince],
    /// Why the window cannot start itself elevated here (`platform::elevation_unavailable`,
    /// the one decision the Listening now tab reads too); `None` when it can.
    pub elevation: Option<&'a str>,
}

/// Whether `fix` only ends processes the window has ended since (nothing left for it to do).
fn ends_only_gone(fix: &crate::diagnose::Fix, ended: &[EndedSince]) -> bool {
    matches!(fix, crate::diagnose::Fix::EndProcesses { pids, .. }
        if pids.iter().all(|p| ended.iter().any(|e| e.pid == *p)))
}

/// The verdict first: the answer in a word, the proven cause in a sentence, the Winsock code
/// large and the native one beside it.
fn verdict_banner(ui: &mut egui::Ui, c: &Check) {
    let r = &c.report;
    let (color, verdict) = match r.verdict {
        Verdict::Bindable => (ok_color(ui), "Bindable"),
        Verdict::NotBindable => (bad_color(ui), "Not bindable"),
        Verdict::Unknown => (ui.visuals().weak_text_color(), "Unknown"),
    };
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(2.0, color))
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(verdict).size(24.0).strong().color(color));
            match r.verdict {
                Verdict::Bindable => {
                    let bound = r.bound_addresses();
                    ui.label(format!(
                        "{} {} — bound {}",
                        r.target.protocol,
                        r.target.display_addr(),
                        bound
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                Verdict::NotBindable | Verdict::Unknown => {
                    if let Some(d) = &c.explanation {
                        ui.label(RichText::new(d.title.as_str()).size(16.0));
                    }
                }
            }
            if let Some(e) = &r.error {
                ui.add_space(6.0);
                ui.label(
                    RichText::new(format!("{} {}", e.wsa_name, e.wsa_code))
                        .size(28.0)
                        .strong()
                        .monospace(),
                );
                ui.label(format!(
                    "{} {} on {} — {}",
                    e.native_name,
                    e.native_code,
                    c.facts.os.label(),
                    e.message
                ));
            }
        });
}

fn steps_ui(ui: &mut egui::Ui, c: &Check) {
    let r = &c.report;
    // Detail wraps in what the other columns leave of the panel (at 800×600 it ran off the
    // right edge); a table wider still (a long IPv6 address) scrolls sideways on its own, so
    // the text around it keeps wrapping to the window.
    let detail = (ui.available_width() - 330.0).max(160.0);
    egui::ScrollArea::horizontal()
        .id_salt("steps-scroll")
        .show(ui, |ui| {
            egui::Grid::new("steps")
                .striped(true)
                .num_columns(5)
                .max_col_width(detail)
                .show(ui, |ui| {
                    for h in ["Address", "Step", "", "Time", "Detail"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    let mut rows = vec![(String::new(), &r.resolve)];
                    for a in &r.attempts {
                        for s in a.steps.iter().skip(1) {
                            rows.push((a.address_or_target(&r.target), s));
                        }
                    }
                    for (addr, s) in rows {
                        ui.add(egui::Label::new(addr).extend());
                        ui.label(s.step.name());
                        let skipped = match s.outcome() {
                            Outcome::Ok => {
                                ui.colored_label(ok_color(ui), "ok");
                                false
                            }
                            Outcome::Failed => {
                                ui.colored_label(bad_color(ui), "failed");
                                false
                            }
                            Outcome::Skipped(why) => {
                                ui.weak(format!("skipped ({})", crate::wording::skip_reason(why)));
                                true
                            }
                        };
                        let time = crate::wording::human_us(s.elapsed_us);
                        if skipped {
                            // Not made: no time to show.
                            ui.label("");
                        } else if s.elapsed_us >= crate::wording::SLOW_LOOKUP_US {
                            ui.colored_label(ui.visuals().warn_fg_color, time);
                        } else {
                            ui.label(time);
                        }
                        let detail = match &s.error {
                            Some(e) => format!("{} — {}", s.detail, e),
                            None => s.detail.clone(),
                        };
                        ui.label(detail);
                        ui.end_row();
                    }
                });
        });
    if let Some(slow) = crate::wording::slow_lookup(r) {
        ui.colored_label(ui.visuals().warn_fg_color, slow);
    }
}

fn owners_ui(ui: &mut egui::Ui, c: &Check, ended: &[EndedSince], actions: &mut Vec<Action>) {
    // PID, State and Local keep their width; Process, User and Command share what is left of
    // the panel, cut with an ellipsis and whole on hover, so Local and Command stay in sight at
    // 800×600 with a long process name. Wider still (a long IPv6 address), the table scrolls
    // sideways on its own, so the text around it keeps wrapping to the window.
    let wide = ((ui.available_width() - 360.0) / 2.0).max(80.0);
    egui::ScrollArea::horizontal()
        .id_salt("owners-scroll")
        .show(ui, |ui| {
            egui::Grid::new("owners")
                .striped(true)
                .num_columns(6)
                .max_col_width(wide)
                .show(ui, |ui| {
                    for h in ["PID", "Process", "User", "State", "Local", "Command"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for o in &c.owners {
                        let cut = |ui: &mut egui::Ui, text: String| {
                            ui.add(egui::Label::new(text).truncate());
                        };
                        let whole = |ui: &mut egui::Ui, text: String| {
                            ui.add(egui::Label::new(text).extend());
                        };
                        whole(ui, o.pid.map_or("—".into(), |p| p.to_string()));
                        cut(
                            ui,
                            o.process.as_deref().map_or_else(
                                || crate::wording::who(o),
                                |p| crate::text::clean(p).into_owned(),
                            ),
                        );
                        cut(
                            ui,
                            crate::text::clean(o.user.as_deref().unwrap_or_default()).into_owned(),
                        );
                        whole(ui, o.state.name().to_owned());
                        whole(ui, o.address().to_string());
                        // Outside text: escaped, cut with an ellipsis, whole on hover.
                        let full = crate::text::clean(o.cmdline.as_deref().unwrap_or_default())
                            .into_owned();
                        ui.add(
                            egui::Label::new(full.as_str())
                                .truncate()
                                .show_tooltip_when_elided(false),
                        )
                        .on_hover_text(full);
                        ui.end_row();
                    }
                });
        });
    for (i, o) in c.owners.iter().enumerate() {
        let Some(pid) = o.pid else { continue };
        if let Some(e) = ended.iter().find(|e| e.pid == pid) {
            // Gone since: nothing to end, copy or kill (a PID reused meanwhile is another
            // process); the line above the answer says when.
            ui.weak(format!(
                "{}: gone since {} UTC",
                crate::wording::who(o),
                e.at
            ));
            continue;
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("{}:", crate::wording::who(o)));
            // What the button says is what its End does: this socket's processes, no others.
            let label = match crate::wording::sharing(o) {
                Some(more) => format!("End PID {pid} ({more})…"),
                None => format!("End PID {pid}…"),
            };
            if ui.button(label).clicked() {
                actions.push(Action::AskEnd(i));
            }
            if ui.button(format!("Copy PID {pid}")).clicked() {
                actions.push(Action::CopyPid(pid));
            }
            if ui
                .button(format!("Copy \"{}\"", owners::end_command(pid)))
                .on_hover_text("Copy the command that ends it by hand")
                .clicked()
            {
                actions.push(Action::CopyEndCommand(pid));
            }
        });
    }
}
