//! Tree construction: the HTML5 rules that decide *where content goes*, over a stack of open
//! elements. Kept: `html`/`head`/`body` inference, implied end tags (`p` closed by a block,
//! `li` by the next `li`, cells and rows by the next cell or row, `option`s, headings), void
//! and self-closing foreign elements, scope checks for end tags. Simplified: an end tag that
//! would cross a block boundary (`</b>` after an unclosed `<p>`) is ignored instead of running
//! the adoption agency, so text stays where it was written.

use super::tokenize::{self, Sink};
use super::{Attr, Data, Document, NONE, Node, Span};
use tags::{Info, head_element, info};

/// Longest walk down the open-element stack for one token. Real pages nest a few dozen
/// elements; the bound keeps hostile input (thousands of unmatched end tags under deep inline
/// nesting) linear. An element deeper than this below the current node is treated as not
/// open, which only changes where pathological pages close.
const MAX_WALK: usize = 64;

/// Most attributes kept on one element.
const MAX_ATTRS: usize = 64;

/// What [`Builder::find_open`] does at one open element.
pub(super) enum Walk {
    Found,
    Stop,
    On,
}

/// One open element.
#[derive(Clone, Copy)]
pub(super) struct Open {
    node: u32,
    name: Span,
    info: Info,
    /// Inside `svg` or `math`: `/>` closes, raw-text rules do not apply.
    foreign: bool,
}

pub(super) struct Builder {
    doc: Document,
    stack: Vec<Open>,
    html: u32,
    head: u32,
    body: u32,
    /// Lower-cased tag name of the token being handled.
    name: String,
    /// How many `p`, `a`, `li` elements are open: most start tags look for one of these, and
    /// a zero count skips the stack walk (which hostile nesting would make long).
    counts: [u32; 3],
}

/// Index into [`Builder::counts`].
fn counted(name: &str) -> Option<usize> {
    match name {
        "p" => Some(0),
        "a" => Some(1),
        "li" => Some(2),
        _ => None,
    }
}

impl Builder {
    pub(super) fn new(capacity: usize) -> Self {
        Builder {
            doc: Document::empty(capacity),
            stack: Vec::with_capacity(64),
            html: NONE,
            head: NONE,
            body: NONE,
            name: String::new(),
            counts: [0; 3],
        }
    }

    pub(super) fn run(mut self, html: &str) -> Document {
        tokenize::run(html, &mut self);
        self.doc
    }

    fn name_of(&self, o: &Open) -> &str {
        self.doc.str(o.name)
    }

    /// The last child of `parent` (`NONE` when it has none).
    fn last_child_of(&self, parent: u32) -> u32 {
        self.doc
            .nodes
            .get(parent as usize)
            .map_or(NONE, |p| p.last_child)
    }

    /// Appends a node under `parent`.
    fn append(&mut self, parent: u32, data: Data) -> u32 {
        let idx = self.doc.nodes.len() as u32;
        let prev = self.last_child_of(parent);
        self.doc.nodes.push(Node {
            parent,
            first_child: NONE,
            last_child: NONE,
            prev_sibling: prev,
            next_sibling: NONE,
            data,
        });
        if let Some(p) = self.doc.nodes.get_mut(prev as usize) {
            p.next_sibling = idx;
        }
        if let Some(p) = self.doc.nodes.get_mut(parent as usize) {
            if p.first_child == NONE {
                p.first_child = idx;
            }
            p.last_child = idx;
        }
        idx
    }

    /// Creates an element named `self.name` under `parent`, copying its attributes.
    fn element(&mut self, parent: u32, attrs: &[(&str, &str)]) -> (u32, Span) {
        let name = push_str(&mut self.doc.buf, &self.name);
        let first = self.doc.attrs.len() as u32;
        // Attributes past the cap are dropped: the duplicate check is quadratic in the count,
        // and no page needs more than a few dozen on one element.
        for (k, v) in attrs.iter().take(MAX_ATTRS) {
            let start = self.doc.buf.len() as u32;
            push_lower(&mut self.doc.buf, k);
            let key = Span {
                start,
                end: self.doc.buf.len() as u32,
            };
            let new_key = self.doc.str(key);
            let dup = self
                .doc
                .attrs
                .get(first as usize..)
                .unwrap_or_default()
                .iter()
                .any(|a| self.doc.str(a.name) == new_key);
            if dup {
                self.doc.buf.truncate(start as usize);
                continue;
            }
            let vstart = self.doc.buf.len() as u32;
            super::entities::decode_into(&mut self.doc.buf, v, true);
            let value = Span {
                start: vstart,
                end: self.doc.buf.len() as u32,
            };
            self.doc.attrs.push(Attr { name: key, value });
        }
        let attrs = (first, self.doc.attrs.len() as u32);
        (self.append(parent, Data::Element { name, attrs }), name)
    }

    fn current(&self) -> u32 {
        self.stack.last().map_or(0, |o| o.node)
    }

    fn push(&mut self, node: u32, name: Span, foreign: bool) {
        self.push_with(node, name, foreign, info(&self.name));
    }

    /// [`Builder::push`] with the tag's [`Info`] already looked up.
    fn push_with(&mut self, node: u32, name: Span, foreign: bool, info: Info) {
        if let Some(c) = counted(&self.name).and_then(|i| self.counts.get_mut(i)) {
            *c += 1;
        }
        self.stack.push(Open {
            node,
            name,
            info,
            foreign,
        });
    }

    /// Pops open elements down to and including stack index `i`.
    fn pop_to(&mut self, i: usize) {
        while self.stack.len() > i {
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some(o) = self.stack.pop() {
            let name = self.doc.str(o.name);
            if let Some(c) = counted(name).and_then(|i| self.counts.get_mut(i)) {
                *c = c.saturating_sub(1);
            }
        }
    }

    /// Whether an element counted in [`Builder::counts`] may be open.
    fn maybe_open(&self, name: &str) -> bool {
        counted(name)
            .and_then(|i| self.counts.get(i))
            .is_none_or(|c| *c > 0)
    }

    /// Index of the innermost open element named `name` before a scope boundary (`extra`
    /// names also bound the scope, e.g. `button` or `ul`/`ol`).
    fn in_scope(&self, name: &str, extra: &[&str]) -> Option<usize> {
        if !self.maybe_open(name) {
            return None;
        }
        self.find_open(|n, o| {
            if n == name {
                Walk::Found
            } else if o.info.boundary || extra.contains(&n) {
                Walk::Stop
            } else {
                Walk::On
            }
        })
    }

    /// Stack index of the innermost open element `test` finds, looking at most
    /// [`MAX_WALK`] elements down from the current node.
    pub(super) fn find_open(&self, test: impl Fn(&str, &Open) -> Walk) -> Option<usize> {
        let from = self.stack.len().saturating_sub(MAX_WALK);
        for i in (from..self.stack.len()).rev() {
            let o = self.stack.get(i)?;
            match test(self.name_of(o), o) {
                Walk::Found => return Some(i),
                Walk::Stop => return None,
                Walk::On => {}
            }
        }
        None
    }

    fn close_p(&mut self) {
        if let Some(i) = self.in_scope("p", &["button"]) {
            self.pop_to(i);
        }
    }

    fn ensure_html(&mut self) {
        self.open_html(&[]);
    }

    /// Creates the `html` element (with `attrs`, when its start tag is the first) if missing.
    pub(super) fn open_html(&mut self, attrs: &[(&str, &str)]) {
        if self.html == NONE {
            let saved = std::mem::replace(&mut self.name, "html".to_owned());
            let (node, name) = self.element(0, attrs);
            self.html = node;
            self.push(node, name, false);
            self.name = saved;
        }
    }

    /// Leaves `head` and opens `body` if the body has not started.
    fn ensure_body(&mut self) {
        self.open_body(&[]);
    }

    /// Leaves `head` and opens `body` (with `attrs`) if the body has not started.
    pub(super) fn open_body(&mut self, attrs: &[(&str, &str)]) {
        self.ensure_html();
        if self.body != NONE {
            return;
        }
        if let Some(i) = self.stack.iter().position(|o| o.node == self.head) {
            self.pop_to(i);
        }
        let saved = std::mem::replace(&mut self.name, "body".to_owned());
        let (node, name) = self.element(self.html, attrs);
        self.body = node;
        self.push(node, name, false);
        self.name = saved;
    }
}

fn push_str(buf: &mut String, s: &str) -> Span {
    let start = buf.len() as u32;
    buf.push_str(s);
    Span {
        start,
        end: buf.len() as u32,
    }
}

/// Appends `raw` with ASCII letters lower-cased. Tag and attribute names are almost always
/// written in lower case: those are copied whole instead of a character at a time.
fn push_lower(out: &mut String, raw: &str) {
    if raw.bytes().any(|b| b.is_ascii_uppercase()) {
        out.extend(raw.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.push_str(raw);
    }
}

fn lower_into(out: &mut String, raw: &str) {
    out.clear();
    push_lower(out, raw);
    if out == "image" {
        out.clear();
        out.push_str("img");
    }
}

mod rules;
mod tags;
