//! Generic main-text extraction: the article body of any news page as typed blocks.
//!
//! # Architecture
//! - `extract_attrs`: tag and class/id judgements made before any text is seen.
//! - `extract_dom`: one iterative walk copies the parsed page into a flat pre-order arena,
//!   leaving out what tags and attributes alone mark as boilerplate, and computes subtree
//!   text statistics bottom-up.
//! - `extract_score`: readability-style candidate scoring picks the article container and
//!   the sibling elements that continue it.
//! - `extract_clean`: a second statistics pass over the chosen subtrees removes share bars,
//!   link lists, image galleries and other widgets inside the article.
//! - `extract_lead`: the standfirst between the headline and the body, which templates keep
//!   outside the chosen container.
//! - `extract_blocks`: emits paragraphs, headings, quotes and lists in document order.
//! - `extract_filter`: a precision pass over the blocks (link-heavy blocks, captions,
//!   "Read more" lines, trailing fragments).
//!
//! Every pass is linear in the page size and uses no recursion, so hostile input (deep
//! nesting, huge pages) costs bounded time and no stack. This module knows nothing about
//! particular sites: per-source selectors live in the normalizer, which calls
//! [`GenericExtractor::extract_within`] on the element they matched.

mod attrs;
mod blocks;
mod clean;
mod dom;
mod filter;
mod lead;
mod names;
mod score;

use crate::html::{Document, NodeId};

use crate::model::Block;
use clean::CleanRules;

/// A body shorter than this (characters) suggests the strict rules threw the article away,
/// so extraction is retried with relaxed rules (readability's `charThreshold`).
const MIN_BODY_CHARS: usize = 500;

/// JSON-LD `articleBody` replaces the extracted text only when it is at least this long
/// (characters)…
const MIN_LD_BODY_CHARS: usize = 500;
/// …and this many times longer than what the page shows (a paywall teaser).
const LD_BODY_GAIN: usize = 2;

/// The article's JSON-LD `articleBody` as paragraphs, when the page shows only a teaser of it:
/// the body is long and the extracted text is less than half of it. `None` keeps the
/// extracted blocks.
pub fn from_article_body(article_body: &str, extracted: &[Block]) -> Option<Vec<Block>> {
    let decoded = crate::html::decode_entities(article_body);
    let ld_chars = decoded.chars().filter(|c| !c.is_whitespace()).count();
    let shown: usize = extracted
        .iter()
        .map(|b| b.text.chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    if ld_chars < MIN_LD_BODY_CHARS || ld_chars < shown * LD_BODY_GAIN {
        return None;
    }
    let blocks: Vec<Block> = decoded
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .map(|text| Block {
            kind: crate::model::BlockKind::Paragraph,
            text,
        })
        .collect();
    (!blocks.is_empty()).then_some(blocks)
}

/// One extraction attempt's rule set, from strictest to most lenient.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    strip_unlikely: bool,
    clean: CleanRules,
}

const ATTEMPTS: [Attempt; 4] = [
    Attempt {
        strip_unlikely: true,
        clean: CleanRules {
            weights: true,
            conditional: true,
        },
    },
    Attempt {
        strip_unlikely: false,
        clean: CleanRules {
            weights: true,
            conditional: true,
        },
    },
    Attempt {
        strip_unlikely: false,
        clean: CleanRules {
            weights: false,
            conditional: true,
        },
    },
    Attempt {
        strip_unlikely: false,
        clean: CleanRules {
            weights: false,
            conditional: false,
        },
    },
];

/// Generic extractor; build once, reuse for every page (holds compiled patterns).
pub struct GenericExtractor {
    patterns: attrs::Patterns,
    filter: filter::Filter,
}

impl Default for GenericExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl GenericExtractor {
    /// Compiles the class-name and boilerplate-line patterns.
    pub fn new() -> Self {
        Self {
            patterns: attrs::Patterns::new(),
            filter: filter::Filter::new(),
        }
    }

    /// Main-content blocks of the page, in document order. Never panics; work is linear in
    /// the page size and does not recurse, so any nesting depth is safe.
    pub fn extract(&self, doc: &Document) -> Vec<Block> {
        self.run(doc, doc.root_element(), true)
    }

    /// Same, restricted to the given root element (used when a per-source body selector
    /// matched): cleans that subtree (drops scripts, share bars, link lists…) but does not
    /// search for the body elsewhere.
    pub fn extract_within(&self, doc: &Document, root: NodeId) -> Vec<Block> {
        self.run(doc, root, false)
    }

    /// Tries the attempts from strict to lenient and stops once the result is long enough.
    /// A more lenient result replaces a stricter one only when it is much longer: relaxed
    /// rules also let widgets back in, so a little extra text is not worth it.
    fn run(&self, doc: &Document, root: NodeId, search: bool) -> Vec<Block> {
        let mut best: Vec<Block> = Vec::new();
        let mut best_len = 0;
        for attempt in ATTEMPTS {
            let blocks = self.attempt(doc, root, search, attempt);
            let len: usize = blocks.iter().map(|b| b.text.chars().count()).sum();
            if len * 2 > best_len * 3 {
                (best, best_len) = (blocks, len);
            }
            if best_len >= MIN_BODY_CHARS {
                break;
            }
        }
        best
    }

    fn attempt(&self, doc: &Document, root: NodeId, search: bool, attempt: Attempt) -> Vec<Block> {
        let mut nodes = dom::build(doc, root, &self.patterns, attempt.strip_unlikely);
        let all = 0..nodes.len();
        dom::compute_stats(&mut nodes, all, |_| false);
        let roots = if search {
            score::score(&mut nodes, attempt.clean.weights);
            let top = score::top_candidate(&mut nodes);
            score::with_siblings(&nodes, top)
        } else {
            vec![0]
        };
        for &r in &roots {
            let range = r as usize..nodes[r as usize].end as usize;
            dom::compute_stats(&mut nodes, range, |n| {
                clean::should_remove(n, attempt.clean)
            });
        }
        let lead = if search {
            lead::take(&mut nodes, &roots)
        } else {
            Vec::new()
        };
        let body = blocks::emit(&nodes, &roots);
        let mut raw = if lead::repeated(&lead, &body) {
            Vec::new()
        } else {
            lead
        };
        raw.extend(body);
        self.filter.apply(raw)
    }
}

#[cfg(test)]
mod tests;
