//! The corpus's writes: a flush (new segments, then rewrites of segments whose records got
//! sightings, links or a new raw location, then the manifest), each file written whole through
//! a fsync'd temporary file and a rename, and the swap of a rebuilt folder (`replace_dir`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{
    Corpus, CorpusError, FlushReport, MANIFEST, SEGMENT_RECORDS, SegmentInfo, hex, io, segment_name,
};
use crate::model::{CorpusRecord, Sighting};

impl Corpus {
    /// Makes everything queued durable: new segments for pending records, rewrites for
    /// sightings and link updates, then the manifest.
    ///
    /// # Errors
    /// `Io`/`BadRecord`; on error nothing already durable is lost.
    pub fn flush(&mut self) -> Result<FlushReport, CorpusError> {
        let mut report = FlushReport::default();
        let pending = std::mem::take(&mut self.pending);
        for chunk in pending.chunks(SEGMENT_RECORDS) {
            // Never a name used before, even when segments went missing (see `manifest.rs`).
            let number = self.manifest.last_segment + 1;
            let name = segment_name(number);
            let info = self.write_segment(&name, chunk)?;
            self.manifest.last_segment = number;
            for r in chunk {
                let urls = BTreeSet::from([r.article.canonical_url.to_string()]);
                self.index.insert(r.id.clone(), (name.clone(), urls));
                report.appended.push(r.id.clone());
            }
            self.manifest.records += info.records;
            self.manifest.segments.push(info);
        }
        report.rewritten = self.apply_updates()?;
        if !report.appended.is_empty() || report.rewritten > 0 || !self.dir.join(MANIFEST).exists()
        {
            self.write_manifest()?;
        }
        // On S3 the flush is durable once the store has it (segments first, manifest last).
        self.upload_pending()?;
        Ok(report)
    }

    fn apply_updates(&mut self) -> Result<usize, CorpusError> {
        let sightings = std::mem::take(&mut self.sightings);
        let links = std::mem::take(&mut self.links);
        let moves = std::mem::take(&mut self.raw_moves);
        let mut by_segment: BTreeMap<String, Vec<(&String, &Vec<Sighting>)>> = BTreeMap::new();
        for (id, list) in &sightings {
            if let Some((seg, _)) = self.index.get(id) {
                by_segment.entry(seg.clone()).or_default().push((id, list));
            }
        }
        for id in links.keys().chain(moves.keys()) {
            if let Some((seg, _)) = self.index.get(id) {
                by_segment.entry(seg.clone()).or_default();
            }
        }
        for (seg, updates) in &by_segment {
            let (mut records, _) = self.read_segment(seg)?;
            for rec in &mut records {
                if let Some((_, list)) = updates.iter().find(|(id, _)| **id == rec.id) {
                    rec.also_seen_at.extend(list.iter().cloned());
                }
                if let Some(link) = links.get(&rec.id) {
                    rec.near = link.clone();
                }
                if let Some(raw) = moves.get(&rec.id) {
                    rec.raw = raw.clone();
                }
            }
            let info = self.write_segment(seg, &records)?;
            if let Some(slot) = self.manifest.segments.iter_mut().find(|s| s.file == *seg) {
                *slot = info;
            }
        }
        Ok(by_segment.len())
    }

    fn write_segment(
        &self,
        name: &str,
        records: &[CorpusRecord],
    ) -> Result<SegmentInfo, CorpusError> {
        let mut buf = Vec::with_capacity(records.len() * 8192);
        for r in records {
            serde_json::to_writer(&mut buf, r).map_err(|source| CorpusError::BadRecord {
                path: self.dir.join(name),
                line: 0,
                source,
            })?;
            buf.push(b'\n');
        }
        self.mark(name)?;
        atomic_write(&self.dir.join(name), &buf)?;
        Ok(SegmentInfo {
            file: name.to_owned(),
            records: records.len(),
            bytes: buf.len() as u64,
            sha256: hex(&Sha256::digest(&buf)),
        })
    }

    pub(super) fn write_manifest(&self) -> Result<(), CorpusError> {
        let path = self.dir.join(MANIFEST);
        let mut json =
            serde_json::to_vec_pretty(&self.manifest).map_err(|source| CorpusError::BadRecord {
                path: path.clone(),
                line: 0,
                source,
            })?;
        json.push(b'\n');
        self.mark(MANIFEST)?;
        atomic_write(&path, &json)
    }
}

/// Writes `bytes` to `path` through a fsync'd temporary file and a rename.
pub(super) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), CorpusError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(parent) = path.parent() {
        // Persist the rename itself; best effort on platforms where directories cannot be opened.
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Replaces the corpus folder `target` by a fully written `staging` folder (used by
/// `reprocess`): the old folder is moved aside, the new one renamed in, the old one deleted.
///
/// # Errors
/// `Io` when a rename or delete fails; `target` is then either the old or the new corpus.
pub fn replace_dir(staging: &Path, target: &Path) -> Result<(), CorpusError> {
    let old = target.with_extension("old");
    if old.exists() {
        fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if target.exists() {
        fs::rename(target, &old).map_err(io(target))?;
    }
    fs::rename(staging, target).map_err(io(target))?;
    if old.exists() {
        // Keep a `.gitkeep` or other non-corpus files the user had in the folder.
        for entry in fs::read_dir(&old).map_err(io(&old))?.flatten() {
            let name = entry.file_name();
            let s = name.to_string_lossy();
            if !(s.starts_with("part-") || s == MANIFEST) {
                let _ = fs::rename(entry.path(), target.join(&name));
            }
        }
        fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}
