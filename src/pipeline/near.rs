//! Near-duplicate linking inside the pipeline: the pure algorithm of `dedup::link` on the
//! in-memory index (`dedup::MemStore`), persisted in the state database (`state`, table
//! `near_record`), with candidates verified against texts from the corpus (through a bounded
//! shingle cache, so most checks never read a segment back).
//!
//! # Consistency
//! The corpus is the truth; the index is derived from it. On open every index row is loaded;
//! the index is trusted only when its ids are exactly the corpus ids, it was built with the
//! current parameters, and its `dirty` flag is clear. Otherwise it is rebuilt from the corpus in
//! corpus order, and every record whose stored links differ from the rebuilt ones is rewritten.
//! New rows are written by [`NearLinker::commit`], which the ingest step calls right after each
//! successful corpus flush; a crash in between leaves the index short of records, which the next
//! open detects. `dirty` is set when a corpus flush or an index write fails and while
//! `reprocess` builds a corpus that is not yet swapped in. Because clusters do not depend on
//! arrival order, a rebuild gives the links an uninterrupted run would have given.
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
use crate::dedup::link::{self, NearStore, Plan, ShingleSource, Thresholds};
use crate::dedup::minhash::{BANDS, CompactSignature, MINHASH_SEED, ROWS};
use crate::dedup::shingle::SHINGLE_WORDS;
use crate::dedup::{DocInfo, IndexedDoc, MemStore, NearDoc, Rank, ShingleCache, ShingleSet};
use crate::model::{CorpusRecord, NearLink};
use crate::state::{NearRow, State, StateError};

/// Shingles held by the cache (8 bytes each: 32 MiB, about 10 000 typical articles).
const CACHE_SHINGLES: usize = 4 << 20;
/// During a rebuild, index rows are written in transactions of this many records.
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

impl From<CorpusError> for NearError {
    fn from(source: CorpusError) -> Self {
        Self::Corpus { source }
    }
}

/// The in-memory index plus the rows and cluster moves not yet written to the database.
#[derive(Debug, Default)]
pub struct NearIndex {
    mem: MemStore,
    rows: Vec<NearRow>,
    moves: Vec<(u32, u32)>,
}

fn row_of(info: &DocInfo, doc: u32, cluster: u32, bands: &[u32]) -> NearRow {
    let r = &info.rank;
    NearRow {
        doc,
        id: r.id.clone(),
        cluster,
        published_us: r.published_us,
        republished: r.republished,
        source_id: r.source_id.clone(),
        url_len: r.url_len,
        shingles: info.shingles,
        signature: info.signature.to_bytes(),
        bands: bands.iter().flat_map(|b| b.to_le_bytes()).collect(),
    }
}

fn info_of(row: NearRow) -> (DocInfo, u32, Vec<u32>) {
    let bands = row
        .bands
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let info = DocInfo {
        rank: Rank {
            published_us: row.published_us,
            republished: row.republished,
            source_id: row.source_id,
            url_len: row.url_len,
            id: row.id,
        },
        shingles: row.shingles,
        signature: CompactSignature::from_bytes(&row.signature).unwrap_or(CompactSignature::ZERO),
    };
    (info, row.cluster, bands)
}

impl NearIndex {
    /// Loads every stored row. The second value is `false` when the rows are not a dense,
    /// consistent numbering (the index must then be rebuilt).
    ///
    /// # Errors
    /// Database failures.
    pub fn load(state: &State) -> Result<(Self, bool), NearError> {
        let mut index = Self::default();
        let mut consistent = true;
        state.near_load(|row| {
            let expected = u32::try_from(index.mem.len()).unwrap_or(u32::MAX);
            if consistent && row.doc == expected {
                let (info, cluster, bands) = info_of(row);
                consistent = index.mem.restore(info, cluster, &bands);
            } else {
                consistent = false;
            }
        })?;
        consistent &= index.mem.finish_restore();
        Ok((index, consistent))
    }

    /// Records indexed (written or not).
    pub fn len(&self) -> usize {
        self.mem.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.mem.is_empty()
    }

    /// Rows waiting for [`NearIndex::commit`].
    pub fn pending(&self) -> usize {
        self.rows.len()
    }

    /// Writes pending rows and moves in one transaction.
    ///
    /// # Errors
    /// Database failures; the pending rows are kept then.
    pub fn commit(&mut self, state: &State) -> Result<(), NearError> {
        if self.rows.is_empty() && self.moves.is_empty() {
            return Ok(());
        }
        state.near_write(&self.rows, &self.moves)?;
        self.rows.clear();
        self.moves.clear();
        Ok(())
    }
}

impl NearStore for NearIndex {
    type Error = NearError;

    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(&DocInfo) -> bool,
    ) -> Result<Vec<IndexedDoc>, NearError> {
        self.mem.candidates(bands, keep).map_err(|e| match e {})
    }

    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, NearError> {
        self.mem.members(head).map_err(|e| match e {})
    }

    fn apply(&mut self, plan: &Plan) -> Result<(), NearError> {
        let applied = self.mem.insert(plan);
        self.rows.push(row_of(
            &plan.insert,
            applied.doc,
            applied.cluster,
            &plan.bands,
        ));
        self.moves.extend(applied.moved);
        Ok(())
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

/// Links new records into near-duplicate clusters and keeps the index in step with the corpus.
pub struct NearLinker {
    state: Arc<State>,
    index: NearIndex,
    cache: ShingleCache,
    thresholds: Thresholds,
}

impl NearLinker {
    /// Loads the index for `corpus`, rebuilding it when it does not match (see the module doc);
    /// link fixes found by a rebuild are queued in `corpus` for its next flush.
    ///
    /// # Errors
    /// Database or corpus read failures.
    pub fn open(
        state: Arc<State>,
        corpus: &mut Corpus,
        config: &DedupConfig,
    ) -> Result<Self, NearError> {
        let (index, consistent) = NearIndex::load(&state)?;
        let mut linker = Self {
            state,
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
        format!(
            "{}-k{SHINGLE_WORDS}-b{BANDS}x{ROWS}-s{MINHASH_SEED:x}",
            self.thresholds.fingerprint()
        )
    }

    fn is_stale(&self, corpus: &Corpus) -> Result<bool, NearError> {
        if self.state.near_meta("params")?.as_deref() != Some(&self.params())
            || self.state.near_meta("dirty")?.as_deref() != Some("0")
        {
            return Ok(true);
        }
        Ok(self.index.len() != corpus.ids().count()
            || !self.index.mem.ids().all(|id| corpus.contains(id)))
    }

    /// Links `record` (not yet in the corpus): sets its link fields, queues link changes of
    /// other records in `corpus`, and indexes it (written at the next [`NearLinker::commit`]).
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
        let mut others = false;
        for (id, link) in self.link(record, corpus)? {
            if id == record.id {
                record.near = link;
            } else {
                others = true;
                corpus.update_links(&id, link);
            }
        }
        Ok(others || record.near.near_duplicate_of.is_some())
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

    /// Writes the index rows of records linked since the last commit. Call it after the
    /// corpus flush that made those records durable.
    ///
    /// # Errors
    /// Database failures (the index is flagged dirty, so the next open rebuilds it).
    pub fn commit(&mut self) -> Result<(), NearError> {
        let written = self.index.commit(&self.state);
        if written.is_err() {
            self.mark_dirty();
        }
        written
    }

    /// Rebuilds the index from the corpus in corpus order and queues link fixes; returns how
    /// many records get new links.
    fn rebuild(&mut self, corpus: &mut Corpus) -> Result<usize, NearError> {
        self.state.set_near_meta("dirty", "1")?;
        self.state.near_clear()?;
        self.index = NearIndex::default();
        self.cache.clear();
        let mut links: HashMap<String, NearLink> = HashMap::new();
        for segment in corpus.each_segment() {
            for record in segment? {
                links.extend(self.link(&record, corpus)?);
                if self.index.pending() >= REBUILD_BATCH {
                    self.index.commit(&self.state)?;
                }
            }
        }
        self.index.commit(&self.state)?;
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
        self.state.set_near_meta("params", &self.params())?;
        self.state.set_near_meta("dirty", "0")?;
        Ok(fixes.len())
    }

    /// Flags the index as not trustworthy, so the next open rebuilds it (failures are logged:
    /// there is nothing better to do with them).
    pub fn mark_dirty(&self) {
        if let Err(e) = self.state.set_near_meta("dirty", "1") {
            tracing::warn!(error = %e, "cannot flag the near-duplicate index for rebuild");
        }
    }

    /// Clears the flag set by [`NearLinker::mark_dirty`].
    ///
    /// # Errors
    /// Database failures.
    pub fn mark_clean(&self) -> Result<(), NearError> {
        Ok(self.state.set_near_meta("dirty", "0")?)
    }
}
