//! A flush slower than the lease TTL: while a live worker's flush runs, the URLs it committed
//! as `fetched` (response durable in raw/, record not yet) belong to it. No other worker —
//! neither one started meanwhile nor one already running — and not the worker itself may
//! recover them from raw/: another worker would wait for the text claims, then take them and
//! write every record a second time, and the worker itself would mark its own pages
//! duplicates of their own records. A dead worker's pages are still recovered (the
//! end-to-end test kills one).
// See: issue 12.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sim::Feed;
use super::{Plan, World, binary, exported_urls, newsmill, wait_all};
use crate::postgres::Schema;

/// Starts `newsmill worker --once --id ID` with extra environment variables, logging to
/// `dir/ID.log`.
fn worker_with(dir: &Path, cfg: &Path, url: &str, id: &str, env: &[(&str, &str)]) -> Child {
    let log = std::fs::File::create(dir.join(format!("{id}.log"))).unwrap();
    Command::new(binary())
        .args(["worker", "-c", cfg.to_str().unwrap(), "--once", "--id", id])
        .current_dir(dir)
        .env("NEWSMILL_DATABASE_URL", url)
        .env("RUST_LOG", "newsmill=info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn count(db: &Schema, sql: &str) -> i64 {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn issue12_a_live_workers_slow_flush_is_not_recovered() {
    let Some(db) = Schema::new("workers_issue12_slow_flush") else {
        return;
    };
    let articles = 10;
    let plan = Plan {
        hosts: 1,
        feed: Feed::fixed(articles),
        interval: Duration::from_millis(50),
        ..Plan::default()
    };
    let world = World::start(&db, &plan);
    let (d, cfg, url) = (world.dir(), world.cfg(), world.url());
    // The flush sleeps 9 s: three lease TTLs, longer than a live worker waits for another's
    // pending text claim (two TTLs) before it takes the claim.
    let mut slow = worker_with(
        d,
        cfg,
        url,
        "slow",
        &[("NEWSMILL_TEST_SLOW_CORPUS_FLUSH", "9000")],
    );
    let start = Instant::now();
    let fetched = "SELECT count(*) FROM frontier WHERE state = 'fetched'";
    while count(&db, fetched) < articles as i64 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        assert!(slow.try_wait().unwrap().is_none(), "slow exited early");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Every page is `fetched` and the owner is alive, in its flush: a worker starts now.
    let late = worker_with(d, cfg, url, "late", &[]);
    let codes = wait_all(&mut [slow, late], Duration::from_secs(90));
    let log = |id: &str| std::fs::read_to_string(d.join(format!("{id}.log"))).unwrap();
    let logs = format!("--- slow\n{}\n--- late\n{}", log("slow"), log("late"));
    assert!(
        logs.contains("test failpoint reached: slowing down"),
        "{logs}"
    );
    assert_eq!(codes, vec![0, 0], "{logs}");

    let urls = exported_urls(d, cfg, url);
    let unique: std::collections::HashSet<&String> = urls.iter().collect();
    assert_eq!(urls.len(), unique.len(), "records written twice\n{logs}");
    assert_eq!(urls.len(), articles, "{logs}");
    let doubled = count(
        &db,
        "SELECT count(*) FROM frontier WHERE state = 'ingested' AND duplicate",
    );
    assert_eq!(
        doubled, 0,
        "pages marked duplicates of their own records\n{logs}"
    );
    let (code, out, err) = newsmill(d, url, &["verify", "-c", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}\n{logs}");
}
