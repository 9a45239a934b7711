//! Side matter: the blocks of a page (comments, teasers, sidebars, menu bars) whose dates are
//! not the article's, and the headline's ancestors, which never count as side matter.

use crate::html::{Document, NodeId};

use super::words::Words;

/// Class/id words of blocks whose dates are not the page's: comments, teasers, related
/// stories, captions, sidebars.
pub(super) static SIDE_MATTER_WORDS: Words = Words::new(&[
    "comment",
    "related",
    "teaser",
    "sidebar",
    "widget",
    "caption",
    "recommend",
    "popular",
    "trending",
    "footer",
]);
/// How many ancestors are checked for side matter.
const SIDE_MATTER_DEPTH: usize = 10;

/// Whether `node` sits in a comment, teaser, caption, sidebar or similar block. Only blocks
/// below the headline's ancestors count: a wrapper holding the `h1` (`<div class="main
/// sidebar">`, a layout with a sidebar) holds the article, not side matter.
pub(super) fn in_side_matter(doc: &Document, node: NodeId, headline_path: &[NodeId]) -> bool {
    doc.ancestors(node)
        .take(SIDE_MATTER_DEPTH)
        .take_while(|a| !headline_path.contains(a))
        .filter_map(|a| doc.element(a))
        // A page-level class ("segment--recommended" on `body`) says nothing of one block.
        .filter(|e| !matches!(e.name(), "html" | "body" | "main" | "article"))
        .any(|e| {
            matches!(e.name(), "aside" | "nav" | "footer" | "figcaption")
                || SIDE_MATTER_WORDS.in_attr(e.attr("class"))
                || SIDE_MATTER_WORDS.in_attr(e.attr("id"))
                || [e.attr("class"), e.attr("id")]
                    .into_iter()
                    .any(names_navigation)
        })
}

/// Whether a class/id token starts with `nav` (`nav`, `navbar`, `navtop`, `navigation`): the
/// site's menu bar, whose "today" is no article's date.
fn names_navigation(attr: Option<&str>) -> bool {
    attr.is_some_and(|a| {
        a.split_ascii_whitespace()
            .any(|t| t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("nav")))
    })
}
