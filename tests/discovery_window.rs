//! The discovery window: a process killed after a feed answered but before the listing was
//! admitted loses nothing, even when the feed has rotated those items out by the next
//! discovery. The kill lands exactly there through the test-only failpoint
//! `NEWSMILL_TEST_PAUSE_BEFORE_ADMIT` (the ingester writes the marker file and waits; the test
//! sends SIGKILL). Both paths: `newsmill run` on SQLite, and `newsmill worker` on PostgreSQL,
//! where another worker takes the source over.
// See: issue 12 (the discovery window).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::agency::{Agency, stories};
use crate::postgres::Schema;
use crate::util::{code_err, kill_at_failpoint, newsmill_async};

/// The test-only failpoint (`src/pipeline/failpoint.rs`).
const PAUSE: &str = "NEWSMILL_TEST_PAUSE_BEFORE_ADMIT";

/// Starts `newsmill ARGS` in `dir`, waits until it paused between the feed's answer and the
/// admission of its listing, and SIGKILLs it there.
fn kill_before_admit(dir: &Path, args: &[&str], env: &[(&str, &str)]) {
    kill_at_failpoint(dir, args, env, PAUSE);
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

/// Whether the feed's last request was answered 304.
fn feed_answered_304_last(agency: &Agency) -> bool {
    let hits = agency.server.hits();
    let last = hits.iter().rev().find(|h| h.path == "/feed.xml").unwrap();
    last.headers.iter().any(|(k, _)| k == "if-none-match")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue12_run_killed_between_feed_answer_and_admission_loses_nothing() {
    let agency = Agency::start(3).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = agency.config(d, "per_host_interval = \"0s\"");
    let c = cfg.to_str().unwrap().to_owned();
    // A first run stores the feed's validators ("v0") with items 0-2.
    let (code, err) = code_err(&newsmill_async(d, &["run", "-c", &c]).await);
    assert_eq!(code, 0, "{err}");
    // The feed moves on (items 3-5); the run that gets it is killed before admitting them.
    agency.rotate(3);
    let (d2, c2) = (d.to_owned(), c.clone());
    tokio::task::spawn_blocking(move || kill_before_admit(&d2, &["run", "-c", &c2], &[]))
        .await
        .unwrap();
    // By the next run the feed has rotated them out again (items 6-8).
    agency.rotate(3);
    let (code, err) = code_err(&newsmill_async(d, &["run", "-c", &c]).await);
    assert_eq!(code, 0, "{err}");
    let listed: Vec<usize> = agency.listed().into_iter().collect();
    assert_eq!(listed, (0..9).collect::<Vec<_>>());
    assert_eq!(sorted(stories(d)), listed, "{err}");
    // The validators advanced with the admitted listing: the next run is answered 304.
    let (code, err) = code_err(&newsmill_async(d, &["run", "-c", &c]).await);
    assert_eq!(code, 0, "{err}");
    assert!(
        feed_answered_304_last(&agency),
        "feed not asked conditionally"
    );
    assert_eq!(sorted(stories(d)), listed, "{err}");
}

/// A disk that refuses the feed's answer at the moment it is stored (full, read-only; the
/// test-only failpoint `NEWSMILL_TEST_FAIL_DOCUMENT_STORE`, since a test run as root ignores
/// permissions): the listing is admitted, but the validators stay where they were, so the
/// next run fetches the feed in full (200, not 304) and every item is in the corpus once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue12_discovery_document_that_cannot_be_stored_advances_no_validators() {
    let agency = Agency::start(3).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = agency.config(d, "per_host_interval = \"0s\"");
    let c = cfg.to_str().unwrap().to_owned();
    // A first run stores the feed's validators ("v0") with items 0-2.
    let (code, err) = code_err(&newsmill_async(d, &["run", "-c", &c]).await);
    assert_eq!(code, 0, "{err}");
    // The feed moves on (items 3-5, "v3"); the run that gets it cannot store the answer.
    agency.rotate(3);
    let failing = {
        let (d, c) = (d.to_owned(), c.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_newsmill"))
                .args(["run", "-c", &c])
                .env("NEWSMILL_TEST_FAIL_DOCUMENT_STORE", "1")
                .current_dir(&d)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    let (_, err) = code_err(&failing);
    assert!(
        err.contains("the disk is full"),
        "failpoint not reached: {err}"
    );
    // The next run is not answered 304 to the validators of an answer nothing holds.
    let (code, err) = code_err(&newsmill_async(d, &["run", "-c", &c]).await);
    assert_eq!(code, 0, "{err}");
    let hits = agency.server.hits();
    let last = hits.iter().rev().find(|h| h.path == "/feed.xml").unwrap();
    let asked: Vec<&str> = last
        .headers
        .iter()
        .filter(|(k, _)| k == "if-none-match")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(asked, ["\"v0\""], "validators after a failed store");
    let listed: Vec<usize> = agency.listed().into_iter().collect();
    assert_eq!(listed, (0..6).collect::<Vec<_>>());
    assert_eq!(sorted(stories(d)), listed, "{err}");
    // Stored this time: the validators advance, and the next run is answered 304.
    let (code, err) = code_err(&newsmill_async(d, &["run", "-c", &c]).await);
    assert_eq!(code, 0, "{err}");
    assert!(feed_answered_304_last(&agency), "feed not asked with v3");
    assert_eq!(sorted(stories(d)), listed, "{err}");
}

const WORKER_TEST: &str =
    "discovery_window::issue12_worker_killed_between_feed_answer_and_admission_loses_nothing";

/// A worker config for `agency` under `dir` (local raw/ and normalized/).
fn worker_config(agency: &Agency, dir: &Path) -> PathBuf {
    let cfg = agency.config(dir, "per_host_interval = \"0s\"");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(
        "\n[state]\nbackend = \"postgres\"\n\n[worker]\nlease_ttl = \"3s\"\nidle_poll = \"100ms\"\ndiscover_every = \"1s\"\n",
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn worker(dir: &Path, args: &[&str], url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_newsmill"))
        .args(args)
        .env("NEWSMILL_DATABASE_URL", url)
        .current_dir(dir)
        .output()
        .unwrap();
    code_err(&out)
}

/// Article numbers in every worker's corpus folder, one entry per record, sorted.
fn worker_stories(dir: &Path) -> Vec<usize> {
    let workers = dir.join("normalized/workers");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&workers).unwrap().flatten() {
        for r in crate::util::corpus(&entry.path()) {
            let n: Option<usize> = r["url"]
                .as_str()
                .and_then(|u| u.rsplit('/').next()?.parse().ok());
            out.extend(n);
        }
    }
    sorted(out)
}

#[test]
fn issue12_worker_killed_between_feed_answer_and_admission_loses_nothing() {
    let Some(db) = Schema::new(WORKER_TEST) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let agency = rt.block_on(Agency::start(3));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = worker_config(&agency, d);
    let (c, url) = (cfg.to_str().unwrap(), db.conninfo());
    let (code, err) = worker(d, &["migrate", "-c", c], &url);
    assert_eq!(code, 0, "migrate: {err}");
    let (code, err) = worker(d, &["worker", "-c", c, "--once", "--id", "w1"], &url);
    assert!(code <= 1, "w1: {err}");
    agency.rotate(3);
    std::thread::sleep(Duration::from_millis(1100)); // the source's discovery is due again
    let env = [("NEWSMILL_DATABASE_URL", url.as_str())];
    kill_before_admit(d, &["worker", "-c", c, "--once", "--id", "w2"], &env);
    agency.rotate(3);
    // w2's source lease expires; w3 takes the source over.
    std::thread::sleep(Duration::from_secs(4));
    let (code, err) = worker(d, &["worker", "-c", c, "--once", "--id", "w3"], &url);
    assert!(code <= 1, "w3: {err}");
    let listed: Vec<usize> = agency.listed().into_iter().collect();
    assert_eq!(listed, (0..9).collect::<Vec<_>>());
    assert_eq!(worker_stories(d), listed, "w3: {err}");
    let left: i64 = db
        .client()
        .query_one("SELECT count(*) FROM stored_documents", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "a stored document was never admitted");
}
