//! A tolerant read of a corpus folder for `verify` and `stats`: every segment is hashed and
//! parsed line by line, and every problem is collected instead of stopping at the first (a bad
//! line is named and skipped). Reads only; one segment in memory at a time.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::model::{CorpusRecord, RawLocation, SourceId};

use super::manifest::{self, CorpusDamage, SegmentInfo, segment_number};
use super::{CorpusError, hex, io};

/// What `verify` needs of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    /// Record id.
    pub id: String,
    /// Segment file holding it.
    pub segment: String,
    /// Source of the record.
    pub source_id: SourceId,
    /// Its canonical URL, then the URLs of its `also_seen_at` sightings.
    pub urls: Vec<String>,
    /// Where its raw response is.
    pub raw: RawLocation,
}

/// The outcome of [`inspect`].
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    /// Every problem found, each naming its file.
    pub damage: Vec<CorpusDamage>,
    /// Every readable record, in segment order.
    pub records: Vec<RecordRef>,
    /// Segments read.
    pub segments: usize,
}

/// Reads every segment of the corpus in `dir` and compares the folder with its manifest. A
/// missing folder is an empty corpus.
///
/// # Errors
/// `Io` only when the folder or a segment cannot be read at all.
pub fn inspect(dir: &Path) -> Result<Inspection, CorpusError> {
    let mut out = Inspection::default();
    if !dir.exists() {
        return Ok(out);
    }
    // One corpus folder against its own manifest: workers' folders are inspected on their own.
    let names = own_segment_files(dir)?;
    let mut found = Vec::new();
    let mut first_seen: HashMap<String, String> = HashMap::new();
    for name in names {
        let path = dir.join(&name);
        let bytes = fs::read(&path).map_err(io(&path))?;
        let mut lines_read = 0;
        for line in lines(&name, &bytes) {
            lines_read += 1;
            match line {
                Ok(rec) => note(&mut out, &mut first_seen, &name, rec),
                Err(damage) => out.damage.push(damage),
            }
        }
        found.push(SegmentInfo {
            file: name,
            records: lines_read,
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(&bytes)),
        });
    }
    out.segments = found.len();
    let read = manifest::read_manifest(dir);
    let mut damage = manifest::compare(dir, &read, &found);
    damage.append(&mut out.damage);
    out.damage = damage;
    Ok(out)
}

fn note(
    out: &mut Inspection,
    first_seen: &mut HashMap<String, String>,
    segment: &str,
    rec: CorpusRecord,
) {
    if let Some(file) = first_seen.get(&rec.id) {
        out.damage.push(CorpusDamage::DuplicateId {
            id: rec.id.clone(),
            file: file.clone(),
            again: segment.to_owned(),
        });
        return;
    }
    first_seen.insert(rec.id.clone(), segment.to_owned());
    let mut urls = vec![rec.article.canonical_url.to_string()];
    urls.extend(rec.also_seen_at.iter().map(|s| s.url.to_string()));
    out.records.push(RecordRef {
        id: rec.id,
        segment: segment.to_owned(),
        source_id: rec.article.source_id,
        urls,
        raw: rec.raw,
    });
}

/// The segment files in `dir`, in number order, then those of every worker's folder
/// (`workers/<id>/part-NNNNNN.jsonl`, by worker id, then number), as paths relative to `dir`
/// (none when the folder does not exist). Many workers share one corpus this way, each the
/// only writer of its own folder (`newsmill worker`).
///
/// # Errors
/// `Io` when a folder cannot be listed.
pub fn segment_files(dir: &Path) -> Result<Vec<String>, CorpusError> {
    let mut names = own_segment_files(dir)?;
    let workers = dir.join(super::WORKERS_DIR);
    if workers.is_dir() {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&workers).map_err(io(&workers))? {
            let entry = entry.map_err(io(&workers))?;
            if entry.path().is_dir() {
                ids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        ids.sort();
        for id in ids {
            for name in own_segment_files(&workers.join(&id))? {
                names.push(format!("{}/{id}/{name}", super::WORKERS_DIR));
            }
        }
    }
    Ok(names)
}

/// The segment files directly in `dir`, in number order.
fn own_segment_files(dir: &Path) -> Result<Vec<String>, CorpusError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let name = entry.map_err(io(dir))?.file_name();
        let name = name.to_string_lossy().into_owned();
        if segment_number(&name).is_some() {
            names.push(name);
        }
    }
    names.sort_by_key(|n| segment_number(n));
    Ok(names)
}

/// Every line of segment `file` in `dir`: a record, or the damage that names a bad line.
///
/// # Errors
/// `Io` when the segment cannot be read.
pub fn segment_lines(
    dir: &Path,
    file: &str,
) -> Result<Vec<Result<CorpusRecord, CorpusDamage>>, CorpusError> {
    let path = dir.join(file);
    let bytes = fs::read(&path).map_err(io(&path))?;
    Ok(lines(file, &bytes).collect())
}

/// Parses the lines of a segment's bytes (every line ends with a newline, the last included).
pub(super) fn lines<'a>(
    file: &'a str,
    bytes: &'a [u8],
) -> impl Iterator<Item = Result<CorpusRecord, CorpusDamage>> + 'a {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter(move |_| !body.is_empty())
        .map(move |(i, line)| {
            serde_json::from_slice(line).map_err(|e| CorpusDamage::BadLine {
                file: file.to_owned(),
                line: i + 1,
                reason: e.to_string(),
            })
        })
}
