//! The page's publication date: the date line lifted from the body and every other date
//! signal gathered in order of strength for [`dates::Chooser`]; the choosing itself lives
//! in [`crate::normalize::meta::dates`].

use super::{NormalizeInput, value_or_text};
use crate::html::Document;
use crate::model::{Block, BlockKind, DateSource, SourceProfile};
use crate::normalize::Rules;
use crate::normalize::meta::{self, PageScan, dates};
use crate::textcodec::dates::visible::{self, NumericOrder};
use crate::textcodec::dates::{PubDate, Reference, machine};

/// Dates lifted from short date-only blocks at the start and at the end of the body.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DateLines {
    /// The first such date among the first blocks ("Posted: 05.05.2025 10:31:24").
    start: Option<PubDate>,
    /// The first such date among the last blocks: weaker, as an embedded post or a quoted
    /// source often closes an article with its own date.
    end: Option<PubDate>,
}

/// Removes short blocks near the start or end that are only a date ("Posted: 05.05.2025
/// 10:31:24") and returns the dates found.
pub(super) fn take_date_lines(
    blocks: &mut Vec<Block>,
    order: NumericOrder,
    reference: Reference,
) -> DateLines {
    let mut found = DateLines::default();
    let len = blocks.len();
    let mut idx = 0;
    blocks.retain(|b| {
        let at_start = idx < 3;
        let near_edge = at_start || idx + 2 >= len;
        idx += 1;
        if !near_edge || b.kind == BlockKind::List || b.text.chars().count() > 60 {
            return true;
        }
        let Some(d) = visible::parse(&b.text, reference, order) else {
            return true;
        };
        let words = b
            .text
            .split_whitespace()
            .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
            .count();
        if words > 4 {
            return true;
        }
        let slot = if at_start {
            &mut found.start
        } else {
            &mut found.end
        };
        slot.get_or_insert(d);
        false
    });
    found
}

/// How to read `04/05/2019` on this page: month first only on US-English pages.
pub(super) fn numeric_order(scan: &PageScan) -> NumericOrder {
    let lang = scan
        .lang
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if lang.starts_with("en-us") || lang.starts_with("en_us") {
        NumericOrder::MonthFirst
    } else {
        NumericOrder::DayFirst
    }
}

/// Gathers every date signal in order of strength (see [`dates`]) and chooses.
pub(super) fn published(
    doc: &Document,
    scan: &PageScan,
    ld: &meta::JsonLd,
    rules: &Rules,
    profile: &SourceProfile,
    input: &NormalizeInput<'_>,
    date_lines: DateLines,
) -> Option<dates::Found> {
    let mut c = dates::Chooser::new(profile.timezone, input.reference);
    let order = numeric_order(scan);
    if let Some(sel) = &rules.date {
        for e in doc.select(sel) {
            let raw = value_or_text(doc, e, &["content", "datetime"]);
            match machine::parse(&raw) {
                Some(d) => c.offer(Some(d), DateSource::Selector),
                None => c.offer_visible(&raw, order, DateSource::Selector),
            }
        }
    }
    c.offer_machine(ld.date_published.as_deref(), DateSource::JsonLd);
    for key in dates::PUBLISHED_META_KEYS {
        c.offer_machine(dates::meta_value(&scan.metas, key), DateSource::Meta);
    }
    let weak = dates::WEAK_PUBLISHED_META_KEYS
        .iter()
        .find_map(|k| dates::meta_value(&scan.metas, k))
        .and_then(machine::parse);
    let weak_yields = weak.is_some_and(|w| {
        let mut printed = dates::Chooser::new(profile.timezone, input.reference);
        offer_times(&mut printed, scan, order);
        offer_printed(&mut printed, scan, order);
        printed
            .first()
            .is_some_and(|p| dates::last_change_after(w, p.date))
    });
    if !weak_yields {
        c.offer(weak, DateSource::Meta);
    }
    // BelTA labels local wall time "+00:00" here: keep the wall time, attach the source zone.
    let mediator = meta::meta_first(&scan.metas, &["mediator_published_time"])
        .and_then(|s| s.get(..19))
        .and_then(machine::parse);
    c.offer(mediator, DateSource::Meta);
    offer_times(&mut c, scan, order);
    c.offer(date_lines.start, DateSource::VisibleText);
    if !c.settled() {
        offer_printed(&mut c, scan, order);
    }
    if weak_yields {
        c.offer(weak, DateSource::Meta);
    }
    c.offer(date_lines.end, DateSource::VisibleText);
    // Discovery writes a date-only feed or sitemap date as midnight UTC (`feed::dates`).
    let hint = input.hint.and_then(|h| h.published).map(|d| {
        if d.offset().local_minus_utc() == 0 && d.time() == chrono::NaiveTime::MIN {
            PubDate::Day(d.date_naive())
        } else {
            PubDate::Instant(d)
        }
    });
    c.offer(hint, DateSource::Feed);
    c.offer(dates::from_url_path(input.url.path()), DateSource::Url);
    if !c.settled() {
        offer_last_resort(&mut c, scan, order);
    }
    c.choose()
}

/// `<time>` elements outside side matter: the `datetime` attribute, else the text.
fn offer_times(c: &mut dates::Chooser, scan: &PageScan, order: NumericOrder) {
    for t in scan.times.iter().filter(|t| !t.side) {
        match t.datetime.as_deref().and_then(machine::parse) {
            Some(d) => c.offer(Some(d), DateSource::TimeElement),
            None => c.offer_visible(
                t.text.as_deref().unwrap_or_default(),
                order,
                DateSource::TimeElement,
            ),
        }
    }
}

/// Dates printed for readers where the article's date is printed: date-classed elements,
/// nearest the headline first (a header's "edition of today" sits far off, the article's byline
/// date next to it), then dated texts in the headline's byline zone.
fn offer_printed(c: &mut dates::Chooser, scan: &PageScan, order: NumericOrder) {
    let mut dateish: Vec<&(String, usize)> = scan.dateish.iter().collect();
    if let Some(h1) = scan.h1_ordinal {
        dateish.sort_by_key(|(_, at)| at.abs_diff(h1));
    }
    for (t, _) in dateish.into_iter().filter(|(t, _)| t.chars().count() <= 80) {
        c.offer_visible(t, order, DateSource::VisibleText);
    }
    for t in &scan.headline_dates {
        c.offer_visible(t, order, DateSource::VisibleText);
    }
}

/// Last resort, or a time for a date already found: any short text with a date, the ones
/// nearest the headline first (the site header's "today" and menus sit far off), then the
/// dates of side matter.
fn offer_last_resort(c: &mut dates::Chooser, scan: &PageScan, order: NumericOrder) {
    let mut texts: Vec<&(String, usize)> = scan.digit_texts.iter().collect();
    if let Some(h1) = scan.h1_ordinal {
        texts.sort_by_key(|(_, at)| at.abs_diff(h1));
    }
    for (t, _) in texts {
        c.offer_text(t, order);
    }
    for t in scan.times.iter().filter(|t| t.side) {
        let d = t.datetime.as_deref().and_then(machine::parse);
        c.offer(d, DateSource::TimeElement);
    }
    for t in &scan.side_dates {
        c.offer_text(t, order);
    }
}

/// The last resort: a date under a publication key in the page's scripts.
pub(super) fn script_date(
    html: &str,
    profile: &SourceProfile,
    input: &NormalizeInput<'_>,
) -> Option<dates::Found> {
    let mut c = dates::Chooser::new(profile.timezone, input.reference);
    c.offer(dates::from_script_keys(html), DateSource::Script);
    c.choose()
}

#[cfg(test)]
mod tests;
