//! [`Remote`]: one bucket and key prefix, with blocking methods over the async `object_store`
//! client. Keys are `prefix/rel`, `rel` being the path a file has inside its local folder with
//! `/` separators, so the remote layout is the local one.

use std::fs::File;
use std::future::Future;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};

use super::{
    CONNECT_TIMEOUT, MAX_RETRIES, MULTIPART_OVER, PART_BYTES, REQUEST_TIMEOUT, RETRY_TIMEOUT,
    StorageError,
};
use crate::config::{S3Config, S3Url};

/// An object found by [`Remote::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    /// Path relative to the remote's prefix, `/`-separated.
    pub rel: String,
    /// Size in bytes.
    pub size: u64,
    /// When the object was last written (second precision on most servers).
    pub last_modified: DateTime<Utc>,
}

/// A folder on an S3-compatible store. Cheap to clone; every clone shares one client and one
/// runtime. All methods block: call them from a plain thread or `spawn_blocking` (they also
/// work, less efficiently, from inside an async task, on a helper thread).
#[derive(Debug, Clone)]
pub struct Remote {
    url: S3Url,
    store: Arc<AmazonS3>,
    runtime: Arc<Bridge>,
}

/// The runtime the client's futures run on. Dropped in the background, so a `Remote` may be
/// dropped inside an async context.
#[derive(Debug)]
struct Bridge(Option<tokio::runtime::Runtime>);

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Remote {
    /// Builds the client for `url` with `settings`, the AWS environment variables winning (see
    /// the module doc of `storage`). Sends no request: see [`Remote::check`].
    ///
    /// # Errors
    /// [`StorageError::Client`] on bad settings, [`StorageError::Runtime`] when the runtime
    /// cannot start.
    pub fn connect(url: &S3Url, settings: &S3Config) -> Result<Self, StorageError> {
        Self::build(url, settings, None)
    }

    /// As [`Remote::connect`] with this key pair instead of the environment's, for callers
    /// that hold the keys themselves (tests, tools). newsmill itself reads keys only from the
    /// environment.
    ///
    /// # Errors
    /// As [`Remote::connect`].
    pub fn connect_with_key(
        url: &S3Url,
        settings: &S3Config,
        key_id: &str,
        secret: &str,
    ) -> Result<Self, StorageError> {
        Self::build(url, settings, Some((key_id, secret)))
    }

    fn build(
        url: &S3Url,
        settings: &S3Config,
        key: Option<(&str, &str)>,
    ) -> Result<Self, StorageError> {
        // The project's TLS stack: rustls on ring (object_store is built without aws-lc-rs).
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Client options first: `with_client_options` replaces them, `allow_http` included.
        let options = ClientOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT);
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_TIMEOUT,
        };
        let mut builder = AmazonS3Builder::new()
            .with_client_options(options)
            .with_retry(retry)
            .with_bucket_name(&url.bucket)
            .with_region(settings.region.as_deref().unwrap_or("us-east-1"));
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(allow) = settings.allow_http {
            builder = builder.with_allow_http(allow);
        }
        for (key, value) in std::env::vars() {
            if key.starts_with("AWS_")
                && let Ok(k) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
            {
                builder = builder.with_config(k, value);
            }
        }
        if let Some((id, secret)) = key {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let store = builder.build().map_err(|source| StorageError::Client {
            bucket: url.bucket.clone(),
            prefix: url.prefix.clone(),
            source: Box::new(source),
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("newsmill-s3")
            .enable_all()
            .build()
            .map_err(|source| StorageError::Runtime { source })?;
        Ok(Self {
            url: url.clone(),
            store: Arc::new(store),
            runtime: Arc::new(Bridge(Some(rt))),
        })
    }

    /// The bucket and prefix.
    pub fn url(&self) -> &S3Url {
        &self.url
    }

    /// A remote for the sub-folder `sub` of this one (`workers/w1`), sharing the client.
    #[must_use]
    pub fn child(&self, sub: &str) -> Self {
        let mut child = self.clone();
        child.url.prefix = self.key(sub);
        child
    }

    /// A remote for the folder `name` beside this one (same parent prefix: `workers/w2` beside
    /// `workers/w1`), sharing the client.
    #[must_use]
    pub fn sibling(&self, name: &str) -> Self {
        let mut sibling = self.clone();
        let name = name.trim_matches('/');
        sibling.url.prefix = match self.url.prefix.rsplit_once('/') {
            Some((parent, _)) => format!("{parent}/{name}"),
            None => name.to_owned(),
        };
        sibling
    }

    /// The object key of `rel`.
    pub fn key(&self, rel: &str) -> String {
        let rel = rel.trim_matches('/');
        match (self.url.prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_owned(),
            (false, true) => self.url.prefix.clone(),
            (false, false) => format!("{}/{rel}", self.url.prefix),
        }
    }

    /// Runs `fut` to completion on the client's runtime.
    fn block<F>(&self, fut: F) -> Result<F::Output, StorageError>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(rt) = self.runtime.0.as_ref() else {
            return Err(StorageError::Runtime {
                source: std::io::Error::other("runtime already shut down"),
            });
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(rt.block_on(fut));
        }
        // Inside another runtime `block_on` would panic: wait on a helper thread instead.
        std::thread::scope(|s| s.spawn(|| rt.block_on(fut)).join()).map_err(|_| {
            StorageError::Runtime {
                source: std::io::Error::other("S3 helper thread panicked"),
            }
        })
    }

    /// Proves the bucket is reachable and readable with these credentials: one LIST of the
    /// prefix (at most one page).
    ///
    /// # Errors
    /// [`StorageError::List`] naming the bucket and prefix.
    pub fn check(&self) -> Result<(), StorageError> {
        let prefix = ObjectPath::from(self.url.prefix.as_str());
        let result = self.block(async {
            let mut stream = self.store.list(Some(&prefix));
            stream.try_next().await.map(|_| ())
        })?;
        result.map_err(|source| self.list_error(source))
    }

    /// Uploads `bytes` as `rel`, whole (one PUT).
    ///
    /// # Errors
    /// [`StorageError::Upload`] naming `path` (for the message), the bucket and the key.
    pub fn put_bytes(&self, rel: &str, bytes: Bytes, path: &Path) -> Result<(), StorageError> {
        let key = self.key(rel);
        let location = ObjectPath::from(key.as_str());
        let result = self.block(self.store.put(&location, PutPayload::from(bytes)))?;
        result
            .map(|_| ())
            .map_err(|source| self.upload_error(path, key, source))
    }

    /// Uploads the local file `path` as `rel`, whole: one PUT up to [`MULTIPART_OVER`] bytes,
    /// else a multipart upload that becomes visible only when completed (and is aborted on
    /// failure).
    ///
    /// # Errors
    /// [`StorageError::Local`] when the file cannot be read, [`StorageError::Upload`] when the
    /// store refuses it after the retries.
    pub fn put_file(&self, rel: &str, path: &Path) -> Result<(), StorageError> {
        let local = |source| StorageError::Local {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path).map_err(local)?.len();
        if size <= MULTIPART_OVER {
            let bytes = std::fs::read(path).map_err(local)?;
            return self.put_bytes(rel, Bytes::from(bytes), path);
        }
        let key = self.key(rel);
        let location = ObjectPath::from(key.as_str());
        let mut file = File::open(path).map_err(local)?;
        let result = self.block(async {
            let upload = self.store.put_multipart(&location).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            let mut buf = vec![0u8; PART_BYTES];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Ok(Err(e));
                    }
                };
                writer.wait_for_capacity(2).await?;
                writer.write(&buf[..n]);
            }
            writer.finish().await.map(|_| Ok(()))
        })?;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(local(e)),
            Err(source) => Err(self.upload_error(path, key, source)),
        }
    }

    /// The whole object `rel`.
    ///
    /// # Errors
    /// [`StorageError::Download`] naming the bucket and key.
    pub fn get(&self, rel: &str) -> Result<Bytes, StorageError> {
        let key = self.key(rel);
        let location = ObjectPath::from(key.as_str());
        let result = self.block(async { self.store.get(&location).await?.bytes().await })?;
        result.map_err(|source| self.download_error(key, source))
    }

    /// Bytes `range` of object `rel` (one ranged GET).
    ///
    /// # Errors
    /// [`StorageError::Download`] naming the bucket and key.
    pub fn get_range(&self, rel: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        let key = self.key(rel);
        let location = ObjectPath::from(key.as_str());
        let result = self.block(self.store.get_range(&location, range))?;
        result.map_err(|source| self.download_error(key, source))
    }

    /// Every object under the prefix, with its path relative to the prefix, in key order.
    ///
    /// # Errors
    /// [`StorageError::List`] naming the bucket and prefix.
    pub fn list(&self) -> Result<Vec<RemoteObject>, StorageError> {
        let prefix = ObjectPath::from(self.url.prefix.as_str());
        let result = self.block(self.store.list(Some(&prefix)).try_collect::<Vec<_>>())?;
        let metas = result.map_err(|source| self.list_error(source))?;
        let strip = if self.url.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.url.prefix)
        };
        let mut out: Vec<RemoteObject> = metas
            .into_iter()
            .filter_map(|m| {
                let key = m.location.to_string();
                let rel = key.strip_prefix(&strip).unwrap_or(&key).to_owned();
                (!rel.is_empty()).then_some(RemoteObject {
                    rel,
                    size: m.size,
                    last_modified: m.last_modified,
                })
            })
            .collect();
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(out)
    }

    /// Uploads `path` as `rel` ([`Remote::put_file`]) and then gives the local file the
    /// object's modification time, so a later [`super::pull`] into the same folder sees the two
    /// as equal and downloads nothing.
    ///
    /// # Errors
    /// As [`Remote::put_file`]; [`StorageError::Download`] when the object's metadata cannot be
    /// read back.
    pub fn put_file_stamped(&self, rel: &str, path: &Path) -> Result<(), StorageError> {
        self.put_file(rel, path)?;
        let key = self.key(rel);
        let location = ObjectPath::from(key.as_str());
        let meta = self
            .block(self.store.head(&location))?
            .map_err(|source| self.download_error(key, source))?;
        let local = |source| StorageError::Local {
            path: path.to_owned(),
            source,
        };
        let file = File::options().write(true).open(path).map_err(local)?;
        file.set_modified(meta.last_modified.into()).map_err(local)
    }

    /// Deletes object `rel` (a missing object is not an error).
    ///
    /// # Errors
    /// [`StorageError::Delete`] naming the bucket and key.
    pub fn delete(&self, rel: &str) -> Result<(), StorageError> {
        let key = self.key(rel);
        let location = ObjectPath::from(key.as_str());
        match self.block(self.store.delete(&location))? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(StorageError::Delete {
                bucket: self.url.bucket.clone(),
                key,
                source: Box::new(source),
            }),
        }
    }

    fn list_error(&self, source: object_store::Error) -> StorageError {
        StorageError::List {
            bucket: self.url.bucket.clone(),
            prefix: self.url.prefix.clone(),
            source: Box::new(source),
        }
    }

    fn upload_error(&self, path: &Path, key: String, source: object_store::Error) -> StorageError {
        StorageError::Upload {
            path: path.to_owned(),
            bucket: self.url.bucket.clone(),
            key,
            source: Box::new(source),
        }
    }

    fn download_error(&self, key: String, source: object_store::Error) -> StorageError {
        StorageError::Download {
            bucket: self.url.bucket.clone(),
            key,
            source: Box::new(source),
        }
    }
}
