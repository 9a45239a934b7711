//! One walk over the parsed document that collects everything metadata needs: `<meta>`
//! values, JSON-LD blocks, `<title>`, `h1`s, the canonical link, `<time datetime>`, the page
//! language, and short texts of date-, credit- and author-like elements.
//!
//! A single pass with plain tag/attribute checks replaces a dozen CSS selector queries, each
//! of which would walk the whole tree again (selector matching was a tenth of normalize time).

use crate::html::{Document, Element, NodeId, NodeKind};

use super::pictures::{self, Figure, in_article};
use crate::normalize::text::labels::opens_with_figure_label;
use headline::{headline, headline_text};
use side::{in_side_block, in_side_matter, names_side_matter};

mod attrs;
mod headline;
pub(super) mod words;

use attrs::Attrs;
use words::{WordSets, Words};

/// Most elements of one kind remembered (bounds work on hostile pages).
const MAX_PER_KIND: usize = 50;
/// Most pictures remembered.
const MAX_FIGURES: usize = 20;
/// Byline elements remembered (nested byline markup repeats the same name).
const MAX_BYLINES: usize = 8;
/// Longest text kept for a date/credit/author element.
const MAX_SHORT_TEXT: usize = 120;

/// What the walk found.
#[derive(Debug, Default)]
pub struct PageScan {
    /// `<meta>` values keyed by lower-case `property`/`name`/`itemprop`, in document order.
    pub metas: Vec<(String, String)>,
    /// Raw text of each `application/ld+json` script.
    pub json_ld: Vec<String>,
    /// Text of the first `<title>`.
    pub title: Option<String>,
    /// Texts of the first `h1`s.
    pub h1s: Vec<String>,
    /// Texts of the first `h2`s (blog templates put the post title there).
    pub h2s: Vec<String>,
    /// `href` of the first `<link rel=canonical>`.
    pub canonical: Option<String>,
    /// `<time>` elements: the `datetime` attribute and the short text.
    pub times: Vec<TimeElement>,
    /// `<html lang>`.
    pub lang: Option<String>,
    /// Short texts of elements whose class/id says date, time, posted or published, outside
    /// comments, teasers, captions and sidebars (those go to `side_dates`), each with the
    /// ordinal of its first text node.
    pub dateish: Vec<(String, usize)>,
    /// Short text nodes holding a digit outside comments, teasers, captions and sidebars, in
    /// document order, each with its text-node ordinal (the last resort for a printed date).
    pub digit_texts: Vec<(String, usize)>,
    /// Texts of dates in comments, teasers, captions and sidebars (`<time>`, date-classed
    /// elements and digit texts there), offered after every other visible date.
    pub side_dates: Vec<String>,
    /// Text-node ordinal of the headline (the first `h1`, else a blog template's `h2` the
    /// `<title>` repeats), if any: printed dates sit next to the headline.
    pub h1_ordinal: Option<usize>,
    /// Texts holding a digit among the first `BYLINE_ZONE_TEXTS` texts after the headline
    /// (the byline zone: "13 Oct 2020 18:29", "Stand: 28.04.2020 18:00 Uhr"), in order.
    pub headline_dates: Vec<String>,
    /// Text nodes seen so far.
    text_ordinal: usize,
    /// The headline element (see `h1_ordinal`).
    headline: Option<NodeId>,
    /// Ancestors of the headline: never side matter.
    headline_path: Vec<NodeId>,
    /// Non-blank texts after the headline's own text still in the byline zone.
    byline_zone_left: usize,
    /// Photo-credit elements: node and short text.
    pub credits: Vec<(NodeId, String)>,
    /// Short texts of byline elements.
    pub bylines: Vec<String>,
    /// Pictures inside the article area (`<figure>`s and wrapped `<div>`s): image source (as
    /// written), caption, credit.
    pub figures: Vec<Figure>,
}

/// A `<time>` element.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TimeElement {
    /// The `datetime` attribute, if any.
    pub datetime: Option<String>,
    /// The element's text when short.
    pub text: Option<String>,
    /// Whether it sits in a comment, teaser, caption or sidebar (see `side_dates`).
    pub side: bool,
}

/// How many non-blank texts after the headline form its byline zone, where a printed date is
/// the article's even inside a block that looks like side matter (a `nav`-classed meta list).
const BYLINE_ZONE_TEXTS: usize = 3;
/// Most short digit-holding text nodes remembered for date fallback.
const MAX_DIGIT_TEXTS: usize = 200;
/// Longest text node (bytes) read whole for a printed date.
const MAX_DATE_TEXT_BYTES: usize = 200;
/// How much of a longer text node (characters) is read for a date at its start.
const MAX_DATE_TEXT_START_CHARS: usize = 40;

/// Class or id words of elements that hold a printed date (matched case-insensitively).
const DATE_CLASS: &[&str] = &[
    "date",
    "time",
    "posted",
    "publish",
    "datum",
    "fecha",
    "submitted",
];
/// Id words of elements that hold a printed date.
static DATE_ID_WORDS: Words = Words::new(&["date", "datum"]);
/// Words a byline class token holds (see [`is_byline_class`]).
const BYLINE: &[&str] = &["byline", "author"];
static BYLINE_WORDS: Words = Words::new(BYLINE);
/// Class words of photo-credit elements (case-sensitive).
const CREDIT_CLASS: &[&str] = &["credit", "photo-author", "photo_author"];

/// The class lists of the scan, in one pass per `class` value: bit [`DATE_BIT`] for
/// [`DATE_CLASS`], [`BYLINE_BIT`] for [`BYLINE`], [`CREDIT_BIT`] for [`CREDIT_CLASS`].
static CLASS_WORDS: WordSets =
    WordSets::new(&[(DATE_CLASS, true), (BYLINE, true), (CREDIT_CLASS, false)]);
const DATE_BIT: u32 = 1;
const BYLINE_BIT: u32 = 2;
const CREDIT_BIT: u32 = 4;

/// Folds whitespace runs into single spaces and trims.
pub fn fold_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Element text, whitespace folded, or `None` when longer than `max` characters (stops
/// reading as soon as it is, so a date-classed page container costs little).
pub(super) fn short_text(doc: &Document, el: NodeId, max: usize) -> Option<String> {
    let mut raw = String::new();
    for t in doc.texts(el) {
        // Numbers in separate elements stay separate numbers: `<span>Feb 18</span><span>2009`
        // is "Feb 18 2009", not "Feb 182009".
        if raw.ends_with(|c: char| c.is_ascii_digit())
            && t.starts_with(|c: char| c.is_ascii_digit())
        {
            raw.push(' ');
        }
        raw.push_str(t);
        if raw.len() > max * 4 {
            return None;
        }
    }
    let folded = fold_ws(&raw);
    (folded.chars().count() <= max && !folded.is_empty()).then_some(folded)
}

/// Whether one class token names a byline (`byline`, `post-author`, `author-name`) and not an
/// author bio box, an avatar or a comment's author.
fn is_byline_class(token: &str) -> bool {
    // Most class tokens name neither: answer those without lower-casing a copy.
    if !BYLINE_WORDS.in_value(token) {
        return false;
    }
    let t = token.to_ascii_lowercase();
    (t.contains("byline") || t.contains("author"))
        && ![
            "bio", "box", "info", "avatar", "image", "img", "photo", "pic", "comment", "about",
            "desc", "social", "follow", "list", "more", "title", "wrap", "widget",
        ]
        .iter()
        .any(|w| t.contains(w))
}

/// Whether an `abbr` title may be a date: short and holding a digit.
fn is_date_title(t: &str) -> bool {
    t.len() <= MAX_SHORT_TEXT && t.bytes().any(|b| b.is_ascii_digit())
}

impl PageScan {
    /// Walks `doc` once.
    pub fn new(doc: &Document) -> Self {
        let headline = headline(doc);
        let mut s = Self {
            headline,
            headline_path: headline
                .map(|h| doc.ancestors(h).collect())
                .unwrap_or_default(),
            ..Self::default()
        };
        for node in doc.descendants(NodeId::ROOT) {
            match doc.kind(node) {
                NodeKind::Element(_) => {
                    if let Some(el) = doc.element(node) {
                        s.element(doc, el);
                    }
                }
                NodeKind::Text(t) => s.text(doc, node, t),
                NodeKind::Document => {}
            }
        }
        s
    }

    /// Remembers a short text node with a digit, outside scripts, titles and form fields.
    fn text(&mut self, doc: &Document, node: NodeId, t: &str) {
        self.text_ordinal += 1;
        let byline_zone = self.in_byline_zone(doc, node, t);
        // A long text counts by its start: "27.1.2022 - Bei der Erinnerung …".
        let t = t.trim_start();
        let t = match t.len() > MAX_DATE_TEXT_BYTES {
            true => match t.char_indices().nth(MAX_DATE_TEXT_START_CHARS) {
                Some((cut, _)) => t.get(..cut).unwrap_or(t),
                None => t,
            },
            false => t,
        };
        if self.digit_texts.len() >= MAX_DIGIT_TEXTS || !crate::textcodec::dates::has_digit(t) {
            return;
        }
        let parent = doc.parent(node).and_then(|p| doc.name(p));
        if matches!(
            parent,
            Some("script" | "title" | "option" | "textarea" | "style")
        ) {
            return;
        }
        let folded = fold_ws(t);
        if folded.len() < 6 {
            return;
        }
        // A caption's date ("Abbildung: … vom 31.05.2021") dates the picture.
        let side = if byline_zone {
            in_side_block(doc, node, &self.headline_path)
        } else {
            in_side_matter(doc, node, &self.headline_path) || opens_with_figure_label(&folded)
        };
        if side {
            self.side_dates.push(folded);
            return;
        }
        if byline_zone {
            self.headline_dates.push(folded.clone());
        }
        self.digit_texts.push((folded, self.text_ordinal));
    }

    /// Whether a text is one of the first [`BYLINE_ZONE_TEXTS`] non-blank texts after the
    /// headline's own (counting it when it is).
    fn in_byline_zone(&mut self, doc: &Document, node: NodeId, t: &str) -> bool {
        if self.byline_zone_left == 0 || t.trim().is_empty() {
            return false;
        }
        if self
            .headline
            .is_some_and(|h| doc.ancestors(node).any(|a| a == h))
        {
            return false;
        }
        self.byline_zone_left -= 1;
        true
    }

    fn element(&mut self, doc: &Document, v: Element<'_>) {
        let node = v.id();
        if self.headline == Some(node) {
            self.h1_ordinal = Some(self.text_ordinal + 1);
            self.byline_zone_left = BYLINE_ZONE_TEXTS;
        }
        let a = Attrs::of(v);
        match v.name() {
            "meta" => {
                let key = a.property.or(a.name).or(a.itemprop);
                if let (Some(k), Some(c)) = (key, a.content) {
                    self.metas
                        .push((k.to_ascii_lowercase(), c.trim().to_owned()));
                }
            }
            // The parser keeps the text of JSON-LD scripts only (typed or untyped).
            "script" => {
                let text = doc.text(node);
                if !text.trim().is_empty() {
                    self.json_ld.push(text);
                }
            }
            "title" if self.title.is_none() => {
                self.title = Some(fold_ws(&doc.text(node))).filter(|t| !t.is_empty())
            }
            "h1" if self.h1s.len() < 5 => self.h1s.push(headline_text(doc, node)),
            "h2" if self.h2s.len() < 5 => self.h2s.push(fold_ws(&doc.text(node))),
            "link"
                if self.canonical.is_none()
                    && a.rel.is_some_and(|r| r.eq_ignore_ascii_case("canonical")) =>
            {
                self.canonical = v.attr("href").map(str::to_owned);
            }
            "time" if self.times.len() < MAX_PER_KIND => self.times.push(TimeElement {
                datetime: a.datetime.map(str::to_owned),
                text: short_text(doc, node, MAX_SHORT_TEXT),
                side: names_side_matter(v) || in_side_matter(doc, node, &self.headline_path),
            }),
            // Microformats (hAtom) and social pages put the full date in an `abbr` title
            // ("Freitag, 6. Oktober 2017 um 04:00") and a short one in its text.
            "abbr" if self.times.len() < MAX_PER_KIND => {
                if let Some(t) = v.attr("title").filter(|t| is_date_title(t)) {
                    self.times.push(TimeElement {
                        datetime: Some(t.to_owned()),
                        text: Some(fold_ws(t)),
                        side: in_side_matter(doc, node, &self.headline_path),
                    });
                }
            }
            "html" => self.lang = v.attr("lang").map(str::to_owned),
            "figure" if self.figures.len() < MAX_FIGURES && in_article(doc, node) => {
                self.figures.extend(pictures::picture(doc, v))
            }
            "div" if self.figures.len() < MAX_FIGURES && pictures::is_wrapper(doc, v) => {
                self.figures.extend(pictures::picture(doc, v))
            }
            _ => {}
        }
        if v.name() != "meta"
            && let Some(content) = a.content.or(a.datetime)
            && let Some(key) = a.property.or(a.itemprop)
            && key.to_ascii_lowercase().contains("date")
        {
            // RDFa / microdata on a visible element: `<span property="schema:dateCreated"
            // content="2022-01-28T12:45:46+00:00">`, `<time itemprop="datePublished"
            // datetime="2022-01-21">`.
            self.metas
                .push((key.to_ascii_lowercase(), content.trim().to_owned()));
        }
        let (class, id, itemprop) = (a.class, a.id, a.itemprop);
        if class.is_none() && id.is_none() && itemprop.is_none() && a.rel.is_none() {
            return;
        }
        let class_words = class.map_or(0, |c| CLASS_WORDS.mask(c));
        if self.credits.len() < MAX_PER_KIND
            && (class_words & CREDIT_BIT != 0 || itemprop == Some("copyrightHolder"))
            && let Some(t) = short_text(doc, node, 80).filter(|t| t.chars().count() >= 2)
        {
            self.credits.push((node, t));
        }
        if self.dateish.len() < MAX_PER_KIND
            && (class_words & DATE_BIT != 0
                || DATE_ID_WORDS.in_attr(id)
                || itemprop == Some("datePublished"))
            && let Some(t) =
                short_text(doc, node, MAX_SHORT_TEXT).filter(|t| t.chars().count() >= 6)
        {
            // A date-classed element in a comment or a "recent posts" widget dates that, not
            // the page, and one that names the site's edition ("date-edition") shows today's
            // date: they wait with the other side dates.
            if names_side_matter(v) || in_side_matter(doc, node, &self.headline_path) {
                self.side_dates.push(t);
            } else {
                self.dateish.push((t, self.text_ordinal + 1));
            }
        }
        let byline = a.rel == Some("author")
            || itemprop == Some("author")
            || class.is_some_and(|c| {
                // Most classes name no byline: the tokens are looked at only when one does.
                class_words & BYLINE_BIT != 0 && c.split_whitespace().any(is_byline_class)
            });
        if byline && self.bylines.len() < MAX_BYLINES {
            self.bylines.extend(short_text(doc, node, MAX_SHORT_TEXT));
        }
    }
}

mod side;
#[cfg(test)]
mod tests;
