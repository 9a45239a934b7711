//! `cited`: outlets named in running text next to a credit phrase of
//! [`super::conventions::CREDIT_PHRASES`] ("according to the X news agency", "X reports",
//! "сообщает агентство X", "как пишет «X»", "паведамляе X"). The text stays.
//!
//! A name any alias knows is always credited. A name no alias knows is credited only when the
//! words say it is an outlet: a descriptor ("agency", "Telegram channel", "агентство"), quotes
//! after a credit verb, an outlet word in the name ("China Daily"), a Latin name in Cyrillic
//! text ("пишет Bloomberg"), or a phrase only outlets use ("informs citing"). So "according to
//! Aleksandr Lukashenko" credits no one. In "X learned from Y" and "сообщили X в Y" the credit
//! goes to Y.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::conventions::{
    ARTICLES, CREDIT_PHRASES, CreditPhrase, DESCRIPTOR_WORDS, OUTLET_HEADS, OUTLET_WORDS,
    PREPOSITIONS, RECIPIENT_PREPOSITIONS, Side,
};
use super::tokens::{Token, sentence_around, tokenize};
use super::{AliasIndex, Found, Name};
use crate::model::SourceId;

/// Most words read as an unknown name.
const MAX_NAME_WORDS: usize = 4;
/// Most tokens between two quote marks of a quoted name.
const MAX_QUOTED_TOKENS: usize = 8;

/// [`CREDIT_PHRASES`] by their first word.
static BY_FIRST_WORD: LazyLock<HashMap<&'static str, Vec<&'static CreditPhrase>>> =
    LazyLock::new(|| {
        let mut map: HashMap<&str, Vec<&CreditPhrase>> = HashMap::new();
        for p in CREDIT_PHRASES {
            if let Some(first) = p.words.first() {
                map.entry(first).or_default().push(p);
            }
        }
        map
    });

/// [`CREDIT_PHRASES`] as written, lower case and capitalised: a block none of them occurs in
/// is not tokenized at all (most blocks of most pages).
static PHRASES: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    let mut forms: Vec<String> = Vec::new();
    for p in CREDIT_PHRASES {
        let phrase = p.words.join(" ");
        let mut chars = phrase.chars();
        let first = chars.next().into_iter().flat_map(char::to_uppercase);
        forms.push(first.chain(chars).collect());
        forms.push(phrase);
    }
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(forms)
        .ok()
});

/// Every outlet `text` credits in running text.
pub(super) fn find(text: &str, index: &AliasIndex, prefer: Option<&SourceId>) -> Vec<Found> {
    if PHRASES.as_ref().is_some_and(|ac| !ac.is_match(text)) {
        return Vec::new();
    }
    let toks = tokenize(text);
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let Some(phrases) = BY_FIRST_WORD.get(t.lower.as_str()) else {
            continue;
        };
        for p in phrases {
            let end = i + p.words.len();
            let same = toks
                .get(i..end)
                .is_some_and(|w| w.iter().zip(p.words).all(|(t, w)| t.lower == *w));
            let blocked = toks
                .get(end)
                .is_some_and(|n| p.not_before.contains(&n.lower.as_str()));
            if !same || blocked {
                continue;
            }
            let reader = Reader {
                toks: &toks,
                index,
                prefer,
            };
            let name = match p.side {
                Side::After => reader.after(p, end),
                Side::Before => reader.before(p, i),
            };
            if let Some(name) = name {
                let evidence =
                    sentence_around(text, t.start.min(name.start), name.end.max(t.end()));
                out.push(Found {
                    name,
                    evidence: evidence.to_owned(),
                });
            }
        }
    }
    out
}

struct Reader<'a, 't> {
    toks: &'a [Token<'t>],
    index: &'a AliasIndex,
    prefer: Option<&'a SourceId>,
}

impl Reader<'_, '_> {
    fn lower(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| t.lower.as_str())
    }

    fn is_descriptor(&self, i: usize) -> bool {
        let l = self.lower(i);
        DESCRIPTOR_WORDS.contains(&l) || OUTLET_HEADS.contains(&l)
    }

    /// The name after a phrase ending at token `p`.
    fn after(&self, phrase: &CreditPhrase, mut p: usize) -> Option<Name> {
        while ARTICLES.contains(&self.lower(p)) {
            p += 1;
        }
        let mut described = false;
        while self.is_descriptor(p)
            && !self
                .toks
                .get(p)
                .is_some_and(|t| t.capitalised() && self.known_at(p))
        {
            described |= OUTLET_HEADS.contains(&self.lower(p));
            p += 1;
        }
        let (mut name, next) = self.name_from(p)?;
        if phrase.recipient && RECIPIENT_PREPOSITIONS.contains(&self.lower(next)) {
            // "сообщили БЕЛТА в пресс-службе …": the credit is the place, if it is a source.
            let (place, _) = self.name_from(next + 1)?;
            return place.source.is_some().then_some(place);
        }
        described |= (next..next + 3).any(|j| OUTLET_HEADS.contains(&self.lower(j)));
        name.described |= described;
        self.keep(name, phrase)
    }

    /// The name before a phrase starting at token `k`.
    fn before(&self, phrase: &CreditPhrase, mut k: usize) -> Option<Name> {
        if phrase.comma && self.lower(k.checked_sub(1)?) == "," {
            k -= 1;
        }
        // "a Xinhua correspondent in Tokyo reported"
        if k >= 3
            && self.lower(k - 2) == "in"
            && self.toks.get(k - 1).is_some_and(Token::capitalised)
            && OUTLET_HEADS.contains(&self.lower(k - 3))
        {
            k -= 2;
        }
        let mut described = false;
        while k > 0 && self.is_descriptor(k - 1) && !self.known_before(k) {
            described |= OUTLET_HEADS.contains(&self.lower(k - 1));
            k -= 1;
        }
        let (mut name, first) = self.name_until(k)?;
        if first > 0 && PREPOSITIONS.contains(&self.lower(first - 1)) {
            return None;
        }
        described |=
            (first.saturating_sub(3)..first).any(|j| OUTLET_HEADS.contains(&self.lower(j)));
        name.described |= described;
        self.keep(name, phrase)
    }

    fn keep(&self, name: Name, phrase: &CreditPhrase) -> Option<Name> {
        let ok = name.source.is_some()
            || name.described
            || name.quoted
            || phrase.trust_unknown
            || outlet_like(&name.text, self.toks);
        ok.then_some(name)
    }

    fn known_at(&self, p: usize) -> bool {
        self.words(p, p + 1).len() == 1
            && self
                .index
                .resolve_words(&self.words(p, p + 1), self.prefer)
                .is_some()
    }

    fn known_before(&self, k: usize) -> bool {
        let run: Vec<&str> = self
            .toks
            .get(k.saturating_sub(6)..k)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|t| t.word)
            .map(|t| t.text)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        self.index.longest_suffix(&run, self.prefer).is_some()
    }

    /// Consecutive word texts of tokens `from..to` (stops at the first non-word).
    fn words(&self, from: usize, to: usize) -> Vec<&str> {
        self.toks
            .get(from..to.min(self.toks.len()))
            .unwrap_or_default()
            .iter()
            .take_while(|t| t.word)
            .map(|t| t.text)
            .collect()
    }

    /// A name starting at token `p`, and the token after it.
    fn name_from(&self, p: usize) -> Option<(Name, usize)> {
        let first = self.toks.get(p)?;
        if first.opens_quote() {
            let close = (p + 1..p + 1 + MAX_QUOTED_TOKENS)
                .find(|&j| self.toks.get(j).is_some_and(Token::closes_quote))?;
            let inner = self.toks.get(p + 1..close)?;
            let (start, end) = (inner.first()?.start, inner.last()?.end());
            return Some((self.name(start, end, true), close + 1));
        }
        let words = self.words(p, p + 6);
        if let Some((n, (id, display))) = self.index.longest_prefix(&words, self.prefer) {
            let last = self.toks.get(p + n - 1)?;
            let name = Name::known(first.start, last.end(), id, display);
            return Some((name, p + n));
        }
        let n = self
            .toks
            .get(p..)?
            .iter()
            .take(MAX_NAME_WORDS)
            .take_while(|t| t.capitalised() && !OUTLET_HEADS.contains(&t.lower.as_str()))
            .count();
        let last = self.toks.get((p + n).checked_sub(1)?).filter(|_| n > 0)?;
        Some((self.name(first.start, last.end(), false), p + n))
    }

    /// A name ending just before token `k`, and its first token.
    fn name_until(&self, k: usize) -> Option<(Name, usize)> {
        let last = self.toks.get(k.checked_sub(1)?)?;
        if last.closes_quote() {
            let open = (k.saturating_sub(1 + MAX_QUOTED_TOKENS)..k - 1)
                .rev()
                .find(|&j| self.toks.get(j).is_some_and(Token::opens_quote))?;
            let inner = self.toks.get(open + 1..k - 1)?;
            let (start, end) = (inner.first()?.start, inner.last()?.end());
            return Some((self.name(start, end, true), open));
        }
        let from = k.saturating_sub(6);
        let words: Vec<&str> = self.toks.get(from..k)?.iter().map(|t| t.text).collect();
        let tail_words = words
            .iter()
            .rev()
            .take_while(|w| w.chars().any(char::is_alphanumeric))
            .count();
        let tail = words.get(words.len() - tail_words..)?;
        if let Some((n, (id, display))) = self.index.longest_suffix(tail, self.prefer) {
            let first = self.toks.get(k - n)?;
            return Some((Name::known(first.start, last.end(), id, display), k - n));
        }
        let n = self
            .toks
            .get(..k)?
            .iter()
            .rev()
            .take(MAX_NAME_WORDS)
            .take_while(|t| t.capitalised())
            .count();
        let first = self.toks.get(k.checked_sub(n)?).filter(|_| n > 0)?;
        Some((self.name(first.start, last.end(), false), k - n))
    }

    /// A name spanning bytes `start..end` of the line, resolved through the aliases.
    fn name(&self, start: usize, end: usize, quoted: bool) -> Name {
        let text: String = self
            .toks
            .iter()
            .filter(|t| t.start >= start && t.end() <= end)
            .map(|t| t.text)
            .collect::<Vec<_>>()
            .join(" ");
        let words: Vec<&str> = text.split_whitespace().collect();
        let source = self.index.resolve_words(&words, self.prefer);
        Name {
            start,
            end,
            text: text
                .trim_end_matches(['\'', '’'])
                .trim_end_matches("'s")
                .to_owned(),
            source,
            quoted,
            described: false,
        }
    }
}

/// Whether an unknown name looks like an outlet on its own: an outlet word in it ("China
/// Daily", "Гомельская праўда"), a leading article ("The Global Times", "Le Parisien"), or a
/// Latin name in Cyrillic text ("пишет Bloomberg").
fn outlet_like(name: &str, toks: &[Token<'_>]) -> bool {
    let words: Vec<String> = name
        .split_whitespace()
        .map(crate::normalize::text::patterns::fold_case)
        .collect();
    if words.iter().any(|w| OUTLET_WORDS.contains(&w.as_str())) {
        return true;
    }
    if words.len() >= 2
        && matches!(
            words.first().map(String::as_str),
            Some("the" | "le" | "la" | "les" | "el" | "il" | "die" | "der" | "das")
        )
    {
        return true;
    }
    let latin = name
        .chars()
        .all(|c| !c.is_alphabetic() || c.is_ascii_alphabetic());
    let cyrillic_text = toks
        .iter()
        .filter(|t| t.word)
        .filter(|t| t.text.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)))
        .count()
        * 2
        > toks.iter().filter(|t| t.word).count();
    latin && cyrillic_text
}
