//! How a lookup of sockets and their processes went, in words: the tables the kernel refused,
//! processes that could not be inspected, running out of descriptors (`owners::LookupNote`).

use crate::owners::{LookupNote, TableRefusal, Uninspected};

/// What to do when Port Inspector itself ran out of file descriptors, as a command that runs as
/// printed in sh and bash, for any user: the soft limit raised to the hard one.
pub const RAISE_FD_LIMIT: &str =
    "raise the limit to the most allowed, in the shell that starts it: ulimit -n \"$(ulimit -Hn)\"";

/// What the kernel refused while looking for sockets and what was read instead: "The kernel
/// refused its socket dump (sock_diag: EAFNOSUPPORT …), so the TCP IPv4 and IPv6 tables were
/// read from /proc/net instead …" and/or "… could not be read either …".
#[must_use]
pub fn tables_refused_text(refused: &[TableRefusal]) -> String {
    let mut errnos: Vec<i32> = refused.iter().map(|r| r.errno).collect();
    errnos.sort_unstable();
    errnos.dedup();
    let why = errnos
        .iter()
        .map(|&n| {
            if n == 0 {
                "failed".to_owned()
            } else {
                let e = crate::oserror::OsError::from_errno(n);
                format!("{} {}", e.native_name, e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let tables = |read: bool| {
        refused
            .iter()
            .filter(|r| r.read_instead == read)
            .map(|r| match r.family {
                crate::target::Family::Any => format!("{} IPv4 and IPv6", r.protocol),
                f => format!("{} {f}", r.protocol),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let were = |read: bool| {
        if refused.iter().filter(|r| r.read_instead == read).count() == 1 {
            "table was"
        } else {
            "tables were"
        }
    };
    let mut out = Vec::new();
    if refused.iter().any(|r| r.read_instead) {
        out.push(format!(
            "The kernel refused its socket dump (sock_diag: {why}), so the {} {} read from /proc/net instead, as ss does; /proc/net shows no TCP socket that is bound without listening (those are looked for descriptor by descriptor, as root).",
            tables(true),
            were(true)
        ));
    }
    if refused.iter().any(|r| !r.read_instead) {
        let advice = if errnos.iter().any(|&n| n == 23 || n == 24) {
            format!("; {RAISE_FD_LIMIT}")
        } else {
            " (a sandbox that refuses netlink sockets, and no /proc/net: allow AF_NETLINK, or run where /proc/net is mounted)".to_owned()
        };
        out.push(format!(
            "The kernel refused its socket dump (sock_diag: {why}) and /proc/net could not be read either: what the {} {} is unknown{advice}.",
            tables(false),
            if refused.iter().filter(|r| !r.read_instead).count() == 1 {
                "table holds"
            } else {
                "tables hold"
            }
        ));
    }
    out.join(" ")
}

/// A note on a busy port whose owner lookup was refused descriptors: the port's state is proven
/// (the bind failed), its owners may be incomplete.
#[must_use]
pub fn lookup_out_of_descriptors() -> String {
    format!("owners not all traced: Port Inspector ran out of file descriptors; {RAISE_FD_LIMIT}")
}

/// A lookup's note as a sentence (`who`'s "note:" lines).
#[must_use]
pub fn lookup_note(n: &LookupNote) -> String {
    let processes = |n: usize| super::count(n, "process", "processes");
    match n {
        LookupNote::Uninspected { count, why } => match why {
            Uninspected::OutOfDescriptors => format!(
                "{} could not be inspected: this process ran out of file descriptors; {RAISE_FD_LIMIT}",
                processes(*count)
            ),
            Uninspected::Refused => format!(
                "{} could not be inspected (not dumpable, or in a user namespace this process has no rights in)",
                processes(*count)
            ),
            Uninspected::OtherUsers => format!(
                "{} could not be inspected (another user's; run as {} to see them)",
                processes(*count),
                crate::platform::Os::current().admin_account()
            ),
        },
        LookupNote::BoundOnlyUnsearched { processes: denied } => format!(
            "this kernel cannot report TCP sockets that are bound but not listening, and {} could not be inspected for them; a bound-only socket there would hold the port without being named (run as root)",
            processes(*denied)
        ),
        LookupNote::TableUnreadable {
            protocol,
            family,
            code,
        } => format!("the {protocol} {family} table was not readable (error {code})"),
        LookupNote::Said(s) => crate::text::clean(s).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON carries a note's fields; a note an earlier version wrote as a sentence (a remote
    /// answer) still reads, and is said escaped.
    #[test]
    fn notes_read_back_typed_or_as_an_earlier_version_wrote_them() {
        let typed = LookupNote::Uninspected {
            count: 1,
            why: Uninspected::OtherUsers,
        };
        let json = serde_json::to_string(&typed).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"uninspected","count":1,"why":"other_users"}"#
        );
        assert_eq!(serde_json::from_str::<LookupNote>(&json).unwrap(), typed);
        assert_eq!(
            lookup_note(&typed),
            format!(
                "1 process could not be inspected (another user's; run as {} to see them)",
                crate::platform::Os::current().admin_account()
            )
        );
        let earlier: LookupNote =
            serde_json::from_str(r#""3 processes could not be read\u001b[31m""#).unwrap();
        assert_eq!(
            lookup_note(&earlier),
            "3 processes could not be read\\x1b[31m"
        );
    }
}
