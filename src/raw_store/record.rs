//! WARC/1.1 record encoding: header fields, digests, record IDs and the gzip member framing.
//!
//! Pure formatting over a `Write` it is handed; it never opens files and never decides where a
//! record goes (that is `store`'s job). Every value written here is made safe for the line-based
//! WARC header first, so no input can break the record framing.

use std::borrow::Cow;
use std::io::{self, Write};

use chrono::{DateTime, SubsecRound, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// The line that opens every record we write.
const VERSION_LINE: &str = "WARC/1.1\r\n";

/// The two CRLFs that close every record's block.
const RECORD_TRAILER: &[u8] = b"\r\n\r\n";

/// Timestamps are stored with microsecond precision; this truncates a time to exactly what
/// `WARC-Date` keeps, so the value read back equals the value returned here.
pub(super) fn stored_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// `WARC-Date` text: RFC 3339, UTC with `Z`, always six fractional digits.
pub(super) fn warc_date(t: DateTime<Utc>) -> String {
    stored_precision(t)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Replaces every control character except TAB with a space, so a value can never end a
/// header line early (no CR/LF injection).
pub(super) fn sanitize_value(value: &str) -> Cow<'_, str> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        Cow::Owned(
            value
                .chars()
                .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(value)
    }
}

/// A WARC header being assembled field by field.
pub(super) struct WarcHeader {
    text: String,
}

impl WarcHeader {
    /// Starts a header with the fields every record has.
    pub(super) fn new(kind: &str, record_id: &str, date: &str) -> Self {
        let mut header = Self {
            text: String::with_capacity(1024),
        };
        header.text.push_str(VERSION_LINE);
        header.field("WARC-Type", kind);
        header.field("WARC-Record-ID", record_id);
        header.field("WARC-Date", date);
        header
    }

    /// Appends `name: value`; the value is sanitized. Names are our own constants.
    pub(super) fn field(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        self.text.push_str(": ");
        self.text.push_str(&sanitize_value(value));
        self.text.push_str("\r\n");
    }

    /// Closes the header with `Content-Length` and the blank line.
    pub(super) fn finish(mut self, content_length: u64) -> String {
        self.field("Content-Length", &content_length.to_string());
        self.text.push_str("\r\n");
        self.text
    }
}

/// `sha256:<BASE32>` over the concatenation of `parts`, as used by `WARC-*-Digest`.
pub(super) fn sha256_label(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    format!("sha256:{}", base32(&hasher.finalize()))
}

/// RFC 4648 base32, upper case, with `=` padding (what `base64.b32encode` and warcio produce).
pub(super) fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut group = [0u8; 5];
        group[..chunk.len()].copy_from_slice(chunk);
        let bits = group.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        // Number of output symbols that carry data for a partial group of 1..=5 bytes.
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < symbols {
                let index = (bits >> (35 - 5 * i)) & 0x1f;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `<urn:uuid:…>` that looks like a random (v4) UUID, derived from sha256 of the inputs so
/// no UUID crate or random source is needed. Callers pass a per-store counter in `seed`, which
/// keeps IDs unique within a process; time and pid make them unique across processes.
pub(super) fn record_id(seed: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in seed {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let (p1, rest) = hex.split_at(8);
    let (p2, rest) = rest.split_at(4);
    let (p3, rest) = rest.split_at(4);
    let (p4, p5) = rest.split_at(4);
    format!("<urn:uuid:{p1}-{p2}-{p3}-{p4}-{p5}>")
}

/// Counts the bytes that pass through to the inner writer, i.e. the compressed size.
pub(super) struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes one record (`header`, then the block `parts` in order, then the trailer) as its own
/// gzip member and returns the member's compressed length. The block is streamed into the
/// encoder piece by piece, so a body is never copied into a bigger buffer.
pub(super) fn write_member<W: Write>(out: W, header: &str, parts: &[&[u8]]) -> io::Result<u64> {
    let counter = CountingWriter {
        inner: out,
        written: 0,
    };
    // Level 1: a third of the CPU of the default level for ~10% larger files; the raw store
    // sits on the sink's path, where every millisecond per page counts.
    let mut gz = GzEncoder::new(counter, Compression::fast());
    gz.write_all(header.as_bytes())?;
    for part in parts {
        gz.write_all(part)?;
    }
    gz.write_all(RECORD_TRAILER)?;
    Ok(gz.finish()?.written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ];
        for (input, want) in cases {
            assert_eq!(base32(input.as_bytes()), want, "input {input:?}");
        }
    }

    #[test]
    fn sha256_label_of_empty_input() {
        // python: base64.b32encode(hashlib.sha256(b"").digest())
        assert_eq!(
            sha256_label(&[]),
            "sha256:4OYMIQUY7QOBJGX36TEJS35ZEQT24QPEMSNZGTFESWMRW6CSXBKQ===="
        );
    }

    #[test]
    fn record_id_is_v4_shaped_and_input_dependent() {
        let a = record_id(&[b"x", b"1"]);
        let b = record_id(&[b"x", b"2"]);
        assert_ne!(a, b);
        assert!(a.starts_with("<urn:uuid:") && a.ends_with('>'));
        let uuid: Vec<&str> = a
            .trim_start_matches("<urn:uuid:")
            .trim_end_matches('>')
            .split('-')
            .collect();
        assert_eq!(
            uuid.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(uuid[2].starts_with('4'));
        assert!(matches!(
            uuid[3].chars().next(),
            Some('8' | '9' | 'a' | 'b')
        ));
    }

    #[test]
    fn sanitize_value_removes_line_breaks_only() {
        assert_eq!(sanitize_value("a\r\nB: c\td"), "a  B: c\td");
        assert!(matches!(sanitize_value("plain"), Cow::Borrowed(_)));
    }
}
