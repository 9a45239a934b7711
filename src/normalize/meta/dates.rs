//! Which publication date a page states, and how precisely. Parsing itself lives in the shared
//! leaf ([`crate::textcodec::dates`]); this module gathers the candidates and chooses.
//!
//! # Order of signals, strongest first
//! the source's date selector; JSON-LD `datePublished`; publication meta tags (Open Graph,
//! Dublin Core, `citation_*`, Parse.ly, …); `<time datetime>`; a date line lifted from the
//! body; a date printed in a date-like element or just below the headline; a bare `date` meta
//! tag; the feed's date; a date in the URL.
//!
//! The first plausible candidate gives the calendar date. When it has no time of day (or no
//! offset), a later candidate on the same date that has one refines it: JSON-LD saying
//! `2025-01-25` and a byline saying "25.01.2025 20:44" give 20:44 that day. A local time
//! becomes an instant only through the source's configured time zone; without one it stays
//! local. Nothing here invents a time or an offset.

use chrono::{FixedOffset, Timelike};
use chrono_tz::Tz;

use crate::model::{DatePrecision, DateSource};
use crate::textcodec::dates::{PubDate, Reference, machine, visible};

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
    "schema:datepublished",
    "datecreated",
    "schema:datecreated",
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
];

/// Publication meta keys that CMSs also fill with the last change (a bare `date`): such a
/// value yields to a printed date shortly before it (see [`last_change_after`]).
pub const WEAK_PUBLISHED_META_KEYS: &[&str] = &["date"];

/// Most days a last change may follow the publication it is taken for.
pub const MAX_LAST_CHANGE_DAYS: i64 = 31;

/// Whether `weak` (a bare `date` meta) reads as the last change of an article the page prints
/// as published on `printed`: a few days after it, never before (a printed date after the meta
/// is something else, such as today's date in the header or an event).
pub fn last_change_after(weak: PubDate, printed: PubDate) -> bool {
    let days = (weak.date() - printed.date()).num_days();
    (1..=MAX_LAST_CHANGE_DAYS).contains(&days)
}

/// Meta keys that carry the last modification time.
pub const MODIFIED_META_KEYS: &[&str] = &[
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
];

/// The first non-empty value of meta `key`, matching keys whose separators differ
/// (`article:published:time`, `article_published_time`, `DC.Date` all match their usual form);
/// else of the key behind a vendor's prefix (`shareaholic:article_published_time`: a
/// share widget's copy of the page's own value).
pub fn meta_value<'a>(metas: &'a [(String, String)], key: &str) -> Option<&'a str> {
    let value = |matches: &dyn Fn(&str) -> bool| {
        metas
            .iter()
            .find(|(k, v)| !v.is_empty() && matches(k))
            .map(|(_, v)| v.as_str())
    };
    value(&|k| same_key(k, key)).or_else(|| {
        value(&|k| {
            k.split_once(':')
                .is_some_and(|(vendor, rest)| is_vendor(vendor) && same_key(rest, key))
        })
    })
}

/// A vendor prefix: one word of letters, not a vocabulary that has keys of its own meaning.
fn is_vendor(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && !matches!(
            prefix,
            "og" | "article" | "dc" | "dcterms" | "schema" | "citation"
        )
}

/// Equal after `:`, `.` and `-` are read as `_` (both are lower case already).
fn same_key(a: &str, b: &str) -> bool {
    let fold = |c: u8| {
        if matches!(c, b':' | b'.' | b'-') {
            b'_'
        } else {
            c
        }
    };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

/// How many days a stronger date may follow the URL's date before the URL's wins.
pub const URL_DATE_SLACK_DAYS: i64 = 2;

/// Collects candidates in the order of strength and chooses (see the module doc).
#[derive(Debug)]
pub struct Chooser {
    tz: Option<Tz>,
    reference: Reference,
    found: Vec<Found>,
}

impl Chooser {
    /// A chooser for a page of a source in `tz`, read against `reference` (its fetch time).
    pub fn new(tz: Option<Tz>, reference: Reference) -> Self {
        Self {
            tz,
            reference,
            found: Vec::new(),
        }
    }

    /// Offers a parsed date; implausible ones are dropped.
    pub fn offer(&mut self, date: Option<PubDate>, source: DateSource) {
        if let Some(d) = date.map(|d| d.in_zone(self.tz))
            && d.plausible(self.reference.latest)
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

    /// Offers a value printed somewhere on the page, only when it prints its year. Once a
    /// date is known only a text with a clock can add to it, so others are not parsed.
    pub fn offer_text(&mut self, text: &str, order: visible::NumericOrder) {
        if !self.found.is_empty() && !text.contains(':') {
            return;
        }
        let date = visible::parse_with_year(text, self.reference, order);
        self.offer(date, DateSource::VisibleText);
    }

    /// Whether the strongest candidate is already an instant in a non-UTC offset (nothing
    /// later can refine it; a UTC instant may still learn the publisher's offset).
    pub fn settled(&self) -> bool {
        self.found.first().is_some_and(
            |f| matches!(f.date, PubDate::Instant(i) if i.offset().local_minus_utc() != 0),
        )
    }

    /// The strongest candidate, refined by a later one on the same date with more precision.
    /// A date the URL gives wins over a stronger candidate more than [`URL_DATE_SLACK_DAYS`]
    /// later: a URL is fixed when the page is first published, a later metadata date is a
    /// re-publication or a site migration.
    pub fn choose(&self) -> Option<Found> {
        let strongest = *self.found.first()?;
        let from_url = self.found.iter().find(|f| f.source == DateSource::Url);
        let first = match from_url {
            Some(u)
                if strongest.date.date() - u.date.date()
                    > chrono::Duration::days(URL_DATE_SLACK_DAYS) =>
            {
                *u
            }
            _ => strongest,
        };
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
        let date = better.map_or(first.date, |b| b.date);
        Some(Found {
            date: self.publisher_offset(date),
            source: first.source,
        })
    }

    /// The strongest candidate as offered, unrefined.
    pub fn first(&self) -> Option<Found> {
        self.found.first().copied()
    }

    /// Whether no candidate was offered yet.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// A UTC instant shown in the publisher's own offset when a printed local time of the same
    /// moment gives it away (JSON-LD `…T02:25:54Z` and "February 24, 2020 9:25 pm" → −05:00),
    /// so `published_date` is the date the publisher printed. Only whole quarter hours within
    /// −12…+14 h count.
    fn publisher_offset(&self, date: PubDate) -> PubDate {
        let PubDate::Instant(i) = date else {
            return date;
        };
        if i.offset().local_minus_utc() != 0 {
            return date;
        }
        let utc = i.naive_utc();
        let utc_minute = utc - chrono::Duration::seconds(i64::from(utc.second()));
        let offset = self.found.iter().find_map(|f| {
            let PubDate::Local(n) = f.date else {
                return None;
            };
            let n_minute = n - chrono::Duration::seconds(i64::from(n.second()));
            let secs = (n_minute - utc_minute).num_seconds();
            let whole = secs != 0 && secs % 900 == 0 && (-12 * 3600..=14 * 3600).contains(&secs);
            whole
                .then(|| FixedOffset::east_opt(i32::try_from(secs).ok()?))
                .flatten()
        });
        offset.map_or(date, |o| PubDate::Instant(i.with_timezone(&o)))
    }
}

/// A `/2019/01/23/`, `/2019/1/23/`, `/2019-01-23/`, `/20190123/` or `/23-01-2019/` date in a
/// URL path, as a day.
pub fn from_url_path(path: &str) -> Option<PubDate> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let one_or_two = |s: &str| digits(s, 1) || digits(s, 2);
    for (i, seg) in segs.iter().enumerate() {
        if (digits(seg, 8) || (seg.len() == 10 && seg.as_bytes().get(4) == Some(&b'-')))
            && let Some(d @ PubDate::Day(_)) = machine::parse(seg)
        {
            return Some(d);
        }
        if let Some(d) = day_first_segment(seg) {
            return Some(d);
        }
        if digits(seg, 4)
            && let (Some(m), Some(d)) = (segs.get(i + 1), segs.get(i + 2))
            && one_or_two(m)
            && one_or_two(d)
        {
            let text = format!("{seg}-{m:0>2}-{d:0>2}");
            if let Some(day @ PubDate::Day(_)) = machine::parse(&text) {
                return Some(day);
            }
        }
    }
    None
}

/// A whole path segment `DD-MM-YYYY` (`/meldungen/29-10-2021`).
fn day_first_segment(seg: &str) -> Option<PubDate> {
    let b = seg.as_bytes();
    let shape = b.len() == 10
        && b.get(2) == Some(&b'-')
        && b.get(5) == Some(&b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    let (d, m, y) = (seg.get(..2)?, seg.get(3..5)?, seg.get(6..)?);
    chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
        .map(PubDate::Day)
}

/// Keys under which page scripts (app state, shop data, review widgets) carry a publication
/// date outside JSON-LD, quoted as JSON writes them.
const SCRIPT_DATE_KEYS: &[&str] = &[
    "\"datePublished\"",
    "\"publishedDate\"",
    "\"published_at\"",
    "\"publishDate\"",
    "\"date_published\"",
    "\"publicationDate\"",
    "\"publishedAt\"",
    "\"firstPublishedAt\"",
];
/// Longest value read after a script date key.
const MAX_SCRIPT_DATE_LEN: usize = 40;

/// The first date (in page order) given under a publication key anywhere in the raw page,
/// scripts included: `"published_at":"2019-03-02T06:22:28+01:00"`. A value whose time part
/// cannot be read counts as its day (`2022-01-10T22:06:08:684Z`). Used only when the page
/// gives no other date.
pub fn from_script_keys(html: &str) -> Option<PubDate> {
    SCRIPT_DATE_KEYS
        .iter()
        .filter_map(|k| {
            html.match_indices(k)
                .take(5)
                .find_map(|(at, _)| Some((at, script_value(html.get(at + k.len()..)?)?)))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, d)| d)
}

/// The date in `: "value"` at the start of `rest`.
fn script_value(rest: &str) -> Option<PubDate> {
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"').filter(|e| *e <= MAX_SCRIPT_DATE_LEN)?;
    let value = rest.get(..end)?;
    machine::parse(value).or_else(|| match machine::parse(value.get(..10)?) {
        Some(d @ PubDate::Day(_)) => Some(d),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
