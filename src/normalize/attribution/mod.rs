//! Attribution: which outlets an article credits, how, and where on the page.
//!
//! Five kinds (`publisher` is the source itself; the other four are read from the page):
//! - `dateline`: a wire dateline opening the text ("MINSK, 5 May (BelTA) – ",
//!   "МОСКВА, 4 марта. /ТАСС/. ", "МІНСК, 5 лютага (БЕЛТА) – "): recorded, then cut;
//! - `based_on`: a closing source line ("Based on materials of sb.by and belta.by",
//!   "Подготовлено по материалам БелТА", "Па матэрыялах Сіньхуа"): recorded, the line leaves;
//! - `photo`: a credit shown with a picture ("BELTA", "Фото: БелТА", "© AFP / Name"), in the
//!   text, in a caption or in a credit element: moved to `photo_credits`, outlets recorded;
//! - `cited`: an outlet named in running text next to a credit phrase ("according to the Pul
//!   Pervogo Telegram channel", "сообщает агентство Синьхуа"): recorded, the text stays.
//!
//! The conventions (phrases per language, descriptors, openers, photo markers, dateline shapes
//! per agency family) are data in `conventions`; names resolve through [`AliasIndex`], which
//! knows inflected and Belarusian forms. An outlet no source configures is kept by name with
//! no `source_id` when the wording says it is an outlet.

mod aliases;
mod based_on;
mod cited;
mod conventions;
mod dateline;
mod photo;
mod tokens;

pub use aliases::AliasIndex;
pub use photo::split_caption;

use crate::model::{
    Attribution, AttributionKind, Block, BlockKind, FoundIn, SourceId, SourceProfile,
};

/// A configured source a name resolves to: its id and display name.
type Entry = (SourceId, String);

/// A name read from the page.
#[derive(Debug, Clone)]
struct Name {
    /// Byte span in the line it was read from.
    start: usize,
    end: usize,
    /// The name as written (quotes off).
    text: String,
    /// The configured source it resolves to.
    source: Option<Entry>,
    /// It was written in quotes.
    quoted: bool,
    /// A descriptor ("agency", "Telegram channel") stands next to it.
    described: bool,
}

impl Name {
    fn known(start: usize, end: usize, id: SourceId, display: String) -> Self {
        Self {
            start,
            end,
            text: display.clone(),
            source: Some((id, display)),
            quoted: false,
            described: false,
        }
    }
}

/// A credited name with the sentence or line that credits it.
#[derive(Debug)]
struct Found {
    name: Name,
    evidence: String,
}

/// What attribution analysis took out of the body.
#[derive(Debug, Default)]
pub struct Attributed {
    /// Credited outlets, deduplicated, in order found.
    pub attributions: Vec<Attribution>,
    /// Photo-credit lines removed from the body.
    pub photo_credits: Vec<String>,
}

/// Analyses and cleans `blocks` in place (see the module doc).
pub fn attribute(
    blocks: &mut Vec<Block>,
    index: &AliasIndex,
    publisher: &SourceProfile,
) -> Attributed {
    let mut out = Attributed::default();
    let prefer = Some(&publisher.id);
    let evidence = publisher
        .homepage
        .as_ref()
        .map_or_else(|| publisher.id.to_string(), |u| u.to_string());
    push(
        &mut out.attributions,
        attribution(
            Some((publisher.id.clone(), publisher.name.clone())),
            String::new(),
            AttributionKind::Publisher,
            evidence,
            None,
        ),
    );
    if let Some(first) = blocks.iter_mut().find(|b| b.kind == BlockKind::Paragraph)
        && let Some((found, cut)) = dateline::find(&first.text, index, prefer)
    {
        record(
            &mut out.attributions,
            found,
            AttributionKind::Dateline,
            FoundIn::Dateline,
        );
        first.text = first.text.get(cut..).unwrap_or_default().to_owned();
    }
    take_based_on(blocks, index, prefer, &mut out);
    take_photo_credits(blocks, index, prefer, &mut out);
    for b in blocks.iter() {
        for found in cited::find(&b.text, index, prefer) {
            record(
                &mut out.attributions,
                found,
                AttributionKind::Cited,
                FoundIn::Body,
            );
        }
    }
    out
}

fn attribution(
    source: Option<Entry>,
    written: String,
    kind: AttributionKind,
    evidence: String,
    found_in: Option<FoundIn>,
) -> Attribution {
    let (source_id, name) = match source {
        Some((id, display)) => (Some(id), display),
        None => (None, written),
    };
    Attribution {
        name,
        source_id,
        kind,
        evidence,
        found_in,
    }
}

fn record(list: &mut Vec<Attribution>, found: Found, kind: AttributionKind, place: FoundIn) {
    let Found { name, evidence } = found;
    push(
        list,
        attribution(name.source, name.text, kind, evidence, Some(place)),
    );
}

fn push(list: &mut Vec<Attribution>, a: Attribution) {
    let clean = a.name.trim().trim_matches(|c: char| !c.is_alphanumeric());
    if clean.chars().count() < 2 {
        return;
    }
    let same = |x: &Attribution| {
        x.kind == a.kind
            && match (&x.source_id, &a.source_id) {
                (Some(p), Some(q)) => p == q,
                (None, None) => x.name.to_lowercase() == a.name.to_lowercase(),
                _ => false,
            }
    };
    if !list.iter().any(same) {
        list.push(a);
    }
}

fn take_based_on(
    blocks: &mut Vec<Block>,
    index: &AliasIndex,
    prefer: Option<&SourceId>,
    out: &mut Attributed,
) {
    let start = blocks.len().saturating_sub(3);
    let mut remove = Vec::new();
    for (i, b) in blocks.iter().enumerate().skip(start) {
        let Some(names) = based_on::names(&b.text, index, prefer) else {
            continue;
        };
        let line = b.text.trim().to_owned();
        for (source, written) in names {
            push(
                &mut out.attributions,
                attribution(
                    source,
                    written,
                    AttributionKind::BasedOn,
                    line.clone(),
                    Some(FoundIn::Footer),
                ),
            );
        }
        remove.push(i);
    }
    for i in remove.into_iter().rev() {
        blocks.remove(i);
    }
}

fn take_photo_credits(
    blocks: &mut Vec<Block>,
    index: &AliasIndex,
    prefer: Option<&SourceId>,
    out: &mut Attributed,
) {
    blocks.retain(|b| {
        if b.kind != BlockKind::Paragraph {
            return true;
        }
        let Some(credit) = photo::credit_in_line(&b.text, index, prefer) else {
            return true;
        };
        photo_outlets(
            &mut out.attributions,
            credit,
            index,
            prefer,
            FoundIn::Caption,
        );
        out.photo_credits.push(credit.to_owned());
        false
    });
}

fn photo_outlets(
    list: &mut Vec<Attribution>,
    credit: &str,
    index: &AliasIndex,
    prefer: Option<&SourceId>,
    place: FoundIn,
) {
    for (source, written) in photo::outlets(credit, index, prefer) {
        push(
            list,
            attribution(
                source,
                written,
                AttributionKind::Photo,
                credit.to_owned(),
                Some(place),
            ),
        );
    }
}

/// Records a `photo` attribution for every outlet named by credits read outside the body
/// text: credit elements (`FoundIn::Credit`) and credits split off picture captions
/// (`FoundIn::Caption`).
pub fn credit_attributions(
    list: &mut Vec<Attribution>,
    credits: &[(String, FoundIn)],
    index: &AliasIndex,
    publisher: &SourceId,
) {
    for (credit, place) in credits {
        photo_outlets(list, credit, index, Some(publisher), *place);
    }
}

#[cfg(test)]
mod tests;
