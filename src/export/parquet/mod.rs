//! Parquet export (`newsmill export --format parquet`): typed columns an analyst can query
//! without parsing JSON. Timestamps are `timestamp(µs, UTC)`, lists are lists, nested records
//! (`attributions`, `blocks`, `images`, `also_seen_at`, `raw`, `extractor`) are structs, source
//! ids, languages and enum strings are dictionary-encoded, pages are zstd-compressed.
//!
//! The Arrow schema is derived from the record's JSON Schema ([`schema`]), so the two cannot
//! drift. Records are pushed one at a time and written in bounded batches and row groups;
//! memory does not grow with the corpus.
//!
//! With `--partition source,month` the output is a folder of hive-style partitions
//! (`source_id=belta_en/month=2025-05/part-0.parquet`) that DuckDB, polars and Spark read as
//! one table. Every file is written under a `.tmp` name and renamed when complete, so no reader
//! ever sees half a file.

mod partition;
mod schema;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::model::CorpusRecord;

pub use partition::PartitionKey;
pub use schema::{SchemaError, arrow_schema};

/// Rows decoded before they are handed to the Parquet writer.
const BATCH_ROWS: usize = 2048;
/// Rows per row group: large enough for scans, small enough that a group's pages stay a few
/// tens of MB for typical article texts.
const ROW_GROUP_ROWS: usize = 32 * 1024;
/// Partition files open at once; the least recently used is closed beyond this (a later
/// record of that partition starts its next `part-N` file). A corpus read in arrival order
/// visits its `source × month` partitions in no particular order, so this is sized to hold
/// every partition of a typical corpus (hundreds of sources × months) open: one file per
/// partition. Memory is bounded by the two budgets below, not by this count.
const MAX_OPEN_FILES: usize = 1024;
/// Rows waiting in the JSON decoders of all open files together; past it every decoder hands
/// its rows to its writer. Keeps decoder memory bounded however many partitions are open.
const BUFFERED_ROWS_BUDGET: usize = 8 * 1024;
/// Bytes buffered in unfinished row groups over all open files before the largest is flushed.
const IN_PROGRESS_BUDGET: usize = 96 << 20;

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

/// One Parquet file being written.
struct OpenFile {
    path: PathBuf,
    decoder: arrow_json::reader::Decoder,
    writer: ArrowWriter<File>,
    last_used: u64,
}

/// A Parquet export in progress: push records, then [`ParquetExport::finish`].
pub struct ParquetExport {
    schema: SchemaRef,
    decode_schema: SchemaRef,
    out: PathBuf,
    partition: Vec<PartitionKey>,
    open: HashMap<PathBuf, OpenFile>,
    next_part: HashMap<PathBuf, usize>,
    clock: u64,
    buffered: usize,
    summary: ExportSummary,
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
        if !partition.is_empty() {
            partition::prepare_dir(out)?;
        }
        Ok(Self {
            schema,
            decode_schema: Arc::new(Schema::new(decode_fields)),
            out: out.to_owned(),
            partition: partition.to_vec(),
            open: HashMap::new(),
            next_part: HashMap::new(),
            clock: 0,
            buffered: 0,
            summary: ExportSummary::default(),
        })
    }

    /// Adds one record.
    ///
    /// # Errors
    /// `Io`/`Encode` when a file cannot be written.
    pub fn push(&mut self, record: &CorpusRecord) -> Result<(), ParquetError> {
        let key = if self.partition.is_empty() {
            PathBuf::new()
        } else {
            partition::dir_of(record, &self.partition)
        };
        if !self.open.contains_key(&key) {
            self.open_file(key.clone())?;
        }
        self.clock += 1;
        let Some(file) = self.open.get_mut(&key) else {
            return Ok(());
        };
        file.last_used = self.clock;
        file.decoder
            .serialize(std::slice::from_ref(record))
            .map_err(|e| encode(&file.path, &e))?;
        self.summary.rows += 1;
        self.buffered += 1;
        if file.decoder.len() >= BATCH_ROWS {
            self.buffered -= file.decoder.len();
            write_batch(file, &self.schema)?;
            self.keep_budget()?;
        } else if self.buffered >= BUFFERED_ROWS_BUDGET {
            self.write_all_batches()?;
            self.keep_budget()?;
        }
        Ok(())
    }

    /// Hands every decoder's rows to its writer.
    fn write_all_batches(&mut self) -> Result<(), ParquetError> {
        for file in self.open.values_mut() {
            if file.decoder.len() > 0 {
                write_batch(file, &self.schema)?;
            }
        }
        self.buffered = 0;
        Ok(())
    }

    /// Writes what is buffered, closes every file and renames it into place.
    ///
    /// # Errors
    /// `Io`/`Encode` when a file cannot be completed.
    pub fn finish(mut self) -> Result<ExportSummary, ParquetError> {
        if self.partition.is_empty() && self.open.is_empty() {
            // An empty export still writes a readable file with the schema.
            self.open_file(PathBuf::new())?;
        }
        let mut keys: Vec<PathBuf> = self.open.keys().cloned().collect();
        keys.sort();
        for key in keys {
            self.close_file(&key)?;
        }
        Ok(self.summary)
    }

    fn open_file(&mut self, key: PathBuf) -> Result<(), ParquetError> {
        if self.open.len() >= MAX_OPEN_FILES {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, f)| f.last_used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.close_file(&k)?;
            }
        }
        let path = if self.partition.is_empty() {
            self.out.clone()
        } else {
            let n = self.next_part.entry(key.clone()).or_insert(0);
            let dir = self.out.join(&key);
            std::fs::create_dir_all(&dir).map_err(|source| ParquetError::Io {
                path: dir.clone(),
                source,
            })?;
            let p = dir.join(format!("part-{n}.parquet"));
            *n += 1;
            p
        };
        let tmp = tmp_path(&path);
        let f = File::create(&tmp).map_err(|source| ParquetError::Io {
            path: tmp.clone(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_size(ROW_GROUP_ROWS)
            .build();
        let writer = ArrowWriter::try_new(f, self.schema.clone(), Some(props))
            .map_err(|e| encode(&path, &e))?;
        let decoder = arrow_json::ReaderBuilder::new(self.decode_schema.clone())
            .with_batch_size(BATCH_ROWS)
            .build_decoder()
            .map_err(|e| encode(&path, &e))?;
        self.open.insert(
            key,
            OpenFile {
                path,
                decoder,
                writer,
                last_used: self.clock,
            },
        );
        Ok(())
    }

    fn close_file(&mut self, key: &Path) -> Result<(), ParquetError> {
        let Some(mut file) = self.open.remove(key) else {
            return Ok(());
        };
        self.buffered -= file.decoder.len();
        write_batch(&mut file, &self.schema)?;
        let OpenFile { path, writer, .. } = file;
        writer.close().map_err(|e| encode(&path, &e))?;
        let tmp = tmp_path(&path);
        std::fs::rename(&tmp, &path).map_err(|source| ParquetError::Io {
            path: path.clone(),
            source,
        })?;
        self.summary.files.push(path);
        Ok(())
    }

    /// Flushes the largest unfinished row group while the open files buffer too much.
    fn keep_budget(&mut self) -> Result<(), ParquetError> {
        let total: usize = self
            .open
            .values()
            .map(|f| f.writer.in_progress_size())
            .sum();
        if total <= IN_PROGRESS_BUDGET {
            return Ok(());
        }
        if let Some(file) = self
            .open
            .values_mut()
            .max_by_key(|f| f.writer.in_progress_size())
        {
            file.writer.flush().map_err(|e| encode(&file.path, &e))?;
        }
        Ok(())
    }
}

/// Hands the decoded rows to the writer, cast to the final (dictionary) types.
fn write_batch(file: &mut OpenFile, schema: &SchemaRef) -> Result<(), ParquetError> {
    let Some(batch) = file.decoder.flush().map_err(|e| encode(&file.path, &e))? else {
        return Ok(());
    };
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(col, field)| arrow_cast::cast(col, field.data_type()))
        .collect::<Result<_, _>>()
        .map_err(|e| encode(&file.path, &e))?;
    let batch =
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| encode(&file.path, &e))?;
    file.writer
        .write(&batch)
        .map_err(|e| encode(&file.path, &e))
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

fn encode(path: &Path, e: &dyn std::fmt::Display) -> ParquetError {
    ParquetError::Encode {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
