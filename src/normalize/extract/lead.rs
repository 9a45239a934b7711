//! The article's lead (standfirst): the paragraph between the headline and the body that sums
//! the story up. Templates put it in the article header or in a box of its own, outside the
//! container that scoring picks (or inside a header that cleaning removes), so the body would
//! start with its second paragraph.
//!
//! A lead is taken only when its class/id says so (`article-lead`, `teaser-text`, `intro`,
//! `summary`, `dek`: [`F_LEAD`]) on the element or its parent, it sits after the first `h1` and
//! before the first text the body emits, and it reads as one prose paragraph: long enough,
//! few links, ending like a sentence. Teasers of other stories fail the position test (they
//! follow the body or sit in removed side matter), captions and widgets the name test. A
//! summary box whose words are nearly all in the body's first paragraph repeats the opening
//! and is not taken.

use super::blocks::{self, RawBlock};
use super::dom::{F_LEAD, F_REMOVED, Node, Tag};
use crate::model::BlockKind;

/// A lead holds at least this many characters…
const MIN_LEAD_CHARS: u32 = 80;
/// …and at most this share of them in links.
const MAX_LEAD_LINK_DENSITY: f32 = 0.2;

/// The lead's blocks, to go before the body's, if the page has a lead. The lead is then
/// flagged removed, so that the roots never emit it a second time.
pub(super) fn take(nodes: &mut [Node<'_>], roots: &[u32]) -> Vec<RawBlock> {
    let Some(lead) = find(nodes, roots) else {
        return Vec::new();
    };
    let range = lead..nodes[lead].end as usize;
    for n in &mut nodes[range] {
        n.flags &= !F_REMOVED;
    }
    let mut blocks = blocks::emit(nodes, &[lead as u32]);
    nodes[lead].flags |= F_REMOVED;
    // A standfirst set as a subheading (`<h2 class="subtitle">`) is still the lead paragraph.
    for b in &mut blocks {
        b.kind = BlockKind::Paragraph;
    }
    blocks
}

/// Share of the lead's words that the body's first paragraph must hold for the lead to be a
/// summary of that paragraph.
const REPEATED_WORD_SHARE: f32 = 0.8;

/// Whether the lead only repeats the body's opening: most of its words are in the first body
/// paragraph ("AMO found 475 pounds of cocaine …" above "… (AMO) found Sunday 475 pounds (215
/// kilos) of cocaine …"). Such a summary box is a teaser of the article, not its standfirst.
pub(super) fn repeated(lead: &[RawBlock], body: &[RawBlock]) -> bool {
    let Some(first) = body.iter().find(|b| b.kind == BlockKind::Paragraph) else {
        return false;
    };
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let lead_words: Vec<String> = lead.iter().flat_map(|b| words(&b.text)).collect();
    if lead_words.is_empty() {
        return false;
    }
    let body_words: std::collections::HashSet<String> = words(&first.text).into_iter().collect();
    let found = lead_words
        .iter()
        .filter(|w| body_words.contains(*w))
        .count();
    found as f32 >= lead_words.len() as f32 * REPEATED_WORD_SHARE
}

/// The arena index of the page's lead, if any.
fn find(nodes: &[Node<'_>], roots: &[u32]) -> Option<usize> {
    // Pages without an `h1` set their headline as the first `h2`.
    let h1 = nodes
        .iter()
        .position(|n| n.tag == Tag::H(1))
        .or_else(|| nodes.iter().position(|n| n.tag == Tag::H(2)))?;
    let first_text = first_emitted_text(nodes, roots)?;
    let start = nodes[h1].end as usize;
    (start..first_text)
        .rev()
        .find(|&i| nodes[i].end as usize <= first_text && is_lead(nodes, i))
}

/// Whether node `i` is named a lead and holds one prose paragraph of its own.
fn is_lead(nodes: &[Node<'_>], i: usize) -> bool {
    let n = &nodes[i];
    let named = n.flags & F_LEAD != 0
        || nodes
            .get(n.parent as usize)
            .is_some_and(|p| p.flags & F_LEAD != 0);
    named
        && matches!(
            n.tag,
            Tag::P | Tag::Div | Tag::Section | Tag::Block | Tag::H(2..=6)
        )
        && !n.has_block_child
        && n.own_chars >= MIN_LEAD_CHARS
        && (n.own_link_chars as f32) < n.own_chars as f32 * MAX_LEAD_LINK_DENSITY
        && !in_figure(nodes, n)
        // A subheading-set dek ("… am Straberger See") has no full stop to end on.
        && (matches!(n.tag, Tag::H(_)) || reads_as_prose(&own_text(nodes, i)))
}

/// Whether an ancestor of `n` is a `figure` (its text is a caption).
fn in_figure(nodes: &[Node<'_>], n: &Node<'_>) -> bool {
    let mut at = n.parent;
    while let Some(p) = nodes.get(at as usize) {
        if p.tag == Tag::Figure {
            return true;
        }
        at = p.parent;
    }
    false
}

/// The text nodes of node `i`'s subtree, concatenated and trimmed.
fn own_text(nodes: &[Node<'_>], i: usize) -> String {
    nodes[i..nodes[i].end as usize]
        .iter()
        .filter(|m| m.tag == Tag::Text)
        .map(|m| m.text)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Whether the text reads as a lead: it ends like a sentence, or it is several sentences
/// whose last one has lost its full stop (templates often drop it after the standfirst). A
/// caption ends the same way, with its credit ("… | Name/dpa", "Photo: Name"): a last
/// sentence holding `|`, `©`, `/` or `:` is no lead's.
fn reads_as_prose(text: &str) -> bool {
    if ends_sentence(text) {
        return true;
    }
    let Some((_, last)) = text.rsplit_once(". ") else {
        return false;
    };
    text.chars().count() >= MIN_LEAD_CHARS as usize * 2
        && !text.ends_with("...")
        && !text.ends_with('…')
        && !last.contains(['|', '©', '/', ':'])
}

/// Whether the text ends like a sentence (an ellipsis is a teaser, not an ending).
fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end_matches(['"', '\'', '”', '’', '»', ')', ' ']);
    !t.ends_with("...") && !t.ends_with('…') && t.ends_with(['.', '!', '?', '。', '！', '？'])
}

/// Arena index of the first non-blank text node the roots emit (skipping removed subtrees).
fn first_emitted_text(nodes: &[Node<'_>], roots: &[u32]) -> Option<usize> {
    for &r in roots {
        let end = nodes[r as usize].end as usize;
        let mut i = r as usize;
        while i < end {
            let n = &nodes[i];
            if n.flags & F_REMOVED != 0 && i != r as usize {
                i = n.end as usize;
                continue;
            }
            if n.tag == Tag::Text && !n.text.trim().is_empty() {
                return Some(i);
            }
            i += 1;
        }
    }
    None
}
