//! raw/ on S3 (`raw_dir = "s3://bucket/prefix"`): opening the writer a config asks for,
//! reading one record back from wherever it is ([`RawReader`]), and mirroring the store into
//! the local cache folder for readers that walk every file ([`mirror`]).
//!
//! Only reads go through here besides [`RawStore::open_for`]; the uploads themselves are the
//! writer's (`store.rs`).

use std::path::{Path, PathBuf};

use super::{FILE_SUFFIX, RawStore, RawStoreError, read_at, read_member};
use crate::config::{StorageConfig, spool_dir};
use crate::model::{RawLocation, RawPage};
use crate::storage::{PullReport, Remote, pull};

fn remote_err(
    url: &crate::config::S3Url,
) -> impl FnOnce(crate::storage::StorageError) -> RawStoreError + '_ {
    move |source| RawStoreError::Remote {
        url: url.to_string(),
        source: Box::new(source),
    }
}

/// The client for raw/ when it is on S3.
fn connect(storage: &StorageConfig) -> Result<Option<Remote>, RawStoreError> {
    let Some(url) = &storage.raw_remote else {
        return Ok(None);
    };
    Remote::connect(url, &storage.s3)
        .map(Some)
        .map_err(remote_err(url))
}

impl RawStore {
    /// The raw store `storage` describes, for the writer `who` (`run`, `workers/<id>`): the
    /// local folder, or on S3 this writer's spool (see [`RawStore::open_s3`]).
    ///
    /// # Errors
    /// As [`RawStore::open`] and [`RawStore::open_s3`].
    pub fn open_for(storage: &StorageConfig, who: &str) -> Result<Self, RawStoreError> {
        match connect(storage)? {
            None => Self::open(&storage.raw_dir),
            Some(remote) => Self::open_s3(
                &spool_dir(&storage.state_dir, who, "raw"),
                &storage.raw_dir,
                remote,
            ),
        }
    }
}

/// Reads records back by location: from the local folder (or cache) when the file is there,
/// else, on S3, with one ranged GET of exactly the record's bytes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RawReader {
    dir: PathBuf,
    remote: Option<Remote>,
}

impl RawReader {
    /// A reader for the raw store `storage` describes.
    ///
    /// # Errors
    /// [`RawStoreError::Remote`] when the S3 client cannot be set up.
    pub fn for_config(storage: &StorageConfig) -> Result<Self, RawStoreError> {
        Ok(Self {
            dir: storage.raw_dir.clone(),
            remote: connect(storage)?,
        })
    }

    /// A reader of a local folder only.
    pub fn local(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            remote: None,
        }
    }

    /// The local folder (the cache on S3).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The response record at `loc`, as [`super::read_at`] reads it.
    ///
    /// # Errors
    /// As [`super::read_at`]; on S3 [`RawStoreError::Remote`] when the object or range cannot
    /// be read (a missing object included).
    pub fn read_at(&self, loc: &RawLocation) -> Result<RawPage, RawStoreError> {
        let Some(remote) = &self.remote else {
            return read_at(&self.dir, loc);
        };
        if self.dir.join(&loc.file).is_file() {
            return read_at(&self.dir, loc);
        }
        let rel = loc.file.to_string_lossy().replace('\\', "/");
        let bytes = remote
            .get_range(&rel, loc.offset..loc.offset.saturating_add(loc.length))
            .map_err(remote_err(remote.url()))?;
        read_member(&PathBuf::from(remote.key(&rel)), loc, bytes.as_ref())
    }
}

/// Makes the local cache (`storage.raw_dir`) hold every WARC file of raw/ on S3, downloading
/// only the files it lacks (WARC files are never changed once uploaded), so that readers that
/// walk or check every file (`verify`, `stats`, `reprocess`) can use the local folder. Does
/// nothing for a local raw/.
///
/// # Errors
/// [`RawStoreError::Remote`] naming the bucket and key that failed.
pub fn mirror(storage: &StorageConfig) -> Result<Option<PullReport>, RawStoreError> {
    let Some(remote) = connect(storage)? else {
        return Ok(None);
    };
    pull(&remote, &storage.raw_dir, true, |rel| {
        rel.ends_with(FILE_SUFFIX)
    })
    .map(Some)
    .map_err(remote_err(remote.url()))
}
