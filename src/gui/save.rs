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
