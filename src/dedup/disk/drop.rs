//! Deleting the buckets and filter partitions of runs a merge replaced, or of a merge's
//! half-written output an open found unfinished, a slice per add.
//!
//! A finished merge unregisters its input runs at once ([`NearBackend::forget_run`]: lookups
//! and later merges stop seeing them) and leaves their buckets to a [`DropJob`] each, which
//! deletes them over the adds that follow, paced like the merge that replaced them. Deleted
//! in one statement, the inputs of a level-3 merge near 7 M records (gigabytes of bucket
//! rows) held one add for 13 s. The runs being dropped are listed in `near_meta`
//! (`DROPPING_KEY`) in the same transaction, so an open after a crash goes on deleting
//! them, and their run numbers are never given to a new run while their buckets remain.

use super::backend::{NearBackend, RunInfo};

/// Bucket bits of a run whose own are not known (the half-written output of a merge an open
/// found unfinished): `run::choose_bits` never cuts a run finer.
pub const ORPHAN_BITS: u32 = 24;

/// Filter partitions a run has at most.
const MAX_PARTS: u32 = 1 << super::filter::MAX_PART_BITS;

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
    /// Whether the run may still have filter partitions (not kept across opens: a resumed
    /// job looks once more).
    parts_left: bool,
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
            parts_left: true,
        }
    }

    /// A job for each run an input merge replaced, spread over `span` adds.
    pub fn for_inputs(inputs: &[RunInfo], span: u64) -> impl Iterator<Item = Self> + '_ {
        inputs.iter().map(move |r| Self::new(r.run, r.bits, span))
    }

    fn buckets(&self) -> u64 {
        1 << self.bits
    }

    /// The buckets `(run, first, last)` the next `adds` adds will delete (for reading them
    /// ahead, `super::warm`: a deletion reads the pages it frees).
    pub fn range_ahead(&self, adds: u64) -> Option<(u32, u32, u32)> {
        let due = super::resume::paced(self.adds + adds, self.buckets(), self.span);
        (due > self.next).then(|| (self.run, self.next as u32, (due - 1) as u32))
    }

    /// Whether every bucket is deleted.
    pub fn is_done(&self) -> bool {
        self.next >= self.buckets()
    }

    /// Counts one add and deletes the buckets now due (one range statement, or none) and one
    /// filter partition (the run's filter, `super::filter::spill`: a few hundred of ~200 KB
    /// at the top of a 10 M index); the partitions left when the last bucket goes go with it.
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
        if self.is_done() {
            backend.delete_parts(self.run)?;
        } else if self.parts_left
            && let Ok(end) = u32::try_from(self.adds)
        {
            self.parts_left = end < MAX_PARTS && backend.delete_parts_below(self.run, end)? > 0;
        }
        Ok(())
    }
}

/// `run:bits:next:adds:span,…` for `DROPPING_KEY`.
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
    use crate::state::NearDb;

    #[test]
    fn a_dropped_run_loses_a_filter_partition_an_add_and_the_rest_with_its_last_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        for part in 0..6 {
            db.put_part(7, part, &[1, 2, 3]).unwrap();
            db.put_part(8, part, &[1, 2, 3]).unwrap();
        }
        let parts = |db: &mut NearDb, run| {
            let mut parts = Vec::new();
            db.parts(run, &mut |p, _| parts.push(p)).unwrap();
            parts
        };
        let mut job = DropJob::new(7, 2, 4);
        job.advance(&mut db).unwrap();
        job.advance(&mut db).unwrap();
        assert_eq!(parts(&mut db, 7), [2, 3, 4, 5]);
        job.advance(&mut db).unwrap();
        job.advance(&mut db).unwrap();
        assert!(job.is_done());
        assert!(parts(&mut db, 7).is_empty());
        assert_eq!(parts(&mut db, 8).len(), 6, "another run's");
    }

    /// The range said to be deleted over the next adds is the one those adds delete.
    #[test]
    fn the_range_ahead_is_what_the_next_adds_delete() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        for b in 0..64 {
            db.put_bucket(7, b, &[1; 4]).unwrap();
        }
        let left = |db: &mut NearDb| {
            let mut n = 0u32;
            db.bucket_range(7, 0, 63, &mut |_| n += 1).unwrap();
            n
        };
        let mut job = DropJob::new(7, 6, 10);
        job.advance(&mut db).unwrap();
        let (before, ahead) = (left(&mut db), job.range_ahead(3));
        let (_, first, last) = ahead.expect("a range");
        (0..3).for_each(|_| job.advance(&mut db).unwrap());
        assert_eq!(before - left(&mut db), last - first + 1);
        assert_eq!(job.range_ahead(100), Some((7, last + 1, 63)));
        (0..6).for_each(|_| job.advance(&mut db).unwrap());
        assert!(job.is_done() && job.range_ahead(5).is_none());
    }

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
