//! A container's name from its runtime: the Docker Engine API (which Podman also serves) over the
//! runtime's Unix socket, when this user may read it. A name is what people know a container
//! by (`web-1`); the cgroup gives only its id.

use std::collections::{HashMap, HashSet};
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The longest one exchange with the runtime may take, from connecting to the last byte: a
/// wedged or trickling daemon must not hold up a lookup (one byte every 0.4 s once kept a
/// lookup waiting 54 s under a limit per read).
const LIMIT: Duration = Duration::from_millis(500);

/// The most of an answer read: a container's JSON is a few kilobytes (its `Name` near the
/// start), so a larger answer is not one.
const MAX_ANSWER: usize = 256 << 10;

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
    let name = sockets().iter().find_map(|s| ask_unless_wedged(s, id));
    NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id.to_owned(), name.clone());
    name
}

/// [`ask`], unless this socket already ran out of time once in this process: a wedged runtime
/// costs one [`LIMIT`], not one per container.
fn ask_unless_wedged(socket: &Path, id: &str) -> Option<String> {
    static WEDGED: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Mutex::default);
    let wedged = || {
        WEDGED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if wedged().contains(socket) {
        return None;
    }
    match ask(socket, id, LIMIT) {
        Answer::Name(name) => name,
        Answer::OutOfTime => {
            wedged().insert(socket.to_owned());
            None
        }
    }
}

/// What one exchange with a runtime gave.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// The container's name, or `None`: no such socket, no such container, not an answer.
    Name(Option<String>),
    /// The runtime did not finish its answer in time.
    OutOfTime,
}

/// `GET /containers/ID/json` on one socket, the whole exchange within `limit` and the answer
/// within [`MAX_ANSWER`]; the container's `Name` without its leading slash.
fn ask(socket: &Path, id: &str, limit: Duration) -> Answer {
    let deadline = Instant::now() + limit;
    let Some(mut s) = connect(socket) else {
        return Answer::Name(None);
    };
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    };
    // HTTP/1.0: the daemon closes the connection after its answer, so reading to the end is the
    // whole answer, with no chunked encoding to undo.
    // One write: `write!` would send each formatted piece on its own.
    let request = format!(
        "GET /containers/{id}/json HTTP/1.0\r\nHost: docker\r\nAccept: application/json\r\n\r\n"
    );
    if s.set_write_timeout(left()).is_err() || s.write_all(request.as_bytes()).is_err() {
        return if left().is_none() {
            Answer::OutOfTime
        } else {
            Answer::Name(None)
        };
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        // Each read may wait only for what is left of the one deadline.
        let Some(wait) = left() else {
            return Answer::OutOfTime;
        };
        if s.set_read_timeout(Some(wait)).is_err() {
            return Answer::Name(None);
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if answer.len() + n > MAX_ANSWER => return Answer::Name(None),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Answer::OutOfTime;
            }
            Err(_) => return Answer::Name(None),
        }
    }
    Answer::Name(name_from_answer(&answer))
}

/// A connection to the runtime's socket without waiting: a daemon whose backlog is full (it
/// stopped accepting) refuses at once instead of holding the lookup.
fn connect(socket: &Path) -> Option<UnixStream> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let s = Socket::new(Domain::UNIX, Type::STREAM, None).ok()?;
    s.set_nonblocking(true).ok()?;
    s.connect(&SockAddr::unix(socket).ok()?).ok()?;
    s.set_nonblocking(false).ok()?;
    Some(s.into())
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
    use super::{Answer, LIMIT, MAX_ANSWER, ask, name_from_answer};
    use std::io::{Read as _, Write as _};
    use std::os::unix::net::UnixListener;
    use std::time::{Duration, Instant};

    /// A fake runtime on a Unix socket in a fresh folder: each connection gets the request
    /// read, then `serve` writes to it (until the client goes away).
    fn runtime(serve: fn(&mut std::os::unix::net::UnixStream)) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pi-runtime-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("a fresh folder");
        let path = dir.join("docker.sock");
        let listener = UnixListener::bind(&path).expect("a socket");
        std::thread::spawn(move || {
            for mut c in listener.incoming().map_while(Result::ok) {
                let mut req = [0u8; 1024];
                let _ = c.read(&mut req);
                serve(&mut c);
            }
        });
        path
    }

    #[test]
    fn a_trickling_runtime_gets_one_deadline_for_the_whole_answer() {
        // One byte every 0.4 s, forever: under a limit per read this never ends.
        let path = runtime(|c| {
            for b in b"HTTP/1.0 200 OK\r\n\r\n{\"Name\":\"/slow\"}"
                .iter()
                .cycle()
            {
                if c.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(400));
            }
        });
        let started = Instant::now();
        assert_eq!(
            ask(&path, "abc", LIMIT),
            Answer::OutOfTime,
            "a trickle is out of time"
        );
        let took = started.elapsed();
        assert!(took < LIMIT + Duration::from_millis(300), "took {took:?}");
        let _ = std::fs::remove_dir_all(path.parent().expect("a folder"));
    }

    #[test]
    fn a_flood_is_cut_at_the_size_cap() {
        let path = runtime(|c| {
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\n{\"Name\":\"/big\",\"x\":\"");
            let chunk = vec![b'a'; 64 << 10];
            while c.write_all(&chunk).is_ok() {}
        });
        assert_eq!(
            ask(&path, "abc", LIMIT),
            Answer::Name(None),
            "no name from a flood"
        );
        let fits = runtime(|c| {
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\n{\"Name\":\"/web-1\"}");
        });
        assert_eq!(
            ask(&fits, "abc", LIMIT),
            Answer::Name(Some("web-1".into())),
            "an answer under {MAX_ANSWER} bytes is read"
        );
        for p in [path, fits] {
            let _ = std::fs::remove_dir_all(p.parent().expect("a folder"));
        }
    }

    #[test]
    fn a_name_is_read_from_an_ok_answer_only() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Id\":\"ab\",\"Name\":\"/web-1\"}";
        assert_eq!(name_from_answer(ok).as_deref(), Some("web-1"));
        let missing = b"HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"No such container\"}";
        assert_eq!(name_from_answer(missing), None);
        assert_eq!(name_from_answer(b"garbage"), None);
    }
}
