//! The storage side of linking: the [`NearStore`] a band index implements (in memory, on
//! disk, in PostgreSQL), the [`ShingleSource`] that gives stored records' shingles back, and
//! the [`Plan`] one add produces. These are the contract the stores share: a change here is a
//! change for every store.

use std::sync::Arc;

use crate::dedup::rank::{DocInfo, IndexedDoc};
use crate::dedup::screen::Hit;
use crate::dedup::shingle::ShingleSet;
use crate::model::NearLink;

/// Band index storage.
pub trait NearStore {
    /// Storage error.
    type Error;
    /// Stored records sharing at least [`crate::dedup::minhash::MIN_BAND_MATCHES`] band keys with
    /// `bands` (any order, no repeats) that `keep` accepts. `keep` sees every such record once,
    /// as a [`Hit`] (shared keys, shingle count), before anything is read or cloned: it is the
    /// cheap screen that chance candidates never get past.
    ///
    /// # Errors
    /// Storage failures.
    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, Self::Error>;
    /// [`NearStore::candidates`] for keys that name only records published within `span`
    /// (µs since the epoch, inclusive; `None`: any date): a store may skip whatever holds no
    /// record of that span. The time-bucketed near keys of `crate::dedup::keys` are looked up so.
    ///
    /// # Errors
    /// Storage failures.
    fn candidates_within(
        &mut self,
        bands: &[u32],
        span: Option<(i64, i64)>,
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, Self::Error> {
        let _ = span;
        self.candidates(bands, keep)
    }
    /// Reads ahead, where the store can, what the next `adds` adds, making the lookups
    /// `lookups`, will read (the keys' buckets, the records past the screens, what the
    /// store's own upkeep reads meanwhile), so that a batch of adds waits for the storage
    /// once rather than once a read (see [`super::warm`]). A hint: it changes no result, and
    /// a store that has nothing to read ahead ignores it (the default).
    fn warm(&mut self, adds: usize, lookups: &mut [Lookup<'_>]) {
        let _ = (adds, lookups);
    }
    /// The stored record `id` with its cluster (`None` when unknown). Only ids the store has
    /// returned for the plan in progress are asked for.
    ///
    /// # Errors
    /// Storage failures.
    fn find(&mut self, id: &str) -> Result<Option<IndexedDoc>, Self::Error>;
    /// Every stored record of the cluster whose canonical record is `head`.
    ///
    /// # Errors
    /// Storage failures.
    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, Self::Error>;
    /// The digest relation of a stored record: the records it contains (when it is a digest)
    /// and the digests containing it, ids sorted.
    ///
    /// # Errors
    /// Storage failures.
    fn relations(&mut self, id: &str) -> Result<Relations, Self::Error>;
    /// Stores the new record, moves merged and split clusters and adds the digest relations,
    /// atomically.
    ///
    /// # Errors
    /// Storage failures; nothing of the plan is stored then.
    fn apply(&mut self, plan: &Plan) -> Result<(), Self::Error>;
}

/// One lookup of a batch read ahead ([`NearStore::warm`]): what
/// [`NearStore::candidates_within`] would be given.
pub struct Lookup<'a> {
    /// The keys looked up.
    pub keys: &'a [u32],
    /// Publication times the keys can match (`None`: any).
    pub span: Option<(i64, i64)>,
    /// The lookup's screen.
    pub keep: Box<dyn FnMut(Hit) -> bool + 'a>,
}

/// A record's side of the digest relation (see [`crate::dedup::digest`]), ids sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relations {
    /// Records this digest contains (empty unless it is a digest).
    pub contains: Vec<String>,
    /// Digests containing this record.
    pub contained_in: Vec<String>,
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
    /// The keys it is filed under (`crate::dedup::keys::Keys::filed`: time-bucketed one-row keys,
    /// then two-row keys for the whole index).
    pub bands: Vec<u32>,
    /// The cluster it joins (its canonical record's id; its own id when alone or canonical).
    pub cluster: String,
    /// Clusters merged into `cluster`: every member of `from` moves to `to`.
    pub relabel: Vec<(String, String)>,
    /// Single records moved to another cluster (a cluster split because one of its records
    /// became a digest), `(record, new canonical record)`, after `relabel`.
    pub moves: Vec<(String, String)>,
    /// New digest relations `(digest, record it contains)`, sorted.
    pub relate: Vec<(String, String)>,
    /// New links: the new record's first, then, by id, every stored record whose canonical
    /// record or digest relations changed.
    pub links: Vec<(String, NearLink)>,
}
