//! Attribution on the forms agencies use, in English, Russian and Belarusian.

use super::*;
use crate::model::FoundIn;

fn profile(id: &str, name: &str, aliases: &[&str]) -> SourceProfile {
    SourceProfile {
        id: SourceId::new(id).unwrap(),
        name: name.into(),
        homepage: None,
        language: None,
        timezone: None,
        aliases: aliases.iter().map(|s| (*s).to_owned()).collect(),
        selectors: None,
    }
}

fn profiles() -> Vec<SourceProfile> {
    vec![
        profile(
            "belta_en",
            "BelTA",
            &[
                "BelTA",
                "BELTA",
                "belta.by",
                "БелТА",
                "БЕЛТА",
                "Belarusian Telegraph Agency",
            ],
        ),
        profile(
            "sb_en",
            "SB. Belarus Today",
            &["sb.by", "SB. Belarus Today"],
        ),
        profile("tass_en", "TASS", &["TASS", "ТАСС"]),
        profile(
            "pul_pervogo",
            "Pul Pervogo",
            &["Pul Pervogo", "Пул Первого", "pul_1"],
        ),
        profile("reuters", "Reuters", &["Reuters"]),
        profile("interfax", "Интерфакс", &["Interfax", "Интерфакс"]),
        profile("ria", "РИА Новости", &["RIA Novosti"]),
        profile(
            "president",
            "President of the Republic of Belarus",
            &["president.gov.by", "press service of the Belarusian leader"],
        ),
        profile("xinhua", "Xinhua", &["Xinhua", "Синьхуа"]),
        profile("ap", "Associated Press", &["AP", "AP Photo"]),
    ]
}

fn para(t: &str) -> Block {
    Block {
        kind: BlockKind::Paragraph,
        text: t.into(),
    }
}

fn run(texts: &[&str]) -> (Vec<Block>, Attributed) {
    let ps = profiles();
    let idx = AliasIndex::new(&ps);
    let mut blocks: Vec<Block> = texts.iter().map(|t| para(t)).collect();
    let out = attribute(&mut blocks, &idx, &ps[1]);
    (blocks, out)
}

fn has(out: &Attributed, id: &str, kind: AttributionKind) -> bool {
    out.attributions
        .iter()
        .any(|a| a.kind == kind && a.source_id.as_ref().map(SourceId::as_str) == Some(id))
}

#[test]
fn every_dateline_shape_compiles() {
    dateline::compile_all();
}

#[test]
fn datelines_of_every_form() {
    let (b, out) = run(&["Москва. 21 августа. INTERFAX.RU - Текст."]);
    assert_eq!(b[0].text, "Текст.");
    assert!(out.attributions.iter().any(|a| a.name == "INTERFAX.RU"));
    let (b, out) = run(&["МИНСК, 21 фев — Sputnik. Текст."]);
    assert_eq!(b[0].text, "Текст.");
    assert!(out.attributions.iter().any(|a| a.name == "Sputnik"));
    let (b, _) = run(&["Minsk is a city (and a capital) - text."]);
    assert_eq!(b[0].text, "Minsk is a city (and a capital) - text.");
}

#[test]
fn photo_credit_forms() {
    let (b, out) = run(&[
        "Text of the article.",
        "[Photo/Xinhua]",
        "(AP Photo/Jane Doe)",
        "ФОТО Сергей Иванов",
        "An archive photo.",
        "Photographers gathered at the square to see the parade on Monday.",
    ]);
    assert_eq!(b.len(), 2, "{:?}", out.photo_credits);
    assert_eq!(out.photo_credits.len(), 4);
}

#[test]
fn seed_article_pattern() {
    let (blocks, out) = run(&[
        "The President laid flowers.",
        "BELTA",
        "According to the Head of State, it was Stalingrad.",
        "belta",
        "According to the Pul Pervogo Telegram channel, they talked for four hours.",
        "Based on materials of sb.by and belta.by",
    ]);
    let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "The President laid flowers.",
            "According to the Head of State, it was Stalingrad.",
            "According to the Pul Pervogo Telegram channel, they talked for four hours."
        ]
    );
    assert_eq!(out.photo_credits, ["BELTA", "belta"]);
    assert!(has(&out, "sb_en", AttributionKind::Publisher));
    assert!(has(&out, "belta_en", AttributionKind::Photo));
    assert!(has(&out, "belta_en", AttributionKind::BasedOn));
    assert!(has(&out, "sb_en", AttributionKind::BasedOn));
    assert!(has(&out, "pul_pervogo", AttributionKind::Cited));
    // "Head of State" is not an agency.
    assert!(!out.attributions.iter().any(|a| a.name.contains("Head")));
}

#[test]
fn datelines_are_recorded_and_cut() {
    let (b, out) = run(&["MINSK, 5 May (BelTA) – The harvest began."]);
    assert_eq!(b[0].text, "The harvest began.");
    assert!(has(&out, "belta_en", AttributionKind::Dateline));
    let (b, out) = run(&["MINSK, May 25. /TASS/. Talks ended."]);
    assert_eq!(b[0].text, "Talks ended.");
    assert!(has(&out, "tass_en", AttributionKind::Dateline));
    let (b, out) = run(&["29 апреля, Волгоград /Корр. БЕЛТА/. Президент прибыл."]);
    assert_eq!(b[0].text, "Президент прибыл.");
    assert!(has(&out, "belta_en", AttributionKind::Dateline));
}

#[test]
fn cited_sources_stay_in_text() {
    let (b, out) = run(&[
        "WHO confirmed a case, Reuters reports.",
        "BelTA has learned that the ministry agreed.",
        "Об этом сообщает ТАСС.",
    ]);
    assert_eq!(b.len(), 3);
    assert!(has(&out, "reuters", AttributionKind::Cited));
    assert!(has(&out, "belta_en", AttributionKind::Cited));
    assert!(has(&out, "tass_en", AttributionKind::Cited));
}

#[test]
fn every_citation_form_is_found() {
    let cases: [(&str, &str); 6] = [
        (
            "Ministers met, according to the ‘Pul Pervogo’ Telegram channel.",
            "pul_pervogo",
        ),
        ("Reuters correspondent reports that talks ended.", "reuters"),
        (
            "The deal was signed, as reported by Reuters on Monday.",
            "reuters",
        ),
        ("Как сообщает ТАСС, переговоры завершены.", "tass_en"),
        (
            "Пишет Telegram-канал «Пул Первого» со ссылкой на источники.",
            "pul_pervogo",
        ),
        ("Об этом передает корреспондент БЕЛТА.", "belta_en"),
    ];
    for (text, id) in cases {
        let (_, out) = run(&[text]);
        assert!(
            has(&out, id, AttributionKind::Cited),
            "{text}: {:?}",
            out.attributions
        );
    }
}

#[test]
fn russian_based_on_and_photo() {
    let (b, out) = run(&["Текст статьи.", "Фото: БелТА", "По материалам БелТА"]);
    assert_eq!(b.len(), 1);
    assert_eq!(out.photo_credits, ["Фото: БелТА"]);
    assert!(has(&out, "belta_en", AttributionKind::BasedOn));
}

#[test]
fn ordinary_sentences_are_not_attributions() {
    let (b, out) = run(&[
        "According to Aleksandr Lukashenko, a lot has been done.",
        "Photo opportunities were many at the event, said the organisers of the long forum in the capital city.",
    ]);
    assert_eq!(b.len(), 2);
    assert_eq!(out.attributions.len(), 1, "{:?}", out.attributions);
}

fn found(out: &Attributed, kind: AttributionKind) -> Vec<(Option<&str>, &str, Option<FoundIn>)> {
    out.attributions
        .iter()
        .filter(|a| a.kind == kind)
        .map(|a| {
            (
                a.source_id.as_ref().map(SourceId::as_str),
                a.name.as_str(),
                a.found_in,
            )
        })
        .collect()
}

#[test]
fn learned_from_credits_the_source_not_the_learner() {
    // See: issue 15 ("X learned from Y" credits Y, not X).
    let (_, out) = run(&[
        "Lukashenko will attend the summit, BelTA learned from the press service of the Belarusian leader.",
        "Как сообщили БЕЛТА в пресс-службе, встреча прошла.",
    ]);
    assert_eq!(
        found(&out, AttributionKind::Cited),
        [(
            Some("president"),
            "President of the Republic of Belarus",
            Some(FoundIn::Body)
        )]
    );
}

#[test]
fn descriptors_and_word_orders() {
    for (text, want) in [
        (
            "China launched a satellite, the state news agency Xinhua reported.",
            "xinhua",
        ),
        (
            "Security was tight, according to the Reuters news agency.",
            "reuters",
        ),
        (
            "Об этом со ссылкой на источник сообщило агентство ТАСС.",
            "tass_en",
        ),
        ("По данным РИА Новостей, лидеры обсудили энергетику.", "ria"),
        (
            "По данным «Интерфакса», учения начнутся в понедельник.",
            "interfax",
        ),
        ("Як паведамляе агенцтва Сіньхуа, запуск адбыўся.", "xinhua"),
        ("Пра гэта паведамляе «Інтэрфакс».", "interfax"),
        (
            "Trading was thin, a Xinhua correspondent in Tokyo reported.",
            "xinhua",
        ),
        (
            "Как пишет Пул Первого, совещание длилось три часа.",
            "pul_pervogo",
        ),
    ] {
        let (b, out) = run(&[text]);
        assert_eq!(b[0].text, text, "the citation stays");
        let got = found(&out, AttributionKind::Cited);
        assert!(
            got.iter().any(|(id, _, _)| *id == Some(want)),
            "{text}: {got:?}"
        );
    }
}

#[test]
fn unknown_outlets_are_kept_by_name() {
    let (_, out) = run(&[
        "Floods hit the south, the French news agency AFP reported on Friday.",
        "Saudi Arabia will keep its cut, Bloomberg informs citing sources.",
        "Работы продлятся год, паведамляе «Гомельская праўда».",
        "Keepers made a cake, China Daily reported.",
        "According to Aleksandr Lukashenko, a lot has been done.",
        "Officials reported no damage.",
    ]);
    let names: Vec<(Option<&str>, &str)> = found(&out, AttributionKind::Cited)
        .into_iter()
        .map(|(id, n, _)| (id, n))
        .collect();
    assert_eq!(
        names,
        [
            (None, "AFP"),
            (None, "Bloomberg"),
            (None, "Гомельская праўда"),
            (None, "China Daily")
        ]
    );
}

#[test]
fn agency_datelines_of_every_family() {
    for (line, want) in [
        ("МІНСК, 5 лютага (БЕЛТА) – Адкрылася выстава.", "belta_en"),
        ("ASTANA. June 12 (Xinhua) - The ministry said.", "xinhua"),
        ("June 20 (Xinhua) - Markets were mixed.", "xinhua"),
        (
            "МОСКВА, 4 мар — РИА Новости. В парке высадили деревья.",
            "ria",
        ),
        ("WASHINGTON (AP) — The Senate passed the bill.", "ap"),
    ] {
        let (b, out) = run(&[line]);
        let got = found(&out, AttributionKind::Dateline);
        assert_eq!(got.first().and_then(|g| g.0), Some(want), "{line}");
        assert_eq!(got.first().and_then(|g| g.2), Some(FoundIn::Dateline));
        assert!(!b[0].text.contains('('), "{line}: {}", b[0].text);
    }
}

#[test]
fn based_on_lines_in_three_languages_leave_the_text() {
    for (line, want) in [
        (
            "Подготовлено по материалам БелТА и «Пула Первого»",
            ["belta_en", "pul_pervogo"],
        ),
        ("Па матэрыялах Сіньхуа і Інтэрфакса", ["xinhua", "interfax"]),
        (
            "Prepared using materials from Xinhua and TASS",
            ["xinhua", "tass_en"],
        ),
    ] {
        let (b, out) = run(&["Текст статьи о событиях дня.", line]);
        assert_eq!(b.len(), 1, "{line}");
        let got: Vec<Option<&str>> = found(&out, AttributionKind::BasedOn)
            .iter()
            .map(|g| g.0)
            .collect();
        assert_eq!(got, want.map(Some), "{line}");
    }
}

#[test]
fn photo_credits_name_their_outlets() {
    let (b, out) = run(&[
        "Текст статьи.",
        "Фото Яна Горбанюка, БЕЛТА.",
        "© AFP / Pascal Guyot",
        "Фото: Sputnik / Павел Бедняков",
        "Pool photo via AP",
        "Photo by Ivan Sergeev",
        "Фото: t.me/pul_1",
        "A container ship at the port, June 5, 2025. (Xinhua/Li Ziheng)",
    ]);
    assert_eq!(b.len(), 1, "{:?}", out.photo_credits);
    let got: Vec<(Option<&str>, &str)> = found(&out, AttributionKind::Photo)
        .into_iter()
        .map(|(id, n, _)| (id, n))
        .collect();
    assert_eq!(
        got,
        [
            (Some("belta_en"), "BelTA"),
            (None, "AFP"),
            (None, "Sputnik"),
            (Some("ap"), "Associated Press"),
            (Some("pul_pervogo"), "Pul Pervogo"),
            (Some("xinhua"), "Xinhua"),
        ]
    );
}
