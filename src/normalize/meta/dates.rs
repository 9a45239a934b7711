//! Date parsing for machine-readable values (ISO 8601 / RFC 3339 / RFC 2822) and for the
//! visible formats agencies print ("Posted: 05.05.2025 10:31:24", "5 мая 2025, 13:05",
//! "29 красавіка 2025", "May 5, 17:42 UTC+3", "02 October 2026, 11:54").
//!
//! Local times get the source's time zone. A result is accepted only between 1990-01-01 and
//! the reference time (fetch time) plus one day: a date outside is a parse of something else.

use std::sync::LazyLock;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use regex::{Captures, Regex};

/// Whether `dt` is a plausible publication time relative to `reference` (the fetch time).
pub fn plausible(dt: &DateTime<FixedOffset>, reference: DateTime<Utc>) -> bool {
    dt.year() >= 1990 && dt.with_timezone(&Utc) <= reference + Duration::days(1)
}

/// Attaches `tz` to a local wall time; a time skipped by a DST jump is moved an hour on.
pub fn localize(naive: NaiveDateTime, tz: Tz) -> DateTime<FixedOffset> {
    let resolved = match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
        LocalResult::None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest(),
    };
    match resolved {
        Some(t) => t.fixed_offset(),
        None => naive.and_utc().fixed_offset(),
    }
}

/// Parses a machine-readable date (JSON-LD, meta, `<time datetime>`, feeds). Values without
/// an offset are local times in `tz`; a date alone is midnight local time.
pub fn parse_machine(s: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(localize(n, tz));
        }
    }
    let date_part = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .ok()
        .map(|d| localize(d.and_time(NaiveTime::MIN), tz))
}

/// Month number for a month name or abbreviation in English, Russian, Belarusian, German,
/// Polish (nominative and genitive forms), case-insensitive.
fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&[&str]; 12] = [
        &[
            "jan",
            "january",
            "январь",
            "января",
            "янв",
            "студзень",
            "студзеня",
            "januar",
            "stycznia",
            "styczeń",
            "styczen",
        ],
        &[
            "feb",
            "february",
            "февраль",
            "февраля",
            "фев",
            "люты",
            "лютага",
            "februar",
            "lutego",
            "luty",
        ],
        &[
            "mar",
            "march",
            "март",
            "марта",
            "мар",
            "сакавік",
            "сакавіка",
            "märz",
            "marz",
            "marca",
            "marzec",
        ],
        &[
            "apr",
            "april",
            "апрель",
            "апреля",
            "апр",
            "красавік",
            "красавіка",
            "kwietnia",
            "kwiecień",
        ],
        &[
            "may",
            "май",
            "мая",
            "травень",
            "траўня",
            "mai",
            "maja",
            "maj",
        ],
        &[
            "jun",
            "june",
            "июнь",
            "июня",
            "июн",
            "чэрвень",
            "чэрвеня",
            "juni",
            "czerwca",
            "czerwiec",
        ],
        &[
            "jul",
            "july",
            "июль",
            "июля",
            "июл",
            "ліпень",
            "ліпеня",
            "juli",
            "lipca",
            "lipiec",
        ],
        &[
            "aug",
            "august",
            "август",
            "августа",
            "авг",
            "жнівень",
            "жніўня",
            "sierpnia",
            "sierpień",
        ],
        &[
            "sep",
            "sept",
            "september",
            "сентябрь",
            "сентября",
            "сен",
            "сент",
            "верасень",
            "верасня",
            "września",
            "wrzesnia",
            "wrzesień",
        ],
        &[
            "oct",
            "october",
            "октябрь",
            "октября",
            "окт",
            "кастрычнік",
            "кастрычніка",
            "oktober",
            "października",
            "pazdziernika",
            "październik",
        ],
        &[
            "nov",
            "november",
            "ноябрь",
            "ноября",
            "ноя",
            "лістапад",
            "лістапада",
            "listopada",
            "listopad",
        ],
        &[
            "dec",
            "december",
            "декабрь",
            "декабря",
            "дек",
            "снежань",
            "снежня",
            "dezember",
            "grudnia",
            "grudzień",
        ],
    ];
    let lower = name.to_lowercase();
    let lower = lower.trim_end_matches('.');
    MONTHS
        .iter()
        .position(|names| names.contains(&lower))
        .and_then(|i| u32::try_from(i + 1).ok())
}

// Digits are ASCII `[0-9]`, not `\d`: the numbers are parsed with `str::parse`, which takes
// ASCII digits only, and `\d`'s ~70 Unicode ranges, copied into every bounded repeat, made
// these patterns several times slower to compile.
const TIME: &str = r"(?:[,\s]+(?:в\s+|at\s+|um\s+|o\s+)?(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?)?";
const ZONE: &str = r"(?:\s*(?:\(?\s*(?:UTC|GMT|МСК\s*|MSK\s*)(?P<zh>[+\-−]\s*[0-9]{1,2})?(?::?(?P<zm>[0-9]{2}))?\s*\)?))?";
const WORD: &str = r"[A-Za-zÄäÖöÜüА-Яа-яЁёІіЎўąćęłńóśźżĄĆĘŁŃÓŚŹŻ]{3,12}";
/// Anything but a letter or number of the Latin, Greek and Cyrillic blocks: what may touch a
/// month name on the left. The full `[^\p{L}\p{N}]` has ~800 ranges and is slow to compile;
/// `(?-i)` spares case-folding the big classes before they are intersected.
const NOT_LETTER_OR_NUMBER: &str = r"(?-i:[^[\p{L}\p{N}&&\x00-\x{52F}]])";

/// Compiled on the first text that contains a digit (see [`parse_visible`]).
static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // 05.05.2025 10:31:24 / 05.05.2025, 12:47
        format!(r"(?-u:\b)(?P<d>[0-9]{{1,2}})\.(?P<m>[0-9]{{1,2}})\.(?P<y>[0-9]{{4}}){TIME}{ZONE}"),
        // 2025-05-05 10:31
        format!(r"(?-u:\b)(?P<y>[0-9]{{4}})-(?P<m>[0-9]{{2}})-(?P<d>[0-9]{{2}})(?:[T\s]+(?P<h>[0-9]{{2}}):(?P<mi>[0-9]{{2}})(?::(?P<s>[0-9]{{2}}))?)?{ZONE}"),
        // 5 мая 2025, 13:05 / 02 October 2026, 11:54 / 29. April 2025 / 9 January, 18:43
        format!(r"(?i)(?-u:\b)(?P<d>[0-9]{{1,2}})\.?\s+(?P<mn>{WORD})\.?,?(?:\s+(?P<y>[0-9]{{4}})(?:\s*(?:г\.|года|г(?:\s|$|,)))?)?{TIME}{ZONE}"),
        // May 5, 2025, 17:42 / May 5, 17:42 UTC+3 / Jan. 10 2025
        format!(r"(?i)(?:^|{NOT_LETTER_OR_NUMBER})(?P<mn>{WORD})\.?\s+(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?,?(?:\s+(?P<y>[0-9]{{4}}))?{TIME}{ZONE}"),
    ]
    .iter()
    .map(|p| Regex::new(p).expect("static regex"))
    .collect()
});

/// Finds the first plausible date in visible text. Year-less dates take the reference year
/// (or the year before, when that would put them in the future).
pub fn parse_visible(
    text: &str,
    tz: Tz,
    reference: DateTime<Utc>,
) -> Option<DateTime<FixedOffset>> {
    // Every pattern needs a digit; most text blocks have none, and a run that never sees one
    // never compiles the patterns.
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut best: Option<(usize, DateTime<FixedOffset>)> = None;
    for re in PATTERNS.iter() {
        for caps in re.captures_iter(text) {
            let Some(dt) = from_captures(&caps, tz, reference) else {
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

fn from_captures(
    caps: &Captures<'_>,
    tz: Tz,
    reference: DateTime<Utc>,
) -> Option<DateTime<FixedOffset>> {
    let month = match caps.name("mn") {
        Some(m) => month_number(m.as_str())?,
        None => num(caps, "m")?,
    };
    let day = num(caps, "d")?;
    let year = match caps.name("y") {
        Some(y) => y.as_str().parse::<i32>().ok()?,
        None => {
            // A bare "5 May" with no time is too weak a signal (it may be a dateline).
            caps.name("h")?;
            let y = reference.year();
            let candidate = NaiveDate::from_ymd_opt(y, month, day)?;
            if candidate > reference.date_naive() + Duration::days(1) {
                y - 1
            } else {
                y
            }
        }
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let mut hour = num(caps, "h").unwrap_or(0);
    if let Some(ampm) = caps.name("ampm") {
        let pm = ampm.as_str().to_ascii_lowercase().starts_with('p');
        hour = match (pm, hour) {
            (true, h) if h < 12 => h + 12,
            (false, 12) => 0,
            (_, h) => h,
        };
    }
    let time = NaiveTime::from_hms_opt(
        hour,
        num(caps, "mi").unwrap_or(0),
        num(caps, "s").unwrap_or(0),
    )?;
    let naive = date.and_time(time);
    let dt = match caps.name("zh") {
        Some(zh) => {
            let h: i32 = zh
                .as_str()
                .replace(['−', ' '], "-")
                .replace("--", "-")
                .parse()
                .ok()?;
            let m = i32::try_from(num(caps, "zm").unwrap_or(0)).ok()?;
            let secs = h.signum() * (h.abs() * 3600 + m * 60);
            let off = FixedOffset::east_opt(if h == 0 { m * 60 } else { secs })?;
            off.from_local_datetime(&naive).single()?
        }
        None => localize(naive, tz),
    };
    plausible(&dt, reference).then_some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINSK: Tz = chrono_tz::Europe::Minsk;

    fn reference() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn vis(s: &str) -> Option<String> {
        parse_visible(s, MINSK, reference()).map(|d| d.to_rfc3339())
    }

    #[test]
    fn agency_formats() {
        assert_eq!(
            vis("Posted: 05.05.2025 10:31:24").as_deref(),
            Some("2025-05-05T10:31:24+03:00")
        );
        assert_eq!(
            vis("05.05.2025, 12:47").as_deref(),
            Some("2025-05-05T12:47:00+03:00")
        );
        assert_eq!(
            vis("5 мая 2025, 13:05").as_deref(),
            Some("2025-05-05T13:05:00+03:00")
        );
        assert_eq!(
            vis("29 красавіка 2025").as_deref(),
            Some("2025-04-29T00:00:00+03:00")
        );
        assert_eq!(
            vis("02 October 2026, 11:54").as_deref(),
            Some("2026-10-02T11:54:00+03:00")
        );
        assert_eq!(
            vis("08 января 2026, 19:51").as_deref(),
            Some("2026-01-08T19:51:00+03:00")
        );
        assert_eq!(
            vis("03 Listopada 2024, 20:21").as_deref(),
            Some("2024-11-03T20:21:00+03:00")
        );
        assert_eq!(
            vis("17 марта 2018 года").as_deref(),
            Some("2018-03-17T00:00:00+03:00")
        );
    }

    #[test]
    fn yearless_with_zone() {
        assert_eq!(
            vis("May 5, 17:42 UTC+3").as_deref(),
            Some("2026-05-05T17:42:00+03:00")
        );
        assert_eq!(
            vis("9 January, 18:43").as_deref(),
            Some("2026-01-09T18:43:00+03:00")
        );
        // December 30 seen in November is last year's.
        assert_eq!(
            vis("30 December, 10:00").as_deref(),
            Some("2025-12-30T10:00:00+03:00")
        );
    }

    #[test]
    fn implausible_dates_are_refused() {
        assert_eq!(vis("01.01.1985 10:00"), None);
        assert_eq!(vis("01.01.2030 10:00"), None);
        assert_eq!(vis("31.02.2025"), None);
        assert_eq!(vis("MINSK, 5 May (BelTA)"), None);
    }

    #[test]
    fn machine_dates() {
        let p = |s| parse_machine(s, MINSK).map(|d| d.to_rfc3339());
        assert_eq!(
            p("2025-05-05T10:31:24+03:00").as_deref(),
            Some("2025-05-05T10:31:24+03:00")
        );
        assert_eq!(
            p("2025-05-05T07:31:24Z").as_deref(),
            Some("2025-05-05T07:31:24+00:00")
        );
        assert_eq!(
            p("2026-07-28 17:18:00").as_deref(),
            Some("2026-07-28T17:18:00+03:00")
        );
        assert_eq!(
            p("2025-05-05").as_deref(),
            Some("2025-05-05T00:00:00+03:00")
        );
        assert_eq!(
            p("Sun, 27 Feb 2022 13:01:01 +0300").as_deref(),
            Some("2022-02-27T13:01:01+03:00")
        );
        assert_eq!(
            p("2021-03-04T10:00:00+0300").as_deref(),
            Some("2021-03-04T10:00:00+03:00")
        );
        assert_eq!(p("yesterday"), None);
    }
}
