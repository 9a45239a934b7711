//! Reading ahead for a batch of adds ([`NearStore::warm`]), in two steps. First the run
//! buckets the batch's lookups may read (the keys a run's filter passes, `super::lookup`),
//! and the bucket ranges the merges in progress and the deletions of merged runs will read
//! over the batch's adds, asked of the backend at once, which may read them on other handles
//! side by side ([`NearBackend::warm`]). Then, when those reads waited for the
//! disk (the index was not cached), the lookups are made here from what was read, and the
//! records past their screens are read ahead the same way ([`NearBackend::warm_records`]):
//! on such a disk each is a random read too. On a cached index the second step is skipped (it
//! would only repeat the lookups' work). Nothing is kept here: each lookup of the adds that
//! follow is made anew, finds the same, and reads what it needs from the cache. Records the
//! batch itself adds are not foreseen; they are in memory or just written.
//!
//! [`NearStore::warm`]: crate::dedup::link::NearStore::warm

use std::time::{Duration, Instant};

use crate::dedup::keys::min_matches;
use crate::dedup::link::Lookup;

use super::DiskStore;
use super::backend::NearBackend;

/// A bucket read ahead in this much time or more (wall time over the buckets, reads side by
/// side) came from the disk: the records past the screens are read ahead too.
const FROM_DISK: Duration = Duration::from_micros(50);

impl<B: NearBackend> DiskStore<B> {
    /// The run buckets `(run, bucket)`, sorted and distinct, that `lookups` read whatever
    /// they find. Near lookups the kept postings cover read none.
    pub fn warm_buckets(&mut self, lookups: &[Lookup<'_>]) -> Vec<(u32, u32)> {
        let runs = self.runs.clone();
        let mut want = Vec::new();
        for l in lookups {
            if l.keys.is_empty() || l.span.is_some_and(|s| self.live.covers(s)) {
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
    /// (their lookups made now; the lookup counts are left as they were). Stops at the first
    /// read failure with what it has.
    pub fn warm_records(&mut self, lookups: &mut [Lookup<'_>]) -> Vec<u32> {
        let counts = self.counts;
        let mut docs = Vec::new();
        for l in lookups {
            let Ok(found) = self.postings(l.keys, l.span) else {
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
        let t = Instant::now();
        self.backend.warm(&want, &ranges);
        if want.is_empty() || t.elapsed() < FROM_DISK * want.len() as u32 {
            return;
        }
        let docs = self.warm_records(lookups);
        if !docs.is_empty() {
            self.backend.warm_records(&docs);
        }
    }
}
