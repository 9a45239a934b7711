//! Attribution on the forms agencies use, in English, Russian and Belarusian.

use super::*;

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
            &["BelTA", "BELTA", "belta.by", "БелТА", "БЕЛТА"],
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
            &["Pul Pervogo", "Пул Первого"],
        ),
        profile("reuters", "Reuters", &["Reuters"]),
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
fn every_fixed_pattern_compiles() {
    for d in &DATELINES {
        compile(d.pattern);
    }
    for c in &CITED {
        compile(c.pattern);
    }
    LazyLock::force(&CITED_SET);
    LazyLock::force(&PHOTO);
    LazyLock::force(&BASED_ON);
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
        "BelTA has learned from the ministry.",
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
        (
            "Как сообщили ТАСС в министерстве, переговоры завершены.",
            "tass_en",
        ),
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
