//! Judging elements by tag name and attributes alone, before any text is looked at.
//!
//! Decides which elements the arena keeps (scripts, form controls, `nav`, hidden elements and
//! clearly named widgets are dropped with their subtrees) and weighs `class`/`id` names:
//! content-like names (`article-body`, `story`) count for an element, boilerplate-like ones
//! (`share`, `related`, `sidebar`) against it. Short words must match as whole tokens so that
//! `ad` does not hit `header`; long ones may sit inside camel-case names (`relatedStories`).

use crate::html::Element;
use regex::RegexSet;

use super::dom::{F_ARTICLE_BODY, F_BOILERPLATE, Tag};

/// Class/id patterns, compiled once per extractor.
pub(super) struct Patterns {
    /// `[POSITIVE, NEGATIVE, UNLIKELY, MAYBE]` in one set, so each name is scanned once.
    names: RegexSet,
}

/// Names that mark content (`article-body`, `story`, `entry-content`).
const POSITIVE: &str = concat!(
    r"(?i)article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story|",
    r"(?:^|[^a-z])news(?:$|[^a-z])"
);
/// Names that mark boilerplate (`share`, `related`, `comment`, `sidebar`).
const NEGATIVE: &str = concat!(
    // Only whole class names hide: utility classes like `overflow-hidden` wrap content.
    r"(?i)(?:^|\s)(?:hidden[a-z-]*|is-hidden|visually-hidden|sr-only)(?:$|\s)|",
    r"banner|combx|comment|contact|footer|gdpr|masthead|media|outbrain|",
    r"taboola|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|",
    r"shopping|widget|social|newsletter|subscri|cookie|consent|breadcrumb|popup|",
    r"modal|recommend|advert|caption|credit|byline|author|signup|sign-up|login|",
    r"toolbar|disclaimer|teaser|trending|most-?popular|read-?more|see-?also|timestamp|",
    r"pubdate|more-(?:stories|news|articles)|",
    r"(?:^|[^a-z])(?:ad|ads|nav|navbar|menu|meta|tags?|bio|rail|print|date|time|",
    r"extra|follow|dek|standfirst|subhead|subtitle|kicker|cta)(?:$|[^a-z])"
);
/// Names so clearly boilerplate that the subtree is dropped before scoring.
const UNLIKELY: &str = concat!(
    r"(?i)-ad-|ai2html|banner|breadcrumb|combx|comment|community|cover-wrap|disqus|",
    r"footer|gdpr|legends|menu|related|remark|replies|rss|shoutbox|sidebar|",
    r"skyscraper|social|sponsor|supplemental|ad-break|agegate|pagination|pager|",
    r"popup|cookie|consent|newsletter|share|outbrain|taboola|recommend|",
    r"(?:^|[^a-z])(?:nav|navbar|ads?|tags)(?:$|[^a-z])"
);
/// Names that rescue an element matching `UNLIKELY` (`article`, `content`, `main`).
const MAYBE: &str = r"(?i)and|article|body|column|content|main|shadow|story|text|post|embed";

impl Patterns {
    /// Compiles the fixed patterns.
    pub(super) fn new() -> Self {
        // The patterns are literals checked by the tests; failing to compile is a programming
        // error, not an input error, so a panic at construction is the right signal.
        // Short words must be whole tokens ("ad" must not hit "header"); long ones may be
        // part of a camel-case or concatenated name ("relatedStories").
        let names = RegexSet::new([POSITIVE, NEGATIVE, UNLIKELY, MAYBE])
            .unwrap_or_else(|e| panic!("bad class-name pattern: {e}"));
        Self { names }
    }

    /// Weight and flags for an element from its `class` and `id`.
    fn judge(&self, el: &Element<'_>, strip_unlikely: bool) -> (i16, u8, bool) {
        let mut weight = 0i16;
        let mut flags = 0u8;
        let mut drop = false;
        for value in [el.attr("class"), el.attr("id")].into_iter().flatten() {
            if value.is_empty() {
                continue;
            }
            let m = self.names.matches(value);
            let (pos, neg) = (m.matched(0), m.matched(1));
            // When both match, the boilerplate word names the element's function and the
            // content word is a template prefix (`post-share`, `article-tags`, `entry-meta`).
            weight += match (pos, neg) {
                (_, true) => -25,
                (true, false) => 25,
                (false, false) => 0,
            };
            if strip_unlikely && m.matched(2) && !m.matched(3) {
                drop = true;
            }
            if neg {
                flags |= F_BOILERPLATE;
            }
        }
        match el.attr("itemprop") {
            Some(v) if v.contains("articleBody") => {
                weight += 50;
                flags |= F_ARTICLE_BODY;
            }
            // schema.org fields that sit next to the body, not in it (the standfirst is the
            // article's `description`).
            Some(
                "description"
                | "headline"
                | "alternativeHeadline"
                | "author"
                | "datePublished"
                | "dateModified"
                | "keywords",
            ) => {
                weight -= 25;
                flags |= F_BOILERPLATE;
            }
            _ => {}
        }
        (weight, flags, drop)
    }
}

/// What to do with an element during the arena walk.
enum Verdict {
    Keep(Tag),
    Skip,
}

/// Maps a tag name to its kind, or `Skip` for elements whose subtree never holds body text.
fn classify(name: &str) -> Verdict {
    let tag = match name {
        "p" => Tag::P,
        "div" => Tag::Div,
        "article" | "main" => Tag::Article,
        "section" => Tag::Section,
        "a" => Tag::A,
        "br" => Tag::Br,
        "h1" => Tag::H(1),
        "h2" => Tag::H(2),
        "h3" => Tag::H(3),
        "h4" => Tag::H(4),
        "h5" => Tag::H(5),
        "h6" => Tag::H(6),
        "blockquote" => Tag::Quote,
        "ul" | "ol" | "dl" => Tag::List,
        "li" | "dt" | "dd" => Tag::Item,
        "pre" => Tag::Pre,
        "table" => Tag::Table,
        "tr" => Tag::Tr,
        "td" | "th" => Tag::Cell,
        "img" => Tag::Img,
        "figure" => Tag::Figure,
        "header" => Tag::Header,
        "form" => Tag::Form,
        "body" => Tag::Body,
        "center" | "address" | "details" | "fieldset" | "hgroup" | "tbody" | "thead" | "tfoot"
        | "hr" | "caption" => Tag::Block,
        "script" | "style" | "noscript" | "template" | "svg" | "iframe" | "button" | "select"
        | "textarea" | "input" | "object" | "embed" | "canvas" | "video" | "audio" | "map"
        | "head" | "nav" | "aside" | "footer" | "dialog" | "math" | "source" | "option"
        | "label" | "menu" | "figcaption" | "noembed" | "picture" | "summary" | "link" | "meta"
        | "title" | "frameset" | "frame" => return Verdict::Skip,
        _ => Tag::Inline,
    };
    Verdict::Keep(tag)
}

/// Whether inline style or attributes hide the element from readers.
fn is_hidden(el: &Element<'_>) -> bool {
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return true;
    }
    let landmark = el.attr("role").is_some_and(|role| {
        matches!(
            role,
            "navigation"
                | "complementary"
                | "banner"
                | "contentinfo"
                | "menu"
                | "menubar"
                | "dialog"
                | "alertdialog"
                | "search"
        )
    });
    if landmark {
        return true;
    }
    el.attr("style").is_some_and(|s| {
        let s = s.replace(' ', "");
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

/// Tag, weight and flags of an element kept in the arena, `None` when its subtree is dropped.
pub(super) fn admit(
    el: &Element<'_>,
    pats: &Patterns,
    strip_unlikely: bool,
) -> Option<(Tag, i16, u8)> {
    let Verdict::Keep(tag) = classify(el.name()) else {
        return None;
    };
    if is_hidden(el) {
        return None;
    }
    let (weight, flags, drop) = pats.judge(el, strip_unlikely);
    let exempt = matches!(tag, Tag::Body | Tag::A | Tag::Cell | Tag::Tr | Tag::Article);
    if drop && !exempt {
        return None;
    }
    Some((tag, weight, flags))
}
