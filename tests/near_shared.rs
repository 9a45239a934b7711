//! The shared near-duplicate index (PostgreSQL, `state::pg::PgNearIndex`) against the
//! in-memory one on the labelled real-world set (`fixtures/dedup/realworld/`): every plan
//! (links, similarities, merges) equal record by record, and the same clusters in reverse
//! order and when two connections (two workers) add alternately. The server comes from
//! `NEWSMILL_TEST_DATABASE_URL` (skipped without it, failing under `CI=true`).
// See: issue 12.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use newsmill::dedup::link::ShingleSource;
use newsmill::dedup::{MemStore, MemTexts, NearDoc, Rank, ShingleSet, Thresholds, link};
use newsmill::state::pg::{PgError, PgNearIndex, PgState};
use serde_json::Value;

use crate::postgres::Schema;

const TEXTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/dedup/realworld/texts.jsonl"
);
const DAY_US: f64 = 86_400e6;

/// id → (text, publication day).
fn world() -> BTreeMap<String, (String, f64)> {
    std::fs::read_to_string(TEXTS)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (s("id"), (s("text"), v["day"].as_f64().unwrap()))
        })
        .collect()
}

fn doc(w: &BTreeMap<String, (String, f64)>, id: &str) -> NearDoc {
    let (text, day) = &w[id];
    let rank = Rank {
        published_us: Some((day * DAY_US) as i64),
        republished: false,
        source_id: "s".into(),
        url_len: 20,
        id: id.into(),
    };
    NearDoc::new(rank, text)
}

/// Texts from memory with the shared index's error type.
#[derive(Default)]
struct Texts(HashMap<String, Arc<ShingleSet>>);

impl ShingleSource for Texts {
    type Error = PgError;

    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, PgError> {
        Ok(self.0.get(id).cloned())
    }
}

fn open(db: &Schema, worker: &str) -> PgNearIndex {
    let config: postgres::Config = db.conninfo().parse().unwrap();
    PgState::migrate_with(config.clone()).unwrap();
    PgNearIndex::new(Arc::new(PgState::open_with(config).unwrap()), worker)
}

/// Adds `d` to `index` in one locked transaction, as a worker does.
fn add(index: &mut PgNearIndex, texts: &mut Texts, d: &NearDoc, text: &str) -> link::Plan {
    index.begin(text).unwrap();
    let plan = link::add(index, texts, d, &Thresholds::DEFAULT).unwrap();
    index.commit().unwrap();
    texts.0.insert(d.info.id().to_owned(), d.shingles.clone());
    plan
}

#[test]
fn issue12_shared_index_plans_equal_in_memory_plans() {
    let Some(db) = Schema::new("near_shared_plans") else {
        return;
    };
    let w = world();
    let mut shared = open(&db, "w1");
    let (mut mem, mut mem_texts, mut texts) =
        (MemStore::default(), MemTexts::default(), Texts::default());
    for (i, id) in w.keys().enumerate() {
        let d = doc(&w, id);
        let on_pg = add(&mut shared, &mut texts, &d, &w[id].0);
        let in_mem = link::add(&mut mem, &mut mem_texts, &d, &Thresholds::DEFAULT).unwrap();
        mem_texts.insert(id, d.shingles.clone());
        assert_eq!(on_pg, in_mem, "record {i} ({id})");
    }
    let state = shared.db().clone();
    let clusters = state.near_clusters().unwrap();
    assert_eq!(clusters.len(), w.len());
    let linked = clusters.iter().filter(|(id, head)| id != head).count();
    assert!(linked > 100, "the set has many near duplicates: {linked}");
    for (id, head) in &clusters {
        assert_eq!(mem.cluster_of(id), Some(head.as_str()), "{id}");
    }
}

/// Two workers (two connections) add the records alternately, in reverse order: the
/// clusters are those of one in-memory index fed in the forward order.
#[test]
fn issue12_two_workers_alternating_in_reverse_give_the_same_clusters() {
    let Some(db) = Schema::new("near_shared_two_workers") else {
        return;
    };
    let w = world();
    let mut workers = [open(&db, "w1"), open(&db, "w2")];
    // Each worker's texts: its own records only, the others' come from the index.
    let mut texts = [Texts::default(), Texts::default()];
    for (i, id) in w.keys().rev().enumerate() {
        let d = doc(&w, id);
        let k = i % 2;
        let (index, own) = (&mut workers[k], &mut texts[k]);
        index.begin(&w[id].0).unwrap();
        let mut from_db = TextsOrDb {
            own,
            db: index.db().clone(),
        };
        link::add(index, &mut from_db, &d, &Thresholds::DEFAULT).unwrap();
        index.commit().unwrap();
        own.0.insert(id.clone(), d.shingles.clone());
    }
    let (mut mem, mut mem_texts) = (MemStore::default(), MemTexts::default());
    for id in w.keys() {
        let d = doc(&w, id);
        link::add(&mut mem, &mut mem_texts, &d, &Thresholds::DEFAULT).unwrap();
        mem_texts.insert(id, d.shingles.clone());
    }
    let clusters = workers[0].db().near_clusters().unwrap();
    assert_eq!(clusters.len(), w.len());
    for (id, head) in &clusters {
        assert_eq!(mem.cluster_of(id), Some(head.as_str()), "{id}");
    }
    let size = workers[1].db().near_size().unwrap();
    assert_eq!(size.records as usize, w.len());
    assert!(size.postings >= 60 * size.records, "{size:?}");
}

/// A worker's own texts, then the index's (another worker's records).
struct TextsOrDb<'a> {
    own: &'a mut Texts,
    db: Arc<PgState>,
}

impl ShingleSource for TextsOrDb<'_> {
    type Error = PgError;

    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, PgError> {
        if let Some(s) = self.own.0.get(id) {
            return Ok(Some(s.clone()));
        }
        Ok(self
            .db
            .near_text(id)?
            .map(|t| Arc::new(ShingleSet::of_text(&t))))
    }
}

/// The shared index's cost: `BENCH_NEAR_ARTICLES` articles (default 2 000: the labelled
/// set's texts, then copies of them with one sentence added, so many link) added by one
/// worker, then by four (threads, one connection each, alternating records) into a fresh
/// schema; prints articles/s, the share of time spent waiting for the index lock, and the
/// rows and bytes per 1,000 articles. Ignored by default: see the README, "Scaling out".
#[test]
#[ignore = "benchmark: run explicitly"]
fn bench_shared_index() {
    let n: usize = std::env::var("BENCH_NEAR_ARTICLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let w = world();
    let base: Vec<(&String, &(String, f64))> = w.iter().collect();
    let items: Vec<(String, String, f64)> = (0..n)
        .map(|i| {
            let (id, (text, day)) = base[i % base.len()];
            match i / base.len() {
                0 => (id.clone(), text.clone(), *day),
                k => (
                    format!("{id}-{k}"),
                    format!("{text} Republished by outlet number {k} today."),
                    day + 0.1,
                ),
            }
        })
        .collect();
    for workers in [1usize, 4] {
        let Some(db) = Schema::new(&format!("near_bench_{workers}")) else {
            return;
        };
        let items = Arc::new(items.clone());
        let start = std::time::Instant::now();
        let handles: Vec<_> = (0..workers)
            .map(|k| {
                let mut index = open(&db, &format!("w{k}"));
                let items = items.clone();
                std::thread::spawn(move || {
                    let mut own = Texts::default();
                    let mut waited = std::time::Duration::ZERO;
                    for (id, text, day) in items.iter().skip(k).step_by(workers) {
                        let rank = Rank {
                            published_us: Some((day * DAY_US) as i64),
                            republished: false,
                            source_id: "s".into(),
                            url_len: 20,
                            id: id.clone(),
                        };
                        let d = NearDoc::new(rank, text);
                        let t = std::time::Instant::now();
                        index.begin(text).unwrap();
                        waited += t.elapsed();
                        let mut texts = TextsOrDb {
                            own: &mut own,
                            db: index.db().clone(),
                        };
                        link::add(&mut index, &mut texts, &d, &Thresholds::DEFAULT).unwrap();
                        index.commit().unwrap();
                        own.0.insert(id.clone(), d.shingles.clone());
                    }
                    waited
                })
            })
            .collect();
        let waited: Vec<f64> = handles
            .into_iter()
            .map(|h| h.join().unwrap().as_secs_f64())
            .collect();
        let wall = start.elapsed().as_secs_f64();
        let state = open(&db, "m").db().clone();
        let size = state.near_size().unwrap();
        let linked = state
            .near_clusters()
            .unwrap()
            .iter()
            .filter(|(a, b)| a != b)
            .count();
        println!(
            "bench_shared_index: {workers} worker(s), {n} articles in {wall:.2} s = {:.0} articles/s; \
             waiting for the index lock {:.0}% of each worker's time; {linked} records linked",
            n as f64 / wall,
            waited.iter().sum::<f64>() / (wall * workers as f64) * 100.0
        );
        println!(
            "  per 1,000 articles: {:.0} near_record rows, {:.0} near_band rows, {:.2} MiB (tables, indexes, TOAST)",
            size.records as f64 / n as f64 * 1000.0,
            size.postings as f64 / n as f64 * 1000.0,
            size.bytes as f64 / n as f64 * 1000.0 / 1_048_576.0
        );
    }
}
