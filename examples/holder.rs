//! A process that holds a port, for the tests on every OS (a Windows build runs under Wine, so
//! the tests see a real Windows process as the owner, with its own PID and image name).
//!
//! ```text
//! holder SOCKET... [OPTION...]                 SOCKET: tcp|bound|udp ADDR
//! holder states IP
//! holder receive UNIX_PATH [--for SECS]
//! holder wait [--for SECS]
//! holder service NAME ADDR PORT_FILE        (Windows: run by the service control manager)
//! ```
//!
//! `tcp` listens on ADDR (`127.0.0.1:0`, `[::1]:0`), `bound` binds a TCP socket without
//! listening, `udp` binds a UDP socket; several may be given, made in that order. Once the
//! sockets are set it prints their ports on one line (with children: the ports, then the PIDs of
//! the children, started with the sockets inherited, so the processes share them), then holds
//! them until its standard input closes, it is killed, or SECS pass (600 by default; 0.02 is
//! 20 ms), so a holder left behind by a crashed test ends by itself. Its process name is its
//! file's: a test that wants another runs a link to it named so.
//!
//! Options:
//! - `--child`, `--children N`: one or N such children (`holder wait`).
//! - `--same-port`: each socket after the first binds the first one's port.
//! - `--reuseaddr`, `--reuseport` (Unix), `--v6only on|off`: SO_REUSEADDR, SO_REUSEPORT,
//!   IPV6_V6ONLY on each socket before its bind.
//! - `--device DEV` (Linux): each socket is bound to network device DEV first (SO_BINDTODEVICE).
//! - `--uid UID` (Linux): once the sockets are set, the process drops to UID (group UID, no
//!   other groups); the sockets keep the uid they were made with. `--child-uid UID` (Unix): the
//!   children run as UID (group UID).
//! - `--accept hold|exit` (the first socket, `tcp`): after the port is printed, accepts one
//!   connection and closes the listener, then holds the connection (`hold`) or closes it and
//!   exits (`exit`), leaving the kernel a connection of no process.
//! - `--pass UNIX_PATH` (Unix): the first socket is also sent over a Unix stream socket to the
//!   process listening at UNIX_PATH (SCM_RIGHTS), and kept.
//! - `--thread NAME`: the sockets are made (bound, listening) by a thread named NAME, as a
//!   program's worker thread makes them; the process's own name stays its file's.
//!
//! Other words are not read, nor any after `--`: a daemon's arguments, or a marker, that a test
//! wants on the holder's command line.
//!
//! `states IP` holds a TCP socket in each kind of state and prints their ports in this order: a
//! listener on IP, a bound-only socket on IP, an IPv6-only listener on ::1, a dual-stack one on
//! ::ffff:IP (the kernel makes a socket bound to any other IPv6 address v6-only), the client end
//! of a connection to the first listener (whose accepted end it also holds), an unconnected UDP
//! socket on IP and a UDP socket on IP connected to it. `receive` listens at UNIX_PATH, prints
//! `ready`, takes one socket sent that way, prints `got`, and holds it. `wait` only waits (the
//! child). `service` (Windows) is the program of a service named NAME: started by the service
//! control manager, it listens on ADDR, writes its port to PORT_FILE and holds it until the
//! service is stopped.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "holder: {e}");
            ExitCode::from(2)
        }
    }
}

/// What the command line asks of `holder SOCKET... [OPTION...]`.
#[derive(Default)]
struct Ask {
    sockets: Vec<(String, SocketAddr)>,
    children: usize,
    same_port: bool,
    reuse_addr: bool,
    reuse_port: bool,
    v6only: Option<bool>,
    device: Option<String>,
    uid: Option<u32>,
    child_uid: Option<u32>,
    accept: Option<String>,
    pass: Option<String>,
    thread: Option<String>,
    lifetime: Duration,
}

fn parse(args: &[String]) -> Result<Ask, String> {
    let mut ask = Ask {
        lifetime: Duration::from_mins(10),
        ..Ask::default()
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| it.next().cloned().ok_or(format!("{a}: {what}?"));
        let number = |s: String| s.parse::<u32>().map_err(|e| format!("{a}: {e}"));
        match a.as_str() {
            "tcp" | "bound" | "udp" => {
                let addr = value("which address")?;
                let addr = addr.parse().map_err(|e| format!("address {addr}: {e}"))?;
                ask.sockets.push((a.clone(), addr));
            }
            "--child" => ask.children = 1,
            "--children" => ask.children = number(value("how many")?)? as usize,
            "--same-port" => ask.same_port = true,
            "--reuseaddr" => ask.reuse_addr = true,
            "--reuseport" => ask.reuse_port = true,
            "--v6only" => ask.v6only = Some(value("on or off")? == "on"),
            "--device" => ask.device = Some(value("which device")?),
            "--uid" => ask.uid = Some(number(value("which uid")?)?),
            "--child-uid" => ask.child_uid = Some(number(value("which uid")?)?),
            "--accept" => ask.accept = Some(value("hold or exit")?),
            "--pass" => ask.pass = Some(value("which Unix path")?),
            "--thread" => ask.thread = Some(value("which thread name")?),
            "--for" => {
                let secs = value("how many seconds")?;
                ask.lifetime = secs
                    .parse()
                    .map_err(|e| format!("{e}"))
                    .and_then(|s| Duration::try_from_secs_f64(s).map_err(|e| format!("{e}")))
                    .map_err(|e| format!("--for {secs}: {e}"))?;
            }
            "--" => break,
            _ => {}
        }
    }
    Ok(ask)
}

fn run(args: &[String]) -> Result<(), String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("wait") => {
            hold(parse(rest)?.lifetime);
            Ok(())
        }
        Some("receive") => {
            let path = rest.first().ok_or("which Unix path?")?;
            receive(path, parse(&rest[1..])?.lifetime)
        }
        Some("service") => service::run(rest.first().ok_or("which service name?")?),
        Some("states") => states(rest.first().ok_or("which address?")?),
        _ => hold_sockets(&parse(args)?),
    }
}

fn hold_sockets(ask: &Ask) -> Result<(), String> {
    if ask.sockets.is_empty() {
        return Err("usage: holder tcp|bound|udp ADDR ... [--child] [--for SECS]".into());
    }
    let (mut sockets, ports) = match &ask.thread {
        Some(name) => std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name(name.clone())
                .spawn_scoped(scope, || make_sockets(ask))
                .map_err(|e| format!("thread: {e}"))?
                .join()
                .map_err(|_| "the thread panicked".to_string())?
        })?,
        None => make_sockets(ask)?,
    };
    let mut line = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    if ask.children > 0 {
        for s in &sockets {
            inheritable(s)?;
        }
    }
    // Kept until this process ends: the children are waited for by no one else. Each is started
    // with the sockets inherited and this process's standard input, so it ends with it.
    let mut children_started = Vec::new();
    for _ in 0..ask.children {
        let mut child = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
        child
            .args(["wait", "--for", &ask.lifetime.as_secs_f64().to_string()])
            .stdin(Stdio::inherit())
            .stdout(Stdio::null());
        as_user(&mut child, ask.child_uid)?;
        let child = child.spawn().map_err(|e| format!("child: {e}"))?;
        line = format!("{line} {}", child.id());
        children_started.push(child);
    }
    if let Some(path) = &ask.pass {
        pass(&sockets[0], path)?;
    }
    if let Some(uid) = ask.uid {
        drop_to(uid)?;
    }
    say(&line)?;
    if let Some(then) = &ask.accept {
        let (connection, _) = sockets[0].accept().map_err(|e| format!("accept: {e}"))?;
        sockets.clear();
        if then == "exit" {
            drop(connection);
            std::thread::sleep(Duration::from_millis(300));
            return Ok(());
        }
        sockets.push(connection);
    }
    hold(ask.lifetime);
    drop(sockets);
    Ok(())
}

/// The sockets asked for, in order, with their ports.
fn make_sockets(ask: &Ask) -> Result<(Vec<Socket>, Vec<u16>), String> {
    let mut sockets = Vec::new();
    let mut ports = Vec::new();
    for (kind, addr) in &ask.sockets {
        let mut addr = *addr;
        if ask.same_port
            && let Some(first) = ports.first()
        {
            addr.set_port(*first);
        }
        let socket = new_socket(kind, addr, ask)?;
        ports.push(port_of(&socket));
        sockets.push(socket);
    }
    Ok((sockets, ports))
}

/// A socket of `kind` bound to `addr` with the options asked (listening for `tcp`).
fn new_socket(kind: &str, addr: SocketAddr, ask: &Ask) -> Result<Socket, String> {
    let ty = if kind == "udp" {
        Type::DGRAM
    } else {
        Type::STREAM
    };
    let socket = Socket::new(Domain::for_address(addr), ty, None).map_err(|e| e.to_string())?;
    if let Some(device) = &ask.device {
        bind_device(&socket, device)?;
    }
    if ask.reuse_addr {
        socket
            .set_reuse_address(true)
            .map_err(|e| format!("SO_REUSEADDR: {e}"))?;
    }
    if ask.reuse_port {
        reuse_port(&socket)?;
    }
    if let (Some(only), true) = (ask.v6only, addr.is_ipv6()) {
        socket
            .set_only_v6(only)
            .map_err(|e| format!("IPV6_V6ONLY: {e}"))?;
    }
    socket
        .bind(&addr.into())
        .map_err(|e| format!("bind {addr}: {e}"))?;
    if kind == "tcp" {
        socket.listen(16).map_err(|e| format!("listen: {e}"))?;
    }
    Ok(socket)
}

fn port_of(socket: &Socket) -> u16 {
    socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map_or(0, |a| a.port())
}

/// Prints `line` and flushes it: the test reads it as the sign that the sockets are set.
fn say(line: &str) -> Result<(), String> {
    let mut out = std::io::stdout();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())
}

/// `holder states IP`: a TCP socket in each state, and two UDP sockets (see the header).
fn states(ip: &str) -> Result<(), String> {
    let ip: std::net::Ipv4Addr = ip.parse().map_err(|e| format!("address {ip}: {e}"))?;
    let plain = Ask::default();
    let at = |ip: std::net::IpAddr| SocketAddr::new(ip, 0);
    let listener = new_socket("tcp", at(ip.into()), &plain)?;
    let bound = new_socket("bound", at(ip.into()), &plain)?;
    let only = Ask {
        v6only: Some(true),
        ..Ask::default()
    };
    let dual = Ask {
        v6only: Some(false),
        ..Ask::default()
    };
    let v6only = new_socket("tcp", at(std::net::Ipv6Addr::LOCALHOST.into()), &only)?;
    let dual = new_socket("tcp", at(ip.to_ipv6_mapped().into()), &dual)?;
    let client = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| e.to_string())?;
    client
        .connect(&SocketAddr::new(ip.into(), port_of(&listener)).into())
        .map_err(|e| format!("connect: {e}"))?;
    let (accepted, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    let udp = new_socket("udp", at(ip.into()), &plain)?;
    let connected = new_socket("udp", at(ip.into()), &plain)?;
    connected
        .connect(&SocketAddr::new(ip.into(), port_of(&udp)).into())
        .map_err(|e| format!("connect: {e}"))?;
    let held = [listener, bound, v6only, dual, client, udp, connected];
    let ports: Vec<String> = held.iter().map(|s| port_of(s).to_string()).collect();
    say(&ports.join(" "))?;
    hold(Duration::from_mins(10));
    drop((held, accepted));
    Ok(())
}

/// Returns when standard input closes (or reads anything), or `lifetime` passes.
fn hold(lifetime: Duration) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1];
        let _ = std::io::stdin().read(&mut buf);
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(lifetime);
}

#[cfg(target_os = "linux")]
fn bind_device(socket: &Socket, device: &str) -> Result<(), String> {
    socket
        .bind_device(Some(device.as_bytes()))
        .map_err(|e| format!("SO_BINDTODEVICE {device}: {e}"))
}

#[cfg(not(target_os = "linux"))]
fn bind_device(_: &Socket, _: &str) -> Result<(), String> {
    Err("--device: SO_BINDTODEVICE is Linux's".into())
}

#[cfg(unix)]
fn reuse_port(socket: &Socket) -> Result<(), String> {
    socket
        .set_reuse_port(true)
        .map_err(|e| format!("SO_REUSEPORT: {e}"))
}

#[cfg(not(unix))]
fn reuse_port(_: &Socket) -> Result<(), String> {
    Err("--reuseport: SO_REUSEPORT is Unix's".into())
}

/// The process drops to `uid` (and group `uid`, no other groups). Called while it has one thread:
/// the calls below change the calling thread's ids only.
#[cfg(target_os = "linux")]
fn drop_to(uid: u32) -> Result<(), String> {
    use rustix::process::{Gid, Uid};
    let (u, g) = (Uid::from_raw(uid), Gid::from_raw(uid));
    rustix::thread::set_thread_groups(&[])
        .and_then(|()| rustix::thread::set_thread_res_gid(g, g, g))
        .and_then(|()| rustix::thread::set_thread_res_uid(u, u, u))
        .map_err(|e| format!("--uid {uid}: {e}"))
}

#[cfg(not(target_os = "linux"))]
fn drop_to(_: u32) -> Result<(), String> {
    Err("--uid: Linux only".into())
}

#[cfg(unix)]
#[expect(
    clippy::unnecessary_wraps,
    reason = "the same signature as Windows', which refuses"
)]
fn as_user(child: &mut Command, uid: Option<u32>) -> Result<(), String> {
    use std::os::unix::process::CommandExt as _;
    if let Some(uid) = uid {
        // Started by root, the child also leaves root's other groups (std calls setgroups).
        child.uid(uid).gid(uid);
    }
    Ok(())
}

#[cfg(not(unix))]
fn as_user(_: &mut Command, uid: Option<u32>) -> Result<(), String> {
    uid.map_or(Ok(()), |_| Err("--child-uid: Unix only".into()))
}

#[cfg(unix)]
fn inheritable(socket: &Socket) -> Result<(), String> {
    socket.set_cloexec(false).map_err(|e| e.to_string())
}

#[cfg(windows)]
fn inheritable(socket: &Socket) -> Result<(), String> {
    socket.set_no_inherit(false).map_err(|e| e.to_string())
}

/// Sends `socket` to the process listening at `path` over a Unix stream socket (SCM_RIGHTS).
#[cfg(unix)]
fn pass(socket: &Socket, path: &str) -> Result<(), String> {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    use std::os::fd::AsFd as _;
    let stream =
        std::os::unix::net::UnixStream::connect(path).map_err(|e| format!("{path}: {e}"))?;
    let fds = [socket.as_fd()];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err("no room for the descriptor".into());
    }
    rustix::net::sendmsg(
        &stream,
        &[std::io::IoSlice::new(b"s")],
        &mut control,
        SendFlags::empty(),
    )
    .map_err(|e| format!("sendmsg: {e}"))?;
    Ok(())
}

#[cfg(not(unix))]
fn pass(_socket: &Socket, _path: &str) -> Result<(), String> {
    Err("--pass: Unix only".into())
}

/// Listens at `path`, takes one socket sent over it (SCM_RIGHTS) and holds it.
#[cfg(unix)]
fn receive(path: &str, lifetime: Duration) -> Result<(), String> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let listener =
        std::os::unix::net::UnixListener::bind(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = std::io::stdout();
    writeln!(out, "ready")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    let (stream, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    rustix::net::recvmsg(
        &stream,
        &mut [std::io::IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::empty(),
    )
    .map_err(|e| format!("recvmsg: {e}"))?;
    let mut held: Vec<std::os::fd::OwnedFd> = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            held.extend(fds);
        }
    }
    if held.is_empty() {
        return Err("no descriptor came".into());
    }
    writeln!(out, "got")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    hold(lifetime);
    drop(held);
    Ok(())
}

#[cfg(not(unix))]
fn receive(_path: &str, _lifetime: Duration) -> Result<(), String> {
    Err("receive: Unix only".into())
}

/// A Windows service that holds a port: what `svchost.exe` and a service's own program look like
/// to the tools (the service control manager lists its PID).
#[cfg(windows)]
mod service {
    use std::ffi::OsString;
    use std::time::Duration;

    use windows_service::service::{
        ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus,
        ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::{define_windows_service, service_dispatcher};

    define_windows_service!(ffi_service_main, service_main);

    pub fn run(name: &str) -> Result<(), String> {
        service_dispatcher::start(name, ffi_service_main).map_err(|e| format!("dispatcher: {e}"))
    }

    fn service_main(_start_args: Vec<OsString>) {
        // The program's own arguments (the service's binary path): service NAME ADDR PORT_FILE.
        let args: Vec<String> = std::env::args().skip(2).collect();
        let _ = serve(&args);
    }

    fn serve(args: &[String]) -> Result<(), String> {
        let name = args.first().ok_or("name")?.clone();
        let addr: std::net::SocketAddr = args
            .get(1)
            .ok_or("address")?
            .parse()
            .map_err(|e| format!("{e}"))?;
        let file = args.get(2).ok_or("port file")?;
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = service_control_handler::register(&name, move |c| match c {
            ServiceControl::Stop => {
                let _ = tx.send(());
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        })
        .map_err(|e| e.to_string())?;
        let status = |state, accept| ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: accept,
            exit_code: ServiceExitCode::Win32(0),
            checkpoint: 0,
            wait_hint: Duration::default(),
            process_id: None,
        };
        let listener = std::net::TcpListener::bind(addr).map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        handle
            .set_service_status(status(ServiceState::Running, ServiceControlAccept::STOP))
            .map_err(|e| e.to_string())?;
        std::fs::write(file, port.to_string()).map_err(|e| e.to_string())?;
        let _ = rx.recv_timeout(Duration::from_mins(10));
        drop(listener);
        handle
            .set_service_status(status(ServiceState::Stopped, ServiceControlAccept::empty()))
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(not(windows))]
mod service {
    pub fn run(_name: &str) -> Result<(), String> {
        Err("service: Windows only".into())
    }
}
