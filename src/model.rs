//! Shared domain types: the only vocabulary the stages use to talk to each other.
//!
//! Every stage (`fetch`, `raw_store`, `normalize`, `dedup`, `corpus`) imports this module and
//! nothing else of ours except its own config section. This module imports nothing of ours.
//! Values are normalised once, when they are constructed (a `HostKey` is always lower-case,
//! a `SourceId` is always a valid identifier), so later code never re-checks them.

mod article;
mod record;

pub use article::{
    Article, Attribution, AttributionKind, Block, BlockKind, DatePrecision, DateSource,
    ExtractorInfo, FoundIn, Image,
};
pub use record::{
    ContentHash, CorpusRecord, LinkReason, NearLink, SCHEMA_VERSION, Sighting, corpus_record_schema,
};

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

/// The configured identifier of a source (`belta_en`, `sb_ru`): lower-case ASCII letters,
/// digits, `_` and `-`, 1 to 64 characters.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct SourceId(String);

impl SourceId {
    /// Validates and wraps an identifier.
    ///
    /// # Errors
    /// Returns the offending text when it is empty, longer than 64 bytes, or holds a character
    /// other than `a-z`, `0-9`, `_`, `-`.
    pub fn new(id: &str) -> Result<Self, String> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(id.to_owned())
        }
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id given to pages that belong to no configured source (`newsmill fetch` of a URL on
    /// no configured site, `newsmill extract` without `--source`). Nobody is known to have
    /// published them, so no publisher is credited.
    pub const ADHOC: &str = "adhoc";

    /// [`SourceId::ADHOC`] as an id.
    pub fn adhoc() -> Self {
        Self(Self::ADHOC.to_owned())
    }

    /// Whether this is [`SourceId::ADHOC`].
    pub fn is_adhoc(&self) -> bool {
        self.0 == Self::ADHOC
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key politeness is applied to: lower-case host plus the port when it is not the
/// scheme's default (`eng.belta.by`, `127.0.0.1:8080`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostKey(String);

impl HostKey {
    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&Url> for HostKey {
    type Error = String;

    fn try_from(url: &Url) -> Result<Self, Self::Error> {
        let host = url
            .host_str()
            .ok_or_else(|| format!("{url} has no host"))?
            .to_ascii_lowercase();
        Ok(match url.port() {
            Some(port) => Self(format!("{host}:{port}")),
            None => Self(host),
        })
    }
}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Per-source extraction rules from `[sources.selectors]`. CSS selectors are kept as text
/// here; the normalizer compiles them once and reports the ones that do not parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectorSpec {
    /// Selector for the headline element.
    pub title: Option<String>,
    /// Selector for the article body container(s); the first that matches wins.
    pub body: Option<String>,
    /// Selector for the element (or `meta`) holding the publication date.
    pub date: Option<String>,
    /// Selector for author names.
    pub author: Option<String>,
    /// Elements removed from the body before text is taken.
    pub remove: Vec<String>,
    /// Regular expressions; a body line matching one entirely is dropped.
    pub drop_lines: Vec<String>,
}

/// Everything the normalizer needs to know about one configured source.
#[derive(Debug, Clone)]
pub struct SourceProfile {
    /// Configured identifier.
    pub id: SourceId,
    /// Display name ("BelTA").
    pub name: String,
    /// Home page, used for feed autodiscovery and to recognise the source's own domain.
    pub homepage: Option<Url>,
    /// Expected language (ISO 639-1), a hint cross-checked against detection.
    pub language: Option<String>,
    /// Time zone attached to local times printed on the source's pages; `None` when not
    /// configured: a local time without an offset then stays a local time (never labelled UTC).
    pub timezone: Option<chrono_tz::Tz>,
    /// Names, domains and Cyrillic forms under which other texts credit this source.
    pub aliases: Vec<String>,
    /// Site-specific rules; `None` means the generic extractor alone.
    pub selectors: Option<SelectorSpec>,
}

/// An article URL found by discovery (feed entry, sitemap entry, section-page link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    /// Absolute article URL as published.
    pub url: Url,
    /// Title from the feed, if any.
    pub title: Option<String>,
    /// Publication time from the feed or sitemap, if any.
    pub published: Option<DateTime<FixedOffset>>,
}

/// HTTP validators (`ETag`, `Last-Modified`) remembered for a URL and sent back as
/// `If-None-Match` / `If-Modified-Since`: the one type for feeds, sitemaps, section pages and
/// articles, in the fetcher's requests and in the frontier's storage alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// Last `ETag` seen.
    pub etag: Option<String>,
    /// Last `Last-Modified` seen.
    pub last_modified: Option<String>,
}

impl Validators {
    /// The validators a response carried.
    pub fn of(page: &RawPage) -> Self {
        Self {
            etag: page.header("etag").map(str::to_owned),
            last_modified: page.header("last-modified").map(str::to_owned),
        }
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// A response as it came off the wire, with its body already content-decoded
/// (gzip/brotli/deflate removed) and capped. This is what `raw_store` persists and what
/// `normalize` reads, so a later normalizer can run again on exactly the same input.
#[derive(Debug, Clone)]
pub struct RawPage {
    /// The source this fetch was made for.
    pub source: SourceId,
    /// The URL that was asked for.
    pub requested_url: Url,
    /// The URL that answered, after redirects.
    pub final_url: Url,
    /// HTTP status code.
    pub status: u16,
    /// HTTP version as in a status line ("HTTP/1.1").
    pub http_version: String,
    /// Request headers that were sent, in order.
    pub request_headers: Vec<(String, String)>,
    /// Response headers as received, in order (`Content-Encoding` describes the wire, not `body`).
    pub headers: Vec<(String, String)>,
    /// Content-decoded body bytes.
    pub body: Vec<u8>,
    /// When the response was received.
    pub fetched_at: DateTime<Utc>,
    /// What discovery knew about the URL (feed title and date), used as a fallback.
    pub hint: Option<FeedItem>,
}

impl RawPage {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where a record sits in `raw/`: the file (relative to the raw folder), the byte offset of its
/// gzip member and the member's compressed length, so it can be re-read with one seek.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RawLocation {
    /// File path relative to the raw folder, with `/` separators.
    pub file: PathBuf,
    /// Offset of the gzip member that holds the response record.
    pub offset: u64,
    /// Compressed length of that member in bytes.
    pub length: u64,
}
