//! What a flush and a merge carry from add to add: the filter being built, its partitions
//! stored, the pacing, and whether its spilled bytes are kept.

use super::super::backend::{NearBackend, RunInfo};
use super::super::filter::{FilterBuilder, Registered};
use super::JobState;

/// What a flush and a merge keep across opens: the filter being built, how many of its
/// partitions are stored, and the pacing.
#[derive(Debug)]
pub struct Progress {
    /// The output run's filter being built.
    pub filter: FilterBuilder,
    /// Partitions of `filter` stored (`near_part`).
    stored: usize,
    /// Adds counted since the job started.
    adds: u64,
    /// Adds the job is spread over.
    pub span: u64,
    /// Every byte `filter` spilled is kept beside the index ([`NearBackend::keep_spilled`]).
    kept: bool,
}

impl Progress {
    /// A job's start: writing a run of `postings` over `span` adds.
    pub fn new(postings: u64, span: u64) -> Self {
        Self {
            filter: FilterBuilder::new(postings),
            stored: 0,
            adds: 0,
            span: span.max(1),
            kept: true,
        }
    }

    /// Where `state` left off, with `filter` restored from its stored partitions; `kept`:
    /// bytes of its stored form kept beside the index ([`NearBackend::spilled_len`]).
    pub fn restored(state: &JobState, mut filter: FilterBuilder, kept: Option<u64>) -> Self {
        filter.spill(state.sealed);
        let kept = kept.is_some_and(|k| k >= filter.spilled_end());
        Self {
            filter,
            stored: state.sealed,
            adds: state.adds,
            span: state.span.max(1),
            kept,
        }
    }

    /// The first key not covered by the stored partitions (where a resumed job starts again).
    pub fn resume_key(&self) -> u64 {
        self.filter.part_start(self.stored)
    }

    /// Counts one add; the share of `total` steps due by now.
    pub fn tick(&mut self, total: u64) -> u64 {
        self.adds += 1;
        paced(self.adds, total, self.span)
    }

    /// The share of `total` steps due `adds` adds from now.
    pub fn due_after(&self, adds: u64, total: u64) -> u64 {
        paced(self.adds + adds, total, self.span)
    }

    /// The job's state for the next open.
    pub fn state(&self, out: RunInfo, inputs: Vec<u32>) -> JobState {
        JobState {
            out,
            inputs,
            span: self.span,
            adds: self.adds,
            sealed: self.stored,
        }
    }

    /// Stores the partitions of the filter sealed since the last call, for the run `out`,
    /// and spills them, kept beside the index while every byte before was.
    ///
    /// # Errors
    /// Storage failures.
    pub fn store<B: NearBackend>(
        &mut self,
        backend: &mut B,
        out: &RunInfo,
    ) -> Result<(), B::Error> {
        while self.stored < self.filter.sealed() {
            let part = u32::try_from(self.stored).unwrap_or(u32::MAX);
            backend.put_part(out.run, part, &self.filter.sealed_part(self.stored))?;
            self.stored += 1;
        }
        let mut kept = self.kept;
        self.filter.spill_into(self.stored, &mut |at, bytes| {
            kept = kept && backend.keep_spilled(out, at, bytes);
        });
        self.kept = kept;
        Ok(())
    }

    /// Registers `out`, its buckets written, with the filter built: the partitions not yet
    /// stored are stored, and stay as the run's filter ([`FilterBuilder::register`]). Returns
    /// what the builder held when all it spilled is kept (for [`super::super::filter::load_registered`]).
    ///
    /// # Errors
    /// Storage failures.
    pub fn register<B: NearBackend>(
        self,
        backend: &mut B,
        out: &RunInfo,
        tail_from: u32,
    ) -> Result<Option<Registered>, B::Error> {
        let held = self.filter.register(backend, out, self.stored, tail_from)?;
        Ok(self.kept.then_some(held))
    }
}

/// Steps of `total` due after `adds` of the `span` adds a job is spread over (all of them from
/// the span's end on).
pub fn paced(adds: u64, total: u64, span: u64) -> u64 {
    let due = (u128::from(adds) * u128::from(total)).div_ceil(u128::from(span.max(1)));
    due.min(u128::from(total)) as u64
}
