//! A filter being built, kept across opens: its sealed partitions in stored form, so that a
//! flush or merge interrupted by the end of a process goes on from its last sealed partition
//! instead of starting again (`super::super::resume`).
//!
//! A partition is sealed once every key of its range is in ([`FilterBuilder::seal_before`]);
//! its stored form ([`FilterBuilder::sealed_part`]) is its header, the seed state after it,
//! and the bytes of the shared array its slots touch. Restored in order
//! ([`FilterBuilder::restore_part`]), the partitions give the builder the state it had when
//! the last of them was sealed, with no key gathered.

use super::FilterBuilder;
use super::fuse::Fuse;

/// Bytes before a stored partition's array bytes: seed, segment length, segment count
/// length, bit base, seed state.
pub const HEAD: usize = 32;

/// The head of a stored partition ([`FilterBuilder::sealed_part`]) whose whole stored form
/// is `len` bytes: its header and the seed state after it; `None` when cut in its head or when
/// `len` is not its head and the array bytes its header's slots span.
fn parse_head(stored: &[u8], len: usize) -> Option<(Fuse, u64)> {
    let u32_at = |i: usize| Some(u32::from_le_bytes(stored.get(i..i + 4)?.try_into().ok()?));
    let u64_at = |i: usize| Some(u64::from_le_bytes(stored.get(i..i + 8)?.try_into().ok()?));
    let part = Fuse {
        seed: u64_at(0)?,
        seg_len: u32_at(8)?,
        seg_count_len: u32_at(12)?,
        bit_base: u64_at(16)?,
    };
    let spanned = part.end_bit().div_ceil(8).saturating_sub(part.bit_base / 8);
    let data = len.checked_sub(HEAD)?;
    (data as u64 == spanned).then_some((part, u64_at(24)?))
}

/// A stored partition ([`FilterBuilder::sealed_part`]) read: its header, the seed state after
/// it, and its array bytes; `None` when cut ([`parse_head`]).
fn stored_head(stored: &[u8]) -> Option<(Fuse, u64, &[u8])> {
    let (part, seeds) = parse_head(stored, stored.len())?;
    Some((part, seeds, stored.get(HEAD..)?))
}

/// A stored partition ([`FilterBuilder::sealed_part`]) and its array bytes; `None` when cut
/// ([`stored_head`]).
pub(super) fn stored_part(stored: &[u8]) -> Option<(Fuse, &[u8])> {
    stored_head(stored).map(|(part, _, data)| (part, data))
}

impl FilterBuilder {
    /// Seals every partition whose key range ends at or before `end` (a key bound: `2^32`
    /// seals them all): called when every key below `end` is in.
    pub fn seal_before(&mut self, end: u64) {
        let parts = 1usize << self.filter.part_bits;
        while self.current < parts && self.part_start(self.current + 1) <= end {
            self.seal();
        }
    }

    /// Partitions sealed so far.
    pub fn sealed(&self) -> usize {
        self.current
    }

    /// First key of partition `part` (`2^32` past the last one).
    pub fn part_start(&self, part: usize) -> u64 {
        (part as u64) << (32 - self.filter.part_bits)
    }

    /// The stored form of sealed partition `part`.
    pub fn sealed_part(&self, part: usize) -> Vec<u8> {
        let p = &self.filter.parts[part];
        let start = (p.bit_base / 8) as usize;
        let end = p.end_bit().div_ceil(8) as usize;
        let end = end.max(start);
        let mut out = Vec::with_capacity(HEAD + end - start);
        out.extend_from_slice(&p.seed.to_le_bytes());
        out.extend_from_slice(&p.seg_len.to_le_bytes());
        out.extend_from_slice(&p.seg_count_len.to_le_bytes());
        out.extend_from_slice(&p.bit_base.to_le_bytes());
        // The seed state right after this partition: the next seal draws from it.
        let seeds = if part + 1 == self.current {
            self.seeds
        } else {
            0
        };
        out.extend_from_slice(&seeds.to_le_bytes());
        // Sealed, not stored: not spilled (`FilterBuilder::spill`).
        out.extend_from_slice(&self.filter.bytes[start - self.spilled..end - self.spilled]);
        out
    }

    /// Adds the next partition from its stored form; `false` (and nothing changed) when the
    /// bytes do not continue this builder (another run's, cut, out of order) or a key was
    /// already gathered.
    pub fn restore_part(&mut self, stored: &[u8]) -> bool {
        let Some((part, seeds, data)) = stored_head(stored).filter(|(p, ..)| self.continues(p))
        else {
            return false;
        };
        let (bytes, start) = (&mut self.filter.bytes, (part.bit_base / 8) as usize);
        let start = start - self.spilled;
        if bytes.len() < start + data.len() + 1 {
            bytes.resize(start + data.len() + 1, 0);
        }
        for (b, d) in bytes[start..].iter_mut().zip(data) {
            *b |= d;
        }
        self.push_restored(part, seeds);
        true
    }

    /// Adds the next partition from the head (its first [`HEAD`] bytes, or more) of its
    /// stored form of `len` bytes, as [`FilterBuilder::restore_part`] would and then spilled
    /// ([`FilterBuilder::spill`]): its array bytes are not needed, except those of the byte
    /// the next partition starts in, which that one's stored form holds too. So the last
    /// partition restored must be restored whole. `false` (nothing changed) as
    /// [`FilterBuilder::restore_part`].
    pub fn restore_head(&mut self, head: &[u8], len: usize) -> bool {
        let Some((part, seeds)) = parse_head(head, len).filter(|(p, _)| self.continues(p)) else {
            return false;
        };
        let header = super::header_len(self.filter.part_bits);
        // Every byte before the one this partition ends in is spilled.
        self.filter.bytes.truncate(header);
        self.spilled = (part.end_bit() / 8) as usize - header;
        self.push_restored(part, seeds);
        true
    }

    /// Whether `part` can be the next partition: no key gathered yet, it starts where the
    /// last one ended, past what was spilled, and is one this builder has room for.
    fn continues(&self, part: &Fuse) -> bool {
        let start = (part.bit_base / 8) as usize;
        let header = super::header_len(self.filter.part_bits);
        self.keys.is_empty()
            && part.bit_base == self.bits
            && start >= header + self.spilled
            && self.current < 1 << self.filter.part_bits
            && part.is_valid(part.end_bit() + 8)
    }

    fn push_restored(&mut self, part: Fuse, seeds: u64) {
        self.seeds = seeds;
        self.bits = part.end_bit();
        self.filter.parts.push(part);
        self.current += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{build, key};
    use super::*;
    use crate::dedup::keys::{FAR_BANDS, FILED};

    /// Builds a filter of `keys` (sorted) stopping at partition boundaries: after `stop`
    /// partitions the builder is stored, a new one restored from it, and the rest inserted.
    fn build_interrupted(keys: &[u32], postings: u64, stop: usize) -> (FilterBuilder, usize) {
        let mut b = FilterBuilder::with_capacity(postings);
        let end = b.part_start(stop);
        keys.iter()
            .filter(|&&k| u64::from(k) < end)
            .for_each(|&k| b.insert(k));
        b.seal_before(end);
        let stored: Vec<Vec<u8>> = (0..b.sealed()).map(|p| b.sealed_part(p)).collect();
        let mut resumed = FilterBuilder::with_capacity(postings);
        assert!(stored.iter().all(|s| resumed.restore_part(s)));
        (resumed, stored.len())
    }

    #[test]
    fn a_builder_restored_from_its_sealed_partitions_builds_the_same_filter() {
        let mut keys: Vec<u32> = (0..700_000).map(key).collect();
        keys.sort_unstable();
        let postings = 700_000 * FILED as u64 / FAR_BANDS as u64;
        let whole = build(&mut keys, postings);
        assert!(whole.part_bits >= 2, "{} partition bits", whole.part_bits);
        for stop in [0, 1, 3, 1 << whole.part_bits] {
            let (mut resumed, sealed) = build_interrupted(&keys, postings, stop);
            assert_eq!(sealed, stop);
            let from = resumed.part_start(stop);
            keys.iter()
                .filter(|&&k| u64::from(k) >= from)
                .for_each(|&k| resumed.insert(k));
            assert_eq!(resumed.finish(), whole, "resumed after {stop} partitions");
        }
    }

    /// Inserts the keys (of sorted `keys`) of partition `p` into `b`, seals it and gives its
    /// stored form, as a job stores it right after sealing it.
    fn seal_next(b: &mut FilterBuilder, keys: &[u32], p: usize) -> Vec<u8> {
        let range = b.part_start(p)..b.part_start(p + 1);
        let end = range.end;
        keys.iter()
            .filter(|&&k| range.contains(&u64::from(k)))
            .for_each(|&k| b.insert(k));
        b.seal_before(end);
        b.sealed_part(p)
    }

    #[test]
    fn a_builder_restored_from_partition_heads_and_its_last_partition_goes_on_the_same() {
        let mut keys: Vec<u32> = (0..700_000).map(key).collect();
        keys.sort_unstable();
        let postings = 700_000 * FILED as u64 / FAR_BANDS as u64;
        // Never interrupted, never spilled; each partition stored as it is sealed (the seed
        // state rides with the last one sealed).
        let mut whole = FilterBuilder::with_capacity(postings);
        let parts = 1usize << whole.filter.part_bits;
        assert!(parts >= 4, "{parts} partitions");
        let mut stored = Vec::new();
        for p in 0..parts {
            stored.push(seal_next(&mut whole, &keys, p));
        }
        for stop in [1, 2, 3, parts - 1] {
            // As an open restores a job: heads, the last whole, then spilled; past the first
            // try, the first one whole too (heads after bytes held).
            let mut b = FilterBuilder::new(postings);
            for (i, s) in stored[..stop - 1].iter().enumerate() {
                if i == 0 && stop > 2 {
                    assert!(b.restore_part(s));
                } else {
                    assert!(b.restore_head(&s[..HEAD], s.len()));
                    // Nothing held past the header: the bytes restored before are spilled.
                    let header = super::super::header_len(b.filter.part_bits);
                    assert_eq!(b.filter.bytes.len(), header);
                }
            }
            assert!(b.restore_part(&stored[stop - 1]));
            b.spill(stop);
            assert!(b.filter.bytes.len() <= super::super::header_len(b.filter.part_bits) + 2);
            for (p, want) in stored.iter().enumerate().skip(stop) {
                assert!(
                    seal_next(&mut b, &keys, p) == *want,
                    "partition {p} after {stop}"
                );
            }
        }
        let mut b = FilterBuilder::new(postings);
        let s = &stored[0];
        assert!(!b.restore_head(&s[..HEAD], s.len() - 1), "cut");
        assert!(!b.restore_head(&s[..HEAD - 1], s.len()), "cut in its head");
        assert!(
            !b.restore_head(&stored[1][..HEAD], stored[1].len()),
            "out of order"
        );
        assert_eq!(b.sealed(), 0);
    }

    #[test]
    fn partitions_that_do_not_continue_the_builder_are_refused() {
        let mut keys: Vec<u32> = (0..300_000).map(key).collect();
        keys.sort_unstable();
        let mut b = FilterBuilder::with_capacity(300_000 * FILED as u64 / FAR_BANDS as u64);
        keys.iter().for_each(|&k| b.insert(k));
        b.seal_before(1 << 32);
        assert!(b.sealed() >= 2);
        let mut fresh = FilterBuilder::with_capacity(300_000 * FILED as u64 / FAR_BANDS as u64);
        assert!(!fresh.restore_part(&b.sealed_part(1)), "out of order");
        let first = b.sealed_part(0);
        assert!(!fresh.restore_part(&first[..first.len() - 1]), "cut");
        assert!(!fresh.restore_part(&first[..10]), "cut in its header");
        assert!(fresh.restore_part(&first));
        assert!(!fresh.restore_part(&first), "the same one twice");
    }
}
