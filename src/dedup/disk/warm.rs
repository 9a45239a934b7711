//! Reading ahead for a batch of adds ([`NearStore::warm`]), asked of the backend in two
//! calls ([`NearBackend::warm`], which may read on other handles side by side). First the run
//! buckets the batch's lookups may read (the keys a run's filter passes, `super::lookup`).
//! Then the bucket ranges the merges in progress and the deletions of merged runs will read
//! over the batch's adds, with, when the buckets came from the disk (the index was not
//! cached), the records past the lookups' screens: the lookups are made here from what was
//! read, as on such a disk each record is a random read too. On a cached index the records are not
//! looked for (it would only repeat the lookups' work). Nothing is kept here: each lookup of
//! the adds that follow is made anew, finds the same, and reads what it needs from the
//! cache. Records the batch itself adds are not foreseen; they are in memory or just
//! written.
//!
//! [`NearStore::warm`]: crate::dedup::link::NearStore::warm

use std::time::Duration;

use crate::dedup::keys::min_matches;
use crate::dedup::link::Lookup;

use super::DiskStore;
use super::backend::NearBackend;

/// Buckets that took this long each to read ahead, on average, came from the disk: the
/// records past the screens are read ahead too (a cached bucket takes some microseconds).
const FROM_DISK: Duration = Duration::from_micros(200);

impl<B: NearBackend> DiskStore<B> {
    /// The run buckets `(run, bucket)`, sorted and distinct, that `lookups` read whatever
    /// they find. Near lookups the kept postings cover read none.
    pub fn warm_buckets(&mut self, lookups: &[Lookup<'_>]) -> Vec<(u32, u32)> {
        let runs = self.runs.clone();
        let mut want = Vec::new();
        for l in lookups {
            if l.keys.is_empty() || l.span.is_some_and(|s| self.live.answers(s)) {
                continue;
            }
            let min = min_matches(l.keys);
            for r in &runs {
                // The first `len − min + 1` keys are read whatever they find, the others when
                // those find something: read ahead too, as a lookup would read them one by one.
                if let Some(keys) = self.run_keys(r, l.keys, l.span, min) {
                    want.extend(keys.iter().map(|&k| (r.run, r.bucket(k))));
                }
            }
        }
        want.sort_unstable();
        want.dedup();
        want
    }

    /// The records past the screens of `lookups` as the index stands, sorted and distinct
    /// (their lookups made now; the lookup counts, and how far the kept postings must reach,
    /// are left as they were). Stops at the first
    /// read failure with what it has.
    pub fn warm_records(&mut self, lookups: &mut [Lookup<'_>]) -> Vec<u32> {
        let counts = self.counts;
        let mut docs = Vec::new();
        for l in lookups {
            let in_memory = l.span.is_some_and(|s| self.live.answers(s));
            let Ok(found) = self.postings(l.keys, l.span, in_memory) else {
                break;
            };
            let passed = self.screen(&found, min_matches(l.keys), &mut *l.keep);
            docs.extend(passed.into_iter().map(|(doc, _)| doc));
        }
        self.counts = counts;
        docs.sort_unstable();
        docs.dedup();
        docs
    }

    /// The input buckets `(run, first, last)` the merges in progress and the deletions of
    /// merged runs will read in the next `adds` adds.
    pub fn warm_ranges(&self, adds: usize) -> Vec<(u32, u32, u32)> {
        let adds = adds as u64;
        let mut ranges: Vec<(u32, u32, u32)> = (self.jobs.iter())
            .flat_map(|j| j.ranges_ahead(adds))
            .collect();
        ranges.extend(self.drops.iter().filter_map(|d| d.range_ahead(adds)));
        ranges
    }

    /// Reads ahead what `adds` adds making `lookups` will read (see the module doc).
    pub(super) fn warm_lookups(&mut self, adds: usize, lookups: &mut [Lookup<'_>]) {
        let want = self.warm_buckets(lookups);
        let ranges = self.warm_ranges(adds);
        if want.is_empty() && ranges.is_empty() {
            return;
        }
        // The buckets first, on every reader (the lookups need them first), then the
        // ranges with the records.
        let took = self.backend.warm(&want, &[], &[]);
        let docs = if took.is_some_and(|t| t >= FROM_DISK) {
            self.warm_records(lookups)
        } else {
            Vec::new()
        };
        if !ranges.is_empty() || !docs.is_empty() {
            self.backend.warm(&[], &ranges, &docs);
        }
    }
}
