//! The Support kit tab: what-if matrix, hold and listen, watch until free, machine facts.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The what-if matrix and its cells.
fn matrix_section(
    ui: &mut egui::Ui,
    kit: &mut KitState,
    target: Option<&crate::Target>,
    actions: &mut Vec<Action>,
) {
    let valid = target.is_some();
    ui.add_space(8.0);
    ui.heading("What-if matrix");
    ui.label("The same port across TCP/UDP, IPv4/IPv6, SO_REUSEADDR off/on, and the address against the wildcard.");
    if ui
        .add_enabled(
            valid && !kit.matrix_running,
            egui::Button::new("Run what-if matrix"),
        )
        .clicked()
    {
        actions.push(Action::RunMatrix);
    }
    if kit.matrix_running {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Testing every combination…");
        });
    }
    if let Some(m) = &kit.matrix {
        // The matrix carries its own target and time: the form may say another target now.
        ui.label(format!(
            "{} {}, tested at {} UTC:",
            m.target.protocol,
            crate::text::clean(&m.target.display_addr()),
            kit.matrix_at
        ));
        if target.is_some_and(|t| *t != m.target) {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "This matrix is of another target than the form's: run it again for the form's.",
            );
        }
        // Wide tables scroll sideways on their own, so the text around them keeps wrapping
        // to the window.
        egui::ScrollArea::horizontal()
            .id_salt("matrix-scroll")
            .show(ui, |ui| {
                egui::Grid::new("matrix")
                    .striped(true)
                    .num_columns(3)
                    .show(ui, |ui| {
                        ui.strong("Protocol / family");
                        ui.strong("SO_REUSEADDR off");
                        ui.strong("SO_REUSEADDR on");
                        ui.end_row();
                        let mut rows: Vec<(Protocol, Family, crate::support::MatrixScope)> = Vec::new();
                        for c in &m.cells {
                            let key = (c.protocol, c.family, c.scope);
                            if !rows.contains(&key) {
                                rows.push(key);
                            }
                        }
                        for (p, f, scope) in rows {
                            let fam = f.to_string();
                            let scope_word = crate::render::matrix::scope(scope);
                            ui.label(format!("{p} {fam} {scope_word}"));
                            for reuse in [false, true] {
                                let found = m.cells.iter().enumerate().find(|(_, c)| {
                                    c.protocol == p
                                        && c.family == f
                                        && c.scope == scope
                                        && c.reuse_address == reuse
                                });
                                if let Some((i, c)) = found {
                                    // Short cells (the row and column say the rest); the whole
                                    // combination on hover and for screen readers.
                                    let crate::render::matrix::CellWords {
                                        short: text,
                                        long: result,
                                    } = crate::render::matrix::cell(c);
                                    let detail = format!(
                                        "{p} {fam} {} with SO_REUSEADDR {}: {result}. Click to check it again now.",
                                        crate::render::matrix::address(c),
                                        if reuse { "on" } else { "off" }
                                    );
                                    // A cell never tried (its name did not resolve) is
                                    // neither red nor green.
                                    let color = match c.verdict {
                                        crate::probe::Verdict::NotBindable => bad_color(ui),
                                        crate::probe::Verdict::Bindable => ok_color(ui),
                                        crate::probe::Verdict::Unknown => {
                                            ui.visuals().text_color()
                                        }
                                    };
                                    let b = ui.button(RichText::new(text).color(color));
                                    b.widget_info(|| {
                                        egui::WidgetInfo::labeled(
                                            egui::Role::Button,
                                            true,
                                            &detail,
                                        )
                                    });
                                    if b.on_hover_text(&detail).clicked() {
                                        actions.push(Action::OpenMatrixCell(i));
                                    }
                                } else {
                                    ui.label("");
                                }
                            }
                            ui.end_row();
                        }
                    });
            });
    }
}

/// Hold-and-listen: start/stop and the arrivals.
fn hold_section(
    ui: &mut egui::Ui,
    kit: &mut KitState,
    target: Option<&crate::Target>,
    actions: &mut Vec<Action>,
) {
    let valid = target.is_some();
    ui.add_space(8.0);
    ui.heading("Hold and listen");
    ui.label("Keeps the port open so someone can try to connect from another machine: each arrival is shown, accepted and closed at once without reading data.");
    if let Some(t) = target.filter(|t| is_loopback_host(&t.host)) {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{} is a loopback address: only this machine can reach it. To be reached from another machine, hold all interfaces or this machine's own address.",
                    crate::text::clean(&t.host.to_string())
                ),
            );
            if ui.button("Hold all interfaces instead").clicked() {
                actions.push(Action::HoldAllInterfaces);
            }
        });
    }
    let listening = kit.listen.as_ref().is_some_and(|l| l.ended.is_none());
    ui.horizontal(|ui| {
        let l = ui.label("Hold for (seconds)");
        ui.add(egui::TextEdit::singleline(&mut kit.hold_secs_text).desired_width(60.0))
            .labelled_by(l.id);
        let secs_ok = crate::target::parse_seconds(&kit.hold_secs_text, 1.0, 3600.0, "hold time");
        if let Err(e) = &secs_ok {
            ui.colored_label(bad_color(ui), e.to_string());
        }
        if ui
            .add_enabled(
                valid && secs_ok.is_ok() && !listening,
                egui::Button::new("Start holding"),
            )
            .clicked()
        {
            actions.push(Action::StartListen);
        }
        if listening && ui.button("Stop holding").clicked() {
            actions.push(Action::StopListen);
        }
    });
    if let Some(l) = &kit.listen {
        other_target(ui, l.target.as_ref(), target, "This hold");
        match (&l.bound, &l.ended) {
            (_, Some(end)) => ui.label(end),
            (Some(b), None) => {
                let b = crate::render::hold::addresses(b);
                // A countdown, so the person on the other machine knows how long they have.
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(250));
                match l.secs_left() {
                    Some(left) => ui.label(format!("Listening on {b}… {left} s left")),
                    None => ui.label(format!("Listening on {b}…")),
                }
            }
            (None, None) => ui.label("Binding…"),
        };
        for ev in &l.events {
            ui.label(format!(
                "{:.3} s  {}",
                std::time::Duration::from_millis(ev.at_ms).as_secs_f64(),
                crate::render::hold::arrival(ev)
            ));
        }
    }
}

/// Watch until free.
fn watch_section(
    ui: &mut egui::Ui,
    kit: &mut KitState,
    target: Option<&crate::Target>,
    actions: &mut Vec<Action>,
) {
    let valid = target.is_some();
    ui.add_space(8.0);
    ui.heading("Tell me when it's free");
    let watching = kit.watch.as_ref().is_some_and(|w| !w.done);
    ui.horizontal(|ui| {
        if ui
            .add_enabled(valid && !watching, egui::Button::new("Watch until free"))
            .clicked()
        {
            actions.push(Action::StartWatch);
        }
        if watching && ui.button("Stop watching").clicked() {
            actions.push(Action::StopWatch);
        }
    });
    if let Some(w) = &kit.watch {
        other_target(ui, w.target.as_ref(), target, "This watch");
        ui.label(&w.status);
    }
}

/// Says so when a result on screen is of another target than the form's.
fn other_target(
    ui: &mut egui::Ui,
    of: Option<&crate::Target>,
    form: Option<&crate::Target>,
    what: &str,
) {
    if let Some(of) = of
        && form != Some(of)
    {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "{what} is of {} {}, not of the form's target.",
                of.protocol,
                crate::text::clean(&of.display_addr())
            ),
        );
    }
}

/// Whether `host` names a loopback address (only this machine reaches it).
fn is_loopback_host(host: &crate::target::Host) -> bool {
    match host {
        crate::target::Host::Ip { ip, .. } => ip.is_loopback(),
        crate::target::Host::Name(name) => name.eq_ignore_ascii_case("localhost"),
        crate::target::Host::All => false,
    }
}

/// The machine facts table.
fn facts_section(ui: &mut egui::Ui, kit: &mut KitState, actions: &mut Vec<Action>) {
    ui.add_space(8.0);
    ui.heading("Machine facts");
    if ui.button("Refresh facts").clicked() {
        actions.push(Action::RefreshFacts);
    }
    if let Some(f) = &kit.facts {
        for x in crate::render::facts::table(f) {
            ui.horizontal_wrapped(|ui| {
                ui.strong(&x.name);
                ui.label(&x.value);
                ui.weak(format!("— {}", x.meaning));
            });
        }
        ui.label(format!(
            "Addresses: {}",
            f.interfaces
                .iter()
                .map(|i| format!("{} ({})", i.host(), i.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else if let Some(e) = &kit.facts_error {
        ui.colored_label(bad_color(ui), e);
    } else {
        ui.label("Reading the facts…");
    }
}

/// The Support kit tab: machine facts, the what-if matrix, hold-and-listen and watch, all for
/// the target of the Check tab's form.
pub fn kit_ui(
    ui: &mut egui::Ui,
    kit: &mut KitState,
    target: Result<&crate::Target, &crate::target::InputError>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    match target {
        Ok(t) => ui.label(format!(
            "Target: {} {} (set on the Check a port tab)",
            t.protocol,
            t.display_addr()
        )),
        Err(e) => ui.colored_label(
            bad_color(ui),
            format!("The Check tab's target is not valid: {e}"),
        ),
    };
    let target = target.ok();
    matrix_section(ui, kit, target, &mut actions);
    hold_section(ui, kit, target, &mut actions);
    watch_section(ui, kit, target, &mut actions);
    facts_section(ui, kit, &mut actions);
    actions
}
