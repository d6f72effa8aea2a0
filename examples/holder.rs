//! A process that holds a port, for the tests on every OS (a Windows build runs under Wine, so
//! the tests see a real Windows process as the owner, with its own PID and image name).
//!
//! ```text
//! holder tcp|bound|udp ADDR [--child | --children N] [--pass UNIX_PATH] [--device DEV] [--reuseport] [--for SECS]
//! holder receive UNIX_PATH [--for SECS]
//! holder wait [--for SECS]
//! holder service NAME ADDR PORT_FILE        (Windows: run by the service control manager)
//! ```
//!
//! `tcp` listens on ADDR (`127.0.0.1:0`, `[::1]:0`), `bound` binds a TCP socket without
//! listening, `udp` binds a UDP socket. Once the socket is set it prints its port on one line
//! (with `--child`: the port and the PID of a child process started with the socket inherited,
//! so two processes share it), then holds it until its standard input closes, it is killed, or
//! SECS pass (600 by default), so a holder left behind by a crashed test ends by itself.
//! `--children N`: N such children, their PIDs after the port. `--pass UNIX_PATH` (Unix): the
//! socket is also sent over a Unix stream socket to the process listening at UNIX_PATH
//! (SCM_RIGHTS), and kept. `receive` listens at UNIX_PATH, prints `ready`, takes one socket sent
//! that way, prints `got`, and holds it. `wait` only waits (the child). `service` (Windows) is
//! the program of a service named NAME: started by the service control manager, it listens on
//! ADDR, writes its port to PORT_FILE and holds it until the service is stopped.
//! `--device DEV` (Linux): the socket is bound to network device DEV first (SO_BINDTODEVICE).
//! `--reuseport` (Unix): SO_REUSEPORT is set before the bind, so others may join the port.

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

fn run(args: &[String]) -> Result<(), String> {
    let secs = args
        .iter()
        .position(|a| a == "--for")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(600), |s| {
            s.parse::<u64>().map_err(|e| format!("--for: {e}"))
        })?;
    let lifetime = Duration::from_secs(secs);
    let kind = args.first().map(String::as_str);
    if kind == Some("wait") {
        hold(lifetime);
        return Ok(());
    }
    if kind == Some("receive") {
        return receive(args.get(1).ok_or("which Unix path?")?, lifetime);
    }
    if kind == Some("service") {
        return service::run(args.get(1).ok_or("which service name?")?);
    }
    let ty = match kind {
        Some("tcp" | "bound") => Type::STREAM,
        Some("udp") => Type::DGRAM,
        _ => return Err("usage: holder tcp|bound|udp ADDR [--child] [--for SECS]".into()),
    };
    let addr: SocketAddr = args
        .get(1)
        .ok_or("which address?")?
        .parse()
        .map_err(|e| format!("address: {e}"))?;
    let socket = Socket::new(Domain::for_address(addr), ty, None).map_err(|e| e.to_string())?;
    if let Some(i) = args.iter().position(|a| a == "--device") {
        bind_device(&socket, args.get(i + 1).ok_or("--device: which device?")?)?;
    }
    if args.iter().any(|a| a == "--reuseport") {
        reuse_port(&socket)?;
    }
    socket
        .bind(&addr.into())
        .map_err(|e| format!("bind {addr}: {e}"))?;
    if kind == Some("tcp") {
        socket.listen(16).map_err(|e| format!("listen: {e}"))?;
    }
    let port = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map_or(0, |a| a.port());
    let mut line = port.to_string();
    // The child is started with the socket inherited and this process's standard input, so it
    // ends with it.
    let children = match args.iter().position(|a| a == "--children") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--children: how many?")?
            .parse::<usize>()
            .map_err(|e| format!("--children: {e}"))?,
        None => usize::from(args.iter().any(|a| a == "--child")),
    };
    if children > 0 {
        inheritable(&socket)?;
    }
    // Kept until this process ends: the children are waited for by no one else.
    let mut children_started = Vec::new();
    for _ in 0..children {
        let child = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
            .args(["wait", "--for", &secs.to_string()])
            .stdin(Stdio::inherit())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("child: {e}"))?;
        line = format!("{line} {}", child.id());
        children_started.push(child);
    }
    if let Some(i) = args.iter().position(|a| a == "--pass") {
        pass(&socket, args.get(i + 1).ok_or("--pass: which Unix path?")?)?;
    }
    let mut out = std::io::stdout();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    hold(lifetime);
    drop(socket);
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
