//! Drawing code: one `*_ui` function per panel. Each reads state and returns the actions the
//! user took; none of them changes the app beyond the form fields it edits.

use egui::{Color32, RichText};

use super::app::{
    Action, HistoryEntry, Inputs, InterfaceChoice, KitState, Running, ScanInputs, ScanProtocols,
    ScanSort, ScanState, Tab, interface_label,
};
use crate::check::Check;
use crate::facts::Interface;
use crate::owners;
use crate::probe::Verdict;
use crate::target::{Family, Protocol};

const QUICK_PORTS: [u16; 5] = [80, 443, 3389, 5432, 8080];

/// Green for "free" and "ok": the theme has no success colour, so one per theme, as readable as
/// the theme's own error and warning colours.
pub(super) fn ok_color(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(110, 200, 120)
    } else {
        Color32::from_rgb(20, 120, 40)
    }
}

/// The theme's own error colour, so dark and light both read well.
fn bad_color(ui: &egui::Ui) -> Color32 {
    ui.visuals().error_fg_color
}

/// The title bar with the tabs.
pub fn title_ui(ui: &mut egui::Ui, busy: bool, tab: Tab) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        ui.heading("Port Inspector");
        ui.separator();
        if ui
            .selectable_label(tab == Tab::Check, "Check a port")
            .clicked()
        {
            actions.push(Action::SetTab(Tab::Check));
        }
        if ui
            .selectable_label(tab == Tab::Scan, "Scan a range")
            .clicked()
        {
            actions.push(Action::SetTab(Tab::Scan));
        }
        if ui
            .selectable_label(tab == Tab::Kit, "Support kit")
            .clicked()
        {
            actions.push(Action::SetTab(Tab::Kit));
        }
        if ui
            .selectable_label(tab == Tab::Listening, "Listening now")
            .clicked()
        {
            actions.push(Action::SetTab(Tab::Listening));
        }
        if busy {
            ui.spinner();
        }
        // The theme choice at the right edge, the tagline in what is left (shortened with an
        // ellipsis on a narrow window, never pushing the choice off-screen).
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let mut pref = ui.options(|o| o.theme_preference);
            let before = pref;
            egui::ComboBox::from_id_salt("theme")
                .selected_text(match pref {
                    egui::ThemePreference::Dark => "Dark",
                    egui::ThemePreference::Light => "Light",
                    egui::ThemePreference::System => "System theme",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut pref, egui::ThemePreference::System, "System theme");
                    ui.selectable_value(&mut pref, egui::ThemePreference::Dark, "Dark");
                    ui.selectable_value(&mut pref, egui::ThemePreference::Light, "Light");
                })
                .response
                .on_hover_text("Colours: dark, light, or as the system says");
            if pref != before {
                ui.ctx().set_theme(pref);
            }
            ui.separator();
            ui.add(egui::Label::new("can my program bind this address and port?").truncate());
        });
    });
    actions
}

/// The checks made since the window opened, newest first.
pub fn history_ui(
    ui: &mut egui::Ui,
    history: &[HistoryEntry],
    shown: Option<usize>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.heading("History");
    if history.is_empty() {
        ui.label("No checks yet.");
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (i, h) in history.iter().enumerate().rev() {
            let c = &h.check;
            let mark = match c.report.verdict {
                Verdict::Bindable => "ok",
                Verdict::NotBindable => "FAIL",
                Verdict::Unknown => "unknown",
            };
            let full = format!(
                "{} {mark} {} {}",
                h.at,
                c.report.target.protocol,
                crate::text::clean(&c.report.target.display_addr())
            );
            // A long host name must not widen the panel: cut with an ellipsis, whole on hover.
            let text = if full.chars().count() > 34 {
                format!("{}…", full.chars().take(33).collect::<String>())
            } else {
                full.clone()
            };
            ui.horizontal(|ui| {
                if ui
                    .button("Again")
                    .on_hover_text("Run this check again")
                    .clicked()
                {
                    actions.push(Action::Rerun(i));
                }
                if ui
                    .selectable_label(shown == Some(i), text)
                    .on_hover_text(full)
                    .clicked()
                {
                    actions.push(Action::Show(i));
                }
            });
        }
    });
    actions
}

/// The interface picker with its Refresh button, one row of the form grid.
fn interface_row(
    ui: &mut egui::Ui,
    inputs: &mut Inputs,
    interfaces: &[Interface],
    actions: &mut Vec<Action>,
) {
    let label = ui.label("Interface");
    ui.horizontal(|ui| {
        let mut choices = vec![
            InterfaceChoice::AllAny,
            InterfaceChoice::AllIpv4,
            InterfaceChoice::AllIpv6,
            InterfaceChoice::Localhost,
        ];
        choices.extend(
            interfaces
                .iter()
                .map(|i| InterfaceChoice::Address(i.address.clone())),
        );
        choices.push(InterfaceChoice::Custom);
        egui::ComboBox::from_id_salt("interface")
            .width(320.0)
            .selected_text(inputs.interface.label(interfaces))
            .show_ui(ui, |ui| {
                for c in choices {
                    let text = match &c {
                        InterfaceChoice::Address(a) => interfaces
                            .iter()
                            .find(|i| &i.address == a)
                            .map_or_else(|| a.clone(), interface_label),
                        other => other.label(interfaces),
                    };
                    ui.selectable_value(&mut inputs.interface, c, text);
                }
            })
            .response
            .labelled_by(label.id);
        if ui
            .button("Refresh")
            .on_hover_text("Read the machine's interfaces again")
            .clicked()
        {
            actions.push(Action::RefreshInterfaces);
        }
    });
}

/// The socket options, one row of the form grid.
fn options_row(ui: &mut egui::Ui, inputs: &mut Inputs) {
    ui.label("Options");
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut inputs.reuse_address, "Reuse address (SO_REUSEADDR)");
        ui.add_enabled(
            cfg!(unix),
            egui::Checkbox::new(&mut inputs.reuse_port, "Reuse port (SO_REUSEPORT)"),
        )
        .on_disabled_hover_text("SO_REUSEPORT does not exist on Windows");
        // UDP never listens: the option is shown, disabled, with the reason.
        ui.add_enabled(
            inputs.protocol == Protocol::Tcp,
            egui::Checkbox::new(&mut inputs.listen, "Listen after bind"),
        )
        .on_disabled_hover_text("UDP sockets do not listen");
        let l = ui.label("IPv6 only:");
        egui::ComboBox::from_id_salt("v6only")
            .selected_text(match inputs.v6_only {
                None => "system default",
                Some(true) => "on",
                Some(false) => "off",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut inputs.v6_only, None, "system default");
                ui.selectable_value(&mut inputs.v6_only, Some(true), "on");
                ui.selectable_value(&mut inputs.v6_only, Some(false), "off");
            })
            .response
            .labelled_by(l.id);
        ui.add_enabled(
            cfg!(windows),
            egui::Checkbox::new(
                &mut inputs.exclusive,
                "Exclusive (SO_EXCLUSIVEADDRUSE, Windows)",
            ),
        )
        .on_disabled_hover_text("SO_EXCLUSIVEADDRUSE exists only on Windows");
    });
}

/// The form: interface, port, protocol, family, options, Test / Cancel.
pub fn form_ui(
    ui: &mut egui::Ui,
    inputs: &mut Inputs,
    interfaces: &[Interface],
    running: Option<&Running>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut enter = false;
    egui::Grid::new("form")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            interface_row(ui, inputs, interfaces, &mut actions);
            ui.end_row();

            if inputs.interface == InterfaceChoice::Custom {
                let label = ui.label("Host");
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut inputs.custom_host)
                            .hint_text("host name, IPv4 or IPv6 address")
                            .desired_width(320.0),
                    )
                    .labelled_by(label.id);
                enter |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
            }

            let label = ui.label("Port");
            ui.horizontal(|ui| {
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut inputs.port_text)
                            .hint_text("0-65535")
                            .desired_width(80.0),
                    )
                    .labelled_by(label.id);
                enter |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.label("Quick:");
                for p in QUICK_PORTS {
                    if ui
                        .button(p.to_string())
                        .on_hover_text(format!("Use port {p}"))
                        .clicked()
                    {
                        inputs.port_text = p.to_string();
                    }
                }
            });
            ui.end_row();

            ui.label("Protocol");
            ui.horizontal(|ui| {
                ui.radio_value(&mut inputs.protocol, Protocol::Tcp, "TCP");
                ui.radio_value(&mut inputs.protocol, Protocol::Udp, "UDP");
            });
            ui.end_row();

            ui.label("IP version");
            ui.horizontal(|ui| {
                ui.radio_value(&mut inputs.family, Family::Any, "Either");
                ui.radio_value(&mut inputs.family, Family::Ipv4, "IPv4");
                ui.radio_value(&mut inputs.family, Family::Ipv6, "IPv6");
            });
            ui.end_row();

            options_row(ui, inputs);
            ui.end_row();
        });

    let valid = inputs.target();
    if let Err(e) = &valid {
        ui.colored_label(bad_color(ui), e.to_string());
    }
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let can_test = valid.is_ok() && running.is_none();
        let reason = match (&valid, running) {
            (Err(e), _) => e.to_string(),
            (_, Some(_)) => "A check is running".into(),
            _ => String::new(),
        };
        let test = ui
            .add_enabled(
                can_test,
                egui::Button::new(RichText::new("Test bind").strong()),
            )
            .on_disabled_hover_text(reason);
        if test.clicked() || (enter && can_test) {
            actions.push(Action::Test);
        }
        if let Some(r) = running {
            ui.spinner();
            ui.label(format!(
                "Testing {} {}… {:.1} s",
                r.target.protocol,
                r.target.display_addr(),
                r.started.elapsed().as_secs_f32()
            ));
            if ui.button("Cancel").clicked() {
                actions.push(Action::Cancel);
            }
        }
    });
    actions
}

/// The answer: verdict banner, error code, explanation, steps, owners, fixes.
pub fn result_ui(ui: &mut egui::Ui, c: &Check) -> Vec<Action> {
    let mut actions = Vec::new();
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
                        bound.join(", ")
                    ));
                }
                Verdict::NotBindable | Verdict::Unknown => {
                    if let Some(d) = &c.explanation {
                        ui.label(RichText::new(d.title.trim_start_matches("Unknown: ")).size(16.0));
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

    if let Some(d) = &c.explanation {
        if !c.owners.is_empty() || c.hidden_owners > 0 {
            ui.add_space(6.0);
            ui.strong(format!("Who uses port {}", r.target.port));
            owners_ui(ui, c, &mut actions);
        }
        if !d.findings.is_empty() {
            ui.add_space(6.0);
            ui.strong("Found on this machine");
            for x in &d.findings {
                ui.label(format!("• {}", x.text));
            }
        }
        if !d.fixes.is_empty() {
            ui.add_space(6.0);
            ui.strong("What to do");
            for x in &d.fixes {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!(
                        "• {}",
                        crate::wording::fix(&x.value, &r.target, crate::wording::Front::Window)
                    ));
                    if let Some(label) = crate::wording::fix_button(&x.value)
                        && ui.button(label).clicked()
                    {
                        actions.push(Action::ApplyFix(x.value.clone()));
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
        owners_ui(ui, c, &mut actions);
    }

    ui.add_space(6.0);
    egui::CollapsingHeader::new("Steps")
        .default_open(true)
        .show(ui, |ui| steps_ui(ui, c));
    actions
}

fn steps_ui(ui: &mut egui::Ui, c: &Check) {
    let r = &c.report;
    // Wide tables scroll sideways on their own, so the text around them keeps wrapping
    // to the window.
    egui::ScrollArea::horizontal()
        .id_salt("steps-scroll")
        .show(ui, |ui| {
            egui::Grid::new("steps")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for h in ["Address", "Step", "", "Time", "Detail"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    let mut rows = vec![("", &r.resolve)];
                    for a in &r.attempts {
                        for s in a.steps.iter().skip(1) {
                            rows.push((a.address.as_str(), s));
                        }
                    }
                    for (addr, s) in rows {
                        ui.label(addr);
                        ui.label(s.step.name());
                        if s.ok {
                            ui.colored_label(ok_color(ui), "ok");
                        } else {
                            ui.colored_label(bad_color(ui), "failed");
                        }
                        ui.label(format!("{} µs", s.elapsed_us));
                        let detail = match &s.error {
                            Some(e) => format!("{} — {}", s.detail, e.headline()),
                            None => s.detail.clone(),
                        };
                        ui.label(detail);
                        ui.end_row();
                    }
                });
        });
}

fn owners_ui(ui: &mut egui::Ui, c: &Check, actions: &mut Vec<Action>) {
    // Wide tables scroll sideways on their own, so the text around them keeps wrapping
    // to the window.
    egui::ScrollArea::horizontal()
        .id_salt("owners-scroll")
        .show(ui, |ui| {
            egui::Grid::new("owners")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for h in ["PID", "Process", "User", "State", "Local", "Command"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for o in &c.owners {
                        ui.label(o.pid.map_or("—".into(), |p| p.to_string()));
                        ui.label(
                            o.process
                                .as_deref()
                                .map_or_else(|| o.who(), |p| crate::text::clean(p).into_owned()),
                        );
                        ui.label(crate::text::clean(o.user.as_deref().unwrap_or_default()));
                        ui.label(o.state.name());
                        ui.label(o.local.to_string());
                        // Outside text: escaped, cut with an ellipsis, whole on hover.
                        let full = crate::text::clean(o.cmdline.as_deref().unwrap_or_default())
                            .into_owned();
                        let cmd: String = if full.chars().count() > 40 {
                            format!("{}…", full.chars().take(40).collect::<String>())
                        } else {
                            full.clone()
                        };
                        ui.label(cmd).on_hover_text(full);
                        ui.end_row();
                    }
                });
        });
    for (i, o) in c.owners.iter().enumerate() {
        let Some(pid) = o.pid else { continue };
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("{}:", o.who()));
            if ui.button(format!("End PID {pid}…")).clicked() {
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
    if c.hidden_owners > 0 {
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} socket(s) on this port belong to another user; run as root/Administrator to see which process.",
                c.hidden_owners
            ));
            if ui
                .button("Relaunch as administrator")
                .on_hover_text("Starts Port Inspector again through the system's own elevation prompt (pkexec / UAC)")
                .clicked()
            {
                actions.push(Action::RelaunchElevated);
            }
        });
    }
}

/// The confirmation before ending the holders of a port: every PID the same safe path will end
/// (parent first), what will restart them, and what is refused, as `end --dry-run` words it.
pub fn confirm_end_ui(ui: &mut egui::Ui, plan: &crate::end::EndPlan) -> Vec<Action> {
    let mut actions = Vec::new();
    let count = plan.to_end().count();
    let modal = egui::Modal::new(egui::Id::unique("confirm-end")).show(ui.ctx(), |ui| {
        ui.heading(if count == 0 {
            format!("Nothing on port {} may be ended", plan.port)
        } else {
            format!("End {count} process(es) holding port {}?", plan.port)
        });
        for line in crate::wording::end_plan(plan).lines().skip(1) {
            ui.label(line.trim());
        }
        ui.label("Each PID is checked again right before its signal (SIGTERM); the port is then bound again to prove it is free.");
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if count > 0 && ui.button(format!("End {count} process(es)")).clicked() {
                actions.push(Action::ConfirmEnd);
            }
            if ui.button("Keep them running").clicked() {
                actions.push(Action::CancelEnd);
            }
        });
    });
    if modal.should_close() && actions.is_empty() {
        actions.push(Action::CancelEnd);
    }
    actions
}

/// Save report: where (a proposed dated name in the home folder), and, when that file exists,
/// an explicit Replace.
pub fn save_dialog_ui(ui: &mut egui::Ui, dialog: &mut super::app::SaveDialog) -> Vec<Action> {
    let mut actions = Vec::new();
    let modal = egui::Modal::new(egui::Id::unique("save-report")).show(ui.ctx(), |ui| {
        ui.heading("Save the report");
        let label = ui.label("File");
        let edit = ui
            .add(egui::TextEdit::singleline(&mut dialog.path_text).desired_width(480.0))
            .labelled_by(label.id);
        if edit.changed() {
            dialog.exists = false;
        }
        if dialog.exists {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "This file exists. Replace it, or give another name.",
            );
        }
        if let Some(e) = &dialog.error {
            ui.colored_label(ui.visuals().error_fg_color, crate::text::clean(e));
        }
        ui.horizontal(|ui| {
            if dialog.exists {
                if ui.button("Replace").clicked() {
                    actions.push(Action::SaveTo { replace: true });
                }
            } else if ui.button("Save").clicked() {
                actions.push(Action::SaveTo { replace: false });
            }
            if ui.button("Cancel").clicked() {
                actions.push(Action::CancelSave);
            }
        });
    });
    if modal.should_close() && actions.is_empty() {
        actions.push(Action::CancelSave);
    }
    actions
}

/// The result of a scan: summary, special ranges, filter and copy, the table.
fn scan_results_ui(
    ui: &mut egui::Ui,
    inputs: &mut ScanInputs,
    report: &crate::scan::ScanReport,
    actions: &mut Vec<Action>,
) {
    ui.label(format!(
        "{} {}-{} on {}: {} free, {} not free, {} tested in {:.0} ms{}",
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
            "Note: {}-{} is {} ({}).",
            s.start, s.end, s.kind, s.meaning
        ));
    }
    super::scan_map::map_ui(ui, report, actions);
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
    });
    let rows = inputs.visible_rows(report);
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
                    if r.status == "free" {
                        ui.label(&r.ports);
                    } else if ui
                        .button(format!("Check {} {}", r.protocol, r.ports))
                        .on_hover_text("Open the full check of this port")
                        .clicked()
                    {
                        actions.push(Action::CheckPort(r.first_port, r.protocol));
                    }
                    ui.label(r.protocol.to_string());
                    let color = if r.status == "free" {
                        ok_color(ui)
                    } else {
                        bad_color(ui)
                    };
                    ui.colored_label(color, &r.status);
                    ui.label(&r.owner);
                    ui.label(&r.note);
                    ui.end_row();
                }
            });
    });
}

/// The Scan tab: range form, progress with rate and Cancel, and the result table.
pub fn scan_ui(ui: &mut egui::Ui, inputs: &mut ScanInputs, state: &ScanState) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut enter = false;
    egui::Grid::new("scan-form")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let l = ui.label("Port range");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut inputs.range_text)
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
    if let Err(e) = &valid {
        ui.colored_label(bad_color(ui), e.to_string());
    }
    ui.horizontal(|ui| {
        let can = valid.is_ok() && state.running.is_none();
        let reason = match &valid {
            Err(e) => e.to_string(),
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
            ui.label("Starting the scan…");
        });
    }
    ui.separator();
    match &state.report {
        Some(report) => scan_results_ui(ui, inputs, report, &mut actions),
        None => {
            ui.label("Give a range (for example 8000-9000) and press Start scan.");
        }
    }
    actions
}

/// The what-if matrix and its cells.
fn matrix_section(ui: &mut egui::Ui, kit: &mut KitState, valid: bool, actions: &mut Vec<Action>) {
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
                        let mut rows: Vec<(Protocol, Family, String)> = Vec::new();
                        for c in &m.cells {
                            let key = (c.protocol, c.family, c.scope.clone());
                            if !rows.contains(&key) {
                                rows.push(key);
                            }
                        }
                        for (p, f, scope) in rows {
                            let fam = if f == Family::Ipv6 { "IPv6" } else { "IPv4" };
                            ui.label(format!("{p} {fam} {scope}"));
                            for reuse in [false, true] {
                                let found = m.cells.iter().enumerate().find(|(_, c)| {
                                    c.protocol == p
                                        && c.family == f
                                        && c.scope == scope
                                        && c.reuse_address == reuse
                                });
                                if let Some((i, c)) = found {
                                    let result = match (&c.wsa_name, c.wsa_code) {
                                        (Some(n), Some(code)) => format!("blocked {n} {code}"),
                                        _ => "ok".into(),
                                    };
                                    let text = format!(
                                        "{p} {fam} {} reuse {}: {result}",
                                        c.address,
                                        if reuse { "on" } else { "off" }
                                    );
                                    let color = if c.wsa_code.is_some() {
                                        bad_color(ui)
                                    } else {
                                        ok_color(ui)
                                    };
                                    if ui
                                        .button(RichText::new(text).color(color))
                                        .on_hover_text("Open the full check of this combination")
                                        .clicked()
                                    {
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
fn hold_section(ui: &mut egui::Ui, kit: &mut KitState, valid: bool, actions: &mut Vec<Action>) {
    ui.add_space(8.0);
    ui.heading("Hold and listen");
    ui.label("Keeps the port open so someone can try to connect from another machine: each arrival is shown, accepted and closed at once without reading data.");
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
        match (&l.bound, &l.ended) {
            (_, Some(end)) => ui.label(end),
            (Some(b), None) => ui.label(format!("Listening on {b}…")),
            (None, None) => ui.label("Binding…"),
        };
        for ev in &l.events {
            ui.label(match ev.bytes {
                Some(n) => format!(
                    "{:.3} s  UDP datagram from {} ({n} bytes)",
                    std::time::Duration::from_millis(ev.at_ms).as_secs_f64(),
                    ev.peer
                ),
                None => format!(
                    "{:.3} s  TCP connection from {}",
                    std::time::Duration::from_millis(ev.at_ms).as_secs_f64(),
                    ev.peer
                ),
            });
        }
    }
}

/// Watch until free.
fn watch_section(ui: &mut egui::Ui, kit: &mut KitState, valid: bool, actions: &mut Vec<Action>) {
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
        ui.label(&w.status);
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
        for x in &f.table {
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
                .map(|i| format!("{} ({})", i.address, i.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
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
    let valid = target.is_ok();

    matrix_section(ui, kit, valid, &mut actions);
    hold_section(ui, kit, valid, &mut actions);
    watch_section(ui, kit, valid, &mut actions);
    facts_section(ui, kit, &mut actions);
    actions
}
