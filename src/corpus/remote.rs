//! normalized/ on S3 (`normalized_dir = "s3://bucket/prefix"`).
//!
//! # Writer
//! A writer works in a private local folder (`state_dir/s3/writer/normalized/<sub>`, `<sub>`
//! empty for `run`, `workers/<id>` for a worker) exactly as on a local disk, and after each
//! flush uploads every file the flush wrote, whole: segments first, `manifest.json` last, so a
//! reader never finds a manifest naming a segment that is not there yet. Before a file is
//! written, an empty marker `<name>.pending` is created beside it and removed once the upload
//! succeeded: a crash or a failed upload leaves the marker, and the next open (or flush)
//! uploads the file. Opening first uploads what markers remain, then mirrors the remote folder
//! into the private folder (for a new machine, or after `reprocess`).
//!
//! # Readers
//! [`mirror`] makes the local cache (`storage.normalized_dir`, `state_dir/s3/cache/normalized`)
//! a copy of every segment and manifest under the prefix, every worker's folder included; the
//! readers (`stats`, `export`, `report`, `verify`) then read the cache.

use std::fs;
use std::path::Path;

use super::{Corpus, CorpusError, MANIFEST, io, segment_number};
use crate::config::{S3Url, StorageConfig};
use crate::storage::{PullReport, Remote, StorageError, pull};

/// TEST ONLY. When set to a path, a writer about to upload a flush that wrote a new segment
/// (written locally, marked "not uploaded") creates that file and then waits for ever: the
/// moment a kill leaves a segment that exists only on the writer's machine. Never set in
/// production (the pipeline's failpoints are in `pipeline::failpoint`; this one lives here
/// because the corpus imports nothing of the pipeline).
pub const PAUSE_BEFORE_SEGMENT_UPLOAD: &str = "NEWSMILL_TEST_PAUSE_BEFORE_SEGMENT_UPLOAD";

/// The [`PAUSE_BEFORE_SEGMENT_UPLOAD`] failpoint: returns at once unless it is set.
fn before_segment_upload() {
    let Some(path) = std::env::var_os(PAUSE_BEFORE_SEGMENT_UPLOAD) else {
        return;
    };
    tracing::warn!(
        failpoint = PAUSE_BEFORE_SEGMENT_UPLOAD,
        "test failpoint reached: pausing for ever"
    );
    let _ = fs::write(&path, PAUSE_BEFORE_SEGMENT_UPLOAD);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// Suffix of the "not uploaded yet" marker beside a file.
pub(super) const PENDING: &str = ".pending";

pub(super) fn remote_err(url: &S3Url) -> impl FnOnce(StorageError) -> CorpusError + '_ {
    move |source| CorpusError::Remote {
        url: url.to_string(),
        source: Box::new(source),
    }
}

/// The client for normalized/ when it is on S3.
fn connect(storage: &StorageConfig) -> Result<Option<Remote>, CorpusError> {
    let Some(url) = &storage.normalized_remote else {
        return Ok(None);
    };
    Remote::connect(url, &storage.s3)
        .map(Some)
        .map_err(remote_err(url))
}

/// Whether `rel` (a path under the corpus prefix) is a file of a corpus folder.
fn is_corpus_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name == MANIFEST || segment_number(name).is_some()
}

impl Corpus {
    /// The corpus folder `sub` (empty: the corpus itself; `workers/<id>`: a worker's) of the
    /// corpus `storage` describes, opened for writing: the local folder, or on S3 the writer's
    /// private folder synchronised with the bucket (see the module doc).
    ///
    /// # Errors
    /// As [`Corpus::open`]; [`CorpusError::Remote`] when the bucket cannot be reached or a
    /// file cannot be moved.
    pub fn open_for(storage: &StorageConfig, sub: &str) -> Result<Self, CorpusError> {
        let (Some(remote), Some(dir)) = (
            connect(storage)?,
            super::unuploaded::private_dir(storage, sub),
        ) else {
            return Self::open(&storage.normalized_dir.join(sub));
        };
        let remote = if sub.is_empty() {
            remote
        } else {
            remote.child(sub)
        };
        Self::open_s3(&dir, remote)
    }

    /// Opens the writer's private folder `dir` for the remote folder `remote`.
    ///
    /// # Errors
    /// As [`Corpus::open_for`].
    pub fn open_s3(dir: &Path, remote: Remote) -> Result<Self, CorpusError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        remote.check().map_err(remote_err(remote.url()))?;
        upload_marked(dir, &remote)?;
        let own = |rel: &str| !rel.contains('/') && is_corpus_file(rel);
        pull(&remote, dir, false, own).map_err(remote_err(remote.url()))?;
        let mut corpus = Self::open(dir)?;
        corpus.remote = Some(remote);
        if !corpus.damage.is_empty() {
            // `open` rewrote the manifest to match the folder: the bucket needs it too.
            corpus.mark(MANIFEST)?;
        }
        corpus.upload_pending()?;
        Ok(corpus)
    }

    /// `s3://bucket/prefix` of this corpus folder, when it is on S3.
    pub fn remote_url(&self) -> Option<String> {
        self.remote.as_ref().map(|r| r.url().to_string())
    }

    /// Notes that file `name` is about to be (re)written and must be uploaded (on S3 only).
    pub(super) fn mark(&self, name: &str) -> Result<(), CorpusError> {
        if self.remote.is_some() {
            let marker = self.dir.join(format!("{name}{PENDING}"));
            fs::write(&marker, b"").map_err(io(&marker))?;
        }
        Ok(())
    }

    /// Uploads every file marked pending (on S3 only).
    pub(super) fn upload_pending(&self) -> Result<(), CorpusError> {
        match &self.remote {
            Some(remote) => upload_marked(&self.dir, remote).map(|_| ()),
            None => Ok(()),
        }
    }
}

/// Uploads the marked files of `dir` (segments in name order, the manifest last) and removes
/// each marker after its upload. A marker whose file does not exist (a crash before the write)
/// is only removed.
fn upload_marked(dir: &Path, remote: &Remote) -> Result<usize, CorpusError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let name = entry.map_err(io(dir))?.file_name();
        if let Some(file) = name.to_string_lossy().strip_suffix(PENDING) {
            names.push(file.to_owned());
        }
    }
    names.sort_by_key(|n| (n == MANIFEST, n.clone()));
    if names.iter().any(|n| segment_number(n).is_some()) {
        before_segment_upload();
    }
    for name in &names {
        let path = dir.join(name);
        if path.is_file() {
            remote
                .put_file_stamped(name, &path)
                .map_err(remote_err(remote.url()))?;
        }
        let marker = dir.join(format!("{name}{PENDING}"));
        fs::remove_file(&marker).map_err(io(&marker))?;
    }
    Ok(names.len())
}

/// Makes the local cache (`storage.normalized_dir`) a copy of every corpus file on S3 (the
/// corpus's own and every worker's), so the readers can read it. Does nothing for a local
/// normalized/.
///
/// # Errors
/// [`CorpusError::Remote`] naming the bucket and key that failed.
pub fn mirror(storage: &StorageConfig) -> Result<Option<PullReport>, CorpusError> {
    let Some(remote) = connect(storage)? else {
        return Ok(None);
    };
    pull(&remote, &storage.normalized_dir, false, is_corpus_file)
        .map(Some)
        .map_err(remote_err(remote.url()))
}

/// After a command rebuilt (`reprocess`) or repaired (`verify --repair`) corpus folders in
/// the local cache, makes the bucket match the cache: uploads every corpus file whose size or
/// modification time differs from its object (files the command did not touch still carry
/// their object's time from [`mirror`]) — segments first, manifests last — then deletes the
/// corpus's own segments (not the workers') that the cache no longer has. Does nothing for a
/// local normalized/.
///
/// Not atomic as a whole: a reader listing the bucket meanwhile may see old and new segments
/// side by side (each object itself is whole). Run it only while no writer runs (`reprocess`
/// holds the run lock; the shared repair refuses while a worker is alive).
///
/// # Errors
/// [`CorpusError::Io`] reading the cache, [`CorpusError::Remote`] naming the key that failed.
pub fn publish(storage: &StorageConfig) -> Result<usize, CorpusError> {
    publish_where(storage, |rel| !rel.contains('/'))
}

/// [`publish`] for the corpus and every worker's folder (`workers/<id>/`): also deletes the
/// workers' segments and manifests the cache no longer has. For the shared `reprocess`, which
/// rebuilt every worker's folder behind its fence; the same caveats as [`publish`].
///
/// # Errors
/// As [`publish`].
pub fn publish_all(storage: &StorageConfig) -> Result<usize, CorpusError> {
    publish_where(storage, |_| true)
}

/// [`publish`], deleting the stale corpus files whose relative path `deletable` accepts.
fn publish_where(
    storage: &StorageConfig,
    deletable: impl Fn(&str) -> bool,
) -> Result<usize, CorpusError> {
    let Some(remote) = connect(storage)? else {
        return Ok(0);
    };
    let dir = &storage.normalized_dir;
    let listed = remote.list().map_err(remote_err(remote.url()))?;
    let mut local = Vec::new();
    collect(dir, "", &mut local)?;
    local.sort_by_key(|(rel, _)| (rel.ends_with(MANIFEST), rel.clone()));
    let mut uploaded = 0;
    for (rel, meta) in &local {
        let same = listed.iter().any(|o| {
            o.rel == *rel
                && o.size == meta.len()
                && meta
                    .modified()
                    .ok()
                    .map(chrono::DateTime::<chrono::Utc>::from)
                    == Some(o.last_modified)
        });
        if !same {
            remote
                .put_file_stamped(rel, &dir.join(rel))
                .map_err(remote_err(remote.url()))?;
            uploaded += 1;
        }
    }
    let stale = |rel: &str| is_corpus_file(rel) && deletable(rel);
    for object in listed.iter().filter(|o| stale(&o.rel)) {
        if !local.iter().any(|(rel, _)| *rel == object.rel) {
            remote
                .delete(&object.rel)
                .map_err(remote_err(remote.url()))?;
        }
    }
    Ok(uploaded)
}

/// Every corpus file under `dir/rel`, recursively, with its metadata.
fn collect(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(String, fs::Metadata)>,
) -> Result<(), CorpusError> {
    let here = dir.join(rel);
    let entries = match fs::read_dir(&here) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(&here)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(&here))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = entry.metadata().map_err(io(&entry.path()))?;
        if meta.is_dir() {
            collect(dir, &child, out)?;
        } else if is_corpus_file(&child) {
            out.push((child, meta));
        }
    }
    Ok(())
}
