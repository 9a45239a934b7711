//! The in-memory [`NearStore`]: the live near-duplicate index. The pipeline loads it from the
//! state database on open and persists what [`MemStore::insert`] reports; tests and benchmarks
//! use it directly. Records are numbered densely in insertion order (`doc`), which is also how
//! they are stored, so loading is a straight replay.
//!
//! Memory per record: its [`DocInfo`] (~140 bytes: the rank with its id and source), 64 band
//! entries of 8 bytes, an id-map entry and a cluster number: about 720 bytes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use super::bands::BandTable;
use super::link::{Hit, NearStore, Plan, Relations, ShingleSource};
use super::rank::{DocInfo, IndexedDoc};
use super::screen::{LookupCounts, count_and_screen};
use super::shingle::ShingleSet;

/// What one [`MemStore::insert`] changed, in record numbers (for persistence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Number given to the new record.
    pub doc: u32,
    /// Number of its cluster's canonical record.
    pub cluster: u32,
    /// Records moved to another cluster by a merge, with their new cluster.
    pub moved: Vec<(u32, u32)>,
}

/// Band index held in memory.
#[derive(Debug, Default)]
pub struct MemStore {
    docs: Vec<DocInfo>,
    cluster: Vec<u32>,
    ids: HashMap<String, u32>,
    bands: BandTable,
    /// Members of clusters with more than one record (canonical record included).
    clusters: HashMap<u32, Vec<u32>>,
    /// Digest → records it contains.
    contains: HashMap<u32, Vec<u32>>,
    /// Record → digests containing it.
    contained_in: HashMap<u32, Vec<u32>>,
    /// What the lookups found.
    counts: LookupCounts,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl MemStore {
    /// Records stored.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// What the lookups found so far.
    pub fn counts(&self) -> LookupCounts {
        self.counts
    }

    /// Ids of every record, in record-number order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.docs.iter().map(DocInfo::id)
    }

    /// The cluster (canonical record id) of a stored record.
    pub fn cluster_of(&self, id: &str) -> Option<&str> {
        let &n = self.ids.get(id)?;
        let head = *self.cluster.get(n as usize)?;
        self.docs.get(head as usize).map(DocInfo::id)
    }

    /// Records in the cluster whose canonical record is `head` (0 when `head` is unknown or not
    /// a canonical record).
    pub fn members_len(&self, head: &str) -> usize {
        match self.ids.get(head) {
            Some(n) if self.cluster.get(*n as usize) == Some(n) => {
                self.clusters.get(n).map_or(1, Vec::len)
            }
            _ => 0,
        }
    }

    /// Replays a stored record: it gets the next number, in cluster `cluster`. Returns `false`,
    /// storing nothing, when the id is already known. Call [`MemStore::finish_restore`] after
    /// the last one.
    pub fn restore(&mut self, info: DocInfo, cluster: u32, bands: &[u32]) -> bool {
        if self.ids.contains_key(info.id()) {
            return false;
        }
        let n = to_u32(self.docs.len());
        self.ids.insert(info.id().to_owned(), n);
        self.docs.push(info);
        self.cluster.push(cluster);
        for &key in bands {
            self.bands.load(key, n);
        }
        true
    }

    /// Rebuilds cluster membership after [`MemStore::restore`]. Returns `false` when a cluster
    /// number is out of range or names a record that is not its own cluster's canonical record
    /// (a corrupt store).
    pub fn finish_restore(&mut self) -> bool {
        self.bands.merge();
        self.clusters.clear();
        let mut ok = true;
        for (n, &c) in self.cluster.iter().enumerate() {
            let n = to_u32(n);
            if self.cluster.get(c as usize) != Some(&c) {
                ok = false;
            } else if c != n {
                self.clusters.entry(c).or_insert_with(|| vec![c]).push(n);
            }
        }
        ok
    }

    fn add(&mut self, info: DocInfo, cluster: u32, bands: &[u32]) -> u32 {
        let n = to_u32(self.docs.len());
        self.ids.insert(info.id().to_owned(), n);
        self.docs.push(info);
        self.cluster.push(cluster);
        for &key in bands {
            self.bands.insert(key, n);
        }
        if cluster != n {
            self.clusters
                .entry(cluster)
                .or_insert_with(|| vec![cluster])
                .push(n);
        }
        n
    }

    /// Applies a plan and reports the record numbers it touched.
    pub fn insert(&mut self, plan: &Plan) -> Applied {
        let n = to_u32(self.docs.len());
        let cluster = self.ids.get(&plan.cluster).copied().unwrap_or(n);
        let doc = self.add(plan.insert.clone(), cluster, &plan.bands);
        let mut moved = Vec::new();
        for (from, to) in &plan.relabel {
            let (Some(&from), Some(&to)) = (self.ids.get(from), self.ids.get(to)) else {
                continue;
            };
            let members = self.clusters.remove(&from).unwrap_or_else(|| vec![from]);
            for &m in &members {
                if let Some(c) = self.cluster.get_mut(m as usize) {
                    *c = to;
                }
                moved.push((m, to));
            }
            self.clusters
                .entry(to)
                .or_insert_with(|| vec![to])
                .extend(members);
        }
        for (id, to) in &plan.moves {
            let (Some(&m), Some(&to)) = (self.ids.get(id), self.ids.get(to)) else {
                continue;
            };
            self.set_cluster(m, to);
            moved.push((m, to));
        }
        for (d, s) in &plan.relate {
            let (Some(&d), Some(&s)) = (self.ids.get(d), self.ids.get(s)) else {
                continue;
            };
            self.contains.entry(d).or_default().push(s);
            self.contained_in.entry(s).or_default().push(d);
        }
        Applied {
            doc,
            cluster,
            moved,
        }
    }

    /// Moves one record to the cluster of canonical record `to`.
    fn set_cluster(&mut self, m: u32, to: u32) {
        let Some(&from) = self.cluster.get(m as usize) else {
            return;
        };
        if let Some(list) = self.clusters.get_mut(&from) {
            list.retain(|&x| x != m);
            if list.len() <= 1 && list.first().is_none_or(|&x| x == from) {
                self.clusters.remove(&from);
            }
        }
        self.cluster[m as usize] = to;
        if m != to {
            let list = self.clusters.entry(to).or_insert_with(|| vec![to]);
            if !list.contains(&m) {
                list.push(m);
            }
        }
    }

    /// The digest relation of a stored record (ids sorted).
    pub fn relations_of(&self, id: &str) -> Relations {
        let Some(n) = self.ids.get(id) else {
            return Relations::default();
        };
        let ids = |map: &HashMap<u32, Vec<u32>>| {
            let mut v: Vec<String> = map
                .get(n)
                .into_iter()
                .flatten()
                .filter_map(|&d| self.docs.get(d as usize).map(|x| x.id().to_owned()))
                .collect();
            v.sort();
            v
        };
        Relations {
            contains: ids(&self.contains),
            contained_in: ids(&self.contained_in),
        }
    }

    fn indexed(&self, n: u32) -> Option<IndexedDoc> {
        let info = self.docs.get(n as usize)?;
        let head = *self.cluster.get(n as usize)?;
        Some(IndexedDoc {
            info: info.clone(),
            cluster: self.docs.get(head as usize)?.id().to_owned(),
        })
    }
}

impl NearStore for MemStore {
    type Error = Infallible;

    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, Infallible> {
        let mut found = Vec::new();
        self.bands.for_each_of(bands, |d| found.push(d));
        let docs = &self.docs;
        let hit = |n: u32, matches: usize| {
            let info = docs.get(n as usize)?;
            Some(Hit {
                matches,
                shingles: info.shingles,
                published_us: info.rank.published_us,
            })
        };
        let min = super::keys::min_matches(bands);
        let kept = count_and_screen(&found, min, &mut self.counts, hit, keep);
        Ok(kept
            .into_iter()
            .filter_map(|(n, hit)| Some((self.indexed(n)?, hit)))
            .collect())
    }

    fn find(&mut self, id: &str) -> Result<Option<IndexedDoc>, Infallible> {
        Ok(self.ids.get(id).and_then(|&n| self.indexed(n)))
    }

    fn relations(&mut self, id: &str) -> Result<Relations, Infallible> {
        Ok(self.relations_of(id))
    }

    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, Infallible> {
        let Some(&n) = self.ids.get(head) else {
            return Ok(Vec::new());
        };
        let list = self.clusters.get(&n).cloned().unwrap_or_else(|| vec![n]);
        Ok(list.into_iter().filter_map(|m| self.indexed(m)).collect())
    }

    fn apply(&mut self, plan: &Plan) -> Result<(), Infallible> {
        self.insert(plan);
        Ok(())
    }
}

/// Shingle sets held in memory by record id.
#[derive(Debug, Default)]
pub struct MemTexts(HashMap<String, Arc<ShingleSet>>);

impl MemTexts {
    /// Remembers a record's shingles.
    pub fn insert(&mut self, id: &str, set: Arc<ShingleSet>) {
        self.0.insert(id.to_owned(), set);
    }
}

impl ShingleSource for MemTexts {
    type Error = Infallible;

    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, Infallible> {
        Ok(self.0.get(id).cloned())
    }
}
