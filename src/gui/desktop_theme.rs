//! What "System theme" follows where the windowing system does not say. On Windows and macOS,
//! and on Wayland desktops with a settings portal, winit reports the theme and egui follows it.
//! On X11 winit reports nothing, and egui would draw dark whatever the desktop says; there the
//! window asks the desktop's own setting once at start: `GTK_THEME` (a `:dark` variant), else
//! GNOME's `color-scheme` through `gsettings` (also what GTK apps on other desktops read). With
//! neither, dark stays the fallback.

/// The desktop's preference, where it can be read.
#[must_use]
pub fn desktop_theme() -> Option<egui::Theme> {
    if let Some(t) = std::env::var("GTK_THEME")
        .ok()
        .as_deref()
        .and_then(gtk_theme)
    {
        return Some(t);
    }
    let gsettings = crate::tools::find("gsettings")?;
    let out = std::process::Command::new(gsettings)
        .args(["get", "org.gnome.desktop.interface", "color-scheme"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| color_scheme(&String::from_utf8_lossy(&out.stdout)))
        .flatten()
}

/// `Adwaita:dark` → dark; any other theme named → light (GTK's default variant).
fn gtk_theme(value: &str) -> Option<egui::Theme> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    Some(if v.to_ascii_lowercase().ends_with(":dark") {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    })
}

/// gsettings' answer: `'prefer-dark'` → dark, `'prefer-light'` or `'default'` → light.
fn color_scheme(answer: &str) -> Option<egui::Theme> {
    match answer.trim().trim_matches('\'') {
        "prefer-dark" => Some(egui::Theme::Dark),
        "prefer-light" | "default" => Some(egui::Theme::Light),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desktops_words_for_its_theme() {
        assert_eq!(color_scheme("'prefer-dark'\n"), Some(egui::Theme::Dark));
        assert_eq!(color_scheme("'default'\n"), Some(egui::Theme::Light));
        assert_eq!(color_scheme("'prefer-light'"), Some(egui::Theme::Light));
        assert_eq!(color_scheme("No such schema"), None);
        assert_eq!(gtk_theme("Adwaita:dark"), Some(egui::Theme::Dark));
        assert_eq!(gtk_theme("Adwaita"), Some(egui::Theme::Light));
        assert_eq!(gtk_theme(""), None);
    }
}
