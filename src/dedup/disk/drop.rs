//! Deleting the buckets of runs a merge replaced, or of a merge's half-written output an open
//! found unfinished, a slice per add.
//!
//! A finished merge unregisters its input runs at once ([`NearBackend::forget_run`]: lookups
//! and later merges stop seeing them) and leaves their buckets to a [`DropJob`] each, which
//! deletes them over the adds that follow, paced like the merge that replaced them. Deleted
//! in one statement, the inputs of a level-3 merge near 7 M records (gigabytes of bucket
//! rows) held one add for 13 s. The runs being dropped are listed in `near_meta`
//! ([`DROPPING_KEY`]) in the same transaction, so an open after a crash goes on deleting
//! them, and their run numbers are never given to a new run while their buckets remain.

use super::backend::{NearBackend, RunInfo};

/// Bucket bits of a run whose own are not known (the half-written output of a merge an open
/// found unfinished): `run::choose_bits` never cuts a run finer.
pub const ORPHAN_BITS: u32 = 24;

/// `near_meta` key listing the runs whose buckets are being deleted, as
/// `run:bits:next:adds:span,…` (the progress, so that an open goes on where the last process
/// stopped: restarted at every open, a deletion spread over more adds than a cron `run` makes
/// never finished).
pub(super) const DROPPING_KEY: &str = "dropping";

/// The deletion of one unregistered run's buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropJob {
    /// The run (no longer in `near_run`).
    pub run: u32,
    bits: u32,
    next: u64,
    adds: u64,
    span: u64,
}

impl DropJob {
    /// Deletes `run`'s `2^bits` buckets over `span` adds.
    pub fn new(run: u32, bits: u32, span: u64) -> Self {
        Self {
            run,
            bits,
            next: 0,
            adds: 0,
            span: span.max(1),
        }
    }

    /// A job for each run an input merge replaced, spread over `span` adds.
    pub fn for_inputs(inputs: &[RunInfo], span: u64) -> impl Iterator<Item = Self> + '_ {
        inputs.iter().map(move |r| Self::new(r.run, r.bits, span))
    }

    fn buckets(&self) -> u64 {
        1 << self.bits
    }

    /// Whether every bucket is deleted.
    pub fn is_done(&self) -> bool {
        self.next >= self.buckets()
    }

    /// Counts one add and deletes the buckets now due (one range statement, or none).
    ///
    /// # Errors
    /// Storage failures.
    pub fn advance<B: NearBackend>(&mut self, backend: &mut B) -> Result<(), B::Error> {
        self.adds += 1;
        let due = super::resume::paced(self.adds, self.buckets(), self.span);
        if due > self.next {
            let (lo, hi) = (self.next as u32, (due - 1) as u32);
            backend.delete_buckets(self.run, lo, hi)?;
            self.next = due;
        }
        Ok(())
    }
}

/// `run:bits:next:adds:span,…` for [`DROPPING_KEY`].
pub fn note(jobs: &[DropJob]) -> String {
    let list: Vec<String> = jobs
        .iter()
        .map(|j| format!("{}:{}:{}:{}:{}", j.run, j.bits, j.next, j.adds, j.span))
        .collect();
    list.join(",")
}

/// The jobs of a [`note`], each going on where it was; an entry of the format before
/// (`run:bits`) is restarted from its first bucket over `span` adds (deleting a range already
/// deleted costs one index seek). Malformed entries are skipped.
pub fn parse(list: &str, span: u64) -> Vec<DropJob> {
    list.split(',')
        .filter_map(|e| {
            let f: Vec<&str> = e.split(':').collect();
            let bits: u32 = f.get(1)?.parse().ok().filter(|&b| b <= 32)?;
            let mut job = DropJob::new(f[0].parse().ok()?, bits, span);
            if let [_, _, next, adds, span] = f[..] {
                (job.next, job.adds) = (next.parse().ok()?, adds.parse().ok()?);
                job.span = span.parse::<u64>().ok()?.max(1);
            } else if f.len() != 2 {
                return None;
            }
            Some(job)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noted_for_a_restart() {
        let mut jobs = vec![DropJob::new(7, 4, 8), DropJob::new(9, 0, 8)];
        (jobs[0].next, jobs[0].adds) = (2, 1);
        assert_eq!(note(&jobs), "7:4:2:1:8,9:0:0:0:8");
        assert_eq!(parse(&note(&jobs), 100), jobs, "progress and pacing kept");
        assert_eq!(
            parse("x,7:4,8:99,:3,5:1:2", 8),
            vec![DropJob::new(7, 4, 8)],
            "the format before restarts"
        );
        assert!(parse("", 8).is_empty());
    }
}
