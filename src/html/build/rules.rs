//! The token handlers of the tree builder (see the parent module doc).

use super::tokenize::Raw;
use super::{Builder, Sink, Walk, head_element, info, lower_into};
use crate::html::{Data, MAX_OPEN, NONE};

impl<'a> Sink<'a> for Builder {
    fn text(&mut self, raw: &'a str, decode: bool) {
        let top_is_frame = self.stack.last().is_none_or(|o| {
            let n = self.name_of(o);
            n == "html" || n == "head"
        });
        if self.body == NONE && top_is_frame {
            // Before the body, whitespace is dropped and anything else starts the body.
            if raw.bytes().all(|c| c.is_ascii_whitespace()) {
                return;
            }
            self.ensure_body();
        }
        let parent = self.current();
        let start = self.doc.buf.len();
        let bytes = raw.as_bytes();
        if decode && memchr::memchr(b'&', bytes).is_some() {
            crate::html::entities::decode_into(&mut self.doc.buf, raw, false);
        } else {
            self.doc.buf.push_str(raw);
        }
        if memchr::memchr2(b'\r', b'\0', bytes).is_some() {
            let fixed: String = self
                .doc
                .buf
                .get(start..)
                .unwrap_or_default()
                .replace("\r\n", "\n")
                .replace(['\r'], "\n")
                .replace('\0', "");
            self.doc.buf.truncate(start);
            self.doc.buf.push_str(&fixed);
        }
        let end = self.doc.buf.len() as u32;
        // Text right after text in the same parent extends it (one node, as in HTML5).
        let last = self.last_child_of(parent);
        if let Some(node) = self.doc.nodes.get_mut(last as usize)
            && let Data::Text(span) = &mut node.data
            && span.end as usize == start
        {
            span.end = end;
            return;
        }
        let span = crate::html::Span {
            start: start as u32,
            end,
        };
        self.append(parent, Data::Text(span));
    }

    fn start_tag(&mut self, raw: &'a str, attrs: &[(&'a str, &'a str)], closing: bool) -> Raw {
        lower_into(&mut self.name, raw);
        let markup = self.insert(attrs, closing);
        match self.name.as_str() {
            _ if markup => Raw::Markup,
            "style" => Raw::Skip,
            "script" if is_json_ld(attrs) => Raw::Keep,
            "script" if is_untyped_inline(attrs) => Raw::KeepIfJsonLd,
            "script" => Raw::Skip,
            _ => Raw::Keep,
        }
    }

    fn end_tag(&mut self, raw: &'a str) {
        lower_into(&mut self.name, raw);
        let name = std::mem::take(&mut self.name);
        self.close(&name);
        self.name = name;
    }
}

/// `<script type="application/ld+json">`: the one script whose content is read.
fn is_json_ld(attrs: &[(&str, &str)]) -> bool {
    attrs.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("type")
            && v.as_bytes()
                .windows(7)
                .any(|w| w.eq_ignore_ascii_case(b"ld+json"))
    })
}

/// An inline script without a `type` (or a JavaScript/JSON one): it may hold JSON-LD anyway.
fn is_untyped_inline(attrs: &[(&str, &str)]) -> bool {
    attrs.iter().all(|(k, v)| {
        !k.eq_ignore_ascii_case("src")
            && (!k.eq_ignore_ascii_case("type")
                || v.eq_ignore_ascii_case("text/javascript")
                || v.eq_ignore_ascii_case("application/json"))
    })
}

impl Builder {
    /// Inserts the element for a start tag; returns whether its content is markup even if
    /// the tag names a raw-text element (inside `svg`/`math`).
    fn insert(&mut self, attrs: &[(&str, &str)], self_closing: bool) -> bool {
        match self.name.as_str() {
            "html" => {
                self.open_html(attrs);
                return false;
            }
            "head" => {
                self.ensure_html();
                if self.head == NONE && self.body == NONE {
                    let (node, name) = self.element(self.html, attrs);
                    self.head = node;
                    self.push(node, name, false);
                }
                return false;
            }
            "body" | "frameset" => {
                self.open_body(attrs);
                return false;
            }
            _ => {}
        }
        self.ensure_html();
        if self.body == NONE {
            if head_element(&self.name) {
                return self.insert_in_head(attrs);
            }
            self.ensure_body();
        }
        self.insert_in_body(attrs, self_closing)
    }

    /// A `meta`, `title`, `script`… before the body: into `head` (created if missing).
    fn insert_in_head(&mut self, attrs: &[(&str, &str)]) -> bool {
        if self.head == NONE {
            let saved = std::mem::replace(&mut self.name, "head".to_owned());
            let (node, name) = self.element(self.html, attrs.get(..0).unwrap_or_default());
            self.head = node;
            self.push(node, name, false);
            self.name = saved;
        }
        let parent = match self.stack.last() {
            Some(o) if self.name_of(o) != "html" => o.node,
            _ => self.head,
        };
        let (node, name) = self.element(parent, attrs);
        if !info(&self.name).void {
            self.push(node, name, false);
        }
        false
    }

    fn insert_in_body(&mut self, attrs: &[(&str, &str)], self_closing: bool) -> bool {
        let tag = info(&self.name);
        if tag.closes_p {
            self.close_p();
        }
        self.implied_closes();
        let foreign = self.stack.last().is_some_and(|o| o.foreign)
            || matches!(self.name.as_str(), "svg" | "math");
        let parent = self.current();
        let (node, name) = self.element(parent, attrs);
        let leaf = tag.void || self_closing_foreign(self_closing, foreign);
        if !leaf && self.stack.len() < MAX_OPEN {
            self.push_with(node, name, foreign, tag);
        }
        foreign
    }

    /// Start-tag rules that close an open sibling: `li`, `dd`/`dt`, cells, rows, headings,
    /// options, nested links and buttons.
    fn implied_closes(&mut self) {
        let name = std::mem::take(&mut self.name);
        match name.as_str() {
            "li" => self.close_item(&["li"]),
            "dd" | "dt" => self.close_item(&["dd", "dt"]),
            h if is_heading(h) && self.top_is(is_heading) => self.pop(),
            "td" | "th" => self.close_in_table(&["td", "th"]),
            "tr" => self.close_in_table(&["tr"]),
            "tbody" | "thead" | "tfoot" => self.close_in_table(&["tbody", "thead", "tfoot"]),
            "a" | "button" | "nobr" => {
                if let Some(i) = self.in_scope(&name, &[]) {
                    self.pop_to(i);
                }
            }
            "option" | "optgroup" => {
                while self.stack.last().is_some_and(|o| {
                    let n = self.name_of(o);
                    n == "option" || (name == "optgroup" && n == "optgroup")
                }) {
                    self.pop();
                }
            }
            _ => {}
        }
        self.name = name;
    }

    /// `li` closes the open `li` unless a block other than `address`/`div`/`p` is in between.
    fn close_item(&mut self, names: &[&str]) {
        if names.iter().all(|n| !self.maybe_open(n)) {
            return;
        }
        let at = self.find_open(|n, o| {
            if names.contains(&n) {
                Walk::Found
            } else if o.info.special && !matches!(n, "address" | "div" | "p") {
                Walk::Stop
            } else {
                Walk::On
            }
        });
        if let Some(i) = at {
            self.pop_to(i);
        }
    }

    /// Closes the innermost open element among `names` inside the current table.
    fn close_in_table(&mut self, names: &[&str]) {
        let at = self.find_open(|n, _| {
            if names.contains(&n) {
                Walk::Found
            } else if matches!(n, "table" | "html" | "template") {
                Walk::Stop
            } else {
                Walk::On
            }
        });
        if let Some(i) = at {
            self.pop_to(i);
        }
    }

    /// An end tag.
    fn close(&mut self, name: &str) {
        match name {
            // The body and document stay open: content after `</body>` still belongs to it.
            "body" | "html" => {}
            "head" => {
                let head = self.head;
                let at = self.find_open(|_, o| {
                    if o.node == head {
                        Walk::Found
                    } else {
                        Walk::On
                    }
                });
                if let Some(i) = at {
                    self.pop_to(i);
                }
            }
            "br" => {
                self.name = "br".to_owned();
                self.insert_in_body(&[], false);
            }
            "p" => self.close_p(),
            "li" => {
                if let Some(i) = self.in_scope("li", &["ul", "ol"]) {
                    self.pop_to(i);
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let at = self.find_open(|n, o| {
                    if is_heading(n) {
                        Walk::Found
                    } else if o.info.boundary {
                        Walk::Stop
                    } else {
                        Walk::On
                    }
                });
                if let Some(i) = at {
                    self.pop_to(i);
                }
            }
            "table" | "tbody" | "thead" | "tfoot" | "tr" | "td" | "th" | "caption" => {
                self.close_in_table(&[name]);
            }
            _ if info(name).special => {
                if let Some(i) = self.in_scope(name, &[]) {
                    self.pop_to(i);
                }
            }
            _ => self.close_other(name),
        }
    }

    /// Any other end tag: closes the innermost open element of that name unless a special
    /// element (a block, a cell…) is open inside it, in which case it is ignored.
    fn close_other(&mut self, name: &str) {
        let at = self.find_open(|n, o| {
            if n == name {
                Walk::Found
            } else if o.info.special && !o.foreign {
                Walk::Stop
            } else {
                Walk::On
            }
        });
        if let Some(i) = at {
            self.pop_to(i);
        }
    }
}

impl Builder {
    /// Whether the current node's name satisfies `test`.
    fn top_is(&self, test: fn(&str) -> bool) -> bool {
        self.stack.last().is_some_and(|o| test(self.name_of(o)))
    }
}

fn is_heading(n: &str) -> bool {
    matches!(n, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// `/>` closes an element only in foreign content (SVG, MathML).
fn self_closing_foreign(self_closing: bool, foreign: bool) -> bool {
    self_closing && foreign
}
