//! `newsmill worker` on a PostgreSQL frontier with raw/ and normalized/ on S3 (moto): a worker
//! SIGKILLed mid-run leaves no partial object, another worker takes its host over, and the
//! killed worker's spool is uploaded when it starts again under its id; afterwards `verify`,
//! `stats` and `export` read every article exactly once from the bucket.
//! A takeover across machines: a worker killed after its corpus flush reached the bucket but
//! before it committed the flush finds its records adopted, not written again, by a worker on
//! another machine (another `state_dir`).
//! Needs both `NEWSMILL_TEST_DATABASE_URL` and moto (each skipped as its module says).
// See: issue 12.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{
    Moto, assert_all_objects_whole, assert_all_objects_whole_but_torn_tails, command, files_under,
    newsmill, objects, read_back, s3_config,
};
use crate::agency::Agency;
use crate::postgres::Schema;
use crate::util::{code_err, kill_command_at_failpoint};

const TEST: &str = "s3::workers::issue12_worker_killed_mid_run_on_s3_loses_nothing";

#[test]
fn issue12_worker_killed_mid_run_on_s3_loses_nothing() {
    let Some(db) = Schema::new(TEST) else {
        return;
    };
    let Some(moto) = Moto::start(TEST) else {
        return;
    };
    moto.create_bucket("newsmill-workers");
    // The agency's server runs on its own runtime; this test blocks (the PostgreSQL client
    // must not run inside a runtime).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let agency = rt.block_on(Agency::start(30));
    agency.faults(1, 0.0, 1, Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let extra =
        "[state]\nbackend = \"postgres\"\n\n[worker]\nlease_ttl = \"3s\"\nidle_poll = \"100ms\"\n";
    let cfg = s3_config(d, &moto.endpoint, "newsmill-workers", &agency, extra);
    let url = db.conninfo();
    let remote = moto.remote("newsmill-workers", "crawl");
    let c = cfg.to_str().unwrap();
    let env = [("NEWSMILL_DATABASE_URL", url.as_str())];
    let out = newsmill(d, &["migrate", "-c", c], &env);
    assert_eq!(code_err(&out).0, 0, "migrate: {}", code_err(&out).1);
    let spooled = kill_worker_while_spooled(d, c, &url);
    assert_all_objects_whole(&remote);
    agency.faults(1, 0.0, 0, Duration::ZERO);
    // Another worker takes the dead one's host over once its lease expired.
    std::thread::sleep(Duration::from_secs(4));
    let out = newsmill(d, &["worker", "-c", c, "--once", "--id", "w2"], &env);
    assert!(code_err(&out).0 <= 1, "w2: {}", code_err(&out).1);
    // The dead worker comes back under its id: its spool goes up first.
    let out = newsmill(d, &["worker", "-c", c, "--once", "--id", "w1"], &env);
    assert!(code_err(&out).0 <= 1, "w1 again: {}", code_err(&out).1);
    let spool = d.join("state/s3/spool/workers/w1/raw");
    assert!(files_under(&spool).is_empty(), "w1's spool not emptied");
    let names = objects(&remote);
    for f in &spooled {
        let rel = f.strip_prefix(&spool).unwrap().to_string_lossy();
        let rel = rel.replace('\\', "/");
        assert!(
            names.contains(&format!("raw/{rel}")),
            "{rel} never uploaded"
        );
    }
    let w2 = names
        .iter()
        .any(|n| n.starts_with("normalized/workers/w2/part-"));
    assert!(w2, "w2 wrote no segment: {names:?}");
    assert_all_objects_whole_but_torn_tails(&remote);
    assert_eq!(read_back(d, &cfg, &env), (0..30).collect::<Vec<_>>());
}

/// Starts worker `w1`, waits until its spool holds a WARC file with a page in it, and kills it
/// with SIGKILL; returns the spooled files.
fn kill_worker_while_spooled(dir: &Path, cfg: &str, url: &str) -> Vec<PathBuf> {
    let env = [("NEWSMILL_DATABASE_URL", url)];
    let mut child = command(dir, &["worker", "-c", cfg, "--once", "--id", "w1"], &env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let spool = dir.join("state/s3/spool/workers/w1/raw");
    let deadline = Instant::now() + Duration::from_secs(60);
    let spooled = loop {
        let files: Vec<PathBuf> = files_under(&spool)
            .into_iter()
            .filter(|f| f.metadata().is_ok_and(|m| m.len() > 2048))
            .collect();
        if !files.is_empty() {
            break files;
        }
        assert!(Instant::now() < deadline, "w1 never spooled a page");
        assert!(
            child.try_wait().unwrap().is_none(),
            "w1 ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    spooled
}

const ACROSS: &str =
    "s3::workers::issue12_takeover_on_another_machine_finds_the_dead_workers_records_in_the_bucket";

#[test]
fn issue12_takeover_on_another_machine_finds_the_dead_workers_records_in_the_bucket() {
    let Some(db) = Schema::new(ACROSS) else {
        return;
    };
    let Some(moto) = Moto::start(ACROSS) else {
        return;
    };
    moto.create_bucket("newsmill-across");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let agency = rt.block_on(Agency::start(6));
    // Two machines: each its own state_dir (spool, private corpus folder, cache).
    let (m1, m2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let extra =
        "[state]\nbackend = \"postgres\"\n\n[worker]\nlease_ttl = \"3s\"\nidle_poll = \"100ms\"\n";
    let cfg1 = s3_config(m1.path(), &moto.endpoint, "newsmill-across", &agency, extra);
    let cfg2 = s3_config(m2.path(), &moto.endpoint, "newsmill-across", &agency, extra);
    let url = db.conninfo();
    let env = [("NEWSMILL_DATABASE_URL", url.as_str())];
    let (c1, c2) = (cfg1.to_str().unwrap(), cfg2.to_str().unwrap());
    let out = newsmill(m1.path(), &["migrate", "-c", c1], &env);
    assert_eq!(code_err(&out).0, 0, "migrate: {}", code_err(&out).1);
    // w1 on machine 1: its segment is in the bucket, its flush never committed.
    let args = ["worker", "-c", c1, "--once", "--id", "w1"];
    kill_command_at_failpoint(
        command(m1.path(), &args, &env),
        m1.path(),
        "NEWSMILL_TEST_PAUSE_AFTER_CORPUS_FLUSH",
    );
    let remote = moto.remote("newsmill-across", "crawl");
    let w1 = objects(&remote)
        .into_iter()
        .any(|n| n.starts_with("normalized/workers/w1/part-"));
    assert!(w1, "w1's segment is not in the bucket");
    // w2 on machine 2, once w1's leases expired: it recovers w1's fetched pages from raw/ and
    // meets w1's pending claims.
    std::thread::sleep(Duration::from_secs(4));
    let out = newsmill(
        m2.path(),
        &["worker", "-c", c2, "--once", "--id", "w2"],
        &env,
    );
    assert!(code_err(&out).0 <= 1, "w2: {}", code_err(&out).1);
    assert_eq!(
        read_back(m2.path(), &cfg2, &env),
        (0..6).collect::<Vec<_>>()
    );
}

const UNUPLOADED: &str =
    "s3::workers::issue12_a_segment_never_uploaded_is_reconciled_when_its_worker_restarts";

/// A worker killed after its segment was written locally but before it was uploaded: the
/// others cannot see its records, take their texts over and write them again. When it
/// restarts under its id, the records taken over are dropped from that segment before it goes
/// up, so each is in the corpus once and none is lost.
#[test]
fn issue12_a_segment_never_uploaded_is_reconciled_when_its_worker_restarts() {
    let Some(db) = Schema::new(UNUPLOADED) else {
        return;
    };
    let Some(moto) = Moto::start(UNUPLOADED) else {
        return;
    };
    moto.create_bucket("newsmill-unuploaded");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let agency = rt.block_on(Agency::start(6));
    let (m1, m2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let extra =
        "[state]\nbackend = \"postgres\"\n\n[worker]\nlease_ttl = \"3s\"\nidle_poll = \"100ms\"\n";
    let cfg1 = s3_config(
        m1.path(),
        &moto.endpoint,
        "newsmill-unuploaded",
        &agency,
        extra,
    );
    let cfg2 = s3_config(
        m2.path(),
        &moto.endpoint,
        "newsmill-unuploaded",
        &agency,
        extra,
    );
    let url = db.conninfo();
    let env = [("NEWSMILL_DATABASE_URL", url.as_str())];
    let (c1, c2) = (cfg1.to_str().unwrap(), cfg2.to_str().unwrap());
    let out = newsmill(m1.path(), &["migrate", "-c", c1], &env);
    assert_eq!(code_err(&out).0, 0, "migrate: {}", code_err(&out).1);
    // w1 killed between the local write of its first segment and the upload: the segment
    // (and the manifest naming it) exist only in w1's private folder, marked "not uploaded";
    // the bucket holds the empty manifest w1 uploaded when it opened its folder.
    let args = ["worker", "-c", c1, "--once", "--id", "w1"];
    kill_command_at_failpoint(
        command(m1.path(), &args, &env),
        m1.path(),
        "NEWSMILL_TEST_PAUSE_BEFORE_SEGMENT_UPLOAD",
    );
    let remote = moto.remote("newsmill-unuploaded", "crawl");
    let in_bucket: Vec<String> = objects(&remote)
        .into_iter()
        .filter(|n| n.starts_with("normalized/workers/w1/part-"))
        .collect();
    assert!(
        in_bucket.is_empty(),
        "uploaded before the kill: {in_bucket:?}"
    );
    let private = m1.path().join("state/s3/writer/normalized/workers/w1");
    let marked = files_under(&private)
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.pending"))
        .count();
    assert!(marked > 0, "no segment waits for its upload");
    // w2 on machine 2 finds nothing of w1's in the bucket and takes its texts over.
    std::thread::sleep(Duration::from_secs(4));
    let out = newsmill(
        m2.path(),
        &["worker", "-c", c2, "--once", "--id", "w2"],
        &env,
    );
    assert!(code_err(&out).0 <= 1, "w2: {}", code_err(&out).1);
    // w1 comes back on machine 1 and reconciles its segment before uploading it.
    let out = newsmill(
        m1.path(),
        &["worker", "-c", c1, "--once", "--id", "w1"],
        &env,
    );
    let (code, err) = code_err(&out);
    assert!(code <= 1, "w1 again: {err}");
    assert_eq!(
        read_back(m2.path(), &cfg2, &env),
        (0..6).collect::<Vec<_>>()
    );
}
