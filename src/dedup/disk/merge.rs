//! Run merges done a slice at a time, so that no single add pays for a whole merge.
//!
//! A [`MergeJob`] merges the oldest [`super::Shape::fan_in`] runs of one level into one run of
//! the next, streaming the key space in [`STEP_POSTINGS`]-sized chunks ([`run::merge_chunk`]).
//! The store advances every pending job a little at each add ([`MergeJob::advance`]): a job of
//! level `l` is paced to finish within half the adds that fill level `l` again
//! (`fan_in^(l+1) · tail_docs / 2`, a little less: [`merge_span`]), so each level costs about
//! `2 · 64` posting rewrites per add, evenly, instead of a pause of seconds when a level fills
//! (a level-3 merge at ~4 M records rewrites ~2 GB).
//!
//! While a job runs its inputs stay registered and searched; its output is written under a
//! run number that is not registered until the last chunk is in ([`MergeJob::finish`]), so
//! lookups never see a half-written run. The job's state is noted in `near_meta` (`merging`) at
//! every commit, so that the next open goes on with it (`super::resume`).

use super::backend::{NearBackend, RunInfo};
use super::drop::{self, DropJob};
use super::filter::{self, FilterBuilder, Registered};
use super::flush::{FlushJob, SPAN_SHARE};
use super::resume::{self, JobState, Progress};
use super::run;

/// Postings merged per step (8 bytes each: 512 KiB in memory).
pub const STEP_POSTINGS: u64 = 1 << 16;

/// One merge in progress.
#[derive(Debug)]
pub struct MergeJob {
    /// The runs being merged (still registered and searched).
    pub inputs: Vec<RunInfo>,
    /// The run being written (registered by [`MergeJob::finish`]).
    pub out: RunInfo,
    chunk_bits: u32,
    next_chunk: u64,
    /// The filter being built and the pacing.
    progress: Progress,
    buf: Vec<u64>,
}

impl MergeJob {
    /// A job merging `inputs` into `out` (`bits` and `postings` set), spread over `span` adds.
    pub fn new(inputs: Vec<RunInfo>, out: RunInfo, span: u64) -> Self {
        Self::with_progress(inputs, out, Progress::new(out.postings, span))
    }

    fn with_progress(inputs: Vec<RunInfo>, out: RunInfo, progress: Progress) -> Self {
        let chunk_bits =
            run::choose_bits(out.postings.div_ceil(STEP_POSTINGS) * run::BUCKET_TARGET)
                .min(out.bits);
        Self {
            inputs,
            progress,
            out,
            chunk_bits,
            next_chunk: 0,
            buf: Vec::new(),
        }
    }

    /// Takes up the job `state` describes, whose `inputs` are registered, with `filter`
    /// restored from its stored partitions: the chunks from the first of its first unsealed
    /// filter partition are deleted and merged again.
    ///
    /// # Errors
    /// Storage failures.
    pub fn resume<B: NearBackend>(
        backend: &mut B,
        state: &JobState,
        filter: FilterBuilder,
        inputs: Vec<RunInfo>,
    ) -> Result<Self, B::Error> {
        let kept = backend.spilled_len(&state.out);
        let progress = Progress::restored(state, filter, kept);
        let mut job = Self::with_progress(inputs, state.out, progress);
        let from = job.progress.resume_key();
        job.next_chunk = from >> (32 - job.chunk_bits);
        resume::delete_from(backend, &job.out, from)?;
        Ok(job)
    }

    /// What an open needs to take the job up.
    pub fn state(&self) -> JobState {
        let inputs = self.inputs.iter().map(|r| r.run).collect();
        self.progress.state(self.out, inputs)
    }

    /// Bytes held: the output's filter being built and the scratch buffer.
    pub fn bytes(&self) -> usize {
        self.progress.filter.bytes() + self.buf.capacity() * 8
    }

    fn chunks(&self) -> u64 {
        1 << self.chunk_bits
    }

    /// Whether every chunk is written.
    pub fn is_done(&self) -> bool {
        self.next_chunk >= self.chunks()
    }

    /// Counts one add and merges the chunks now due (all of them when `all`).
    ///
    /// # Errors
    /// Storage failures.
    pub fn advance<B: NearBackend>(&mut self, backend: &mut B, all: bool) -> Result<(), B::Error> {
        let due = self.progress.tick(self.chunks());
        let due = if all { self.chunks() } else { due };
        while self.next_chunk < due.min(self.chunks()) {
            run::merge_chunk(
                backend,
                &self.inputs,
                &self.out,
                (self.chunk_bits, self.next_chunk),
                &mut self.buf,
                &mut self.progress.filter,
            )?;
            self.next_chunk += 1;
            let end = self.next_chunk << (32 - self.chunk_bits);
            self.progress.filter.seal_before(end);
        }
        if !self.is_done() {
            self.progress.store(backend, &self.out)?;
        }
        Ok(())
    }

    /// The input buckets `(run, first, last)` the next `adds` adds will read (for reading
    /// them ahead, `super::warm`).
    pub fn ranges_ahead(&self, adds: u64) -> Vec<(u32, u32, u32)> {
        let due = self
            .progress
            .due_after(adds, self.chunks())
            .min(self.chunks());
        if due <= self.next_chunk {
            return Vec::new();
        }
        let (lo, hi) = run::chunk_keys(self.chunk_bits, self.next_chunk..due);
        (self.inputs.iter())
            .map(|r| (r.run, r.bucket(lo), r.bucket(hi)))
            .collect()
    }

    /// Registers the finished output run and unregisters the inputs (their buckets and filter
    /// partitions are left to a [`DropJob`] each, spread over this job's span); returns the
    /// drop jobs and what is held of the output's filter. That filter is not in memory:
    /// [`filter::load_registered`] it once the inputs' filters are let go.
    ///
    /// # Errors
    /// Storage failures.
    pub fn finish<B: NearBackend>(
        self,
        backend: &mut B,
        tail_from: u32,
    ) -> Result<(Vec<DropJob>, Option<Registered>), B::Error> {
        let span = self.progress.span;
        let held = self.progress.register(backend, &self.out, tail_from)?;
        for r in &self.inputs {
            backend.forget_run(r.run)?;
        }
        Ok((DropJob::for_inputs(&self.inputs, span).collect(), held))
    }
}

impl<B: NearBackend> super::DiskStore<B> {
    /// Freezes the tail into a [`FlushJob`] writing it as a level-0 run over the next
    /// `tail_docs / SPAN_SHARE` adds (a pending one is finished first).
    pub(super) fn flush_tail(&mut self) -> Result<(), B::Error> {
        self.finish_flush()?;
        let sorted = self.tail.take_sorted();
        let out = RunInfo {
            run: self.take_run_number(),
            level: 0,
            first_doc: self.tail_start,
            end_doc: self.next_doc,
            bits: run::choose_bits(sorted.len() as u64),
            postings: sorted.len() as u64,
        };
        let span = u64::from(self.shape.tail_docs / SPAN_SHARE);
        self.flushing = Some(FlushJob::new(sorted, out, span));
        self.tail_start = self.next_doc;
        self.tail_minutes = super::NONE_DATED;
        Ok(())
    }

    /// Writes what is left of the pending flush, registers its run and schedules the merges
    /// that are due.
    fn finish_flush(&mut self) -> Result<(), B::Error> {
        let Some(job) = self.flushing.take() else {
            return Ok(());
        };
        let out = job.out;
        let range = out.first_doc as usize..out.end_doc as usize;
        let mut bytes = Vec::with_capacity(range.len() * 6);
        for (size, minute) in self.sizes[range.clone()].iter().zip(&self.minutes[range]) {
            bytes.extend_from_slice(&size.to_le_bytes());
            bytes.extend_from_slice(&minute.to_le_bytes());
        }
        let (filter, sorted) = job.finish(&mut self.backend, &bytes, self.tail_start)?;
        self.filters.insert(out.run, filter);
        let minutes = &self.minutes[out.first_doc as usize..out.end_doc as usize];
        self.live.push(out.first_doc, out.end_doc, sorted, minutes);
        self.store_live()?;
        self.runs.push(out);
        self.forget_spilled();
        self.schedule()
    }

    /// The first record whose `near_tail` row must stay: the pending flush's first record,
    /// else the tail's.
    fn durable_end(&self) -> u32 {
        self.flushing
            .as_ref()
            .map_or(self.tail_start, |f| f.out.first_doc)
    }

    /// Forgets the filter bytes kept for runs no job is writing now.
    pub(super) fn forget_spilled(&mut self) {
        let flush = self.flushing.iter().map(|f| f.out.run);
        let building: Vec<u32> = self.jobs.iter().map(|j| j.out.run).chain(flush).collect();
        self.backend.forget_spilled(&building);
    }

    fn take_run_number(&mut self) -> u32 {
        self.next_run += 1;
        self.next_run - 1
    }

    /// Runs of `level` not being merged, oldest first.
    fn idle(&self, level: u32) -> Vec<RunInfo> {
        let busy = |r: &RunInfo| self.jobs.iter().any(|j| j.inputs.contains(r));
        let mut runs: Vec<RunInfo> = self
            .runs
            .iter()
            .filter(|r| r.level == level && !busy(r))
            .copied()
            .collect();
        runs.sort_by_key(|r| r.first_doc);
        runs
    }

    /// Starts a job for every level with `fan_in` idle runs and no job of its own.
    fn schedule(&mut self) -> Result<(), B::Error> {
        let mut levels: Vec<u32> = self.runs.iter().map(|r| r.level).collect();
        levels.sort_unstable();
        levels.dedup();
        for level in levels {
            let idle = self.idle(level);
            let has_job = self.jobs.iter().any(|j| j.out.level == level + 1);
            if has_job || idle.len() < self.shape.fan_in {
                continue;
            }
            let inputs: Vec<RunInfo> = idle.into_iter().take(self.shape.fan_in).collect();
            let postings = inputs.iter().map(|r| r.postings).sum();
            let out = RunInfo {
                run: self.take_run_number(),
                level: level + 1,
                first_doc: inputs.iter().map(|r| r.first_doc).min().unwrap_or(0),
                end_doc: inputs.iter().map(|r| r.end_doc).max().unwrap_or(0),
                bits: run::choose_bits(postings),
                postings,
            };
            let span = merge_span(self.shape, out.level);
            self.jobs.push(MergeJob::new(inputs, out, span));
        }
        Ok(())
    }

    /// Records the state of every job and deletion, for `Self::resume_jobs` at the next open
    /// (at each commit: nothing before it is durable).
    pub(super) fn note_jobs(&mut self) -> Result<(), B::Error> {
        let flush = self.flushing.iter().map(FlushJob::state);
        let list: Vec<String> = (self.jobs.iter().map(MergeJob::state))
            .chain(flush)
            .map(|s| s.note())
            .collect();
        self.backend.set_meta(MERGING_KEY, &list.join(","))?;
        self.note_drops()
    }

    /// Advances every job by one add's share; a level holding twice `fan_in` idle runs (merges
    /// fell behind) has its job finished at once. Finished jobs replace their inputs.
    pub(super) fn advance_merges(&mut self) -> Result<(), B::Error> {
        for run in std::mem::take(&mut self.refiltered) {
            if let Some(f) = self.filters.get(&run) {
                filter::store_rebuilt(&mut self.backend, run, f)?;
            }
        }
        if !self.orphans.is_empty() {
            // Deleted a slice per add like a merge's inputs (at 10 M records an upper level's
            // half-written output is gigabytes of rows: one statement held an add for seconds).
            let span = u64::from(self.shape.tail_docs);
            for run in std::mem::take(&mut self.orphans) {
                self.backend.delete_parts(run)?;
                self.drops.push(DropJob::new(run, drop::ORPHAN_BITS, span));
            }
            self.schedule()?;
        }
        self.advance_drops()?;
        if let Some(job) = &mut self.flushing {
            job.advance(&mut self.backend, false)?;
            if job.is_done() {
                self.finish_flush()?;
            }
        }
        self.advance_jobs()
    }

    /// Advances every merge; finished ones replace their inputs.
    fn advance_jobs(&mut self) -> Result<(), B::Error> {
        let mut finished = false;
        for i in 0..self.jobs.len() {
            let level = self.jobs[i].inputs[0].level;
            let behind = self.idle(level).len() >= 2 * self.shape.fan_in;
            self.jobs[i].advance(&mut self.backend, behind)?;
            finished |= self.jobs[i].is_done();
        }
        if !finished {
            return Ok(());
        }
        let (done, pending): (Vec<MergeJob>, Vec<MergeJob>) = std::mem::take(&mut self.jobs)
            .into_iter()
            .partition(MergeJob::is_done);
        self.jobs = pending;
        for job in done {
            let (inputs, out) = (job.inputs.clone(), job.out);
            let keep_from = self.durable_end();
            let (drops, held) = job.finish(&mut self.backend, keep_from)?;
            self.drops.extend(drops);
            for r in &inputs {
                self.filters.remove(&r.run);
            }
            let filter = filter::load_registered(&mut self.backend, &out, held)?;
            self.filters.insert(out.run, filter);
            self.runs.retain(|r| !inputs.contains(r));
            self.runs.push(out);
        }
        self.forget_spilled();
        self.schedule()
    }

    /// Deletes the slice of each dropped run's buckets due at this add; forgets finished
    /// deletions.
    fn advance_drops(&mut self) -> Result<(), B::Error> {
        if self.drops.is_empty() {
            return Ok(());
        }
        for job in &mut self.drops {
            job.advance(&mut self.backend)?;
        }
        self.drops.retain(|d| !d.is_done());
        Ok(())
    }

    /// Records the runs whose buckets are being deleted, for `Self::resume_jobs`.
    fn note_drops(&mut self) -> Result<(), B::Error> {
        self.backend
            .set_meta(drop::DROPPING_KEY, &drop::note(&self.drops))
    }
}

/// Adds a merge into level `level` (≥ 1) is spread over: half the adds that fill the level
/// below again (`fan_in^level · tail_docs / 2`), less `level` sixteenths of a tail. A merge
/// starts at a flush's end or at another merge's end; with spans of whole half tails every
/// merge ended within a few hundred adds of a flush's end, and the ends of a level-1, a
/// level-2 and a level-3 merge fell with one in the same thousand adds (the slowest of a 10 M
/// run: 1.1 s of CPU). Shortened so, the ends of each level fall a sixteenth of a tail (4 096
/// adds) or more from each other and from the flushes' starts and ends: with `tail_docs` =
/// 65 536, a flush starts at 0 and ends at 8 192 (modulo the tail), and merges into levels 1,
/// 2, 3 and 4 end at 4 096, 61 440, 49 152 and 32 768.
pub fn merge_span(shape: super::Shape, level: u32) -> u64 {
    let tail = u64::from(shape.tail_docs);
    let refill = (shape.fan_in as u64)
        .saturating_pow(level)
        .saturating_mul(tail);
    let stagger = u64::from(level).saturating_mul(tail / 16);
    (refill / 2).saturating_sub(stagger).max(1)
}

/// `near_meta` key listing the runs being written by merges.
pub(super) const MERGING_KEY: &str = "merging";

#[cfg(test)]
mod tests {
    use super::super::Shape;
    use super::super::flush::SPAN_SHARE;
    use super::*;

    /// The input ranges said to be read over the next adds are the chunks those adds merge.
    #[test]
    fn the_ranges_ahead_are_the_chunks_the_next_adds_merge() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = crate::state::NearDb::open(dir.path()).unwrap();
        let run = |run, bits| RunInfo {
            run,
            level: 0,
            first_doc: 0,
            end_doc: 1,
            bits,
            postings: 1 << 22,
        };
        let out = RunInfo {
            level: 1,
            postings: 1 << 24,
            ..run(9, 16)
        };
        let mut job = MergeJob::new(vec![run(1, 14), run(2, 12)], out, 400);
        assert!(job.chunks() >= 64, "{}", job.chunks());
        job.advance(&mut db, false).unwrap();
        let (from, ahead) = (job.next_chunk, job.ranges_ahead(30));
        (0..30).for_each(|_| job.advance(&mut db, false).unwrap());
        assert!(job.next_chunk > from);
        let shift = 32 - job.chunk_bits;
        let (lo, hi) = (
            (from << shift) as u32,
            ((job.next_chunk << shift) - 1) as u32,
        );
        let want: Vec<_> = (job.inputs.iter())
            .map(|r| (r.run, r.bucket(lo), r.bucket(hi)))
            .collect();
        assert_eq!(ahead, want);
        assert!(job.ranges_ahead(0).is_empty());
    }

    /// Flushes start every tail and end `tail / SPAN_SHARE` adds later; a merge into level 1
    /// starts at a flush's end, one into level `l + 1` at the end of one into level `l`. The
    /// ends of all of them fall apart from each other and from the flushes' starts and ends,
    /// by a sixteenth of a tail at least, modulo the tail.
    #[test]
    fn merges_of_different_levels_and_flushes_end_apart() {
        let shape = Shape::DEFAULT;
        let tail = u64::from(shape.tail_docs);
        let mut events = vec![0, tail / u64::from(SPAN_SHARE)];
        let mut at = tail / u64::from(SPAN_SHARE);
        for level in 1..=4 {
            let span = merge_span(shape, level);
            let whole = (shape.fan_in as u64).pow(level) * tail / 2;
            assert!(
                span <= whole && span * 10 > whole * 9,
                "level {level}: {span}"
            );
            at += span;
            events.push(at % tail);
        }
        for (i, a) in events.iter().enumerate() {
            for b in &events[i + 1..] {
                let apart = a.abs_diff(*b).min(tail - a.abs_diff(*b));
                assert!(apart >= tail / 16, "{events:?}");
            }
        }
    }
}
