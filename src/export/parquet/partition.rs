//! Hive-style partitions of a Parquet export: `source_id=<id>/month=<YYYY-MM>`. The month is
//! the record's publication month at the publisher (`published_date`), or its fetch
//! month (UTC) when undated.

use std::path::{Path, PathBuf};

use super::ParquetError;
use crate::model::CorpusRecord;

/// A column the export can be partitioned by (`--partition source,month`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKey {
    /// `source_id=<id>`.
    Source,
    /// `month=<YYYY-MM>`.
    Month,
}

/// The partition folder of a record, relative to the output folder, keys in the order given.
pub fn dir_of(record: &CorpusRecord, keys: &[PartitionKey]) -> PathBuf {
    let mut dir = PathBuf::new();
    for key in keys {
        dir.push(match key {
            PartitionKey::Source => format!("source_id={}", record.article.source_id),
            PartitionKey::Month => format!("month={}", month(record)),
        });
    }
    dir
}

fn month(record: &CorpusRecord) -> String {
    let a = &record.article;
    match (a.published_date, a.published_at) {
        (Some(d), _) => d.format("%Y-%m").to_string(),
        (None, Some(d)) => d.format("%Y-%m").to_string(),
        (None, None) => record.fetched_at.format("%Y-%m").to_string(),
    }
}

/// Makes sure the output folder exists and is empty.
pub fn prepare_dir(dir: &Path) -> Result<(), ParquetError> {
    let io = |source| ParquetError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    if std::fs::read_dir(dir).map_err(io)?.next().is_some() {
        return Err(ParquetError::NotEmpty {
            path: dir.to_owned(),
        });
    }
    Ok(())
}
