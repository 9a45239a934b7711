//! The near-duplicate index every worker shares (schema version 4): the LSH band table and its
//! companions in PostgreSQL, as a [`NearStore`], so `dedup::link` runs on it unchanged and the
//! clusters are those of the single-machine index whatever worker a record lands on.
//!
//! # Tables
//! | table | columns | what it holds |
//! |---|---|---|
//! | `near_meta` | `key TEXT`, `value TEXT` | the parameters the index was built with |
//! | `near_record` | `doc BIGINT`, `id TEXT UNIQUE`, `cluster BIGINT`, `published BIGINT NULL` (µs), `republished BOOLEAN`, `source TEXT`, `url_len INTEGER`, `shingles INTEGER`, `worker_id TEXT`, `text TEXT`, `filed INTEGER[]`, `facts0 BIGINT`, `facts1 BIGINT` (its fact tag, `dedup::FactTag::stored`, 0: none; schema version 9; the `signature BYTEA` of versions 1–7 dropped in 8) | one row per record: rank, screen data, cluster (`doc` of its canonical record), the worker that owns it, its text (what another worker verifies a candidate against, durable or not in the owner's folder) and the keys it is filed under |
//! | `near_band` | `key INTEGER` (the u32 band key's bits), `doc BIGINT` | one row per posting; the primary key `(key, doc)` is the lookup |
//! | `near_unposted` | `doc BIGINT`, `queued TIMESTAMPTZ` (schema version 7) | records committed whose postings are not written yet (`since.rs`) |
//! | `near_contains` | `digest BIGINT`, `story BIGINT` (schema version 5) | the digest relation (`dedup::digest`): record `digest` quotes record `story` without sharing its cluster |
//!
//! # Why not `DiskStore` over a PostgreSQL `NearBackend`
//! `dedup::disk::DiskStore` keeps the tail, run filters and sizes in memory: a cache of an
//! index that, shared, other workers change between any two adds, so each worker would have
//! to reread them before every add. PostgreSQL's B-tree on `(key, doc)` is itself the sorted
//! merge tree, so every batch reads the current rows and nothing is cached across batches.
//!
//! # Batches and concurrency
//! Records are added a batch at a time (a worker's flush, about 50 records): one transaction
//! holding a transaction-scoped advisory lock ([`PgNearIndex::begin`] …
//! [`PgNearIndex::commit`]), so record numbers (`max + 1`) and cluster merges are race-free
//! and a record added by one worker is seen by the next batch of any other. Before the lock,
//! [`PgNearIndex::candidate_texts`] reads the batch's candidates among the records stored so
//! far whose postings are written (one query over `unnest(keys, idx)`) and the texts to verify
//! them; under the lock `begin` reads the next record number, the batch ids already indexed,
//! the records numbered above the early read's posted mark by record number (`since.rs`) and
//! the early candidates' current rows (`early.rs`); the caller then runs
//! `dedup::link::add` for each batch record in order, on an in-memory overlay
//! (`overlay.rs`) that holds what the batch read or changed, so a record sees the batch
//! records before it exactly as if each had been committed alone: the clusters are those of
//! one-by-one adds. Cluster members, relations and records the candidate query did not
//! return are read on demand (only near duplicates need them). `commit` writes the new
//! records, the moved clusters and the relations with one statement each and releases the
//! lock, then writes the new records' postings. The connection must be this index's alone (a
//! statement of another user would run inside the open transaction).

mod early;
mod overlay;
mod poster;
mod since;
mod sql;
mod store;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dedup::NearDoc;
use crate::dedup::keys;
use crate::dedup::link::Thresholds;
use crate::model::NearLink;

use super::updates::{RecordUpdate, queue};
use super::{PgError, PgState, q};
use overlay::Overlay;

pub use sql::PgNearSize;

/// Key of the advisory lock every batch holds ("nearidx" in ASCII).
const NEAR_LOCK: i64 = 0x006e_6561_7269_6478;

/// Lookup keys and the `(doc, shared keys)` of the stored records `begin` read for them.
type Lookup = (Vec<u32>, Vec<(i64, usize)>);

/// A batch record not added yet, with the stored candidates `begin` read for it.
#[derive(Debug)]
struct Queued {
    id: String,
    /// Its near lookup keys (`dedup::keys::Keys::near`), then its far keys, each with the
    /// `(doc, shared keys)` of stored records `begin` read for them.
    lookups: [Lookup; 2],
}

/// The shared index on one dedicated connection (see the module doc).
#[derive(Debug)]
pub struct PgNearIndex {
    db: Arc<PgState>,
    worker: String,
    overlay: Overlay,
    /// Batch records not added yet, in batch order.
    queued: VecDeque<Queued>,
    /// Texts of the batch records, stored with them.
    texts: HashMap<String, String>,
    /// Batch ids not indexed when the batch began (never looked up again).
    absent: HashSet<String>,
    /// How long the last [`Self::begin`] waited for the lock.
    waited: Duration,
    in_tx: bool,
    /// Time-bucket width of the near keys (`dedup::keys`), from the date window.
    bucket_us: i64,
    /// The candidates read before the lock for the next batch (`early.rs`).
    early: Option<early::Early>,
    /// Under the lock: the stored records above the posted mark (`since.rs`).
    since: since::Since,
    /// How long the last batch took to write its postings, after the lock (to queue them,
    /// with a posting thread).
    posting: Duration,
    /// The thread writing the postings, when [`Self::post_on`] started one.
    poster: Option<poster::Poster>,
}

impl PgNearIndex {
    /// The index for worker `worker` on `db`, a connection nothing else uses.
    pub fn new(db: Arc<PgState>, worker: &str) -> Self {
        Self {
            db,
            worker: worker.to_owned(),
            overlay: Overlay::default(),
            queued: VecDeque::new(),
            texts: HashMap::new(),
            absent: HashSet::new(),
            waited: Duration::ZERO,
            in_tx: false,
            bucket_us: keys::bucket_width_us(Thresholds::DEFAULT.date_window),
            early: None,
            since: since::Since::default(),
            posting: Duration::ZERO,
            poster: None,
        }
    }

    /// Writes each batch's postings on a thread of its own over `db`, a connection nothing
    /// else uses (`poster.rs`), instead of on the caller's thread after the commit.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn post_on(&mut self, db: Arc<PgState>) -> std::io::Result<()> {
        self.poster = Some(poster::Poster::spawn(db)?);
        Ok(())
    }

    /// Sets the date window records are linked with, so that `begin` reads the candidates
    /// of the keys `dedup::link` will look up (with another window it reads them again).
    pub fn set_date_window(&mut self, window: Duration) {
        self.bucket_us = keys::bucket_width_us(window);
    }

    /// The connection, for reading texts inside the batch in progress.
    pub fn db(&self) -> &Arc<PgState> {
        &self.db
    }

    /// Starts adding `batch` (each record with its text, in the order they will be added):
    /// opens the transaction, waits for the index lock and reads every record's stored
    /// candidates. Then call `dedup::link::add` for each, in order, and [`Self::commit`].
    ///
    /// # Errors
    /// `Query`.
    pub fn begin(&mut self, batch: &[(&NearDoc, &str)]) -> Result<(), PgError> {
        self.rollback();
        let asked = Instant::now();
        self.db
            .client()
            .batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({NEAR_LOCK})"))
            .map_err(q("locking the near-duplicate index"))?;
        self.waited = asked.elapsed();
        self.in_tx = true;
        self.texts = batch
            .iter()
            .map(|(d, t)| (d.info.id().to_owned(), (*t).to_owned()))
            .collect();
        match self.prefetch(batch) {
            Ok(queued) => {
                self.queued = queued;
                Ok(())
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    fn prefetch(&mut self, batch: &[(&NearDoc, &str)]) -> Result<VecDeque<Queued>, PgError> {
        let db = self.db.clone();
        let mut c = db.client();
        self.overlay = Overlay::new(sql::next_doc(&mut c)?);
        let ids: Vec<&str> = batch.iter().map(|(d, _)| d.info.id()).collect();
        self.absent = ids.iter().map(|&id| id.to_owned()).collect();
        for (doc, id) in sql::indexed_ids(&mut c, &ids)? {
            self.absent.remove(&id);
            self.overlay.name(doc, &id);
        }
        let keys = self.keys_of(batch.iter().map(|(d, _)| *d));
        let mut found = self.locked_candidates(&mut c, &ids, &early::lookups(&keys))?;
        Ok(ids
            .iter()
            .zip(keys)
            .enumerate()
            .map(|(i, (id, k))| Queued {
                id: (*id).to_owned(),
                lookups: [
                    (k.near, found.remove(&(2 * i)).unwrap_or_default()),
                    (k.far, found.remove(&(2 * i + 1)).unwrap_or_default()),
                ],
            })
            .collect())
    }

    /// How long the last [`Self::begin`] waited for the index lock (with one round trip).
    pub fn lock_wait(&self) -> Duration {
        self.waited
    }

    /// Writes the batch (records, cluster moves, relations) and commits it, releasing the
    /// lock; then writes the new records' postings, or queues them for the posting thread
    /// (`since.rs`, `poster.rs`: a failure there is logged, and the postings are written
    /// later by whichever worker finds them stuck).
    ///
    /// # Errors
    /// `Query`; nothing of the batch is stored then.
    pub fn commit(&mut self) -> Result<(), PgError> {
        if !self.in_tx {
            return Ok(());
        }
        let postings = since::Postings::of(&self.overlay);
        let written = sql::write(&mut self.db.client(), &self.overlay, &self.worker);
        if let Err(e) = written {
            self.rollback();
            return Err(e);
        }
        self.in_tx = false;
        self.reset();
        self.db
            .client()
            .batch_execute("COMMIT")
            .map_err(q("committing near-duplicate adds"))?;
        let started = Instant::now();
        let postings = match &self.poster {
            Some(poster) => poster.send(postings).err(),
            None => Some(postings),
        };
        if let Some(postings) = postings
            && let Err(e) = since::post(&mut self.db.client(), &postings)
        {
            tracing::warn!(error = %e, "cannot write near-duplicate postings; another worker will");
        }
        self.posting = started.elapsed();
        Ok(())
    }

    /// How long the last [`Self::commit`] took to write (or queue) the postings, after the lock.
    pub fn posting_time(&self) -> Duration {
        self.posting
    }

    /// Abandons the batch in progress (nothing of it is stored), releasing the lock.
    pub fn rollback(&mut self) {
        self.reset();
        if std::mem::take(&mut self.in_tx)
            && let Err(e) = self.db.client().batch_execute("ROLLBACK")
        {
            tracing::warn!(error = %e, "cannot roll a near-duplicate batch back");
        }
    }

    fn reset(&mut self) {
        self.overlay = Overlay::default();
        self.queued.clear();
        self.texts.clear();
        self.absent.clear();
        self.since = since::Since::default();
    }

    /// Inside the batch in progress: record `id` (another worker's) gets `link`, applied by
    /// its owner (`updates.rs`).
    ///
    /// # Errors
    /// `Query`.
    pub fn queue_link(&mut self, id: &str, link: &NearLink) -> Result<(), PgError> {
        let update = RecordUpdate::Link(link.clone());
        queue(&mut *self.db.client(), id, &update, &self.worker)
    }

    /// The record number of `id` (read and remembered when the overlay has not met it).
    fn doc_of(&mut self, id: &str) -> Result<Option<i64>, PgError> {
        if let Some(d) = self.overlay.doc(id) {
            return Ok(Some(d));
        }
        if self.absent.contains(id) {
            return Ok(None);
        }
        let doc = sql::doc_of(&mut self.db.client(), id)?;
        if let Some(d) = doc {
            self.overlay.name(d, id);
        }
        Ok(doc)
    }

    /// Loads stored record `doc` into the overlay unless it holds it.
    fn load(&mut self, doc: i64) -> Result<(), PgError> {
        if !self.overlay.has(doc) {
            sql::load(&mut self.db.client(), "r.doc = $1", doc, &mut self.overlay)?;
        }
        Ok(())
    }

    /// Loads every stored member of cluster `c` (see `overlay.rs`).
    fn load_cluster(&mut self, c: i64) -> Result<(), PgError> {
        if self.overlay.is_full(c) {
            return Ok(());
        }
        if !self.overlay.is_added(c) {
            let mut client = self.db.client();
            sql::load(&mut client, "r.cluster = $1", c, &mut self.overlay)?;
            drop(client);
            self.load(c)?;
        }
        self.overlay.mark_full(c);
        Ok(())
    }

    /// Stored candidates of `bands`: read by `begin` when they are the next batch record's,
    /// else now (the postings, and the records above the posted mark `begin` read).
    fn stored_candidates(&mut self, bands: &[u32]) -> Result<Vec<(i64, usize)>, PgError> {
        if let Some(next) = self.queued.front_mut()
            && let Some((_, found)) = next.lookups.iter_mut().find(|(k, _)| k == bands)
        {
            return Ok(std::mem::take(found));
        }
        let mut found =
            sql::batch_candidates(&mut self.db.client(), &[bands], -1, &mut self.overlay)?
                .remove(&0)
                .unwrap_or_default();
        // The postings up to the posted mark, then the records above it (`since.rs`).
        found.retain(|&(doc, _)| doc <= self.since.upto);
        found.extend(self.since.matches(bands));
        Ok(found)
    }
}

impl Drop for PgNearIndex {
    fn drop(&mut self) {
        self.rollback();
    }
}
