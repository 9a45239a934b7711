//! What an index row keeps of a record's facts ([`super::shingle`]'s numbers with their
//! contexts), so that a candidate that cannot be linked for its facts is dropped before its
//! text is read. Pure and sync.
//!
//! Across the date window a link needs the two texts to conflict on no fact context
//! ([`super::Thresholds::reason`]). Daily notes of one template share their wording, so each
//! new note finds every earlier note of its template on the far path, and some of them pass
//! the screen; verifying one means reading its text (a corpus read in the pipeline), and the
//! notes to verify grow with the days the index holds. A [`FactTag`] holds the record's
//! [`TAGGED`] smallest fact contexts (their full 32-bit hashes, as the facts compare them),
//! each with a 32-bit mask of the facts after it (bit `fact mod 32`). Two tags that hold one
//! context with masks sharing no bit prove that the texts put no common fact after it, a
//! conflict the full comparison ([`super::similarity`]) finds too: so a far pair whose tags
//! conflict is one [`super::Thresholds::reason`] would refuse, and skipping it changes no
//! link. Tags that prove nothing (no shared context among the few kept, a shared bit) leave
//! the pair to the full comparison.

use super::shingle::ShingleSet;

/// Fact contexts a tag keeps.
pub const TAGGED: usize = 2;

/// See the module doc. Each entry is `context << 32 | mask`; a mask of 0 is an empty entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FactTag(pub [u64; TAGGED]);

impl FactTag {
    /// The tag of a shingle set's facts.
    pub fn of(set: &ShingleSet) -> Self {
        let mut tag = [0u64; TAGGED];
        let mut facts = set.facts().iter().peekable();
        for entry in &mut tag {
            let Some(&first) = facts.next() else { break };
            let context = first >> 32;
            let mut mask = bit(first);
            while let Some(&&f) = facts.peek() {
                if f >> 32 != context {
                    break;
                }
                mask |= bit(f);
                facts.next();
            }
            *entry = context << 32 | u64::from(mask);
        }
        Self(tag)
    }

    /// Whether the two texts certainly conflict on a fact context (see the module doc).
    pub fn conflicts(&self, other: &Self) -> bool {
        self.0.iter().any(|&a| {
            a as u32 != 0
                && other
                    .0
                    .iter()
                    .any(|&b| a >> 32 == b >> 32 && b as u32 != 0 && (a & b) as u32 == 0)
        })
    }

    /// The stored form: one signed 64-bit integer an entry, the same bits (0: empty).
    pub fn stored(self) -> [i64; TAGGED] {
        self.0.map(|e| i64::from_ne_bytes(e.to_ne_bytes()))
    }

    /// Reads [`FactTag::stored`].
    pub fn from_stored(stored: [i64; TAGGED]) -> Self {
        Self(stored.map(|e| u64::from_ne_bytes(e.to_ne_bytes())))
    }
}

/// The mask bit of a fact (`context << 32 | fact`).
fn bit(fact: u64) -> u32 {
    1 << (fact & 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::similarity;

    fn tag(text: &str) -> (FactTag, ShingleSet) {
        let set = ShingleSet::of_text(text);
        (FactTag::of(&set), set)
    }

    /// A note of six figures after fixed words, the figures drawn from `seed`.
    fn note(seed: u64) -> String {
        let mut x = seed;
        let mut figure = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % 40
        };
        format!(
            "The dollar is {} rubles, the euro {} rubles and the yuan {} rubles; gold costs {} \
             and silver {}, while the index closed at {} points.",
            figure(),
            figure(),
            figure(),
            figure(),
            figure(),
            figure()
        )
    }

    /// Whenever two tags conflict, the full comparison finds a conflicting context: the tag
    /// never refuses a pair the facts would allow (notes of six figures, two tagged, many
    /// figures shared by chance).
    #[test]
    fn a_tag_conflict_is_always_a_fact_conflict() {
        let (mut proved, mut pairs) = (0, 0);
        for a in 0..150u64 {
            for b in 0..30u64 {
                let ((ta, sa), (tb, sb)) = (tag(&note(a)), tag(&note(b)));
                assert_eq!(ta.conflicts(&tb), tb.conflicts(&ta), "symmetric");
                if ta.conflicts(&tb) {
                    proved += 1;
                    assert!(
                        similarity(&sa, &sb).facts_differing > 0,
                        "{} / {}",
                        note(a),
                        note(b)
                    );
                }
                pairs += usize::from(similarity(&sa, &sb).facts_differing > 0);
            }
        }
        assert!(
            proved * 2 > pairs,
            "the tags prove most conflicts: {proved} of {pairs}"
        );
    }

    #[test]
    fn copies_excerpts_and_texts_without_numbers_never_conflict() {
        let story = "The minister said on 5 May that 120 schools would open.";
        let (t, _) = tag(story);
        assert!(!t.conflicts(&t));
        let (excerpt, _) = tag("The minister said on 5 May that the schools would open.");
        assert!(!t.conflicts(&excerpt) && !excerpt.conflicts(&t));
        let (none, _) = tag("No numbers here at all.");
        assert_eq!(none, FactTag::default());
        assert!(!none.conflicts(&t) && !t.conflicts(&none));
        // Another figure after the same words: both contexts are tagged, the conflict proved.
        let (updated, _) = tag("The minister said on 5 May that 125 schools would open.");
        assert!(t.conflicts(&updated));
    }

    #[test]
    fn the_stored_form_reads_back() {
        let (t, _) = tag("Rates: 3 and 4, then 7 and 9, and 11.");
        assert_ne!(t, FactTag::default());
        assert_eq!(FactTag::from_stored(t.stored()), t);
        assert_eq!(FactTag::default().stored(), [0, 0]);
    }
}
