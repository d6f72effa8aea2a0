//! Maps numeric user ids to names through the system's user database (NSS: /etc/passwd, LDAP,
//! SSSD …), cached for the life of the process.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// The name for a uid on this machine, or the number as text when the database has none
/// (shared: a table of thousands of sockets has a handful of users).
#[must_use]
pub fn user_name(uid: u32) -> Arc<str> {
    static NAMES: LazyLock<Mutex<HashMap<u32, Arc<str>>>> = LazyLock::new(Mutex::default);
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    names
        .entry(uid)
        .or_insert_with(|| {
            uzers::get_user_by_uid(uid).map_or_else(
                || uid.to_string().into(),
                |u| u.name().to_string_lossy().into(),
            )
        })
        .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_root_and_falls_back_to_the_number() {
        assert_eq!(&*super::user_name(0), "root", "uid 0 is root everywhere");
        // No database has this uid: the number is shown, never an empty string.
        assert_eq!(
            &*super::user_name(3_999_999_999),
            "3999999999",
            "unknown uid"
        );
    }
}
