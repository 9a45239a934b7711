//! Attribution: which agencies an article credits, and how.
//!
//! Four kinds are read from the body blocks (the fifth, `publisher`, is the source itself):
//! - `dateline`: a wire dateline opening the first paragraph ("MINSK, 5 May (BelTA) – ",
//!   "MOSCOW, May 5. /TASS/. ", "29 апреля, Волгоград /Корр. БЕЛТА/. "): recorded, then cut
//!   from the text;
//! - `based_on`: a closing source line ("Based on materials of sb.by and belta.by",
//!   "По материалам БелТА", "Источник: …"): recorded, then the line leaves the text;
//! - `photo`: a bare credit line ("BELTA", "Фото: БелТА", "[Photo/Xinhua]"): moved to
//!   `photo_credits`, and recorded when it names a known agency;
//! - `cited`: a source named in running text ("according to the Pul Pervogo Telegram
//!   channel", "BelTA has learned", "…, Reuters reports", "передает корреспондент БЕЛТА"):
//!   recorded, the text stays.
//!
//! Precision over recall: a name that no configured alias knows is kept only when the wording
//! around it says it is a channel or an agency.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::model::{Attribution, AttributionKind, Block, BlockKind, SourceId, SourceProfile};

/// Longest paragraph that can be a closing source line or a credit.
const MAX_LINE_CHARS: usize = 160;

/// Alias lookup built once from every configured source.
#[derive(Debug, Default)]
pub struct AliasIndex {
    by_key: HashMap<String, (SourceId, String)>,
}

/// The lookup form of a name: lower-case, `www.` and surrounding punctuation and quotes gone.
fn alias_key(name: &str) -> String {
    let t = name
        .trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    t.strip_prefix("www.").map(str::to_owned).unwrap_or(t)
}

impl AliasIndex {
    /// Indexes each source's name, aliases and home-page host.
    pub fn new(profiles: &[SourceProfile]) -> Self {
        let mut by_key = HashMap::new();
        for p in profiles {
            let entry = (p.id.clone(), p.name.clone());
            let host = p
                .homepage
                .as_ref()
                .and_then(|h| h.host_str().map(str::to_owned));
            for name in p
                .aliases
                .iter()
                .map(String::as_str)
                .chain([p.name.as_str()])
                .chain(host.as_deref())
            {
                let key = alias_key(name);
                if !key.is_empty() {
                    by_key.entry(key).or_insert_with(|| entry.clone());
                }
            }
        }
        Self { by_key }
    }

    /// The configured source a name refers to.
    pub fn resolve(&self, name: &str) -> Option<(SourceId, String)> {
        self.by_key.get(&alias_key(name)).cloned()
    }

    /// The first known alias contained in `text` as a whole word.
    fn find_in(&self, text: &str) -> Option<(SourceId, String)> {
        text.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_'))
            .filter(|w| !w.is_empty())
            .find_map(|w| self.resolve(w))
    }
}

/// What attribution analysis took out of the body.
#[derive(Debug, Default)]
pub struct Attributed {
    /// Credited agencies, deduplicated, in order found.
    pub attributions: Vec<Attribution>,
    /// Photo-credit lines removed from the body.
    pub photo_credits: Vec<String>,
}

static DATELINES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // MINSK, 5 May (BelTA) – / MINSK ( BelTA) – / LONDON (Reuters) -
        r"^(?P<place>[A-ZА-ЯЁ][A-Za-zА-Яа-яЁё .'-]{1,40}?)(?:,\s*[^()\n]{1,25}?)?\s*\(\s*(?P<agency>[^()\n]{2,30}?)\s*\)\s*[-–—]+\s*",
        // MINSK, May 25. /TASS/. / МОСКВА, 4 марта. /ТАСС/.
        r"^(?P<place>[A-ZА-ЯЁ][A-Za-zА-Яа-яЁё .'-]{1,40}?),\s*[^/\n]{1,25}?\s*/(?P<agency>[^/\n]{2,20})/\.?\s*",
        // 29 апреля, Волгоград /Корр. БЕЛТА/. / 28 красавіка, Веткаўскі раён /Кар. БЕЛТА/.
        r"^\d{1,2}\s+\S+,\s*(?P<place>[^/\n]{1,40}?)\s*/(?:Корр|Кар)\.\s*(?P<agency>[^/\n]{2,20})/\.?\s*",
        // Москва. 21 августа. INTERFAX.RU -
        r"^(?P<place>[А-ЯЁA-Z][а-яёa-z-]+)\.\s*\d{1,2}\s+\S+\.\s*(?P<agency>[A-ZА-ЯЁ][A-ZА-ЯЁ.-]{2,20})\s*[-–—]\s*",
        // МИНСК, 21 фев — Sputnik.
        r"^(?P<place>[А-ЯЁA-Z]{3,}),\s*\d{1,2}\s+\S+\s*[-–—]\s*(?P<agency>[A-ZА-ЯЁ][\w-]{2,20})\.\s*",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

static BASED_ON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:based on (?:the )?materials (?:of|from|by)|according to materials (?:of|from)|sources?\s*:|по материалам|источник(?:и)?(?:\s+и\s+фото)?\s*[:\-–—]|паводле матэрыялаў|крыніца\s*:|na podstawie materiałów)\s*(?P<names>.+?)\.?$",
    )
    .expect("static regex")
});

static PHOTO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:\[(?:photo|фото)\s*/\s*(?P<a>[^\]]{2,60})\]|\((?P<b>[^()]{0,40}photo[^()]{0,60})\)|(?:photo|photos|photo credit|фото|фота|foto|zdjęcie)\s*(?:[:：/]|\s[-–—])\s*(?P<c>.{2,100})|(?:фото|фота)\s+(?P<e>\S+(?:\s+\S+){0,4})|(?:an? )?archive photo|архивное фото|фото из архива|(?P<d>.{2,60})\.\s+(?:an )?archive photo)\.?$",
    )
    .expect("static regex")
});

static CITED: LazyLock<Vec<(Regex, bool)>> = LazyLock::new(|| {
    // (pattern, whether an unknown name is kept: only when the words say "channel"/"agency")
    [
        (r"[Aa]ccording to (?:the )?[‘'“«]?(?P<name>[A-Z][\w.’'-]*(?:\s+[A-Z][\w.’'-]*){0,3})[’'”»]?\s+(?:Telegram channel|telegram channel|news agency|agency)", true),
        (r"(?:the )?[‘'“«](?P<name>[A-Z][^’'”»]{1,40})[’'”»] Telegram channel", true),
        (r"(?:^|[^\w.-])(?P<name>[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,2}) (?:has learned|learned from|correspondent reports|reports citing|citing)", false),
        (r",\s+(?P<name>[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,2}) (?:reports|reported)(?-u:\b)", false),
        (r"(?:reports the correspondent of|according to|reports|reported by) (?P<name>[A-Z][\w.-]*)", false),
        (r"(?:передает|передаёт|сообщает|сообщили|сообщил|пишет|цитирует|приводит|по данным|паведамляе|перадае|паведамілі)\s+(?:корреспондент\s+|карэспандэнт\s+|госагентство\s+|агентство\s+|агентства\s+)?[«\x22]?(?P<name>[А-ЯЁA-ZІЎ][\w.-]*)[»\x22]?", false),
        (r"(?:[Tt]elegram|[Тт]елеграм)-канал[а-я]*\s+[«\x22](?P<name>[^»\x22]{2,40})[»\x22]", true),
    ]
    .iter()
    .filter_map(|(p, keep)| Regex::new(p).ok().map(|r| (r, *keep)))
    .collect()
});

/// Analyses and cleans `blocks` in place (see the module doc).
pub fn attribute(
    blocks: &mut Vec<Block>,
    index: &AliasIndex,
    publisher: &SourceProfile,
) -> Attributed {
    let mut out = Attributed::default();
    push(
        &mut out.attributions,
        Attribution {
            name: publisher.name.clone(),
            source_id: Some(publisher.id.clone()),
            kind: AttributionKind::Publisher,
            evidence: publisher
                .homepage
                .as_ref()
                .map_or_else(|| publisher.id.to_string(), |u| u.to_string()),
        },
    );
    take_dateline(blocks, index, &mut out);
    take_based_on(blocks, index, &mut out);
    take_photo_credits(blocks, index, &mut out);
    for b in blocks.iter() {
        find_cited(&b.text, index, &mut out.attributions);
    }
    out
}

fn push(list: &mut Vec<Attribution>, a: Attribution) {
    let same = |x: &Attribution| {
        x.kind == a.kind
            && match (&x.source_id, &a.source_id) {
                (Some(p), Some(q)) => p == q,
                _ => x.name.eq_ignore_ascii_case(&a.name),
            }
    };
    if !list.iter().any(same) {
        list.push(a);
    }
}

fn named(
    name: &str,
    index: &AliasIndex,
    kind: AttributionKind,
    evidence: &str,
    keep_unknown: bool,
) -> Option<Attribution> {
    let clean = name.trim().trim_matches(|c: char| !c.is_alphanumeric());
    if clean.chars().count() < 2 {
        return None;
    }
    match index.resolve(clean) {
        Some((id, display)) => Some(Attribution {
            name: display,
            source_id: Some(id),
            kind,
            evidence: evidence.to_owned(),
        }),
        None => keep_unknown.then(|| Attribution {
            name: clean.to_owned(),
            source_id: None,
            kind,
            evidence: evidence.to_owned(),
        }),
    }
}

fn take_dateline(blocks: &mut [Block], index: &AliasIndex, out: &mut Attributed) {
    let Some(first) = blocks.iter_mut().find(|b| b.kind == BlockKind::Paragraph) else {
        return;
    };
    for re in DATELINES.iter() {
        let Some(caps) = re.captures(&first.text) else {
            continue;
        };
        let (Some(all), Some(agency)) = (caps.get(0), caps.name("agency")) else {
            continue;
        };
        // Unknown agencies in a dateline are kept only when they look like an agency tag
        // (one or two capitalised words), not a parenthesised remark.
        let known = index.resolve(agency.as_str()).is_some();
        let tag_like = agency.as_str().split_whitespace().count() <= 2
            && agency
                .as_str()
                .chars()
                .next()
                .is_some_and(char::is_uppercase);
        if !(known || tag_like) {
            continue;
        }
        let evidence = all.as_str().trim().to_owned();
        if let Some(a) = named(
            agency.as_str(),
            index,
            AttributionKind::Dateline,
            &evidence,
            true,
        ) {
            push(&mut out.attributions, a);
            let rest = first.text.get(all.end()..).unwrap_or_default().to_owned();
            first.text = rest;
        }
        return;
    }
}

fn take_based_on(blocks: &mut Vec<Block>, index: &AliasIndex, out: &mut Attributed) {
    let start = blocks.len().saturating_sub(3);
    let mut remove = Vec::new();
    for (i, b) in blocks.iter().enumerate().skip(start) {
        if b.text.chars().count() > MAX_LINE_CHARS {
            continue;
        }
        let Some(caps) = BASED_ON.captures(b.text.trim()) else {
            continue;
        };
        let Some(names) = caps.name("names") else {
            continue;
        };
        let mut any = false;
        for part in split_names(names.as_str()) {
            if let Some(a) = named(part, index, AttributionKind::BasedOn, b.text.trim(), true) {
                push(&mut out.attributions, a);
                any = true;
            }
        }
        if any {
            remove.push(i);
        }
    }
    for i in remove.into_iter().rev() {
        blocks.remove(i);
    }
}

fn split_names(list: &str) -> impl Iterator<Item = &str> {
    static SEP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\s*(?:,|;|&)\s*|\s+(?:and|и|і|oraz|i)\s+").expect("static regex")
    });
    SEP.split(list).map(str::trim).filter(|s| !s.is_empty())
}

fn take_photo_credits(blocks: &mut Vec<Block>, index: &AliasIndex, out: &mut Attributed) {
    blocks.retain(|b| {
        let t = b.text.trim();
        if b.kind != BlockKind::Paragraph || t.chars().count() > MAX_LINE_CHARS {
            return true;
        }
        // A bare agency name on its own line is a photo credit ("BELTA", "belta").
        let bare = index
            .resolve(t)
            .filter(|_| t.split_whitespace().count() <= 3);
        let credit = bare.is_some() || PHOTO.is_match(t);
        if !credit {
            return true;
        }
        let agency = bare.or_else(|| index.find_in(t));
        if let Some((id, name)) = agency {
            push(
                &mut out.attributions,
                Attribution {
                    name,
                    source_id: Some(id),
                    kind: AttributionKind::Photo,
                    evidence: t.to_owned(),
                },
            );
        }
        out.photo_credits.push(t.to_owned());
        false
    });
}

/// Records a `photo` attribution for every credit line that names a known agency (credits
/// collected outside the body text, e.g. from caption elements).
pub fn credit_attributions(list: &mut Vec<Attribution>, credits: &[String], index: &AliasIndex) {
    for c in credits {
        let agency = index.resolve(c).or_else(|| index.find_in(c));
        if let Some((id, name)) = agency {
            push(
                list,
                Attribution {
                    name,
                    source_id: Some(id),
                    kind: AttributionKind::Photo,
                    evidence: c.clone(),
                },
            );
        }
    }
}

/// The citation patterns as one set: a cheap DFA pass says which (if any) can match a block,
/// so the slower capturing search runs only where it will find something.
static CITED_SET: LazyLock<regex::RegexSet> = LazyLock::new(|| {
    regex::RegexSet::new(CITED.iter().map(|(re, _)| re.as_str())).expect("patterns compiled above")
});

fn find_cited(text: &str, index: &AliasIndex, list: &mut Vec<Attribution>) {
    let hits = CITED_SET.matches(text);
    if !hits.matched_any() {
        return;
    }
    for (re, keep_unknown) in hits.iter().filter_map(|i| CITED.get(i)) {
        for caps in re.captures_iter(text) {
            let (Some(all), Some(name)) = (caps.get(0), caps.name("name")) else {
                continue;
            };
            if let Some(a) = named(
                name.as_str(),
                index,
                AttributionKind::Cited,
                all.as_str().trim(),
                *keep_unknown,
            ) {
                push(list, a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, name: &str, aliases: &[&str]) -> SourceProfile {
        SourceProfile {
            id: SourceId::new(id).unwrap(),
            name: name.into(),
            homepage: None,
            language: None,
            timezone: chrono_tz::UTC,
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
}
