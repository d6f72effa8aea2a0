//! Well-known holders (container proxies, WSL relays, portproxy, http.sys, SSH forwards): matched
//! on an owner's process name, PID and command line from the data in `assets/holders.json`, so
//! the diagnosis can say what the holder really is and which command shows more.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::owners::Owner;

/// Which well-known holder it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    /// docker-proxy, rootlesskit, vpnkit, pasta …: a container engine's port proxy.
    ContainerProxy,
    /// A container runtime's helper (conmon, rootlessport, pasta …) holding a published port
    /// bound but not listening: the port is reserved for a container (Podman's reservations),
    /// invisible to `ss -l` and every listener table.
    ContainerReservation,
    /// WSL's relay of a Linux distribution's port to Windows.
    WslRelay,
    /// The IP Helper service holding a netsh portproxy rule's port.
    Portproxy,
    /// http.sys, the Windows kernel HTTP server (PID 4).
    HttpSys,
    /// An SSH session forwarding the port.
    SshForward,
    /// A program that listens for a service and starts it on demand: `systemd-socket-activate`,
    /// inetd, xinetd.
    SocketActivator,
    /// systemd (PID 1) listening for a `.socket` unit, named by `systemctl list-sockets`.
    SocketUnit,
}

#[derive(Debug, Clone, Deserialize)]
struct Entry {
    kind: HolderKind,
    names: Vec<String>,
    #[serde(default)]
    cmdline: Vec<String>,
    #[serde(default)]
    pids: Vec<u32>,
    /// Only a TCP socket bound but neither listening nor connected matches.
    #[serde(default)]
    bound_only: bool,
    what: String,
    advice: String,
    command: String,
}

static TABLE: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    // Shipped inside the binary and parsed by a unit test, so failure here is a build bug.
    serde_json::from_str(include_str!("../../assets/holders.json"))
        .expect("assets/holders.json is valid (checked by holders tests)")
});

/// What a well-known holder is, with what to do and the command that shows more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownHolder {
    /// Whether the evidence proves it (its executable is that program, a system file owned by
    /// root, and its role in the command line or process tree fits); `false` means it only
    /// carries the name.
    #[serde(default)]
    pub verified: bool,
    /// Why it is not proven, when it is not.
    #[serde(default)]
    pub unverified_why: Option<String>,
    /// Which holder.
    pub kind: HolderKind,
    /// What it is, in plain words.
    pub what: String,
    /// What to do.
    pub advice: String,
    /// The command that shows more (port and PID filled in).
    pub command: String,
    /// Details read from its command line (e.g. the container address a docker-proxy forwards to).
    pub detail: Option<String>,
}

impl KnownHolder {
    /// The kind in words: `container proxy`, `WSL relay` …
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            HolderKind::ContainerProxy => "container proxy",
            HolderKind::ContainerReservation => "container port reservation",
            HolderKind::WslRelay => "WSL relay",
            HolderKind::Portproxy => "netsh portproxy (IP Helper service)",
            HolderKind::HttpSys => "http.sys (Windows kernel HTTP server)",
            HolderKind::SshForward => "SSH port forward",
            HolderKind::SocketActivator => "socket activator",
            HolderKind::SocketUnit => "systemd socket unit",
        }
    }
}

/// Folders whose files only an administrator installs.
const SYSTEM_DIRS: [&str; 9] = [
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/libexec/",
    "/usr/lib/",
    "/bin/",
    "/sbin/",
    "/usr/local/bin/",
    "C:\\Windows\\",
    "C:\\Program Files",
];

/// Why the executable behind `o` does not prove it is the program `names` call it, or `None`
/// when it does: the file is named like the program, lies in a system folder and (on Unix) is
/// owned by root.
fn executable_doubt(o: &Owner, names: &[String]) -> Option<String> {
    let Some(path) = o.path.as_deref() else {
        return Some("its executable could not be read".into());
    };
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let file = file.strip_suffix(" (deleted)").unwrap_or(file);
    if !names.iter().any(|n| n.eq_ignore_ascii_case(file)) {
        return Some(format!("it runs {path}"));
    }
    if !SYSTEM_DIRS.iter().any(|d| {
        path.to_ascii_lowercase()
            .starts_with(&d.to_ascii_lowercase())
    }) {
        return Some(format!("{path} is not in a system folder"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        // Through /proc/PID/exe where there is one: the very file the process runs, even when it
        // lives in another mount namespace or was replaced since.
        let file = o
            .pid
            .map(|p| std::path::PathBuf::from(format!("/proc/{p}/exe")))
            .filter(|p| p.exists())
            .unwrap_or_else(|| std::path::PathBuf::from(path));
        match std::fs::metadata(file) {
            Ok(m) if m.uid() == 0 => {}
            Ok(m) => return Some(format!("{path} belongs to uid {}, not root", m.uid())),
            Err(_) => return Some(format!("{path} could not be inspected")),
        }
    }
    None
}

/// Recognises `o` as a well-known holder, if it is one. A name match alone gives an unverified
/// holder ("claims to be"); a daemon's own listener (sshd's port 22) is not a forward at all.
#[must_use]
pub fn identify(o: &Owner) -> Option<KnownHolder> {
    let name = o.process.as_deref()?;
    let cmd = o.cmdline.as_deref().unwrap_or("");
    let port = o.local.port();
    // The name first: it rules out nearly every process before the command line is looked at.
    let e = TABLE.iter().find(|e| {
        e.names.iter().any(|n| n.eq_ignore_ascii_case(name))
            && (e.pids.is_empty() || o.pid.is_some_and(|p| e.pids.contains(&p)))
            && (!e.bound_only || o.state == crate::owners::SockState::BoundOnly)
            && (e.cmdline.is_empty() || {
                let lower = cmd.to_lowercase();
                e.cmdline.iter().any(|c| lower.contains(c))
            })
    })?;
    let pid = o.pid.map_or_else(String::new, |p| p.to_string());
    // systemd's own socket: named only when systemctl names its unit (proven or silent).
    let unit = if e.kind == HolderKind::SocketUnit {
        let listed = crate::tools::output(
            "systemctl",
            &[
                "list-sockets",
                "--all",
                "--no-legend",
                "--full",
                "--no-pager",
            ],
        )?;
        Some(socket_unit(&listed, o.local)?)
    } else {
        None
    };
    let forward = (e.kind == HolderKind::SshForward)
        .then(|| ssh_forward(cmd, port))
        .flatten();
    if e.kind == HolderKind::SshForward {
        // The ssh client forwards only the ports its command line names; sshd forwards in its
        // per-session processes, whose parent is the daemon. The daemon's own listener is neither.
        let session = name.starts_with("sshd")
            && o.pid
                .and_then(crate::owners::parent_name)
                .is_some_and(|p| p.starts_with("sshd"));
        if forward.is_none() && !session {
            return None;
        }
    }
    // PID 4 is the kernel on Windows: nothing can pose as it.
    let doubt = if e.kind == HolderKind::HttpSys {
        None
    } else {
        executable_doubt(o, &e.names)
    };
    Some(KnownHolder {
        verified: doubt.is_none(),
        unverified_why: doubt,
        kind: e.kind,
        what: e.what.clone(),
        advice: e
            .advice
            .replace("{port}", &port.to_string())
            .replace("{address}", &o.local.ip().to_string()),
        command: e
            .command
            .replace("{port}", &port.to_string())
            .replace("{pid}", &pid)
            .replace("{unit}", unit.as_ref().map_or("", |u| u.unit.as_str())),
        detail: (e.kind == HolderKind::ContainerProxy)
            .then(|| docker_proxy_target(cmd))
            .flatten()
            .or_else(|| {
                (e.kind == HolderKind::ContainerReservation)
                    .then(|| reserved_for(o, cmd))
                    .flatten()
            })
            .or(forward)
            .or_else(|| unit.as_ref().map(SocketUnit::detail))
            .or_else(|| {
                (e.kind == HolderKind::SocketActivator)
                    .then(|| activated_command(cmd).or_else(|| superserver_service(o, name, cmd)))
                    .flatten()
            })
            .or_else(|| windows_detail(e.kind, port)),
    })
}

/// On Windows, what `netsh` says about the port for portproxy and http.sys holders.
#[cfg(windows)]
fn windows_detail(kind: HolderKind, port: u16) -> Option<String> {
    use crate::facts::netsh;
    let run = |args: &[&str]| crate::tools::output("netsh", args);
    match kind {
        HolderKind::Portproxy => {
            let rules: Vec<String> =
                netsh::parse_portproxy(&run(&["interface", "portproxy", "show", "all"])?)
                    .into_iter()
                    .filter(|r| r.listen_port == port)
                    .map(|r| {
                        format!(
                            "{}:{} -> {}:{}",
                            r.listen_address, r.listen_port, r.connect_address, r.connect_port
                        )
                    })
                    .collect();
            (!rules.is_empty()).then(|| format!("portproxy rule {}", rules.join(", ")))
        }
        HolderKind::HttpSys => {
            let queues: Vec<String> = netsh::parse_http_servicestate(&run(&[
                "http",
                "show",
                "servicestate",
                "view=requestq",
            ])?)
            .into_iter()
            .filter(|q| q.uses_port(port))
            .map(|q| format!("{} (PIDs {:?}): {}", q.name, q.pids, q.urls.join(" ")))
            .collect();
            (!queues.is_empty()).then(|| format!("http.sys queue {}", queues.join("; ")))
        }
        _ => None,
    }
}

#[cfg(not(windows))]
fn windows_detail(_kind: HolderKind, _port: u16) -> Option<String> {
    None
}

fn arg_after<'a>(words: &[&'a str], flag: &str) -> Option<&'a str> {
    words
        .iter()
        .position(|w| *w == flag)
        .and_then(|i| words.get(i + 1))
        .copied()
}

/// The container a reservation is for: conmon's own command line names it (`-n NAME`, with
/// `-c ID`); for another helper, `podman ps --format json` names the container publishing the
/// port, asked only when podman is installed and the holder runs as this very user (podman
/// lists the containers of the user who runs it, and is never run as another).
fn reserved_for(o: &Owner, cmd: &str) -> Option<String> {
    if let Some((name, id)) = conmon_container(cmd) {
        return Some(match id {
            Some(id) => format!("reserves it for container {name} ({})", short_id(&id)),
            None => format!("reserves it for container {name}"),
        });
    }
    #[cfg(unix)]
    {
        let me = rustix::process::geteuid().as_raw();
        if o.uid != Some(me) || crate::tools::find("podman").is_none() {
            return None;
        }
        let listed = crate::tools::output("podman", &["ps", "--format", "json"])?;
        let (name, id) = podman_publisher(&listed, o.local.port(), o.protocol)?;
        Some(format!(
            "reserves it for container {name} ({}), which publishes port {} (podman ps)",
            short_id(&id),
            o.local.port()
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = o;
        None
    }
}

/// The first 12 characters of a container id, as the runtimes print it.
fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// From conmon's command line: the container's name (`-n`/`--name`) and id (`-c`/`--cid`).
#[must_use]
pub fn conmon_container(cmdline: &str) -> Option<(String, Option<String>)> {
    let w: Vec<&str> = cmdline.split_whitespace().collect();
    if w.first()?.rsplit('/').next() != Some("conmon") {
        return None;
    }
    let value = |short: &str, long: &str| {
        arg_after(&w, short)
            .or_else(|| arg_after(&w, long))
            .or_else(|| {
                w.iter()
                    .find_map(|x| x.strip_prefix(long).and_then(|v| v.strip_prefix('=')))
            })
            .map(str::to_owned)
    };
    Some((value("-n", "--name")?, value("-c", "--cid")))
}

/// From `podman ps --format json`: the name and id of the running container that publishes
/// `port` for `protocol` (a mapping's `range` covers `host_port` and the ports after it).
#[must_use]
pub fn podman_publisher(
    json: &str,
    port: u16,
    protocol: crate::target::Protocol,
) -> Option<(String, String)> {
    #[derive(Deserialize)]
    struct Mapping {
        host_port: u16,
        #[serde(default)]
        range: Option<u16>,
        #[serde(default)]
        protocol: String,
    }
    #[derive(Deserialize)]
    struct Container {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Names", default)]
        names: Vec<String>,
        #[serde(rename = "Ports", default)]
        ports: Option<Vec<Mapping>>,
    }
    let want = match protocol {
        crate::target::Protocol::Tcp => "tcp",
        crate::target::Protocol::Udp => "udp",
    };
    let listed: Vec<Container> = serde_json::from_str(json).ok()?;
    listed.into_iter().find_map(|c| {
        let hit = c.ports.as_ref()?.iter().any(|m| {
            let last = u32::from(m.host_port) + u32::from(m.range.unwrap_or(1).max(1)) - 1;
            m.protocol.eq_ignore_ascii_case(want)
                && (u32::from(m.host_port)..=last).contains(&u32::from(port))
        });
        hit.then(|| {
            (
                c.names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| short_id(&c.id).to_owned()),
                c.id.clone(),
            )
        })
    })
}

/// From a docker-proxy command line: `forwards to container 172.17.0.2:80`.
#[must_use]
pub fn docker_proxy_target(cmdline: &str) -> Option<String> {
    let w: Vec<&str> = cmdline.split_whitespace().collect();
    let ip = arg_after(&w, "-container-ip")?;
    let port = arg_after(&w, "-container-port")?;
    Some(format!("forwards to container {ip}:{port}"))
}

/// A `.socket` unit systemd listens for, and the units it starts (`ACTIVATES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketUnit {
    /// `cups.socket`.
    pub unit: String,
    /// `cups.service` (empty for `Accept=yes` units, which start one instance per connection).
    pub activates: Vec<String>,
}

impl SocketUnit {
    fn detail(&self) -> String {
        if self.activates.is_empty() {
            format!("is socket unit {}", self.unit)
        } else {
            format!(
                "is socket unit {}, which starts {}",
                self.unit,
                self.activates.join(", ")
            )
        }
    }
}

/// The unit listening on `local`, from `systemctl list-sockets --all --no-legend --full`: one
/// line per listening address, `LISTEN UNIT ACTIVATES…` separated by spaces (a path or a
/// netlink family in LISTEN may hold spaces, an address never does; the unit is the first word
/// ending in `.socket`). Only an address equal to `local` matches.
#[must_use]
pub fn socket_unit(table: &str, local: std::net::SocketAddr) -> Option<SocketUnit> {
    table.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let listen: std::net::SocketAddr = words.next()?.parse().ok()?;
        let same = listen.port() == local.port()
            && listen.ip().to_canonical() == local.ip().to_canonical();
        if !same {
            return None;
        }
        let unit = words.find(|w| w.ends_with(".socket"))?.to_owned();
        let activates = words
            .map(|w| w.trim_end_matches(',').to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        Some(SocketUnit { unit, activates })
    })
}

/// From a `systemd-socket-activate` command line, the program it starts and when: on the first
/// connection, taking over this very process and socket; with `--accept`, one for each. Its options come before the program
/// (those that take a value as the next word: `-l`, `-E`; `--listen=…` and the like are one
/// word); `None` for inetd, whose services are in its configuration, not its command line.
#[must_use]
pub fn activated_command(cmdline: &str) -> Option<String> {
    let mut words = cmdline.split_whitespace();
    let first = words.next()?;
    if first.rsplit('/').next() != Some("systemd-socket-activate") {
        return None;
    }
    let mut rest: Vec<&str> = Vec::new();
    let mut skip_value = false;
    let mut accept = false;
    for w in words {
        if !rest.is_empty() {
            rest.push(w);
        } else if skip_value {
            skip_value = false;
        } else if matches!(w, "-l" | "-E" | "--listen" | "--setenv" | "--fdname") {
            skip_value = true;
        } else if w == "--" {
            // The next word is the program.
            skip_value = false;
        } else if !w.starts_with('-') {
            rest.push(w);
        } else {
            accept |= w == "--accept" || (!w.starts_with("--") && w.contains('a'));
        }
    }
    let program = rest.join(" ");
    (!rest.is_empty()).then(|| {
        if accept {
            format!("starts {program} for each connection")
        } else {
            format!(
                "starts {program} on the first connection, which then holds this socket in the same process"
            )
        }
    })
}

/// The most of a configuration file read (inetd.conf, a file of xinetd.d, /etc/services).
const MAX_CONF: u64 = 1 << 20;

/// `path` as process `pid` sees it: through its root folder where the OS has one
/// (`/proc/PID/root` on Linux), else as it is.
fn seen_by(pid: Option<u32>, path: &str) -> String {
    match pid.and_then(|p| crate::platform::Os::current().process_root(p)) {
        Some(root) => format!("{root}{path}"),
        None => path.to_owned(),
    }
}

/// A file as the holder sees it (through `/proc/PID/root`, so a superserver in a container or
/// another mount namespace is read from its own files), at most [`MAX_CONF`] bytes.
fn read_as_seen_by(pid: Option<u32>, path: &str) -> Option<String> {
    use std::io::Read as _;
    let full = seen_by(pid, path);
    let mut text = String::new();
    std::fs::File::open(full)
        .ok()?
        .take(MAX_CONF)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// What an inetd or xinetd holder starts for this port, read from its configuration: inetd's
/// file is the last argument of its command line that is an absolute path, else
/// `/etc/inetd.conf`; xinetd's is `-f FILE`, else `/etc/xinetd.conf`, with the folders its
/// `includedir` names. `None` when no entry names the port (proven or silent).
fn superserver_service(o: &Owner, name: &str, cmd: &str) -> Option<String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let services = read_as_seen_by(o.pid, "/etc/services").unwrap_or_default();
    let port = o.local.port();
    if name.eq_ignore_ascii_case("inetd") {
        let file = words
            .iter()
            .skip(1)
            .rev()
            .find(|w| w.starts_with('/'))
            .copied()
            .unwrap_or("/etc/inetd.conf");
        let conf = read_as_seen_by(o.pid, file)?;
        let found = inetd_service(&conf, port, o.protocol, &services)?;
        return Some(format!("{found} ({file})"));
    }
    let main = arg_after(&words, "-f").unwrap_or("/etc/xinetd.conf");
    let mut files = vec![(main.to_owned(), read_as_seen_by(o.pid, main)?)];
    let dirs: Vec<String> = files[0]
        .1
        .lines()
        .filter_map(|l| l.trim().strip_prefix("includedir"))
        .map(|d| d.trim().to_owned())
        .collect();
    for dir in dirs {
        let seen = seen_by(o.pid, &dir);
        let Ok(entries) = std::fs::read_dir(seen) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            // xinetd skips files with a dot or ending in ~ (backups, package leftovers).
            .filter(|n| !n.contains('.') && !n.ends_with('~'))
            .collect();
        names.sort();
        for n in names {
            let path = format!("{}/{n}", dir.trim_end_matches('/'));
            if let Some(text) = read_as_seen_by(o.pid, &path) {
                files.push((path, text));
            }
        }
    }
    files.iter().find_map(|(path, text)| {
        xinetd_service(text, port, o.protocol, &services).map(|f| format!("{f} ({path})"))
    })
}

/// The port of `service` for `protocol` in an `/etc/services` text (or the number itself).
fn service_port(service: &str, proto: &str, services: &str) -> Option<u16> {
    if let Ok(p) = service.parse() {
        return Some(p);
    }
    services.lines().find_map(|l| {
        let l = l.split('#').next()?;
        let mut w = l.split_whitespace();
        let name = w.next()?;
        let (port, p) = w.next()?.split_once('/')?;
        (p == proto && (name == service || w.any(|alias| alias == service)))
            .then(|| port.parse().ok())
            .flatten()
    })
}

fn proto_word(p: crate::target::Protocol) -> &'static str {
    match p {
        crate::target::Protocol::Tcp => "tcp",
        crate::target::Protocol::Udp => "udp",
    }
}

/// The entry of an inetd.conf text (`service socket-type protocol wait user server args…`;
/// the service a name of `/etc/services` or a number, optionally `address:` before it) for
/// `port`: `starts /usr/sbin/in.fingerd for each connection (service finger)`.
#[must_use]
pub fn inetd_service(
    conf: &str,
    port: u16,
    protocol: crate::target::Protocol,
    services: &str,
) -> Option<String> {
    let want = proto_word(protocol);
    conf.lines().find_map(|l| {
        let l = l.trim();
        if l.starts_with('#') {
            return None;
        }
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.len() < 6 {
            return None;
        }
        let service = w[0].rsplit(':').next()?;
        let proto = w[2].trim_end_matches(['4', '6']);
        if !proto.starts_with(want) || service_port(service, want, services)? != port {
            return None;
        }
        // The program, then its argv: argv[0] is left out when it names the program itself
        // (`/usr/sbin/in.tftpd in.tftpd -s`), kept when the program wraps another (tcpd).
        let base = |x: &str| x.rsplit('/').next().unwrap_or(x).to_owned();
        let args = match w.get(6) {
            Some(a0) if base(a0) == base(w[5]) => &w[7..],
            Some(_) => &w[6..],
            None => &[][..],
        };
        let program = std::iter::once(w[5])
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let when = if w[3].starts_with("nowait") {
            "for each connection"
        } else {
            "which then takes over this socket until it exits (wait)"
        };
        Some(format!(
            "starts {program} {when}, as user {} (service {})",
            w[4], w[0]
        ))
    })
}

/// The `service NAME { … }` block of an xinetd text for `port` (its `port`, else its name in
/// `/etc/services`), unless `disable = yes`.
#[must_use]
pub fn xinetd_service(
    text: &str,
    port: u16,
    protocol: crate::target::Protocol,
    services: &str,
) -> Option<String> {
    let want = proto_word(protocol);
    let mut blocks = Vec::new();
    let mut current: Option<(String, Vec<(String, String)>)> = None;
    for l in text.lines().map(str::trim) {
        if let Some(name) = l.strip_prefix("service ") {
            current = Some((name.trim_end_matches('{').trim().to_owned(), Vec::new()));
        } else if l.starts_with('}') {
            blocks.extend(current.take());
        } else if let Some((_, attrs)) = current.as_mut()
            && let Some((k, v)) = l.split_once('=')
        {
            attrs.push((
                k.trim().trim_end_matches(['+', '-']).trim().to_owned(),
                v.trim().to_owned(),
            ));
        }
    }
    blocks.into_iter().find_map(|(name, attrs)| {
        let get = |k: &str| attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        if get("disable") == Some("yes") {
            return None;
        }
        let proto = get("protocol").unwrap_or(match get("socket_type") {
            Some("dgram") => "udp",
            _ => "tcp",
        });
        let p = match get("port") {
            Some(p) => p.parse().ok()?,
            None => service_port(&name, want, services)?,
        };
        if p != port || proto != want {
            return None;
        }
        let server = get("server")?;
        let program = match get("server_args") {
            Some(a) => format!("{server} {a}"),
            None => server.to_owned(),
        };
        let when = if get("wait") == Some("yes") {
            "which then takes over this socket until it exits (wait)"
        } else {
            "for each connection"
        };
        let user = get("user").map_or_else(String::new, |u| format!(", as user {u}"));
        Some(format!("starts {program} {when}{user} (service {name})"))
    })
}

/// From an ssh command line: the forwarding spec that uses `port` (`-L 8080:db:5432`).
#[must_use]
pub fn ssh_forward(cmdline: &str, port: u16) -> Option<String> {
    let w: Vec<&str> = cmdline.split_whitespace().collect();
    let p = port.to_string();
    w.windows(2).find_map(|pair| {
        let (flag, spec) = (pair[0], pair[1]);
        (matches!(flag, "-L" | "-R" | "-D") && spec.split(':').any(|x| x == p))
            .then(|| format!("ssh {flag} {spec}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(name: &str, pid: u32, cmd: &str) -> Owner {
        Owner {
            cmdline: Some(cmd.into()),
            ..crate::owners::test_owner(pid, name, "0.0.0.0:8080", crate::owners::SockState::Listen)
        }
    }

    /// `systemctl list-sockets --all --no-legend --full` as systemd 252 (Debian 12) prints it:
    /// a fixture, since no machine here runs systemd as PID 1.
    const LIST_SOCKETS: &str = "\
/run/dbus/system_bus_socket     dbus.socket                     dbus.service
/run/systemd/journal/stdout     systemd-journald.socket         systemd-journald.service
kobject-uevent 1                systemd-udevd-kernel.socket     systemd-udevd.service
[::]:22                         ssh.socket                      ssh@*.service
127.0.0.1:631                   cups.socket                     cups.service
0.0.0.0:8080                    web.socket                      web.service, web-log.service
";

    #[test]
    fn names_the_socket_unit_systemd_listens_for() {
        let at = |s: &str| s.parse().unwrap();
        assert_eq!(
            socket_unit(LIST_SOCKETS, at("127.0.0.1:631")),
            Some(SocketUnit {
                unit: "cups.socket".into(),
                activates: vec!["cups.service".into()]
            })
        );
        assert_eq!(
            socket_unit(LIST_SOCKETS, at("0.0.0.0:8080"))
                .unwrap()
                .detail(),
            "is socket unit web.socket, which starts web.service, web-log.service"
        );
        assert_eq!(
            socket_unit(LIST_SOCKETS, at("[::]:22")).unwrap().unit,
            "ssh.socket"
        );
        assert_eq!(
            socket_unit(LIST_SOCKETS, at("127.0.0.2:631")),
            None,
            "another address is another socket"
        );
        assert_eq!(socket_unit(LIST_SOCKETS, at("0.0.0.0:631")), None);
    }

    #[test]
    fn reads_the_program_a_socket_activator_starts() {
        assert_eq!(
            activated_command("systemd-socket-activate -l 127.0.0.1:8080 -E X=1 sleep 30"),
            Some(
                "starts sleep 30 on the first connection, which then holds this socket in the same process"
                    .into()
            )
        );
        assert_eq!(
            activated_command(
                "/usr/bin/systemd-socket-activate --listen=[::]:80 -a --inetd cat -n"
            ),
            Some("starts cat -n for each connection".into())
        );
        assert_eq!(
            activated_command("/usr/sbin/inetd -i"),
            None,
            "inetd's are in its file"
        );
        assert_eq!(activated_command("systemd-socket-activate -l 80"), None);
    }

    /// `podman ps --format json` in Podman 4/5's layout (written, not captured: no machine
    /// here runs podman), trimmed to the fields read.
    const PODMAN_PS: &str = r#"[
  {"AutoRemove": false, "Command": ["nginx"], "Id": "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
   "Names": ["web-1"], "Ports": [{"host_ip": "", "container_port": 80, "host_port": 8080, "range": 1, "protocol": "tcp"}],
   "State": "running"},
  {"Id": "aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233", "Names": ["dns"],
   "Ports": [{"host_ip": "127.0.0.1", "container_port": 53, "host_port": 5300, "range": 3, "protocol": "udp"}]},
  {"Id": "bb", "Names": ["quiet"], "Ports": null}
]"#;

    #[test]
    fn names_the_container_a_reservation_is_for() {
        use crate::target::Protocol;
        assert_eq!(
            conmon_container(
                "/usr/bin/conmon --api-version 1 -c 3f2a9c1b7d4e5f60 -u 3f2a9c1b7d4e5f60 -r /usr/bin/crun -n web-1 --exit-dir /run/x"
            ),
            Some(("web-1".into(), Some("3f2a9c1b7d4e5f60".into())))
        );
        assert_eq!(
            conmon_container("conmon --name=db --cid=abc"),
            Some(("db".into(), Some("abc".into())))
        );
        assert_eq!(conmon_container("rootlessport"), None);
        assert_eq!(
            conmon_container("/usr/bin/conmon --version"),
            None,
            "no name"
        );
        let who = |port, p| podman_publisher(PODMAN_PS, port, p).map(|(n, _)| n);
        assert_eq!(who(8080, Protocol::Tcp).as_deref(), Some("web-1"));
        assert_eq!(who(8080, Protocol::Udp), None, "another protocol");
        assert_eq!(
            who(5302, Protocol::Udp).as_deref(),
            Some("dns"),
            "in the range"
        );
        assert_eq!(who(5303, Protocol::Udp), None, "past the range");
        assert_eq!(podman_publisher("not json", 8080, Protocol::Tcp), None);
    }

    #[test]
    fn a_runtime_helper_holding_a_bound_socket_holds_a_reservation() {
        let mut o = owner("conmon", 12, "/usr/bin/conmon -c 3f2a9c1b7d4e5f60 -n web-1");
        o.state = crate::owners::SockState::BoundOnly;
        let h = identify(&o).unwrap();
        assert_eq!(h.kind, HolderKind::ContainerReservation);
        assert_eq!(
            h.detail.as_deref(),
            Some("reserves it for container web-1 (3f2a9c1b7d4e)")
        );
        o.state = crate::owners::SockState::Listen;
        assert_eq!(
            identify(&o).unwrap().kind,
            HolderKind::ContainerProxy,
            "a listening helper forwards"
        );
    }

    const SERVICES: &str =
        "finger\t\t79/tcp\ntftp\t\t69/udp\nhttp-alt\t8080/tcp\twebcache # WWW caching service\n";

    #[test]
    fn names_what_inetd_starts_for_the_port() {
        use crate::target::Protocol;
        let conf = "# inetd.conf\n#finger stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.fingerd\n\
finger\tstream\ttcp\tnowait\tnobody\t/usr/sbin/tcpd\t/usr/sbin/in.fingerd -w\n\
tftp dgram udp4 wait root /usr/sbin/in.tftpd in.tftpd -s /srv/tftp\n\
127.0.0.1:webcache stream tcp6 nowait www /usr/bin/cat cat\n";
        assert_eq!(
            inetd_service(conf, 79, Protocol::Tcp, SERVICES).as_deref(),
            Some(
                "starts /usr/sbin/tcpd /usr/sbin/in.fingerd -w for each connection, as user nobody (service finger)"
            )
        );
        assert_eq!(
            inetd_service(conf, 69, Protocol::Udp, SERVICES).as_deref(),
            Some(
                "starts /usr/sbin/in.tftpd -s /srv/tftp which then takes over this socket until it exits (wait), as user root (service tftp)"
            )
        );
        assert!(
            inetd_service(conf, 8080, Protocol::Tcp, SERVICES).is_some(),
            "an alias with an address"
        );
        assert_eq!(inetd_service(conf, 79, Protocol::Udp, SERVICES), None);
        assert_eq!(inetd_service(conf, 80, Protocol::Tcp, SERVICES), None);
    }

    #[test]
    fn names_what_xinetd_starts_for_the_port() {
        use crate::target::Protocol;
        let conf = "service finger\n{\n\tsocket_type = stream\n\twait = no\n\tuser = nobody\n\tserver = /usr/sbin/in.fingerd\n\tdisable = yes\n}\n\
service echo-alt\n{\n\ttype = UNLISTED\n\tport = 7007\n\tsocket_type = stream\n\tprotocol = tcp\n\twait = no\n\tuser = root\n\tserver = /usr/bin/cat\n\tserver_args = -u\n}\n";
        assert_eq!(
            xinetd_service(conf, 7007, Protocol::Tcp, SERVICES).as_deref(),
            Some("starts /usr/bin/cat -u for each connection, as user root (service echo-alt)")
        );
        assert_eq!(
            xinetd_service(conf, 79, Protocol::Tcp, SERVICES),
            None,
            "disabled"
        );
        assert_eq!(xinetd_service(conf, 7007, Protocol::Udp, SERVICES), None);
    }

    #[test]
    fn recognises_each_kind() {
        let d = identify(&owner(
            "docker-proxy",
            10,
            "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2 -container-port 80",
        ))
        .unwrap();
        assert_eq!(d.kind, HolderKind::ContainerProxy);
        assert!(!d.verified, "no executable seen: only the name matches");
        assert_eq!(d.command, "docker ps --filter publish=8080");
        assert_eq!(
            d.detail.as_deref(),
            Some("forwards to container 172.17.0.2:80")
        );
        assert_eq!(
            identify(&owner("wslrelay.exe", 9, "")).unwrap().kind,
            HolderKind::WslRelay
        );
        assert_eq!(
            identify(&owner(
                "svchost.exe",
                9,
                "svchost.exe -k NetSvcs -p -s iphlpsvc"
            ))
            .unwrap()
            .kind,
            HolderKind::Portproxy
        );
        assert!(
            identify(&owner("svchost.exe", 9, "svchost.exe -k LocalService")).is_none(),
            "other svchost"
        );
        assert_eq!(
            identify(&owner("System", 4, "")).unwrap().kind,
            HolderKind::HttpSys
        );
        assert!(
            identify(&owner("System", 5, "")).is_none(),
            "only PID 4 is http.sys"
        );
        let s = identify(&owner("ssh", 7, "ssh -N -L 8080:db.internal:5432 jump")).unwrap();
        assert_eq!(
            (s.kind, s.detail.as_deref()),
            (HolderKind::SshForward, Some("ssh -L 8080:db.internal:5432"))
        );
        assert!(
            identify(&owner("nginx", 7, "nginx: master")).is_none(),
            "ordinary servers are not special"
        );
    }
}
