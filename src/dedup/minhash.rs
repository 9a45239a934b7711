//! MinHash signatures and LSH band keys: the cheap first stage that finds which stored records
//! are worth comparing to a new one. Pure and sync.
//!
//! # Scheme
//! - [`PERMUTATIONS`] = [`BANDS`] × [`ROWS`] = 64 × 1 = 64 hash functions
//!   `h_p(x) = a_p·x + b_p (mod 2⁶⁴)` with fixed odd `a_p` and `b_p` drawn from a splitmix64
//!   stream of [`MINHASH_SEED`]. The shingle hashes `x` are already uniformly mixed, so this
//!   multiply-add family behaves as a set of independent permutations (the unit tests check the
//!   estimate is unbiased) at one multiply per shingle and function.
//! - The signature keeps each function's minimum over the shingle set;
//!   P[minima equal] = Jaccard.
//! - Each band hashes its one minimum (and its band number) into a 32-bit key. Two texts become
//!   candidates when at least [`MIN_BAND_MATCHES`] = 3 band keys match: P = P[Binomial(64, J)
//!   ≥ 3].
//!
//! # Why one row per band: containment
//! A story of `s` shingles quoted (containment `c`) in a digest of `d` shingles has
//! J = c·s / (s + d − c·s): at c = 0.7 that is 0.21 for a digest three times the story and 0.16
//! for one four times it. One-row bands with three matches required make such pairs candidates
//! with P ≥ 0.998 down to J = 0.16, so a story quoted at containment ≥ 0.7 in a digest up to
//! four times its length is found (the former 32 bands × 2 rows gave 1 − (1 − J²)³² = 0.77 at
//! J = 0.21). Requiring three matches keeps out most texts that share a stock phrase; the rest
//! are dropped by the screen on the number of equal keys and the two sizes before anything is
//! loaded (`super::screen`), and the bench reports how many there are per article.
//! - No signature is stored: the screen needs only the number of equal band keys (equal
//!   minima at full precision) and the two sizes. (A 16-bit compact signature, 128 bytes a
//!   record, was stored in `near_record.signature` until nothing read it any more; dropped
//!   from the index, about a tenth of its bytes.)

use super::shingle::{ShingleSet, mix64};

/// LSH bands.
pub const BANDS: usize = 64;
/// Minima per band.
pub const ROWS: usize = 1;
/// A stored record is a candidate only when at least this many of its band keys equal the new
/// record's. P[≥ 3 of 64 equal] is 0.998 at J = 0.16 (a story quoted at containment 0.7 in a
/// digest four times its length) and 0.9998 at J = 0.21 (three times), while texts that share
/// a stock phrase or two, and so a minimum or two now and then, are never enumerated past the
/// band table: with one match required they were 584 per article at 100 000 records, with two
/// 109 (bench corpus).
pub const MIN_BAND_MATCHES: usize = 3;
/// MinHash functions (= `BANDS * ROWS`).
pub const PERMUTATIONS: usize = BANDS * ROWS;
/// Seed of the permutation parameters; changing it invalidates every stored index.
pub const MINHASH_SEED: u64 = 0x6e65_7773_6d69_6c6c;

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// `(a, b)` of every hash function, derived at compile time from [`MINHASH_SEED`].
const PARAMS: ([u64; PERMUTATIONS], [u64; PERMUTATIONS]) = params();

const fn params() -> ([u64; PERMUTATIONS], [u64; PERMUTATIONS]) {
    let mut a = [0u64; PERMUTATIONS];
    let mut b = [0u64; PERMUTATIONS];
    let mut state = MINHASH_SEED;
    let mut i = 0;
    while i < PERMUTATIONS {
        state = state.wrapping_add(GOLDEN);
        a[i] = mix64(state) | 1;
        state = state.wrapping_add(GOLDEN);
        b[i] = mix64(state);
        i += 1;
    }
    (a, b)
}

/// `a_p⁻¹ mod 2⁶⁴` of every hash function (Newton's iteration: each step doubles the bits
/// that are right; an odd `a` is its own inverse to 3 bits), so a minimum names its shingle.
const INVERSES: [u64; PERMUTATIONS] = inverses();

const fn inverses() -> [u64; PERMUTATIONS] {
    let mut out = [0u64; PERMUTATIONS];
    let mut i = 0;
    while i < PERMUTATIONS {
        let a = PARAMS.0[i];
        let mut x = a;
        let mut step = 0;
        while step < 5 {
            x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
            step += 1;
        }
        out[i] = x;
        i += 1;
    }
    out
}

/// The MinHash signature of a shingle set: each hash function's minimum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature([u64; PERMUTATIONS]);

impl Signature {
    /// The signature of `set`. An empty set gives all-`u64::MAX` minima; callers keep empty
    /// texts out of the band index.
    pub fn of(set: &ShingleSet) -> Self {
        let (a, b) = (&PARAMS.0, &PARAMS.1);
        let mut mins = [u64::MAX; PERMUTATIONS];
        // Functions in groups of `LANES` over all shingles: the group's minima stay in
        // registers (shingles outer and functions inner kept all 64 in memory, a load and a
        // store per step: 2-3 times slower, measured with the dedup bench's first line).
        const LANES: usize = 8;
        let groups = a
            .as_chunks::<LANES>()
            .0
            .iter()
            .zip(b.as_chunks::<LANES>().0);
        for ((ga, gb), out) in groups.zip(mins.as_chunks_mut::<LANES>().0) {
            for &x in set.as_slice() {
                for l in 0..LANES {
                    out[l] = out[l].min(ga[l].wrapping_mul(x).wrapping_add(gb[l]));
                }
            }
        }
        Self(mins)
    }

    /// One 32-bit key per band; equal keys in the same position mean (up to a 2⁻³² chance)
    /// equal minima in that band. The band number is hashed in, so keys of different bands
    /// never meet in one table.
    pub fn band_keys(&self) -> [u32; BANDS] {
        let mut keys = [0u32; BANDS];
        for (band, key) in keys.iter_mut().enumerate() {
            let rows = &self.0[band * ROWS..(band + 1) * ROWS];
            let h = rows
                .iter()
                .fold(mix64(MINHASH_SEED ^ band as u64), |h, &m| mix64(h ^ m));
            *key = (h >> 32) as u32;
        }
        keys
    }

    /// The shingle whose hash is function `p`'s minimum (`h_p` is a bijection: `x = a_p⁻¹ ·
    /// (min − b_p)`); meaningless for an empty set.
    pub fn shingle(&self, p: usize) -> u64 {
        INVERSES[p].wrapping_mul(self.0[p].wrapping_sub(PARAMS.1[p]))
    }

    /// Fraction of equal minima: an unbiased estimate of the Jaccard similarity.
    pub fn estimate(&self, other: &Self) -> f64 {
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        same as f64 / PERMUTATIONS as f64
    }
}

/// Containment implied by a Jaccard value and the two set sizes:
/// `|A∩B| = J·(|A|+|B|)/(1+J)`, divided by `min(|A|, |B|)`, capped at 1.
pub fn containment_from_jaccard(jaccard: f64, a: usize, b: usize) -> f64 {
    let smaller = a.min(b);
    if smaller == 0 {
        return 0.0;
    }
    let shared = jaccard * (a + b) as f64 / (1.0 + jaccard);
    (shared / smaller as f64).min(1.0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two sets with `shared` common elements and `own` private ones each.
    fn pair(seed: u64, shared: u64, own: u64) -> (ShingleSet, ShingleSet) {
        let h = |i: u64| mix64(seed.wrapping_mul(1_000_003) ^ i);
        let common: Vec<u64> = (0..shared).map(h).collect();
        let mut a = common.clone();
        let mut b = common;
        a.extend((0..own).map(|i| h(1 << 40 | i)));
        b.extend((0..own).map(|i| h(2 << 40 | i)));
        (ShingleSet::from_hashes(a), ShingleSet::from_hashes(b))
    }

    #[test]
    fn estimate_is_unbiased_and_bands_follow_the_s_curve() {
        // J = 200 / (200 + 2·150) = 0.4.
        let trials = 400u64;
        let (mut sum, mut hits) = (0.0, 0);
        for t in 0..trials {
            let (a, b) = pair(t, 200, 150);
            let (sa, sb) = (Signature::of(&a), Signature::of(&b));
            sum += sa.estimate(&sb);
            let (ka, kb) = (sa.band_keys(), sb.band_keys());
            hits += usize::from(ka.iter().zip(&kb).any(|(x, y)| x == y));
        }
        let mean = sum / trials as f64;
        assert!((mean - 0.4).abs() < 0.01, "mean estimate {mean}");
        // 1 − (1 − 0.4)^64 ≈ 1.
        assert!(
            hits as u64 >= trials * 98 / 100,
            "band hits {hits}/{trials}"
        );
    }

    #[test]
    fn unrelated_sets_rarely_share_a_band() {
        let mut hits = 0;
        for t in 0..2000u64 {
            let (a, b) = pair(t, 0, 300);
            let (ka, kb) = (Signature::of(&a).band_keys(), Signature::of(&b).band_keys());
            hits += usize::from(ka.iter().zip(&kb).any(|(x, y)| x == y));
        }
        assert!(hits <= 2, "{hits} false band hits");
    }

    /// A story of `s` elements and a digest of `ratio · s` holding `⌈c·s⌉` of them (also the
    /// screen's test input, `dedup::screen`).
    pub(crate) fn quoted(seed: u64, s: u64, c: f64, ratio: u64) -> (ShingleSet, ShingleSet) {
        let h = |i: u64| mix64(seed.wrapping_mul(7_000_003) ^ i);
        let story: Vec<u64> = (0..s).map(h).collect();
        let kept = (c * s as f64).ceil() as u64;
        let mut digest: Vec<u64> = story.iter().take(kept as usize).copied().collect();
        digest.extend((0..ratio * s - kept).map(|i| h(3 << 40 | i)));
        (
            ShingleSet::from_hashes(story),
            ShingleSet::from_hashes(digest),
        )
    }

    #[test]
    fn stories_quoted_in_digests_are_candidates_99_percent_of_the_time() {
        for (s, ratio) in [(20, 3), (60, 2), (150, 3), (300, 4)] {
            let trials = 1000u64;
            let mut hits = 0u64;
            for t in 0..trials {
                let (story, digest) = quoted(t * 31 + s, s, 0.7, ratio);
                let (ka, kb) = (
                    Signature::of(&story).band_keys(),
                    Signature::of(&digest).band_keys(),
                );
                let matches = ka.iter().zip(&kb).filter(|(x, y)| x == y).count();
                hits += u64::from(matches >= MIN_BAND_MATCHES);
            }
            assert!(
                hits * 100 >= trials * 99,
                "story of {s}, digest {ratio}x: {hits}/{trials} candidates"
            );
        }
    }

    #[test]
    fn a_minimum_names_its_shingle() {
        let (a, _) = pair(7, 300, 0);
        let sig = Signature::of(&a);
        for p in 0..PERMUTATIONS {
            let x = sig.shingle(p);
            assert!(a.as_slice().binary_search(&x).is_ok(), "function {p}");
            assert_eq!(
                PARAMS.0[p].wrapping_mul(x).wrapping_add(PARAMS.1[p]),
                sig.0[p]
            );
        }
    }

    #[test]
    fn containment_from_jaccard_inverts_the_definition() {
        // |A| = 400, |B| = 200, B ⊂ A: J = 0.5, C = 1.
        assert!((containment_from_jaccard(0.5, 400, 200) - 1.0).abs() < 1e-12);
        assert_eq!(containment_from_jaccard(0.5, 0, 200), 0.0);
    }
}
