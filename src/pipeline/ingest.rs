//! The sync heart shared by `run`, `fetch` and `reprocess`: a stored page goes through
//! normalize → dedup → corpus. No I/O other than the corpus; the caller writes raw/ first.

use std::collections::BTreeMap;

use crate::corpus::{Corpus, CorpusError};
use crate::dedup::{self, Deduper, Verdict};
use crate::model::{CorpusRecord, RawLocation, RawPage, SCHEMA_VERSION, Sighting, SourceId};
use crate::normalize::Normalizer;

use super::report::SourceStats;

/// What happened to one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// A new record was queued in the corpus.
    New {
        /// Record id.
        id: String,
        /// Canonical URL of the page.
        url: String,
    },
    /// Same text as an existing record; the URL was added to its `also_seen_at`.
    Duplicate {
        /// Existing record id.
        of: String,
        /// Canonical URL of this copy.
        url: String,
    },
    /// The page gave no article (error kind for the report).
    Failed {
        /// Stable error kind.
        kind: String,
    },
}

/// Normalizer + deduper + corpus, with per-source counters.
pub struct Ingest {
    pub(super) normalizer: Normalizer,
    pub(super) deduper: Deduper,
    pub(super) corpus: Corpus,
    pub(super) stats: BTreeMap<SourceId, SourceStats>,
}

impl Ingest {
    /// Wires a normalizer to an open corpus; the deduper is seeded from the corpus ids.
    pub fn new(normalizer: Normalizer, corpus: Corpus) -> Self {
        Self {
            deduper: Deduper::seeded(corpus.ids()),
            normalizer,
            corpus,
            stats: BTreeMap::new(),
        }
    }

    /// Normalizes, dedups and queues one stored page.
    pub fn page(&mut self, page: &RawPage, raw: RawLocation) -> Ingested {
        let stats = self.stats.entry(page.source.clone()).or_default();
        let article = match self.normalizer.normalize(page) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(url = %page.final_url, error = %e, "normalize failed");
                let kind = match e {
                    crate::normalize::NormalizeError::NotHtml { .. } => "not_html",
                    crate::normalize::NormalizeError::NoText { .. } => "no_text",
                    crate::normalize::NormalizeError::UnknownSource { .. } => "unknown_source",
                };
                stats.fail(kind);
                return Ingested::Failed { kind: kind.into() };
            }
        };
        if article
            .warnings
            .iter()
            .any(|w| w.starts_with("selectors.body"))
        {
            stats.selector_misses += 1;
        }
        let hash = dedup::content_hash(&article.text);
        let url = article.canonical_url.to_string();
        match self.deduper.check(&hash) {
            Verdict::New { id } => {
                let record = CorpusRecord {
                    schema_version: SCHEMA_VERSION,
                    id: id.clone(),
                    content_sha256: hash,
                    word_count: article.text.split_whitespace().count(),
                    fetched_at: page.fetched_at,
                    raw,
                    also_seen_at: Vec::new(),
                    article,
                };
                self.corpus.append(record);
                stats.new_articles += 1;
                Ingested::New { id, url }
            }
            Verdict::Duplicate { of } => {
                let sighting = Sighting {
                    url: article.canonical_url,
                    source_id: page.source.clone(),
                    fetched_at: page.fetched_at,
                };
                self.corpus.add_sighting(&of, sighting);
                stats.duplicates += 1;
                Ingested::Duplicate { of, url }
            }
        }
    }

    /// Makes queued records durable.
    ///
    /// # Errors
    /// Corpus write errors.
    pub fn flush(&mut self) -> Result<(), CorpusError> {
        self.corpus.flush().map(drop)
    }

    /// Records waiting for a flush.
    pub fn pending(&self) -> usize {
        self.corpus.pending()
    }
}
