//! Corpus unit tests: segment names are never reused and the manifest never lists a name twice
//! (issue 9 item 6), and damage between the manifest and the folder is named on open.

use std::fs;

use chrono::Utc;

use super::*;
use crate::model::{Article, ExtractorInfo, RawLocation, SourceId};

/// A record for `text` at `https://example.org/<slug>`.
pub(crate) fn record(text: &str, slug: &str) -> CorpusRecord {
    let hash = crate::dedup::content_hash(text);
    let url = url::Url::parse(&format!("https://example.org/{slug}")).unwrap();
    CorpusRecord {
        schema_version: SCHEMA_VERSION,
        id: hash.record_id(),
        content_sha256: hash,
        article: Article {
            url: url.clone(),
            canonical_url: url,
            source_id: SourceId::new("src").unwrap(),
            title: None,
            description: None,
            text: text.to_owned(),
            blocks: Vec::new(),
            published_at: None,
            published_date: None,
            published_local: None,
            date_precision: None,
            date_source: None,
            modified_at: None,
            language: None,
            authors: Vec::new(),
            attributions: Vec::new(),
            photo_credits: Vec::new(),
            image: None,
            images: Vec::new(),
            tags: Vec::new(),
            extractor: ExtractorInfo {
                name: "test".into(),
                version: "0".into(),
            },
            warnings: Vec::new(),
        },
        fetched_at: Utc::now(),
        raw: RawLocation {
            file: "x.warc.gz".into(),
            offset: 0,
            length: 1,
        },
        word_count: 1,
        also_seen_at: Vec::new(),
        near: NearLink::default(),
    }
}

fn add(corpus: &mut Corpus, n: usize) {
    // Unique texts per flush, whatever segments went missing.
    let base = (corpus.manifest().last_segment as usize + 1) * 100;
    for i in 0..n {
        let k = base + i;
        assert!(corpus.append(record(&format!("text number {k}"), &format!("a{k}"))));
    }
    corpus.flush().unwrap();
}

fn listed(dir: &Path) -> Vec<String> {
    let m: Manifest = serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    m.segments.into_iter().map(|s| s.file).collect()
}

// See: issue 9 item 6 ("the next segment's name is number of segments + 1").
#[test]
fn issue9_missing_segment_never_makes_a_name_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Corpus::open(dir.path()).unwrap();
    add(&mut c, 2);
    add(&mut c, 2);
    add(&mut c, 2);
    drop(c);
    let before = fs::read(dir.path().join("part-000003.jsonl")).unwrap();
    fs::remove_file(dir.path().join("part-000001.jsonl")).unwrap();
    let mut c = Corpus::open(dir.path()).unwrap();
    assert!(matches!(
        c.damage(),
        [CorpusDamage::MissingSegment { file, records: 2 }] if file == "part-000001.jsonl"
    ));
    add(&mut c, 1);
    drop(c);
    // Segment 3 is untouched; the new records went to segment 4.
    assert_eq!(
        fs::read(dir.path().join("part-000003.jsonl")).unwrap(),
        before
    );
    assert_eq!(
        listed(dir.path()),
        [
            "part-000002.jsonl",
            "part-000003.jsonl",
            "part-000004.jsonl"
        ]
    );
    let c = Corpus::open(dir.path()).unwrap();
    assert!(c.damage().is_empty(), "{:?}", c.damage());
    assert_eq!(c.manifest().records, 5);
}

#[test]
fn issue9_deleted_last_segment_is_not_reused_either() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Corpus::open(dir.path()).unwrap();
    add(&mut c, 1);
    add(&mut c, 1);
    drop(c);
    fs::remove_file(dir.path().join("part-000002.jsonl")).unwrap();
    // Opened twice: the first open rewrites the manifest without segment 2, and still the
    // number is remembered.
    drop(Corpus::open(dir.path()).unwrap());
    let mut c = Corpus::open(dir.path()).unwrap();
    assert!(c.damage().is_empty());
    add(&mut c, 1);
    assert_eq!(
        listed(dir.path()),
        ["part-000001.jsonl", "part-000003.jsonl"]
    );
    assert_eq!(c.manifest().last_segment, 3);
}

#[test]
fn corrupt_manifest_is_named_and_rebuilt_from_the_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Corpus::open(dir.path()).unwrap();
    add(&mut c, 3);
    add(&mut c, 2);
    drop(c);
    fs::write(dir.path().join(MANIFEST), b"{\"schema_version\": 1, \"segm").unwrap();
    let ro = Corpus::open_read_only(dir.path()).unwrap();
    assert!(matches!(ro.damage(), [CorpusDamage::BadManifest { .. }]));
    // Read-only: nothing rewritten.
    assert!(
        fs::read_to_string(dir.path().join(MANIFEST))
            .unwrap()
            .ends_with("segm")
    );
    let c = Corpus::open(dir.path()).unwrap();
    assert!(matches!(c.damage(), [CorpusDamage::BadManifest { .. }]));
    assert_eq!(c.records().unwrap().len(), 5);
    let again = Corpus::open(dir.path()).unwrap();
    assert!(again.damage().is_empty());
    assert_eq!(
        listed(dir.path()),
        ["part-000001.jsonl", "part-000002.jsonl"]
    );
}

#[test]
fn inspect_names_bad_lines_duplicate_ids_and_changed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Corpus::open(dir.path()).unwrap();
    add(&mut c, 2);
    add(&mut c, 2);
    drop(c);
    let clean = inspect(dir.path()).unwrap();
    assert!(clean.damage.is_empty(), "{:?}", clean.damage);
    assert_eq!((clean.records.len(), clean.segments), (4, 2));
    // Segment 2 gets a copy of segment 1's first line and a torn line.
    let seg1 = fs::read_to_string(dir.path().join("part-000001.jsonl")).unwrap();
    let first = seg1.lines().next().unwrap();
    let p2 = dir.path().join("part-000002.jsonl");
    let mut seg2 = fs::read_to_string(&p2).unwrap();
    seg2.push_str(first);
    seg2.push('\n');
    seg2.push_str(first.get(..40).unwrap());
    seg2.push('\n');
    fs::write(&p2, seg2).unwrap();
    let bad = inspect(dir.path()).unwrap();
    let text: Vec<String> = bad.damage.iter().map(ToString::to_string).collect();
    assert!(
        matches!(&bad.damage[0], CorpusDamage::ChangedSegment { file, records: 2, found_records: 4, .. } if file == "part-000002.jsonl"),
        "{text:?}"
    );
    assert!(
        matches!(&bad.damage[1], CorpusDamage::DuplicateId { file, again, .. } if file == "part-000001.jsonl" && again == "part-000002.jsonl"),
        "{text:?}"
    );
    assert!(
        matches!(&bad.damage[2], CorpusDamage::BadLine { file, line: 4, .. } if file == "part-000002.jsonl"),
        "{text:?}"
    );
    assert_eq!(bad.damage.len(), 3, "{text:?}");
    assert_eq!(bad.records.len(), 4);
}

#[test]
fn relocate_raw_moves_pending_and_durable_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Corpus::open(dir.path()).unwrap();
    let a = record("first text", "a");
    let b = record("second text", "b");
    let (ida, idb) = (a.id.clone(), b.id.clone());
    c.append(a);
    c.flush().unwrap();
    c.append(b);
    let to = |n: u64| RawLocation {
        file: "new.warc.gz".into(),
        offset: n,
        length: 7,
    };
    assert!(c.relocate_raw(&ida, to(1)));
    assert!(c.relocate_raw(&idb, to(2)));
    assert!(!c.relocate_raw("a-nope", to(3)));
    c.flush().unwrap();
    drop(c);
    let c = Corpus::open(dir.path()).unwrap();
    assert!(c.damage().is_empty());
    assert_eq!(c.record(&ida).unwrap().unwrap().raw, to(1));
    assert_eq!(c.record(&idb).unwrap().unwrap().raw, to(2));
}
