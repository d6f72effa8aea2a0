//! Exporting the live table from the window: copied as CSV, JSON or HTML, or saved as a new
//! dated file in the report folder.

/// Copies the live table's rows, or saves them in `save_in` (a new dated file, written as every
/// file of the tool is: never over another, never through a link); returns what happened, for
/// the status line.
pub fn export_sockets(
    ctx: &egui::Context,
    rows: &[crate::owners::Owner],
    format: super::listening::ExportFormat,
    save_in: Option<&std::path::Path>,
) -> String {
    use super::listening::ExportFormat;
    let stamp = super::save::file_stamp(crate::record::now_ms());
    let (text, ext) = match format {
        ExportFormat::Csv => (crate::export::csv(rows), "csv"),
        ExportFormat::Json => match crate::export::json(rows) {
            Ok(j) => (j, "json"),
            Err(e) => return format!("Could not write the JSON: {e}"),
        },
        ExportFormat::Html => (
            crate::export::html(
                rows,
                &format!("Sockets on this machine, {stamp} UTC (Port Inspector)"),
            ),
            "html",
        ),
    };
    let Some(dir) = save_in else {
        ctx.copy_text(text);
        return format!("{} sockets copied ({}).", rows.len(), ext.to_uppercase());
    };
    let path = dir.join(format!("port-inspector-sockets-{stamp}.{ext}"));
    match crate::files::write(&path, text.as_bytes(), false) {
        Ok(()) => format!("{} sockets saved to {}", rows.len(), path.display()),
        Err(e) => format!("Could not save to {}: {e}", path.display()),
    }
}
