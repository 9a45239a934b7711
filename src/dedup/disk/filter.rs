//! A Bloom filter over the far keys of one run (`crate::dedup::keys`), held in memory so that
//! a lookup reads a run's bucket only for far keys the run may hold. Most far keys of a new
//! article are in no run at all (a key is shared only through two shared minima), so the
//! filters save most of the point reads. Near keys are not filtered (they always "may" be
//! there): they name only records of three time buckets, and the store skips every run that
//! holds no record of that time span, so they are looked up in the few recent runs only.
//!
//! Blocked: a key's [`PROBES`] bits all fall in one 512-bit block (one cache line), chosen by
//! the key itself (keys are already uniform hashes), the bits by a remix of it; so a probe
//! costs one cache miss however large the run. Sized at [`BITS_PER_KEY`] bits per far
//! posting, the false-positive rate is about 11 % (unit test; `(1 − e^(−3/5))³` = 9.6 % for
//! an unblocked filter). At 10 M records (240 M far postings) the filters of all runs take
//! 150 MB; they are stored with their run (`near_run.filter`) and read on open. (Before the
//! `keys3` index: 32 far keys a record, 4 bits each, two probes anywhere in the filter: 15 %
//! false positives, 160 MB at 10 M.)

use crate::dedup::keys::{FAR_BANDS, FILED, is_far};

/// Filter bits per far posting.
pub const BITS_PER_KEY: u64 = 5;
/// Bits set per key, all in one block.
pub const PROBES: u32 = 3;
/// 64-bit words per block (512 bits, a cache line).
const BLOCK_WORDS: usize = 8;

/// Bloom filter over `u32` band keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilter {
    words: Vec<u64>,
}

fn remix(key: u32) -> u32 {
    let mut x = key ^ 0x9e37_79b9;
    x = (x ^ (x >> 16)).wrapping_mul(0x85eb_ca6b);
    x = (x ^ (x >> 13)).wrapping_mul(0xc2b2_ae35);
    x ^ (x >> 16)
}

impl KeyFilter {
    /// An empty filter sized for a run of `postings` keys (near and far).
    pub fn with_capacity(postings: u64) -> Self {
        let far = postings.saturating_mul(FAR_BANDS as u64) / FILED as u64;
        let blocks = (far.max(1) * BITS_PER_KEY).div_ceil(64 * BLOCK_WORDS as u64);
        let words = blocks.saturating_mul(BLOCK_WORDS as u64);
        Self {
            words: vec![0; usize::try_from(words).unwrap_or(usize::MAX)],
        }
    }

    /// The first word of `key`'s block and its [`PROBES`] bit positions inside the block.
    fn positions(&self, key: u32) -> (usize, [u32; PROBES as usize]) {
        let blocks = (self.words.len() / BLOCK_WORDS) as u64;
        let block = ((u64::from(key) * blocks) >> 32) as usize;
        let h = remix(key);
        (
            block * BLOCK_WORDS,
            [h & 511, (h >> 9) & 511, (h >> 18) & 511],
        )
    }

    /// Adds `key` (near keys are not held).
    pub fn insert(&mut self, key: u32) {
        if !is_far(key) {
            return;
        }
        let (base, bits) = self.positions(key);
        for p in bits {
            self.words[base + (p / 64) as usize] |= 1 << (p % 64);
        }
    }

    /// `false` when `key` was certainly never inserted.
    pub fn may_contain(&self, key: u32) -> bool {
        if !is_far(key) {
            return true;
        }
        let (base, bits) = self.positions(key);
        bits.iter()
            .all(|&p| self.words[base + (p / 64) as usize] & (1 << (p % 64)) != 0)
    }

    /// Little-endian bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Reads [`KeyFilter::to_bytes`] output; `None` unless it is a whole, non-zero number of
    /// 512-bit blocks.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(8 * BLOCK_WORDS) {
            return None;
        }
        let words = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        Some(Self { words })
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        // A run of n records' postings: n far keys among them.
        let n = 100_000u32;
        let mut f = KeyFilter::with_capacity(u64::from(n) * FILED as u64 / FAR_BANDS as u64);
        let key = |i: u32| remix(i.wrapping_mul(2_654_435_761)) | 1;
        (0..n).for_each(|i| f.insert(key(i)));
        assert!((0..n).all(|i| f.may_contain(key(i))));
        let false_pos = (n..2 * n).filter(|&i| f.may_contain(key(i))).count();
        println!("far-key filter: {false_pos} false positives of {n}");
        assert!(
            false_pos < (n * 13 / 100) as usize,
            "{false_pos} false positives"
        );
        assert!(f.may_contain(2), "near keys are never ruled out");
        assert_eq!(KeyFilter::from_bytes(&f.to_bytes()), Some(f));
        assert_eq!(KeyFilter::from_bytes(&[0; 12]), None);
    }
}
