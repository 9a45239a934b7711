//! The attribution patterns and the cheap checks that decide whether each one is compiled
//! and run at all (compiling is most of the cost of a short `newsmill extract`).

use std::sync::{LazyLock, OnceLock};

use regex::Regex;

pub(super) use crate::normalize::text::patterns::compile;
use crate::normalize::text::patterns::fold_case;

/// A wire-dateline pattern, with cheap necessary conditions checked before it is compiled
/// and run: most first paragraphs cannot open with most datelines, and a pattern that is never
/// needed is never compiled (compiling is the larger part of the cost of a short run).
pub(super) struct Dateline {
    /// Anchored pattern with `place` and `agency` groups; `\w` is narrowed ([`crate::normalize::text::patterns::narrow_words`]).
    pub(super) pattern: &'static str,
    /// Whether a paragraph opening with this character can match.
    pub(super) opens: fn(char) -> bool,
    /// A character every match contains.
    pub(super) needs: char,
}

/// The first character of the place names the patterns allow (`[A-ZА-ЯЁ]`).
pub(super) fn capital(c: char) -> bool {
    matches!(c, 'A'..='Z' | 'А'..='Я' | 'Ё')
}

/// Wire datelines, tried in order: the first one that matches an agency is cut from the text.
pub(super) const DATELINES: [Dateline; 5] = [
    // MINSK, 5 May (BelTA) – / MINSK ( BelTA) – / LONDON (Reuters) -
    Dateline {
        pattern: r"^(?P<place>[A-ZА-ЯЁ][A-Za-zА-Яа-яЁё .'-]{1,40}?)(?:,\s*[^()\n]{1,25}?)?\s*\(\s*(?P<agency>[^()\n]{2,30}?)\s*\)\s*[-–—]+\s*",
        opens: capital,
        needs: '(',
    },
    // MINSK, May 25. /TASS/. / МОСКВА, 4 марта. /ТАСС/.
    Dateline {
        pattern: r"^(?P<place>[A-ZА-ЯЁ][A-Za-zА-Яа-яЁё .'-]{1,40}?),\s*[^/\n]{1,25}?\s*/(?P<agency>[^/\n]{2,20})/\.?\s*",
        opens: capital,
        needs: '/',
    },
    // 29 апреля, Волгоград /Корр. БЕЛТА/. / 28 красавіка, Веткаўскі раён /Кар. БЕЛТА/.
    // Day numbers are ASCII digits (`\d` would compile ~70 Unicode digit ranges).
    Dateline {
        pattern: r"^[0-9]{1,2}\s+\S+,\s*(?P<place>[^/\n]{1,40}?)\s*/(?:Корр|Кар)\.\s*(?P<agency>[^/\n]{2,20})/\.?\s*",
        opens: |c| c.is_ascii_digit(),
        needs: '/',
    },
    // Москва. 21 августа. INTERFAX.RU -
    Dateline {
        pattern: r"^(?P<place>[А-ЯЁA-Z][а-яёa-z-]+)\.\s*[0-9]{1,2}\s+\S+\.\s*(?P<agency>[A-ZА-ЯЁ][A-ZА-ЯЁ.-]{2,20})\s*[-–—]\s*",
        opens: capital,
        needs: '.',
    },
    // МИНСК, 21 фев — Sputnik.
    Dateline {
        pattern: r"^(?P<place>[А-ЯЁA-Z]{3,}),\s*[0-9]{1,2}\s+\S+\s*[-–—]\s*(?P<agency>[A-ZА-ЯЁ][\w-]{2,20})\.\s*",
        opens: capital,
        needs: ',',
    },
];

/// [`DATELINES`], each compiled on first use.
pub(super) static DATELINE_RES: [OnceLock<Regex>; DATELINES.len()] =
    [const { OnceLock::new() }; DATELINES.len()];

/// The dateline patterns that can match `text`, compiled, in order.
pub(super) fn datelines_for(text: &str) -> Vec<&'static Regex> {
    let first = text.chars().next();
    DATELINES
        .iter()
        .zip(&DATELINE_RES)
        .filter(|(d, _)| first.is_some_and(d.opens) && text.contains(d.needs))
        .map(|(d, re)| re.get_or_init(|| compile(d.pattern)))
        .collect()
}

/// A closing source line. Compiled only when a line passes [`opens_like_based_on`].
pub(super) static BASED_ON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:based on (?:the )?materials (?:of|from|by)|according to materials (?:of|from)|sources?\s*:|по материалам|источник(?:и)?(?:\s+и\s+фото)?\s*[:\-–—]|паводле матэрыялаў|крыніца\s*:|na podstawie materiałów)\s*(?P<names>.+?)\.?$",
    )
    .expect("static regex")
});

/// Whether the line opens (in any case) like one of the alternatives of [`BASED_ON`]: a
/// necessary condition for a match, checked without compiling anything.
pub(super) fn opens_like_based_on(line: &str) -> bool {
    let folded = fold_case(line);
    [
        "based on",
        "according to",
        "source",
        "по материалам",
        "источник",
        "паводле",
        "крыніца",
        "na podstawie",
    ]
    .iter()
    .any(|w| folded.starts_with(w))
}

/// A photo-credit line. Its bounded repeats make it one of the costliest patterns to compile,
/// so it only runs (and is compiled) on lines that pass [`mentions_photo`].
pub(super) static PHOTO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:\[(?:photo|фото)\s*/\s*(?P<a>[^\]]{2,60})\]|\((?P<b>[^()]{0,40}photo[^()]{0,60})\)|(?:photo|photos|photo credit|фото|фота|foto|zdjęcie)\s*(?:[:：/]|\s[-–—])\s*(?P<c>.{2,100})|(?:фото|фота)\s+(?P<e>\S+(?:\s+\S+){0,4})|(?:an? )?archive photo|архивное фото|фото из архива|(?P<d>.{2,60})\.\s+(?:an )?archive photo)\.?$",
    )
    .expect("static regex")
});

/// Whether the line contains one of the words every alternative of [`PHOTO`] contains, in any
/// case: a necessary condition for a match, checked without compiling anything.
pub(super) fn mentions_photo(line: &str) -> bool {
    let folded = fold_case(line);
    ["photo", "фото", "фота", "foto", "zdjęcie"]
        .iter()
        .any(|w| folded.contains(w))
}

/// A pattern that finds a source named in running text.
pub(super) struct Citation {
    /// Words every match contains: a set of these (cheap to compile, one pass per block)
    /// picks the blocks worth running `pattern` on.
    pub(super) trigger: &'static str,
    /// The pattern, with a `name` group; `\w` is narrowed ([`crate::normalize::text::patterns::narrow_words`]).
    pub(super) pattern: &'static str,
    /// Whether a name no configured alias knows is kept: only when the words say
    /// "channel"/"agency".
    pub(super) keep_unknown: bool,
}

pub(super) const CITED: [Citation; 7] = [
    Citation {
        trigger: "ccording to",
        pattern: r"[Aa]ccording to (?:the )?[‘'“«]?(?P<name>[A-Z][\w.’'-]*(?:\s+[A-Z][\w.’'-]*){0,3})[’'”»]?\s+(?:Telegram channel|telegram channel|news agency|agency)",
        keep_unknown: true,
    },
    Citation {
        trigger: "Telegram channel",
        pattern: r"(?:the )?[‘'“«](?P<name>[A-Z][^’'”»]{1,40})[’'”»] Telegram channel",
        keep_unknown: true,
    },
    Citation {
        trigger: "learned|reports|citing",
        pattern: r"(?:^|[^\w.-])(?P<name>[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,2}) (?:has learned|learned from|correspondent reports|reports citing|citing)",
        keep_unknown: false,
    },
    Citation {
        trigger: "report",
        pattern: r",\s+(?P<name>[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,2}) (?:reports|reported)(?-u:\b)",
        keep_unknown: false,
    },
    Citation {
        trigger: "report|according to",
        pattern: r"(?:reports the correspondent of|according to|reports|reported by) (?P<name>[A-Z][\w.-]*)",
        keep_unknown: false,
    },
    Citation {
        trigger: "передает|передаёт|сообщ|пишет|цитирует|приводит|по данным|паведам|перадае",
        pattern: r"(?:передает|передаёт|сообщает|сообщили|сообщил|пишет|цитирует|приводит|по данным|паведамляе|перадае|паведамілі)\s+(?:корреспондент\s+|карэспандэнт\s+|госагентство\s+|агентство\s+|агентства\s+)?[«\x22]?(?P<name>[А-ЯЁA-ZІЎ][\w.-]*)[»\x22]?",
        keep_unknown: false,
    },
    Citation {
        trigger: "elegram-канал|елеграм-канал",
        pattern: r"(?:[Tt]elegram|[Тт]елеграм)-канал[а-я]*\s+[«\x22](?P<name>[^»\x22]{2,40})[»\x22]",
        keep_unknown: true,
    },
];

/// [`CITED`] patterns, each compiled the first time its trigger is found.
pub(super) static CITED_RES: [OnceLock<Regex>; CITED.len()] =
    [const { OnceLock::new() }; CITED.len()];
