//! `newsmill compact` from outside: after real runs (an agency that answers `304 Not
//! Modified` to conditional requests), compacting the near-duplicate index keeps what the
//! next run needs (no rebuild, `verify` clean); with no room for the copy (a small tmpfs) it
//! fails naming the copy, the index is left byte for byte, and the next run goes on; killed
//! before its copy replaces the index, it leaves the index as it was.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::hostile::Hostile;
use crate::storage::{
    agency, config, feed_urls, first_run, nm, run, small_tmpfs, urls, verify_json,
};

const REBUILT: &str = "near-duplicate index rebuilt";

fn index(dir: &Path) -> std::path::PathBuf {
    dir.join("state").join("near.sqlite")
}

/// A run that finds nothing new (the feed answers 304), with the index opened as it was;
/// `verify` is clean after it. Returns the run's output.
async fn run_without_rebuild(dir: &Path, cfg: &str) -> String {
    let (code, out) = run(dir, cfg).await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(REBUILT), "the index was rebuilt:\n{out}");
    let (code, v) = verify_json(dir, cfg).await;
    assert_eq!(code, 0, "{v:#}");
    out
}

/// The agency, a folder and its config, after a first clean run.
async fn after_a_first_run() -> (Hostile, tempfile::TempDir, String) {
    let server = agency(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server, None);
    first_run(dir.path(), &cfg, &server).await;
    (server, dir, cfg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_index_serves_the_next_run() {
    let (server, dir, cfg) = after_a_first_run().await;
    let (code, out) = nm(dir.path(), &["compact", "-c", &cfg]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("compacted") && out.contains("near.sqlite"),
        "{out}"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("near"))
        .collect();
    assert_eq!(names, ["near.sqlite"], "no copy or WAL left");
    run_without_rebuild(dir.path(), &cfg).await;
    assert_eq!(urls(&dir.path().join("normalized")), feed_urls(&server));
}

// `compact` killed (SIGKILL) with its copy written, just before the copy replaces the index:
// the index is the same byte for byte, and the next run opens it without a rebuild and removes
// the copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_before_the_rename_leaves_the_index_as_it_was() {
    let (_server, dir, cfg) = after_a_first_run().await;
    let before = std::fs::read(index(dir.path())).unwrap();
    let marker = dir.path().join("paused");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_newsmill"))
        .args(["compact", "-c", &cfg])
        .current_dir(dir.path())
        .env(
            newsmill::pipeline::failpoint::PAUSE_BEFORE_COMPACT_RENAME,
            &marker,
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(std::time::Instant::now() < deadline, "compact never paused");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let copy = dir.path().join("state").join("near.sqlite.compact");
    assert!(copy.is_file(), "the copy was written before the kill");
    assert_eq!(
        std::fs::read(index(dir.path())).unwrap(),
        before,
        "the index is unchanged"
    );
    let out = run_without_rebuild(dir.path(), &cfg).await;
    assert!(out.contains("interrupted `newsmill compact`"), "{out}");
    assert!(!copy.exists(), "the run removed the stale copy");
}

// The state folder is a small tmpfs, filled until less than the index's size is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_room_for_the_copy_leaves_the_index_as_it_was() {
    let test = "compact::no_room_for_the_copy_leaves_the_index_as_it_was";
    let server = agency(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let Some(guard) = small_tmpfs(&state, "16m", test) else {
        return;
    };
    let cfg = config(dir.path(), &server, None);
    first_run(dir.path(), &cfg, &server).await;
    let before = std::fs::read(index(dir.path())).unwrap();
    let filler = state.join("filler");
    fill(&filler);
    // Free half the index's size: room to open it, not for its copy.
    let len = std::fs::metadata(&filler).unwrap().len();
    let free = before.len() as u64 / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len.saturating_sub(free))
        .unwrap();
    let (code, out) = nm(dir.path(), &["compact", "-c", &cfg]).await;
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("near.sqlite.compact") && out.contains("free space"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(index(dir.path())).unwrap(),
        before,
        "the index is unchanged"
    );
    assert!(
        !state.join("near.sqlite.compact").exists(),
        "the partial copy is removed"
    );
    std::fs::remove_file(&filler).unwrap();
    run_without_rebuild(dir.path(), &cfg).await;
    let (code, out) = nm(dir.path(), &["compact", "-c", &cfg]).await;
    assert_eq!(code, 0, "{out}");
    run_without_rebuild(dir.path(), &cfg).await;
    drop(guard);
}

/// Writes `path` until the disk is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    drop(f.sync_all());
}
