//! Page metadata other than the body: title, description, canonical URL, lead image, authors,
//! tags, the page language attribute, and the raw date candidates (JSON-LD, meta, `<time>`).
//!
//! Everything is read from the one-pass [`PageScan`] of the parsed document.

use crate::html::Document;
use serde_json::Value;

pub mod authors;
pub mod dates;
pub mod language;
pub mod pictures;
pub mod scan;

pub use authors::{LdName, authors};
pub use scan::{PageScan, fold_ws};

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
/// type beats `WebPage`). Malformed blocks are skipped.
pub fn json_ld(scan: &PageScan) -> JsonLd {
    let values: Vec<Value> = scan
        .json_ld
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text.trim()).ok())
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

/// Chooses the headline among the page's candidates (`h1`s, JSON-LD `headline`, `og:title`,
/// `twitter:title`, `h2`s, `<title>`):
/// 1. an `h1` that a metadata title repeats exactly;
/// 2. else the first candidate that `<title>` contains without being all of it (the title is
///    "headline | site": what it repeats is the headline, not a logo or a section name);
/// 3. else an `h1` that `<title>`/`og:title`/`headline` confirm by containment;
/// 4. else `og:title`, `headline`, the first `h1`, `<title>`, site names stripped.
pub fn choose_title(scan: &PageScan, ld: &JsonLd, site_names: &[&str]) -> Option<String> {
    let og = meta_first(&scan.metas, &["og:title"]).map(fold_ws);
    let twitter = meta_first(&scan.metas, &["twitter:title"]).map(fold_ws);
    let headline = ld
        .headline
        .as_deref()
        .map(|h| fold_ws(&crate::html::decode_entities(h)));
    let html_title = scan.title.clone().unwrap_or_default();
    let usable = |t: &&String| t.chars().count() >= 3;
    let h1s: Vec<&String> = scan.h1s.iter().filter(usable).collect();
    let metas: Vec<&String> = [&og, &twitter, &headline].into_iter().flatten().collect();
    let end_segments = title_end_segments(&html_title);
    let is_site = |c: &str| {
        site_names.iter().any(|s| s.trim().eq_ignore_ascii_case(c))
            || end_segments.iter().any(|s| s == c)
    };
    if let Some(h) = h1s.iter().find(|h| metas.contains(h) && !is_site(h)) {
        return Some((*h).clone());
    }
    let in_title = h1s
        .iter()
        .copied()
        .chain([&headline, &og, &twitter].into_iter().flatten())
        .chain(scan.h2s.iter().filter(usable))
        .find(|c| usable(c) && *c != &html_title && html_title.contains(c.as_str()) && !is_site(c));
    if let Some(c) = in_title {
        return Some(c.clone());
    }
    let confirm = |h: &str| {
        let h = h.to_lowercase();
        [
            og.as_deref(),
            Some(html_title.as_str()),
            headline.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .any(|t| t.to_lowercase().contains(&h) || h.contains(&t.to_lowercase()))
    };
    if let Some(h) = h1s.iter().find(|h| confirm(h)) {
        return Some((*h).clone());
    }
    og.map(|t| strip_site_name(&t, site_names))
        .filter(|t| !t.is_empty())
        .or(headline)
        .or_else(|| h1s.first().map(|h| (*h).clone()))
        .or_else(|| Some(strip_site_name(&html_title, site_names)))
        .filter(|t| !t.is_empty())
}

/// The first and last parts of a `<title>` split at a separator ("Post | Blog name",
/// "Blog » Post") when each is the shorter side: where the site's name sits, so a
/// candidate equal to one is a logo, not the headline.
fn title_end_segments(title: &str) -> Vec<String> {
    const SEPS: &[&str] = &[
        " | ", " — ", " – ", " - ", " :: ", " · ", " / ", " » ", " « ",
    ];
    let mut out = Vec::new();
    for sep in SEPS {
        let Some((first, rest)) = title.split_once(sep) else {
            continue;
        };
        if first.chars().count() < rest.chars().count() {
            out.push(first.trim().to_owned());
        }
        if let Some((head, last)) = title.rsplit_once(sep)
            && last.chars().count() < head.chars().count()
        {
            out.push(last.trim().to_owned());
        }
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

    #[test]
    fn the_candidate_the_html_title_repeats_wins_over_a_logo_or_kicker() {
        // og:title is the site's name; the blog post title sits in an h2.
        let doc = Document::parse(
            "<title>Yellow Vests and I – Pamela Anderson</title>\
             <meta property=\"og:title\" content=\"Pamela Anderson\">\
             <h1>Pamela Anderson</h1><h2>Yellow Vests and I</h2>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &["Pamela Anderson"]).as_deref(),
            Some("Yellow Vests and I")
        );
        // A blog's name in the h1 and at the end of <title>; the post title in an h2.
        let doc = Document::parse(
            "<title>Interning of small integers | Four Years Remaining</title>\
             <h1>Four Years Remaining</h1><h2>Interning of small integers</h2>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &[]).as_deref(),
            Some("Interning of small integers")
        );
        // An h1 that og:title repeats exactly wins over the longer <title>.
        let doc = Document::parse(
            "<title>Budget passes after long debate | Daily</title>\
             <meta property=\"og:title\" content=\"Budget passes\"><h1>Budget passes</h1>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &[]).as_deref(),
            Some("Budget passes")
        );
    }

    #[test]
    fn h1_confirmed_by_title_wins() {
        let doc = Document::parse(
            "<title>Real headline | Site</title><h1>Site logo</h1><h1>Real headline</h1>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &["Site"]).as_deref(),
            Some("Real headline")
        );
    }
}
