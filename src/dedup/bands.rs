//! The in-memory LSH band table: band key → record numbers, built to hold tens of millions of
//! entries in 8 bytes each.
//!
//! # Layout
//! - `base`: every entry as `key << 32 | doc`, sorted, with a bucket table over the top bits
//!   of the key, so a lookup is one bucket-offset read plus a short scan (2–3 cache misses).
//! - `delta`: entries added since `base` was last built, in a hash map (a second map holds the
//!   rare keys with several records); merged into `base` once it reaches a quarter of it, so
//!   the merges cost O(1) amortised per entry.
//! - Bulk loads ([`BandTable::load`]) append to `base` unsorted and sort once ([`BandTable::merge`]).

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// Entries per bucket the bucket table aims for.
const BUCKET_TARGET: usize = 16;
/// `delta` is merged once it holds at least this many entries and a quarter of `base`.
const MIN_MERGE: usize = 1 << 16;

/// Hashes band keys for `delta`'s maps. The keys are hash values already, so one multiply
/// (the high and low halves of its 128-bit product folded) with a key drawn once per process
/// spreads them; the standard library's SipHash cost a few percent of an add (profile of the
/// dedup bench). The random key keeps any fixed set of texts from colliding in every process.
#[derive(Debug, Clone, Copy)]
pub struct KeyHash(u64);

impl Default for KeyHash {
    fn default() -> Self {
        static KEY: OnceLock<u64> = OnceLock::new();
        Self(*KEY.get_or_init(|| RandomState::new().hash_one(0x6b65_7973_u64)))
    }
}

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher {
            key: self.0,
            state: 0,
        }
    }
}

/// See [`KeyHash`].
#[derive(Debug)]
pub struct KeyHasher {
    key: u64,
    state: u64,
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = self.state.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u32(&mut self, x: u32) {
        self.state = u64::from(x);
    }

    fn finish(&self) -> u64 {
        let full = u128::from(self.state ^ self.key) * 0x9e37_79b9_7f4a_7c15_u128;
        (full as u64) ^ (full >> 64) as u64
    }
}

/// Band key → record numbers.
#[derive(Debug, Default)]
pub struct BandTable {
    base: Vec<u64>,
    /// `bucket_of(key)` → start of that bucket in `base`; one extra entry at the end.
    offsets: Vec<u32>,
    bits: u32,
    /// Whether `base` has entries appended by `load` since the last merge.
    unsorted: bool,
    single: HashMap<u32, u32, KeyHash>,
    multi: HashMap<u32, Vec<u32>, KeyHash>,
    delta_len: usize,
}

impl BandTable {
    /// Adds `doc` under `key`; visible to lookups at once.
    pub fn insert(&mut self, key: u32, doc: u32) {
        match self.single.entry(key) {
            Entry::Occupied(_) => self.multi.entry(key).or_default().push(doc),
            Entry::Vacant(slot) => {
                slot.insert(doc);
            }
        }
        self.delta_len += 1;
        if self.delta_len >= MIN_MERGE.max(self.base.len() / 4) {
            self.merge();
        }
    }

    /// Makes room for `n` more entries from [`BandTable::load`].
    pub fn reserve_load(&mut self, n: usize) {
        self.base.reserve_exact(n);
    }

    /// Adds `doc` under `key` for a bulk load: invisible to lookups until [`BandTable::merge`].
    pub fn load(&mut self, key: u32, doc: u32) {
        self.base.push(u64::from(key) << 32 | u64::from(doc));
        self.unsorted = true;
    }

    /// Calls `f` for every record filed under `key` (entries from [`BandTable::load`] only
    /// after [`BandTable::merge`]).
    pub fn for_each(&self, key: u32, mut f: impl FnMut(u32)) {
        if !self.offsets.is_empty() && !self.unsorted {
            let b = (key >> (32 - self.bits)) as usize;
            self.scan_base(
                key,
                self.offsets[b] as usize,
                self.offsets[b + 1] as usize,
                &mut f,
            );
        }
        self.scan_delta(key, &mut f);
    }

    /// [`BandTable::for_each`] for every key of `keys` (one call per entry, keys in any
    /// order). The bucket bounds of all keys are read first, then the first entry of every
    /// bucket, then the buckets are scanned: the loads of one step do not depend on each
    /// other, so their cache misses overlap instead of following one another (a lookup of
    /// a few hundred keys in a table of tens of MB spent most of its time waiting for them).
    pub fn for_each_of(&self, keys: &[u32], mut f: impl FnMut(u32)) {
        if !self.offsets.is_empty() && !self.unsorted {
            let shift = 32 - self.bits;
            let bounds: Vec<(usize, usize)> = keys
                .iter()
                .map(|&k| {
                    let b = (k >> shift) as usize;
                    (self.offsets[b] as usize, self.offsets[b + 1] as usize)
                })
                .collect();
            let mut touched = 0u64;
            for &(lo, hi) in &bounds {
                if lo < hi {
                    touched ^= self.base[lo];
                }
            }
            std::hint::black_box(touched);
            for (&key, &(lo, hi)) in keys.iter().zip(&bounds) {
                self.scan_base(key, lo, hi, &mut f);
            }
        }
        if self.single.is_empty() {
            return;
        }
        for &key in keys {
            self.scan_delta(key, &mut f);
        }
    }

    /// Calls `f` for the entries of `key` in the bucket `base[lo..hi]` that holds it.
    fn scan_base(&self, key: u32, lo: usize, hi: usize, f: &mut impl FnMut(u32)) {
        let bucket = &self.base[lo..hi];
        let start = bucket.partition_point(|e| ((e >> 32) as u32) < key);
        for e in &bucket[start..] {
            if (e >> 32) as u32 != key {
                break;
            }
            f(*e as u32);
        }
    }

    /// Calls `f` for the entries of `key` added since `base` was last built (`multi` only
    /// holds keys that are also in `single`).
    fn scan_delta(&self, key: u32, f: &mut impl FnMut(u32)) {
        if let Some(&doc) = self.single.get(&key) {
            f(doc);
        }
        if let Some(docs) = self.multi.get(&key) {
            docs.iter().copied().for_each(f);
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.base.len() + self.delta_len
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A table of `sorted` (entries `key << 32 | doc`, ascending), read-only in practice: a
    /// frozen tail or kept near postings, searched through the bucket table instead of a
    /// binary search over tens of MB (one cache miss per step).
    pub fn from_sorted(sorted: Vec<u64>) -> Self {
        let mut t = Self {
            base: sorted,
            ..Self::default()
        };
        t.merge();
        t
    }

    /// Every entry as `key << 32 | doc`, ascending, when nothing was inserted since the last
    /// merge (a table made by [`BandTable::from_sorted`]).
    pub fn sorted(&self) -> &[u64] {
        &self.base
    }

    /// Bytes held by the sorted entries, the bucket table and (about: 8 bytes and a control
    /// byte a slot) the entries added since the last merge.
    pub fn bytes(&self) -> usize {
        let multi: usize = self.multi.values().map(|v| v.capacity() * 4 + 24).sum();
        self.base.capacity() * 8
            + self.offsets.capacity() * 4
            + (self.single.capacity() + self.multi.capacity()) * 9
            + multi
    }

    /// Every entry as `key << 32 | doc`, ascending, leaving the table empty.
    pub fn take_sorted(&mut self) -> Vec<u64> {
        self.merge();
        let base = std::mem::take(&mut self.base);
        *self = Self::default();
        base
    }

    /// Moves everything into the sorted `base` and rebuilds the bucket table.
    pub fn merge(&mut self) {
        let (single, multi) = (
            std::mem::take(&mut self.single),
            std::mem::take(&mut self.multi),
        );
        self.delta_len = 0;
        let pack = |key: u32, doc: u32| u64::from(key) << 32 | u64::from(doc);
        let mut delta =
            Vec::with_capacity(single.len() + multi.values().map(Vec::len).sum::<usize>());
        delta.extend(single.into_iter().map(|(k, d)| pack(k, d)));
        for (key, docs) in multi {
            delta.extend(docs.into_iter().map(|d| pack(key, d)));
        }
        if self.unsorted {
            self.base.extend(delta);
            self.base.sort_unstable();
            self.unsorted = false;
        } else {
            // Only the new entries are sorted, then merged in (sorting `base` whole at every
            // merge cost several µs an add: the tail's merges are many and its base large).
            delta.sort_unstable();
            merge_into(&mut self.base, &delta);
        }
        let buckets = (self.base.len() / BUCKET_TARGET).max(1);
        self.bits = buckets.next_power_of_two().trailing_zeros().clamp(1, 24);
        let n = 1usize << self.bits;
        let bucket_of = |e: u64| ((e >> 32) as u32 >> (32 - self.bits)) as usize;
        let mut offsets = vec![0u32; n + 1];
        let mut i = 0usize;
        for (b, slot) in offsets.iter_mut().enumerate().take(n) {
            *slot = u32::try_from(i).unwrap_or(u32::MAX);
            while i < self.base.len() && bucket_of(self.base[i]) == b {
                i += 1;
            }
        }
        offsets[n] = u32::try_from(self.base.len()).unwrap_or(u32::MAX);
        self.offsets = offsets;
    }
}

/// Merges `sorted` into `base` (both ascending), growing `base` by exactly its length (the
/// tail is the largest table: doubling its capacity would cost tens of MB).
fn merge_into(base: &mut Vec<u64>, sorted: &[u64]) {
    let old = base.len();
    base.reserve_exact(sorted.len());
    base.resize(old + sorted.len(), 0);
    // From the back: every entry moves at most once and nothing is overwritten unread.
    let (mut i, mut j) = (old, sorted.len());
    while j > 0 {
        let k = i + j - 1;
        if i > 0 && base[i - 1] > sorted[j - 1] {
            base[k] = base[i - 1];
            i -= 1;
        } else {
            base[k] = sorted[j - 1];
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(t: &BandTable, key: u32) -> Vec<u32> {
        let mut out = Vec::new();
        t.for_each(key, |d| out.push(d));
        out.sort_unstable();
        out
    }

    #[test]
    fn merging_sorted_entries_in_keeps_the_base_sorted() {
        let mut base: Vec<u64> = (0..1000).map(|i| i * 3).collect();
        let delta: Vec<u64> = [0u64, 1, 2, 500, 2998, 2999, 5000].into();
        let mut expected: Vec<u64> = base.iter().chain(&delta).copied().collect();
        expected.sort_unstable();
        merge_into(&mut base, &delta);
        assert_eq!(base, expected);
        let mut empty = Vec::new();
        merge_into(&mut empty, &delta);
        assert_eq!(empty, delta);
        merge_into(&mut empty, &[]);
        assert_eq!(empty, delta);
    }

    #[test]
    fn finds_entries_before_and_after_merge() {
        let mut t = BandTable::default();
        for doc in 0..200_000u32 {
            t.insert(doc.wrapping_mul(2_654_435_761), doc);
        }
        t.insert(7, 1);
        t.insert(7, 2);
        assert_eq!(docs(&t, 7), [1, 2]);
        t.merge();
        assert_eq!(docs(&t, 7), [1, 2]);
        assert_eq!(docs(&t, 12_345u32.wrapping_mul(2_654_435_761)), [12_345]);
        assert_eq!(docs(&t, u32::MAX), Vec::<u32>::new());
        t.insert(u32::MAX, 9);
        t.insert(0, 8);
        assert_eq!((docs(&t, u32::MAX), docs(&t, 0)), (vec![9], vec![0, 8]));
        assert_eq!(t.len(), 200_004);
        t.load(5, 77);
        t.merge();
        assert_eq!(docs(&t, 5), [77]);
        t.insert(5, 78);
        let keys = [5, 7, 12_345u32.wrapping_mul(2_654_435_761), 8, 5];
        let mut many = Vec::new();
        t.for_each_of(&keys, |d| many.push(d));
        many.sort_unstable();
        let mut one_by_one: Vec<u32> = keys.iter().flat_map(|&k| docs(&t, k)).collect();
        one_by_one.sort_unstable();
        assert_eq!(many, one_by_one);
        assert_eq!(many, [1, 2, 77, 77, 78, 78, 12_345]);
    }

    #[test]
    fn a_key_is_found_whole_in_short_and_long_buckets() {
        // Keys 1000..1003 share a bucket with a few others; 1001 alone fills it to ten times
        // the bucket target when `many` is large (a stock phrase's minimum).
        for many in [3u32, 10 * BUCKET_TARGET as u32] {
            let mut t = BandTable::default();
            for doc in 0..(1u32 << 12) {
                t.load(doc.wrapping_mul(2_654_435_761) | 0xffff, doc);
            }
            for (key, n) in [(1000u32, 2u32), (1001, many), (1002, 1), (1003, 4)] {
                for doc in 0..n {
                    t.load(key, 100_000 * key + doc);
                }
            }
            t.merge();
            for (key, n) in [
                (999u32, 0u32),
                (1000, 2),
                (1001, many),
                (1002, 1),
                (1003, 4),
            ] {
                let expected: Vec<u32> = (0..n).map(|doc| 100_000 * key + doc).collect();
                assert_eq!(docs(&t, key), expected, "key {key} of a bucket of {many}");
                let mut batch = Vec::new();
                t.for_each_of(&[key], |d| batch.push(d));
                assert_eq!(batch, expected, "key {key} looked up in a batch");
            }
        }
    }
}
