//! Cleaning the chosen container: which elements inside it are boilerplate.
//!
//! Runs as the judge of a second bottom-up statistics pass over the chosen subtrees, so every
//! decision sees statistics from which the already-removed descendants are gone (readability
//! cleans in reverse document order for the same reason), and the whole pass stays linear.
//! The rules are readability's "clean conditionally" plus class-name and share-bar checks.

use super::dom::{F_BOILERPLATE, F_KEEP, Node, Tag};

/// Elements with at least this many commas read as prose: the conditional rules spare them.
const PROSE_COMMAS: u32 = 10;
/// Boilerplate-named elements longer than this are more likely a misnamed body than a widget.
const MAX_BOILERPLATE_CHARS: u32 = 1000;

/// Paragraphs longer than this are kept even when their class names boilerplate.
const MAX_NAMED_PARAGRAPH_CHARS: u32 = 200;

/// Which cleaning rules apply; later extraction attempts relax them.
#[derive(Debug, Clone, Copy)]
pub(super) struct CleanRules {
    /// Remove elements whose class/id looks like boilerplate.
    pub weights: bool,
    /// Apply the link-density and image/paragraph heuristics.
    pub conditional: bool,
}

/// Whether the element `n` (whose statistics are complete) is removed from the body.
pub(super) fn should_remove(n: &Node<'_>, rules: CleanRules) -> bool {
    if matches!(n.tag, Tag::H(1)) {
        // The headline belongs to the title field, not the body.
        return true;
    }
    // The winning container's line keeps its place whatever its class names say (see
    // `F_KEEP`); the text rules still apply to it.
    let named = rules.weights && n.flags & F_KEEP == 0;
    if named && n.flags & F_BOILERPLATE != 0 && removable_by_name(n) {
        return true;
    }
    if !rules.conditional {
        return false;
    }
    match n.tag {
        Tag::Div | Tag::Section | Tag::Article | Tag::Block | Tag::Form | Tag::Figure => {
            clean_container(n, rules, false)
        }
        Tag::List | Tag::Table => clean_container(n, rules, true),
        // A header inside the article holds its title, standfirst and byline: none of them
        // is body text unless the header carries real prose.
        Tag::Header => n.para_chars < 500 || n.link_density() > 0.3,
        Tag::H(_) => n.link_density() > 0.5,
        // Inline widgets inside a paragraph (hover cards, "more from" spans): several links
        // and nothing else, which a sentence never is.
        Tag::Inline => n.link_count >= 3 && n.chars > 80 && n.link_density() > 0.9,
        _ => false,
    }
}

/// Boilerplate by class/id: a short element, or one whose text is mostly links.
fn removable_by_name(n: &Node<'_>) -> bool {
    match n.tag {
        Tag::A | Tag::Cell | Tag::Tr | Tag::Body => return false,
        // A paragraph is only judged by its name when short: long ones are prose whatever
        // the template calls them.
        Tag::P if n.chars > MAX_NAMED_PARAGRAPH_CHARS => return false,
        _ => {}
    }
    if is_quoted(n) {
        // Embedded posts (tweets) sit in "social" wrappers but are quoted article content.
        return false;
    }
    let score = n.score.unwrap_or(0.0);
    f32::from(n.weight) + score < 0.0 && !is_long_prose(n)
}

/// Long, low-link and comma-rich: prose, whatever the element's class/id says. A list is never
/// such prose: a boilerplate-named list of linked titles with their excerpts ("related posts")
/// is comma-rich and mostly unlinked, yet a list of other pages.
fn is_long_prose(n: &Node<'_>) -> bool {
    n.tag != Tag::List
        && n.chars >= MAX_BOILERPLATE_CHARS
        && n.link_density() <= 0.3
        && n.commas >= PROSE_COMMAS
}

/// Readability's conditional cleaning of a block container.
fn clean_container(n: &Node<'_>, rules: CleanRules, list_like: bool) -> bool {
    let weight = if rules.weights { n.weight } else { 0 };
    // As in `removable_by_name`: a long, low-link container of comma-rich sentences is a
    // misnamed body, whatever its class says.
    let named = rules.weights && n.flags & F_KEEP == 0 && !is_long_prose(n);
    if named && f32::from(weight) + n.score.unwrap_or(0.0) < 0.0 && !is_quoted(n) {
        return true;
    }
    if n.commas >= PROSE_COMMAS {
        return false;
    }
    let is_list = list_like || (n.chars > 0 && n.list_chars as f32 / n.chars as f32 > 0.9);
    // Embedded posts (tweets) are quotes whose text is largely links and handles; the
    // article quotes them, so their link density says nothing about boilerplate.
    let density = if is_quoted(n) { 0.0 } else { n.link_density() };
    let (p, img) = (n.p_count as f32, n.img_count as f32);
    (img > 1.0 && p / img < 0.5 && n.tag != Tag::Figure)
        || (!is_list && n.chars < 25 && (n.img_count == 0 || n.img_count > 2))
        || (!is_list && weight < 25 && density > 0.2)
        || (weight >= 25 && density > 0.5)
}

/// Whether most of the element's text is inside block quotes.
fn is_quoted(n: &Node<'_>) -> bool {
    n.quote_chars * 2 > n.chars
}
