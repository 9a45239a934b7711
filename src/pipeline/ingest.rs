//! The sync heart shared by `run`, `fetch` and `reprocess`: a stored page goes through
//! normalize → dedup (exact, then near-duplicate linking) → corpus. No I/O other than the corpus
//! and the near-duplicate index in the state database; the caller writes raw/ first.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::DedupConfig;
use crate::corpus::{Corpus, CorpusError};
use crate::dedup::{self, Deduper, Verdict};
use crate::frontier::FailureKind;
use crate::model::{
    Article, ContentHash, CorpusRecord, NearLink, RawLocation, RawPage, SCHEMA_VERSION, Sighting,
    SourceId,
};
use crate::normalize::{NormalizeError, Normalizer};
use crate::state::State;
use crate::state::pg::SharedCorpus;

use super::near::{Linker, NearError, NearLinker, Unlinked};
use super::progress::{Event, Progress};
use super::report::SourceStats;

mod shared;

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
    /// The page gave no article.
    Failed {
        /// Why.
        kind: FailureKind,
    },
}

/// The corpus record of a new article whose text hashes to `hash`: the one place a record is
/// put together, so `newsmill extract` prints exactly the corpus shape and new record fields
/// reach both. `id` derives from `hash`; `also_seen_at` is empty and `near` unset until the
/// record is linked.
pub fn new_record(
    article: Article,
    hash: ContentHash,
    fetched_at: DateTime<Utc>,
    raw: RawLocation,
) -> CorpusRecord {
    CorpusRecord {
        schema_version: SCHEMA_VERSION,
        id: hash.record_id(),
        content_sha256: hash,
        word_count: article.text.split_whitespace().count(),
        fetched_at,
        raw,
        also_seen_at: Vec::new(),
        article,
        near: NearLink::default(),
    }
}

/// Normalizer + deduper + near-duplicate linker + corpus, with per-source counters.
pub struct Ingest {
    pub(super) normalizer: Normalizer,
    pub(super) deduper: Deduper,
    pub(super) near: Linker,
    pub(super) corpus: Corpus,
    pub(super) stats: BTreeMap<SourceId, SourceStats>,
    /// When a URL already on a record is fetched again and gives the same text, point the
    /// record's `raw` at the new response. That heals a record whose raw response was lost
    /// (the frontier fetches its URL again); off under `--refetch`, where every URL comes back
    /// and rewriting every segment would buy nothing.
    pub(super) relocate_raw: bool,
    /// Terminal progress bars to tell about new records and pages that gave none.
    progress: Option<Arc<Progress>>,
    /// Exact-duplicate claims and the manifest shared with other workers (`newsmill worker`).
    shared: Option<SharedCorpus>,
    /// Hashes claimed since the last flush (durable once it succeeds).
    claimed: Vec<ContentHash>,
    /// Records queued in the corpus, linked through the shared index at the next flush.
    unlinked: Vec<Unlinked>,
    /// Records of dead workers whose flush was adopted here, with their canonical URLs: a
    /// sighting at a record's own URL would be a no-op for its owner, so none is queued
    /// (worker only).
    adopted: std::collections::HashMap<String, String>,
}

impl Ingest {
    /// Wires a normalizer to an open corpus; the deduper is seeded from the corpus ids and the
    /// near-duplicate index (in `state`) is checked against the corpus, rebuilt if stale.
    ///
    /// # Errors
    /// The near-duplicate index could not be read or rebuilt.
    pub fn new(
        normalizer: Normalizer,
        mut corpus: Corpus,
        state: Arc<State>,
        dedup: &DedupConfig,
    ) -> Result<Self, NearError> {
        Ok(Self {
            deduper: Deduper::seeded(corpus.ids()),
            near: Linker::Local(Box::new(NearLinker::open(state, &mut corpus, dedup)?)),
            normalizer,
            corpus,
            stats: BTreeMap::new(),
            relocate_raw: true,
            progress: None,
            shared: None,
            claimed: Vec::new(),
            unlinked: Vec::new(),
            adopted: std::collections::HashMap::new(),
        })
    }

    /// Also counts new records and failed pages on the run's progress bars.
    pub fn with_progress(mut self, progress: Arc<Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    fn note(&self, source: &SourceId, event: Event) {
        if let Some(p) = &self.progress {
            p.note(source, event);
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
                    NormalizeError::NotHtml { .. } => FailureKind::NotHtml,
                    NormalizeError::UnknownSource { .. } => FailureKind::UnknownSource,
                };
                stats.fail(&kind.as_str());
                self.note(&page.source, Event::Failed);
                return Ingested::Failed { kind };
            }
        };
        if article
            .warnings
            .iter()
            .any(|w| w.starts_with("selectors.body"))
        {
            stats.selector_misses += 1;
        }
        // A record without text (the normalizer's `extraction` warning) is keyed by its URL:
        // hashing the empty text would make every textless page a duplicate of the first.
        let hash = if article.text.is_empty() {
            dedup::content_hash(article.canonical_url.as_str())
        } else {
            dedup::content_hash(&article.text)
        };
        let url = article.canonical_url.to_string();
        match self.deduper.check(&hash) {
            Verdict::New { id } if self.owned_elsewhere(&hash, &id, &url) => {
                // Another worker's record holds this text: a duplicate of it, noted on it by
                // its owner.
                self.queue_sighting(&id, &article, page);
                let stats = self.stats.entry(page.source.clone()).or_default();
                stats.duplicates += 1;
                Ingested::Duplicate { of: id, url }
            }
            Verdict::New { id } => {
                let record = new_record(article, hash, page.fetched_at, raw);
                let near = self.append_linked(record);
                let stats = self.stats.entry(page.source.clone()).or_default();
                stats.new_articles += 1;
                stats.near_duplicates += u64::from(near);
                self.note(&page.source, Event::New);
                Ingested::New { id, url }
            }
            Verdict::Duplicate { of } => {
                let sighting = Sighting {
                    url: article.canonical_url,
                    source_id: page.source.clone(),
                    fetched_at: page.fetched_at,
                };
                let seen_here_before = !self.corpus.add_sighting(&of, sighting);
                if seen_here_before && self.relocate_raw {
                    self.corpus.relocate_raw(&of, raw);
                }
                self.stats
                    .entry(page.source.clone())
                    .or_default()
                    .duplicates += 1;
                Ingested::Duplicate { of, url }
            }
        }
    }

    /// Links a new record to its near duplicates and queues it. A linking failure leaves the
    /// record alone in its cluster and flags the index for a rebuild: one broken index lookup
    /// never costs an article. Returns whether the record has a near duplicate in the corpus.
    /// On the shared index the record is queued unlinked and linked with its flush's batch
    /// (`link_pending`), which counts its near duplicates; this returns `false` then.
    pub(super) fn append_linked(&mut self, mut record: CorpusRecord) -> bool {
        let Linker::Local(local) = &mut self.near else {
            // Linked with the rest of its flush, in one batch (`link_pending`).
            let unlinked = Unlinked::of(&record);
            if self.corpus.append(record) {
                self.unlinked.push(unlinked);
            }
            return false;
        };
        let near = match local.attach(&mut record, &mut self.corpus) {
            Ok(near) => near,
            Err(e) => {
                tracing::warn!(url = %record.article.canonical_url, error = %e, "near-duplicate linking failed");
                record.near = dedup::link::head_link(&record.id);
                self.near.mark_dirty();
                false
            }
        };
        if let Some(of) = &record.near.near_duplicate_of {
            tracing::debug!(id = %record.id, of = %of, "near duplicate");
        }
        self.corpus.append(record);
        near
    }

    /// Makes queued records durable, then writes their near-duplicate index rows. When the
    /// corpus flush fails the index may name records that never became durable, and when the
    /// index write fails it lacks durable ones: either way it is flagged for a rebuild on the
    /// next open, and the run goes on.
    ///
    /// # Errors
    /// Corpus write errors.
    pub fn flush(&mut self) -> Result<(), CorpusError> {
        self.link_pending();
        let applied = self.apply_updates();
        if let Err(e) = self.corpus.flush() {
            self.near.mark_dirty();
            return Err(e);
        }
        if let Err(e) = self.near.commit() {
            tracing::warn!(error = %e, "near-duplicate index write failed; it will be rebuilt");
        }
        if let Some(shared) = &self.shared {
            super::failpoint::after_corpus_flush(!self.claimed.is_empty());
            match shared.commit(&self.claimed, self.corpus.manifest()) {
                Ok(()) => {
                    self.claimed.clear();
                    if let Err(e) = shared.done(&applied) {
                        tracing::warn!(error = %e, "cannot forget applied record updates; they will be applied again");
                    }
                }
                // Kept: marked durable with the next flush.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot record the flush in the shared database")
                }
            }
        }
        Ok(())
    }

    /// Records waiting for a flush.
    pub fn pending(&self) -> usize {
        self.corpus.pending()
    }
}
