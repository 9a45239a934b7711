//! One line of the corpus (`CorpusRecord`): an `Article` plus identity, provenance and the
//! exact- and near-duplicate fields, and the JSON Schema generated from it.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Article, RawLocation, SourceId};

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
