//! The candidate screen: which records sharing band keys with a new one are worth reading and
//! verifying, decided on what the band index alone knows (the number of shared keys and the two
//! shingle counts), so that chance candidates cost no row read. Pure and sync.
//!
//! With one row per band, equal band keys are equal MinHash minima, so the number of shared
//! keys `m` is the signature estimate of Jaccard times 64, at full precision (no signature is
//! stored with a record). For the two sizes, the weakest similarity that could still link the
//! pair is known ([`Thresholds::worth_verifying`]); a pair whose `m` is implausibly low for it
//! (probability below [`SCREEN_RISK`]) is dropped. The screen is symmetric in the two records
//! and depends on nothing else, so clusters stay independent of arrival order.

use super::keys::FAR_BANDS;
use super::link::Thresholds;
use super::minhash::PERMUTATIONS;

/// The chance a pair exactly at a link threshold is dropped by the screen
/// ([`Thresholds::worth_verifying`]).
pub const SCREEN_RISK: f64 = 1e-3;

/// What a store knows of a candidate before reading its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Band keys it shares with the new record: equal MinHash minima (one row per band).
    pub matches: usize,
    /// Its distinct shingles (`u32::MAX` when the store only knows it is very large).
    pub shingles: u32,
    /// When it was published, µs since the epoch (to the minute or better; `None`: unknown).
    pub published_us: Option<i64>,
}

/// Slack on the date window for dates the store keeps to the minute.
const DATE_SLACK_US: i64 = 60_000_000;

/// `P[X ≤ k]` for `X ~ Binomial(n, p)`.
pub fn binomial_cdf(n: usize, p: f64, k: usize) -> f64 {
    if p <= 0.0 || k >= n {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    let ratio = p / (1.0 - p);
    let mut term = (1.0 - p).powi(i32::try_from(n).unwrap_or(i32::MAX));
    let mut sum = term;
    for i in 0..k {
        term *= (n - i) as f64 / (i + 1) as f64 * ratio;
        sum += term;
    }
    sum.min(1.0)
}

impl Thresholds {
    /// Whether a candidate is worth reading and verifying, judged on what the band index alone
    /// knows: how many MinHash minima the two texts share (`hit.matches` of
    /// [`PERMUTATIONS`]; equal band keys are equal minima) and their shingle counts. The
    /// weakest similarity that could still link them is `need`: Jaccard
    /// [`Thresholds::jaccard`], or the Jaccard that containment [`Thresholds::containment`]
    /// implies for these sizes (the `far_*` thresholds when the two were published further
    /// apart than the date window, plus a minute of slack for dates kept to the minute). A
    /// pair whose true Jaccard were `need` would show `hit.matches` or fewer equal minima with
    /// probability `P[Binomial(64, need) ≤ matches]`; below [`SCREEN_RISK`] it is dropped. So
    /// a pair at the threshold is lost by the screen with probability at most `SCREEN_RISK`,
    /// one above it with less, and a candidate costs no row read.
    pub fn worth_verifying(&self, ours: usize, published_us: Option<i64>, hit: Hit) -> bool {
        let need = self.weakest_link(ours, published_us, hit);
        binomial_cdf(PERMUTATIONS, need, hit.matches) > SCREEN_RISK
    }

    /// The same screen for a candidate of the far path (`super::keys`), where `hit.matches`
    /// counts equal two-row keys of [`FAR_BANDS`]: a pair at Jaccard `need` shares each with
    /// probability `need²`, and is dropped when `P[Binomial(24, need²) ≤ matches]` is below
    /// [`SCREEN_RISK`].
    pub fn worth_verifying_far(&self, ours: usize, published_us: Option<i64>, hit: Hit) -> bool {
        let need = self.weakest_link(ours, published_us, hit);
        binomial_cdf(FAR_BANDS, need * need, hit.matches) > SCREEN_RISK
    }

    /// The weakest Jaccard that could still link a text of `ours` shingles published at
    /// `published_us` to the candidate `hit`.
    fn weakest_link(&self, ours: usize, published_us: Option<i64>, hit: Hit) -> f64 {
        let window = i64::try_from(self.date_window.as_micros()).unwrap_or(i64::MAX);
        let far = match (published_us, hit.published_us) {
            (Some(a), Some(b)) => a.abs_diff(b) > window.saturating_add(DATE_SLACK_US) as u64,
            _ => false,
        };
        let (jaccard, containment) = if far {
            (self.far_jaccard, self.far_containment)
        } else {
            (self.jaccard, self.containment)
        };
        let (a, b) = (ours as f64, f64::from(hit.shingles));
        let smaller = a.min(b);
        let mut need = jaccard;
        if smaller >= self.min_shingles as f64 {
            let shared = containment * smaller;
            need = need.min(shared / (a + b - shared).max(1.0));
        }
        need
    }
}

/// What a store's lookups found so far: records sharing at least the lookup's minimum of keys
/// with a new record ([`super::minhash::MIN_BAND_MATCHES`] near keys, or two far keys:
/// `super::keys::min_matches`), each shown to the screen once, and those the screen kept.
/// Both stores count through [`count_and_screen`]; the dedup bench reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LookupCounts {
    /// Records with at least the lookup's minimum of equal keys.
    pub candidates: u64,
    /// Those past the screen.
    pub screened: u64,
    /// Near lookups answered from memory alone (the on-disk index's kept near postings,
    /// `super::disk::live`), no run read.
    pub near_in_memory: u64,
    /// Run buckets read from the on-disk index's backend (one per key that may be in a run).
    pub bucket_reads: u64,
    /// Postings gathered (one per key and record under it), before counting.
    pub postings: u64,
}

/// Counts the gathered postings per record (`found`: one record number per posting, in any
/// order), and for every record with at least `min` of them (`super::keys::min_matches` of the
/// lookup's keys) asks `hit` what the store knows of it (`None`: unknown, skipped) and `keep`
/// whether it passes the screen. Returns the kept records with their hits, in record order,
/// and counts into `counts`.
pub fn count_and_screen(
    found: &[u32],
    min: usize,
    counts: &mut LookupCounts,
    mut hit: impl FnMut(u32, usize) -> Option<Hit>,
    keep: &mut dyn FnMut(Hit) -> bool,
) -> Vec<(u32, Hit)> {
    counts.postings += found.len() as u64;
    let mut enough = tally(found, min);
    enough.sort_unstable_by_key(|&(doc, _)| doc);
    let mut kept = Vec::new();
    for (doc, n) in enough {
        let Some(h) = hit(doc, n as usize) else {
            continue;
        };
        counts.candidates += 1;
        if keep(h) {
            counts.screened += 1;
            kept.push((doc, h));
        }
    }
    kept
}

/// The records named at least `min` times in `found`, with their counts, in no order. Counted
/// in an open-addressing table of twice as many slots as postings (small enough to stay in
/// cache): most postings of a lookup name a record once, and sorting them all cost more than
/// the lookup's other steps.
fn tally(found: &[u32], min: usize) -> Vec<(u32, u32)> {
    if found.len() < min {
        return Vec::new();
    }
    let bits = (found.len() * 2)
        .next_power_of_two()
        .trailing_zeros()
        .max(4);
    let mask = (1usize << bits) - 1;
    // (record + 1, count): 0 marks a free slot, so record numbers up to `u32::MAX - 1` fit.
    let mut slots = vec![(0u32, 0u32); 1 << bits];
    let mut enough = Vec::new();
    for &doc in found {
        let tag = doc.wrapping_add(1);
        let mut i = (tag.wrapping_mul(0x9e37_79b1) >> (32 - bits)) as usize;
        loop {
            let slot = &mut slots[i];
            if slot.0 == tag {
                slot.1 += 1;
                break;
            }
            if slot.0 == 0 {
                *slot = (tag, 1);
                break;
            }
            i = (i + 1) & mask;
        }
        if slots[i].1 as usize == min.max(1) {
            enough.push(i);
        }
    }
    enough
        .iter()
        .map(|&i| (slots[i].0 - 1, slots[i].1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::minhash::tests::quoted;
    use crate::dedup::minhash::{MIN_BAND_MATCHES, Signature};

    fn keep(ours: usize, theirs: u32, matches: usize) -> bool {
        keep_at(ours, theirs, matches, 0)
    }

    /// `keep` for a pair published `days` apart.
    fn keep_at(ours: usize, theirs: u32, matches: usize, days: i64) -> bool {
        Thresholds::DEFAULT.worth_verifying(
            ours,
            Some(0),
            Hit {
                matches,
                shingles: theirs,
                published_us: Some(days * 86_400_000_000),
            },
        )
    }

    /// The counting table finds exactly the records a sort would, with their counts, in
    /// record order, however the postings are spread (a table of 16 slots, then thousands).
    #[test]
    fn records_named_at_least_min_times_come_out_counted_in_record_order() {
        let mut seen = Vec::new();
        let mut counts = LookupCounts::default();
        let hit = |_: u32, matches: usize| {
            Some(Hit {
                matches,
                shingles: 100,
                published_us: None,
            })
        };
        let top = u32::MAX - 1;
        let found = [5, 3, 5, 9, 5, 3, 3, 3, 7, top, top, 0, 0, 0];
        let kept = count_and_screen(&found, 3, &mut counts, hit, &mut |h| {
            seen.push(h.matches);
            true
        });
        let got: Vec<(u32, usize)> = kept.iter().map(|(d, h)| (*d, h.matches)).collect();
        assert_eq!(got, [(0, 3), (3, 4), (5, 3)]);
        assert_eq!(seen, [3, 4, 3], "the screen sees each record once");
        assert_eq!((counts.postings, counts.candidates), (14, 3));
        let mut x = 1u64;
        let found: Vec<u32> = (0..5000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (x >> 40) as u32 % 1500
            })
            .collect();
        let mut sorted = found.clone();
        sorted.sort_unstable();
        let want: Vec<(u32, usize)> = sorted
            .chunk_by(|a, b| a == b)
            .filter(|r| r.len() >= 4)
            .map(|r| (r[0], r.len()))
            .collect();
        let kept = count_and_screen(&found, 4, &mut counts, hit, &mut |_| true);
        let got: Vec<(u32, usize)> = kept.iter().map(|(d, h)| (*d, h.matches)).collect();
        assert!(want.len() > 100, "{}", want.len());
        assert_eq!(got, want);
    }

    #[test]
    fn binomial_cdf_matches_hand_values() {
        assert!((binomial_cdf(4, 0.5, 1) - 5.0 / 16.0).abs() < 1e-12);
        assert_eq!(binomial_cdf(64, 0.0, 0), 1.0);
        assert_eq!(binomial_cdf(64, 0.3, 64), 1.0);
        // P[Binomial(64, 0.163) ≤ 3] ≈ 0.0045 (a story quoted in a digest four times its size).
        let p = binomial_cdf(64, 0.163, 3);
        assert!((0.003..0.006).contains(&p), "{p}");
    }

    #[test]
    fn equal_sizes_need_many_shared_minima_unequal_sizes_few() {
        // Two 400-shingle texts: Jaccard 0.5 shows ~32 equal minima; 3 or 10 are chance.
        assert!(!keep(400, 400, 3));
        assert!(!keep(400, 400, 10));
        assert!(keep(400, 400, 20));
        // A 100-shingle story in a 400-shingle digest: containment 0.7 is Jaccard 0.163.
        assert!(keep(100, 400, 3));
        assert!(keep(400, 100, 3), "symmetric");
        assert!(!keep(100, 400, 0));
        // Below `min_shingles` only Jaccard counts.
        assert!(!keep(10, 400, 3));
        // An unknown (saturated) size never rejects on containment.
        assert!(keep(400, u32::MAX, 3));
    }

    #[test]
    fn far_apart_pairs_need_far_evidence() {
        // Two daily notes of one template, 400 shingles each, Jaccard ~0.55: ~35 equal minima.
        assert!(keep_at(400, 400, 35, 1));
        assert!(
            !keep_at(400, 400, 35, 30),
            "a month apart needs Jaccard 0.8"
        );
        assert!(keep_at(400, 400, 50, 30));
        // An unknown date is never far.
        let hit = Hit {
            matches: 35,
            shingles: 400,
            published_us: None,
        };
        assert!(Thresholds::DEFAULT.worth_verifying(400, Some(0), hit));
    }

    /// Band keys and screen together keep the containment guarantee: a story quoted at
    /// containment 0.7 in a digest 2–4 times its length reaches verification ≥ 99 % of the time.
    #[test]
    fn quoted_stories_pass_bands_and_screen_99_percent_of_the_time() {
        for (s, ratio) in [(20, 3), (60, 2), (150, 3), (300, 4)] {
            let trials = 1000u64;
            let mut passed = 0u64;
            for t in 0..trials {
                let (story, digest) = quoted(t * 17 + s, s, 0.7, ratio);
                let (ka, kb) = (
                    Signature::of(&story).band_keys(),
                    Signature::of(&digest).band_keys(),
                );
                let matches = ka.iter().zip(&kb).filter(|(x, y)| x == y).count();
                let hit = Hit {
                    matches,
                    shingles: u32::try_from(digest.len()).unwrap(),
                    published_us: Some(0),
                };
                let ok = matches >= MIN_BAND_MATCHES
                    && Thresholds::DEFAULT.worth_verifying(story.len(), Some(0), hit);
                passed += u64::from(ok);
            }
            assert!(
                passed * 100 >= trials * 99,
                "story of {s}, digest {ratio}x: {passed}/{trials} reach verification"
            );
        }
    }
}
