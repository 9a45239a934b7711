//! Near-duplicate linking inside the pipeline: the pure algorithm of `dedup::link` on the
//! on-disk index (`dedup::disk::DiskStore` over `state::NearDb`, the file
//! `state/near.sqlite`), with candidates verified against texts from the corpus (through a
//! bounded shingle cache, so most checks never read a segment back). Opening costs no full load: the run list and the
//! in-memory tail (at most 65 536 records' band keys) are read, nothing else.
//!
//! # Consistency
//! The corpus is the truth; the index is derived from it. On open the index is trusted only
//! when its stored rows fit together, its record count and id digest (`dedup::disk::id_digest`,
//! committed with the rows) are those of the corpus ids, it was built with the current
//! parameters, and its `dirty` flag is clear. Otherwise it is rebuilt from the corpus in corpus
//! order, and every record whose stored links differ from the rebuilt ones is rewritten. Index
//! writes go into one open transaction that [`NearLinker::commit`] commits, which the ingest
//! step calls right after each successful corpus flush; a crash in between loses the
//! transaction and leaves the index short of records, which the next open detects. `dirty` is
//! set when a corpus flush or an index write fails and while `reprocess` builds a corpus that is
//! not yet swapped in. Because clusters do not depend on arrival order, a rebuild gives the
//! links an uninterrupted run would have given.
//!
//! # Canonical-record changes
//! When a record published earlier than a cluster's canonical record arrives later, it becomes
//! the canonical record: the cluster's members get new `cluster_id`, `near_duplicate_of`,
//! `similarity` and `containment`, in place when pending, by segment rewrite at the next flush
//! when durable (`Corpus::update_links`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::DedupConfig;
use crate::corpus::{Corpus, CorpusError};
use crate::dedup::disk::{DiskStore, NearBackend, Shape, id_digest};
use crate::dedup::link::{self, SCREEN_RISK, ShingleSource, Thresholds};
use crate::dedup::minhash::{BANDS, MIN_BAND_MATCHES, MINHASH_SEED, ROWS};
use crate::dedup::shingle::SHINGLE_WORDS;
use crate::dedup::{NearDoc, ShingleCache, ShingleSet};
use crate::model::{CorpusRecord, NearLink};
use crate::state::pg::PgError;
use crate::state::{NearDb, State, StateError};

mod shared;

pub use shared::{SharedLinker, Unlinked};

/// Shingles held by the cache (10 bytes each with their salts: 40 MiB, about 10 000 typical
/// articles).
const CACHE_SHINGLES: usize = 4 << 20;
/// Version of the cluster and digest relations (`dedup::digest`): indexes built before the
/// relation existed merged the stories of a digest, so they are rebuilt.
const RELATION: &str = "rel1";
/// Version of the keys records are filed under (`dedup::keys`: time-bucketed one-row keys and
/// 24 two-row keys salted with the figures after their shingles for the whole index, two
/// equal far keys needed, told from near keys by four low bits; `keys4` by one, `keys3` had
/// them unsalted, `keys2` 32, three needed); an index
/// filed otherwise is rebuilt. (Run filters of another format, such as the
/// Bloom filters before the binary fuse ones, are rebuilt from their runs on open instead.)
const KEYS: &str = "keys5";
/// During a rebuild, index rows are committed every this many records.
const REBUILD_BATCH: usize = 1000;

/// Errors of near-duplicate linking.
#[derive(Debug, thiserror::Error)]
pub enum NearError {
    /// The index tables could not be read or written.
    #[error("near-duplicate index unavailable")]
    State {
        /// The database error.
        #[source]
        source: StateError,
    },
    /// The shared index (PostgreSQL) could not be read or written.
    #[error("shared near-duplicate index unavailable")]
    Shared {
        /// The database error.
        #[source]
        source: PgError,
    },
    /// A candidate's text could not be read back from the corpus.
    #[error("cannot read a record back from the corpus")]
    Corpus {
        /// The corpus error.
        #[source]
        source: CorpusError,
    },
}

impl From<StateError> for NearError {
    fn from(source: StateError) -> Self {
        Self::State { source }
    }
}

impl From<PgError> for NearError {
    fn from(source: PgError) -> Self {
        Self::Shared { source }
    }
}

impl From<CorpusError> for NearError {
    fn from(source: CorpusError) -> Self {
        Self::Corpus { source }
    }
}

/// The pipeline's index: [`DiskStore`] on SQLite.
pub type NearIndex = DiskStore<NearDb>;

/// Everything an index's clusters depend on besides the texts, stored with the index so a
/// change is noticed.
/// Gives `record` its own link from `links` and queues the others' in `corpus`; whether the
/// record or any other record (`others` already, or one in `links`) is linked.
fn place_links(
    record: &mut CorpusRecord,
    corpus: &mut Corpus,
    links: Vec<(String, NearLink)>,
    mut others: bool,
) -> bool {
    for (id, link) in links {
        if id == record.id {
            record.near = link;
        } else {
            others = true;
            corpus.update_links(&id, link);
        }
    }
    others || record.near.near_duplicate_of.is_some()
}

fn params(thresholds: &Thresholds) -> String {
    format!(
        "{}-k{SHINGLE_WORDS}-b{BANDS}x{ROWS}-m{MIN_BAND_MATCHES}-r{SCREEN_RISK}-s{MINHASH_SEED:x}-{RELATION}-{KEYS}",
        thresholds.fingerprint()
    )
}

/// The index a run links with: this machine's own ([`NearLinker`], `run`, `fetch`,
/// `reprocess`) or the one every worker shares ([`SharedLinker`], `newsmill worker`).
pub enum Linker {
    /// On-disk index beside this corpus.
    Local(Box<NearLinker>),
    /// The PostgreSQL index of all workers.
    Shared(Box<SharedLinker>),
}

impl Linker {
    /// See [`NearLinker::commit`]; the shared index commits each batch at once.
    ///
    /// # Errors
    /// See [`NearLinker::commit`].
    pub fn commit(&mut self) -> Result<(), NearError> {
        match self {
            Self::Local(l) => l.commit(),
            Self::Shared(_) => Ok(()),
        }
    }

    /// See [`NearLinker::mark_dirty`]; the shared index is never rebuilt from one corpus.
    pub fn mark_dirty(&mut self) {
        if let Self::Local(l) = self {
            l.mark_dirty();
        }
    }

    /// See [`NearLinker::mark_clean`].
    ///
    /// # Errors
    /// See [`NearLinker::mark_clean`].
    pub fn mark_clean(&mut self) -> Result<(), NearError> {
        match self {
            Self::Local(l) => l.mark_clean(),
            Self::Shared(_) => Ok(()),
        }
    }
}

/// [`ShingleSource`] over the corpus, through the cache.
struct CorpusTexts<'a> {
    cache: &'a mut ShingleCache,
    corpus: &'a Corpus,
}

impl ShingleSource for CorpusTexts<'_> {
    type Error = NearError;

    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, NearError> {
        if let Some(set) = self.cache.get(id) {
            return Ok(Some(set));
        }
        let Some(record) = self.corpus.record(id)? else {
            return Ok(None);
        };
        let set = Arc::new(ShingleSet::of_text(&record.article.text));
        self.cache.insert(id, set.clone());
        Ok(Some(set))
    }
}

/// An open slower than this gets a hint to compact the index.
const SLOW_OPEN: std::time::Duration = std::time::Duration::from_secs(1);

/// Logs what opening the index took; when it took longer than [`SLOW_OPEN`], says that
/// `newsmill compact` may help (pages scattered by merges make a cold open read them one by
/// one; `state::compact_near` has the measurements).
fn opened(index: &NearIndex, took: std::time::Duration) {
    let (records, seconds) = (index.len(), took.as_secs_f64());
    if took > SLOW_OPEN {
        tracing::warn!(
            records,
            seconds,
            "opening the near-duplicate index took {seconds:.1} s; if it is slow every run, \
             `newsmill compact` (between runs) writes its pages out in order"
        );
    } else {
        tracing::debug!(records, seconds, "near-duplicate index opened");
    }
}

/// Links new records into near-duplicate clusters and keeps the index in step with the corpus.
pub struct NearLinker {
    index: NearIndex,
    cache: ShingleCache,
    thresholds: Thresholds,
}

impl NearLinker {
    /// Opens the index for `corpus` (the file `near.sqlite` in the state folder), rebuilding it
    /// when it does not match (see the module doc); link fixes found by a rebuild are queued in
    /// `corpus` for its next flush.
    ///
    /// # Errors
    /// Database or corpus read failures.
    pub fn open(
        state: Arc<State>,
        corpus: &mut Corpus,
        config: &DedupConfig,
    ) -> Result<Self, NearError> {
        let started = std::time::Instant::now();
        let db = NearDb::open(state.dir())?;
        crate::state::remove_stale_compact_copy(db.path());
        let (index, consistent) = DiskStore::open(db, Shape::DEFAULT)?;
        opened(&index, started.elapsed());
        let mut linker = Self {
            index,
            cache: ShingleCache::new(CACHE_SHINGLES),
            thresholds: Thresholds {
                date_window: config.date_window,
                ..Thresholds::DEFAULT
            },
        };
        if !consistent || linker.is_stale(corpus)? {
            let relinked = linker.rebuild(corpus)?;
            tracing::info!(
                records = linker.index.len(),
                relinked,
                "near-duplicate index rebuilt"
            );
        }
        Ok(linker)
    }

    fn params(&self) -> String {
        params(&self.thresholds)
    }

    /// Whether the index must be rebuilt: other parameters, flagged dirty, or not the corpus's
    /// set of ids (count and digest; the ids are hashed in memory, the index is not read).
    fn is_stale(&mut self, corpus: &Corpus) -> Result<bool, NearError> {
        let params = self.params();
        let meta = self.index.backend();
        if meta.meta("params")?.as_deref() != Some(&params)
            || meta.meta("dirty")?.as_deref() != Some("0")
        {
            return Ok(true);
        }
        Ok(self.index.len() != corpus.ids().count()
            || self.index.digest() != id_digest(corpus.ids()))
    }

    /// Links `record` (not yet in the corpus): sets its link fields, queues link changes of
    /// other records in `corpus`, and indexes it (durable at the next [`NearLinker::commit`]).
    /// Returns whether the record has a near duplicate in the corpus (a copy of an earlier
    /// story, or the original of an earlier copy).
    ///
    /// # Errors
    /// Corpus read failures; the record's links are then left unset and the index unchanged.
    pub fn attach(
        &mut self,
        record: &mut CorpusRecord,
        corpus: &mut Corpus,
    ) -> Result<bool, NearError> {
        let links = self.link(record, corpus)?;
        Ok(place_links(record, corpus, links, false))
    }

    fn link(
        &mut self,
        record: &CorpusRecord,
        corpus: &Corpus,
    ) -> Result<Vec<(String, NearLink)>, NearError> {
        let doc = NearDoc::of_record(record);
        let mut texts = CorpusTexts {
            cache: &mut self.cache,
            corpus,
        };
        let plan = link::add(&mut self.index, &mut texts, &doc, &self.thresholds)?;
        self.cache.insert(&record.id, doc.shingles);
        Ok(plan.links)
    }

    /// Commits the index writes of records linked since the last commit. Call it after the
    /// corpus flush that made those records durable.
    ///
    /// # Errors
    /// Database failures (the index is flagged dirty, so the next open rebuilds it).
    pub fn commit(&mut self) -> Result<(), NearError> {
        let written = self.index.commit();
        if written.is_err() {
            self.mark_dirty();
        }
        Ok(written?)
    }

    /// Rebuilds the index from the corpus in corpus order and queues link fixes; returns how
    /// many records get new links.
    fn rebuild(&mut self, corpus: &mut Corpus) -> Result<usize, NearError> {
        self.set_meta("dirty", "1")?;
        self.index.clear()?;
        self.cache.clear();
        let mut links: HashMap<String, NearLink> = HashMap::new();
        let mut linked = 0usize;
        for segment in corpus.each_segment() {
            for record in segment? {
                links.extend(self.link(&record, corpus)?);
                linked += 1;
                if linked.is_multiple_of(REBUILD_BATCH) {
                    self.index.commit()?;
                }
            }
        }
        let mut fixes = Vec::new();
        for segment in corpus.each_segment() {
            for record in segment? {
                match links.remove(&record.id) {
                    Some(link) if link != record.near => fixes.push((record.id, link)),
                    _ => {}
                }
            }
        }
        for (id, link) in &fixes {
            corpus.update_links(id, link.clone());
        }
        let params = self.params();
        self.index.backend().set_meta("params", &params)?;
        self.set_meta("dirty", "0")?;
        Ok(fixes.len())
    }

    /// Sets a metadata value and commits it with every pending write.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), NearError> {
        self.index.backend().set_meta(key, value)?;
        Ok(self.index.commit()?)
    }

    /// Flags the index as not trustworthy, so the next open rebuilds it (failures are logged:
    /// there is nothing better to do with them). Pending index writes are committed with the
    /// flag.
    pub fn mark_dirty(&mut self) {
        if let Err(e) = self.set_meta("dirty", "1") {
            tracing::warn!(error = %e, "cannot flag the near-duplicate index for rebuild");
        }
    }

    /// Clears the flag set by [`NearLinker::mark_dirty`].
    ///
    /// # Errors
    /// Database failures.
    pub fn mark_clean(&mut self) -> Result<(), NearError> {
        self.set_meta("dirty", "0")
    }
}
