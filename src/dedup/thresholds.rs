//! When two verified records are linked, and why ([`Thresholds::reason`]): Jaccard or
//! containment, facts that agree, stronger evidence across the date window. Pure and sync.

use std::time::Duration;

use crate::model::LinkReason;

use super::shingle::Similarity;

/// When two records are the same story.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Link when Jaccard is at least this …
    pub jaccard: f64,
    /// … or when containment is at least this …
    pub containment: f64,
    /// … and the smaller text has at least this many shingles (a one-line text is "contained"
    /// in too many others to mean anything);
    pub min_shingles: usize,
    /// … and at most this share of the facts differ ([`Similarity::facts_differing`] over
    /// [`Similarity::facts_smaller`]): daily notes built from one template are different news.
    pub max_fact_share: f64,
    /// Records published further apart than this need the stronger `far_*` evidence, and must
    /// not differ in a single fact.
    pub date_window: Duration,
    /// Jaccard needed across `date_window`.
    pub far_jaccard: f64,
    /// Containment needed across `date_window`.
    pub far_containment: f64,
}

impl Thresholds {
    /// Jaccard and containment were chosen on `fixtures/dedup/pairs.jsonl`: its positives have
    /// containment ≥ 0.79 (Jaccard ≥ 0.34), its negatives Jaccard ≤ 0.17 and containment ≤ 0.32,
    /// so both thresholds sit in the gap. Containment is placed nearer the positives because a
    /// false link (two stories merged) costs analysts more than a missed one; Jaccard 0.5 also
    /// links two long copies edited on both sides, where neither contains most of the other.
    /// The fact share and the far thresholds were chosen on `fixtures/dedup/realworld/` (its
    /// README gives the margins): template notes of different days differ in half or more of
    /// their facts, updated stories in a fifth or less.
    pub const DEFAULT: Self = Self {
        jaccard: 0.5,
        containment: 0.7,
        min_shingles: 20,
        max_fact_share: 0.34,
        date_window: Duration::from_secs(3 * 86_400),
        far_jaccard: 0.8,
        far_containment: 0.9,
    };

    /// Why a verified pair published `gap` apart (`None`: a date is unknown) is linked, or
    /// `None` when it is not.
    pub fn reason(&self, s: &Similarity, gap: Option<Duration>) -> Option<LinkReason> {
        let (jaccard, containment, share) = if self.is_far(gap) {
            (self.far_jaccard, self.far_containment, 0.0)
        } else {
            (self.jaccard, self.containment, self.max_fact_share)
        };
        if s.facts_differing as f64 > share * s.facts_smaller as f64 {
            return None;
        }
        if s.jaccard >= jaccard {
            Some(LinkReason::Jaccard)
        } else if s.smaller >= self.min_shingles && s.containment >= containment {
            Some(LinkReason::Containment)
        } else {
            None
        }
    }

    /// Whether two records published `gap` apart need the far evidence, with no fact
    /// conflicting (`None`: a date is unknown, never far).
    pub fn is_far(&self, gap: Option<Duration>) -> bool {
        gap.is_some_and(|g| g > self.date_window)
    }

    /// A text naming the thresholds, stored with the index so a change forces a rebuild.
    pub fn fingerprint(&self) -> String {
        format!(
            "j{}-c{}-m{}-f{}-w{}-fj{}-fc{}",
            self.jaccard,
            self.containment,
            self.min_shingles,
            self.max_fact_share,
            self.date_window.as_secs(),
            self.far_jaccard,
            self.far_containment
        )
    }
}
