//! Bylines: who wrote the article, from JSON-LD, `<meta>` tags and byline elements.
//!
//! # Order of work
//! 1. Candidates come in groups, most trusted first: JSON-LD people, author `<meta>` tags,
//!    byline elements (`rel=author`, `itemprop=author`, `byline`/`author` classes), and last
//!    the organisations JSON-LD names as author.
//! 2. Every candidate is cleaned ("By ", "von ", "Author:" labels, e-mail addresses, handles,
//!    role suffixes such as "/ Journalist") and split where it lists several people
//!    ("A and B", "A und B", "A, B").
//! 3. The first group that names a person wins; the site's own name ("WDR", "Condé Nast") is
//!    dropped beside a person, and kept only when the page names nobody else (fundus-style
//!    "Euronews" bylines on unsigned copy).
//!
//! This module only reads what the page says; it never invents a name.

use serde_json::Value;

use super::scan::{PageScan, fold_ws};

/// A byline longer than this (characters) is a sentence or a bio, not a name.
const MAX_NAME_CHARS: usize = 60;
/// Names a page can list before the list is a reference section, not a byline.
const MAX_AUTHORS: usize = 12;

/// Meta keys that hold a byline.
const META_KEYS: &[&str] = &[
    "author",
    "article:author",
    "byl",
    "parsely-author",
    "dc.creator",
    "sailthru.author",
    "citation_author",
];

/// Labels written before a name ("By", "von", "Author:"), lower case, longest first where one
/// is a prefix of another.
const LABELS: &[&str] = &[
    "text und interview:",
    "veröffentlicht von",
    "geschrieben von",
    "verfasst von",
    "erstellt von",
    "publié par",
    "écrit par",
    "publicado por",
    "escrito por",
    "pubblicato da",
    "scritto da",
    "written by",
    "posted by",
    "published by",
    "interview:",
    "author:",
    "autor:",
    "autorin:",
    "автор:",
    "text:",
    "author",
    "autor",
    "von",
    "vom",
    "by",
    "par",
    "por",
    "door",
    "di",
    "av",
    "af",
];

/// Words joining two names ("A and B").
const JOINERS: &[&str] = &[
    " and ", " und ", " & ", " og ", " och ", " en ", " et ", " y ", " e ", " i ", " ve ", " и ",
];

/// A name read from JSON-LD, with whether the page typed it as an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdName {
    /// The `name` (or the string itself).
    pub name: String,
    /// `@type` is an organisation, not a person.
    pub org: bool,
}

/// Names in a JSON-LD `author` value: a string, an object with `name`, an `@id` reference to
/// another object of the page's JSON-LD (`objects`), or an array of those.
pub fn ld_names(v: Option<&Value>, objects: &[&Value]) -> Vec<LdName> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = v.into_iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => out.push(LdName {
                name: fold_ws(s),
                org: false,
            }),
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => {
                let resolved = match (map.get("name"), map.get("@id").and_then(Value::as_str)) {
                    (None, Some(id)) => objects
                        .iter()
                        .find(|o| o.get("@id").and_then(Value::as_str) == Some(id))
                        .copied()
                        .unwrap_or(v),
                    _ => v,
                };
                let name = resolved.get("name").and_then(Value::as_str).map(fold_ws);
                if let Some(name) = name.filter(|n| !n.is_empty()) {
                    out.push(LdName {
                        name,
                        org: is_org_type(resolved),
                    });
                }
            }
            _ => {}
        }
        if out.len() > MAX_AUTHORS * 2 {
            break;
        }
    }
    out
}

/// Whether a JSON-LD object's `@type` names an organisation and not a person.
fn is_org_type(o: &Value) -> bool {
    let org = |t: &str| {
        let t = t.rsplit('/').next().unwrap_or(t);
        t.ends_with("Organization") || t == "Corporation" || t == "NewsMediaOrganization"
    };
    match o.get("@type") {
        Some(Value::String(s)) => org(s),
        Some(Value::Array(a)) => {
            let types: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            types.iter().any(|t| org(t)) && !types.contains(&"Person")
        }
        _ => false,
    }
}

/// Author names of the page: deduplicated, cleaned, the site's own name only when nobody
/// else is named.
pub fn authors(scan: &PageScan, ld: &[LdName], site_names: &[&str]) -> Vec<String> {
    let groups: [Vec<String>; 4] = [
        ld.iter()
            .filter(|n| !n.org)
            .map(|n| n.name.clone())
            .collect(),
        scan.metas
            .iter()
            .filter(|(k, _)| META_KEYS.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
            .collect(),
        scan.bylines.clone(),
        ld.iter()
            .filter(|n| n.org)
            .map(|n| n.name.clone())
            .collect(),
    ];
    let mut fallback: Vec<String> = Vec::new();
    for group in groups {
        let names = clean_group(&group);
        let (sites, people): (Vec<String>, Vec<String>) =
            names.into_iter().partition(|n| is_site(n, site_names));
        if !people.is_empty() {
            return people;
        }
        if fallback.is_empty() {
            fallback = sites;
        }
    }
    fallback
}

/// Cleans and splits one group's raw values. A value that contains another value's name
/// ("Jane Doe / Journalist", "View all posts by Jane Doe" beside "Jane Doe") is decoration
/// of that name and is dropped before splitting.
fn clean_group(raw: &[String]) -> Vec<String> {
    // Values come as written in attributes, sometimes escaped twice ("Redacci&oacute;n").
    let raws: Vec<String> = raw
        .iter()
        .map(|r| fold_ws(&crate::html::decode_entities(r)))
        .collect();
    let bases: Vec<Option<String>> = raws
        .iter()
        .map(|r| clean_name(r).map(|n| n.to_lowercase()))
        .collect();
    let decorated = |i: usize| {
        let hay = raws[i].to_lowercase();
        bases.iter().enumerate().any(|(j, b)| {
            b.as_ref()
                .is_some_and(|b| j != i && b.len() < hay.len() && has_words(&hay, b))
        })
    };
    let mut names: Vec<String> = Vec::new();
    for (i, value) in raws.iter().enumerate() {
        if decorated(i) {
            continue;
        }
        for name in split_names(value) {
            if let Some(n) = clean_name(&name)
                && !names.iter().any(|m| m.to_lowercase() == n.to_lowercase())
            {
                names.push(n);
            }
        }
    }
    names.truncate(MAX_AUTHORS);
    names
}

/// Whether `hay` contains `needle` as whole words.
fn has_words(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(at, _)| {
        let before = hay.get(..at).and_then(|s| s.chars().next_back());
        let after = hay.get(at + needle.len()..).and_then(|s| s.chars().next());
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Splits a value listing several people ("A and B", "A, B", "A; B", "A/B" of initials).
fn split_names(value: &str) -> Vec<String> {
    let folded = fold_ws(value);
    let mut parts: Vec<String> = folded
        .split([';', '|', '·', '•'])
        .map(str::to_owned)
        .collect();
    for joiner in JOINERS {
        parts = parts
            .iter()
            .flat_map(|p| p.split(joiner).map(str::to_owned).collect::<Vec<_>>())
            .collect();
    }
    parts
        .iter()
        .flat_map(|p| {
            let pieces: Vec<&str> = p.split([',', '，', '、']).map(str::trim).collect();
            // "Doe, Jane" is one name; "Jane Doe, John Roe" is two.
            let all_names = pieces.len() > 1
                && pieces.iter().all(|x| {
                    let words = x.split_whitespace().count();
                    x.is_empty() || (1..=4).contains(&words)
                })
                && pieces
                    .iter()
                    .filter(|x| x.split_whitespace().count() >= 2)
                    .count()
                    > 0;
            if all_names {
                // Beside full names, a one-word piece is a place or a desk ("Jane Doe,
                // London").
                pieces
                    .into_iter()
                    .filter(|x| x.split_whitespace().count() >= 2)
                    .map(str::to_owned)
                    .collect()
            } else {
                vec![p.clone()]
            }
        })
        .collect()
}

/// One name without labels, handles and decoration; `None` when nothing name-like is left.
fn clean_name(raw: &str) -> Option<String> {
    let mut s = fold_ws(raw);
    s = s
        .trim_matches(|c: char| {
            c.is_whitespace()
                || matches!(c, '~' | '-' | '–' | '—' | ',' | ':' | '|' | '→' | '»' | '«')
        })
        .to_owned();
    s = strip_label(&s);
    // Role and initials suffixes: "Jane Doe / Journalist", "Elena Oberholzer (obe)".
    if let Some((name, _)) = s.split_once(" / ") {
        s = name.trim().to_owned();
    }
    if let Some(open) = s.rfind(" (")
        && s.ends_with(')')
        && open > 0
    {
        s = s.get(..open).unwrap_or(&s).trim().to_owned();
    }
    s = s.trim_end_matches([',', ';', ':']).trim().to_owned();
    let lower = s.to_lowercase();
    let junk = s.is_empty()
        || s.chars().count() > MAX_NAME_CHARS
        || s.contains("://")
        || s.contains('@')
        || s.chars().any(|c| c.is_ascii_digit())
        || s.starts_with("www.") && !s.contains(' ')
        || matches!(
            lower.as_str(),
            "null" | "none" | "admin" | "no author" | "unknown"
        )
        || is_label(&lower)
        || lower.starts_with("view all")
        || lower.starts_with("zeige alle")
        || lower.starts_with("all posts")
        || lower.starts_with("more by")
        || !s.chars().any(char::is_alphabetic);
    (!junk).then_some(s)
}

/// Whether the whole text is only a label ("By", "Posted on"): the name sits in another
/// element.
fn is_label(lower: &str) -> bool {
    let bare = lower.trim_end_matches([':', ' ']);
    LABELS.iter().any(|l| l.trim_end_matches(':') == bare)
        || matches!(
            bare,
            "posted"
                | "posted on"
                | "published"
                | "published on"
                | "written"
                | "veröffentlicht"
                | "veröffentlicht am"
                | "publié le"
                | "publicado el"
                | "datum"
                | "date"
                | "quelle"
                | "source"
        )
}

/// Removes a leading label ("By ", "von ", "Author:", "AuthorJane Doe").
fn strip_label(s: &str) -> String {
    let lower = s.to_lowercase();
    for label in LABELS {
        let Some(rest) = lower.strip_prefix(label) else {
            continue;
        };
        let cut = s.len() - rest.len();
        let Some(tail) = s.get(cut..) else { continue };
        let next = tail.chars().next();
        // A label is followed by a space or colon, or glued to a capitalised name
        // ("AuthorJane Doe" from adjacent elements).
        let glued = next.is_some_and(char::is_uppercase) && label.len() >= 5;
        // Short foreign labels ("di", "par") are also name particles ("Di Maria"): only
        // their lower-case form is a label.
        let particle = label.len() <= 4 && !matches!(*label, "by" | "von" | "vom");
        if particle && s.starts_with(|c: char| c.is_uppercase()) {
            continue;
        }
        if next.is_some_and(|c| c.is_whitespace() || c == ':') || glued || label.ends_with(':') {
            let t = tail.trim_start_matches([' ', ':']).trim();
            if !t.is_empty() {
                return t.to_owned();
            }
        }
    }
    s.to_owned()
}

/// Whether the name is the site's own (its configured name, an alias, `og:site_name`) or a
/// bare domain.
fn is_site(name: &str, site_names: &[&str]) -> bool {
    let n = name.to_lowercase();
    let domain = !n.contains(' ')
        && n.contains('.')
        && n.rsplit('.').next().is_some_and(|tld| {
            (2..=6).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
        });
    domain
        || site_names.iter().any(|s| {
            let s = s.trim().to_lowercase();
            !s.is_empty()
                && (n == s
                    || n.contains(&s) && n.len() <= s.len() + 20
                    || s.contains(&n) && n.len() >= 3)
        })
}

#[cfg(test)]
mod tests;
