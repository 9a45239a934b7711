//! Page metadata other than the body: title, description, canonical URL, lead image, authors,
//! tags, the page language attribute, and the raw date candidates (JSON-LD, meta, `<time>`).
//!
//! Everything is read from one parsed document with selectors compiled once ([`Selectors`]).

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

/// Compiles a selector written in this file; they are constants, so failure is a bug that the
/// unit tests catch.
fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| panic!("static selector {s:?}: {e}"))
}

/// Selectors used for metadata, compiled once per process.
pub struct Selectors {
    pub(crate) title: Selector,
    pub(crate) h1: Selector,
    pub(crate) meta: Selector,
    pub(crate) json_ld: Selector,
    pub(crate) canonical: Selector,
    pub(crate) time: Selector,
    pub(crate) html: Selector,
    pub(crate) author_el: Selector,
    pub(crate) dateish: Selector,
    pub(crate) credit: Selector,
}

/// The process-wide compiled selectors.
pub static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| Selectors {
    title: sel("title"),
    h1: sel("h1"),
    meta: sel("meta[content]"),
    json_ld: sel(r#"script[type="application/ld+json"]"#),
    canonical: sel(r#"link[rel="canonical"][href]"#),
    time: sel("time[datetime]"),
    html: sel("html[lang]"),
    author_el: sel(
        r#"[rel="author"], [itemprop="author"], .author, .byline, .article-author, .author-name"#,
    ),
    dateish: sel(
        r#"[class*="date"], [class*="time"], [class*="posted"], [class*="publish"], [id*="date"], [itemprop="datePublished"]"#,
    ),
    credit: sel(
        r#"[class*="credit"], [class*="photo-author"], [class*="photo_author"], [itemprop="copyrightHolder"], figcaption [class*="source"]"#,
    ),
});

/// Photo-credit elements (class mentioning "credit" and the like) with short text: taken out
/// of the document before extraction, their texts returned in document order, so a credit is
/// recorded once and never left in the body.
pub fn take_credits(doc: &mut Html) -> Vec<String> {
    let found: Vec<_> = doc
        .select(&SELECTORS.credit)
        .take(50)
        .map(|e| (e.id(), element_text(e)))
        .filter(|(_, t)| (2..=80).contains(&t.chars().count()))
        .collect();
    let mut texts = Vec::with_capacity(found.len());
    for (id, text) in found {
        if let Some(mut node) = doc.tree.get_mut(id) {
            node.detach();
        }
        texts.push(text);
    }
    texts
}

/// Folds whitespace runs into single spaces and trims.
pub fn fold_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text content of an element, whitespace folded.
pub fn element_text(el: ElementRef<'_>) -> String {
    fold_ws(&el.text().collect::<String>())
}

/// `<meta>` values keyed by lower-case `property`/`name`/`itemprop`, in document order.
pub fn metas(doc: &Html) -> Vec<(String, String)> {
    doc.select(&SELECTORS.meta)
        .filter_map(|m| {
            let v = m.value();
            let key = v
                .attr("property")
                .or_else(|| v.attr("name"))
                .or_else(|| v.attr("itemprop"))?;
            Some((
                key.to_ascii_lowercase(),
                v.attr("content")?.trim().to_owned(),
            ))
        })
        .collect()
}

/// The first non-empty meta value among `keys`, in the order the keys are given.
pub fn meta_first<'a>(metas: &'a [(String, String)], keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| {
        metas
            .iter()
            .find(|(mk, v)| mk == k && !v.is_empty())
            .map(|(_, v)| v.as_str())
    })
}

/// What JSON-LD says about the article.
#[derive(Debug, Default, Clone)]
pub struct JsonLd {
    pub headline: Option<String>,
    pub date_published: Option<String>,
    pub date_modified: Option<String>,
    pub authors: Vec<String>,
    pub keywords: Vec<String>,
    pub description: Option<String>,
}

const ARTICLE_TYPES: &[&str] = &[
    "NewsArticle",
    "Article",
    "ReportageNews",
    "BlogPosting",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "Report",
    "LiveBlogPosting",
    "WebPage",
];

/// Reads every JSON-LD block and keeps the first article-typed object's fields (an article
/// type beats `WebPage`). Malformed blocks are skipped.
pub fn json_ld(doc: &Html) -> JsonLd {
    let values: Vec<Value> = doc
        .select(&SELECTORS.json_ld)
        .filter_map(|script| {
            serde_json::from_str::<Value>(script.text().collect::<String>().trim()).ok()
        })
        .collect();
    let mut objects = Vec::new();
    for v in &values {
        collect_objects(v, &mut objects, 0);
    }
    let rank = |o: &Value| match type_names(o)
        .iter()
        .position(|t| ARTICLE_TYPES.contains(&t.as_str()))
    {
        Some(_) if type_names(o).iter().any(|t| t == "WebPage") => 1,
        Some(_) => 0,
        None => 2,
    };
    let Some(best) = objects
        .iter()
        .filter(|o| rank(o) < 2)
        .min_by_key(|o| rank(o))
    else {
        return JsonLd::default();
    };
    JsonLd {
        headline: str_field(best, "headline").or_else(|| str_field(best, "name")),
        date_published: str_field(best, "datePublished"),
        date_modified: str_field(best, "dateModified"),
        authors: names(best.get("author")),
        keywords: keywords(best.get("keywords")),
        description: str_field(best, "description"),
    }
}

fn collect_objects<'a>(v: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 4 {
        return;
    }
    match v {
        Value::Array(items) => items
            .iter()
            .for_each(|i| collect_objects(i, out, depth + 1)),
        Value::Object(map) => {
            out.push(v);
            if let Some(g) = map.get("@graph") {
                collect_objects(g, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn type_names(o: &Value) -> Vec<String> {
    match o.get("@type") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn str_field(o: &Value, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .map(fold_ws)
        .filter(|s| !s.is_empty())
}

fn names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![fold_ws(s)],
        Some(Value::Object(_)) => v.and_then(|o| str_field(o, "name")).into_iter().collect(),
        Some(Value::Array(a)) => a.iter().flat_map(|x| names(Some(x))).collect(),
        _ => Vec::new(),
    }
}

fn keywords(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .split(',')
            .map(fold_ws)
            .filter(|k| !k.is_empty())
            .collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(fold_ws).collect(),
        _ => Vec::new(),
    }
}

/// Removes a site-name suffix or prefix (" | BelTA", " - TASS", "РИА Новости :: ") from a
/// title. A part is dropped when it matches one of `site_names` or `og:site_name`, or when the
/// title has exactly one separator and the other side is much longer.
pub fn strip_site_name(title: &str, site_names: &[&str]) -> String {
    const SEPS: &[&str] = &[" | ", " — ", " – ", " - ", " :: ", " · ", " / "];
    let t = fold_ws(title);
    for sep in SEPS {
        let parts: Vec<&str> = t.split(sep).collect();
        if parts.len() < 2 {
            continue;
        }
        let is_site = |p: &str| {
            let p = p.trim().to_lowercase();
            site_names.iter().any(|s| {
                let s = s.to_lowercase();
                !s.is_empty() && (p == s || p.contains(&s) && p.len() <= s.len() + 12)
            })
        };
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if is_site(last) {
            return parts[..parts.len() - 1].join(sep);
        }
        if is_site(first) {
            return parts[1..].join(sep);
        }
        if parts.len() == 2
            && last.chars().count() * 3 < first.chars().count()
            && last.split_whitespace().count() <= 4
        {
            return first.to_owned();
        }
    }
    t
}

/// Chooses the headline: the first `h1` when the `<title>`/`og:title` confirms it (so a logo
/// in an `h1` is not taken), else `og:title`, JSON-LD `headline`, `h1`, `<title>` in that order.
pub fn choose_title(
    doc: &Html,
    metas: &[(String, String)],
    ld: &JsonLd,
    site_names: &[&str],
) -> Option<String> {
    let og =
        meta_first(metas, &["og:title", "twitter:title"]).map(|t| strip_site_name(t, site_names));
    let html_title = doc
        .select(&SELECTORS.title)
        .next()
        .map(element_text)
        .filter(|t| !t.is_empty());
    let h1s: Vec<String> = doc
        .select(&SELECTORS.h1)
        .map(element_text)
        .filter(|t| t.chars().count() >= 3)
        .take(5)
        .collect();
    let confirm = |h: &str| {
        let h = h.to_lowercase();
        [og.as_deref(), html_title.as_deref(), ld.headline.as_deref()]
            .into_iter()
            .flatten()
            .any(|t| t.to_lowercase().contains(&h) || h.contains(&t.to_lowercase()))
    };
    if let Some(h) = h1s.iter().find(|h| confirm(h)) {
        return Some(h.clone());
    }
    og.filter(|t| !t.is_empty())
        .or_else(|| ld.headline.clone())
        .or_else(|| h1s.first().cloned())
        .or_else(|| html_title.map(|t| strip_site_name(&t, site_names)))
        .filter(|t| !t.is_empty())
}

/// `<html lang>`.
pub fn html_lang(doc: &Html) -> Option<String> {
    doc.select(&SELECTORS.html)
        .next()?
        .value()
        .attr("lang")
        .map(str::to_owned)
}

/// `<link rel=canonical href>`, raw.
pub fn canonical_href(doc: &Html) -> Option<String> {
    doc.select(&SELECTORS.canonical)
        .next()?
        .value()
        .attr("href")
        .map(str::to_owned)
}

/// Author names from JSON-LD, meta tags and byline elements: deduplicated, without "By ",
/// without URLs, without names longer than a byline can be.
pub fn authors(
    doc: &Html,
    metas: &[(String, String)],
    ld: &JsonLd,
    site_names: &[&str],
) -> Vec<String> {
    let mut raw: Vec<String> = ld.authors.clone();
    raw.extend(
        metas
            .iter()
            .filter(|(k, _)| k == "author" || k == "article:author" || k == "byl")
            .map(|(_, v)| v.clone()),
    );
    if raw.is_empty() {
        raw.extend(doc.select(&SELECTORS.author_el).take(3).map(element_text));
    }
    let mut out: Vec<String> = Vec::new();
    for a in raw {
        let a = fold_ws(&a);
        let a = a
            .strip_prefix("By ")
            .or_else(|| a.strip_prefix("by "))
            .or_else(|| a.strip_prefix("Автор: "))
            .unwrap_or(&a)
            .trim()
            .to_owned();
        let is_site = site_names.iter().any(|s| s.eq_ignore_ascii_case(&a));
        if a.is_empty()
            || a.contains("://")
            || a.chars().count() > 60
            || is_site
            || out.contains(&a)
        {
            continue;
        }
        out.push(a);
    }
    out
}

/// Tags from `article:tag`, `keywords` meta and JSON-LD keywords, deduplicated, at most 30.
pub fn tags(metas: &[(String, String)], ld: &JsonLd) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let from_meta = metas
        .iter()
        .filter(|(k, _)| k == "article:tag" || k == "news_keywords" || k == "keywords");
    for t in from_meta
        .flat_map(|(_, v)| v.split(',').map(fold_ws).collect::<Vec<_>>())
        .chain(ld.keywords.iter().cloned())
    {
        if !t.is_empty() && t.chars().count() <= 60 && !out.contains(&t) && out.len() < 30 {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_compile() {
        let _ = &SELECTORS.title;
    }

    #[test]
    fn site_suffixes_go() {
        assert_eq!(
            strip_site_name("Lukashenko visits Volgograd | BelTA", &["BelTA"]),
            "Lukashenko visits Volgograd"
        );
        assert_eq!(strip_site_name("Talks end - TASS", &["TASS"]), "Talks end");
        assert_eq!(
            strip_site_name("РИА Новости :: Новость дня", &["РИА Новости"]),
            "Новость дня"
        );
        assert_eq!(
            strip_site_name("A long headline about the economy of Belarus | Site", &[]),
            "A long headline about the economy of Belarus"
        );
        assert_eq!(
            strip_site_name("‘Together we are a formidable force’", &["SB"]),
            "‘Together we are a formidable force’"
        );
        // A dash inside the headline is not a separator to cut when neither side is the site.
        assert_eq!(
            strip_site_name("Great Heritage - Common Future forum opens", &["BelTA"]),
            "Great Heritage - Common Future forum opens"
        );
    }

    #[test]
    fn json_ld_graph_and_authors() {
        let doc = Html::parse_document(
            r#"<script type="application/ld+json">{"@graph":[{"@type":"WebSite","name":"X"},{"@type":"NewsArticle","headline":"H","datePublished":"2025-05-05T10:00:00+03:00","author":[{"@type":"Person","name":"Ann Lee"},"Bob"],"keywords":"a, b"}]}</script>"#,
        );
        let ld = json_ld(&doc);
        assert_eq!(ld.headline.as_deref(), Some("H"));
        assert_eq!(
            ld.date_published.as_deref(),
            Some("2025-05-05T10:00:00+03:00")
        );
        assert_eq!(ld.authors, ["Ann Lee", "Bob"]);
        assert_eq!(ld.keywords, ["a", "b"]);
    }

    #[test]
    fn h1_confirmed_by_title_wins() {
        let doc = Html::parse_document(
            "<title>Real headline | Site</title><h1>Site logo</h1><h1>Real headline</h1>",
        );
        let m = metas(&doc);
        assert_eq!(
            choose_title(&doc, &m, &JsonLd::default(), &["Site"]).as_deref(),
            Some("Real headline")
        );
    }
}
