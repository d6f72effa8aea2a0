//! The Save report dialog: where to write, and never over a file or through a link unasked.

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

/// `20261125-014130`: the date and time (UTC) of `ms` (since 1970) for a file name.
pub(super) fn file_stamp(ms: u64) -> String {
    let digits = |s: String| s.chars().filter(char::is_ascii_digit).collect::<String>();
    format!(
        "{}-{}",
        digits(crate::record::time::date(ms, 0)),
        digits(crate::record::time::clock(ms, 0))
    )
}

/// Why a report could not be saved, in the window's words: the system's own text ("No such file
/// or directory (os error 2)") said as what it means here.
pub(super) fn failure(e: &crate::files::WriteError) -> String {
    use std::io::ErrorKind;
    match e {
        crate::files::WriteError::Io(io) => match io.kind() {
            ErrorKind::NotFound => "its folder does not exist".into(),
            ErrorKind::PermissionDenied => "this user may not write there".into(),
            ErrorKind::ReadOnlyFilesystem => "that file system is read-only".into(),
            ErrorKind::StorageFull => "the disk is full".into(),
            _ => e.to_string(),
        },
        _ => e.to_string(),
    }
}
