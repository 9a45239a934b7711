//! The dates discovery documents carry, read with the shared parser
//! ([`crate::textcodec::dates::machine`]) and turned into the instants a [`FeedItem`] holds.
//!
//! RSS writes RFC 822 dates (`Mon, 05 May 2025 10:31:24 +0300`, often with a named zone such as
//! `GMT` or `MSK`); Atom and JSON Feed write RFC 3339; sitemaps write W3C datetimes, which may
//! stop at the date (`2025-05-05`, read as midnight UTC) or even at the month. Every parser
//! returns `None` for text it cannot read with confidence: a missing date is better than a
//! wrong one. In particular a time of day without a zone is `None`, because guessing UTC would
//! be off by hours for the agencies newsmill reads. Nothing here errors or panics.
//!
//! [`FeedItem`]: crate::model::FeedItem

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};

use crate::textcodec::dates::{PubDate, machine};

/// Parses any date a feed or sitemap may carry: RFC 3339 / W3C datetime, RFC 822, and a
/// sitemap's year-month or year alone. A date without time is midnight UTC (the normalizer
/// reads exactly that value back as a day, not an instant).
pub(crate) fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    match machine::parse(text) {
        Some(PubDate::Instant(dt)) => Some(dt),
        Some(PubDate::Day(d)) => midnight_utc(d),
        Some(PubDate::Local(_)) => None,
        None => partial_w3c_date(text).and_then(midnight_utc),
    }
}

/// Parses a W3C datetime (the RFC 3339 profile sitemaps use); see [`parse_date`].
pub(crate) fn parse_w3c(text: &str) -> Option<DateTime<FixedOffset>> {
    parse_date(text)
}

fn midnight_utc(date: NaiveDate) -> Option<DateTime<FixedOffset>> {
    Some(FixedOffset::east_opt(0)?.from_utc_datetime(&date.and_time(NaiveTime::MIN)))
}

/// `YYYY-MM` (first of the month) or `YYYY` (first of January), as sitemaps allow.
fn partial_w3c_date(text: &str) -> Option<NaiveDate> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let (year, month) = match text.split_once('-') {
        Some((y, m)) if digits(y, 4) && digits(m, 2) => (y, m),
        None if digits(text, 4) => (text, "01"),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
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
            at("05 September 2024 10:00:00 +03:00"),
            "2024-09-05T10:00:00+03:00"
        );
        assert_eq!(at("5 мая 2025 10:00 +0300"), "2025-05-05T10:00:00+03:00");
    }

    #[test]
    fn w3c_datetimes_and_dates() {
        assert_eq!(at("2025-05-05T10:31:24+03:00"), "2025-05-05T10:31:24+03:00");
        assert_eq!(at("2025-05-05 10:31+0300"), "2025-05-05T10:31:00+03:00");
        assert_eq!(at("2025-05-05"), "2025-05-05T00:00:00+00:00");
        assert_eq!(at("2025-05"), "2025-05-01T00:00:00+00:00");
        assert_eq!(at("2025"), "2025-01-01T00:00:00+00:00");
    }

    #[test]
    fn unreadable_dates_are_none() {
        for text in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-05-05T10:31:24",
            "Mon, 05 May 2025 10:31:24 XYZ",
            "Mon, 05 May 2025 10:31:24 CST",
            "Mon, 05 May 2025 10:31:24",
        ] {
            assert_eq!(at(text), "none", "{text:?}");
        }
    }
}
