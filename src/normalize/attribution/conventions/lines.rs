//! The conventions of whole lines: closing "based on" openers, photo-credit markers and the
//! wire-dateline shapes of each agency family (see the parent module doc).

/// Openers of a closing source line; the names follow. `needs_colon`: the opener alone is an
/// ordinary word ("Source", "Источник") and credits only when a colon or dash follows it.
pub(in crate::normalize::attribution) struct BasedOnOpener {
    pub(in crate::normalize::attribution) words: &'static [&'static str],
    pub(in crate::normalize::attribution) needs_colon: bool,
}

const fn opener(words: &'static [&'static str]) -> BasedOnOpener {
    BasedOnOpener {
        words,
        needs_colon: false,
    }
}

const fn labelled(words: &'static [&'static str]) -> BasedOnOpener {
    BasedOnOpener {
        words,
        needs_colon: true,
    }
}

/// Closing "based on" lines in English, Russian, Belarusian and Polish.
pub(in crate::normalize::attribution) const BASED_ON_OPENERS: &[BasedOnOpener] = &[
    opener(&["based", "on", "materials", "of"]),
    opener(&["based", "on", "materials", "from"]),
    opener(&["based", "on", "materials", "by"]),
    opener(&["based", "on", "the", "materials", "of"]),
    opener(&["prepared", "using", "materials", "from"]),
    opener(&["prepared", "using", "materials", "of"]),
    opener(&["prepared", "based", "on", "materials", "from"]),
    opener(&["using", "materials", "from"]),
    opener(&["with", "materials", "from"]),
    opener(&["according", "to", "materials", "of"]),
    opener(&["according", "to", "materials", "from"]),
    labelled(&["source"]),
    labelled(&["sources"]),
    opener(&["по", "материалам"]),
    opener(&["подготовлено", "по", "материалам"]),
    opener(&["подготовлен", "по", "материалам"]),
    opener(&["подготовлена", "по", "материалам"]),
    opener(&["материал", "подготовлен", "по", "материалам"]),
    labelled(&["источник"]),
    labelled(&["источники"]),
    labelled(&["источник", "и", "фото"]),
    opener(&["па", "матэрыялах"]),
    opener(&["паводле", "матэрыялаў"]),
    opener(&["падрыхтавана", "па", "матэрыялах"]),
    labelled(&["крыніца"]),
    labelled(&["крыніцы"]),
    opener(&["na", "podstawie", "materiałów"]),
];

/// Words that open a photo-credit line (lower case, followed by a space, colon or dash).
pub(in crate::normalize::attribution) const PHOTO_MARKERS: &[&str] = &[
    "photo",
    "photos",
    "photograph",
    "image",
    "credit",
    "фото",
    "фота",
    "foto",
    "zdjęcie",
    "©",
];

/// Words inside a credit that are not names: removed before the parts are read.
pub(in crate::normalize::attribution) const CREDIT_FILLER: &[&str] = &[
    "photo",
    "photos",
    "photograph",
    "by",
    "courtesy",
    "of",
    "image",
    "credit",
    "pool",
    "via",
    "фото",
    "фота",
    "foto",
    "из",
    "архива",
    "с",
    "сайта",
    "з",
    "сайта",
    "zdjęcie",
    "©",
    "(c)",
];

/// Lines that credit a picture without naming an outlet ("An archive photo", "Фото автора").
pub(in crate::normalize::attribution) const UNNAMED_CREDITS: &[&str] = &[
    "archive photo",
    "illustrative photo",
    "архивное фото",
    "фото из архива",
    "фото автора",
    "фото иллюстративное",
    "фота аўтара",
    "фота ілюстратыўнае",
    "фота з архіва",
];

/// A wire-dateline shape of one agency family: an anchored pattern with an `agency` group,
/// plus cheap necessary conditions checked before it is compiled and run.
pub(in crate::normalize::attribution) struct DatelineShape {
    /// Which agencies write it, with an example: documentation for whoever extends the table,
    /// also named when a pattern fails to compile.
    pub(in crate::normalize::attribution) family: &'static str,
    /// Anchored pattern with an `agency` group; `\w` is narrowed.
    pub(in crate::normalize::attribution) pattern: &'static str,
    /// Whether a paragraph opening with this character can match.
    pub(in crate::normalize::attribution) opens: fn(char) -> bool,
    /// A character every match contains.
    pub(in crate::normalize::attribution) needs: char,
}

/// Upper-case first letter of a place name: Latin, Russian and Belarusian (`І`, `Ў`).
pub(in crate::normalize::attribution) fn capital(c: char) -> bool {
    matches!(c, 'A'..='Z' | 'А'..='Я' | 'Ё' | 'І' | 'Ў')
}

/// Wire datelines, tried in order: the first that names an agency is cut from the text.
pub(in crate::normalize::attribution) const DATELINES: &[DatelineShape] = &[
    DatelineShape {
        family: "BelTA, Xinhua, Reuters, AP, AFP: MINSK, 5 May (BelTA) – / ASTANA. June 12 (Xinhua) - / LONDON (Reuters) -",
        pattern: r"^[A-ZА-ЯЁІЎ][A-Za-zА-Яа-яЁёІіЎў .'-]{1,40}?(?:[,.]\s*[^()\n]{1,25}?)?\s*\(\s*(?P<agency>[^()\n]{2,30}?)\s*\)\s*[-–—]+\s*",
        opens: capital,
        needs: '(',
    },
    DatelineShape {
        family: "Xinhua, Reuters without a place: June 20 (Xinhua) -",
        pattern: r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+[0-9]{1,2}\s*\(\s*(?P<agency>[^()\n]{2,30}?)\s*\)\s*[-–—]+\s*",
        opens: capital,
        needs: '(',
    },
    DatelineShape {
        family: "TASS: MINSK, May 25. /TASS/. / МОСКВА, 4 марта. /ТАСС/.",
        pattern: r"^[A-ZА-ЯЁІЎ][A-Za-zА-Яа-яЁёІіЎў .'-]{1,40}?,\s*[^/\n]{1,25}?\s*/(?P<agency>[^/\n]{2,20})/\.?\s*",
        opens: capital,
        needs: '/',
    },
    DatelineShape {
        family: "BelTA correspondents: 29 апреля, Волгоград /Корр. БЕЛТА/. / 28 красавіка, Веткаўскі раён /Кар. БЕЛТА/.",
        pattern: r"^[0-9]{1,2}\s+\S+,\s*[^/\n]{1,40}?\s*/(?:Корр|Кар)\.\s*(?P<agency>[^/\n]{2,20})/\.?\s*",
        opens: |c| c.is_ascii_digit(),
        needs: '/',
    },
    DatelineShape {
        family: "Interfax: Москва. 21 августа. INTERFAX.RU -",
        pattern: r"^[А-ЯЁІЎA-Z][а-яёіўa-z-]+\.\s*[0-9]{1,2}\s+\S+\.\s*(?P<agency>[A-ZА-ЯЁ][A-ZА-ЯЁ.-]{2,20})\s*[-–—]\s*",
        opens: capital,
        needs: '.',
    },
    DatelineShape {
        family: "RIA Novosti, Sputnik: МОСКВА, 4 мар — РИА Новости. / МИНСК, 21 фев — Sputnik.",
        pattern: r"^[А-ЯЁІЎA-Z][А-ЯЁІЎA-Z -]{2,30},\s*[0-9]{1,2}\s+\S+\s*[-–—]\s*(?P<agency>[A-ZА-ЯЁ][\w-]{1,20}(?:\s[A-ZА-ЯЁ][\w-]{1,20}){0,2})\.\s*",
        opens: capital,
        needs: ',',
    },
];
