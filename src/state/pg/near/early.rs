//! The part of a batch's candidate lookup that needs no lock.
//!
//! Record numbers are handed out under the index lock, and the batch that took them commits
//! before it releases the lock, so the records any reader sees are always those numbered up to
//! the last one it sees: a prefix. Their postings are written after the lock (`since.rs`), so
//! the postings are complete up to the *posted mark*, below it. A record's keys never change
//! once it is stored. So the stored candidates of a batch split into those numbered up to the
//! posted mark before the lock ([`PgNearIndex::candidate_texts`] reads them from the postings,
//! and the texts to verify them against, while other workers hold the lock) and those numbered
//! above it, which `begin` reads under the lock by record number with their filed keys
//! (`since.rs`). Clusters and owners do change, so `begin` reads the early candidates' rows
//! again under the lock: the plans see exactly what a lookup under the lock in complete
//! postings would have returned.

use std::collections::HashMap;

use crate::dedup::NearDoc;
use crate::dedup::keys::Keys;
use crate::dedup::link::Hit;

use super::super::PgError;
use super::overlay::Overlay;
use super::{PgNearIndex, since, sql};

/// Candidates per lookup (two per batch record: near keys, far keys), `(doc, keys shared)`.
pub(super) type Found = HashMap<usize, Vec<(i64, usize)>>;

/// What [`PgNearIndex::candidate_texts`] read for the batch `begin` takes next.
#[derive(Debug)]
pub(super) struct Early {
    /// The batch's record ids, in order, and the bucket width its keys were made with: an
    /// early read serves only the batch it was made for.
    ids: Vec<String>,
    bucket_us: i64,
    /// The posted mark when the read began.
    upto: i64,
    /// The candidates numbered up to `upto`.
    found: Found,
}

/// The lookups of `keys` in `begin`'s order: each record's near keys, then its far keys.
pub(super) fn lookups(keys: &[Keys]) -> Vec<&[u32]> {
    keys.iter()
        .flat_map(|k| [k.near.as_slice(), k.far.as_slice()])
        .collect()
}

impl PgNearIndex {
    /// The lookup keys of `batch`'s records.
    pub(super) fn keys_of<'a>(&self, batch: impl Iterator<Item = &'a NearDoc>) -> Vec<Keys> {
        batch
            .map(|d| Keys::of(&d.bands, d.info.rank.published_us, self.bucket_us))
            .collect()
    }

    /// Before a batch, outside the lock: reads the stored candidates of `batch` (kept for the
    /// `begin` of the same records, see the module doc) and returns the texts of those that
    /// `screen` accepts and `known` does not, so that the plans made under the lock find them
    /// in the caller's cache. A far candidate is screened with its shared keys doubled, as
    /// `dedup::keys` ranks it.
    ///
    /// # Errors
    /// `Query`.
    pub fn candidate_texts(
        &mut self,
        batch: &[&NearDoc],
        screen: &mut dyn FnMut(&NearDoc, Hit) -> bool,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, String)>, PgError> {
        self.rollback();
        let keys = self.keys_of(batch.iter().copied());
        let mut seen = Overlay::default();
        let mut c = self.db.client();
        let (mut upto, stuck) = since::posted_mark(&mut c)?;
        if stuck {
            let n = since::post_stuck(&mut c)?;
            tracing::info!(
                postings = n,
                "wrote the postings of records a worker left unposted"
            );
            upto = since::posted_mark(&mut c)?.0;
        }
        // First the mark, then the candidates: every posting up to it is visible to the
        // second statement; later ones it may see are dropped (`begin` reads them).
        let mut found = sql::batch_candidates(&mut c, &lookups(&keys), -1, &mut seen)?;
        let mut wanted: Vec<i64> = Vec::new();
        for (i, cands) in &mut found {
            cands.retain(|&(doc, _)| doc <= upto);
            for &(doc, matches) in cands.iter() {
                let Some(f) = seen.indexed(doc) else { continue };
                let hit = Hit {
                    matches: if i % 2 == 1 { matches * 2 } else { matches },
                    shingles: f.info.shingles,
                    published_us: f.info.rank.published_us,
                };
                if !known(f.info.id()) && screen(batch[i / 2], hit) {
                    wanted.push(doc);
                }
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        let texts = sql::texts(&mut c, &wanted)?;
        self.early = Some(Early {
            ids: batch.iter().map(|d| d.info.id().to_owned()).collect(),
            bucket_us: self.bucket_us,
            upto,
            found,
        });
        Ok(texts)
    }

    /// Under the lock: the stored candidates of `lookups` (those of the records `ids`): from
    /// the postings up to the posted mark (the early read's, when it was made for this batch,
    /// else read now) and from the records numbered above it (`since.rs`, kept for the
    /// batch's other lookups); every candidate's current row is in the overlay.
    pub(super) fn locked_candidates(
        &mut self,
        c: &mut postgres::Client,
        ids: &[&str],
        lookups: &[&[u32]],
    ) -> Result<Found, PgError> {
        let early = self.early.take().filter(|e| {
            e.bucket_us == self.bucket_us
                && e.ids.len() == ids.len()
                && e.ids.iter().zip(ids).all(|(a, b)| a.as_str() == *b)
        });
        let (upto, mut found) = match early {
            Some(early) => {
                let mut docs: Vec<i64> = early
                    .found
                    .values()
                    .flatten()
                    .map(|&(doc, _)| doc)
                    .collect();
                docs.sort_unstable();
                docs.dedup();
                if !docs.is_empty() {
                    sql::load(c, "r.doc = ANY($1)", &docs, &mut self.overlay)?;
                }
                (early.upto, early.found)
            }
            None => {
                let upto = since::posted_mark(c)?.0;
                let mut found = sql::batch_candidates(c, lookups, -1, &mut self.overlay)?;
                for cands in found.values_mut() {
                    cands.retain(|&(doc, _)| doc <= upto);
                }
                (upto, found)
            }
        };
        let since = since::read_since(c, upto, &mut self.overlay)?;
        for (i, bands) in lookups.iter().enumerate() {
            // Numbered up to `upto`, then above it: in record order, as one lookup returns.
            let above = since.matches(bands);
            if !above.is_empty() {
                found.entry(i).or_default().extend(above);
            }
        }
        self.since = since;
        Ok(found)
    }
}
