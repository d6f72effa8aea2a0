//! The one source of error knowledge: every Winsock code a bind check can meet, with its native
//! names per OS and plain-words explanations, loaded from `assets/catalog.json`.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::platform::Os;

/// The operating systems whose native codes the catalog records.
pub const OSES: [Os; 3] = [Os::Linux, Os::Macos, Os::Windows];

/// One native spelling of an error: how the same failure shows up on one OS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeCode {
    /// The OS (`linux`, `macos` or `windows` in the data file).
    pub os: Os,
    /// errno or `EAI_*` name (`EADDRINUSE`), or the WSA name on Windows.
    pub name: String,
    /// The number that OS uses; `EAI_*` values live in their own number space.
    pub code: i32,
}

impl NativeCode {
    /// getaddrinfo codes share numbers with errno values on some OSes, so lookups must know which.
    #[must_use]
    pub fn is_eai(&self) -> bool {
        self.name.starts_with("EAI_")
    }
}

/// Everything we know about one Winsock error code, written for a support-desk reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// `WSAEADDRINUSE`.
    pub wsa_name: String,
    /// 10048.
    pub wsa_code: u32,
    /// The Winsock calls documented to return it (getaddrinfo, socket, setsockopt, bind, …).
    pub calls: Vec<String>,
    /// The same failure's names and numbers on each OS.
    pub native: Vec<NativeCode>,
    /// One line: what the code says.
    pub meaning: String,
    /// What it means for someone trying to bind a port.
    pub explanation: String,
    /// Likely causes, most common first, each with where it can apply.
    pub causes: Vec<Cause>,
    /// What to do.
    pub fixes: Vec<String>,
}

/// One general cause, with the protocol, family and OSes it can apply to (none = all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "CauseRepr")]
pub struct Cause {
    /// The sentence.
    pub text: String,
    /// Only on these OSes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub os: Vec<Os>,
    /// Only for this protocol (`tcp`, `udp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Only when IPv6 can be involved: `ipv6` (an IPv6 bind) or `ipv6_or_any` (IPv6 or both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// A cause is written as plain text, or as an object when it applies only somewhere.
#[derive(Deserialize)]
#[serde(untagged)]
enum CauseRepr {
    Text(String),
    Tagged {
        text: String,
        #[serde(default)]
        os: Vec<Os>,
        #[serde(default)]
        protocol: Option<String>,
        #[serde(default)]
        family: Option<String>,
    },
}

impl From<CauseRepr> for Cause {
    fn from(r: CauseRepr) -> Self {
        match r {
            CauseRepr::Text(text) => Cause {
                text,
                os: Vec::new(),
                protocol: None,
                family: None,
            },
            CauseRepr::Tagged {
                text,
                os,
                protocol,
                family,
            } => Cause {
                text,
                os,
                protocol,
                family,
            },
        }
    }
}

impl Cause {
    /// Whether this cause can apply to a bind of `protocol` and `family` on `os`.
    #[must_use]
    pub fn applies(
        &self,
        protocol: crate::Protocol,
        family: crate::Family,
        os: crate::platform::Os,
    ) -> bool {
        let os_ok = self.os.is_empty() || self.os.contains(&os);
        let proto_ok = self.protocol.as_deref().is_none_or(|p| {
            p == if protocol == crate::Protocol::Udp {
                "udp"
            } else {
                "tcp"
            }
        });
        let family_ok = match self.family.as_deref() {
            Some("ipv6") => family == crate::Family::Ipv6,
            Some("ipv6_or_any") => family != crate::Family::Ipv4,
            _ => true,
        };
        os_ok && proto_ok && family_ok
    }
}

static CATALOG: LazyLock<Vec<CatalogEntry>> = LazyLock::new(|| {
    // The file ships inside the binary and a unit test parses it, so failure here is a build bug.
    serde_json::from_str(include_str!("../assets/catalog.json"))
        .expect("assets/catalog.json is valid (checked by catalog tests)")
});

/// Every entry, ordered by WSA code.
#[must_use]
pub fn all() -> &'static [CatalogEntry] {
    &CATALOG
}

/// The entry for a WSA number.
#[must_use]
pub fn by_wsa(code: u32) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|e| e.wsa_code == code)
}

/// The entry holding a native code on an OS (`eai` selects the getaddrinfo number space).
#[must_use]
pub fn by_native(
    os: Os,
    eai: bool,
    code: i32,
) -> Option<(&'static CatalogEntry, &'static NativeCode)> {
    CATALOG.iter().find_map(|e| {
        e.native
            .iter()
            .find(|n| n.os == os && n.is_eai() == eai && n.code == code)
            .map(|n| (e, n))
    })
}

/// Finds an entry by what a person types: `10048`, `WSAEADDRINUSE`, `EADDRINUSE`, `eai_noname`.
#[must_use]
pub fn lookup(query: &str) -> Option<&'static CatalogEntry> {
    let q = query.trim();
    if let Ok(n) = q.parse::<u32>() {
        return by_wsa(n);
    }
    CATALOG.iter().find(|e| {
        e.wsa_name.eq_ignore_ascii_case(q)
            || e.native.iter().any(|n| n.name.eq_ignore_ascii_case(q))
    })
}

/// One reading of a code a user has in hand: which OS spells it that way, and its entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meaning {
    /// Windows for a WSA number or name, else the OS whose errno/EAI it is.
    pub os: Os,
    /// How that OS names it (`EADDRINUSE`, `EAI_NONAME`, `WSAEADDRINUSE`).
    pub name: String,
    /// The number on that OS.
    pub code: i64,
    /// The Winsock entry it maps to.
    pub entry: &'static CatalogEntry,
}

/// Every meaning of `query`: a WSA number or name, a native number (errno such as 98, an EAI code
/// such as -2) or a native name, on any OS the catalog knows. A number can mean different errors
/// on different OSes (48 is EADDRINUSE on macOS); each meaning is listed with its OS, once.
#[must_use]
pub fn meanings(query: &str) -> Vec<Meaning> {
    let q = query.trim();
    let mut out: Vec<Meaning> = Vec::new();
    let mut push = |m: Meaning| {
        if !out
            .iter()
            .any(|o| o.os == m.os && o.name == m.name && o.entry.wsa_code == m.entry.wsa_code)
        {
            out.push(m);
        }
    };
    if let Ok(n) = q.parse::<i64>() {
        for e in CATALOG.iter() {
            if i64::from(e.wsa_code) == n {
                push(Meaning {
                    os: Os::Windows,
                    name: e.wsa_name.clone(),
                    code: n,
                    entry: e,
                });
            }
            for nc in e
                .native
                .iter()
                .filter(|nc| i64::from(nc.code) == n && nc.os != Os::Windows)
            {
                push(Meaning {
                    os: nc.os,
                    name: nc.name.clone(),
                    code: n,
                    entry: e,
                });
            }
        }
        return out;
    }
    for e in CATALOG.iter() {
        if e.wsa_name.eq_ignore_ascii_case(q) {
            push(Meaning {
                os: Os::Windows,
                name: e.wsa_name.clone(),
                code: i64::from(e.wsa_code),
                entry: e,
            });
        }
        for nc in e
            .native
            .iter()
            .filter(|nc| nc.name.eq_ignore_ascii_case(q) && nc.os != Os::Windows)
        {
            push(Meaning {
                os: nc.os,
                name: nc.name.clone(),
                code: i64::from(nc.code),
                entry: e,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers checked against winerror.h, Linux errno.h / netdb.h and macOS sys/errno.h / netdb.h.
    #[test]
    fn well_known_numbers_are_exact() {
        let cases = [
            ("WSAEADDRINUSE", 10048, "linux", "EADDRINUSE", 98),
            ("WSAEADDRINUSE", 10048, "macos", "EADDRINUSE", 48),
            ("WSAEACCES", 10013, "linux", "EACCES", 13),
            ("WSAEADDRNOTAVAIL", 10049, "linux", "EADDRNOTAVAIL", 99),
            ("WSAEADDRNOTAVAIL", 10049, "macos", "EADDRNOTAVAIL", 49),
            ("WSAHOST_NOT_FOUND", 11001, "linux", "EAI_NONAME", -2),
            ("WSAHOST_NOT_FOUND", 11001, "macos", "EAI_NONAME", 8),
            ("WSATRY_AGAIN", 11002, "linux", "EAI_AGAIN", -3),
            ("WSAEAFNOSUPPORT", 10047, "linux", "EAFNOSUPPORT", 97),
            ("WSAEMFILE", 10024, "linux", "EMFILE", 24),
            ("WSAENOBUFS", 10055, "linux", "ENOBUFS", 105),
            ("WSAEOPNOTSUPP", 10045, "macos", "EOPNOTSUPP", 102),
        ];
        for (wsa, num, os, native, code) in cases {
            let e = lookup(wsa).unwrap_or_else(|| panic!("{wsa} missing"));
            assert_eq!(e.wsa_code, num, "{wsa} number");
            assert!(
                e.native
                    .iter()
                    .any(|n| n.os.to_string() == os && n.name == native && n.code == code),
                "{wsa} lacks {os} {native} {code}"
            );
        }
    }

    #[test]
    fn every_entry_is_complete_and_findable() {
        let mut seen = std::collections::HashSet::new();
        for e in all() {
            assert!(seen.insert(e.wsa_code), "duplicate {}", e.wsa_code);
            assert!(e.wsa_name.starts_with("WSA"), "{} name", e.wsa_code);
            assert!(
                !e.meaning.is_empty() && !e.explanation.is_empty(),
                "{} text",
                e.wsa_name
            );
            assert!(
                !e.causes.is_empty() && !e.fixes.is_empty(),
                "{} causes/fixes",
                e.wsa_name
            );
            assert!(!e.calls.is_empty(), "{} calls", e.wsa_name);
            assert!(
                e.native
                    .iter()
                    .any(|n| n.os == Os::Windows && n.name == e.wsa_name),
                "{} has its Windows spelling",
                e.wsa_name
            );
            assert_eq!(
                lookup(&e.wsa_code.to_string()).map(|x| x.wsa_code),
                Some(e.wsa_code),
                "by number"
            );
            assert_eq!(
                lookup(&e.wsa_name).map(|x| x.wsa_code),
                Some(e.wsa_code),
                "by WSA name"
            );
            for n in &e.native {
                assert!(OSES.contains(&n.os), "{} os {}", e.wsa_name, n.os);
                assert_eq!(
                    lookup(&n.name.to_lowercase()).map(|x| x.wsa_code),
                    Some(e.wsa_code),
                    "by native name {}",
                    n.name
                );
                assert_eq!(
                    by_native(n.os, n.is_eai(), n.code).map(|(x, _)| x.wsa_code),
                    Some(e.wsa_code),
                    "native {} {} maps back",
                    n.os,
                    n.name
                );
            }
        }
    }

    /// Microsoft documents these codes for getaddrinfo, socket, setsockopt, bind, listen, closesocket.
    #[test]
    fn covers_every_documented_winsock_code() {
        let documented = [
            8, 10004, 10013, 10014, 10022, 10024, 10035, 10036, 10038, 10041, 10042, 10043, 10044,
            10045, 10047, 10048, 10049, 10050, 10052, 10055, 10056, 10057, 10093, 10104, 10105,
            10106, 10109, 11001, 11002, 11003, 11004,
        ];
        for code in documented {
            assert!(by_wsa(code).is_some(), "catalog lacks {code}");
        }
    }
}
