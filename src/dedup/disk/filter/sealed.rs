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
const HEAD: usize = 32;

/// A stored partition ([`FilterBuilder::sealed_part`]) read: its header, the seed state after
/// it, and its array bytes; `None` when cut in its head or when its array bytes are not those
/// its header's slots span.
fn stored_head(stored: &[u8]) -> Option<(Fuse, u64, &[u8])> {
    let u32_at = |i: usize| Some(u32::from_le_bytes(stored.get(i..i + 4)?.try_into().ok()?));
    let u64_at = |i: usize| Some(u64::from_le_bytes(stored.get(i..i + 8)?.try_into().ok()?));
    let part = Fuse {
        seed: u64_at(0)?,
        seg_len: u32_at(8)?,
        seg_count_len: u32_at(12)?,
        bit_base: u64_at(16)?,
    };
    let data = stored.get(HEAD..)?;
    let spanned = part.end_bit().div_ceil(8).saturating_sub(part.bit_base / 8);
    (data.len() as u64 == spanned).then_some((part, u64_at(24)?, data))
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
        let Some((part, seeds, data)) = stored_head(stored).filter(|_| self.keys.is_empty()) else {
            return false;
        };
        let end_bit = part.end_bit();
        let start = (part.bit_base / 8) as usize;
        let header = super::header_len(self.filter.part_bits);
        let fits = part.bit_base == self.bits
            && start >= header + self.spilled
            && self.current < 1 << self.filter.part_bits
            && part.is_valid(end_bit + 8);
        if !fits {
            return false;
        }
        let (bytes, start) = (&mut self.filter.bytes, start - self.spilled);
        if bytes.len() < start + data.len() + 1 {
            bytes.resize(start + data.len() + 1, 0);
        }
        for (b, d) in bytes[start..].iter_mut().zip(data) {
            *b |= d;
        }
        self.seeds = seeds;
        self.bits = end_bit;
        self.filter.parts.push(part);
        self.current += 1;
        true
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
