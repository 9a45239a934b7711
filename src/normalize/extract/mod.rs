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
        let raw = blocks::emit(&nodes, &roots);
        self.filter.apply(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BlockKind;

    const P1: &str = "The city council approved the new budget on Tuesday, after a long debate \
                      that lasted well into the night, with nine votes in favour.";
    const P2: &str = "Opponents said the plan, which raises fees for parking and permits, would \
                      hurt small shops, while supporters pointed to the repaired roads.";
    const P3: &str = "The mayor, speaking after the vote, said work on the bridge would start in \
                      spring and finish, if all goes well, before the end of next year.";

    fn extract(html: &str) -> Vec<Block> {
        GenericExtractor::new().extract(&Document::parse(html))
    }

    fn texts(blocks: &[Block]) -> Vec<&str> {
        blocks.iter().map(|b| b.text.as_str()).collect()
    }

    fn page(article: &str) -> String {
        format!(
            "<html><head><title>T</title><script>var x = 'script text';</script></head><body>\
             <header><a href=/>Home</a> <a href=/news>News</a></header>\
             <nav><ul><li><a href=/a>Politics</a></li><li><a href=/b>Sport</a></li></ul></nav>\
             <article>{article}</article>\
             <footer><p>Contact us, about us, careers and the rest of the footer text.</p>\
             </footer></body></html>"
        )
    }

    #[test]
    fn keeps_body_paragraphs_in_order_and_drops_chrome() {
        let html = page(&format!(
            "<h1>Budget passes</h1><p>{P1}</p><p>{P2}</p><p>{P3}</p>"
        ));
        let blocks = extract(&html);
        assert_eq!(texts(&blocks), [P1, P2, P3]);
        assert!(blocks.iter().all(|b| b.kind == BlockKind::Paragraph));
    }

    #[test]
    fn headings_lists_and_quotes_get_their_kinds() {
        let html = page(&format!(
            "<p>{P1}</p><h2>What  changes</h2><ul><li>Parking fees\n rise</li><li>Permits cost \
             more</li></ul><blockquote><p>We did what we had to do.</p></blockquote><p>{P2}</p>"
        ));
        let blocks = extract(&html);
        let kinds: Vec<BlockKind> = blocks.iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            [
                BlockKind::Paragraph,
                BlockKind::Heading,
                BlockKind::List,
                BlockKind::Quote,
                BlockKind::Paragraph
            ]
        );
        assert_eq!(blocks[1].text, "What changes");
        assert_eq!(blocks[2].text, "Parking fees rise\nPermits cost more");
    }

    #[test]
    fn removes_widgets_inside_the_article() {
        let html = page(&format!(
            "<div class=\"share-bar\"><a href=/fb>Facebook</a> <a href=/tw>Twitter</a></div>\
             <p>{P1}</p>\
             <div class=\"cookie-banner\">We use cookies to improve your experience.</div>\
             <p>{P2}</p>\
             <div class=\"related\"><h3>Related</h3><ul>\
             <li><a href=/1>Another story about the council and its budget</a></li>\
             <li><a href=/2>Yet another story about the mayor and the bridge</a></li>\
             </ul></div><p>{P3}</p>"
        ));
        assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
    }

    #[test]
    fn line_breaks_split_lines_and_double_breaks_split_paragraphs() {
        let html = page(&format!(
            "<div>{P1}<br>Second line.<br><br>{P2}</div><p>{P3}</p>"
        ));
        let blocks = extract(&html);
        assert_eq!(
            texts(&blocks),
            [format!("{P1}\nSecond line."), P2.into(), P3.into()]
        );
    }

    #[test]
    fn works_for_russian_belarusian_and_chinese() {
        let ru = "Совет министров утвердил бюджет во вторник, после долгих споров, которые \
                  продолжались до поздней ночи, девятью голосами.";
        let zh = "市议会周二批准了新预算，经过一场持续到深夜的漫长辩论，九票赞成，三票反对，\
                  市长表示桥梁工程将于明年春天开工。";
        let be = "Савет міністраў зацвердзіў бюджэт у аўторак, пасля доўгіх спрэчак, якія \
                  працягваліся да позняй ночы, дзевяццю галасамі.";
        let html = page(&format!("<p>{ru}</p><p>{be}</p><p>{zh}</p>"));
        assert_eq!(texts(&extract(&html)), [ru, be, zh]);
    }

    #[test]
    fn empty_and_textless_documents_give_no_blocks() {
        assert!(extract("").is_empty());
        assert!(extract("<html><body><div><img src=a.png></div></body></html>").is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // The parser caps nesting at `html::MAX_OPEN`; the arena walk and the extractor stay
        // iterative at any depth the parser produces.
        let depth = 100_000;
        let html = format!("{}{P1}{}", "<div>".repeat(depth), "</div>".repeat(depth));
        assert_eq!(texts(&extract(&html)), [P1]);
    }

    // See: issue 10 (in-article subheadings are text; tickers are not; soft hyphens go).
    #[test]
    fn issue_10_subheading_between_sections_is_kept_as_heading() {
        let html = page(&format!(
            "<div class=text><p>{P1}</p></div><h3>New rules for parking</h3>\
             <div class=text><p>{P2}</p><p>{P3}</p></div>"
        ));
        let blocks = extract(&html);
        assert_eq!(
            texts(&blocks),
            [P1, "New rules for parking", P2, P3],
            "{blocks:?}"
        );
        assert_eq!(blocks[1].kind, BlockKind::Heading);
    }

    #[test]
    fn issue_10_rates_ticker_is_not_text_and_soft_hyphens_go() {
        let html = page(&format!(
            "<div class=kurs>USD 2,9871 EUR 3,3820 RUB 3,6512</div>\
             <p>{P1}</p><p>Bud&shy;get {P2}</p><p>{P3}</p>"
        ));
        assert_eq!(
            texts(&extract(&html)),
            [P1.to_owned(), format!("Budget {P2}"), P3.to_owned()]
        );
    }

    // See: issue 10 (a paywalled article whose wrapper's class names a media box).
    #[test]
    fn issue_10_long_prose_survives_a_boilerplate_class_name() {
        // The lead alone is long enough for the strict first attempt to stand.
        let lead = [P3, P1, P2, P3];
        let body = [P1, P2, P3, P1, P2, P3, P1, P2];
        let ps = |list: &[&str]| -> String { list.iter().map(|p| format!("<p>{p}</p>")).collect() };
        let html = page(&format!(
            "<div class=lead>{}</div><section class=\"wrapper restricted-media\">\
             <div class=inner>{}</div></section>",
            ps(&lead),
            ps(&body)
        ));
        let want: Vec<&str> = lead.iter().chain(&body).copied().collect();
        assert_eq!(texts(&extract(&html)), want);
    }

    #[test]
    fn article_body_replaces_a_teaser_but_not_a_full_text() {
        let long = format!("{P1}\n\n{P2}\n{P3}\n{P1} {P2} {P3}");
        let teaser = [Block {
            kind: BlockKind::Paragraph,
            text: "The city council approved the new budget…".into(),
        }];
        let blocks = from_article_body(&long, &teaser).unwrap();
        assert_eq!(blocks.len(), 4);
        assert_eq!(blocks[0].text, P1);
        let full: Vec<Block> = extract(&page(&format!("<p>{P1}</p><p>{P2}</p><p>{P3}</p>")));
        assert!(from_article_body(&format!("{P1}\n{P2}\n{P3}"), &full).is_none());
    }

    #[test]
    fn extract_within_cleans_but_does_not_search() {
        let html = format!(
            "<html><body><div id=body><p>{P1}</p><script>x()</script>\
             <div class=social-share><a href=/fb>Share on Facebook</a></div></div>\
             <div id=other><p>{P2}</p><p>{P3}</p></div></body></html>"
        );
        let doc = Document::parse(&html);
        let sel = crate::html::Selector::parse("#body").unwrap();
        let root = doc.select(&sel).next().unwrap();
        assert_eq!(
            texts(&GenericExtractor::new().extract_within(&doc, root)),
            [P1]
        );
    }
}
