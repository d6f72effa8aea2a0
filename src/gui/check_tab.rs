//! The Check tab's runs: a check started from the form, a history entry or `port-inspector window
//! TARGET`, on the worker (never a lookup on the UI thread).

#[allow(clippy::wildcard_imports)]
use super::app::*;
use std::time::{Duration, Instant};

use super::worker::Job;
use crate::probe::CancelToken;
use crate::target::Target;

impl App {
    /// Shows `target` in the form and checks it at once (`port-inspector window TARGET`).
    pub fn open_on(&mut self, target: Target) {
        let host = target.host.trim();
        self.inputs.interface = if host.is_empty() {
            InterfaceChoice::AllAny
        } else {
            // An address of this machine opens on its interface, as a scan row does.
            InterfaceChoice::for_host(host, &self.interfaces)
        };
        host.clone_into(&mut self.inputs.custom_host);
        self.inputs.port_text = target.port.to_string();
        self.inputs.protocol = target.protocol;
        self.inputs.family = target.family;
        self.inputs.reuse_address = target.options.reuse_address;
        self.inputs.reuse_port = target.options.reuse_port;
        self.inputs.v6_only = target.options.v6_only;
        self.inputs.listen = target.options.listen;
        self.inputs.exclusive = target.options.exclusive_address_use;
        self.tab = Tab::Check;
        self.start(target);
    }

    /// Starts a check unless one is running (a second click while busy is ignored).
    pub(super) fn start(&mut self, target: Target) {
        if self.running.is_some() {
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let cancel = CancelToken::new();
        let timeout = Duration::from_secs_f32(self.inputs.timeout_secs.clamp(0.5, 120.0));
        // The picked machine answers: this one on the probe thread, another over ssh.
        let job = match self.machines.picked_remote() {
            None => Job::Check {
                id,
                target: target.clone(),
                timeout,
                cancel: cancel.clone(),
            },
            Some(Ok(remote)) => Job::RemoteCheck {
                id,
                remote,
                target: target.clone(),
                timeout,
                cancel: cancel.clone(),
            },
            Some(Err(e)) => {
                self.status = Some(e.to_string());
                return;
            }
        };
        let sent = self.worker.start(job);
        if sent {
            self.status = None;
            self.running = Some(Running {
                id,
                target,
                started: Instant::now(),
                cancel,
            });
        } else {
            self.status = Some("The probe thread is not available; restart the app.".into());
        }
    }
}
