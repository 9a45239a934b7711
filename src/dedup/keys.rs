//! The keys a record is filed under in the band index, and the keys a new record looks up:
//! one-row band keys bucketed by publication time (the near path), plus two-row keys salted
//! with the figures in the text for the whole index (the far path). Pure and sync.
//!
//! # Why time buckets
//! Unrelated texts that share a stock phrase ("… said in a statement", a credit line) share a
//! MinHash minimum now and then. With keys for the whole index, the records under such a key
//! grow with the corpus, and so do the postings each lookup gathers and the chance candidates
//! with three equal keys (13.6, 38.9, 131.8 per article at 100 000, 300 000, 1 000 000 bench
//! records). Bucketed, a key names only records published within a bucket of the new one, so
//! the work per record stays flat as the corpus grows over time.
//!
//! # The near path
//! The 64 one-row band keys ([`super::minhash`]) are hashed with the record's time bucket,
//! `floor(published / W)` with `W` = the date window plus two minutes ([`bucket_width_us`]). A
//! new record looks up its keys in its own bucket and the two beside it, so every pair
//! published within the date window (plus the minute of slack the screen allows for dates kept
//! to the minute) meets here with the one-row guarantee of [`super::minhash`] (containment 0.7
//! in a digest four times the story: P ≥ 0.998). Records without a date share one bucket of
//! their own.
//!
//! # The far path
//! Pairs further apart than the date window need strong evidence anyway (Jaccard ≥ 0.8 or
//! containment ≥ 0.9, and not one fact in conflict, [`super::Thresholds`]). They meet on
//! [`FAR_BANDS`] = 24 far keys for the whole index, each the hash of two consecutive one-row
//! keys *and of the figures after the two shingles that hold those minima*
//! ([`ShingleSet::salt`]: the first number in the shingle's paragraph within
//! [`super::shingle::FACT_REACH`] words after its first word, else the last one before it,
//! or none). [`FAR_MIN_MATCHES`] = 2 equal keys are needed.
//! - A copy, or an excerpt, has the same figures after the shingles it shares with its
//!   original (it would conflict on a fact otherwise, and could not link far): two texts
//!   share a far key with probability about J², so a pair at Jaccard 0.8 (J² = 0.64) is found
//!   with P > 0.99999 and a text at containment 0.9 in one up to 1.6 times its size (J ≥
//!   0.52) with P = P[Binomial(24, 0.27) ≥ 2] > 0.99, short of the few shingles before a cut
//!   whose next figure the cut removed. A stock phrase must hold both minima of two pairs of
//!   functions, with the same figures after them, to name a record.
//! - Daily notes of one template share their template's shingles (Jaccard 0.5–0.6) but not
//!   the day's figures after them. Without the salts, a new note met every earlier note of
//!   its template here (98.7 % of such pairs in the bench, one more candidate a day held, and
//!   on disk a bucket read per far key and run), each found only to be refused on its facts;
//!   salted, a pair meets only where the figures agree.
//!
//! (The `keys4` index told far keys from near keys by their low bit alone (`KIND`); the
//! `keys3` index had the same keys without the salts; `keys2` had 32 unsalted
//! keys, three equal ones needed, about the same guarantee at a third more postings
//! and filter probes. One equal key of 16 was tried and measured: chance candidates then
//! grow with the corpus, 0.66 per article at 100 000 records and 1.55 at 200 000, and those
//! of unequal sizes pass the screen.) A dated record and an undated one also meet only here.
//!
//! `candidates` runs both lookups for `super::link` through [`NearStore`] (the near one with
//! [`NearStore::candidates_within`], so a store can skip what holds no record of the span).
//!
//! Both paths depend only on the two records (their keys and dates), so a pair is a candidate
//! whichever arrives first, and the clusters stay independent of the arrival order.

use std::time::Duration;

use super::link::{Hit, Lookup, NearStore, Thresholds};
use super::minhash::{BANDS, MIN_BAND_MATCHES, MINHASH_SEED, Signature};
use super::rank::{IndexedDoc, NearDoc};
use super::shingle::{ShingleSet, mix64};

/// Two-row keys of the far path (from the first `2 · FAR_BANDS` one-row keys).
pub const FAR_BANDS: usize = 24;
/// Equal far keys that make two records a candidate pair of the far path (the near path
/// needs [`MIN_BAND_MATCHES`] equal near keys).
pub const FAR_MIN_MATCHES: usize = 2;
/// Keys a record is filed under: [`BANDS`] near keys, then [`FAR_BANDS`] far keys.
pub const FILED: usize = BANDS + FAR_BANDS;
/// Bucket of records without a publication date.
const UNDATED: i64 = i64::MIN;
/// Slack added to the date window for the bucket width: more than the screen's minute.
const SLACK_US: i64 = 120_000_000;

/// Width of a time bucket: the date window plus `SLACK_US`, so two records the screen
/// treats as near (within the window plus a minute) are at most one bucket apart.
/// It is a whole number of minutes, so a date kept to the minute has the exact date's bucket.
pub fn bucket_width_us(window: Duration) -> i64 {
    const MINUTE: i64 = 60_000_000;
    let us = i64::try_from(window.as_micros())
        .unwrap_or(i64::MAX / 4)
        .saturating_add(SLACK_US)
        .clamp(SLACK_US, i64::MAX / 4);
    (us + MINUTE - 1) / MINUTE * MINUTE
}

/// The time bucket of a publication date (`None`: the undated bucket).
pub fn bucket(published_us: Option<i64>, width_us: i64) -> i64 {
    published_us.map_or(UNDATED, |us| us.div_euclid(width_us))
}

/// Whether two buckets are near (the near path covers the pair).
pub fn near(a: i64, b: i64) -> bool {
    a == b || (a != UNDATED && b != UNDATED && a.abs_diff(b) <= 1)
}

/// The bits that tell the two kinds of keys apart: all clear in a near key, not all clear in
/// a far key.
///
/// Far keys are looked up in the whole index, and two unrelated records' far keys are equal
/// by chance as often as the key space is small: with the low bit alone marking them (2³¹ far
/// keys), the 240 M far keys of a 10 M index make about one far key in nine of every lookup
/// (240 M / 2³¹) pass some run's filter for real, and a run with two such keys cost bucket
/// reads that found nothing (1.89 reads an article at 10 M, nearly none leading to a
/// candidate). Near keys name only records of three time buckets, searched in the few newest
/// runs, so they need far fewer values: a sixteenth of the space (2²⁸) leaves the far keys
/// fifteen sixteenths (~2³¹·⁹), about half the chance collisions (measured: 1.07 reads an
/// article at 10 M). Both kinds stay spread over the whole range of the high bits, which cut
/// runs into buckets and filters into partitions.
const KIND: u32 = 0xf;

/// Whether a filed key is a far key (`KIND`), so a store can treat the two kinds apart
/// (`super::disk::filter` holds only far keys).
pub fn is_far(key: u32) -> bool {
    key & KIND != 0
}

/// Equal keys a record needs to be a candidate of a lookup of `keys`: [`FAR_MIN_MATCHES`]
/// when they are all far keys, else [`MIN_BAND_MATCHES`]. Every store counts with it, so the
/// pairs a lookup finds are those [`pair_matches`] finds.
pub fn min_matches(keys: &[u32]) -> usize {
    if !keys.is_empty() && keys.iter().all(|&k| is_far(k)) {
        FAR_MIN_MATCHES
    } else {
        MIN_BAND_MATCHES
    }
}

fn near_key(band_key: u32, bucket: i64) -> u32 {
    (mix64(u64::from(band_key) ^ mix64(bucket as u64 ^ MINHASH_SEED)) >> 32) as u32 & !KIND
}

/// The keys of a shingle set: its [`BANDS`] one-row band keys, then its [`FAR_BANDS`] far
/// keys ([`FILED`] in all); none for an empty set. What [`Keys::of`] and [`pair_matches`] take.
pub fn record_keys(set: &ShingleSet) -> Vec<u32> {
    if set.is_empty() {
        return Vec::new();
    }
    let sig = Signature::of(set);
    let mut keys = sig.band_keys().to_vec();
    let far: Vec<u32> = (0..FAR_BANDS)
        .map(|i| far_key(i, [keys[2 * i], keys[2 * i + 1]], set, &sig))
        .collect();
    keys.extend(far);
    keys
}

/// Far key `i`: the one-row keys of functions `2i` and `2i + 1` hashed with the salts of the
/// two shingles that hold those minima ([`ShingleSet::salt`]: the figures after them).
fn far_key(i: usize, rows: [u32; 2], set: &ShingleSet, sig: &Signature) -> u32 {
    let salt = |p: usize| u64::from(set.salt(sig.shingle(p)));
    let salts = salt(2 * i) << 16 | salt(2 * i + 1);
    let h = mix64(MINHASH_SEED ^ 0xfa ^ (i as u64) << 8);
    let rows = u64::from(rows[0]) << 32 | u64::from(rows[1]);
    let x = mix64(h ^ rows ^ mix64(salts ^ FAR_SALT_SEED));
    let key = (x >> 32) as u32;
    if is_far(key) {
        key
    } else {
        // One in sixteen: its kind bits drawn again, evenly among the far ones.
        key | (1 + (x as u32) % KIND)
    }
}

/// Seed the far keys' salts are hashed with.
const FAR_SALT_SEED: u64 = 0x6661_7273_616c_7473;

/// What a record is filed under and what it looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// Filed under: its near keys in its own bucket, then its far keys ([`FILED`] in all).
    pub filed: Vec<u32>,
    /// Near keys looked up: its own bucket's and the two neighbours'.
    pub near: Vec<u32>,
    /// Publication times (µs) the near lookup can match: its three buckets; `None` when
    /// undated (its lookup then matches undated records only).
    pub span: Option<(i64, i64)>,
    /// Far keys looked up (the same as filed).
    pub far: Vec<u32>,
    /// Its bucket.
    pub bucket: i64,
}

impl Keys {
    /// What a record is filed under and looks up, from its own keys `keys` ([`record_keys`]:
    /// [`FILED`] of them, or none for an empty text), published at `published_us`, with
    /// buckets of `width_us`.
    pub fn of(keys: &[u32], published_us: Option<i64>, width_us: i64) -> Self {
        let b = bucket(published_us, width_us);
        let (bands, far) = split_keys(keys);
        let own = |at: i64| bands.iter().map(move |&k| near_key(k, at));
        let far = far.to_vec();
        let mut filed: Vec<u32> = own(b).collect();
        filed.extend(&far);
        let (near, span) = if b == UNDATED {
            (own(b).collect(), None)
        } else {
            let near = own(b - 1).chain(own(b)).chain(own(b + 1)).collect();
            let span = (
                (b - 1).saturating_mul(width_us),
                (b + 2).saturating_mul(width_us) - 1,
            );
            (near, Some(span))
        };
        Self {
            filed,
            near,
            span,
            far,
            bucket: b,
        }
    }
}

/// The part of a near lookup's keys ([`Keys::near`]: [`BANDS`] keys of each of the three
/// buckets of `span`, oldest first) that can name a record published within `minutes`
/// (inclusive, minutes since the epoch; a range with `lo > hi` holds no dated record). A table
/// whose records were all published within `minutes` holds no posting under the other keys
/// (they are hashed with other buckets), so a store probes it with this slice only: a tail of
/// three days needs the keys of one or two buckets, not three. All of `keys` when they are not
/// three buckets' worth.
pub fn near_keys_within(keys: &[u32], span: (i64, i64), (lo, hi): (i64, i64)) -> &[u32] {
    const MINUTE: i64 = 60_000_000;
    if keys.len() != 3 * BANDS {
        return keys;
    }
    let width = (span.1 - span.0 + 1) / 3;
    let overlaps = |part: i64| {
        let from = (span.0 + part * width).div_euclid(MINUTE);
        let to = (span.0 + (part + 1) * width - 1).div_euclid(MINUTE);
        from <= hi && lo <= to
    };
    let Some(first) = (0..3).find(|&p| overlaps(p)) else {
        return &[];
    };
    let last = (0..3).rev().find(|&p| overlaps(p)).unwrap_or(first);
    &keys[first as usize * BANDS..(last as usize + 1) * BANDS]
}

/// How two records' keys ([`record_keys`]) meet, computed pairwise (what the index would
/// find): the near path when their buckets are near, counting equal one-row keys, else the
/// far path counting equal far keys. `None` when they are not a candidate pair (fewer than
/// [`MIN_BAND_MATCHES`] equal near keys, or than [`FAR_MIN_MATCHES`] equal far keys).
pub fn pair_matches(a: (&[u32], i64), b: (&[u32], i64)) -> Option<Meet> {
    let eq = |x: &[u32], y: &[u32]| x.iter().zip(y).filter(|(p, q)| p == q).count();
    let ((near_a, far_a), (near_b, far_b)) = (split_keys(a.0), split_keys(b.0));
    let meet = if near(a.1, b.1) {
        Meet::Near(eq(near_a, near_b))
    } else {
        Meet::Far(eq(far_a, far_b))
    };
    let min = match meet {
        Meet::Near(_) => MIN_BAND_MATCHES,
        Meet::Far(_) => FAR_MIN_MATCHES,
    };
    (meet.matches() >= min).then_some(meet)
}

/// A record's keys ([`record_keys`]) as its one-row band keys and its far keys.
fn split_keys(keys: &[u32]) -> (&[u32], &[u32]) {
    keys.split_at(keys.len().min(BANDS))
}

/// Which path found a pair and how many of its keys are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meet {
    /// Equal one-row keys (of [`BANDS`]): equal minima.
    Near(usize),
    /// Equal two-row keys (of [`FAR_BANDS`]).
    Far(usize),
}

impl Meet {
    /// Equal keys.
    pub fn matches(self) -> usize {
        match self {
            Self::Near(m) | Self::Far(m) => m,
        }
    }
}

/// The two lookups [`candidates`] makes for `doc` (its keys `k`), as a batch reads them
/// ahead (`super::link::warm`).
pub(crate) fn lookups<'a>(doc: &NearDoc, k: &'a Keys, th: &'a Thresholds) -> [Lookup<'a>; 2] {
    let (ours, published) = (doc.shingles.len(), doc.info.rank.published_us);
    let width = bucket_width_us(th.date_window);
    let own = k.bucket;
    [
        Lookup {
            keys: &k.near,
            span: k.span,
            keep: Box::new(move |hit| th.worth_verifying(ours, published, hit)),
        },
        Lookup {
            keys: &k.far,
            span: None,
            keep: Box::new(move |hit| {
                !near(own, bucket(hit.published_us, width))
                    && th.worth_verifying_far(ours, published, hit)
            }),
        },
    ]
}

/// Screened candidates of both paths of `super::keys`: records of the near buckets sharing
/// ≥ 3 one-row keys, and the others sharing ≥ 2 two-row keys (their `matches` doubled, a lower
/// bound on their equal minima, to rank them with the near ones).
pub(crate) fn candidates<S: NearStore>(
    store: &mut S,
    doc: &NearDoc,
    th: &Thresholds,
) -> Result<Vec<(IndexedDoc, Hit)>, S::Error> {
    let width = bucket_width_us(th.date_window);
    let k = Keys::of(&doc.bands, doc.info.rank.published_us, width);
    let [mut near, mut far] = lookups(doc, &k, th);
    let mut cands = store.candidates_within(near.keys, near.span, &mut *near.keep)?;
    let far = store.candidates(far.keys, &mut *far.keep)?;
    cands.extend(far.into_iter().map(|(c, hit)| {
        let matches = hit.matches * 2;
        (c, Hit { matches, ..hit })
    }));
    Ok(cands)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::screen::binomial_cdf;

    /// A text of `s` shingles and one of `ratio · s` holding `c · s` of them.
    fn quoted(seed: u64, s: u64, c: f64, ratio: f64) -> (ShingleSet, ShingleSet) {
        let h = |i: u64| mix64(seed.wrapping_mul(7_000_003) ^ i);
        let kept = (c * s as f64).ceil() as u64;
        let total = (ratio * s as f64).round() as u64;
        let mut other: Vec<u64> = (0..kept).map(h).collect();
        other.extend((0..total.saturating_sub(kept)).map(|i| h(3 << 40 | i)));
        (
            ShingleSet::from_hashes((0..s).map(h).collect()),
            ShingleSet::from_hashes(other),
        )
    }

    const DAY: i64 = 86_400_000_000;

    #[test]
    fn records_within_the_window_are_near_and_beyond_two_widths_far() {
        let w = bucket_width_us(Duration::from_secs(3 * 86_400));
        for t in [0, 5 * DAY, 17 * DAY + 12_345, -3 * DAY] {
            for gap in [0, 60_000_000, DAY, 3 * DAY + 60_000_000] {
                let (a, b) = (bucket(Some(t), w), bucket(Some(t + gap), w));
                assert!(near(a, b) && near(b, a), "{t} {gap}");
            }
            assert!(!near(bucket(Some(t), w), bucket(Some(t + 2 * w + 1), w)));
        }
        assert!(near(bucket(None, w), bucket(None, w)));
        assert!(!near(bucket(None, w), bucket(Some(0), w)));
    }

    #[test]
    fn a_stored_record_is_found_by_the_lookup_keys_of_a_near_one() {
        let w = bucket_width_us(Duration::from_secs(86_400));
        let bands: Vec<u32> = (0..FILED as u32)
            .map(|i| (i * 7919) | u32::from(i >= BANDS as u32))
            .collect();
        let stored = Keys::of(&bands, Some(10 * DAY), w);
        for t in [9 * DAY, 10 * DAY, 11 * DAY] {
            let new = Keys::of(&bands, Some(t), w);
            let hits = stored.filed[..BANDS]
                .iter()
                .filter(|k| new.near.contains(k))
                .count();
            assert_eq!(hits, BANDS, "{t}");
            let (lo, hi) = new.span.unwrap();
            assert!((lo..=hi).contains(&(10 * DAY)));
        }
        let far = Keys::of(&bands, Some(20 * DAY), w);
        assert!(stored.filed[..BANDS].iter().all(|k| !far.near.contains(k)));
        assert_eq!(stored.filed[BANDS..], far.far[..]);
        assert_eq!(stored.filed.len(), FILED);
        assert_eq!((min_matches(&far.far), min_matches(&far.near)), (2, 3));
        assert!(
            stored
                .filed
                .iter()
                .enumerate()
                .all(|(i, &k)| is_far(k) == (i >= BANDS))
        );
    }

    #[test]
    fn a_table_is_probed_with_the_keys_of_the_buckets_its_records_fall_in() {
        let w = bucket_width_us(Duration::from_secs(3 * 86_400));
        let bands: Vec<u32> = (0..FILED as u32)
            .map(|i| (i * 7919) | u32::from(i >= BANDS as u32))
            .collect();
        let k = Keys::of(&bands, Some(10 * DAY), w);
        let span = k.span.unwrap();
        let minute = |us: i64| us.div_euclid(60_000_000);
        let filed_at = |t: i64| Keys::of(&bands, Some(t), w).filed[..BANDS].to_vec();
        // Records of every bucket of the span: each is probed with exactly its own keys.
        for t in [span.0, span.0 + w - 1, span.0 + w, span.1 - w, span.1] {
            let part = near_keys_within(&k.near, span, (minute(t), minute(t)));
            assert_eq!(part, &filed_at(t)[..], "{t}");
        }
        // A table over two buckets gets both, in order; one outside the span none.
        let two = near_keys_within(&k.near, span, (minute(span.0), minute(span.0 + w)));
        assert_eq!(two, &k.near[..2 * BANDS]);
        assert!(near_keys_within(&k.near, span, (minute(span.1) + 1, i64::MAX)).is_empty());
        assert!(near_keys_within(&k.near, span, (i64::MAX, i64::MIN)).is_empty());
        assert_eq!(near_keys_within(&k.far, span, (0, 0)), &k.far[..]);
    }

    /// A daily note of one template: fixed sentences, each with the day's figures.
    fn note(day: u64) -> String {
        let figure = |k: u64| mix64(day * 1_000 + k) % 9_000 + 1_000;
        (0..6u64)
            .map(|s| {
                let words: Vec<String> = (0..14).map(|w| format!("t{s}w{w}")).collect();
                format!(
                    "{} {}.{} rubles, {} points.",
                    words.join(" "),
                    s,
                    figure(2 * s),
                    figure(2 * s + 1)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Notes of one template on other days are far candidates only when their figures happen
    /// to agree: the far keys hash the figures after each minimum's shingle. Without the
    /// salts (the same shingles, no figures) nearly every pair of notes met on the far path.
    /// A copy of a note, its paragraphs moved, still meets.
    #[test]
    fn far_keys_keep_template_notes_of_other_days_apart() {
        let (mut salted, mut unsalted, mut copies) = (0, 0, 0);
        let days = 40u64;
        for a in 0..days {
            let sa = ShingleSet::of_text(&note(a));
            let bare = |s: &ShingleSet| ShingleSet::from_hashes(s.as_slice().to_vec());
            for b in a + 1..days {
                let sb = ShingleSet::of_text(&note(b));
                let far = |x: &ShingleSet, y: &ShingleSet| {
                    pair_matches((&record_keys(x), 0), (&record_keys(y), 9)).is_some()
                };
                salted += usize::from(far(&sa, &sb));
                unsalted += usize::from(far(&bare(&sa), &bare(&sb)));
            }
            let mut paras: Vec<String> = note(a).lines().map(str::to_owned).collect();
            paras.rotate_left(2);
            let moved = ShingleSet::of_text(&paras.join("\n"));
            let meet = pair_matches((&record_keys(&sa), 0), (&record_keys(&moved), 9));
            copies += usize::from(meet.is_some());
        }
        let pairs = (days * (days - 1) / 2) as usize;
        println!(
            "notes meeting far: salted {salted}, unsalted {unsalted} of {pairs}; copies {copies}"
        );
        assert!(unsalted * 10 >= pairs * 9, "{unsalted}/{pairs}");
        assert!(salted * 50 <= pairs, "{salted}/{pairs}");
        assert_eq!(copies, days as usize);
    }

    /// The far path's guarantee, measured: copies at Jaccard 0.8 and texts at containment 0.9
    /// in one 1.6 times their size meet on two far keys in ≥ 99 % of 1 000 trials.
    #[test]
    fn strong_pairs_meet_on_far_keys_99_percent_of_the_time() {
        for (s, containment, ratio) in [(100, 0.9, 1.6), (300, 0.9, 1.6), (200, 0.89, 1.0)] {
            let trials = 1000u64;
            let mut met = 0u64;
            for t in 0..trials {
                let (a, b) = quoted(t * 31 + s, s, containment, ratio);
                let (ka, kb) = (record_keys(&a), record_keys(&b));
                met += u64::from(pair_matches((&ka, 0), (&kb, 9)).is_some());
            }
            println!("far keys: {s} shingles at {containment} in {ratio}x: {met}/{trials}");
            assert!(
                met * 100 >= trials * 99,
                "{s} shingles at {containment} in {ratio}x: {met}/{trials}"
            );
        }
        // The binomial bound behind it: P[Binomial(24, 0.52²) < 2] < 0.01.
        assert!(binomial_cdf(FAR_BANDS, 0.52 * 0.52, FAR_MIN_MATCHES - 1) < 0.01);
    }

    /// Far keys take the fifteen far kinds evenly ([`KIND`]: a one that fell on the near kind
    /// is not piled on one of them), and near keys only the near one.
    #[test]
    fn far_keys_spread_over_the_far_kinds_and_near_keys_keep_the_near_one() {
        let mut kinds = [0u32; 16];
        let mut near_kinds = [0u32; 16];
        for t in 0..2_000u64 {
            let set = ShingleSet::from_hashes((0..60).map(|i| mix64(t << 20 | i)).collect());
            let keys = Keys::of(&record_keys(&set), Some(t as i64 * DAY), DAY);
            keys.far
                .iter()
                .for_each(|&k| kinds[(k & KIND) as usize] += 1);
            keys.near
                .iter()
                .for_each(|&k| near_kinds[(k & KIND) as usize] += 1);
        }
        assert_eq!(near_kinds[0], 2_000 * 3 * BANDS as u32, "{near_kinds:?}");
        assert_eq!(kinds[0], 0, "{kinds:?}");
        // 48 000 far keys: 3 200 a kind, σ ≈ 55.
        let (lo, hi) = (kinds[1..].iter().min(), kinds[1..].iter().max());
        assert!(lo >= Some(&2_900) && hi <= Some(&3_500), "{kinds:?}");
    }
}
