//! Asking another machine: `port-inspector … --json` run there over the system's OpenSSH client
//! (the user's config, agent and known_hosts; batch mode, so it never prompts; host keys always
//! checked, an unknown or changed one refused, never accepted), its answer handed back as bytes
//! for the caller to read into the same typed values a local run makes. No protocol of our own:
//! ssh is what every server already runs.
//!
//! What comes back is outside text. Nothing in it becomes a path, a command or an argument here;
//! the only command sent is built from the caller's typed arguments, each word quoted.

use std::io::Read as _;
use std::process::{Command, Stdio};

use crate::target::InputError;
use crate::text::shell_word;

/// The most a remote may send on standard output (a whole socket table of a busy server is a
/// few megabytes); more is refused as unreadable rather than kept in memory.
pub const MAX_ANSWER_BYTES: u64 = 256 << 20;

/// The most of a remote's standard error that is kept (ssh's own messages, the remote's notes).
const MAX_STDERR_BYTES: u64 = 64 << 10;

/// Seconds ssh waits for the connection before giving up (ssh's `ConnectTimeout`).
pub const CONNECT_TIMEOUT_SECS: u32 = 10;

/// The environment variable naming the ssh client to run instead of the system's (`ssh -F
/// ~/.ssh/fleet.conf`), split on spaces: for another config or key, as Git's `GIT_SSH_COMMAND`.
pub const SSH_ENV: &str = "PORT_INSPECTOR_SSH";

/// Another machine, as `[user@]host[:port]` names it: a host of `~/.ssh/config`, a name or an
/// address (`[::1]:2222` for IPv6 with a port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The login name, when given (else ssh's: the config's `User`, or the local user).
    pub user: Option<String>,
    /// The host name, address or ssh config alias.
    pub host: String,
    /// The ssh port, when given (else the config's `Port`, or 22).
    pub port: Option<u16>,
}

impl Machine {
    /// Reads `[user@]host[:port]`. Only characters a host name, address or config alias uses are
    /// taken, and never a leading `-`, so the text cannot become an ssh option.
    ///
    /// # Errors
    /// One line saying what is wrong with the text.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let bad = |why: &'static str| InputError::BadMachine {
            given: crate::text::clean(&text.chars().take(80).collect::<String>()).into_owned(),
            why,
        };
        let t = text.trim();
        let (user, rest) = match t.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, t),
        };
        if let Some(u) = user
            && (u.is_empty()
                || u.starts_with('-')
                || !u
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '$')))
        {
            return Err(bad("the user name has characters a login name does not"));
        }
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (h, after) = inner
                .split_once(']')
                .ok_or_else(|| bad("a '[' without its ']'"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("text after ']'"))?),
            };
            let addr = h.split('%').next().unwrap_or(h);
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("brackets hold an IPv6 address"));
            }
            (h, port)
        } else if rest.parse::<std::net::Ipv6Addr>().is_ok() {
            (rest, None)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if host.is_empty() || host.starts_with('-') || host.len() > 253 {
            return Err(bad("no host name"));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '%'))
        {
            return Err(bad("the host has characters a host name does not"));
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(bad("the ssh port goes from 1 to 65535")),
            },
        };
        Ok(Self {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        match self.port {
            Some(p) if self.host.contains(':') => write!(f, "[{}]:{p}", self.host),
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// A machine and how Port Inspector is started there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Where.
    pub machine: Machine,
    /// The remote program (`--remote-path`), when it is not `port-inspector` on the remote PATH.
    pub program: Option<String>,
    /// The ssh client command line to run instead of `PORT_INSPECTOR_SSH` or the system's
    /// (the window's "ssh command" setting: `ssh -F ~/.ssh/fleet.conf`), split on spaces.
    pub ssh: Option<String>,
}

/// The version a remote Port Inspector says it is (`port-inspector 0.1.0 (commit …, built …)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteVersion {
    /// `0.1.0`.
    pub version: String,
    /// The whole line, as the remote wrote it (outside text).
    pub line: String,
}

impl RemoteVersion {
    /// Whether the remote runs the same version as this binary.
    #[must_use]
    pub fn matches_ours(&self) -> bool {
        self.version == crate::build_info::VERSION
    }
}

/// What a remote Port Inspector answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Its version.
    pub version: RemoteVersion,
    /// Its standard output after the version line: the JSON document (outside text).
    pub document: Vec<u8>,
    /// Its exit code (0-3 as locally).
    pub exit_code: i32,
    /// Its standard error, line by line (outside text).
    pub stderr: Vec<String>,
}

/// The operating system of a machine without Port Inspector, for the command that installs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteOs {
    /// Debian, Ubuntu and their kin (`.deb`).
    Debian,
    /// Fedora, RHEL, CentOS, Rocky, Alma (`.rpm` with dnf).
    Fedora,
    /// openSUSE, SLES (`.rpm` with zypper).
    Suse,
    /// Another Linux (the tarball).
    Linux,
    /// macOS (from source).
    MacOs,
    /// Windows (the MSI).
    Windows,
}

/// Why a machine gave no answer. The CLI words each in one line with its own exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// No ssh client on this machine.
    NoClient,
    /// ssh could not connect (name not found, connection refused, no route, timeout); ssh's own
    /// last line, as written (outside text).
    Unreachable(String),
    /// The machine refused the login (no key it accepts, in batch mode).
    LoginRefused(String),
    /// The machine's host key is not in known_hosts: not accepted without the user.
    HostKeyUnknown,
    /// The machine's host key differs from the one in known_hosts: refused.
    HostKeyChanged,
    /// Port Inspector is not installed there (or not at `--remote-path`); the OS when it could
    /// be told.
    NotInstalled(Option<RemoteOs>),
    /// Something answered, but not as Port Inspector does (its last line of standard error, or
    /// what was wrong with its output).
    Unusable(String),
}

/// The ssh client to run and its leading arguments: `PORT_INSPECTOR_SSH` when set, else the
/// system's `ssh` by absolute path (never through PATH: a tool run as root must not be
/// replaceable by whoever can write a folder early in PATH).
fn ssh_command(chosen: Option<&str>) -> Option<Command> {
    let custom = chosen
        .filter(|c| !c.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| {
            std::env::var_os(SSH_ENV)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned())
        });
    if let Some(custom) = custom {
        let mut words = custom.split_whitespace();
        let mut c = Command::new(words.next()?);
        c.args(words);
        return Some(c);
    }
    if let Some(c) = crate::tools::command("ssh") {
        return Some(c);
    }
    #[cfg(windows)]
    {
        // Windows' OpenSSH client lives in System32\OpenSSH.
        let root = std::env::var_os("SystemRoot")?;
        let p = std::path::PathBuf::from(root).join("System32\\OpenSSH\\ssh.exe");
        if p.is_file() {
            return Some(Command::new(p));
        }
    }
    None
}

/// The ssh command that runs `remote_command` on the machine: batch mode (never a prompt),
/// host keys checked strictly (an unknown or changed key refuses the connection, whatever the
/// user's config says), a connection timeout, keep-alives that notice a dead link, no terminal.
fn ssh_for(
    ssh: Option<&str>,
    machine: &Machine,
    remote_command: &str,
) -> Result<Command, RemoteError> {
    let mut c = ssh_command(ssh).ok_or(RemoteError::NoClient)?;
    c.args([
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        &format!("ConnectTimeout={CONNECT_TIMEOUT_SECS}"),
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=3",
    ]);
    if let Some(p) = machine.port {
        c.args(["-p", &p.to_string()]);
    }
    if let Some(u) = &machine.user {
        c.args(["-l", u]);
    }
    c.arg("--").arg(&machine.host).arg(remote_command);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Ok(c)
}

/// The remote command line: the version first, then `args` (each quoted), in one connection.
fn remote_line(remote: &Remote, args: &[String]) -> String {
    let program = shell_word(remote.program.as_deref().unwrap_or("port-inspector"));
    let mut line = format!("{program} --version && {program}");
    for a in args {
        line.push(' ');
        line.push_str(&shell_word(a));
    }
    line
}

/// Runs `port-inspector ARGS` on the machine and returns its answer, or why there is none.
/// The caller's `args` are typed values it turned into words (a port, a flag, an address); the
/// remote's answer is only returned, never acted on.
///
/// # Errors
/// Why the machine gave no answer (see [`RemoteError`]).
pub fn run(remote: &Remote, args: &[String]) -> Result<Reply, RemoteError> {
    let mut child = ssh_for(
        remote.ssh.as_deref(),
        &remote.machine,
        &remote_line(remote, args),
    )?
    .spawn()
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RemoteError::NoClient
        } else {
            RemoteError::Unreachable(e.to_string())
        }
    })?;
    let stderr = child.stderr.take();
    let err_reader = std::thread::Builder::new()
        .name("ssh-stderr".into())
        .spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stderr {
                let _ = s.take(MAX_STDERR_BYTES).read_to_end(&mut buf);
            }
            buf
        })
        .map_err(|e| RemoteError::Unreachable(e.to_string()))?;
    let mut out = Vec::new();
    let mut too_large = false;
    if let Some(s) = child.stdout.take() {
        let _ = s.take(MAX_ANSWER_BYTES + 1).read_to_end(&mut out);
        too_large = out.len() as u64 > MAX_ANSWER_BYTES;
    }
    if too_large {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| RemoteError::Unreachable(e.to_string()))?;
    let err = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let stderr: Vec<String> = err
        .lines()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .filter(|l| !l.trim().is_empty())
        .collect();
    if too_large {
        return Err(RemoteError::Unusable(format!(
            "its answer was larger than {} MiB",
            MAX_ANSWER_BYTES >> 20
        )));
    }
    let code = status.code().unwrap_or(-1);
    let Some((version, document)) = split_version(&out) else {
        return Err(classify_failure(remote, code, &stderr));
    };
    Ok(Reply {
        version,
        document,
        exit_code: code,
        stderr,
    })
}

/// The version line (`port-inspector X …`) and what follows it; `None` when no line of the
/// output is one (the program did not run).
fn split_version(out: &[u8]) -> Option<(RemoteVersion, Vec<u8>)> {
    let mut start = 0;
    // A login script may print a line or two first; the version line is among the first few.
    for _ in 0..16 {
        let rest = out.get(start..)?;
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i);
        let line = String::from_utf8_lossy(&rest[..end]);
        let line = line.trim_end_matches('\r');
        if let Some(v) = line.strip_prefix("port-inspector ") {
            let version = v.split_whitespace().next().unwrap_or_default().to_owned();
            return Some((
                RemoteVersion {
                    version,
                    line: line.to_owned(),
                },
                rest.get(end + 1..).unwrap_or_default().to_vec(),
            ));
        }
        if end >= rest.len() {
            return None;
        }
        start += end + 1;
    }
    None
}

/// Why there was no version line: ssh's own failure (exit 255, read from its messages), a
/// missing program (exit 126/127, or cmd's "is not recognized"), or something else.
fn classify_failure(remote: &Remote, code: i32, stderr: &[String]) -> RemoteError {
    let all = stderr.join("\n");
    let last = stderr.last().cloned().unwrap_or_default();
    if code == 255 {
        if all.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || all.contains("POSSIBLE DNS SPOOFING")
            || (all.contains("Host key for") && all.contains("has changed"))
        {
            return RemoteError::HostKeyChanged;
        }
        if all.contains("Host key verification failed") || all.contains("host key is known") {
            return RemoteError::HostKeyUnknown;
        }
        if all.contains("Permission denied") || all.contains("Too many authentication failures") {
            return RemoteError::LoginRefused(last);
        }
        return RemoteError::Unreachable(last);
    }
    if code == 127
        || code == 126
        || all.contains("is not recognized as an internal or external command")
    {
        return RemoteError::NotInstalled(remote_os(remote.ssh.as_deref(), &remote.machine));
    }
    RemoteError::Unusable(if last.is_empty() {
        format!("it printed no version and exited with {code}")
    } else {
        last
    })
}

/// The machine's OS, asked with `uname -s` and `/etc/os-release` (read here, never shown: only
/// the kind is kept); `None` when it cannot be told.
fn remote_os(ssh: Option<&str>, machine: &Machine) -> Option<RemoteOs> {
    let mut c = ssh_for(
        ssh,
        machine,
        "uname -s 2>/dev/null || echo Windows; cat /etc/os-release 2>/dev/null",
    )
    .ok()?;
    let out = c.output().ok()?;
    if out.status.code() == Some(255) {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(64 << 10)]).into_owned();
    Some(os_from(&text)).flatten()
}

/// The OS kind from `uname -s` followed by an os-release file.
#[must_use]
pub fn os_from(text: &str) -> Option<RemoteOs> {
    let first = text.lines().next().unwrap_or_default().trim();
    match first {
        "Darwin" => return Some(RemoteOs::MacOs),
        "Linux" => {}
        f if f.starts_with("Windows") || f.starts_with("MINGW") || f.starts_with("MSYS") => {
            return Some(RemoteOs::Windows);
        }
        _ => return None,
    }
    let ids: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("ID=").or_else(|| l.strip_prefix("ID_LIKE=")))
        .flat_map(|v| {
            v.trim_matches('"')
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let has = |names: &[&str]| ids.iter().any(|i| names.contains(&i.as_str()));
    Some(if has(&["debian", "ubuntu"]) {
        RemoteOs::Debian
    } else if has(&[
        "suse",
        "opensuse",
        "sles",
        "opensuse-leap",
        "opensuse-tumbleweed",
    ]) {
        RemoteOs::Suse
    } else if has(&["fedora", "rhel", "centos", "rocky", "almalinux"]) {
        RemoteOs::Fedora
    } else {
        RemoteOs::Linux
    })
}

/// Starts `port-inspector ARGS` on the machine for a stream of answers (one JSON object a
/// line, as `watch --json` writes): the child ssh with its standard output to read.
///
/// # Errors
/// No ssh client, or it could not be started.
pub fn spawn(remote: &Remote, args: &[String]) -> Result<std::process::Child, RemoteError> {
    ssh_for(
        remote.ssh.as_deref(),
        &remote.machine,
        &remote_line(remote, args),
    )?
    .spawn()
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RemoteError::NoClient
        } else {
            RemoteError::Unreachable(e.to_string())
        }
    })
}

/// After a streamed run ended: why, when it never said its version (as [`run`] would say).
#[must_use]
pub fn stream_failure(remote: &Remote, code: i32, stderr: &[String]) -> RemoteError {
    classify_failure(remote, code, stderr)
}

/// Reads the version line of a stream (`port-inspector X …`), the first line of its output.
#[must_use]
pub fn version_of_line(line: &str) -> Option<RemoteVersion> {
    split_version(line.as_bytes()).map(|(v, _)| v)
}

/// Every string in `v` (and every key) with its control characters escaped, as `text::clean`
/// shows them: what a view shows of a remote's answer (the JSON a user saves stays exact).
#[must_use]
pub fn cleaned(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(crate::text::clean(&s).into_owned()),
        Value::Array(a) => Value::Array(a.into_iter().map(cleaned).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (crate::text::clean(&k).into_owned(), cleaned(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Why a machine's answer could not be had as a typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskError {
    /// No answer at all (see [`RemoteError`]).
    Remote(RemoteError),
    /// The remote refused the arguments (exit 2); its own line (outside text).
    Refused(String),
    /// It answered, but not with JSON this version reads: its version, and what was wrong.
    Unreadable {
        /// The version it said it is (outside text).
        version: String,
        /// What could not be read.
        why: String,
    },
    /// The user cancelled before the answer came (the ssh session ends on its own).
    Cancelled,
}

/// Runs `port-inspector ARGS --json` on the machine and reads the answer as a `T` with every
/// string's control characters escaped (for the window, whose words are made here).
///
/// # Errors
/// Why there is no typed answer (see [`AskError`]).
pub fn ask_cleaned<T: serde::de::DeserializeOwned>(
    remote: &Remote,
    mut args: Vec<String>,
) -> Result<(Reply, T), AskError> {
    args.push("--json".to_owned());
    let reply = run(remote, &args).map_err(AskError::Remote)?;
    if reply.exit_code == 2 {
        let why = reply
            .stderr
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("port-inspector: error: "))
            .unwrap_or("it refused the arguments");
        return Err(AskError::Refused(why.to_owned()));
    }
    let unreadable = |why: String| AskError::Unreadable {
        version: reply.version.version.clone(),
        why: why.chars().take(160).collect(),
    };
    let value: serde_json::Value =
        serde_json::from_slice(&reply.document).map_err(|e| unreadable(e.to_string()))?;
    let typed = serde_json::from_value(cleaned(value)).map_err(|e| unreadable(e.to_string()))?;
    Ok((reply, typed))
}

/// The words of `list` for the window's live table: what holds a port without a peer (the
/// default), or every socket with `connections_too`.
#[must_use]
pub fn list_words(connections_too: bool) -> Vec<String> {
    let mut words = vec!["list".to_owned()];
    if connections_too {
        words.push("--all".to_owned());
    }
    words
}

/// The words of `check` (and `watch`'s target) for `target`, as the remote's `check` reads
/// them: `HOST:PORT` (or `*:PORT`) and one flag per option that differs from the default.
#[must_use]
pub fn check_words(target: &crate::Target) -> Vec<String> {
    let mut words = vec!["check".to_owned(), target.display_addr()];
    let o = &target.options;
    let flags = [
        (target.protocol == crate::Protocol::Udp, "--udp"),
        (target.family == crate::Family::Ipv4, "-4"),
        (target.family == crate::Family::Ipv6, "-6"),
        (o.reuse_address, "--reuseaddr"),
        (o.reuse_port, "--reuseport"),
        (o.exclusive_address_use, "--exclusive"),
        (!o.listen, "--no-listen"),
    ];
    words.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_owned()));
    if let Some(v) = o.v6_only {
        words.extend([
            "--v6only".to_owned(),
            if v { "on" } else { "off" }.to_owned(),
        ]);
    }
    // Only where a backlog applies: `check` refuses it with --udp and with --no-listen.
    if target.protocol == crate::Protocol::Tcp && o.listen {
        words.extend(["--backlog".to_owned(), o.backlog.to_string()]);
    }
    words
}

/// One row of `list --json` as the remote wrote it: the socket and every process holding it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ListRow {
    protocol: crate::Protocol,
    family: crate::Family,
    local: std::net::SocketAddr,
    port: u16,
    remote: Option<std::net::SocketAddr>,
    state: crate::owners::SockState,
    v6_only: Option<bool>,
    inode: u64,
    user: Option<String>,
    uid: Option<u32>,
    note: Option<crate::owners::OwnerNote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder: Option<crate::owners::holders::KnownHolder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reuse_port: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kernel: Option<crate::owners::KernelHolder>,
    /// The device the socket is bound to (SO_BINDTODEVICE, a VRF, an IPv6 scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device: Option<crate::owners::Device>,
    owners: Vec<ListProcess>,
}

/// One process of a [`ListRow`].
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ListProcess {
    pid: u32,
    process: Option<String>,
    path: Option<String>,
    command: Option<String>,
    user: Option<String>,
    #[serde(default)]
    ancestry: Vec<crate::owners::Ancestor>,
    managed_by: Option<crate::owners::ManagedBy>,
}

impl ListRow {
    /// The row as the table the text view draws: its first process in full, every PID.
    #[must_use]
    pub fn owner(&self) -> crate::owners::Owner {
        let first = self.owners.first();
        crate::owners::Owner {
            pid: first.map(|p| p.pid),
            pids: self.owners.iter().map(|p| p.pid).collect(),
            process: first.and_then(|p| p.process.as_deref()).map(Into::into),
            path: first.and_then(|p| p.path.as_deref()).map(Into::into),
            cmdline: first.and_then(|p| p.command.as_deref()).map(Into::into),
            user: first
                .and_then(|p| p.user.as_deref())
                .or(self.user.as_deref())
                .map(Into::into),
            uid: self.uid,
            protocol: self.protocol,
            family: self.family,
            local: self.local,
            remote: self.remote,
            state: self.state,
            v6_only: self.v6_only,
            inode: self.inode,
            note: self.note,
            holder: self.holder.clone().map(Box::new),
            reuse_port: self.reuse_port,
            ancestry: first.map(|p| p.ancestry.clone()).unwrap_or_default().into(),
            managed_by: first.and_then(|p| p.managed_by.clone()),
            kernel: self.kernel.clone().map(std::sync::Arc::new),
            device: self.device.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_parse() {
        let m = Machine::parse("admin@web-01:2222").unwrap();
        assert_eq!(m.user.as_deref(), Some("admin"), "user");
        assert_eq!(m.host, "web-01", "host");
        assert_eq!(m.port, Some(2222), "port");
        let m = Machine::parse("[::1]:22").unwrap();
        assert_eq!((m.host.as_str(), m.port), ("::1", Some(22)), "v6 with port");
        let m = Machine::parse("fe80::1").unwrap();
        assert_eq!((m.host.as_str(), m.port), ("fe80::1", None), "bare v6");
        assert_eq!(
            Machine::parse("u@[::1]:22").unwrap().to_string(),
            "u@[::1]:22",
            "round trip"
        );
        for bad in [
            "-oProxyCommand=x",
            "a b",
            "x;rm",
            "h:0",
            "h:99999",
            "@h",
            "$(id)",
            "",
        ] {
            assert!(Machine::parse(bad).is_err(), "{bad} refused");
        }
    }

    #[test]
    fn a_target_becomes_the_words_check_reads() {
        let mut t = crate::Target::tcp("", 8080);
        t.options.v6_only = Some(false);
        t.protocol = crate::Protocol::Udp;
        assert_eq!(
            check_words(&t),
            ["check", "*:8080", "--udp", "--v6only", "off",],
            "all interfaces, UDP (no backlog: check refuses one with --udp), v6only off"
        );
        let mut t = crate::Target::tcp("", 8080);
        t.options.backlog = 5;
        assert_eq!(
            check_words(&t)[2..],
            ["--backlog", "5"],
            "a listening TCP check keeps its backlog"
        );
        t.options.listen = false;
        assert_eq!(
            check_words(&t)[2..],
            ["--no-listen"],
            "no backlog with --no-listen"
        );
        let t = crate::Target::tcp("::1", 80);
        assert_eq!(check_words(&t)[1], "[::1]:80", "v6 in brackets");
    }

    #[test]
    fn the_version_line_is_found() {
        let (v, doc) =
            split_version(b"hello\nport-inspector 0.1.0 (commit x)\n{\"a\":1}\n").unwrap();
        assert_eq!(v.version, "0.1.0", "version");
        assert_eq!(doc, b"{\"a\":1}\n", "document");
        assert!(split_version(b"sh: 1: x: not found\n").is_none(), "none");
    }

    #[test]
    fn os_release_names_the_package() {
        assert_eq!(
            os_from("Linux\nID=ubuntu\nID_LIKE=debian\n"),
            Some(RemoteOs::Debian),
            "deb"
        );
        assert_eq!(
            os_from("Linux\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"),
            Some(RemoteOs::Fedora),
            "rpm"
        );
        assert_eq!(
            os_from("Linux\nID=opensuse-leap\n"),
            Some(RemoteOs::Suse),
            "suse"
        );
        assert_eq!(os_from("Linux\nID=arch\n"), Some(RemoteOs::Linux), "other");
        assert_eq!(os_from("Darwin\n"), Some(RemoteOs::MacOs), "mac");
        assert_eq!(os_from("\n"), None, "unknown");
    }
}
