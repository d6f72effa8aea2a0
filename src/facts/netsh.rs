//! Pure parsers for Windows `netsh` output. They key on numbers, not words, so they work in any
//! display language (tested on English and German captures in `tests/fixtures`).

use super::PortRange;

/// Parses `netsh int ipv4 show excludedportrange protocol=tcp`: one range per data row
/// (`  50000  50059  *`, the star marks administered exclusions).
#[must_use]
pub fn parse_excluded_ranges(text: &str, scope: &str) -> Vec<PortRange> {
    text.lines()
        .filter_map(|line| {
            let mut nums = line.split_whitespace();
            let start: u16 = nums.next()?.parse().ok()?;
            let end: u16 = nums.next()?.parse().ok()?;
            let rest: Vec<&str> = nums.collect();
            if start > end || rest.iter().any(|w| *w != "*") {
                return None;
            }
            let administered = rest.contains(&"*");
            Some(PortRange {
                start,
                end,
                scope: if administered {
                    format!("{scope}, administered")
                } else {
                    scope.to_owned()
                },
            })
        })
        .collect()
}

/// Parses `netsh int ipv4 show dynamicport tcp`: the first `label : number` line is the start
/// port, the second the number of ports.
#[must_use]
pub fn parse_dynamic_range(text: &str, scope: &str) -> Option<PortRange> {
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
        scope: scope.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCLUDED_EN: &str = include_str!("../../tests/fixtures/netsh_excluded_en.txt");
    const EXCLUDED_DE: &str = include_str!("../../tests/fixtures/netsh_excluded_de.txt");
    const DYNAMIC_EN: &str = include_str!("../../tests/fixtures/netsh_dynamic_en.txt");
    const DYNAMIC_DE: &str = include_str!("../../tests/fixtures/netsh_dynamic_de.txt");

    #[test]
    fn excluded_ranges_english_and_german() {
        for text in [EXCLUDED_EN, EXCLUDED_DE] {
            let r = parse_excluded_ranges(text, "tcp ipv4");
            let pairs: Vec<(u16, u16)> = r.iter().map(|x| (x.start, x.end)).collect();
            assert_eq!(
                pairs,
                vec![(1080, 1179), (5357, 5357), (50000, 50059)],
                "rows"
            );
            assert!(
                r[2].scope.contains("administered"),
                "star marks administered"
            );
            assert!(!r[0].scope.contains("administered"), "no star");
        }
    }

    #[test]
    fn dynamic_range_english_and_german() {
        for text in [DYNAMIC_EN, DYNAMIC_DE] {
            let r = parse_dynamic_range(text, "tcp").unwrap();
            assert_eq!((r.start, r.end), (49152, 65535), "range");
        }
        assert!(
            parse_dynamic_range("nothing here", "tcp").is_none(),
            "garbage"
        );
    }
}
