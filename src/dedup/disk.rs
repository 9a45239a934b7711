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
//!   key order), a slice at each add over the next eighth of a tail of adds ([`flush`]; the frozen
//!   postings are searched in memory meanwhile). When [`Shape::fan_in`] runs of one level
//!   exist they are merged into one run of the next level, a slice at each add ([`merge`]),
//!   so a corpus of `N` records has `O(fan_in · log(N / tail_docs))` runs and each posting is
//!   rewritten `O(log(N / tail_docs))` times, by sequential appends, and no add waits for a
//!   whole run write or merge.
//! - **Sizes**: the shingle count and publication minute of every record (`near_size`, 6
//!   bytes a record, held in memory), so that the candidate screen (`super::screen`) reads no
//!   row, and so that each run's span of publication minutes is known.
//!
//! The keys are those of [`super::keys`]: 64 near keys bucketed by publication time and 24
//! far keys per record. A lookup gathers the records under each key from the tail, the frozen
//! tail and one bucket per run, keeps those with at least [`MIN_BAND_MATCHES`] near keys (or
//! two far keys, `keys::FAR_MIN_MATCHES`) that pass the screen, exactly the set
//! [`super::MemStore`] finds, and reads only their rows: the clusters are the same, whatever
//! the arrival order.
//!
//! Near keys name only records of three time buckets, so their lookup
//! ([`NearStore::candidates_within`]) skips every run holding no record published in that
//! span: with records arriving roughly in time order, only the newest runs. Each run carries
//! a filter of its far keys ([`KeyFilter`], binary fuse filters of 7-bit fingerprints), kept
//! in memory: a run's bucket is read for a far key only when its filter may hold it.
//! Opening reads the run list, the filters, the sizes, the tail and the kept near postings
//! (`open`: the filters on a second thread when the backend offers a second handle). A
//! backend may keep a copy of each committed run's filter in one piece
//! ([`NearBackend::copy_filter`]; SQLite: `state/near-filters/`), which an open reads instead
//! of the run's partitions when it is whole and the one the run's row describes.
//!
//! # Memory
//! The tail and the frozen tail (8 bytes per posting, 96 per record: 48 MiB each at the
//! default 65 536 records), the run filters (about 8.1 bits per distinct far key: ~21 bytes
//! per record, ~210 MB at 10 M records) and the sizes (6 bytes per record, 60 MB at 10 M),
//! the two parts that grow with the corpus; a partition or two of the filter of each job in
//! progress (the rest is stored, and read back when its run is registered, `filter::spill`);
//! the run list, and the ids named by the plan in progress. The backend's page cache is bounded
//! by the backend.
//!
//! # Durability
//! Writes go to the backend as they happen and become durable at [`DiskStore::commit`],
//! which also stores the record count and the id digest ([`id_digest`]) the pipeline checks
//! the corpus against. A failed write leaves the in-memory part ahead of the backend: the
//! caller must treat the index as dirty and rebuild it.
//!
//! [`NearStore`]: super::NearStore
//! [`NearStore::candidates_within`]: super::NearStore::candidates_within
//! [`MIN_BAND_MATCHES`]: super::minhash::MIN_BAND_MATCHES

pub mod backend;
pub mod drop;
pub mod filter;
pub mod flush;
pub mod live;
mod lookup;
pub mod merge;
mod open;
mod resume;
pub mod run;
mod warm;

use std::collections::HashMap;

use super::bands::BandTable;
use super::screen::LookupCounts;

pub use backend::{NearBackend, RunInfo, StoredDoc};
pub use filter::KeyFilter;

/// How big the tail grows and how runs are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Records held in the tail before it is written as a run.
    pub tail_docs: u32,
    /// Runs of one level merged at once into a run of the next.
    pub fan_in: usize,
    /// Records whose near keys are kept in memory after their run is written (`live`).
    pub live_docs: u32,
}

impl Shape {
    /// 65 536 records in the tail (48 MiB of postings; opening reads at most that many
    /// `near_tail` rows), runs merged four at a time (at 10 M records: at most 12 runs, each
    /// posting rewritten 4 times), the near keys of 131 072 more records kept (64 MiB: six
    /// days at 20 000 articles a day, what a near lookup reaches with the default window).
    pub const DEFAULT: Self = Self {
        tail_docs: 1 << 16,
        fan_in: 4,
        live_docs: 1 << 17,
    };
}

/// Bytes the index holds in memory, by part ([`DiskStore::memory`]); the backend's page cache
/// is not counted (SQLite: `state::near` bounds it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// The tail's postings (sorted part, bucket table, entries added since its last merge).
    pub tail: usize,
    /// The frozen tail being written as a run, with the filter being built for it.
    pub frozen: usize,
    /// The kept near postings (`live`).
    pub live: usize,
    /// The key filters of the registered runs: grows with the corpus.
    pub filters: usize,
    /// The filters being built by merges in progress, and their buffers.
    pub merges: usize,
    /// Shingle counts and publication minutes of every record: grows with the corpus.
    pub sizes: usize,
}

impl Memory {
    /// All parts.
    pub fn total(&self) -> usize {
        self.tail + self.frozen + self.live + self.filters + self.merges + self.sizes
    }
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
/// A range of publication minutes holding no dated record.
const NONE_DATED: (i64, i64) = (i64::MAX, i64::MIN);

/// The minute of `published_us` (µs since the epoch), [`NO_DATE`] when unknown or out of range.
fn minute(published_us: Option<i64>) -> i32 {
    published_us
        .and_then(|us| i32::try_from(us.div_euclid(60_000_000)).ok())
        .filter(|&m| m != NO_DATE)
        .unwrap_or(NO_DATE)
}

/// Records the per-record arrays (`sizes`, `minutes`) grow by when full: grown exactly, not
/// doubled, so at 10 M records they hold 60 MB, not up to 100 MB (a doubling left them
/// 40 % empty on average). A grow copies the arrays (glibc moves large blocks by remapping).
const RECORDS_GROWTH: usize = 1 << 16;

/// Pushes `value`, growing `v` by [`RECORDS_GROWTH`] when it is full.
fn push_grown<T>(v: &mut Vec<T>, value: T) {
    if v.len() == v.capacity() {
        v.reserve_exact(RECORDS_GROWTH);
    }
    v.push(value);
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
    /// Publication minutes `(oldest, newest)` of the tail's dated records (`lo > hi`: none).
    tail_minutes: (i64, i64),
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
    /// Near postings of the records written to runs last, for near lookups.
    live: live::LiveNear,
    /// What the lookups found.
    counts: LookupCounts,
    /// Merges in progress, at most one per level.
    jobs: Vec<merge::MergeJob>,
    /// Number of the next run written (registered or being merged).
    next_run: u32,
    /// Output runs of merges a crash interrupted, deleted at the next add.
    orphans: Vec<u32>,
    /// Runs whose stored filter was of another format, rebuilt on open, stored at the next add.
    refiltered: Vec<u32>,
    /// Runs a merge replaced, their buckets being deleted a slice per add.
    drops: Vec<drop::DropJob>,
    /// Runs whose filter has been copied beside the index, or needs no copy
    /// ([`NearBackend::copy_filter`]; the registered runs as of the last commit).
    copied: Vec<u32>,
}

impl<B: NearBackend> DiskStore<B> {
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

    /// What the lookups found so far.
    pub fn counts(&self) -> LookupCounts {
        self.counts
    }

    /// What the index holds in memory, by part (see the module doc's "Memory").
    pub fn memory(&self) -> Memory {
        Memory {
            tail: self.tail.bytes(),
            frozen: self.flushing.as_ref().map_or(0, flush::FlushJob::bytes),
            live: self.live.bytes(),
            filters: self.filters.values().map(KeyFilter::bytes).sum(),
            merges: self.jobs.iter().map(merge::MergeJob::bytes).sum(),
            sizes: self.sizes.capacity() * 2 + self.minutes.capacity() * 4,
        }
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

    /// Makes every change durable, with the record count, the id digest and where each flush,
    /// merge and deletion in progress is (`resume`).
    ///
    /// # Errors
    /// Storage failures.
    pub fn commit(&mut self) -> Result<(), B::Error> {
        self.note_jobs()?;
        self.backend
            .set_meta("records", &self.next_doc.to_string())?;
        self.backend
            .set_meta("digest", &format!("{:016x}", self.digest))?;
        self.backend.commit()?;
        self.copy_filters();
        Ok(())
    }

    /// Copies the filters of the runs registered since the last commit beside the index and
    /// removes the copies of the runs no longer registered (see [`NearBackend::copy_filter`]).
    fn copy_filters(&mut self) {
        let gone = self
            .copied
            .iter()
            .any(|c| !self.runs.iter().any(|r| r.run == *c));
        for r in &self.runs {
            if !self.copied.contains(&r.run) {
                if let Some(f) = self.filters.get(&r.run) {
                    self.backend.copy_filter(r, f.as_bytes());
                }
                self.copied.push(r.run);
            }
        }
        if gone {
            self.copied
                .retain(|c| self.runs.iter().any(|r| r.run == *c));
            self.backend.sweep_copies(&self.copied);
        }
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
        self.live = live::LiveNear::new(i64::MIN, i64::MIN, self.shape.live_docs);
        self.sizes.clear();
        self.minutes.clear();
        self.jobs.clear();
        self.orphans.clear();
        self.refiltered.clear();
        self.drops.clear();
        self.copied.clear();
        self.next_run = 0;
        self.backend.set_meta(merge::MERGING_KEY, "")?;
        self.backend.set_meta(drop::DROPPING_KEY, "")?;
        self.tail = BandTable::default();
        self.tail_minutes = NONE_DATED;
        (self.tail_start, self.next_doc, self.digest) = (0, 0, 0);
        self.resolved.clear();
        self.commit()
    }
}
