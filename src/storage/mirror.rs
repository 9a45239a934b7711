//! Moving whole files between a local folder and a [`Remote`]: [`pull`] mirrors a prefix into a
//! cache folder (readers), [`push_spool`] uploads what a writer's spool holds (writers).
//!
//! A file is never visible half-written on either side: downloads go to a temporary name and
//! are renamed into place; uploads are whole (see [`Remote::put_file`]).

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Remote, StorageError};

/// Suffix of a download in progress (never a name newsmill's readers look at).
const PARTIAL: &str = ".download";

/// What [`pull`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PullReport {
    /// Objects under the prefix that were wanted.
    pub objects: usize,
    /// Of those, downloaded because the cache lacked them or held another version.
    pub downloaded: usize,
    /// Local files removed because the object is gone.
    pub removed: usize,
}

fn local(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Local {
        path: path.to_owned(),
        source,
    }
}

/// Mirrors every object of `remote` whose relative path `wanted` accepts into `dir`: downloads
/// what is missing or differs (by size; unless `immutable`, also by modification time, which
/// is set to the object's after each download) and removes wanted local files the remote no
/// longer has. Other local files are left alone.
///
/// # Errors
/// [`StorageError::List`]/[`StorageError::Download`] naming the bucket and key,
/// [`StorageError::Local`] naming the cache file.
pub fn pull(
    remote: &Remote,
    dir: &Path,
    immutable: bool,
    wanted: impl Fn(&str) -> bool,
) -> Result<PullReport, StorageError> {
    let mut report = PullReport::default();
    let mut present = BTreeSet::new();
    for object in remote.list()?.into_iter().filter(|o| wanted(&o.rel)) {
        report.objects += 1;
        let path = dir.join(&object.rel);
        present.insert(path.clone());
        let meta = fs::metadata(&path).ok();
        let same = meta.is_some_and(|m| {
            m.len() == object.size
                && (immutable
                    || m.modified().ok().map(chrono::DateTime::<chrono::Utc>::from)
                        == Some(object.last_modified))
        });
        if same {
            continue;
        }
        let bytes = remote.get(&object.rel)?;
        write_whole(&path, &bytes, Some(object.last_modified))?;
        report.downloaded += 1;
    }
    for path in local_files(dir)? {
        let rel = rel_of(dir, &path);
        if wanted(&rel) && !present.contains(&path) {
            fs::remove_file(&path).map_err(local(&path))?;
            report.removed += 1;
        }
    }
    Ok(report)
}

/// Writes `bytes` to `path` through a temporary file and a rename, creating folders, and
/// stamps the modification time.
fn write_whole(
    path: &Path,
    bytes: &[u8],
    modified: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), StorageError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(local(parent))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}{PARTIAL}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).map_err(local(&tmp))?;
    f.write_all(bytes).map_err(local(&tmp))?;
    if let Some(t) = modified {
        f.set_modified(t.into()).map_err(local(&tmp))?;
    }
    drop(f);
    fs::rename(&tmp, path).map_err(local(path))
}

/// Every file under `spool` (recursively, sorted), except `open` (the file still being
/// written). These are the files a writer has closed but not uploaded yet.
///
/// # Errors
/// [`StorageError::Local`] when the spool cannot be listed.
pub fn spool_files(spool: &Path, open: Option<&Path>) -> Result<Vec<PathBuf>, StorageError> {
    let mut files = local_files(spool)?;
    files.retain(|p| Some(p.as_path()) != open && !p.to_string_lossy().ends_with(PARTIAL));
    Ok(files)
}

/// Uploads every closed file of `spool` (see [`spool_files`]) under its relative path, and
/// after each upload moves the file to the same relative path under `done` (the cache readers
/// use), so a file leaves the spool only once it is in the store. Stops at the first failure:
/// that file and the rest stay in the spool for the next call.
///
/// # Errors
/// [`StorageError::Upload`] naming the file, bucket and key; [`StorageError::Local`].
pub fn push_spool(
    remote: &Remote,
    spool: &Path,
    done: &Path,
    open: Option<&Path>,
) -> Result<usize, StorageError> {
    let mut uploaded = 0;
    for path in spool_files(spool, open)? {
        let rel = rel_of(spool, &path);
        remote.put_file(&rel, &path)?;
        let target = done.join(&rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(local(parent))?;
        }
        fs::rename(&path, &target).map_err(local(&target))?;
        tracing::debug!(file = %path.display(), key = %remote.key(&rel), "uploaded");
        uploaded += 1;
    }
    Ok(uploaded)
}

/// `path` relative to `dir`, `/`-separated.
fn rel_of(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

/// Every file under `dir`, recursively, sorted; a missing `dir` has none.
fn local_files(dir: &Path) -> Result<Vec<PathBuf>, StorageError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(local(&d)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(local(&d))?;
            let path = entry.path();
            if entry.file_type().map_err(local(&path))?.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rel_paths_use_slashes_and_spool_skips_the_open_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("2026/11/30/a.warc.gz");
        fs::create_dir_all(a.parent().unwrap()).unwrap();
        fs::write(&a, b"x").unwrap();
        let b = dir.path().join("b.warc.gz");
        fs::write(&b, b"y").unwrap();
        fs::write(dir.path().join("c.warc.gz.1.download"), b"z").unwrap();
        assert_eq!(rel_of(dir.path(), &a), "2026/11/30/a.warc.gz");
        assert_eq!(spool_files(dir.path(), Some(&b)).unwrap(), vec![a]);
        assert!(
            spool_files(&dir.path().join("none"), None)
                .unwrap()
                .is_empty()
        );
    }
}
