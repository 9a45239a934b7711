//! Parquet export (cargo feature `parquet`): one row per corpus record, scalar fields as typed
//! columns, nested ones (authors, attributions, blocks, sightings…) as JSON text columns, so
//! any Parquet reader (pandas, DuckDB, Spark) loads the file without newsmill's types.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use crate::model::CorpusRecord;

/// Why the Parquet file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    /// The file could not be created.
    #[error("cannot create {path}")]
    Create {
        /// Output path.
        path: std::path::PathBuf,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Arrow or Parquet refused the data.
    #[error("cannot write Parquet to {path}: {message}")]
    Write {
        /// Output path.
        path: std::path::PathBuf,
        /// The library's message.
        message: String,
    },
}

fn json<T: serde::Serialize>(v: &T) -> Option<String> {
    serde_json::to_string(v).ok()
}

fn text_col<'a>(
    records: &[&'a CorpusRecord],
    f: impl Fn(&'a CorpusRecord) -> Option<String>,
) -> ArrayRef {
    Arc::new(StringArray::from(
        records.iter().map(|r| f(r)).collect::<Vec<_>>(),
    ))
}

/// Writes `records` to `path` as one Parquet file; returns how many rows.
///
/// # Errors
/// `Create` when the file cannot be created, `Write` when encoding fails.
pub fn write(records: &[&CorpusRecord], path: &Path) -> Result<usize, ParquetError> {
    let text_fields = [
        "id",
        "content_sha256",
        "source_id",
        "url",
        "canonical_url",
        "title",
        "description",
        "text",
        "published_at",
        "published_date",
        "date_precision",
        "date_source",
        "language",
        "fetched_at",
        "cluster_id",
        "near_duplicate_of",
        "authors",
        "attributions",
        "photo_credits",
        "tags",
        "blocks",
        "also_seen_at",
        "raw",
    ];
    let mut fields: Vec<Field> = text_fields
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect();
    fields.push(Field::new("word_count", DataType::UInt64, false));
    fields.push(Field::new("similarity", DataType::Float64, true));
    fields.push(Field::new("containment", DataType::Float64, true));
    let schema = Arc::new(Schema::new(fields));
    let mut columns: Vec<ArrayRef> = vec![
        text_col(records, |r| Some(r.id.clone())),
        text_col(records, |r| Some(r.content_sha256.as_str().to_owned())),
        text_col(records, |r| Some(r.article.source_id.to_string())),
        text_col(records, |r| Some(r.article.url.to_string())),
        text_col(records, |r| Some(r.article.canonical_url.to_string())),
        text_col(records, |r| r.article.title.clone()),
        text_col(records, |r| r.article.description.clone()),
        text_col(records, |r| Some(r.article.text.clone())),
        text_col(records, |r| r.article.published_at.map(|d| d.to_rfc3339())),
        text_col(records, |r| r.article.published_date.map(|d| d.to_string())),
        text_col(records, |r| {
            r.article
                .date_precision
                .and_then(|d| json(&d))
                .map(|s| s.trim_matches('"').to_owned())
        }),
        text_col(records, |r| {
            r.article
                .date_source
                .and_then(|d| json(&d))
                .map(|s| s.trim_matches('"').to_owned())
        }),
        text_col(records, |r| r.article.language.clone()),
        text_col(records, |r| Some(r.fetched_at.to_rfc3339())),
        text_col(records, |r| r.near.cluster_id.clone()),
        text_col(records, |r| r.near.near_duplicate_of.clone()),
        text_col(records, |r| json(&r.article.authors)),
        text_col(records, |r| json(&r.article.attributions)),
        text_col(records, |r| json(&r.article.photo_credits)),
        text_col(records, |r| json(&r.article.tags)),
        text_col(records, |r| json(&r.article.blocks)),
        text_col(records, |r| json(&r.also_seen_at)),
        text_col(records, |r| json(&r.raw)),
    ];
    columns.push(Arc::new(UInt64Array::from(
        records
            .iter()
            .map(|r| r.word_count as u64)
            .collect::<Vec<_>>(),
    )));
    columns.push(Arc::new(Float64Array::from(
        records
            .iter()
            .map(|r| r.near.similarity)
            .collect::<Vec<_>>(),
    )));
    columns.push(Arc::new(Float64Array::from(
        records
            .iter()
            .map(|r| r.near.containment)
            .collect::<Vec<_>>(),
    )));
    let err = |e: &dyn std::fmt::Display| ParquetError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| err(&e))?;
    let file = std::fs::File::create(path).map_err(|source| ParquetError::Create {
        path: path.to_owned(),
        source,
    })?;
    let mut writer = ArrowWriter::try_new(file, schema, None).map_err(|e| err(&e))?;
    writer.write(&batch).map_err(|e| err(&e))?;
    writer.close().map_err(|e| err(&e))?;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use parquet::file::reader::{FileReader, SerializedFileReader};

    #[test]
    fn writes_a_readable_file_with_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        assert_eq!(super::write(&[], &path).unwrap(), 0);
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
        assert_eq!(
            reader
                .metadata()
                .file_metadata()
                .schema_descr()
                .num_columns(),
            24
        );
    }
}
