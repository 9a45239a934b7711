//! RSS 0.9x/1.0/2.0, Atom and JSON Feed through `feed-rs`, reduced to article links.
//!
//! `feed-rs` does the format work (namespaces, `xml:base`, CDATA, RSS 1.0 `dc:date`, JSON Feed
//! `url`/`external_url`). Three of its habits are worked around here:
//! - it reports dates as UTC only, so a custom timestamp parser (our lenient [`parse_date`])
//!   records the offset each instant was written with, and the offset is put back afterwards;
//! - it invents an id for entries without one (a hash or a random UUID), so ids are switched
//!   off and an entry id is only used as a link when it is itself an absolute `http(s)` URL
//!   (the RSS `<guid>` permalink case; `feed-rs` drops the `isPermaLink` attribute);
//! - it leaves undeclared and HTML entities (`&laquo;`) as literal text, which
//!   [`clean_title`] decodes;
//! - it rejects `<rss>` without `version="2.0"`/`"0.91"`/`"0.92"` ("no root element"), and
//!   returns an *empty* feed when the root binds a default namespace it does not know (the old
//!   UserLand `rss2` namespace, Atom 0.3, RSS 0.90): [`normalize_root`] rewrites such a root
//!   tag before parsing;
//! - it resolves an empty `<link>` / `href=""` to the document URL, which is not an article,
//!   so such a link counts as missing.
//!
//! An XML feed does not reach `feed-rs` whole: [`chunks`] cuts it into small feeds holding
//! only what is read here (links, titles, dates), parsed one after the other into one
//! collector, so memory stays a few times the body instead of `feed-rs`'s ~20× for a whole
//! document tree. A JSON Feed goes through whole (serde reads it compactly).
//!
//! Input is UTF-8 text without an XML declaration (see `decode`), so `feed-rs`'s own charset
//! handling never comes into play. `feed-rs` never expands DTD entities: an `&name;` it does not
//! know stays literal text.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, Utc};
use feed_rs::model::{Entry, Link};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use url::Url;

use super::Discovery;
use super::chunks;
use super::dates::parse_date;
use super::links::{Collector, clean_title};

/// The offset each parsed instant was written with, filled by the timestamp parser.
type OffsetTable = Arc<Mutex<HashMap<DateTime<Utc>, FixedOffset>>>;

/// RSS versions `feed-rs` accepts on the `<rss>` root.
const KNOWN_RSS_VERSIONS: [&str; 3] = ["2.0", "0.91", "0.92"];

/// Parses a feed into article links. The error is `feed-rs`'s description of the failure.
pub(crate) fn parse_feed(text: &str, doc_url: &Url) -> Result<Discovery, String> {
    let offsets = OffsetTable::default();
    let table = Arc::clone(&offsets);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(doc_url.as_str()))
        .sanitize_content(false)
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(move |text| {
            let parsed = parse_date(text)?;
            let utc = parsed.with_timezone(&Utc);
            if let Ok(mut table) = table.lock() {
                table.entry(utc).or_insert(*parsed.offset());
            }
            Some(utc)
        })
        .build();
    let mut collector = Collector::new(doc_url);
    let mut parse_piece = |piece: &str| -> Result<(), String> {
        let feed = parser
            .parse(normalize_root(piece).as_bytes())
            .map_err(|err| err.to_string())?;
        let offsets = offsets
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for entry in &feed.entries {
            add_entry(&mut collector, entry, &offsets, doc_url);
        }
        Ok(())
    };
    if text.starts_with('{') {
        // JSON Feed: `feed-rs` reads it through serde into its model, already compact.
        parse_piece(text)?;
    } else {
        chunks::for_each_piece(text, parse_piece)?;
    }
    Ok(collector.finish())
}

/// Adds one entry: its article link, or its id when that is a URL, or a rejection.
fn add_entry(
    collector: &mut Collector<'_>,
    entry: &Entry,
    offsets: &HashMap<DateTime<Utc>, FixedOffset>,
    doc_url: &Url,
) {
    let title = entry.title.as_ref().and_then(|t| clean_title(&t.content));
    let published = entry
        .published
        .or(entry.updated)
        .map(|utc| match offsets.get(&utc) {
            Some(offset) => utc.with_timezone(offset),
            None => utc.fixed_offset(),
        });
    let link = article_link(&entry.links).filter(|l| l.href.trim() != doc_url.as_str());
    if let Some(link) = link {
        collector.item(&link.href, title, published);
    } else if is_absolute_http(&entry.id) {
        collector.item(&entry.id, title, published);
    } else {
        let hint = title.as_deref().unwrap_or(entry.id.as_str());
        collector.missing(hint);
    }
}

/// The entry's page: the first `alternate` link (RSS `<link>`, Atom `rel="alternate"` or no
/// rel, JSON Feed `url`), preferring one typed as HTML or untyped. Comment links are skipped.
fn article_link(links: &[Link]) -> Option<&Link> {
    let mut alternates = links.iter().filter(|l| {
        l.target.is_none()
            && l.rel
                .as_deref()
                .is_none_or(|r| r.trim().eq_ignore_ascii_case("alternate"))
    });
    let first = alternates.clone().next();
    alternates
        .find(|l| {
            l.media_type.as_deref().is_none_or(|t| {
                let t = t.trim().to_ascii_lowercase();
                t.starts_with("text/html") || t.starts_with("application/xhtml+xml")
            })
        })
        .or(first)
}

/// Rewrites the root start tag when `feed-rs` would misread it: an `<rss>` whose `version`
/// is missing or unknown gets `version="2.0"` (the RSS 2.0 reader also reads 0.9x), and a
/// default `xmlns` that is not the one `feed-rs` expects for that root is dropped. Other
/// attributes, including prefixed namespace bindings, are kept. Anything unexpected leaves the
/// text as it is, for `feed-rs` to report.
fn normalize_root(text: &str) -> Cow<'_, str> {
    let mut reader = Reader::from_str(text);
    loop {
        let tag_start = reader.buffer_position();
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                let tag_end = reader.buffer_position();
                let rewritten = rewrite_root_tag(&start).and_then(|tag| {
                    let before = text.get(..usize::try_from(tag_start).ok()?)?;
                    let after = text.get(usize::try_from(tag_end).ok()?..)?;
                    Some(format!("{before}{tag}{after}"))
                });
                return rewritten.map_or(Cow::Borrowed(text), Cow::Owned);
            }
            Ok(Event::Eof | Event::Empty(_)) | Err(_) => return Cow::Borrowed(text),
            Ok(_) => {}
        }
    }
}

/// The replacement for a root start tag, or `None` when it needs none.
fn rewrite_root_tag(start: &BytesStart<'_>) -> Option<String> {
    let local = start.local_name();
    let expected_default_ns = match local.as_ref() {
        "rss" => None,
        "feed" => Some("http://www.w3.org/2005/Atom"),
        "RDF" => Some("http://purl.org/rss/1.0/"),
        _ => return None,
    };
    let is_rss = local.as_ref() == "rss";
    let mut changed = false;
    let mut version = None;
    let mut kept = String::new();
    for attr in start.attributes().flatten() {
        let key: &str = attr.key.as_ref();
        if is_rss && key == "version" {
            version = Some(attr.value.trim().to_owned());
        } else if key == "xmlns" && Some(attr.value.trim()) != expected_default_ns {
            changed = true;
        } else {
            kept.push_str(&format!(" {key}=\"{}\"", attr.value.replace('"', "&quot;")));
        }
    }
    let mut tag = format!("<{}", AsRef::<str>::as_ref(&start.name()));
    if is_rss {
        let version = version.filter(|v| KNOWN_RSS_VERSIONS.contains(&v.as_str()));
        changed |= version.is_none();
        tag.push_str(&format!(
            " version=\"{}\"",
            version.as_deref().unwrap_or("2.0")
        ));
    }
    tag.push_str(&kept);
    tag.push('>');
    changed.then_some(tag)
}

/// True for text that parses on its own (no base) as an `http`/`https` URL.
fn is_absolute_http(text: &str) -> bool {
    Url::parse(text.trim()).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use chrono::Offset;

    use super::*;
    use crate::feed::RejectReason;

    fn doc() -> Url {
        Url::parse("https://news.example/rss/").unwrap()
    }

    fn parse(text: &str) -> Discovery {
        parse_feed(text, &doc()).unwrap()
    }

    fn urls(d: &Discovery) -> Vec<&str> {
        d.items.iter().map(|i| i.url.as_str()).collect()
    }

    #[test]
    fn rss2_links_guids_dates_titles() {
        let d = parse(
            r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
            <item><title><![CDATA[ Lukashenko &laquo;visit&raquo; ]]></title>
              <link>
                https://news.example/a-1.html
              </link><pubDate>Sun, 27 Feb 2022 13:01:01 +0300</pubDate></item>
            <item><title>No link</title><guid isPermaLink="true">https://news.example/b-2.html</guid>
              <pubDate>Mon, 05 May 2025 10:31:24 MSK</pubDate></item>
            <item><title>Relative</title><link>/c-3.html</link><dc:date>2025-05-05</dc:date></item>
            <item><title>Dup</title><link>https://news.example/a-1.html</link></item>
            <item><title>Bad date</title><link>d-4.html</link><pubDate>someday</pubDate></item>
            <item><title>Nothing</title><guid isPermaLink="false">12345</guid></item>
            </channel></rss>"#,
        );
        assert_eq!(
            urls(&d),
            [
                "https://news.example/a-1.html",
                "https://news.example/b-2.html",
                "https://news.example/c-3.html",
                "https://news.example/rss/d-4.html"
            ]
        );
        let first = d.items.first().unwrap();
        assert_eq!(first.title.as_deref(), Some("Lukashenko «visit»"));
        let date = first.published.unwrap();
        assert_eq!(date.to_rfc3339(), "2022-02-27T13:01:01+03:00");
        assert_eq!(
            d.items
                .get(1)
                .unwrap()
                .published
                .unwrap()
                .offset()
                .fix()
                .local_minus_utc(),
            10800
        );
        assert_eq!(
            d.items.get(2).unwrap().published.unwrap().to_rfc3339(),
            "2025-05-05T00:00:00+00:00"
        );
        assert_eq!(d.items.get(3).unwrap().published, None);
        assert_eq!(d.rejected.len(), 1);
        assert_eq!(
            d.rejected.first().unwrap().reason,
            RejectReason::MissingLink
        );
    }

    #[test]
    fn rss1_rdf() {
        let d = parse(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
                xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
              <channel rdf:about="https://news.example/"><title>T</title><link>https://news.example/</link></channel>
              <item rdf:about="https://news.example/r1"><title>One</title><link>https://news.example/r1</link>
                <dc:date>2025-05-05T10:31:24+03:00</dc:date></item>
            </rdf:RDF>"#,
        );
        assert_eq!(urls(&d), ["https://news.example/r1"]);
        assert_eq!(
            d.items.first().unwrap().published.unwrap().to_rfc3339(),
            "2025-05-05T10:31:24+03:00"
        );
    }

    #[test]
    fn atom_alternate_links_and_xml_base() {
        let d = parse(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://other.example/blog/">
              <title>T</title><id>urn:x</id><updated>2025-05-05T00:00:00Z</updated>
              <entry><title type="html">A &amp;amp; B</title><id>tag:x,2025:1</id>
                <link rel="self" href="https://other.example/api/1"/>
                <link rel="alternate" type="text/html" href="post/1"/>
                <published>2025-05-05T10:31:24+03:00</published></entry>
              <entry><title>Updated only</title><id>tag:x,2025:2</id><link href="post/2"/>
                <updated>2025-05-06T08:00:00-04:00</updated></entry>
              <entry><title>Tag id only</title><id>tag:x,2025:3</id></entry>
            </feed>"#,
        );
        assert_eq!(
            urls(&d),
            [
                "https://other.example/blog/post/1",
                "https://other.example/blog/post/2"
            ]
        );
        assert_eq!(d.items.first().unwrap().title.as_deref(), Some("A & B"));
        assert_eq!(
            d.items.get(1).unwrap().published.unwrap().to_rfc3339(),
            "2025-05-06T08:00:00-04:00"
        );
        assert_eq!(
            d.rejected.first().unwrap().reason,
            RejectReason::MissingLink
        );
    }

    #[test]
    fn json_feed() {
        let d = parse(
            r#"{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [
                {"id": "1", "url": "https://news.example/j1", "title": " J  one ",
                 "date_published": "2025-05-05T10:31:24+03:00"},
                {"id": "2", "external_url": "/j2"},
                {"id": "3", "url": "javascript:alert(1)"}]}"#,
        );
        assert_eq!(
            urls(&d),
            ["https://news.example/j1", "https://news.example/j2"]
        );
        assert_eq!(d.items.first().unwrap().title.as_deref(), Some("J one"));
        assert_eq!(
            d.items.first().unwrap().published.unwrap().to_rfc3339(),
            "2025-05-05T10:31:24+03:00"
        );
        assert_eq!(d.rejected.first().unwrap().reason, RejectReason::BadScheme);
    }

    #[test]
    fn bad_schemes_rejected() {
        let d = parse(
            r#"<rss version="2.0"><channel><title>T</title>
            <item><link>javascript:alert(1)</link></item><item><link>file:///etc/passwd</link></item>
            <item><link>ftp://news.example/x</link></item><item><link>data:text/html,x</link></item>
            <item><link>mailto:editor@news.example</link></item><item><link>http://news.example/ok</link></item>
            </channel></rss>"#,
        );
        assert_eq!(urls(&d), ["http://news.example/ok"]);
        assert_eq!(d.rejected.len(), 5);
        assert!(
            d.rejected
                .iter()
                .all(|r| r.reason == RejectReason::BadScheme)
        );
        assert_eq!(d.rejected.first().unwrap().link, "javascript:alert(1)");
    }

    #[test]
    fn odd_roots_are_normalised() {
        for root in [
            "<rss>",
            r#"<rss version="2.01" xmlns:dc="http://purl.org/dc/elements/1.1/">"#,
            r#"<rss version='2.0' xmlns="http://backend.userland.com/rss2">"#,
        ] {
            let text = format!(
                "{root}<channel><item><title>T</title><link>/a</link>\
                 <dc:date xmlns:dc=\"http://purl.org/dc/elements/1.1/\">2025-05-05</dc:date></item></channel></rss>"
            );
            let d = parse(&text);
            assert_eq!(urls(&d), ["https://news.example/a"], "{root}");
            assert!(d.items.first().unwrap().published.is_some(), "{root}");
        }
        let atom03 = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><title>A</title>
            <link rel="alternate" type="text/html" href="https://news.example/a03"/></entry></feed>"#;
        assert_eq!(urls(&parse(atom03)), ["https://news.example/a03"]);
        let untouched = r#"<rss version="2.0"><channel></channel></rss>"#;
        assert!(matches!(normalize_root(untouched), Cow::Borrowed(_)));
    }

    #[test]
    fn empty_links_are_missing_not_the_feed_itself() {
        let d = parse(
            r#"<rss version="2.0"><channel><item><title>Blank</title><link>  </link></item>
            <item><link></link><guid>https://news.example/g</guid></item></channel></rss>"#,
        );
        assert_eq!(urls(&d), ["https://news.example/g"]);
        assert_eq!(
            d.rejected.first().unwrap().reason,
            RejectReason::MissingLink
        );
    }

    #[test]
    fn undeclared_entities_stay_literal_and_unknown_roots_fail() {
        let d = parse(
            r#"<rss version="2.0"><channel><item><title>&lol9;</title><link>/x</link></item></channel></rss>"#,
        );
        assert_eq!(d.items.first().unwrap().title.as_deref(), Some("&lol9;"));
        assert!(parse_feed("<html><body>hi</body></html>", &doc()).is_err());
        assert!(parse_feed(r#"<rss version="2.0"><channel><item>"#, &doc()).is_err());
    }
}
