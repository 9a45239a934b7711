//! Near-duplicate linking for `newsmill worker`: the algorithm of `dedup::link` on the index
//! every worker shares (`state::pg::PgNearIndex`), so a record is linked against every
//! worker's records, not only this worker's.
//!
//! Records are linked a flush at a time: the ingest step queues each new record in the corpus
//! unlinked ([`Unlinked`]) and, right before the corpus flush, links the whole batch in one
//! database transaction under the index's lock (`state::pg::PgNearIndex`: a few round trips
//! per batch, not per record): candidates, cluster members and candidate texts are read, each
//! record's plan applied in batch order, and the link changes of records this worker does not
//! own queued for their owners (`state::pg::RecordUpdate::Link`), all before the lock is
//! released. Candidate texts come from the batch itself, then the index
//! (`near_record.text`), through the bounded shingle cache, so a record another worker has not
//! flushed yet can still be verified.
//!
//! The index is committed per batch, before the records are durable in this worker's corpus. A
//! worker that dies before its flush leaves indexed records without a corpus line; their URLs
//! are still `fetched`, the worker that recovers them meets the same texts (same ids), takes the
//! content-hash claims over, and its add moves each indexed record to itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::config::DedupConfig;
use crate::corpus::Corpus;
use crate::dedup::link::{self, ShingleSource, Thresholds};
use crate::dedup::{NearDoc, ShingleCache, ShingleSet};
use crate::model::{CorpusRecord, NearLink, SourceId};
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

/// One batch record's links: those of records this worker holds (its own first), and whether
/// any other was queued for its owner.
type Planned = (Vec<(String, NearLink)>, bool);

/// A record queued in the corpus, waiting for its flush to be linked.
#[derive(Debug)]
pub struct Unlinked {
    /// Its shingles and band keys.
    pub doc: NearDoc,
    /// Its text, stored in the index.
    pub text: String,
    /// Its source, for the counters.
    pub source: SourceId,
}

impl Unlinked {
    /// What linking `record` needs.
    pub fn of(record: &CorpusRecord) -> Self {
        Self {
            doc: NearDoc::of_record(record),
            text: record.article.text.clone(),
            source: record.article.source_id.clone(),
        }
    }
}

/// [`ShingleSource`] over the batch's records, then the shared index's texts, through the
/// cache.
struct IndexTexts<'a> {
    db: Arc<PgState>,
    cache: &'a mut ShingleCache,
    batch: &'a HashMap<String, Arc<ShingleSet>>,
}

impl ShingleSource for IndexTexts<'_> {
    type Error = NearError;

    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, NearError> {
        if let Some(set) = self.batch.get(id) {
            return Ok(Some(set.clone()));
        }
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
    pub fn new(mut index: PgNearIndex, config: &DedupConfig) -> Self {
        let thresholds = thresholds(config);
        index.set_date_window(thresholds.date_window);
        Self {
            index,
            cache: ShingleCache::new(CACHE_SHINGLES),
            thresholds,
        }
    }

    /// The parameters an index linked with `config` must have been built with.
    pub fn params(config: &DedupConfig) -> String {
        params(&thresholds(config))
    }

    /// Links `batch`, records queued in `corpus` and not linked yet, as one batch on the
    /// shared index (in batch order: the clusters are those of adding them one by one). Their
    /// links and those of other records `corpus` holds are set there, those of other workers'
    /// records queued for their owners. Returns, for each record, whether it has a near
    /// duplicate (as [`super::NearLinker::attach`] does).
    ///
    /// # Errors
    /// Database failures; the records' links are then left unset and the index unchanged.
    pub fn attach_batch(
        &mut self,
        batch: &[Unlinked],
        corpus: &mut Corpus,
    ) -> Result<Vec<bool>, NearError> {
        let pairs: Vec<(&NearDoc, &str)> =
            batch.iter().map(|u| (&u.doc, u.text.as_str())).collect();
        let started = Instant::now();
        self.warm(batch)?;
        let warmed = started.elapsed();
        self.index.begin(&pairs)?;
        let prefetched = started.elapsed();
        let planned = match self.plan_locked(batch, corpus) {
            Ok(p) => p,
            Err(e) => {
                self.index.rollback();
                return Err(e);
            }
        };
        let planned_at = started.elapsed();
        self.index.commit()?;
        let (wait, post) = (self.index.lock_wait(), self.index.posting_time());
        let committed = started.elapsed().saturating_sub(post);
        tracing::debug!(
            records = batch.len(),
            lock_wait_ms = wait.as_millis(),
            warm_ms = warmed.as_millis(),
            begin_ms = (prefetched - warmed).as_millis(),
            plan_ms = (planned_at - prefetched).as_millis(),
            commit_ms = (committed - planned_at).as_millis(),
            post_ms = post.as_millis(),
            // From the lock granted to the commit that releases it.
            held_us = committed.saturating_sub(warmed + wait).as_micros(),
            total_ms = started.elapsed().as_millis(),
            "near-duplicate batch linked"
        );
        for u in batch {
            self.cache.insert(u.doc.info.id(), u.doc.shingles.clone());
        }
        Ok(planned
            .into_iter()
            .map(|(local, queued)| {
                let near = queued
                    || local.len() > 1
                    || local
                        .first()
                        .is_some_and(|(_, l)| l.near_duplicate_of.is_some());
                for (id, link) in local {
                    corpus.update_links(&id, link);
                }
                near
            })
            .collect())
    }

    /// Shingles, before taking the lock, the texts of the stored candidates the batch will
    /// verify (see `PgNearIndex::candidate_texts`): the lock is then held for the plans, not
    /// for reading and shingling texts.
    fn warm(&mut self, batch: &[Unlinked]) -> Result<(), NearError> {
        let docs: Vec<&NearDoc> = batch.iter().map(|u| &u.doc).collect();
        let th = self.thresholds;
        let cache = &self.cache;
        let texts = self.index.candidate_texts(
            &docs,
            &mut |d, hit| th.worth_verifying(d.shingles.len(), d.info.rank.published_us, hit),
            &|id| cache.get(id).is_some(),
        )?;
        for (id, text) in texts {
            self.cache.insert(&id, Arc::new(ShingleSet::of_text(&text)));
        }
        Ok(())
    }

    /// Plans and applies each batch record inside the open transaction; queues the link
    /// changes of records `corpus` does not hold and returns, per record, the others (its own
    /// first) and whether any was queued.
    fn plan_locked(
        &mut self,
        batch: &[Unlinked],
        corpus: &Corpus,
    ) -> Result<Vec<Planned>, NearError> {
        let mut added: HashMap<String, Arc<ShingleSet>> = HashMap::new();
        let mut out = Vec::with_capacity(batch.len());
        for u in batch {
            let mut texts = IndexTexts {
                db: self.index.db().clone(),
                cache: &mut self.cache,
                batch: &added,
            };
            let plan = link::add(&mut self.index, &mut texts, &u.doc, &self.thresholds)?;
            let id = u.doc.info.id();
            added.insert(id.to_owned(), u.doc.shingles.clone());
            let (mut local, mut queued) = (Vec::with_capacity(1), false);
            for (other, link) in plan.links {
                if other == id || corpus.contains(&other) {
                    local.push((other, link));
                } else {
                    self.index.queue_link(&other, &link)?;
                    queued = true;
                }
            }
            out.push((local, queued));
        }
        Ok(out)
    }
}
