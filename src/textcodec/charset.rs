//! Byte → text decoding for HTML. Order of evidence, strongest first: a byte-order mark, the
//! HTTP `Content-Type` charset, a `<meta charset>` / `http-equiv` declaration in the first
//! 4 KiB, an XML declaration, then statistical detection (chardetng). A declared charset that
//! the bytes contradict (invalid UTF-8 labelled UTF-8) falls back to detection, because
//! agencies do serve windows-1251 pages under a UTF-8 header.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How far into the document a `<meta>` declaration is looked for (the HTML spec says 1024;
/// real pages put long scripts first).
const META_SCAN_BYTES: usize = 4096;

/// The decoded text and the name of the encoding used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The text: borrowed from the body when the body already is that text (valid UTF-8,
    /// or ASCII in an ASCII-compatible encoding), so most pages are not copied.
    pub text: Cow<'a, str>,
    /// WHATWG name of the encoding ("UTF-8", "windows-1251").
    pub encoding: &'static str,
    /// Where the encoding came from ("bom", "header", "meta", "xml", "detected").
    pub evidence: &'static str,
}

/// Decodes an HTML body; never fails (malformed sequences become U+FFFD).
pub fn decode_html<'a>(body: &'a [u8], content_type: Option<&str>) -> Decoded<'a> {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        let slice = body.get(bom_len..).unwrap_or_default();
        return finish(enc, slice, "bom");
    }
    let declared = content_type
        .and_then(charset_param)
        .map(|e| (e, "header"))
        .or_else(|| meta_charset(body).map(|e| (e, "meta")));
    let utf8 = utf8_evidence(body);
    if let Some((enc, evidence)) = declared {
        let enc = enc.output_encoding();
        // Bytes that are valid UTF-8 with non-ASCII text in them are UTF-8 whatever the label
        // says (a GB2312 or latin-1 page is almost never valid UTF-8 by chance).
        if enc != UTF_8 && utf8 == Utf8Evidence::Valid {
            return finish(UTF_8, body, "detected");
        }
        // A UTF-8 label on bytes that are mostly UTF-8 holds: a stray invalid byte becomes
        // U+FFFD instead of turning the whole page into mojibake. Only a label the bytes
        // clearly contradict falls back to detection.
        if enc != UTF_8 || utf8 != Utf8Evidence::Invalid {
            return finish(enc, body, evidence);
        }
    } else if utf8 != Utf8Evidence::Invalid {
        return finish(UTF_8, body, "detected");
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(body, true);
    finish(det.guess(None, true), body, "detected")
}

/// What the bytes say about UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Utf8Evidence {
    /// Valid UTF-8 with at least one multi-byte character.
    Valid,
    /// ASCII only, or UTF-8 with a few invalid bytes among many valid multi-byte characters.
    Mostly,
    /// Not UTF-8: invalid sequences are not rare exceptions.
    Invalid,
}

/// Invalid sequences allowed per valid multi-byte character before a page counts as not UTF-8.
const MAX_INVALID_PER_MULTIBYTE: usize = 50;

fn utf8_evidence(body: &[u8]) -> Utf8Evidence {
    // Fast path for the common case, same answer: valid UTF-8 is `Valid` when it has a
    // multi-byte character and `Mostly` when it is ASCII. Counting characters chunk by chunk
    // cost more than the rest of decoding.
    if let Ok(text) = std::str::from_utf8(body) {
        return if text.is_ascii() {
            Utf8Evidence::Mostly
        } else {
            Utf8Evidence::Valid
        };
    }
    let (mut valid_multibyte, mut invalid) = (0usize, 0usize);
    for chunk in body.utf8_chunks() {
        valid_multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    match (valid_multibyte, invalid) {
        (v, 0) if v > 0 => Utf8Evidence::Valid,
        (_, 0) => Utf8Evidence::Mostly,
        (v, i) if i * MAX_INVALID_PER_MULTIBYTE <= v => Utf8Evidence::Mostly,
        _ => Utf8Evidence::Invalid,
    }
}

/// Decodes an XML or JSON document (feed, sitemap) to UTF-8 text; never fails.
///
/// The encoding is taken from, in order: a byte-order mark, the XML declaration's `encoding`,
/// the `charset` parameter of `content_type`, and UTF-8. The declaration wins over the HTTP
/// header because it travels with the file, while servers often send one charset for every
/// response. Bytes invalid in the chosen encoding become U+FFFD. The result has no BOM, no
/// leading whitespace and no XML declaration (it has been acted on and would only contradict
/// the new encoding).
pub fn decode_xml<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let (encoding, bom_len) = match Encoding::for_bom(bytes) {
        Some((encoding, len)) => (encoding, len),
        None => {
            let start = bytes.trim_ascii_start();
            let head = start
                .get(..start.len().min(META_SCAN_BYTES))
                .unwrap_or(start);
            let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
            // A declaration readable as ASCII cannot be UTF-16, whatever it says.
            let declared = xml_encoding(&lower)
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

fn finish<'a>(enc: &'static Encoding, bytes: &'a [u8], evidence: &'static str) -> Decoded<'a> {
    // UTF-16 declared in a meta tag is impossible (the tag itself would not be ASCII); the
    // spec maps it to UTF-8.
    let enc = enc.output_encoding();
    let (text, _) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text,
        encoding: enc.name(),
        evidence,
    }
}

/// The `charset=` parameter of a Content-Type value.
pub fn charset_param(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes())
        } else {
            None
        }
    })
}

/// A charset declared by `<meta charset=…>`, `<meta http-equiv content="…charset=…">` or an
/// XML declaration near the start of the document. Works on raw bytes (ASCII-compatible scan).
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = body.get(..body.len().min(META_SCAN_BYTES)).unwrap_or(body);
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"charset") {
        let start = from + pos + b"charset".len();
        from = start;
        let rest = &lower[start..];
        let rest = skip_ws(rest);
        let Some(rest) = rest.strip_prefix(b"=") else {
            continue;
        };
        let rest = skip_ws(rest);
        let rest = rest
            .strip_prefix(b"\"")
            .or_else(|| rest.strip_prefix(b"'"))
            .unwrap_or(rest);
        let end = rest
            .iter()
            .position(|b| matches!(b, b'"' | b'\'' | b';' | b'>' | b' ' | b'/' | b'\t' | b'\n'))
            .unwrap_or(rest.len());
        if let Some(enc) = Encoding::for_label(&rest[..end]) {
            return Some(enc);
        }
    }
    xml_encoding(&lower)
}

fn xml_encoding(lower: &[u8]) -> Option<&'static Encoding> {
    let decl = lower.strip_prefix(b"<?xml")?;
    let end = find(decl, b"?>")?;
    let decl = &decl[..end];
    let pos = find(decl, b"encoding")?;
    let rest = skip_ws(&decl[pos + b"encoding".len()..]);
    let rest = skip_ws(rest.strip_prefix(b"=")?);
    let quote = *rest.first()?;
    let rest = rest.get(1..)?;
    let end = rest.iter().position(|&b| b == quote)?;
    Encoding::for_label(&rest[..end])
}

fn skip_ws(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp1251(s: &str) -> Vec<u8> {
        encoding_rs::WINDOWS_1251.encode(s).0.into_owned()
    }

    #[test]
    fn header_wins_over_meta() {
        let body = cp1251("<meta charset=\"utf-8\"><p>Привет, ёжик</p>");
        let d = decode_html(&body, Some("text/html; charset=windows-1251"));
        assert!(d.text.contains("Привет, ёжик"));
        assert_eq!((d.encoding, d.evidence), ("windows-1251", "header"));
    }

    #[test]
    fn meta_http_equiv_is_read() {
        let body = cp1251(
            "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head><body>Минск — столица</body>",
        );
        let d = decode_html(&body, Some("text/html"));
        assert!(d.text.contains("Минск — столица"), "{}", d.text);
        assert_eq!(d.evidence, "meta");
    }

    #[test]
    fn wrong_utf8_label_falls_back_to_detection() {
        let body = cp1251(
            "<p>Президент Беларуси провел совещание с руководством правительства. Обсуждались вопросы экономики и сельского хозяйства.</p>",
        );
        let d = decode_html(&body, Some("text/html; charset=utf-8"));
        assert_eq!(d.encoding, "windows-1251");
        assert!(d.text.contains("Президент Беларуси"));
    }

    #[test]
    fn one_bad_byte_in_a_utf8_page_stays_utf8() {
        let mut body = "<meta charset=utf-8><p>Über Straßen – Привет, мир. "
            .repeat(20)
            .into_bytes();
        body.extend_from_slice(b"\xff tail \xe9t\xe9");
        body.extend_from_slice("<p>Größe".as_bytes());
        let d = decode_html(&body, None);
        assert_eq!(d.encoding, "UTF-8");
        assert!(d.text.contains("Über Straßen – Привет") && d.text.ends_with("Größe"));
        let d = decode_html(&body, Some("text/html; charset=utf-8"));
        assert_eq!((d.encoding, d.evidence), ("UTF-8", "header"));
    }

    #[test]
    fn valid_utf8_under_a_wrong_label_is_utf8() {
        let body = "<meta charset=gb2312><p>人民网 — 中国共产党新闻网</p>".as_bytes();
        let d = decode_html(body, None);
        assert_eq!(d.encoding, "UTF-8");
        assert!(d.text.contains("人民网 — 中国共产党新闻网"));
        let body = "<p>El Mundo: España, ñandú</p>".as_bytes();
        let d = decode_html(body, Some("text/html; charset=iso-8859-1"));
        assert!(d.text.contains("España, ñandú"), "{}", d.text);
        // Real latin-1 bytes under a latin-1 label stay latin-1.
        let d = decode_html(b"<p>Espa\xf1a</p>", Some("text/html; charset=iso-8859-1"));
        assert!(d.text.contains("España"));
    }

    #[test]
    fn bom_and_xml_declaration() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice("Ünïcode".as_bytes());
        assert_eq!(
            decode_html(&body, Some("text/html; charset=latin1")).text,
            "Ünïcode"
        );
        let xml = cp1251("<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss>Новости</rss>");
        assert!(decode_html(&xml, None).text.contains("Новости"));
    }

    #[test]
    fn xml_declaration_wins_and_is_stripped() {
        let xml = cp1251("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<rss>Минск</rss>");
        assert_eq!(
            decode_xml(&xml, Some("text/xml; charset=utf-8")),
            "<rss>Минск</rss>"
        );
        let plain = cp1251("<rss>Минск</rss>");
        let ct = Some("application/rss+xml; Charset=\"windows-1251\"");
        assert_eq!(decode_xml(&plain, ct), "<rss>Минск</rss>");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("  <feed/>".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode_xml(&utf16, None), "<feed/>");
        assert_eq!(
            decode_xml(b"\xEF\xBB\xBF <?xml version='1.0'?><a/>", None),
            "<a/>"
        );
        assert_eq!(
            decode_xml(b"<?xml-stylesheet href='x'?><a/>", None),
            "<?xml-stylesheet href='x'?><a/>"
        );
    }

    #[test]
    fn garbage_never_panics() {
        for body in [
            &b""[..],
            b"\xff\xfe\x00",
            b"charset=",
            b"<meta charset=\"nonsense\">\x80\x81",
        ] {
            let _ = decode_html(body, Some("text/html; charset"));
        }
    }
}
