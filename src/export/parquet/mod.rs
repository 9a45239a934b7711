//! Parquet export (`newsmill export --format parquet`): typed columns an analyst can query
//! without parsing JSON. Timestamps are `timestamp(µs, UTC)`, lists are lists, nested records
//! (`attributions`, `blocks`, `images`, `also_seen_at`, `raw`, `extractor`) are structs, source
//! ids, languages and enum strings are dictionary-encoded, pages are zstd-compressed.
//!
//! The Arrow schema is derived from the record's JSON Schema (`schema`), so the two cannot
//! drift. Memory does not grow with the corpus: one file is written at a time, in bounded
//! batches and row groups (`writer`).
//!
//! With `--partition source,month` the output is a folder of hive-style partitions
//! (`source_id=belta_en/month=2025-05/part-0.parquet`) that DuckDB, polars and Spark read as
//! one table. Records arrive in corpus order, not partition order, so they are first spooled
//! to one JSON-lines file per partition (`spool`), then each partition is written whole:
//! exactly one file per partition, whatever the number of partitions or the arrival order.
//! The spool lives in `<out>/.spool/` and is removed when the export ends, failed or not.

mod partition;
mod schema;
mod spool;
mod writer;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};

use crate::model::CorpusRecord;

pub use partition::PartitionKey;
pub use schema::{SchemaError, arrow_schema};
use spool::Spool;
use writer::FileWriter;

/// Why the Parquet export failed.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    /// A file or folder could not be created, renamed or listed.
    #[error("cannot write {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The partitioned output folder already holds files (they would mix with this export).
    #[error("output folder {path} is not empty; remove it or choose another")]
    NotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// Arrow or Parquet refused the data.
    #[error("cannot encode Parquet for {path}: {message}")]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The library's message.
        message: String,
    },
    /// The record type's schema could not be mapped.
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct ExportSummary {
    /// Rows written.
    pub rows: usize,
    /// Files written, in the order they were completed.
    pub files: Vec<PathBuf>,
}

/// Where the records go.
enum Sink {
    /// One file.
    Single(Box<FileWriter>),
    /// Spooled by partition, written at the end.
    Partitioned(Spool),
}

/// A Parquet export in progress: push records, then [`ParquetExport::finish`].
pub struct ParquetExport {
    schema: SchemaRef,
    decode_schema: SchemaRef,
    out: PathBuf,
    partition: Vec<PartitionKey>,
    sink: Option<Sink>,
    rows: usize,
}

impl ParquetExport {
    /// Starts an export to the file `out` (no partition keys) or into the folder `out`
    /// (partitioned; it must be missing or empty).
    ///
    /// # Errors
    /// `Schema` when the record type cannot be mapped, `NotEmpty`/`Io` for the output folder.
    pub fn create(out: &Path, partition: &[PartitionKey]) -> Result<Self, ParquetError> {
        let schema = Arc::new(arrow_schema()?);
        let decode_fields: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| {
                arrow_schema::Field::new(
                    f.name(),
                    schema::decode_type(f.data_type()),
                    f.is_nullable(),
                )
            })
            .collect();
        let decode_schema = Arc::new(Schema::new(decode_fields));
        let sink = if partition.is_empty() {
            Sink::Single(Box::new(FileWriter::create(out, &schema, &decode_schema)?))
        } else {
            partition::prepare_dir(out)?;
            Sink::Partitioned(Spool::create(spool_dir(out))?)
        };
        Ok(Self {
            schema,
            decode_schema,
            out: out.to_owned(),
            partition: partition.to_vec(),
            sink: Some(sink),
            rows: 0,
        })
    }

    /// Adds one record.
    ///
    /// # Errors
    /// `Io`/`Encode` when it cannot be written.
    pub fn push(&mut self, record: &CorpusRecord) -> Result<(), ParquetError> {
        match &mut self.sink {
            Some(Sink::Single(file)) => file.push(record)?,
            Some(Sink::Partitioned(spool)) => {
                spool.push(partition::dir_of(record, &self.partition), record)?;
            }
            None => {}
        }
        self.rows += 1;
        Ok(())
    }

    /// Completes the output: closes the single file, or writes every partition's file from
    /// its spool, in partition order.
    ///
    /// # Errors
    /// `Io`/`Encode` when a file cannot be completed.
    pub fn finish(mut self) -> Result<ExportSummary, ParquetError> {
        let mut summary = ExportSummary {
            rows: self.rows,
            files: Vec::new(),
        };
        match self.sink.take() {
            Some(Sink::Single(file)) => summary.files.push(file.finish()?),
            Some(Sink::Partitioned(spool)) => {
                for (key, spooled) in spool.finish()? {
                    summary.files.push(self.write_partition(&key, &spooled)?);
                    // The spool shrinks as the output grows: the export needs room for the
                    // spool plus one partition's Parquet file, not twice the corpus.
                    let _ = std::fs::remove_file(&spooled);
                }
            }
            None => {}
        }
        Ok(summary)
    }

    /// Writes `<out>/<key>/part-0.parquet` from the partition's spool file.
    fn write_partition(&self, key: &Path, spooled: &Path) -> Result<PathBuf, ParquetError> {
        let dir = self.out.join(key);
        std::fs::create_dir_all(&dir).map_err(|source| ParquetError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut file = FileWriter::create(
            &dir.join("part-0.parquet"),
            &self.schema,
            &self.decode_schema,
        )?;
        let input = File::open(spooled).map_err(|source| ParquetError::Io {
            path: spooled.to_owned(),
            source,
        })?;
        file.push_json(BufReader::with_capacity(1 << 20, input), spooled)?;
        file.finish()
    }
}

impl Drop for ParquetExport {
    fn drop(&mut self) {
        // Finished or failed half-way, a partitioned export leaves no spool behind.
        if !self.partition.is_empty() {
            let _ = std::fs::remove_dir_all(spool_dir(&self.out));
        }
    }
}

fn spool_dir(out: &Path) -> PathBuf {
    out.join(".spool")
}

fn encode(path: &Path, e: &dyn std::fmt::Display) -> ParquetError {
    ParquetError::Encode {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
