//! The parts of [`Ingest`] only `newsmill worker` uses: exact duplicates claimed across
//! workers (a text another worker owns becomes a duplicate of its record, and the sighting is
//! queued for that worker's `also_seen_at`), updates other workers queued for this worker's
//! records applied at each flush, and the ingest step built on the shared near-duplicate index.

use crate::corpus::Corpus;
use crate::model::{Article, ContentHash, RawPage, Sighting};
use crate::normalize::Normalizer;
use crate::state::pg::{Claim, RecordUpdate, SharedCorpus};

use super::super::near::{Linker, SharedLinker};
use super::Ingest;

/// How often a pending claim of another worker is asked about again.
const CLAIM_POLL: std::time::Duration = std::time::Duration::from_millis(50);

impl Ingest {
    /// The ingest step of a worker: exact duplicates and the manifest shared with other
    /// workers through `shared`, near duplicates linked through the shared index `near`. The
    /// deduper is seeded from this worker's corpus ids.
    pub fn for_worker(
        normalizer: Normalizer,
        corpus: Corpus,
        shared: SharedCorpus,
        near: SharedLinker,
    ) -> Self {
        Self {
            deduper: crate::dedup::Deduper::seeded(corpus.ids()),
            near: Linker::Shared(Box::new(near)),
            normalizer,
            corpus,
            stats: std::collections::BTreeMap::new(),
            relocate_raw: true,
            progress: None,
            shared: Some(shared),
            claimed: Vec::new(),
            unlinked: Vec::new(),
            adopted: std::collections::HashMap::new(),
        }
    }

    /// Links the records queued since the last flush through the shared index, in one batch
    /// (before the flush that makes them durable). A failure leaves each alone in its cluster,
    /// as a failed single link does: one broken batch never costs an article.
    pub(super) fn link_pending(&mut self) {
        let Linker::Shared(linker) = &mut self.near else {
            return;
        };
        if self.unlinked.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.unlinked);
        match linker.attach_batch(&batch, &mut self.corpus) {
            Ok(near) => {
                for (u, near) in batch.iter().zip(near) {
                    let stats = self.stats.entry(u.source.clone()).or_default();
                    stats.near_duplicates += u64::from(near);
                }
            }
            Err(e) => {
                tracing::warn!(records = batch.len(), error = %e, "near-duplicate linking of a batch failed");
                for u in &batch {
                    let id = u.doc.info.id();
                    self.corpus
                        .update_links(id, crate::dedup::link::head_link(id));
                }
            }
        }
    }

    /// Queues, for the worker that owns record `id`, that its text was also seen at this
    /// page's canonical URL. A database failure loses only the sighting (logged).
    pub(super) fn queue_sighting(&self, id: &str, article: &Article, page: &RawPage) {
        let Some(shared) = &self.shared else {
            return;
        };
        let own = self.adopted.get(id);
        if own.is_some_and(|u| u.as_str() == article.canonical_url.as_str()) {
            return;
        }
        let sighting = Sighting {
            url: article.canonical_url.clone(),
            source_id: page.source.clone(),
            fetched_at: page.fetched_at,
        };
        if let Err(e) = shared.queue_update(id, &RecordUpdate::Sighting(sighting)) {
            tracing::warn!(url = %article.canonical_url, error = %e, "cannot queue a sighting for the owner of its text");
        }
    }

    /// Claims the text of a record `reprocess` carries into this worker's folder unchanged;
    /// whether another worker's record holds it (always `false` without a shared state).
    pub(in crate::pipeline) fn carried_elsewhere(
        &mut self,
        rec: &crate::model::CorpusRecord,
    ) -> bool {
        let url = rec.article.canonical_url.to_string();
        self.owned_elsewhere(&rec.content_sha256, &rec.id, &url)
    }

    /// Applies to this worker's corpus the updates other workers queued for its records
    /// (before a flush, which makes them durable); returns those applied, to be forgotten once
    /// the flush is recorded. An update of a record this corpus does not hold (yet) stays
    /// queued.
    pub(super) fn apply_updates(&mut self) -> Vec<i64> {
        let Some(shared) = &self.shared else {
            return Vec::new();
        };
        let updates = match shared.updates() {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read updates of this worker's records");
                return Vec::new();
            }
        };
        let mut applied = Vec::with_capacity(updates.len());
        for u in updates {
            if !self.corpus.contains(&u.record_id) {
                continue;
            }
            match u.update {
                RecordUpdate::Link(link) => drop(self.corpus.update_links(&u.record_id, link)),
                RecordUpdate::Sighting(s) => drop(self.corpus.add_sighting(&u.record_id, s)),
            }
            applied.push(u.seq);
        }
        applied
    }

    /// Whether another worker owns the text `hash` (its record id is `id`, as here). While
    /// a live worker's claim is pending, this worker flushes its own records (so two workers
    /// waiting on each other's claims both get theirs durable) and asks again until the claim
    /// resolves, or takes it after [`SharedCorpus::patience`]: a doubled record is repairable,
    /// a lost one is not. A dead worker's pending claim is adopted when its record is in its
    /// folder after all, taken over when not. A database failure keeps the record here.
    pub(super) fn owned_elsewhere(&mut self, hash: &ContentHash, id: &str, url: &str) -> bool {
        let Some(shared) = self.shared.clone() else {
            return false;
        };
        let deadline = std::time::Instant::now() + shared.patience();
        let mut flushed = false;
        loop {
            let force = std::time::Instant::now() >= deadline;
            let claim = shared.claim(hash, id, force);
            tracing::debug!(url, force, claim = ?claim, "text claim");
            match claim {
                Ok(Claim::Mine) => {
                    self.claimed.push(hash.clone());
                    return false;
                }
                Ok(Claim::Theirs) => return true,
                Ok(Claim::Pending) if !flushed => {
                    flushed = true;
                    if let Err(e) = self.flush() {
                        tracing::warn!(url, error = %e, "corpus flush while waiting for a claim failed");
                    }
                }
                Ok(Claim::Pending) => std::thread::sleep(CLAIM_POLL),
                Ok(Claim::Orphaned { owner }) => {
                    let written = self.orphan_records(&shared, &owner);
                    if written.contains_key(id) {
                        let manifest = self.corpus.sibling_manifest(&owner);
                        let ids: Vec<String> = written.keys().cloned().collect();
                        self.adopted.extend(written);
                        let written = ids;
                        if let Err(e) = shared.adopt(hash, &owner, manifest.as_ref(), &written) {
                            tracing::warn!(url, error = %e, "cannot adopt a dead worker's record");
                        }
                        return true;
                    }
                    match shared.take_over(hash, &owner) {
                        Ok(true) => {
                            self.claimed.push(hash.clone());
                            return false;
                        }
                        // Someone else took it first: ask again.
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(url, error = %e, "cannot take a dead worker's claim over; keeping the record");
                            return false;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(url, error = %e, "cannot claim the text in the shared index; keeping the record");
                    return false;
                }
            }
        }
    }

    /// The records (id → canonical URL) in the segments of the dead worker `owner` past what its last
    /// committed flush listed: it died between its corpus flush and the commit, and they are
    /// durable after all. Only those records are read: segments the commit did not list,
    /// and any records a listed segment holds past its listed count. On S3 they are read from
    /// the bucket (the dead worker may have run on another machine) and from the local folder
    /// beside this worker's (same machine, not uploaded yet). Empty when they cannot be read.
    fn orphan_records(
        &self,
        shared: &SharedCorpus,
        owner: &str,
    ) -> std::collections::BTreeMap<String, String> {
        let listed = match shared.listed_files(owner) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(owner, error = %e, "cannot read a dead worker's manifest");
                return std::collections::BTreeMap::new();
            }
        };
        self.corpus
            .sibling_records_past(owner, &listed)
            .unwrap_or_else(|e| {
                tracing::warn!(owner, error = %e, "cannot read a dead worker's segments");
                std::collections::BTreeMap::new()
            })
    }
}
