//! The JSONL corpus under `normalized/`: the only writer there.
//!
//! # Layout
//! - `part-NNNNNN.jsonl`: segments, one [`CorpusRecord`] per line. A segment is written whole to
//!   a temporary file, fsync'd and renamed into place, so a crash never leaves a torn line: a
//!   segment either exists complete or not at all. New records always go to a new segment.
//! - `manifest.json`: every segment with its record count, byte size and SHA-256, rewritten
//!   atomically after each flush. Segments a crash left out of the manifest are adopted on open.
//!
//! On S3 (`normalized_dir = "s3://…"`) the writer works in a private local folder and
//! uploads every file a flush wrote, whole, before the flush returns (`remote.rs`).
//!
//! When an exact duplicate of an existing record is seen at another URL, the existing record's
//! `also_seen_at` grows, and when a record's near-duplicate cluster changes its link fields
//! change (`links.rs`), and when a record whose raw response was lost is fetched again its
//! `raw` moves to the new response (`links.rs`): either way its segment is rewritten (temp +
//! rename) at the next flush.
//! Nothing here depends on wall-clock time, so the same input gives byte-identical files.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::{CorpusRecord, NearLink, RawLocation, SCHEMA_VERSION, Sighting};

mod check;
mod links;
mod manifest;
mod overlay;
mod read;
mod remote;
mod sibling;
#[cfg(test)]
mod tests;
mod unuploaded;
mod write;

pub use check::{Inspection, RecordRef, inspect, segment_files, segment_lines};
pub use manifest::{
    CorpusDamage, MANIFEST, Manifest, ManifestRead, SegmentInfo, read_manifest, segment_name,
    segment_number,
};
pub use overlay::Overlay;
pub use read::{RecordStream, read_lines};
pub use remote::{mirror, publish, publish_all};
pub use unuploaded::{drop_unuploaded, unuploaded_records};
use write::atomic_write;
pub use write::replace_dir;

/// Folder under the corpus folder where each `newsmill worker` writes its own corpus
/// (`workers/<id>/`, segments and manifest as here). Readers take every worker's segments
/// after the folder's own ([`segment_files`]).
pub const WORKERS_DIR: &str = "workers";

/// Records per segment before a new one is started.
const SEGMENT_RECORDS: usize = 1000;

/// Errors reading or writing the corpus.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file or folder could not be read or written.
    #[error("corpus I/O failed on {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line or the manifest is not what newsmill writes.
    #[error("corpus file {path} line {line} is not a valid record")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 for the manifest as a whole).
        line: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The object store holding normalized/ (`normalized_dir = "s3://…"`) failed:
    /// unreachable, denied, or an upload that failed after its retries. The file stays in
    /// the local folder, marked, and is uploaded by the next flush or open.
    #[error("corpus store {url} failed")]
    Remote {
        /// `s3://bucket/prefix` of the corpus folder.
        url: String,
        /// What the storage layer reported (it names the key).
        #[source]
        source: Box<crate::storage::StorageError>,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a flush wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Records appended (each now durable).
    pub appended: Vec<String>,
    /// Segments rewritten to add sightings or update near-duplicate links.
    pub rewritten: usize,
}

/// An open corpus folder.
#[derive(Debug)]
pub struct Corpus {
    dir: PathBuf,
    manifest: Manifest,
    /// id → segment file and the URLs already listed on the record (its own and sightings).
    index: HashMap<String, (String, BTreeSet<String>)>,
    pending: Vec<CorpusRecord>,
    sightings: BTreeMap<String, Vec<Sighting>>,
    /// New near-duplicate links for durable records, applied at the next flush.
    links: BTreeMap<String, NearLink>,
    /// New raw locations for durable records whose raw response was lost and fetched again.
    raw_moves: BTreeMap<String, RawLocation>,
    /// How the manifest on disk differed from the folder when it was opened.
    damage: Vec<CorpusDamage>,
    /// On S3: where every file this corpus writes is uploaded (`remote.rs`).
    remote: Option<crate::storage::Remote>,
}

impl Corpus {
    /// Opens (creates) a corpus folder, adopting segments missing from the manifest and
    /// deleting temporary files a crash left behind.
    ///
    /// # Errors
    /// `Io` on file errors, `BadRecord` when an existing segment holds an unreadable line.
    pub fn open(dir: &Path) -> Result<Self, CorpusError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        Self::load(dir, true)
    }

    /// Opens a corpus for reading only (`stats`, `export`): nothing is created or deleted, so
    /// it is safe while a run is writing. A missing folder reads as an empty corpus.
    ///
    /// # Errors
    /// As [`Corpus::open`].
    pub fn open_read_only(dir: &Path) -> Result<Self, CorpusError> {
        if !dir.exists() {
            return Self::load_names(dir, Vec::new());
        }
        Self::load(dir, false)
    }

    fn load(dir: &Path, writer: bool) -> Result<Self, CorpusError> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(io(dir))? {
            let name = entry.map_err(io(dir))?.file_name();
            let name = name.to_string_lossy().into_owned();
            if writer && name.ends_with(".tmp") {
                let p = dir.join(&name);
                fs::remove_file(&p).map_err(io(&p))?;
            } else if segment_number(&name).is_some() {
                names.push(name);
            }
        }
        let mut corpus = Self::load_names(dir, names)?;
        let read = manifest::read_manifest(dir);
        corpus.damage = manifest::compare(dir, &read, &corpus.manifest.segments);
        corpus.manifest.last_segment = manifest::highest_used(&read, &corpus.manifest.segments);
        for d in &corpus.damage {
            tracing::warn!(corpus = %dir.display(), problem = %d, "corpus manifest differs from its segments");
        }
        if writer && !corpus.damage.is_empty() {
            // The folder is the truth: the manifest is rewritten to match it (a missing
            // segment's records are reported by the damage list and by `verify`).
            corpus.write_manifest()?;
        }
        Ok(corpus)
    }

    fn load_names(dir: &Path, mut names: Vec<String>) -> Result<Self, CorpusError> {
        names.sort_by_key(|n| segment_number(n));
        let mut corpus = Self {
            dir: dir.to_owned(),
            manifest: Manifest {
                schema_version: SCHEMA_VERSION,
                ..Manifest::default()
            },
            index: HashMap::new(),
            pending: Vec::new(),
            sightings: BTreeMap::new(),
            links: BTreeMap::new(),
            raw_moves: BTreeMap::new(),
            damage: Vec::new(),
            remote: None,
        };
        for name in names {
            let (records, info) = corpus.read_segment(&name)?;
            for r in records {
                let mut urls: BTreeSet<String> =
                    r.also_seen_at.iter().map(|s| s.url.to_string()).collect();
                urls.insert(r.article.canonical_url.to_string());
                corpus.index.insert(r.id, (name.clone(), urls));
            }
            corpus.manifest.records += info.records;
            corpus.manifest.segments.push(info);
        }
        Ok(corpus)
    }

    fn read_segment(&self, name: &str) -> Result<(Vec<CorpusRecord>, SegmentInfo), CorpusError> {
        let path = self.dir.join(name);
        let bytes = fs::read(&path).map_err(io(&path))?;
        let mut records = Vec::new();
        for (i, line) in BufReader::new(bytes.as_slice()).lines().enumerate() {
            let line = line.map_err(io(&path))?;
            let rec = serde_json::from_str(&line).map_err(|source| CorpusError::BadRecord {
                path: path.clone(),
                line: i + 1,
                source,
            })?;
            records.push(rec);
        }
        let info = SegmentInfo {
            file: name.to_owned(),
            records: records.len(),
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(&bytes)),
        };
        Ok((records, info))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest as of the last flush.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// How `manifest.json` differed from the segments in the folder when the corpus was opened
    /// (empty when they agreed). A writer has already rewritten the manifest to match the folder.
    pub fn damage(&self) -> &[CorpusDamage] {
        &self.damage
    }

    /// Whether a record with this id is written or pending.
    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id) || self.pending.iter().any(|r| r.id == id)
    }

    /// Ids of every durable record.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// Queues a new record; it becomes durable at the next [`Corpus::flush`]. A record whose id
    /// already exists is ignored (returns `false`).
    pub fn append(&mut self, record: CorpusRecord) -> bool {
        if self.contains(&record.id) {
            return false;
        }
        self.pending.push(record);
        true
    }

    /// Notes that record `id`'s text was also seen elsewhere. Returns `false` when that URL is
    /// already on the record (a re-run after a crash) or the id is unknown.
    pub fn add_sighting(&mut self, id: &str, sighting: Sighting) -> bool {
        let url = sighting.url.to_string();
        if let Some(rec) = self.pending.iter_mut().find(|r| r.id == id) {
            if rec.article.canonical_url.as_str() == url
                || rec.also_seen_at.iter().any(|s| s.url == sighting.url)
            {
                return false;
            }
            rec.also_seen_at.push(sighting);
            return true;
        }
        let Some((_, urls)) = self.index.get_mut(id) else {
            return false;
        };
        if !urls.insert(url) {
            return false;
        }
        self.sightings
            .entry(id.to_owned())
            .or_default()
            .push(sighting);
        true
    }

    /// Number of records waiting for a flush.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Every durable record, segment by segment (loads one segment at a time).
    ///
    /// # Errors
    /// `Io`/`BadRecord` for the first unreadable segment.
    pub fn records(&self) -> Result<Vec<CorpusRecord>, CorpusError> {
        let mut all = Vec::with_capacity(self.manifest.records);
        for seg in &self.manifest.segments {
            all.extend(self.read_segment(&seg.file)?.0);
        }
        Ok(all)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
