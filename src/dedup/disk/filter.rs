//! A Bloom filter over the far keys of one run (`crate::dedup::keys`), held in memory so that
//! a lookup reads a run's bucket only for far keys the run may hold. Most far keys of a new
//! article are in no run at all (a key is shared only through two shared minima), so the
//! filters save most of the point reads. Near keys are not filtered (they always "may" be
//! there): they name only records of three time buckets, and the store skips every run that
//! holds no record of that time span, so they are looked up in the few recent runs only.
//! Keys are already uniform hashes: the two probe positions are the key itself and a remix
//! of it, no further hashing.
//!
//! Sized at [`BITS_PER_KEY`] bits per far posting: with two probes the false-positive rate
//! is about (1 − e^(−2/4))² = 15 %. At 10 M records (320 M far postings) the filters of all
//! runs take 160 MB; they are stored with their run (`near_run.filter`) and read on open.

use crate::dedup::keys::{FAR_BANDS, FILED, is_far};

/// Filter bits per far posting.
pub const BITS_PER_KEY: u64 = 4;

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
        let words = (far.max(1) * BITS_PER_KEY).div_ceil(64);
        Self {
            words: vec![0; usize::try_from(words).unwrap_or(usize::MAX)],
        }
    }

    /// The two bit positions of `key`: each 32-bit hash scaled onto the filter's length.
    fn positions(&self, key: u32) -> [usize; 2] {
        let bits = self.words.len() as u64 * 64;
        let scale = |h: u32| ((u64::from(h) * bits) >> 32) as usize;
        [scale(key), scale(remix(key))]
    }

    /// Adds `key` (near keys are not held).
    pub fn insert(&mut self, key: u32) {
        if !is_far(key) {
            return;
        }
        for p in self.positions(key) {
            self.words[p / 64] |= 1 << (p % 64);
        }
    }

    /// `false` when `key` was certainly never inserted.
    pub fn may_contain(&self, key: u32) -> bool {
        !is_far(key)
            || self
                .positions(key)
                .iter()
                .all(|&p| self.words[p / 64] & (1 << (p % 64)) != 0)
    }

    /// Little-endian bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Reads [`KeyFilter::to_bytes`] output; `None` unless it is a whole, non-zero number of
    /// 64-bit words.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(8) {
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
        assert!(
            false_pos < (n * 2 / 10) as usize,
            "{false_pos} false positives"
        );
        assert!(f.may_contain(2), "near keys are never ruled out");
        assert_eq!(KeyFilter::from_bytes(&f.to_bytes()), Some(f));
        assert_eq!(KeyFilter::from_bytes(&[0; 12]), None);
    }
}
