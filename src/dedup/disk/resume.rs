//! Flushes and merges that go on across opens.
//!
//! A flush is spread over `tail_docs / flush::SPAN_SHARE` adds and a level-`l` merge over
//! `fan_in^(l+1) · tail_docs / 2`; a cron `run` adds a few hundred records. Were an open to
//! start them again, the upper merges would never finish, and neither would a flush: the tail
//! rebuilt from `near_tail` would grow by a run's records at every open, without bound. So
//! each job's progress is kept in `near_meta` ([`super::merge::MERGING_KEY`], one
//! [`JobState`] per job, written at every commit) with the sealed partitions of the filter it
//! is building (`near_part`, written as they are sealed, `super::filter`), all in the commit's
//! transaction. An open takes each job up at its last sealed partition: the buckets written
//! past it are deleted and written again (at most one partition's share of the run), the
//! filter is restored from its partitions, and the pacing goes on from the adds counted.
//! A flush's postings are the frozen records' `near_tail` rows, split off the rebuilt tail.
//!
//! A job that cannot be taken up (an entry of an older format, an input run gone, partitions
//! missing or cut) is handled as before: its output is deleted a slice per add and the job is
//! started again.

use crate::dedup::bands::BandTable;

use super::backend::{NearBackend, RunInfo};
use super::filter::{FilterBuilder, PART_HEAD};
use super::flush::FlushJob;
use super::merge::{MERGING_KEY, MergeJob};
use super::{drop, live, run};

mod progress;
pub use progress::{Progress, paced};

/// What an open needs to go on with a flush (no inputs) or a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    /// The run being written.
    pub out: RunInfo,
    /// Run numbers of a merge's inputs (none for a flush).
    pub inputs: Vec<u32>,
    /// Adds the job is spread over.
    pub span: u64,
    /// Adds counted so far.
    pub adds: u64,
    /// Filter partitions sealed and stored.
    pub sealed: usize,
}

/// An entry of [`super::merge::MERGING_KEY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A job that can be taken up.
    Job(JobState),
    /// The output run of a job that cannot (a bare run number: the format before this one,
    /// or an entry that does not parse).
    Orphan(u32),
}

impl JobState {
    /// `run:level:first_doc:end_doc:bits:postings:span:adds:sealed:input/input/…`.
    pub fn note(&self) -> String {
        let o = &self.out;
        let inputs: Vec<String> = self.inputs.iter().map(u32::to_string).collect();
        format!(
            "{}:{}:{}:{}:{}:{}:{}:{}:{}:{}",
            o.run,
            o.level,
            o.first_doc,
            o.end_doc,
            o.bits,
            o.postings,
            self.span,
            self.adds,
            self.sealed,
            inputs.join("/")
        )
    }

    fn parse(entry: &str) -> Option<Self> {
        let f: Vec<&str> = entry.split(':').collect();
        let [
            run,
            level,
            first,
            end,
            bits,
            postings,
            span,
            adds,
            sealed,
            inputs,
        ] = f[..]
        else {
            return None;
        };
        let inputs = (inputs.split('/').filter(|i| !i.is_empty()))
            .map(|i| i.parse().ok())
            .collect::<Option<Vec<u32>>>()?;
        Some(Self {
            out: RunInfo {
                run: run.parse().ok()?,
                level: level.parse().ok()?,
                first_doc: first.parse().ok()?,
                end_doc: end.parse().ok()?,
                bits: bits.parse().ok().filter(|&b| b <= 24)?,
                postings: postings.parse().ok()?,
            },
            inputs,
            span: span.parse().ok()?,
            adds: adds.parse().ok()?,
            sealed: sealed.parse().ok()?,
        })
    }
}

/// The entries of a [`super::merge::MERGING_KEY`] value; what is neither a state nor a run
/// number is skipped.
pub fn parse(list: &str) -> Vec<Entry> {
    (list.split(',').filter(|e| !e.is_empty()))
        .filter_map(|e| match JobState::parse(e) {
            Some(state) => Some(Entry::Job(state)),
            None => e.split(':').next()?.parse().ok().map(Entry::Orphan),
        })
        .collect()
}

/// A builder for `out` holding its first `sealed` stored partitions, or `None` when they
/// are not all there and in order. A resumed job's builder holds none of their bytes but the
/// one the next partition starts in ([`Progress::restored`] spills them), so only the last
/// is read whole; of the others, their heads and lengths (at 10 M records an open read ~60 MB
/// of scattered partitions for ~350 such heads: half a second cold).
///
/// # Errors
/// Storage failures.
pub fn restore_filter<B: NearBackend>(
    backend: &mut B,
    out: &RunInfo,
    sealed: usize,
) -> Result<Option<FilterBuilder>, B::Error> {
    let mut filter = FilterBuilder::new(out.postings);
    let Some(last) = sealed.checked_sub(1) else {
        return Ok(Some(filter));
    };
    let mut ok = true;
    let last_part = u32::try_from(last).unwrap_or(u32::MAX);
    backend.part_heads((out.run, last_part), PART_HEAD, &mut |part, len, head| {
        ok &= part as usize == filter.sealed() && filter.restore_head(head, len);
    })?;
    ok &= filter.sealed() == last;
    let whole = if ok {
        backend.part(out.run, last_part)?
    } else {
        None
    };
    ok &= whole.is_some_and(|bytes| filter.restore_part(&bytes));
    Ok(ok.then_some(filter))
}

/// Deletes the buckets of `out` from the one holding `key` on (those a resumed job writes
/// again).
///
/// # Errors
/// Storage failures.
pub fn delete_from<B: NearBackend>(
    backend: &mut B,
    out: &RunInfo,
    key: u64,
) -> Result<(), B::Error> {
    match u32::try_from(key) {
        Ok(key) => backend.delete_buckets(out.run, out.bucket(key), out.bucket(u32::MAX)),
        Err(_) => Ok(()),
    }
}

impl<B: NearBackend> super::DiskStore<B> {
    /// After open: takes up the jobs noted in [`MERGING_KEY`]; the output runs of those that
    /// cannot be are handed to a `DropJob` each at the first add (so that opening writes
    /// nothing but a resumed job's deletions). Sets the run counter.
    pub(super) fn resume_jobs(mut self) -> Result<Self, B::Error> {
        let mut next = self.runs.iter().map(|r| r.run + 1).max().unwrap_or(0);
        let list = self.backend.meta(MERGING_KEY)?.unwrap_or_default();
        for entry in parse(&list) {
            let run = match &entry {
                Entry::Job(s) => s.out.run,
                Entry::Orphan(run) => *run,
            };
            next = next.max(run + 1);
            if self.runs.iter().any(|r| r.run == run) {
                continue;
            }
            let resumed = match entry {
                Entry::Job(s) if s.inputs.is_empty() => self.resume_flush(&s)?,
                Entry::Job(s) => self.resume_merge(&s)?,
                Entry::Orphan(_) => false,
            };
            if !resumed {
                self.orphans.push(run);
            }
        }
        if let Some(list) = self.backend.meta(drop::DROPPING_KEY)? {
            let span = u64::from(self.shape.tail_docs);
            self.drops = drop::parse(&list, span);
            next = (self.drops.iter().map(|d| d.run + 1)).fold(next, u32::max);
        }
        self.next_run = next;
        self.forget_spilled();
        Ok(self)
    }

    /// Splits the frozen records `state` names off the tail rebuilt from `near_tail` and
    /// goes on writing them; `false` (tail untouched) when they are not what was frozen.
    fn resume_flush(&mut self, state: &JobState) -> Result<bool, B::Error> {
        let out = state.out;
        let fits = self.flushing.is_none()
            && out.level == 0
            && out.first_doc == self.tail_start
            && out.first_doc < out.end_doc
            && out.end_doc <= self.next_doc
            && out.bits == run::choose_bits(out.postings);
        // The tail is merged after open: its sorted entries are all of it.
        let count = (self.tail.sorted().iter())
            .filter(|&&p| (p as u32) < out.end_doc)
            .count();
        let filter = if fits && count as u64 == out.postings {
            restore_filter(&mut self.backend, &out, state.sealed)?
        } else {
            None
        };
        let Some(filter) = filter else {
            return Ok(false);
        };
        let sorted = self.tail.take_sorted();
        // Sized exactly (a partition grown by doubling held up to twice the tail's 33 MB).
        let (mut frozen, mut rest) = (Vec::new(), Vec::new());
        frozen.reserve_exact(count);
        rest.reserve_exact(sorted.len() - count);
        for p in sorted {
            if (p as u32) < out.end_doc {
                frozen.push(p);
            } else {
                rest.push(p);
            }
        }
        let job = FlushJob::resume(&mut self.backend, state, filter, frozen)?;
        self.tail = BandTable::from_sorted(rest);
        self.flushing = Some(job);
        self.tail_start = out.end_doc;
        let minutes = &self.minutes[out.end_doc as usize..];
        self.tail_minutes = (live::oldest_of(minutes), live::newest_of(minutes));
        Ok(true)
    }

    /// Goes on with the merge `state` names when its inputs are registered runs of one level
    /// that no other job merges.
    fn resume_merge(&mut self, state: &JobState) -> Result<bool, B::Error> {
        let out = state.out;
        let inputs: Vec<RunInfo> = (state.inputs.iter())
            .filter_map(|&n| self.runs.iter().find(|r| r.run == n).copied())
            .collect();
        let busy = |r: &RunInfo| self.jobs.iter().any(|j| j.inputs.contains(r));
        let fits = inputs.len() == state.inputs.len()
            && inputs.len() >= 2
            && inputs.iter().all(|r| r.level + 1 == out.level && !busy(r))
            && inputs.iter().map(|r| r.postings).sum::<u64>() == out.postings
            && out.bits == run::choose_bits(out.postings);
        let filter = if fits {
            restore_filter(&mut self.backend, &out, state.sealed)?
        } else {
            None
        };
        let Some(filter) = filter else {
            return Ok(false);
        };
        let job = MergeJob::resume(&mut self.backend, state, filter, inputs)?;
        self.jobs.push(job);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_states_are_noted_for_the_next_open() {
        let state = JobState {
            out: RunInfo {
                run: 9,
                level: 2,
                first_doc: 0,
                end_doc: 1 << 20,
                bits: 17,
                postings: 64 << 20,
            },
            inputs: vec![3, 4, 5, 7],
            span: 1 << 21,
            adds: 12_345,
            sealed: 40,
        };
        let flush = JobState {
            inputs: Vec::new(),
            ..state.clone()
        };
        let list = format!("{},{},12,x:y", state.note(), flush.note());
        assert_eq!(
            parse(&list),
            [Entry::Job(state), Entry::Job(flush), Entry::Orphan(12),]
        );
        assert_eq!(parse(""), []);
        assert_eq!(
            parse("7:1:0:10:99:5:1:1:0:"),
            [Entry::Orphan(7)],
            "bits past 24"
        );
    }
}
