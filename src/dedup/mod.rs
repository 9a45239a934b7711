//! Duplicate detection. Pure and sync: imports `model` only, does no I/O. The near-duplicate
//! index is either in memory ([`MemStore`], for tests and small sets) or on disk in bounded
//! memory ([`disk::DiskStore`] over a row backend the pipeline supplies: SQLite in `state`);
//! the pipeline supplies candidate texts from the corpus ([`ShingleSource`]).
//!
//! # Exact duplicates
//! The fingerprint folds what differs between copies of one text without changing its words:
//! Unicode NFC, typographic quotes and dashes to ASCII, all whitespace runs to one space, case
//! kept. Two pages with the same fingerprint are the same article, whatever their URL; the
//! record id derives from its SHA-256, and the copy is noted on the record, not written again.
//!
//! # Near duplicates
//! Republished copies (new lead, other boilerplate, shuffled or dropped paragraphs, a digest
//! quoting the story) are kept as records and linked into clusters:
//! 1. [`shingle`]: the text's set of 5-word shingles (lower-cased words, punctuation ignored),
//!    and its facts (numbers, each with the two words before it).
//! 2. [`minhash`]: a 64-function MinHash signature, cut into 64 one-row LSH bands, so a story
//!    quoted in a digest several times its length is still a candidate; records sharing a band
//!    keys are candidates. Records further apart than the date window meet on [`keys`]' far
//!    keys instead: two-row keys salted with the figures after their shingles, which daily
//!    notes of one template do not share. [`screen`] drops those whose number of shared
//!    minima is implausibly low for a link at their sizes, before any row is read.
//! 3. [`link`]: candidates are verified on their exact shingle sets and linked when Jaccard ≥ 0.5
//!    or containment ≥ 0.7 and at most a third of their shared fact contexts carry different
//!    facts; published further apart than the date window, they need Jaccard ≥ 0.8 or
//!    containment ≥ 0.9 and no differing fact ([`Thresholds::DEFAULT`]). Daily notes of one
//!    template stay apart that way; a far candidate whose stored [`FactTag`] already proves a
//!    differing fact is refused before its text is read. Linked clusters merge, and the
//!    cluster's canonical record is the minimum [`Rank`] (earliest published, the agency's
//!    own copy, then source id, URL length, id); each member says why it is linked
//!    (`link_reason`).
//! 4. [`digest`]: a text that contains two unrelated records is a digest; its containment
//!    links relate it to each story it quotes (`contains` / `contained_in`) without merging
//!    clusters, so the stories of one digest stay apart ([`regroup`] splits a cluster whose
//!    record turns out to be a digest when its second story arrives).
//!
//! # Parts
//! - `mod.rs`: fingerprint, content hash and the exact [`Deduper`].
//! - [`shingle`], [`minhash`], [`screen`], [`rank`], [`thresholds`], [`facttag`], [`link`],
//!   [`digest`], [`regroup`]: the near-duplicate algorithm.
//! - [`disk`]: the on-disk index the pipeline runs on (a merge tree of sorted runs of band
//!   keys, with the newest records in memory; its tables are documented in [`disk::backend`]).
//! - [`memstore`] (with [`bands`]): the in-memory index; [`cache`]: bounded shingle-set cache
//!   for verification.

pub mod bands;
pub mod cache;
pub mod digest;
pub mod disk;
pub mod facttag;
pub mod keys;
pub mod link;
pub mod memstore;
pub mod minhash;
pub mod rank;
pub mod regroup;
pub mod screen;
pub mod shingle;
pub mod thresholds;

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::model::ContentHash;

pub use cache::ShingleCache;
pub use facttag::FactTag;
pub use link::{NearStore, Plan, Relations, ShingleSource, Thresholds};
pub use memstore::{Applied, MemStore, MemTexts};
pub use rank::{DocInfo, IndexedDoc, NearDoc, Rank};
pub use shingle::{ShingleSet, Similarity, similarity};

/// Text as compared for identity (see the module doc).
pub fn fingerprint_text(text: &str) -> String {
    // Most text is already in NFC; composing it again was the costly part of the fingerprint.
    match unicode_normalization::is_nfc_quick(text.chars()) {
        unicode_normalization::IsNormalized::Yes => fold_chars(text.chars(), text.len()),
        _ => fold_chars(text.nfc(), text.len()),
    }
}

/// The fingerprint of NFC characters: quotes, dashes and spaces folded, whitespace runs one
/// space, no space at either end.
fn fold_chars(chars: impl Iterator<Item = char>, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    let mut pending_space = false;
    for c in chars {
        let c = fold_char(c);
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

fn fold_char(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}'
        | '\u{2033}' => '"',
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        '\u{00A0}' | '\u{202F}' | '\u{2007}' => ' ',
        '\u{200B}' | '\u{FEFF}' => ' ',
        c => c,
    }
}

/// SHA-256 of the fingerprint of `text`.
pub fn content_hash(text: &str) -> ContentHash {
    ContentHash::from_digest(&Sha256::digest(fingerprint_text(text).as_bytes()))
}

/// What the deduper says about an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// First time this text is seen: write it under this id.
    New {
        /// The record id.
        id: String,
    },
    /// Same text as an existing record: note the sighting on it, do not write again.
    Duplicate {
        /// The existing record's id.
        of: String,
    },
}

/// Remembers every content hash in the corpus. Seeded from the corpus ids on start, so a
/// re-run (even after a crash) never writes the same text twice.
#[derive(Debug, Default)]
pub struct Deduper {
    seen: HashMap<String, ()>,
}

impl Deduper {
    /// A deduper that already knows these record ids.
    pub fn seeded<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            seen: ids.into_iter().map(|id| (id.to_owned(), ())).collect(),
        }
    }

    /// Classifies a text by its hash and remembers it.
    pub fn check(&mut self, hash: &ContentHash) -> Verdict {
        let id = hash.record_id();
        if self.seen.contains_key(&id) {
            Verdict::Duplicate { of: id }
        } else {
            self.seen.insert(id.clone(), ());
            Verdict::New { id }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_folds_quotes_dashes_space_and_nfc() {
        let a = "\u{2018}Together\u{2019} we \u{2014} are\u{00A0}\n\n strong  ";
        let b = "'Together' we - are strong";
        assert_eq!(fingerprint_text(a), fingerprint_text(b));
        // NFC: e + combining acute == precomposed é.
        assert_eq!(
            fingerprint_text("caf\u{0065}\u{0301}"),
            fingerprint_text("caf\u{00E9}")
        );
        // Case and words are kept.
        assert_ne!(fingerprint_text("Minsk"), fingerprint_text("minsk"));
    }

    #[test]
    fn hash_is_stable_hex() {
        let h = content_hash("hello");
        assert_eq!(h.as_str().len(), 64);
        assert_eq!(h, content_hash(" hello\n"));
        assert_eq!(h.record_id().len(), 32);
        assert!(h.record_id().starts_with('a'));
    }

    #[test]
    fn second_copy_is_a_duplicate_even_after_reseeding() {
        let h = content_hash("story");
        let mut d = Deduper::default();
        let Verdict::New { id } = d.check(&h) else {
            panic!("first is new")
        };
        assert_eq!(d.check(&h), Verdict::Duplicate { of: id.clone() });
        let mut d2 = Deduper::seeded([id.as_str()]);
        assert_eq!(d2.check(&h), Verdict::Duplicate { of: id });
    }
}
