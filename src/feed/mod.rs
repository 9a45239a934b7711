//! Discovery parsing: bytes of a feed, sitemap, robots.txt or HTML page in, article URLs out.
//!
//! Pure and sync: no network, no tokio, no clock, no global state. The fetcher hands over a
//! body it already capped; this module makes it safe to read and reduces it to [`FeedItem`]s.
//!
//! # Architecture
//! - [`parse_discovery`] is the entry point for feeds and sitemaps. It removes gzip by magic
//!   bytes under a cap on *decoded* bytes (`decode`), decodes the charset to UTF-8 (BOM, XML
//!   declaration, `Content-Type`), sniffs the kind ([`sniff`]), refuses DTD entity
//!   declarations, and dispatches to `syndication` (RSS/Atom/JSON Feed through `feed-rs`, XML
//!   feeds cut by `chunks` into small pieces so memory stays a few times the body) or
//!   `sitemap` (quick-xml streaming).
//! - `links` is shared by both: link trimming and resolution, the `http`/`https`-only rule,
//!   first-wins deduplication, title cleaning and the per-document entry cap.
//! - `dates` parses RFC 822, RFC 3339 and W3C datetimes leniently; unreadable dates are `None`.
//! - [`discover_feed_links`], [`section_links`] (`page`) and [`robots_sitemaps`] (`robots`)
//!   find further discovery URLs in HTML pages and robots.txt.
//!
//! What this module must not do: fetch anything (external DTDs and entities included), expand
//! entities, or fail a whole document because one entry is bad: bad entries go to
//! [`Discovery::rejected`].

mod chunks;
mod dates;
mod decode;
mod links;
mod page;
mod robots;
mod sitemap;
mod sniff;
mod syndication;

use std::fmt;

use chrono::{DateTime, FixedOffset};
use url::Url;

use self::decode::{DecodeError, gunzip_capped, to_utf8_text};
pub use self::links::MAX_ENTRIES_PER_DOCUMENT;
pub use self::page::{discover_feed_links, section_items, section_links};
pub use self::robots::robots_sitemaps;
use self::sitemap::SitemapKind;
pub use self::sniff::sniff;
use crate::model::FeedItem;

/// What a discovery body is, as told by [`sniff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// RSS 0.9x, 1.0 (`rdf:RDF`) or 2.0.
    Rss,
    /// Atom 1.0.
    Atom,
    /// JSON Feed 1.x.
    JsonFeed,
    /// A sitemap `<urlset>`, including Google News sitemaps.
    Sitemap,
    /// A `<sitemapindex>` listing child sitemaps.
    SitemapIndex,
    /// An HTML page (an error page, a paywall, a moved feed's landing page…).
    Html,
    /// Nothing but whitespace.
    Empty,
    /// Anything else (other XML roots, plain text, JSON that is not an object).
    Unknown,
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rss => "RSS",
            Self::Atom => "Atom",
            Self::JsonFeed => "JSON Feed",
            Self::Sitemap => "sitemap",
            Self::SitemapIndex => "sitemap index",
            Self::Html => "HTML",
            Self::Empty => "empty",
            Self::Unknown => "unknown",
        })
    }
}

/// Everything one discovery document yielded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Article links in document order, first occurrence of each URL only.
    pub items: Vec<FeedItem>,
    /// Child sitemaps of a sitemap index with their `<lastmod>`, in document order, no repeats.
    pub children: Vec<(Url, Option<DateTime<FixedOffset>>)>,
    /// Entries whose link was refused, with the reason.
    pub rejected: Vec<Rejected>,
    /// Entries ignored because the document had more than [`MAX_ENTRIES_PER_DOCUMENT`].
    pub over_cap: usize,
}

/// An entry whose link could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The link as written (trimmed), or a short description when there was none.
    pub link: String,
    /// Why it was refused.
    pub reason: RejectReason,
}

/// Why an entry's link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Not `http`/`https` (`javascript:`, `file:`, `ftp:`, `data:`, `mailto:`, …).
    BadScheme,
    /// Not a URL even relative to the document (`http://[::1`, `https:///path`).
    Unparsable,
    /// The entry has no link at all (and, for RSS, no `<guid>` that is a URL).
    MissingLink,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadScheme => "scheme is not http or https",
            Self::Unparsable => "not a valid URL",
            Self::MissingLink => "no link",
        })
    }
}

/// Why a discovery document could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The body is empty or whitespace only.
    #[error("discovery document {url} is empty")]
    Empty {
        /// The document URL.
        url: Url,
    },
    /// The body is not a feed or sitemap (typically an HTML page served in its place).
    #[error("discovery document {url} is {kind}, not a feed or sitemap")]
    NotAFeed {
        /// The document URL.
        url: Url,
        /// What it was instead.
        kind: DocKind,
    },
    /// The document is a feed or sitemap but cannot be parsed.
    #[error("discovery document {url} is malformed: {reason}")]
    Malformed {
        /// The document URL.
        url: Url,
        /// The parser's description of the fault.
        reason: String,
    },
    /// The body decodes (after gzip) to more than `limit` bytes.
    #[error("discovery document {url} decodes to more than {limit} bytes")]
    TooLarge {
        /// The document URL.
        url: Url,
        /// The cap on decoded bytes that was passed.
        limit: u64,
    },
    /// The gzip stream is corrupt or truncated.
    #[error("discovery document {url} has a corrupt gzip stream")]
    Gzip {
        /// The document URL.
        url: Url,
        /// The decompressor's error.
        #[source]
        source: std::io::Error,
    },
    /// A DOCTYPE internal subset declares entities (the "billion laughs" shape); refused
    /// without parsing, since no feed or sitemap needs them.
    #[error("discovery document {url} declares DTD entities")]
    EntityDeclaration {
        /// The document URL.
        url: Url,
    },
}

/// Parses a feed (RSS 0.9x/1.0/2.0, Atom, JSON Feed), a sitemap (including Google News
/// sitemaps) or a sitemap index into article links and child sitemaps.
///
/// `doc_url` is the URL the body came from (after redirects): relative links resolve against
/// it (and against `xml:base` in feeds). Gzip bodies are recognised by their magic bytes and
/// decoded; `max_decoded_bytes` caps the decoded size, and a plain body above it is refused
/// too. Only `http`/`https` links are kept; the others land in [`Discovery::rejected`].
/// Unreadable dates become `None`. At most [`MAX_ENTRIES_PER_DOCUMENT`] entries are read.
///
/// # Errors
/// [`FeedError::Empty`] for an empty body, [`FeedError::NotAFeed`] when the body is HTML or
/// of an unknown kind, [`FeedError::TooLarge`] when the decoded size passes the cap,
/// [`FeedError::Gzip`] for a corrupt gzip stream, [`FeedError::EntityDeclaration`] when a DTD
/// declares entities, and [`FeedError::Malformed`] when the XML or JSON does not parse
/// (including a document truncated mid-way).
pub fn parse_discovery(
    body: &[u8],
    content_type: Option<&str>,
    doc_url: &Url,
    max_decoded_bytes: u64,
) -> Result<Discovery, FeedError> {
    let url = || doc_url.clone();
    let bytes = gunzip_capped(body, max_decoded_bytes).map_err(|err| match err {
        DecodeError::TooLarge => FeedError::TooLarge {
            url: url(),
            limit: max_decoded_bytes,
        },
        DecodeError::Gzip(source) => FeedError::Gzip { url: url(), source },
    })?;
    let text = to_utf8_text(&bytes, content_type);
    let prolog = sniff::scan_prolog(text.as_bytes(), content_type);
    if prolog.declares_entities {
        return Err(FeedError::EntityDeclaration { url: url() });
    }
    let parsed = match prolog.kind {
        DocKind::Empty => return Err(FeedError::Empty { url: url() }),
        kind @ (DocKind::Html | DocKind::Unknown) => {
            return Err(FeedError::NotAFeed { url: url(), kind });
        }
        DocKind::Rss | DocKind::Atom | DocKind::JsonFeed => syndication::parse_feed(&text, doc_url),
        DocKind::Sitemap => sitemap::parse_sitemap(&text, doc_url, SitemapKind::UrlSet),
        DocKind::SitemapIndex => sitemap::parse_sitemap(&text, doc_url, SitemapKind::Index),
    };
    parsed.map_err(|reason| FeedError::Malformed { url: url(), reason })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    const CAP: u64 = 1024 * 1024;

    fn doc() -> Url {
        Url::parse("https://news.example/feed").unwrap()
    }

    fn parse(body: &[u8], content_type: Option<&str>) -> Result<Discovery, FeedError> {
        parse_discovery(body, content_type, &doc(), CAP)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzipped_sitemap() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <url><loc>https://news.example/a</loc><lastmod>2025-05-05</lastmod></url></urlset>"#;
        let d = parse(&gzip(xml), Some("application/x-gzip")).unwrap();
        assert_eq!(
            d.items.first().map(|i| i.url.as_str()),
            Some("https://news.example/a")
        );
    }

    #[test]
    fn gzip_bomb_is_capped() {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..100 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 1024 * 1024, "bomb is {} bytes", bomb.len());
        let err = parse(&bomb, None).unwrap_err();
        assert!(
            matches!(err, FeedError::TooLarge { limit: CAP, .. }),
            "{err:?}"
        );
        assert_eq!(sniff(&bomb, None), DocKind::Unknown);
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut xml =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol0 \"lol\">\n");
        for i in 1..10 {
            let prev = format!("&lol{};", i - 1);
            xml.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
        }
        xml.push_str("]>\n<rss version=\"2.0\"><channel><title>&lol9;</title>");
        xml.push_str("<item><title>&lol9;</title><link>/x</link></item></channel></rss>");
        let err = parse(xml.as_bytes(), None).unwrap_err();
        assert!(
            matches!(err, FeedError::EntityDeclaration { .. }),
            "{err:?}"
        );
        let sitemap = xml.replace(
            "<rss version=\"2.0\"><channel><title>&lol9;</title>",
            "<urlset>",
        );
        let err = parse(sitemap.as_bytes(), None).unwrap_err();
        assert!(
            matches!(err, FeedError::EntityDeclaration { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn html_served_as_feed() {
        let html =
            b"<!DOCTYPE html>\n<html><head><title>404</title></head><body>Not found</body></html>";
        let err = parse(html, Some("application/rss+xml")).unwrap_err();
        assert!(
            matches!(
                err,
                FeedError::NotAFeed {
                    kind: DocKind::Html,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse(b"<error>quota</error>", Some("text/xml")).unwrap_err();
        assert!(
            matches!(
                err,
                FeedError::NotAFeed {
                    kind: DocKind::Unknown,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("https://news.example/feed"));
    }

    #[test]
    fn empty_and_malformed() {
        assert!(matches!(parse(b"", None), Err(FeedError::Empty { .. })));
        assert!(matches!(
            parse(b" \r\n\t", None),
            Err(FeedError::Empty { .. })
        ));
        let err = parse(b"<rss version=\"2.0\"><channel><item><link>/a</link>", None).unwrap_err();
        assert!(matches!(err, FeedError::Malformed { .. }), "{err:?}");
        let err = parse(b"<urlset><url><loc>/a</loc></urlset>", None).unwrap_err();
        assert!(matches!(err, FeedError::Malformed { .. }), "{err:?}");
        let err = parse(b"{\"items\": [}", None).unwrap_err();
        assert!(matches!(err, FeedError::Malformed { .. }), "{err:?}");
        let bad_gzip = gzip(b"<urlset></urlset>");
        let err = parse(bad_gzip.get(..12).unwrap(), None).unwrap_err();
        assert!(matches!(err, FeedError::Gzip { .. }), "{err:?}");
    }

    #[test]
    fn windows_1251_rss() {
        let xml = "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<rss version=\"2.0\"><channel>\
            <title>Интерфакс</title><item><title>Лукашенко провел переговоры</title>\
            <link>https://www.interfax.example/world/603971</link>\
            <pubDate>Tue, 06 May 2025 12:00:00 +0300</pubDate></item></channel></rss>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(xml);
        let d = parse(&bytes, Some("text/xml")).unwrap();
        let item = d.items.first().unwrap();
        assert_eq!(item.title.as_deref(), Some("Лукашенко провел переговоры"));
        assert_eq!(
            item.published.unwrap().to_rfc3339(),
            "2025-05-06T12:00:00+03:00"
        );
        // feed-rs on its own honours the declaration too (checked so an upgrade that stops
        // doing so is noticed; parse_discovery does not rely on it).
        let feed = feed_rs::parser::parse(bytes.as_ref()).unwrap();
        let title = feed
            .entries
            .first()
            .and_then(|e| e.title.as_ref())
            .map(|t| t.content.as_str());
        assert_eq!(title, Some("Лукашенко провел переговоры"));
    }

    #[test]
    fn charset_from_content_type_without_declaration() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251
            .encode("<rss version=\"2.0\"><channel><item><title>Минск</title><link>/m</link></item></channel></rss>");
        let d = parse(&bytes, Some("application/rss+xml; charset=windows-1251")).unwrap();
        assert_eq!(d.items.first().unwrap().title.as_deref(), Some("Минск"));
        assert_eq!(
            d.items.first().unwrap().url.as_str(),
            "https://news.example/m"
        );
    }
}
