//! The database's file and schema: the folder and file made and checked before SQLite opens
//! them, the connection's settings (WAL, `synchronous=NORMAL`), and the numbered migrations.

use std::path::Path;
use std::time::Duration;

use super::{Store, StoreError, sql_err};

/// The schema, one step per number: step N brings `user_version` from N-1 to N. Never edit a
/// step that has shipped; add one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE sessions(
        id INTEGER PRIMARY KEY,
        started_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        stopped_ms INTEGER,
        mode TEXT NOT NULL,
        interval_ms INTEGER NOT NULL,
        recorder_pid INTEGER NOT NULL,
        note TEXT
    );
    CREATE TABLE spans(
        id INTEGER PRIMARY KEY,
        session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        protocol TEXT NOT NULL,
        ip TEXT NOT NULL,
        port INTEGER NOT NULL,
        state TEXT NOT NULL,
        inode INTEGER NOT NULL,
        v6_only INTEGER,
        first_ms INTEGER NOT NULL,
        after_ms INTEGER,
        last_ms INTEGER,
        gone_ms INTEGER,
        ended TEXT
    );
    CREATE INDEX spans_port ON spans(port, first_ms);
    CREATE INDEX spans_gone ON spans(gone_ms);
    CREATE TABLE holders(
        span INTEGER NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
        pid INTEGER NOT NULL,
        process TEXT,
        user TEXT,
        uid INTEGER,
        cmdline TEXT,
        managed_kind TEXT,
        managed_name TEXT,
        container TEXT
    );
    CREATE INDEX holders_span ON holders(span);
    CREATE INDEX holders_pid ON holders(pid);
    CREATE TABLE failed_binds(
        id INTEGER PRIMARY KEY,
        session INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
        at_ms INTEGER NOT NULL,
        pid INTEGER NOT NULL,
        process TEXT,
        user TEXT,
        uid INTEGER,
        cmdline TEXT,
        protocol TEXT,
        ip TEXT,
        port INTEGER,
        errno INTEGER NOT NULL,
        held_by TEXT
    );
    CREATE INDEX failed_port ON failed_binds(port, at_ms);
    CREATE INDEX failed_at ON failed_binds(at_ms);
    CREATE INDEX failed_pid ON failed_binds(pid);
    CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
];

impl Store {
    pub(super) fn setup(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(Duration::from_secs(5))?;
        // Set before the first table is made; a no-op on an existing database. Lets the size
        // bound give pages back to the file system (`incremental_vacuum`).
        self.conn
            .pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        self.conn
            .query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        // WAL + NORMAL: a commit is durable against a crash of the recorder (kill -9); a power
        // loss may lose the last commits, never corrupt the file.
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn
            .pragma_update(None, "journal_size_limit", 4_000_000)?;
        Ok(())
    }

    pub(super) fn version(&self) -> rusqlite::Result<i64> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))
    }

    pub(super) fn migrate(&mut self) -> Result<(), StoreError> {
        let v = self.version().map_err(|e| self.err(e))?;
        let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if v > known {
            return Err(StoreError::Newer {
                path: self.path.clone(),
                found: v,
                known,
            });
        }
        for (n, step) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(v).unwrap_or(0))
        {
            let path = self.path.clone();
            let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
            tx.execute_batch(step).map_err(|e| sql_err(&path, e))?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(n + 1).unwrap_or(i64::MAX),
            )
            .map_err(|e| sql_err(&path, e))?;
            tx.commit().map_err(|e| sql_err(&path, e))?;
        }
        Ok(())
    }
}

/// Makes the database's folder (mode 0700) and file (mode 0600) when missing, and refuses a
/// folder others may write or a file (or its `-wal`, `-shm`, `-journal`) that is a link or not
/// a regular file: as root, any of those would let another user aim the recorder's writes.
/// Returns the file that is the writer's lock (the database itself, opened the same safe way).
#[cfg(unix)]
pub(super) fn prepare(path: &Path) -> Result<std::fs::File, StoreError> {
    use rustix::fs::{AtFlags, FileType, Mode as FsMode, OFlags};
    let unsafe_path = |why: &str| StoreError::Unsafe {
        path: path.to_path_buf(),
        why: why.to_owned(),
    };
    let name = path
        .file_name()
        .ok_or_else(|| unsafe_path("not a file name"))?;
    let dir_path = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = crate::files::imp::open_dir(dir_path, true).map_err(|e| StoreError::Unsafe {
        path: dir_path.to_path_buf(),
        why: e.to_string(),
    })?;
    let st = rustix::fs::fstat(&dir).map_err(|e| StoreError::Folder {
        path: dir_path.to_path_buf(),
        error: e.into(),
    })?;
    let me = rustix::process::geteuid().as_raw();
    if st.st_mode & 0o022 != 0 || (st.st_uid != me && st.st_uid != 0) {
        return Err(StoreError::Unsafe {
            path: dir_path.to_path_buf(),
            why:
                "other users may write in this folder: choose a folder only you (or root) can write"
                    .to_owned(),
        });
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut n = name.to_os_string();
        n.push(suffix);
        match rustix::fs::statat(&dir, n.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                    return Err(unsafe_path(&format!(
                        "{} is not a regular file (a link is never followed)",
                        n.to_string_lossy()
                    )));
                }
                if st.st_uid != me {
                    return Err(unsafe_path(&format!(
                        "{} belongs to another user (uid {})",
                        n.to_string_lossy(),
                        st.st_uid
                    )));
                }
            }
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => {
                return Err(StoreError::Folder {
                    path: path.to_path_buf(),
                    error: e.into(),
                });
            }
        }
    }
    // The database file itself is the writer's lock (flock: apart from SQLite's own fcntl
    // locks); the descriptor is kept open as long as the store records.
    match rustix::fs::openat(
        &dir,
        name,
        OFlags::CREATE | OFlags::NOFOLLOW | OFlags::RDWR | OFlags::CLOEXEC,
        FsMode::from_raw_mode(0o600),
    ) {
        Ok(fd) => Ok(std::fs::File::from(fd)),
        Err(e) => Err(StoreError::Folder {
            path: path.to_path_buf(),
            error: e.into(),
        }),
    }
}

/// Makes the database's folder when missing; returns the writer's lock file.
#[cfg(not(unix))]
pub(super) fn prepare(path: &Path) -> Result<std::fs::File, StoreError> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Folder {
            path: dir.to_path_buf(),
            error: e,
        })?;
    }
    // The writer's lock is a file of its own beside the database: Windows' locks are
    // mandatory, and one over the database itself would refuse SQLite's own reads of it.
    let mut lock = path.as_os_str().to_owned();
    lock.push("-lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|e| StoreError::Folder {
            path: std::path::PathBuf::from(lock),
            error: e,
        })
}
