//! Language identification: detection on the article text (whatlang), sharpened for the
//! Cyrillic languages agencies mix (Russian, Belarusian, Ukrainian) by letters only one of them
//! uses, and cross-checked with the page's `lang` attribute and the source's configured language.
//!
//! It also owns two helpers for the text patterns of the other normalizer modules, both about
//! the scripts those languages are written in: [`WORD`], used instead of Unicode `\w`, and
//! [`fold_case`], a lower-casing pre-pass used instead of `(?i)`.

use whatlang::Lang;

/// Characters of text looked at: trigram detection is stable well before this, and the cost
/// grows with the sample.
const SAMPLE_CHARS: usize = 1000;

/// Unicode `\w` restricted to U+0000–U+052F (Latin, Greek, Cyrillic and their combining
/// marks), as a regex class: the word characters of every language the normalizer's text
/// patterns look for (English, Russian, Belarusian, Ukrainian, Polish, German).
///
/// Why not plain `\w`: it has ~800 ranges, every copy of it in a pattern is compiled into a
/// large UTF-8 automaton, and bounded repeats make many copies (`[\w-]{2,20}` alone took
/// 12 ms). Compiling such patterns was most of the CPU time of a one-page `extract`. Outside
/// these blocks (CJK, Arabic, …) a character does not count as a word character for them.
pub(crate) const WORD: &str = r"[\w&&\x00-\x{52F}]";

/// `pattern` with every `\w` replaced by [`WORD`]. A nested class is valid inside brackets
/// too (`[\w.-]` becomes `[[\w&&…].-]`), so patterns keep the usual spelling.
pub(crate) fn narrow_words(pattern: &str) -> String {
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
pub(crate) fn fold_case(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.chars().map(fold_char).collect()
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

/// Detection restricted to the languages newsmill reports (the ones [`iso639_1`] maps): fewer
/// trigram profiles to score, and no exotic near-miss answers for short texts.
static DETECTOR: std::sync::LazyLock<whatlang::Detector> = std::sync::LazyLock::new(|| {
    let langs = whatlang::Lang::all()
        .iter()
        .copied()
        .filter(|l| iso639_1(*l).is_some())
        .collect();
    whatlang::Detector::with_allowlist(langs)
});

/// ISO 639-1 code of the article's language, or `None` when nothing credible is known.
pub fn detect(text: &str, html_lang: Option<&str>, configured: Option<&str>) -> Option<String> {
    let sample: String = text.chars().take(SAMPLE_CHARS).collect();
    let declared = html_lang
        .and_then(|l| l.split(['-', '_']).next())
        .map(str::to_ascii_lowercase)
        .filter(|l| l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase()));
    if let Some(cyr) = cyrillic_language(&sample) {
        return Some(cyr.to_owned());
    }
    let detected = DETECTOR
        .detect(&sample)
        .filter(|i| i.confidence() > 0.3 || sample.chars().count() > 200)
        .and_then(|i| iso639_1(i.lang()));
    match (detected, declared, configured) {
        (Some(d), _, _) => Some(d.to_owned()),
        (None, Some(l), _) => Some(l),
        (None, None, c) => c.map(str::to_owned),
    }
}

/// Decides between Russian, Belarusian and Ukrainian by letters unique to each; `None` when
/// the text is not mostly Cyrillic.
fn cyrillic_language(text: &str) -> Option<&'static str> {
    let (mut cyr, mut letters) = (0usize, 0usize);
    let (mut be, mut ru, mut uk) = (0usize, 0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyr += 1;
        }
        match c.to_lowercase().next().unwrap_or(c) {
            'ў' => be += 3,
            'і' => {
                be += 1;
                uk += 1;
            }
            'ї' | 'є' | 'ґ' => uk += 3,
            'и' | 'щ' => {
                ru += 1;
                uk += 1;
            }
            'ъ' => ru += 1,
            'ы' | 'э' | 'ё' => {
                ru += 1;
                be += 1;
            }
            _ => {}
        }
    }
    if letters < 20 || cyr * 2 < letters {
        return None;
    }
    // Belarusian has no и/щ/ъ; Ukrainian has no ы/э/ё; Russian has no і/ў/ї/є.
    let best = [("be", be), ("ru", ru), ("uk", uk)]
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(l, _)| l);
    best.filter(|_| be + ru + uk > 0)
}

fn iso639_1(lang: Lang) -> Option<&'static str> {
    Some(match lang {
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Bel => "be",
        Lang::Ukr => "uk",
        Lang::Deu => "de",
        Lang::Pol => "pl",
        Lang::Cmn => "zh",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Ita => "it",
        Lang::Por => "pt",
        Lang::Nld => "nl",
        Lang::Tur => "tr",
        Lang::Ara => "ar",
        Lang::Jpn => "ja",
        Lang::Kor => "ko",
        Lang::Ces => "cs",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Kat => "ka",
        Lang::Hye => "hy",
        Lang::Bul => "bg",
        Lang::Srp => "sr",
        Lang::Hin => "hi",
        Lang::Vie => "vi",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Ron => "ro",
        Lang::Hun => "hu",
        Lang::Ell => "el",
        Lang::Heb => "he",
        Lang::Pes => "fa",
        _ => return None,
    })
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

    #[test]
    fn russian_belarusian_ukrainian() {
        let ru = "Президент Беларуси Александр Лукашенко провел совещание с руководством правительства, обсуждались вопросы экономики.";
        let be = "Прэзідэнт Беларусі Аляксандр Лукашэнка правёў нараду з кіраўніцтвам урада, абмяркоўваліся пытанні эканомікі.";
        let uk = "Президент Білорусі провів нараду з керівництвом уряду, обговорювалися питання економіки та її розвитку.";
        assert_eq!(detect(ru, None, None).as_deref(), Some("ru"));
        assert_eq!(detect(be, Some("ru"), Some("ru")).as_deref(), Some("be"));
        assert_eq!(detect(uk, None, None).as_deref(), Some("uk"));
    }

    #[test]
    fn latin_and_fallbacks() {
        let en = "The President of Belarus paid a working visit to Volgograd, where he took part in a forum of the Union State.";
        let de = "Der Präsident von Belarus hat Wolgograd besucht und an einem Forum des Unionsstaates teilgenommen.";
        let pl = "Prezydent Białorusi złożył wizytę roboczą w Wołgogradzie, gdzie wziął udział w forum Państwa Związkowego.";
        assert_eq!(detect(en, None, None).as_deref(), Some("en"));
        assert_eq!(detect(de, None, None).as_deref(), Some("de"));
        assert_eq!(detect(pl, None, None).as_deref(), Some("pl"));
        assert_eq!(detect("", Some("en-US"), None).as_deref(), Some("en"));
        assert_eq!(detect("", None, Some("ru")).as_deref(), Some("ru"));
        assert_eq!(detect("", None, None), None);
        assert_eq!(
            detect(
                "新华社北京5月5日电 中国国家主席习近平会见白俄罗斯总统。",
                None,
                None
            )
            .as_deref(),
            Some("zh")
        );
    }
}
