//! `dateline`: the wire dateline opening the first paragraph, in the shapes of
//! [`super::conventions::DATELINES`]; recorded, then cut from the text.

use std::sync::OnceLock;

use regex::Regex;

use super::conventions::{DATELINES, DatelineShape};
use super::{AliasIndex, Found, Name};
use crate::model::SourceId;
use crate::normalize::text::patterns::compile;

/// [`DATELINES`], each compiled on first use (most runs need few of them).
static COMPILED: [OnceLock<Regex>; DATELINES.len()] = [const { OnceLock::new() }; DATELINES.len()];

fn compile_shape(d: &DatelineShape) -> Regex {
    debug_assert!(
        !d.family.is_empty(),
        "every dateline shape names its family"
    );
    compile(d.pattern)
}

/// The shapes that can match `text`, compiled, in order.
fn shapes_for(text: &str) -> impl Iterator<Item = &'static Regex> {
    let first = text.chars().next();
    DATELINES
        .iter()
        .zip(&COMPILED)
        .filter(move |(d, _)| first.is_some_and(d.opens) && text.contains(d.needs))
        .map(|(d, re): (&DatelineShape, _)| re.get_or_init(|| compile_shape(d)))
}

/// The dateline opening `text`: what it credits and where the text after it starts.
pub(super) fn find(
    text: &str,
    index: &AliasIndex,
    prefer: Option<&SourceId>,
) -> Option<(Found, usize)> {
    for re in shapes_for(text) {
        let Some(caps) = re.captures(text) else {
            continue;
        };
        let (Some(all), Some(agency)) = (caps.get(0), caps.name("agency")) else {
            continue;
        };
        let written = agency.as_str().trim();
        let source = index.resolve_for(written, prefer);
        // An agency no alias knows is kept when it looks like an agency tag (one or two
        // capitalised words), not a parenthesised remark.
        let tag_like = written.split_whitespace().count() <= 2
            && written.chars().next().is_some_and(char::is_uppercase);
        if source.is_none() && !tag_like {
            continue;
        }
        let name = Name {
            start: agency.start(),
            end: agency.end(),
            text: written.to_owned(),
            source,
            quoted: false,
            described: true,
        };
        let found = Found {
            name,
            evidence: all.as_str().trim().to_owned(),
        };
        return Some((found, all.end()));
    }
    None
}

/// Every shape pattern compiles (they are literals).
#[cfg(test)]
pub(super) fn compile_all() {
    for d in DATELINES {
        compile_shape(d);
    }
}
