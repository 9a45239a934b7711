//! The near-duplicate index on disk, in bounded memory: a [`NearStore`] over a row backend
//! ([`NearBackend`], SQLite in the pipeline), built like a log-structured merge tree.
//!
//! # Layout
//! - Records (`near_record`): one row each, by dense record number, with their cluster; read
//!   by number when a band key names them, updated in place when clusters merge.
//! - The **tail**: band keys of the newest records (at most [`Shape::tail_docs`]), held in
//!   memory in a [`BandTable`] and, row by row, in `near_tail` so that opening rebuilds it
//!   from at most that many rows instead of loading the whole index.
//! - **Runs**: when the tail is full it is frozen and written as one immutable run, postings
//!   sorted by key and cut into ~1 KiB buckets (`near_band`, one row per bucket, appended in
//!   key order), a slice at each add over the next half tail of adds ([`flush`]; the frozen
//!   postings are searched in memory meanwhile). When [`Shape::fan_in`] runs of one level
//!   exist they are merged into one run of the next level, a slice at each add ([`merge`]),
//!   so a corpus of `N` records has `O(fan_in · log(N / tail_docs))` runs and each posting is
//!   rewritten `O(log(N / tail_docs))` times, by sequential appends, and no add waits for a
//!   whole run write or merge.
//! - **Sizes**: the shingle count and publication minute of every record (`near_size`, 6
//!   bytes a record, held in memory), so that the candidate screen (`super::screen`) reads no
//!   row, and so that each run's span of publication minutes is known.
//!
//! The keys are those of [`super::keys`]: 64 near keys bucketed by publication time and 32
//! far keys per record. A lookup gathers the records under each key from the tail, the frozen
//! tail and one bucket per run, keeps those with at least [`MIN_BAND_MATCHES`] keys that pass
//! the screen, exactly the set [`super::MemStore`] finds, and reads only their rows: the
//! clusters are the same, whatever the arrival order.
//!
//! Near keys name only records of three time buckets, so their lookup
//! ([`NearStore::candidates_within`]) skips every run holding no record published in that
//! span: with records arriving roughly in time order, only the newest runs. Each run carries
//! a Bloom filter of its far keys ([`KeyFilter`]), kept in memory: a run's bucket is read for
//! a far key only when its filter may hold it.
//!
//! # Memory
//! The tail and the frozen tail (8 bytes per posting, 96 per record: 48 MiB each at the
//! default 65 536 records), the run filters ([`filter::BITS_PER_KEY`] bits per far posting:
//! 16 bytes per record, 160 MB at 10 M records) and the sizes (6 bytes per record, 60 MB at
//! 10 M), the two parts that grow with the corpus; the filter of each merge in progress; the
//! run list, and the ids named by the plan in progress. The backend's page cache is bounded
//! by the backend.
//!
//! # Durability
//! Writes go to the backend as they happen and become durable at [`DiskStore::commit`],
//! which also stores the record count and the id digest ([`id_digest`]) the pipeline checks
//! the corpus against. A failed write leaves the in-memory part ahead of the backend: the
//! caller must treat the index as dirty and rebuild it.

pub mod backend;
pub mod filter;
pub mod flush;
pub mod merge;
pub mod run;

use std::collections::HashMap;

use super::bands::BandTable;
use super::link::{Hit, NearStore, Plan, Relations};
use super::minhash::MIN_BAND_MATCHES;
use super::rank::IndexedDoc;

pub use backend::{NearBackend, RunInfo, StoredDoc};
pub use filter::KeyFilter;

/// How big the tail grows and how runs are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Records held in the tail before it is written as a run.
    pub tail_docs: u32,
    /// Runs of one level merged at once into a run of the next.
    pub fan_in: usize,
}

impl Shape {
    /// 65 536 records in the tail (32 MiB of postings; opening reads at most that many
    /// `near_tail` rows), runs merged four at a time (at 10 M records: at most 12 runs, each
    /// posting rewritten 4 times).
    pub const DEFAULT: Self = Self {
        tail_docs: 1 << 16,
        fan_in: 4,
    };
}

/// Order-independent digest of a set of record ids (wrapping sum of a 64-bit hash of each),
/// so an index can be checked against the corpus without reading its ids back.
pub fn id_digest<'a>(ids: impl IntoIterator<Item = &'a str>) -> u64 {
    ids.into_iter()
        .fold(0u64, |acc, id| acc.wrapping_add(id_hash(id)))
}

/// The id → record number cache of the plan in progress is emptied past this many entries.
const RESOLVED_MAX: usize = 1 << 20;

/// Bytes per record in `near_size`: shingle count (u16 LE), publication minute (i32 LE).
const SIZE_ENTRY: usize = 6;
/// Publication minute of a record without a date.
const NO_DATE: i32 = i32::MIN;

/// The minute of `published_us` (µs since the epoch), [`NO_DATE`] when unknown or out of range.
fn minute(published_us: Option<i64>) -> i32 {
    published_us
        .and_then(|us| i32::try_from(us.div_euclid(60_000_000)).ok())
        .filter(|&m| m != NO_DATE)
        .unwrap_or(NO_DATE)
}

fn saturate(shingles: u32) -> u16 {
    u16::try_from(shingles).unwrap_or(u16::MAX)
}

fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in id.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    super::shingle::mix64(h)
}

/// The on-disk index (see the module doc).
#[derive(Debug)]
pub struct DiskStore<B> {
    backend: B,
    shape: Shape,
    runs: Vec<RunInfo>,
    /// Key filter of each run, by run number.
    filters: HashMap<u32, KeyFilter>,
    tail: BandTable,
    tail_start: u32,
    next_doc: u32,
    digest: u64,
    /// Record numbers of the ids named by the plan in progress (a cache: emptied after each
    /// add and when it grows past [`RESOLVED_MAX`]).
    resolved: HashMap<String, u32>,
    /// Shingle count of every record (saturating at `u16::MAX`), by record number: what the
    /// candidate screen needs besides the shared keys, so a candidate costs no row read.
    sizes: Vec<u16>,
    /// Publication minute of every record since the epoch ([`NO_DATE`]: unknown), for the
    /// screen's date window.
    minutes: Vec<i32>,
    /// Publication minutes `(min, max)` of each run's dated records, by run number.
    run_spans: HashMap<u32, (i32, i32)>,
    /// The previous tail being written as a run, searched in memory meanwhile.
    flushing: Option<flush::FlushJob>,
    /// Merges in progress, at most one per level.
    jobs: Vec<merge::MergeJob>,
    /// Number of the next run written (registered or being merged).
    next_run: u32,
    /// Output runs of merges a crash interrupted, deleted at the next add.
    orphans: Vec<u32>,
}

impl<B: NearBackend> DiskStore<B> {
    /// Opens the index held by `backend`: reads the run list and rebuilds the tail from
    /// `near_tail`, nothing else. The second value is `false` when the stored rows do not fit
    /// together (runs not contiguous, tail rows missing, count not the committed one): the
    /// caller must then [`DiskStore::clear`] and rebuild.
    ///
    /// # Errors
    /// Storage failures.
    pub fn open(mut backend: B, shape: Shape) -> Result<(Self, bool), B::Error> {
        let (mut ok, mut runs, mut filters) = (true, Vec::new(), HashMap::new());
        for (r, bytes) in backend.runs()? {
            match KeyFilter::from_bytes(&bytes) {
                Some(f) => drop(filters.insert(r.run, f)),
                None => ok = false,
            }
            runs.push(r);
        }
        runs.sort_by_key(|r| r.run);
        let next_doc = backend.next_doc()?;
        let mut by_doc: Vec<&RunInfo> = runs.iter().collect();
        by_doc.sort_by_key(|r| r.first_doc);
        let mut tail_start = 0;
        for r in by_doc {
            ok &= r.first_doc == tail_start;
            tail_start = r.end_doc;
        }
        let (mut sizes, mut minutes): (Vec<u16>, Vec<i32>) = (Vec::new(), Vec::new());
        backend.sizes(&mut |first, bytes| {
            ok &= first as usize == sizes.len() && bytes.len().is_multiple_of(SIZE_ENTRY);
            for c in bytes.chunks_exact(SIZE_ENTRY) {
                sizes.push(u16::from_le_bytes([c[0], c[1]]));
                minutes.push(i32::from_le_bytes([c[2], c[3], c[4], c[5]]));
            }
        })?;
        ok &= sizes.len() == tail_start as usize;
        let (mut tail, mut expected) = (BandTable::default(), tail_start);
        backend.tail(tail_start, &mut |doc, keys, shingles, published| {
            ok &= doc == expected;
            expected = doc.saturating_add(1);
            sizes.push(saturate(shingles));
            minutes.push(minute(published));
            for k in keys {
                tail.load(k, doc);
            }
        })?;
        tail.merge();
        ok &= expected == next_doc;
        let records = backend.meta("records")?.and_then(|v| v.parse::<u32>().ok());
        ok &= records.unwrap_or(0) == next_doc;
        let digest = backend.meta("digest")?;
        let digest = digest.and_then(|v| u64::from_str_radix(&v, 16).ok());
        let store = Self {
            backend,
            shape,
            runs,
            filters,
            tail,
            tail_start,
            next_doc,
            digest: digest.unwrap_or(0),
            resolved: HashMap::new(),
            sizes,
            minutes,
            run_spans: HashMap::new(),
            flushing: None,
            jobs: Vec::new(),
            next_run: 0,
            orphans: Vec::new(),
        };
        let store = store.resume_merges()?;
        Ok((store, ok))
    }

    /// Records stored.
    pub fn len(&self) -> usize {
        self.next_doc as usize
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.next_doc == 0
    }

    /// [`id_digest`] of the stored ids.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The runs on disk, oldest first.
    pub fn runs(&self) -> &[RunInfo] {
        &self.runs
    }

    /// Records in the in-memory tail.
    pub fn tail_len(&self) -> u32 {
        self.next_doc - self.tail_start
    }

    /// The backend, for its own queries (metadata, sizes).
    pub fn backend(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The stored record `doc` (its cluster as a record number).
    ///
    /// # Errors
    /// Storage failures.
    pub fn record(&mut self, doc: u32) -> Result<Option<StoredDoc>, B::Error> {
        self.backend.record(doc)
    }

    /// Records other than `head` in the cluster of canonical record `head`.
    ///
    /// # Errors
    /// Storage failures.
    pub fn others(&mut self, head: u32) -> Result<Vec<StoredDoc>, B::Error> {
        self.backend.members(head)
    }

    /// Makes every change durable, with the record count and id digest.
    ///
    /// # Errors
    /// Storage failures.
    pub fn commit(&mut self) -> Result<(), B::Error> {
        self.backend
            .set_meta("records", &self.next_doc.to_string())?;
        self.backend
            .set_meta("digest", &format!("{:016x}", self.digest))?;
        self.backend.commit()
    }

    /// Empties the index (metadata other than count and digest is kept).
    ///
    /// # Errors
    /// Storage failures.
    pub fn clear(&mut self) -> Result<(), B::Error> {
        self.backend.clear()?;
        self.runs.clear();
        self.filters.clear();
        self.run_spans.clear();
        self.flushing = None;
        self.sizes.clear();
        self.minutes.clear();
        self.jobs.clear();
        self.orphans.clear();
        self.next_run = 0;
        self.backend.set_meta(merge::MERGING_KEY, "")?;
        self.tail = BandTable::default();
        (self.tail_start, self.next_doc, self.digest) = (0, 0, 0);
        self.resolved.clear();
        self.commit()
    }

    /// The publication minutes of run `r`'s records, `(min, max)` over the dated ones
    /// (computed once per run from the in-memory minutes; runs never change).
    fn run_minutes(&mut self, r: &RunInfo) -> (i32, i32) {
        *self.run_spans.entry(r.run).or_insert_with(|| {
            let end = (r.end_doc as usize).min(self.minutes.len());
            let start = (r.first_doc as usize).min(end);
            self.minutes[start..end]
                .iter()
                .filter(|&&m| m != NO_DATE)
                .fold((i32::MAX, i32::MIN), |(lo, hi), &m| (lo.min(m), hi.max(m)))
        })
    }

    /// Records under any of `keys`, one entry per (key, record) posting; runs holding no
    /// record published within `span` (µs, inclusive) are skipped.
    fn postings(&mut self, keys: &[u32], span: Option<(i64, i64)>) -> Result<Vec<u32>, B::Error> {
        let mut found = Vec::new();
        for &key in keys {
            self.tail.for_each(key, |d| found.push(d));
            if let Some(f) = &self.flushing {
                f.for_each(key, |d| found.push(d));
            }
        }
        let runs = self.runs.clone();
        for r in &runs {
            if let Some((lo, hi)) = span {
                let (first, last) = self.run_minutes(r);
                let minute = |us: i64| us.div_euclid(60_000_000);
                if i64::from(first) > minute(hi) || i64::from(last) < minute(lo) {
                    continue;
                }
            }
            let keys: Vec<u32> = match self.filters.get(&r.run) {
                Some(f) => keys.iter().copied().filter(|&k| f.may_contain(k)).collect(),
                None => keys.to_vec(),
            };
            if keys.is_empty() {
                continue;
            }
            let buckets: Vec<u32> = keys.iter().map(|&k| r.bucket(k)).collect();
            let blobs = self.backend.buckets(r.run, &buckets)?;
            for &key in &keys {
                let b = r.bucket(key);
                if let Some((_, blob)) = blobs.iter().find(|(bb, _)| *bb == b) {
                    run::search(blob, key, |d| found.push(d));
                }
            }
        }
        Ok(found)
    }

    /// The id of `doc`'s canonical record, remembered for the plan in progress.
    fn head_id(&mut self, d: &StoredDoc) -> Result<Option<String>, B::Error> {
        if d.cluster == d.doc {
            return Ok(Some(d.info.id().to_owned()));
        }
        let Some(head) = self.backend.record(d.cluster)? else {
            return Ok(None);
        };
        self.resolved.insert(head.info.id().to_owned(), head.doc);
        Ok(Some(head.info.rank.id))
    }

    fn indexed(&mut self, d: StoredDoc) -> Result<Option<IndexedDoc>, B::Error> {
        let Some(cluster) = self.head_id(&d)? else {
            return Ok(None);
        };
        self.resolved.insert(d.info.id().to_owned(), d.doc);
        Ok(Some(IndexedDoc {
            info: d.info,
            cluster,
        }))
    }
}

impl<B: NearBackend> NearStore for DiskStore<B> {
    type Error = B::Error;

    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, B::Error> {
        self.candidates_within(bands, None, keep)
    }

    fn candidates_within(
        &mut self,
        bands: &[u32],
        span: Option<(i64, i64)>,
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, B::Error> {
        // Record numbers never change, so the map is only a cache for the plan in progress.
        if self.resolved.len() > RESOLVED_MAX {
            self.resolved.clear();
        }
        let mut found = self.postings(bands, span)?;
        found.sort_unstable();
        let mut kept = Vec::new();
        for run in found.chunk_by(|a, b| a == b) {
            let doc = run[0];
            let Some(&size) = self.sizes.get(doc as usize) else {
                continue;
            };
            let shingles = if size == u16::MAX {
                u32::MAX
            } else {
                u32::from(size)
            };
            let minute = self.minutes.get(doc as usize).copied().unwrap_or(NO_DATE);
            let hit = Hit {
                matches: run.len(),
                shingles,
                published_us: (minute != NO_DATE).then(|| i64::from(minute) * 60_000_000),
            };
            if run.len() < MIN_BAND_MATCHES || !keep(hit) {
                continue;
            }
            // Passed the screen (a few a record): read it for its rank and current cluster.
            if let Some(d) = self.backend.record(doc)?
                && let Some(found) = self.indexed(d)?
            {
                kept.push((found, hit));
            }
        }
        Ok(kept)
    }

    fn find(&mut self, id: &str) -> Result<Option<IndexedDoc>, B::Error> {
        let Some(&doc) = self.resolved.get(id) else {
            return Ok(None);
        };
        match self.backend.record(doc)? {
            Some(d) => self.indexed(d),
            None => Ok(None),
        }
    }

    fn relations(&mut self, id: &str) -> Result<Relations, B::Error> {
        let Some(&doc) = self.resolved.get(id) else {
            return Ok(Relations::default());
        };
        let (contains, within) = self.backend.relations(doc)?;
        let mut ids = |docs: Vec<u32>| -> Result<Vec<String>, B::Error> {
            let mut out = Vec::with_capacity(docs.len());
            for d in docs {
                if let Some(r) = self.backend.record(d)? {
                    self.resolved.insert(r.info.id().to_owned(), d);
                    out.push(r.info.rank.id);
                }
            }
            out.sort();
            Ok(out)
        };
        Ok(Relations {
            contains: ids(contains)?,
            contained_in: ids(within)?,
        })
    }

    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, B::Error> {
        let Some(&h) = self.resolved.get(head) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let rows = self.backend.record(h)?.into_iter();
        for d in rows.chain(self.backend.members(h)?) {
            self.resolved.insert(d.info.id().to_owned(), d.doc);
            out.push(IndexedDoc {
                info: d.info,
                cluster: head.to_owned(),
            });
        }
        Ok(out)
    }

    fn apply(&mut self, plan: &Plan) -> Result<(), B::Error> {
        let doc = self.next_doc;
        let cluster = self.resolved.get(&plan.cluster).copied().unwrap_or(doc);
        let stored = StoredDoc {
            doc,
            info: plan.insert.clone(),
            cluster,
        };
        self.backend.insert(&stored, &plan.bands)?;
        // The new record may be the merged cluster's canonical record.
        self.resolved.insert(plan.insert.id().to_owned(), doc);
        for (from, to) in &plan.relabel {
            if let (Some(&f), Some(&t)) = (self.resolved.get(from), self.resolved.get(to)) {
                self.backend.move_cluster(f, t)?;
            }
        }
        for (id, to) in &plan.moves {
            if let (Some(&m), Some(&t)) = (self.resolved.get(id), self.resolved.get(to)) {
                self.backend.set_cluster(m, t)?;
            }
        }
        for (d, s) in &plan.relate {
            if let (Some(&d), Some(&s)) = (self.resolved.get(d), self.resolved.get(s)) {
                self.backend.put_relation(d, s)?;
            }
        }
        for &key in &plan.bands {
            self.tail.insert(key, doc);
        }
        self.sizes.push(saturate(plan.insert.shingles));
        self.minutes.push(minute(plan.insert.rank.published_us));
        self.digest = self.digest.wrapping_add(id_hash(plan.insert.id()));
        self.next_doc += 1;
        self.resolved.clear();
        if self.tail_len() >= self.shape.tail_docs {
            self.flush_tail()?;
        }
        self.advance_merges()
    }
}
