//! Publication dates as the page states them, never more precise than that.
//!
//! A parsed date is a [`PubDate`]: an instant (time of day and offset both stated), a local
//! time (time of day without offset) or a day (no time of day). A local time becomes an
//! instant only through a time zone the caller knows ([`PubDate::in_zone`]); nothing here
//! assumes UTC and nothing invents a midnight.
//!
//! # Parts
//! - [`machine`]: machine-readable values (RFC 3339, W3C/ISO 8601 and its lenient variants,
//!   RFC 822/2822 with named zones) as meta tags, JSON-LD, `<time datetime>`, feeds and
//!   sitemaps carry them;
//! - [`visible`]: dates printed for readers ("Posted: 05.05.2025 10:31", "5 мая 2025, 13:05",
//!   "am 25.08.2015 22:30", "January 5th, 2019", "2019年1月23日");
//! - `months`: the one multilingual month-name table both use;
//! - `calendars`: native digits, Arabic and Bengali month names, Persian-calendar dates.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc,
};
use chrono_tz::Tz;

mod calendars;
pub mod machine;
mod months;
pub mod visible;

pub use calendars::has_digit;
pub use months::month_number;

/// Earliest year accepted as a publication date: anything before is a parse of something else
/// (a founding year, a historical date in the text).
pub const MIN_YEAR: i32 = 1995;

/// What a printed date is read against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// The latest plausible moment: the fetch time, or the time of reading when the page was
    /// not fetched by newsmill (`newsmill extract` of a file).
    pub latest: DateTime<Utc>,
    /// Whether `latest` is the page's fetch time. Only then does a year-less date ("9 January,
    /// 18:43") take its year from it: the time a file is read says nothing of its year.
    pub fetched: bool,
}

impl Reference {
    /// A page fetched at `at`.
    pub fn fetched_at(at: DateTime<Utc>) -> Self {
        Self {
            latest: at,
            fetched: true,
        }
    }

    /// A page of unknown fetch time, read at `now`.
    pub fn unfetched(now: DateTime<Utc>) -> Self {
        Self {
            latest: now,
            fetched: false,
        }
    }
}

/// A publication date with exactly the precision the page gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PubDate {
    /// Date, time of day and UTC offset.
    Instant(DateTime<FixedOffset>),
    /// Date and time of day, offset unknown.
    Local(NaiveDateTime),
    /// Calendar date only.
    Day(NaiveDate),
}

impl PubDate {
    /// The calendar date at the publisher (an instant's date in its own offset).
    pub fn date(&self) -> NaiveDate {
        match self {
            Self::Instant(d) => d.date_naive(),
            Self::Local(d) => d.date(),
            Self::Day(d) => *d,
        }
    }

    /// The wall-clock time at the publisher, when a time of day is known.
    pub fn local_time(&self) -> Option<NaiveDateTime> {
        match self {
            Self::Instant(d) => Some(d.naive_local()),
            Self::Local(d) => Some(*d),
            Self::Day(_) => None,
        }
    }

    /// The instant, when the offset is known.
    pub fn instant(&self) -> Option<DateTime<FixedOffset>> {
        match self {
            Self::Instant(d) => Some(*d),
            _ => None,
        }
    }

    /// Turns a local time into an instant in `tz` when a zone is known; other values unchanged.
    pub fn in_zone(self, tz: Option<Tz>) -> Self {
        match (self, tz) {
            (Self::Local(n), Some(tz)) => Self::Instant(localize(n, tz)),
            (other, _) => other,
        }
    }

    /// Whether this is a plausible publication date for a page fetched at `reference`: not
    /// before [`MIN_YEAR`], not more than a day after the fetch (a local time or a day is
    /// compared by its date, which may be up to 14 hours ahead of UTC).
    pub fn plausible(&self, reference: DateTime<Utc>) -> bool {
        let latest = reference + Duration::days(1);
        self.date().year() >= MIN_YEAR
            && match self {
                Self::Instant(d) => d.with_timezone(&Utc) <= latest,
                _ => self.date() <= latest.date_naive(),
            }
    }

    /// True when a time of day is known.
    pub fn has_time(&self) -> bool {
        !matches!(self, Self::Day(_))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_need_a_zone_to_become_instants() {
        let n = NaiveDate::from_ymd_opt(2025, 5, 5)
            .and_then(|d| d.and_hms_opt(20, 44, 0))
            .unwrap();
        assert_eq!(PubDate::Local(n).in_zone(None), PubDate::Local(n));
        let i = PubDate::Local(n).in_zone(Some(chrono_tz::Europe::Berlin));
        assert_eq!(
            i.instant().unwrap().to_rfc3339(),
            "2025-05-05T20:44:00+02:00"
        );
        assert_eq!(i.date(), n.date());
    }

    #[test]
    fn plausibility_by_date_for_days() {
        let reference = Utc.with_ymd_and_hms(2026, 11, 27, 23, 0, 0).unwrap();
        let day = |y, m, d| PubDate::Day(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert!(day(2026, 11, 28).plausible(reference));
        assert!(!day(2026, 11, 30).plausible(reference));
        assert!(!day(1990, 1, 1).plausible(reference));
    }
}
