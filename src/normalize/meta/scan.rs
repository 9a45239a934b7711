//! One walk over the parsed document that collects everything metadata needs: `<meta>`
//! values, JSON-LD blocks, `<title>`, `h1`s, the canonical link, `<time datetime>`, the page
//! language, and short texts of date-, credit- and author-like elements.
//!
//! A single pass with plain tag/attribute checks replaces a dozen CSS selector queries, each
//! of which would walk the whole tree again (selector matching was a tenth of normalize time).

use crate::html::{Document, Element, NodeId};

use super::pictures::{self, Figure, in_article};

/// Most elements of one kind remembered (bounds work on hostile pages).
const MAX_PER_KIND: usize = 50;
/// Most pictures remembered.
const MAX_FIGURES: usize = 20;
/// Byline elements remembered (nested byline markup repeats the same name).
const MAX_BYLINES: usize = 8;
/// Longest text kept for a date/credit/author element.
const MAX_SHORT_TEXT: usize = 120;

/// What the walk found.
#[derive(Debug, Default)]
pub struct PageScan {
    /// `<meta>` values keyed by lower-case `property`/`name`/`itemprop`, in document order.
    pub metas: Vec<(String, String)>,
    /// Raw text of each `application/ld+json` script.
    pub json_ld: Vec<String>,
    /// Text of the first `<title>`.
    pub title: Option<String>,
    /// Texts of the first `h1`s.
    pub h1s: Vec<String>,
    /// Texts of the first `h2`s (blog templates put the post title there).
    pub h2s: Vec<String>,
    /// `href` of the first `<link rel=canonical>`.
    pub canonical: Option<String>,
    /// `datetime` attributes of `<time>` elements.
    pub times: Vec<String>,
    /// `<html lang>`.
    pub lang: Option<String>,
    /// Short texts of elements whose class/id says date, time, posted or published.
    pub dateish: Vec<String>,
    /// Photo-credit elements: node and short text.
    pub credits: Vec<(NodeId, String)>,
    /// Short texts of byline elements.
    pub bylines: Vec<String>,
    /// Pictures inside the article area (`<figure>`s and wrapped `<div>`s): image source (as
    /// written), caption, credit.
    pub figures: Vec<Figure>,
}

/// Folds whitespace runs into single spaces and trims.
pub fn fold_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Element text, whitespace folded, or `None` when longer than `max` characters (stops
/// reading as soon as it is, so a date-classed page container costs little).
pub(super) fn short_text(doc: &Document, el: NodeId, max: usize) -> Option<String> {
    let mut raw = String::new();
    for t in doc.texts(el) {
        raw.push_str(t);
        if raw.len() > max * 4 {
            return None;
        }
    }
    let folded = fold_ws(&raw);
    (folded.chars().count() <= max && !folded.is_empty()).then_some(folded)
}

/// Whether one class token names a byline (`byline`, `post-author`, `author-name`) and not an
/// author bio box, an avatar or a comment's author.
fn is_byline_class(token: &str) -> bool {
    let t = token.to_ascii_lowercase();
    (t.contains("byline") || t.contains("author"))
        && ![
            "bio", "box", "info", "avatar", "image", "img", "photo", "pic", "comment", "about",
            "desc", "social", "follow", "list", "more", "title", "wrap", "widget",
        ]
        .iter()
        .any(|w| t.contains(w))
}

pub(super) fn has(attr: Option<&str>, needles: &[&str]) -> bool {
    attr.is_some_and(|a| needles.iter().any(|n| a.contains(n)))
}

impl PageScan {
    /// Walks `doc` once.
    pub fn new(doc: &Document) -> Self {
        let mut s = Self::default();
        for node in doc.descendants(NodeId::ROOT) {
            if let Some(el) = doc.element(node) {
                s.element(doc, el);
            }
        }
        s
    }

    fn element(&mut self, doc: &Document, v: Element<'_>) {
        let node = v.id();
        match v.name() {
            "meta" => {
                let key = v
                    .attr("property")
                    .or_else(|| v.attr("name"))
                    .or_else(|| v.attr("itemprop"));
                if let (Some(k), Some(c)) = (key, v.attr("content")) {
                    self.metas
                        .push((k.to_ascii_lowercase(), c.trim().to_owned()));
                }
            }
            "script" if has(v.attr("type"), &["ld+json"]) => self.json_ld.push(doc.text(node)),
            "title" if self.title.is_none() => {
                self.title = Some(fold_ws(&doc.text(node))).filter(|t| !t.is_empty())
            }
            "h1" if self.h1s.len() < 5 => self.h1s.push(fold_ws(&doc.text(node))),
            "h2" if self.h2s.len() < 5 => self.h2s.push(fold_ws(&doc.text(node))),
            "link"
                if self.canonical.is_none()
                    && v.attr("rel")
                        .is_some_and(|r| r.eq_ignore_ascii_case("canonical")) =>
            {
                self.canonical = v.attr("href").map(str::to_owned);
            }
            "time" if self.times.len() < MAX_PER_KIND => {
                self.times.extend(v.attr("datetime").map(str::to_owned))
            }
            "html" => self.lang = v.attr("lang").map(str::to_owned),
            "figure" if self.figures.len() < MAX_FIGURES && in_article(doc, node) => {
                self.figures.extend(pictures::picture(doc, v))
            }
            "div" if self.figures.len() < MAX_FIGURES && pictures::is_wrapper(doc, v) => {
                self.figures.extend(pictures::picture(doc, v))
            }
            _ => {}
        }
        let (class, id, itemprop) = (v.attr("class"), v.attr("id"), v.attr("itemprop"));
        if class.is_none() && id.is_none() && itemprop.is_none() && v.attr("rel").is_none() {
            return;
        }
        if self.credits.len() < MAX_PER_KIND
            && (has(class, &["credit", "photo-author", "photo_author"])
                || itemprop == Some("copyrightHolder"))
            && let Some(t) = short_text(doc, node, 80).filter(|t| t.chars().count() >= 2)
        {
            self.credits.push((node, t));
        }
        if self.dateish.len() < MAX_PER_KIND
            && (has(class, &["date", "time", "posted", "publish"])
                || has(id, &["date"])
                || itemprop == Some("datePublished"))
        {
            self.dateish
                .extend(short_text(doc, node, MAX_SHORT_TEXT).filter(|t| t.chars().count() >= 6));
        }
        let byline = v.attr("rel") == Some("author")
            || itemprop == Some("author")
            || class.is_some_and(|c| c.split_whitespace().any(is_byline_class));
        if byline && self.bylines.len() < MAX_BYLINES {
            self.bylines.extend(short_text(doc, node, MAX_SHORT_TEXT));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_walk_collects_everything() {
        let doc = Document::parse(
            r#"<html lang="ru"><head><title> T  | S </title><meta property="og:title" content=" O "><link rel="canonical" href="/c">
            <script type="application/ld+json">{"a":1}</script></head><body><h1>H</h1>
            <div class="date">Posted: 05.05.2025 10:31:24</div><time datetime="2025-05-05">x</time>
            <div class="page-timeline"><p>long text that is far too long to be a date line, much longer than a hundred and twenty characters, yes, really long, longer still, and then some more words</p></div>
            <span class="photo-credit">BELTA</span><span class="author">By Ann Lee</span></body></html>"#,
        );
        let s = PageScan::new(&doc);
        assert_eq!(s.lang.as_deref(), Some("ru"));
        assert_eq!(s.title.as_deref(), Some("T | S"));
        assert_eq!(s.metas, [("og:title".to_owned(), "O".to_owned())]);
        assert_eq!(s.canonical.as_deref(), Some("/c"));
        assert_eq!(s.json_ld, [r#"{"a":1}"#]);
        assert_eq!(s.h1s, ["H"]);
        assert_eq!(s.times, ["2025-05-05"]);
        assert_eq!(s.dateish, ["Posted: 05.05.2025 10:31:24"]);
        assert_eq!(s.credits.len(), 1);
        assert_eq!(s.bylines, ["By Ann Lee"]);
    }

    #[test]
    fn figures_in_the_article_with_captions_and_credits() {
        let doc = Document::parse(
            r#"<aside><figure><img src="/ad.jpg"><figcaption>Ad</figcaption></figure></aside>
            <article><figure><img data-src="/a.jpg"><figcaption>Minsk at night. <span class="credit">Photo: BelTA</span></figcaption></figure>
            <figure><img src="/b.jpg"><figcaption>The forum opens. Photo: TASS</figcaption></figure><figure><img src="/c.jpg"></figure></article>"#,
        );
        let f = PageScan::new(&doc).figures;
        assert_eq!(f.len(), 3, "{f:?}");
        assert_eq!(
            (
                f[0].src.as_str(),
                f[0].caption.as_deref(),
                f[0].credit.as_deref()
            ),
            ("/a.jpg", Some("Minsk at night."), Some("Photo: BelTA"))
        );
        assert_eq!(
            (f[1].caption.as_deref(), f[1].credit.as_deref()),
            (Some("The forum opens"), Some("Photo: TASS"))
        );
        assert_eq!(
            (f[2].caption.as_deref(), f[2].credit.as_deref()),
            (None, None)
        );
    }
}
