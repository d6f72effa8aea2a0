//! `history PORT` over 30 days of recorded data. The database is filled through the store's
//! own API (the recorder's writes: sessions, polls with sockets appearing and going, failed
//! binds) with 30 days of synthetic sockets on 2,000 ports — about the 100 MB the database is
//! bounded to by default —, then one busy port's timeline is asked for: through the library
//! (`history::timeline_newest`, what the window's worker and the CLI call: the newest 200 by
//! default, all with `--limit 0`; and a 30-minute window, the "03:12" question) and through the
//! built binary (`port-inspector history PORT … --json`, the whole process). Run by hand:
//! `cargo bench --bench history_speed` (`HISTORY_SPANS=N` for another size).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints its table; unwrap is its assert.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Instant;

use port_inspector::owners::SockState;
use port_inspector::record::history::{self, Entry, Subject};
use port_inspector::record::store::{FailedRow, Mode, Store};
use port_inspector::record::{Change, Holder, Seen, Snapshot, SocketKey};
use port_inspector::target::Protocol;

const DAY_MS: u64 = 86_400_000;
/// Sockets that appear (and the same number go) at each simulated read.
const PER_POLL: usize = 100;
/// Ports the sockets spread over; the busy one is `BASE_PORT`.
const PORTS: u16 = 2_000;
const BASE_PORT: u16 = 20_000;

fn holder(pid: u32, port: u16) -> Holder {
    Holder {
        pid,
        process: Some("java".to_owned()),
        user: Some("app".to_owned()),
        uid: Some(1000),
        cmdline: Some(format!(
            "/usr/bin/java -Xmx2g -jar /opt/app/service-{}.jar --server.port={port}",
            pid % 97
        )),
        managed_by: None,
    }
}

fn median_ms(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1])
}

/// Fills `db` through the store with `polls` reads `step_ms` apart from `start`; returns the
/// store and the number of failed binds written.
fn fill(db: &std::path::Path, start: u64, polls: usize, step: u64, now: u64) -> (Store, usize) {
    let mut store = Store::open_for_writing(db).unwrap();
    let session = store
        .begin_session(start, Mode::Ebpf, 200, "bench")
        .unwrap();
    let mut open: Snapshot = HashMap::new();
    let mut prev: Option<u64> = None;
    let mut inode = 1_000_000u64;
    let mut pid = 10_000u32;
    let mut failed_total = 0usize;
    for n in 0..polls {
        let at = start + step * u64::try_from(n).unwrap();
        let mut changes: Vec<Change> = open.keys().map(|k| Change::Went(*k)).collect();
        let mut now_snap: Snapshot = HashMap::new();
        for i in 0..PER_POLL {
            // One socket of each read is on the busy port; the rest spread over the others.
            let port = if i == 0 {
                BASE_PORT
            } else {
                BASE_PORT + 1 + u16::try_from((n * PER_POLL + i) % usize::from(PORTS - 1)).unwrap()
            };
            inode += 1;
            pid += 1;
            let key = SocketKey {
                protocol: Protocol::Tcp,
                local: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                inode,
            };
            now_snap.insert(
                key,
                Seen {
                    state: SockState::Listen,
                    v6_only: None,
                    holders: vec![holder(pid, port)],
                },
            );
            changes.push(Change::Appeared(key));
        }
        store.apply(session, at, prev, &changes, &now_snap).unwrap();
        // A third as many refused binds, one in three on the busy port, each naming its holder.
        let rows: Vec<FailedRow> = (0..PER_POLL / 3)
            .map(|i| {
                let port = if i % 3 == 0 {
                    BASE_PORT
                } else {
                    BASE_PORT + 1 + u16::try_from(i).unwrap()
                };
                FailedRow {
                    at_ms: at + u64::try_from(i).unwrap(),
                    who: holder(pid + 1, port),
                    protocol: Some(Protocol::Tcp),
                    local: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)),
                    errno: 98,
                    held_by: vec![holder(pid, port)],
                }
            })
            .collect();
        failed_total += rows.len();
        store.record_failed_binds(session, &rows).unwrap();
        open = now_snap;
        prev = Some(at);
    }
    store.end_session(session, now - 1000).unwrap();
    (store, failed_total)
}

/// Median and slowest of `runs` calls of `call`, and what its last call counted.
fn time(call: &dyn Fn() -> usize, runs: usize) -> (f64, f64, usize) {
    let mut took = Vec::new();
    let mut counted = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        counted = call();
        took.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let (median, max) = median_ms(took);
    (median, max, counted)
}

/// The entries of a timeline that are not gaps.
fn shown(t: &history::Timeline) -> usize {
    t.entries
        .iter()
        .filter(|e| !matches!(e, Entry::NotRecorded { .. }))
        .count()
}

/// Median and slowest of ten whole `port-inspector history BUSY_PORT --json` runs with `extra`.
fn cli_run(db: &std::path::Path, extra: &[&str]) -> (f64, f64) {
    let mut took = Vec::new();
    for _ in 0..10 {
        let t0 = Instant::now();
        let ok = Command::new(env!("CARGO_BIN_EXE_port-inspector"))
            .args(["history", &BASE_PORT.to_string(), "--json", "--db"])
            .arg(db)
            .args(extra)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        took.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert!(ok, "history ran");
    }
    median_ms(took)
}

fn main() {
    let spans: usize = std::env::var("HISTORY_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let dir = std::env::temp_dir().join(format!("pi-history-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    // The store refuses a folder others may write.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let db = dir.join("record.db");
    let now = port_inspector::record::now_ms();
    let start = now - 30 * DAY_MS;
    let polls = spans / PER_POLL;
    let step = 30 * DAY_MS / u64::try_from(polls).unwrap();

    let fill_started = Instant::now();
    let (store, failed_total) = fill(&db, start, polls, step, now);
    let size = store.size_bytes().unwrap();
    drop(store);
    let fill_s = fill_started.elapsed().as_secs_f64();

    println!(
        "database: {} spans and {failed_total} failed binds over 30 days on {PORTS} ports, {:.1} MB (filled in {fill_s:.1} s)",
        polls * PER_POLL,
        f64::from(u32::try_from(size / 1000).unwrap()) / 1000.0
    );
    measure(&db, start, now);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Times the busy port's timeline every way it is asked, and prints the figures.
fn measure(db: &std::path::Path, start: u64, now: u64) {
    let reader = Store::open_for_reading(db).unwrap().unwrap();
    let busy = Subject::Port(BASE_PORT);
    // What `history PORT --since 30d` asks by default: the newest 200, the rest counted.
    let (bm, bx, bn) = time(
        &|| shown(&history::timeline_newest(&reader, busy, start, now, now, Some(200)).unwrap()),
        20,
    );
    // The 03:12 question: half an hour ten days back, every entry.
    let at = now - 10 * DAY_MS;
    let (wm, wx, wn) = time(
        &|| shown(&history::timeline(&reader, busy, at - 900_000, at + 900_000, now).unwrap()),
        20,
    );
    // Every entry of 30 days (`--limit 0`).
    let (lm, lx, entries) = time(
        &|| shown(&history::timeline(&reader, busy, start, now, now).unwrap()),
        5,
    );
    let quiet = Subject::Port(BASE_PORT + 7);
    let (qm, qx, _) = time(
        &|| shown(&history::timeline(&reader, quiet, start, now, now).unwrap()),
        20,
    );
    let (cm, cx) = cli_run(db, &["--since", "30d"]);
    let off = port_inspector::record::store::local_offset_secs(at);
    let since = port_inspector::record::time::date_time(at - 900_000, off);
    let until = port_inspector::record::time::date_time(at + 900_000, off);
    let (wcm, wcx) = cli_run(db, &["--since", &since, "--until", &until]);
    println!(
        "busy port, 30 days, newest 200 of {entries} entries (history's default): median {bm:.1} ms, max {bx:.1} ms ({bn} shown)"
    );
    println!(
        "busy port, a 30-minute window ten days back, every entry: median {wm:.1} ms, max {wx:.1} ms ({wn} entries)"
    );
    println!(
        "busy port, 30 days, all {entries} entries (--limit 0): median {lm:.1} ms, max {lx:.1} ms"
    );
    println!("a quieter port, 30 days, every entry: median {qm:.1} ms, max {qx:.1} ms");
    println!(
        "`port-inspector history PORT --since 30d --json` (whole process): median {cm:.1} ms, max {cx:.1} ms"
    );
    println!(
        "`port-inspector history PORT --since '{since}' --until '{until}' --json` (whole process): median {wcm:.1} ms, max {wcx:.1} ms"
    );
}
