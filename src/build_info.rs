//! Which build this is: version, commit and build date (set by `build.rs`), for `--version` and
//! every report, so a ticket says which Port Inspector wrote it.

use serde::{Deserialize, Serialize};

/// The version from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The short commit the binary was built from, or `unknown commit` (a build from a tarball
/// without `.git` and without cargo's `.cargo_vcs_info.json`).
pub const COMMIT: &str = env!("PORT_INSPECTOR_COMMIT");
/// The day it was built (UTC, YYYY-MM-DD; `SOURCE_DATE_EPOCH` when set, for reproducible builds).
pub const BUILD_DATE: &str = env!("PORT_INSPECTOR_BUILD_DATE");
/// `0.1.0 (commit 0123456789ab, built 2026-12-06)`: what `--version` prints after the name.
pub const LONG_VERSION: &str = env!("PORT_INSPECTOR_LONG_VERSION");

/// The build that made a check, carried in its JSON (`tool`) and its reports.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tool {
    /// `port-inspector`.
    pub name: String,
    /// The version from Cargo.toml.
    pub version: String,
    /// The short commit, or `unknown commit`.
    pub commit: String,
    /// The build date, YYYY-MM-DD.
    pub build_date: String,
}

impl Tool {
    /// This binary.
    #[must_use]
    pub fn this() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: VERSION.to_owned(),
            commit: COMMIT.to_owned(),
            build_date: BUILD_DATE.to_owned(),
        }
    }

    /// One line for a report: `port-inspector 0.1.0 (commit …, built …)`; empty for a check read
    /// from JSON that did not carry it.
    #[must_use]
    pub fn line(&self) -> String {
        if self.version.is_empty() {
            return String::new();
        }
        let commit = if self.commit == "unknown commit" {
            self.commit.clone()
        } else {
            format!("commit {}", self.commit)
        };
        format!(
            "{} {} ({commit}, built {})",
            self.name, self.version, self.build_date
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_version_names_version_commit_and_date() {
        assert!(LONG_VERSION.starts_with(VERSION), "{LONG_VERSION}");
        assert!(LONG_VERSION.contains(BUILD_DATE), "{LONG_VERSION}");
        assert!(LONG_VERSION.contains(COMMIT), "{LONG_VERSION}");
        assert_eq!(
            Tool::this().line(),
            format!("port-inspector {LONG_VERSION}"),
            "the report line and --version agree"
        );
        let date = BUILD_DATE.as_bytes();
        assert!(
            date.len() == 10 && date[4] == b'-' && date[7] == b'-',
            "{BUILD_DATE}"
        );
        assert!(
            COMMIT == "unknown commit"
                || (COMMIT.len() == 12 && COMMIT.bytes().all(|b| b.is_ascii_hexdigit())),
            "{COMMIT}"
        );
    }
}
