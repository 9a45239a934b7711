//! Flat arena view of a parsed page, built in one iterative walk, for the generic extractor.
//!
//! The parsed document has no per-node storage for scores, so the extractor copies the parts it needs
//! into a pre-order `Vec`: every subtree is a contiguous index range `i..end`, which turns the
//! bottom-up statistics into one reverse loop and keeps every later pass linear and free of
//! recursion (100 000 nested elements cost heap, never stack). Boilerplate that can be judged
//! from the tag or attributes alone (see `extract_attrs`: scripts, `nav`, hidden elements, class
//! names such as `share-bar`) is left out here. This module only describes the page: it does
//! not choose the body or produce text.

use crate::html::{Document, NodeId, NodeKind};

use super::attrs::{Patterns, admit};

/// The element kinds the extractor tells apart; everything else is `Inline` or `Block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    /// A text node.
    Text,
    /// `body` (also the synthetic root of a restricted extraction).
    Body,
    P,
    Div,
    /// `article`, `main`: containers that announce content.
    Article,
    Section,
    A,
    Br,
    /// `h1`..`h6` with their level.
    H(u8),
    Quote,
    /// `ul`, `ol`, `dl`.
    List,
    /// `li`, `dt`, `dd`.
    Item,
    Pre,
    Table,
    Tr,
    /// `td`, `th`.
    Cell,
    Img,
    Figure,
    Header,
    Form,
    /// A block-level element without special meaning (`center`, `address`, `details`, …).
    Block,
    /// Phrasing content (`span`, `b`, `em`, unknown tags, …).
    Inline,
}

impl Tag {
    /// Block-level elements start a new text block when emitted.
    pub(super) fn is_block(self) -> bool {
        !matches!(self, Tag::Text | Tag::A | Tag::Inline | Tag::Br | Tag::Img)
    }
}

/// Own text shorter than this (in characters) does not count as a paragraph.
pub(super) const MIN_PARAGRAPH_CHARS: u32 = 25;

/// Bit set in [`Node::flags`]: class/id says "this is the article body" (`itemprop=articleBody`).
pub(super) const F_ARTICLE_BODY: u8 = 1;
/// Bit set in [`Node::flags`]: removed by the cleaning pass, skipped when emitting text.
pub(super) const F_REMOVED: u8 = 2;
/// Bit set in [`Node::flags`]: class/id names boilerplate strongly enough to drop it anywhere.
pub(super) const F_BOILERPLATE: u8 = 4;
/// Bit set in [`Node::flags`]: the best-scoring container or one of its ancestors below the
/// chosen root. Cleaning never removes these: the root was widened around that container, so
/// removing it (or a wrapper of it) would throw away the text that won.
pub(super) const F_KEEP: u8 = 8;
/// Bit set in [`Node::flags`]: class/id names a lead or standfirst (see `extract_lead`).
pub(super) const F_LEAD: u8 = 16;

/// One element or text node of the arena.
#[derive(Debug, Clone)]
pub(super) struct Node<'a> {
    pub tag: Tag,
    /// Text content for `Tag::Text`, empty otherwise.
    pub text: &'a str,
    /// The element's `class` attribute as written (empty when none): repeated parts of one
    /// layout (an article split into several same-class sections) share it.
    pub class: &'a str,
    /// Arena index of the parent (`u32::MAX` for the root).
    pub parent: u32,
    /// One past the last index of this node's subtree.
    pub end: u32,
    /// Class/id weight: positive for content-like names, negative for boilerplate-like ones.
    pub weight: i16,
    pub flags: u8,
    /// Subtree statistics, whitespace runs counted as one character.
    pub chars: u32,
    pub link_chars: u32,
    /// Text inside list items.
    pub list_chars: u32,
    /// Text inside block quotes.
    pub quote_chars: u32,
    /// Own text of paragraph-like descendants (and self) that is not mostly links: the
    /// subtree's prose.
    pub para_chars: u32,
    pub commas: u32,
    /// Statistics of the text not inside a nested block: the element's own paragraph text.
    pub own_chars: u32,
    pub own_link_chars: u32,
    pub own_commas: u32,
    /// Counts of descendants, for the conditional cleaning heuristics.
    pub p_count: u32,
    pub li_count: u32,
    pub img_count: u32,
    pub link_count: u32,
    pub has_block_child: bool,
    /// Readability-style content score; `None` until some paragraph credits it.
    pub score: Option<f32>,
}

impl Node<'_> {
    /// Share of the subtree's text that sits inside links.
    pub(super) fn link_density(&self) -> f32 {
        if self.chars == 0 {
            0.0
        } else {
            self.link_chars as f32 / self.chars as f32
        }
    }

    /// Whether the node is an element kept in the output (not removed by cleaning).
    pub(super) fn is_removed(&self) -> bool {
        self.flags & F_REMOVED != 0
    }
}

/// Builds the arena for the subtree under `root` (the root itself becomes index 0, as `Body`).
pub(super) fn build<'a>(
    doc: &'a Document,
    root: NodeId,
    pats: &Patterns,
    strip_unlikely: bool,
) -> Vec<Node<'a>> {
    let mut nodes = vec![new_node(Tag::Body, "", u32::MAX, 0, 0)];
    // Arena indices of the kept elements we are inside; `open.len() - 1` is the walk depth
    // below `root`, because the walk descends only into kept elements.
    let mut open: Vec<u32> = vec![0];
    let mut cur = doc.first_child(root);
    while let Some(node) = cur {
        let parent = open.last().copied().unwrap_or(0);
        let mut descend = false;
        match doc.kind(node) {
            NodeKind::Text(t) => {
                let idx = nodes.len() as u32;
                let mut text = new_node(Tag::Text, t, parent, 0, 0);
                // A text node's statistics never change: count them once, here.
                let (chars, commas) = text_stats(t);
                (text.chars, text.commas, text.own_chars, text.own_commas) =
                    (chars, commas, chars, commas);
                text.end = idx + 1;
                nodes.push(text);
            }
            NodeKind::Element(_) => {
                let el = doc.element(node);
                let admitted = el.as_ref().and_then(|el| admit(el, pats, strip_unlikely));
                if let Some((tag, weight, flags)) = admitted {
                    open.push(nodes.len() as u32);
                    let mut n = new_node(tag, "", parent, weight, flags);
                    n.class = el.and_then(|el| el.attr("class")).unwrap_or_default();
                    nodes.push(n);
                    descend = doc.first_child(node).is_some();
                    if !descend {
                        close(&mut nodes, &mut open);
                    }
                }
            }
            _ => {}
        }
        if descend {
            cur = doc.first_child(node);
            continue;
        }
        // Next node in pre-order: a sibling, or climb (closing elements) until one has one.
        let mut at = node;
        cur = loop {
            if let Some(next) = doc.next_sibling(at) {
                break Some(next);
            }
            if open.len() <= 1 {
                break None;
            }
            close(&mut nodes, &mut open);
            match doc.parent(at) {
                Some(p) => at = p,
                None => break None,
            }
        };
    }
    while !open.is_empty() {
        close(&mut nodes, &mut open);
    }
    nodes
}

/// Fills the subtree statistics of `range` bottom-up: in pre-order every descendant has a
/// larger index than its ancestors, so one reverse loop sees each child before its parent.
/// `drop` is asked about every element once its own statistics are complete; a dropped
/// element is flagged `F_REMOVED` and adds nothing to its ancestors. The range's first node
/// is never dropped.
pub(super) fn compute_stats(
    nodes: &mut [Node<'_>],
    range: std::ops::Range<usize>,
    mut drop: impl FnMut(&Node<'_>) -> bool,
) {
    let first = range.start;
    for n in &mut nodes[range.clone()] {
        if n.tag != Tag::Text {
            reset_stats(n);
        }
    }
    for i in range.rev() {
        let n = &mut nodes[i];
        match n.tag {
            Tag::A => (n.link_chars, n.own_link_chars) = (n.chars, n.own_chars),
            Tag::Item => n.list_chars = n.chars,
            Tag::Quote => n.quote_chars = n.chars,
            _ => {}
        }
        if is_prose(n) {
            n.para_chars += n.own_chars;
        }
        if i != first && n.tag != Tag::Text && drop(n) {
            n.flags |= F_REMOVED;
            continue;
        }
        let n = n.clone();
        let Some(p) = nodes.get_mut(n.parent as usize) else {
            continue;
        };
        p.chars += n.chars;
        p.link_chars += n.link_chars;
        p.list_chars += n.list_chars;
        p.quote_chars += n.quote_chars;
        p.para_chars += n.para_chars;
        p.commas += n.commas;
        p.p_count += n.p_count + u32::from(n.tag == Tag::P);
        p.li_count += n.li_count + u32::from(n.tag == Tag::Item);
        p.img_count += n.img_count + u32::from(n.tag == Tag::Img);
        p.link_count += n.link_count + u32::from(n.tag == Tag::A);
        if n.tag.is_block() {
            p.has_block_child = true;
        } else {
            p.own_chars += n.own_chars;
            p.own_link_chars += n.own_link_chars;
            p.own_commas += n.own_commas;
        }
    }
}

/// Own text that reads as a paragraph: long enough, in a text container, not mostly links.
pub(super) fn is_prose(n: &Node<'_>) -> bool {
    n.own_chars >= MIN_PARAGRAPH_CHARS
        && n.own_link_chars * 10 < n.own_chars * 3
        && matches!(
            n.tag,
            Tag::P
                | Tag::Pre
                | Tag::Cell
                | Tag::Div
                | Tag::Section
                | Tag::Article
                | Tag::Block
                | Tag::Quote
                | Tag::Item
                | Tag::H(2..=6)
        )
}

fn reset_stats(n: &mut Node<'_>) {
    n.chars = 0;
    n.link_chars = 0;
    n.list_chars = 0;
    n.quote_chars = 0;
    n.para_chars = 0;
    n.commas = 0;
    n.own_chars = 0;
    n.own_link_chars = 0;
    n.own_commas = 0;
    n.p_count = 0;
    n.li_count = 0;
    n.img_count = 0;
    n.link_count = 0;
    n.has_block_child = false;
}

/// Length of `s` with whitespace runs counted once, and its comma count (any script's comma).
pub(super) fn text_stats(s: &str) -> (u32, u32) {
    let (mut chars, mut commas, mut in_ws) = (0u32, 0u32, true);
    for c in s.chars() {
        if c.is_whitespace() {
            if !in_ws {
                chars += 1;
                in_ws = true;
            }
            continue;
        }
        in_ws = false;
        chars += 1;
        if matches!(
            c,
            ',' | '\u{060C}' | '\u{FE50}' | '\u{FE10}' | '\u{FE11}' | '\u{FF0C}' | '\u{3001}'
        ) {
            commas += 1;
        }
    }
    (chars, commas)
}

fn new_node<'a>(tag: Tag, text: &'a str, parent: u32, weight: i16, flags: u8) -> Node<'a> {
    Node {
        tag,
        text,
        class: "",
        parent,
        end: 0,
        weight,
        flags,
        chars: 0,
        link_chars: 0,
        list_chars: 0,
        quote_chars: 0,
        para_chars: 0,
        commas: 0,
        own_chars: 0,
        own_link_chars: 0,
        own_commas: 0,
        p_count: 0,
        li_count: 0,
        img_count: 0,
        link_count: 0,
        has_block_child: false,
        score: None,
    }
}

/// Pops the innermost open element and records where its subtree ends.
fn close(nodes: &mut [Node<'_>], open: &mut Vec<u32>) {
    if let Some(idx) = open.pop() {
        let end = nodes.len() as u32;
        if let Some(n) = nodes.get_mut(idx as usize) {
            n.end = end;
        }
    }
}
