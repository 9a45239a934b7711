//! A bounded cache of what the index stores per record ([`DocInfo`]: rank, shingle count,
//! compact signature), by record number, so that the records a lookup names again and again
//! (texts full of stock phrases share band keys with many others) are screened without a
//! database read. `DocInfo` never changes once stored; the cluster, which does, is not cached.
//! Oldest entries go first.

use std::collections::{HashMap, VecDeque};

use crate::dedup::rank::DocInfo;

/// `DocInfo` by record number, first in first out.
#[derive(Debug)]
pub struct InfoCache {
    map: HashMap<u32, DocInfo>,
    order: VecDeque<u32>,
    capacity: usize,
}

impl InfoCache {
    /// A cache of at most `capacity` records (about 250 bytes each).
    pub fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// The cached info of `doc`.
    pub fn get(&self, doc: u32) -> Option<&DocInfo> {
        self.map.get(&doc)
    }

    /// Caches the info of `doc`, evicting the oldest entry when full.
    pub fn insert(&mut self, doc: u32, info: DocInfo) {
        if self.capacity == 0 || self.map.contains_key(&doc) {
            return;
        }
        if self.map.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.map.remove(&old);
        }
        self.order.push_back(doc);
        self.map.insert(doc, info);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}
