//! Bytes → UTF-8 text: gzip removal under a decoded-size cap, then charset decoding.
//!
//! Sitemaps are often served as `.xml.gz` files whose gzip is part of the content, not the
//! transfer, so the HTTP client leaves it in place. A gzip "bomb" inflates a few kilobytes into
//! gigabytes, so the cap applies to the *decoded* size and decoding stops as soon as it is
//! passed. Charset decoding gives every parser downstream the same input: UTF-8 text with no
//! BOM, no leading whitespace and no XML declaration (it has been acted on and would only
//! contradict the new encoding). This module does no parsing beyond that.

use std::borrow::Cow;
use std::io::Read;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use flate2::read::MultiGzDecoder;

/// The two bytes every gzip member starts with (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How many gzip layers are peeled (a `.xml.gz` file served with `Content-Encoding: gzip`
/// that the client did not decode arrives wrapped twice).
const MAX_GZIP_LAYERS: usize = 2;

/// How far into an HTML page `<meta charset>` is looked for (the HTML standard's prescan
/// looks at the first 1024 bytes).
const META_PRESCAN_BYTES: usize = 1024;

/// Why bytes could not be turned into a document.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// The decoded size passed the cap.
    TooLarge,
    /// The gzip stream is corrupt or truncated.
    Gzip(std::io::Error),
}

/// True when the body is gzip-compressed, by magic bytes (never by file name or header).
pub(crate) fn is_gzip(body: &[u8]) -> bool {
    body.starts_with(&GZIP_MAGIC)
}

/// Removes up to [`MAX_GZIP_LAYERS`] gzip layers, never producing more than `max_decoded`
/// bytes. A body that is not compressed is only checked against the cap.
pub(crate) fn gunzip_capped(body: &[u8], max_decoded: u64) -> Result<Cow<'_, [u8]>, DecodeError> {
    let mut data = Cow::Borrowed(body);
    for _ in 0..MAX_GZIP_LAYERS {
        if !is_gzip(&data) {
            break;
        }
        let mut out = Vec::new();
        MultiGzDecoder::new(data.as_ref())
            .take(max_decoded.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(DecodeError::Gzip)?;
        data = Cow::Owned(out);
    }
    if u64::try_from(data.len()).unwrap_or(u64::MAX) > max_decoded {
        return Err(DecodeError::TooLarge);
    }
    Ok(data)
}

/// Decodes at most `limit` bytes of gzip output, for sniffing; corrupt input yields what was
/// decoded before the error.
pub(crate) fn gunzip_prefix(body: &[u8], limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    // Errors are ignored on purpose: a sniff only needs the first bytes that did decode.
    let _ = MultiGzDecoder::new(body).take(limit).read_to_end(&mut out);
    out
}

/// Decodes an XML or JSON document to UTF-8 text.
///
/// The encoding is taken from, in order: a byte-order mark, the XML declaration's `encoding`,
/// the `charset` parameter of `content_type`, and UTF-8. The declaration wins over the HTTP
/// header because it travels with the file, while servers often send one charset for every
/// response. Bytes invalid in the chosen encoding become U+FFFD. The result has no BOM, no
/// leading whitespace and no XML declaration. Valid UTF-8 input is borrowed, not copied (a
/// feed is parsed in a few times its size, and one copy of it is a third of that).
pub(crate) fn to_utf8_text<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let (encoding, bom_len) = match Encoding::for_bom(bytes) {
        Some((encoding, len)) => (encoding, len),
        None => {
            // A declaration readable as ASCII cannot be UTF-16, whatever it says.
            let declared = xml_declared_encoding(bytes)
                .filter(|e| *e != UTF_16LE && *e != UTF_16BE)
                .or_else(|| content_type.and_then(charset_param))
                .unwrap_or(UTF_8);
            (declared, 0)
        }
    };
    let body = bytes.get(bom_len..).unwrap_or_default();
    let (text, _) = encoding.decode_without_bom_handling(body);
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(strip_xml_declaration(text.trim_start())),
        Cow::Owned(text) => Cow::Owned(strip_xml_declaration(text.trim_start()).to_owned()),
    }
}

/// Decodes an HTML page: BOM, then `<meta charset>` / `http-equiv` in the first 1024 bytes,
/// then UTF-8.
pub(crate) fn html_to_utf8(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, len)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(bytes.get(len..).unwrap_or_default());
        return text;
    }
    let head = bytes.get(..META_PRESCAN_BYTES).unwrap_or(bytes);
    let encoding = find_after(head, b"charset=")
        .and_then(|rest| encoding_label(rest.trim_ascii_start()))
        .filter(|e| *e != UTF_16LE && *e != UTF_16BE)
        .unwrap_or(UTF_8);
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    text
}

/// The `encoding="…"` of a leading `<?xml …?>` declaration, read as ASCII.
fn xml_declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let start = bytes.trim_ascii_start();
    if !start.starts_with(b"<?xml") {
        return None;
    }
    let end = find(start, b"?>")?;
    let declaration = start.get(..end)?;
    let rest = find_after(declaration, b"encoding")?.trim_ascii_start();
    let rest = rest.strip_prefix(b"=")?.trim_ascii_start();
    encoding_label(rest)
}

/// The `charset` parameter of a media type such as `text/xml; charset="windows-1251"`.
fn charset_param(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        if key.trim().eq_ignore_ascii_case("charset") {
            encoding_label(value.trim().as_bytes())
        } else {
            None
        }
    })
}

/// Reads an encoding label that may be quoted and is ended by a quote, space, `;`, `>` or `/`.
fn encoding_label(text: &[u8]) -> Option<&'static Encoding> {
    let text = text
        .strip_prefix(b"\"")
        .or_else(|| text.strip_prefix(b"'"))
        .unwrap_or(text);
    let end = text
        .iter()
        .position(|b| {
            matches!(b, b'"' | b'\'' | b';' | b'>' | b'/' | b'?') || b.is_ascii_whitespace()
        })
        .unwrap_or(text.len());
    Encoding::for_label(text.get(..end)?)
}

/// Drops a leading `<?xml …?>` declaration and the whitespace after it.
fn strip_xml_declaration(text: &str) -> &str {
    if !text.starts_with("<?xml") || text.starts_with("<?xml-") {
        return text;
    }
    match text.find("?>") {
        Some(end) => text.get(end + 2..).unwrap_or_default().trim_start(),
        None => text,
    }
}

/// Byte offset of the first occurrence of `needle` in `hay` (ASCII case-insensitive).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The bytes after the first occurrence of `needle` (ASCII case-insensitive).
fn find_after<'a>(hay: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    hay.get(find(hay, needle)? + needle.len()..)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gunzip_removes_one_and_two_layers() {
        let once = gzip(b"<urlset/>");
        assert_eq!(gunzip_capped(&once, 100).unwrap().as_ref(), b"<urlset/>");
        let twice = gzip(&once);
        assert_eq!(gunzip_capped(&twice, 100).unwrap().as_ref(), b"<urlset/>");
        assert_eq!(gunzip_capped(b"<rss/>", 100).unwrap().as_ref(), b"<rss/>");
    }

    #[test]
    fn cap_applies_to_decoded_and_plain_bytes() {
        let body = gzip(&[b'a'; 1000]);
        assert!(body.len() < 100);
        assert!(matches!(
            gunzip_capped(&body, 999),
            Err(DecodeError::TooLarge)
        ));
        assert!(gunzip_capped(&body, 1000).is_ok());
        assert!(matches!(
            gunzip_capped(&[b' '; 10], 9),
            Err(DecodeError::TooLarge)
        ));
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let body = gzip(&[b'a'; 1000]);
        let cut = body.get(..body.len() - 6).unwrap();
        assert!(matches!(
            gunzip_capped(cut, 10_000),
            Err(DecodeError::Gzip(_))
        ));
    }

    #[test]
    fn declaration_encoding_wins_and_is_stripped() {
        let xml = "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<rss>Минск</rss>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(xml);
        let text = to_utf8_text(&bytes, Some("text/xml; charset=utf-8"));
        assert_eq!(text, "<rss>Минск</rss>");
    }

    #[test]
    fn header_charset_and_bom() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("<rss>Минск</rss>");
        let text = to_utf8_text(
            &bytes,
            Some("application/rss+xml; Charset=\"windows-1251\""),
        );
        assert_eq!(text, "<rss>Минск</rss>");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("  <feed/>".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(to_utf8_text(&utf16, None), "<feed/>");
        assert_eq!(
            to_utf8_text(b"\xEF\xBB\xBF <?xml version='1.0'?><a/>", None),
            "<a/>"
        );
        assert_eq!(
            to_utf8_text(b"<?xml-stylesheet href='x'?><a/>", None),
            "<?xml-stylesheet href='x'?><a/>"
        );
    }

    #[test]
    fn html_meta_charset() {
        let (bytes, _, _) =
            encoding_rs::WINDOWS_1251.encode("<html><head><meta charset=windows-1251></head>Минск");
        assert!(html_to_utf8(&bytes).ends_with("Минск"));
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\" />Минск",
        );
        assert!(html_to_utf8(&bytes).ends_with("Минск"));
    }
}
