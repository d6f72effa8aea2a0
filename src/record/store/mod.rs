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

use rusqlite::{Connection, OpenFlags, params};

mod schema;
mod write;

use super::{Change, Holder, Seen, SocketKey};
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
    /// The folder could not be made or opened. (The system's answer is said here, once: it is
    /// no `source` as well, or a chain printed with `{:#}` says it twice.)
    #[error("{}: {error}", .path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The system's answer.
        error: std::io::Error,
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
    /// Another recorder is writing this database (it holds the database's lock): two would
    /// each write their own session over the same time, and `history` would show one socket
    /// twice and the recorder stopped while the other ran.
    #[error(
        "{}: another recorder is recording into this database: stop it first, or give this one another --db",
        .path.display()
    )]
    Busy {
        /// The database.
        path: PathBuf,
    },
    /// The disk is full: recording stops (the database keeps every whole poll before).
    #[error("the disk holding the database is full")]
    Full,
    /// SQLite refused. (Its answer is said here, once, without the path it may end with: it
    /// is no `source` as well, or a chain printed with `{:#}` says it again, and again for
    /// SQLite's own code.)
    #[error("{}: {}", .path.display(), sql_words(.error, .path))]
    Sql {
        /// The database.
        path: PathBuf,
        /// SQLite's error.
        error: rusqlite::Error,
    },
}

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
    crate::platform::Os::current().has_systemd_units()
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
    /// The writer's lock ([`schema::prepare`]), held while this store records: a second recorder
    /// on the same database is refused ([`StoreError::Busy`]). Declared after `conn`, so it is
    /// let go after SQLite closed the file (on Unix it is the database file itself, and closing
    /// a descriptor of it earlier would drop SQLite's own locks).
    _lock: Option<std::fs::File>,
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens (creating it, its folder and the schema when missing) the database for recording.
    /// The folder must be writable by nobody else, and neither the file nor its `-wal`/`-shm`
    /// companions may be symbolic links: the recorder often runs as root.
    pub fn open_for_writing(path: &Path) -> Result<Self, StoreError> {
        let lock = schema::prepare(path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Busy {
                    path: path.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(StoreError::Folder {
                    path: path.to_path_buf(),
                    error,
                });
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
        let mut s = Self {
            conn,
            path: path.to_path_buf(),
            open: HashMap::new(),
            _lock: Some(lock),
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
                    error: e,
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
            _lock: None,
        };
        let v = s.version().map_err(|e| s.err(e))?;
        let known = i64::try_from(schema::MIGRATIONS.len()).unwrap_or(i64::MAX);
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

fn sql_err(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Sql {
        path: path.to_path_buf(),
        error: e,
    }
}

/// SQLite's answer without the path it may end with ("unable to open database file: PATH"):
/// the error names the path before it.
fn sql_words(e: &rusqlite::Error, path: &Path) -> String {
    let said = e.to_string();
    said.strip_suffix(&format!(": {}", path.display()))
        .map_or_else(|| said.clone(), str::to_owned)
}

/// A write error, with a full disk told apart: the recorder stops on it with one line.
fn map_full(path: &Path, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        StoreError::Full
    } else {
        sql_err(path, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Holder, Seen, Snapshot, diff};
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

    /// A refused bind recorded after the last heartbeat moves the session's end to it: after a
    /// kill -9 the gap begins after the last thing written, not at the heartbeat before it. And
    /// the database is one writer's: a second store opened for writing is refused while the
    /// first lives, and let in once it is gone.
    #[test]
    fn a_refused_bind_moves_the_session_s_end_and_one_writer_at_a_time() {
        let dir = temp_dir("last");
        let path = dir.join(FILE_NAME);
        let mut s = Store::open_for_writing(&path).unwrap();
        assert!(
            matches!(Store::open_for_writing(&path), Err(StoreError::Busy { .. })),
            "a second writer is refused"
        );
        let session = s.begin_session(1_000, Mode::Traced, 200, "test").unwrap();
        let row = FailedRow {
            at_ms: 5_432,
            who: Holder::pid_only(7),
            protocol: Some(Protocol::Tcp),
            local: Some("127.0.0.1:8080".parse().unwrap()),
            errno: 98,
            held_by: Vec::new(),
        };
        s.record_failed_binds(session, std::slice::from_ref(&row))
            .unwrap();
        let last: i64 = s
            .conn()
            .query_row(
                "SELECT last_ms FROM sessions WHERE id = ?1",
                [session],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(last, 5_432);
        drop(s);
        assert!(
            Store::open_for_writing(&path).is_ok(),
            "free once the first is gone"
        );
        let _ = std::fs::remove_dir_all(&dir);
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
