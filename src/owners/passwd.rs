//! Maps numeric user ids to names from `/etc/passwd` text, a pure parser tested on fixtures.

use std::collections::HashMap;

/// Parses passwd-format text into uid → name.
#[must_use]
pub fn parse(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _pw = f.next()?;
            let uid = f.next()?.parse().ok()?;
            Some((uid, name.to_owned()))
        })
        .collect()
}

/// The name for a uid on this machine, or the number as text.
#[must_use]
pub fn user_name(uid: u32) -> String {
    static USERS: std::sync::LazyLock<HashMap<u32, String>> = std::sync::LazyLock::new(|| {
        std::fs::read_to_string("/etc/passwd")
            .map(|t| parse(&t))
            .unwrap_or_default()
    });
    USERS.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_passwd_lines() {
        let m = super::parse(
            "root:x:0:0:root:/root:/bin/bash\n# c\nnobody:x:65534:65534::/:/usr/sbin/nologin\nbad\n",
        );
        assert_eq!(m.get(&0).map(String::as_str), Some("root"));
        assert_eq!(m.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(m.len(), 2, "the malformed line is skipped");
    }
}
