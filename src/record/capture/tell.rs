//! Each recorded change to the systemd journal, with its structured fields.

use crate::record::{Change, Snapshot};
/// Sends each change to the journal with its fields (`EVENT`, `PORT`, `PROTOCOL`, `ADDRESS`,
/// `STATE`, `PID` — the first holder —, `PIDS`, `COMM`, `USER`, `UNIT`).
pub(super) fn tell_journal(
    j: &crate::record::journal::Journal,
    changes: &[Change],
    before: &Snapshot,
    now: &Snapshot,
) {
    for c in changes {
        let seen = match c {
            Change::Appeared(k) | Change::HandedOver(k) => now.get(k),
            Change::Went(k) => before.get(k),
        };
        if let Some(seen) = seen {
            tell_journal_one(j, *c, seen);
        }
    }
}

/// One change to the journal; `seen` is the socket after it (for one that went: before).
pub(super) fn tell_journal_one(
    j: &crate::record::journal::Journal,
    c: Change,
    seen: &crate::record::Seen,
) {
    let (k, event) = match c {
        Change::Appeared(k) => (k, "appeared"),
        Change::Went(k) => (k, "went"),
        Change::HandedOver(k) => (k, "handed_over"),
    };
    let mut fields = vec![
        ("EVENT", event.to_owned()),
        ("PORT", k.local.port().to_string()),
        (
            "PROTOCOL",
            crate::record::store::protocol_str(k.protocol).to_owned(),
        ),
        ("ADDRESS", k.local.ip().to_string()),
        ("STATE", seen.state.name().to_owned()),
    ];
    if let Some(h) = seen.holders.first() {
        fields.push(("PID", h.pid.to_string()));
        fields.push((
            "PIDS",
            seen.holders
                .iter()
                .map(|h| h.pid.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ));
        if let Some(p) = &h.process {
            fields.push(("COMM", p.clone()));
        }
        if let Some(u) = &h.user {
            fields.push(("USER", u.clone()));
        }
        if let Some(m) = &h.managed_by {
            fields.push((
                "UNIT",
                m.container.clone().unwrap_or_else(|| m.name.clone()),
            ));
        }
    }
    j.send(&crate::record::words::event_message(&c, seen), &fields);
}
