//! Word shingles and exact set similarity: the ground truth every near-duplicate link is
//! verified against. Pure and sync.
//!
//! A text is read as its fingerprint (see [`super::fingerprint_text`]) lower-cased: NFC, then
//! maximal runs of alphanumeric characters are words and everything else (spaces, punctuation,
//! quotes, dashes) separates them. So quote-mark, dash, case and spacing changes never change a
//! shingle, while any changed word or number changes the [`SHINGLE_WORDS`] shingles around it.
//! Each shingle is kept as a 64-bit hash; two different shingles share a hash with probability
//! about 2⁻⁶⁴, so set sizes, Jaccard and containment are exact for all practical purposes.
//!
//! # Facts
//! Beside the shingles, a set keeps its *facts*: every number, a word made of digits only (amounts,
//! rates, scores, temperatures, days of the month, years; `3.2345` is the two facts `3` and
//! `2345`), each with its *context*, the two words before it. Two texts *conflict* on a context
//! they both have when they put no common fact after it: "the dollar is worth 3.6698" against
//! "the dollar is worth 3.6932". Two daily notes built from one template conflict on most of
//! their shared contexts; a copy, an excerpt or a digest on none (what it leaves out is missing,
//! not different); an updated story on one or two. [`Similarity::facts_differing`] counts the
//! conflicts.
//!
//! # Salts
//! Each shingle also keeps a 16-bit *salt* ([`ShingleSet::salt`]): the hash of the first
//! number (a run of number words: `2.9512` is one) at or after its first word, in the same
//! paragraph (no line break between) and within [`FACT_REACH`] words, else the last number
//! before it on the same terms; 0 when there is neither.
//! The far path's keys hash it in (`super::keys`), so the shingles a daily note shares with
//! its template's other notes name different keys on different days. A shingle that occurs
//! twice keeps its smaller salt, so moving paragraphs changes none.

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

/// FNV-1a's offset basis and prime: a word's hash is FNV-1a over its lower-cased UTF-8 bytes,
/// then [`mix64`] so every output bit depends on every input byte ([`Words::scan`]).
const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Words after a shingle's first one within which [`ShingleSet::salt`] looks for a number.
pub const FACT_REACH: usize = 20;

/// [`Words::flags`]: the word is a number.
const NUMBER: u8 = 1;
/// [`Words::flags`]: the word starts a paragraph (a line break before it).
const PARAGRAPH: u8 = 2;

/// The words of a text: their hashes in order, what each is ([`NUMBER`], [`PARAGRAPH`]), and
/// its facts.
struct Words {
    hashes: Vec<u64>,
    flags: Vec<u8>,
    facts: Vec<u64>,
}

impl Words {
    /// Splits `chars` into lower-cased words and hashes each, byte by byte as the characters
    /// come, the current word's state in locals (a `String` per word and a call per character
    /// cost about half the shingling time, measured with the dedup bench's first line).
    fn scan(&mut self, chars: impl Iterator<Item = char>) {
        // FNV-1a state of the current word, whether it has a byte, whether all are digits.
        let (mut word, mut empty, mut number) = (FNV_BASIS, true, true);
        let mut paragraph = false;
        let fnv = |h: u64, b: u8| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        for c in chars {
            if c.is_ascii_alphanumeric() {
                number &= c.is_ascii_digit();
                (word, empty) = (fnv(word, c.to_ascii_lowercase() as u8), false);
            } else if !c.is_ascii() && c.is_alphanumeric() {
                number &= c.is_numeric();
                let mut utf8 = [0u8; 4];
                for lower in c.to_lowercase() {
                    word = (lower.encode_utf8(&mut utf8).bytes()).fold(word, fnv);
                }
                empty = false;
            } else {
                if !empty {
                    self.push(word, number, paragraph);
                    (word, empty, number, paragraph) = (FNV_BASIS, true, true, false);
                }
                paragraph |= c == '\n';
            }
        }
        if !empty {
            self.push(word, number, paragraph);
        }
    }

    /// Adds the word whose FNV-1a state is `word`.
    fn push(&mut self, word: u64, number: bool, paragraph: bool) {
        let h = mix64(word);
        self.flags
            .push((u8::from(number) * NUMBER) | (u8::from(paragraph) * PARAGRAPH));
        if number {
            let n = self.hashes.len();
            let before = |k: usize| n.checked_sub(k).map_or(0, |i| self.hashes[i]);
            let context = mix64(before(2) ^ before(1).rotate_left(17));
            self.facts
                .push((context & 0xffff_ffff_0000_0000) | (h >> 32));
        }
        self.hashes.push(h);
    }
}

/// The words of `text`, in order (see the module doc for what a word is), and its facts
/// (numbers) as `context << 32 | fact` (32 bits of each hash), in order.
fn words(text: &str) -> Words {
    let mut words = Words {
        hashes: Vec::with_capacity(text.len() / 5),
        flags: Vec::with_capacity(text.len() / 5),
        facts: Vec::new(),
    };
    // Most agency text is already NFC (ASCII always is); skip the normalizer's buffering
    // when it is.
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        words.scan(text.chars());
    } else {
        words.scan(text.nfc());
    }
    words
}

/// Hashes of the words of `text` and its facts (see [`words`]).
#[cfg(test)]
fn word_hashes(text: &str) -> (Vec<u64>, Vec<u64>) {
    let w = words(text);
    (w.hashes, w.facts)
}

/// The salt of each of the `windows` shingles of `words` (shingle `w` starts at word `w`): the
/// first run of number words at or after its first word, in the same paragraph and within
/// [`FACT_REACH`] words, else the last number word before it on the same terms, as 16 bits of
/// its hash; 0 when there is neither. See [`ShingleSet::salt`].
fn salts(words: &Words, windows: usize) -> Vec<u16> {
    let n = words.hashes.len();
    let salt = |h: u64| ((h >> 48) as u16).max(1);
    let mut out = vec![0u16; windows];
    // From the back: the hash of the number run starting at the nearest number word ahead.
    let (mut next, mut run) = (usize::MAX, 0u64);
    for i in (0..n).rev() {
        let flags = words.flags[i];
        if flags & NUMBER != 0 {
            let continues = next == i + 1;
            run = mix64(words.hashes[i] ^ if continues { run.rotate_left(23) } else { 0 });
            next = i;
        }
        if i < windows && next != usize::MAX && next - i < FACT_REACH {
            out[i] = salt(run);
        }
        if flags & PARAGRAPH != 0 {
            next = usize::MAX;
        }
    }
    // From the front, for the shingles with no number ahead: the nearest number word behind.
    let mut prev = usize::MAX;
    for (i, slot) in out.iter_mut().enumerate() {
        let flags = words.flags[i];
        if flags & PARAGRAPH != 0 {
            prev = usize::MAX;
        }
        if *slot == 0 && prev != usize::MAX && i - prev < FACT_REACH {
            *slot = salt(mix64(words.hashes[prev] ^ PREVIOUS));
        }
        if flags & NUMBER != 0 {
            prev = i;
        }
    }
    out
}

/// Hashed into the salt of a shingle that takes the number before it.
const PREVIOUS: u64 = 0x7072_6576_696f_7573;

/// Sorted distinct shingles with their salts; a shingle that occurs more than once keeps its
/// smallest salt, so moving a paragraph does not change it.
fn sorted_salted(hashes: Vec<u64>, salts: Vec<u16>) -> (Vec<u64>, Vec<u16>) {
    let mut pairs: Vec<(u64, u16)> = hashes.into_iter().zip(salts).collect();
    pairs.sort_unstable();
    pairs.dedup_by_key(|p| p.0);
    pairs.into_iter().unzip()
}

/// The set of a text's word shingles, as sorted distinct 64-bit hashes, with its facts.
///
/// A text of `n ≥ 5` words has at most `n − 4` shingles; a shorter, non-empty text has one
/// shingle made of all its words, so short texts still compare; an empty text has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShingleSet {
    shingles: Vec<u64>,
    /// Sorted distinct `context << 32 | fact` of the numbers.
    facts: Vec<u64>,
    /// The salt of each shingle ([`ShingleSet::salt`]); empty for a set built from hashes.
    salts: Vec<u16>,
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v.dedup();
    v
}

impl ShingleSet {
    /// Shingles `text`.
    pub fn of_text(text: &str) -> Self {
        let words = words(text);
        let k = SHINGLE_WORDS.min(words.hashes.len());
        if k == 0 {
            return Self::default();
        }
        let hashes: Vec<u64> = (words.hashes)
            .windows(k)
            .map(|w| w.iter().fold(SHINGLE_SEED, |h, &x| mix64(h ^ x)))
            .collect();
        let salts = salts(&words, hashes.len());
        let (shingles, salts) = sorted_salted(hashes, salts);
        Self {
            shingles,
            facts: sorted(words.facts),
            salts,
        }
    }

    /// Builds a set from shingle hashes in any order (duplicates are removed), without facts.
    pub fn from_hashes(hashes: Vec<u64>) -> Self {
        Self::with_facts(hashes, Vec::new())
    }

    /// Builds a set from shingle and fact hashes in any order.
    pub fn with_facts(hashes: Vec<u64>, facts: Vec<u64>) -> Self {
        Self {
            shingles: sorted(hashes),
            facts: sorted(facts),
            salts: Vec::new(),
        }
    }

    /// The salt of a shingle of the set: 16 bits of the first number (a run of number words,
    /// such as `2.9512`) in its paragraph at most [`FACT_REACH`] words after its first word,
    /// else of the last number word before it on the same terms; 0 when there is neither, or
    /// when the set was built from hashes. Copies and excerpts give a shared shingle the same
    /// salt; daily notes of one template give their shared template shingles the day's own
    /// figures (`super::keys`, the far path).
    pub fn salt(&self, shingle: u64) -> u16 {
        match self.shingles.binary_search(&shingle) {
            Ok(i) => self.salts.get(i).copied().unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// The sorted facts, `context << 32 | fact` (see the module doc).
    pub fn facts(&self) -> &[u64] {
        &self.facts
    }

    /// Number of distinct shingles.
    pub fn len(&self) -> usize {
        self.shingles.len()
    }

    /// Whether the text had no words.
    pub fn is_empty(&self) -> bool {
        self.shingles.is_empty()
    }

    /// The sorted shingle hashes.
    pub fn as_slice(&self) -> &[u64] {
        &self.shingles
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
    /// Fact contexts both texts have where they put no common fact (see the module doc). An
    /// excerpt or a digest has none with the text it quotes; two daily notes of one template
    /// conflict on most shared contexts.
    pub facts_differing: usize,
    /// Fact contexts both texts have: the base `facts_differing` is judged against.
    pub facts_smaller: usize,
}

/// Size of the intersection of two sorted, distinct slices.
fn shared_count(a: &[u64], b: &[u64]) -> usize {
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
    shared
}

/// The run of `facts` (sorted) from `i` with the same context, as a slice.
fn group(facts: &[u64], i: usize) -> &[u64] {
    let ctx = facts[i] >> 32;
    let len = facts[i..].iter().take_while(|f| *f >> 32 == ctx).count();
    &facts[i..i + len]
}

/// (conflicting contexts, shared contexts) of two sorted fact lists.
fn conflicts(a: &[u64], b: &[u64]) -> (usize, usize) {
    let (mut i, mut j, mut conflicting, mut shared) = (0, 0, 0, 0);
    while i < a.len() && j < b.len() {
        let (ga, gb) = (group(a, i), group(b, j));
        match (ga[0] >> 32).cmp(&(gb[0] >> 32)) {
            std::cmp::Ordering::Less => i += ga.len(),
            std::cmp::Ordering::Greater => j += gb.len(),
            std::cmp::Ordering::Equal => {
                shared += 1;
                conflicting += usize::from(shared_count(ga, gb) == 0);
                i += ga.len();
                j += gb.len();
            }
        }
    }
    (conflicting, shared)
}

/// Exact Jaccard, containment and fact difference of two shingle sets (merge passes,
/// O(|A| + |B|)).
pub fn similarity(sa: &ShingleSet, sb: &ShingleSet) -> Similarity {
    let (a, b) = (sa.as_slice(), sb.as_slice());
    let shared = shared_count(a, b);
    let (facts_differing, facts_smaller) = conflicts(sa.facts(), sb.facts());
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
        facts_differing,
        facts_smaller,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_hash_is_fnv_1a_of_the_lower_cased_word_then_mixed() {
        // The stored index depends on these values: a word is hashed as its lower-cased UTF-8
        // bytes, whatever the script, and a lower-case form longer than the character counts.
        let text = "Минск, 5 мая (БелТА) – İstanbul ΣΟΦΊΑ 3.2345 naïve n\u{303}o";
        let nfc: String = text.nfc().collect();
        let reference: Vec<u64> = nfc
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let lower: String = w.chars().flat_map(char::to_lowercase).collect();
                mix64(
                    lower
                        .bytes()
                        .fold(FNV_BASIS, |h, b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)),
                )
            })
            .collect();
        let (hashes, facts) = word_hashes(text);
        assert_eq!(hashes, reference);
        assert_eq!(hashes.len(), 10);
        assert_eq!(facts.len(), 3, "5, 3 and 2345");
    }

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
    fn a_shingle_is_salted_with_the_figures_of_its_paragraph() {
        let text = |rate: &str, swap: bool| {
            let (a, b) = (
                format!("a1 a2 a3 a4 a5 a6 rate {rate} end of it"),
                "b1 b2 b3 b4 b5 b6 b7".to_owned(),
            );
            ShingleSet::of_text(&if swap {
                format!("{b}\n{a}")
            } else {
                format!("{a}\n{b}")
            })
        };
        let shingle = |s: &str| ShingleSet::of_text(s).as_slice()[0];
        let (head, tail, plain, absent) = (
            shingle("a1 a2 a3 a4 a5"),
            shingle("end of it b1 b2"),
            shingle("b1 b2 b3 b4 b5"),
            shingle("z1 z2 z3 z4 z5"),
        );
        let (x, y) = (text("3.25", false), text("3.30", false));
        // Before the figure: its run (`3.25`); after it, to the paragraph's end: its last
        // number word; none in a paragraph without numbers.
        for s in [head, tail] {
            assert!(x.salt(s) != 0 && x.salt(s) != y.salt(s), "{s:x}");
        }
        assert_eq!((x.salt(plain), y.salt(plain)), (0, 0));
        // Moved paragraphs keep every salt.
        let moved = text("3.25", true);
        for s in [head, plain] {
            assert_eq!(moved.salt(s), x.salt(s));
        }
        // A shingle not in the set, and a set built from hashes, have none.
        assert_eq!(x.salt(absent), 0);
        assert_eq!(ShingleSet::from_hashes(vec![head]).salt(head), 0);
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
