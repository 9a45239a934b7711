//! The raw store: every HTTP response newsmill receives, kept as WARC/1.1 under `raw/`, so a
//! later normalizer can run again on exactly the same input without refetching.
//!
//! This module is the only writer under `raw/`. It knows nothing about fetching, normalizing
//! or the state database: it takes a [`RawPage`], returns a [`RawLocation`], and reads pages
//! back from a location ([`read_at`]) or from the whole tree ([`scan`]).
//!
//! # Format
//! - Files: `raw/YYYY/MM/DD/newsmill-<YYYYMMDDTHHMMSSZ>-<pid>-<seq>.warc.gz` (UTC creation
//!   time, `seq` zero-padded to five digits). Each `open` starts new files and never appends
//!   to an existing one, so a crash can only tear the tail of the newest file.
//! - Each record is its own gzip member (standard `.warc.gz`, readable by `warcio`). A file
//!   starts with a `warcinfo` record; each page adds a `request` then a `response` record,
//!   linked by `WARC-Concurrent-To`.
//! - `WARC-Date` is `fetched_at` in UTC with microsecond precision; `WARC-Target-URI` is the
//!   final URL; block and payload digests are `sha256:<BASE32>`.
//! - The response block is the HTTP status line, headers, blank line and the *decoded* body.
//!   `Content-Encoding`, `Transfer-Encoding` and `Content-Length` are stored as
//!   `X-Newsmill-Original-<name>`, and a true `Content-Length` is added; reading reverses this.
//! - Extension fields on the response record: `WARC-Newsmill-Source`,
//!   `WARC-Newsmill-Requested-URI` (only when it differs from the final URL),
//!   `WARC-Newsmill-Request-Headers` (JSON array of `[name, value]`) and `WARC-Newsmill-Hint`
//!   (JSON `{"url","title","published"}`, only with a hint).
//!
//! # Round trip
//! A page read back equals the page written, except that `fetched_at` is truncated to
//! microseconds and header names/values are sanitized (control characters in values become
//! spaces, non-token bytes in names become `_`). Header text is stored as it was (`Name: value`
//! with one separating space, surrounding spaces of the value kept).
//!
//! # Parts
//! `store` (the writer), `record` (WARC framing, digests, IDs), `http` (HTTP messages in the
//! blocks), `parse` (one member back to a page), `scan` (walking files, recovering from damage),
//! `remote` (raw/ on S3: opening a writer for a config, reading a record back by range,
//! mirroring the store into the local cache).
//!
//! # On S3
//! With `raw_dir = "s3://bucket/prefix"` files are written to a spool folder under
//! `state_dir/s3/spool/<writer>/raw/`, and closed at every [`RawStore::sync`]: each closed file
//! is uploaded whole under the same relative path (`prefix/YYYY/MM/DD/…warc.gz`) and then moved
//! to the reader cache `state_dir/s3/cache/raw/`. A [`RawLocation`] is therefore the same
//! locally and remotely.

mod http;
mod parse;
mod record;
mod remote;
mod scan;
mod store;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::model::{RawLocation, RawPage};
pub use parse::MAX_RECORD_BYTES;
pub use remote::{RawReader, mirror};
pub use store::{DEFAULT_MAX_FILE_BYTES, RawStore};

/// The suffix of every file this module writes and reads.
const FILE_SUFFIX: &str = ".warc.gz";

/// What went wrong in the raw store. Paths are the full paths of the file or folder involved.
#[derive(Debug, thiserror::Error)]
pub enum RawStoreError {
    /// A folder or a new WARC file could not be created.
    #[error("cannot create {}", path.display())]
    Create {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Writing, flushing or syncing a WARC file failed.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file (or its folder, when syncing the folder failed).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A WARC file or folder could not be opened, listed or read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The gzip member at `offset` is not a valid record (bad gzip, bad WARC header, a
    /// `Content-Length` that does not match the block, a digest mismatch, not a response, ...).
    #[error("corrupt record in {} at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Offset of the gzip member.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The record at `offset` declares a block larger than [`MAX_RECORD_BYTES`]; it is refused
    /// so that reading stays bounded in memory.
    #[error("record in {} at offset {offset} declares {length} bytes, over the limit", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Offset of the gzip member.
        offset: u64,
        /// The declared `Content-Length`.
        length: u64,
    },
    /// The file ends inside the member at `offset`: the writer crashed (or is still writing).
    /// Every record before it is intact.
    #[error("torn record at the end of {} (offset {offset})", path.display())]
    TornTail {
        /// The file.
        path: PathBuf,
        /// Offset of the incomplete gzip member.
        offset: u64,
    },
    /// The object store holding raw/ (`raw_dir = "s3://…"`) failed: unreachable, denied, or
    /// an upload or download that failed after its retries (the error below names the key).
    #[error("raw store {url} failed")]
    Remote {
        /// `s3://bucket/prefix` of raw/.
        url: String,
        /// What the storage layer reported.
        #[source]
        source: Box<crate::storage::StorageError>,
    },
}

/// Turns a member-level failure into the public error for `path` at `offset`.
fn member_error(path: &Path, offset: u64, err: parse::MemberError) -> RawStoreError {
    let path = path.to_owned();
    match err {
        parse::MemberError::Corrupt(reason) => RawStoreError::Corrupt {
            path,
            offset,
            reason,
        },
        parse::MemberError::TooLarge(length) => RawStoreError::TooLarge {
            path,
            offset,
            length,
        },
    }
}

/// Reads one response record back into a [`RawPage`] with one seek.
///
/// `loc` is what [`RawStore::write`] or [`scan`] returned; `root` is the raw folder.
///
/// # Errors
/// [`RawStoreError::Read`] when the file cannot be opened or seeked;
/// [`RawStoreError::Corrupt`] when the member is not a valid response record or its length
/// differs from `loc.length`; [`RawStoreError::TooLarge`] over [`MAX_RECORD_BYTES`].
pub fn read_at(root: &Path, loc: &RawLocation) -> Result<RawPage, RawStoreError> {
    let path = root.join(&loc.file);
    let read_err = |source| RawStoreError::Read {
        path: path.clone(),
        source,
    };
    let mut file = File::open(&path).map_err(read_err)?;
    file.seek(SeekFrom::Start(loc.offset)).map_err(read_err)?;
    read_member(&path, loc, file.take(loc.length))
}

/// Decodes the member `loc` names from `input`, which starts at its first byte.
fn read_member(path: &Path, loc: &RawLocation, input: impl Read) -> Result<RawPage, RawStoreError> {
    let mut counted = scan::Counted::new(BufReader::new(input));
    let member =
        parse::decode_member(&mut counted).map_err(|e| member_error(path, loc.offset, e))?;
    let corrupt = |reason: &str| RawStoreError::Corrupt {
        path: path.to_owned(),
        offset: loc.offset,
        reason: reason.to_owned(),
    };
    if counted.consumed != loc.length {
        return Err(corrupt("member length differs from the location's length"));
    }
    match member {
        parse::Member::Response(page) => Ok(*page),
        parse::Member::Other => Err(corrupt("record at this location is not a response")),
    }
}

/// Every response record under `root`: files in sorted path order (only `*.warc.gz` files are
/// read), records in file order, each with its location.
///
/// One bad member yields one error item and the walk goes on: a torn last member gives
/// [`RawStoreError::TornTail`] and ends that file; a bad record gives `Corrupt`/`TooLarge` and
/// the walk continues after it (or at the next valid gzip member); other files still read.
/// The newest file of a running writer may show a `TornTail` while a record is half written.
/// Memory stays bounded by one record.
pub fn scan(
    root: &Path,
) -> impl Iterator<Item = Result<(RawLocation, RawPage), RawStoreError>> + use<> {
    scan::Scan::new(root)
}

/// `t` truncated to the precision `WARC-Date` keeps (microseconds): the `fetched_at` that
/// [`read_at`] and [`scan`] will return for a page written with `t`.
pub fn stored_fetched_at(t: DateTime<Utc>) -> DateTime<Utc> {
    record::stored_precision(t)
}
