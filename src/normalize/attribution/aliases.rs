//! The configured names of every source, looked up the way texts write them: any case, with or
//! without `www.`, in Belarusian or Russian spelling (`Інтэрфакс` = `Интерфакс`), and inflected
//! (`«Интерфакса»`, `РИА Новостей`, `Пула Первого`, `БелТА-ой`) without the user listing every
//! case: each Cyrillic word is also indexed by its stem (a case ending taken off), abbreviations
//! (`ТАСС`, `БелТА`) only as written plus a hyphenated ending.

use std::collections::HashMap;

use crate::model::{SourceId, SourceProfile};
use crate::normalize::text::patterns::fold_case;

/// Russian and Belarusian noun and adjective case endings, longest first.
const ENDINGS: &[&str] = &[
    "ами", "ями", "ого", "его", "ому", "ему", "ой", "ей", "ом", "ем", "ам", "ям", "ах", "ях", "ов",
    "ев", "ых", "их", "ую", "юю", "ая", "яя", "ое", "ее", "ые", "ие", "ы", "а", "я", "у", "ю", "е",
    "и", "о", "ь",
];

/// Shortest stem a case ending may leave.
const MIN_STEM: usize = 3;

/// One configured source a name can mean.
type Entry = (SourceId, String);

/// Alias lookup built once from every configured source.
#[derive(Debug, Default)]
pub struct AliasIndex {
    exact: HashMap<String, Vec<Entry>>,
    stemmed: HashMap<String, Vec<Entry>>,
    /// Most words in one alias.
    max_words: usize,
}

/// A letter in the spelling both languages share (`і`→`и`, `ў`→`у`, `э`→`е`, `ё`→`е`).
fn fold_letter(c: char) -> Option<char> {
    match c {
        'і' | 'ї' => Some('и'),
        'ў' => Some('у'),
        'э' | 'ё' | 'є' => Some('е'),
        'ґ' => Some('г'),
        '\'' | '’' | 'ʼ' => None,
        _ => Some(c),
    }
}

/// An abbreviation keeps its form in every case (`ТАСС`, `БелТА`, `INTERFAX.RU`).
fn is_abbreviation(word: &str) -> bool {
    word.chars().filter(|c| c.is_uppercase()).count() >= 2
}

/// The lookup forms of one word: as written (folded), and its stem when it has a case ending.
fn word_keys(word: &str) -> (String, Option<String>) {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    // "БелТА-ой": a hyphenated case ending after an abbreviation.
    let word = match word.rsplit_once('-') {
        Some((head, tail))
            if is_abbreviation(head)
                && tail.chars().count() <= 3
                && tail.chars().all(|c| c.is_lowercase()) =>
        {
            head
        }
        _ => word,
    };
    let folded: String = fold_case(word).chars().filter_map(fold_letter).collect();
    let folded = folded
        .strip_prefix("www.")
        .map(str::to_owned)
        .unwrap_or(folded);
    let cyrillic = folded.chars().any(|c| ('а'..='я').contains(&c));
    if is_abbreviation(word) {
        // Marked in stem keys, so that an inflected ordinary word ("Тасса") never meets it.
        let marked = format!("={folded}");
        return (folded, Some(marked));
    }
    if !cyrillic {
        return (folded, None);
    }
    let stem = ENDINGS.iter().find_map(|e| {
        folded
            .strip_suffix(e)
            .filter(|s| s.chars().count() >= MIN_STEM)
    });
    let stem = stem.unwrap_or(&folded).to_owned();
    (folded, Some(stem))
}

/// The exact and stemmed keys of a name.
fn keys(words: &[&str]) -> (String, String) {
    let mut exact = Vec::with_capacity(words.len());
    let mut stems = Vec::with_capacity(words.len());
    for w in words {
        let (e, s) = word_keys(w);
        if e.is_empty() {
            continue;
        }
        stems.push(s.unwrap_or_else(|| e.clone()));
        exact.push(e);
    }
    (exact.join(" "), stems.join(" "))
}

fn pick(entries: &[Entry], prefer: Option<&SourceId>) -> Option<Entry> {
    entries
        .iter()
        .find(|(id, _)| Some(id) == prefer)
        .or_else(|| entries.first())
        .cloned()
}

impl AliasIndex {
    /// Indexes each source's name, aliases and home-page host.
    pub fn new(profiles: &[SourceProfile]) -> Self {
        let mut index = Self::default();
        for p in profiles {
            let entry = (p.id.clone(), p.name.clone());
            let host = p
                .homepage
                .as_ref()
                .and_then(|h| h.host_str().map(str::to_owned));
            let names = p
                .aliases
                .iter()
                .map(String::as_str)
                .chain([p.name.as_str()]);
            for name in names.chain(host.as_deref()) {
                let words: Vec<&str> = name.split_whitespace().collect();
                let (exact, stem) = keys(&words);
                if exact.is_empty() {
                    continue;
                }
                index.max_words = index.max_words.max(words.len());
                for (map, key) in [(&mut index.exact, exact), (&mut index.stemmed, stem)] {
                    let list = map.entry(key).or_default();
                    if !list.iter().any(|(id, _)| *id == entry.0) {
                        list.push(entry.clone());
                    }
                }
            }
        }
        index
    }

    /// The configured source a name refers to. When several sources share the name, `prefer`
    /// (the publisher) wins, else the first configured.
    pub fn resolve_for(&self, name: &str, prefer: Option<&SourceId>) -> Option<Entry> {
        let words: Vec<&str> = name.split_whitespace().collect();
        self.resolve_words(&words, prefer)
    }

    /// [`Self::resolve_for`] with no preference.
    pub fn resolve(&self, name: &str) -> Option<Entry> {
        self.resolve_for(name, None)
    }

    /// A name given as words: exact forms first, then stems.
    pub(super) fn resolve_words(&self, words: &[&str], prefer: Option<&SourceId>) -> Option<Entry> {
        let (exact, stem) = keys(words);
        if exact.is_empty() {
            return None;
        }
        self.exact
            .get(&exact)
            .and_then(|e| pick(e, prefer))
            .or_else(|| self.stemmed.get(&stem).and_then(|e| pick(e, prefer)))
    }

    /// The longest alias made of the first words of `words`: its length in words and source.
    pub(super) fn longest_prefix(
        &self,
        words: &[&str],
        prefer: Option<&SourceId>,
    ) -> Option<(usize, Entry)> {
        (1..=words.len().min(self.max_words))
            .rev()
            .find_map(|n| Some((n, self.resolve_words(words.get(..n)?, prefer)?)))
    }

    /// The longest alias made of the last words of `words`.
    pub(super) fn longest_suffix(
        &self,
        words: &[&str],
        prefer: Option<&SourceId>,
    ) -> Option<(usize, Entry)> {
        let len = words.len();
        (1..=len.min(self.max_words))
            .rev()
            .find_map(|n| Some((n, self.resolve_words(words.get(len - n..)?, prefer)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> AliasIndex {
        let p = |id: &str, name: &str, aliases: &[&str]| SourceProfile {
            id: SourceId::new(id).unwrap(),
            name: name.into(),
            homepage: None,
            language: None,
            timezone: Some(chrono_tz::UTC),
            aliases: aliases.iter().map(|s| (*s).to_owned()).collect(),
            selectors: None,
        };
        AliasIndex::new(&[
            p("interfax", "Интерфакс", &["Interfax"]),
            p("ria", "РИА Новости", &[]),
            p("pul", "Pul Pervogo", &["Пул Первого"]),
            p("belta", "BelTA", &["БелТА", "БЕЛТА"]),
            p("tass", "TASS", &["ТАСС"]),
            p("tass_ru", "ТАСС", &["ТАСС"]),
            p(
                "pres",
                "president.gov.by",
                &["пресс-служба белорусского лидера"],
            ),
        ])
    }

    #[test]
    fn inflected_and_belarusian_forms_resolve() {
        let i = index();
        let id = |n: &str| i.resolve(n).map(|(id, _)| id.to_string());
        for (form, want) in [
            ("«Интерфакса»", "interfax"),
            ("Інтэрфакс", "interfax"),
            ("Интерфаксом", "interfax"),
            ("РИА Новостей", "ria"),
            ("Пула Первого", "pul"),
            ("БелТА-ой", "belta"),
            ("белта", "belta"),
            ("пресс-службе белорусского лидера", "pres"),
        ] {
            assert_eq!(id(form).as_deref(), Some(want), "{form}");
        }
        // Abbreviations are not stemmed: a surname is not the agency.
        assert_eq!(id("Тасса"), None);
        assert_eq!(id("Пул"), None);
    }

    #[test]
    fn the_publisher_wins_a_shared_alias() {
        let i = index();
        let tass_ru = SourceId::new("tass_ru").unwrap();
        assert_eq!(i.resolve("ТАСС").unwrap().0.as_str(), "tass");
        assert_eq!(
            i.resolve_for("ТАСС", Some(&tass_ru)).unwrap().0.as_str(),
            "tass_ru"
        );
        let words = ["по", "РИА", "Новостей", "сегодня"];
        assert_eq!(i.longest_prefix(&words[1..], None).unwrap().0, 2);
        assert_eq!(i.longest_suffix(&words[..3], None).unwrap().0, 2);
    }
}
