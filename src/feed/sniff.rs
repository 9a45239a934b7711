//! Document-kind sniffing: what a discovery body is, judged from its first markup.
//!
//! The body decides and the `Content-Type` only breaks ties, because agencies serve RSS as
//! `text/html` and HTML error pages as `application/xml`. The scan skips what may precede the
//! root element (BOM, whitespace, XML declaration, processing instructions, comments, a
//! DOCTYPE) and reads the root's local name. On the way it notes whether a DOCTYPE internal
//! subset declares entities, which [`super::parse_discovery`] refuses ("billion laughs").
//! Sniffing never fails and never allocates more than a bounded prefix.

use super::DocKind;
use super::decode::{gunzip_prefix, is_gzip, to_utf8_text};

/// How much of a body the public [`sniff`] looks at (decoded, for gzip bodies).
const SNIFF_BYTES: usize = 64 * 1024;

/// What the prolog scan found before the first real content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prolog {
    /// The document kind.
    pub kind: DocKind,
    /// A DOCTYPE internal subset declares `<!ENTITY …>`.
    pub declares_entities: bool,
}

/// Sniffs the kind of a discovery document from its first bytes and its `Content-Type`.
///
/// Looks past a BOM, whitespace, the XML declaration, processing instructions, comments and a
/// DOCTYPE; gzip bodies are sniffed on their first decoded bytes and UTF-16 bodies after
/// decoding. `rss` and `rdf:RDF` roots are [`DocKind::Rss`], `feed` is Atom, `urlset` and
/// `sitemapindex` are sitemaps, a body starting with `{` is JSON Feed, a whitespace-only body
/// is [`DocKind::Empty`]. Anything else is [`DocKind::Html`] when it looks like HTML or is
/// served as `text/html`, and [`DocKind::Unknown`] otherwise.
pub fn sniff(body: &[u8], content_type: Option<&str>) -> DocKind {
    let prefix = if is_gzip(body) {
        gunzip_prefix(body, SNIFF_BYTES as u64)
    } else {
        body.get(..SNIFF_BYTES).unwrap_or(body).to_vec()
    };
    let text = to_utf8_text(&prefix, content_type);
    scan_prolog(text.as_bytes(), content_type).kind
}

/// Scans UTF-8 (or any ASCII-compatible) text for its kind and for entity declarations.
pub(crate) fn scan_prolog(text: &[u8], content_type: Option<&str>) -> Prolog {
    let mut rest = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let mut declares_entities = false;
    let kind = loop {
        rest = rest.trim_ascii_start();
        let Some(&first) = rest.first() else {
            break DocKind::Empty;
        };
        // An unterminated declaration, comment or DOCTYPE leaves nothing to recognise.
        let skipped = if rest.starts_with(b"<?") {
            after(rest, b"?>")
        } else if rest.starts_with(b"<!--") {
            after(rest, b"-->")
        } else if starts_with_ignore_case(rest, b"<!DOCTYPE") {
            let doctype = scan_doctype(rest);
            declares_entities |= doctype.declares_entities;
            if doctype.is_html {
                break DocKind::Html;
            }
            doctype.rest
        } else if first == b'<' {
            break kind_of_root(element_name(rest), content_type);
        } else if first == b'{' {
            break DocKind::JsonFeed;
        } else {
            break fallback_kind(content_type);
        };
        match skipped {
            Some(next) => rest = next,
            None => break DocKind::Unknown,
        }
    };
    Prolog {
        kind,
        declares_entities,
    }
}

/// The result of reading one `<!DOCTYPE …>`.
struct Doctype<'a> {
    is_html: bool,
    declares_entities: bool,
    /// What follows the DOCTYPE; `None` when it is not terminated.
    rest: Option<&'a [u8]>,
}

/// Reads a DOCTYPE, including an internal subset `[ … ]`, and notes entity declarations.
fn scan_doctype(text: &[u8]) -> Doctype<'_> {
    let body = text.get(b"<!DOCTYPE".len()..).unwrap_or_default();
    let is_html = element_name_bytes(body.trim_ascii_start()).eq_ignore_ascii_case(b"html");
    let subset_start = body.iter().position(|b| matches!(b, b'[' | b'>'));
    let Some(open) = subset_start.filter(|&i| body.get(i) == Some(&b'[')) else {
        return Doctype {
            is_html,
            declares_entities: false,
            rest: after(body, b">"),
        };
    };
    let subset = body.get(open..).unwrap_or_default();
    // The subset ends at `]` followed by optional whitespace and `>`.
    let end = subset
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b']')
        .map(|(i, _)| i)
        .find(|&i| {
            subset
                .get(i + 1..)
                .is_some_and(|r| r.trim_ascii_start().starts_with(b">"))
        });
    let inner = end.and_then(|e| subset.get(..e)).unwrap_or(subset);
    let declares_entities = contains_ignore_case(inner, b"<!ENTITY");
    let rest = end.and_then(|e| after(subset.get(e..)?, b">"));
    Doctype {
        is_html,
        declares_entities,
        rest,
    }
}

/// Maps a root element to a kind, ignoring any namespace prefix and letter case.
fn kind_of_root(qualified_name: &[u8], content_type: Option<&str>) -> DocKind {
    let local = match qualified_name.iter().rposition(|b| *b == b':') {
        Some(colon) => qualified_name.get(colon + 1..).unwrap_or_default(),
        None => qualified_name,
    };
    let is = |name: &str| local.eq_ignore_ascii_case(name.as_bytes());
    if is("rss") || is("rdf") {
        DocKind::Rss
    } else if is("feed") {
        DocKind::Atom
    } else if is("urlset") {
        DocKind::Sitemap
    } else if is("sitemapindex") {
        DocKind::SitemapIndex
    } else if [
        "html", "head", "body", "meta", "title", "div", "script", "link", "p",
    ]
    .iter()
    .any(|n| is(n))
    {
        DocKind::Html
    } else {
        fallback_kind(content_type)
    }
}

/// The kind of a body that is not recognised from its markup.
fn fallback_kind(content_type: Option<&str>) -> DocKind {
    let is_html = content_type.is_some_and(|ct| {
        let media = ct.split(';').next().unwrap_or_default().trim();
        media.eq_ignore_ascii_case("text/html")
            || media.eq_ignore_ascii_case("application/xhtml+xml")
    });
    if is_html {
        DocKind::Html
    } else {
        DocKind::Unknown
    }
}

/// The name of the element whose start tag begins `text` (which starts with `<`).
fn element_name(text: &[u8]) -> &[u8] {
    element_name_bytes(text.get(1..).unwrap_or_default())
}

/// The leading run of XML name characters.
fn element_name_bytes(text: &[u8]) -> &[u8] {
    let end = text
        .iter()
        .position(|b| {
            !(b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.') || *b >= 0x80)
        })
        .unwrap_or(text.len());
    text.get(..end).unwrap_or_default()
}

/// The text after the first `needle`, or `None` when it never occurs.
fn after<'a>(text: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    text.windows(needle.len())
        .position(|w| w == needle)
        .and_then(|i| text.get(i + needle.len()..))
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_roots_after_prolog() {
        let cases: [(&str, DocKind); 9] = [
            (
                "\u{feff}  <?xml version=\"1.0\"?>\n<!-- hi --><rss version=\"2.0\">",
                DocKind::Rss,
            ),
            (
                "<?xml-stylesheet href=\"a.xsl\"?><rdf:RDF xmlns:rdf=\"x\">",
                DocKind::Rss,
            ),
            (
                "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
                DocKind::Atom,
            ),
            (
                "<!DOCTYPE rss PUBLIC \"-//Netscape//DTD RSS 0.91//EN\" \"x.dtd\"><rss>",
                DocKind::Rss,
            ),
            (
                "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">",
                DocKind::Sitemap,
            ),
            ("<sm:sitemapindex xmlns:sm=\"x\">", DocKind::SitemapIndex),
            (
                "\n {\"version\": \"https://jsonfeed.org/version/1.1\"}",
                DocKind::JsonFeed,
            ),
            ("<!doctype html><html><body>", DocKind::Html),
            (" \n\t ", DocKind::Empty),
        ];
        for (text, kind) in cases {
            assert_eq!(sniff(text.as_bytes(), None), kind, "{text:?}");
        }
    }

    #[test]
    fn content_type_breaks_ties_only() {
        assert_eq!(
            sniff(b"<rss version=\"2.0\">", Some("text/html")),
            DocKind::Rss
        );
        assert_eq!(
            sniff(b"Not found", Some("text/html; charset=utf-8")),
            DocKind::Html
        );
        assert_eq!(sniff(b"Not found", Some("text/plain")), DocKind::Unknown);
        assert_eq!(
            sniff(b"<error>x</error>", Some("application/xml")),
            DocKind::Unknown
        );
        assert_eq!(
            sniff(b"<div>oops</div>", Some("application/xml")),
            DocKind::Html
        );
        assert_eq!(sniff(b"", None), DocKind::Empty);
        assert_eq!(sniff(b"<?xml version=\"1.0\"", None), DocKind::Unknown);
        assert_eq!(sniff(b"<!-- never closed <rss>", None), DocKind::Unknown);
    }

    #[test]
    fn flags_internal_entity_declarations() {
        let laughs = b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
            <!ENTITY lol2 \"&lol;&lol;\">]><rss version=\"2.0\">&lol2;</rss>";
        let prolog = scan_prolog(laughs, None);
        assert_eq!(
            prolog,
            Prolog {
                kind: DocKind::Rss,
                declares_entities: true
            }
        );
        let attlist_only = b"<!DOCTYPE rss [<!ATTLIST rss a CDATA \"]\">]><rss/>";
        let prolog = scan_prolog(attlist_only, None);
        assert_eq!(
            prolog,
            Prolog {
                kind: DocKind::Rss,
                declares_entities: false
            }
        );
    }

    #[test]
    fn sniffs_gzip_and_utf16_bodies() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"<?xml version=\"1.0\"?><urlset>").unwrap();
        assert_eq!(sniff(&enc.finish().unwrap(), None), DocKind::Sitemap);
        let mut utf16 = vec![0xFE, 0xFF];
        utf16.extend("<feed>".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(sniff(&utf16, None), DocKind::Atom);
    }
}
