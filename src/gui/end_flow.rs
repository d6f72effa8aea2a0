//! Ending a port's owner from the window, a room of its own: the plan is built off the UI thread
//! (every PID sharing the socket, what restarts it, what is refused), confirmed by the user,
//! carried out by the worker (here, or over ssh on the machine the row came from), and what
//! follows is said to the tab the End was asked from, and to no other.

use super::action::{Action, Tab};
use super::machines::MachinesRoom;
use super::worker::{Event, Job, Worker};
use crate::owners::Owner;
use crate::remote::Remote;
use crate::target::Protocol;

/// An End on its way: the plan awaiting confirmation, where it was asked from, and where it runs.
#[derive(Default)]
pub struct EndFlow {
    /// The plan awaiting confirmation.
    pub confirm: Option<crate::end::EndPlan>,
    /// The tab an End was asked from: its answer goes there, and nowhere else.
    pub from: Option<Tab>,
    /// The machine the End being planned or confirmed runs on (`None`: this one).
    pub on: Option<Remote>,
}

/// What an End asks of the window beyond the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndOutcome {
    /// Say this on the status line.
    Status(String),
    /// The End is done: say `said`, and bring the tab it came from up to date (the live table
    /// read again; the Check tab's answer, stale now, checked again); every answer that names
    /// a PID now gone says so.
    Done {
        /// The report, one line per PID.
        said: String,
        /// The tab the End was asked from.
        from: Tab,
        /// The machine it ran on (`None`: this one), as a remote check's answer names it.
        machine: Option<String>,
        /// The PIDs that no longer hold what they held, and how they went.
        gone: Vec<(u32, Gone)>,
    },
}

/// How a PID an End was asked to end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The End's signal ended it.
    Ended,
    /// It had exited before the signal.
    Exited,
    /// It no longer held the socket it held (nothing was sent).
    LetGo,
}

impl Gone {
    /// What the End found for one PID, when it is gone from the port.
    #[must_use]
    pub fn of(outcome: &crate::end::Outcome) -> Option<Self> {
        use crate::end::Outcome;
        match outcome {
            Outcome::Ended => Some(Self::Ended),
            Outcome::AlreadyGone => Some(Self::Exited),
            Outcome::NoLongerHolds => Some(Self::LetGo),
            Outcome::StillRunning | Outcome::Failed { .. } => None,
        }
    }
}

/// What the End flow borrows of the window for one action.
pub struct EndAround<'a> {
    /// Where plans are made and processes ended.
    pub worker: &'a Worker,
    /// The machine picker (a row of another machine is ended there).
    pub machines: &'a MachinesRoom,
    /// The machine whose rows the live table shows (`None`: this one).
    pub live_machine: Option<&'a str>,
    /// The owners of the Check tab's answer on screen.
    pub shown_owners: &'a [Owner],
    /// The machine that answer came from (`None`: this one): its holders are ended there.
    pub shown_machine: Option<&'a str>,
}

impl EndFlow {
    /// Whether a confirmation is open (keys then belong to it).
    #[must_use]
    pub fn confirming(&self) -> bool {
        self.confirm.is_some()
    }

    /// Takes the End plan and the End report from the worker.
    pub fn on_event(&mut self, event: Event) -> Option<EndOutcome> {
        match event {
            Event::EndPlan(plan) => {
                self.confirm = Some(*plan);
                None
            }
            Event::EndDone(report) => {
                // One line per PID, as the report has them (the views wrap them); another
                // machine's report says which machine.
                let mut said = crate::render::end_report(&report).trim_end().to_owned();
                let machine = self.on.take().map(|r| r.machine.to_string());
                if let Some(m) = &machine {
                    said = format!("On {} (over ssh):\n{said}", crate::text::clean(m));
                }
                let from = self.from.take().unwrap_or(Tab::Check);
                let gone = report
                    .outcomes
                    .iter()
                    .filter_map(|(pid, o)| Gone::of(o).map(|g| (*pid, g)))
                    .collect();
                Some(EndOutcome::Done {
                    said,
                    from,
                    machine,
                    gone,
                })
            }
            _ => None,
        }
    }

    /// The machine the End was to run on gave no answer: nothing is left to confirm.
    pub fn failed(&mut self) {
        self.confirm = None;
        self.on = None;
    }

    /// Applies the End actions (ask, confirm, cancel) and the copies of a PID or a kill command.
    pub fn apply(
        &mut self,
        ctx: &egui::Context,
        action: &Action,
        around: &EndAround<'_>,
    ) -> Option<EndOutcome> {
        let said = |s: &str| Some(EndOutcome::Status(s.to_owned()));
        match *action {
            Action::AskEnd(i) => {
                // The plan (every PID sharing the socket, what restarts it, what is refused) is
                // made afresh off the UI thread, like every socket lookup.
                // One holder's button ends that holder's processes (the socket's sharers with
                // it), as it says: never the others in a SO_REUSEPORT group.
                let o = around.shown_owners.get(i)?;
                self.from = Some(Tab::Check);
                let pids = if o.pids.is_empty() {
                    o.pid.into_iter().collect()
                } else {
                    o.pids.clone()
                };
                // An answer of another machine names that machine's processes: they are
                // planned, ended and proven there, never looked for here.
                self.plan_on(
                    around.shown_machine,
                    o.local,
                    o.protocol,
                    Some(pids),
                    around,
                )
            }
            Action::CancelEnd => {
                self.failed();
                None
            }
            Action::ConfirmEnd => {
                let plan = self.confirm.take()?;
                let started = around.worker.start(match self.on.clone() {
                    Some(remote) => Job::RemoteEnd {
                        remote,
                        plan: Box::new(plan),
                    },
                    None => Job::End(Box::new(plan)),
                });
                if started {
                    said("Ending the processes…")
                } else {
                    said("Could not start ending the processes.")
                }
            }
            Action::CopyPid(pid) => {
                ctx.copy_text(pid.to_string());
                Some(EndOutcome::Status(format!("PID {pid} copied.")))
            }
            Action::CopyEndCommand(pid) => {
                let cmd = crate::owners::end_command(pid);
                ctx.copy_text(cmd.clone());
                Some(EndOutcome::Status(format!("Copied: {cmd}")))
            }
            Action::EndSocket(addr, protocol) => {
                self.from = Some(Tab::Listening);
                // A row of another machine's table is ended there: its own plan, confirmed
                // here, carried out and proven there.
                self.plan_on(around.live_machine, addr, protocol, None, around)
            }
            _ => None,
        }
    }

    /// Asks for the plan of ending whoever holds `addr` on `machine` (`None`: here), or only
    /// the processes of `only`: there, that machine's own `end --dry-run`.
    fn plan_on(
        &mut self,
        machine: Option<&str>,
        addr: std::net::SocketAddr,
        protocol: Protocol,
        only: Option<Vec<u32>>,
        around: &EndAround<'_>,
    ) -> Option<EndOutcome> {
        match machine.map(|m| around.machines.remote_for(m)) {
            Some(Ok(remote)) => {
                self.on = Some(remote.clone());
                let job = Job::RemotePlanEnd {
                    remote,
                    addr,
                    protocol,
                    only,
                };
                if around.worker.start(job) {
                    None
                } else {
                    Some(EndOutcome::Status(
                        "Could not start the lookup of the holders.".into(),
                    ))
                }
            }
            Some(Err(e)) => Some(EndOutcome::Status(e.to_string())),
            None => self.plan(addr, protocol, only, around.worker),
        }
    }

    /// Asks the worker for the plan of ending whoever holds `addr` here, or only the processes
    /// of `only` (shown for confirmation).
    fn plan(
        &mut self,
        addr: std::net::SocketAddr,
        protocol: Protocol,
        only: Option<Vec<u32>>,
        worker: &Worker,
    ) -> Option<EndOutcome> {
        self.on = None;
        if worker.start(Job::PlanEnd {
            addr,
            protocol,
            only,
        }) {
            None
        } else {
            Some(EndOutcome::Status(
                "Could not start the lookup of the holders.".into(),
            ))
        }
    }
}
