//! An OS error in both spellings: the native code (errno, `EAI_*`, or the WSA code on Windows)
//! and its Winsock name and number, so every failure reads the same on every OS.

use std::io;

use serde::{Deserialize, Serialize};

/// The Winsock codes the diagnosis branches on, by name.
pub mod wsa {
    /// WSAEACCES: permission denied.
    pub const EACCES: u32 = 10013;
    /// WSAEINVAL: invalid argument.
    pub const EINVAL: u32 = 10022;
    /// WSAEMFILE: too many open sockets.
    pub const EMFILE: u32 = 10024;
    /// WSAEAFNOSUPPORT: address family not supported.
    pub const EAFNOSUPPORT: u32 = 10047;
    /// WSAEADDRINUSE: address already in use.
    pub const EADDRINUSE: u32 = 10048;
    /// WSAEADDRNOTAVAIL: address not available here.
    pub const EADDRNOTAVAIL: u32 = 10049;
    /// WSAENOBUFS: no buffer space (also out of file table entries).
    pub const ENOBUFS: u32 = 10055;
    /// WSAETIMEDOUT: timed out.
    pub const ETIMEDOUT: u32 = 10060;
    /// WSAECANCELLED: cancelled.
    pub const ECANCELLED: u32 = 10103;
    /// WSAHOST_NOT_FOUND: no such host.
    pub const HOST_NOT_FOUND: u32 = 11001;
    /// WSATRY_AGAIN: temporary resolver failure.
    pub const TRY_AGAIN: u32 = 11002;
    /// WSANO_RECOVERY: permanent resolver failure.
    pub const NO_RECOVERY: u32 = 11003;
    /// WSANO_DATA: the name has no address of the family asked.
    pub const NO_DATA: u32 = 11004;
    /// WSATYPE_NOT_FOUND: the service (port) is not known for the socket type (`EAI_SERVICE`).
    pub const TYPE_NOT_FOUND: u32 = 10109;
}

use crate::catalog;

/// A failure as the user sees it: what this OS said, and what Windows would call it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsError {
    /// errno / `EAI_*` value on Linux and macOS, `WSAGetLastError` on Windows.
    pub native_code: i32,
    /// `EADDRINUSE`, `EAI_NONAME`, … (`WSAEADDRINUSE` on Windows).
    pub native_name: String,
    /// The Winsock number (10048); 0 when the code is unknown to the catalog.
    pub wsa_code: u32,
    /// The Winsock name (`WSAEADDRINUSE`); `UNKNOWN` when the code is unknown to the catalog.
    pub wsa_name: String,
    /// The OS's own message text.
    pub message: String,
}

/// One line for people: `WSAEADDRINUSE (10048) / EADDRINUSE (98): Address already in use` (the
/// OS's message is outside text: a front that prints it escapes it).
impl std::fmt::Display for OsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.native_name == self.wsa_name {
            write!(f, "{} ({}): {}", self.wsa_name, self.wsa_code, self.message)
        } else {
            write!(
                f,
                "{} ({}) / {} ({}): {}",
                self.wsa_name, self.wsa_code, self.native_name, self.native_code, self.message
            )
        }
    }
}

/// An `OsError` is an error like any other: `?` takes it into `anyhow`, with its one line.
impl std::error::Error for OsError {}

impl OsError {
    /// Builds from an errno-style code on the current OS.
    #[must_use]
    pub fn from_errno(code: i32) -> Self {
        Self::build(false, code, message_of(&io::Error::from_raw_os_error(code)))
    }

    /// Builds from a failed socket call; errors with no OS code become "unknown".
    #[must_use]
    pub fn from_io(err: &io::Error) -> Self {
        match err.raw_os_error() {
            Some(code) => Self::from_errno(code),
            None => Self {
                native_code: 0,
                native_name: "UNKNOWN".into(),
                wsa_code: 0,
                wsa_name: "UNKNOWN".into(),
                message: err.to_string(),
            },
        }
    }

    /// Builds from a getaddrinfo return code (`EAI_*` on Unix, a WSA code on Windows).
    #[must_use]
    pub fn from_eai(code: i32, message: String) -> Self {
        let os = crate::platform::Os::current();
        Self::build_for(os, os.resolver_has_eai_codes(), code, message)
    }

    /// The error for a lookup that answered with no address at all: `EAI_NODATA` as this OS
    /// numbers it (-5 with glibc and musl, 7 on macOS), `WSANO_DATA` (11004) on Windows. The
    /// number comes from the C library's own constant, so macOS never reads `EAI_-5`.
    #[must_use]
    pub fn no_address(message: String) -> Self {
        #[cfg(unix)]
        let code = libc::EAI_NODATA;
        #[cfg(not(unix))]
        let code = 11004;
        Self::from_eai(code, message)
    }

    /// The error for a check that ran out of time (`WSAETIMEDOUT` / `ETIMEDOUT`).
    #[must_use]
    pub fn timed_out(what: &str) -> Self {
        let mut e = Self::from_entry_of(10060);
        what.clone_into(&mut e.message);
        e
    }

    /// The error for a check the user cancelled (`WSAECANCELLED` / `ECANCELED`).
    #[must_use]
    pub fn cancelled() -> Self {
        let mut e = Self::from_entry_of(10103);
        e.message = "cancelled by the user".into();
        e
    }

    fn from_entry_of(wsa: u32) -> Self {
        let os = crate::platform::Os::current();
        let entry = catalog::by_wsa(wsa);
        let native = entry.and_then(|e| e.native.iter().find(|n| n.os == os && !n.is_eai()));
        Self {
            native_code: native.map_or(0, |n| n.code),
            native_name: native.map_or_else(|| "UNKNOWN".into(), |n| n.name.clone()),
            wsa_code: wsa,
            wsa_name: entry.map_or_else(|| "UNKNOWN".into(), |e| e.wsa_name.clone()),
            message: entry.map(|e| e.meaning.clone()).unwrap_or_default(),
        }
    }

    fn build(eai: bool, code: i32, message: String) -> Self {
        Self::build_for(crate::platform::Os::current(), eai, code, message)
    }

    /// Builds from a native (non-resolver) code as `os` numbers it: fixtures of another OS's
    /// evidence use this, so they read the same whichever OS runs the tests.
    #[must_use]
    pub fn for_os(os: crate::platform::Os, code: i32) -> Self {
        let message = catalog::by_native(os, false, code)
            .map(|(e, _)| e.meaning.clone())
            .unwrap_or_default();
        Self::build_for(os, false, code, message)
    }

    /// Builds from a getaddrinfo return code as `os` numbers it (`EAI_*` on Linux and macOS, a
    /// WSA code on Windows): like [`Self::for_os`], for fixtures of a lookup that failed.
    #[must_use]
    pub fn resolver_for_os(os: crate::platform::Os, code: i32, message: String) -> Self {
        Self::build_for(os, os.resolver_has_eai_codes(), code, message)
    }

    fn build_for(os: crate::platform::Os, eai: bool, code: i32, message: String) -> Self {
        // Without a system message (Wine, stripped systems) Rust's text is
        // "OS Error 10048 (FormatMessageW() returned error 317)": never shown; the catalog's
        // meaning, or the family of the code, says it instead.
        let no_text = message.trim().is_empty() || message.contains("FormatMessageW()");
        match catalog::by_native(os, eai, code) {
            Some((entry, native)) => Self {
                native_code: code,
                native_name: native.name.clone(),
                wsa_code: entry.wsa_code,
                wsa_name: entry.wsa_name.clone(),
                message: if no_text {
                    entry.meaning.clone()
                } else {
                    message
                },
            },
            None => Self {
                native_code: code,
                native_name: if eai {
                    format!("EAI_{code}")
                } else if os == crate::platform::Os::Windows {
                    format!("error {code}")
                } else {
                    format!("errno {code}")
                },
                wsa_code: 0,
                wsa_name: "UNKNOWN".into(),
                message: if no_text {
                    unknown_family(os, code)
                } else {
                    message
                },
            },
        }
    }
}

/// What can be said of a code the catalog lacks: its number, and the family its range belongs to.
fn unknown_family(os: crate::platform::Os, code: i32) -> String {
    let family = if os == crate::platform::Os::Windows {
        match code {
            10004..=10014 => {
                "a Winsock error in the call itself (interrupted, access, bad pointer)"
            }
            10022..=10034 => "a Winsock error in the call's arguments or the socket's resources",
            10035..=10047 => "a Winsock error in the socket's type, protocol or address family",
            10048..=10071 => "a Winsock error in the address or the network",
            10091..=10112 => "a Winsock start-up or service-provider error",
            11001..=11031 => "a name-resolution (DNS) error",
            _ => "an error this catalog does not name",
        }
    } else {
        "an error this catalog does not name"
    };
    format!("error {code}: {family}")
}

/// The OS message without Rust's " (os error N)" suffix, which we print ourselves.
fn message_of(err: &io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn errno_maps_to_wsa() {
        let e = OsError::from_errno(98);
        assert_eq!(
            (e.wsa_code, e.wsa_name.as_str(), e.native_name.as_str()),
            (10048, "WSAEADDRINUSE", "EADDRINUSE")
        );
        assert_eq!(e.message, "Address already in use");
        assert_eq!(OsError::from_errno(13).wsa_code, 10013);
        assert_eq!(OsError::from_errno(99).wsa_code, 10049);
    }

    #[test]
    fn no_address_is_eai_nodata_as_each_os_numbers_it() {
        let e = OsError::no_address(String::new());
        assert_eq!(
            (e.wsa_code, e.native_name.as_str(), e.native_code),
            (11004, "EAI_NODATA", libc::EAI_NODATA),
            "this OS"
        );
        // macOS numbers EAI_NODATA 7: its evidence reads EAI_NODATA, never `EAI_-5`.
        let mac = OsError::resolver_for_os(crate::platform::Os::Macos, 7, String::new());
        assert_eq!(
            (mac.wsa_code, mac.native_name.as_str()),
            (11004, "EAI_NODATA"),
            "macOS"
        );
        let win = OsError::resolver_for_os(crate::platform::Os::Windows, 11004, String::new());
        assert_eq!(win.native_name, "WSANO_DATA", "Windows");
    }

    #[test]
    fn eai_maps_to_wsa_in_its_own_number_space() {
        assert_eq!(OsError::from_eai(-2, String::new()).wsa_code, 11001);
        assert_eq!(OsError::from_eai(-3, String::new()).wsa_code, 11002);
        assert_eq!(
            OsError::from_eai(-2, String::new()).native_name,
            "EAI_NONAME"
        );
    }

    #[test]
    fn timeouts_and_cancels_have_codes() {
        assert_eq!(OsError::timed_out("x").native_name, "ETIMEDOUT");
        assert_eq!(OsError::cancelled().wsa_code, 10103);
    }
}

#[cfg(test)]
mod without_system_text {
    use super::*;
    use crate::platform::Os;

    #[test]
    fn a_missing_system_text_is_the_catalogs_meaning_never_rusts_fallback() {
        let rust = "OS Error 10048 (FormatMessageW() returned error 317)".to_owned();
        let e = OsError::build_for(Os::Windows, false, 10048, rust);
        assert_eq!(
            e.message,
            catalog::by_wsa(10048).expect("in the catalog").meaning,
            "the catalog's meaning"
        );
        assert_eq!(
            e.to_string(),
            format!("WSAEADDRINUSE (10048): {}", e.message),
            "one name"
        );
        // 10046 (WSAEPFNOSUPPORT) is not in the catalog: its number and its family.
        let rust = "OS Error 10046 (FormatMessageW() returned error 317)".to_owned();
        let e = OsError::build_for(Os::Windows, false, 10046, rust);
        assert_eq!(
            e.message,
            "error 10046: a Winsock error in the socket's type, protocol or address family",
            "family"
        );
        assert_eq!(e.native_name, "error 10046", "native name");
        // A real system text is kept.
        let e = OsError::build_for(Os::Windows, false, 10048, "Only one usage…".into());
        assert_eq!(e.message, "Only one usage…", "system text kept");
    }
}
