//! Class/id name judgements: which of four word lists a `class` or `id` value hits.
//!
//! Every element with a class or id is judged, about a thousand per page, so this is one
//! Aho–Corasick pass (ASCII case-insensitive, a DFA built once) instead of a regex set, whose
//! lazy DFA kept determinizing new states on every new page of class names. Short words must
//! be whole tokens so that `ad` does not hit `header`; long ones may sit inside camel-case or
//! concatenated names (`relatedStories`).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Names that mark content (`article-body`, `story`, `entry-content`).
pub(super) const POSITIVE: u8 = 1;
/// Names that mark boilerplate (`share`, `related`, `comment`, `sidebar`).
pub(super) const NEGATIVE: u8 = 2;
/// Names so clearly boilerplate that the subtree is dropped before scoring.
pub(super) const UNLIKELY: u8 = 4;
/// Names that rescue an element matching `UNLIKELY` (`article`, `content`, `main`). Unlike
/// readability's list, `column` is not one: CSS grid frameworks put it on every cell, the
/// comment thread's included (`comments-list columns`).
pub(super) const MAYBE: u8 = 8;

/// Internal bit: the name may contain a hiding class token, see [`hides`].
const MAY_HIDE: u8 = 16;
/// Names of an article's lead or standfirst (`article-lead`, `teaser-text`, `intro`,
/// `summary`): the paragraph between the headline and the body that sums the story up.
pub(super) const LEAD: u8 = 32;

/// Words matched anywhere in a name, with the lists they belong to.
const ANYWHERE: &[(&str, u8)] = &[
    ("article", POSITIVE | MAYBE),
    ("body", POSITIVE | MAYBE),
    ("content", POSITIVE | MAYBE),
    ("entry", POSITIVE),
    ("hentry", POSITIVE),
    ("h-entry", POSITIVE),
    ("main", POSITIVE | MAYBE),
    ("page", POSITIVE),
    ("post", POSITIVE | MAYBE),
    ("text", POSITIVE | MAYBE),
    ("blog", POSITIVE),
    ("story", POSITIVE | MAYBE),
    ("and", MAYBE),
    ("shadow", MAYBE),
    ("embed", MAYBE),
    ("banner", NEGATIVE | UNLIKELY),
    ("combx", NEGATIVE | UNLIKELY),
    ("comment", NEGATIVE | UNLIKELY),
    ("footer", NEGATIVE | UNLIKELY),
    ("gdpr", NEGATIVE | UNLIKELY),
    ("outbrain", NEGATIVE | UNLIKELY),
    ("taboola", NEGATIVE | UNLIKELY),
    ("related", NEGATIVE | UNLIKELY),
    ("share", NEGATIVE | UNLIKELY),
    ("shoutbox", NEGATIVE | UNLIKELY),
    ("sidebar", NEGATIVE | UNLIKELY),
    ("skyscraper", NEGATIVE | UNLIKELY),
    ("sponsor", NEGATIVE | UNLIKELY),
    ("social", NEGATIVE | UNLIKELY),
    ("newsletter", NEGATIVE | UNLIKELY),
    ("cookie", NEGATIVE | UNLIKELY),
    ("privacy", NEGATIVE | UNLIKELY),
    ("consent", NEGATIVE | UNLIKELY),
    ("breadcrumb", NEGATIVE | UNLIKELY),
    ("popup", NEGATIVE | UNLIKELY),
    ("recommend", NEGATIVE | UNLIKELY),
    ("contact", NEGATIVE),
    ("masthead", NEGATIVE),
    ("media", NEGATIVE),
    ("promo", NEGATIVE),
    ("scroll", NEGATIVE),
    ("shopping", NEGATIVE),
    ("widget", NEGATIVE),
    ("subscri", NEGATIVE),
    ("modal", NEGATIVE),
    ("advert", NEGATIVE),
    ("caption", NEGATIVE),
    ("credit", NEGATIVE),
    ("byline", NEGATIVE),
    ("author", NEGATIVE),
    ("signup", NEGATIVE),
    ("sign-up", NEGATIVE),
    ("login", NEGATIVE),
    ("toolbar", NEGATIVE),
    ("disclaimer", NEGATIVE),
    ("teaser", NEGATIVE),
    ("trending", NEGATIVE),
    ("mostpopular", NEGATIVE),
    ("most-popular", NEGATIVE),
    ("readmore", NEGATIVE),
    ("read-more", NEGATIVE),
    ("seealso", NEGATIVE),
    ("see-also", NEGATIVE),
    ("timestamp", NEGATIVE),
    ("pubdate", NEGATIVE),
    ("more-stories", NEGATIVE),
    ("more-news", NEGATIVE),
    ("more-articles", NEGATIVE),
    ("infobox", NEGATIVE),
    ("factbox", NEGATIVE),
    ("disclosure", NEGATIVE),
    ("paywall", NEGATIVE),
    ("expandable", NEGATIVE),
    ("alert", NEGATIVE),
    ("rating", NEGATIVE),
    ("postmetadata", NEGATIVE),
    ("entry-utility", NEGATIVE),
    ("-ad-", UNLIKELY),
    ("ai2html", UNLIKELY),
    ("community", UNLIKELY),
    ("cover-wrap", UNLIKELY),
    ("disqus", UNLIKELY),
    ("legends", UNLIKELY),
    ("menu", UNLIKELY),
    ("remark", UNLIKELY),
    ("replies", UNLIKELY),
    ("rss", UNLIKELY),
    ("supplemental", UNLIKELY),
    ("ad-break", UNLIKELY),
    ("agegate", UNLIKELY),
    ("pagination", UNLIKELY),
    ("pager", UNLIKELY),
    ("intro", LEAD),
    ("teaser", LEAD),
    ("standfirst", LEAD),
    ("subtitle", LEAD),
    ("summary", LEAD),
    ("excerpt", LEAD),
    ("preface", LEAD),
    ("desc", LEAD),
    ("abstract", LEAD),
    ("chapo", LEAD),
    ("vorspann", LEAD),
    ("hidden", MAY_HIDE),
    ("hide", MAY_HIDE),
    ("sr-only", MAY_HIDE),
    ("offscreen", MAY_HIDE),
    ("screen-reader", MAY_HIDE),
];

/// Words that count only as whole tokens (no ASCII letter on either side).
const WHOLE: &[(&str, u8)] = &[
    ("news", POSITIVE),
    ("lead", LEAD),
    ("dek", LEAD),
    ("ad", NEGATIVE | UNLIKELY),
    ("ads", NEGATIVE | UNLIKELY),
    ("nav", NEGATIVE | UNLIKELY),
    ("navbar", NEGATIVE | UNLIKELY),
    ("tags", NEGATIVE | UNLIKELY),
    ("menu", NEGATIVE),
    ("meta", NEGATIVE),
    ("tag", NEGATIVE),
    ("bio", NEGATIVE),
    ("rail", NEGATIVE),
    ("print", NEGATIVE),
    ("date", NEGATIVE),
    ("time", NEGATIVE),
    ("extra", NEGATIVE),
    ("follow", NEGATIVE),
    ("dek", NEGATIVE),
    ("standfirst", NEGATIVE),
    ("subhead", NEGATIVE),
    ("subtitle", NEGATIVE),
    ("kicker", NEGATIVE),
    ("cta", NEGATIVE),
];

/// The compiled word lists.
pub(super) struct Names {
    ac: AhoCorasick,
    /// Per pattern: (lists when found anywhere, lists when found as a whole token).
    masks: Vec<(u8, u8)>,
}

impl Names {
    /// Builds the automaton over both word lists.
    pub(super) fn new() -> Self {
        let mut words: Vec<&str> = Vec::new();
        let mut masks: Vec<(u8, u8)> = Vec::new();
        for (list, whole) in [(ANYWHERE, false), (WHOLE, true)] {
            for &(w, m) in list {
                let i = words.iter().position(|x| *x == w).unwrap_or_else(|| {
                    words.push(w);
                    masks.push((0, 0));
                    words.len() - 1
                });
                if let Some(slot) = masks.get_mut(i) {
                    if whole {
                        slot.1 |= m;
                    } else {
                        slot.0 |= m;
                    }
                }
            }
        }
        // Fixed literals: failing to build is a programming error, caught by every test.
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&words)
            .expect("static word list");
        Names { ac, masks }
    }

    /// The lists (`POSITIVE | NEGATIVE | …`) that `value` hits.
    pub(super) fn judge(&self, value: &str) -> u8 {
        let b = value.as_bytes();
        let letter = |i: Option<usize>| {
            i.and_then(|i| b.get(i))
                .is_some_and(u8::is_ascii_alphabetic)
        };
        let mut hit = 0u8;
        for m in self.ac.find_overlapping_iter(value) {
            let Some(&(anywhere, whole)) = self.masks.get(m.pattern().as_usize()) else {
                continue;
            };
            hit |= anywhere;
            if whole != 0 && !letter(m.start().checked_sub(1)) && !letter(Some(m.end())) {
                hit |= whole;
            }
        }
        if hit & MAY_HIDE != 0 && hides(value) {
            hit |= NEGATIVE;
        }
        hit & !MAY_HIDE
    }
}

/// Whether a whole class token says "hidden" (`hidden`, `hidden-xs`, `hideCompletely`, `is-hidden`,
/// `visually-hidden`, `sr-only`, `h-offscreen`, `screen-reader-text`): text kept for screen
/// readers only ("Box aufklappen", "Posted in"). Only whole tokens hide: utility classes such
/// as `overflow-hidden` wrap content.
fn hides(value: &str) -> bool {
    value.split_ascii_whitespace().any(|t| {
        let lower = t.to_ascii_lowercase();
        ["hidden", "hide"]
            .iter()
            .find_map(|p| lower.strip_prefix(p))
            .is_some_and(|rest| rest.bytes().all(|c| c.is_ascii_lowercase() || c == b'-'))
            || lower.ends_with("offscreen")
            || matches!(
                lower.as_str(),
                "is-hidden" | "visually-hidden" | "sr-only" | "screen-reader-text"
            )
    })
}

#[cfg(test)]
mod tests;
