//! The window's saved state on disk, read and written by the window itself (not by eframe).
//!
//! eframe's own storage follows a symbolic link at `app.ron` when it saves, and reads whatever is
//! there at start (a FIFO hangs the start, `/dev/zero` grows without end). Root running the
//! window with another user's `HOME` (as `sudo -E` does) would so write through that user's links.
//! Here:
//! - the folder is the running user's own: `$XDG_DATA_HOME` or `$HOME` only when they belong to
//!   that user, else the home folder of the user's passwd entry (an elevated window keeps its own
//!   state); the folder must belong to the user and be writable by nobody else, or nothing is read
//!   or saved there;
//! - the file is read only if it is a regular file of that user under [`MAX_BYTES`], opened
//!   without following a link and without waiting (a FIFO never hangs the start);
//! - it is written through [`crate::files`]: complete in a temporary file, then renamed over the
//!   name (a link there is replaced, never followed);
//! - anything wrong starts the window with defaults, and the window says so once.
//!
//! The format stays eframe's (a RON map of keys to RON values), so the state of earlier versions
//! is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file's name in its folder.
pub const FILE_NAME: &str = "app.ron";
/// A saved state larger than this is damage, not a form (a real one is under 4 KiB).
pub const MAX_BYTES: u64 = 1 << 20;
/// A value longer than this is dropped.
const MAX_VALUE_BYTES: usize = 64 * 1024;
/// How often a changed state is written while the window is open.
pub const AUTOSAVE: Duration = Duration::from_secs(30);
/// The key of the window's size.
pub const WINDOW_KEY: &str = "port-inspector-window";

/// Why the saved state was not used, or cannot be saved.
#[derive(Debug, thiserror::Error)]
pub enum StateProblem {
    /// No home folder is known.
    #[error("no home folder is known for this user")]
    NoFolder,
    /// The folder belongs to someone else or others may write into it.
    #[error("the folder {} belongs to another user or others may write in it", .0.display())]
    NotOwnFolder(PathBuf),
    /// The folder could not be opened or made.
    #[error("the folder {shown} could not be opened: {1}", shown = .0.display())]
    Folder(PathBuf, crate::files::WriteError),
    /// The file is a link (it will be replaced by a regular file when saved).
    #[error("it is a symbolic link")]
    Link,
    /// The file is a FIFO, a device, a folder …
    #[error("it is not a regular file")]
    NotRegular,
    /// The file belongs to another user.
    #[error("it belongs to another user")]
    NotOwn,
    /// The file is too large.
    #[error("it is larger than {} KiB", MAX_BYTES / 1024)]
    TooLarge,
    /// The file could not be read.
    #[error("it could not be read ({0})")]
    Read(std::io::Error),
    /// The file is not a RON map of texts.
    #[error("it is damaged ({0})")]
    Damaged(String),
}

/// What the window tells once about its saved state.
#[derive(Debug)]
pub struct Notice {
    /// The file.
    pub path: PathBuf,
    /// What was wrong.
    pub problem: StateProblem,
    /// Whether the state will still be saved (to the same place, as a regular file).
    pub saving: bool,
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = crate::text::clean(&self.path.to_string_lossy()).into_owned();
        if self.saving {
            write!(
                f,
                "The saved state {path} was not used: {}. The window started with its defaults and will save a new state there.",
                self.problem
            )
        } else {
            write!(
                f,
                "The window's state is not saved in this run: {}. It started with its defaults.",
                self.problem
            )
        }
    }
}

/// The saved state: its folder and its keys. Implements [`eframe::Storage`] so `App::save` and
/// `Saved::load` work on it as on any storage.
#[derive(Debug)]
pub struct StateFile {
    dir: PathBuf,
    kv: BTreeMap<String, String>,
    dirty: bool,
    last_flush: Instant,
}

impl StateFile {
    /// Opens the running user's state (see the module's rules): the storage, if the state can be
    /// saved, and a notice, if something was wrong.
    #[must_use]
    pub fn open() -> (Option<Self>, Option<Notice>) {
        match state_dir() {
            Some(dir) => Self::open_in(&dir),
            None => (
                None,
                Some(Notice {
                    path: PathBuf::from(FILE_NAME),
                    problem: StateProblem::NoFolder,
                    saving: false,
                }),
            ),
        }
    }

    /// The same in the folder `dir` (made, mode 0700, if missing).
    #[must_use]
    pub fn open_in(dir: &Path) -> (Option<Self>, Option<Notice>) {
        let path = dir.join(FILE_NAME);
        let (kv, problem) = match imp::read(dir) {
            Ok(text) => match text.map(|t| parse(&t)) {
                None => (BTreeMap::new(), None),
                Some(Ok(kv)) => (kv, None),
                Some(Err(p)) => (BTreeMap::new(), Some(p)),
            },
            Err(
                p @ (StateProblem::NoFolder
                | StateProblem::NotOwnFolder(_)
                | StateProblem::Folder(..)),
            ) => {
                return (
                    None,
                    Some(Notice {
                        path,
                        problem: p,
                        saving: false,
                    }),
                );
            }
            Err(p) => (BTreeMap::new(), Some(p)),
        };
        let notice = problem.map(|problem| Notice {
            path,
            problem,
            saving: true,
        });
        (
            Some(Self {
                dir: dir.to_path_buf(),
                kv,
                dirty: false,
                last_flush: Instant::now(),
            }),
            notice,
        )
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Whether a changed state waits longer than [`AUTOSAVE`].
    #[must_use]
    pub fn due(&self) -> bool {
        self.last_flush.elapsed() >= AUTOSAVE
    }

    /// Writes the state if it changed; the reason when that failed.
    pub fn try_flush(&mut self) -> Result<(), StateProblem> {
        self.last_flush = Instant::now();
        if !self.dirty {
            return Ok(());
        }
        let text = ron::ser::to_string_pretty(&self.kv, ron::ser::PrettyConfig::default())
            .map_err(|e| StateProblem::Damaged(e.to_string()))?;
        imp::write(&self.dir, text.as_bytes())?;
        self.dirty = false;
        Ok(())
    }
}

impl eframe::Storage for StateFile {
    fn get_string(&self, key: &str) -> Option<String> {
        self.kv.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        if self.kv.get(key) != Some(&value) {
            self.kv.insert(key.to_owned(), value);
            self.dirty = true;
        }
    }

    fn remove_string(&mut self, key: &str) {
        if self.kv.remove(key).is_some() {
            self.dirty = true;
        }
    }

    fn flush(&mut self) {
        // Errors are seen through `try_flush`, which the window calls; the trait has no way out.
        let _ = self.try_flush();
    }
}

/// The keys of a saved state: a RON map of texts, each value capped. eframe's own keys (its
/// window geometry and egui's memory, where a NaN zoom panicked every start) are dropped: the
/// window keeps its size under its own key and validates it.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, StateProblem> {
    let mut kv: BTreeMap<String, String> =
        ron::from_str(text).map_err(|e| StateProblem::Damaged(e.code.to_string()))?;
    kv.retain(|k, v| {
        k.starts_with("port-inspector") && k.len() <= 64 && v.len() <= MAX_VALUE_BYTES
    });
    Ok(kv)
}

/// The window's inner size as saved, in points.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowSize {
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl WindowSize {
    /// The size if it is one a screen can show: finite, at least the window's minimum, at most
    /// 16,384 points a side.
    #[must_use]
    pub fn validated(self) -> Option<Self> {
        let ok = |v: f32, min: f32| v.is_finite() && (min..=16_384.0).contains(&v);
        (ok(self.width, 720.0) && ok(self.height, 520.0)).then_some(self)
    }
}

/// The folder of the running user's state.
fn state_dir() -> Option<PathBuf> {
    dir_for(
        std::env::var_os("XDG_DATA_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// The folder of the running user's state given `$XDG_DATA_HOME` and `$HOME`: each is used only
/// if it belongs to the running user (on Windows, `%APPDATA%` is the place).
#[must_use]
pub fn dir_for(xdg_data_home: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    imp::base_dir(xdg_data_home, home).map(|b| b.join("port-inspector"))
}

#[cfg(unix)]
mod imp {
    //! Unix: the user's own folder, opened without following others' links.
    use super::{FILE_NAME, MAX_BYTES, StateProblem};
    use rustix::fs::{FileType, Mode, OFlags};
    use rustix::io::Errno;
    use std::io::Read as _;
    use std::path::{Path, PathBuf};

    /// Whether `p` is a folder of the running user (not followed if a link).
    fn own(p: &Path) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::symlink_metadata(p)
            .is_ok_and(|m| m.is_dir() && m.uid() == rustix::process::geteuid().as_raw())
    }

    /// `$XDG_DATA_HOME`, or `$HOME/.local/share`, when they are the running user's own;
    /// otherwise the passwd home of the running user (root under `sudo -E` gets root's).
    pub fn base_dir(xdg: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
        if let Some(x) = xdg
            && x.is_absolute()
            && own(&x)
        {
            return Some(x);
        }
        let home = home.filter(|h| h.is_absolute() && own(h)).or_else(|| {
            uzers::get_user_by_uid(rustix::process::geteuid().as_raw())
                .map(|u| uzers::os::unix::UserExt::home_dir(&u).to_path_buf())
        })?;
        Some(home.join(".local").join("share"))
    }

    /// Opens (making it if missing) the folder `dir` and checks it is the user's own, writable by
    /// nobody else.
    fn open_own_dir(dir: &Path) -> Result<std::os::fd::OwnedFd, StateProblem> {
        let fd = crate::files::imp::open_dir(dir, true)
            .map_err(|e| StateProblem::Folder(dir.to_path_buf(), e))?;
        let st = rustix::fs::fstat(&fd)
            .map_err(|e| StateProblem::Folder(dir.to_path_buf(), std::io::Error::from(e).into()))?;
        if st.st_uid != rustix::process::geteuid().as_raw() || st.st_mode & 0o022 != 0 {
            return Err(StateProblem::NotOwnFolder(dir.to_path_buf()));
        }
        Ok(fd)
    }

    /// The file's text, `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<String>, StateProblem> {
        let d = open_own_dir(dir)?;
        let fd = match rustix::fs::openat(
            &d,
            FILE_NAME,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => return Err(StateProblem::Link),
            Err(Errno::NXIO) => return Err(StateProblem::NotRegular),
            Err(e) => return Err(StateProblem::Read(e.into())),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| StateProblem::Read(e.into()))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(StateProblem::NotRegular);
        }
        if st.st_uid != rustix::process::geteuid().as_raw() {
            return Err(StateProblem::NotOwn);
        }
        if u64::try_from(st.st_size).unwrap_or(u64::MAX) > MAX_BYTES {
            return Err(StateProblem::TooLarge);
        }
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(StateProblem::Read)?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(StateProblem::TooLarge);
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| StateProblem::Damaged("not UTF-8".into()))
    }

    /// Writes the file: complete in a temporary file, then renamed over the name.
    pub fn write(dir: &Path, bytes: &[u8]) -> Result<(), StateProblem> {
        let d = open_own_dir(dir)?;
        // The name is replaced whatever it is (a link, a FIFO) except a folder: the folder is
        // the user's own, so what is there is theirs to lose, and nothing is followed.
        match rustix::fs::statat(&d, FILE_NAME, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    return Err(StateProblem::NotRegular);
                }
                let _ = rustix::fs::unlinkat(&d, FILE_NAME, rustix::fs::AtFlags::empty());
            }
            _ => {}
        }
        crate::files::imp::write_in(&d, std::ffi::OsStr::new(FILE_NAME), bytes, true)
            .map_err(|e| StateProblem::Folder(dir.to_path_buf(), e))
    }
}

#[cfg(not(unix))]
mod imp {
    //! Windows: the roaming application data folder, as eframe used.
    use super::{FILE_NAME, MAX_BYTES, StateProblem};
    use std::io::Read as _;
    use std::path::{Path, PathBuf};

    pub fn base_dir(_xdg: Option<PathBuf>, _home: Option<PathBuf>) -> Option<PathBuf> {
        std::env::var_os("APPDATA")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    }

    pub fn read(dir: &Path) -> Result<Option<String>, StateProblem> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StateProblem::Folder(dir.to_path_buf(), e.into()))?;
        let path = dir.join(FILE_NAME);
        let m = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateProblem::Read(e)),
        };
        if m.file_type().is_symlink() {
            return Err(StateProblem::Link);
        }
        if !m.is_file() {
            return Err(StateProblem::NotRegular);
        }
        if m.len() > MAX_BYTES {
            return Err(StateProblem::TooLarge);
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
            .map_err(StateProblem::Read)?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| StateProblem::Damaged("not UTF-8".into()))
    }

    pub fn write(dir: &Path, bytes: &[u8]) -> Result<(), StateProblem> {
        let path = dir.join(FILE_NAME);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = std::fs::remove_file(&path);
        }
        crate::files::write(&path, bytes, true)
            .map_err(|e| StateProblem::Folder(dir.to_path_buf(), e))
    }
}
