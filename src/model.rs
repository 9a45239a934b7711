//! Shared domain types: the only vocabulary the stages use to talk to each other.
//!
//! Every stage (`fetch`, `raw_store`, `normalize`, `dedup`, `corpus`) imports this module and
//! nothing else of ours except its own config section. This module imports nothing of ours.
//! Values are normalised once, when they are constructed (a `HostKey` is always lower-case,
//! a `SourceId` is always a valid identifier), so later code never re-checks them.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
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

/// The structural kind of a body block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// A section heading inside the article.
    Heading,
    /// Ordinary running text.
    Paragraph,
    /// A block quotation.
    Quote,
    /// A list; items are separated by newlines in `text`.
    List,
}

/// One block of article text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Block {
    /// What kind of block this is.
    pub kind: BlockKind,
    /// The block's text, whitespace folded, no leading or trailing blanks.
    pub text: String,
}

/// How a text credits an agency.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AttributionKind {
    /// The outlet that published the page.
    Publisher,
    /// A wire dateline at the start ("MINSK, 5 May (BelTA) –").
    Dateline,
    /// A closing source line ("Based on materials of sb.by and belta.by", "По материалам БелТА").
    BasedOn,
    /// A source named in the running text ("according to the Pul Pervogo Telegram channel").
    Cited,
    /// A photo credit ("BELTA", "Фото: БелТА").
    Photo,
}

/// Where on the page an attribution was read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FoundIn {
    /// The running text ("…, Reuters reports").
    Body,
    /// The wire dateline opening the text ("MINSK, 5 May (BelTA) –").
    Dateline,
    /// A picture's caption, or a credit line under a picture in the text ("Фото: БелТА").
    Caption,
    /// A dedicated credit element of a picture (`class="credit"`, "© AFP / Name").
    Credit,
    /// The closing lines of the text ("Based on materials of sb.by and belta.by").
    Footer,
}

/// One agency credited by an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attribution {
    /// The name as it resolves: the configured source's name, or the name as written.
    pub name: String,
    /// The configured source it resolves to through `aliases`, if any.
    pub source_id: Option<SourceId>,
    /// How the text credits it.
    pub kind: AttributionKind,
    /// The words in the page that gave it away.
    pub evidence: String,
    /// Where on the page `evidence` was read; null for `publisher` (known from the config, not
    /// read from the page) and in records written before the field existed.
    #[serde(default)]
    pub found_in: Option<FoundIn>,
}

/// Which signal the publication date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// The source's configured date selector.
    Selector,
    /// JSON-LD `datePublished`.
    JsonLd,
    /// A `<meta>` tag such as `article:published_time`.
    Meta,
    /// A `<time datetime>` element.
    TimeElement,
    /// A date printed in the visible text ("Posted: 05.05.2025 10:31:24").
    VisibleText,
    /// The date the feed or sitemap gave.
    Feed,
    /// A date encoded in the URL.
    Url,
    /// A date under a publication key in a page script outside JSON-LD
    /// (`"published_at": "…"` in app or shop data); read only when nothing else gives one.
    Script,
}

/// How much of the publication moment a record knows. Every value sets `published_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatePrecision {
    /// Date, time of day and UTC offset (stated on the page or from the source's configured
    /// time zone): `published_at` and `published_local` are set.
    Instant,
    /// Date and time of day, but no offset on the page and no configured time zone:
    /// `published_local` is set, `published_at` is not.
    LocalTime,
    /// The calendar date only: neither `published_at` nor `published_local` is set.
    Day,
}

/// Name and version of the code path that produced an article's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExtractorInfo {
    /// `selectors:<source_id>` for per-source rules, `generic` for the fallback.
    pub name: String,
    /// The newsmill version that ran.
    pub version: String,
}

/// An image with what the page says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Image {
    /// Absolute image URL.
    pub url: Url,
    /// Caption text, if any.
    pub caption: Option<String>,
    /// Credit text, if any.
    pub credit: Option<String>,
}

/// The normalizer's output for one page: clean text plus metadata. Pure data; the corpus
/// record adds identity and dedup fields on top.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Article {
    /// The page URL after redirects.
    pub url: Url,
    /// The canonical URL (fragment and tracking parameters removed, `rel=canonical` on the same site).
    pub canonical_url: Url,
    /// The source it was fetched for.
    pub source_id: SourceId,
    /// Headline, site-name suffix removed.
    pub title: Option<String>,
    /// Lead or description (`og:description`, `meta description`).
    pub description: Option<String>,
    /// Body text, blocks separated by a blank line.
    pub text: String,
    /// The body as typed blocks.
    pub blocks: Vec<Block>,
    /// Publication instant with the offset that applies where it was published; set only when
    /// the page gives a time of day and its offset is stated or known from the source's
    /// configured time zone (`date_precision` = `instant`). Never an invented midnight.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Calendar date of publication at the publisher (`YYYY-MM-DD`), whenever a date is known.
    pub published_date: Option<NaiveDate>,
    /// Wall-clock time of publication at the publisher, without offset
    /// (`YYYY-MM-DDTHH:MM:SS`), whenever a time of day is known.
    pub published_local: Option<NaiveDateTime>,
    /// Which of the three fields above are known; `None` when no date is.
    pub date_precision: Option<DatePrecision>,
    /// Which signal the publication date came from.
    pub date_source: Option<DateSource>,
    /// Last modification time, when the page gives one.
    pub modified_at: Option<DateTime<FixedOffset>>,
    /// ISO 639-1 language code.
    pub language: Option<String>,
    /// Author names as printed.
    pub authors: Vec<String>,
    /// Agencies the text credits.
    pub attributions: Vec<Attribution>,
    /// Photo-credit lines removed from the body.
    pub photo_credits: Vec<String>,
    /// Lead image (`og:image`).
    pub image: Option<Url>,
    /// Images inside the article with captions and credits.
    pub images: Vec<Image>,
    /// Tags or keywords.
    pub tags: Vec<String>,
    /// Which code path produced the text.
    pub extractor: ExtractorInfo,
    /// Non-fatal problems met while normalizing (e.g. selectors that no longer match; an
    /// `extraction` warning when no article text was found and `text` is empty).
    pub warnings: Vec<String>,
}

/// SHA-256 of an article's normalized text (see `dedup::fingerprint_text`), as 64 lower-case hex
/// digits. Equal texts give equal hashes on every machine and every run.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct ContentHash(String);

impl ContentHash {
    /// Wraps a digest computed by the deduper (`dedup::content_hash`).
    pub fn from_digest(digest: &[u8]) -> Self {
        let mut hex = String::with_capacity(digest.len() * 2);
        for b in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        Self(hex)
    }

    /// The hash as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The record id derived from the hash: `a` followed by its first 31 hex digits
    /// (124 bits; a letter first so the id is never read as a number).
    pub fn record_id(&self) -> String {
        let mut id = String::with_capacity(32);
        id.push('a');
        id.extend(self.0.chars().take(31));
        id
    }
}

/// Another place where exactly the same text was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Sighting {
    /// Canonical URL of the other copy.
    pub url: Url,
    /// Source it was fetched for.
    pub source_id: SourceId,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// Where a record stands among its near duplicates (see `dedup`'s module doc for how links are
/// made). Flattened into [`CorpusRecord`]; every field defaults to `null` so lines written before
/// near-duplicate detection still read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NearLink {
    /// Id of the cluster's canonical (earliest) record; a record alone in its cluster carries its
    /// own id. Changes only when an earlier-published copy arrives later.
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// The cluster's canonical record when it is not this one (`null` for the canonical record).
    #[serde(default)]
    pub near_duplicate_of: Option<String>,
    /// Jaccard similarity (0–1, 4 decimals) of this text's word shingles to those of
    /// `near_duplicate_of`.
    #[serde(default)]
    pub similarity: Option<f64>,
    /// Containment (0–1, 4 decimals): shared shingles over the smaller of the two shingle sets.
    #[serde(default)]
    pub containment: Option<f64>,
    /// Why this record is in `near_duplicate_of`'s cluster (`null` for the canonical record).
    #[serde(default)]
    pub link_reason: Option<LinkReason>,
    /// For a digest (a text quoting several different stories): ids of the records it quotes,
    /// sorted. Each is linked by containment (`link_reason` `containment`) without joining this
    /// record's cluster, so the stories of one digest stay apart. Omitted when empty (any
    /// record that is not a digest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<String>,
    /// Ids of the digests that quote this record (sorted; see `contains`); omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contained_in: Vec<String>,
}

/// Why a record was linked to its cluster's canonical record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkReason {
    /// The two shingle sets overlap enough as a whole (Jaccard), and their facts agree.
    Jaccard,
    /// Most of the smaller text is inside the larger one (an excerpt, a cut tail, a digest
    /// quoting the story), and the smaller text's facts are found in the larger one.
    Containment,
    /// Not similar enough to the canonical record itself: linked through another member of the
    /// cluster (a chain of copies, or a digest that quotes both stories).
    Transitive,
}

/// Current corpus record schema version; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// One line of the JSONL corpus: an [`Article`] plus identity, provenance and dedup fields.
///
/// # Format
/// JSON Lines, one record per line, UTF-8. Every field of [`Article`] appears at the top level
/// (`url`, `canonical_url`, `source_id`, `title`, `text`, `blocks`, `published_at`, …), plus the
/// fields below; the [`NearLink`] fields (`cluster_id`, `near_duplicate_of`, `similarity`,
/// `containment`, `link_reason`, `contains`, `contained_in`) come last. The README lists every field with an example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CorpusRecord {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// Stable id derived from `content_sha256` ([`ContentHash::record_id`]).
    pub id: String,
    /// SHA-256 of the normalized text (of the canonical URL when the text is empty).
    pub content_sha256: ContentHash,
    /// The article itself.
    #[serde(flatten)]
    pub article: Article,
    /// When the page was fetched.
    pub fetched_at: DateTime<Utc>,
    /// Where the raw response sits in `raw/`.
    pub raw: RawLocation,
    /// Word count of `text`.
    pub word_count: usize,
    /// Other URLs (any source) where exactly the same text was seen, in the order seen.
    pub also_seen_at: Vec<Sighting>,
    /// Near-duplicate cluster: `cluster_id`, `near_duplicate_of`, `similarity`, `containment`,
    /// `link_reason`; digest relation: `contains`, `contained_in`.
    #[serde(flatten)]
    pub near: NearLink,
}

/// The JSON Schema (draft 2020-12) of one corpus line, generated from [`CorpusRecord`]. The
/// committed copy is `schema/corpus-record.schema.json`; a test fails when they drift.
pub fn corpus_record_schema() -> String {
    let schema = schemars::schema_for!(CorpusRecord);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
