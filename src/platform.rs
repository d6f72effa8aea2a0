//! The bind rules that differ per OS, written as plain functions of an `Os` value so every OS's
//! rules are unit-tested on any machine. The diagnosis asks these; it never tests `cfg!` itself.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// An operating system whose bind rules we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    /// Linux.
    Linux,
    /// macOS.
    Macos,
    /// Windows.
    Windows,
}

impl Default for Os {
    fn default() -> Self {
        Self::current()
    }
}

impl std::fmt::Display for Os {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Os::Linux => "linux",
            Os::Macos => "macos",
            Os::Windows => "windows",
        })
    }
}

impl Os {
    /// The name people write: `Linux`, `macOS`, `Windows`.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Macos => "macOS",
            Os::Windows => "Windows",
        }
    }

    /// The command a person pastes to end these processes: `kill 812 900`, or on Windows
    /// `taskkill /PID 812 /PID 900 /F` (forced: a console program has no window to close).
    #[must_use]
    pub fn kill_command(self, pids: &[u32]) -> String {
        let list = |sep: &str| {
            pids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(sep)
        };
        match self {
            Os::Windows => format!("taskkill /PID {} /F", list(" /PID ")),
            Os::Linux | Os::Macos => format!("kill {}", list(" ")),
        }
    }

    /// Whether sockets have SO_REUSEPORT (Linux, macOS); Windows has no such option.
    #[must_use]
    pub fn has_reuse_port(self) -> bool {
        self != Os::Windows
    }

    /// Whether getaddrinfo answers in `EAI_*` numbers of its own (Linux, macOS), not in WSA
    /// numbers (Windows).
    #[must_use]
    pub fn resolver_has_eai_codes(self) -> bool {
        self != Os::Windows
    }

    /// Whether the native error `code` says no descriptor is left: EMFILE (24) or ENFILE (23)
    /// on Linux and macOS. Windows' WSA codes are classified by the catalog.
    #[must_use]
    pub fn is_out_of_descriptors(self, code: i32) -> bool {
        self != Os::Windows && matches!(code, 23 | 24)
    }

    /// Whether `pid` is a process the OS itself is, never to be ended: Windows' System Idle
    /// Process (0) and System (4). (PID 0 and 1 elsewhere are refused for every OS.)
    #[must_use]
    pub fn is_system_pid(self, pid: u32) -> bool {
        self == Os::Windows && matches!(pid, 0 | 4)
    }

    /// The account that sees every process's sockets: `root`, or `Administrator` on Windows.
    #[must_use]
    pub fn admin_account(self) -> &'static str {
        match self {
            Os::Windows => "Administrator",
            Os::Linux | Os::Macos => "root",
        }
    }

    /// The hosts file the resolver reads before DNS.
    #[must_use]
    pub fn hosts_file(self) -> &'static str {
        match self {
            Os::Windows => r"C:\Windows\System32\drivers\etc\hosts",
            Os::Linux | Os::Macos => "/etc/hosts",
        }
    }

    /// Whether sockets have SO_EXCLUSIVEADDRUSE (Windows only).
    #[must_use]
    pub fn has_exclusive_addr_use(self) -> bool {
        self == Os::Windows
    }

    /// Whether this tool reads the OS's NAT rules: netfilter's (nftables, iptables), on Linux.
    #[must_use]
    pub fn reads_nat_rules(self) -> bool {
        self == Os::Linux
    }

    /// How a process is ended when asked nicely: `SIGTERM`, or on Windows `TerminateProcess`.
    #[must_use]
    pub fn end_call(self) -> &'static str {
        match self {
            Os::Windows => "TerminateProcess",
            Os::Linux | Os::Macos => "SIGTERM",
        }
    }

    /// Whether a window needs a display server named in the environment (`DISPLAY`,
    /// `WAYLAND_DISPLAY`): X11 or Wayland, as on Linux; macOS and Windows always have one.
    #[must_use]
    pub fn needs_display_server(self) -> bool {
        self == Os::Linux
    }

    /// The environment variable that names the user's home folder: `HOME`, or `USERPROFILE`.
    #[must_use]
    pub fn home_variable(self) -> &'static str {
        match self {
            Os::Windows => "USERPROFILE",
            Os::Linux | Os::Macos => "HOME",
        }
    }

    /// The folder through which `pid`'s files are seen as it sees them (its own mount
    /// namespace or container): `/proc/PID/root` on Linux; `None` where the OS has none.
    #[must_use]
    pub fn process_root(self, pid: u32) -> Option<String> {
        (self == Os::Linux).then(|| format!("/proc/{pid}/root"))
    }

    /// The process the kernel's own sockets (and http.sys's) are listed under: Windows'
    /// "System", PID 4.
    #[must_use]
    pub fn kernel_pid(self) -> Option<u32> {
        (self == Os::Windows).then_some(4)
    }

    /// Whether services are systemd units in the usual folders (Linux).
    #[must_use]
    pub fn has_systemd_units(self) -> bool {
        self == Os::Linux
    }

    /// The OS this binary runs on.
    #[must_use]
    pub const fn current() -> Self {
        if cfg!(target_os = "windows") {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::Macos
        } else {
            Os::Linux
        }
    }
}

/// Whether this process runs as root (Unix), so a command it prints needs no `sudo`; `false`
/// on Windows, whose commands say "from an Administrator prompt" instead.
#[must_use]
pub fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        rustix::process::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// This process's effective user ID (Unix); `None` on Windows, whose sockets carry no user ID.
#[must_use]
pub fn effective_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        Some(rustix::process::geteuid().as_raw())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Whether this OS refuses an unprivileged bind of `port` on `ip`.
///
/// Linux: below `ip_unprivileged_port_start` without CAP_NET_BIND_SERVICE. macOS (10.14+):
/// below 1024 only on a specific address; the wildcard is allowed. Windows: no privileged ports.
#[must_use]
pub fn privileged_refusal(
    os: Os,
    port: u16,
    ip: Option<IpAddr>,
    unprivileged_start: Option<u16>,
    may_bind_privileged: bool,
) -> bool {
    if port == 0 || may_bind_privileged {
        return false;
    }
    match os {
        Os::Windows => false,
        Os::Linux => port < unprivileged_start.unwrap_or(1024),
        Os::Macos => port < 1024 && !ip.is_some_and(|i| i.is_unspecified()),
    }
}

/// Whether a new IPv6 socket on `::` also takes the IPv4 port, given the option the program sets
/// (`None` = default) and, on Linux, `net.ipv6.bindv6only`.
#[must_use]
pub fn ipv6_is_dual_stack(os: Os, v6_only_option: Option<bool>, bindv6only: Option<bool>) -> bool {
    match v6_only_option {
        Some(v6only) => !v6only,
        None => match os {
            // Windows sockets default to IPV6_V6ONLY on.
            Os::Windows => false,
            Os::Macos => true,
            Os::Linux => bindv6only != Some(true),
        },
    }
}

/// A caution for a bind that worked while other sockets use the same port on other addresses.
#[must_use]
pub fn sharing_warning(os: Os, port: u16, tested: &str, others: &[String]) -> Option<String> {
    if others.is_empty() {
        return None;
    }
    let list = others.join(", ");
    Some(match os {
        Os::Windows => format!(
            "{tested} bound, but port {port} is also held on {list}. Windows lets different processes hold 0.0.0.0:{port} and 127.0.0.1:{port} at once; with SO_REUSEADDR a socket can even take over a live port, and a holder using SO_EXCLUSIVEADDRUSE makes such binds fail with WSAEACCES 10013 rather than 10048. Test the exact address and options your program will use."
        ),
        Os::Linux | Os::Macos => format!(
            "{tested} bound, but port {port} is also held on {list}; a bind on another address of the same port (or on the wildcard) may fail. Test the exact address and options your program will use."
        ),
    })
}

/// How to start a program elevated on one OS. The program's path is always a value of its own
/// (an argument, a wide string), never text inside a script or command line, so a path with
/// quotes, `$( )`, `=` or spaces cannot run code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elevation {
    /// Run `program` (an absolute path) with `args` (Linux: pkexec; macOS: osascript).
    Exec {
        /// The helper, by absolute path.
        program: std::path::PathBuf,
        /// Its arguments, each one argument.
        args: Vec<String>,
    },
    /// Windows: `ShellExecuteW(…, "runas", file, …)`.
    ShellRunas {
        /// The program to start.
        file: String,
    },
}

/// The standard way to start `exe` elevated on `os`: pkexec by absolute path on Linux (the
/// display variables pkexec drops are handed over as `--env NAME=VALUE` arguments that this
/// program applies to itself), the `runas` verb on Windows, an administrator prompt through
/// osascript on macOS, with the path as the script's argument. `Err` names the missing helper.
pub fn elevate_command(
    os: Os,
    exe: &str,
    display_env: &[(String, String)],
    find: &dyn Fn(&str) -> Option<std::path::PathBuf>,
) -> Result<Elevation, String> {
    match os {
        Os::Linux => {
            let program = find("pkexec")
                .ok_or("pkexec is not installed (Debian/Ubuntu: apt install pkexec)")?;
            // `--env` pairs first: the program reads them before anything else.
            let mut args = vec![exe.to_owned()];
            for (k, v) in display_env {
                args.push("--env".into());
                args.push(format!("{k}={v}"));
            }
            Ok(Elevation::Exec { program, args })
        }
        Os::Windows => Ok(Elevation::ShellRunas {
            file: exe.to_owned(),
        }),
        Os::Macos => {
            let program = find("osascript").ok_or("osascript is not available")?;
            Ok(Elevation::Exec {
                program,
                args: vec![
                    "-e".into(),
                    "on run argv".into(),
                    "-e".into(),
                    "do shell script (quoted form of (item 1 of argv)) & \" > /dev/null 2>&1 &\" with administrator privileges".into(),
                    "-e".into(),
                    "end run".into(),
                    exe.to_owned(),
                ],
            })
        }
    }
}

/// Why this program cannot be started again elevated here (pkexec missing …), or `None` when it
/// can: the window offers "Relaunch as administrator" only when the way exists, and otherwise
/// says what is needed.
#[must_use]
pub fn elevation_unavailable() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    elevate_command(
        Os::current(),
        &exe.to_string_lossy(),
        &[],
        &crate::tools::find,
    )
    .err()
}

/// Starts this program again elevated, on the user's click; the current window stays open.
pub fn relaunch_elevated() -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    let vars = [
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "XAUTHORITY",
        "XDG_RUNTIME_DIR",
    ];
    let env: Vec<(String, String)> = vars
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect();
    match elevate_command(
        Os::current(),
        &exe.to_string_lossy(),
        &env,
        &crate::tools::find,
    )
    .map_err(std::io::Error::other)?
    {
        Elevation::Exec { program, args } => std::process::Command::new(program)
            .args(args)
            .spawn()
            .map(|_| ()),
        #[cfg(windows)]
        Elevation::ShellRunas { .. } => crate::winsock::run_elevated(&exe),
        #[cfg(not(windows))]
        Elevation::ShellRunas { .. } => Err(std::io::Error::other("runas exists on Windows only")),
    }
}

/// Whether process `pid` has ended (no such process now); false when it runs or the OS cannot
/// say (a PID reused since reads as running: never "ended" without proof).
#[must_use]
pub fn process_ended(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(p) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        rustix::process::test_kill_process(p) == Err(rustix::io::Errno::SRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Lowers the calling thread's scheduling priority to the lowest (nice 19), and that of the
/// threads it starts after: background work (the window's live socket table, which reads /proc
/// on every core) then yields the CPU to the thread that draws. At nice 10 a frame taken during
/// a refresh still ran up to 20 ms on two cores; the refresh itself barely slows, since the UI
/// thread is idle most of each frame. Linux only, where nice is per thread; elsewhere it does nothing (macOS would
/// lower the whole process).
pub fn background_thread() {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::process::setpriority_process(None, 19);
    }
}

/// Gives the calling thread a descriptor table of its own, holding only standard input, output
/// and error (Linux 5.9 and later; elsewhere, or when the kernel refuses, nothing changes).
/// Threads of one process share one table, and every socket created or closed takes its lock:
/// two scan threads binding side by side spent a sixth of their time waiting on each other
/// there. The copy keeps no other descriptor of the process, so a socket or pipe another thread
/// closes meanwhile is closed at once, as if this thread did not exist (a copy of a released
/// listener would keep its port bound). Only for a thread that uses nothing but the descriptors
/// it opens itself and closes before it ends, as a scan worker.
pub fn private_descriptor_table() {
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    // SAFETY: close_range(3, MAX, CLOSE_RANGE_UNSHARE) gives this thread a private copy of the
    // table and closes descriptors 3 and up in that copy only; the other threads' table is
    // untouched. The callers (the scan workers) hold no descriptor from before this call and
    // open and close their own sockets after it; none crosses to another thread.
    unsafe {
        let _ = libc::syscall(
            libc::SYS_close_range,
            libc::c_uint::from(3u8),
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_UNSHARE,
        );
    }
}

/// Gives the calling thread a credentials record of its own, with exactly the same contents
/// (Linux; elsewhere, or when the kernel refuses, nothing changes). Every descriptor the kernel
/// creates takes a reference on its creator's credentials and drops it when closed; threads of
/// one process share one record, so two scan workers creating and closing a socket per port
/// bounce that one reference count between their cores. Re-setting this thread's capability
/// sets to the values just read makes the kernel give the thread a fresh copy (`capset` always
/// commits a new record, and acts on the calling thread only): no right is gained or lost, the
/// other threads keep theirs, and the scan ran about 6 % faster on two cores for it.
pub fn private_credentials() {
    #[cfg(target_os = "linux")]
    if let Ok(sets) = rustix::thread::capabilities(None) {
        // The same sets back: always allowed by the capability rules (each is a subset of
        // itself). A refusal (a seccomp filter; SELinux for a domain without `setcap`) leaves
        // the shared record, which is only slower.
        let _ = rustix::thread::set_capabilities(None, sets);
    }
}

/// A turn to bind a port again after a collision with another Port Inspector probe: while one
/// process holds the turn for (`protocol`, `port`), every other process of this network namespace
/// that asks for it waits, so many checks of one port at once that refused each other take turns
/// binding again instead of colliding again (400 checks, 100 at once at load 30-60, kept
/// colliding for longer than 1.5 s of rounds). Dropping it ends the turn.
///
/// On Linux the turn is an abstract unix socket named after the target: no file, any user may
/// take it, per network namespace (as ports are), released by the kernel when the process dies
/// however it dies. Elsewhere there is no turn to take and binds go ahead at once, as before.
#[must_use = "the turn ends when this is dropped"]
pub struct BindTurn {
    #[cfg(target_os = "linux")]
    sock: Option<std::os::unix::net::UnixDatagram>,
}

impl BindTurn {
    /// Whether the turn was had (false: not before `until`, cancelled, or no turns on this OS).
    #[must_use]
    pub fn taken(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.sock.is_some()
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }
}

/// Waits for the turn to bind `port` for `protocol` again, until `until` or a cancel at most;
/// then the bind goes ahead without it (a turn only spaces binds out, it never stops one). The
/// holder keeps it for one probe (microseconds), so the wait is short unless that holder is
/// descheduled.
pub fn bind_turn(
    protocol: crate::Protocol,
    port: u16,
    until: std::time::Instant,
    cancel: &crate::probe::CancelToken,
) -> BindTurn {
    #[cfg(target_os = "linux")]
    {
        let proto = match protocol {
            crate::Protocol::Tcp => "tcp",
            crate::Protocol::Udp => "udp",
        };
        turn_named(
            &format!("port-inspector/bind-again/{proto}/{port}"),
            until,
            cancel,
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (protocol, port, until, cancel);
        BindTurn {}
    }
}

/// The turn named `name` (an abstract unix socket's name), as `bind_turn` waits for it.
#[cfg(target_os = "linux")]
fn turn_named(
    name: &str,
    until: std::time::Instant,
    cancel: &crate::probe::CancelToken,
) -> BindTurn {
    use std::os::linux::net::SocketAddrExt as _;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Ok(addr) = SocketAddr::from_abstract_name(name.as_bytes()) else {
        return BindTurn { sock: None };
    };
    let mut nap = std::time::Duration::from_millis(1);
    loop {
        match UnixDatagram::bind_addr(&addr) {
            Ok(sock) => return BindTurn { sock: Some(sock) },
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
            // Unix sockets refused (a sandbox): no turns, binds as before.
            Err(_) => return BindTurn { sock: None },
        }
        if cancel.is_cancelled() || std::time::Instant::now() >= until {
            return BindTurn { sock: None };
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(std::time::Duration::from_millis(8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each OS knows, asked of the value, so every OS's answer is tested on any machine.
    #[test]
    fn each_os_says_what_it_has() {
        let all = [Os::Linux, Os::Macos, Os::Windows];
        let of = |f: fn(Os) -> bool| all.map(f);
        assert_eq!(of(Os::has_exclusive_addr_use), [false, false, true]);
        assert_eq!(of(Os::has_reuse_port), [true, true, false]);
        assert_eq!(of(Os::reads_nat_rules), [true, false, false]);
        assert_eq!(of(Os::needs_display_server), [true, false, false]);
        assert_eq!(of(Os::has_systemd_units), [true, false, false]);
        assert_eq!(
            all.map(Os::end_call),
            ["SIGTERM", "SIGTERM", "TerminateProcess"]
        );
        assert_eq!(all.map(Os::home_variable), ["HOME", "HOME", "USERPROFILE"]);
        assert_eq!(
            all.map(|os| os.process_root(812)),
            [Some("/proc/812/root".to_owned()), None, None]
        );
        assert_eq!(all.map(Os::kernel_pid), [None, None, Some(4)]);
    }

    /// One turn per protocol and port at a time, across threads as across processes (an
    /// abstract unix socket's name is the machine's, not the process's); dropping it ends it.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_turn_to_bind_again_is_had_by_one_at_a_time() {
        use std::time::{Duration, Instant};
        let cancel = crate::probe::CancelToken::new();
        // Names no check and no other copy of the suite asks for: this process's own.
        let name = |what: &str| format!("port-inspector/test/{}/{what}", std::process::id());
        let soon = || Instant::now() + Duration::from_millis(30);
        let first = turn_named(&name("a"), soon(), &cancel);
        assert!(first.taken(), "a free turn is had at once");
        let started = Instant::now();
        let second = turn_named(&name("a"), soon(), &cancel);
        assert!(!second.taken(), "not while another holds it");
        assert!(
            started.elapsed() >= Duration::from_millis(30),
            "waited until the deadline"
        );
        assert!(
            turn_named(&name("b"), soon(), &cancel).taken(),
            "another name is another turn"
        );
        let a = name("a");
        let waiter = std::thread::spawn(move || {
            turn_named(
                &a,
                Instant::now() + Duration::from_secs(10),
                &crate::probe::CancelToken::new(),
            )
            .taken()
        });
        std::thread::sleep(Duration::from_millis(20));
        drop(first);
        assert!(waiter.join().unwrap_or(false), "had once the holder let go");
    }

    /// Each OS's own knowledge, answered for any OS on any machine: one kill command per OS
    /// (the CLI's advice and the window's Copy button say the same), SO_REUSEPORT, resolver
    /// codes, descriptor exhaustion, the system's own PIDs.
    #[test]
    fn each_os_answers_for_itself() {
        assert_eq!(Os::Linux.kill_command(&[812, 900]), "kill 812 900");
        assert_eq!(
            Os::Windows.kill_command(&[812, 900]),
            "taskkill /PID 812 /PID 900 /F"
        );
        assert!(Os::Macos.has_reuse_port() && !Os::Windows.has_reuse_port());
        assert!(Os::Linux.resolver_has_eai_codes() && !Os::Windows.resolver_has_eai_codes());
        assert!(Os::Macos.is_out_of_descriptors(24) && Os::Linux.is_out_of_descriptors(23));
        assert!(!Os::Windows.is_out_of_descriptors(24) && !Os::Linux.is_out_of_descriptors(98));
        assert!(Os::Windows.is_system_pid(4) && !Os::Linux.is_system_pid(4));
        assert_eq!(Os::Linux.hosts_file(), "/etc/hosts");
        assert_eq!(Os::Linux.admin_account(), "root");
        assert_eq!(Os::Macos.admin_account(), "root");
        assert_eq!(Os::Windows.admin_account(), "Administrator");
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn privileged_ports_per_os() {
        assert!(
            privileged_refusal(Os::Linux, 80, ip("0.0.0.0"), Some(1024), false),
            "linux wildcard"
        );
        assert!(
            !privileged_refusal(Os::Linux, 80, ip("127.0.0.1"), Some(80), false),
            "start lowered"
        );
        assert!(
            !privileged_refusal(Os::Linux, 80, ip("127.0.0.1"), Some(1024), true),
            "capability"
        );
        assert!(
            !privileged_refusal(Os::Macos, 80, ip("0.0.0.0"), None, false),
            "mac wildcard ok"
        );
        assert!(
            privileged_refusal(Os::Macos, 80, ip("127.0.0.1"), None, false),
            "mac: a specific address is refused"
        );
        assert!(
            !privileged_refusal(Os::Windows, 80, ip("127.0.0.1"), None, false),
            "windows"
        );
        assert!(
            !privileged_refusal(Os::Linux, 0, ip("127.0.0.1"), Some(1024), false),
            "port 0"
        );
    }

    #[test]
    fn dual_stack_defaults_per_os() {
        assert!(
            ipv6_is_dual_stack(Os::Linux, None, Some(false)),
            "linux default"
        );
        assert!(
            !ipv6_is_dual_stack(Os::Linux, None, Some(true)),
            "bindv6only=1"
        );
        assert!(
            !ipv6_is_dual_stack(Os::Windows, None, None),
            "windows default v6only"
        );
        assert!(
            ipv6_is_dual_stack(Os::Macos, None, None),
            "macos default dual"
        );
        assert!(
            ipv6_is_dual_stack(Os::Windows, Some(false), None),
            "explicit off"
        );
        assert!(
            !ipv6_is_dual_stack(Os::Linux, Some(true), Some(false)),
            "explicit on"
        );
    }

    /// Helpers found at fixed places, as on a typical system.
    #[allow(clippy::unnecessary_wraps)] // the shape `elevate_command` takes
    fn found(name: &str) -> Option<std::path::PathBuf> {
        Some(std::path::PathBuf::from(format!("/usr/bin/{name}")))
    }

    #[test]
    fn elevation_passes_a_hostile_path_as_one_argument_on_every_os() {
        let hostile = "/tmp/a b'c\"$(touch /tmp/pwned)`id`;x=y\\z/port-inspector";
        let env = vec![("DISPLAY".to_owned(), ":0".to_owned())];
        let linux = elevate_command(Os::Linux, hostile, &env, &found).unwrap();
        assert_eq!(
            linux,
            Elevation::Exec {
                program: "/usr/bin/pkexec".into(),
                args: vec![hostile.to_owned(), "--env".into(), "DISPLAY=:0".into()],
            },
            "pkexec by absolute path, the program path first and whole, no env in front"
        );
        let Elevation::Exec { program, args } =
            elevate_command(Os::Macos, hostile, &[], &found).unwrap()
        else {
            panic!("osascript runs as a program");
        };
        assert_eq!(program, std::path::PathBuf::from("/usr/bin/osascript"));
        assert_eq!(
            args.last().map(String::as_str),
            Some(hostile),
            "the path is the argument"
        );
        assert!(
            args[..args.len() - 1].iter().all(|a| !a.contains("pwned")),
            "the path is never inside the script: {args:?}"
        );
        assert_eq!(
            elevate_command(Os::Windows, hostile, &[], &found).unwrap(),
            Elevation::ShellRunas {
                file: hostile.to_owned()
            },
            "ShellExecuteW runas with the path as its own string"
        );
    }

    #[test]
    fn a_missing_helper_is_named() {
        let none = |_: &str| None;
        assert_eq!(
            elevate_command(Os::Linux, "/x", &[], &none).unwrap_err(),
            "pkexec is not installed (Debian/Ubuntu: apt install pkexec)"
        );
    }

    #[test]
    fn sharing_warnings_per_os() {
        let others = vec!["0.0.0.0:8080".to_owned()];
        let w = sharing_warning(Os::Windows, 8080, "127.0.0.1:8080", &others).unwrap();
        assert!(
            w.contains("SO_EXCLUSIVEADDRUSE") && w.contains("10013"),
            "{w}"
        );
        let l = sharing_warning(Os::Linux, 8080, "127.0.0.1:8080", &others).unwrap();
        assert!(
            !l.contains("EXCLUSIVE") && l.contains("exact address"),
            "{l}"
        );
        assert!(
            sharing_warning(Os::Linux, 8080, "x", &[]).is_none(),
            "nothing to warn about"
        );
    }

    /// The fresh credentials record must carry exactly the rights the thread had, no more, no
    /// fewer, also when the thread had lowered its own effective set first (a right that could
    /// come back if the sets were rebuilt from the permitted set), and the other threads keep
    /// theirs.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_private_credentials_record_keeps_exactly_the_threads_rights() {
        use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
        let main_before = capabilities(None).expect("capget");
        std::thread::spawn(|| {
            let mut sets = capabilities(None).expect("capget");
            sets.effective.remove(CapabilitySet::NET_BIND_SERVICE);
            set_capabilities(None, sets).expect("lowering the effective set is always allowed");
            let before = capabilities(None).expect("capget");
            private_credentials();
            let after = capabilities(None).expect("capget");
            assert_eq!(before.effective, after.effective);
            assert_eq!(before.permitted, after.permitted);
            assert_eq!(before.inheritable, after.inheritable);
            assert!(!after.effective.contains(CapabilitySet::NET_BIND_SERVICE));
        })
        .join()
        .expect("thread");
        let main_after = capabilities(None).expect("capget");
        assert_eq!(main_before.effective, main_after.effective);
        assert_eq!(main_before.permitted, main_after.permitted);
    }
}
