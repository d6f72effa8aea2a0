//! Ending a port's owner from the window: the plan is built off the UI thread (every PID sharing
//! the socket, what restarts it, what is refused), confirmed by the user, carried out by the
//! worker, and its report replaces the stale verdict with a fresh check.

#[allow(clippy::wildcard_imports)]
use super::app::*;
use super::worker::{Event, Job};
use crate::owners;

impl App {
    /// Takes the End plan and the End report from the worker.
    pub(super) fn on_end_event(&mut self, event: Event) {
        match event {
            Event::EndPlan(plan) => self.confirm_end = Some(*plan),
            Event::EndDone(report) => {
                // One line per PID, as the report has them (the views wrap them); another
                // machine's report says which machine.
                let mut said = crate::render::end_report(&report).trim_end().to_owned();
                if let Some(r) = self.end_on.take() {
                    said = format!(
                        "On {} (over ssh):\n{said}",
                        crate::text::clean(&r.machine.to_string())
                    );
                }
                match self.end_from.take() {
                    // Ended from a row of the live table: that table is read again at once,
                    // and the Check tab keeps what it showed.
                    Some(Tab::Listening) => self.listening_now.soon = true,
                    // Ended from a check: its verdict is stale now; check again and show the
                    // fresh answer, with what was done above it.
                    _ => {
                        if let Some(t) = self.check.shown_check().map(|c| c.report.target.clone()) {
                            self.start(t);
                        }
                    }
                }
                // After the fresh check started (which clears the last status).
                self.status = Some(said);
            }
            _ => {}
        }
    }

    /// Applies the End actions (ask, confirm, cancel) and the copies of a PID or a kill command.
    pub(super) fn apply_end(&mut self, ctx: &egui::Context, action: &Action) {
        match *action {
            Action::AskEnd(i) => {
                // The plan (every PID sharing the socket, what restarts it, what is refused) is
                // built off the UI thread, like every socket lookup.
                if let Some(o) = self.check.shown_check().and_then(|c| c.owners.get(i)) {
                    let (addr, protocol) = (o.local, o.protocol);
                    self.end_from = Some(Tab::Check);
                    self.plan_end(addr, protocol);
                }
            }
            Action::CancelEnd => {
                self.confirm_end = None;
                self.end_on = None;
            }
            Action::ConfirmEnd => {
                if let Some(plan) = self.confirm_end.take() {
                    let started = self.worker.start(match self.end_on.clone() {
                        Some(remote) => Job::RemoteEnd {
                            remote,
                            plan: Box::new(plan),
                        },
                        None => Job::End(Box::new(plan)),
                    });
                    self.status = Some(if started {
                        "Ending the processes…".into()
                    } else {
                        "Could not start ending the processes.".into()
                    });
                }
            }
            Action::CopyPid(pid) => {
                ctx.copy_text(pid.to_string());
                self.status = Some(format!("PID {pid} copied."));
            }
            Action::CopyEndCommand(pid) => {
                let cmd = owners::end_command(pid);
                ctx.copy_text(cmd.clone());
                self.status = Some(format!("Copied: {cmd}"));
            }
            Action::EndSocket(addr, protocol) => {
                self.end_from = Some(Tab::Listening);
                // A row of another machine's table is ended there: its own plan, confirmed
                // here, carried out and proven there.
                let on = self.listening_now.machine.clone();
                match on.map(|m| self.machines.remote_for(&m)) {
                    Some(Ok(remote)) => {
                        self.end_on = Some(remote.clone());
                        let job = Job::RemotePlanEnd {
                            remote,
                            addr,
                            protocol,
                        };
                        if !self.worker.start(job) {
                            self.status = Some("Could not start the lookup of the holders.".into());
                        }
                    }
                    Some(Err(e)) => self.status = Some(e.to_string()),
                    None => self.plan_end(addr, protocol),
                }
            }
            _ => {}
        }
    }

    /// Asks the worker for the plan of ending whoever holds `addr` (shown for confirmation).
    fn plan_end(&mut self, addr: std::net::SocketAddr, protocol: crate::target::Protocol) {
        self.end_on = None;
        if !self.worker.start(Job::PlanEnd { addr, protocol }) {
            self.status = Some("Could not start the lookup of the holders.".into());
        }
    }
}
