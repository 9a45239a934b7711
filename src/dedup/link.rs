//! Linking a new record into near-duplicate clusters: candidates from the band index, a screen
//! on the compact signatures, exact verification on shingle sets, then cluster merge and the
//! choice of the canonical record. Pure and sync: storage and text access come in through the
//! [`NearStore`] and [`ShingleSource`] traits, so the same code runs on SQLite in the pipeline
//! and on [`super::MemStore`] in tests and benchmarks.
//!
//! # Clusters
//! Records are linked when their exact similarity passes [`Thresholds::links`]; a cluster is a
//! connected component of links. Every pair is examined when the later of the two is added,
//! LSH collisions and verification are symmetric, and the canonical record is the minimum of a
//! total order ([`Rank`]), so the clusters do not depend on the order records arrive in (up to
//! the [`MAX_VERIFY`] cap, never reached by real agency copy).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::model::NearLink;

use super::minhash::containment_from_jaccard;
use super::rank::{DocInfo, IndexedDoc, NearDoc, Rank};
use super::shingle::{ShingleSet, Similarity, similarity};

/// At most this many screened candidates are verified per new record (closest ids first).
pub const MAX_VERIFY: usize = 256;

/// When two records are the same story.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Link when Jaccard is at least this.
    pub jaccard: f64,
    /// Link when containment is at least this …
    pub containment: f64,
    /// … and the smaller text has at least this many shingles (a one-line text is "contained"
    /// in too many others to mean anything).
    pub min_shingles: usize,
}

impl Thresholds {
    /// Chosen on `fixtures/dedup/pairs.jsonl`: its positives have containment ≥ 0.79 (Jaccard
    /// ≥ 0.34), its negatives Jaccard ≤ 0.17 and containment ≤ 0.32, so both thresholds sit in
    /// the gap. Containment is placed nearer the positives because a false link (two stories
    /// merged) costs analysts more than a missed one; Jaccard 0.5 also links two long copies
    /// edited on both sides, where neither contains most of the other.
    pub const DEFAULT: Self = Self {
        jaccard: 0.5,
        containment: 0.7,
        min_shingles: 20,
    };

    /// Whether a verified pair is linked.
    pub fn links(&self, s: &Similarity) -> bool {
        s.jaccard >= self.jaccard
            || (s.smaller >= self.min_shingles && s.containment >= self.containment)
    }

    /// Whether a candidate is worth loading: the 64-minimum estimate must be within reach of a
    /// threshold. The slack is four standard deviations of the estimate at J = 0.5, and wider for
    /// containment, whose estimate also carries the size ratio.
    fn worth_verifying(&self, doc: &NearDoc, cand: &DocInfo) -> bool {
        let j = doc.info.signature.estimate(&cand.signature);
        let c = containment_from_jaccard(j, doc.shingles.len(), cand.shingles as usize);
        j >= self.jaccard - 0.25 || c >= self.containment - 0.45
    }

    /// A text naming the thresholds, stored with the index so a change forces a rebuild.
    pub fn fingerprint(&self) -> String {
        format!(
            "j{}-c{}-m{}",
            self.jaccard, self.containment, self.min_shingles
        )
    }
}

/// Band index storage.
pub trait NearStore {
    /// Storage error.
    type Error;
    /// Stored records sharing at least one band key with `bands` (any order, no repeats).
    ///
    /// # Errors
    /// Storage failures.
    fn candidates(&mut self, bands: &[u32]) -> Result<Vec<IndexedDoc>, Self::Error>;
    /// Every stored record of the cluster whose canonical record is `head`.
    ///
    /// # Errors
    /// Storage failures.
    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, Self::Error>;
    /// Stores the new record and moves merged clusters, atomically.
    ///
    /// # Errors
    /// Storage failures; nothing of the plan is stored then.
    fn apply(&mut self, plan: &Plan) -> Result<(), Self::Error>;
}

/// Shingle sets of stored records (recomputed from their text, usually through a cache).
pub trait ShingleSource {
    /// Read error.
    type Error;
    /// The shingles of record `id`, `None` when the record is unknown.
    ///
    /// # Errors
    /// Read failures.
    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, Self::Error>;
}

/// What adding one record changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The new record's index entry.
    pub insert: DocInfo,
    /// Its band keys.
    pub bands: Vec<u32>,
    /// The cluster it joins (its canonical record's id; its own id when alone or canonical).
    pub cluster: String,
    /// Clusters merged into `cluster`: every member of `from` moves to `to`.
    pub relabel: Vec<(String, String)>,
    /// New links: the new record's first, then every stored record whose canonical record changed.
    pub links: Vec<(String, NearLink)>,
}

/// The link of a cluster's canonical record.
pub fn head_link(id: &str) -> NearLink {
    NearLink {
        cluster_id: Some(id.to_owned()),
        ..NearLink::default()
    }
}

fn member_link(head: &str, sim: Option<Similarity>) -> NearLink {
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    NearLink {
        cluster_id: Some(head.to_owned()),
        near_duplicate_of: Some(head.to_owned()),
        similarity: sim.map(|s| round(s.jaccard)),
        containment: sim.map(|s| round(s.containment)),
    }
}

/// Adds `doc` to the index: plans its links and applies the plan.
///
/// # Errors
/// Storage or read failures; the index is unchanged then.
pub fn add<E, S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    th: &Thresholds,
) -> Result<Plan, E>
where
    S: NearStore<Error = E>,
    T: ShingleSource<Error = E>,
{
    let plan = plan(store, source, doc, th)?;
    store.apply(&plan)?;
    Ok(plan)
}

/// Computes what adding `doc` changes, without changing anything.
///
/// # Errors
/// Storage or read failures.
pub fn plan<E, S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    th: &Thresholds,
) -> Result<Plan, E>
where
    S: NearStore<Error = E>,
    T: ShingleSource<Error = E>,
{
    let id = doc.info.id();
    let verified = verify(store, source, doc, th)?;
    let labels: BTreeSet<&str> = verified.iter().map(|(c, _)| c.cluster.as_str()).collect();
    let mut members = Vec::new();
    for label in &labels {
        members.extend(store.members(label)?);
    }
    members.sort_by(|a, b| a.info.id().cmp(b.info.id()));
    let head: &Rank = members
        .iter()
        .map(|m| &m.info.rank)
        .chain([&doc.info.rank])
        .min()
        .unwrap_or(&doc.info.rank);
    let head = head.id.clone();
    let mut links = Vec::with_capacity(1 + members.len());
    if head == id {
        links.push((id.to_owned(), head_link(id)));
    } else {
        let sim = match verified.iter().find(|(c, _)| c.info.id() == head) {
            Some((_, s)) => Some(*s),
            None => source
                .shingles(&head)?
                .map(|h| similarity(&doc.shingles, &h)),
        };
        links.push((id.to_owned(), member_link(&head, sim)));
    }
    // Members whose canonical record changes: every cluster but the one `head` already led.
    let moving: Vec<&IndexedDoc> = members.iter().filter(|m| m.cluster != head).collect();
    let head_set = if head == id {
        Some(doc.shingles.clone())
    } else if moving.is_empty() {
        None
    } else {
        source.shingles(&head)?
    };
    for m in moving {
        let own = source.shingles(m.info.id())?;
        let sim = own.zip(head_set.as_ref()).map(|(a, b)| similarity(&a, b));
        links.push((m.info.id().to_owned(), member_link(&head, sim)));
    }
    let relabel = labels
        .iter()
        .filter(|l| **l != head)
        .map(|l| ((*l).to_owned(), head.clone()))
        .collect();
    Ok(Plan {
        insert: doc.info.clone(),
        bands: doc.bands.clone(),
        cluster: head,
        relabel,
        links,
    })
}

/// Candidates from the bands, screened, verified exactly; the linked ones with their similarity.
fn verify<E, S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    th: &Thresholds,
) -> Result<Vec<(IndexedDoc, Similarity)>, E>
where
    S: NearStore<Error = E>,
    T: ShingleSource<Error = E>,
{
    if doc.bands.is_empty() {
        return Ok(Vec::new());
    }
    let mut cands = store.candidates(&doc.bands)?;
    cands.retain(|c| c.info.id() != doc.info.id() && th.worth_verifying(doc, &c.info));
    cands.sort_by(|a, b| a.info.id().cmp(b.info.id()));
    cands.dedup_by(|a, b| a.info.id() == b.info.id());
    cands.truncate(MAX_VERIFY);
    let mut linked = Vec::new();
    for c in cands {
        let Some(theirs) = source.shingles(c.info.id())? else {
            continue;
        };
        let sim = similarity(&doc.shingles, &theirs);
        if th.links(&sim) {
            linked.push((c, sim));
        }
    }
    Ok(linked)
}
