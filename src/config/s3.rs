//! `[storage]` on S3-compatible object storage: `raw_dir` / `normalized_dir` written as
//! `s3://bucket/prefix`, and the `[storage.s3]` table (endpoint, region, allow_http).
//!
//! Secrets are not read here: the access key and secret come from the standard AWS environment
//! variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), which the
//! storage layer reads when it connects. This module only parses and validates; it connects to
//! nothing.
//!
//! A folder on S3 still needs a local folder: readers mirror the objects they read into
//! `state_dir/s3/cache/{raw,normalized}`, and writers spool under `state_dir/s3/spool/`
//! (see `src/storage/`). [`resolve`] points `raw_dir` / `normalized_dir` at the cache folders
//! and keeps the bucket and prefix in `raw_remote` / `normalized_remote`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The scheme of a storage URL.
const SCHEME: &str = "s3://";

/// `[storage.s3]`: how to reach the object store. Every key is optional; the standard AWS
/// environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION` / `AWS_DEFAULT_REGION`,
/// `AWS_ALLOW_HTTP`) win over these when set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// Endpoint of an S3-compatible server (`http://127.0.0.1:9000` for MinIO or moto);
    /// `None`: AWS itself.
    pub endpoint: Option<String>,
    /// Region (`us-east-1` when neither this nor the environment names one).
    pub region: Option<String>,
    /// Allow plain `http://` endpoints (test servers, a store on the same host).
    pub allow_http: Option<bool>,
}

/// A bucket and a key prefix (`s3://bucket/prefix`): where one folder lives on S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (empty: the bucket's root).
    pub prefix: String,
}

impl S3Url {
    /// Parses `s3://bucket[/prefix]`. `Ok(None)` when `text` is not an `s3://` URL at all.
    ///
    /// # Errors
    /// A message naming what is wrong (no bucket, a bucket name S3 refuses, `..` in the prefix).
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let Some(rest) = text.strip_prefix(SCHEME) else {
            return Ok(None);
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(format!(
                "{text:?}: bucket {bucket:?} is not a valid S3 bucket name (3-63 of a-z 0-9 . -)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == ".." || p == ".") || prefix.contains("//") {
            return Err(format!(
                "{text:?}: the prefix may not hold `.`, `..` or `//`"
            ));
        }
        Ok(Some(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        }))
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "{SCHEME}{}", self.bucket)
        } else {
            write!(f, "{SCHEME}{}/{}", self.bucket, self.prefix)
        }
    }
}

/// The local cache folder readers mirror `what` (`raw`, `normalized`) into.
pub fn cache_dir(state_dir: &Path, what: &str) -> PathBuf {
    state_dir.join("s3").join("cache").join(what)
}

/// The spool folder of one writer (`who`: `run` or `workers/<id>`) for `what`.
pub fn spool_dir(state_dir: &Path, who: &str, what: &str) -> PathBuf {
    state_dir.join("s3").join("spool").join(who).join(what)
}

/// Turns `s3://` values of `raw_dir` / `normalized_dir` into remotes with local cache folders,
/// and checks `[storage.s3]`. Every problem is pushed, naming its key.
pub(super) fn resolve(storage: &mut super::StorageConfig, problems: &mut Vec<String>) {
    if storage.state_dir.to_string_lossy().starts_with(SCHEME) {
        problems.push("storage.state_dir: must be a local folder, not an s3:// URL".into());
    }
    let state_dir = storage.state_dir.clone();
    for (key, dir, remote, what) in [
        (
            "storage.raw_dir",
            &mut storage.raw_dir,
            &mut storage.raw_remote,
            "raw",
        ),
        (
            "storage.normalized_dir",
            &mut storage.normalized_dir,
            &mut storage.normalized_remote,
            "normalized",
        ),
    ] {
        match S3Url::parse(&dir.to_string_lossy()) {
            Ok(None) => {}
            Ok(Some(url)) => {
                *dir = cache_dir(&state_dir, what);
                *remote = Some(url);
            }
            Err(e) => problems.push(format!("{key}: {e}")),
        }
    }
    if let Some(endpoint) = &storage.s3.endpoint {
        match url::Url::parse(endpoint) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => problems.push(format!(
                "storage.s3.endpoint: {endpoint:?} is not an http(s) URL"
            )),
        }
    }
    if storage.s3.region.as_deref().is_some_and(str::is_empty) {
        problems.push("storage.s3.region: must not be empty".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let u = S3Url::parse("s3://news-bucket/a/b/").unwrap().unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("news-bucket", "a/b")
        );
        assert_eq!(u.to_string(), "s3://news-bucket/a/b");
        let root = S3Url::parse("s3://news-bucket").unwrap().unwrap();
        assert_eq!(root.prefix, "");
        assert_eq!(S3Url::parse("raw").unwrap(), None);
        assert!(S3Url::parse("s3://").is_err());
        assert!(S3Url::parse("s3://Bad_Bucket/x").is_err());
        assert!(S3Url::parse("s3://bucket/../x").is_err());
    }
}
