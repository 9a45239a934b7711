//! A fast, lenient HTML parser into a flat arena, built for text extraction.
//!
//! Why not html5ever: a spec-exact tree costs 2–4 ms per news page here (tokenizer state
//! machine fed char by char, interned names, one allocation per node and attribute), most of
//! the normalizer's budget. Extraction needs the element nesting, names, a few attributes and
//! the text, not every corner of the HTML5 algorithm. This parser
//! - scans with `memchr` and copies text and attribute values once, entity-decoded, into one
//!   string buffer that nodes index into;
//! - follows the HTML5 rules that shape *content*: implied `</p>`, `</li>`, `</td>`…, void
//!   elements, raw-text elements (`script`, `style`, `title`, `textarea`, …), `head`/`body`
//!   inference, end tags that do not match (ignored at block boundaries instead of
//!   re-parenting text), character references with the full named-entity table;
//! - leaves out what does not change the text: the adoption agency's formatting-element
//!   cloning, foster parenting of stray table text, `template` fragments, quirks modes.
//!
//! Work is linear in the input: the open-element stack is capped (see [`MAX_OPEN`]), so every
//! tag costs at most a bounded stack walk.

mod build;
mod entities;
pub mod select;
mod tokenize;

pub use select::Selector;

/// `raw` with HTML character references decoded (`&quot;` → `"`, `&#8216;` → `‘`), for text
/// that reached us still escaped (JSON-LD strings written by HTML templates).
pub fn decode_entities(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    entities::decode_into(&mut out, raw, false);
    out
}

/// Deepest element nesting kept; deeper elements are still inserted but do not nest.
pub const MAX_OPEN: usize = 1_024;

/// Index of a node in its [`Document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(u32);

impl NodeId {
    /// The document node, parent of the `html` element.
    pub const ROOT: NodeId = NodeId(0);
}

/// A byte range into [`Document::buf`].
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    end: u32,
}

/// One attribute: lower-case name and decoded value.
#[derive(Debug, Clone, Copy)]
struct Attr {
    name: Span,
    value: Span,
}

/// What a node is.
#[derive(Debug, Clone, Copy)]
enum Data {
    Document,
    /// Lower-case tag name and the range of its attributes in [`Document::attrs`].
    Element {
        name: Span,
        attrs: (u32, u32),
    },
    Text(Span),
}

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    parent: u32,
    first_child: u32,
    last_child: u32,
    prev_sibling: u32,
    next_sibling: u32,
    data: Data,
}

/// A parsed page: nodes, attributes, and one buffer holding every name, value and text.
#[derive(Debug, Clone)]
pub struct Document {
    nodes: Vec<Node>,
    attrs: Vec<Attr>,
    buf: String,
}

/// A node seen from outside: an element or a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind<'a> {
    /// The document itself.
    Document,
    /// An element with its lower-case tag name.
    Element(&'a str),
    /// A text node (entity-decoded).
    Text(&'a str),
}

fn id(raw: u32) -> Option<NodeId> {
    (raw != NONE).then_some(NodeId(raw))
}

impl Document {
    /// Parses `html` (already decoded to UTF-8).
    pub fn parse(html: &str) -> Self {
        build::Builder::new(html.len()).run(html)
    }

    fn empty(capacity: usize) -> Self {
        let mut doc = Document {
            nodes: Vec::with_capacity(capacity / 40 + 16),
            attrs: Vec::with_capacity(capacity / 60 + 16),
            buf: String::with_capacity(capacity / 2 + 64),
        };
        doc.nodes.push(Node {
            parent: NONE,
            first_child: NONE,
            last_child: NONE,
            prev_sibling: NONE,
            next_sibling: NONE,
            data: Data::Document,
        });
        doc
    }

    fn str(&self, s: Span) -> &str {
        self.buf
            .get(s.start as usize..s.end as usize)
            .unwrap_or_default()
    }

    fn node(&self, n: NodeId) -> Option<&Node> {
        self.nodes.get(n.0 as usize)
    }

    /// Number of nodes (including the document node).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the document has no node besides the document node.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// What `n` is.
    pub fn kind(&self, n: NodeId) -> NodeKind<'_> {
        match self.node(n).map(|x| x.data) {
            Some(Data::Element { name, .. }) => NodeKind::Element(self.str(name)),
            Some(Data::Text(t)) => NodeKind::Text(self.str(t)),
            _ => NodeKind::Document,
        }
    }

    /// The tag name of an element, `None` for text and the document.
    pub fn name(&self, n: NodeId) -> Option<&str> {
        match self.kind(n) {
            NodeKind::Element(name) => Some(name),
            _ => None,
        }
    }

    /// The value of attribute `name` (lower-case) on element `n`.
    pub fn attr(&self, n: NodeId, name: &str) -> Option<&str> {
        self.attrs_of(n).find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Every attribute of element `n`, in source order (first of duplicates only).
    pub fn attrs_of(&self, n: NodeId) -> impl Iterator<Item = (&str, &str)> + '_ {
        let (a, b) = match self.node(n).map(|x| x.data) {
            Some(Data::Element { attrs, .. }) => attrs,
            _ => (0, 0),
        };
        self.attrs
            .get(a as usize..b as usize)
            .unwrap_or_default()
            .iter()
            .map(|at| (self.str(at.name), self.str(at.value)))
    }

    /// Element `n` with its name and attributes at hand, `None` for text and the document.
    pub fn element(&self, n: NodeId) -> Option<Element<'_>> {
        match self.node(n)?.data {
            Data::Element { name, attrs } => Some(Element {
                id: n,
                name: self.str(name),
                attrs: self.attrs.get(attrs.0 as usize..attrs.1 as usize)?,
                doc: self,
            }),
            _ => None,
        }
    }

    /// Parent of `n`.
    pub fn parent(&self, n: NodeId) -> Option<NodeId> {
        self.node(n).and_then(|x| id(x.parent))
    }

    /// First child of `n`.
    pub fn first_child(&self, n: NodeId) -> Option<NodeId> {
        self.node(n).and_then(|x| id(x.first_child))
    }

    /// Last child of `n`.
    pub fn last_child(&self, n: NodeId) -> Option<NodeId> {
        self.node(n).and_then(|x| id(x.last_child))
    }

    /// Next sibling of `n`.
    pub fn next_sibling(&self, n: NodeId) -> Option<NodeId> {
        self.node(n).and_then(|x| id(x.next_sibling))
    }

    /// Previous sibling of `n`.
    pub fn prev_sibling(&self, n: NodeId) -> Option<NodeId> {
        self.node(n).and_then(|x| id(x.prev_sibling))
    }

    /// Children of `n`, in order.
    pub fn children(&self, n: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.first_child(n), move |c| self.next_sibling(*c))
    }

    /// Ancestors of `n`, nearest first (the document node last).
    pub fn ancestors(&self, n: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.parent(n), move |p| self.parent(*p))
    }

    /// `n` and every node below it, in document order (iterative: no recursion).
    pub fn descendants(&self, n: NodeId) -> Descendants<'_> {
        Descendants {
            doc: self,
            root: n,
            next: Some(n),
        }
    }

    /// The texts below `n`, in document order.
    pub fn texts(&self, n: NodeId) -> impl Iterator<Item = &str> + '_ {
        self.descendants(n).filter_map(|d| match self.kind(d) {
            NodeKind::Text(t) => Some(t),
            _ => None,
        })
    }

    /// All text below `n`, concatenated.
    pub fn text(&self, n: NodeId) -> String {
        self.texts(n).collect()
    }

    /// The `html` element (the document node when the page has none).
    pub fn root_element(&self) -> NodeId {
        self.children(NodeId::ROOT)
            .find(|c| self.name(*c).is_some())
            .unwrap_or(NodeId::ROOT)
    }

    /// Removes `n` (and its subtree) from the tree; its id stays valid but unreachable.
    pub fn detach(&mut self, n: NodeId) {
        let Some(&node) = self.node(n) else { return };
        if node.parent == NONE {
            return;
        }
        match self.nodes.get_mut(node.prev_sibling as usize) {
            Some(prev) => prev.next_sibling = node.next_sibling,
            None => {
                if let Some(p) = self.nodes.get_mut(node.parent as usize) {
                    p.first_child = node.next_sibling;
                }
            }
        }
        match self.nodes.get_mut(node.next_sibling as usize) {
            Some(next) => next.prev_sibling = node.prev_sibling,
            None => {
                if let Some(p) = self.nodes.get_mut(node.parent as usize) {
                    p.last_child = node.prev_sibling;
                }
            }
        }
        if let Some(x) = self.nodes.get_mut(n.0 as usize) {
            (x.parent, x.prev_sibling, x.next_sibling) = (NONE, NONE, NONE);
        }
    }

    /// Elements matching `sel`, in document order.
    pub fn select<'a>(&'a self, sel: &'a Selector) -> impl Iterator<Item = NodeId> + 'a {
        self.descendants(NodeId::ROOT)
            .filter(move |n| self.name(*n).is_some() && sel.matches(self, *n))
    }
}

/// An element of a [`Document`]: a cheap, copyable view.
#[derive(Debug, Clone, Copy)]
pub struct Element<'a> {
    doc: &'a Document,
    id: NodeId,
    name: &'a str,
    attrs: &'a [Attr],
}

impl<'a> Element<'a> {
    /// The node this element is.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Lower-case tag name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The value of attribute `key` (lower-case).
    pub fn attr(&self, key: &str) -> Option<&'a str> {
        let doc = self.doc;
        self.attrs
            .iter()
            .find(|a| doc.str(a.name) == key)
            .map(|a| doc.str(a.value))
    }

    /// Every attribute (lower-case name, decoded value), in source order, first of duplicates
    /// only: for readers that want several attributes, in one pass.
    pub fn attrs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let doc = self.doc;
        self.attrs
            .iter()
            .map(move |a| (doc.str(a.name), doc.str(a.value)))
    }

    /// Whether the element has child nodes.
    pub fn has_children(&self) -> bool {
        self.doc.first_child(self.id).is_some()
    }
}

/// Pre-order walk below a node; see [`Document::descendants`].
pub struct Descendants<'a> {
    doc: &'a Document,
    root: NodeId,
    next: Option<NodeId>,
}

impl Iterator for Descendants<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        let cur = self.next?;
        self.next = self.doc.first_child(cur).or_else(|| {
            let mut at = cur;
            loop {
                if at == self.root {
                    return None;
                }
                if let Some(s) = self.doc.next_sibling(at) {
                    return Some(s);
                }
                at = self.doc.parent(at)?;
            }
        });
        Some(cur)
    }
}

#[cfg(test)]
mod tests;
