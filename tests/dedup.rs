//! Near-duplicate detection: precision and recall on the labelled set in `fixtures/dedup/`,
//! order independence of the clusters on the real SQLite index and corpus (including
//! canonical-record changes across flushes and runs, and index rebuilds), and the demo site's
//! republished dairy story.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use newsmill::config::DedupConfig;
use newsmill::corpus::Corpus;
use newsmill::dedup::{self, MemStore, MemTexts, NearDoc, Rank, Thresholds, link, similarity};
use newsmill::model::{
    Article, CorpusRecord, ExtractorInfo, LinkReason, RawLocation, SCHEMA_VERSION, SourceId,
};
use newsmill::pipeline::near::NearLinker;
use newsmill::state::State;
use serde_json::Value;

use crate::util::{code_err, corpus, expected, newsmill_async, snapshot};

/// `(id, kind, label, a, b)` of every labelled pair.
fn pairs() -> Vec<(String, String, bool, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dedup/pairs.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (
                s("id"),
                s("kind"),
                v["label"].as_bool().unwrap(),
                s("a"),
                s("b"),
            )
        })
        .collect()
}

fn rank(id: &str, published_us: i64) -> Rank {
    Rank {
        published_us: Some(published_us),
        republished: false,
        source_id: "s".into(),
        url_len: 20,
        id: id.into(),
    }
}

/// Whether the full path (LSH bands → screen → exact verification) links `b` to `a`.
fn linked(a: &str, b: &str) -> bool {
    let (mut store, mut texts, th) = (
        MemStore::default(),
        MemTexts::default(),
        Thresholds::DEFAULT,
    );
    let da = NearDoc::new(rank("a", 1), a);
    link::add(&mut store, &mut texts, &da, &th).unwrap();
    texts.insert("a", da.shingles.clone());
    let db = NearDoc::new(rank("b", 2), b);
    let plan = link::add(&mut store, &mut texts, &db, &th).unwrap();
    plan.links[0].1.near_duplicate_of.as_deref() == Some("a")
}

#[test]
fn labelled_set_precision_and_recall() {
    let pairs = pairs();
    assert!(pairs.len() >= 60, "labelled set has {} pairs", pairs.len());
    let (mut tp, mut fp, mut fn_, mut tn) = (0u32, 0u32, 0u32, 0u32);
    // Per label: (min J, max J, min C, max C).
    let mut ranges: BTreeMap<bool, [f64; 4]> = BTreeMap::new();
    for (id, kind, label, a, b) in &pairs {
        let got = linked(a, b);
        let s = similarity(
            &dedup::ShingleSet::of_text(a),
            &dedup::ShingleSet::of_text(b),
        );
        let r = ranges.entry(*label).or_insert([1.0, 0.0, 1.0, 0.0]);
        *r = [
            r[0].min(s.jaccard),
            r[1].max(s.jaccard),
            r[2].min(s.containment),
            r[3].max(s.containment),
        ];
        match (label, got) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
        if *label != got {
            println!(
                "miss {id} {kind}: label {label}, linked {got}, J {:.3} C {:.3}",
                s.jaccard, s.containment
            );
        }
    }
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    println!(
        "labelled set: {} pairs, tp {tp} fp {fp} fn {fn_} tn {tn}: precision {precision:.3}, recall {recall:.3}",
        pairs.len()
    );
    for (label, [j0, j1, c0, c1]) in &ranges {
        println!("label {label}: Jaccard {j0:.3}..{j1:.3}, containment {c0:.3}..{c1:.3}");
    }
    assert!(precision >= 0.95, "precision {precision:.3}");
    assert!(recall >= 0.90, "recall {recall:.3}");
}

/// A corpus record for `text` with a publication time and source derived from its id, so
/// that every arrival order sees the same ranks.
fn record(text: &str) -> CorpusRecord {
    let hash = dedup::content_hash(text);
    let id = hash.record_id();
    let n = u64::from_str_radix(id.get(1..9).unwrap(), 16).unwrap();
    let published: DateTime<FixedOffset> =
        DateTime::from_timestamp(1_700_000_000 + (n % 5000) as i64 * 60, 0)
            .unwrap()
            .fixed_offset();
    let source = if n.is_multiple_of(3) {
        "sb_en"
    } else {
        "belta_en"
    };
    let url = url::Url::parse(&format!(
        "https://{source}.example/{}",
        id.get(..12).unwrap()
    ))
    .unwrap();
    CorpusRecord {
        schema_version: SCHEMA_VERSION,
        id,
        content_sha256: hash,
        article: Article {
            url: url.clone(),
            canonical_url: url,
            source_id: SourceId::new(source).unwrap(),
            title: None,
            description: None,
            text: text.to_owned(),
            blocks: Vec::new(),
            published_at: Some(published),
            published_date: Some(published.date_naive()),
            published_local: Some(published.naive_local()),
            date_precision: Some(newsmill::model::DatePrecision::Instant),
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
            file: "x".into(),
            offset: 0,
            length: 0,
        },
        word_count: 0,
        also_seen_at: Vec::new(),
        near: Default::default(),
    }
}

/// Every distinct text of the labelled set as a record, in file order.
fn records() -> Vec<CorpusRecord> {
    let mut seen = std::collections::HashSet::new();
    pairs()
        .into_iter()
        .flat_map(|(_, _, _, a, b)| [a, b])
        .map(|t| record(&t))
        .filter(|r| seen.insert(r.id.clone()))
        .collect()
}

/// Links per id as written in the corpus at `dir`.
type Links = BTreeMap<
    String,
    (
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<f64>,
        Option<LinkReason>,
    ),
>;

fn links_in(dir: &Path) -> Links {
    let c = Corpus::open(dir).unwrap();
    c.records()
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.id,
                (
                    r.near.cluster_id,
                    r.near.near_duplicate_of,
                    r.near.similarity,
                    r.near.containment,
                    r.near.link_reason,
                ),
            )
        })
        .collect()
}

/// Ingests `recs` in this order the way `Ingest` does: flush every 5 records, and close and
/// reopen everything halfway (a second run, with a cold shingle cache).
fn ingest(dir: &Path, recs: &[CorpusRecord]) -> Links {
    let open = || {
        let state = Arc::new(State::open(&dir.join("state")).unwrap());
        let mut corpus = Corpus::open(&dir.join("normalized")).unwrap();
        let linker = NearLinker::open(state, &mut corpus, &DedupConfig::default()).unwrap();
        (corpus, linker)
    };
    let (mut corpus, mut linker) = open();
    for (i, rec) in recs.iter().enumerate() {
        if i == recs.len() / 2 {
            corpus.flush().unwrap();
            linker.commit().unwrap();
            drop(linker);
            (corpus, linker) = open();
        }
        let mut r = rec.clone();
        linker.attach(&mut r, &mut corpus).unwrap();
        corpus.append(r);
        if i % 5 == 4 {
            corpus.flush().unwrap();
            linker.commit().unwrap();
        }
    }
    corpus.flush().unwrap();
    linker.commit().unwrap();
    links_in(&dir.join("normalized"))
}

fn shuffled(recs: &[CorpusRecord], seed: u64) -> Vec<CorpusRecord> {
    let mut out = recs.to_vec();
    let mut x = seed;
    for i in (1..out.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.swap(i, (x % (i as u64 + 1)) as usize);
    }
    out
}

#[test]
fn clusters_do_not_depend_on_arrival_order() {
    let recs = records();
    let base = tempfile::tempdir().unwrap();
    let reference = ingest(&base.path().join("file-order"), &recs);
    let linked = reference.values().filter(|l| l.1.is_some()).count();
    assert!(linked >= 30, "only {linked} records linked");
    let mut reversed = recs.clone();
    reversed.reverse();
    let orders = [
        ("reversed", reversed),
        ("s1", shuffled(&recs, 1)),
        ("s2", shuffled(&recs, 0x5eed)),
    ];
    for (name, order) in orders {
        let got = ingest(&base.path().join(name), &order);
        for (id, want) in &reference {
            assert_eq!(
                got.get(id),
                Some(want),
                "order {name}: links of {id} differ"
            );
        }
    }
    // Each cluster's canonical record is its own cluster id, and members point at it.
    for (id, (cluster, of, _, _, reason)) in &reference {
        let cluster = cluster.as_ref().unwrap();
        assert_eq!(of.is_none(), cluster == id, "{id}");
        assert_eq!(of.is_none(), reason.is_none(), "{id}");
        assert_eq!(reference[cluster].0.as_ref(), Some(cluster));
    }
}

#[test]
fn lost_index_or_legacy_corpus_is_rebuilt_to_the_same_links() {
    let recs = records();
    let dir = tempfile::tempdir().unwrap();
    let want = ingest(dir.path(), &recs);
    let normalized = dir.path().join("normalized");
    // The state database is lost: the rebuild finds the written links already right.
    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    let before = snapshot(&normalized);
    let state = Arc::new(State::open(&dir.path().join("state")).unwrap());
    let mut corpus = Corpus::open(&normalized).unwrap();
    NearLinker::open(state.clone(), &mut corpus, &DedupConfig::default()).unwrap();
    corpus.flush().unwrap();
    assert_eq!(
        snapshot(&normalized),
        before,
        "rebuild rewrote correct links"
    );
    let mut db = newsmill::state::NearDb::open(state.dir()).unwrap();
    assert_eq!(db.size().unwrap().records, recs.len() as u64);
    // A corpus written before near-duplicate detection: links are filled in on open.
    let legacy = tempfile::tempdir().unwrap();
    let mut corpus = Corpus::open(legacy.path()).unwrap();
    for r in &recs {
        corpus.append(r.clone());
    }
    corpus.flush().unwrap();
    let state = Arc::new(State::open(&legacy.path().join("state")).unwrap());
    let mut corpus = Corpus::open(legacy.path()).unwrap();
    NearLinker::open(state, &mut corpus, &DedupConfig::default()).unwrap();
    corpus.flush().unwrap();
    assert_eq!(links_in(legacy.path()), want);
}

fn find<'a>(records: &'a [Value], path: &str) -> &'a Value {
    records
        .iter()
        .find(|r| {
            r["canonical_url"]
                .as_str()
                .is_some_and(|u| u.ends_with(path))
        })
        .unwrap_or_else(|| panic!("no record for {path}"))
}

/// The demo's "near" pair is linked to its original; every other record stands alone.
fn check_demo_links(records: &[Value]) {
    let oracle = expected();
    let mut linked = 0;
    for exp in oracle.values().filter(|e| e["duplicate_kind"] == "near") {
        let copy = find(records, exp["url_path"].as_str().unwrap());
        let original = &oracle[exp["duplicate_of"].as_str().unwrap()];
        let orig = find(records, original["url_path"].as_str().unwrap());
        assert_eq!(
            copy["near_duplicate_of"], orig["id"],
            "republished copy not linked"
        );
        assert_eq!(copy["cluster_id"], orig["id"]);
        assert!(orig["near_duplicate_of"].is_null());
        assert!(
            copy["similarity"].as_f64().unwrap() >= 0.9,
            "{}",
            copy["similarity"]
        );
        assert_eq!(copy["containment"].as_f64(), Some(1.0));
        linked += 1;
    }
    assert_eq!(linked, 1, "the demo has one near-duplicate pair");
    let others = records.iter().filter(|r| r["near_duplicate_of"].is_null());
    assert_eq!(others.clone().count(), records.len() - linked);
    for r in others {
        assert_eq!(
            r["cluster_id"], r["id"],
            "{} is not alone in its cluster",
            r["canonical_url"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_republished_story_is_linked_live_and_after_reprocess() {
    let env = crate::util::demo_env().await;
    let (stop, dir, cfg) = (&env.stop, &env.dir, env.cfg());
    let out = newsmill_async(dir.path(), &["run", "-c", cfg, "--since", "1990-01-01"]).await;
    assert_eq!(code_err(&out).0, 0, "run: {}", code_err(&out).1);
    let normalized = dir.path().join("normalized");
    check_demo_links(&corpus(&normalized));
    for _ in 0..2 {
        let out = newsmill_async(dir.path(), &["reprocess", "-c", cfg]).await;
        assert_eq!(code_err(&out).0, 0, "reprocess: {}", code_err(&out).1);
        check_demo_links(&corpus(&normalized));
    }
    // The index matches the reprocessed corpus, so a later run trusts it and changes nothing.
    let before = snapshot(&normalized);
    let out = newsmill_async(dir.path(), &["run", "-c", cfg, "--since", "1990-01-01"]).await;
    assert_eq!(code_err(&out).0, 0);
    assert_eq!(snapshot(&normalized), before);
    stop.cancel();
}

/// Cluster, `contains` and `contained_in` of a record.
type Related = (Option<String>, Vec<String>, Vec<String>);

/// [`Related`] per id as written in the corpus at `dir`.
fn relations_in(dir: &Path) -> BTreeMap<String, Related> {
    let c = Corpus::open(dir).unwrap();
    c.records()
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.id,
                (r.near.cluster_id, r.near.contains, r.near.contained_in),
            )
        })
        .collect()
}

/// Issue 14: a digest of two stories is related to both (`contains` / `contained_in` in the
/// written records) and merges neither, whatever the order, including the order where the
/// digest first joins one story's cluster and is split off when the second story arrives
/// after both were flushed (a durable record's links rewritten).
#[test]
fn a_digest_relates_to_both_stories_in_the_corpus_in_any_order() {
    let words = |p: &str, n: usize| {
        (0..n)
            .map(|i| format!("{p}{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (a, b) = (words("alpha", 90), words("beta", 80));
    let recs = vec![
        record(&a),
        record(&format!("{a} {b} {}", words("gamma", 20))),
        record(&words("alpha", 40)),
        record(&b),
    ];
    let (ia, id, ie, ib) = (&recs[0].id, &recs[1].id, &recs[2].id, &recs[3].id);
    let base = tempfile::tempdir().unwrap();
    let mut reversed = recs.clone();
    reversed.reverse();
    for (name, order) in [("a-d-e-b", recs.clone()), ("b-e-d-a", reversed)] {
        let dir = base.path().join(name);
        ingest(&dir, &order);
        let got = relations_in(&dir.join("normalized"));
        assert_eq!(got[id].1, {
            let mut v = vec![ia.clone(), ib.clone(), ie.clone()];
            v.sort();
            v
        });
        assert_eq!(got[id].0.as_ref(), Some(id), "{name}: the digest is alone");
        for s in [ia, ib, ie] {
            assert_eq!(
                got[s].2,
                std::slice::from_ref(id),
                "{name}: {s} is in the digest"
            );
        }
        assert_ne!(got[ia].0, got[ib].0, "{name}: the two stories stay apart");
        assert_eq!(got[ie].0, got[ia].0, "{name}: the excerpt joins its story");
    }
}
