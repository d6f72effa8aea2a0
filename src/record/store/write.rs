//! Writing: sessions, the changes of each read or traced instant (one transaction each), the
//! refused binds, and the age and size bounds.

use rusqlite::{OptionalExtension as _, params};

use super::{
    Exact, FailedRow, Limits, Mode, Store, StoreError, managed_str, map_full, ms, protocol_str,
    sql_err,
};
use crate::record::{Change, Holder, Seen, Snapshot, SocketKey};
use crate::target::Protocol;

impl Store {
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
                // Cached: a busy machine's flush runs this hundreds of times, each parse saved.
                tx.prepare_cached(
                    "UPDATE spans SET last_ms = ?2, gone_ms = ?2, ended = ?3 WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![id, ms(ev.at_ms), why]))
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
        // The recorder ran at least until its last refused bind: after a kill -9 the gap
        // starts after it, not at the heartbeat before it.
        if let Some(last) = rows.iter().map(|r| r.at_ms).max() {
            tx.execute(
                "UPDATE sessions SET last_ms = max(last_ms, ?2) WHERE id = ?1",
                params![session, ms(last)],
            )
            .map_err(|e| map_full(&path, e))?;
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
}

fn insert_span(
    tx: &rusqlite::Transaction<'_>,
    session: i64,
    k: &SocketKey,
    seen: &Seen,
    at_ms: u64,
    prev_ms: Option<u64>,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO spans(session, protocol, ip, port, state, inode, v6_only, first_ms, after_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        session,
        protocol_str(k.protocol),
        k.local.ip().to_string(),
        k.local.port(),
        seen.state.name(),
        ms(k.inode),
        seen.v6_only,
        ms(at_ms),
        prev_ms.map(ms)
    ])?;
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
