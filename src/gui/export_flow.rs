//! Exporting the live table from the window: copied as CSV, JSON or HTML, or saved as a new
//! dated file in the report folder.

#[allow(clippy::wildcard_imports)]
use super::app::*;

impl App {
    /// Copies or saves the live table's rows (a new dated file in the report folder, written as
    /// every file of the tool is: never over another, never through a link).
    pub(super) fn export_sockets(
        &mut self,
        ctx: &egui::Context,
        rows: &[crate::owners::Owner],
        format: super::listening::ExportFormat,
        save: bool,
    ) {
        use super::listening::ExportFormat;
        let stamp = super::save::file_stamp();
        let (text, ext) = match format {
            ExportFormat::Csv => (crate::export::csv(rows), "csv"),
            ExportFormat::Json => match crate::export::json(rows) {
                Ok(j) => (j, "json"),
                Err(e) => {
                    self.status = Some(format!("Could not write the JSON: {e}"));
                    return;
                }
            },
            ExportFormat::Html => (
                crate::export::html(
                    rows,
                    &format!("Sockets on this machine, {stamp} UTC (Port Inspector)"),
                ),
                "html",
            ),
        };
        if !save {
            ctx.copy_text(text);
            self.status = Some(format!(
                "{} sockets copied ({}).",
                rows.len(),
                ext.to_uppercase()
            ));
            return;
        }
        let path = self
            .report_dir
            .join(format!("port-inspector-sockets-{stamp}.{ext}"));
        self.status = Some(match crate::files::write(&path, text.as_bytes(), false) {
            Ok(()) => format!("{} sockets saved to {}", rows.len(), path.display()),
            Err(e) => format!("Could not save to {}: {e}", path.display()),
        });
    }
}
