//! What the near-duplicate index knows about a record, and the order that decides which record
//! of a cluster is its canonical one. Pure and sync.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::model::{AttributionKind, CorpusRecord};

use super::facttag::FactTag;
use super::keys;
use super::shingle::ShingleSet;

/// The sort key of a record inside its cluster; the smallest is the cluster's canonical record.
///
/// In order: earliest `published_at` (records without one come last); then a record that does
/// not credit another outlet with a dateline or a "based on" line (the agency's own copy) before
/// one that does; then the lexicographically smaller `source_id`; then the shorter canonical URL;
/// then the smaller record id. The id makes the order total, so every input order agrees on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rank {
    /// `published_at` in microseconds since the Unix epoch (UTC).
    pub published_us: Option<i64>,
    /// Whether the text credits another outlet as its origin (dateline or "based on").
    pub republished: bool,
    /// The source it was fetched for.
    pub source_id: String,
    /// Length of the canonical URL in bytes.
    pub url_len: u32,
    /// Record id.
    pub id: String,
}

impl Rank {
    /// The rank of a corpus record.
    pub fn of(record: &CorpusRecord) -> Self {
        let a = &record.article;
        let republished = a.attributions.iter().any(|at| {
            matches!(
                at.kind,
                AttributionKind::Dateline | AttributionKind::BasedOn
            ) && at.source_id.as_ref() != Some(&a.source_id)
        });
        Self {
            published_us: a.published_at.map(|t| t.timestamp_micros()),
            republished,
            source_id: a.source_id.as_str().to_owned(),
            url_len: u32::try_from(a.canonical_url.as_str().len()).unwrap_or(u32::MAX),
            id: record.id.clone(),
        }
    }

    fn key(&self) -> (bool, i64, bool, &str, u32, &str) {
        (
            self.published_us.is_none(),
            self.published_us.unwrap_or(0),
            self.republished,
            &self.source_id,
            self.url_len,
            &self.id,
        )
    }
}

impl Ord for Rank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What the index stores per record: its rank, its shingle count and its fact tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocInfo {
    /// Canonical-record order key (holds the id).
    pub rank: Rank,
    /// Number of distinct shingles of the text.
    pub shingles: u32,
    /// A few of its facts, to drop a far candidate that cannot link before its text is read.
    pub facts: FactTag,
}

impl DocInfo {
    /// The record id.
    pub fn id(&self) -> &str {
        &self.rank.id
    }
}

/// A stored record together with the cluster it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedDoc {
    /// What the index knows about it.
    pub info: DocInfo,
    /// Id of its cluster's canonical record (its own id when it is the canonical one).
    pub cluster: String,
}

/// A record being added: its index entry plus the full shingle set and band keys.
#[derive(Debug, Clone)]
pub struct NearDoc {
    /// The entry to store.
    pub info: DocInfo,
    /// Its shingles, for exact verification.
    pub shingles: Arc<ShingleSet>,
    /// Its keys ([`keys::record_keys`]: the LSH band keys, then the far keys); empty when
    /// the text has no words.
    pub bands: Vec<u32>,
}

impl NearDoc {
    /// Shingles and signs `text`.
    pub fn new(rank: Rank, text: &str) -> Self {
        let shingles = ShingleSet::of_text(text);
        let bands = keys::record_keys(&shingles);
        Self {
            info: DocInfo {
                rank,
                shingles: u32::try_from(shingles.len()).unwrap_or(u32::MAX),
                facts: FactTag::of(&shingles),
            },
            shingles: Arc::new(shingles),
            bands,
        }
    }

    /// Shingles and signs a corpus record's text.
    pub fn of_record(record: &CorpusRecord) -> Self {
        Self::new(Rank::of(record), &record.article.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(published: Option<i64>, republished: bool, source: &str, url: u32, id: &str) -> Rank {
        Rank {
            published_us: published,
            republished,
            source_id: source.into(),
            url_len: url,
            id: id.into(),
        }
    }

    #[test]
    fn order_is_date_then_agency_then_source_then_url_then_id() {
        let base = rank(Some(10), false, "sb", 30, "b");
        assert!(rank(Some(9), true, "zz", 99, "z") < base);
        assert!(rank(None, false, "a", 1, "a") > base);
        assert!(rank(Some(10), false, "zz", 99, "z") > rank(Some(10), false, "aa", 99, "z"));
        assert!(rank(Some(10), true, "aa", 1, "a") > rank(Some(10), false, "zz", 99, "z"));
        assert!(rank(Some(10), false, "sb", 29, "z") < base);
        assert!(rank(Some(10), false, "sb", 30, "a") < base);
    }
}
