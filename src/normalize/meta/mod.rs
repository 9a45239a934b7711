//! Page metadata other than the body: title, description, canonical URL, lead image, authors,
//! tags, the page language attribute, and the raw date candidates (JSON-LD, meta, `<time>`).
//!
//! Everything is read from the one-pass [`PageScan`] of the parsed document.

use crate::html::Document;
use serde_json::Value;

pub mod authors;
pub mod dates;
pub mod language;
pub mod lenient;
pub mod pictures;
pub mod scan;
pub mod title;

pub use authors::{LdName, authors};
pub use scan::{PageScan, fold_ws};
pub use title::{choose_title, strip_site_name};

/// Takes the photo-credit elements the scan found out of the document before extraction, so a
/// credit is recorded once (in `photo_credits`) and never left in the body. Returns their texts.
///
/// Credit elements of pictures ([`pictures::Figure::credit_node`]) count too, whatever their
/// class says ("copyright", "source").
pub fn take_credits(doc: &mut Document, scan: &PageScan) -> Vec<String> {
    let mut texts = Vec::with_capacity(scan.credits.len());
    let mut taken = Vec::new();
    let from_pictures = scan
        .figures
        .iter()
        .filter_map(|f| Some((f.credit_node?, f.credit.as_ref()?)));
    for (id, text) in scan
        .credits
        .iter()
        .map(|(id, t)| (*id, t))
        .chain(from_pictures)
    {
        if taken.contains(&id) {
            continue;
        }
        doc.detach(id);
        taken.push(id);
        if !texts.contains(text) {
            texts.push(text.clone());
        }
    }
    texts
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
    pub authors: Vec<LdName>,
    pub keywords: Vec<String>,
    pub description: Option<String>,
    /// `articleBody` as written (line breaks kept): the text behind a paywall teaser.
    pub article_body: Option<String>,
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
/// type beats `WebPage`). A block strict JSON rejects is read through [`lenient`]; one that
/// still does not parse is skipped.
pub fn json_ld(scan: &PageScan) -> JsonLd {
    let values: Vec<Value> = scan
        .json_ld
        .iter()
        .filter_map(|text| lenient::parse(text))
        .collect();
    let mut objects = Vec::new();
    for v in &values {
        collect_objects(v, &mut objects, 0);
    }
    let rank = |o: &Value| {
        let types = type_names(o);
        let article = |t: &String| ARTICLE_TYPES.contains(&t.as_str()) || t.ends_with("Article");
        match types.iter().position(article) {
            Some(_) if types.iter().any(|t| t == "WebPage") => 1,
            Some(_) => 0,
            None => 2,
        }
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
        authors: ld_authors(best, &objects),
        keywords: keywords(best.get("keywords")),
        description: str_field(best, "description"),
        article_body: best
            .get("articleBody")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The article's authors; when the article object names none, the first other object that
/// does (a `Review` or a `WebPage` beside it), comments excepted.
fn ld_authors(best: &Value, objects: &[&Value]) -> Vec<LdName> {
    let own = authors::ld_names(best.get("author"), objects);
    if !own.is_empty() {
        return own;
    }
    objects
        .iter()
        .filter(|o| !type_names(o).iter().any(|t| t == "Comment"))
        .map(|o| authors::ld_names(o.get("author"), objects))
        .find(|n| !n.is_empty())
        .unwrap_or_default()
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
            for key in ["@graph", "mainEntity"] {
                if let Some(g) = map.get(key) {
                    collect_objects(g, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// `@type` values without a schema.org URL prefix (`http://schema.org/NewsArticle`).
fn type_names(o: &Value) -> Vec<String> {
    let short = |t: &str| t.rsplit('/').next().unwrap_or(t).to_owned();
    match o.get("@type") {
        Some(Value::String(s)) => vec![short(s)],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(short).collect(),
        _ => Vec::new(),
    }
}

fn str_field(o: &Value, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .map(fold_ws)
        .filter(|s| !s.is_empty())
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
    fn json_ld_graph_and_authors() {
        let doc = Document::parse(
            r#"<script type="application/ld+json">{"@graph":[{"@type":"WebSite","name":"X"},{"@type":"NewsArticle","headline":"H","datePublished":"2025-05-05T10:00:00+03:00","author":[{"@type":"Person","name":"Ann Lee"},"Bob"],"keywords":"a, b"}]}</script>"#,
        );
        let ld = json_ld(&PageScan::new(&doc));
        assert_eq!(ld.headline.as_deref(), Some("H"));
        assert_eq!(
            ld.date_published.as_deref(),
            Some("2025-05-05T10:00:00+03:00")
        );
        let names: Vec<&str> = ld.authors.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["Ann Lee", "Bob"]);
        assert_eq!(ld.keywords, ["a", "b"]);
    }
}
