//! Turning the cleaned container into typed text blocks.
//!
//! One linear pass over the chosen arena ranges with an explicit stack of open elements (no
//! recursion). Inline content accumulates into a buffer with whitespace folded; block
//! boundaries flush it. The block kind comes from the enclosing context: list items are
//! collected and emitted as one `List` block, text under `h2`–`h6` is a `Heading`, text under
//! `blockquote` is a `Quote`. A single `<br>` becomes a line break inside the block, two in a
//! row end the paragraph; table cells are separated by spaces and rows end a block.

use super::dom::{Node, Tag};
use crate::model::BlockKind;

/// A block with the statistics the precision pass needs.
#[derive(Debug, Clone)]
pub(super) struct RawBlock {
    pub kind: BlockKind,
    pub text: String,
    /// Characters of `text` (not bytes), and how many of them were link text.
    pub chars: u32,
    pub link_chars: u32,
}

impl RawBlock {
    /// Share of the block's text that was link text.
    pub(super) fn link_density(&self) -> f32 {
        self.link_chars as f32 / self.chars.max(1) as f32
    }
}

/// Mutable state of one emission pass.
#[derive(Default)]
struct Emitter {
    blocks: Vec<RawBlock>,
    buf: String,
    chars: u32,
    link_chars: u32,
    pending_space: bool,
    links: u32,
    headings: u32,
    quotes: u32,
    lists: u32,
    items: Vec<String>,
    item_chars: u32,
    item_links: u32,
}

/// Blocks of the given arena subtrees, in document order, skipping removed elements.
pub(super) fn emit(nodes: &[Node<'_>], roots: &[u32]) -> Vec<RawBlock> {
    let mut em = Emitter::default();
    for &root in roots {
        let end = nodes[root as usize].end as usize;
        let mut open: Vec<(u32, Tag)> = Vec::new();
        let mut i = root as usize;
        while i < end {
            while let Some(&(e, tag)) = open.last() {
                if e as usize > i {
                    break;
                }
                open.pop();
                em.close(tag);
            }
            let n = &nodes[i];
            if n.is_removed() {
                i = n.end as usize;
                continue;
            }
            if n.tag == Tag::Text {
                em.text(n.text);
            } else {
                em.open(n.tag);
                open.push((n.end, n.tag));
            }
            i += 1;
        }
        while let Some((_, tag)) = open.pop() {
            em.close(tag);
        }
        em.flush();
    }
    em.blocks
}

impl Emitter {
    fn open(&mut self, tag: Tag) {
        match tag {
            Tag::A => self.links += 1,
            Tag::Br => self.line_break(),
            Tag::Cell | Tag::Img => self.pending_space = true,
            Tag::List => {
                if self.lists == 0 {
                    self.flush();
                }
                self.lists += 1;
            }
            Tag::H(_) => {
                self.flush();
                self.headings += 1;
            }
            Tag::Quote => {
                self.flush();
                self.quotes += 1;
            }
            t if t.is_block() => self.flush(),
            _ => {}
        }
    }

    fn close(&mut self, tag: Tag) {
        match tag {
            Tag::A => self.links = self.links.saturating_sub(1),
            Tag::Cell | Tag::Br | Tag::Img => self.pending_space = true,
            Tag::List => {
                self.flush();
                self.lists = self.lists.saturating_sub(1);
                if self.lists == 0 && !self.items.is_empty() {
                    let text = self.items.join("\n");
                    self.blocks.push(RawBlock {
                        kind: BlockKind::List,
                        text,
                        chars: self.item_chars,
                        link_chars: self.item_links,
                    });
                    self.items.clear();
                    (self.item_chars, self.item_links) = (0, 0);
                }
            }
            Tag::H(_) => {
                self.flush();
                self.headings = self.headings.saturating_sub(1);
            }
            Tag::Quote => {
                self.flush();
                self.quotes = self.quotes.saturating_sub(1);
            }
            t if t.is_block() => self.flush(),
            _ => {}
        }
    }

    /// Appends text with whitespace runs folded into one space and soft hyphens removed.
    fn text(&mut self, s: &str) {
        // Soft hyphens (U+00AD) are hyphenation hints, invisible unless a line breaks there.
        for c in s.chars().filter(|&c| c != '\u{AD}') {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            if self.pending_space && !self.buf.is_empty() && !self.buf.ends_with('\n') {
                self.push(' ');
            }
            self.pending_space = false;
            self.push(c);
        }
    }

    fn push(&mut self, c: char) {
        self.buf.push(c);
        self.chars += 1;
        if self.links > 0 {
            self.link_chars += 1;
        }
    }

    /// One `<br>` breaks the line; a second one in a row (nothing between) ends the block.
    fn line_break(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if self.buf.ends_with('\n') {
            self.flush();
        } else {
            self.buf.push('\n');
            self.pending_space = false;
        }
    }

    /// Ends the current block: a list item inside a list, otherwise a block of the context kind.
    fn flush(&mut self) {
        let text = self.buf.trim();
        if !text.is_empty() {
            if self.lists > 0 {
                self.items.push(text.to_owned());
                self.item_chars += self.chars;
                self.item_links += self.link_chars;
            } else {
                let kind = if self.headings > 0 {
                    BlockKind::Heading
                } else if self.quotes > 0 {
                    BlockKind::Quote
                } else {
                    BlockKind::Paragraph
                };
                self.blocks.push(RawBlock {
                    kind,
                    text: text.to_owned(),
                    chars: self.chars,
                    link_chars: self.link_chars,
                });
            }
        }
        self.buf.clear();
        (self.chars, self.link_chars) = (0, 0);
        self.pending_space = false;
    }
}
