//! The recorder's database: SQLite (compiled in), in WAL mode so `history` and `check` read while
//! the recorder writes, each poll's changes in one transaction so a `kill -9` or a full disk
//! leaves the database as it was after the last whole poll, the schema numbered
//! (`PRAGMA user_version`) with one migration per number, and its size bounded by age and bytes.
//!
//! Tables: `sessions` (one per run of the recorder: its mode, interval, and `last_ms`, the
//! heartbeat that says until when it surely ran), `spans` (one socket held by one set of
//! processes, from the poll that first saw it to the poll that no longer did), `holders` (the
//! processes of a span), `failed_binds`, and `meta` (what the size bound removed).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};

use super::{Change, Holder, Seen, Snapshot, SocketKey};
use crate::owners::{ManagedKind, SockState};
use crate::target::Protocol;

/// How long and how much the database keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Records older than this are removed.
    pub max_age_ms: u64,
    /// When the file grows past this, the oldest records are removed until it fits.
    pub max_bytes: u64,
}

impl Default for Limits {
    /// 30 days and 100 MB: a month of a busy server's history (see the README's figures).
    fn default() -> Self {
        Self {
            max_age_ms: 30 * 86_400_000,
            max_bytes: 100 * 1_000_000,
        }
    }
}

/// How a session captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Reading the socket table every interval: sockets shorter-lived than the interval may be
    /// missed, failed binds are not seen.
    Polling,
    /// Failed binds through kernel tracepoints (eBPF) as they happen, sockets polled (sessions
    /// of builds before listeners were traced).
    Ebpf,
    /// Kernel tracepoints (eBPF) for TCP listeners (the instant each starts and stops
    /// listening, with the process that called listen) and failed binds; the socket table read
    /// every `interval_ms` only for what the tracepoints do not see (UDP, bound-only TCP, a
    /// listener shared with or handed to other processes).
    Traced,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::Ebpf => "ebpf",
            Mode::Traced => "traced",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "ebpf" => Mode::Ebpf,
            "traced" => Mode::Traced,
            _ => Mode::Polling,
        }
    }
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The folder or file is not one the recorder may safely write.
    #[error("{}: {why}", .path.display())]
    Unsafe {
        /// The path refused.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The folder could not be made or opened.
    #[error("{}: {source}", .path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The system's answer.
        source: std::io::Error,
    },
    /// A newer port-inspector made this database.
    #[error(
        "{}: made by a newer port-inspector (schema {found}, this one knows up to {known})",
        .path.display()
    )]
    Newer {
        /// The database.
        path: PathBuf,
        /// Its schema number.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// The disk is full: recording stops (the database keeps every whole poll before).
    #[error("the disk holding the database is full")]
    Full,
    /// SQLite refused.
    #[error("{}: {source}", .path.display())]
    Sql {
        /// The database.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// The schema, one step per number: step N brings `user_version` from N-1 to N. Never edit a
/// step that has shipped; add one.
const MIGRATIONS: &[&str] = &[
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

/// A change the kernel reported at an exact instant, with the socket as it was then (for a span
/// that begins: its holders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exact {
    /// When (wall clock).
    pub at_ms: u64,
    /// What changed.
    pub change: Change,
    /// The socket after the change; for one that went, as it was before (its holders).
    pub seen: Option<Seen>,
}

/// One failed bind as the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRow {
    /// When (wall clock).
    pub at_ms: u64,
    /// The process that tried.
    pub who: Holder,
    /// The protocol, where known (the tracepoint sees only a descriptor).
    pub protocol: Option<Protocol>,
    /// The address asked for.
    pub local: Option<std::net::SocketAddr>,
    /// The positive errno.
    pub errno: i32,
    /// Who held the port then (EADDRINUSE).
    pub held_by: Vec<Holder>,
}

/// The database file's name in its folder.
pub const FILE_NAME: &str = "record.db";

/// Where a recorder run as root (and the packaged unit) keeps its database.
pub const SYSTEM_DB: &str = "/var/lib/port-inspector/record.db";

/// Whether the packaged unit (`port-inspector-record.service`) is installed, so the window can
/// say `systemctl start` rather than a command to leave running.
#[must_use]
pub fn unit_installed() -> bool {
    cfg!(target_os = "linux")
        && [
            "/etc/systemd/system",
            "/usr/lib/systemd/system",
            "/lib/systemd/system",
        ]
        .iter()
        .any(|d| Path::new(d).join("port-inspector-record.service").is_file())
}

/// Where the recorder keeps its database when `--db` is not given: `PORT_INSPECTOR_DB` when set,
/// else as root the system's `/var/lib/port-inspector/` (a folder only root may enter), else the
/// user's own data folder.
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    // One database for a whole deployment that keeps it elsewhere (and for tests).
    if let Some(p) = std::env::var_os("PORT_INSPECTOR_DB").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    #[cfg(unix)]
    {
        if rustix::process::geteuid().is_root() {
            return Some(PathBuf::from(SYSTEM_DB));
        }
        let own = |p: &Path| {
            use std::os::unix::fs::MetadataExt as _;
            std::fs::symlink_metadata(p)
                .is_ok_and(|m| m.is_dir() && m.uid() == rustix::process::geteuid().as_raw())
        };
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && own(p))
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute() && own(p))
                    .map(|h| h.join(".local").join("share"))
            })?;
        Some(base.join("port-inspector").join(FILE_NAME))
    }
    #[cfg(windows)]
    {
        std::env::var_os("LOCALAPPDATA")
            .map(|p| PathBuf::from(p).join("port-inspector").join(FILE_NAME))
    }
    #[cfg(not(any(unix, windows)))]
    {
        None
    }
}

/// The database, open.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Each open socket's span row, while this store records a session.
    open: HashMap<SocketKey, i64>,
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens (creating it, its folder and the schema when missing) the database for recording.
    /// The folder must be writable by nobody else, and neither the file nor its `-wal`/`-shm`
    /// companions may be symbolic links: the recorder often runs as root.
    pub fn open_for_writing(path: &Path) -> Result<Self, StoreError> {
        prepare(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
        let mut s = Self {
            conn,
            path: path.to_path_buf(),
            open: HashMap::new(),
        };
        s.setup().map_err(|e| s.err(e))?;
        s.migrate()?;
        Ok(s)
    }

    /// Opens the database to read it, `None` when there is none. Never creates anything, never
    /// waits long for the writer (WAL: readers and the writer do not block each other).
    pub fn open_for_reading(path: &Path) -> Result<Option<Self>, StoreError> {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StoreError::Folder {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
            Ok(m) if !m.is_file() => {
                return Err(StoreError::Unsafe {
                    path: path.to_path_buf(),
                    why: "not a regular file (a link is not followed)".to_owned(),
                });
            }
            Ok(_) => {}
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
        conn.busy_timeout(Duration::from_secs(2))
            .map_err(|e| sql_err(path, e))?;
        let s = Self {
            conn,
            path: path.to_path_buf(),
            open: HashMap::new(),
        };
        let v = s.version().map_err(|e| s.err(e))?;
        let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if v > known {
            return Err(StoreError::Newer {
                path: s.path.clone(),
                found: v,
                known,
            });
        }
        if v < known {
            // Made by an older build and not yet migrated (the recorder migrates when it starts):
            // read what there is only if the tables exist at all.
            if v == 0 {
                return Ok(None);
            }
        }
        Ok(Some(s))
    }

    /// The connection, for the queries of `history`.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The path it was opened at.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        sql_err(&self.path, e)
    }

    fn setup(&self) -> rusqlite::Result<()> {
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

    fn version(&self) -> rusqlite::Result<i64> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
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

    /// Starts a session: the recorder runs from `at_ms`, in `mode`, every `interval_ms`. Spans a
    /// killed recorder left open are closed at its last heartbeat first.
    pub fn begin_session(
        &mut self,
        at_ms: u64,
        mode: Mode,
        interval_ms: u64,
        note: &str,
    ) -> Result<i64, StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| sql_err(&self.path, e))?;
        tx.execute(
            "UPDATE spans SET last_ms = (SELECT last_ms FROM sessions s WHERE s.id = spans.session),
                 ended = 'recorder_stopped'
             WHERE ended IS NULL",
            [],
        )
        .map_err(|e| sql_err(&self.path, e))?;
        tx.execute(
            "INSERT INTO sessions(started_ms, last_ms, mode, interval_ms, recorder_pid, note)
             VALUES (?1, ?1, ?2, ?3, ?4, ?5)",
            params![
                ms(at_ms),
                mode.as_str(),
                ms(interval_ms),
                std::process::id(),
                note
            ],
        )
        .map_err(|e| sql_err(&self.path, e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| sql_err(&self.path, e))?;
        self.open.clear();
        Ok(id)
    }

    /// Records one poll: the `changes` from the previous read (taken at `prev_ms`, `None` for a
    /// session's first) to `now` (taken at `at_ms`), and the heartbeat, in one transaction.
    pub fn apply(
        &mut self,
        session: i64,
        at_ms: u64,
        prev_ms: Option<u64>,
        changes: &[Change],
        now: &Snapshot,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| map_full(&path, e))?;
        let close = |tx: &rusqlite::Transaction<'_>, id: i64, why: &str| {
            tx.execute(
                "UPDATE spans SET last_ms = ?2, gone_ms = ?3, ended = ?4 WHERE id = ?1",
                params![id, prev_ms.map(ms), ms(at_ms), why],
            )
        };
        for c in changes {
            match *c {
                Change::Went(k) => {
                    if let Some(id) = self.open.remove(&k) {
                        close(&tx, id, "closed").map_err(|e| map_full(&path, e))?;
                    }
                }
                Change::HandedOver(k) => {
                    if let Some(id) = self.open.remove(&k) {
                        close(&tx, id, "handed_over").map_err(|e| map_full(&path, e))?;
                    }
                    if let Some(seen) = now.get(&k) {
                        let id = insert_span(&tx, session, &k, seen, at_ms, prev_ms)
                            .map_err(|e| map_full(&path, e))?;
                        self.open.insert(k, id);
                    }
                }
                Change::Appeared(k) => {
                    if let Some(seen) = now.get(&k) {
                        let id = insert_span(&tx, session, &k, seen, at_ms, prev_ms)
                            .map_err(|e| map_full(&path, e))?;
                        self.open.insert(k, id);
                    }
                }
            }
        }
        tx.execute(
            "UPDATE sessions SET last_ms = ?2 WHERE id = ?1",
            params![session, ms(at_ms)],
        )
        .map_err(|e| map_full(&path, e))?;
        tx.commit().map_err(|e| map_full(&path, e))
    }

    /// Records changes whose instants the kernel told exactly (eBPF: a socket entering or leaving
    /// TCP_LISTEN), each with its own time and socket, and the heartbeat at `at_ms`, in one
    /// transaction. A span begun here has `after_ms == first_ms` (it appeared at that instant,
    /// not between two reads), and one ended here `last_ms == gone_ms`.
    pub fn apply_exact(
        &mut self,
        session: i64,
        at_ms: u64,
        events: &[Exact],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| map_full(&path, e))?;
        for ev in events {
            let k = ev.change.key();
            if let Some(id) = self.open.remove(&k) {
                let why = match ev.change {
                    Change::HandedOver(_) => "handed_over",
                    Change::Went(_) | Change::Appeared(_) => "closed",
                };
                tx.execute(
                    "UPDATE spans SET last_ms = ?2, gone_ms = ?2, ended = ?3 WHERE id = ?1",
                    params![id, ms(ev.at_ms), why],
                )
                .map_err(|e| map_full(&path, e))?;
            }
            if let (Change::Appeared(_) | Change::HandedOver(_), Some(seen)) = (ev.change, &ev.seen)
            {
                let id = insert_span(&tx, session, &k, seen, ev.at_ms, Some(ev.at_ms))
                    .map_err(|e| map_full(&path, e))?;
                self.open.insert(k, id);
            }
        }
        tx.execute(
            "UPDATE sessions SET last_ms = max(last_ms, ?2) WHERE id = ?1",
            params![session, ms(at_ms)],
        )
        .map_err(|e| map_full(&path, e))?;
        tx.commit().map_err(|e| map_full(&path, e))
    }

    /// Ends a session cleanly at `at_ms`: the sockets still open are recorded as open until then
    /// (`recorder_stopped`), and the session says it stopped rather than died.
    pub fn end_session(&mut self, session: i64, at_ms: u64) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| map_full(&path, e))?;
        tx.execute(
            "UPDATE spans SET last_ms = ?2, ended = 'recorder_stopped'
             WHERE session = ?1 AND ended IS NULL",
            params![session, ms(at_ms)],
        )
        .map_err(|e| map_full(&path, e))?;
        tx.execute(
            "UPDATE sessions SET last_ms = ?2, stopped_ms = ?2 WHERE id = ?1",
            params![session, ms(at_ms)],
        )
        .map_err(|e| map_full(&path, e))?;
        tx.commit().map_err(|e| map_full(&path, e))?;
        self.open.clear();
        Ok(())
    }

    /// The database's size in bytes: its pages in use and free, and its WAL file.
    pub fn size_bytes(&self) -> Result<u64, StoreError> {
        let pages: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let page: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(u64::try_from(pages.saturating_mul(page)).unwrap_or(0))
    }

    /// Removes what the limits no longer allow: everything that ended before `now_ms -
    /// max_age`, then, while the file is larger than `max_bytes`, the oldest tenth of what has
    /// ended. Open spans of the running session are never removed. The instant before which
    /// records were removed is kept (`history` says so rather than showing an empty past).
    pub fn prune(&mut self, limits: Limits, now_ms: u64, current: i64) -> Result<(), StoreError> {
        let cutoff = now_ms.saturating_sub(limits.max_age_ms);
        self.remove_before(cutoff, current)?;
        for _ in 0..20 {
            if self.size_bytes()? <= limits.max_bytes {
                break;
            }
            let ended: i64 = self
                .conn
                .query_row(
                    "SELECT count(*) FROM spans WHERE gone_ms IS NOT NULL OR ended IS NOT NULL",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            let failed: i64 = self
                .conn
                .query_row("SELECT count(*) FROM failed_binds", [], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            if ended + failed == 0 {
                break;
            }
            // The instant before which a tenth of the ended records lie.
            let at: Option<i64> = self
                .conn
                .query_row(
                    "SELECT t FROM (
                        SELECT coalesce(gone_ms, last_ms, first_ms) AS t FROM spans
                            WHERE gone_ms IS NOT NULL OR ended IS NOT NULL
                        UNION ALL SELECT at_ms FROM failed_binds)
                     ORDER BY t LIMIT 1 OFFSET ?1",
                    params![(ended + failed) / 10],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            let Some(at) = at else { break };
            self.remove_before(u64::try_from(at).unwrap_or(0) + 1, current)?;
        }
        Ok(())
    }

    fn remove_before(&mut self, cutoff_ms: u64, current: i64) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| map_full(&path, e))?;
        let mut removed = tx
            .execute(
                "DELETE FROM spans WHERE coalesce(gone_ms, last_ms, first_ms) < ?1
                 AND (ended IS NOT NULL OR session != ?2)",
                params![ms(cutoff_ms), current],
            )
            .map_err(|e| map_full(&path, e))?;
        removed += tx
            .execute(
                "DELETE FROM failed_binds WHERE at_ms < ?1",
                params![ms(cutoff_ms)],
            )
            .map_err(|e| map_full(&path, e))?;
        // A session that ended before the cutoff: its time is now "removed", not "not recorded".
        tx.execute(
            "DELETE FROM sessions WHERE last_ms < ?1 AND id != ?2
             AND NOT EXISTS (SELECT 1 FROM spans WHERE spans.session = sessions.id)",
            params![ms(cutoff_ms), current],
        )
        .map_err(|e| map_full(&path, e))?;
        if removed > 0 {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('removed_before_ms', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
                params![ms(cutoff_ms)],
            )
            .map_err(|e| map_full(&path, e))?;
        }
        tx.commit().map_err(|e| map_full(&path, e))?;
        if removed > 0 {
            // `incremental_vacuum` gives back one free page per step: step it to the end.
            let mut stmt = self
                .conn
                .prepare("PRAGMA incremental_vacuum")
                .map_err(|e| map_full(&path, e))?;
            let mut rows = stmt.query([]).map_err(|e| map_full(&path, e))?;
            while rows.next().map_err(|e| map_full(&path, e))?.is_some() {}
            drop(rows);
            drop(stmt);
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(|e| map_full(&path, e))?;
        }
        Ok(())
    }

    /// Records failed binds, all in one transaction (a scan refused on thousands of ports at
    /// once is one write).
    pub fn record_failed_binds(
        &mut self,
        session: i64,
        rows: &[FailedRow],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| map_full(&path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO failed_binds(session, at_ms, pid, process, user, uid, cmdline,
                         protocol, ip, port, errno, held_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(|e| map_full(&path, e))?;
            for r in rows {
                let held = serde_json::to_string(&r.held_by).unwrap_or_else(|_| "[]".to_owned());
                stmt.execute(params![
                    session,
                    ms(r.at_ms),
                    r.who.pid,
                    r.who.process,
                    r.who.user,
                    r.who.uid,
                    r.who.cmdline,
                    r.protocol.map(protocol_str),
                    r.local.map(|l| l.ip().to_string()),
                    r.local.map(|l| l.port()),
                    r.errno,
                    held
                ])
                .map_err(|e| map_full(&path, e))?;
            }
        }
        tx.commit().map_err(|e| map_full(&path, e))
    }

    /// Records a bind that failed at `at_ms`: who tried, on what, the errno, and who held the
    /// port at that instant (from the recorder's own table).
    #[allow(clippy::too_many_arguments)]
    pub fn record_failed_bind(
        &mut self,
        session: i64,
        at_ms: u64,
        who: &Holder,
        protocol: Option<Protocol>,
        local: Option<std::net::SocketAddr>,
        errno: i32,
        held_by: &[Holder],
    ) -> Result<(), StoreError> {
        let held = serde_json::to_string(held_by).unwrap_or_else(|_| "[]".to_owned());
        self.conn
            .execute(
                "INSERT INTO failed_binds(session, at_ms, pid, process, user, uid, cmdline,
                     protocol, ip, port, errno, held_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    session,
                    ms(at_ms),
                    who.pid,
                    who.process,
                    who.user,
                    who.uid,
                    who.cmdline,
                    protocol.map(protocol_str),
                    local.map(|l| l.ip().to_string()),
                    local.map(|l| l.port()),
                    errno,
                    held
                ],
            )
            .map_err(|e| map_full(&self.path, e))?;
        Ok(())
    }

    /// The local time's offset from UTC at `at_ms`, in seconds, as this system's time zone says
    /// (asked of SQLite, which asks the C library).
    #[must_use]
    pub fn local_offset_secs(&self, at_ms: u64) -> i32 {
        local_offset_with(&self.conn, at_ms)
    }
}

/// The local time's offset from UTC at `at_ms`, asked of an in-memory SQLite (no file): for
/// a front that has no database open.
#[must_use]
pub fn local_offset_secs(at_ms: u64) -> i32 {
    Connection::open_in_memory().map_or(0, |c| local_offset_with(&c, at_ms))
}

fn local_offset_with(conn: &Connection, at_ms: u64) -> i32 {
    let secs = ms(at_ms) / 1000;
    conn.query_row(
        "SELECT CAST(round((julianday(?1, 'unixepoch', 'localtime') - julianday(?1, 'unixepoch')) * 86400) AS INTEGER)",
        params![secs],
        |r| r.get::<_, i64>(0),
    )
    .ok()
    .and_then(|v| i32::try_from(v).ok())
    .unwrap_or(0)
}

pub(crate) fn protocol_str(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

pub(crate) fn parse_protocol(s: &str) -> Protocol {
    if s == "udp" {
        Protocol::Udp
    } else {
        Protocol::Tcp
    }
}

pub(crate) fn managed_str(k: ManagedKind) -> &'static str {
    match k {
        ManagedKind::Systemd => "systemd",
        ManagedKind::Container => "container",
        ManagedKind::Supervisor => "supervisor",
        ManagedKind::Shell => "shell",
        ManagedKind::Init => "init",
        ManagedKind::Service => "service",
    }
}

pub(crate) fn parse_managed(s: &str) -> Option<ManagedKind> {
    Some(match s {
        "systemd" => ManagedKind::Systemd,
        "container" => ManagedKind::Container,
        "supervisor" => ManagedKind::Supervisor,
        "shell" => ManagedKind::Shell,
        "init" => ManagedKind::Init,
        "service" => ManagedKind::Service,
        _ => return None,
    })
}

pub(crate) fn parse_state(s: &str) -> SockState {
    match s {
        "LISTEN" => SockState::Listen,
        "BOUND" => SockState::BoundOnly,
        "UNCONN" => SockState::Unconnected,
        _ => SockState::Unknown,
    }
}

pub(crate) fn parse_mode(s: &str) -> Mode {
    Mode::parse(s)
}

fn insert_span(
    tx: &rusqlite::Transaction<'_>,
    session: i64,
    k: &SocketKey,
    seen: &Seen,
    at_ms: u64,
    prev_ms: Option<u64>,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO spans(session, protocol, ip, port, state, inode, v6_only, first_ms, after_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            session,
            protocol_str(k.protocol),
            k.local.ip().to_string(),
            k.local.port(),
            seen.state.name(),
            ms(k.inode),
            seen.v6_only,
            ms(at_ms),
            prev_ms.map(ms)
        ],
    )?;
    let id = tx.last_insert_rowid();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO holders(span, pid, process, user, uid, cmdline, managed_kind, managed_name, container)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for h in &seen.holders {
        stmt.execute(params![
            id,
            h.pid,
            h.process,
            h.user,
            h.uid,
            h.cmdline,
            h.managed_by.as_ref().map(|m| managed_str(m.kind)),
            h.managed_by.as_ref().map(|m| m.name.as_str()),
            h.managed_by.as_ref().and_then(|m| m.container.as_deref()),
        ])?;
    }
    Ok(id)
}

fn sql_err(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Sql {
        path: path.to_path_buf(),
        source: e,
    }
}

/// A write error, with a full disk told apart: the recorder stops on it with one line.
fn map_full(path: &Path, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        StoreError::Full
    } else {
        sql_err(path, e)
    }
}

/// Makes the database's folder (mode 0700) and file (mode 0600) when missing, and refuses a
/// folder others may write or a file (or its `-wal`, `-shm`, `-journal`) that is a link or not
/// a regular file: as root, any of those would let another user aim the recorder's writes.
#[cfg(unix)]
fn prepare(path: &Path) -> Result<(), StoreError> {
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
        source: e.into(),
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
                    source: e.into(),
                });
            }
        }
    }
    match rustix::fs::openat(
        &dir,
        name,
        OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::RDWR | OFlags::CLOEXEC,
        FsMode::from_raw_mode(0o600),
    ) {
        Ok(_) | Err(rustix::io::Errno::EXIST) => Ok(()),
        Err(e) => Err(StoreError::Folder {
            path: path.to_path_buf(),
            source: e.into(),
        }),
    }
}

#[cfg(not(unix))]
fn prepare(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Folder {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Holder, Seen, diff};
    use std::net::SocketAddr;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pi-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        d
    }

    fn snap(n: u16, start: u16, name: &str) -> Snapshot {
        (start..start + n)
            .map(|p| {
                (
                    SocketKey {
                        protocol: Protocol::Tcp,
                        local: SocketAddr::from(([127, 0, 0, 1], p)),
                        inode: u64::from(p),
                    },
                    Seen {
                        state: SockState::Listen,
                        v6_only: None,
                        holders: vec![Holder {
                            pid: u32::from(p),
                            process: Some(name.to_owned()),
                            user: Some("app".to_owned()),
                            uid: Some(1000),
                            cmdline: Some(format!("{name} --port {p} {}", "x".repeat(200))),
                            managed_by: None,
                        }],
                    },
                )
            })
            .collect()
    }

    #[test]
    fn the_size_bound_removes_the_oldest_and_keeps_the_newest() {
        let dir = temp_dir("size");
        let path = dir.join(FILE_NAME);
        let mut s = Store::open_for_writing(&path).unwrap();
        let session = s.begin_session(1_000, Mode::Polling, 200, "test").unwrap();
        let empty = Snapshot::new();
        // 40 rounds of 100 listeners that appear and go: 4,000 spans of ~300 bytes each.
        let mut t = 1_000u64;
        for round in 0..40u16 {
            let now = snap(100, 1000 + round * 100, "server");
            t += 200;
            s.apply(session, t, Some(t - 200), &diff(&empty, &now), &now)
                .unwrap();
            t += 200;
            s.apply(session, t, Some(t - 200), &diff(&now, &empty), &empty)
                .unwrap();
        }
        let before = s.size_bytes().unwrap();
        assert!(
            before > 600_000,
            "the test wrote enough to prune ({before} bytes)"
        );
        let limits = Limits {
            max_age_ms: u64::MAX,
            max_bytes: 300_000,
        };
        s.prune(limits, t, session).unwrap();
        let after = s.size_bytes().unwrap();

        assert!(after <= 300_000, "the file fits the bound: {after} bytes");
        let newest: i64 = s
            .conn()
            .query_row("SELECT max(port) FROM spans", [], |r| r.get(0))
            .unwrap();
        assert_eq!(newest, 4999, "the newest span is kept");
        let oldest: Option<i64> = s
            .conn()
            .query_row("SELECT min(port) FROM spans", [], |r| r.get(0))
            .unwrap();
        assert!(oldest.unwrap() > 1000, "the oldest spans are gone");
        let removed: i64 = s
            .conn()
            .query_row(
                "SELECT value FROM meta WHERE key = 'removed_before_ms'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(removed > 1_000, "the removal is remembered");
        // Closed first: Windows refuses to remove a database file that is still open.
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_age_bound_removes_what_ended_before_it_and_keeps_open_spans() {
        let dir = temp_dir("age");
        let path = dir.join(FILE_NAME);
        let mut s = Store::open_for_writing(&path).unwrap();
        let session = s.begin_session(1_000, Mode::Polling, 200, "test").unwrap();
        let empty = Snapshot::new();
        let old = snap(3, 100, "old");
        s.apply(session, 1_000, None, &diff(&empty, &old), &old)
            .unwrap();
        s.apply(session, 2_000, Some(1_000), &diff(&old, &empty), &empty)
            .unwrap();
        let kept = snap(2, 200, "kept");
        s.apply(session, 3_000, Some(2_000), &diff(&empty, &kept), &kept)
            .unwrap();
        let limits = Limits {
            max_age_ms: 1_000,
            max_bytes: u64::MAX,
        };
        s.prune(limits, 10_000, session).unwrap();
        let ports: Vec<i64> = s
            .conn()
            .prepare("SELECT port FROM spans ORDER BY port")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            ports,
            vec![200, 201],
            "ended spans past the age are gone, open ones stay"
        );
        // Closed first: Windows refuses to remove a database file that is still open.
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused_and_a_link_is_not_followed() {
        let dir = temp_dir("schema");
        let path = dir.join(FILE_NAME);
        drop(Store::open_for_writing(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        assert!(
            matches!(
                Store::open_for_writing(&path),
                Err(StoreError::Newer { found: 99, .. })
            ),
            "a newer schema is refused"
        );
        #[cfg(unix)]
        {
            let link = dir.join("link.db");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert!(
                matches!(
                    Store::open_for_writing(&link),
                    Err(StoreError::Unsafe { .. })
                ),
                "a link is refused"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
