//! Segments a writer on S3 wrote into its private folder but never uploaded (killed between
//! the local write and the upload; the `.pending` marker is still beside them). Nobody else
//! could see them meanwhile, so on a shared state another worker may have taken their texts
//! over and written them again. Before the writer's folder is opened (which uploads what is
//! marked), the worker asks the database which of these records now belong to someone else
//! ([`unuploaded_records`]) and drops those from the segments ([`drop_unuploaded`]): each
//! record is then in the corpus once, and none is lost (a record nobody took over stays and
//! goes up with the segment). The folder's manifest is rewritten to match before anything goes
//! up, so no reader finds it naming a segment that is not there.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::remote::PENDING;
use super::{CorpusError, atomic_write, io, segment_number};
use crate::config::StorageConfig;

/// The writer's private folder of `sub` on S3, `None` for a local normalized/.
pub(super) fn private_dir(storage: &StorageConfig, sub: &str) -> Option<PathBuf> {
    storage.normalized_remote.as_ref()?;
    Some(
        storage
            .state_dir
            .join("s3")
            .join("writer")
            .join("normalized")
            .join(sub),
    )
}

/// The segments of `dir` still marked as not uploaded, in name order.
fn marked_segments(dir: &Path) -> Result<Vec<String>, CorpusError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry.map_err(io(dir))?.file_name();
        if let Some(file) = name.to_string_lossy().strip_suffix(PENDING)
            && segment_number(file).is_some()
            && dir.join(file).is_file()
        {
            names.push(file.to_owned());
        }
    }
    names.sort_by_key(|n| segment_number(n));
    Ok(names)
}

/// The record id on a segment line (`None` for a line that is not a record).
fn line_id(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(line).ok().map(|r| r.id)
}

/// Ids of every record in the segments of `sub`'s private folder that were never uploaded
/// (empty for a local normalized/, or when everything went up).
///
/// # Errors
/// `Io` when the folder or a segment cannot be read.
pub fn unuploaded_records(storage: &StorageConfig, sub: &str) -> Result<Vec<String>, CorpusError> {
    let Some(dir) = private_dir(storage, sub) else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    for seg in marked_segments(&dir)? {
        let path = dir.join(&seg);
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        ids.extend(text.lines().filter_map(line_id));
    }
    Ok(ids)
}

/// Rewrites the never-uploaded segments of `sub`'s private folder without the records `drop`
/// (ids another writer took over meanwhile); a segment left empty is deleted with its marker
/// (its number is not used again: the manifest remembers the highest one). Returns how many
/// records were dropped.
///
/// # Errors
/// `Io` when a segment cannot be read, rewritten or deleted.
pub fn drop_unuploaded(
    storage: &StorageConfig,
    sub: &str,
    drop: &HashSet<String>,
) -> Result<usize, CorpusError> {
    let Some(dir) = private_dir(storage, sub) else {
        return Ok(0);
    };
    if drop.is_empty() {
        return Ok(0);
    }
    let mut dropped = 0;
    for seg in marked_segments(&dir)? {
        let path = dir.join(&seg);
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !line_id(l).is_some_and(|id| drop.contains(&id)))
            .filter(|l| !l.trim().is_empty())
            .collect();
        let gone = text.lines().filter(|l| !l.trim().is_empty()).count() - kept.len();
        if gone == 0 {
            continue;
        }
        dropped += gone;
        tracing::warn!(segment = %path.display(), records = gone,
            "records of a segment never uploaded were taken over by another worker: dropped here");
        if kept.is_empty() {
            fs::remove_file(&path).map_err(io(&path))?;
            let marker = dir.join(format!("{seg}{PENDING}"));
            fs::remove_file(&marker).map_err(io(&marker))?;
        } else {
            let mut bytes = kept.join("\n").into_bytes();
            bytes.push(b'\n');
            atomic_write(&path, &bytes)?;
        }
    }
    if dropped > 0 {
        // Opened locally as its writer, the folder's manifest is rewritten to match the
        // segments before anything goes up (its marker is there: it is uploaded last).
        let marker = dir.join(format!("{}{PENDING}", super::MANIFEST));
        fs::write(&marker, b"").map_err(io(&marker))?;
        super::Corpus::open(&dir)?;
    }
    Ok(dropped)
}
