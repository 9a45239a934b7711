//! The full tail written as a level-0 run a slice at a time, so that no single add pays for
//! writing a whole run (65 536 records' postings: seconds).
//!
//! When the tail is full its postings are sorted and frozen in a [`FlushJob`]: lookups search
//! them in memory (binary search) while the job writes them as the buckets of a new run,
//! paced to finish within an eighth of the adds that fill the tail again ([`SPAN_SHARE`]), a
//! whole bucket at a time.
//! The run is registered (and its records' `near_tail` rows dropped, and their sizes stored)
//! only when the last bucket is in, so a lookup never sees a half-written run, and the frozen
//! records keep their `near_tail` rows until then. The job's state is noted in `near_meta`
//! (`merging`) with the merges' at every commit: the next open splits the frozen records off
//! the tail it rebuilds from `near_tail` and goes on writing them (`super::resume`).

use crate::dedup::bands::BandTable;

use super::backend::{NearBackend, RunInfo};
use super::filter::{self, FilterBuilder, KeyFilter};
use super::resume::{self, JobState, Progress};
use super::run;

/// A flush is spread over `tail_docs / SPAN_SHARE` adds. The frozen postings (48 MiB at the
/// default tail) are held until the run is written, beside the tail filling again: spread
/// over half the tail's adds, the two held up to 75 MB together at the 10 M bench's high
/// points; over an eighth, at most the frozen postings and an eighth of a tail, ~55 MB.
/// Writing 65 536 records' postings over 8 192 adds is ~700 postings (five or six buckets)
/// an add.
pub const SPAN_SHARE: u32 = 8;

/// A frozen tail being written as a run.
#[derive(Debug)]
pub struct FlushJob {
    /// Its postings, packed (`key << 32 | doc`), ascending, with a bucket table for lookups.
    table: BandTable,
    /// The run being written (registered by [`FlushJob::finish`]).
    pub out: RunInfo,
    /// Postings written so far (always up to a bucket boundary).
    written: usize,
    /// The filter being built and the pacing.
    progress: Progress,
}

impl FlushJob {
    /// A job writing `sorted` as `out` (its `bits` and `postings` set), spread over `span` adds.
    pub fn new(sorted: Vec<u64>, out: RunInfo, span: u64) -> Self {
        Self {
            progress: Progress::new(out.postings, span),
            table: BandTable::from_sorted(sorted),
            out,
            written: 0,
        }
    }

    /// Takes up the flush `state` describes, writing `sorted` (the frozen records' postings)
    /// with `filter` restored from its stored partitions: the buckets from the first of its
    /// first unsealed filter partition are deleted and written again.
    ///
    /// # Errors
    /// Storage failures.
    pub fn resume<B: NearBackend>(
        backend: &mut B,
        state: &JobState,
        filter: FilterBuilder,
        sorted: Vec<u64>,
    ) -> Result<Self, B::Error> {
        let kept = backend.spilled_len(&state.out);
        let progress = Progress::restored(state, filter, kept);
        let from = progress.resume_key();
        let table = BandTable::from_sorted(sorted);
        let written = table.sorted().partition_point(|&p| p >> 32 < from);
        let job = Self {
            table,
            out: state.out,
            written,
            progress,
        };
        resume::delete_from(backend, &job.out, from)?;
        Ok(job)
    }

    /// What an open needs to take the flush up.
    pub fn state(&self) -> JobState {
        self.progress.state(self.out, Vec::new())
    }

    /// Calls `f` for every record of the frozen tail filed under each of `keys`.
    pub fn for_each_of(&self, keys: &[u32], f: impl FnMut(u32)) {
        self.table.for_each_of(keys, f);
    }

    /// Bytes held: the frozen postings with their bucket table, and the filter being built.
    pub fn bytes(&self) -> usize {
        self.table.bytes() + self.progress.filter.bytes()
    }

    /// Whether every bucket is written.
    pub fn is_done(&self) -> bool {
        self.written >= self.table.sorted().len()
    }

    /// Counts one add and writes the buckets now due (all of them when `all`).
    ///
    /// # Errors
    /// Storage failures.
    pub fn advance<B: NearBackend>(&mut self, backend: &mut B, all: bool) -> Result<(), B::Error> {
        let sorted = self.table.sorted();
        let len = sorted.len();
        let due = self.progress.tick(len as u64) as usize;
        let due = if all { len } else { due };
        if due <= self.written {
            return Ok(());
        }
        // Up to the end of the bucket holding posting `due - 1`.
        let bucket = |p: u64| self.out.bucket((p >> 32) as u32);
        let last = bucket(sorted[due.min(len) - 1]);
        let end = due.min(len) + sorted[due.min(len)..].partition_point(|&p| bucket(p) == last);
        run::put_buckets(
            backend,
            &sorted[self.written..end],
            &self.out,
            &mut self.progress.filter,
        )?;
        self.written = end;
        (self.progress.filter).seal_before((u64::from(last) + 1) << (32 - self.out.bits));
        if !self.is_done() {
            self.progress.store(backend, &self.out)?;
        }
        Ok(())
    }

    /// Registers the finished run with the sizes of its records (`sizes`, as `near_size`
    /// holds them) and drops `near_tail` rows before `tail_from`; returns the run's filter
    /// and its postings (for `super::live`).
    ///
    /// # Errors
    /// Storage failures.
    pub fn finish<B: NearBackend>(
        mut self,
        backend: &mut B,
        sizes: &[u8],
        tail_from: u32,
    ) -> Result<(KeyFilter, Vec<u64>), B::Error> {
        self.advance(backend, true)?;
        backend.put_sizes(self.out.first_doc, sizes)?;
        let held = self.progress.register(backend, &self.out, tail_from)?;
        let filter = filter::load_registered(backend, &self.out, held)?;
        Ok((filter, self.table.take_sorted()))
    }
}
