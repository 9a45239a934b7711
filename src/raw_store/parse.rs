//! Decoding one gzip member into a WARC record, and a `response` record into a `RawPage`.
//!
//! Works on any `BufRead` positioned at the start of a member, so `read_at` (one seek) and
//! `scan` (a sequential walk) share it. It never decides how to recover from a bad member:
//! it reports a [`MemberError`] and the caller, which knows the file, chooses what to do.

use std::io::{self, BufRead, BufReader, Read};

use chrono::{DateTime, Utc};
use flate2::bufread::GzDecoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use super::http::parse_response_head;
use super::record::{base32, stored_precision};
use crate::model::{FeedItem, RawPage, SourceId};

/// The largest block (`Content-Length`) a reader accepts: 256 MiB.
pub const MAX_RECORD_BYTES: u64 = 256 * 1024 * 1024;

/// The largest WARC header a reader accepts; ours are a few KiB (long URLs, hint JSON).
const MAX_HEADER_BYTES: u64 = 1024 * 1024;

/// Extension headers that carry what WARC has no field for.
pub(super) const SOURCE_FIELD: &str = "WARC-Newsmill-Source";
pub(super) const REQUESTED_FIELD: &str = "WARC-Newsmill-Requested-URI";
pub(super) const HINT_FIELD: &str = "WARC-Newsmill-Hint";
pub(super) const REQUEST_HEADERS_FIELD: &str = "WARC-Newsmill-Request-Headers";

/// Why a member could not be turned into a record; the caller adds path and offset.
#[derive(Debug)]
pub(super) enum MemberError {
    /// The bytes are not a well-formed record (or not valid gzip); the text says why.
    Corrupt(String),
    /// The record declares a block larger than [`MAX_RECORD_BYTES`].
    TooLarge(u64),
}

impl From<io::Error> for MemberError {
    fn from(err: io::Error) -> Self {
        Self::Corrupt(format!("gzip/read error: {err}"))
    }
}

fn corrupt(reason: impl Into<String>) -> MemberError {
    MemberError::Corrupt(reason.into())
}

/// What a member held.
pub(super) enum Member {
    /// A `response` record, rebuilt.
    Response(Box<RawPage>),
    /// Any other record type (`warcinfo`, `request`, ...), read and verified but not kept.
    Other,
}

/// The `WARC-Newsmill-Hint` JSON: `{"url", "title", "published"}`, one line.
#[derive(Serialize, Deserialize)]
pub(super) struct HintJson {
    pub(super) url: String,
    pub(super) title: Option<String>,
    pub(super) published: Option<String>,
}

/// Decodes the gzip member at the reader's position to its end (so the gzip CRC is checked)
/// and rebuilds the page if it is a `response` record. On success exactly the member's bytes
/// have been consumed from `input`.
pub(super) fn decode_member<R: BufRead>(input: R) -> Result<Member, MemberError> {
    let mut rec = BufReader::with_capacity(64 * 1024, GzDecoder::new(input));
    let fields = read_fields(&mut rec)?;
    let length: u64 = field(&fields, "Content-Length")
        .ok_or_else(|| corrupt("WARC header has no Content-Length"))?
        .parse()
        .map_err(|_| corrupt("WARC Content-Length is not a number"))?;
    if length > MAX_RECORD_BYTES {
        return Err(MemberError::TooLarge(length));
    }
    let is_response = field(&fields, "WARC-Type") == Some("response");
    let (block, got) = if is_response {
        // Preallocate up to 16 MiB; a lying Content-Length cannot make us reserve more.
        let mut block = Vec::with_capacity(length.min(16 * 1024 * 1024) as usize);
        let got = (&mut rec).take(length).read_to_end(&mut block)? as u64;
        (Some(block), got)
    } else {
        (
            None,
            io::copy(&mut (&mut rec).take(length), &mut io::sink())?,
        )
    };
    if got < length {
        return Err(corrupt(format!(
            "Content-Length {length} but the member holds only {got} bytes of block"
        )));
    }
    check_trailer(&mut rec, length)?;
    match block {
        Some(block) => Ok(Member::Response(Box::new(page_from_record(
            &fields, block,
        )?))),
        None => Ok(Member::Other),
    }
}

/// Reads the version line and the `Name: value` fields up to the blank line.
fn read_fields<R: BufRead>(rec: &mut R) -> Result<Vec<(String, String)>, MemberError> {
    let mut limited = rec.take(MAX_HEADER_BYTES);
    let mut line = Vec::new();
    limited.read_until(b'\n', &mut line)?;
    if !line.starts_with(b"WARC/1.") {
        return Err(corrupt(
            "member does not start with a WARC/1.x version line",
        ));
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    loop {
        line.clear();
        limited.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(corrupt("WARC header is truncated or longer than 1 MiB"));
        }
        let text = std::str::from_utf8(&line).map_err(|_| corrupt("WARC header is not UTF-8"))?;
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return Ok(fields);
        }
        if text.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut() {
                v.push(' ');
                v.push_str(text.trim());
            }
            continue;
        }
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| corrupt(format!("bad WARC header line {text:?}")))?;
        fields.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

/// Requires the `\r\n\r\n` record trailer right after the block and then the member's end.
/// A `Content-Length` that is too small shows up here.
fn check_trailer<R: BufRead>(rec: &mut R, length: u64) -> Result<(), MemberError> {
    let mut tail = Vec::with_capacity(5);
    rec.take(5).read_to_end(&mut tail)?;
    if tail.len() < 4 {
        return Err(corrupt(format!(
            "Content-Length {length} runs past the end of the member"
        )));
    }
    if tail != b"\r\n\r\n" {
        return Err(corrupt(format!(
            "no record trailer after Content-Length {length} bytes"
        )));
    }
    Ok(())
}

/// The first field with this name (case-insensitive).
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Rebuilds the `RawPage` a `response` record was written from.
fn page_from_record(
    fields: &[(String, String)],
    mut block: Vec<u8>,
) -> Result<RawPage, MemberError> {
    if let Some(want) = field(fields, "WARC-Block-Digest").and_then(|d| d.strip_prefix("sha256:")) {
        let got = base32(&Sha256::digest(&block));
        if !got
            .trim_end_matches('=')
            .eq_ignore_ascii_case(want.trim_end_matches('='))
        {
            return Err(corrupt("WARC-Block-Digest does not match the block"));
        }
    }
    let source = field(fields, SOURCE_FIELD).ok_or_else(|| corrupt("no WARC-Newsmill-Source"))?;
    let source = SourceId::new(source).map_err(|s| corrupt(format!("bad source id {s:?}")))?;
    let final_url = parse_url(field(fields, "WARC-Target-URI"), "WARC-Target-URI")?;
    let requested_url = match field(fields, REQUESTED_FIELD) {
        Some(u) => parse_url(Some(u), REQUESTED_FIELD)?,
        None => final_url.clone(),
    };
    let date = field(fields, "WARC-Date").ok_or_else(|| corrupt("no WARC-Date"))?;
    let fetched_at = DateTime::parse_from_rfc3339(date)
        .map_err(|_| corrupt(format!("bad WARC-Date {date:?}")))?
        .with_timezone(&Utc);
    let request_headers = match field(fields, REQUEST_HEADERS_FIELD) {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| corrupt(format!("bad {REQUEST_HEADERS_FIELD}: {e}")))?,
        None => Vec::new(),
    };
    let hint = field(fields, HINT_FIELD).map(parse_hint).transpose()?;
    let head = parse_response_head(&block).map_err(MemberError::Corrupt)?;
    block.drain(..head.body_start);
    Ok(RawPage {
        source,
        requested_url,
        final_url,
        status: head.status,
        http_version: head.version,
        request_headers,
        headers: head.headers,
        body: block,
        fetched_at: stored_precision(fetched_at),
        hint,
    })
}

fn parse_url(value: Option<&str>, name: &str) -> Result<Url, MemberError> {
    let value = value.ok_or_else(|| corrupt(format!("no {name}")))?;
    // WARC/1.0 writers wrap the URI in angle brackets; 1.1 does not.
    let bare = value.trim_start_matches('<').trim_end_matches('>');
    Url::parse(bare).map_err(|e| corrupt(format!("bad {name} {value:?}: {e}")))
}

fn parse_hint(json: &str) -> Result<FeedItem, MemberError> {
    let bad = |what: String| corrupt(format!("bad {HINT_FIELD}: {what}"));
    let hint: HintJson = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let published = hint
        .published
        .map(|p| DateTime::parse_from_rfc3339(&p).map_err(|e| bad(e.to_string())))
        .transpose()?;
    Ok(FeedItem {
        url: Url::parse(&hint.url).map_err(|e| bad(e.to_string()))?,
        title: hint.title,
        published,
    })
}
