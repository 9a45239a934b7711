//! Reading a sibling corpus folder (another worker's, beside this one under `workers/`) for
//! a takeover: which records it holds past what its owner's last committed manifest listed.
//! On S3 the bucket is read, since the owner may have written on another machine; the local
//! folder beside this one is read too (same machine: files written but not uploaded yet).

use std::collections::{BTreeMap, HashMap};

use super::{
    Corpus, CorpusError, MANIFEST, Manifest, ManifestRead, check, read_manifest,
    remote::remote_err, segment_files, segment_number,
};

impl Corpus {
    /// The records (id → canonical URL) in the sibling folder `owner` past the first `committed[file]`
    /// records of each of its segments (every record of a segment not listed there): from the
    /// bucket when this corpus is on S3, and from the local folder beside this one. A folder
    /// that exists in neither place has none.
    ///
    /// # Errors
    /// [`CorpusError::Remote`] when the bucket cannot be listed or a segment read;
    /// [`CorpusError::Io`] when a local segment cannot be read.
    pub fn sibling_records_past(
        &self,
        owner: &str,
        committed: &HashMap<String, usize>,
    ) -> Result<BTreeMap<String, String>, CorpusError> {
        let mut ids = BTreeMap::new();
        let skip = |file: &str| committed.get(file).copied().unwrap_or(0);
        if let Some(remote) = &self.remote {
            let sibling = remote.sibling(owner);
            let listed = sibling.list().map_err(remote_err(sibling.url()))?;
            let segments = listed
                .iter()
                .filter(|o| !o.rel.contains('/') && segment_number(&o.rel).is_some());
            for object in segments {
                let bytes = sibling
                    .get(&object.rel)
                    .map_err(remote_err(sibling.url()))?;
                let records = check::lines(&object.rel, &bytes).skip(skip(&object.rel));
                ids.extend(records.filter_map(|r| r.ok().map(entry)));
            }
        }
        let Some(dir) = self.dir.parent().map(|p| p.join(owner)) else {
            return Ok(ids);
        };
        if dir.is_dir() {
            for file in segment_files(&dir)? {
                let records = check::segment_lines(&dir, &file)?;
                let past = records.into_iter().skip(skip(&file));
                ids.extend(past.filter_map(|r| r.ok().map(entry)));
            }
        }
        Ok(ids)
    }

    /// The manifest of the sibling folder `owner`: the local folder's when it is here (same
    /// machine), else, on S3, the bucket's (`None` when neither has a readable one).
    pub fn sibling_manifest(&self, owner: &str) -> Option<Manifest> {
        let local = self.dir.parent().map(|p| p.join(owner));
        if let Some(ManifestRead::Found(m)) = local.as_deref().map(read_manifest) {
            return Some(m);
        }
        let sibling = self.remote.as_ref()?.sibling(owner);
        let bytes = sibling.get(MANIFEST).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

fn entry(rec: crate::model::CorpusRecord) -> (String, String) {
    (rec.id, rec.article.canonical_url.to_string())
}
