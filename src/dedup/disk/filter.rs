//! A filter over the far keys of one run (`crate::dedup::keys`), held in memory so that a
//! lookup reads a run's bucket only for far keys the run may hold. Most far keys of a new
//! article are in no run at all (a key is shared only through two shared minima), so the
//! filters save most of the point reads. Near keys are not filtered (they always "may" be
//! there): they name only records of three time buckets, and the store skips every run that
//! holds no record of that time span, so they are looked up in the few recent runs only.
//!
//! A run's keys are written in ascending order, so the filter is built as they come
//! ([`FilterBuilder`]): the key space is cut into `2^part_bits` equal ranges of about
//! `PART_TARGET` distinct far keys, and each range, once passed, becomes a binary fuse
//! filter (`fuse`) of [`FINGERPRINT_BITS`]-bit fingerprints: 1 false positive in 128, about
//! 8.0–8.3 bits per distinct far key, three cache lines a probe. A candidate needs two equal
//! far keys in one run, so a run is read when two of a lookup's 24 keys pass: with 1 in 128
//! that is 1.6 % of the runs (17 % at 1 in 32, the 5-bit fingerprints before 2026-12-01; 76 %
//! with the Bloom filters of 5 bits per key and ~11 % false positives before those, index
//! `keys3`). Measured at 1.3–1.4 M records: an ordinary article's far lookups read 0.33
//! buckets instead of 2.20, for 40 % more filter memory. Building holds one range's keys and its
//! peeling scratch (a few MB), and with [`FilterBuilder::spill`] a partition or two of
//! fingerprints (the rest is stored).
//! Stored as its partitions (`near_part`), the run's row (`near_run.filter`) holding the header
//! (`spill`; filters registered before 2026-12-03 are whole in the row), and read on open;
//! bytes of another format, or partitions missing, are refused ([`KeyFilter::from_bytes`],
//! `spill::from_parts`) and the store rebuilds the filter from the run's buckets.

mod fuse;
mod sealed;
mod spill;

pub use spill::{Registered, load, load_registered, store_rebuilt};

pub use fuse::FINGERPRINT_BITS;
use fuse::{Fuse, Probe};
pub use sealed::HEAD as PART_HEAD;

use crate::dedup::keys::{FAR_BANDS, FILED, is_far};

use super::backend::{NearBackend, RunInfo};

/// Distinct far keys a partition aims at (larger ones need fewer slots per key; building one
/// holds about 40 bytes a key).
const PART_TARGET: u64 = 1 << 18;
/// At most `2^MAX_PART_BITS` partitions.
pub(super) const MAX_PART_BITS: u32 = 16;
/// Start of the stored form: format name and version, fingerprint bits.
const MAGIC: [u8; 8] = *b"nmfuse\x01\x07";
/// Start of a registered run's filter in the partitioned form: the header alone, the
/// fingerprints in the run's stored partitions (`spill`).
const PARTS_MAGIC: [u8; 8] = *b"nmfusp\x01\x07";
/// Bytes of a stored partition: seed, segment length, segment count length, bit base.
const PART_BYTES: usize = 24;

/// Filter over `u32` band keys: one binary fuse filter per key range. Held in its stored
/// form ([`KeyFilter::as_bytes`]), so storing and reading it copies nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilter {
    part_bits: u32,
    parts: Vec<Fuse>,
    /// [`MAGIC`], partition bits, count, data length, partitions, then the fingerprints of
    /// all partitions (bit positions count from the start of this buffer) and a padding byte.
    bytes: Vec<u8>,
}

fn part_of(part_bits: u32, key: u32) -> usize {
    if part_bits == 0 {
        0
    } else {
        (key >> (32 - part_bits)) as usize
    }
}

/// Bytes before the fingerprints of a filter of `2^part_bits` partitions.
fn header_len(part_bits: u32) -> usize {
    24 + (1 << part_bits) * PART_BYTES
}

/// The header of a stored filter: its partitions and the length of its fingerprint data.
#[derive(Debug)]
struct Header {
    part_bits: u32,
    parts: Vec<Fuse>,
    /// Bytes after the header (fingerprints and a padding byte).
    data_len: u64,
}

impl Header {
    /// The header at the start of `bytes` if it starts with `magic` and its partitions fit
    /// in its data length.
    fn parse(bytes: &[u8], magic: [u8; 8]) -> Option<Self> {
        let u32_at = |i: usize| Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
        let u64_at = |i: usize| Some(u64::from_le_bytes(bytes.get(i..i + 8)?.try_into().ok()?));
        if bytes.get(..8)? != magic {
            return None;
        }
        let (part_bits, count, data_len) = (u32_at(8)?, u32_at(12)? as usize, u64_at(16)?);
        if part_bits > MAX_PART_BITS || count != 1 << part_bits || data_len < 1 {
            return None;
        }
        let len = (header_len(part_bits) as u64).checked_add(data_len)?;
        let data_bits = (len - 1).checked_mul(8)?;
        let parts = (0..count)
            .map(|i| {
                let at = 24 + i * PART_BYTES;
                let part = Fuse {
                    seed: u64_at(at)?,
                    seg_len: u32_at(at + 8)?,
                    seg_count_len: u32_at(at + 12)?,
                    bit_base: u64_at(at + 16)?,
                };
                part.is_valid(data_bits).then_some(part)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            part_bits,
            parts,
            data_len,
        })
    }
}

impl KeyFilter {
    /// `false` when `key` was certainly never inserted (near keys always may be).
    pub fn may_contain(&self, key: u32) -> bool {
        self.probe(key).passes(&self.bytes)
    }

    fn probe(&self, key: u32) -> Probe {
        if is_far(key) {
            self.parts[part_of(self.part_bits, key)].probe(key)
        } else {
            Probe::ALL
        }
    }

    /// The keys of `keys` the filter may hold ([`KeyFilter::may_contain`]), in order. The
    /// probes of a batch of keys are all computed before any is read, so that their cache
    /// misses overlap: a key's three reads land at random in filters of hundreds of MB at
    /// 10 M records, and one key at a time kept only a few of them in flight.
    pub fn retain(&self, keys: &[u32]) -> Vec<u32> {
        const BATCH: usize = 32;
        let mut out = Vec::with_capacity(keys.len());
        let mut probes = [Probe::ALL; BATCH];
        for chunk in keys.chunks(BATCH) {
            for (p, &k) in probes.iter_mut().zip(chunk) {
                *p = self.probe(k);
            }
            for (p, &k) in probes.iter().zip(chunk) {
                if p.passes(&self.bytes) {
                    out.push(k);
                }
            }
        }
        out
    }

    /// The stored form (little-endian).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Fills the header of `bytes` from `parts`; `spilled` fingerprint bytes are not held
    /// (`FilterBuilder::spill`).
    fn write_header(&mut self, spilled: usize) {
        let data_len = (self.bytes.len() + spilled - header_len(self.part_bits)) as u64;
        let b = &mut self.bytes;
        b[..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&self.part_bits.to_le_bytes());
        b[12..16].copy_from_slice(&(self.parts.len() as u32).to_le_bytes());
        b[16..24].copy_from_slice(&data_len.to_le_bytes());
        for (i, p) in self.parts.iter().enumerate() {
            let at = 24 + i * PART_BYTES;
            b[at..at + 8].copy_from_slice(&p.seed.to_le_bytes());
            b[at + 8..at + 12].copy_from_slice(&p.seg_len.to_le_bytes());
            b[at + 12..at + 16].copy_from_slice(&p.seg_count_len.to_le_bytes());
            b[at + 16..at + 24].copy_from_slice(&p.bit_base.to_le_bytes());
        }
    }

    /// Takes a stored form ([`KeyFilter::as_bytes`]); `None` for anything else (another
    /// format or version, a cut or inconsistent filter).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        let head = Header::parse(&bytes, MAGIC)?;
        if bytes.len() as u64 != header_len(head.part_bits) as u64 + head.data_len {
            return None;
        }
        Some(Self {
            part_bits: head.part_bits,
            parts: head.parts,
            bytes,
        })
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes.capacity() + self.parts.capacity() * std::mem::size_of::<Fuse>()
    }
}

/// A [`KeyFilter`] being built from keys inserted in ascending order.
#[derive(Debug)]
pub struct FilterBuilder {
    filter: KeyFilter,
    /// Bits of the stored form in use (header and fingerprints so far).
    bits: u64,
    /// Fingerprint bytes after the header no longer held (`FilterBuilder::spill`): byte `i`
    /// of the stored form is `filter.bytes[i - spilled]` for `i ≥ header + spilled`.
    spilled: usize,
    /// The partition whose keys are being gathered.
    current: usize,
    keys: Vec<u32>,
    seeds: u64,
    /// A key came after a larger one: the result passes every key.
    disordered: bool,
}

impl FilterBuilder {
    /// An empty filter for a run of `postings` keys (near and far), its fingerprint bytes
    /// grown as partitions are sealed (a builder that spills them holds a few partitions).
    pub fn new(postings: u64) -> Self {
        let far = postings.saturating_mul(FAR_BANDS as u64) / FILED as u64;
        let mut part_bits = 0;
        while part_bits < MAX_PART_BITS && far >> part_bits > PART_TARGET {
            part_bits += 1;
        }
        let header = header_len(part_bits);
        Self {
            filter: KeyFilter {
                part_bits,
                parts: Vec::with_capacity(1 << part_bits),
                bytes: vec![0; header + 1],
            },
            bits: header as u64 * 8,
            spilled: 0,
            current: 0,
            keys: Vec::new(),
            seeds: postings,
            disordered: false,
        }
    }

    /// [`FilterBuilder::new`] with room for the whole filter (one that is finished in memory).
    pub fn with_capacity(postings: u64) -> Self {
        let mut b = Self::new(postings);
        let far = postings.saturating_mul(FAR_BANDS as u64) / FILED as u64;
        let estimate = far.saturating_mul(u64::from(FINGERPRINT_BITS) * 6) / 40;
        b.filter
            .bytes
            .reserve(usize::try_from(estimate).unwrap_or(0));
        b
    }

    /// Adds `key` (near keys are not held). Keys must come in ascending order.
    pub fn insert(&mut self, key: u32) {
        if !is_far(key) {
            return;
        }
        let part = part_of(self.filter.part_bits, key);
        if part < self.current || self.keys.last().is_some_and(|&l| l > key) {
            self.disordered = true;
            return;
        }
        while self.current < part {
            self.seal();
        }
        if self.keys.last() != Some(&key) {
            self.keys.push(key);
        }
    }

    /// Builds the gathered partition and moves to the next.
    fn seal(&mut self) {
        let f = &mut self.filter;
        let held = self.bits - 8 * self.spilled as u64;
        let mut part = Fuse::build(&self.keys, &mut self.seeds, &mut f.bytes, held);
        part.bit_base = self.bits;
        self.bits = part.end_bit();
        f.parts.push(part);
        self.keys.clear();
        self.current += 1;
    }

    /// Bytes held: the fingerprints so far and the keys gathered.
    pub fn bytes(&self) -> usize {
        self.filter.bytes() + self.keys.capacity() * 4
    }

    /// The finished filter (of a builder that spilled nothing).
    pub fn finish(mut self) -> KeyFilter {
        debug_assert_eq!(
            self.spilled, 0,
            "a spilled filter is finished by `register`"
        );
        self.seal_all();
        self.filter.bytes.shrink_to_fit();
        self.filter
    }

    /// Seals the partitions left and fills the header.
    fn seal_all(&mut self) {
        while self.current < 1 << self.filter.part_bits {
            self.seal();
        }
        if self.disordered {
            self.filter.parts.fill(Fuse::pass_all());
        }
        self.filter.write_header(self.spilled);
    }
}

/// The filter of `run` from its stored form `bytes`, or rebuilt from its buckets when they do
/// not parse (another format, cut); the second value says it was rebuilt (and is to be
/// stored).
///
/// # Errors
/// Storage failures.
pub fn parsed_or_rebuilt<B: NearBackend>(
    backend: &mut B,
    run: &RunInfo,
    bytes: Vec<u8>,
) -> Result<(KeyFilter, bool), B::Error> {
    let parsed = if bytes.starts_with(&PARTS_MAGIC) {
        spill::from_parts(backend, run, &bytes)?
    } else {
        KeyFilter::from_bytes(bytes)
    };
    if let Some(f) = parsed {
        return Ok((f, false));
    }
    let mut builder = FilterBuilder::with_capacity(run.postings);
    let last = run.bucket(u32::MAX);
    backend.bucket_range(run.run, 0, last, &mut |blob| {
        super::run::for_each_key(blob, |k| builder.insert(k));
    })?;
    Ok((builder.finish(), true))
}

/// The filter of registered run `r` whose row holds `row`, on open: its copy beside the
/// index when that is whole and the one the row describes ([`NearBackend::copied_filter`]),
/// else read as [`parsed_or_rebuilt`]; a filter read from its partitions is then copied, for
/// the next open. `true` when it was rebuilt.
///
/// # Errors
/// Storage failures.
pub fn opened<B: NearBackend>(
    backend: &mut B,
    r: &RunInfo,
    row: Vec<u8>,
) -> Result<(KeyFilter, bool), B::Error> {
    if !row.starts_with(&PARTS_MAGIC) {
        return parsed_or_rebuilt(backend, r, row);
    }
    let copied = backend.copied_filter(r);
    if let Some(f) = copied.and_then(|copy| spill::from_copy(&row, copy)) {
        return Ok((f, false));
    }
    let (f, rebuilt) = parsed_or_rebuilt(backend, r, row)?;
    if !rebuilt {
        backend.copy_filter(r, f.as_bytes());
    }
    Ok((f, rebuilt))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far keys (`is_far`), a fixed pseudo-random sequence.
    pub(super) fn key(i: u32) -> u32 {
        let mut x = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 31;
        (x as u32) | 1
    }

    /// The filter of `keys` built whole, in memory.
    pub(super) fn build(keys: &mut [u32], postings: u64) -> KeyFilter {
        keys.sort_unstable();
        let mut b = FilterBuilder::with_capacity(postings);
        keys.iter().for_each(|&k| b.insert(k));
        b.finish()
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        // A run of n records' postings: n far keys among them, some repeated, many partitions.
        let n = 600_000u32;
        let mut keys: Vec<u32> = (0..n).map(key).chain((0..1000).map(key)).collect();
        let f = build(&mut keys, u64::from(n) * FILED as u64 / FAR_BANDS as u64);
        assert!(f.part_bits >= 1, "{} partition bits", f.part_bits);
        assert!(keys.iter().all(|&k| f.may_contain(k)));
        let false_pos = (n..2 * n).filter(|&i| f.may_contain(key(i))).count();
        println!("far-key filter: {false_pos} false positives of {n}");
        let expected = f64::from(n >> FINGERPRINT_BITS);
        assert!(
            (false_pos as f64) < expected * 1.28,
            "{false_pos} false positives"
        );
        assert!(
            (false_pos as f64) > expected * 0.64,
            "{false_pos} false positives"
        );
        let bits = f.bytes() as f64 * 8.0 / f64::from(n);
        assert!(
            bits < f64::from(FINGERPRINT_BITS) * 1.24,
            "{bits} bits a key"
        );
        assert!(f.may_contain(0x20), "near keys are never ruled out");
        assert_eq!(KeyFilter::from_bytes(f.as_bytes().to_vec()), Some(f));
    }

    #[test]
    fn small_and_empty_runs_and_foreign_bytes() {
        let f = build(&mut [key(1), key(2), 0x40], 3);
        assert!(f.may_contain(key(1)) && f.may_contain(key(2)));
        let empty = build(&mut [], 0);
        assert!(!empty.may_contain(key(1)));
        assert_eq!(
            KeyFilter::from_bytes(empty.as_bytes().to_vec()),
            Some(empty)
        );
        let bytes = f.as_bytes().to_vec();
        assert_eq!(
            KeyFilter::from_bytes(bytes[..bytes.len() - 1].to_vec()),
            None
        );
        assert_eq!(
            KeyFilter::from_bytes(vec![0; 64]),
            None,
            "a Bloom filter of keys3"
        );
        let mut other = bytes.clone();
        other[7] = 4;
        assert_eq!(KeyFilter::from_bytes(other), None, "other fingerprint bits");
    }

    #[test]
    fn keys_probed_in_batches_pass_as_they_do_one_by_one() {
        // Over several batches: far keys held and not (some false positives among them),
        // near keys, an empty filter and one that passes everything.
        let mut held: Vec<u32> = (0..5_000).map(key).collect();
        let f = build(&mut held, 5_000);
        let mut probes: Vec<u32> = (4_900..5_000).chain(200_000..203_000).map(key).collect();
        probes.extend([0x20, 0x40, key(7)]);
        let mut out_of_order = FilterBuilder::with_capacity(10);
        out_of_order.insert(key(2).max(key(3)));
        out_of_order.insert(key(2).min(key(3)));
        for f in [f, build(&mut [], 0), out_of_order.finish()] {
            let one_by_one: Vec<u32> = probes
                .iter()
                .copied()
                .filter(|&k| f.may_contain(k))
                .collect();
            assert_eq!(f.retain(&probes), one_by_one);
            assert!(f.retain(&probes[..5]).iter().all(|&k| f.may_contain(k)));
        }
        let passed = build(&mut held, 5_000).retain(&probes).len();
        assert!((103..200).contains(&passed), "{passed} of 3 103 passed");
    }

    #[test]
    fn keys_out_of_order_make_a_filter_that_passes_everything() {
        let mut b = FilterBuilder::with_capacity(10);
        b.insert(key(2).max(key(3)));
        b.insert(key(2).min(key(3)));
        let f = b.finish();
        assert!(f.may_contain(key(2)) && f.may_contain(key(77)));
    }
}
