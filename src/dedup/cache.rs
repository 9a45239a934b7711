//! A bounded cache of shingle sets by record id, so verifying a candidate seldom needs its text
//! read back from the corpus. Bounded by the total number of shingles held (10 bytes each: the
//! hash and its salt), not by entries, so a few huge texts cannot blow the memory budget. Oldest
//! entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::shingle::ShingleSet;

/// Shingle sets by record id, first in first out.
#[derive(Debug)]
pub struct ShingleCache {
    map: HashMap<String, Arc<ShingleSet>>,
    order: VecDeque<String>,
    held: usize,
    capacity: usize,
}

impl ShingleCache {
    /// A cache holding at most `capacity` shingles in total (memory ≈ 10 × capacity bytes).
    pub fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            held: 0,
            capacity,
        }
    }

    /// The cached set of `id`.
    pub fn get(&self, id: &str) -> Option<Arc<ShingleSet>> {
        self.map.get(id).cloned()
    }

    /// Caches the set of `id`, evicting the oldest entries to stay within capacity.
    pub fn insert(&mut self, id: &str, set: Arc<ShingleSet>) {
        if set.len() > self.capacity || self.map.contains_key(id) {
            return;
        }
        while self.held + set.len() > self.capacity {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(s) = self.map.remove(&old) {
                self.held -= s.len();
            }
        }
        self.held += set.len();
        self.order.push_back(id.to_owned());
        self.map.insert(id.to_owned(), set);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.held = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_by_shingle_count() {
        let set = |n: u64| Arc::new(ShingleSet::from_hashes((0..n).collect()));
        let mut c = ShingleCache::new(10);
        c.insert("a", set(4));
        c.insert("b", set(4));
        c.insert("c", set(4));
        assert!(c.get("a").is_none());
        assert!(c.get("b").is_some() && c.get("c").is_some());
        c.insert("huge", set(11));
        assert!(c.get("huge").is_none());
    }
}
