//! Storage faults (issue 9): `reprocess` after a deleted or truncated WARC, a missing segment, a
//! corrupt manifest, `newsmill fetch` records, a read-only `normalized/` and a full disk. After
//! each, a plain `run` (and `reprocess` where it applies) ends with nothing lost and the exit
//! code the README documents, and `verify` names the damage before and reports nothing after.
//!
//! The agency here behaves like the real web: its feed and pages send `ETag` and
//! `Last-Modified` and answer `304 Not Modified` to a matching conditional request, so a
//! second run gets nothing from the feed and must find lost work on its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::hostile::{Hit, Hostile, Reply};
use crate::util::{code_err, corpus, newsmill_async};

const RSS: &str = "application/rss+xml";
const HTML: &str = "text/html; charset=utf-8";
const LAST_MODIFIED: &str = "Mon, 01 Jun 2026 10:00:00 GMT";
/// Articles the feed lists.
const ITEMS: usize = 8;

/// An article with a text of its own.
fn article(i: usize) -> Vec<u8> {
    let words = [
        "harvest", "council", "railway", "exports", "library", "science", "weather", "budget",
        "schools", "hospital", "airport", "museum",
    ];
    let topic = words.get(i % words.len()).copied().unwrap_or("news");
    let paras: String = (1..=5)
        .map(|p| {
            format!(
                "<p>Report {i}, part {p}: the {topic} committee met on day {i} to review \
                 figure {p} of item {i}, which rose by {i}.{p} percent after a long {topic} \
                 season that kept the region busy well into the autumn months.</p>\n"
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Story {i} on the {topic}</title></head><body><article>\
         <h1>Story {i} on the {topic}</h1>{paras}</article></body></html>"
    )
    .into_bytes()
}

fn feed() -> Vec<u8> {
    let items: String = (1..=ITEMS)
        .map(|i| format!("<item><title>Story {i}</title><link>/a/{i}</link></item>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Agency</title>\
         <link>/</link><description>d</description>\n{items}</channel></rss>"
    )
    .into_bytes()
}

/// 304 when the request's `If-None-Match` is the current `etag`, else 200 with validators.
fn conditional(hit: &Hit, etag: &str, content_type: &str, body: &[u8]) -> Reply {
    let matches = hit
        .headers
        .iter()
        .any(|(k, v)| k == "if-none-match" && v == etag);
    if matches {
        return Reply::full(
            304,
            &[("ETag", etag), ("Last-Modified", LAST_MODIFIED)],
            b"",
        );
    }
    Reply::full(
        200,
        &[
            ("Content-Type", content_type),
            ("ETag", etag),
            ("Last-Modified", LAST_MODIFIED),
        ],
        body,
    )
}

/// The agency: a feed of [`ITEMS`] articles under `/a/N` and extra pages under `/x/N` that no
/// feed lists (for `newsmill fetch`), each answered after `delay`.
pub(crate) async fn agency(delay: Duration) -> Hostile {
    Hostile::start(move |hit, _| {
        let reply = match hit.path.as_str() {
            "/robots.txt" => return Reply::status(404),
            "/feed" => conditional(hit, "\"feed-1\"", RSS, &feed()),
            path => match path.get(..3).zip(path.get(3..)) {
                Some(("/a/", n)) => {
                    let n: usize = n.parse().unwrap_or(0);
                    conditional(hit, &format!("\"a-{n}\""), HTML, &article(n))
                }
                Some(("/x/", n)) => {
                    let n: usize = n.parse().unwrap_or(0);
                    conditional(hit, &format!("\"x-{n}\""), HTML, &article(100 + n))
                }
                _ => return Reply::status(404),
            },
        };
        match (delay.is_zero(), reply) {
            (false, Reply::Raw(bytes)) => Reply::Late(delay, bytes),
            (_, reply) => reply,
        }
    })
    .await
}

/// A config with storage under `dir` (the corpus in `normalized`, unless given) and the
/// agency as the one source.
pub(crate) fn config(dir: &Path, server: &Hostile, normalized: Option<&Path>) -> String {
    let d = dir.display();
    let norm = normalized.map_or_else(|| format!("{d}/normalized"), |p| p.display().to_string());
    let text = format!(
        "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{norm}\"\nstate_dir = \"{d}/state\"\n\n\
         [fetch]\nper_host_interval = \"0s\"\nper_host_concurrency = 8\ntimeout = \"5s\"\n\
         max_retries = 0\nallow_private_networks = true\n\n\
         [[sources]]\nid = \"agency\"\nname = \"Agency\"\nfeeds = [\"{}\"]\nlanguage = \"en\"\n",
        server.url("/feed")
    );
    let path = dir.join("agency.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Runs newsmill; returns exit code and stderr+stdout.
pub(crate) async fn nm(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = newsmill_async(dir, args).await;
    let (code, err) = code_err(&out);
    (
        code,
        format!("{err}{}", String::from_utf8_lossy(&out.stdout)),
    )
}

pub(crate) async fn run(dir: &Path, cfg: &str) -> (i32, String) {
    nm(dir, &["run", "-c", cfg, "--since", "1990-01-01"]).await
}

/// Canonical URLs of the corpus records (each must appear once).
pub(crate) fn urls(normalized: &Path) -> BTreeSet<String> {
    let records = corpus(normalized);
    let set: BTreeSet<String> = records
        .iter()
        .map(|r| r["canonical_url"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(set.len(), records.len(), "a URL twice in the corpus");
    set
}

fn ids(normalized: &Path) -> BTreeSet<String> {
    corpus(normalized)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn feed_urls(server: &Hostile) -> BTreeSet<String> {
    (1..=ITEMS)
        .map(|i| server.url(&format!("/a/{i}")))
        .collect()
}

/// Every WARC file under `raw`.
fn warcs(raw: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![raw.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".warc.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub(crate) async fn verify_json(dir: &Path, cfg: &str) -> (i32, Value) {
    let out = newsmill_async(dir, &["verify", "-c", cfg, "--json"]).await;
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

fn kinds(report: &Value) -> BTreeSet<String> {
    report["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A first clean run: every feed item in the corpus, `verify` clean, the next run all 304.
pub(crate) async fn first_run(dir: &Path, cfg: &str, server: &Hostile) {
    let (code, out) = run(dir, cfg).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(urls(&dir.join("normalized")), feed_urls(server));
    let (code, v) = verify_json(dir, cfg).await;
    assert_eq!(code, 0, "{v:#}");
}

// See: issue 9 item 4 (`reprocess` dropped every `newsmill fetch` record).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue9_reprocess_keeps_fetch_records() {
    let server = agency(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server, None);
    first_run(dir.path(), &cfg, &server).await;
    let extra = [server.url("/x/1"), server.url("/x/2")];
    let (code, out) = nm(dir.path(), &["fetch", "-c", &cfg, &extra[0], &extra[1]]).await;
    assert_eq!(code, 0, "{out}");
    let norm = dir.path().join("normalized");
    let before = urls(&norm);
    assert_eq!(before.len(), ITEMS + 2);
    let adhoc = corpus(&norm)
        .iter()
        .filter(|r| r["source_id"] == "adhoc")
        .count();
    assert_eq!(adhoc, 2, "fetch URLs outside every source are ad hoc");
    let (code, out) = nm(dir.path(), &["reprocess", "-c", &cfg]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(urls(&norm), before, "{out}");
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{v:#}");
}

/// Deletes (or truncates to half) every WARC file, then checks `reprocess` keeps every record,
/// names each, exits 1 and queues them; `verify` names the damage.
async fn lose_raw(truncate: bool) {
    let server = agency(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server, None);
    first_run(dir.path(), &cfg, &server).await;
    let norm = dir.path().join("normalized");
    let before = ids(&norm);
    for w in warcs(&dir.path().join("raw")) {
        if truncate {
            let len = std::fs::metadata(&w).unwrap().len();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&w)
                .unwrap()
                .set_len(len / 2)
                .unwrap();
        } else {
            std::fs::remove_file(&w).unwrap();
        }
    }
    let (code, v) = verify_json(dir.path(), &cfg).await;
    let expect = if truncate {
        "raw_damaged"
    } else {
        "raw_missing"
    };
    assert_eq!(code, 1, "{v:#}");
    assert!(kinds(&v).contains(expect), "{v:#}");

    let (code, out) = nm(dir.path(), &["reprocess", "-c", &cfg]).await;
    assert_eq!(code, 1, "records not reprocessed make exit 1:\n{out}");
    assert_eq!(ids(&norm), before, "reprocess kept every record:\n{out}");
    let kept = out
        .lines()
        .filter(|l| l.contains("not reprocessed, kept as it was"))
        .count();
    let reprocessed = ITEMS - kept;
    assert!(kept > 0 && (truncate || kept == ITEMS), "{out}");
    assert!(truncate || reprocessed == 0, "{out}");
    for line in out.lines().filter(|l| l.contains("not reprocessed")) {
        assert!(
            line.contains(&server.url("/a/")),
            "each is named by URL: {line}"
        );
        assert!(line.contains("queued for refetch"), "{line}");
    }
    // A plain run fetches the queued URLs again although the feed answers 304.
    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(urls(&norm), feed_urls(&server), "{out}");
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 0, "nothing left to report: {v:#}");
    // And a reprocess now reproduces every record from raw/. The torn tail of a truncated
    // file stays in raw/ and is still named (exit 1), but no record is carried over any more.
    let (code, out) = nm(dir.path(), &["reprocess", "-c", &cfg]).await;
    assert_eq!(code, i32::from(truncate), "{out}");
    assert!(!out.contains("not reprocessed"), "{out}");
    assert!(
        !truncate || out.contains("torn record at the end of"),
        "{out}"
    );
    assert_eq!(urls(&norm), feed_urls(&server));
}

// See: issue 9 item 5 (a deleted WARC made reprocess swap in a smaller corpus, exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue9_deleted_warc_loses_nothing() {
    lose_raw(false).await;
}

// See: issue 9 item 5 (a truncated WARC, likewise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue9_truncated_warc_loses_nothing() {
    lose_raw(true).await;
}

// A segment deleted by hand (or lost with a disk): the run names it, and every article it
// held comes back although the feed answers 304.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_segment_is_named_and_its_articles_come_back() {
    let server = agency(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server, None);
    first_run(dir.path(), &cfg, &server).await;
    let extra = server.url("/x/1");
    let (code, out) = nm(dir.path(), &["fetch", "-c", &cfg, &extra]).await;
    assert_eq!(code, 0, "{out}");
    let norm = dir.path().join("normalized");
    let mut all = feed_urls(&server);
    all.insert(extra);
    assert_eq!(urls(&norm), all);
    std::fs::remove_file(norm.join("part-000001.jsonl")).unwrap();
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 1, "{v:#}");
    let k = kinds(&v);
    assert!(
        k.contains("missing_segment") && k.contains("record_missing"),
        "{v:#}"
    );

    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 1, "the lost segment is reported:\n{out}");
    assert!(out.contains("part-000001.jsonl"), "{out}");
    assert_eq!(urls(&norm), all, "every article is back:\n{out}");
    assert!(
        !norm.join("part-000001.jsonl").exists(),
        "the lost name is not reused"
    );
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{v:#}");
    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(urls(&norm), all);
}

// A corrupt manifest: `verify` names it; a run rebuilds it from the segments, losing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_manifest_is_rebuilt_from_the_segments() {
    let server = agency(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server, None);
    first_run(dir.path(), &cfg, &server).await;
    let norm = dir.path().join("normalized");
    std::fs::write(
        norm.join("manifest.json"),
        b"{\"schema_version\": 1, \"recor",
    )
    .unwrap();
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        kinds(&v),
        BTreeSet::from(["bad_manifest".to_owned()]),
        "{v:#}"
    );
    let (code, out) = nm(dir.path(), &["stats", "-c", &cfg]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: `newsmill verify` would report 1 problem"),
        "{out}"
    );

    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 1, "the damage is reported once:\n{out}");
    assert!(out.contains("manifest.json"), "{out}");
    assert_eq!(urls(&norm), feed_urls(&server));
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{v:#}");
    let (code, out) = nm(dir.path(), &["stats", "-c", &cfg]).await;
    assert!(code == 0 && !out.contains("warning"), "{out}");
    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{out}");
}

/// A mount made for one test, unmounted on drop.
pub(crate) struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn mount(args: &[&str], target: &Path) -> Result<Mount, String> {
    let out = std::process::Command::new("mount")
        .args(args)
        .arg(target)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(Mount(target.to_owned()))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// A tmpfs of `size` mounted at `target` (created first); `None`, after saying so with
/// [`skipped`], where mounting is not permitted.
pub(crate) fn small_tmpfs(target: &Path, size: &str, test: &str) -> Option<Mount> {
    std::fs::create_dir_all(target).unwrap();
    match mount(
        &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
        target,
    ) {
        Ok(g) => Some(g),
        Err(why) => {
            skipped(test, &format!("mount -t tmpfs not permitted: {why}"));
            None
        }
    }
}

/// Says by name that a storage-fault test could not run here, and why. Under `CI=true` the
/// same line is printed: CI machines that forbid `mount` (unprivileged containers) must not
/// turn red for it, and the log still shows the test did not run.
fn skipped(test: &str, why: &str) {
    println!("SKIPPED {test}: {why}");
    eprintln!("SKIPPED {test}: {why}");
}

/// Makes `dir` read-only for everyone, root included: a read-only bind mount when mounting is
/// permitted, else `chmod 555` (which binds every user but root).
fn read_only(dir: &Path) -> Result<Option<Mount>, String> {
    let bind = mount(&["--bind", &dir.display().to_string()], dir);
    match bind {
        Ok(m) => {
            let ro = std::process::Command::new("mount")
                .args(["-o", "remount,bind,ro"])
                .arg(dir)
                .status()
                .map_err(|e| e.to_string())?;
            if ro.success() {
                Ok(Some(m))
            } else {
                Err("remount read-only failed".into())
            }
        }
        Err(e) if is_root() => Err(format!("root ignores permissions and mount failed: {e}")),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555))
                .map_err(|e| e.to_string())?;
            Ok(None)
        }
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

// normalized/ turns read-only while a run is fetching: the run fails its flush and exits 1;
// once it is writable again a plain run ingests every article (from raw/, as the feed is 304).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_corpus_mid_run_loses_nothing() {
    let test = "storage::read_only_corpus_mid_run_loses_nothing";
    let server = agency(Duration::from_millis(150)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server, None);
    let norm = dir.path().join("normalized");
    std::fs::create_dir_all(&norm).unwrap();
    let child = {
        let (d, c) = (dir.path().to_owned(), cfg.clone());
        tokio::spawn(async move { run(&d, &c).await })
    };
    while server.count("/a/1") + server.count("/a/2") == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let guard = match read_only(&norm) {
        Ok(g) => g,
        Err(why) => {
            let _ = child.await;
            return skipped(test, &why);
        }
    };
    let (code, out) = child.await.unwrap();
    assert_eq!(code, 1, "a failed flush is a failure:\n{out}");
    assert!(out.contains("corpus"), "{out}");
    assert!(corpus(&norm).is_empty());
    drop(guard);
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&norm, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(urls(&norm), feed_urls(&server), "{out}");
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{v:#}");
}

// A full disk under normalized/ (a small tmpfs): the flush fails, the run exits 1; once there
// is room a plain run ingests every article.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_loses_nothing() {
    let test = "storage::full_disk_loses_nothing";
    let server = agency(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let norm = dir.path().join("normalized");
    let Some(guard) = small_tmpfs(&norm, "256k", test) else {
        return;
    };
    // Leave about 8 KiB free: less than one segment of eight articles.
    let filler = norm.join("filler");
    std::fs::write(&filler, vec![0u8; 248 * 1024]).unwrap();
    let cfg = config(dir.path(), &server, None);
    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 1, "a full disk is a failure:\n{out}");
    assert!(out.contains("corpus"), "{out}");
    assert!(corpus(&norm).is_empty());
    std::fs::remove_file(&filler).unwrap();
    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(urls(&norm), feed_urls(&server), "{out}");
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{v:#}");
    drop(guard);
}

// `verify --repair` after a segment was lost: the manifest is rewritten and the URLs are taken
// up again from raw/; `verify` says what is still pending, and after the next run nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_repair_takes_up_a_lost_segment() {
    let server = agency(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server, None);
    first_run(dir.path(), &cfg, &server).await;
    let norm = dir.path().join("normalized");
    std::fs::remove_file(norm.join("part-000001.jsonl")).unwrap();
    let out = newsmill_async(dir.path(), &["verify", "-c", &cfg, "--repair", "--json"]).await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["repaired"]["manifest_rewritten"], true, "{v:#}");
    assert_eq!(v["repaired"]["queued_for_refetch"], ITEMS, "{v:#}");
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        kinds(&v),
        BTreeSet::from(["pending_recovery".to_owned()]),
        "{v:#}"
    );
    let (code, out) = run(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(urls(&norm), feed_urls(&server), "{out}");
    let (code, v) = verify_json(dir.path(), &cfg).await;
    assert_eq!(code, 0, "{v:#}");
}
