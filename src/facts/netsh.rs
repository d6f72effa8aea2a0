//! Pure parsers for Windows `netsh` output. They key on numbers, not words, so they work in any
//! display language (tested on English and German captures in `tests/fixtures`).

use super::{PortRange, PortScope};

/// Parses `netsh int ipv4 show excludedportrange protocol=tcp`: one range per data row
/// (`  50000  50059  *`, the star marks administered exclusions). `None` when the answer is not
/// that table (no `----------  --------` rule under its heading, in any language, and no row):
/// an answer this cannot read proves nothing, and must never read as "no excluded range".
#[must_use]
pub fn parse_excluded_ranges(text: &str, scope: PortScope) -> Option<Vec<PortRange>> {
    let rule = text.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() == 2
            && w.iter()
                .all(|c| c.len() >= 3 && c.chars().all(|ch| ch == '-'))
    });
    let rows = excluded_rows(text, scope);
    (rule || !rows.is_empty()).then_some(rows)
}

fn excluded_rows(text: &str, scope: PortScope) -> Vec<PortRange> {
    text.lines()
        .filter_map(|line| {
            let mut nums = line.split_whitespace();
            let start: u16 = nums.next()?.parse().ok()?;
            let end: u16 = nums.next()?.parse().ok()?;
            let rest: Vec<&str> = nums.collect();
            if start > end || rest.iter().any(|w| *w != "*") {
                return None;
            }
            Some(PortRange {
                start,
                end,
                scope: PortScope {
                    administered: rest.contains(&"*"),
                    ..scope
                },
            })
        })
        .collect()
}

/// Parses `netsh int ipv4 show dynamicport tcp`: the first `label : number` line is the start
/// port, the second the number of ports.
#[must_use]
pub fn parse_dynamic_range(text: &str, scope: PortScope) -> Option<PortRange> {
    let mut values = text.lines().filter_map(|l| {
        let (_, v) = l.rsplit_once(':')?;
        v.trim().parse::<u32>().ok()
    });
    let start = values.next()?;
    let count = values.next()?;
    let end = start.checked_add(count)?.checked_sub(1)?;
    Some(PortRange {
        start: u16::try_from(start).ok()?,
        end: u16::try_from(end.min(65535)).ok()?,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{Family, Protocol};

    const TCP4: PortScope = PortScope {
        protocol: Some(Protocol::Tcp),
        family: Family::Ipv4,
        administered: false,
    };

    const EXCLUDED_EN: &str = include_str!("../../tests/fixtures/netsh_excluded_en.txt");
    const EXCLUDED_DE: &str = include_str!("../../tests/fixtures/netsh_excluded_de.txt");
    /// French Windows writes in the console's OEM code page (850): read as the tool reads it.
    static EXCLUDED_FR: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        String::from_utf8_lossy(include_bytes!("../../tests/fixtures/netsh_excluded_fr.txt"))
            .into_owned()
    });
    static DYNAMIC_FR: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        String::from_utf8_lossy(include_bytes!("../../tests/fixtures/netsh_dynamic_fr.txt"))
            .into_owned()
    });
    const DYNAMIC_EN: &str = include_str!("../../tests/fixtures/netsh_dynamic_en.txt");
    const DYNAMIC_DE: &str = include_str!("../../tests/fixtures/netsh_dynamic_de.txt");

    #[test]
    fn excluded_ranges_english_french_and_german() {
        for text in [EXCLUDED_EN, &EXCLUDED_FR, EXCLUDED_DE] {
            let r = parse_excluded_ranges(text, TCP4).expect("the table is read");
            let pairs: Vec<(u16, u16)> = r.iter().map(|x| (x.start, x.end)).collect();
            assert_eq!(
                pairs,
                vec![(1080, 1179), (5357, 5357), (50000, 50059)],
                "rows"
            );
            assert_eq!(
                r[2].scope,
                PortScope {
                    administered: true,
                    ..TCP4
                },
                "star marks administered"
            );
            assert_eq!(r[0].scope, TCP4, "no star");
        }
    }

    /// An empty exclusion list is a table with no rows; an error, a usage text or nothing at all
    /// is unread, never "no excluded range".
    #[test]
    fn an_unreadable_answer_is_not_an_empty_list() {
        let empty = "\nProtocol tcp Port Exclusion Ranges\n\nStart Port    End Port\n----------    --------\n\n* - Administered port exclusions.\n";
        assert_eq!(parse_excluded_ranges(empty, TCP4), Some(Vec::new()));
        for unread in [
            "",
            "The following command was not found: int ipv4 show excludedportrange.",
            "Die folgende Befehl wurde nicht gefunden: int ipv4 show excludedportrange protocol=tcp.",
            "Usage: show excludedportrange [protocol=]tcp|udp\n  [[store=]active|persistent]",
        ] {
            assert_eq!(parse_excluded_ranges(unread, TCP4), None, "{unread:?}");
        }
    }

    #[test]
    fn dynamic_range_english_french_and_german() {
        for text in [DYNAMIC_EN, &DYNAMIC_FR, DYNAMIC_DE] {
            let r = parse_dynamic_range(text, TCP4).unwrap();
            assert_eq!((r.start, r.end), (49152, 65535), "range");
        }
        assert!(
            parse_dynamic_range("nothing here", TCP4).is_none(),
            "garbage"
        );
    }
}

/// One `netsh interface portproxy` rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortProxy {
    /// Listen address.
    pub listen_address: String,
    /// Listen port.
    pub listen_port: u16,
    /// Where connections are forwarded.
    pub connect_address: String,
    /// Port they are forwarded to.
    pub connect_port: u16,
}

/// Parses `netsh interface portproxy show all`: each data row is `ADDR PORT ADDR PORT`; the
/// headings (in any language) never have numbers in both port columns.
#[must_use]
pub fn parse_portproxy(text: &str) -> Vec<PortProxy> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() != 4 {
                return None;
            }
            Some(PortProxy {
                listen_address: w[0].to_owned(),
                listen_port: w[1].parse().ok()?,
                connect_address: w[2].to_owned(),
                connect_port: w[3].parse().ok()?,
            })
        })
        .collect()
}

/// One http.sys request queue: the processes serving it and the URLs registered on it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct HttpQueue {
    /// The queue's name as printed (may be a localized "unnamed").
    pub name: String,
    /// Processes attached to the queue.
    pub pids: Vec<u32>,
    /// Registered URLs, `HTTP://+:80/Temporary_Listen_Addresses/`.
    pub urls: Vec<String>,
}

impl HttpQueue {
    /// Whether one of the URLs listens on `port` (an URL without a port means 80 or 443).
    #[must_use]
    pub fn uses_port(&self, port: u16) -> bool {
        self.urls.iter().any(|u| url_port(u) == Some(port))
    }
}

fn url_port(url: &str) -> Option<u16> {
    let lower = url.to_ascii_lowercase();
    let (default, rest) = if let Some(r) = lower.strip_prefix("https://") {
        (443, r)
    } else {
        (80, lower.strip_prefix("http://")?)
    };
    let hostport = rest.split('/').next()?;
    match hostport.rsplit_once(':') {
        Some((_, p)) if !p.ends_with(']') => p.parse().ok(),
        _ => Some(default),
    }
}

/// Parses `netsh http show servicestate view=requestq`. A queue starts at a line indented by
/// four spaces that has a colon (its name); inside it, lines that are only a number are process
/// IDs and lines starting with `http://` / `https://` are registered URLs. This keys on layout
/// and URLs, not on words, so it reads any display language.
#[must_use]
pub fn parse_http_servicestate(text: &str) -> Vec<HttpQueue> {
    let mut out: Vec<HttpQueue> = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if indent == 4 && t.contains(':') && !t.to_ascii_lowercase().starts_with("http") {
            let name = t.split_once(':').map_or("", |(_, v)| v.trim()).to_owned();
            out.push(HttpQueue {
                name,
                ..HttpQueue::default()
            });
            continue;
        }
        let Some(q) = out.last_mut() else { continue };
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            q.urls.push(t.to_owned());
        } else if indent >= 8
            && t.bytes().all(|b| b.is_ascii_digit())
            && let Ok(pid) = t.parse()
        {
            q.pids.push(pid);
        }
    }
    out.retain(|q| !q.urls.is_empty() || !q.pids.is_empty());
    out
}

#[cfg(test)]
mod windows_holder_tests {
    use super::*;

    #[test]
    fn portproxy_english_and_german() {
        for text in [
            include_str!("../../tests/fixtures/netsh_portproxy_en.txt"),
            include_str!("../../tests/fixtures/netsh_portproxy_de.txt"),
        ] {
            let r = parse_portproxy(text);
            assert_eq!(r.len(), 2, "{r:?}");
            assert_eq!(
                (
                    r[0].listen_port,
                    r[0].connect_address.as_str(),
                    r[0].connect_port
                ),
                (8080, "172.20.1.5", 80)
            );
            assert_eq!(r[1].listen_address, "127.0.0.1", "second rule");
        }
    }

    #[test]
    fn http_servicestate_english_and_german() {
        for text in [
            include_str!("../../tests/fixtures/netsh_http_servicestate_en.txt"),
            include_str!("../../tests/fixtures/netsh_http_servicestate_de.txt"),
        ] {
            let q = parse_http_servicestate(text);
            assert_eq!(q.len(), 2, "{q:?}");
            assert_eq!(q[0].pids, vec![1234], "pids");
            assert!(q[0].uses_port(5985) && !q[0].uses_port(80), "WinRM on 5985");
            assert!(q[1].uses_port(80), "default port 80");
            assert_eq!(q[1].pids, vec![4410, 4411], "two processes");
        }
    }
}
