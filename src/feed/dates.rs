//! Lenient parsing of the date formats discovery documents use.
//!
//! RSS writes RFC 822 dates (`Mon, 05 May 2025 10:31:24 +0300`, often with a named zone such as
//! `GMT` or `MSK`); Atom and JSON Feed write RFC 3339; sitemaps write W3C datetimes, which may
//! stop at the date (`2025-05-05`, read as midnight UTC) or even at the month. Every parser
//! returns `None` for text it cannot read with confidence: a missing date is better than a
//! wrong one. In particular a time of day without a zone is `None`, because guessing UTC would
//! be off by hours for the agencies newsmill reads. Nothing here errors or panics.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};

/// Parses any date a feed or sitemap may carry: RFC 3339 / W3C datetime first, then RFC 822.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    parse_w3c(text).or_else(|| parse_rfc822(text))
}

/// Parses a W3C datetime (the RFC 3339 profile sitemaps use), with the leniencies seen in the
/// wild: a space instead of `T`, an offset without a colon, no seconds, a date alone.
pub(crate) fn parse_w3c(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt);
    }
    let (date_part, rest) = match text.find(['T', 't', ' ']) {
        Some(pos) => (text.get(..pos)?, text.get(pos + 1..)?.trim()),
        None => (text, ""),
    };
    let date = parse_w3c_date(date_part)?;
    if rest.is_empty() {
        let midnight = date.and_time(NaiveTime::MIN);
        return Some(FixedOffset::east_opt(0)?.from_utc_datetime(&midnight));
    }
    let (time_text, offset) = split_zone(rest)?;
    let time = parse_clock(time_text)?;
    offset.from_local_datetime(&date.and_time(time)).single()
}

/// `YYYY-MM-DD`, `YYYY-MM` (first of the month) or `YYYY` (first of January).
fn parse_w3c_date(text: &str) -> Option<NaiveDate> {
    let mut parts = text.split('-');
    let year: i32 = parse_digits(parts.next()?, 4)?;
    let month: u32 = parts.next().map_or(Some(1), |m| parse_digits(m, 2))?;
    let day: u32 = parts.next().map_or(Some(1), |d| parse_digits(d, 2))?;
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Splits `10:31:24+03:00` / `10:31:24.5Z` / `10:31 +0300` into the clock and its offset.
fn split_zone(text: &str) -> Option<(&str, FixedOffset)> {
    if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        return Some((clock.trim(), FixedOffset::east_opt(0)?));
    }
    let pos = text.rfind(['+', '-'])?;
    let offset = parse_numeric_offset(text.get(pos..)?)?;
    Some((text.get(..pos)?.trim(), offset))
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
fn parse_clock(text: &str) -> Option<NaiveTime> {
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

/// Parses RFC 822 / RFC 2822 dates as RSS writes them, tolerating a missing or wrong weekday,
/// long month names, one-digit days and hours, missing seconds, two-digit years and named
/// zones (`GMT`, `UTC`, `MSK`, `CET`, US zones, …).
pub(crate) fn parse_rfc822(text: &str) -> Option<DateTime<FixedOffset>> {
    let mut tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    // Drop a leading weekday ("Mon", "Monday", "Thurs"): it adds nothing and is often wrong.
    if tokens
        .first()
        .is_some_and(|t| t.chars().all(char::is_alphabetic))
    {
        tokens.remove(0);
    }
    let [first, second, year, clock, zone @ ..] = tokens.as_slice() else {
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
    let time = parse_clock(clock)?;
    let offset = zone_offset(zone.first()?)?;
    offset.from_local_datetime(&date.and_time(time)).single()
}

/// RFC 2822 §4.3: two-digit years below 50 are 20xx, the others 19xx.
fn expand_two_digit_year(year: i32) -> i32 {
    if year < 50 { 2000 + year } else { 1900 + year }
}

/// English month names and abbreviations → 1..=12.
fn month_number(token: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = token.trim_end_matches('.').to_ascii_lowercase();
    let prefix = lower.get(..3)?;
    let index = MONTHS.iter().position(|m| *m == prefix)?;
    u32::try_from(index + 1).ok()
}

/// A numeric offset or one of the zone names that appear in feeds. Unknown names → `None`.
fn zone_offset(zone: &str) -> Option<FixedOffset> {
    if zone.starts_with(['+', '-']) {
        return parse_numeric_offset(zone);
    }
    // "CST" is left out on purpose: RFC 822 says US Central (-6), Chinese feeds mean +8.
    let hours = match zone.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" | "WET" => 0,
        "BST" | "CET" | "WEST" => 1,
        "CEST" | "EET" => 2,
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

    fn at(text: &str) -> String {
        parse_date(text).map_or_else(|| "none".to_owned(), |d| d.to_rfc3339())
    }

    #[test]
    fn rfc822_with_numeric_and_named_zones() {
        assert_eq!(
            at("Sun, 27 Feb 2022 13:01:01 +0300"),
            "2022-02-27T13:01:01+03:00"
        );
        assert_eq!(
            at("Mon, 05 May 2025 07:31:24 GMT"),
            "2025-05-05T07:31:24+00:00"
        );
        assert_eq!(
            at("Mon, 05 May 2025 10:31:24 MSK"),
            "2025-05-05T10:31:24+03:00"
        );
        assert_eq!(
            at("Thurs, 5 May 2025 9:31 EST"),
            "2025-05-05T09:31:00-05:00"
        );
        assert_eq!(
            at("05 September 2024 10:00:00 +03:00"),
            "2024-09-05T10:00:00+03:00"
        );
        assert_eq!(
            at("Mon, 05 May 25 10:31:24 UT"),
            "2025-05-05T10:31:24+00:00"
        );
        assert_eq!(
            at("Fri, May 09 2025 10:31:24 -0000"),
            "2025-05-09T10:31:24+00:00"
        );
    }

    #[test]
    fn w3c_datetimes_and_dates() {
        assert_eq!(at("2025-05-05T10:31:24+03:00"), "2025-05-05T10:31:24+03:00");
        assert_eq!(
            at("2025-05-05T10:31:24.123Z"),
            "2025-05-05T10:31:24.123+00:00"
        );
        assert_eq!(at("2025-05-05 10:31+0300"), "2025-05-05T10:31:00+03:00");
        assert_eq!(at("2025-05-05"), "2025-05-05T00:00:00+00:00");
        assert_eq!(at("2025-05"), "2025-05-01T00:00:00+00:00");
    }

    #[test]
    fn unreadable_dates_are_none() {
        for text in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-05-05T10:31:24",
            "Mon, 05 May 2025 10:31:24 XYZ",
            "32 May 2025 10:00 GMT",
            "05 May 2025 25:00 GMT",
            "5 мая 2025 10:00 +0300",
            "Mon, 05 May 2025 10:31:24 CST",
        ] {
            assert_eq!(at(text), "none", "{text:?}");
        }
    }
}
