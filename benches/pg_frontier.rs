//! Frontier claim/commit throughput on PostgreSQL, and the database's size per 1,000 articles.
//!
//! Needs a server: `NEWSMILL_TEST_DATABASE_URL` (or the first argument) names it; the bench
//! works in a schema of its own (`bench_<pid>`) and drops it at the end.
//!
//! 1. **admit**: `URLS` article URLs over `HOSTS` hosts, in listings of 100 (one discovery
//!    document each).
//! 2. **claim + commit**, with 1 and then 4 workers (threads, one connection each), on fresh
//!    URLs each time: a worker claims a host lease (`SKIP LOCKED`), reads the host's due URLs,
//!    commits `fetched` and then `ingested` for them in batches of 50 (the sink's flush size),
//!    and gives the host back, until no host has work.
//! 3. **size**: rows and bytes (`pg_total_relation_size`, tables + indexes) per 1,000 ingested
//!    articles.
//!
//! `cargo bench --bench pg_frontier` (figures in the README, "Scaling out").

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use newsmill::frontier::{
    Change, FrontierStore, Listing, RecordId, RetryPolicy, Transition, Validators,
};
use newsmill::model::{FeedItem, RawLocation, SourceId};
use newsmill::state::pg::PgState;

const HOSTS: usize = 40;
const URLS: usize = 20_000;
const BATCH: usize = 50;
const TTL: Duration = Duration::from_secs(60);

fn config(base: &postgres::Config, schema: &str) -> postgres::Config {
    let mut c = base.clone();
    c.options(&format!("-c search_path={schema}"));
    c
}

fn admit(st: &PgState, round: usize) -> Duration {
    let source = SourceId::new("bench").expect("valid id");
    let urls: Vec<FeedItem> = (0..URLS)
        .map(|i| FeedItem {
            url: url::Url::parse(&format!(
                "http://h{}.bench.example/r{round}/a{i}",
                i % HOSTS
            ))
            .expect("valid url"),
            title: Some(format!("article {i}")),
            published: None,
        })
        .collect();
    let start = Instant::now();
    for (n, chunk) in urls.chunks(100).enumerate() {
        let listing = Listing {
            source: source.clone(),
            document: Some((
                format!("http://feeds.bench.example/r{round}/{n}"),
                Validators::default(),
            )),
            items: chunk.to_vec(),
        };
        st.admit(&listing, Utc::now()).expect("admit");
    }
    start.elapsed()
}

fn changes(entries: &[newsmill::frontier::Entry], ingest: bool) -> Vec<Change> {
    entries
        .iter()
        .map(|e| Change {
            key: e.key.clone(),
            source: e.source.clone(),
            transition: if ingest {
                Transition::Ingested {
                    record: RecordId::new(format!("a{:031x}", e.key.as_str().len())),
                    duplicate: false,
                    validators: Validators::default(),
                }
            } else {
                Transition::Fetched {
                    raw: RawLocation {
                        file: "2026/11/30/bench.warc.gz".into(),
                        offset: 0,
                        length: 1000,
                    },
                }
            },
        })
        .collect()
}

/// One worker: claim, read, commit, release, until no host has work. Returns URLs committed.
fn work(st: &PgState, id: &str) -> usize {
    let policy = RetryPolicy {
        base: Duration::from_secs(600),
        max_attempts: 8,
    };
    let mut done = 0;
    while let Some(lease) = st.claim_host(id, TTL).expect("claim") {
        loop {
            let due = st.due_on_host(&lease.host, BATCH).expect("due");
            if due.is_empty() {
                break;
            }
            st.apply(&changes(&due, false), Utc::now(), &policy)
                .expect("fetched");
            st.apply(&changes(&due, true), Utc::now(), &policy)
                .expect("ingested");
            done += due.len();
        }
        st.release_host(id, &lease.host, Duration::ZERO)
            .expect("release");
    }
    done
}

fn claim_commit(cfg: &postgres::Config, workers: usize) -> (usize, Duration) {
    let start = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let st = PgState::open_with(cfg).expect("open");
                work(&st, &format!("bench-{w}"))
            })
        })
        .collect();
    let done = handles.into_iter().map(|h| h.join().expect("worker")).sum();
    (done, start.elapsed())
}

fn size(client: &mut postgres::Client) -> (i64, i64, i64) {
    let r = client
        .query_one(
            "SELECT (SELECT count(*) FROM frontier WHERE state = 'ingested'),
                    (SELECT count(*) FROM frontier) + (SELECT count(*) FROM hosts)
                        + (SELECT count(*) FROM documents),
                    pg_total_relation_size('frontier') + pg_total_relation_size('hosts')
                        + pg_total_relation_size('documents')",
            &[],
        )
        .expect("size");
    (r.get(0), r.get(1), r.get(2))
}

fn main() {
    let url = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .or_else(|| std::env::var("NEWSMILL_TEST_DATABASE_URL").ok());
    let Some(url) = url else {
        eprintln!("pg_frontier: set NEWSMILL_TEST_DATABASE_URL (or pass a URL); skipped");
        return;
    };
    let base: postgres::Config = url.parse().expect("connection string");
    let schema = format!("bench_{}", std::process::id());
    let mut admin = base.connect(postgres::NoTls).expect("server");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("schema");
    let cfg = config(&base, &schema);
    PgState::migrate_with(cfg.clone()).expect("migrate");
    let st = Arc::new(PgState::open_with(cfg.clone()).expect("open"));
    for (round, workers) in [1usize, 4].into_iter().enumerate() {
        let took = admit(&st, round);
        println!(
            "admit: {URLS} URLs over {HOSTS} hosts in {:.2} s = {:.0} URLs/s",
            took.as_secs_f64(),
            URLS as f64 / took.as_secs_f64()
        );
        let (done, took) = claim_commit(&cfg, workers);
        println!(
            "claim+commit, {workers} worker(s): {done} URLs (fetched + ingested) in {:.2} s = {:.0} URLs/s",
            took.as_secs_f64(),
            done as f64 / took.as_secs_f64()
        );
    }
    let mut client = cfg.connect(postgres::NoTls).expect("server");
    client.batch_execute("VACUUM ANALYZE").expect("vacuum");
    let (articles, rows, bytes) = size(&mut client);
    println!(
        "size: {articles} ingested articles, {:.0} rows and {:.0} KiB per 1,000 articles (frontier + hosts + documents, tables and indexes)",
        rows as f64 * 1000.0 / articles as f64,
        bytes as f64 / 1024.0 * 1000.0 / articles as f64
    );
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("drop schema");
}
