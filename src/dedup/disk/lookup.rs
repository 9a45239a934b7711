//! Lookups and adds of the on-disk index: the [`NearStore`] side of [`DiskStore`]. A lookup
//! gathers the postings of its keys from the tail, the frozen tail and either the kept near
//! postings (`super::live`, when they cover the lookup's span) or the runs of the span (far
//! keys: every run whose filter may hold the key), counts them per record, screens the counts
//! and reads only the rows that pass.

use crate::dedup::keys::{min_matches, near_keys_within};
use crate::dedup::link::{Hit, Lookup, NearStore, Plan, Relations};
use crate::dedup::rank::IndexedDoc;
use crate::dedup::screen::count_and_screen;

use super::backend::{NearBackend, RunInfo, StoredDoc};
use super::{DiskStore, NO_DATE, RESOLVED_MAX, id_hash, minute, run, saturate};

impl<B: NearBackend> DiskStore<B> {
    /// The publication minutes of run `r`'s records, `(min, max)` over the dated ones
    /// (computed once per run from the in-memory minutes; runs never change).
    fn run_minutes(&mut self, r: &RunInfo) -> (i32, i32) {
        *self.run_spans.entry(r.run).or_insert_with(|| {
            let end = (r.end_doc as usize).min(self.minutes.len());
            let start = (r.first_doc as usize).min(end);
            self.minutes[start..end]
                .iter()
                .filter(|&&m| m != NO_DATE)
                .fold((i32::MAX, i32::MIN), |(lo, hi), &m| (lo.min(m), hi.max(m)))
        })
    }

    /// Records under any of `keys`, one entry per (key, record) posting; runs holding no
    /// record published within `span` (µs, inclusive) are skipped, and none is searched when
    /// the kept near postings answer the lookup (`in_memory`: `LiveNear::covers`).
    pub(super) fn postings(
        &mut self,
        keys: &[u32],
        span: Option<(i64, i64)>,
        in_memory: bool,
    ) -> Result<Vec<u32>, B::Error> {
        // A near lookup gathers about seven postings a key (chance minima of common phrases
        // among them): room for them at once instead of doubling the vector eight times.
        let (mut found, min) = (Vec::with_capacity(keys.len() * 8), min_matches(keys));
        // A near lookup probes each in-memory table with the keys of its records' buckets only.
        let within = |minutes: (i64, i64)| match span {
            Some(s) => near_keys_within(keys, s, minutes),
            None => keys,
        };
        self.tail
            .for_each_of(within(self.tail_minutes), |d| found.push(d));
        if let Some(out) = self.flushing.as_ref().map(|f| f.out) {
            let (lo, hi) = self.run_minutes(&out);
            let (lo, hi) = if lo > hi {
                (i64::MAX, i64::MIN)
            } else {
                (i64::from(lo), i64::from(hi))
            };
            if let Some(f) = &self.flushing {
                f.for_each_of(within((lo, hi)), |d| found.push(d));
            }
        }
        if let Some(s) = span.filter(|_| in_memory) {
            self.counts.near_in_memory += 1;
            self.live.for_each_of(keys, s, |d| found.push(d));
            return Ok(found);
        }
        let runs = self.runs.clone();
        for r in &runs {
            let Some(keys) = self.run_keys(r, keys, span, min) else {
                continue;
            };
            // A record with `min` of these keys has one among any `len − min + 1` of them: when
            // those name no record of this run, the other keys' buckets need not be read.
            let (first, rest) = keys.split_at(keys.len() + 1 - min);
            let before = found.len();
            self.search_run(r, first, &mut found)?;
            if found.len() > before {
                self.search_run(r, rest, &mut found)?;
            }
        }
        Ok(found)
    }

    /// The keys of a lookup (`keys` within `span`, `min` of them needed) that may be in run
    /// `r` as its filter says; `None` when the run holds no record of the span, or fewer keys
    /// than `min` may be in it (a record's postings are all in one run: none of its records
    /// can be a candidate then).
    pub(super) fn run_keys(
        &mut self,
        r: &RunInfo,
        keys: &[u32],
        span: Option<(i64, i64)>,
        min: usize,
    ) -> Option<Vec<u32>> {
        if let Some((lo, hi)) = span {
            let (first, last) = self.run_minutes(r);
            let minute = |us: i64| us.div_euclid(60_000_000);
            if i64::from(first) > minute(hi) || i64::from(last) < minute(lo) {
                return None;
            }
        }
        let keys: Vec<u32> = match self.filters.get(&r.run) {
            Some(f) => f.retain(keys),
            None => keys.to_vec(),
        };
        (keys.len() >= min).then_some(keys)
    }

    /// Pushes the records of run `r` under `keys` onto `found`, reading each bucket once.
    fn search_run(
        &mut self,
        r: &RunInfo,
        keys: &[u32],
        found: &mut Vec<u32>,
    ) -> Result<(), B::Error> {
        let mut buckets: Vec<u32> = keys.iter().map(|&k| r.bucket(k)).collect();
        buckets.sort_unstable();
        buckets.dedup();
        self.counts.bucket_reads += buckets.len() as u64;
        let blobs = self.backend.buckets(r.run, &buckets)?;
        for &key in keys {
            let b = r.bucket(key);
            if let Some((_, blob)) = blobs.iter().find(|(bb, _)| *bb == b) {
                run::search(blob, key, |d| found.push(d));
            }
        }
        Ok(())
    }

    /// The records of `found` (one per posting) with `min` postings or more that `keep`
    /// accepts, in record order, counted into the lookup counts.
    pub(super) fn screen(
        &mut self,
        found: &[u32],
        min: usize,
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Vec<(u32, Hit)> {
        let (sizes, minutes) = (&self.sizes, &self.minutes);
        let hit = |doc: u32, matches: usize| {
            let size = *sizes.get(doc as usize)?;
            let minute = minutes.get(doc as usize).copied().unwrap_or(NO_DATE);
            Some(Hit {
                matches,
                shingles: if size == u16::MAX {
                    u32::MAX
                } else {
                    u32::from(size)
                },
                published_us: (minute != NO_DATE).then(|| i64::from(minute) * 60_000_000),
            })
        };
        count_and_screen(found, min, &mut self.counts, hit, keep)
    }

    /// The id of `doc`'s canonical record, remembered for the plan in progress.
    fn head_id(&mut self, d: &StoredDoc) -> Result<Option<String>, B::Error> {
        if d.cluster == d.doc {
            return Ok(Some(d.info.id().to_owned()));
        }
        let Some(head) = self.backend.record(d.cluster)? else {
            return Ok(None);
        };
        self.resolved.insert(head.info.id().to_owned(), head.doc);
        Ok(Some(head.info.rank.id))
    }

    fn indexed(&mut self, d: StoredDoc) -> Result<Option<IndexedDoc>, B::Error> {
        let Some(cluster) = self.head_id(&d)? else {
            return Ok(None);
        };
        self.resolved.insert(d.info.id().to_owned(), d.doc);
        Ok(Some(IndexedDoc {
            info: d.info,
            cluster,
        }))
    }
}

impl<B: NearBackend> NearStore for DiskStore<B> {
    type Error = B::Error;

    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, B::Error> {
        self.candidates_within(bands, None, keep)
    }

    fn candidates_within(
        &mut self,
        bands: &[u32],
        span: Option<(i64, i64)>,
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, B::Error> {
        // Record numbers never change, so the map is only a cache for the plan in progress.
        if self.resolved.len() > RESOLVED_MAX {
            self.resolved.clear();
        }
        let in_memory = span.is_some_and(|s| self.live.covers(s));
        let found = self.postings(bands, span, in_memory)?;
        let mut kept = Vec::new();
        for (doc, hit) in self.screen(&found, min_matches(bands), keep) {
            // Passed the screen (a few a record): read it for its rank and current cluster.
            if let Some(d) = self.backend.record(doc)?
                && let Some(found) = self.indexed(d)?
            {
                kept.push((found, hit));
            }
        }
        Ok(kept)
    }

    fn warm(&mut self, adds: usize, lookups: &mut [Lookup<'_>]) {
        self.warm_lookups(adds, lookups);
    }

    fn find(&mut self, id: &str) -> Result<Option<IndexedDoc>, B::Error> {
        let Some(&doc) = self.resolved.get(id) else {
            return Ok(None);
        };
        match self.backend.record(doc)? {
            Some(d) => self.indexed(d),
            None => Ok(None),
        }
    }

    fn relations(&mut self, id: &str) -> Result<Relations, B::Error> {
        let Some(&doc) = self.resolved.get(id) else {
            return Ok(Relations::default());
        };
        let (contains, within) = self.backend.relations(doc)?;
        let mut ids = |docs: Vec<u32>| -> Result<Vec<String>, B::Error> {
            let mut out = Vec::with_capacity(docs.len());
            for d in docs {
                if let Some(r) = self.backend.record(d)? {
                    self.resolved.insert(r.info.id().to_owned(), d);
                    out.push(r.info.rank.id);
                }
            }
            out.sort();
            Ok(out)
        };
        Ok(Relations {
            contains: ids(contains)?,
            contained_in: ids(within)?,
        })
    }

    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, B::Error> {
        let Some(&h) = self.resolved.get(head) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let rows = self.backend.record(h)?.into_iter();
        for d in rows.chain(self.backend.members(h)?) {
            self.resolved.insert(d.info.id().to_owned(), d.doc);
            out.push(IndexedDoc {
                info: d.info,
                cluster: head.to_owned(),
            });
        }
        Ok(out)
    }

    fn apply(&mut self, plan: &Plan) -> Result<(), B::Error> {
        let doc = self.next_doc;
        let cluster = self.resolved.get(&plan.cluster).copied().unwrap_or(doc);
        let stored = StoredDoc {
            doc,
            info: plan.insert.clone(),
            cluster,
        };
        self.backend.insert(&stored, &plan.bands)?;
        // The new record may be the merged cluster's canonical record.
        self.resolved.insert(plan.insert.id().to_owned(), doc);
        for (from, to) in &plan.relabel {
            if let (Some(&f), Some(&t)) = (self.resolved.get(from), self.resolved.get(to)) {
                self.backend.move_cluster(f, t)?;
            }
        }
        for (id, to) in &plan.moves {
            if let (Some(&m), Some(&t)) = (self.resolved.get(id), self.resolved.get(to)) {
                self.backend.set_cluster(m, t)?;
            }
        }
        for (d, s) in &plan.relate {
            if let (Some(&d), Some(&s)) = (self.resolved.get(d), self.resolved.get(s)) {
                self.backend.put_relation(d, s)?;
            }
        }
        for &key in &plan.bands {
            self.tail.insert(key, doc);
        }
        super::push_grown(&mut self.sizes, saturate(plan.insert.shingles));
        let published = minute(plan.insert.rank.published_us);
        if published != NO_DATE {
            let (lo, hi) = self.tail_minutes;
            self.tail_minutes = (lo.min(published.into()), hi.max(published.into()));
        }
        super::push_grown(&mut self.minutes, published);
        self.live.added(published);
        self.digest = self.digest.wrapping_add(id_hash(plan.insert.id()));
        self.next_doc += 1;
        self.resolved.clear();
        if self.tail_len() >= self.shape.tail_docs {
            self.flush_tail()?;
        }
        self.advance_merges()
    }
}
