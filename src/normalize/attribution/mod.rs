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

use regex::{Regex, RegexSet};

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

mod patterns;
use patterns::*;

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
    for re in datelines_for(&first.text) {
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
        if b.text.chars().count() > MAX_LINE_CHARS || !opens_like_based_on(b.text.trim()) {
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
        let credit = bare.is_some() || (mentions_photo(t) && PHOTO.is_match(t));
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

/// The citation triggers as one set, which says which patterns can match a block, so the
/// capturing search runs (and its pattern is compiled) only where it may find something.
///
/// Triggers, not the patterns themselves: a set of the full patterns cost several times more
/// to compile. Each trigger is anchored through a lazy `(?s:.)*?` prefix (the same for set
/// membership) so that the set builds no literal prefilter, which cost more than the rest.
static CITED_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(CITED.iter().map(|c| format!("^(?s:.)*?(?:{})", c.trigger)))
        .expect("static regex set")
});

fn find_cited(text: &str, index: &AliasIndex, list: &mut Vec<Attribution>) {
    let hits = CITED_SET.matches(text);
    if !hits.matched_any() {
        return;
    }
    for i in hits.iter() {
        let (Some(cited), Some(re)) = (CITED.get(i), CITED_RES.get(i)) else {
            continue;
        };
        let re = re.get_or_init(|| compile(cited.pattern));
        for caps in re.captures_iter(text) {
            let (Some(all), Some(name)) = (caps.get(0), caps.name("name")) else {
                continue;
            };
            if let Some(a) = named(
                name.as_str(),
                index,
                AttributionKind::Cited,
                all.as_str().trim(),
                cited.keep_unknown,
            ) {
                push(list, a);
            }
        }
    }
}

#[cfg(test)]
mod tests;
