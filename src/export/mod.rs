//! `newsmill export`: the corpus filtered by date and source, as JSON Lines or typed Parquet
//! ([`parquet`]). Records are streamed from the segment files one line at a time
//! ([`crate::corpus::RecordStream`]), so memory does not grow with the corpus.

#[cfg(feature = "parquet")]
pub mod parquet;

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::corpus::{CorpusError, RecordStream};
use crate::model::{CorpusRecord, SourceId};

/// What `export` keeps.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Records published (or, when undated, fetched) at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Records published (or, when undated, fetched) before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only these sources (all when empty).
    pub sources: Vec<SourceId>,
}

impl ExportFilter {
    /// Whether a record passes.
    pub fn keeps(&self, r: &CorpusRecord) -> bool {
        let when = r
            .article
            .published_at
            .map_or(r.fetched_at, |d| d.with_timezone(&Utc));
        self.since.is_none_or(|s| when >= s)
            && self.until.is_none_or(|u| when < u)
            && (self.sources.is_empty() || self.sources.contains(&r.article.source_id))
    }
}

/// Where and how to export.
#[derive(Debug, Clone)]
pub enum Target {
    /// JSON Lines to a file, or to stdout when `None`.
    Jsonl(Option<PathBuf>),
    /// One Parquet file, or a folder of hive partitions when keys are given.
    #[cfg(feature = "parquet")]
    Parquet {
        /// Output file (no keys) or folder (keys).
        out: PathBuf,
        /// Partition keys, outermost first.
        partition: Vec<parquet::PartitionKey>,
    },
}

/// How many records were read and written.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExportCounts {
    /// Records in the corpus.
    pub read: usize,
    /// Records that passed the filter and were written.
    pub written: usize,
    /// Files written (1 for a single file or stdout).
    pub files: usize,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The corpus could not be read.
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    /// The JSONL output could not be written.
    #[error("cannot write {path}")]
    Write {
        /// Output path (`-` for stdout).
        path: PathBuf,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet output could not be written.
    #[cfg(feature = "parquet")]
    #[error(transparent)]
    Parquet(#[from] parquet::ParquetError),
}

/// Streams the corpus in `dir`, with `overlay` laid over it (changes queued for records on a
/// shared state), through `filter` into `target`.
///
/// # Errors
/// The first unreadable segment line or failed write.
pub fn export(
    dir: &Path,
    overlay: std::sync::Arc<crate::corpus::Overlay>,
    filter: &ExportFilter,
    target: &Target,
) -> Result<ExportCounts, ExportError> {
    let mut counts = ExportCounts::default();
    let records = RecordStream::open(dir)?.with_overlay(overlay);
    match target {
        Target::Jsonl(path) => {
            let shown = path.clone().unwrap_or_else(|| PathBuf::from("-"));
            let werr = |source| ExportError::Write {
                path: shown.clone(),
                source,
            };
            let out: Box<dyn Write> = match path {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p).map_err(werr)?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut out = out;
            for r in records {
                let r = r?;
                counts.read += 1;
                if filter.keeps(&r) {
                    serde_json::to_writer(&mut out, &r).map_err(|e| werr(e.into()))?;
                    out.write_all(b"\n").map_err(werr)?;
                    counts.written += 1;
                }
            }
            out.flush().map_err(werr)?;
            counts.files = 1;
        }
        #[cfg(feature = "parquet")]
        Target::Parquet { out, partition } => {
            let mut sink = parquet::ParquetExport::create(out, partition)?;
            for r in records {
                let r = r?;
                counts.read += 1;
                if filter.keeps(&r) {
                    sink.push(&r)?;
                    counts.written += 1;
                }
            }
            counts.files = sink.finish()?.files.len();
        }
    }
    Ok(counts)
}
