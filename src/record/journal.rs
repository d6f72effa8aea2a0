//! Every recorded event also goes to the systemd journal, with structured fields (`EVENT`,
//! `PORT`, `PROTOCOL`, `ADDRESS`, `PID`, `COMM`, `UNIT`, `ERRNO`), so a fleet's existing log
//! pipeline collects the history without reading the database. Written in journald's native
//! protocol (one datagram per entry on `/run/systemd/journal/socket`); values that hold a
//! newline use the protocol's length-prefixed form, so a hostile process name cannot forge a
//! field. No journal (no systemd, a container): nothing is sent and nothing fails. Sends never
//! wait: a journal whose queue is full (`net.unix.max_dgram_qlen` entries not yet read) loses
//! the entry, counted in [`Journal::dropped`], and the recorder goes on (the database keeps it).

use std::cell::Cell;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// Where journald listens.
const SOCKET: &str = "/run/systemd/journal/socket";

/// A connection to the journal, when there is one.
pub struct Journal {
    sock: UnixDatagram,
    path: PathBuf,
    /// Entries the journal had no room for, or refused.
    dropped: Cell<u64>,
}

impl Journal {
    /// The journal's socket (`PORT_INSPECTOR_JOURNAL` names another, for a test or a relay),
    /// when it exists.
    #[must_use]
    pub fn open() -> Option<Self> {
        let path = std::env::var_os("PORT_INSPECTOR_JOURNAL")
            .filter(|p| !p.is_empty())
            .map_or_else(|| PathBuf::from(SOCKET), PathBuf::from);
        if !path.exists() {
            return None;
        }
        let sock = UnixDatagram::unbound().ok()?;
        // A full queue must not stop the recorder (nor a SIGTERM from being honoured).
        sock.set_nonblocking(true).ok()?;
        Some(Self {
            sock,
            path,
            dropped: Cell::new(0),
        })
    }

    /// Sends one entry: `MESSAGE`, a priority of "info", the identifier, and `fields`, without
    /// waiting. A journal that is gone or full loses the entry (counted); the database keeps it.
    pub fn send(&self, message: &str, fields: &[(&str, String)]) {
        let mut buf = Vec::with_capacity(256);
        field(&mut buf, "MESSAGE", message);
        field(&mut buf, "PRIORITY", "6");
        field(&mut buf, "SYSLOG_IDENTIFIER", "port-inspector");
        for (k, v) in fields {
            field(&mut buf, k, v);
        }
        if self.sock.send_to(&buf, &self.path).is_err() {
            self.dropped.set(self.dropped.get() + 1);
        }
    }

    /// How many entries were lost so far (queue full, journal gone).
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }
}

/// Appends `KEY=value\n`, or for a value with a newline `KEY\n<u64 LE length><value>\n`.
fn field(buf: &mut Vec<u8>, key: &str, value: &str) {
    buf.extend_from_slice(key.as_bytes());
    if value.contains('\n') {
        buf.push(b'\n');
        buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
        buf.extend_from_slice(value.as_bytes());
    } else {
        buf.push(b'=');
        buf.extend_from_slice(value.as_bytes());
    }
    buf.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_in_a_value_cannot_make_a_field() {
        let mut b = Vec::new();
        field(&mut b, "COMM", "x\nEVENT=forged");
        let mut want = b"COMM\n".to_vec();
        want.extend_from_slice(&14u64.to_le_bytes());
        want.extend_from_slice(b"x\nEVENT=forged\n");
        assert_eq!(b, want, "length-prefixed");
        let mut b = Vec::new();
        field(&mut b, "PORT", "8080");
        assert_eq!(b, b"PORT=8080\n", "plain");
    }
}
