//! [`NearStore`] on the shared index: what `dedup::link` asks of a store, answered from the
//! batch's overlay and, for what it has not met, from the database under the index lock.

use crate::dedup::IndexedDoc;
use crate::dedup::link::{Hit, NearStore, Plan, Relations};

use super::super::PgError;
use super::{PgNearIndex, sql};

impl NearStore for PgNearIndex {
    type Error = PgError;

    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, PgError> {
        let mut found = self.stored_candidates(bands)?;
        found.extend(self.overlay.matches(bands));
        let mut kept = Vec::new();
        for (doc, matches) in found {
            let Some(c) = self.overlay.indexed(doc) else {
                continue;
            };
            let hit = Hit {
                matches,
                shingles: c.info.shingles,
                published_us: c.info.rank.published_us,
            };
            if keep(hit) {
                kept.push((c, hit));
            }
        }
        Ok(kept)
    }

    fn find(&mut self, id: &str) -> Result<Option<IndexedDoc>, PgError> {
        let Some(doc) = self.doc_of(id)? else {
            return Ok(None);
        };
        self.load(doc)?;
        Ok(self.overlay.indexed(doc))
    }

    fn relations(&mut self, id: &str) -> Result<Relations, PgError> {
        let Some(doc) = self.doc_of(id)? else {
            return Ok(Relations::default());
        };
        let stored = match self.overlay.stored_relations(doc) {
            Some(r) => r,
            None => {
                let r = sql::relations(&mut self.db.client(), doc, &mut self.overlay)?;
                self.overlay.set_stored_relations(doc, r.clone());
                r
            }
        };
        Ok(self.overlay.relations(doc, stored))
    }

    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, PgError> {
        let Some(h) = self.doc_of(head)? else {
            return Ok(Vec::new());
        };
        self.load(h)?;
        if self.overlay.cluster_of(h) != Some(h) {
            return Ok(Vec::new());
        }
        self.load_cluster(h)?;
        Ok(self.overlay.members(h))
    }

    /// Adds the new record to the overlay (or, when its id is indexed already — a dead
    /// worker's record added again by the worker that took its text over — moves it to this
    /// worker and to the plan's cluster) and merges the plan's clusters, as one add on the
    /// database would.
    fn apply(&mut self, plan: &Plan) -> Result<(), PgError> {
        let id = plan.insert.id().to_owned();
        if self.queued.front().is_some_and(|n| n.id == id) {
            self.queued.pop_front();
        }
        let doc = match self.doc_of(&id)? {
            Some(doc) => {
                self.load(doc)?;
                self.overlay.adopt(doc);
                doc
            }
            None => {
                let Some(text) = self.texts.remove(&id) else {
                    return Err(PgError::NearNotInBatch { id });
                };
                let cluster = match self.doc_of(&plan.cluster)? {
                    Some(c) if plan.cluster != id => Some(c),
                    _ => None,
                };
                self.overlay
                    .add(plan.insert.clone(), &plan.bands, &text, cluster)
            }
        };
        let head = self.doc_of(&plan.cluster)?.unwrap_or(doc);
        for (from, to) in &plan.relabel {
            if let (Some(f), Some(t)) = (self.doc_of(from)?, self.doc_of(to)?) {
                self.load_cluster(f)?;
                self.overlay.relabel(f, t);
            }
        }
        self.overlay.place(doc, head);
        for (id, to) in &plan.moves {
            if let (Some(m), Some(t)) = (self.doc_of(id)?, self.doc_of(to)?) {
                self.load(m)?;
                self.overlay.place(m, t);
            }
        }
        for (d, s) in &plan.relate {
            if let (Some(d), Some(s)) = (self.doc_of(d)?, self.doc_of(s)?) {
                self.overlay.relate(d, s);
            }
        }
        Ok(())
    }
}
