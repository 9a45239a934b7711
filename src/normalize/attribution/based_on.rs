//! `based_on`: a closing source line among the last lines of the text ("Based on materials of
//! sb.by and belta.by", "Подготовлено по материалам БелТА и «Пула Первого»", "Па матэрыялах
//! Сіньхуа", "Источник: БелТА"), opened as in [`super::conventions::BASED_ON_OPENERS`]. Every
//! name listed is credited, known or not; the line leaves the text.

use super::conventions::BASED_ON_OPENERS;
use super::tokens::tokenize;
use super::{AliasIndex, Entry};
use crate::model::SourceId;

/// Longest line that can be a closing source line.
pub(super) const MAX_LINE_CHARS: usize = 160;
/// Most words of one listed name (a longer part is a sentence, not a name).
const MAX_NAME_WORDS: usize = 5;

/// The names a closing source line lists, or `None` when `line` is not one.
pub(super) fn names(
    line: &str,
    index: &AliasIndex,
    prefer: Option<&SourceId>,
) -> Option<Vec<(Option<Entry>, String)>> {
    let line = line.trim();
    if line.chars().count() > MAX_LINE_CHARS {
        return None;
    }
    let toks = tokenize(line);
    let opener = BASED_ON_OPENERS.iter().find(|o| {
        toks.len() > o.words.len()
            && toks.iter().zip(o.words).all(|(t, w)| t.lower == *w)
            && (!o.needs_colon
                || toks
                    .get(o.words.len())
                    .is_some_and(|t| matches!(t.text, ":" | "-" | "–" | "—")))
    })?;
    let after = toks.get(opener.words.len())?;
    let list = line
        .get(after.start..)?
        .trim_start_matches([':', '-', '–', '—', ' '])
        .trim_end_matches(['.', ' ']);
    let mut out = Vec::new();
    for part in split_list(list) {
        let clean = part.trim_matches(|c: char| !c.is_alphanumeric());
        let words: Vec<&str> = clean.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if words.len() > MAX_NAME_WORDS {
            return None;
        }
        let known = index.resolve_words(&words, prefer);
        out.push((known, clean.to_owned()));
    }
    (!out.is_empty()).then_some(out)
}

/// The names of a list: "A, B and C", "A и B", "A і B", "A & B".
fn split_list(list: &str) -> Vec<&str> {
    let mut parts = vec![list];
    for sep in [",", ";", "&", " and ", " и ", " і ", " i ", " oraz "] {
        parts = parts.iter().flat_map(|p| p.split(sep)).collect();
    }
    parts
}
