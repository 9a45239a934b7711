//! The shared near-duplicate index's cost (`bench_shared_index`, ignored: run on request, see
//! the README, "Scaling out").

use std::sync::Arc;

use newsmill::dedup::NearDoc;

use super::{Texts, TextsOrDb, add_batch, open, warm};
use crate::postgres::Schema;
use crate::util::realworld;

/// The shared index's cost: `BENCH_NEAR_ARTICLES` articles (default 2 000: the labelled
/// set's texts, then copies of them with one sentence added, so many link) added by one
/// worker, then by four (threads, one connection each, alternating batches) into a fresh
/// schema, one record per transaction (as before batches) and then in batches of 50 with the
/// candidate texts read and shingled before the lock (a worker's flush; `BENCH_NEAR_BATCHES`,
/// default "1,50"); prints articles/s, the share of time spent waiting
/// for the index lock, and the rows and bytes per 1,000 articles. Ignored by default: see the
/// README, "Scaling out".
#[test]
#[ignore = "benchmark: run explicitly"]
fn bench_shared_index() {
    let n: usize = std::env::var("BENCH_NEAR_ARTICLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let batches: Vec<usize> = std::env::var("BENCH_NEAR_BATCHES")
        .unwrap_or_else(|_| "1,50".into())
        .split(',')
        .filter_map(|b| b.trim().parse().ok())
        .collect();
    let w = realworld::texts();
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
    for batch in batches {
        for workers in [1usize, 4] {
            let Some(db) = Schema::new(&format!("near_bench_{workers}_{batch}")) else {
                return;
            };
            bench_one(&db, &items, workers, batch);
        }
    }
}

/// One run of [`bench_shared_index`]: `workers` threads add `items` in batches of `batch`.
fn bench_one(db: &Schema, items: &[(String, String, f64)], workers: usize, batch: usize) {
    let n = items.len();
    let items = Arc::new(items.to_vec());
    let start = std::time::Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|k| {
            let mut index = open(db, &format!("w{k}"));
            let items = items.clone();
            std::thread::spawn(move || {
                let mut own = Texts::default();
                let mut waited = std::time::Duration::ZERO;
                let chunks: Vec<usize> = (0..items.len().div_ceil(batch))
                    .skip(k)
                    .step_by(workers)
                    .collect();
                for c in chunks {
                    let docs: Vec<(NearDoc, &str)> = items
                        [c * batch..((c + 1) * batch).min(items.len())]
                        .iter()
                        .map(|(id, text, day)| (realworld::doc_at(id, text, *day), text.as_str()))
                        .collect();
                    if batch > 1 {
                        warm(&mut index, &mut own, &docs);
                    }
                    let mut texts = TextsOrDb {
                        own: &mut own,
                        db: index.db().clone(),
                    };
                    add_batch(&mut index, &mut texts, &docs);
                    waited += index.lock_wait();
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
    let state = open(db, "m").db().clone();
    let size = state.near_size().unwrap();
    let linked = state
        .near_clusters()
        .unwrap()
        .iter()
        .filter(|(a, b)| a != b)
        .count();
    println!(
        "bench_shared_index: {workers} worker(s), batches of {batch}, {n} articles in {wall:.2} s = {:.0} articles/s; \
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
