//! Splits a line into words and punctuation with byte spans, for the phrase rules: a word is a
//! run of letters and digits, with `.`, `-`, `_`, `'` and `’` kept inside it when letters or
//! digits stand on both sides ("INTERFAX.RU", "Telegram-канал", "company's").

use crate::normalize::text::patterns::fold_case;

/// One word or punctuation mark of a line.
#[derive(Debug, Clone)]
pub(super) struct Token<'a> {
    /// The token as written.
    pub(super) text: &'a str,
    /// Byte offset of the token in the line.
    pub(super) start: usize,
    /// Lower-case form (see [`fold_case`]).
    pub(super) lower: String,
    /// Whether it is a word (else one punctuation character).
    pub(super) word: bool,
}

impl Token<'_> {
    /// Byte offset just past the token.
    pub(super) fn end(&self) -> usize {
        self.start + self.text.len()
    }

    /// A word whose first letter is upper case ("Reuters", "БЕЛТА", "Pul").
    pub(super) fn capitalised(&self) -> bool {
        self.word && self.text.chars().next().is_some_and(char::is_uppercase)
    }

    /// An opening quote mark.
    pub(super) fn opens_quote(&self) -> bool {
        matches!(self.text, "«" | "“" | "„" | "\"" | "‘" | "'")
    }

    /// A closing quote mark.
    pub(super) fn closes_quote(&self) -> bool {
        matches!(self.text, "»" | "”" | "“" | "\"" | "’" | "'")
    }
}

fn joiner(c: char) -> bool {
    matches!(c, '.' | '-' | '_' | '\'' | '’')
}

/// The tokens of `line`; whitespace is dropped.
pub(super) fn tokenize(line: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while let Some(&(start, c)) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        if c.is_alphanumeric() {
            while let Some(&(_, d)) = chars.get(j) {
                let joins =
                    joiner(d) && chars.get(j + 1).is_some_and(|&(_, e)| e.is_alphanumeric());
                if d.is_alphanumeric() || joins {
                    j += 1;
                } else {
                    break;
                }
            }
        }
        let end = chars.get(j).map_or(line.len(), |&(b, _)| b);
        let text = line.get(start..end).unwrap_or_default();
        out.push(Token {
            text,
            start,
            lower: fold_case(text),
            word: c.is_alphanumeric(),
        });
        i = j;
    }
    out
}

/// The sentence of `text` around the byte range `start..end`: from after the previous
/// sentence end (". ", "! ", "? ") to the next one, the end mark included.
pub(super) fn sentence_around(text: &str, start: usize, end: usize) -> &str {
    let is_end = |w: &[u8]| matches!(w, [b'.' | b'!' | b'?', b' ']);
    let bytes = text.as_bytes();
    let from = bytes
        .get(..start)
        .and_then(|head| head.windows(2).rposition(is_end))
        .map_or(0, |p| p + 2);
    let to = bytes
        .get(end..)
        .and_then(|tail| tail.windows(2).position(is_end))
        .map_or(text.len(), |p| end + p + 1);
    text.get(from..to).unwrap_or(text).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_inner_joiners() {
        let t = tokenize("«Интерфакс», INTERFAX.RU, Telegram-канал company's. Jan.");
        let words: Vec<&str> = t.iter().map(|t| t.text).collect();
        assert_eq!(
            words,
            [
                "«",
                "Интерфакс",
                "»",
                ",",
                "INTERFAX.RU",
                ",",
                "Telegram-канал",
                "company's",
                ".",
                "Jan",
                "."
            ]
        );
        assert_eq!(t[6].lower, "telegram-канал");
    }

    #[test]
    fn sentence_is_cut_at_sentence_ends() {
        let s = "One. Two, Reuters reports. Three.";
        let at = s.find("Reuters").unwrap();
        assert_eq!(sentence_around(s, at, at + 7), "Two, Reuters reports.");
    }
}
