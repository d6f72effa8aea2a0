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
        Self::build(cfg!(unix), code, message)
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

    /// One line for people: `WSAEADDRINUSE (10048) / EADDRINUSE (98): Address already in use`.
    #[must_use]
    pub fn headline(&self) -> String {
        if self.native_name == self.wsa_name {
            format!("{} ({}): {}", self.wsa_name, self.wsa_code, self.message)
        } else {
            format!(
                "{} ({}) / {} ({}): {}",
                self.wsa_name, self.wsa_code, self.native_name, self.native_code, self.message
            )
        }
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
        match catalog::by_native(crate::platform::Os::current(), eai, code) {
            Some((entry, native)) => Self {
                native_code: code,
                native_name: native.name.clone(),
                wsa_code: entry.wsa_code,
                wsa_name: entry.wsa_name.clone(),
                message,
            },
            None => Self {
                native_code: code,
                native_name: if eai {
                    format!("EAI_{code}")
                } else {
                    format!("errno {code}")
                },
                wsa_code: 0,
                wsa_name: "UNKNOWN".into(),
                message,
            },
        }
    }
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
