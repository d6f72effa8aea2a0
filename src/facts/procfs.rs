//! Pure parsers for Linux `/proc` values, kept OS-independent so they are tested everywhere.

use super::{PortRange, PortScope};

/// `32768\t60999` → 32768..=60999.
#[must_use]
pub fn parse_port_range(text: &str) -> Option<PortRange> {
    let mut it = text.split_whitespace();
    let start = it.next()?.parse().ok()?;
    let end = it.next()?.parse().ok()?;
    (start <= end).then_some(PortRange {
        start,
        end,
        scope: PortScope::ALL,
    })
}

/// `ip_local_reserved_ports`: `8080,9000-9010` (empty when none).
#[must_use]
pub fn parse_reserved_ports(text: &str) -> Vec<PortRange> {
    text.trim()
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .filter_map(|part| {
            let part = part.trim();
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let start = a.trim().parse().ok()?;
            let end = b.trim().parse().ok()?;
            (start <= end).then_some(PortRange {
                start,
                end,
                scope: PortScope::ALL,
            })
        })
        .collect()
}

/// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"` from os-release text.
#[must_use]
pub fn parse_os_release(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_reserved() {
        let r = parse_port_range("32768\t60999\n").unwrap();
        assert_eq!((r.start, r.end), (32768, 60999));
        assert!(parse_port_range("garbage").is_none(), "garbage refused");
        let v = parse_reserved_ports("8080,9000-9010\n");
        assert_eq!(v.len(), 2, "two entries");
        assert_eq!((v[1].start, v[1].end), (9000, 9010));
        assert!(parse_reserved_ports("\n").is_empty(), "empty means none");
    }

    #[test]
    fn os_release() {
        assert_eq!(
            parse_os_release("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }
}
