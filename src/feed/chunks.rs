//! XML feeds in bounded pieces: one streaming pass cuts the document into small, well-formed
//! feeds that `feed-rs` parses one at a time, so parsing costs a few times the body, not the
//! ~20× of `feed-rs` building the whole document tree (9.3 MB feed → 214 MB RSS before).
//!
//! Each piece is the open container start tags, exactly as written (`<rss …>`, `<channel>`,
//! `<feed …>`, `<rdf:RDF …>`: namespace bindings and `xml:base` come along), then up to
//! [`CHUNK_BYTES`] of entries, then the matching end tags. Of each entry (`<item>`, `<entry>`)
//! only the children a link, title or date comes from are kept ([`KEPT_CHILDREN`]), each at most
//! [`MAX_CHILD_BYTES`] and all together at most [`MAX_ENTRY_BYTES`]; descriptions, content,
//! media and channel-level elements are skipped without being copied. The pass is also the
//! well-formedness check: a mismatched or missing end tag fails the whole document, as it did
//! when `feed-rs` saw all of it.
//!
//! This module copies bytes of the input; it never unescapes, rewrites or resolves anything.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Size of the entries in one piece handed to `feed-rs`, in bytes.
pub(crate) const CHUNK_BYTES: usize = 256 * 1024;
/// Largest entry child kept (a longer title or link is dropped, as if absent).
pub(crate) const MAX_CHILD_BYTES: usize = 16 * 1024;
/// Most bytes of children kept per entry.
pub(crate) const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// Local names of the entry children `syndication` reads: titles, links and ids, and the
/// dates of RSS 2.0, RSS 1.0 (`dc:date`), Atom 1.0 and Atom 0.3.
const KEPT_CHILDREN: [&str; 11] = [
    "title",
    "link",
    "guid",
    "id",
    "pubDate",
    "date",
    "published",
    "updated",
    "issued",
    "modified",
    "created",
];

/// Local names of the elements that hold entries: the root of every XML feed format, and the
/// RSS `<channel>`.
const CONTAINERS: [&str; 4] = ["rss", "RDF", "feed", "channel"];

/// Local names of entries.
const ENTRIES: [&str; 2] = ["item", "entry"];

/// A container start tag as written, and its qualified name for the end tag.
#[derive(Clone)]
struct Open<'a> {
    tag: &'a str,
    name: String,
}

/// Cuts `text` into pieces and hands each to `parse`, in document order. At least one piece is
/// produced (the bare containers when the feed has no entries), so the root is always seen by
/// the parser.
///
/// # Errors
/// A description of the first well-formedness fault, or the first error `parse` returns.
pub(crate) fn for_each_piece(
    text: &str,
    mut parse: impl FnMut(&str) -> Result<(), String>,
) -> Result<(), String> {
    let mut reader = Reader::from_str(text);
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut deepest: Vec<Open<'_>> = Vec::new();
    let mut entries = String::new();
    let mut pieces = 0usize;
    // Returns how many pieces have gone to `parse` so far.
    let mut flush = |open: &[Open<'_>], entries: &mut String| -> Result<usize, String> {
        pieces += 1;
        let piece = wrap(open, entries);
        entries.clear();
        parse(&piece).map(|()| pieces)
    };
    let mut emitted = 0usize;
    loop {
        let before = position(&reader);
        let event = reader.read_event().map_err(|e| fault(&reader, &e))?;
        let after = position(&reader);
        match event {
            Event::Start(start) if is(&start, &CONTAINERS) => {
                open.push(Open {
                    tag: text.get(before..after).unwrap_or_default(),
                    name: qualified(&start),
                });
                if open.len() > deepest.len() {
                    deepest.clone_from(&open);
                }
            }
            Event::Start(start) if is(&start, &ENTRIES) => {
                read_entry(&mut reader, text, (before, after), &start, &mut entries)?;
                if entries.len() >= CHUNK_BYTES {
                    emitted = flush(&open, &mut entries)?;
                }
            }
            Event::Empty(start) if is(&start, &ENTRIES) => {
                entries.push_str(text.get(before..after).unwrap_or_default());
            }
            Event::Start(start) => {
                reader
                    .read_to_end(start.name())
                    .map_err(|e| fault(&reader, &e))?;
            }
            Event::End(_) => {
                if !entries.is_empty() {
                    emitted = flush(&open, &mut entries)?;
                }
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(unclosed) = open.last() {
        return Err(format!("document ends inside <{}>", unclosed.name));
    }
    // A feed without entries still goes to the parser once, so its root is judged as before.
    if emitted == 0 {
        flush(&deepest, &mut entries)?;
    }
    Ok(())
}

/// Copies an entry's start tag, kept children and end tag into `out`; the reader ends just
/// after the entry.
fn read_entry(
    reader: &mut Reader<&[u8]>,
    text: &str,
    (tag_start, tag_end): (usize, usize),
    start: &BytesStart<'_>,
    out: &mut String,
) -> Result<(), String> {
    out.push_str(text.get(tag_start..tag_end).unwrap_or_default());
    let mut kept = 0usize;
    loop {
        let before = position(reader);
        let event = reader.read_event().map_err(|e| fault(reader, &e))?;
        let keep = match &event {
            Event::Start(child) => {
                let wanted = is(child, &KEPT_CHILDREN);
                reader
                    .read_to_end(child.name())
                    .map_err(|e| fault(reader, &e))?;
                wanted
            }
            Event::Empty(child) => is(child, &KEPT_CHILDREN),
            Event::End(_) => {
                out.push_str(text.get(before..position(reader)).unwrap_or_default());
                return Ok(());
            }
            Event::Eof => {
                return Err(format!("document ends inside <{}>", qualified(start)));
            }
            _ => false,
        };
        let raw = text.get(before..position(reader)).unwrap_or_default();
        if keep && raw.len() <= MAX_CHILD_BYTES && kept + raw.len() <= MAX_ENTRY_BYTES {
            kept += raw.len();
            out.push_str(raw);
        }
    }
}

/// The containers' start tags, the entries, and the containers' end tags.
fn wrap(open: &[Open<'_>], entries: &str) -> String {
    let tags: usize = open.iter().map(|o| o.tag.len() + o.name.len() + 3).sum();
    let mut piece = String::with_capacity(tags + entries.len());
    for o in open {
        piece.push_str(o.tag);
    }
    piece.push_str(entries);
    for o in open.iter().rev() {
        piece.push_str("</");
        piece.push_str(&o.name);
        piece.push('>');
    }
    piece
}

fn is(start: &BytesStart<'_>, names: &[&str]) -> bool {
    let local = start.local_name();
    names.iter().any(|n| *n == AsRef::<str>::as_ref(&local))
}

fn qualified(start: &BytesStart<'_>) -> String {
    AsRef::<str>::as_ref(&start.name()).to_owned()
}

fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

fn fault(reader: &Reader<&[u8]>, err: &quick_xml::Error) -> String {
    format!("XML error at byte {}: {err}", reader.error_position())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for_each_piece(text, |p| {
            out.push(p.to_owned());
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn entries_keep_only_link_title_and_date_children() {
        let p = pieces(
            r#"<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel xml:base="https://b.example/">
            <title>Channel</title><image><url>x</url></image>
            <item><title>A</title><description>&lt;p&gt;long&lt;/p&gt;</description><link>/a</link>
              <dc:date>2025-05-05</dc:date><!-- c --><content:encoded xmlns:content="c"><![CDATA[<p>x</p>]]></content:encoded></item>
            <item/></channel></rss>"#,
        )
        .unwrap();
        assert_eq!(
            p,
            [
                r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel xml:base="https://b.example/"><item><title>A</title><link>/a</link><dc:date>2025-05-05</dc:date></item><item/></channel></rss>"#
            ]
        );
    }

    #[test]
    fn rss1_items_beside_the_channel_and_atom_entries() {
        let rdf = pieces(
            r#"<rdf:RDF xmlns:rdf="r" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>T</title></channel>
            <item rdf:about="https://n.example/1"><link>https://n.example/1</link></item></rdf:RDF>"#,
        )
        .unwrap();
        assert_eq!(
            rdf,
            [
                r#"<rdf:RDF xmlns:rdf="r" xmlns="http://purl.org/rss/1.0/"><item rdf:about="https://n.example/1"><link>https://n.example/1</link></item></rdf:RDF>"#
            ]
        );
        let atom = pieces(r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><id>1</id><summary>s</summary><link href="/1"/></entry></feed>"#).unwrap();
        assert_eq!(
            atom,
            [
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><link href="/1"/></entry></feed>"#
            ]
        );
    }

    #[test]
    fn large_feeds_come_in_several_pieces_of_bounded_size() {
        let item = format!(
            "<item><title>T</title><link>/x</link><description>{}</description></item>",
            "d".repeat(100)
        );
        let text = format!("<rss><channel>{}</channel></rss>", item.repeat(20_000));
        let p = pieces(&text).unwrap();
        let entries: usize = p.iter().map(|p| p.matches("<item>").count()).sum();
        assert_eq!(entries, 20_000);
        assert!(p.len() > 1);
        assert!(p.iter().all(|p| p.len() < CHUNK_BYTES + 1024));
        assert!(
            p.iter()
                .all(|p| p.starts_with("<rss><channel>") && p.ends_with("</channel></rss>"))
        );
    }

    #[test]
    fn oversized_children_are_dropped_and_empty_feeds_still_yield_a_piece() {
        let big = format!(
            "<rss><channel><item><title>{}</title><link>/a</link></item></channel></rss>",
            "t".repeat(MAX_CHILD_BYTES)
        );
        assert_eq!(
            pieces(&big).unwrap(),
            ["<rss><channel><item><link>/a</link></item></channel></rss>"]
        );
        assert_eq!(
            pieces("<rss version=\"2.0\"><channel><title>T</title></channel></rss>").unwrap(),
            ["<rss version=\"2.0\"><channel></channel></rss>"]
        );
    }

    #[test]
    fn malformed_documents_fail() {
        for bad in [
            "<rss><channel><item><link>/a</link>",
            "<rss><channel><item><title>x</item></channel></rss>",
            "<rss><channel></rss>",
            "<feed><entry><id>1</id></entry>",
        ] {
            assert!(pieces(bad).is_err(), "{bad}");
        }
    }
}
