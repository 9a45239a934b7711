//! The page's headline: which element it is (the byline zone and side-matter checks hang on
//! it) and its text without the kicker.

use crate::html::{Document, NodeId};

use super::fold_ws;
use super::words::Words;

/// Shortest headline text the `<title>` must repeat to mark the headline.
const MIN_HEADLINE_CHARS: usize = 10;

/// The page's headline element: of the first `h1`s, the first whose text the `<title>`
/// repeats (a logo `h1` holding the site's name is passed over), else the first `h1`; on a
/// page without `h1` (blog templates), the first of the first `h2`s the `<title>` repeats.
pub(super) fn headline(doc: &Document) -> Option<NodeId> {
    let mut title = None;
    let (mut h1s, mut h2s) = (Vec::new(), Vec::new());
    for n in doc.descendants(NodeId::ROOT) {
        match doc.name(n) {
            Some("title") if title.is_none() => title = Some(fold_ws(&doc.text(n)).to_lowercase()),
            Some("h1") if h1s.len() < 5 => h1s.push(n),
            Some("h2") if h2s.len() < 5 && h1s.is_empty() => h2s.push(n),
            _ => {}
        }
    }
    let repeated = |h: &NodeId| {
        let t = fold_ws(&doc.text(*h)).to_lowercase();
        title
            .as_ref()
            .is_some_and(|title| t.chars().count() >= MIN_HEADLINE_CHARS && title.contains(&t))
    };
    h1s.iter()
        .find(|h| repeated(h))
        .or_else(|| h1s.first())
        .or_else(|| h2s.iter().find(|h| repeated(h)))
        .copied()
}

/// Class words of a kicker: the small label inside a headline element before the headline
/// itself ("Corona-Pandemie", "Local News |"), which the page's metadata titles leave out.
static KICKER_CLASS_WORDS: Words = Words::new(&[
    "kicker",
    "overline",
    "dachzeile",
    "spitzmarke",
    "topline",
    "roofline",
    "eyebrow",
    "supertitle",
    "pretitle",
    "topic",
    "section",
]);

/// Class words of text kept for screen readers only (a hidden " - " between kicker and
/// headline).
static HIDDEN_CLASS_WORDS: Words = Words::new(&["hidden", "offscreen", "sr-only", "screen-reader"]);

/// The text of a headline element without its kicker: child elements whose class names a
/// kicker are left out, and with them hidden separators (punctuation only). A headline that
/// is all kicker keeps its text.
pub(super) fn headline_text(doc: &Document, h: NodeId) -> String {
    let is_kicker = |c: NodeId| KICKER_CLASS_WORDS.in_attr(doc.attr(c, "class"));
    if !doc.children(h).any(is_kicker) {
        return fold_ws(&doc.text(h));
    }
    let hidden_separator = |c: NodeId| {
        (doc.attr(c, "aria-hidden") == Some("true")
            || HIDDEN_CLASS_WORDS.in_attr(doc.attr(c, "class")))
            && !doc.text(c).chars().any(char::is_alphanumeric)
    };
    let text: String = doc
        .children(h)
        .filter(|c| !is_kicker(*c) && !hidden_separator(*c))
        .map(|c| doc.text(c))
        .collect();
    let text = fold_ws(&text);
    if text.is_empty() {
        fold_ws(&doc.text(h))
    } else {
        text
    }
}
