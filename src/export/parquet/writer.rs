//! One Parquet file being written: records (or their JSON lines) are decoded into Arrow
//! arrays by the schema, cast to the final (dictionary) types and handed to the Parquet writer
//! in batches. The file is written under a `.tmp` name and renamed when complete, so no reader
//! ever sees half a file.

use std::fs::File;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{ParquetError, encode};
use crate::model::CorpusRecord;

/// Rows decoded before they are handed to the Parquet writer.
const BATCH_ROWS: usize = 2048;
/// Rows per row group: large enough for scans, small enough that a group's pages stay a few
/// tens of MB for typical article texts.
const ROW_GROUP_ROWS: usize = 32 * 1024;

/// A Parquet file in progress.
pub struct FileWriter {
    path: PathBuf,
    schema: SchemaRef,
    decoder: arrow_json::reader::Decoder,
    writer: ArrowWriter<File>,
}

impl FileWriter {
    /// Creates `path.tmp`; `decode_schema` is `schema` with the types arrow-json decodes into.
    ///
    /// # Errors
    /// `Io` when the file cannot be created, `Encode` when the schema is refused.
    pub fn create(
        path: &Path,
        schema: &SchemaRef,
        decode_schema: &SchemaRef,
    ) -> Result<Self, ParquetError> {
        let tmp = tmp_path(path);
        let f = File::create(&tmp).map_err(|source| ParquetError::Io {
            path: tmp.clone(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_size(ROW_GROUP_ROWS)
            .build();
        let writer =
            ArrowWriter::try_new(f, schema.clone(), Some(props)).map_err(|e| encode(path, &e))?;
        let decoder = arrow_json::ReaderBuilder::new(decode_schema.clone())
            .with_batch_size(BATCH_ROWS)
            .build_decoder()
            .map_err(|e| encode(path, &e))?;
        Ok(Self {
            path: path.to_owned(),
            schema: schema.clone(),
            decoder,
            writer,
        })
    }

    /// Adds one record.
    ///
    /// # Errors
    /// `Encode` when the record does not fit the schema or cannot be written.
    pub fn push(&mut self, record: &CorpusRecord) -> Result<(), ParquetError> {
        self.decoder
            .serialize(std::slice::from_ref(record))
            .map_err(|e| encode(&self.path, &e))?;
        if self.decoder.len() >= BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(())
    }

    /// Adds every record of a stream of JSON lines (records as serialized by serde), reading it
    /// a buffer at a time.
    ///
    /// # Errors
    /// `Io` naming `from` when it cannot be read, `Encode` when a line does not fit.
    pub fn push_json(&mut self, mut lines: impl BufRead, from: &Path) -> Result<(), ParquetError> {
        let io = |source| ParquetError::Io {
            path: from.to_owned(),
            source,
        };
        loop {
            let buf = lines.fill_buf().map_err(io)?;
            if buf.is_empty() {
                return Ok(());
            }
            let used = self
                .decoder
                .decode(buf)
                .map_err(|e| encode(&self.path, &e))?;
            lines.consume(used);
            // The decoder stops early when its batch is full.
            if used == 0 || self.decoder.len() >= BATCH_ROWS {
                self.write_batch()?;
            }
        }
    }

    /// Writes what is buffered, closes the file and renames it into place.
    ///
    /// # Errors
    /// `Io`/`Encode` when the file cannot be completed.
    pub fn finish(mut self) -> Result<PathBuf, ParquetError> {
        self.write_batch()?;
        let Self { path, writer, .. } = self;
        writer.close().map_err(|e| encode(&path, &e))?;
        std::fs::rename(tmp_path(&path), &path).map_err(|source| ParquetError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Hands the decoded rows to the writer, cast to the final (dictionary) types.
    fn write_batch(&mut self) -> Result<(), ParquetError> {
        let path = &self.path;
        let Some(batch) = self.decoder.flush().map_err(|e| encode(path, &e))? else {
            return Ok(());
        };
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .zip(self.schema.fields())
            .map(|(col, field)| arrow_cast::cast(col, field.data_type()))
            .collect::<Result<_, _>>()
            .map_err(|e| encode(path, &e))?;
        let batch =
            RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| encode(path, &e))?;
        self.writer.write(&batch).map_err(|e| encode(path, &e))
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}
