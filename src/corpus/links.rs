//! Reading single records back, updating their near-duplicate links and moving their raw
//! location. Split from `corpus.rs` only for size; the same invariants hold (this module
//! writes nothing itself: updates of durable records are applied by the next flush's segment
//! rewrite).

use std::fs;

use crate::model::{CorpusRecord, NearLink, RawLocation};

use super::{Corpus, CorpusError, io};

/// serde writes `schema_version` then `id` first, so a record's id key sits in this many bytes.
const ID_PREFIX: usize = 96;

impl Corpus {
    /// The record with this id, pending or durable (with queued link updates applied), or
    /// `None` when the corpus has no such record. A durable record costs one segment read.
    ///
    /// # Errors
    /// `Io` when its segment cannot be read, `BadRecord` when its line does not parse.
    pub fn record(&self, id: &str) -> Result<Option<CorpusRecord>, CorpusError> {
        if let Some(r) = self.pending.iter().find(|r| r.id == id) {
            return Ok(Some(r.clone()));
        }
        let Some((seg, _)) = self.index.get(id) else {
            return Ok(None);
        };
        let path = self.dir.join(seg);
        let bytes = fs::read(&path).map_err(io(&path))?;
        let needle = format!("\"id\":\"{id}\"");
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let head = line.get(..ID_PREFIX.min(line.len())).unwrap_or(line);
            if !head.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                continue;
            }
            let mut rec: CorpusRecord =
                serde_json::from_slice(line).map_err(|source| CorpusError::BadRecord {
                    path: path.clone(),
                    line: i + 1,
                    source,
                })?;
            if rec.id == id {
                if let Some(link) = self.links.get(id) {
                    rec.near = link.clone();
                }
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }

    /// Sets record `id`'s near-duplicate link: in place when it is pending, by a segment rewrite
    /// at the next [`Corpus::flush`] when it is durable. Returns `false` for an unknown id or a
    /// pending record whose link is already this one.
    pub fn update_links(&mut self, id: &str, link: NearLink) -> bool {
        if let Some(r) = self.pending.iter_mut().find(|r| r.id == id) {
            if r.near == link {
                return false;
            }
            r.near = link;
            return true;
        }
        if !self.index.contains_key(id) {
            return false;
        }
        self.links.insert(id.to_owned(), link);
        true
    }

    /// Points record `id`'s `raw` at `raw` (a response with the same text, fetched again after
    /// the old one was lost): in place when it is pending, by a segment rewrite at the next
    /// [`Corpus::flush`] when it is durable. Returns `false` for an unknown id.
    pub fn relocate_raw(&mut self, id: &str, raw: RawLocation) -> bool {
        if let Some(r) = self.pending.iter_mut().find(|r| r.id == id) {
            r.raw = raw;
            return true;
        }
        if !self.index.contains_key(id) {
            return false;
        }
        self.raw_moves.insert(id.to_owned(), raw);
        true
    }

    /// Every durable record, one segment at a time, in write order (one segment in memory at
    /// a time, unlike [`Corpus::records`]).
    pub fn each_segment(
        &self,
    ) -> impl Iterator<Item = Result<Vec<CorpusRecord>, CorpusError>> + '_ {
        self.manifest
            .segments
            .iter()
            .map(|s| self.read_segment(&s.file).map(|(records, _)| records))
    }
}
