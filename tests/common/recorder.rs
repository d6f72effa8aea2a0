//! The flight recorder's test folder and process, shared by `record` and `gui_history`.

use std::path::PathBuf;
use std::process::Child;

/// A folder only this user may write (the recorder refuses any other), removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh folder named after the test, this process and a private loopback address.
    pub fn new(tag: &str) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let d = std::env::temp_dir().join(format!(
            "pi-record-{tag}-{}-{}",
            std::process::id(),
            super::private_loopback()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        Self(d)
    }

    /// The database's path in it.
    pub fn db(&self) -> PathBuf {
        self.0.join("record.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The recorder, running; killed when dropped.
pub struct Recorder(pub Child);

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
