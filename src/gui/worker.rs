//! The window's worker: it takes [`Job`]s (every piece of work the UI thread hands off: checks,
//! scans, the support kit, ending a process, the live socket table), runs them with the core,
//! sends [`Event`]s that carry data (never sentences: the window words them with `wording`, as
//! the CLI does) and wakes the UI with `request_repaint`. The UI thread never blocks on it and
//! never looks up a socket itself.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use crate::Target;
use crate::check::{self, Check};
use crate::probe::{CancelToken, ProbeConfig, Resolver};
use crate::program::Program;
use crate::scan::{Progress, ScanReport, ScanRequest, Scanner};

/// Everything the window asks of its worker, in one type: what the UI thread hands off (and so
/// never does itself) is listed here.
pub enum Job {
    /// One check; `id` ties the answer to the request (the probe thread, one at a time).
    Check {
        /// Request number.
        id: u64,
        /// What to test.
        target: Target,
        /// Resolver time limit.
        timeout: Duration,
        /// Set by the Cancel button.
        cancel: CancelToken,
    },
    /// A range scan (the scan thread, one at a time).
    Scan(ScanJob),
    /// Read the machine's facts.
    Facts,
    /// The what-if matrix of a target.
    Matrix(Target),
    /// Hold the target's port and report what arrives, for `secs` at most.
    Hold {
        /// What to hold.
        target: Target,
        /// For how long.
        secs: Duration,
        /// Set by Stop.
        cancel: CancelToken,
    },
    /// Check the target every second until it is bindable.
    Watch {
        /// What to watch.
        target: Target,
        /// Set by Stop.
        cancel: CancelToken,
    },
    /// Plan ending the holders of a socket (every PID sharing it, what restarts it, what is
    /// refused), for the confirmation.
    PlanEnd {
        /// The socket's local address.
        addr: std::net::SocketAddr,
        /// Its protocol.
        protocol: crate::target::Protocol,
        /// Only these processes (one holder's End button), else every holder.
        only: Option<Vec<u32>>,
    },
    /// Carry out a confirmed plan, then prove the port.
    End(Box<crate::end::EndPlan>),
    /// One check answered by another machine over ssh (its own thread: the probe thread stays
    /// free for this machine's checks).
    RemoteCheck {
        /// Request number.
        id: u64,
        /// Where.
        remote: crate::remote::Remote,
        /// What to test.
        target: Target,
        /// Resolver time limit there.
        timeout: Duration,
        /// Set by the Cancel button.
        cancel: CancelToken,
    },
    /// One port checked on several machines at once (the fleet view).
    Fleet {
        /// Request number.
        id: u64,
        /// What to check.
        target: Target,
        /// Resolver time limit on each machine.
        timeout: Duration,
        /// The machines, in the rows' order.
        machines: Vec<super::fleet::FleetMachine>,
        /// Set when the window goes.
        cancel: CancelToken,
    },
    /// A range scan run by another machine (its own `scan --json`).
    RemoteScan {
        /// Request number.
        id: u64,
        /// Where.
        remote: crate::remote::Remote,
        /// What to scan there.
        request: crate::scan::ScanRequest,
        /// Set by Cancel.
        cancel: CancelToken,
    },
    /// Plan ending the holders of a socket on another machine: its own `end --dry-run`.
    RemotePlanEnd {
        /// Where.
        remote: crate::remote::Remote,
        /// The socket's local address there.
        addr: std::net::SocketAddr,
        /// Its protocol.
        protocol: crate::target::Protocol,
        /// Only these processes (one holder's End button), or every holder (`None`).
        only: Option<Vec<u32>>,
    },
    /// Carry out a confirmed plan on another machine: its own `end --yes`, told the PIDs that
    /// were confirmed (it checks each again and proves the port there).
    RemoteEnd {
        /// Where.
        remote: crate::remote::Remote,
        /// The plan confirmed.
        plan: Box<crate::end::EndPlan>,
    },
    /// Watch one port (here or there) until its condition holds.
    WatchPort(super::console_jobs::WatchJob),
    /// Show a desktop notification; `key` ties its click to the watch.
    Notify {
        /// The watch it is about.
        key: u64,
        /// Its summary line.
        summary: String,
        /// Its body.
        body: String,
    },
    /// Read one port's timeline from the recorder's database.
    PortHistory(super::port_history::HistoryJob),
    /// Close one TCP connection (confirmed by the user), then prove it is gone.
    CloseConnection {
        /// Its local end.
        local: std::net::SocketAddr,
        /// Its peer.
        remote: std::net::SocketAddr,
    },
}

/// A check for the probe thread; `id` ties the answer to the request.
struct CheckJob {
    /// Request number.
    id: u64,
    /// What to test.
    target: Target,
    /// Resolver time limit.
    timeout: Duration,
    /// Set by the Cancel button.
    cancel: CancelToken,
}

/// A range scan for the scan thread.
pub struct ScanJob {
    /// Request number.
    pub id: u64,
    /// What to scan.
    pub request: ScanRequest,
    /// Set by the Cancel button.
    pub cancel: CancelToken,
}

/// Answers from the threads.
pub enum Event {
    /// How far a scan has come.
    ScanProgress {
        /// The request number.
        id: u64,
        /// Ports done, total and time.
        progress: Progress,
    },
    /// Machine facts were read.
    Facts(Box<crate::facts::Facts>),
    /// The what-if matrix finished.
    Matrix(Box<crate::support::Matrix>),
    /// Hold-and-listen bound its port: the addresses held.
    ListenBound(Vec<std::net::SocketAddr>),
    /// Something arrived at the held port.
    Listen(crate::support::ListenEvent),
    /// Hold-and-listen ended: what it saw, or why it could not hold the port.
    ListenEnded(Box<Result<crate::support::ListenSummary, crate::support::HoldError>>),
    /// Watch: one more check while waiting, still not bindable (who holds it now).
    WatchTick(Box<Check>),
    /// Watch ended with this check (free, or stopped).
    WatchDone(Box<Check>),
    /// A scan ended (complete or cancelled).
    ScanFinished {
        /// The request number.
        id: u64,
        /// The result.
        report: Box<ScanReport>,
    },
    /// A fresh table of every socket, for the Listening now tab.
    Sockets(Box<super::listening::Table>),
    /// The plan for ending the holders of a port, for the confirmation.
    EndPlan(Box<crate::end::EndPlan>),
    /// The holders were ended (or not), with the port proven afterwards.
    EndDone(Box<crate::end::EndReport>),
    /// A connection was closed (proven gone), or why not.
    Closed {
        /// Its local end.
        local: std::net::SocketAddr,
        /// Its peer.
        remote: std::net::SocketAddr,
        /// Done, or why not (worded by the window).
        result: Result<(), std::sync::Arc<crate::close::CloseError>>,
    },
    /// Another machine gave no answer to a check.
    RemoteFailed {
        /// The request number.
        id: u64,
        /// The machine, as asked.
        machine: crate::remote::Machine,
        /// Why.
        error: crate::remote::AskError,
    },
    /// One machine's answer in the fleet view, or why it gave none.
    FleetRow {
        /// The request number.
        id: u64,
        /// The row.
        index: usize,
        /// The answer, or the machine and why not.
        answer: Box<Result<Check, (crate::remote::Machine, crate::remote::AskError)>>,
    },
    /// Another machine gave no answer to a scan.
    ScanFailed {
        /// The request number.
        id: u64,
        /// The machine, as asked.
        machine: crate::remote::Machine,
        /// Why.
        error: crate::remote::AskError,
    },
    /// Another machine gave no plan or no report of an End.
    EndFailed {
        /// The machine, as asked.
        machine: crate::remote::Machine,
        /// Why.
        error: crate::remote::AskError,
    },
    /// Another machine's socket table could not be read.
    LiveFailed {
        /// The machine, as asked.
        machine: crate::remote::Machine,
        /// Why.
        error: crate::remote::AskError,
    },
    /// A watched port: a look, a failure, or the end.
    Watch {
        /// The watch.
        key: u64,
        /// What happened.
        update: super::console_jobs::WatchUpdate,
    },
    /// A desktop notification was shown, not shown, or clicked.
    Notification {
        /// The watch it is about.
        key: u64,
        /// How it went.
        how: super::console_jobs::Notified,
    },
    /// A port's timeline was read (or why not).
    PortHistory {
        /// The request number.
        id: u64,
        /// The port.
        port: u16,
        /// What was found.
        reading: Box<super::port_history::Reading>,
    },
    /// A check finished (successfully, with an error, or cancelled).
    Finished {
        /// The request number.
        id: u64,
        /// The result.
        check: Box<Check>,
    },
}

/// A wake-up callback, so the worker does not depend on how the UI repaints.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Handle to the worker threads ("probe" for checks, "scan" for scans, one thread per
/// support-kit task); dropping it ends them: the probe and scan threads when their channels
/// close, and every job that carries a cancel token (a check, a scan, a hold, a watch) is
/// cancelled, so a 24-hour watch does not outlive its window.
pub struct Worker {
    tx: SyncSender<CheckJob>,
    scan_tx: SyncSender<ScanJob>,
    rx: Receiver<Event>,
    ev_tx: SyncSender<Event>,
    waker: Waker,
    /// The cancel tokens of the jobs started, cancelled when the worker is dropped (the ones
    /// that ended are let go at each start, so it does not grow with every check).
    tokens: std::sync::Mutex<Vec<CancelToken>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let tokens = self
            .tokens
            .get_mut()
            .map_or_else(|e| std::mem::take(e.into_inner()), std::mem::take);
        for t in tokens {
            t.cancel();
        }
    }
}

/// Sends one event to the UI and wakes it; what a task gets to report with.
pub type Emit<'a> = &'a dyn Fn(Event);

impl Worker {
    /// Starts the thread. `resolver` is the getaddrinfo to use (tests pass a scripted one).
    #[must_use]
    pub fn spawn(waker: Waker, resolver: Resolver, scanner: Scanner, program: Program) -> Self {
        let (tx, cmd_rx) = sync_channel::<CheckJob>(4);
        let (ev_tx, rx) = sync_channel::<Event>(64);
        let scan_tx = spawn_scan_thread(ev_tx.clone(), Arc::clone(&waker), scanner);
        let (task_tx, task_waker) = (ev_tx.clone(), Arc::clone(&waker));
        let spawned = std::thread::Builder::new()
            .name("probe".into())
            .spawn(move || {
                while let Ok(CheckJob {
                    id,
                    target,
                    timeout,
                    cancel,
                }) = cmd_rx.recv()
                {
                    let cfg = ProbeConfig {
                        timeout,
                        cancel,
                        resolver: Arc::clone(&resolver),
                        program: program.clone(),
                    };
                    let check = Box::new(check::run(&target, &cfg));
                    // Result first, then the wake-up, so the UI finds it when it looks.
                    if ev_tx.send(Event::Finished { id, check }).is_err() {
                        break;
                    }
                    waker();
                }
            });
        if let Err(e) = spawned {
            // Without a thread, checks cannot run: its receiver is gone, so `start` answers false
            // for every check and the window says the check could not start.
            log_spawn_failure(&e);
        }
        Self {
            tx,
            scan_tx,
            rx,
            ev_tx: task_tx,
            waker: task_waker,
            tokens: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Starts `job`; false when it could not be (its thread is gone, or one of its kind is
    /// already queued: a second click while busy).
    #[must_use]
    pub fn start(&self, job: Job) -> bool {
        let token = match &job {
            Job::Check { cancel, .. }
            | Job::Hold { cancel, .. }
            | Job::Watch { cancel, .. }
            | Job::RemoteScan { cancel, .. } => Some(cancel.clone()),
            Job::Scan(s) => Some(s.cancel.clone()),
            _ => None,
        };
        if let Some(t) = token
            && let Ok(mut kept) = self.tokens.lock()
        {
            // The ended ones go: cancelled, or held by nobody else (their job is over).
            kept.retain(|k| !k.is_cancelled() && k.is_shared());
            kept.push(t);
        }
        match job {
            Job::Check {
                id,
                target,
                timeout,
                cancel,
            } => self
                .tx
                .try_send(CheckJob {
                    id,
                    target,
                    timeout,
                    cancel,
                })
                .is_ok(),
            Job::Scan(job) => self.scan_tx.try_send(job).is_ok(),
            Job::Facts => self.spawn_task("facts", |emit| {
                emit(Event::Facts(Box::new(crate::facts::gather())));
            }),
            Job::Matrix(t) => self.spawn_task("matrix", move |emit| {
                let m = crate::support::matrix(&t, &ProbeConfig::default());
                emit(Event::Matrix(Box::new(m)));
            }),
            Job::Hold {
                target,
                secs,
                cancel,
            } => self.spawn_task("listen", move |emit| {
                let cfg = ProbeConfig {
                    cancel,
                    ..ProbeConfig::default()
                };
                let r = crate::support::hold(
                    &target,
                    secs,
                    &cfg,
                    &mut |b| emit(Event::ListenBound(b.to_vec())),
                    &mut |ev| emit(Event::Listen(ev.clone())),
                );
                emit(Event::ListenEnded(Box::new(r)));
            }),
            Job::Watch { target, cancel } => self.spawn_task("watch", move |emit| {
                let cfg = ProbeConfig {
                    cancel,
                    ..ProbeConfig::default()
                };
                let c = crate::support::wait_until_free(
                    &target,
                    &cfg,
                    Duration::from_secs(1),
                    Duration::from_hours(24),
                    &mut |c| emit(Event::WatchTick(Box::new(c.clone()))),
                );
                emit(Event::WatchDone(Box::new(c)));
            }),
            Job::PlanEnd {
                addr,
                protocol,
                only,
            } => self.spawn_task("end", move |emit| {
                let mut plan = crate::end::plan(addr.port(), Some(protocol), Some(addr.ip()));
                if let Some(pids) = only {
                    plan = plan.only(&pids);
                }
                emit(Event::EndPlan(Box::new(plan)));
            }),
            Job::End(plan) => self.spawn_task("end", move |emit| {
                let report =
                    crate::end::execute(&plan, crate::end::Signal::Term, Duration::from_secs(5));
                emit(Event::EndDone(Box::new(report)));
            }),
            job @ (Job::RemoteCheck { .. }
            | Job::Fleet { .. }
            | Job::RemoteScan { .. }
            | Job::RemotePlanEnd { .. }
            | Job::RemoteEnd { .. }) => self.start_remote(job),
            Job::WatchPort(job) => self.spawn_task("watch-port", move |emit| {
                super::console_jobs::watch(&job, emit);
            }),
            Job::Notify { key, summary, body } => self.spawn_task("notify", move |emit| {
                super::console_jobs::notify(&summary, &body, &|how| {
                    emit(Event::Notification { key, how });
                });
            }),
            Job::PortHistory(job) => self.spawn_task("history", move |emit| job.run(emit)),
            Job::CloseConnection { local, remote } => self.spawn_task("close", move |emit| {
                let result =
                    crate::close::tcp_connection(local, remote).map_err(std::sync::Arc::new);
                emit(Event::Closed {
                    local,
                    remote,
                    result,
                });
            }),
        }
    }

    /// Starts a job that asks another machine over ssh (each on its own thread).
    fn start_remote(&self, job: Job) -> bool {
        match job {
            Job::RemoteCheck {
                id,
                remote,
                target,
                timeout,
                cancel,
            } => self.spawn_task("remote-check", move |emit| {
                let answer = super::console_jobs::remote_check(&remote, &target, timeout, &cancel);
                emit(match answer {
                    Ok(check) => Event::Finished {
                        id,
                        check: Box::new(check),
                    },
                    Err(error) => Event::RemoteFailed {
                        id,
                        machine: remote.machine,
                        error,
                    },
                });
            }),
            Job::Fleet {
                id,
                target,
                timeout,
                machines,
                cancel,
            } => self.spawn_task("fleet", move |emit| {
                super::fleet::run(&target, timeout, machines, &cancel, &|index, answer| {
                    emit(Event::FleetRow {
                        id,
                        index,
                        answer: Box::new(answer),
                    });
                });
            }),
            Job::RemoteScan {
                id,
                remote,
                request,
                cancel,
            } => self.spawn_task("remote-scan", move |emit| {
                emit(
                    match super::console_jobs::remote_scan(&remote, &request, &cancel) {
                        Ok(report) => Event::ScanFinished {
                            id,
                            report: Box::new(report),
                        },
                        Err(error) => Event::ScanFailed {
                            id,
                            machine: remote.machine,
                            error,
                        },
                    },
                );
            }),
            Job::RemotePlanEnd {
                remote,
                addr,
                protocol,
                only,
            } => self.spawn_task("remote-end", move |emit| {
                emit(
                    match super::console_jobs::remote_end_plan(&remote, addr, protocol) {
                        Ok(plan) => Event::EndPlan(Box::new(match only {
                            Some(pids) => plan.only(&pids),
                            None => plan,
                        })),
                        Err(error) => Event::EndFailed {
                            machine: remote.machine,
                            error,
                        },
                    },
                );
            }),
            Job::RemoteEnd { remote, plan } => self.spawn_task("remote-end", move |emit| {
                emit(match super::console_jobs::remote_end(&remote, &plan) {
                    Ok(report) => Event::EndDone(Box::new(report)),
                    Err(error) => Event::EndFailed {
                        machine: remote.machine,
                        error,
                    },
                });
            }),
            _ => false,
        }
    }

    /// Runs a task on its own named thread; the task reports through `emit`, which sends the
    /// event first and wakes the UI second.
    /// The live table's refresher, handing its tables over this worker's channel. A full
    /// channel (the window not drawing) drops a table rather than wait: a later one follows.
    #[must_use]
    pub fn live_refresher(&self) -> super::live_refresh::LiveRefresher {
        let tx = self.ev_tx.clone();
        let waker = Arc::clone(&self.waker);
        super::live_refresh::LiveRefresher::spawn(move |e| match tx.try_send(e) {
            Ok(()) => {
                waker();
                true
            }
            Err(std::sync::mpsc::TrySendError::Full(_)) => true,
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => false,
        })
    }

    fn spawn_task(&self, name: &str, task: impl FnOnce(Emit<'_>) + Send + 'static) -> bool {
        let tx = self.ev_tx.clone();
        let waker = Arc::clone(&self.waker);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let emit = |e: Event| {
                    if tx.send(e).is_ok() {
                        waker();
                    }
                };
                task(&emit);
            })
            .is_ok()
    }

    /// The next finished event, without waiting.
    #[must_use]
    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

fn spawn_scan_thread(
    ev_tx: SyncSender<Event>,
    waker: Waker,
    scanner: Scanner,
) -> SyncSender<ScanJob> {
    let (tx, rx) = sync_channel::<ScanJob>(1);
    let spawned = std::thread::Builder::new()
        .name("scan".into())
        .spawn(move || {
            while let Ok(job) = rx.recv() {
                let facts = crate::facts::gather();
                let id = job.id;
                let report = scanner(&job.request, &facts, &job.cancel, &mut |progress| {
                    // Progress may be dropped when the UI is behind; the next one supersedes it.
                    if ev_tx.try_send(Event::ScanProgress { id, progress }).is_ok() {
                        waker();
                    }
                });
                let done = Event::ScanFinished {
                    id,
                    report: Box::new(report),
                };
                if ev_tx.send(done).is_err() {
                    break;
                }
                waker();
            }
        });
    if let Err(e) = spawned {
        log_spawn_failure(&e);
    }
    tx
}

#[expect(
    clippy::print_stderr,
    reason = "no UI exists to show this start-up failure"
)]
pub(super) fn log_spawn_failure(e: &std::io::Error) {
    eprintln!("port-inspector: could not start the probe thread: {e}");
}
