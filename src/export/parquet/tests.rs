use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

use super::*;

fn record(id: &str, source: &str, published: Option<&str>, fetched: &str) -> CorpusRecord {
    serde_json::from_value(json!({
        "schema_version": 1, "id": id, "content_sha256": format!("{id:0<64}"),
        "url": format!("https://{source}.example/{id}"),
        "canonical_url": format!("https://{source}.example/{id}"),
        "source_id": source, "title": "T", "description": null, "text": "Body text.",
        "blocks": [{"kind": "heading", "text": "H"}, {"kind": "paragraph", "text": "Body text."}],
        "published_at": published, "date_source": published.map(|_| "meta"),
        "modified_at": null, "language": "en", "authors": ["A. Writer"],
        "attributions": [{"name": "BelTA", "source_id": "belta_en", "kind": "based_on", "evidence": "Based on materials of BelTA"},
                         {"name": "Some Channel", "source_id": null, "kind": "cited", "evidence": "said Some Channel"}],
        "photo_credits": [], "image": null,
        "images": [{"url": "https://x.example/a.jpg", "caption": "c", "credit": null}],
        "tags": [], "extractor": {"name": "generic", "version": "0"}, "warnings": [],
        "fetched_at": fetched, "raw": {"file": "2025/05/05/x.warc.gz", "offset": 10, "length": 20},
        "word_count": 2,
        "also_seen_at": [{"url": "https://y.example/1", "source_id": "sb_en", "fetched_at": fetched}],
        "cluster_id": id, "near_duplicate_of": null, "similarity": null, "containment": null
    }))
    .unwrap()
}

fn read_back(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    reader.map(Result::unwrap).collect()
}

#[test]
fn every_json_schema_property_is_a_typed_column() {
    let schema = arrow_schema().unwrap();
    let json: Value = serde_json::from_str(&crate::model::corpus_record_schema()).unwrap();
    let props = json["properties"].as_object().unwrap();
    assert_eq!(schema.fields().len(), props.len());
    for name in props.keys() {
        assert!(schema.field_with_name(name).is_ok(), "no column {name}");
    }
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    assert_eq!(
        schema.field_with_name("published_at").unwrap().data_type(),
        &utc
    );
    assert_eq!(
        schema.field_with_name("fetched_at").unwrap().data_type(),
        &utc
    );
    assert!(matches!(
        schema.field_with_name("source_id").unwrap().data_type(),
        DataType::Dictionary(..)
    ));
    let DataType::List(item) = schema.field_with_name("attributions").unwrap().data_type() else {
        panic!("attributions is not a list")
    };
    let DataType::Struct(fields) = item.data_type() else {
        panic!("attribution is not a struct")
    };
    let kind = fields.iter().find(|f| f.name() == "kind").unwrap();
    assert!(matches!(kind.data_type(), DataType::Dictionary(..)));
    assert!(matches!(
        schema.field_with_name("raw").unwrap().data_type(),
        DataType::Struct(_)
    ));
    assert!(matches!(
        schema.field_with_name("word_count").unwrap().data_type(),
        DataType::UInt64
    ));
}

#[test]
fn single_file_keeps_instants_and_nested_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.parquet");
    let mut ex = ParquetExport::create(&path, &[]).unwrap();
    ex.push(&record(
        "a1",
        "belta_en",
        Some("2025-05-05T10:31:24+03:00"),
        "2025-05-05T08:00:00Z",
    ))
    .unwrap();
    ex.push(&record("a2", "sb_en", None, "2025-06-01T00:00:00Z"))
        .unwrap();
    let summary = ex.finish().unwrap();
    assert_eq!((summary.rows, summary.files.len()), (2, 1));
    let batches = read_back(&path);
    let batch = &batches[0];
    assert_eq!(batch.num_rows(), 2);
    let published = batch
        .column_by_name("published_at")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    // 10:31:24 at +03:00 is 07:31:24 UTC.
    assert_eq!(published.value(0), 1_746_430_284_000_000);
    assert!(published.is_null(1));
    let attributions = batch
        .column_by_name("attributions")
        .unwrap()
        .as_list::<i32>();
    assert_eq!(attributions.value(0).len(), 2);
    assert!(
        !dir.path().read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
}

#[test]
fn empty_export_is_a_readable_file_with_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.parquet");
    ParquetExport::create(&path, &[]).unwrap().finish().unwrap();
    let file = File::open(&path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(
        builder.schema().fields().len(),
        arrow_schema().unwrap().fields().len()
    );
}

#[test]
fn partitions_by_source_and_publisher_month() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let keys = [PartitionKey::Source, PartitionKey::Month];
    let mut ex = ParquetExport::create(&out, &keys).unwrap();
    // 23:30 at +03:00 on 31 May is still May at the publisher (20:30 UTC).
    ex.push(&record(
        "a1",
        "belta_en",
        Some("2025-05-31T23:30:00+03:00"),
        "2025-06-01T00:00:00Z",
    ))
    .unwrap();
    ex.push(&record(
        "a2",
        "belta_en",
        Some("2025-06-02T10:00:00+03:00"),
        "2025-06-02T08:00:00Z",
    ))
    .unwrap();
    ex.push(&record("a3", "sb_en", None, "2025-07-04T00:00:00Z"))
        .unwrap();
    let summary = ex.finish().unwrap();
    assert_eq!(summary.rows, 3);
    for p in [
        "source_id=belta_en/month=2025-05",
        "source_id=belta_en/month=2025-06",
        "source_id=sb_en/month=2025-07",
    ] {
        let file = out.join(p).join("part-0.parquet");
        assert_eq!(read_back(&file)[0].num_rows(), 1, "{p}");
    }
    assert!(matches!(
        ParquetExport::create(&out, &keys),
        Err(ParquetError::NotEmpty { .. })
    ));
}

#[test]
fn partitions_revisited_after_their_spool_closed_still_get_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut ex = ParquetExport::create(&out, &[PartitionKey::Month]).unwrap();
    // More months than spool files kept open, visited twice: the second visit reopens the
    // spool for appending, and each month still ends as one file with both rows.
    let months = 200;
    for round in 0..2 {
        for m in 0..months {
            let when = format!("{}-{:02}-10T12:00:00Z", 2000 + m / 12, m % 12 + 1);
            ex.push(&record(
                &format!("r{round}m{m}"),
                "belta_en",
                Some(&when),
                &when,
            ))
            .unwrap();
        }
    }
    let summary = ex.finish().unwrap();
    assert_eq!(summary.rows, 2 * months);
    assert_eq!(summary.files.len(), months);
    for f in &summary.files {
        assert!(f.ends_with("part-0.parquet"), "{}", f.display());
        let rows: usize = read_back(f).iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 2, "{}", f.display());
    }
    assert!(!out.join(".spool").exists(), "the spool is removed");
}

#[test]
fn a_failed_partitioned_export_leaves_no_spool() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut ex = ParquetExport::create(&out, &[PartitionKey::Source]).unwrap();
    ex.push(&record("a", "belta_en", None, "2025-05-05T10:00:00Z"))
        .unwrap();
    assert!(out.join(".spool").is_dir());
    drop(ex);
    assert!(!out.join(".spool").exists());
}

#[test]
fn partitions_visited_in_random_order_get_one_file_each() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let keys = [PartitionKey::Source, PartitionKey::Month];
    let mut ex = ParquetExport::create(&out, &keys).unwrap();
    // 40 sources × 6 months, 25 records each, in a shuffled (fixed-seed) arrival order: the
    // order a corpus read in arrival order has.
    let mut order: Vec<usize> = (0..40 * 6 * 25).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..order.len()).rev() {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        order.swap(i, (seed >> 33) as usize % (i + 1));
    }
    for n in order {
        let (source, month) = ((n / 25) % 40, (n / 25) / 40 + 1);
        let when = format!("2025-{month:02}-10T12:00:00Z");
        ex.push(&record(
            &format!("r{n}"),
            &format!("s{source}"),
            Some(&when),
            &when,
        ))
        .unwrap();
    }
    let summary = ex.finish().unwrap();
    assert_eq!(summary.rows, 40 * 6 * 25);
    assert_eq!(summary.files.len(), 40 * 6, "one file per partition");
    for f in &summary.files {
        assert!(f.ends_with("part-0.parquet"), "{}", f.display());
        let rows: usize = read_back(f).iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 25, "{}", f.display());
    }
}

#[test]
fn spooled_partition_holds_the_same_values_as_a_direct_file() {
    let dir = tempfile::tempdir().unwrap();
    let records = [
        record(
            "a1",
            "belta_en",
            Some("2025-05-31T23:30:00+03:00"),
            "2025-06-01T00:00:00Z",
        ),
        record("a2", "belta_en", None, "2025-05-04T00:00:00.123456Z"),
    ];
    let single = dir.path().join("one.parquet");
    let mut ex = ParquetExport::create(&single, &[]).unwrap();
    let parts = dir.path().join("parts");
    let mut px = ParquetExport::create(&parts, &[PartitionKey::Source]).unwrap();
    for r in &records {
        ex.push(r).unwrap();
        px.push(r).unwrap();
    }
    ex.finish().unwrap();
    let files = px.finish().unwrap().files;
    assert_eq!(files.len(), 1);
    assert_eq!(read_back(&single), read_back(&files[0]));
}
