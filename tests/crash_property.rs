//! Crash consistency as a property: against a simulated agency whose feed sends validators
//! and 304s, whose items rotate out of the feed over time, with some 500s and slow pages,
//! 24 runs are stopped in every way a run stops (SIGKILL at a random moment, `--max-duration`,
//! `--max-per-source`), then one clean run. Every article the feed ever listed must be in the
//! corpus exactly once, and no corpus line may be torn, after every run.
//!
//! The schedule is drawn from fixed seeds, printed with each run, so a failure is reproduced
//! by running the test again. The feed rotates only after runs that ended by themselves: a
//! process killed between receiving the feed and storing its listing cannot know the items
//! (no crawler can), so an item must be listed once to a run that lived.
// See: issue 9, "Crash consistency as a property".

use std::collections::{BTreeMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::agency::{Agency, Rng, stories};
use crate::util::{code_err, corpus, newsmill_async};

/// Seed of the first run; run `r` uses `SEED + r`.
const SEED: u64 = 0x5EED_0009;
/// Runs before the clean one.
const RUNS: u64 = 24;
/// Items in the feed at once, and how many rotate out after a run that lived.
const WINDOW: usize = 15;
const ROTATE: usize = 5;
/// Runs that must really have been killed mid-way for the test to mean anything.
const MIN_KILLED: usize = 5;

/// How one run is stopped.
#[derive(Debug)]
enum Stop {
    Kill(Duration),
    MaxDuration(Duration),
    MaxPerSource(u64),
}

fn draw(seed: u64) -> Stop {
    let mut rng = Rng::new(seed);
    match rng.range(0, 3) {
        0 => Stop::Kill(Duration::from_millis(rng.range(100, 1300))),
        1 => Stop::MaxDuration(Duration::from_millis(rng.range(400, 1600))),
        _ => Stop::MaxPerSource(rng.range(1, 6)),
    }
}

/// The corpus is whole: every line parses (checked by `corpus`), no id and no story twice.
fn check_whole(dir: &std::path::Path, after: &str) {
    let records = corpus(&dir.join("normalized"));
    let ids: HashSet<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), records.len(), "a record id twice after {after}");
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for s in stories(dir) {
        *counts.entry(s).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stories twice after {after}: {twice:?}");
}

async fn stopped_run(dir: &std::path::Path, cfg: &std::path::Path, stop: &Stop) -> bool {
    let cfg = cfg.display().to_string();
    match stop {
        Stop::Kill(after) => {
            let mut child = Command::new(env!("CARGO_BIN_EXE_newsmill"))
                .args(["run", "-c", &cfg])
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            tokio::time::sleep(*after).await;
            // SIGKILL; the run may have finished already, which is a run that lived.
            let killed = child.try_wait().unwrap().is_none();
            let _ = child.kill();
            child.wait().unwrap();
            !killed
        }
        Stop::MaxDuration(limit) => {
            let limit = format!("{}ms", limit.as_millis());
            let out = newsmill_async(dir, &["run", "-c", &cfg, "--max-duration", &limit]).await;
            let (code, err) = code_err(&out);
            assert!(code <= 1, "run with --max-duration {limit} failed:\n{err}");
            true
        }
        Stop::MaxPerSource(n) => {
            let n = n.to_string();
            let out = newsmill_async(dir, &["run", "-c", &cfg, "--max-per-source", &n]).await;
            let (code, err) = code_err(&out);
            assert!(code <= 1, "run with --max-per-source {n} failed:\n{err}");
            true
        }
    }
}

/// `newsmill verify` (corpus ↔ manifest ↔ state ↔ raw) finds nothing to report. Until the
/// command exists in this build (another part of issue 9 adds it) the check says so and is
/// skipped; from then on it runs.
async fn verify_reports_nothing(dir: &std::path::Path, cfg: &str) {
    let out = newsmill_async(dir, &["verify", "-c", cfg]).await;
    let (code, err) = code_err(&out);
    if code == 2 && err.contains("unrecognized subcommand") {
        eprintln!("`newsmill verify` is not in this build: its check is skipped");
        return;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code, 0, "verify found problems:\n{stdout}\n{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_consistency_property_every_listed_article_exactly_once() {
    let started = Instant::now();
    let agency = Agency::start(WINDOW).await;
    agency.faults(SEED, 0.12, 5, Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let cfg = agency.config(
        dir.path(),
        "per_host_interval = \"100ms\"\nmax_retries = 0\nmax_attempts = 20",
    );
    let mut killed = 0;
    for r in 0..RUNS {
        let seed = SEED + r;
        let stop = draw(seed);
        let lived = stopped_run(dir.path(), &cfg, &stop).await;
        let have = stories(dir.path()).len();
        eprintln!("run {r:2}: seed {seed:#x}: {stop:?}: lived {lived}, {have} stories");
        check_whole(dir.path(), &format!("run {r} (seed {seed:#x}, {stop:?})"));
        if lived {
            agency.rotate(ROTATE);
        } else {
            killed += 1;
        }
    }
    assert!(
        killed >= MIN_KILLED,
        "only {killed} runs were killed mid-way"
    );
    agency.heal();
    let cfg_s = cfg.display().to_string();
    let out = newsmill_async(dir.path(), &["run", "-c", &cfg_s]).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "the clean run failed:\n{err}");
    check_whole(dir.path(), "the clean run");
    let listed = agency.listed();
    let have: std::collections::BTreeSet<usize> = stories(dir.path()).into_iter().collect();
    let lost: Vec<_> = listed.difference(&have).collect();
    assert!(
        lost.is_empty(),
        "listed but not in the corpus: {lost:?}\n{err}"
    );
    assert!(
        listed.len() > WINDOW * 3,
        "the feed hardly rotated: {listed:?}"
    );
    verify_reports_nothing(dir.path(), &cfg_s).await;
    eprintln!(
        "{} articles listed over {RUNS} stopped runs + 1 clean run, all in the corpus once; {:.1}s",
        listed.len(),
        started.elapsed().as_secs_f64()
    );
}
