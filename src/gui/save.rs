//! The Save report dialog: where to write, and never over a file or through a link unasked.

#[allow(clippy::wildcard_imports)]
use super::app::*;

/// The Save report dialog: where to write, and whether that file exists (then only an explicit
/// Replace overwrites it, and never through a symbolic link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveDialog {
    /// The path as typed.
    pub path_text: String,
    /// The file exists: the dialog asks before replacing it.
    pub exists: bool,
    /// Why the last write failed.
    pub error: Option<String>,
}

impl App {
    /// Writes the shown check's report where the dialog says: a new file, or a replacement only
    /// when `replace` (asked for by the user); `files::write` never follows a link.
    pub(super) fn save_to(&mut self, replace: bool) {
        let (Some(dialog), Some(c)) = (
            self.save.as_mut(),
            self.history.get(self.shown.unwrap_or(usize::MAX)),
        ) else {
            return;
        };
        let path = std::path::PathBuf::from(dialog.path_text.trim());
        match crate::files::write(
            &path,
            crate::render::report::markdown(&c.check).as_bytes(),
            replace,
        ) {
            Ok(()) => {
                self.status = Some(format!("Report saved to {}", path.display()));
                self.save = None;
            }
            Err(crate::files::WriteError::Exists) if !replace => {
                dialog.exists = true;
                dialog.error = None;
            }
            Err(e) => dialog.error = Some(format!("Could not save to {}: {e}", path.display())),
        }
    }
}

/// `20261125-014130`: the date and time (UTC) for a file name.
pub(super) fn file_stamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .filter_map(|c| match c {
            'T' => Some('-'),
            c if c.is_ascii_digit() => Some(c),
            _ => None,
        })
        .collect()
}
