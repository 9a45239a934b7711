//! Judging elements by tag name and attributes alone, before any text is looked at.
//!
//! Decides which elements the arena keeps (scripts, form controls, `nav`, hidden elements and
//! clearly named widgets are dropped with their subtrees) and weighs `class`/`id` names:
//! content-like names (`article-body`, `story`) count for an element, boilerplate-like ones
//! (`share`, `related`, `sidebar`) against it. Short words must match as whole tokens so that
//! `ad` does not hit `header`; long ones may sit inside camel-case names (`relatedStories`).

use crate::html::Element;

use super::dom::{F_ARTICLE_BODY, F_BOILERPLATE, F_LEAD, Tag};
use super::names::{LEAD, MAYBE, NEGATIVE, Names, POSITIVE, UNLIKELY};

/// Class/id word lists, compiled once per extractor.
pub(super) struct Patterns {
    names: Names,
}

impl Patterns {
    /// Builds the word lists.
    pub(super) fn new() -> Self {
        Self {
            names: Names::new(),
        }
    }

    /// Weight and flags for an element from its `class` and `id`.
    fn judge(&self, el: &Element<'_>, a: &Attrs<'_>, strip_unlikely: bool) -> (i16, u8, bool) {
        let mut weight = 0i16;
        let mut flags = 0u8;
        let mut drop = false;
        for value in [a.class, a.id].into_iter().flatten() {
            if value.is_empty() {
                continue;
            }
            let m = self.names.judge(value);
            let (pos, mut neg) = (m & POSITIVE != 0, m & NEGATIVE != 0);
            let heading = is_heading(el);
            if neg && (pos || heading) && self.is_widget_content(value, heading) {
                neg = false;
            }
            // When both match, the boilerplate word names the element's function and the
            // content word is a template prefix (`post-share`, `article-tags`, `entry-meta`).
            weight += match (pos, neg) {
                (_, true) => -25,
                (true, false) => 25,
                (false, false) => 0,
            };
            if strip_unlikely && m & UNLIKELY != 0 && m & MAYBE == 0 {
                drop = true;
            }
            if neg {
                flags |= F_BOILERPLATE;
            }
            if m & LEAD != 0 {
                flags |= F_LEAD;
            }
        }
        match a.itemprop {
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

impl Patterns {
    /// Whether `widget` is the only boilerplate word of the name and some token names content
    /// after it (`article-widget-text`, `elementor-widget-theme-post-content`): page builders
    /// call every block a widget, and such a block is the article's text, not a widget box.
    /// For a subheading (`heading_only`) the boilerplate test alone decides: page builders
    /// set the article's own subheadings as `<h2 class="widget-title">`.
    fn is_widget_content(&self, value: &str, heading_only: bool) -> bool {
        let lower = value.to_ascii_lowercase();
        if !lower.contains("widget")
            || self.names.judge(&lower.replace("widget", "_")) & NEGATIVE != 0
        {
            return false;
        }
        heading_only
            || lower.split_ascii_whitespace().any(|t| {
                t.rsplit_once("widget")
                    .is_some_and(|(_, head)| self.names.judge(head) & POSITIVE != 0)
            })
    }
}

/// Whether the element is an `h2`–`h6` subheading.
fn is_heading(el: &Element<'_>) -> bool {
    matches!(el.name(), "h2" | "h3" | "h4" | "h5" | "h6")
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

/// The attributes judged here, found in one pass over the element's attributes instead of one
/// look-up each (every element of the page is judged).
#[derive(Default)]
struct Attrs<'a> {
    class: Option<&'a str>,
    id: Option<&'a str>,
    itemprop: Option<&'a str>,
    hidden: Option<&'a str>,
    aria_hidden: Option<&'a str>,
    role: Option<&'a str>,
    style: Option<&'a str>,
}

impl<'a> Attrs<'a> {
    fn of(el: &Element<'a>) -> Self {
        let mut a = Attrs::default();
        // The parser keeps the first of duplicate attributes only, as `Element::attr` reads.
        for (k, value) in el.attrs() {
            let slot = match k {
                "class" => &mut a.class,
                "id" => &mut a.id,
                "itemprop" => &mut a.itemprop,
                "hidden" => &mut a.hidden,
                "aria-hidden" => &mut a.aria_hidden,
                "role" => &mut a.role,
                "style" => &mut a.style,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        a
    }
}

/// Whether `s` with its spaces (U+0020) removed contains `needle` (ASCII, without spaces),
/// without building that string: inline styles are on many elements.
fn contains_without_spaces(s: &str, needle: &str) -> bool {
    let (b, n) = (s.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    (0..b.len()).filter(|&i| b.get(i) == Some(&first)).any(|i| {
        let mut rest = b
            .get(i..)
            .unwrap_or_default()
            .iter()
            .filter(|&&c| c != b' ');
        n.iter().all(|c| rest.next() == Some(c))
    })
}

/// Whether inline style or attributes hide the element from readers.
fn is_hidden(a: &Attrs<'_>) -> bool {
    if a.hidden.is_some() || a.aria_hidden == Some("true") {
        return true;
    }
    let landmark = a.role.is_some_and(|role| {
        matches!(
            role,
            "navigation"
                | "complementary"
                | "banner"
                | "contentinfo"
                | "menu"
                | "menubar"
                | "dialog"
                | "alert"
                | "alertdialog"
                | "search"
        )
    });
    if landmark {
        return true;
    }
    a.style.is_some_and(|s| {
        contains_without_spaces(s, "display:none")
            || contains_without_spaces(s, "visibility:hidden")
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
    let a = Attrs::of(el);
    if is_hidden(&a) {
        return None;
    }
    let (weight, flags, drop) = pats.judge(el, &a, strip_unlikely);
    let exempt = matches!(tag, Tag::Body | Tag::A | Tag::Cell | Tag::Tr | Tag::Article);
    if drop && !exempt {
        return None;
    }
    Some((tag, weight, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_hide_like_the_spaceless_string() {
        for style in [
            "display:none",
            "display: none",
            "d isplay : no ne;color:red",
            "color: red; visibility :hidden",
            "display:block",
            "display:\tnone",
            "dis-play:none",
            "ddisplay:none",
            "",
            "über display:none",
        ] {
            let spaceless = style.replace(' ', "");
            for needle in ["display:none", "visibility:hidden"] {
                assert_eq!(
                    contains_without_spaces(style, needle),
                    spaceless.contains(needle),
                    "{style:?} {needle}"
                );
            }
        }
    }

    // See: issue 10 (the body of a page-builder layout was removed as a widget).
    #[test]
    fn issue_10_widget_blocks_that_name_content_are_not_boilerplate() {
        let p = Patterns::new();
        assert!(p.is_widget_content("article-widget article-widget-text", false));
        assert!(p.is_widget_content(
            "elementor-widget elementor-widget-theme-post-content",
            false
        ));
        assert!(!p.is_widget_content("widget-area sidebar-content", false));
        assert!(!p.is_widget_content("article-widget share-widget", false));
        assert!(!p.is_widget_content("widget-content-share", false));
        assert!(!p.is_widget_content("post-content", false));
        // A subheading named only `widget-title` is the article's own.
        assert!(p.is_widget_content("widget-title mb-5 font-bold", true));
        assert!(!p.is_widget_content("widget-title related-title", true));
    }
}
