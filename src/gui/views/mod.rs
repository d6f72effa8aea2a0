//! Drawing code: one `*_ui` function per panel. Each reads state and returns the actions the
//! user took; none of them changes the app beyond the form fields it edits.

use egui::{Color32, RichText};

use super::app::{
    Action, HistoryEntry, Inputs, InterfaceChoice, KitState, Running, ScanInputs, ScanProtocols,
    ScanSort, ScanState, Tab,
};
use crate::check::Check;
use crate::facts::Interface;
use crate::owners;
use crate::probe::Verdict;
use crate::target::{Family, Protocol};

mod check;
mod kit;
pub(super) mod live;
mod scan;

pub use check::{AnswerAround, result_ui};
pub use kit::kit_ui;
pub use scan::scan_ui;

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

/// The port field's id: focus starts there, and Ctrl+L comes back to it.
#[must_use]
pub fn port_field() -> egui::Id {
    egui::Id::unique("port-field")
}

/// The field the keyboard starts in when the window opens on `tab` (the first thing typed
/// there), if the tab has one to type in: a window restored on a tab otherwise has no focus
/// anywhere, and the first key pressed is lost.
#[must_use]
pub fn first_field(tab: Tab) -> Option<egui::Id> {
    match tab {
        Tab::Check => Some(port_field()),
        Tab::Scan => Some(scan_range_field()),
        Tab::Watches => Some(super::watches::port_field()),
        Tab::PortHistory => Some(super::port_history::port_field()),
        // The live table is driven by its rows and keys (a typed letter would go to the filter
        // and hide rows); the kit starts with buttons.
        Tab::Listening | Tab::Kit => None,
    }
}

/// The scan's port range field.
#[must_use]
pub fn scan_range_field() -> egui::Id {
    egui::Id::unique("scan-range-field")
}

/// The theme choice (at the right of the machine row, where it hides nothing at 800 px).
pub fn theme_ui(ui: &mut egui::Ui) {
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
}

/// The focus ring of a widget the window paints itself (a map, a bar of a timeline): egui's own
/// widgets show the keyboard's focus by their look, a painted one shows nothing unless asked, and
/// a keyboard user then cannot tell where Tab went.
pub fn focus_ring(ui: &egui::Ui, response: &egui::Response) {
    if response.has_focus() {
        ui.painter().rect_stroke(
            response.rect.expand(2.0),
            2.0,
            ui.visuals().selection.stroke,
            egui::StrokeKind::Outside,
        );
    }
}

/// A resize edge (of a panel, of a table's column) that has the keyboard's focus: egui makes it
/// a Tab stop that shows nothing and does nothing from the keys. It is drawn at `x` over `y`,
/// ← and → are kept from egui's moves of the focus, and the step they ask for is returned
/// (20 points either way, or 0).
#[must_use]
pub fn edge_keys(ui: &egui::Ui, edge: egui::Id, x: f32, y: egui::Rangef) -> f32 {
    ui.memory_mut(|m| {
        m.set_focus_lock_filter(
            edge,
            egui::EventFilter {
                horizontal_arrows: true,
                ..Default::default()
            },
        );
    });
    ui.ctx()
        .layer_painter(egui::LayerId::new(egui::Order::Foreground, edge))
        .vline(x, y, ui.visuals().selection.stroke);
    let (left, right) = ui.input(|i| {
        (
            i.key_pressed(egui::Key::ArrowLeft),
            i.key_pressed(egui::Key::ArrowRight),
        )
    });
    f32::from(i8::from(right) - i8::from(left)) * 20.0
}

/// The title bar with the tabs.
pub fn title_ui(ui: &mut egui::Ui, busy: bool, tab: Tab, history_open: bool) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.heading("Port Inspector");
        ui.separator();
        for t in Tab::ALL {
            if ui.selectable_label(tab == t, t.label()).clicked() {
                actions.push(Action::SetTab(t));
            }
        }
        if tab == Tab::Check {
            ui.separator();
            if ui
                .selectable_label(history_open, "History")
                .on_hover_text("Show or hide the list of checks")
                .clicked()
            {
                actions.push(Action::ToggleHistory);
            }
        }
        if busy {
            ui.spinner();
        }
        // The tagline in what is left of the row, shortened with an ellipsis (the tabs wrap
        // to a second row before anything is hidden under something else).
        if ui.available_size_before_wrap().x > 160.0 {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.add(egui::Label::new("can my program bind this address and port?").truncate());
            });
        }
    });
    actions
}

/// The checks made since the window opened, newest first: one line each (one keyboard stop),
/// with the options that were set; selecting one shows its answer and loads its target into
/// the form.
pub fn history_ui(
    ui: &mut egui::Ui,
    history: &[HistoryEntry],
    earlier: &[super::app::EarlierEntry],
    shown: Option<usize>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        ui.heading("History");
        if !(history.is_empty() && earlier.is_empty())
            && ui
                .small_button("Clear")
                .on_hover_text("Forget every check in this list")
                .clicked()
        {
            actions.push(Action::ClearHistory);
        }
    });
    if history.is_empty() && earlier.is_empty() {
        ui.label("No checks yet.");
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (i, h) in history.iter().enumerate().rev() {
            let c = &h.check;
            let mark = verdict_mark(c.report.verdict);
            let (text, full) = history_text(&h.at, mark, &c.report.target, c.machine.as_deref());
            let r = ui.selectable_label(shown == Some(i), text);
            // Named by the whole entry (what a screen reader says), not its cut picture.
            r.widget_info(|| {
                egui::WidgetInfo::selected(egui::Role::Button, true, shown == Some(i), &full)
            });
            if r.on_hover_text(format!("{full} (checked at {} UTC)", h.at))
                .clicked()
            {
                actions.push(Action::Show(i));
            }
        }
        if !earlier.is_empty() {
            ui.add_space(6.0);
            ui.weak("Earlier runs (click to check again):");
        }
        for (i, e) in earlier.iter().enumerate().rev() {
            let mark = verdict_mark(e.verdict);
            // `12-06 04:30` in the list (the whole date and time on hover).
            let short: String = e.at.chars().skip(5).take(11).collect();
            let (text, full) = history_text(&short, mark, &e.target, None);
            let r = ui.selectable_label(false, RichText::new(text).weak());
            r.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, false, &full));
            if r.on_hover_text(format!(
                "{full}: the verdict then; click to load it into the form"
            ))
            .clicked()
            {
                actions.push(Action::LoadEarlier(i));
            }
        }
    });
    actions
}

/// The verdict as the history list marks it.
fn verdict_mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Bindable => "ok",
        Verdict::NotBindable => "FAIL",
        Verdict::Unknown => "unknown",
    }
}

/// An entry of the history list, short and whole (on hover): when, the verdict and the protocol
/// on the first line, the address and options on the second. The address keeps its port however
/// long the host (a long host name is cut, never the port), and each line is cut at the panel's
/// usual width, so no entry widens the panel or wraps into a third line.
fn history_text(
    when: &str,
    mark: &str,
    target: &crate::target::Target,
    machine: Option<&str>,
) -> (String, String) {
    const LINE: usize = 26;
    let cut = |s: &str, n: usize| -> String {
        if s.chars().count() > n {
            format!(
                "{}…",
                s.chars().take(n.saturating_sub(1)).collect::<String>()
            )
        } else {
            s.to_owned()
        }
    };
    let addr = crate::text::clean(&target.display_addr()).into_owned();
    let on = machine.map_or_else(String::new, |m| format!(" on {}", crate::text::clean(m)));
    let head = format!("{when} {mark} {}", target.protocol);
    let options = options_text(&target.options);
    let full = format!("{head} {addr}{options}{on}");
    let short_addr = match addr.rfind(':') {
        Some(i) if addr.chars().count() > LINE => {
            let (host, port) = addr.split_at(i);
            format!(
                "{}{port}",
                cut(host, LINE.saturating_sub(port.len()).max(4))
            )
        }
        _ => addr,
    };
    let tail = cut(
        &format!("{short_addr}{options}"),
        LINE.max(short_addr.chars().count()),
    );
    (
        format!("{}\n{tail}", cut(&format!("{head}{on}"), LINE)),
        full,
    )
}

/// The options a check set, as short marks: " +REUSEADDR +REUSEPORT v6only".
fn options_text(o: &crate::target::SocketOptions) -> String {
    let mut s = String::new();
    if o.reuse_address {
        s.push_str(" +REUSEADDR");
    }
    if o.reuse_port {
        s.push_str(" +REUSEPORT");
    }
    if o.exclusive_address_use {
        s.push_str(" +EXCLUSIVE");
    }
    match o.v6_only {
        Some(true) => s.push_str(" v6only"),
        Some(false) => s.push_str(" dual-stack"),
        None => {}
    }
    if !o.listen {
        s.push_str(" no-listen");
    }
    s
}

/// What the answer on screen is of, and when it was measured; an earlier answer of a target
/// checked again since says so.
pub fn answer_heading_ui(ui: &mut egui::Ui, entry: &HistoryEntry, newest: bool) -> Vec<Action> {
    let mut actions = Vec::new();
    let t = &entry.check.report.target;
    let on = entry.check.machine.as_deref().map_or_else(
        || " on this machine".to_owned(),
        |m| format!(" on {} (over ssh)", crate::text::clean(m)),
    );
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!(
                "{} {}{}{on}, checked at {} UTC",
                t.protocol,
                crate::text::clean(&t.display_addr()),
                options_text(&t.options),
                entry.at
            ))
            .strong(),
        );
        if !newest {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "An earlier answer: this target was checked again since.",
            );
        }
        if ui
            .button("Check again")
            .on_hover_text("Run this check again now")
            .clicked()
        {
            actions.push(Action::RerunShown);
        }
    });
    // What the window itself did since this answer was made: it knows the answer is older.
    for e in &entry.ended {
        ui.add(
            egui::Label::new(
                RichText::new(ended_since(e))
                    .strong()
                    .color(ui.visuals().warn_fg_color),
            )
            .wrap(),
        );
    }
    actions
}

/// The line an answer shows for a holder the window ended (or found gone) after it was made.
#[must_use]
pub fn ended_since(e: &super::app::EndedSince) -> String {
    use super::app::Gone;
    let (pid, at, from) = (e.pid, &e.at, e.from.label());
    let what = match e.how {
        Gone::Ended => format!("PID {pid} was ended at {at} UTC from {from}"),
        Gone::Exited => {
            format!("PID {pid} had exited by {at} UTC (found when ending it from {from})")
        }
        Gone::LetGo => format!(
            "PID {pid} no longer held its socket at {at} UTC (found when ending it from {from})"
        ),
    };
    format!("{what}: this answer is older. Check again to see the port now.")
}

/// The interface picker with its Refresh button, one row of the form grid. With another
/// machine picked (`machine`), this machine's interfaces are not offered: the check runs
/// there, where they mean nothing (an address already chosen stays, shown as the address).
fn interface_row(
    ui: &mut egui::Ui,
    inputs: &mut Inputs,
    interfaces: &[Interface],
    machine: Option<&str>,
    actions: &mut Vec<Action>,
) {
    let label = ui.label("Interface");
    // Another machine's check names its address as typed, not as an interface of this one.
    let offered: &[Interface] = if machine.is_some() { &[] } else { interfaces };
    ui.horizontal_wrapped(|ui| {
        let mut choices = vec![
            InterfaceChoice::AllAny,
            InterfaceChoice::AllIpv4,
            InterfaceChoice::AllIpv6,
            InterfaceChoice::Localhost,
        ];
        choices.extend(offered.iter().map(|i| InterfaceChoice::Address(i.host())));
        if let InterfaceChoice::Address(_) = &inputs.interface
            && !choices.contains(&inputs.interface)
        {
            choices.push(inputs.interface.clone());
        }
        choices.push(InterfaceChoice::Custom);
        egui::ComboBox::from_id_salt("interface")
            .width(320.0)
            .selected_text(inputs.interface.label(offered))
            .show_ui(ui, |ui| {
                for c in choices {
                    let text = c.label(offered);
                    ui.selectable_value(&mut inputs.interface, c, text);
                }
            })
            .response
            .labelled_by(label.id);
        match machine {
            Some(m) => {
                ui.weak(format!(
                    "This machine's interfaces are not listed: the check runs on {}. Type its address under \"Host name or address…\".",
                    crate::text::clean(m)
                ));
            }
            None => {
                if ui
                    .button("Refresh")
                    .on_hover_text("Read the machine's interfaces again")
                    .clicked()
                {
                    actions.push(Action::RefreshInterfaces);
                }
            }
        }
    });
}

/// The socket options, one row of the form grid.
fn options_row(ui: &mut egui::Ui, inputs: &mut Inputs) {
    ui.label("Options");
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut inputs.reuse_address, "Reuse address (SO_REUSEADDR)");
        ui.add_enabled(
            crate::platform::Os::current().has_reuse_port(),
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
            crate::platform::Os::current().has_exclusive_addr_use(),
            egui::Checkbox::new(
                &mut inputs.exclusive,
                "Exclusive (SO_EXCLUSIVEADDRUSE, Windows)",
            ),
        )
        .on_disabled_hover_text("SO_EXCLUSIVEADDRUSE exists only on Windows");
        // The CLI's --timeout: how long a host name may take to resolve before the answer is
        // "unknown" (a hanging resolver must not hold the window).
        let l = ui.label("Name lookup limit:");
        ui.add(
            egui::DragValue::new(&mut inputs.timeout_secs)
                .range(0.5..=120.0)
                .speed(0.5)
                .suffix(" s"),
        )
        .labelled_by(l.id)
        .on_hover_text("How long a host name may take to resolve before the answer is unknown");
    });
}

/// The form: interface, port, protocol, family, options, Test / Cancel.
pub fn form_ui(
    ui: &mut egui::Ui,
    inputs: &mut Inputs,
    interfaces: &[Interface],
    machine: Option<&str>,
    running: Option<&Running>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut enter = false;
    let before = inputs.clone();
    egui::Grid::new("form")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            interface_row(ui, inputs, interfaces, machine, &mut actions);
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
                            .id(port_field())
                            .hint_text("0-65535")
                            .desired_width(80.0),
                    )
                    .labelled_by(label.id);
                enter |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.label("Quick:");
                for p in QUICK_PORTS {
                    let pick = ui
                        .button(p.to_string())
                        .on_hover_text(format!("Use port {p}; double-click to test it at once"));
                    if pick.clicked() || pick.double_clicked() {
                        inputs.port_text = p.to_string();
                    }
                    enter |= pick.double_clicked();
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
    // The problem is said beside the button (nothing moves down under the pointer), in the
    // window's words, once the user asks or pauses typing.
    let problem = valid.as_ref().err().filter(|e| {
        let empty = matches!(
            e,
            crate::target::InputError::PortEmpty | crate::target::InputError::HostEmpty
        );
        super::form::judge_now(ui, "check", *inputs != before, enter, empty)
    });
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let can_test = valid.is_ok() && running.is_none();
        let reason = match (&valid, running) {
            (Err(e), _) => super::form::window_words(e),
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
        if let Some(e) = problem {
            ui.colored_label(bad_color(ui), super::form::window_words(e));
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

/// The confirmation before closing one TCP connection: which, whose, and what it does.
pub fn confirm_close_ui(ui: &mut egui::Ui, o: &crate::owners::Owner) -> Vec<Action> {
    let mut actions = Vec::new();
    let remote = o.remote.map(|r| r.to_string()).unwrap_or_default();
    let modal = egui::Modal::new(egui::Id::unique("confirm-close")).show(ui.ctx(), |ui| {
        ui.heading(format!("Close the connection from {} to {remote}?", o.address()));
        ui.label(format!("It belongs to {}.", crate::wording::who(o)));
        ui.label("The kernel aborts it: the peer receives a reset, and the process sees its connection aborted. The table is then read again to prove it is gone.");
        ui.horizontal(|ui| {
            if ui.button("Close the connection").clicked() {
                actions.push(Action::ConfirmClose);
            }
            if ui.button("Keep it").clicked() {
                actions.push(Action::CancelClose);
            }
        });
    });
    if modal.should_close() && actions.is_empty() {
        actions.push(Action::CancelClose);
    }
    actions
}

/// The confirmation before ending the holders of a port: every PID the same safe path will end
/// (parent first), what will restart them, and what is refused, as `end --dry-run` words it.
pub fn confirm_end_ui(
    ui: &mut egui::Ui,
    plan: &crate::end::EndPlan,
    machine: Option<&str>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let count = plan.to_end().count();
    // Another machine's plan (its own dry run) names it, so nobody ends a process on the
    // wrong machine.
    let on = machine.map_or_else(String::new, |m| format!(" on {}", crate::text::clean(m)));
    let modal = egui::Modal::new(egui::Id::unique("confirm-end")).show(ui.ctx(), |ui| {
        ui.heading(if count == 0 {
            format!("Nothing on port {}{on} may be ended", plan.port)
        } else {
            format!(
                "End {} holding port {}{on}?",
                crate::wording::count(count, "process", "processes"),
                plan.port
            )
        });
        // The heading above says how many; the plan's lines say who and why (a port the kernel
        // holds for a device has only those lines).
        let words = crate::render::end_plan_words(plan);
        // With nothing to end, the plan's own heading says why (held by sockets of no process
        // this user may end, or the lookup could not look everywhere).
        if count == 0
            && let Some(h) = words.heading
        {
            ui.label(h);
        }
        for (i, (indent, line)) in words.lines.into_iter().enumerate() {
            if indent > 2 {
                // A process's details under it (wrapped, like every label in the modal).
                ui.indent(("end-plan-line", i), |ui| ui.label(line));
            } else {
                ui.label(line);
            }
        }
        if count == 0 {
            // Nothing will be ended: no sentence about how it would be.
        } else if on.is_empty() {
            ui.label(format!(
                "Each PID is checked again right before it is ended ({}); the port is then bound again to prove it is free.",
                crate::platform::Os::current().end_call()
            ));
        } else {
            // The machine there ends them its own way (a signal, or TerminateProcess).
            ui.label(format!("Each PID is checked again{on} right before it is ended; the port is then bound again{on} to prove it is free."));
        }
        if count > 0 {
            ui.label("Enter ends them; Esc keeps them running.");
        }
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            let enter = count > 0
                && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter));
            let label = format!("End {}", crate::wording::count(count, "process", "processes"));
            if count > 0 && (ui.button(label).clicked() || enter) {
                actions.push(Action::ConfirmEnd);
            }
            // With nothing to end there is nothing to keep running: the dialog only closes.
            let keep = if count == 0 {
                "Close"
            } else {
                "Keep them running"
            };
            if ui.button(keep).clicked() {
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
        // Enter in the field saves (never replaces: a file there is asked about first).
        let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
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
            } else if ui.button("Save").clicked() || entered {
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

/// Check, Scan, Listening now and Watches run on the picked machine; the other tabs say they answer for
/// this one, so no local answer passes for the other machine's.
pub fn runs_here_notice(ui: &mut egui::Ui, tab: super::action::Tab, picked: Option<&str>) {
    use super::action::Tab;
    if matches!(tab, Tab::Kit)
        && let Some(m) = picked
    {
        ui.add(
            egui::Label::new(
                egui::RichText::new(format!(
                    "This tab runs on this machine, not on {}: Check, Scan, Listening now and Watches run on the picked machine.",
                    crate::text::clean(m)
                ))
                .strong(),
            )
            .wrap(),
        );
    }
}
