//! Fixed lists of lower-case ASCII words looked for inside `class` and `id` values, ignoring
//! ASCII case ("documentPublished", "PostDate"). Each list is one Aho–Corasick automaton
//! built on first use: the page scan asks about every element with a class or id and, for
//! each short digit text, about ten of its ancestors, so one pass per value replaces a scan
//! per word (the per-word scans were the largest part of the page scan).

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

/// A word list, compiled on first use.
pub(in crate::normalize::meta) struct Words {
    words: &'static [&'static str],
    ignore_case: bool,
    ac: OnceLock<AhoCorasick>,
}

impl Words {
    /// The list `words` (lower-case ASCII, no whitespace), matched ignoring ASCII case.
    pub(in crate::normalize::meta) const fn new(words: &'static [&'static str]) -> Self {
        Words {
            words,
            ignore_case: true,
            ac: OnceLock::new(),
        }
    }

    /// The list `words`, matched as written: the same answer as `value.contains(word)` for
    /// any word, in one pass over the value.
    pub(in crate::normalize::meta) const fn exact(words: &'static [&'static str]) -> Self {
        Words {
            words,
            ignore_case: false,
            ac: OnceLock::new(),
        }
    }

    /// Whether `value` contains one of the words (ignoring ASCII case unless [`Words::exact`]).
    pub(in crate::normalize::meta) fn in_value(&self, value: &str) -> bool {
        self.ac
            .get_or_init(|| {
                // Fixed literals: failing to build is a programming error, caught by every test.
                AhoCorasick::builder()
                    .ascii_case_insensitive(self.ignore_case)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(self.words)
                    .expect("static word list")
            })
            .is_match(value)
    }

    /// Whether the attribute is present and contains one of the words (see
    /// [`Words::in_value`]).
    pub(in crate::normalize::meta) fn in_attr(&self, attr: Option<&str>) -> bool {
        attr.is_some_and(|a| self.in_value(a))
    }
}

/// Several word lists in one automaton: one pass over a value says which lists have a word in
/// it, where one pass per list (and a substring search per case-sensitive word) scanned the
/// same `class` value again and again.
pub(in crate::normalize::meta) struct WordSets {
    /// Each list with whether it ignores ASCII case; list `i` answers as bit `1 << i`.
    lists: &'static [(&'static [&'static str], bool)],
    ac: OnceLock<(AhoCorasick, Vec<Word>)>,
}

/// One pattern of a [`WordSets`] automaton.
struct Word {
    bit: u32,
    /// The word as written, when its list is case-sensitive.
    exact: Option<&'static str>,
}

impl WordSets {
    /// The lists (lower-case ASCII words when the list ignores case).
    pub(in crate::normalize::meta) const fn new(
        lists: &'static [(&'static [&'static str], bool)],
    ) -> Self {
        WordSets {
            lists,
            ac: OnceLock::new(),
        }
    }

    /// Bit `1 << i` set when list `i` has a word in `value`: the same answer as
    /// [`Words::in_value`] of that list.
    pub(in crate::normalize::meta) fn mask(&self, value: &str) -> u32 {
        let (ac, words) = self.ac.get_or_init(|| {
            let mut words = Vec::new();
            let mut patterns = Vec::new();
            for (i, (list, ignore_case)) in self.lists.iter().enumerate() {
                for w in *list {
                    patterns.push(*w);
                    words.push(Word {
                        bit: 1 << i,
                        exact: (!ignore_case).then_some(*w),
                    });
                }
            }
            // Case-insensitive for all: a case-sensitive word is checked as written on each
            // match, and overlapping search reports every place any word occurs.
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .build(patterns)
                .expect("static word lists");
            (ac, words)
        });
        let all = (1u32 << self.lists.len()) - 1;
        let mut mask = 0;
        for m in ac.find_overlapping_iter(value) {
            let Some(w) = words.get(m.pattern().as_usize()) else {
                continue;
            };
            if w.exact.is_some_and(|e| value.get(m.range()) != Some(e)) {
                continue;
            }
            mask |= w.bit;
            if mask == all {
                break;
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition the automaton replaces.
    fn naive(hay: &str, words: &[&str]) -> bool {
        let lower = hay.to_ascii_lowercase();
        words.iter().any(|w| lower.contains(w))
    }

    #[test]
    fn same_answer_as_lowercased_contains() {
        const LIST: &[&str] = &["date", "time", "publish", "sr-only"];
        let words = Words::new(LIST);
        for hay in [
            "",
            "documentPublished",
            "PostDate",
            "entry-DATE updated",
            "sR-OnLy",
            "dat e",
            "timeline",
            "tim",
            "Ümlaut-date",
            "byline author",
            "Datum",
        ] {
            assert_eq!(words.in_value(hay), naive(hay, LIST), "{hay:?}");
        }
        assert!(!words.in_attr(None));
        assert!(words.in_attr(Some("article__time")));
    }

    #[test]
    fn word_sets_answer_like_one_list_each() {
        const A: &[&str] = &["date", "time", "publish"];
        const B: &[&str] = &["byline", "author"];
        const C: &[&str] = &["credit", "photo-author", "photo_author"];
        static SETS: WordSets = WordSets::new(&[(A, true), (B, true), (C, false)]);
        let (a, b, c) = (Words::new(A), Words::new(B), Words::exact(C));
        for hay in [
            "",
            "PostDate",
            "photo-author",
            "Photo-Author",
            "CREDIT credit",
            "Credit",
            "byline__author time",
            "photo_AUTHOR",
            "x-photo-author-date",
            "timeline dateline",
            "pub-lish",
        ] {
            let want = u32::from(a.in_value(hay))
                | u32::from(b.in_value(hay)) << 1
                | u32::from(c.in_value(hay)) << 2;
            assert_eq!(SETS.mask(hay), want, "{hay:?}");
        }
    }

    #[test]
    fn exact_lists_answer_like_contains() {
        const LIST: &[&str] = &["photo", "img", "pic", "photo-author"];
        let words = Words::exact(LIST);
        for hay in [
            "",
            "main_img",
            "MAIN_IMG",
            "topic",
            "Photo",
            "photoview__copyright",
            "im g",
            "pi",
            "Ümlaut-pic",
        ] {
            let naive = LIST.iter().any(|w| hay.contains(w));
            assert_eq!(words.in_value(hay), naive, "{hay:?}");
        }
    }
}
