//! Instants for the recorder: parsing `--since 2h`, `--until 03:12`, `--since 2026-12-06 03:00`,
//! and writing an instant as local date and clock time. Pure: the local time's offset from UTC
//! is an argument (the caller asks the system once, `store::local_offset_secs`), so these are
//! tested without touching the machine's time zone.

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Why a time the user gave was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a time: give a duration back from now (90s, 30m, 2h, 3d), a clock time today (03:12, 03:12:04), a date and time (2026-12-06 03:12), or now"
)]
pub struct TimeError(pub String);

/// The instant `s` names, in milliseconds since the Unix epoch, given the present (`now_ms`) and
/// the local offset from UTC. A bare clock time later than now means yesterday's ("03:12" asked
/// at 09:00 is this morning; asked at 02:00, last night's).
pub fn parse_when(s: &str, now_ms: u64, offset_secs: i32) -> Result<u64, TimeError> {
    let err = || TimeError(s.to_owned());
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(now_ms);
    }
    if let Some(ago) = parse_duration_ms(t) {
        return Ok(now_ms.saturating_sub(ago));
    }
    let offset_ms = i64::from(offset_secs) * 1000;
    let now_local = i64::try_from(now_ms).map_err(|_| err())? + offset_ms;
    let (date, clock) = match t.split_once([' ', 'T']) {
        Some((d, c)) => (Some(d), Some(c)),
        None if t.contains('-') => (Some(t), None),
        None => (None, Some(t)),
    };
    let clock_ms = match clock {
        Some(c) => parse_clock_ms(c).ok_or_else(err)?,
        None => 0,
    };
    let local = if let Some(d) = date {
        let mut parts = d.splitn(3, '-');
        let y: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let m: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let day: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
            return Err(err());
        }
        days_from_civil(y, m, day) * DAY_MS + clock_ms
    } else {
        let today = now_local.div_euclid(DAY_MS) * DAY_MS;
        let at = today + clock_ms;
        if at > now_local { at - DAY_MS } else { at }
    };
    u64::try_from(local - offset_ms).map_err(|_| err())
}

/// `90s`, `30m`, `2h`, `3d`, `1w` (a bare number is seconds), in milliseconds.
#[must_use]
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let unit_ms: u64 = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1000,
        "ms" => 1,
        "m" | "min" | "mins" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        "w" | "week" | "weeks" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.mmm`, as milliseconds after midnight.
fn parse_clock_ms(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec_ms = match parts.next() {
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let whole: i64 = whole.parse().ok()?;
            let frac_ms: i64 = if frac.is_empty() {
                0
            } else {
                let digits: String = frac.chars().chain("000".chars()).take(3).collect();
                digits.parse().ok()?
            };
            if whole > 59 {
                return None;
            }
            whole * 1000 + frac_ms
        }
        None => 0,
    };
    (h < 24 && m < 60).then_some(h * 3_600_000 + m * 60_000 + sec_ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of `days_from_civil`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// An instant as local `YYYY-MM-DD HH:MM:SS`.
#[must_use]
pub fn date_time(ms: u64, offset_secs: i32) -> String {
    format!("{} {}", date(ms, offset_secs), clock(ms, offset_secs))
}

/// An instant's local day, `YYYY-MM-DD`.
#[must_use]
pub fn date(ms: u64, offset_secs: i32) -> String {
    let local = i64::try_from(ms).unwrap_or(i64::MAX / 2) + i64::from(offset_secs) * 1000;
    let (y, m, d) = civil_from_days(local.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// An instant as local `YYYY-MM-DD HH:MM:SS.mmm`, for the edges of a poll.
#[must_use]
pub fn date_time_ms(ms: u64, offset_secs: i32) -> String {
    let local = i64::try_from(ms).unwrap_or(i64::MAX / 2) + i64::from(offset_secs) * 1000;
    format!(
        "{}.{:03}",
        date_time(ms, offset_secs),
        local.rem_euclid(1000)
    )
}

/// An instant as local `HH:MM:SS`.
#[must_use]
pub fn clock(ms: u64, offset_secs: i32) -> String {
    clock_of(i64::try_from(ms).unwrap_or(i64::MAX / 2) + i64::from(offset_secs) * 1000)
}

/// An instant as local `HH:MM:SS.mmm`, for the edges of a poll.
#[must_use]
pub fn clock_ms(ms: u64, offset_secs: i32) -> String {
    let local = i64::try_from(ms).unwrap_or(i64::MAX / 2) + i64::from(offset_secs) * 1000;
    format!("{}.{:03}", clock_of(local), local.rem_euclid(1000))
}

fn clock_of(local_ms: i64) -> String {
    let in_day = local_ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// The offset as `UTC+01:00`.
#[must_use]
pub fn zone(offset_secs: i32) -> String {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let a = offset_secs.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
}

/// A length of time the way people say it: `850 ms`, `42 s`, `3 min 20 s`, `2 h 05 min`, `3 d 4 h`.
#[must_use]
pub fn span(ms: u64) -> String {
    // To the nearest second (9.997 s is "10 s", not "9 s"); under a second in milliseconds.
    let s = if ms < 1000 { 0 } else { (ms + 500) / 1000 };
    match s {
        0 => format!("{ms} ms"),
        1..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, s / 60 % 60),
        _ => format!("{} d {} h", s / 86_400, s / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-06 10:00:00 UTC.
    const NOW: u64 = 1_796_551_200_000;

    #[test]
    fn dates_round_trip() {
        assert_eq!(date_time(NOW, 0), "2026-12-06 10:00:00", "UTC");
        assert_eq!(date_time(NOW, 3600), "2026-12-06 11:00:00", "UTC+1");
        assert_eq!(date_time(0, 0), "1970-01-01 00:00:00", "epoch");
        assert_eq!(
            parse_when("2026-12-06 10:00", NOW, 0),
            Ok(NOW),
            "date and time parse back"
        );
        assert_eq!(
            parse_when("2026-12-06T11:00:00", NOW, 3600),
            Ok(NOW),
            "local time with an offset"
        );
        assert_eq!(
            parse_when("2024-02-29", 0, 0).map(|t| date_time(t, 0)),
            Ok("2024-02-29 00:00:00".to_owned()),
            "leap day"
        );
    }

    #[test]
    fn durations_count_back_from_now() {
        assert_eq!(parse_when("2h", NOW, 0), Ok(NOW - 7_200_000), "hours");
        assert_eq!(parse_when("90s", NOW, 0), Ok(NOW - 90_000), "seconds");
        assert_eq!(parse_when("3d", NOW, 0), Ok(NOW - 3 * 86_400_000), "days");
        assert_eq!(parse_when("now", NOW, 0), Ok(NOW), "now");
        assert!(parse_when("2x", NOW, 0).is_err(), "unknown unit");
        assert!(parse_when("-2h", NOW, 0).is_err(), "negative");
    }

    #[test]
    fn a_clock_time_later_than_now_is_yesterdays() {
        assert_eq!(
            parse_when("03:12", NOW, 0).map(|t| date_time(t, 0)),
            Ok("2026-12-06 03:12:00".to_owned()),
            "this morning"
        );
        assert_eq!(
            parse_when("23:59:30", NOW, 0).map(|t| date_time(t, 0)),
            Ok("2026-12-05 23:59:30".to_owned()),
            "last night"
        );
        assert!(parse_when("25:00", NOW, 0).is_err(), "no 25th hour");
    }

    #[test]
    fn lengths_read_naturally() {
        assert_eq!(span(850), "850 ms", "under a second");
        assert_eq!(span(9_997), "10 s", "to the nearest second");
        assert_eq!(span(1_499), "1 s", "and down");
        assert_eq!(span(200_000), "3 min 20 s", "minutes");
        assert_eq!(span(7_500_000), "2 h 05 min", "hours");
        assert_eq!(zone(-16_200), "UTC-04:30", "negative offset");
        assert_eq!(clock_ms(NOW + 250, 0), "10:00:00.250", "milliseconds");
    }
}
