//! Changes to records that their writer has not written yet, applied as readers read: on a
//! shared state, other workers queue new near-duplicate links and sightings for a record's
//! owner, who writes them with its next flush; a worker that stopped for good never does.
//! `stats`, `export` and `report` lay the queued changes over the records they stream
//! ([`super::RecordStream::with_overlay`], [`super::read_lines`]), so what they show is
//! current whether or not the owner runs again. Nothing here writes: the folders stay their
//! owners' (and `verify --repair`'s) to rewrite.
//!
//! The rules are the owner's own ([`super::Corpus::update_links`],
//! [`super::Corpus::add_sighting`]): a link replaces the record's link fields, the last queued
//! one winning; a sighting is added unless its URL is the record's own or already on it.

use std::collections::HashMap;

use crate::model::{CorpusRecord, NearLink, Sighting};

/// Queued changes by record id (see the module doc). Empty for a single-machine corpus.
#[derive(Debug, Default, Clone)]
pub struct Overlay {
    links: HashMap<String, NearLink>,
    sightings: HashMap<String, Vec<Sighting>>,
}

impl Overlay {
    /// Record `id`'s link fields become `link` (replacing an earlier queued link).
    pub fn link(&mut self, id: &str, link: NearLink) {
        self.links.insert(id.to_owned(), link);
    }

    /// Record `id`'s text was also seen at `sighting`'s URL.
    pub fn sighting(&mut self, id: &str, sighting: Sighting) {
        self.sightings
            .entry(id.to_owned())
            .or_default()
            .push(sighting);
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty() && self.sightings.is_empty()
    }

    /// Whether record `id` has a change queued.
    pub fn touches(&self, id: &str) -> bool {
        self.links.contains_key(id) || self.sightings.contains_key(id)
    }

    /// Applies the changes queued for `rec` (none: it is left as it is).
    pub fn apply(&self, rec: &mut CorpusRecord) {
        if let Some(link) = self.links.get(&rec.id) {
            rec.near = link.clone();
        }
        for s in self.sightings.get(&rec.id).into_iter().flatten() {
            let known = rec.article.canonical_url.as_str() == s.url.as_str()
                || rec.also_seen_at.iter().any(|o| o.url == s.url);
            if !known {
                rec.also_seen_at.push(s.clone());
            }
        }
    }

    /// `line` (one corpus record) with its queued changes applied, or `None` when it has none
    /// (the line is then used as it is, unparsed here).
    ///
    /// # Errors
    /// When a line with changes queued does not parse as a record.
    pub(super) fn apply_line(&self, line: &str) -> Result<Option<String>, serde_json::Error> {
        if self.is_empty() {
            return Ok(None);
        }
        #[derive(serde::Deserialize)]
        struct Id {
            id: String,
        }
        let Ok(head) = serde_json::from_str::<Id>(line) else {
            // Not a record: the reader's own parse names the line.
            return Ok(None);
        };
        if !self.touches(&head.id) {
            return Ok(None);
        }
        let mut rec: CorpusRecord = serde_json::from_str(line)?;
        self.apply(&mut rec);
        serde_json::to_string(&rec).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::tests::record;
    use crate::model::SourceId;

    fn sighting(slug: &str) -> Sighting {
        Sighting {
            url: url::Url::parse(&format!("https://example.org/{slug}")).unwrap(),
            source_id: SourceId::new("other").unwrap(),
            fetched_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_last_link_wins_and_a_known_url_is_not_added_twice() {
        let rec = record("a story told once", "a");
        let mut o = Overlay::default();
        assert!(
            o.apply_line(&serde_json::to_string(&rec).unwrap())
                .unwrap()
                .is_none()
        );
        let link = |of: &str| NearLink {
            cluster_id: Some(of.to_owned()),
            near_duplicate_of: Some(of.to_owned()),
            ..NearLink::default()
        };
        o.link(&rec.id, link("x"));
        o.link(&rec.id, link("y"));
        o.sighting(&rec.id, sighting("b"));
        o.sighting(&rec.id, sighting("a")); // the record's own URL
        o.sighting(&rec.id, sighting("b"));
        let line = o
            .apply_line(&serde_json::to_string(&rec).unwrap())
            .unwrap()
            .unwrap();
        let got: CorpusRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(got.near, link("y"));
        let seen: Vec<&str> = got.also_seen_at.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(seen, ["https://example.org/b"]);
        // Another record is left as it is, unparsed.
        let other = record("another story", "c");
        assert!(
            o.apply_line(&serde_json::to_string(&other).unwrap())
                .unwrap()
                .is_none()
        );
    }
}
