//! The in-memory side of a batch add to the shared near-duplicate index: the records a batch
//! has read from the database or added, with the cluster each is in *now*, so the records of
//! one batch see each other exactly as if each had been committed before the next was
//! planned. Pure: `super` reads rows into it and writes what it changed back at commit.
//!
//! # Why this is the state one-by-one adds would leave
//! Only records the overlay holds ever change. A cluster merge (`relabel`) moves every member
//! of a cluster: `super` first loads all of that cluster's stored members (then the overlay is
//! *full* for it), so a record that is not loaded is still in its stored cluster, and a
//! stored cluster's members are the loaded ones in it plus the stored ones not loaded. The
//! database does not change under the batch: it holds the index lock throughout.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::dedup::keys::min_matches;
use crate::dedup::link::Relations;
use crate::dedup::{DocInfo, IndexedDoc};

/// A record as the batch sees it.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub info: DocInfo,
    /// Record number of its cluster's canonical record, now.
    pub cluster: i64,
    /// Its cluster in the database (`None`: added by this batch).
    pub stored: Option<i64>,
    /// A stored record this worker added again (it takes the record over).
    pub adopted: bool,
}

/// A record the batch adds, as it is written at commit.
#[derive(Debug)]
pub(super) struct Added<'a> {
    pub doc: i64,
    pub entry: &'a Entry,
    pub bands: &'a [u32],
    pub text: &'a str,
}

/// Records read or added by the batch in progress (see the module doc).
#[derive(Debug, Default)]
pub(super) struct Overlay {
    entries: HashMap<i64, Entry>,
    /// Record number of every id met (loaded or not).
    docs: HashMap<String, i64>,
    names: HashMap<i64, String>,
    /// Band postings and texts of the records the batch adds.
    postings: HashMap<u32, Vec<i64>>,
    added: HashMap<i64, (Vec<u32>, String)>,
    /// Clusters whose stored members are all loaded.
    full: HashSet<i64>,
    /// Stored digest relations read so far: record → (stories it contains, digests of it).
    stored_rel: HashMap<i64, (Vec<i64>, Vec<i64>)>,
    /// Relations `(digest, story)` the batch adds.
    relate: BTreeSet<(i64, i64)>,
    /// The next record number.
    next: i64,
}

impl Overlay {
    /// An empty overlay over an index whose next record number is `next`.
    pub fn new(next: i64) -> Self {
        Self {
            next,
            ..Self::default()
        }
    }

    /// Notes that record `doc` has id `id`.
    pub fn name(&mut self, doc: i64, id: &str) {
        if let std::collections::hash_map::Entry::Vacant(v) = self.names.entry(doc) {
            v.insert(id.to_owned());
            self.docs.insert(id.to_owned(), doc);
        }
    }

    /// The record number of `id`, when met.
    pub fn doc(&self, id: &str) -> Option<i64> {
        self.docs.get(id).copied()
    }

    /// Whether record `doc` is loaded (or added).
    pub fn has(&self, doc: i64) -> bool {
        self.entries.contains_key(&doc)
    }

    /// Whether record `doc` was added by this batch.
    pub fn is_added(&self, doc: i64) -> bool {
        self.added.contains_key(&doc)
    }

    /// Loads a stored record in cluster `cluster` (whose canonical record is `head`); a
    /// record loaded already keeps what the batch made of it.
    pub fn load(&mut self, doc: i64, found: IndexedDoc, cluster: i64) {
        self.name(cluster, &found.cluster);
        self.name(doc, found.info.id());
        self.entries.entry(doc).or_insert(Entry {
            info: found.info,
            cluster,
            stored: Some(cluster),
            adopted: false,
        });
    }

    /// Record `doc` with its cluster's canonical id (`None` when not loaded).
    pub fn indexed(&self, doc: i64) -> Option<IndexedDoc> {
        let e = self.entries.get(&doc)?;
        let cluster = self.names.get(&e.cluster)?.clone();
        Some(IndexedDoc {
            info: e.info.clone(),
            cluster,
        })
    }

    /// Adds a new record in cluster `cluster` (its own when `None`); returns its number.
    pub fn add(&mut self, info: DocInfo, bands: &[u32], text: &str, cluster: Option<i64>) -> i64 {
        let doc = self.next;
        self.next += 1;
        self.name(doc, info.id());
        let mut keys = bands.to_vec();
        keys.sort_unstable();
        keys.dedup();
        for &k in &keys {
            self.postings.entry(k).or_default().push(doc);
        }
        self.added.insert(doc, (keys, text.to_owned()));
        let cluster = cluster.unwrap_or(doc);
        self.entries.insert(
            doc,
            Entry {
                info,
                cluster,
                stored: None,
                adopted: false,
            },
        );
        doc
    }

    /// Marks stored record `doc` as taken over by this worker.
    pub fn adopt(&mut self, doc: i64) {
        if let Some(e) = self.entries.get_mut(&doc)
            && e.stored.is_some()
        {
            e.adopted = true;
        }
    }

    /// Records added by the batch sharing at least `dedup::keys::min_matches(bands)` keys with `bands`, with
    /// the number shared, by record number.
    pub fn matches(&self, bands: &[u32]) -> Vec<(i64, usize)> {
        matches(&self.postings, bands)
    }

    /// Whether every stored member of cluster `c` is loaded.
    pub fn is_full(&self, c: i64) -> bool {
        self.full.contains(&c)
    }

    /// Notes that every stored member of cluster `c` is loaded.
    pub fn mark_full(&mut self, c: i64) {
        self.full.insert(c);
    }

    /// Moves every member of cluster `from` (fully loaded) to cluster `to`.
    pub fn relabel(&mut self, from: i64, to: i64) {
        for e in self.entries.values_mut() {
            if e.cluster == from {
                e.cluster = to;
            }
        }
    }

    /// Puts loaded record `doc` in cluster `cluster`.
    pub fn place(&mut self, doc: i64, cluster: i64) {
        if let Some(e) = self.entries.get_mut(&doc) {
            e.cluster = cluster;
        }
    }

    /// The cluster loaded record `doc` is in now.
    pub fn cluster_of(&self, doc: i64) -> Option<i64> {
        self.entries.get(&doc).map(|e| e.cluster)
    }

    /// Members of cluster `head` (fully loaded), by record number.
    pub fn members(&self, head: i64) -> Vec<IndexedDoc> {
        let mut docs: Vec<i64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.cluster == head)
            .map(|(&d, _)| d)
            .collect();
        docs.sort_unstable();
        docs.into_iter().filter_map(|d| self.indexed(d)).collect()
    }

    /// Adds the digest relation `digest` contains `story`.
    pub fn relate(&mut self, digest: i64, story: i64) {
        self.relate.insert((digest, story));
    }

    /// The stored relations of `doc`, when read already (or none: a record the batch adds).
    pub fn stored_relations(&self, doc: i64) -> Option<(Vec<i64>, Vec<i64>)> {
        if self.is_added(doc) {
            return Some((Vec::new(), Vec::new()));
        }
        self.stored_rel.get(&doc).cloned()
    }

    /// Remembers the stored relations of `doc`.
    pub fn set_stored_relations(&mut self, doc: i64, rel: (Vec<i64>, Vec<i64>)) {
        self.stored_rel.insert(doc, rel);
    }

    /// `doc`'s relations: `stored` plus those the batch added, ids sorted.
    pub fn relations(&self, doc: i64, stored: (Vec<i64>, Vec<i64>)) -> Relations {
        let (mut contains, mut contained_in) = stored;
        for &(d, s) in &self.relate {
            if d == doc {
                contains.push(s);
            }
            if s == doc {
                contained_in.push(d);
            }
        }
        let ids = |docs: Vec<i64>| {
            let mut v: Vec<String> = docs
                .iter()
                .filter_map(|d| self.names.get(d).cloned())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        Relations {
            contains: ids(contains),
            contained_in: ids(contained_in),
        }
    }

    /// The records the batch adds, by record number.
    pub fn added(&self) -> Vec<Added<'_>> {
        let mut out: Vec<Added<'_>> = self
            .added
            .iter()
            .filter_map(|(&doc, (bands, text))| {
                Some(Added {
                    doc,
                    entry: self.entries.get(&doc)?,
                    bands,
                    text,
                })
            })
            .collect();
        out.sort_unstable_by_key(|a| a.doc);
        out
    }

    /// Stored records the batch changed: `(doc, cluster now, taken over)`.
    pub fn changed(&self) -> Vec<(i64, i64, bool)> {
        let mut out: Vec<(i64, i64, bool)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.adopted || e.stored.is_some_and(|s| s != e.cluster))
            .filter(|(_, e)| e.stored.is_some())
            .map(|(&d, e)| (d, e.cluster, e.adopted))
            .collect();
        out.sort_unstable();
        out
    }

    /// Relations the batch adds.
    pub fn new_relations(&self) -> impl Iterator<Item = &(i64, i64)> {
        self.relate.iter()
    }
}

/// The records of `postings` (key → record numbers, each record's keys distinct) sharing at
/// least `dedup::keys::min_matches(bands)` distinct keys with `bands`, with the number shared, by record
/// number: what `near_band` answers for those records.
pub(super) fn matches(postings: &HashMap<u32, Vec<i64>>, bands: &[u32]) -> Vec<(i64, usize)> {
    let mut keys = bands.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for k in &keys {
        for &d in postings.get(k).into_iter().flatten() {
            *counts.entry(d).or_default() += 1;
        }
    }
    let mut out: Vec<(i64, usize)> = counts
        .into_iter()
        .filter(|&(_, n)| n >= min_matches(bands))
        .collect();
    out.sort_unstable();
    out
}
