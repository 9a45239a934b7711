//! Bytes → UTF-8 text: gzip removal under a decoded-size cap, then charset decoding.
//!
//! Sitemaps are often served as `.xml.gz` files whose gzip is part of the content, not the
//! transfer, so the HTTP client leaves it in place. A gzip "bomb" inflates a few kilobytes into
//! gigabytes, so the cap applies to the *decoded* size and decoding stops as soon as it is
//! passed. Charset decoding is the shared leaf's ([`crate::textcodec::charset`]), the same
//! the normalizer uses. This module does no parsing beyond that.

use std::borrow::Cow;
use std::io::Read;

use flate2::read::MultiGzDecoder;

use crate::textcodec::charset;

/// The two bytes every gzip member starts with (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How many gzip layers are peeled (a `.xml.gz` file served with `Content-Encoding: gzip`
/// that the client did not decode arrives wrapped twice).
const MAX_GZIP_LAYERS: usize = 2;

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

/// Decodes an XML or JSON document to UTF-8 text ([`charset::decode_xml`]); valid UTF-8 input
/// is borrowed, not copied.
pub(crate) fn to_utf8_text<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    charset::decode_xml(bytes, content_type)
}

/// Decodes an HTML page exactly as the normalizer does ([`charset::decode_html`]), so discovery
/// and normalization read the same text from the same bytes.
pub(crate) fn html_to_utf8(bytes: &[u8]) -> String {
    charset::decode_html(bytes, None).text.into_owned()
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
}
