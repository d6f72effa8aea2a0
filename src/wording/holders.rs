//! Who holds a port, in phrases: a socket's processes, what manages them, a list of holders.

use crate::owners::{Owner, OwnerNote};
use crate::platform::Os;
use crate::text::clean;

/// `nginx (PID 123)` or a plain account of why no process is named. Outside text (the process
/// name, the user) is escaped. The account to run as to see another user's process is this
/// OS's own (root, or Administrator on Windows).
#[must_use]
pub fn who(o: &Owner) -> String {
    match (o.pid, &o.process) {
        (Some(pid), Some(name)) => format!("{} (PID {pid})", clean(name)),
        (Some(pid), None) => format!("PID {pid} (name unreadable)"),
        _ => match o.note {
            Some(OwnerNote::Kernel) => match &o.kernel {
                Some(k) => format!(
                    "the kernel ({} device {})",
                    k.kind.name(),
                    super::devices_list(&k.devices)
                ),
                None => "the kernel".into(),
            },
            Some(OwnerNote::TimeWait) => "a TIME_WAIT socket (no process)".into(),
            Some(OwnerNote::Orphan) => "an orphaned socket (no process)".into(),
            Some(OwnerNote::OtherUser) => format!(
                "a process of user {} (run as {} to see which)",
                clean(o.user.as_deref().unwrap_or("unknown")),
                Os::current().admin_account()
            ),
            Some(OwnerNote::NoPtrace) => format!(
                "a process of user {} (hidden: this root lacks CAP_SYS_PTRACE)",
                clean(o.user.as_deref().unwrap_or("unknown"))
            ),
            Some(OwnerNote::NoPid) => {
                "a socket whose process the OS table does not name (PID 0)".into()
            }
            Some(OwnerNote::ShortLived) => "a short-lived socket (gone when looked up)".into(),
            Some(OwnerNote::OutOfDescriptors) => {
                "a socket not traced to a process (Port Inspector ran out of file descriptors)"
                    .into()
            }
            Some(OwnerNote::Uninspectable) => {
                "a process here that could not be inspected (not dumpable, or in another user namespace)"
                    .into()
            }
            Some(OwnerNote::NotInView) => {
                "a socket of no process visible here (another PID namespace, or the kernel)".into()
            }
            _ => "unknown process".into(),
        },
    }
}

/// `nginx (PID 812)`, `nginx (PID 812) and 4 processes that share its socket`, or a count.
pub(crate) fn holders_phrase(sockets: &[Owner]) -> String {
    let mut names: Vec<String> = Vec::new();
    for o in sockets {
        let n = process_phrase(o);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    match names.len() {
        0 => "a socket".into(),
        1 | 2 => names.join(" and "),
        n => format!("{} and {} more", names[0], n - 1),
    }
}

/// Windows services as `iphlpsvc (IP Helper), Dnscache (DNS Client)`: the name `sc.exe` takes,
/// then the one the Services console shows.
pub(crate) fn service_list(services: &[crate::owners::WinService]) -> String {
    services
        .iter()
        .map(|s| {
            if s.display.is_empty() || s.display == s.name {
                clean(&s.name).into_owned()
            } else {
                format!("{} ({})", clean(&s.name), clean(&s.display))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What manages a holder, as a clause after its name: `run by systemd unit nginx.service`,
/// `in container web-1 (3f2a9c1b7d4e)`, `started from the shell bash`; none for PID 1.
pub(crate) fn manager_clause(o: &Owner) -> Option<String> {
    use crate::owners::ManagedKind;
    let m = o.managed_by.as_ref()?;
    let name = clean(&m.name);
    Some(match m.kind {
        ManagedKind::Systemd if m.name.rsplit_once('.').is_some_and(|(_, k)| k == "scope") => {
            format!("in systemd scope {name}")
        }
        ManagedKind::Systemd => format!("run by systemd unit {name}"),
        ManagedKind::Container => match &m.container {
            Some(c) => format!("in container {} ({name})", clean(c)),
            None => format!("in container {name}"),
        },
        ManagedKind::Supervisor => format!("run by the supervisor {name}"),
        ManagedKind::Shell => format!("started from the shell {name}"),
        ManagedKind::Init => return None,
        ManagedKind::Service => format!(
            "{}: {}",
            if m.services.len() > 1 {
                "services"
            } else {
                "service"
            },
            service_list(&m.services)
        ),
    })
}

/// One socket's processes: `nginx (PID 812)`, `nginx (PID 812) and PID 813, 814, which share the
/// socket`, or why none is named.
pub(crate) fn process_phrase(o: &Owner) -> String {
    let base = who(o);
    let others: Vec<String> = o
        .pids
        .iter()
        .filter(|p| Some(**p) != o.pid)
        .map(ToString::to_string)
        .collect();
    if others.is_empty() {
        base
    } else {
        let shown: Vec<&str> = others.iter().take(8).map(String::as_str).collect();
        let more = if others.len() > 8 {
            format!(" and {} more", others.len() - 8)
        } else {
            String::new()
        };
        // Sharers are found by their descriptors, whatever their relation (a child, an orphaned
        // sibling, a process sent the socket): no relation is claimed.
        let list = match shown.split_last() {
            Some((last, rest)) if !rest.is_empty() && more.is_empty() => {
                format!("PIDs {} and {last}", rest.join(", "))
            }
            _ if shown.len() > 1 => format!("PIDs {}", shown.join(", ")),
            _ => format!("PID {}", shown.join(", ")),
        };
        format!("{base} and {list}{more}, which share the socket")
    }
}

/// Whether the holders named by [`holders_list`] are more than one process (the verb after
/// them is then plural: "… already hold", not "… already holds").
pub(crate) fn several(sockets: &[Owner]) -> bool {
    let mut pids: Vec<Option<u32>> = Vec::new();
    for o in sockets {
        for p in std::iter::once(o.pid).chain(o.pids.iter().copied().map(Some)) {
            if !pids.contains(&p) {
                pids.push(p);
            }
        }
    }
    pids.len() > 1
}

pub(crate) fn holders_list(sockets: &[Owner]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for o in sockets {
        // A relative clause ("…, which share the socket on A (LISTEN)") is closed by a comma.
        let phrase = process_phrase(o);
        let close = if phrase.ends_with("which share the socket") {
            ","
        } else {
            ""
        };
        let p = format!("{phrase} on {} ({}){close}", o.address(), o.state);
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    parts.join("; ")
}

/// Who started a process and what manages it, in a few words: `systemd nginx.service`,
/// `shell bash (PID 812)`.
#[must_use]
pub fn managed_by(o: &Owner) -> String {
    use crate::owners::ManagedKind;
    match &o.managed_by {
        // A parent of PID 1 proves no manager: the process may have been started by init, or
        // orphaned when its own parent died (re-parented to PID 1). Say only what was seen.
        Some(m) if m.kind == ManagedKind::Init => format!("parent PID 1 ({})", clean(&m.name)),
        Some(m) => {
            let kind = match m.kind {
                ManagedKind::Systemd => "systemd",
                ManagedKind::Container => "container",
                ManagedKind::Supervisor => "supervisor",
                ManagedKind::Shell => "shell",
                ManagedKind::Init => "parent",
                ManagedKind::Service => "service",
            };
            match &m.container {
                Some(name) => format!("{kind} {} ({})", clean(name), clean(&m.name)),
                None => format!("{kind} {}", clean(&m.name)),
            }
        }
        None => o
            .ancestry
            .first()
            .map(|a| {
                format!(
                    "{} (PID {})",
                    clean(a.name.as_deref().unwrap_or("?")),
                    a.pid
                )
            })
            .unwrap_or_default(),
    }
}

/// How many other processes share `o`'s socket, as `who`, `list` and `scan` say it: `+2 sharing`
/// (an SO_REUSEPORT group's members each have their own socket; these hold the same one: forked
/// children, a socket passed on). `None` for a socket with one process.
#[must_use]
pub fn sharing(o: &Owner) -> Option<String> {
    let others = o.pids.iter().filter(|p| Some(**p) != o.pid).count();
    (others > 0).then(|| format!("+{others} sharing"))
}

/// [`who`] holds the socket, with [`sharing`]: `nginx (PID 7) +1 sharing`.
#[must_use]
pub fn who_sharing(o: &Owner) -> String {
    match sharing(o) {
        Some(more) => format!("{} {more}", who(o)),
        None => who(o),
    }
}

/// Who holds something, in one phrase: each distinct holder once, in order (`nginx (PID 12),
/// php-fpm (PID 40)`). A server's listener and the connections it accepted are all its sockets
/// on the port; naming the same process once per socket would read as several holders.
#[must_use]
pub fn holders_in_words<'a>(owners: impl IntoIterator<Item = &'a Owner>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for o in owners {
        let name = who_sharing(o);
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen.join(", ")
}
