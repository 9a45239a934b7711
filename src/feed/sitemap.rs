//! Sitemaps (`<urlset>`) and sitemap indexes (`<sitemapindex>`), read with quick-xml streaming.
//!
//! Elements are matched by local name *and position*, not by namespace: sitemaps in the wild
//! omit the `xmlns`, use the old Google 0.84 namespace, or bind the news extension to odd
//! prefixes. Position keeps extensions apart: `<loc>` counts only directly under `<url>` /
//! `<sitemap>` (so `image:image/image:loc` is ignored), and `publication_date` / `title` only
//! directly under the news extension's `<news>` element (so `video:title` is ignored).
//!
//! For each `<url>`: the link is `<loc>`, the date is `news:publication_date` when present and
//! readable, else `<lastmod>`, and the title is `news:title`. Character references and the five
//! XML entities are resolved; any other `&name;` stays literal, so nothing is ever expanded.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, Event};
use url::Url;

use super::Discovery;
use super::dates::parse_w3c;
use super::links::{Collector, clean_title};

/// Which kind of sitemap document is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SitemapKind {
    /// `<urlset>`: article links.
    UrlSet,
    /// `<sitemapindex>`: child sitemaps.
    Index,
}

/// The role of an open element, decided from its local name and its parent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Entry,
    Loc,
    Lastmod,
    News,
    PublicationDate,
    NewsTitle,
    Other,
}

/// Text gathered for the entry being read.
#[derive(Debug, Default)]
struct EntryText {
    loc: String,
    lastmod: String,
    publication_date: String,
    title: String,
}

/// Parses a sitemap or sitemap index. The error describes the XML fault and where it is.
pub(crate) fn parse_sitemap(
    text: &str,
    doc_url: &Url,
    kind: SitemapKind,
) -> Result<Discovery, String> {
    let mut reader = Reader::from_str(text);
    let mut collector = Collector::new(doc_url);
    let mut stack: Vec<Role> = Vec::new();
    let mut entry = EntryText::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|err| format!("{err} at byte {}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                let role = role_of(stack.last().copied(), start.local_name().as_ref(), kind);
                if role == Role::Entry {
                    entry = EntryText::default();
                }
                stack.push(role);
            }
            Event::End(_) => {
                // Not a match guard: the pop must happen for every end tag.
                let closed = stack.pop();
                if closed == Some(Role::Entry) {
                    emit(&mut collector, &entry, kind);
                }
            }
            Event::Text(text) => push_text(&mut entry, stack.last(), &text),
            Event::CData(data) => push_text(&mut entry, stack.last(), &data),
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference);
                push_text(&mut entry, stack.last(), &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(role) = stack.last() {
        return Err(format!("document ends inside an open element ({role:?})"));
    }
    Ok(collector.finish())
}

/// Decides an element's role from its parent's role and its local name.
fn role_of(parent: Option<Role>, local: &str, kind: SitemapKind) -> Role {
    let entry_name = match kind {
        SitemapKind::UrlSet => "url",
        SitemapKind::Index => "sitemap",
    };
    match (parent, local) {
        (None, _) => Role::Root,
        (Some(Role::Root), name) if name == entry_name => Role::Entry,
        (Some(Role::Entry), "loc") => Role::Loc,
        (Some(Role::Entry), "lastmod") => Role::Lastmod,
        (Some(Role::Entry), "news") if kind == SitemapKind::UrlSet => Role::News,
        (Some(Role::News), "publication_date") => Role::PublicationDate,
        (Some(Role::News), "title") => Role::NewsTitle,
        _ => Role::Other,
    }
}

/// Appends text to the field the innermost open element feeds, if any.
fn push_text(entry: &mut EntryText, role: Option<&Role>, text: &str) {
    let field = match role {
        Some(Role::Loc) => &mut entry.loc,
        Some(Role::Lastmod) => &mut entry.lastmod,
        Some(Role::PublicationDate) => &mut entry.publication_date,
        Some(Role::NewsTitle) => &mut entry.title,
        _ => return,
    };
    field.push_str(text);
}

/// Resolves `&#NN;`, `&#xNN;` and the five XML entities; anything else is kept as written.
fn resolve_reference(reference: &BytesRef<'_>) -> String {
    if let Ok(Some(ch)) = reference.resolve_char_ref() {
        return ch.to_string();
    }
    let name: &str = reference;
    match resolve_predefined_entity(name) {
        Some(resolved) => resolved.to_owned(),
        None => format!("&{name};"),
    }
}

/// Hands a finished `<url>` or `<sitemap>` entry to the collector.
fn emit(collector: &mut Collector<'_>, entry: &EntryText, kind: SitemapKind) {
    if entry.loc.trim().is_empty() {
        let what = match kind {
            SitemapKind::UrlSet => "<url> without <loc>",
            SitemapKind::Index => "<sitemap> without <loc>",
        };
        collector.missing(what);
        return;
    }
    let lastmod = parse_w3c(&entry.lastmod);
    match kind {
        SitemapKind::UrlSet => {
            let published = parse_w3c(&entry.publication_date).or(lastmod);
            collector.item(&entry.loc, clean_title(&entry.title), published);
        }
        SitemapKind::Index => collector.child(&entry.loc, lastmod),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::RejectReason;

    fn doc() -> Url {
        Url::parse("https://news.example/sitemap.xml").unwrap()
    }

    #[test]
    fn plain_sitemap_with_lastmod_and_relative_links() {
        let d = parse_sitemap(
            r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
                xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
              <url><loc> https://news.example/a?x=1&amp;y=2 </loc><lastmod>2025-05-05</lastmod>
                <image:image><image:loc>https://news.example/a.jpg</image:loc></image:image></url>
              <url><loc><![CDATA[/b.html]]></loc><lastmod>2025-05-05T10:31:24+03:00</lastmod></url>
              <url><loc>javascript:alert(1)</loc></url>
              <url><lastmod>2025-05-05</lastmod></url>
              <url><loc>https://news.example/c</loc><lastmod>not a date</lastmod></url>
            </urlset>"#,
            &doc(),
            SitemapKind::UrlSet,
        )
        .unwrap();
        let urls: Vec<_> = d.items.iter().map(|i| i.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://news.example/a?x=1&y=2",
                "https://news.example/b.html",
                "https://news.example/c"
            ]
        );
        let dates: Vec<_> = d
            .items
            .iter()
            .map(|i| i.published.map(|p| p.to_rfc3339()))
            .collect();
        assert_eq!(
            dates,
            [
                Some("2025-05-05T00:00:00+00:00".to_owned()),
                Some("2025-05-05T10:31:24+03:00".to_owned()),
                None
            ]
        );
        let reasons: Vec<_> = d.rejected.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            [RejectReason::BadScheme, RejectReason::MissingLink]
        );
    }

    #[test]
    fn news_sitemap_prefers_publication_date_and_news_title() {
        let d = parse_sitemap(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
                    xmlns:n="http://www.google.com/schemas/sitemap-news/0.9"
                    xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">
              <url><loc>https://tass.example/world/1</loc><lastmod>2025-05-06</lastmod>
                <n:news><n:publication><n:name>TASS</n:name><n:language>en</n:language></n:publication>
                  <n:publication_date>2025-05-05T10:31:24+03:00</n:publication_date>
                  <n:title>Lukashenko &#8212; visit &amp; talks</n:title></n:news>
                <video:video><video:title>Not this</video:title></video:video></url>
              <url><loc>https://tass.example/world/2</loc><lastmod>2025-05-06</lastmod>
                <news><publication_date>garbage</publication_date><title>Plain prefixless</title></news></url>
            </urlset>"#,
            &doc(),
            SitemapKind::UrlSet,
        )
        .unwrap();
        let first = d.items.first().unwrap();
        assert_eq!(first.title.as_deref(), Some("Lukashenko — visit & talks"));
        assert_eq!(
            first.published.unwrap().to_rfc3339(),
            "2025-05-05T10:31:24+03:00"
        );
        let second = d.items.get(1).unwrap();
        assert_eq!(second.title.as_deref(), Some("Plain prefixless"));
        assert_eq!(
            second.published.unwrap().to_rfc3339(),
            "2025-05-06T00:00:00+00:00"
        );
    }

    #[test]
    fn sitemap_index_children() {
        let d = parse_sitemap(
            r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <sitemap><loc>https://ria.example/sitemap_article.xml?date_start=20250501</loc>
                <lastmod>2025-05-31T23:59:59+03:00</lastmod></sitemap>
              <sitemap><loc>/sitemap2.xml.gz</loc></sitemap>
              <sitemap><loc>/sitemap2.xml.gz</loc></sitemap>
              <url><loc>https://ria.example/not-a-child</loc></url>
            </sitemapindex>"#,
            &doc(),
            SitemapKind::Index,
        )
        .unwrap();
        assert!(d.items.is_empty());
        let children: Vec<_> = d
            .children
            .iter()
            .map(|(u, m)| (u.as_str(), m.is_some()))
            .collect();
        assert_eq!(
            children,
            [
                (
                    "https://ria.example/sitemap_article.xml?date_start=20250501",
                    true
                ),
                ("https://news.example/sitemap2.xml.gz", false)
            ]
        );
    }

    #[test]
    fn cap_and_malformed() {
        let mut xml = String::from("<urlset>");
        for i in 0..50_005 {
            xml.push_str(&format!("<url><loc>/a{i}</loc></url>"));
        }
        xml.push_str("</urlset>");
        let d = parse_sitemap(&xml, &doc(), SitemapKind::UrlSet).unwrap();
        assert_eq!(d.items.len(), 50_000);
        assert_eq!(d.over_cap, 5);
        assert!(
            parse_sitemap(
                "<urlset><url><loc>/a</lo></url></urlset>",
                &doc(),
                SitemapKind::UrlSet
            )
            .is_err()
        );
        assert!(parse_sitemap("<urlset><url><loc>/a</loc>", &doc(), SitemapKind::UrlSet).is_err());
    }
}
