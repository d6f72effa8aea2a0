//! A container's name from its runtime: the Docker Engine API (which Podman also serves) over the
//! runtime's Unix socket, when this user may read it. A name is what people know a container
//! by (`web-1`); the cgroup gives only its id.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// The longest the runtime may take to answer: a wedged daemon must not hold up a lookup.
const LIMIT: Duration = Duration::from_millis(500);

/// The runtime sockets to ask, in order: `DOCKER_HOST` when it names a Unix socket (as the
/// docker CLI reads it), then Docker's and rootful Podman's default sockets.
fn sockets() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(host) = std::env::var_os("DOCKER_HOST") {
        if let Some(path) = host.to_str().and_then(|h| h.strip_prefix("unix://")) {
            out.push(PathBuf::from(path));
        }
        // DOCKER_HOST names the one runtime the user works with: no other is asked.
        return out;
    }
    out.push(PathBuf::from("/var/run/docker.sock"));
    out.push(PathBuf::from("/run/podman/podman.sock"));
    out
}

/// The name of the container `id` (a full or short id), or `None` when no runtime socket could
/// be read or none knows it. Answers are kept for the life of the process, the failures too.
#[must_use]
pub fn container_name(id: &str) -> Option<String> {
    static NAMES: LazyLock<Mutex<HashMap<String, Option<String>>>> = LazyLock::new(Mutex::default);
    if !id.bytes().all(|b| b.is_ascii_hexdigit()) || id.is_empty() {
        return None;
    }
    if let Some(known) = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(id)
    {
        return known.clone();
    }
    let name = sockets().iter().find_map(|s| ask(s, id));
    NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id.to_owned(), name.clone());
    name
}

/// `GET /containers/ID/json` on one socket; the container's `Name` without its leading slash.
fn ask(socket: &std::path::Path, id: &str) -> Option<String> {
    let mut s = UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(LIMIT)).ok()?;
    s.set_write_timeout(Some(LIMIT)).ok()?;
    // HTTP/1.0: the daemon closes the connection after its answer, so reading to the end is the
    // whole answer, with no chunked encoding to undo.
    // One write: `write!` would send each formatted piece on its own.
    let request = format!(
        "GET /containers/{id}/json HTTP/1.0\r\nHost: docker\r\nAccept: application/json\r\n\r\n"
    );
    s.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    s.take(4 << 20).read_to_end(&mut answer).ok()?;
    name_from_answer(&answer)
}

/// The `Name` of an HTTP answer carrying a container's JSON (status 200 only).
fn name_from_answer(answer: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(answer).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.split_whitespace().nth(1)?;
    if status != "200" {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let name = v.get("Name")?.as_str()?.trim_start_matches('/');
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::name_from_answer;

    #[test]
    fn a_name_is_read_from_an_ok_answer_only() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Id\":\"ab\",\"Name\":\"/web-1\"}";
        assert_eq!(name_from_answer(ok).as_deref(), Some("web-1"));
        let missing = b"HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"No such container\"}";
        assert_eq!(name_from_answer(missing), None);
        assert_eq!(name_from_answer(b"garbage"), None);
    }
}
