//! Machine-readable dates: what meta tags, JSON-LD, `<time datetime>`, feeds and sitemaps
//! carry. One lenient reader for all of them:
//! - RFC 3339 and W3C/ISO 8601 datetimes, with the leniencies seen in the wild (a space for
//!   `T`, an offset without colon or minutes, no seconds, any fraction, a named zone after a
//!   space, `/` or `.` between the date parts, a basic `YYYYMMDD` date);
//! - RFC 822/2822 as RSS writes it, tolerating a missing or wrong weekday, long or non-English
//!   month names, one-digit days and hours, missing seconds and two-digit years.
//!
//! The result keeps the precision the text has ([`PubDate`]): no time → a day, a time without
//! offset → a local time. Text that cannot be read with confidence is `None`.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};

use super::{PubDate, month_number};

/// Parses any machine-readable date; `None` for text it cannot read with confidence.
pub fn parse(text: &str) -> Option<PubDate> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(PubDate::Instant(dt));
    }
    iso(text).or_else(|| rfc822(text))
}

/// ISO 8601 / W3C datetime with leniencies, year first.
fn iso(text: &str) -> Option<PubDate> {
    let (date_part, rest) = match text.find(['T', 't', ' ']) {
        Some(pos) => (text.get(..pos)?, text.get(pos + 1..)?.trim()),
        None => (text, ""),
    };
    let date = iso_date(date_part)?;
    if rest.is_empty() {
        return Some(PubDate::Day(date));
    }
    let (clock, offset) = split_zone(rest)?;
    let time = parse_clock(clock)?;
    let naive = date.and_time(time);
    Some(match offset {
        Some(off) => PubDate::Instant(off.from_local_datetime(&naive).single()?),
        None => PubDate::Local(naive),
    })
}

/// `YYYY-MM-DD` (also with `/` or `.`, one-digit month and day) or `YYYYMMDD`.
fn iso_date(text: &str) -> Option<NaiveDate> {
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(text, "%Y%m%d").ok();
    }
    let sep = *text.as_bytes().get(4)?;
    if !matches!(sep, b'-' | b'/' | b'.') {
        return None;
    }
    let mut parts = text.split(char::from(sep));
    let year: i32 = parse_digits(parts.next()?, 4)?;
    let month: u32 = parse_digits(parts.next()?, 2)?;
    let day: u32 = parse_digits(parts.next()?, 2)?;
    if year < 1000 || parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Splits `10:31:24+03:00` / `10:31:24.5Z` / `10:31 +0300` / `10:31 GMT` / `10:31` into the
/// clock and its offset (`None` when none is written). An unreadable zone is `None` overall.
pub(crate) fn split_zone(text: &str) -> Option<(&str, Option<FixedOffset>)> {
    if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        return Some((clock.trim(), Some(FixedOffset::east_opt(0)?)));
    }
    if let Some(pos) = text.rfind(['+', '-']) {
        let offset = parse_numeric_offset(text.get(pos..)?.trim())?;
        return Some((text.get(..pos)?.trim(), Some(offset)));
    }
    match text.rsplit_once(' ') {
        Some((clock, zone)) => Some((clock.trim(), Some(zone_offset(zone)?))),
        None => Some((text, None)),
    }
}

/// `+03:00`, `+0300`, `-05`, `+3` → offset; anything else → `None`.
fn parse_numeric_offset(text: &str) -> Option<FixedOffset> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text.get(1..)?.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        _ => {
            let split = digits.len() - 2;
            (
                digits.get(..split)?.parse().ok()?,
                digits.get(split..)?.parse().ok()?,
            )
        }
    };
    if hours > 18 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff`; a single-digit hour is accepted.
pub(crate) fn parse_clock(text: &str) -> Option<NaiveTime> {
    let (clock, fraction) = match text.split_once(['.', ',']) {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (text, None),
    };
    let mut parts = clock.split(':');
    let hour: u32 = parse_digits(parts.next()?, 2)?;
    let minute: u32 = parse_digits(parts.next()?, 2)?;
    let second: u32 = parts.next().map_or(Some(0), |s| parse_digits(s, 2))?;
    if parts.next().is_some() {
        return None;
    }
    let nanos = match fraction {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded: String = f.chars().chain(std::iter::repeat('0')).take(9).collect();
            padded.parse().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    // A leap second (`:60`) is folded into the last nanosecond of the minute.
    if second == 60 {
        return NaiveTime::from_hms_nano_opt(hour, minute, 59, 999_999_999);
    }
    NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
}

/// RFC 822 / RFC 2822 as RSS writes it; the zone may be missing (a local time).
fn rfc822(text: &str) -> Option<PubDate> {
    let mut tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    // Drop a leading weekday ("Mon", "Monday", "Thurs"): it adds nothing and is often wrong.
    if tokens
        .first()
        .is_some_and(|t| t.chars().all(char::is_alphabetic))
        && tokens.first().and_then(|t| month_number(t)).is_none()
    {
        tokens.remove(0);
    }
    let [first, second, year, rest @ ..] = tokens.as_slice() else {
        return None;
    };
    // "05 May 2025" is the norm; "May 05 2025" is seen too.
    let (day, month) = match month_number(first) {
        Some(month) => (second, month),
        None => (first, month_number(second)?),
    };
    let day: u32 = parse_digits(day, 2)?;
    let year: i32 = match year.len() {
        4 => parse_digits(year, 4)?,
        2 => expand_two_digit_year(parse_digits(year, 2)?),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let [clock, zone @ ..] = rest else {
        return Some(PubDate::Day(date));
    };
    let naive = date.and_time(parse_clock(clock)?);
    match zone.first() {
        None => Some(PubDate::Local(naive)),
        Some(z) => {
            let offset = zone_offset(z)?;
            Some(PubDate::Instant(
                offset.from_local_datetime(&naive).single()?,
            ))
        }
    }
}

/// RFC 2822 §4.3: two-digit years below 50 are 20xx, the others 19xx.
fn expand_two_digit_year(year: i32) -> i32 {
    if year < 50 { 2000 + year } else { 1900 + year }
}

/// A numeric offset or one of the zone names that appear in feeds and pages. Unknown → `None`.
pub(crate) fn zone_offset(zone: &str) -> Option<FixedOffset> {
    if zone.starts_with(['+', '-']) {
        return parse_numeric_offset(zone);
    }
    // "CST" is left out on purpose: RFC 822 says US Central (-6), Chinese feeds mean +8.
    let hours = match zone.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" | "WET" => 0,
        "BST" | "CET" | "WEST" | "MEZ" => 1,
        "CEST" | "EET" | "MESZ" => 2,
        "EEST" | "MSK" | "FET" => 3,
        "MSD" | "SAMT" => 4,
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ => return None,
    };
    FixedOffset::east_opt(hours * 3600)
}

/// Parses `1..=max_len` ASCII digits.
fn parse_digits<T: std::str::FromStr>(text: &str, max_len: usize) -> Option<T> {
    if text.is_empty() || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> String {
        match parse(text) {
            Some(PubDate::Instant(d)) => d.to_rfc3339(),
            Some(PubDate::Local(n)) => format!("local {n}"),
            Some(PubDate::Day(d)) => format!("day {d}"),
            None => "none".to_owned(),
        }
    }

    #[test]
    fn instants_keep_their_offset() {
        for (text, want) in [
            ("2025-05-05T10:31:24+03:00", "2025-05-05T10:31:24+03:00"),
            ("2025-05-05T07:31:24Z", "2025-05-05T07:31:24+00:00"),
            ("2021-03-04T10:00:00+0300", "2021-03-04T10:00:00+03:00"),
            ("2025-05-05 10:31+0300", "2025-05-05T10:31:00+03:00"),
            ("2025-05-05T10:31:24.123Z", "2025-05-05T10:31:24.123+00:00"),
            ("2019-01-23 10:00:00 GMT", "2019-01-23T10:00:00+00:00"),
            (
                "Sun, 27 Feb 2022 13:01:01 +0300",
                "2022-02-27T13:01:01+03:00",
            ),
            ("Mon, 05 May 2025 10:31:24 MSK", "2025-05-05T10:31:24+03:00"),
            ("Thurs, 5 May 2025 9:31 EST", "2025-05-05T09:31:00-05:00"),
            ("Mon, 05 May 25 10:31:24 UT", "2025-05-05T10:31:24+00:00"),
            (
                "Fri, May 09 2025 10:31:24 -0000",
                "2025-05-09T10:31:24+00:00",
            ),
            ("5 мая 2025 10:00 +0300", "2025-05-05T10:00:00+03:00"),
        ] {
            assert_eq!(p(text), want, "{text}");
        }
    }

    #[test]
    fn no_offset_is_local_and_no_time_is_a_day() {
        assert_eq!(p("2026-07-28 17:18:00"), "local 2026-07-28 17:18:00");
        assert_eq!(p("2026-07-28T17:18"), "local 2026-07-28 17:18:00");
        assert_eq!(p("2025-05-05"), "day 2025-05-05");
        assert_eq!(p("2025/5/5"), "day 2025-05-05");
        assert_eq!(p("20190123"), "day 2019-01-23");
        assert_eq!(p("05 May 2025"), "day 2025-05-05");
    }

    #[test]
    fn unreadable_is_none() {
        for text in [
            "",
            "yesterday",
            "2025-13-01",
            "Mon, 05 May 2025 10:31:24 XYZ",
            "32 May 2025 10:00 GMT",
            "05 May 2025 25:00 GMT",
            "Mon, 05 May 2025 10:31:24 CST",
            "12345678",
        ] {
            assert_eq!(p(text), "none", "{text:?}");
        }
    }
}
