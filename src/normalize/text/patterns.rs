//! Helpers for the normalizer's fixed text patterns (boilerplate lines, attribution, the
//! generic extractor's line filter), about the scripts newsmill reads: [`WORD`] instead of
//! Unicode `\w`, [`fold_case`] instead of `(?i)`, and [`compile`] for a fixed pattern. Both
//! substitutes exist for compile time: a short `extract` run spent most of its CPU compiling
//! Unicode-wide classes.

use regex::Regex;

/// Unicode `\w` restricted to U+0000–U+052F (Latin, Greek, Cyrillic and their combining
/// marks), as a regex class: the word characters of every language the normalizer's text
/// patterns look for (English, Russian, Belarusian, Ukrainian, Polish, German).
///
/// Why not plain `\w`: it has ~800 ranges, every copy of it in a pattern is compiled into a
/// large UTF-8 automaton, and bounded repeats make many copies (`[\w-]{2,20}` alone took
/// 12 ms). Compiling such patterns was most of the CPU time of a one-page `extract`. Outside
/// these blocks (CJK, Arabic, …) a character does not count as a word character for them.
pub const WORD: &str = r"[\w&&\x00-\x{52F}]";

/// `pattern` with every `\w` replaced by [`WORD`]. A nested class is valid inside brackets
/// too (`[\w.-]` becomes `[[\w&&…].-]`), so patterns keep the usual spelling.
pub fn narrow_words(pattern: &str) -> String {
    pattern.replace(r"\w", WORD)
}

/// Lower-cases `text` for patterns written in lower case without `(?i)`, one character for
/// one character, so that such a pattern matches the folded text exactly where its `(?i)` form
/// matches the original, for every Latin and Cyrillic letter (checked against the regex
/// crate's simple case folding for all of Unicode). The one difference: `ſ` and `K` (Kelvin)
/// become ASCII letters, which moves an ASCII word boundary `(?-u:\b)` next to them.
///
/// Why: `(?i)` doubles the compile time of long keyword alternations (every letter becomes
/// a class, and literal prefilters multiply), and compiling them was a large part of a short
/// run. Lower-casing a short line costs far less than that.
pub fn fold_case(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        // ASCII letters fold to ASCII: no case table look-up for them.
        out.push(match c.is_ascii() {
            true => c.to_ascii_lowercase(),
            false => fold_char(c),
        });
    }
    out
}

fn fold_char(c: char) -> char {
    match c {
        // Lower-case letters that `(?i)` also folds with another lower-case letter.
        'ſ' => 's',
        '\u{1C80}' => 'в',
        '\u{1C81}' => 'д',
        '\u{1C82}' => 'о',
        '\u{1C83}' => 'с',
        '\u{1C84}' | '\u{1C85}' => 'т',
        '\u{1C86}' => 'ъ',
        '\u{1C87}' => 'ѣ',
        '\u{1C88}' => 'ꙋ',
        _ => {
            // Keep characters whose lower case is longer (`İ`): `(?i)` folds one to one.
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        }
    }
}

/// Compiles a fixed pattern with `\w` narrowed ([`narrow_words`]). The patterns are literals
/// checked by the tests: a failure is a programming error.
pub fn compile(pattern: &str) -> Regex {
    Regex::new(&narrow_words(pattern)).unwrap_or_else(|e| panic!("bad pattern {pattern}: {e}"))
}

/// Whether the capture group `name` is absent or at most `max` characters long: the length
/// check that replaces a bounded repeat such as `.{0,200}`, which compiles that many copies of
/// the any-character automaton.
pub fn fits(caps: &regex::Captures<'_>, name: &str, max: usize) -> bool {
    caps.name(name)
        .is_none_or(|m| m.as_str().chars().count() <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowed_word_class() {
        let re = regex::Regex::new(&narrow_words(r"^[\w.-]+$")).unwrap();
        for w in [
            "Lukashenko",
            "Лукашэнка",
            "Ўі_ёЁ",
            "Łódź",
            "Grüße",
            "a.b-c",
            "Їжак",
        ] {
            assert!(re.is_match(w), "{w}");
        }
        assert!(!re.is_match("新华社") && !re.is_match("a b") && !re.is_match("«a»"));
        let boundary = regex::Regex::new(&narrow_words(r"[^\w.-]x")).unwrap();
        assert!(boundary.is_match(" x") && !boundary.is_match("ёx"));
    }

    #[test]
    fn fold_case_matches_case_insensitive_patterns() {
        assert_eq!(fold_case("Read ALSO"), "read also");
        assert_eq!(fold_case("ЧЫТАЙЦЕ Таксама Ўі Ёё"), "чытайце таксама ўі ёё");
        assert_eq!(fold_case("İ ſ ẞ"), "İ s ß");
        let letters = ('a'..='z')
            .chain('а'..='я')
            .chain("ёіўїєґąćęłńóśźżäöüß".chars());
        for l in letters {
            let re = regex::Regex::new(&format!("(?i)^{l}$")).unwrap();
            for c in [
                l,
                l.to_uppercase().next().unwrap(),
                'ſ',
                'K',
                'İ',
                '\u{1C82}',
            ] {
                let folded = fold_case(c.encode_utf8(&mut [0; 4]));
                assert_eq!(
                    re.is_match(&c.to_string()),
                    folded == l.to_string(),
                    "{l} {c}"
                );
            }
        }
    }
}
