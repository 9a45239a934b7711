//! The frontier end to end, against the simulated agency (validators, 304s): what a run was
//! asked to stop before fetching, what a crash left, and what a failed corpus flush left, is
//! fetched or recovered by the next plain run, whatever the feed answers.
// See: issue 9, items 1–3.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::agency::{Agency, stories};
use crate::hostile::{Hostile, Reply};
use crate::util::{code_err, newsmill_async};

fn run_args(cfg: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["run".to_owned(), "-c".into(), cfg.display().to_string()];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

async fn run(dir: &std::path::Path, cfg: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let args = run_args(cfg, extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    code_err(&newsmill_async(dir, &refs).await)
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

/// Whether the feed's last request was answered 304 (it sent the right validators).
fn feed_sent_validators_last(agency: &Agency) -> bool {
    let hits = agency.server.hits();
    let last = hits.iter().rev().find(|h| h.path == "/feed.xml").unwrap();
    last.headers.iter().any(|(k, _)| k == "if-none-match")
}

// Item 1: `--max-per-source 2` took 2 of 13; the next plain run gets 304 and fetches the 11.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue9_item1_max_per_source_then_304_fetches_the_rest() {
    let agency = Agency::start(13).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = agency.config(dir.path(), "per_host_interval = \"0s\"");
    let (code, err) = run(dir.path(), &cfg, &["--max-per-source", "2"]).await;
    assert!(code <= 1, "{err}");
    assert_eq!(stories(dir.path()).len(), 2, "{err}");
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        feed_sent_validators_last(&agency),
        "the feed was not asked conditionally"
    );
    assert_eq!(
        sorted(stories(dir.path())),
        (0..13).collect::<Vec<_>>(),
        "{err}"
    );
    assert!(
        err.contains("backlog=11"),
        "summary does not show the owed URLs:\n{err}"
    );
    // Nothing was requested twice.
    assert_eq!(agency.article_hits().len(), 13);
}

// Item 1: `--max-duration` stopped a slow run; the next plain run (304) fetches the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue9_item1_max_duration_then_304_fetches_the_rest() {
    let agency = Agency::start(13).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = agency.config(dir.path(), "per_host_interval = \"250ms\"");
    let (code, err) = run(dir.path(), &cfg, &["--max-duration", "1s"]).await;
    assert_eq!(code, 1, "an interrupted run exits 1:\n{err}");
    let first = stories(dir.path()).len();
    assert!(first < 13, "the run was not cut short ({first} stories)");
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(feed_sent_validators_last(&agency));
    assert_eq!(
        sorted(stories(dir.path())),
        (0..13).collect::<Vec<_>>(),
        "{err}"
    );
}

// Item 1: a 40-item feed, four runs killed with SIGKILL, then a clean run: all 40, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue9_item1_sigkilled_runs_then_clean_run_ingest_all_40() {
    let agency = Agency::start(40).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = agency.config(dir.path(), "per_host_interval = \"40ms\"");
    for kill_ms in [900u64, 700, 1100, 800] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_newsmill"))
            .args(run_args(&cfg, &[]))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(kill_ms)).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let before = stories(dir.path()).len();
    assert!(before < 40, "the kills came too late to test anything");
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        sorted(stories(dir.path())),
        (0..40).collect::<Vec<_>>(),
        "{err}"
    );
}

/// Makes `dir` unwritable, also for root (whom permission bits do not stop): `chattr +i`.
fn freeze(dir: &std::path::Path, on: bool) {
    let flag = if on { "+i" } else { "-i" };
    let ok = Command::new("chattr")
        .arg(flag)
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "cannot make {} immutable (chattr {flag}): this test needs e2fsprogs and an ext4-like folder",
        dir.display()
    );
}

// Item 2: the corpus flush failed (folder not writable); the next run recovers every article
// from raw/ without a request, although the feed answers 304.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue9_item2_failed_flush_is_recovered_from_raw_without_refetch() {
    let agency = Agency::start(6).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = agency.config(dir.path(), "per_host_interval = \"0s\"");
    let normalized = dir.path().join("normalized");
    std::fs::create_dir_all(&normalized).unwrap();
    freeze(&normalized, true);
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    freeze(&normalized, false);
    assert_eq!(code, 1, "a failed flush is a failure:\n{err}");
    assert!(err.contains("corpus"), "{err}");
    assert!(stories(dir.path()).is_empty());
    let fetched = agency.article_hits().len();
    assert_eq!(fetched, 6);
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(feed_sent_validators_last(&agency));
    assert_eq!(agency.article_hits().len(), fetched, "recovery refetched");
    assert_eq!(
        sorted(stories(dir.path())),
        (0..6).collect::<Vec<_>>(),
        "{err}"
    );
    assert!(err.contains("recovered=6"), "{err}");
}

// Item 3: `run --refetch` sends no validators, so every URL is fetched again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue9_item3_refetch_sends_no_validators() {
    let agency = Agency::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = agency.config(dir.path(), "per_host_interval = \"0s\"");
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    assert_eq!(code, 0, "{err}");
    let before = agency.server.hits().len();
    let (code, err) = run(dir.path(), &cfg, &["--refetch"]).await;
    assert_eq!(code, 0, "{err}");
    let hits = agency.server.hits();
    let second = &hits[before..];
    for h in second {
        assert!(
            !h.headers
                .iter()
                .any(|(k, _)| k == "if-none-match" || k == "if-modified-since"),
            "{} was asked conditionally: {:?}",
            h.path,
            h.headers
        );
    }
    let articles = second
        .iter()
        .filter(|h| h.path.starts_with("/news/"))
        .count();
    assert_eq!(articles, 5, "every article is fetched again");
    assert_eq!(sorted(stories(dir.path())), (0..5).collect::<Vec<_>>());
}

// A URL that keeps failing is retried by later runs up to `fetch.max_attempts`, then counted as
// exhausted in the summary and the run report, listed by `status`, and no longer requested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_urls_are_counted_listed_and_left_alone() {
    let server = Hostile::start(|hit, _| match hit.path.as_str() {
        "/robots.txt" => Reply::status(404),
        "/feed.xml" => Reply::full(
            200,
            &[
                ("Content-Type", "application/rss+xml"),
                ("ETag", "\"same\""),
            ],
            b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>\
              <item><title>ok</title><link>/news/1</link></item>\
              <item><title>bad</title><link>/news/bad</link></item></channel></rss>",
        ),
        "/news/1" => Reply::ok("text/html", &crate::agency::article_html(1)),
        _ => Reply::status(503),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let cfg = dir.path().join("x.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{d}/normalized\"\n\
             state_dir = \"{d}/state\"\n[fetch]\nallow_private_networks = true\n\
             per_host_interval = \"0s\"\nmax_retries = 0\nretry_backoff = \"0s\"\nmax_attempts = 2\n\
             [[sources]]\nid = \"x\"\nname = \"X\"\nfeeds = [\"{}\"]\n",
            server.url("/feed.xml")
        ),
    )
    .unwrap();
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        !err.contains("exhausted="),
        "exhausted after one attempt:\n{err}"
    );
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("exhausted=1"), "summary:\n{err}");
    assert_eq!(server.count("/news/bad"), 2);
    let reports = dir.path().join("state/runs");
    let last = std::fs::read_dir(&reports)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .max()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(last).unwrap()).unwrap();
    assert_eq!(report["sources"]["x"]["exhausted"], 1, "{report}");
    let cfg_s = cfg.display().to_string();
    let out = newsmill_async(dir.path(), &["status", "-c", &cfg_s]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("/news/bad") && text.contains("status_503 after 2 attempts"),
        "status:\n{text}"
    );
    let out = newsmill_async(dir.path(), &["status", "-c", &cfg_s, "--json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["exhausted"][0]["attempts"], 2, "{rows}");
    // A third run leaves it alone (the one good article is ingested and known).
    let (code, err) = run(dir.path(), &cfg, &[]).await;
    assert_eq!(server.count("/news/bad"), 2, "{err}");
    assert_eq!(code, 0, "nothing failed in this run:\n{err}");
}
