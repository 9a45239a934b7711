//! Word shingles and exact set similarity: the ground truth every near-duplicate link is
//! verified against. Pure and sync.
//!
//! A text is read as its fingerprint (see [`super::fingerprint_text`]) lower-cased: NFC, then
//! maximal runs of alphanumeric characters are words and everything else (spaces, punctuation,
//! quotes, dashes) separates them. So quote-mark, dash, case and spacing changes never change a
//! shingle, while any changed word or number changes the [`SHINGLE_WORDS`] shingles around it.
//! Each shingle is kept as a 64-bit hash; two different shingles share a hash with probability
//! about 2⁻⁶⁴, so set sizes, Jaccard and containment are exact for all practical purposes.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Words per shingle. Five words is long enough that unrelated articles share almost none
/// (stock phrases aside), and short enough that one edited word costs at most five shingles.
pub const SHINGLE_WORDS: usize = 5;

/// Seed of the shingle hash; changing it changes every stored signature.
const SHINGLE_SEED: u64 = 0x7368_696e_676c_6535;

/// The splitmix64 finalizer: a fast bijective 64-bit mixer with full avalanche.
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a over the bytes, then [`mix64`] so every output bit depends on every input byte.
fn word_hash(word: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in word {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// Splits characters into lower-cased words and hashes each.
struct Words {
    hashes: Vec<u64>,
    word: String,
}

impl Words {
    fn feed(&mut self, c: char) {
        if c.is_alphanumeric() {
            if c.is_ascii() {
                self.word.push(c.to_ascii_lowercase());
            } else {
                self.word.extend(c.to_lowercase());
            }
        } else {
            self.end();
        }
    }

    fn end(&mut self) {
        if !self.word.is_empty() {
            self.hashes.push(word_hash(self.word.as_bytes()));
            self.word.clear();
        }
    }
}

/// Hashes of the words of `text`, in order (see the module doc for what a word is).
fn word_hashes(text: &str) -> Vec<u64> {
    let mut words = Words {
        hashes: Vec::with_capacity(text.len() / 5),
        word: String::with_capacity(32),
    };
    // Most agency text is already NFC; skip the normalizer's buffering when it is.
    if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        text.chars().for_each(|c| words.feed(c));
    } else {
        text.nfc().for_each(|c| words.feed(c));
    }
    words.end();
    words.hashes
}

/// The set of a text's word shingles, as sorted distinct 64-bit hashes.
///
/// A text of `n ≥ 5` words has at most `n − 4` shingles; a shorter, non-empty text has one
/// shingle made of all its words, so short texts still compare; an empty text has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShingleSet(Vec<u64>);

impl ShingleSet {
    /// Shingles `text`.
    pub fn of_text(text: &str) -> Self {
        let words = word_hashes(text);
        let k = SHINGLE_WORDS.min(words.len());
        if k == 0 {
            return Self::default();
        }
        let mut hashes: Vec<u64> = words
            .windows(k)
            .map(|w| w.iter().fold(SHINGLE_SEED, |h, &x| mix64(h ^ x)))
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        Self(hashes)
    }

    /// Builds a set from shingle hashes in any order (duplicates are removed).
    pub fn from_hashes(mut hashes: Vec<u64>) -> Self {
        hashes.sort_unstable();
        hashes.dedup();
        Self(hashes)
    }

    /// Number of distinct shingles.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text had no words.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The sorted hashes.
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }
}

/// How much two shingle sets overlap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// |A ∩ B| / |A ∪ B| (0 when both are empty).
    pub jaccard: f64,
    /// |A ∩ B| / min(|A|, |B|): how much of the smaller text is inside the larger one
    /// (0 when either is empty).
    pub containment: f64,
    /// |A ∩ B|.
    pub shared: usize,
    /// min(|A|, |B|), so callers can refuse containment of very short texts.
    pub smaller: usize,
}

/// Exact Jaccard and containment of two shingle sets (one merge pass, O(|A| + |B|)).
pub fn similarity(a: &ShingleSet, b: &ShingleSet) -> Similarity {
    let (a, b) = (a.as_slice(), b.as_slice());
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - shared;
    let smaller = a.len().min(b.len());
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    Similarity {
        jaccard: ratio(shared, union),
        containment: ratio(shared, smaller),
        shared,
        smaller,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_quotes_dashes_and_case_do_not_matter() {
        let a = ShingleSet::of_text(
            "\u{201C}We see steady demand\u{201D} \u{2014} said the Minister, on 12 May.",
        );
        let b = ShingleSet::of_text("\"we SEE steady demand\" - said the minister on 12 may");
        assert_eq!(a, b);
        assert_eq!(a.len(), 10 - 4);
    }

    #[test]
    fn nfc_makes_decomposed_letters_one_word() {
        let a = ShingleSet::of_text("caf\u{0065}\u{0301} in Minsk opens today again");
        let b = ShingleSet::of_text("caf\u{00E9} in Minsk opens today again");
        assert_eq!(a, b);
    }

    #[test]
    fn short_and_empty_texts() {
        assert!(ShingleSet::of_text(" — ").is_empty());
        assert_eq!(ShingleSet::of_text("Minsk, 5 May").len(), 1);
        assert_ne!(
            ShingleSet::of_text("Minsk, 5 May"),
            ShingleSet::of_text("Minsk, 6 May")
        );
    }

    #[test]
    fn word_order_matters_inside_a_shingle() {
        let a = ShingleSet::of_text("one two three four five");
        let b = ShingleSet::of_text("five four three two one");
        assert_eq!(similarity(&a, &b).shared, 0);
    }

    #[test]
    fn jaccard_and_containment() {
        let words: Vec<String> = (0..104).map(|i| format!("w{i}")).collect();
        let full = ShingleSet::of_text(&words.join(" "));
        let half = ShingleSet::of_text(&words[..54].join(" "));
        assert_eq!((full.len(), half.len()), (100, 50));
        let s = similarity(&full, &half);
        assert_eq!(s.shared, 50);
        assert!((s.jaccard - 0.5).abs() < 1e-12);
        assert!((s.containment - 1.0).abs() < 1e-12);
        let none = similarity(&full, &ShingleSet::default());
        assert_eq!((none.jaccard, none.containment), (0.0, 0.0));
    }
}
