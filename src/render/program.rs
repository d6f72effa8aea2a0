//! The lines a front prints at its edge that point the user at a command (a refused input's
//! listing, a window that cannot open): each command starts with the `Program` the front decided,
//! so it runs as printed from a tarball or a build folder as well as when installed.

use crate::program::Program;
use crate::target::InputError;
use crate::wording::program_word;

/// A refused input in one line: its message, then the command that lists what it may be where
/// one does (`…; to see them: port-inspector facts`).
#[must_use]
pub fn input_error(e: &InputError, program: &Program) -> String {
    match e.listing() {
        Some(l) => format!(
            "{e}; to see them: {} {}",
            program_word(program),
            l.subcommand()
        ),
        None => e.to_string(),
    }
}

/// Why no window opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoWindow {
    /// Neither DISPLAY nor WAYLAND_DISPLAY is set.
    NoDisplay,
    /// A build without the `gui` feature.
    NotBuilt,
    /// eframe could not open it; its error.
    OpenFailed(String),
}

/// Why no window opened, with the commands that work instead.
#[must_use]
pub fn no_window(why: &NoWindow, program: &Program) -> String {
    let p = program_word(program);
    match why {
        NoWindow::NoDisplay => format!(
            "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set); use the command line instead, e.g. {p} check 8080; every command: {p} --help"
        ),
        NoWindow::NotBuilt => format!(
            "this build has no window (built without the 'gui' feature); use a command, e.g. {p} check 8080; every command: {p} --help"
        ),
        NoWindow::OpenFailed(e) => format!(
            "could not open the window: {}. It needs OpenGL (libgl1, libegl1 and Mesa's libgl1-mesa-dri on Debian/Ubuntu) and libxkbcommon-x11-0; the command line works without them: every command: {p} --help",
            crate::text::clean(e)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_start_with_the_program_the_front_decided() {
        let at = Program::At("/tmp/pi 1.0/port-inspector".into());
        // Quoted as this OS's shell reads it: '…' for sh, "…" for cmd.exe and PowerShell.
        let q = if crate::platform::Os::current() == crate::platform::Os::Windows {
            "\"/tmp/pi 1.0/port-inspector\""
        } else {
            "'/tmp/pi 1.0/port-inspector'"
        };
        let e = InputError::UnknownErrorCode("FOO".into());
        assert!(
            input_error(&e, &at).ends_with(&format!("; to see them: {q} errors")),
            "{}",
            input_error(&e, &at)
        );
        assert!(
            input_error(&e, &Program::OnPath).ends_with("; to see them: port-inspector errors")
        );
        let plain = InputError::PortEmpty;
        assert_eq!(input_error(&plain, &at), plain.to_string());
        let w = no_window(&NoWindow::NoDisplay, &at);
        assert!(w.contains(&format!("e.g. {q} check 8080;")), "{w}");
        assert!(w.ends_with(&format!("every command: {q} --help")), "{w}");
    }
}
