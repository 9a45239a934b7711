//! CSS selectors over a [`Document`], for per-source rules (`[sources.selectors]`).
//!
//! Parsing reuses `scraper`'s selector grammar (the `selectors` crate with scraper's
//! `Simple` implementation), so a selector that `newsmill check` accepts is one this module
//! matches; matching runs on our own arena through the `selectors::Element` trait.

use cssparser::{BasicParseErrorKind, ParseErrorKind};
use scraper::selector::{CssLocalName, CssString, Parser, Simple};
use selectors::attr::{AttrSelectorOperation, CaseSensitivity, NamespaceConstraint};
use selectors::bloom::BloomFilter;
use selectors::matching::{self, ElementSelectorFlags, MatchingContext};
use selectors::parser::{ParseRelative, SelectorParseErrorKind};
use selectors::{OpaqueElement, SelectorList};

use super::{Document, NodeId, NodeKind};

/// A parsed selector group ("h1.title, .headline").
#[derive(Debug, Clone)]
pub struct Selector {
    list: SelectorList<Simple>,
}

impl Selector {
    /// Parses a selector group; the error says what is wrong with it, in words, and where
    /// parsing stopped (1-based character column).
    pub fn parse(css: &str) -> Result<Self, String> {
        let mut input = cssparser::Parser::new(css);
        SelectorList::parse(&Parser, &mut input, ParseRelative::No)
            .map(|list| Selector { list })
            .map_err(|e| {
                let column = input.current_source_location().column;
                format!("{} (at column {column})", describe(&e.kind))
            })
    }

    /// Whether element `n` of `doc` matches.
    pub fn matches(&self, doc: &Document, n: NodeId) -> bool {
        let mut caches = matching::SelectorCaches::default();
        let mut ctx = MatchingContext::new(
            matching::MatchingMode::Normal,
            None,
            &mut caches,
            matching::QuirksMode::NoQuirks,
            matching::NeedsSelectorFlags::No,
            matching::MatchingForInvalidation::No,
        );
        let el = El { doc, n };
        matching::matches_selector_list(&self.list, &el, &mut ctx)
    }
}

/// What is wrong with a selector, in words. `scraper`'s own messages cover only a few cases
/// and print "Unexpected error occurred. Please report this to the developer" for the rest.
fn describe(kind: &ParseErrorKind<SelectorParseErrorKind>) -> &'static str {
    use SelectorParseErrorKind as S;
    match kind {
        ParseErrorKind::Basic(BasicParseErrorKind::EndOfInput) => {
            "the selector ends too early (an unclosed bracket, parenthesis or quote, or nothing after a combinator)"
        }
        ParseErrorKind::Basic(BasicParseErrorKind::UnexpectedToken) => {
            "unexpected character or token"
        }
        ParseErrorKind::Basic(BasicParseErrorKind::TooManyNestedBlocks) => "nested too deeply",
        ParseErrorKind::Basic(_) => "an at-rule or rule body is not a selector",
        ParseErrorKind::Custom(custom) => match custom {
            S::NoQualifiedNameInAttributeSelector | S::InvalidQualNameInAttr => {
                "an attribute selector needs an attribute name, as in [data-id] or [class~=\"x\"]"
            }
            S::EmptySelector => {
                "empty selector, or one that starts with neither a tag, a class, an id, an attribute nor a pseudo-class (a stray comma or dot?)"
            }
            S::DanglingCombinator => "a combinator (>, +, ~) with nothing after it",
            S::NonCompoundSelector => "only a compound selector (no combinators) is allowed here",
            S::NonPseudoElementAfterSlotted | S::InvalidPseudoElementAfterSlotted => {
                "invalid pseudo-element after ::slotted()"
            }
            S::InvalidPseudoElementInsideWhere => {
                "pseudo-elements are not allowed inside :where()/:is()"
            }
            S::InvalidState => "a pseudo-class or pseudo-element is not allowed in this position",
            S::UnexpectedTokenInAttributeSelector | S::BadValueInAttr => {
                "bad attribute selector: write [name], [name=value] or [name=\"value\"] with an operator among = ~= |= ^= $= *="
            }
            S::PseudoElementExpectedColon => "a pseudo-element needs two colons (::before)",
            S::PseudoElementExpectedIdent | S::NoIdentForPseudo => {
                "a pseudo-class or pseudo-element name is missing after : or ::"
            }
            S::UnsupportedPseudoClassOrElement => "unsupported pseudo-class or pseudo-element",
            S::UnexpectedIdent => "unexpected name",
            S::ExpectedNamespace | S::ExpectedBarInAttr | S::ExplicitNamespaceUnexpectedToken => {
                "namespace prefixes (ns|name) are not supported"
            }
            S::ClassNeedsIdent => "a class selector needs a name after the dot (.name)",
        },
    }
}

/// An element of a document, as the `selectors` crate sees it.
#[derive(Clone, Copy)]
struct El<'a> {
    doc: &'a Document,
    n: NodeId,
}

impl std::fmt::Debug for El<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.doc.name(self.n).unwrap_or_default())
    }
}

impl<'a> El<'a> {
    fn wrap(doc: &'a Document, n: Option<NodeId>) -> Option<Self> {
        n.filter(|n| doc.name(*n).is_some()).map(|n| El { doc, n })
    }

    /// The first element among `n` and the siblings `step` leads to.
    fn element_from(
        &self,
        mut n: Option<NodeId>,
        step: fn(&Document, NodeId) -> Option<NodeId>,
    ) -> Option<Self> {
        while let Some(x) = n {
            if self.doc.name(x).is_some() {
                return Some(El {
                    doc: self.doc,
                    n: x,
                });
            }
            n = step(self.doc, x);
        }
        None
    }

    fn name(&self) -> &'a str {
        self.doc.name(self.n).unwrap_or_default()
    }

    fn attr(&self, key: &str) -> Option<&'a str> {
        self.doc.attr(self.n, key)
    }
}

fn eq(a: &str, b: &str, case: CaseSensitivity) -> bool {
    match case {
        CaseSensitivity::CaseSensitive => a == b,
        CaseSensitivity::AsciiCaseInsensitive => a.eq_ignore_ascii_case(b),
    }
}

impl selectors::Element for El<'_> {
    type Impl = Simple;

    fn opaque(&self) -> OpaqueElement {
        // Node ids are unique within the document; the address of the node record is a
        // stable identity for the duration of a match.
        static DETACHED: u8 = 0;
        self.doc
            .nodes
            .get(self.n.0 as usize)
            .map_or_else(|| OpaqueElement::new(&DETACHED), OpaqueElement::new)
    }

    fn parent_element(&self) -> Option<Self> {
        El::wrap(self.doc, self.doc.parent(self.n))
    }

    fn parent_node_is_shadow_root(&self) -> bool {
        false
    }

    fn containing_shadow_host(&self) -> Option<Self> {
        None
    }

    fn is_pseudo_element(&self) -> bool {
        false
    }

    fn prev_sibling_element(&self) -> Option<Self> {
        self.element_from(self.doc.prev_sibling(self.n), Document::prev_sibling)
    }

    fn next_sibling_element(&self) -> Option<Self> {
        self.element_from(self.doc.next_sibling(self.n), Document::next_sibling)
    }

    fn first_element_child(&self) -> Option<Self> {
        self.element_from(self.doc.first_child(self.n), Document::next_sibling)
    }

    fn is_html_element_in_html_document(&self) -> bool {
        true
    }

    fn has_local_name(&self, name: &CssLocalName) -> bool {
        self.name() == &*name.0
    }

    fn has_namespace(&self, _ns: &markup5ever::Namespace) -> bool {
        true
    }

    fn is_same_type(&self, other: &Self) -> bool {
        self.name() == other.name()
    }

    fn attr_matches(
        &self,
        _ns: &NamespaceConstraint<&markup5ever::Namespace>,
        local_name: &CssLocalName,
        operation: &AttrSelectorOperation<&CssString>,
    ) -> bool {
        self.attr(&local_name.0)
            .is_some_and(|v| operation.eval_str(v))
    }

    fn match_non_ts_pseudo_class(
        &self,
        pc: &<Simple as selectors::SelectorImpl>::NonTSPseudoClass,
        _ctx: &mut MatchingContext<Simple>,
    ) -> bool {
        match *pc {}
    }

    fn match_pseudo_element(
        &self,
        pe: &<Simple as selectors::SelectorImpl>::PseudoElement,
        _ctx: &mut MatchingContext<Simple>,
    ) -> bool {
        match *pe {}
    }

    fn apply_selector_flags(&self, _flags: ElementSelectorFlags) {}

    fn is_link(&self) -> bool {
        matches!(self.name(), "a" | "area" | "link") && self.attr("href").is_some()
    }

    fn is_html_slot_element(&self) -> bool {
        false
    }

    fn has_id(&self, id: &CssLocalName, case: CaseSensitivity) -> bool {
        self.attr("id").is_some_and(|v| eq(v, &id.0, case))
    }

    fn has_class(&self, name: &CssLocalName, case: CaseSensitivity) -> bool {
        self.attr("class")
            .is_some_and(|v| v.split_ascii_whitespace().any(|c| eq(c, &name.0, case)))
    }

    fn has_custom_state(&self, _name: &CssLocalName) -> bool {
        false
    }

    fn imported_part(&self, _name: &CssLocalName) -> Option<CssLocalName> {
        None
    }

    fn is_part(&self, _name: &CssLocalName) -> bool {
        false
    }

    fn is_empty(&self) -> bool {
        self.doc.children(self.n).all(|c| match self.doc.kind(c) {
            NodeKind::Text(t) => t.is_empty(),
            _ => false,
        })
    }

    fn is_root(&self) -> bool {
        self.doc.parent(self.n) == Some(NodeId::ROOT)
    }

    fn add_element_unique_hashes(&self, _filter: &mut BloomFilter) -> bool {
        false
    }
}
