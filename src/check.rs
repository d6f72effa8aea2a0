//! One complete check: the probe, the owners of the port, the machine's facts and the diagnosis,
//! as the single value that the CLI, the JSON and the window all render.

use serde::{Deserialize, Serialize};

use crate::diagnose::{self, Conflict, Diagnosis, Evidence};
use crate::facts::{self, Facts};
use crate::owners::{self, Owner, Query};
use crate::probe::{self, ProbeConfig, ProbeReport, Verdict};

/// Everything known about one bind attempt; its JSON is the `check --json` contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The probe itself: target, resolve, attempts, verdict, error.
    #[serde(flatten)]
    pub report: ProbeReport,
    /// The diagnosis of a failure, causes checked on this machine first.
    pub explanation: Option<Diagnosis>,
    /// Sockets that use the port with the same protocol (who is in the way).
    pub owners: Vec<Owner>,
    /// Sockets on the port whose process we may not see.
    pub hidden_owners: usize,
    /// For a TIME_WAIT-only conflict: whether a retry with SO_REUSEADDR bound the port.
    pub reuse_retry_ok: Option<bool>,
    /// Cautions for a bind that worked (ephemeral range, other addresses on the port held,
    /// NAT redirects).
    pub warnings: Vec<String>,
    /// NAT rules that send this port's incoming connections elsewhere (Linux, as root).
    pub nat: Vec<crate::nat::NatRedirect>,
    /// Why NAT rules were not read, when they were not.
    pub nat_note: Option<String>,
    /// The facts the diagnosis used.
    pub facts: Facts,
}

impl Check {
    /// Whether every address could be bound.
    #[must_use]
    pub fn bindable(&self) -> bool {
        self.report.verdict == Verdict::Bindable
    }
}

/// Runs a check end to end. Blocks for at most the probe's timeout plus a few milliseconds.
#[must_use]
pub fn run(target: &crate::Target, cfg: &ProbeConfig) -> Check {
    let report = probe::run(target, cfg);
    let facts = facts::gather();
    complete(report, facts, cfg)
}

/// Adds owners, the TIME_WAIT retry and the diagnosis to a finished probe.
#[must_use]
pub fn complete(report: ProbeReport, facts: Facts, cfg: &ProbeConfig) -> Check {
    let target = &report.target;
    let resolved = report.resolve.ok;
    let (mut list, hidden) = if resolved && target.port != 0 {
        let found = owners::of(Query {
            port: target.port,
            protocol: Some(target.protocol),
        });
        (found.owners, found.hidden)
    } else {
        (Vec::new(), 0)
    };
    list.retain(|o| o.protocol == target.protocol);

    let in_use = report.error.as_ref().is_some_and(|e| e.wsa_code == 10048);
    let mut reuse_retry_ok = None;
    if in_use && !target.options.reuse_address {
        let ip = report
            .failed_address
            .as_deref()
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            .map(|a| a.ip());
        let (conflict, _) = diagnose::classify_conflict(target, ip, &list, facts.bindv6only);
        if conflict == Conflict::TimeWaitOnly {
            // Prove, don't promise: retry the same bind with SO_REUSEADDR.
            let mut retry = target.clone();
            retry.options.reuse_address = true;
            reuse_retry_ok = Some(probe::run(&retry, cfg).verdict == Verdict::Bindable);
        }
    }
    let explanation = diagnose::diagnose(
        &report,
        &facts,
        &Evidence {
            owners: &list,
            hidden,
            reuse_retry_ok,
        },
    );
    let mut warnings = Vec::new();
    if report.verdict == Verdict::Bindable {
        let port = report
            .attempts
            .iter()
            .find_map(|a| a.bound.as_deref())
            .and_then(|b| b.parse::<std::net::SocketAddr>().ok())
            .map_or(target.port, |a| a.port());
        if target.port != 0
            && facts.is_ephemeral(port)
            && let Some(r) = &facts.ephemeral_range
        {
            {
                warnings.push(format!(
                    "Port {port} is inside the ephemeral range {}-{}: outgoing connections may take it at any moment, so a server may find it busy later.",
                    r.start, r.end
                ));
            }
        }
        let others: Vec<String> = list
            .iter()
            .filter(|o| o.state != "TIME_WAIT")
            .map(|o| o.local.clone())
            .collect();
        let tested = report.bound_addresses();
        if let Some(w) = crate::platform::sharing_warning(
            crate::platform::Os::from_name(&facts.os),
            port,
            &tested.join(", "),
            &others,
        ) {
            warnings.push(w);
        }
    }
    let (nat, nat_note) = if !resolved || target.port == 0 || facts.os != "linux" {
        (Vec::new(), None)
    } else if !facts.elevated {
        (
            Vec::new(),
            Some(
                "NAT rules were not read: run as root to see DNAT rules that redirect this port"
                    .into(),
            ),
        )
    } else {
        match crate::nat::redirects(target.port, target.protocol) {
            Ok(v) => (v, None),
            Err(e) => (Vec::new(), Some(e)),
        }
    };
    for r in &nat {
        warnings.push(format!(
            "{}, but incoming connections to port {} are redirected to {} by a NAT rule ({}: {}); a client may never reach this program.",
            if report.verdict == Verdict::Bindable { "Bindable" } else { "Also" },
            target.port,
            r.to,
            r.source,
            r.rule
        ));
    }
    Check {
        nat,
        nat_note,
        report,
        explanation,
        owners: list,
        hidden_owners: hidden,
        reuse_retry_ok,
        warnings,
        facts,
    }
}
