//! The near keys of the records just written to runs, kept in memory a while longer, so that
//! a near lookup (`super::super::keys`: its own time bucket and both neighbours, up to twice
//! the date window back) reads no run at all.
//!
//! # Why
//! A near lookup names 192 keys (64 in each of three buckets) and near keys are not in the run
//! key filters (`super::filter`): every run holding a record of the lookup's span costs 192
//! bucket reads. At an agency rate (20 000 articles a day) the span, up to six days with the
//! default window, holds ~120 000 records, more than the tail: without this part most adds
//! would read two to four runs for their near keys (~400–800 point reads).
//!
//! # How
//! When a frozen tail has been written as a run (`super::flush`), its near postings (64 of its
//! 96 per record, sorted) become a `Segment` here instead of being dropped. Segments, the
//! frozen tail and the tail hold the near postings of every record numbered from the first
//! segment on; every record numbered before it was published before [`LiveNear::covered`]
//! (a minute). A near lookup whose span starts at or after that minute is answered from
//! memory alone: the records it can match are all there, each exactly once. Otherwise the
//! store reads the runs of the span as before (and not the segments: the runs hold them too).
//!
//! The oldest segment is dropped when all its records are older than the lookups reach (the
//! largest distance from the newest record back to the start of a lookup's span, learned from
//! lookups at the front; twice the date window), or when the segments hold more than
//! [`super::Shape::live_docs`] records: memory stays bounded at `live_docs · 64 · 8` bytes
//! (64 MiB by default), and a lookup that is no longer covered is still answered, from runs.
//! Each segment is stored when it is kept (`near_live`, in the transaction that registers its
//! run) and its rows dropped with it, so an open restores the segments ([`LiveNear::restore`])
//! and a cron `run`'s near lookups read no run either.

pub mod stored;

use std::collections::VecDeque;

use crate::dedup::bands::BandTable;
use crate::dedup::keys::{is_far, near_keys_within};

use super::NO_DATE;

/// Lookups reaching further back than this (minutes) do not widen what is kept.
const MAX_REACH_MIN: i64 = 60 * 24 * 60;

/// The near postings of a range of records written to a run.
#[derive(Debug)]
struct Segment {
    /// First record number.
    first_doc: u32,
    /// One past the last.
    end_doc: u32,
    /// Newest publication minute of its dated records (`i64::MIN` when none).
    newest: i64,
    /// Oldest publication minute of its dated records (`i64::MAX` when none).
    oldest: i64,
    /// Packed `key << 32 | doc`, near keys only, with a bucket table.
    near: BandTable,
}

/// Near postings kept past their run write (see the module doc).
#[derive(Debug)]
pub struct LiveNear {
    segs: VecDeque<Segment>,
    /// Every dated record numbered before the first segment was published before this minute.
    covered: i64,
    /// Newest publication minute added.
    newest: i64,
    /// How far back (minutes) lookups at the front reach.
    reach: i64,
    /// Most records the segments hold.
    max_docs: u64,
}

fn minute_of(us: i64) -> i64 {
    us.div_euclid(60_000_000)
}

/// Newest dated minute of `minutes` (`i64::MIN` when none is dated).
pub fn newest_of(minutes: &[i32]) -> i64 {
    (minutes.iter())
        .filter(|&&m| m != NO_DATE)
        .map(|&m| i64::from(m))
        .max()
        .unwrap_or(i64::MIN)
}

/// Oldest dated minute of `minutes` (`i64::MAX` when none is dated).
pub fn oldest_of(minutes: &[i32]) -> i64 {
    (minutes.iter())
        .filter(|&&m| m != NO_DATE)
        .map(|&m| i64::from(m))
        .min()
        .unwrap_or(i64::MAX)
}

impl LiveNear {
    /// Nothing kept: lookups are covered only from `covered` (minute) on, with the newest
    /// record at minute `newest`; at most `max_docs` records are kept.
    pub fn new(covered: i64, newest: i64, max_docs: u32) -> Self {
        Self {
            segs: VecDeque::new(),
            covered,
            newest,
            reach: 0,
            max_docs: u64::from(max_docs),
        }
    }

    /// The minute from which every record is in memory (see the module doc).
    pub fn covered(&self) -> i64 {
        self.covered
    }

    /// Records held.
    pub fn docs(&self) -> u64 {
        self.segs
            .iter()
            .map(|s| u64::from(s.end_doc - s.first_doc))
            .sum()
    }

    /// Bytes of the kept postings and their bucket tables.
    pub fn bytes(&self) -> usize {
        self.segs.iter().map(|s| s.near.bytes()).sum()
    }

    /// Whether a near lookup of `span` (µs, inclusive) is answered from memory; notes how far
    /// back a lookup at the front reaches.
    pub fn covers(&mut self, span: (i64, i64)) -> bool {
        let (lo, hi) = (minute_of(span.0), minute_of(span.1));
        if hi >= self.newest && self.newest != i64::MIN {
            self.reach = self.reach.max((self.newest - lo).min(MAX_REACH_MIN));
        }
        self.answers(span)
    }

    /// [`Self::covers`] without noting anything (for reading ahead, `super::warm`).
    pub fn answers(&self, (lo, _): (i64, i64)) -> bool {
        minute_of(lo) >= self.covered
    }

    /// Notes a new record's publication minute (`NO_DATE`: undated).
    pub fn added(&mut self, minute: i32) {
        if minute != NO_DATE {
            self.newest = self.newest.max(i64::from(minute));
        }
    }

    /// Keeps the near postings of `sorted` (a written run's, all its keys), the records
    /// `first_doc..end_doc` published at `minutes`, then drops what is no longer needed.
    pub fn push(&mut self, first_doc: u32, end_doc: u32, mut sorted: Vec<u64>, minutes: &[i32]) {
        sorted.retain(|p| !is_far((p >> 32) as u32));
        sorted.shrink_to_fit();
        self.restore(first_doc, end_doc, sorted, minutes);
        self.evict();
    }

    /// Keeps a segment (`sorted`: its near postings, sorted) without dropping any: what an
    /// open does with the stored segments, since how far lookups reach is learned again from
    /// the lookups after it.
    pub fn restore(&mut self, first_doc: u32, end_doc: u32, sorted: Vec<u64>, minutes: &[i32]) {
        self.segs.push_back(Segment {
            first_doc,
            end_doc,
            newest: newest_of(minutes),
            oldest: oldest_of(minutes),
            near: BandTable::from_sorted(sorted),
        });
    }

    /// The first record of the oldest segment kept.
    pub fn first_doc(&self) -> Option<u32> {
        self.segs.front().map(|s| s.first_doc)
    }

    /// The records and sorted near postings of the newest segment.
    pub fn newest_segment(&self) -> Option<(u32, u32, &[u64])> {
        (self.segs.back()).map(|s| (s.first_doc, s.end_doc, s.near.sorted()))
    }

    /// Drops the oldest segments that no front lookup reaches, or that exceed the bound.
    fn evict(&mut self) {
        while let Some(front) = self.segs.front() {
            let stale = front.newest < self.newest.saturating_sub(self.reach);
            if !stale && self.docs() <= self.max_docs {
                break;
            }
            self.covered = self.covered.max(front.newest.saturating_add(1));
            self.segs.pop_front();
        }
    }

    /// Calls `f` with every kept record filed under each of the near keys `keys` of a lookup
    /// of `span` (µs, inclusive); each segment is probed only with the keys of the time
    /// buckets its records fall in ([`near_keys_within`]).
    pub fn for_each_of(&self, keys: &[u32], span: (i64, i64), mut f: impl FnMut(u32)) {
        for s in &self.segs {
            let keys = near_keys_within(keys, span, (s.oldest, s.newest));
            if !keys.is_empty() {
                s.near.for_each_of(keys, &mut f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::disk::run::pack;

    #[test]
    fn covers_from_the_oldest_kept_record_and_drops_what_no_lookup_reaches() {
        const DAY: i64 = 1440;
        // Records 0..10 published before minute 100 are in runs only.
        let mut live = LiveNear::new(100, 99, 1000);
        let us = |m: i64| m * 60_000_000;
        // A lookup at the front reaching 2 days back: not covered (it starts before 100).
        assert!(!live.covers((us(99 - 2 * DAY), us(99 + DAY))));
        let near = |d: u32| pack(d << 4, d);
        let far = |d: u32| pack(d << 4 | 1, d);
        for (seg, day) in [(0u32, 1), (1, 2), (2, 3)] {
            let docs = 10 + seg * 10..20 + seg * 10;
            let minutes: Vec<i32> = docs.clone().map(|_| (day * DAY) as i32).collect();
            let mut sorted: Vec<u64> = docs.clone().flat_map(|d| [near(d), far(d)]).collect();
            sorted.sort_unstable();
            minutes.iter().for_each(|&m| live.added(m));
            live.push(docs.start, docs.end, sorted, &minutes);
        }
        // Reach 2 days: the day-1 segment is still needed at day 3.
        assert_eq!(live.docs(), 30);
        let mut got = Vec::new();
        let keys = [(near(15) >> 32) as u32, (far(15) >> 32) as u32];
        live.for_each_of(&keys, (i64::MIN / 4, i64::MAX / 4), |d| got.push(d));
        assert_eq!(got, [15], "near postings kept, far ones not");
        assert!(live.covers((us(2 * DAY), us(4 * DAY))));
        // Day 5: nothing reaches day 1 or day 2 any more.
        live.added((5 * DAY) as i32);
        live.push(40, 40, Vec::new(), &[]);
        assert_eq!(live.docs(), 10);
        assert_eq!(live.covered(), 2 * DAY + 1);
        assert!(!live.covers((us(2 * DAY), us(6 * DAY))));
        // The bound drops the oldest even when a lookup still reaches it.
        let mut small = LiveNear::new(0, 0, 15);
        small.push(0, 10, vec![near(1)], &[10; 10]);
        small.push(10, 20, vec![near(11)], &[20; 10]);
        assert_eq!((small.docs(), small.covered()), (10, 11));
    }
}
