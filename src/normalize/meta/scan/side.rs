//! Side matter: the blocks of a page (comments, teasers, sidebars, menu bars) whose dates are
//! not the article's, and the headline's ancestors, which never count as side matter.

use crate::html::{Document, Element, NodeId};

use super::words::Words;

/// Class/id words of blocks whose dates are not the page's: comments, teasers, related and
/// similar stories, captions, sidebars, a forum member's join date and the site's edition line
/// (today's date in the header).
pub(super) static SIDE_MATTER_WORDS: Words = Words::new(&[
    "comment",
    "related",
    "similar",
    "teaser",
    "sidebar",
    "widget",
    "caption",
    "recommend",
    "popular",
    "trending",
    "footer",
    "joined",
    "member-since",
    "membersince",
    "regdate",
    "edition",
]);
/// How many ancestors are checked for side matter.
const SIDE_MATTER_DEPTH: usize = 10;

/// Whether `node` sits in a comment, teaser, caption, sidebar, menu bar or similar block.
/// Only blocks below the headline's ancestors count: a wrapper holding the `h1` (`<div
/// class="main sidebar">`, a layout with a sidebar) holds the article, not side matter.
pub(super) fn in_side_matter(doc: &Document, node: NodeId, headline_path: &[NodeId]) -> bool {
    below_headline(doc, node, headline_path).any(names_side_matter)
}

/// Like [`in_side_matter`], but a menu-bar class does not count: for the texts right below the
/// headline, where a `nav`-classed list (Bootstrap styles any inline list so) is the article's
/// meta line, not the site's menu.
pub(super) fn in_side_block(doc: &Document, node: NodeId, headline_path: &[NodeId]) -> bool {
    below_headline(doc, node, headline_path).any(names_side_block)
}

/// The element ancestors of `node` checked for side matter.
fn below_headline<'d>(
    doc: &'d Document,
    node: NodeId,
    headline_path: &'d [NodeId],
) -> impl Iterator<Item = Element<'d>> + 'd {
    doc.ancestors(node)
        .take(SIDE_MATTER_DEPTH)
        .take_while(|a| !headline_path.contains(a))
        .filter_map(|a| doc.element(a))
        // A page-level class ("segment--recommended" on `body`) says nothing of one block.
        .filter(|e| !matches!(e.name(), "html" | "body" | "main" | "article"))
}

/// Whether an element is itself side matter by its tag or its class/id words.
pub(super) fn names_side_matter(e: Element<'_>) -> bool {
    names_side_block(e)
        || e.name() == "nav"
        || [e.attr("class"), e.attr("id")]
            .into_iter()
            .any(names_navigation)
}

/// Side matter other than menu bars: comments, teasers, captions, sidebars, footers, …
fn names_side_block(e: Element<'_>) -> bool {
    matches!(e.name(), "aside" | "footer" | "figcaption")
        || SIDE_MATTER_WORDS.in_attr(e.attr("class"))
        || SIDE_MATTER_WORDS.in_attr(e.attr("id"))
}

/// Whether a class/id token starts with `nav` (`nav`, `navbar`, `navtop`, `navigation`): the
/// site's menu bar, whose "today" is no article's date.
fn names_navigation(attr: Option<&str>) -> bool {
    attr.is_some_and(|a| {
        a.split_ascii_whitespace()
            .any(|t| t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("nav")))
    })
}
