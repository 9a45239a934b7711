//! Byte → text decoding for HTML. Order of evidence, strongest first: a byte-order mark, the
//! HTTP `Content-Type` charset, a `<meta charset>` / `http-equiv` declaration in the first
//! 4 KiB, an XML declaration, then statistical detection (chardetng). A declared charset that
//! the bytes contradict (invalid UTF-8 labelled UTF-8) falls back to detection, because
//! agencies do serve windows-1251 pages under a UTF-8 header.

use encoding_rs::{Encoding, UTF_8};

/// How far into the document a `<meta>` declaration is looked for (the HTML spec says 1024;
/// real pages put long scripts first).
const META_SCAN_BYTES: usize = 4096;

/// The decoded text and the name of the encoding used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// WHATWG name of the encoding ("UTF-8", "windows-1251").
    pub encoding: &'static str,
    /// Where the encoding came from ("bom", "header", "meta", "xml", "detected").
    pub evidence: &'static str,
}

/// Decodes an HTML body; never fails (malformed sequences become U+FFFD).
pub fn decode_html(body: &[u8], content_type: Option<&str>) -> Decoded {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        let slice = body.get(bom_len..).unwrap_or_default();
        return finish(enc, slice, "bom");
    }
    let declared = content_type
        .and_then(charset_param)
        .map(|e| (e, "header"))
        .or_else(|| meta_charset(body).map(|e| (e, "meta")));
    if let Some((enc, evidence)) = declared {
        // A UTF-8 label on bytes that are not UTF-8 is a lie worth catching; single-byte
        // labels cannot be checked this way, so they are trusted.
        if enc != UTF_8 || std::str::from_utf8(body).is_ok() {
            return finish(enc, body, evidence);
        }
    } else if std::str::from_utf8(body).is_ok() {
        return finish(UTF_8, body, "detected");
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(body, true);
    finish(det.guess(None, true), body, "detected")
}

fn finish(enc: &'static Encoding, bytes: &[u8], evidence: &'static str) -> Decoded {
    // UTF-16 declared in a meta tag is impossible (the tag itself would not be ASCII); the
    // spec maps it to UTF-8.
    let enc = enc.output_encoding();
    let (text, _) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
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
