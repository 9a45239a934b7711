//! `photo`: credits shown with pictures. A credit is a line that says who made or supplied a
//! picture: "Photo: BelTA", "Фото Яна Горбанюка, БЕЛТА.", "Фота: president.gov.by",
//! "© AFP / Pascal Guyot", "REUTERS/Yves Herman", "[Photo/Xinhua]", "(Xinhua/Li Ziheng)",
//! "AP Photo/J. Scott Applewhite", "Pool photo via AP", a bare "BELTA" under a picture.
//!
//! Every credit line leaves the text (into `photo_credits`); the outlets it names become
//! `photo` attributions. Person names in a credit ("Photo by Ivan Sergeev") credit no outlet; an
//! outlet no alias knows is kept by name when it looks like one (capitals such as "AFP", an
//! outlet word such as "Getty Images", a site such as "zviazda.by", quotes, a Latin name in a
//! Cyrillic credit such as "Фото: Sputnik").

use super::conventions::{CREDIT_FILLER, OUTLET_WORDS, PHOTO_MARKERS, UNNAMED_CREDITS};
use super::{AliasIndex, Entry};
use crate::model::SourceId;
use crate::normalize::text::patterns::fold_case;

/// Longest line read as a credit or a caption carrying one.
const MAX_CREDIT_LINE: usize = 160;
/// Most words of a credit line without a marker ("REUTERS/Yves Herman").
const MAX_BARE_CREDIT_WORDS: usize = 8;
/// Longest parenthetical credit at the end of a caption.
const MAX_PAREN_CREDIT: usize = 60;

/// The credit a body line carries: the whole line, or a trailing "(Xinhua/Name)" of a caption
/// line. `None` when the line is ordinary text.
pub(super) fn credit_in_line<'a>(
    line: &'a str,
    index: &AliasIndex,
    prefer: Option<&SourceId>,
) -> Option<&'a str> {
    let t = line.trim();
    let chars = t.chars().count();
    if chars == 0 || chars > MAX_CREDIT_LINE {
        return None;
    }
    let words = t.split_whitespace().count();
    if words <= 3 && index.resolve_for(t, prefer).is_some() {
        return Some(t);
    }
    let folded = fold_case(t);
    if opens_with_marker(&folded, words)
        || folded.starts_with("[photo/")
        || folded.starts_with("[фото/")
    {
        return Some(t);
    }
    if chars <= 80 && UNNAMED_CREDITS.iter().any(|u| folded.contains(u)) {
        return Some(t);
    }
    if let Some(tail) = paren_credit(t) {
        return Some(tail);
    }
    let short = words <= MAX_BARE_CREDIT_WORDS && !t.contains(". ") || words <= 3;
    let has_photo_word = ["photo", "фото", "фота"].iter().any(|w| folded.contains(w));
    if short && (has_photo_word || slash_credit(t, index, prefer)) {
        return Some(t);
    }
    None
}

/// "Photo: …", "Фото …", "© …": a marker word at the start, then a separator.
fn opens_with_marker(folded: &str, words: usize) -> bool {
    PHOTO_MARKERS.iter().any(|m| {
        let Some(rest) = folded.strip_prefix(m) else {
            return false;
        };
        let rest_trim = rest.trim_start();
        match rest.chars().next() {
            None => *m != "©",
            Some(':' | '/' | '：') => true,
            Some(c) if c.is_whitespace() => {
                *m == "©"
                    || rest_trim.starts_with([':', '-', '–', '—', '/'])
                    || rest_trim.starts_with("by ")
                    || rest_trim.starts_with("courtesy")
                    || (matches!(*m, "фото" | "фота") && words <= 7 && !rest.contains(". "))
            }
            Some(_) => false,
        }
    })
}

/// "(Xinhua/Li Ziheng)" or "(AP Photo/Name)" closing a caption.
fn paren_credit(line: &str) -> Option<&str> {
    let body = line.trim_end_matches('.').trim_end();
    if !body.ends_with(')') {
        return None;
    }
    let open = body.rfind('(')?;
    let tail = body.get(open..)?;
    let inner = tail.get(1..tail.len() - 1)?;
    if inner.chars().count() > MAX_PAREN_CREDIT {
        return None;
    }
    let folded = fold_case(inner);
    let capital = |s: &str| {
        s.trim()
            .chars()
            .find(|c| c.is_alphabetic())
            .is_some_and(char::is_uppercase)
    };
    let slashed = inner
        .split_once('/')
        .is_some_and(|(a, b)| capital(a) && capital(b));
    (slashed || folded.contains("photo") || folded.contains("фото")).then_some(tail)
}

/// "REUTERS/Yves Herman", "Pascal Guyot / AFP": one side of a slash is an agency.
fn slash_credit(line: &str, index: &AliasIndex, prefer: Option<&SourceId>) -> bool {
    line.contains('/')
        && line.split('/').any(|side| {
            let side = side.trim();
            index.resolve_for(side, prefer).is_some() || all_caps(side)
        })
}

fn all_caps(s: &str) -> bool {
    let letters: Vec<char> = s.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
}

/// A web address in a credit ("t.me/pul_1", "zviazda.by").
fn is_address(word: &str) -> bool {
    let host = word.split('/').next().unwrap_or_default();
    host.rsplit_once('.').is_some_and(|(name, tld)| {
        !name.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_lowercase())
    })
}

/// The outlets a credit names: known sources, or names that look like outlets.
pub(super) fn outlets(
    credit: &str,
    index: &AliasIndex,
    prefer: Option<&SourceId>,
) -> Vec<(Option<Entry>, String)> {
    let mut out: Vec<(Option<Entry>, String)> = Vec::new();
    let cyrillic = credit.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c));
    let mut rest = String::new();
    for word in credit.split_whitespace() {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/' && c != '_');
        if is_address(w) {
            let segments = std::iter::once(w).chain(w.split('/'));
            let known = segments.clone().find_map(|s| index.resolve_for(s, prefer));
            let host = w.split('/').next().unwrap_or(w).to_owned();
            out.push((known, host));
        } else {
            rest.push_str(word);
            rest.push(' ');
        }
    }
    let parts: Vec<&str> = rest
        .split(['/', ',', ';', '|', '(', ')', '[', ']', ':', '—', '–', '©'])
        .flat_map(|p| p.split(" via "))
        .collect();
    let single = parts.iter().filter(|p| !p.trim().is_empty()).count() == 1;
    for part in parts {
        if let Some(o) = outlet_in_part(part, index, prefer, cyrillic, single) {
            out.push(o);
        }
    }
    let mut seen = Vec::new();
    out.retain(|(e, n)| {
        let key = e
            .as_ref()
            .map_or_else(|| n.to_lowercase(), |(id, _)| id.to_string());
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
    out
}

fn outlet_in_part(
    part: &str,
    index: &AliasIndex,
    prefer: Option<&SourceId>,
    cyrillic_credit: bool,
    single: bool,
) -> Option<(Option<Entry>, String)> {
    let quoted = part.contains(['«', '"', '“']);
    let mut words: Vec<&str> = part
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != '-'))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    let filler = |w: &&str| CREDIT_FILLER.contains(&fold_case(w).as_str());
    while words.first().is_some_and(filler) {
        words.remove(0);
    }
    while words.last().is_some_and(filler) {
        words.pop();
    }
    if words.is_empty() {
        return None;
    }
    if let Some(e) = index.resolve_words(&words, prefer) {
        return Some((Some(e), words.join(" ")));
    }
    if let Some((_, e)) = index
        .longest_suffix(&words, prefer)
        .or_else(|| index.longest_prefix(&words, prefer))
    {
        return Some((Some(e.clone()), e.1));
    }
    let name = words.join(" ");
    let capital = name.chars().next().is_some_and(char::is_uppercase);
    let latin = name
        .chars()
        .all(|c| !c.is_alphabetic() || c.is_ascii_alphabetic());
    let outlet_word = words
        .iter()
        .any(|w| OUTLET_WORDS.contains(&fold_case(w).as_str()));
    let looks = quoted
        || words.iter().all(|w| all_caps(w))
        || outlet_word
        || (latin && cyrillic_credit)
        || (single && latin && words.len() == 1);
    (capital && looks).then_some((None, name))
}

/// Splits a credit off the end of a picture caption ("Minsk at night. Photo: BelTA",
/// "The port, June 5. (Xinhua/Li Ziheng)"): the caption without it, and the credit.
pub fn split_caption(caption: &str) -> (String, Option<String>) {
    if let Some(tail) = paren_credit(caption)
        && let Some(i) = caption.rfind(tail)
    {
        let head = caption.get(..i).unwrap_or_default();
        return (head.trim().to_owned(), Some(tail.to_owned()));
    }
    for marker in [
        "Photo:",
        "Photo by",
        "Photos:",
        "Фото:",
        "Фота:",
        "Фото ",
        "Фота ",
        "Foto:",
        "Credit:",
        "(Photo",
        "©",
    ] {
        if let Some(i) = caption.rfind(marker) {
            let (head, tail) = caption.split_at(i);
            let credit = tail
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .to_owned();
            let head = head.trim().trim_end_matches(['.', ',', ';', '|']).trim();
            return (head.to_owned(), Some(credit));
        }
    }
    (caption.to_owned(), None)
}
