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
