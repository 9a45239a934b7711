//! One binary fuse filter (Graf and Lemire, "Binary Fuse Filters: Fast and Smaller Than Xor
//! Filters", 2022): 3-wise, [`FINGERPRINT_BITS`]-bit fingerprints packed in a bit array shared
//! by all partitions of a run's filter (`super::KeyFilter`). A key is in the filter when the
//! xor of its three slots equals its fingerprint, so a key never added passes with probability
//! `2^-FINGERPRINT_BITS`; the array holds about 1.13–1.19 slots per key (the slots of three
//! consecutive segments, the paper's layout and sizing). Built by peeling: every key is
//! hashed to its three slots, a slot with one key is removed with its key, repeatedly; the
//! keys are then assigned in reverse. A seed whose hashes do not peel is replaced (rare: the
//! paper's sizing peels at the first try almost always); after [`MAX_ATTEMPTS`] the partition
//! passes every key, which costs reads, never a record.

/// Bits per fingerprint: a key never added passes 1 time in 128.
pub const FINGERPRINT_BITS: u32 = 7;
const MASK: u16 = (1 << FINGERPRINT_BITS) - 1;
/// Seeds tried before a partition gives up and passes every key.
const MAX_ATTEMPTS: u32 = 32;
/// Largest segment (slots), as in the paper.
const MAX_SEGMENT: u32 = 1 << 18;
/// `seg_len` of a partition that passes every key.
const PASS_ALL: u32 = u32::MAX;

/// One partition's filter: where its slots start in the shared bit array and how keys map to
/// them. `seg_len` 0: holds no key; [`PASS_ALL`]: passes every key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fuse {
    pub seed: u64,
    pub seg_len: u32,
    pub seg_count_len: u32,
    /// First bit of slot 0 in the shared array.
    pub bit_base: u64,
}

fn murmur64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn hash(key: u32, seed: u64) -> u64 {
    murmur64(u64::from(key).wrapping_add(seed))
}

fn fingerprint(h: u64) -> u16 {
    ((h ^ (h >> 32)) as u16) & MASK
}

/// Reads the fingerprint at bit `bit` (the array has a padding byte at its end).
fn read(data: &[u8], bit: u64) -> u16 {
    let i = (bit / 8) as usize;
    (u16::from_le_bytes([data[i], data[i + 1]]) >> (bit % 8)) & MASK
}

/// One key's test against one partition, computed but not yet read ([`Fuse::probe`]): where
/// its three fingerprints lie and what they must xor to. Split from the read so that a caller
/// can compute many probes and then read them all, their cache misses overlapping.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// Passes whatever the bits hold (a partition that gave up).
    pass: bool,
    /// The fingerprint; one with bits outside [`MASK`] matches nothing (an empty partition).
    fingerprint: u16,
    bits: [u64; 3],
}

impl Probe {
    /// Passes every key.
    pub const ALL: Self = Self {
        pass: true,
        fingerprint: 0,
        bits: [0; 3],
    };
    /// Passes no key.
    const NONE: Self = Self {
        pass: false,
        fingerprint: u16::MAX,
        bits: [0; 3],
    };

    /// Whether the key may be in the partition, `data` being the array it was probed in
    /// (at least two bytes long).
    pub fn passes(&self, data: &[u8]) -> bool {
        let [a, b, c] = self.bits.map(|bit| read(data, bit));
        self.pass || self.fingerprint == a ^ b ^ c
    }
}

/// Writes the fingerprint at bit `bit` ([`read`]'s counterpart).
fn put(data: &mut [u8], bit: u64, value: u16) {
    let i = (bit / 8) as usize;
    let w = u16::from_le_bytes([data[i], data[i + 1]]);
    let w = (w & !(MASK << (bit % 8))) | (value << (bit % 8));
    data[i..i + 2].copy_from_slice(&w.to_le_bytes());
}

/// `(seg_len, seg_count_len)` for `n` keys: the paper's segment length and size factor.
fn layout(n: usize) -> (u32, u32) {
    let nf = n.max(2) as f64;
    let exp = (nf.ln() / 3.33f64.ln() + 2.25).floor().max(2.0) as u32;
    let seg_len = (1u32 << exp).min(MAX_SEGMENT);
    let factor = (0.875 + 0.25 * 1e6f64.ln() / nf.ln()).max(1.125);
    let capacity = if n <= 1 {
        0
    } else {
        (nf * factor).round() as u32
    };
    let segments = capacity.div_ceil(seg_len);
    let segment_count = if segments <= 2 { 1 } else { segments - 2 };
    (seg_len, segment_count * seg_len)
}

impl Fuse {
    /// Slots in the array.
    pub fn slots_len(&self) -> u64 {
        match self.seg_len {
            0 | PASS_ALL => 0,
            s => u64::from(self.seg_count_len) + 2 * u64::from(s),
        }
    }

    /// One past the last bit of the array (its first bit when it has no slot).
    pub fn end_bit(&self) -> u64 {
        self.bit_base + self.slots_len() * u64::from(FINGERPRINT_BITS)
    }

    /// First bit of slot `slot` in the shared array.
    fn bit_of(&self, slot: u32) -> u64 {
        self.bit_base + u64::from(slot) * u64::from(FINGERPRINT_BITS)
    }

    /// Whether the fields describe a filter that fits in `data_bits` bits.
    pub fn is_valid(&self, data_bits: u64) -> bool {
        match self.seg_len {
            0 | PASS_ALL => true,
            s => {
                s.is_power_of_two()
                    && self.seg_count_len.is_multiple_of(s)
                    && self.seg_count_len > 0
                    && self.end_bit() <= data_bits
            }
        }
    }

    fn slots(&self, h: u64) -> [u32; 3] {
        let h0 = ((u128::from(h) * u128::from(self.seg_count_len)) >> 64) as u32;
        let mask = self.seg_len - 1;
        let h1 = (h0 + self.seg_len) ^ ((h >> 18) as u32 & mask);
        let h2 = (h0 + 2 * self.seg_len) ^ (h as u32 & mask);
        [h0, h1, h2]
    }

    /// `false` when `key` was certainly not among the keys built in.
    #[cfg(test)]
    pub fn contains(&self, data: &[u8], key: u32) -> bool {
        self.probe(key).passes(data)
    }

    /// [`Fuse::contains`] up to the reads: [`Probe::passes`] ends it.
    pub fn probe(&self, key: u32) -> Probe {
        match self.seg_len {
            0 => Probe::NONE,
            PASS_ALL => Probe::ALL,
            _ => {
                let h = hash(key, self.seed);
                Probe {
                    pass: false,
                    fingerprint: fingerprint(h),
                    bits: self.slots(h).map(|s| self.bit_of(s)),
                }
            }
        }
    }

    /// Builds the filter of `keys` (distinct) at bit `bit_base` of `data` (grown as needed,
    /// one padding byte kept at its end); `seeds` is the state seeds are drawn from.
    pub fn build(keys: &[u32], seeds: &mut u64, data: &mut Vec<u8>, bit_base: u64) -> Self {
        if keys.is_empty() {
            return Self::empty(bit_base, 0);
        }
        let (seg_len, seg_count_len) = layout(keys.len());
        let mut fuse = Self {
            seed: 0,
            seg_len,
            seg_count_len,
            bit_base,
        };
        let Some(order) = (0..MAX_ATTEMPTS).find_map(|_| {
            fuse.seed = splitmix(seeds);
            fuse.peel(keys)
        }) else {
            return Self::empty(bit_base, PASS_ALL);
        };
        let len = fuse.slots_len() as usize;
        let needed = (fuse.end_bit().div_ceil(8) + 1) as usize;
        if data.len() < needed {
            data.resize(needed, 0);
        }
        let mut fps = vec![0u16; len];
        for &(h, found) in order.iter().rev() {
            let s = fuse.slots(h);
            let f = found as usize;
            fps[s[f] as usize] =
                fingerprint(h) ^ fps[s[(f + 1) % 3] as usize] ^ fps[s[(f + 2) % 3] as usize];
        }
        for (slot, &v) in fps.iter().enumerate() {
            put(data, fuse.bit_of(slot as u32), v);
        }
        fuse
    }

    /// A partition that passes every key.
    pub fn pass_all() -> Self {
        Self::empty(0, PASS_ALL)
    }

    fn empty(bit_base: u64, seg_len: u32) -> Self {
        Self {
            seed: 0,
            seg_len,
            seg_count_len: 0,
            bit_base,
        }
    }

    /// The peeling order (hash, which of its slots it is assigned), or `None` when the
    /// hashes of this seed do not peel.
    fn peel(&self, keys: &[u32]) -> Option<Vec<(u64, u8)>> {
        let len = self.slots_len() as usize;
        // Per slot: keys × 4, plus the xor of which slot (0, 1, 2) it is for each key.
        let (mut count, mut xor) = (vec![0u32; len], vec![0u64; len]);
        for &k in keys {
            let h = hash(k, self.seed);
            for (i, s) in self.slots(h).into_iter().enumerate() {
                count[s as usize] = (count[s as usize] + 4) ^ i as u32;
                xor[s as usize] ^= h;
            }
        }
        let mut alone: Vec<u32> = (0..len as u32)
            .filter(|&s| count[s as usize] >> 2 == 1)
            .collect();
        let mut order = Vec::with_capacity(keys.len());
        while let Some(s) = alone.pop() {
            let s = s as usize;
            if count[s] >> 2 != 1 {
                continue;
            }
            let (h, found) = (xor[s], (count[s] & 3) as usize);
            order.push((h, found as u8));
            let slots = self.slots(h);
            for step in 0..3 {
                let i = (found + step) % 3;
                let t = slots[i] as usize;
                count[t] = (count[t] - 4) ^ i as u32;
                xor[t] ^= h;
                if step > 0 && count[t] >> 2 == 1 {
                    alone.push(t as u32);
                }
            }
        }
        (order.len() == keys.len()).then_some(order)
    }
}

/// The next seed of a splitmix64 sequence.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u32, salt: u32) -> Vec<u32> {
        let mut k: Vec<u32> = (0..n)
            .map(|i| murmur64(u64::from(i) << 32 | u64::from(salt)) as u32)
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    }

    #[test]
    fn every_key_passes_and_about_one_in_two_to_the_bits_others() {
        let expected = 1.0 / f64::from(1u32 << FINGERPRINT_BITS);
        for n in [1u32, 2, 3, 10, 100, 1_000, 50_000, 300_000] {
            let ks = keys(n, 1);
            let (mut data, mut seeds) = (vec![0u8; 3], 7);
            // Two partitions in one array: the second must not disturb the first.
            let first = Fuse::build(&ks, &mut seeds, &mut data, 13);
            let end = 13 + first.slots_len() * u64::from(FINGERPRINT_BITS);
            let other = keys(n, 2);
            let second = Fuse::build(&other, &mut seeds, &mut data, end);
            assert_ne!(first.seg_len, PASS_ALL, "{n} keys did not peel");
            assert!(first.is_valid(data.len() as u64 * 8 - 8));
            assert!(ks.iter().all(|&k| first.contains(&data, k)), "{n} keys");
            assert!(other.iter().all(|&k| second.contains(&data, k)), "{n} keys");
            let probes = keys(100_000, 3);
            let passed = probes.iter().filter(|&&k| first.contains(&data, k)).count();
            let rate = passed as f64 / probes.len() as f64;
            assert!(rate < expected * 1.3, "{n} keys: {rate} false positives");
            if n >= 1_000 {
                assert!(rate > expected * 0.7, "{n} keys: {rate} false positives");
            }
            if n >= 50_000 {
                let bits = first.slots_len() as f64 * f64::from(FINGERPRINT_BITS) / f64::from(n);
                let most = f64::from(FINGERPRINT_BITS) * 1.25;
                assert!(bits < most, "{n} keys: {bits} bits a key");
            }
        }
    }

    #[test]
    fn no_keys_hold_nothing_and_the_fallback_passes_everything() {
        let mut data = vec![0u8; 2];
        let empty = Fuse::build(&[], &mut 1, &mut data, 0);
        assert!(!empty.contains(&data, 5));
        let all = Fuse::pass_all();
        assert!(all.contains(&data, 5) && all.is_valid(0));
        assert!(!Fuse { seg_len: 3, ..all }.is_valid(1 << 20));
    }
}
