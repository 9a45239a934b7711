//! Near-duplicate linking for `newsmill worker`: the algorithm of `dedup::link` on the index
//! every worker shares (`state::pg::PgNearIndex`), so a record is linked against every
//! worker's records, not only this worker's.
//!
//! Each add is one database transaction under the index's lock: candidates, cluster members
//! and candidate texts are read, the plan applied, and the link changes of records this worker
//! does not own queued for their owners (`state::pg::RecordUpdate::Link`), all before the lock
//! is released. Candidate texts come from the index (`near_record.text`), through the bounded
//! shingle cache, so a record another worker has not flushed yet can still be verified.
//!
//! The index is committed per add, before the record is durable in this worker's corpus. A
//! worker that dies before its flush leaves indexed records without a corpus line; their URLs
//! are still `fetched`, the worker that recovers them meets the same texts (same ids), takes the
//! content-hash claims over, and its add moves each indexed record to itself.

use std::sync::Arc;

use crate::config::DedupConfig;
use crate::corpus::Corpus;
use crate::dedup::link::{self, ShingleSource, Thresholds};
use crate::dedup::{NearDoc, ShingleCache, ShingleSet};
use crate::model::{CorpusRecord, NearLink};
use crate::state::pg::{PgNearIndex, PgState};

use super::{CACHE_SHINGLES, NearError, params};

fn thresholds(config: &DedupConfig) -> Thresholds {
    Thresholds {
        date_window: config.date_window,
        ..Thresholds::DEFAULT
    }
}

/// Links records through the shared index.
pub struct SharedLinker {
    index: PgNearIndex,
    cache: ShingleCache,
    thresholds: Thresholds,
}

/// [`ShingleSource`] over the shared index's texts, through the cache.
struct IndexTexts<'a> {
    db: Arc<PgState>,
    cache: &'a mut ShingleCache,
}

impl ShingleSource for IndexTexts<'_> {
    type Error = NearError;

    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, NearError> {
        if let Some(set) = self.cache.get(id) {
            return Ok(Some(set));
        }
        let Some(text) = self.db.near_text(id)? else {
            return Ok(None);
        };
        let set = Arc::new(ShingleSet::of_text(&text));
        self.cache.insert(id, set.clone());
        Ok(Some(set))
    }
}

impl SharedLinker {
    /// Links through `index` (on a connection of its own) with `config`'s thresholds, which
    /// must be those the index was built with ([`SharedLinker::params`]: check them with
    /// `PgState::check_near_params` first, off the async threads).
    pub fn new(index: PgNearIndex, config: &DedupConfig) -> Self {
        Self {
            index,
            cache: ShingleCache::new(CACHE_SHINGLES),
            thresholds: thresholds(config),
        }
    }

    /// The parameters an index linked with `config` must have been built with.
    pub fn params(config: &DedupConfig) -> String {
        params(&thresholds(config))
    }

    /// Links `record` (not yet in the corpus) as [`super::NearLinker::attach`] does; link
    /// changes of records in `corpus` are queued there, those of other workers' records
    /// queued for their owners.
    ///
    /// # Errors
    /// Database failures; the record's links are then left unset and the index unchanged.
    pub fn attach(
        &mut self,
        record: &mut CorpusRecord,
        corpus: &mut Corpus,
    ) -> Result<bool, NearError> {
        let doc = NearDoc::of_record(record);
        self.index.begin(&record.article.text)?;
        let (local, queued) = match self.add_locked(&doc, corpus) {
            Ok(done) => done,
            Err(e) => {
                self.index.rollback();
                return Err(e);
            }
        };
        self.index.commit()?;
        self.cache.insert(&record.id, doc.shingles);
        Ok(super::place_links(record, corpus, local, queued))
    }

    /// Plans and applies the add inside the open transaction; queues the link changes of
    /// records `corpus` does not hold and returns the others (the new record's first), and
    /// whether any was queued.
    fn add_locked(
        &mut self,
        doc: &NearDoc,
        corpus: &Corpus,
    ) -> Result<(Vec<(String, NearLink)>, bool), NearError> {
        let mut texts = IndexTexts {
            db: self.index.db().clone(),
            cache: &mut self.cache,
        };
        let plan = link::add(&mut self.index, &mut texts, doc, &self.thresholds)?;
        let (mut local, mut queued) = (Vec::with_capacity(1), false);
        for (id, link) in plan.links {
            if id == doc.info.id() || corpus.contains(&id) {
                local.push((id, link));
            } else {
                self.index.queue_link(&id, &link)?;
                queued = true;
            }
        }
        Ok((local, queued))
    }
}
