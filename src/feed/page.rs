//! Links found in HTML pages: feed autodiscovery and article links on section pages.
//!
//! Both walk the parsed document once in document order, honour `<base href>`, and return only
//! absolute `http`/`https` URLs without repeats. Pages are parsed with [`crate::html`], the
//! normalizer's parser. Charset: BOM, then `<meta charset>`, then UTF-8 (see `decode`).

use std::collections::HashSet;

use crate::html::{Document, Element, NodeId};
use regex::Regex;
use url::Url;

use super::decode::html_to_utf8;
use super::links::{clean_title, resolve_link};
use crate::model::FeedItem;

/// Media types that mark a `<link rel="alternate">` as a feed. Plain `application/json` is
/// left out on purpose: WordPress uses it for its REST API, not for JSON Feed.
const FEED_TYPES: [&str; 3] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
];

/// Finds the feeds a page advertises with `<link rel="alternate" type="application/rss+xml">`
/// (or `atom+xml`, `feed+json`), resolved against `<base href>` or `base`, in document order.
pub fn discover_feed_links(html: &[u8], base: &Url) -> Vec<Url> {
    let text = html_to_utf8(html);
    let doc = Document::parse(&text);
    let base = document_base(&doc, base);
    let mut seen = HashSet::new();
    elements(&doc)
        .filter(|el| el.name() == "link")
        .filter(|el| {
            let rel = el.attr("rel").unwrap_or_default();
            rel.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("alternate"))
        })
        .filter(|el| {
            let media = el.attr("type").unwrap_or_default();
            let media = media.split(';').next().unwrap_or_default().trim();
            FEED_TYPES.iter().any(|t| media.eq_ignore_ascii_case(t))
        })
        .filter_map(|el| resolve_link(el.attr("href")?, &base).ok())
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

/// Article links on a section (rubric) page: `<a href>` targets on the same host as
/// `page_url` whose absolute URL matches `article_url_regex`, fragments removed, without
/// repeats, in document order.
pub fn section_links(html: &[u8], page_url: &Url, article_url_regex: &Regex) -> Vec<Url> {
    section_items(html, page_url, article_url_regex)
        .into_iter()
        .map(|item| item.url)
        .collect()
}

/// Like [`section_links`], with the anchor text of each link's first occurrence as its title
/// (folded whitespace; `None` when the anchor holds only an image). No dates: section pages
/// print them in too many ways to read here.
pub fn section_items(html: &[u8], page_url: &Url, article_url_regex: &Regex) -> Vec<FeedItem> {
    let text = html_to_utf8(html);
    let doc = Document::parse(&text);
    let base = document_base(&doc, page_url);
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for el in elements(&doc).filter(|el| el.name() == "a") {
        let Some(mut url) = el.attr("href").and_then(|h| resolve_link(h, &base).ok()) else {
            continue;
        };
        url.set_fragment(None);
        let same_host = url
            .host_str()
            .is_some_and(|h| Some(h) == page_url.host_str())
            && url.port_or_known_default() == page_url.port_or_known_default();
        if same_host && article_url_regex.is_match(url.as_str()) && seen.insert(url.clone()) {
            let title = clean_title(&doc.text(el.id()));
            items.push(FeedItem {
                url,
                title,
                published: None,
            });
        }
    }
    items
}

/// Every element of the document, in document order.
fn elements(doc: &Document) -> impl Iterator<Item = Element<'_>> {
    doc.descendants(NodeId::ROOT).filter_map(|n| doc.element(n))
}

/// The URL relative links resolve against: the first `<base href>` when it is a valid
/// `http(s)` URL, else the page URL.
fn document_base(doc: &Document, page_url: &Url) -> Url {
    elements(doc)
        .find(|el| el.name() == "base" && el.attr("href").is_some())
        .and_then(|el| resolve_link(el.attr("href")?, page_url).ok())
        .unwrap_or_else(|| page_url.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autodiscovery_links() {
        let html = br#"<!doctype html><html><head>
            <link title="TASS" rel="alternate" type="application/rss+xml" href="http://tass.example/rss/v2.xml" />
            <link rel="Alternate  feed" type="application/atom+xml; charset=utf-8" href="/atom.xml">
            <link rel="alternate" type="application/feed+json" href="feed.json">
            <link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/1">
            <link rel="alternate" hreflang="ru" href="/ru/">
            <link rel="stylesheet" type="application/rss+xml" href="/nope.xml">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            <link rel="alternate" type="application/rss+xml" href="http://tass.example/rss/v2.xml">
            </head><body></body></html>"#;
        let base = Url::parse("https://tass.example/en/index.html").unwrap();
        let found: Vec<String> = discover_feed_links(html, &base)
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "http://tass.example/rss/v2.xml",
                "https://tass.example/atom.xml",
                "https://tass.example/en/feed.json"
            ]
        );
    }

    #[test]
    fn base_href_is_honoured() {
        let html = br#"<html><head><base href="https://cdn.example/site/">
            <link rel="alternate" type="application/rss+xml" href="rss"></head></html>"#;
        let base = Url::parse("https://news.example/").unwrap();
        let found = discover_feed_links(html, &base);
        assert_eq!(
            found.first().map(Url::as_str),
            Some("https://cdn.example/site/rss")
        );
    }

    #[test]
    fn section_links_filter_host_and_regex() {
        let html = r#"<html><body><div id="inner">
            <a href="/president/view/lukashenko-visit-711961-2025/">Lukashenko
               visit</a>
            <a href="https://eng.belta.example/politics/view/talks-167543-2025#comments"><img src="x.jpg"></a>
            <a href="https://eng.belta.example/politics/view/talks-167543-2025">Talks</a>
            <a href="https://other.example/president/view/copied-1-2025/">Other host</a>
            <a href="/president/">Rubric</a>
            <a href="javascript:void(0)">JS</a>
            <a>No href</a>
            <a href="//eng.belta.example/society/view/школа-2-2025/">Школа</a>
            </div></body></html>"#;
        let page = Url::parse("https://eng.belta.example/president/").unwrap();
        let re =
            Regex::new(r"^https?://eng\.belta\.example/[a-z_]+/view/[^/]+-\d+-20\d\d/?$").unwrap();
        let items = section_items(html.as_bytes(), &page, &re);
        let found: Vec<(&str, Option<&str>)> = items
            .iter()
            .map(|i| (i.url.as_str(), i.title.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "https://eng.belta.example/president/view/lukashenko-visit-711961-2025/",
                    Some("Lukashenko visit")
                ),
                (
                    "https://eng.belta.example/politics/view/talks-167543-2025",
                    None
                ),
                (
                    "https://eng.belta.example/society/view/%D1%88%D0%BA%D0%BE%D0%BB%D0%B0-2-2025/",
                    Some("Школа")
                ),
            ]
        );
        assert_eq!(section_links(html.as_bytes(), &page, &re).len(), 3);
    }
}
