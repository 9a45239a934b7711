//! The storage layer: S3-compatible object storage for `raw/` and `normalized/`
//! (`raw_dir` / `normalized_dir` written as `s3://bucket/prefix`).
//!
//! Only `raw_store` (raw/) and `corpus` (normalized/) call this module: they write their files
//! locally as they always did and hand each *closed* file to [`Remote::put_file`], which uploads
//! it whole — one PUT, or a multipart upload completed in one step for files over
//! [`MULTIPART_OVER`] — so no reader ever sees a partial object. Readers list a prefix, mirror
//! whole objects into a local cache folder ([`pull`]) or read one WARC record by range
//! ([`Remote::get_range`]).
//!
//! # Parts
//! - [`Remote`]: one bucket + prefix, a synchronous face over the async `object_store` client
//!   (its own small tokio runtime, so the sync sink threads and the async commands can both
//!   call it).
//! - `mirror`: [`pull`] (remote prefix → local cache) and [`push_spool`] (local spool →
//!   remote, then into the cache).
//!
//! # Connection settings
//! Endpoint, region and `allow_http` come from `[storage.s3]`; the standard AWS environment
//! variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_ALLOW_HTTP`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) win over them. Secrets
//! are only read from the environment.
//!
//! # Retries
//! Every request goes through `object_store`'s retry (connection errors, 5xx and throttling:
//! up to [`MAX_RETRIES`] retries with exponential backoff, at most [`RETRY_TIMEOUT`] in all).
//! A file whose upload still fails stays where it is (spool or marker) and is uploaded by the
//! next call or the next start; the error names the bucket and key.

mod mirror;
mod remote;

use std::path::PathBuf;
use std::time::Duration;

pub use mirror::{PullReport, pull, push_spool, spool_files};
pub use remote::{Remote, RemoteObject};

/// Files larger than this are uploaded in parts (completed atomically), smaller ones in one PUT.
pub const MULTIPART_OVER: u64 = 32 * 1024 * 1024;

/// Size of each part of a multipart upload.
const PART_BYTES: usize = 8 * 1024 * 1024;

/// Retries per request after the first attempt.
pub const MAX_RETRIES: usize = 3;

/// Longest time spent retrying one request.
pub const RETRY_TIMEOUT: Duration = Duration::from_secs(20);

/// Longest wait for a TCP connection to the endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest time one request may take (a 32 MiB PUT on a slow link included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What went wrong talking to the object store. Every variant names the bucket and the key
/// (or prefix) involved; the `object_store` error underneath says why.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The client could not be built (bad endpoint, region, or settings).
    #[error("cannot set up the S3 client for s3://{bucket}/{prefix}")]
    Client {
        /// Bucket.
        bucket: String,
        /// Key prefix.
        prefix: String,
        /// The client's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// Uploading a file failed after the retries; the local file is kept.
    #[error("cannot upload {} to s3://{bucket}/{key}", path.display())]
    Upload {
        /// The local file.
        path: PathBuf,
        /// Bucket.
        bucket: String,
        /// Object key.
        key: String,
        /// The client's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// Reading an object (whole or a range) failed.
    #[error("cannot read s3://{bucket}/{key}")]
    Download {
        /// Bucket.
        bucket: String,
        /// Object key.
        key: String,
        /// The client's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// Listing a prefix failed (unreachable endpoint, no such bucket, access denied, ...).
    #[error("cannot list s3://{bucket}/{prefix}")]
    List {
        /// Bucket.
        bucket: String,
        /// Key prefix.
        prefix: String,
        /// The client's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// Deleting an object failed.
    #[error("cannot delete s3://{bucket}/{key}")]
    Delete {
        /// Bucket.
        bucket: String,
        /// Object key.
        key: String,
        /// The client's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// A local file or folder of the spool or the cache could not be read or written.
    #[error("local storage file {}", path.display())]
    Local {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The client's runtime could not be started or its thread failed.
    #[error("the S3 client runtime failed")]
    Runtime {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
