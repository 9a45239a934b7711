//! The storage a [`super::DiskStore`] runs on, as a small trait over backend-neutral tables:
//! SQLite today (`state::NearDb`), PostgreSQL for the scale-out issue. The trait only moves
//! rows; every decision (which run to read, when to write a run, when to merge) is made by
//! `DiskStore`, so a second backend is a translation of these calls into its SQL.
//!
//! # Tables
//! Types are given as SQLite / PostgreSQL. Record numbers (`doc`) are dense, from 0, in
//! insertion order; band keys are 32-bit, stored in blobs, never as integers.
//!
//! | table | columns | key | what it holds |
//! |---|---|---|---|
//! | `near_meta` | `key TEXT`, `value TEXT` | `key` | parameters, `dirty` flag, id digest, count |
//! | `near_record` | `doc INTEGER / BIGINT`, `id TEXT`, `cluster INTEGER / BIGINT`, `published INTEGER / BIGINT NULL` (µs since the epoch), `republished INTEGER / BOOLEAN`, `source TEXT`, `url_len INTEGER`, `shingles INTEGER`, `facts0`, `facts1 INTEGER / BIGINT` (its fact tag, `dedup::FactTag::stored`; 0 none) | `doc` | one row per record: what screening and ranking need, its fact tag, and its cluster (`doc` of the canonical record) |
//! | (index) `near_record_member` | `(cluster) WHERE cluster <> doc` | | members of clusters, without the singletons (a partial index in both) |
//! | `near_tail` | `doc`, `bands BLOB / BYTEA` (64 × u32 LE) | `doc` | band keys of records not yet in a run, so the in-memory tail can be rebuilt on open |
//! | `near_size` | `first_doc INTEGER / BIGINT`, `sizes BLOB / BYTEA` (per record: shingle count u16 LE, saturating; publication minute since the epoch i32 LE, `i32::MIN` unknown) | `first_doc` | what the candidate screen needs of the records `first_doc..` written with one level-0 run, read whole on open: the screen runs on them without reading a row |
//! | `near_run` | `run INTEGER / BIGINT`, `level INTEGER`, `first_doc`, `end_doc`, `bits INTEGER`, `postings INTEGER / BIGINT`, `filter BLOB / BYTEA` | `run` | one immutable sorted run of postings covering records `first_doc..end_doc`, cut into `2^bits` buckets by the top bits of the key, with the filter of its far keys (`super::filter`): whole, or its header alone and its partitions in `near_part` (since 2026-12-02); another format is rebuilt from the buckets on open |
//! | `near_contains` | `digest INTEGER / BIGINT`, `story INTEGER / BIGINT` (`WITHOUT ROWID` in SQLite), index `near_contains_story (story, digest)` | `(digest, story)` | the digest relation (`dedup::digest`): record `digest` quotes record `story` without sharing its cluster |
//! | `near_band` | `slot INTEGER / BIGINT` (= `run · 2³² + bucket`), `entries BLOB / BYTEA` | `slot` | one bucket of a run: postings sorted by (key, doc), each `key u32 LE, doc u32 LE` |
//! | `near_part` | `run INTEGER / BIGINT`, `part INTEGER`, `bytes BLOB / BYTEA` (a rowid table in SQLite: `WITHOUT ROWID`, a seek would read whole partitions) | `(run, part)` | the sealed filter partitions of a run being written by a flush or merge (`super::filter`'s stored partition form), so that an open goes on with the job (`super::resume`); once the run is registered, its filter (`super::filter::spill`), deleted with the run's buckets |
//! | `near_live` | `first_doc INTEGER / BIGINT`, `chunk INTEGER`, `end_doc INTEGER / BIGINT`, `postings BLOB / BYTEA` (`WITHOUT ROWID` in SQLite) | `(first_doc, chunk)` | the near postings kept in memory past their run write (`super::live`) for the records `first_doc..end_doc`, sorted, packed `key << 32 \| doc` u64 LE, in chunks: read on open so that near lookups after an open read no run |
//!
//! A candidate lookup reads, for each run, the bucket of each band key the run's filter may
//! hold: one primary-key point read per run and such key (`slot IN (…)`), never a scan.

use crate::dedup::rank::DocInfo;

/// A stored record: what the index knows about it and the cluster it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    /// Dense record number.
    pub doc: u32,
    /// Rank, shingle count and fact tag.
    pub info: DocInfo,
    /// `doc` of its cluster's canonical record (`doc` itself when it is the canonical one).
    pub cluster: u32,
}

/// One immutable run of postings (a row of `near_run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunInfo {
    /// Run number; newer runs have larger numbers.
    pub run: u32,
    /// Merge level: a run written from the tail is level 0; merging runs of level `l` gives `l + 1`.
    pub level: u32,
    /// First record number covered.
    pub first_doc: u32,
    /// One past the last record number covered.
    pub end_doc: u32,
    /// The run is cut into `2^bits` buckets by the top `bits` bits of the band key.
    pub bits: u32,
    /// Postings (record, band key) held.
    pub postings: u64,
}

impl RunInfo {
    /// The bucket of `key` in this run.
    pub fn bucket(&self, key: u32) -> u32 {
        if self.bits == 0 {
            0
        } else {
            key >> (32 - self.bits)
        }
    }
}

/// Row storage for the on-disk index. Writes may be buffered in an open transaction until
/// [`NearBackend::commit`]; reads see them.
pub trait NearBackend: Send + Sized {
    /// Storage error.
    type Error: Send;
    /// A second handle on the same stored rows, for reading only while the index opens
    /// (`DiskStore::open` reads run filters on it in a second thread), or `None` when the
    /// backend has none, cannot open one, or holds writes the second would not see; the open
    /// then reads everything on this one.
    fn reader(&self) -> Option<Self> {
        None
    }
    /// The filter bytes of registered run `r` as [`NearBackend::copy_filter`] copied them
    /// beside the stored rows, when a whole copy of this run of this index is there; `None`
    /// by default. The caller checks that they are the filter the run's row describes.
    fn copied_filter(&self, _r: &RunInfo) -> Option<Vec<u8>> {
        None
    }
    /// Copies the filter of committed run `r` beside the stored rows, in one piece for opens
    /// to read (a cache, best effort; none by default).
    fn copy_filter(&self, _r: &RunInfo, _filter: &[u8]) {}
    /// Removes the filter copies of runs not in `runs`.
    fn sweep_copies(&self, _runs: &[u32]) {}
    /// Reads ahead the run buckets `buckets` (`(run, bucket)`, sorted and distinct), the
    /// bucket ranges `ranges` (`(run, first, last)`) and the records `docs` with their
    /// clusters' canonical records, so that the reads that follow find them cached: a hint,
    /// which may read on other handles side by side and wait for them; failures are only
    /// logged. Returns the mean time a bucket of `buckets` took to read, when any was read
    /// (whether the index is cached). None by default: nothing read.
    fn warm(
        &mut self,
        _buckets: &[(u32, u32)],
        _ranges: &[(u32, u32, u32)],
        _docs: &[u32],
    ) -> Option<std::time::Duration> {
        None
    }
    /// Keeps `bytes`, from byte `at` of the stored form of the filter of run `r` being built,
    /// beside the stored rows, as the builder lets them go (`super::filter`), so that the
    /// job's end reads them back in one piece rather than from the run's partitions; kept
    /// bytes are as durable as the rows committed after them. `false` when not kept (never,
    /// by default): the job's end then reads the partitions.
    fn keep_spilled(&mut self, _r: &RunInfo, _at: u64, _bytes: &[u8]) -> bool {
        false
    }
    /// How many bytes of the stored form of the filter of run `r` are kept
    /// ([`NearBackend::keep_spilled`]); `None` when none.
    fn spilled_len(&mut self, _r: &RunInfo) -> Option<u64> {
        None
    }
    /// The first `len` bytes kept of the filter of run `r`, in a buffer with room for
    /// `room`; `None` when fewer are kept.
    fn spilled(&mut self, _r: &RunInfo, _len: u64, _room: usize) -> Option<Vec<u8>> {
        None
    }
    /// Forgets the bytes kept of the filters of the runs not in `building`.
    fn forget_spilled(&mut self, _building: &[u32]) {}
    /// A value of `near_meta`.
    ///
    /// # Errors
    /// Storage failures.
    fn meta(&mut self, key: &str) -> Result<Option<String>, Self::Error>;
    /// Sets a value of `near_meta`.
    ///
    /// # Errors
    /// Storage failures.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), Self::Error>;
    /// One past the largest record number stored (0 when empty).
    ///
    /// # Errors
    /// Storage failures.
    fn next_doc(&mut self) -> Result<u32, Self::Error>;
    /// The record numbered `doc`.
    ///
    /// # Errors
    /// Storage failures.
    fn record(&mut self, doc: u32) -> Result<Option<StoredDoc>, Self::Error>;
    /// Records whose cluster is `head`, `head` itself excluded.
    ///
    /// # Errors
    /// Storage failures.
    fn members(&mut self, head: u32) -> Result<Vec<StoredDoc>, Self::Error>;
    /// Stores a new record (`near_record`) and its band keys (`near_tail`).
    ///
    /// # Errors
    /// Storage failures, including a record number already stored.
    fn insert(&mut self, doc: &StoredDoc, bands: &[u32]) -> Result<(), Self::Error>;
    /// Moves every record of cluster `from` (its canonical record included) to cluster `to`.
    ///
    /// # Errors
    /// Storage failures.
    fn move_cluster(&mut self, from: u32, to: u32) -> Result<(), Self::Error>;
    /// Moves one record to cluster `cluster` (a cluster split by a new digest).
    ///
    /// # Errors
    /// Storage failures.
    fn set_cluster(&mut self, doc: u32, cluster: u32) -> Result<(), Self::Error>;
    /// The digest relation of `doc`: the records it contains and the digests containing it
    /// (`near_contains`), each in record order.
    ///
    /// # Errors
    /// Storage failures.
    fn relations(&mut self, doc: u32) -> Result<(Vec<u32>, Vec<u32>), Self::Error>;
    /// Records that `digest` contains `story` (`near_contains`; storing it twice is no error).
    ///
    /// # Errors
    /// Storage failures.
    fn put_relation(&mut self, digest: u32, story: u32) -> Result<(), Self::Error>;
    /// Band keys, shingle count and publication time (µs) of every record numbered `from` or
    /// more in `near_tail`, in record order.
    ///
    /// # Errors
    /// Storage failures.
    fn tail(
        &mut self,
        from: u32,
        f: &mut dyn FnMut(u32, Vec<u32>, u32, Option<i64>),
    ) -> Result<(), Self::Error>;
    /// Every `near_size` row as `(first_doc, sizes)`, in record order.
    ///
    /// # Errors
    /// Storage failures.
    fn sizes(&mut self, f: &mut dyn FnMut(u32, &[u8])) -> Result<(), Self::Error>;
    /// Stores the screening data of the records `first_doc..` (see `near_size`).
    ///
    /// # Errors
    /// Storage failures.
    fn put_sizes(&mut self, first_doc: u32, sizes: &[u8]) -> Result<(), Self::Error>;
    /// Every run with its filter bytes, in run order.
    ///
    /// # Errors
    /// Storage failures.
    fn runs(&mut self) -> Result<Vec<(RunInfo, Vec<u8>)>, Self::Error>;
    /// The buckets `buckets` of `run` (repeats allowed), as `(bucket, entries)`; buckets with
    /// no postings are absent.
    ///
    /// # Errors
    /// Storage failures.
    fn buckets(&mut self, run: u32, buckets: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, Self::Error>;
    /// Calls `f` with the entries of every bucket `lo..=hi` of `run`, in bucket order.
    ///
    /// # Errors
    /// Storage failures.
    fn bucket_range(
        &mut self,
        run: u32,
        lo: u32,
        hi: u32,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<(), Self::Error>;
    /// Stores one bucket of a run being written.
    ///
    /// # Errors
    /// Storage failures.
    fn put_bucket(&mut self, run: u32, bucket: u32, entries: &[u8]) -> Result<(), Self::Error>;
    /// Registers a run whose buckets are stored, with its filter bytes, and forgets the
    /// `near_tail` rows of records before `tail_from`.
    ///
    /// # Errors
    /// Storage failures.
    fn put_run(&mut self, run: &RunInfo, filter: &[u8], tail_from: u32) -> Result<(), Self::Error>;
    /// The filter bytes of registered run `run`.
    ///
    /// # Errors
    /// Storage failures.
    fn filter(&mut self, run: u32) -> Result<Vec<u8>, Self::Error>;
    /// Stores chunk `chunk` of the kept near postings of records `docs` (`super::live`).
    ///
    /// # Errors
    /// Storage failures.
    fn put_live(
        &mut self,
        docs: (u32, u32),
        chunk: u32,
        postings: &[u8],
    ) -> Result<(), Self::Error>;
    /// Calls `f(first_doc, end_doc, postings)` for every stored chunk of kept near postings,
    /// by `first_doc`, then chunk.
    ///
    /// # Errors
    /// Storage failures.
    fn live(&mut self, f: &mut dyn FnMut(u32, u32, &[u8])) -> Result<(), Self::Error>;
    /// Deletes the kept near postings of ranges starting before `from` or at `to` and after.
    ///
    /// # Errors
    /// Storage failures.
    fn delete_live_outside(&mut self, from: u32, to: u32) -> Result<(), Self::Error>;
    /// Stores sealed partition `part` of the filter of a run (`near_part`).
    ///
    /// # Errors
    /// Storage failures.
    fn put_part(&mut self, run: u32, part: u32, bytes: &[u8]) -> Result<(), Self::Error>;
    /// Calls `f(part, bytes)` for every stored filter partition of `run`, in partition order.
    ///
    /// # Errors
    /// Storage failures.
    fn parts(&mut self, run: u32, f: &mut dyn FnMut(u32, &[u8])) -> Result<(), Self::Error>;
    /// Calls `f(part, len, head)` for every stored filter partition of `run` below `below`,
    /// in partition order: its length and its first `head` bytes (all of it when shorter). By
    /// default read whole ([`NearBackend::parts`]); a backend that can read the start of a
    /// value alone saves an open reading partitions whose bytes it does not need
    /// (`super::resume`).
    ///
    /// # Errors
    /// Storage failures.
    fn part_heads(
        &mut self,
        (run, below): (u32, u32),
        head: usize,
        f: &mut dyn FnMut(u32, usize, &[u8]),
    ) -> Result<(), Self::Error> {
        self.parts(run, &mut |part, bytes| {
            if part < below {
                f(part, bytes.len(), &bytes[..head.min(bytes.len())]);
            }
        })
    }
    /// Stored filter partition `part` of `run`, if stored.
    ///
    /// # Errors
    /// Storage failures.
    fn part(&mut self, run: u32, part: u32) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Deletes the stored filter partitions of `run`.
    ///
    /// # Errors
    /// Storage failures.
    fn delete_parts(&mut self, run: u32) -> Result<(), Self::Error>;
    /// Deletes the stored filter partitions of `run` numbered below `end`; returns how many
    /// there were.
    ///
    /// # Errors
    /// Storage failures.
    fn delete_parts_below(&mut self, run: u32, end: u32) -> Result<usize, Self::Error>;
    /// Replaces the filter bytes of a registered run (a filter rebuilt from its buckets).
    ///
    /// # Errors
    /// Storage failures.
    fn set_filter(&mut self, run: u32, filter: &[u8]) -> Result<(), Self::Error>;
    /// Unregisters a run: lookups and merges no longer see it; its buckets stay until
    /// [`NearBackend::delete_buckets`] removes them.
    ///
    /// # Errors
    /// Storage failures.
    fn forget_run(&mut self, run: u32) -> Result<(), Self::Error>;
    /// Deletes the buckets `lo..=hi` of `run`.
    ///
    /// # Errors
    /// Storage failures.
    fn delete_buckets(&mut self, run: u32, lo: u32, hi: u32) -> Result<(), Self::Error>;
    /// Deletes every record, relation, run and bucket (`near_meta` is kept).
    ///
    /// # Errors
    /// Storage failures.
    fn clear(&mut self) -> Result<(), Self::Error>;
    /// Makes every write so far durable, atomically.
    ///
    /// # Errors
    /// Storage failures.
    fn commit(&mut self) -> Result<(), Self::Error>;
}
