//! The agency conventions attribution reads, as data: credit phrases per language, the words
//! that describe an outlet, the closing "based on" openers, the photo-credit markers and the
//! wire-dateline shapes of each agency family.
//!
//! Adding an agency convention or a language is an entry here plus a test; the rules in the
//! sibling modules only read these tables. Phrases are lower-case word sequences as the
//! tokenizer ([`super::tokens`]) splits them: `telegram-канал` is one word, `«` is not a word.

/// Which side of a credit phrase the credited name stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// "according to X", "сообщает агентство X", "паведамляе X".
    After,
    /// "X reports", "X has learned", "X, citing …".
    Before,
}

/// A phrase that credits a name standing next to it.
#[derive(Debug)]
pub(super) struct CreditPhrase {
    /// The phrase, lower-case words.
    pub(super) words: &'static [&'static str],
    /// Where the name is.
    pub(super) side: Side,
    /// A name no alias knows is kept even without a descriptor ("Bloomberg informs citing").
    pub(super) trust_unknown: bool,
    /// The phrase is "they told X at Y" ("сообщили БЕЛТА в пресс-службе …"): when the name is
    /// followed by a place preposition, the credit goes to what follows, not to the name.
    pub(super) recipient: bool,
    /// The phrase does not credit when the next word is one of these ("has learned from").
    pub(super) not_before: &'static [&'static str],
    /// One comma may stand between the name and the phrase ("The Global Times, citing …").
    pub(super) comma: bool,
}

const fn after(words: &'static [&'static str]) -> CreditPhrase {
    CreditPhrase {
        words,
        side: Side::After,
        trust_unknown: false,
        recipient: false,
        not_before: &[],
        comma: false,
    }
}

const fn before(words: &'static [&'static str]) -> CreditPhrase {
    CreditPhrase {
        side: Side::Before,
        ..after(words)
    }
}

const fn told(words: &'static [&'static str]) -> CreditPhrase {
    CreditPhrase {
        recipient: true,
        ..after(words)
    }
}

const fn trusted(p: CreditPhrase) -> CreditPhrase {
    CreditPhrase {
        trust_unknown: true,
        ..p
    }
}

/// Credit phrases in English, Russian and Belarusian.
pub(super) const CREDIT_PHRASES: &[CreditPhrase] = &[
    // English
    after(&["according", "to"]),
    after(&["citing"]),
    after(&["reported", "by"]),
    after(&["quoted", "by"]),
    after(&["interviewed", "by"]),
    after(&["polled", "by"]),
    after(&["surveyed", "by"]),
    after(&["interview", "with"]),
    after(&["learned", "from"]),
    after(&["learnt", "from"]),
    after(&["telegram", "channel"]),
    after(&["reports", "the", "correspondent", "of"]),
    before(&["reported"]),
    before(&["reports"]),
    before(&["reporting"]),
    trusted(before(&["informs"])),
    trusted(before(&["informed"])),
    before(&["wrote"]),
    before(&["writes"]),
    before(&["quoted"]),
    before(&["cited"]),
    before(&["telegram", "channel"]),
    CreditPhrase {
        not_before: &["from"],
        ..before(&["has", "learned"])
    },
    CreditPhrase {
        comma: true,
        ..before(&["citing"])
    },
    // Russian
    after(&["сообщает"]),
    after(&["сообщил"]),
    after(&["сообщила"]),
    after(&["сообщило"]),
    after(&["сообщало"]),
    after(&["передает"]),
    after(&["передаёт"]),
    after(&["передали"]),
    after(&["пишет"]),
    after(&["информирует"]),
    after(&["цитирует"]),
    after(&["приводит"]),
    after(&["по", "данным"]),
    after(&["по", "информации"]),
    after(&["со", "ссылкой", "на"]),
    after(&["опрошенных"]),
    after(&["опрошенные"]),
    after(&["в", "интервью"]),
    after(&["стало", "известно", "от"]),
    after(&["telegram-канал"]),
    after(&["телеграм-канал"]),
    told(&["сообщили"]),
    before(&["сообщает"]),
    before(&["передает"]),
    before(&["пишет"]),
    before(&["telegram-канал"]),
    before(&["телеграм-канал"]),
    // Belarusian
    after(&["паведамляе"]),
    after(&["паведаміла"]),
    after(&["паведаміў"]),
    after(&["перадае"]),
    after(&["піша"]),
    after(&["паводле"]),
    after(&["паводле", "звестак"]),
    after(&["паводле", "інфармацыі"]),
    after(&["са", "спасылкай", "на"]),
    after(&["тэлеграм-канал"]),
    told(&["паведамілі"]),
    before(&["паведамляе"]),
];

/// Words that describe an outlet next to its name ("the state news agency X", "агентство X",
/// "X Telegram channel"): they are skipped when reading the name.
pub(super) const DESCRIPTOR_WORDS: &[&str] = &[
    "news",
    "state",
    "state-run",
    "state-owned",
    "official",
    "french",
    "russian",
    "chinese",
    "belarusian",
    "kazakh",
    "british",
    "american",
    "japanese",
    "german",
    "telegram",
    "media",
    "wire",
    "information",
    "news-agency",
    "информационное",
    "государственное",
    "французское",
    "российское",
    "китайское",
    "белорусское",
    "американское",
    "японское",
    "французскае",
    "расійскае",
    "кітайскае",
    "японскае",
    "беларускае",
];

/// Descriptor words that name what the outlet is: one of them next to an unknown name is what
/// makes it an outlet worth keeping ("the Kazinform news agency reported").
pub(super) const OUTLET_HEADS: &[&str] = &[
    "agency",
    "channel",
    "newspaper",
    "outlet",
    "broadcaster",
    "portal",
    "website",
    "correspondent",
    "reporter",
    "tv",
    "radio",
    "агентство",
    "агентства",
    "информагентство",
    "информагентства",
    "госагентство",
    "госагентства",
    "корреспондент",
    "корреспондента",
    "корреспонденты",
    "канал",
    "telegram-канал",
    "телеграм-канал",
    "telegram-канала",
    "телеграм-канала",
    "газета",
    "газеты",
    "издание",
    "издания",
    "телеканал",
    "портал",
    "сайт",
    "радио",
    "агенцтва",
    "інфармагенцтва",
    "карэспандэнт",
    "карэспандэнта",
    "тэлеграм-канал",
    "выданне",
    "партал",
    "радыё",
];

/// Words inside a name that say it is an outlet even without a descriptor ("China Daily",
/// "Getty Images", "Гомельская праўда").
pub(super) const OUTLET_WORDS: &[&str] = &[
    "news",
    "daily",
    "times",
    "post",
    "press",
    "agency",
    "telegraph",
    "tv",
    "radio",
    "journal",
    "herald",
    "gazette",
    "tribune",
    "images",
    "media",
    "network",
    "broadcasting",
    "wire",
    "globe",
    "observer",
    "express",
    "courier",
    "weekly",
    "новости",
    "правда",
    "праўда",
    "газета",
    "вести",
    "известия",
    "ведомости",
    "тв",
    "радио",
    "пресс",
    "навіны",
    "звязда",
];

/// Articles skipped before a name ("according to the …").
pub(super) const ARTICLES: &[&str] = &["the", "a", "an"];

/// Prepositions: a name right after one is the object of the preposition ("крыніца ў
/// «Газпроме» паведамляе"), not the outlet that reports.
pub(super) const PREPOSITIONS: &[&str] = &[
    "в", "во", "ў", "у", "на", "из", "із", "з", "с", "со", "от", "ад", "к", "да", "о", "об", "аб",
    "по", "па", "для", "in", "at", "from", "to", "of", "on", "with",
];

/// Place prepositions of the "they told X at Y" form.
pub(super) const RECIPIENT_PREPOSITIONS: &[&str] = &["в", "во", "ў", "у"];

mod lines;

pub(super) use lines::*;
