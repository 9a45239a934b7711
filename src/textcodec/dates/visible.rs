//! Dates printed for readers, in many languages and layouts: "Posted: 05.05.2025 10:31:24",
//! "Datum 25.01.2022", "am 25.08.2015 22:30", "5 мая 2025, 13:05", "29. April 2025",
//! "5 de mayo de 2019", "le 5 mai 2019 à 10h30", "May 5, 17:42 UTC+3", "January 5th, 2019",
//! "2019-01-23 10:00", "2019年1月23日 10:00".
//!
//! A result has the precision the text has ([`PubDate`]): a stated zone ("UTC+3", "GMT",
//! "CET") makes an instant, a time without one a local time, no time a day. A date is kept only
//! when it is plausible for the reference (fetch) time. Year-less dates ("9 January, 18:43")
//! need a time of day and a known fetch time: they take its year, or the year before when that
//! would put them in the future. Without a fetch time they give no date (the page does not say
//! which year).

use std::sync::LazyLock;

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use regex::{Captures, Regex};

use super::machine::zone_offset;
use super::{PubDate, Reference, calendars, month_number};

/// How to read an all-numeric date whose first two numbers could both be the month
/// ("04/05/2019").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumericOrder {
    /// Day first (most of the world; always for `.`-separated dates).
    #[default]
    DayFirst,
    /// Month first, for `/`-separated dates on US-English pages.
    MonthFirst,
}

// Digits are ASCII `[0-9]`, not `\d`: the numbers are parsed with `str::parse`, which takes
// ASCII digits only, and `\d`'s ~70 Unicode ranges, copied into every bounded repeat, made
// these patterns several times slower to compile.
const TIME: &str = r"(?:(?:[,\s]|\s[-–—|/]\s|\s?-\s?)+(?:(?i:в|at|um|o|à|a\s+las|alle|às|klo|kl\.?|om|den|le|ob|о|о\s+годині)\s+)?(?P<h>[0-9]{1,2})(?::|h\s?)(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?|(?:مساءً?|صباحاً?|م|ص|ب\.?\s?ظ|ق\.?\s?ظ)(?:[\s.,،]|$)))?)?";
const ZONE: &str = r"(?:\s*\(?\s*(?P<zn>UTC|GMT|MSK|МСК|CET|CEST|MEZ|MESZ|EET|EEST|BST|EST|EDT|PST|PDT)\s*(?P<zh>[+\-−]\s*[0-9]{1,2})?(?::?(?P<zm>[0-9]{2}))?\s*\)?)?";
const WORD: &str =
    r"[A-Za-z\x{C0}-\x{24F}\x{370}-\x{3FF}\x{400}-\x{4FF}\x{600}-\x{6FF}\x{980}-\x{9FF}]{3,12}";
/// Anything but a letter or number of the Latin, Greek and Cyrillic blocks: what may touch a
/// month name on the left. The full `[^\p{L}\p{N}]` has ~800 ranges and is slow to compile.
const NOT_LETTER_OR_NUMBER: &str =
    r"(?:[^A-Za-z0-9\x{C0}-\x{24F}\x{370}-\x{3FF}\x{400}-\x{4FF}\x{600}-\x{6FF}\x{980}-\x{9FF}])";

/// Compiled on the first text that contains a digit (see [`parse`]).
static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // 05.05.2025 10:31:24 / 05.05.2025, 12:47 / 04/05/2019
        format!(r"(?-u:\b)(?P<d>[0-9]{{1,2}})(?P<sep>[./])\s?(?P<m>[0-9]{{1,2}})[./]\s?(?P<y>[0-9]{{4}})(?-u:\b){TIME}{ZONE}"),
        // 2025-05-05 10:31 / 2019/01/23
        format!(r"(?-u:\b)(?P<y>[0-9]{{4}})[-/.](?P<m>[0-9]{{1,2}})[-/.](?P<d>[0-9]{{1,2}})(?-u:\b)(?:(?:T|\s+|,\s*)(?P<h>[0-9]{{1,2}}):(?P<mi>[0-9]{{2}})(?::(?P<s>[0-9]{{2}}))?)?{ZONE}"),
        // 5 мая 2025, 13:05 / 29. April 2025 / 5 de mayo de 2019 / 9 January, 18:43
        format!(r"(?-u:\b)(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th|er|º)?\.?\s+(?:(?i:de|of)\s+)?(?P<mn>{WORD})\.?(?:\s*/\s*{WORD})?,?(?:\s+(?:(?i:de)\s+)?(?P<y>[0-9]{{4}})(?:\s*(?:г\.|года|г(?:\s|$|,)|р\.|року))?)?{TIME}{ZONE}"),
        // May 5, 2025, 17:42 / May 5, 17:42 UTC+3 / Jan. 10th 2025
        format!(r"(?:^|{NOT_LETTER_OR_NUMBER})(?P<mn>{WORD})\.?\s+(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?(?-u:\b),?(?:\s+(?P<y>[0-9]{{4}}))?{TIME}{ZONE}"),
        // 02.12.19 (two-digit year, two-digit day and month)
        format!(r"(?-u:\b)(?P<d>[0-9]{{2}})\.(?P<m>[0-9]{{2}})\.(?P<yy>[0-9]{{2}})(?-u:\b){TIME}{ZONE}"),
        // 2019年1月23日 10:00 / 2019년 1월 23일
        format!(r"(?P<y>[0-9]{{4}})\s*[年년]\s*(?P<m>[0-9]{{1,2}})\s*[月월]\s*(?P<d>[0-9]{{1,2}})\s*[日일]?{TIME}"),
    ]
    .iter()
    .map(|p| Regex::new(p).expect("static regex"))
    .collect()
});

/// Finds the first plausible date in visible text (earliest position wins).
pub fn parse(text: &str, reference: Reference, order: NumericOrder) -> Option<PubDate> {
    find(text, reference, order, false)
}

/// Like [`parse`], but only dates that print their year: for weak places (any text on the
/// page), where a year-less "18. September 08:37" may be years old.
pub fn parse_with_year(text: &str, reference: Reference, order: NumericOrder) -> Option<PubDate> {
    find(text, reference, order, true)
}

fn find(text: &str, reference: Reference, order: NumericOrder, need_year: bool) -> Option<PubDate> {
    // Native digits (Persian "۱۳۹۹", Bengali "২০২০") are read as ASCII ones.
    let text = calendars::ascii_digits(text);
    let text = text.as_ref();
    // Every pattern needs a digit; most text blocks have none, and a run that never sees one
    // never compiles the patterns.
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut best: Option<(usize, PubDate)> = None;
    for re in PATTERNS.iter() {
        for caps in re.captures_iter(text) {
            let yearless = caps.name("y").is_none() && caps.name("yy").is_none();
            let Some(dt) =
                from_captures(&caps, reference, order).filter(|_| !need_year || !yearless)
            else {
                continue;
            };
            let pos = caps.get(0).map_or(0, |m| m.start());
            if best.as_ref().is_none_or(|(p, _)| pos < *p) {
                best = Some((pos, dt));
            }
            break;
        }
    }
    best.map(|(_, dt)| dt)
}

fn num(caps: &Captures<'_>, name: &str) -> Option<u32> {
    caps.name(name)?.as_str().trim().parse().ok()
}

/// Month and day, swapping a numeric pair when only that order is a valid date or when the
/// page reads month first.
fn month_day(caps: &Captures<'_>, order: NumericOrder) -> Option<(u32, u32)> {
    if let Some(m) = caps.name("mn") {
        return Some((month_number(m.as_str())?, num(caps, "d")?));
    }
    let (m, d) = (num(caps, "m")?, num(caps, "d")?);
    let slash = caps.name("sep").is_some_and(|s| s.as_str() == "/");
    let swap = slash && (m > 12 || (order == NumericOrder::MonthFirst && d <= 12));
    Some(if swap { (d, m) } else { (m, d) })
}

fn from_captures(
    caps: &Captures<'_>,
    reference: Reference,
    order: NumericOrder,
) -> Option<PubDate> {
    let date = match caps
        .name("mn")
        .and_then(|m| calendars::persian_month(m.as_str()))
    {
        // A Persian month: the day is in the Persian calendar and its year is printed.
        Some(month) => calendars::jalali_to_gregorian(
            caps.name("y")?.as_str().parse().ok()?,
            month,
            num(caps, "d")?,
        )?,
        None => gregorian_date(caps, reference, order)?,
    };
    let result = match time(caps) {
        None if caps.name("h").is_some() => return None,
        None => PubDate::Day(date),
        Some(t) => match zone(caps) {
            Some(off) => PubDate::Instant(off.from_local_datetime(&date.and_time(t)).single()?),
            None => PubDate::Local(date.and_time(t)),
        },
    };
    result.plausible(reference.latest).then_some(result)
}

/// The calendar date of a Gregorian match; a year-less one needs a time of day and a fetch
/// time to take the year from.
fn gregorian_date(
    caps: &Captures<'_>,
    reference: Reference,
    order: NumericOrder,
) -> Option<NaiveDate> {
    let (month, day) = month_day(caps, order)?;
    let year = match (caps.name("y"), caps.name("yy")) {
        (Some(y), _) => y.as_str().parse::<i32>().ok()?,
        (None, Some(yy)) => {
            let yy = yy.as_str().parse::<i32>().ok()?;
            if 2000 + yy <= reference.latest.year() {
                2000 + yy
            } else {
                1900 + yy
            }
        }
        (None, None) => {
            // A bare "5 May" with no time is too weak a signal (it may be a dateline), and
            // without a fetch time nothing says which year it is.
            caps.name("h")?;
            if !reference.fetched {
                return None;
            }
            let y = reference.latest.year();
            let candidate = NaiveDate::from_ymd_opt(y, month, day)?;
            if candidate > reference.latest.date_naive() + Duration::days(1) {
                y - 1
            } else {
                y
            }
        }
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

fn time(caps: &Captures<'_>) -> Option<NaiveTime> {
    let mut hour = num(caps, "h")?;
    if let Some(ampm) = caps.name("ampm") {
        // "pm", Arabic "م"/"مساءً" (evening), Persian "ب.ظ" (after noon).
        let pm = ampm.as_str().starts_with(['p', 'P', 'م', 'ب']);
        hour = match (pm, hour) {
            (true, h) if h < 12 => h + 12,
            (false, 12) => 0,
            (_, h) => h,
        };
    }
    NaiveTime::from_hms_opt(hour, num(caps, "mi")?, num(caps, "s").unwrap_or(0))
}

/// The offset a stated zone gives: `UTC+3` / `GMT-05:00` by the number, `MSK` / `CET` by name.
fn zone(caps: &Captures<'_>) -> Option<FixedOffset> {
    let name = caps.name("zn")?.as_str();
    let Some(zh) = caps.name("zh") else {
        return zone_offset(if name == "МСК" { "MSK" } else { name });
    };
    let h: i32 = zh
        .as_str()
        .replace(['−', ' '], "-")
        .replace("--", "-")
        .parse()
        .ok()?;
    let m = i32::try_from(num(caps, "zm").unwrap_or(0)).ok()?;
    let sign = if zh.as_str().starts_with('+') { 1 } else { -1 };
    FixedOffset::east_opt(sign * (h.abs() * 3600 + m * 60))
}

#[cfg(test)]
mod tests;
