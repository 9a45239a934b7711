//! The near-duplicate index every worker shares (schema version 4): the LSH band table and its
//! companions in PostgreSQL, as a [`NearStore`], so `dedup::link` runs on it unchanged and the
//! clusters are those of the single-machine index whatever worker a record lands on.
//!
//! # Tables
//! | table | columns | what it holds |
//! |---|---|---|
//! | `near_meta` | `key TEXT`, `value TEXT` | the parameters the index was built with |
//! | `near_record` | `doc BIGINT`, `id TEXT UNIQUE`, `cluster BIGINT`, `published BIGINT NULL` (µs), `republished BOOLEAN`, `source TEXT`, `url_len INTEGER`, `shingles INTEGER`, `signature BYTEA` (64 × u16 LE), `worker_id TEXT`, `text TEXT` | one row per record: rank, screen data, cluster (`doc` of its canonical record), the worker that owns it, and its text (what another worker verifies a candidate against, durable or not in the owner's folder) |
//! | `near_band` | `key INTEGER` (the u32 band key's bits), `doc BIGINT` | one row per posting; the primary key `(key, doc)` is the lookup |
//! | `near_contains` | `digest BIGINT`, `story BIGINT` (schema version 5) | the digest relation (`dedup::digest`): record `digest` quotes record `story` without sharing its cluster |
//!
//! # Why not `DiskStore` over a PostgreSQL `NearBackend`
//! `dedup::disk::DiskStore` keeps the tail, run filters and sizes in memory: a cache of an
//! index that, shared, other workers change between any two adds, so each worker would have
//! to reread them before every add. PostgreSQL's B-tree on `(key, doc)` is itself the sorted
//! merge tree, so here every lookup reads the current rows and nothing is cached across adds.
//!
//! # Concurrency
//! One add is one transaction holding a transaction-scoped advisory lock
//! ([`PgNearIndex::begin`] … [`PgNearIndex::commit`]): candidates, cluster members and texts
//! are read and the plan applied while no other worker adds, so record numbers (`max + 1`) and
//! cluster merges are race-free, and a record added by one worker is seen by the next add of
//! any other. The connection must be this index's alone (a statement of another user would
//! run inside the open transaction).

use std::collections::HashMap;
use std::sync::Arc;

use postgres::Row;

use crate::dedup::link::{Hit, NearStore, Plan, Relations};
use crate::dedup::minhash::{CompactSignature, MIN_BAND_MATCHES};
use crate::dedup::{DocInfo, IndexedDoc, Rank};
use crate::model::NearLink;

use super::updates::{RecordUpdate, queue};
use super::{PgError, PgState, q};

/// Key of the advisory lock every add holds ("nearidx" in ASCII).
const NEAR_LOCK: i64 = 0x006e_6561_7269_6478;

/// Columns of a record and its canonical record's id, as [`read`] takes them (`r`: the
/// record, `h`: its canonical record).
const COLUMNS: &str = "r.doc, r.id, r.published, r.republished, r.source, r.url_len, r.shingles, \
                       r.signature, h.id";

/// The shared index on one dedicated connection (see the module doc).
#[derive(Debug)]
pub struct PgNearIndex {
    db: Arc<PgState>,
    worker: String,
    /// Record numbers of the ids named by the add in progress.
    resolved: HashMap<String, i64>,
    /// Text of the record being added, stored with it.
    text: String,
    in_tx: bool,
}

/// Size of the shared index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgNearSize {
    /// Rows of `near_record`.
    pub records: i64,
    /// Rows of `near_band`.
    pub postings: i64,
    /// Bytes of both tables with their indexes and TOAST.
    pub bytes: i64,
}

fn read(r: &Row) -> Result<(i64, IndexedDoc), postgres::Error> {
    let signature: Vec<u8> = r.try_get(7)?;
    let url_len: i32 = r.try_get(5)?;
    let shingles: i32 = r.try_get(6)?;
    let info = DocInfo {
        rank: Rank {
            id: r.try_get(1)?,
            published_us: r.try_get(2)?,
            republished: r.try_get(3)?,
            source_id: r.try_get(4)?,
            url_len: u32::try_from(url_len).unwrap_or(0),
        },
        shingles: u32::try_from(shingles).unwrap_or(0),
        signature: CompactSignature::from_bytes(&signature).unwrap_or(CompactSignature::ZERO),
    };
    let cluster = r.try_get(8)?;
    Ok((r.try_get(0)?, IndexedDoc { info, cluster }))
}

/// A u32 band key as the INTEGER column stores it (the same bits).
fn key(k: u32) -> i32 {
    i32::from_ne_bytes(k.to_ne_bytes())
}

impl PgNearIndex {
    /// The index for worker `worker` on `db`, a connection nothing else uses.
    pub fn new(db: Arc<PgState>, worker: &str) -> Self {
        Self {
            db,
            worker: worker.to_owned(),
            resolved: HashMap::new(),
            text: String::new(),
            in_tx: false,
        }
    }

    /// The connection, for reading texts inside the add in progress.
    pub fn db(&self) -> &Arc<PgState> {
        &self.db
    }

    /// Starts one add of a record whose text is `text`: opens the transaction and waits for
    /// the index lock.
    ///
    /// # Errors
    /// `Query`.
    pub fn begin(&mut self, text: &str) -> Result<(), PgError> {
        self.rollback();
        self.db
            .client()
            .batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({NEAR_LOCK})"))
            .map_err(q("locking the near-duplicate index"))?;
        self.in_tx = true;
        text.clone_into(&mut self.text);
        self.resolved.clear();
        Ok(())
    }

    /// Commits the add in progress, releasing the lock.
    ///
    /// # Errors
    /// `Query`; nothing of the add is stored then.
    pub fn commit(&mut self) -> Result<(), PgError> {
        if !self.in_tx {
            return Ok(());
        }
        self.in_tx = false;
        self.db
            .client()
            .batch_execute("COMMIT")
            .map_err(q("committing a near-duplicate add"))
    }

    /// Abandons the add in progress (nothing of it is stored), releasing the lock.
    pub fn rollback(&mut self) {
        if std::mem::take(&mut self.in_tx)
            && let Err(e) = self.db.client().batch_execute("ROLLBACK")
        {
            tracing::warn!(error = %e, "cannot roll a near-duplicate add back");
        }
    }

    /// Inside the add in progress: record `id` (another worker's) gets `link`, applied by its
    /// owner (`updates.rs`).
    ///
    /// # Errors
    /// `Query`.
    pub fn queue_link(&mut self, id: &str, link: &NearLink) -> Result<(), PgError> {
        let update = RecordUpdate::Link(link.clone());
        queue(&mut *self.db.client(), id, &update, &self.worker)
    }

    fn doc_of(&mut self, id: &str) -> Result<Option<i64>, PgError> {
        if let Some(&d) = self.resolved.get(id) {
            return Ok(Some(d));
        }
        let row = self
            .db
            .client()
            .query_opt("SELECT doc FROM near_record WHERE id = $1", &[&id])
            .map_err(q("looking a record up in the near-duplicate index"))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn insert(&mut self, doc: i64, cluster: i64, plan: &Plan) -> Result<(), PgError> {
        let r = &plan.insert.rank;
        let url_len = i32::try_from(r.url_len).unwrap_or(i32::MAX);
        let shingles = i32::try_from(plan.insert.shingles).unwrap_or(i32::MAX);
        let keys: Vec<i32> = plan.bands.iter().map(|&k| key(k)).collect();
        let mut c = self.db.client();
        c.execute(
            "INSERT INTO near_record (doc, id, cluster, published, republished, source, url_len,
                 shingles, signature, worker_id, text)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &doc,
                &r.id,
                &cluster,
                &r.published_us,
                &r.republished,
                &r.source_id,
                &url_len,
                &shingles,
                &plan.insert.signature.to_bytes(),
                &self.worker,
                &self.text,
            ],
        )
        .map_err(q("indexing a record"))?;
        c.execute(
            "INSERT INTO near_band (key, doc) SELECT k, $2 FROM unnest($1::int4[]) AS k
             ON CONFLICT DO NOTHING",
            &[&keys, &doc],
        )
        .map(drop)
        .map_err(q("indexing a record's band keys"))
    }
}

impl PgNearIndex {
    /// Ids of the records `sql` selects for record number `doc`, sorted.
    fn ids(&mut self, sql: &str, doc: i64) -> Result<Vec<String>, PgError> {
        let rows = self
            .db
            .client()
            .query(sql, &[&doc])
            .map_err(q("reading digest relations"))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let (id, d): (String, i64) = (row.get(0), row.get(1));
            self.resolved.insert(id.clone(), d);
            out.push(id);
        }
        out.sort();
        Ok(out)
    }

    /// Stores the plan's single-record moves and digest relations.
    fn apply_relations(&mut self, plan: &Plan) -> Result<(), PgError> {
        for (id, to) in &plan.moves {
            if let (Some(m), Some(t)) = (self.doc_of(id)?, self.doc_of(to)?) {
                self.db
                    .client()
                    .execute(
                        "UPDATE near_record SET cluster = $2 WHERE doc = $1",
                        &[&m, &t],
                    )
                    .map_err(q("moving a record to another cluster"))?;
            }
        }
        for (d, s) in &plan.relate {
            if let (Some(d), Some(s)) = (self.doc_of(d)?, self.doc_of(s)?) {
                self.db
                    .client()
                    .execute(
                        "INSERT INTO near_contains (digest, story) VALUES ($1, $2)
                         ON CONFLICT DO NOTHING",
                        &[&d, &s],
                    )
                    .map_err(q("storing a digest relation"))?;
            }
        }
        Ok(())
    }
}

impl Drop for PgNearIndex {
    fn drop(&mut self) {
        self.rollback();
    }
}

impl NearStore for PgNearIndex {
    type Error = PgError;

    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, PgError> {
        let keys: Vec<i32> = bands.iter().map(|&k| key(k)).collect();
        let min = i64::try_from(MIN_BAND_MATCHES).unwrap_or(i64::MAX);
        let rows = self
            .db
            .client()
            .query(
                &format!(
                    "SELECT {COLUMNS}, m.matches FROM (
                         SELECT doc, count(*) AS matches FROM near_band
                         WHERE key = ANY($1) GROUP BY doc HAVING count(*) >= $2) m
                     JOIN near_record r ON r.doc = m.doc
                     JOIN near_record h ON h.doc = r.cluster
                     ORDER BY r.doc"
                ),
                &[&keys, &min],
            )
            .map_err(q("looking up near-duplicate candidates"))?;
        let mut kept = Vec::new();
        for row in &rows {
            let (doc, found) = read(row).map_err(q("reading near-duplicate candidates"))?;
            let matches: i64 = row.get(9);
            let hit = Hit {
                matches: usize::try_from(matches).unwrap_or(0),
                shingles: found.info.shingles,
                published_us: found.info.rank.published_us,
            };
            if keep(hit) {
                self.resolved.insert(found.info.id().to_owned(), doc);
                kept.push((found, hit));
            }
        }
        Ok(kept)
    }

    fn find(&mut self, id: &str) -> Result<Option<IndexedDoc>, PgError> {
        let row = self
            .db
            .client()
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM near_record r JOIN near_record h ON h.doc = r.cluster
                     WHERE r.id = $1"
                ),
                &[&id],
            )
            .map_err(q("reading a near-duplicate record"))?;
        let Some(row) = row else { return Ok(None) };
        let (doc, found) = read(&row).map_err(q("reading a near-duplicate record"))?;
        self.resolved.insert(found.info.id().to_owned(), doc);
        Ok(Some(found))
    }

    fn relations(&mut self, id: &str) -> Result<Relations, PgError> {
        let Some(doc) = self.doc_of(id)? else {
            return Ok(Relations::default());
        };
        Ok(Relations {
            contains: self.ids(
                "SELECT r.id, r.doc FROM near_contains c JOIN near_record r ON r.doc = c.story
                 WHERE c.digest = $1",
                doc,
            )?,
            contained_in: self.ids(
                "SELECT r.id, r.doc FROM near_contains c JOIN near_record r ON r.doc = c.digest
                 WHERE c.story = $1",
                doc,
            )?,
        })
    }

    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, PgError> {
        let rows = self
            .db
            .client()
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM near_record h
                     JOIN near_record r ON r.cluster = h.doc
                     WHERE h.id = $1 AND h.cluster = h.doc ORDER BY r.doc"
                ),
                &[&head],
            )
            .map_err(q("reading a near-duplicate cluster"))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let (doc, found) = read(row).map_err(q("reading a near-duplicate cluster"))?;
            self.resolved.insert(found.info.id().to_owned(), doc);
            out.push(found);
        }
        Ok(out)
    }

    /// Stores the new record (or, when its id is indexed already — a dead worker's record
    /// added again by the worker that took its text over — moves it to this worker and to the
    /// plan's cluster) and merges the plan's clusters.
    fn apply(&mut self, plan: &Plan) -> Result<(), PgError> {
        let id = plan.insert.id().to_owned();
        let doc = match self.doc_of(&id)? {
            Some(doc) => {
                self.db
                    .client()
                    .execute(
                        "UPDATE near_record SET worker_id = $2 WHERE doc = $1",
                        &[&doc, &self.worker],
                    )
                    .map_err(q("moving a record to this worker"))?;
                doc
            }
            None => {
                let next: i64 = self
                    .db
                    .client()
                    .query_one("SELECT COALESCE(max(doc) + 1, 0) FROM near_record", &[])
                    .map_err(q("numbering a record"))?
                    .get(0);
                let cluster = match self.doc_of(&plan.cluster)? {
                    Some(c) if plan.cluster != id => c,
                    _ => next,
                };
                self.insert(next, cluster, plan)?;
                next
            }
        };
        self.resolved.insert(id.clone(), doc);
        let head = self.doc_of(&plan.cluster)?.unwrap_or(doc);
        let mut moves: Vec<(i64, i64)> = Vec::new();
        for (from, to) in &plan.relabel {
            if let (Some(f), Some(t)) = (self.doc_of(from)?, self.doc_of(to)?) {
                moves.push((f, t));
            }
        }
        let mut c = self.db.client();
        for (f, t) in moves {
            c.execute(
                "UPDATE near_record SET cluster = $2 WHERE cluster = $1",
                &[&f, &t],
            )
            .map_err(q("merging near-duplicate clusters"))?;
        }
        c.execute(
            "UPDATE near_record SET cluster = $2 WHERE doc = $1 AND cluster <> $2",
            &[&doc, &head],
        )
        .map_err(q("placing a record in its cluster"))?;
        drop(c);
        self.apply_relations(plan)
    }
}

impl PgState {
    /// Records `params` as the index's parameters when it has none, and checks them.
    ///
    /// # Errors
    /// `NearParams` when the index was built with other parameters; `Query`.
    pub fn check_near_params(&self, params: &str) -> Result<(), PgError> {
        let mut c = self.client();
        c.execute(
            "INSERT INTO near_meta (key, value) VALUES ('params', $1) ON CONFLICT DO NOTHING",
            &[&params],
        )
        .map_err(q("recording the near-duplicate index parameters"))?;
        let found: String = c
            .query_one("SELECT value FROM near_meta WHERE key = 'params'", &[])
            .map_err(q("reading the near-duplicate index parameters"))?
            .get(0);
        if found == params {
            Ok(())
        } else {
            Err(PgError::NearParams {
                found,
                expected: params.to_owned(),
            })
        }
    }

    /// The text of indexed record `id`.
    ///
    /// # Errors
    /// `Query`.
    pub fn near_text(&self, id: &str) -> Result<Option<String>, PgError> {
        self.client()
            .query_opt("SELECT text FROM near_record WHERE id = $1", &[&id])
            .map(|r| r.map(|r| r.get(0)))
            .map_err(q("reading an indexed text"))
    }

    /// Every indexed record with its cluster's canonical record id, by record id.
    ///
    /// # Errors
    /// `Query`.
    pub fn near_clusters(&self) -> Result<Vec<(String, String)>, PgError> {
        self.client()
            .query(
                "SELECT r.id, h.id FROM near_record r JOIN near_record h ON h.doc = r.cluster
                 ORDER BY r.id",
                &[],
            )
            .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            .map_err(q("reading near-duplicate clusters"))
    }

    /// Rows and bytes of the shared index.
    ///
    /// # Errors
    /// `Query`.
    pub fn near_size(&self) -> Result<PgNearSize, PgError> {
        let r = self
            .client()
            .query_one(
                "SELECT (SELECT count(*) FROM near_record), (SELECT count(*) FROM near_band),
                     pg_total_relation_size('near_record') + pg_total_relation_size('near_band')",
                &[],
            )
            .map_err(q("measuring the near-duplicate index"))?;
        Ok(PgNearSize {
            records: r.get(0),
            postings: r.get(1),
            bytes: r.get(2),
        })
    }
}
