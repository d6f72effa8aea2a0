//! Writing a file the user named, safely even as root on a shared machine.
//!
//! A report written with `-o PATH` (or the window's Save) and the window's saved state go through
//! here. The rules, each one a way a root-run tool has been tricked before:
//! - `-`, `/dev/stdout` and `/dev/stderr` are the standard streams, never files to replace;
//! - the folders on the way are opened one by one without following a symbolic link, unless the
//!   link belongs to root or to the user running the tool (another user can swap a folder of a
//!   shared tree for a link between two system calls; such a link is refused, never followed);
//! - the file itself is never followed if it is a link, never replaced unless it is a regular
//!   file and the caller asked (`--force`), and a replacement keeps its owner and mode;
//! - a character device or a FIFO is written through (`-o /dev/null` discards), a folder, a block
//!   device or a socket is refused with its reason;
//! - the bytes go to a temporary file in the same folder that takes the name only once fully
//!   written and synced, so a full disk leaves no partial file behind.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Where output goes: a standard stream or a file. Parsed once from what the user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-` or `/dev/stdout`.
    Stdout,
    /// `/dev/stderr`.
    Stderr,
    /// Any other path.
    File(PathBuf),
}

impl Destination {
    /// `-` and `/dev/stdout` are standard output, `/dev/stderr` standard error (on every OS: the
    /// names are what a user types to mean the streams), anything else a file.
    #[must_use]
    pub fn parse(s: &OsStr) -> Self {
        match s.to_str() {
            Some("-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1") => Self::Stdout,
            Some("/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2") => Self::Stderr,
            _ => Self::File(PathBuf::from(s)),
        }
    }
}

/// What stopped a write. Each variant is a reason a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A file is there and replacing it was not asked for.
    #[error("it already exists (give --force to replace it)")]
    Exists,
    /// The name is a symbolic link: neither followed nor replaced.
    #[error("it is a symbolic link (give the path of the file it points to)")]
    Link,
    /// A folder on the way is a symbolic link of another user.
    #[error(
        "{} on the way to it is a symbolic link owned by another user (uid {uid}): not followed",
        .path.display()
    )]
    LinkInPath {
        /// The link.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// The name is a folder.
    #[error("it is a folder")]
    Folder,
    /// The name is a block device: a report never goes onto a disk.
    #[error("it is a block device (a disk); refusing to write onto it")]
    BlockDevice,
    /// The name is a socket.
    #[error("it is a socket")]
    Socket,
    /// A FIFO nobody reads: writing would wait forever.
    #[error("it is a FIFO that nobody is reading")]
    FifoWithoutReader,
    /// The file to replace belongs to another user, and its owner could not be kept.
    #[error(
        "it belongs to another user (uid {uid}) and a replacement could not keep that owner ({source})"
    )]
    OwnerNotKept {
        /// The file's owner.
        uid: u32,
        /// Why the ownership could not be set.
        source: std::io::Error,
    },
    /// Too many links to follow.
    #[error("too many symbolic links on the way")]
    TooManyLinks,
    /// The system refused.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes `bytes` to `path` following the module's rules: a new file, or the replacement of a
/// regular file when `replace`; devices and FIFOs are written through.
pub fn write(path: &Path, bytes: &[u8], replace: bool) -> Result<(), WriteError> {
    imp::write(path, bytes, replace)
}

/// The name a replacement is written under until it is complete: hidden, beside the target.
fn temp_name(name: &OsStr, n: u32) -> PathBuf {
    let mut s = std::ffi::OsString::from(".");
    s.push(name);
    s.push(format!(".{}.{n}.tmp", std::process::id()));
    PathBuf::from(s)
}

#[cfg(unix)]
pub(crate) mod imp {
    //! The Unix way: every step relative to an open folder (`openat`), nothing followed unasked.
    use super::{WriteError, temp_name};
    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
    use rustix::io::Errno;
    use std::ffi::{OsStr, OsString};
    use std::io::Write as _;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt as _;
    use std::path::{Component, Path, PathBuf};

    /// How many links a path may pass through (Linux's own limit).
    const MAX_LINKS: u32 = 40;

    /// Flags for a folder opened only to walk through it.
    fn dir_flags() -> OFlags {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let base = OFlags::PATH;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let base = OFlags::RDONLY;
        base | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
    }

    /// Whether a link owned by `uid` may be followed: it was made by root or by the one running.
    fn trusted(uid: u32) -> bool {
        uid == 0 || uid == rustix::process::geteuid().as_raw()
    }

    /// Opens the folder `path` one component at a time, following only trusted links (and
    /// creating missing folders with `create`, mode 0700, when given). Returns the open folder.
    pub fn open_dir(path: &Path, create: bool) -> Result<OwnedFd, WriteError> {
        let mut pending: Vec<OsString> = Vec::new();
        let mut hops = 0u32;
        let start = if path.is_absolute() { "/" } else { "." };
        let mut dir = rustix::fs::openat(CWD, start, dir_flags(), Mode::empty())
            .map_err(std::io::Error::from)?;
        let mut shown = PathBuf::from(start);
        push_components(path, &mut pending);
        while let Some(name) = pending.pop() {
            if name == "/" {
                dir = rustix::fs::openat(CWD, "/", dir_flags(), Mode::empty())
                    .map_err(std::io::Error::from)?;
                shown = PathBuf::from("/");
                continue;
            }
            shown.push(&name);
            match rustix::fs::openat(&dir, name.as_os_str(), dir_flags(), Mode::empty()) {
                Ok(next) => dir = next,
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&dir, name.as_os_str(), Mode::from_raw_mode(0o700)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(std::io::Error::from(e).into()),
                    }
                    pending.push(name);
                    shown.pop();
                }
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let target = read_trusted_link(&dir, &name, &shown)?;
                    hops += 1;
                    if hops > MAX_LINKS {
                        return Err(WriteError::TooManyLinks);
                    }
                    shown.pop();
                    push_components(&target, &mut pending);
                    if target.is_absolute() {
                        pending.push(OsString::from("/"));
                    }
                }
                Err(e) => return Err(std::io::Error::from(e).into()),
            }
        }
        Ok(dir)
    }

    /// Pushes the components of `path` on the stack so that the first is popped first.
    fn push_components(path: &Path, pending: &mut Vec<OsString>) {
        let names: Vec<OsString> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some(OsString::from("..")),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
            })
            .collect();
        pending.extend(names.into_iter().rev());
    }

    /// The target of the link `name` in `dir` if root or the running user owns it; a folder of
    /// another kind (ENOTDIR on a file) is reported as the system's error.
    fn read_trusted_link(dir: &OwnedFd, name: &OsStr, shown: &Path) -> Result<PathBuf, WriteError> {
        // Linux: open the link itself and read it through that descriptor, so the link checked is
        // the link read (no swap between the two).
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let link = rustix::fs::openat(
                dir,
                name,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(std::io::Error::from)?;
            let st = rustix::fs::fstat(&link).map_err(std::io::Error::from)?;
            if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
                return Err(std::io::Error::from(Errno::NOTDIR).into());
            }
            if !trusted(st.st_uid) {
                return Err(WriteError::LinkInPath {
                    path: shown.to_path_buf(),
                    uid: st.st_uid,
                });
            }
            let target =
                rustix::fs::readlinkat(&link, "", Vec::new()).map_err(std::io::Error::from)?;
            Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(std::io::Error::from)?;
            if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
                return Err(std::io::Error::from(Errno::NOTDIR).into());
            }
            if !trusted(st.st_uid) {
                return Err(WriteError::LinkInPath {
                    path: shown.to_path_buf(),
                    uid: st.st_uid,
                });
            }
            let target =
                rustix::fs::readlinkat(dir, name, Vec::new()).map_err(std::io::Error::from)?;
            Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
        }
    }

    /// The folder and the last name of `path`.
    fn split(path: &Path) -> Result<(PathBuf, OsString), WriteError> {
        let name = match path.file_name() {
            Some(n) if !path.as_os_str().as_bytes().ends_with(b"/") => n.to_os_string(),
            _ => return Err(WriteError::Folder),
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Ok((dir, name))
    }

    pub fn write(path: &Path, bytes: &[u8], replace: bool) -> Result<(), WriteError> {
        let (dir_path, name) = split(path)?;
        let dir = open_dir(&dir_path, false)?;
        write_in(&dir, &name, bytes, replace)
    }

    /// Writes `name` in the open folder `dir` by the module's rules.
    pub fn write_in(
        dir: &OwnedFd,
        name: &OsStr,
        bytes: &[u8],
        replace: bool,
    ) -> Result<(), WriteError> {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => write_new(dir, name, bytes, None),
            Err(e) => Err(std::io::Error::from(e).into()),
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => Err(WriteError::Link),
                FileType::Directory => Err(WriteError::Folder),
                FileType::BlockDevice => Err(WriteError::BlockDevice),
                FileType::Socket => Err(WriteError::Socket),
                FileType::CharacterDevice | FileType::Fifo => write_through(dir, name, bytes, &st),
                FileType::RegularFile if !replace => Err(WriteError::Exists),
                FileType::RegularFile | FileType::Unknown => write_new(dir, name, bytes, Some(&st)),
            },
        }
    }

    /// Writes into an existing device or FIFO (opened without following, without waiting for a
    /// reader, and checked to be the node that was looked at).
    fn write_through(
        dir: &OwnedFd,
        name: &OsStr,
        bytes: &[u8],
        seen: &rustix::fs::Stat,
    ) -> Result<(), WriteError> {
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::NXIO => WriteError::FifoWithoutReader,
            Errno::LOOP => WriteError::Link,
            e => std::io::Error::from(e).into(),
        })?;
        let st = rustix::fs::fstat(&fd).map_err(std::io::Error::from)?;
        if st.st_dev != seen.st_dev || st.st_ino != seen.st_ino {
            return Err(std::io::Error::other("it was replaced while being opened").into());
        }
        rustix::fs::fcntl_setfl(&fd, OFlags::empty()).map_err(std::io::Error::from)?;
        let mut f = std::fs::File::from(fd);
        f.write_all(bytes)?;
        Ok(())
    }

    /// Writes a temporary file beside `name`, then gives it the name: without replacing anything
    /// (`old` is None) or over the regular file `old`, whose owner and mode it takes.
    fn write_new(
        dir: &OwnedFd,
        name: &OsStr,
        bytes: &[u8],
        old: Option<&rustix::fs::Stat>,
    ) -> Result<(), WriteError> {
        for n in 0..100u32 {
            let tmp = temp_name(name, n);
            let fd = match rustix::fs::openat(
                dir,
                &tmp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o666),
            ) {
                Ok(fd) => fd,
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(std::io::Error::from(e).into()),
            };
            let done = fill(&fd, bytes, old).and_then(|()| name_it(dir, &tmp, name, old.is_some()));
            if done.is_err() {
                let _ = rustix::fs::unlinkat(dir, &tmp, AtFlags::empty());
            }
            return done;
        }
        Err(std::io::Error::other("no temporary file name was free").into())
    }

    /// The temporary file's contents, owner and mode, synced to disk.
    fn fill(fd: &OwnedFd, bytes: &[u8], old: Option<&rustix::fs::Stat>) -> Result<(), WriteError> {
        if let Some(st) = old {
            let me = rustix::fs::fstat(fd).map_err(std::io::Error::from)?;
            if me.st_uid != st.st_uid || me.st_gid != st.st_gid {
                rustix::fs::fchown(
                    fd,
                    Some(rustix::fs::Uid::from_raw(st.st_uid)),
                    Some(rustix::fs::Gid::from_raw(st.st_gid)),
                )
                .map_err(|e| WriteError::OwnerNotKept {
                    uid: st.st_uid,
                    source: e.into(),
                })?;
            }
            rustix::fs::fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777))
                .map_err(std::io::Error::from)?;
        }
        let mut f = std::fs::File::from(fd.as_fd().try_clone_to_owned()?);
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(())
    }

    /// Gives the complete temporary file its name: over the old file when `replace`, else only if
    /// the name is still free.
    fn name_it(dir: &OwnedFd, tmp: &Path, name: &OsStr, replace: bool) -> Result<(), WriteError> {
        if replace {
            return rustix::fs::renameat(dir, tmp, dir, name)
                .map_err(|e| std::io::Error::from(e).into());
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        match rustix::fs::renameat_with(dir, tmp, dir, name, rustix::fs::RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(Errno::EXIST) => return Err(WriteError::Exists),
            // A file system without RENAME_NOREPLACE: a hard link does the same.
            Err(Errno::INVAL | Errno::NOSYS) => {}
            Err(e) => return Err(std::io::Error::from(e).into()),
        }
        match rustix::fs::linkat(dir, tmp, dir, name, AtFlags::empty()) {
            Ok(()) => {
                let _ = rustix::fs::unlinkat(dir, tmp, AtFlags::empty());
                Ok(())
            }
            Err(Errno::EXIST) => Err(WriteError::Exists),
            Err(e) => Err(std::io::Error::from(e).into()),
        }
    }
}

#[cfg(not(unix))]
mod imp {
    //! Elsewhere (Windows): no links followed at the name, a replacement by rename.
    use super::{WriteError, temp_name};
    use std::io::Write as _;
    use std::path::Path;

    pub fn write(path: &Path, bytes: &[u8], replace: bool) -> Result<(), WriteError> {
        let name = path.file_name().ok_or(WriteError::Folder)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => return Err(WriteError::Link),
            Ok(m) if m.is_dir() => return Err(WriteError::Folder),
            Ok(m) if !m.is_file() => {
                let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
                f.write_all(bytes)?;
                return Ok(());
            }
            Ok(_) if !replace => return Err(WriteError::Exists),
            Ok(_) | Err(_) => {}
        }
        for n in 0..100u32 {
            let tmp = dir.join(temp_name(name, n));
            let mut f = match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e.into()),
            };
            let done = f.write_all(bytes).and_then(|()| f.sync_all());
            drop(f);
            let done = done.map_err(WriteError::from).and_then(|()| {
                if !replace && path.exists() {
                    return Err(WriteError::Exists);
                }
                std::fs::rename(&tmp, path).map_err(WriteError::from)
            });
            if done.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            return done;
        }
        Err(std::io::Error::other("no temporary file name was free").into())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pi-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a scratch folder in the temporary folder");
        d
    }

    #[test]
    fn the_standard_streams_are_named_not_written() {
        assert_eq!(Destination::parse(OsStr::new("-")), Destination::Stdout);
        assert_eq!(
            Destination::parse(OsStr::new("/dev/stdout")),
            Destination::Stdout
        );
        assert_eq!(
            Destination::parse(OsStr::new("/dev/stderr")),
            Destination::Stderr
        );
        assert_eq!(
            Destination::parse(OsStr::new("./-x")),
            Destination::File(PathBuf::from("./-x"))
        );
    }

    #[test]
    fn new_replace_and_refusals() {
        use std::os::unix::fs::PermissionsExt as _;
        let d = scratch("rules");
        let f = d.join("a.md");
        write(&f, b"one", false).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"one", "a new file");
        assert!(
            matches!(write(&f, b"two", false), Err(WriteError::Exists)),
            "no replace unasked"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        write(&f, b"two", true).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two", "replaced when asked");
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600,
            "the mode is kept"
        );
        let link = d.join("link.md");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert!(
            matches!(write(&link, b"x", true), Err(WriteError::Link)),
            "a link is refused"
        );
        assert_eq!(std::fs::read(&f).unwrap(), b"two", "its target untouched");
        assert!(
            matches!(write(&d, b"x", true), Err(WriteError::Folder)),
            "a folder is refused"
        );
        // A folder on the way that is the running user's own link is followed.
        let sub = d.join("real");
        std::fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink(&sub, d.join("via")).unwrap();
        write(&d.join("via").join("b.md"), b"b", false).unwrap();
        assert_eq!(
            std::fs::read(sub.join("b.md")).unwrap(),
            b"b",
            "through an own link"
        );
        write(Path::new("/dev/null"), b"discarded", false).unwrap();
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "no temporary file left: {left:?}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
