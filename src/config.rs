//! Configuration: TOML as written (`Raw*` types, `deny_unknown_fields`) validated into typed
//! values (`Config`). Validation collects every problem before returning, so `newsmill check`
//! can report all of them at once, each naming the key that is wrong.
//!
//! Parsing is two passes: `schema` reads the TOML into the `Raw*` types and reports every
//! schema error (unknown key, wrong type, bad duration) by key, then validation reports every
//! value problem, including the `bounds` every duration and count must stay within.
//!
//! This module reads no files except the one it is asked to, and imports only `model`.

mod bounds;
mod fetch;
mod s3;
mod schema;
mod source;
mod state;
mod worker;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::model::SourceProfile;

pub use fetch::FetchConfig;
pub use s3::{S3Config, S3Url, spool_dir};
pub use source::SourceConfig;
pub use state::{Backend, DATABASE_URL_ENV, DatabaseUrl, StateConfig};
pub use worker::WorkerConfig;

use fetch::{RawFetchConfig, validate_fetch};
use source::{take_sources, validate_source};

/// Errors loading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The config path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML (schema errors, such as an unknown key or a wrong type, are
    /// [`ConfigError::Invalid`] problems, listed with the others).
    #[error("config file {path} is not valid TOML: {message}")]
    Parse {
        /// The config path.
        path: PathBuf,
        /// The parser's message, which names the key and line.
        message: String,
    },
    /// The file is TOML but keys or values are wrong; every problem is listed.
    #[error("config file {path} has {} problem(s):\n  - {}", problems.len(), problems.join("\n  - "))]
    Invalid {
        /// The config path.
        path: PathBuf,
        /// One line per problem, each starting with the key it is about.
        problems: Vec<String>,
    },
}

/// `[storage]`: where data lives. Relative paths resolve against the current directory.
/// `raw_dir` and `normalized_dir` may be `s3://bucket/prefix` (see `config/s3.rs`): the
/// validated config then holds the bucket in `raw_remote` / `normalized_remote` and the local
/// cache folder the readers use in `raw_dir` / `normalized_dir`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Folder for WARC files (local cache folder when `raw_remote` is set).
    pub raw_dir: PathBuf,
    /// Folder for the JSONL corpus (local cache folder when `normalized_remote` is set).
    pub normalized_dir: PathBuf,
    /// Folder for the SQLite state, lock file and run reports.
    pub state_dir: PathBuf,
    /// `[storage.s3]`: endpoint, region, allow_http of the object store.
    pub s3: S3Config,
    /// Where raw/ lives when `raw_dir` was written as `s3://bucket/prefix`.
    #[serde(skip)]
    pub raw_remote: Option<S3Url>,
    /// Where normalized/ lives when `normalized_dir` was written as `s3://bucket/prefix`.
    #[serde(skip)]
    pub normalized_remote: Option<S3Url>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            raw_dir: "raw".into(),
            normalized_dir: "normalized".into(),
            state_dir: "state".into(),
            s3: S3Config::default(),
            raw_remote: None,
            normalized_remote: None,
        }
    }
}

/// `[dedup]`: near-duplicate linking (see `dedup::link::Thresholds`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Records published further apart than this ("3d", "36h") are linked only on stronger
    /// evidence (Jaccard ≥ 0.8 or containment ≥ 0.9, and no fact differs).
    #[serde(with = "humantime_serde")]
    pub date_window: Duration,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            date_window: Duration::from_secs(3 * 86_400),
        }
    }
}

/// The whole file as written, minus `[[sources]]`: `take_sources` reads those entry by entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    storage: StorageConfig,
    #[serde(default)]
    fetch: RawFetchConfig,
    #[serde(default)]
    dedup: DedupConfig,
    #[serde(default)]
    state: state::RawStateConfig,
    #[serde(default)]
    worker: WorkerConfig,
}

/// A validated configuration. Immutable once built.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data folders.
    pub storage: StorageConfig,
    /// Network politeness and limits.
    pub fetch: FetchConfig,
    /// Near-duplicate linking.
    pub dedup: DedupConfig,
    /// Which database holds the frontier (`[state]`).
    pub state: StateConfig,
    /// How `newsmill worker` shares the frontier (`[worker]`).
    pub worker: WorkerConfig,
    /// Configured sources, in file order.
    pub sources: Vec<SourceConfig>,
}

impl Config {
    /// Reads and validates a config file.
    ///
    /// # Errors
    /// `Read` when the file cannot be read, `Parse` on TOML/schema errors, `Invalid` with every
    /// value problem found.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Validates TOML text; `path` is only used in messages.
    ///
    /// # Errors
    /// As [`Config::load`], minus `Read`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let mut problems = Vec::new();
        let raw_sources = take_sources(&mut table, &mut problems);
        let mut raw: RawConfig = schema::read_lenient(table, "", &mut problems).unwrap_or_default();
        s3::resolve(&mut raw.storage, &mut problems);
        let fetch = validate_fetch(raw.fetch, &mut problems);
        let env_url = std::env::var(DATABASE_URL_ENV).ok();
        let state = state::validate(raw.state, env_url, &mut problems);
        worker::validate(&raw.worker, &mut problems);
        bounds::duration(
            "dedup.date_window",
            raw.dedup.date_window,
            bounds::DATE_WINDOW,
            &mut problems,
        );
        let mut sources = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, src) in raw_sources {
            if !seen.insert(src.id.clone()) {
                problems.push(format!("sources[{i}].id: duplicate id {:?}", src.id));
            }
            if let Some(s) = validate_source(i, src, &mut problems) {
                sources.push(s);
            }
        }
        if problems.is_empty() {
            Ok(Self {
                storage: raw.storage,
                fetch,
                dedup: raw.dedup,
                state,
                worker: raw.worker,
                sources,
            })
        } else {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
    }

    /// Source profiles of every configured source (crawled or not), for the normalizer.
    pub fn profiles(&self) -> Vec<SourceProfile> {
        self.sources.iter().map(|s| s.profile.clone()).collect()
    }
}

#[cfg(test)]
mod tests;
