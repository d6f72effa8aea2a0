//! The GUI's one background thread: it takes `Command`s, runs checks with the core, sends
//! `Event`s back and wakes the UI with `request_repaint`. The UI thread never blocks on it.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use crate::Target;
use crate::check::{self, Check};
use crate::probe::{CancelToken, ProbeConfig, Resolver};

/// Work for the thread.
pub enum Command {
    /// Run one check; `id` ties the answer to the request.
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
}

/// Answers from the thread.
pub enum Event {
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

/// Handle to the worker thread; dropping it ends the thread.
pub struct Worker {
    tx: SyncSender<Command>,
    rx: Receiver<Event>,
}

impl Worker {
    /// Starts the thread. `resolver` is the getaddrinfo to use (tests pass a scripted one).
    #[must_use]
    pub fn spawn(waker: Waker, resolver: Resolver) -> Self {
        let (tx, cmd_rx) = sync_channel::<Command>(4);
        let (ev_tx, rx) = sync_channel::<Event>(16);
        let spawned = std::thread::Builder::new()
            .name("probe".into())
            .spawn(move || {
                while let Ok(cmd) = cmd_rx.recv() {
                    match cmd {
                        Command::Check {
                            id,
                            target,
                            timeout,
                            cancel,
                        } => {
                            let cfg = ProbeConfig {
                                timeout,
                                cancel,
                                resolver: Arc::clone(&resolver),
                            };
                            let check = Box::new(check::run(&target, &cfg));
                            // Result first, then the wake-up, so the UI finds it when it looks.
                            if ev_tx.send(Event::Finished { id, check }).is_err() {
                                break;
                            }
                            waker();
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            // Without a thread, checks cannot run; the UI will show them as never finishing.
            log_spawn_failure(&e);
        }
        Self { tx, rx }
    }

    /// Queues a command; false when the queue is full or the thread is gone.
    #[must_use]
    pub fn send(&self, cmd: Command) -> bool {
        self.tx.try_send(cmd).is_ok()
    }

    /// The next finished event, without waiting.
    #[must_use]
    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

#[expect(
    clippy::print_stderr,
    reason = "no UI exists to show this start-up failure"
)]
fn log_spawn_failure(e: &std::io::Error) {
    eprintln!("port-inspector: could not start the probe thread: {e}");
}
