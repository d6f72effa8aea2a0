//! The machine picker in the top bar: "This machine", the hosts of `~/.ssh/config` (no
//! patterns) and machines added by hand (each with the path of Port Inspector there, when it is
//! not on that machine's PATH), remembered between runs with the ssh command to use. The
//! picked machine is where the Check tab's answers come from (over ssh, `crate::remote`); the
//! title and every answer name it.

use serde::{Deserialize, Serialize};

use crate::remote::{Machine, Remote};
use crate::target::InputError;

/// The most machines kept (a support desk's fleet, not a data centre's inventory).
const MACHINES_KEPT: usize = 500;

/// The biggest ssh config read for its hosts.
const CONFIG_MAX_BYTES: u64 = 1 << 20;

/// A machine added by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AddedMachine {
    /// `[user@]host[:port]` or an ssh config alias.
    pub address: String,
    /// Port Inspector's path there; empty: `port-inspector` on that machine's PATH.
    pub program: String,
}

/// What the picker remembers between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MachinesSaved {
    /// The picked machine (`None`: this machine).
    pub picked: Option<String>,
    /// The machines added by hand.
    pub added: Vec<AddedMachine>,
    /// The ssh command to run instead of the system's (`ssh -F ~/.ssh/fleet.conf`).
    pub ssh_command: String,
}

impl MachinesSaved {
    /// The same, with what cannot be a machine dropped and each text cut to a sane length.
    #[must_use]
    pub fn validated(self) -> Self {
        let ok = |a: &str| a.len() <= 300 && Machine::parse(a).is_ok();
        Self {
            picked: self.picked.filter(|p| ok(p)),
            added: self
                .added
                .into_iter()
                .filter(|m| ok(&m.address) && m.program.len() <= 1000)
                .take(MACHINES_KEPT)
                .collect(),
            ssh_command: super::form::capped(self.ssh_command, 1000),
        }
    }
}

/// The picker: its list, the pick, and the "Machines…" editor.
#[derive(Debug, Default)]
pub struct MachinesRoom {
    /// The picked machine (`None`: this machine).
    pub picked: Option<String>,
    /// The machines added by hand.
    pub added: Vec<AddedMachine>,
    /// The hosts of the ssh config, as last read.
    pub from_config: Vec<String>,
    /// The ssh command to run instead of the system's; empty: `PORT_INSPECTOR_SSH` or `ssh`.
    pub ssh_command: String,
    /// Whether the editor is open.
    pub editor_open: bool,
    /// The editor's address field.
    pub new_address: String,
    /// The editor's program field.
    pub new_program: String,
    /// Why the last Add was refused.
    pub error: Option<String>,
}

/// What the picker's controls ask for.
enum MachineAction {
    Pick(Option<String>),
    Add,
    Remove(usize),
    ReloadConfig,
}

impl MachinesRoom {
    /// A picker with the ssh config's hosts read.
    #[must_use]
    pub fn new() -> Self {
        let mut m = Self::default();
        m.reload_config();
        m
    }

    /// What is remembered.
    #[must_use]
    pub fn saved(&self) -> MachinesSaved {
        MachinesSaved {
            picked: self.picked.clone(),
            added: self.added.clone(),
            ssh_command: self.ssh_command.clone(),
        }
    }

    /// Takes back what was remembered (validated), and reads the ssh config it names.
    pub fn restore(&mut self, saved: MachinesSaved) {
        let s = saved.validated();
        self.picked = s.picked;
        self.added = s.added;
        self.ssh_command = s.ssh_command;
        self.reload_config();
    }

    /// Reads the hosts of the ssh config again (the one `-F` names in the ssh command, else
    /// `~/.ssh/config`); a missing or unreadable file gives none.
    pub fn reload_config(&mut self) {
        self.from_config = config_path(&self.ssh_command)
            .and_then(|p| read_small(&p))
            .map(|t| config_hosts(&t))
            .unwrap_or_default();
    }

    /// Every machine offered, ssh config hosts first, each once.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut all: Vec<String> = self.from_config.clone();
        for a in &self.added {
            if !all.contains(&a.address) {
                all.push(a.address.clone());
            }
        }
        all
    }

    /// How Port Inspector is reached on `address`: its program path and this window's ssh
    /// command.
    ///
    /// # Errors
    /// The address is not `[user@]host[:port]`.
    pub fn remote_for(&self, address: &str) -> Result<Remote, InputError> {
        let machine = Machine::parse(address)?;
        let program = self
            .added
            .iter()
            .find(|a| a.address == address)
            .map(|a| a.program.trim().to_owned())
            .filter(|p| !p.is_empty());
        Ok(Remote {
            machine,
            program,
            ssh: Some(self.ssh_command.trim().to_owned()).filter(|s| !s.is_empty()),
        })
    }

    /// The picked machine's remote, `None` for this machine.
    #[must_use]
    pub fn picked_remote(&self) -> Option<Result<Remote, InputError>> {
        self.picked.as_deref().map(|p| self.remote_for(p))
    }

    /// The window title: the picked machine, then the note.
    #[must_use]
    pub fn title(&self, note: Option<&str>) -> String {
        let mut t = "Port Inspector".to_owned();
        if let Some(m) = &self.picked {
            t.push_str(" — on ");
            t.push_str(&crate::text::clean(m));
        }
        if let Some(n) = note {
            t.push_str(" — ");
            t.push_str(n);
        }
        t
    }

    /// Draws the picker row (and the editor when open), `right` at its right end; true when
    /// another machine was picked.
    pub fn ui(&mut self, ui: &mut egui::Ui, right: impl FnOnce(&mut egui::Ui)) -> bool {
        let mut actions = Vec::new();
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Machine");
            let shown = self.picked.as_deref().map_or_else(
                || "This machine".to_owned(),
                |m| crate::text::clean(m).into(),
            );
            let mut picked = self.picked.clone();
            egui::ComboBox::from_id_salt("machine")
                .width(220.0)
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut picked, None, "This machine");
                    for n in self.names() {
                        let text = crate::text::clean(&n).into_owned();
                        ui.selectable_value(&mut picked, Some(n), text);
                    }
                })
                .response
                .labelled_by(label.id);
            if picked != self.picked {
                actions.push(MachineAction::Pick(picked));
            }
            if let Some(m) = &self.picked {
                ui.label(format!(
                    "Answers come from {} over ssh.",
                    crate::text::clean(m)
                ));
            }
            ui.toggle_value(&mut self.editor_open, "Machines…")
                .on_hover_text("Add or remove machines, set the ssh command");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), right);
        });
        if self.editor_open {
            self.editor_ui(ui, &mut actions);
        }
        let before = self.picked.clone();
        for a in actions {
            self.apply(a);
        }
        before != self.picked
    }

    fn editor_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<MachineAction>) {
        egui::Grid::new("machines-editor")
            .num_columns(2)
            .show(ui, |ui| {
                let l = ui.label("Add a machine");
                ui.add(
                    egui::TextEdit::singleline(&mut self.new_address)
                        .hint_text("[USER@]HOST[:PORT] or a Host of ~/.ssh/config"),
                )
                .labelled_by(l.id);
                ui.end_row();
                let l = ui.label("Program there");
                ui.add(
                    egui::TextEdit::singleline(&mut self.new_program)
                        .hint_text("empty: port-inspector on its PATH"),
                )
                .labelled_by(l.id);
                ui.end_row();
                ui.label("");
                if ui.button("Add machine").clicked() {
                    actions.push(MachineAction::Add);
                }
                ui.end_row();
                let l = ui.label("ssh command");
                ui.add(
                    egui::TextEdit::singleline(&mut self.ssh_command)
                        .hint_text("empty: the system's ssh"),
                )
                .labelled_by(l.id);
                ui.end_row();
            });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} from the ssh config.",
                crate::wording::count(self.from_config.len(), "host", "hosts")
            ));
            if ui.button("Read the ssh config again").clicked() {
                actions.push(MachineAction::ReloadConfig);
            }
        });
        for (i, a) in self.added.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(crate::text::clean(&a.address));
                if !a.program.is_empty() {
                    ui.label(format!("(program {})", crate::text::clean(&a.program)));
                }
                if ui
                    .small_button("Remove")
                    .on_hover_text(format!("Remove {}", crate::text::clean(&a.address)))
                    .clicked()
                {
                    actions.push(MachineAction::Remove(i));
                }
            });
        }
    }

    fn apply(&mut self, action: MachineAction) {
        match action {
            MachineAction::Pick(p) => self.picked = p,
            MachineAction::Add => {
                let address = self.new_address.trim().to_owned();
                match Machine::parse(&address) {
                    Err(e) => self.error = Some(e.to_string()),
                    Ok(_) if self.added.len() >= MACHINES_KEPT => {
                        self.error = Some(format!("At most {MACHINES_KEPT} machines are kept."));
                    }
                    Ok(_) => {
                        self.added.retain(|a| a.address != address);
                        self.added.push(AddedMachine {
                            address,
                            program: self.new_program.trim().to_owned(),
                        });
                        self.error = None;
                        self.new_address.clear();
                        self.new_program.clear();
                    }
                }
            }
            MachineAction::Remove(i) => {
                if i < self.added.len() {
                    let gone = self.added.remove(i);
                    if self.picked.as_ref() == Some(&gone.address)
                        && !self.from_config.contains(&gone.address)
                    {
                        self.picked = None;
                    }
                }
            }
            MachineAction::ReloadConfig => self.reload_config(),
        }
    }
}

/// The ssh config to read hosts from: the one `-F FILE` names in the ssh command, else
/// `~/.ssh/config` (`%USERPROFILE%\.ssh\config` on Windows).
fn config_path(ssh_command: &str) -> Option<std::path::PathBuf> {
    let mut words = ssh_command.split_whitespace();
    while let Some(w) = words.next() {
        if w == "-F" {
            return words.next().map(std::path::PathBuf::from);
        }
        if let Some(f) = w.strip_prefix("-F").filter(|f| !f.is_empty()) {
            return Some(f.into());
        }
    }
    let home = std::env::var_os(crate::platform::Os::current().home_variable())?;
    Some(std::path::PathBuf::from(home).join(".ssh").join("config"))
}

/// A regular file's text, at most [`CONFIG_MAX_BYTES`] (never a FIFO or a device: the window
/// must not hang on start).
fn read_small(path: &std::path::Path) -> Option<String> {
    use std::io::Read as _;
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(CONFIG_MAX_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The host names of an ssh config's `Host` lines, each once, in order: patterns (`*`, `?`,
/// `!`) and what cannot be a machine left out. `Include` is not followed.
#[must_use]
pub fn config_hosts(text: &str) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some((key, rest)) = line
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .map(|(k, r)| {
                (
                    k,
                    r.trim_start_matches(|c: char| c.is_whitespace() || c == '='),
                )
            })
        else {
            continue;
        };
        if !key.eq_ignore_ascii_case("host") {
            continue;
        }
        for name in rest.split_whitespace().map(|n| n.trim_matches('"')) {
            if name.contains(['*', '?', '!'])
                || Machine::parse(name).is_err()
                || hosts.iter().any(|h| h == name)
            {
                continue;
            }
            hosts.push(name.to_owned());
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssh_configs_hosts_without_patterns() {
        let text = "Host *\n  User me\nHost web-01 web-02 !bad\n  HostName 10.0.0.1\nhost=db*\nHOST \"build\" web-01\n  # Host commented\nMatch host x\nHost $(id) -oProxyCommand=x\n";
        assert_eq!(
            config_hosts(text),
            ["web-01", "web-02", "build"],
            "names only, once, no patterns, nothing hostile"
        );
    }

    #[test]
    fn the_config_is_the_one_the_ssh_command_names() {
        assert_eq!(
            config_path("ssh -F /etc/fleet.conf -q"),
            Some("/etc/fleet.conf".into()),
            "-F FILE"
        );
        assert_eq!(config_path("ssh -F/x"), Some("/x".into()), "-FFILE");
    }

    #[test]
    fn a_remembered_machine_that_is_not_one_is_dropped() {
        let s = MachinesSaved {
            picked: Some("-oProxyCommand=x".into()),
            added: vec![
                AddedMachine {
                    address: "web-01".into(),
                    program: String::new(),
                },
                AddedMachine {
                    address: "a b".into(),
                    program: String::new(),
                },
            ],
            ssh_command: String::new(),
        }
        .validated();
        assert_eq!(s.picked, None, "no such pick");
        assert_eq!(s.added.len(), 1, "one machine kept");
    }
}
