//! Language identification: detection on the article text (whatlang), sharpened for the
//! Cyrillic languages agencies mix (Russian, Belarusian, Ukrainian) by letters only one of them
//! uses, and cross-checked with the page's `lang` attribute and the source's configured language.

use whatlang::Lang;

/// Characters of text looked at: trigram detection is stable well before this, and the cost
/// grows with the sample.
const SAMPLE_CHARS: usize = 1000;

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
