//! Which publication date a page states, and how precisely. Parsing itself lives in the shared
//! leaf ([`crate::textcodec::dates`]); this module gathers the candidates and chooses.
//!
//! # Order of signals, strongest first
//! the source's date selector; JSON-LD `datePublished`; publication meta tags (Open Graph,
//! Dublin Core, `citation_*`, Parse.ly, …); `<time datetime>`; a date line lifted from the
//! body; a date printed in a date-like element; the feed's date; a date in the URL.
//!
//! The first plausible candidate gives the calendar date. When it has no time of day (or no
//! offset), a later candidate on the same date that has one refines it: JSON-LD saying
//! `2025-01-25` and a byline saying "25.01.2025 20:44" give 20:44 that day. A local time
//! becomes an instant only through the source's configured time zone; without one it stays
//! local. Nothing here invents a time or an offset.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::model::{DatePrecision, DateSource};
use crate::textcodec::dates::{PubDate, machine, visible};

/// The chosen publication date and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The date, in the source's zone when one is configured.
    pub date: PubDate,
    /// The signal it came from.
    pub source: DateSource,
}

impl Found {
    /// How precise the date is, as the record says it.
    pub fn precision(&self) -> DatePrecision {
        match self.date {
            PubDate::Instant(_) => DatePrecision::Instant,
            PubDate::Local(_) => DatePrecision::LocalTime,
            PubDate::Day(_) => DatePrecision::Day,
        }
    }
}

/// Meta keys (lower case) that carry the publication date, strongest first.
pub const PUBLISHED_META_KEYS: &[&str] = &[
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "citation_publication_date",
    "citation_online_date",
    "citation_date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "published_time",
    "publication_date",
    "date_published",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "date",
];

/// Meta keys that carry the last modification time.
pub const MODIFIED_META_KEYS: &[&str] = &[
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
];

/// Collects candidates in the order of strength and chooses (see the module doc).
#[derive(Debug)]
pub struct Chooser {
    tz: Option<Tz>,
    reference: DateTime<Utc>,
    found: Vec<Found>,
}

impl Chooser {
    /// A chooser for a page of a source in `tz`, fetched at `reference`.
    pub fn new(tz: Option<Tz>, reference: DateTime<Utc>) -> Self {
        Self {
            tz,
            reference,
            found: Vec::new(),
        }
    }

    /// Offers a parsed date; implausible ones are dropped.
    pub fn offer(&mut self, date: Option<PubDate>, source: DateSource) {
        if let Some(d) = date.map(|d| d.in_zone(self.tz))
            && d.plausible(self.reference)
        {
            self.found.push(Found { date: d, source });
        }
    }

    /// Offers a machine-readable value (meta, JSON-LD, `<time datetime>`).
    pub fn offer_machine(&mut self, text: Option<&str>, source: DateSource) {
        self.offer(text.and_then(machine::parse), source);
    }

    /// Offers a value printed for readers.
    pub fn offer_visible(&mut self, text: &str, order: visible::NumericOrder, source: DateSource) {
        self.offer(visible::parse(text, self.reference, order), source);
    }

    /// Whether a candidate has been found already.
    pub fn has_any(&self) -> bool {
        !self.found.is_empty()
    }

    /// Whether the strongest candidate is already an instant (nothing later can refine it).
    pub fn settled(&self) -> bool {
        self.found
            .first()
            .is_some_and(|f| matches!(f.date, PubDate::Instant(_)))
    }

    /// The strongest candidate, refined by a later one on the same date with more precision.
    pub fn choose(&self) -> Option<Found> {
        let first = *self.found.first()?;
        let rank = |d: &PubDate| match d {
            PubDate::Day(_) => 0,
            PubDate::Local(_) => 1,
            PubDate::Instant(_) => 2,
        };
        let better = self
            .found
            .iter()
            .filter(|f| f.date.date() == first.date.date() && rank(&f.date) > rank(&first.date))
            .max_by_key(|f| rank(&f.date));
        Some(Found {
            date: better.map_or(first.date, |b| b.date),
            source: first.source,
        })
    }
}

/// A `/2019/01/23/`, `/2019-01-23/` or `/20190123/` date in a URL path, as a day.
pub fn from_url_path(path: &str) -> Option<PubDate> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, seg) in segs.iter().enumerate() {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if (digits(seg, 8) || (seg.len() == 10 && seg.as_bytes().get(4) == Some(&b'-')))
            && let Some(d @ PubDate::Day(_)) = machine::parse(seg)
        {
            return Some(d);
        }
        if digits(seg, 4)
            && let (Some(m), Some(d)) = (segs.get(i + 1), segs.get(i + 2))
            && digits(m, 2)
            && (digits(d, 2) || digits(d, 1))
        {
            let text = format!("{seg}-{m}-{d:0>2}");
            if let Some(day @ PubDate::Day(_)) = machine::parse(&text) {
                return Some(day);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn reference() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_later_time_refines_a_day() {
        let mut c = Chooser::new(None, reference());
        c.offer_machine(Some("2022-01-25"), DateSource::JsonLd);
        c.offer_visible(
            "25.01.2022 20:44",
            Default::default(),
            DateSource::VisibleText,
        );
        c.offer_visible(
            "24.01.2022 10:00",
            Default::default(),
            DateSource::VisibleText,
        );
        let f = c.choose().unwrap();
        assert_eq!(f.source, DateSource::JsonLd);
        assert_eq!(f.precision(), DatePrecision::LocalTime);
        assert_eq!(
            f.date.local_time().unwrap().to_string(),
            "2022-01-25 20:44:00"
        );
    }

    #[test]
    fn configured_zone_makes_instants_and_no_zone_stays_local() {
        let mut c = Chooser::new(Some(chrono_tz::Europe::Berlin), reference());
        c.offer_machine(Some("2022-01-25 20:44"), DateSource::Meta);
        assert_eq!(
            c.choose().unwrap().date.instant().unwrap().to_rfc3339(),
            "2022-01-25T20:44:00+01:00"
        );
        let mut c = Chooser::new(None, reference());
        c.offer_machine(Some("2022-01-25 20:44"), DateSource::Meta);
        assert_eq!(c.choose().unwrap().date.instant(), None);
    }

    #[test]
    fn url_dates_are_days() {
        let day = |p| from_url_path(p).map(|d| d.date().to_string());
        assert_eq!(day("/news/2019/01/23/story").as_deref(), Some("2019-01-23"));
        assert_eq!(day("/20190123/story.html").as_deref(), Some("2019-01-23"));
        assert_eq!(day("/2019-01-23/story").as_deref(), Some("2019-01-23"));
        assert_eq!(day("/story/12345678"), None);
        assert!(matches!(
            from_url_path("/2019/01/23/"),
            Some(PubDate::Day(_))
        ));
    }
}
