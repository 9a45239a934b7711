//! `newsmill reprocess` on a shared state (PostgreSQL, local folders): two workers write their
//! folders (one text met by both, so one record carries the other's URL as a sighting), then
//! the sources get a `remove` selector and `reprocess` normalizes every raw response again
//! into the folder of the worker that fetched it. A crash before and after the folder swap
//! (test-only failpoint `NEWSMILL_TEST_CRASH_REPROCESS`) leaves the old or the new corpus,
//! keeps workers from starting, and a rerun finishes; `verify` then reports nothing. While a
//! worker is alive it refuses with exit 75 and leaves workers free to start.
//! The same with raw/ and normalized/ on S3 (moto): the rebuild is uploaded after the swap,
//! the bucket keeps no stale segment, a crash before the upload leaves the old corpus in the
//! bucket, and a worker that did not stop cleanly makes it refuse (exit 75).
// See: issue 12 (`reprocess` on a shared state).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::postgres::{Schema, local_storage, shared_config};
use crate::s3::Moto;

const TEST: &str = "reprocess_shared::issue12_reprocess_rebuilds_every_workers_folder";
const TEST_S3: &str = "reprocess_shared::issue12_reprocess_on_s3_rebuilds_every_workers_folder";
const BUCKET: &str = "newsmill-reprocess";
const TEST_WINDOW: &str =
    "reprocess_shared::issue12_a_worker_past_its_parameter_check_stops_a_reprocess";

const NOTE: &str = "This story was updated with comments from the port authority.";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><title>{title}</title>\
         <meta property=\"article:published_time\" content=\"2026-03-02T08:00:00Z\"></head>\
         <body><main><article><h1>{title}</h1><p>{body}</p>\
         <p>Officials said the work had gone to plan, and that the next stage of the \
         project would begin after the winter storms had passed.</p>\
         <p class=\"note\">{NOTE}</p></article></main></body></html>"
    )
}

const HARBOUR: &str = "The harbour reopened on Monday after three weeks of repairs to the \
    northern pier, and the first ferries left on schedule in calm weather.";

/// Source `id` lists `harbour` (the same text for every source) and `<id>-own`.
async fn serve(server: &MockServer, id: &str) {
    let base = server.uri();
    let own = format!(
        "The {id} council voted on Tuesday to rebuild the market hall, which closed last \
         year after a fire destroyed its roof and the stalls on the upper floor."
    );
    let rss = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{id}</title>\
         <item><title>Harbour</title><link>{base}/{id}/harbour.html</link></item>\
         <item><title>Own</title><link>{base}/{id}/own.html</link></item>\
         </channel></rss>"
    );
    Mock::given(method("GET"))
        .and(path(format!("/{id}.xml")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(rss, "application/rss+xml"))
        .mount(server)
        .await;
    for (name, title, body) in [
        ("harbour", "Harbour reopens", HARBOUR.to_owned()),
        ("own", "Market hall", own),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/{id}/{name}.html")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(page(title, &body), "text/html; charset=utf-8"),
            )
            .mount(server)
            .await;
    }
}

/// Where the stores are.
enum Place {
    Local,
    S3 { endpoint: String },
}

impl Place {
    fn storage(&self, dir: &Path) -> String {
        match self {
            Place::Local => local_storage(dir),
            Place::S3 { endpoint } => format!(
                "[storage]\nraw_dir = \"s3://{BUCKET}/crawl/raw\"\n\
                 normalized_dir = \"s3://{BUCKET}/crawl/normalized\"\nstate_dir = \"{}/state\"\n\
                 [storage.s3]\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\nallow_http = true\n",
                dir.display()
            ),
        }
    }
}

/// The shared-state config of the sources `ids`; `strip` adds the `remove` selector that
/// drops the note paragraph.
fn config(dir: &Path, place: &Place, server: &MockServer, ids: &[&str], strip: bool) -> String {
    let selectors = if strip {
        "[sources.selectors]\nremove = [\"p.note\"]\n"
    } else {
        ""
    };
    let name = format!("{}-{strip}", ids.join("-"));
    let storage = place.storage(dir);
    let path = shared_config(dir, &storage, &server.uri(), ids, selectors, &name);
    path.to_str().unwrap().to_owned()
}

/// Runs the binary with extra environment variables: exit code, stdout, stderr.
type Run<'a> = dyn Fn(&[&str], &[(&str, &str)]) -> (i32, String, String) + 'a;

/// Exported records: (id, text contains the note, also_seen_at URLs).
fn export(run: &Run<'_>, cfg: &str) -> Vec<(String, bool, usize)> {
    let (code, out, err) = run(&["export", "-c", cfg], &[]);
    assert_eq!(code, 0, "{err}");
    let mut out: Vec<(String, bool, usize)> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["text"].as_str().unwrap().contains(NOTE),
                r["also_seen_at"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    out.sort();
    out
}

fn two_sources() -> (tokio::runtime::Runtime, MockServer) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        serve(&server, "alpha").await;
        serve(&server, "beta").await;
        server
    });
    (rt, server)
}

#[test]
fn issue12_reprocess_rebuilds_every_workers_folder() {
    let Some(db) = Schema::new(TEST) else {
        return;
    };
    let (_rt, server) = two_sources();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = db.conninfo();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_newsmill"))
            .args(args)
            .current_dir(d)
            .env("NEWSMILL_DATABASE_URL", &url)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        output(&out)
    };
    let folders = || {
        for w in ["w1", "w2"] {
            let folder = d.join("normalized/workers").join(w);
            let manifest = std::fs::read(folder.join("manifest.json")).unwrap();
            let m: Value = serde_json::from_slice(&manifest).unwrap();
            assert!(
                m["records"].as_u64() > Some(0),
                "{w} holds its records: {m}"
            );
        }
        let legacy = d.join("normalized/workers/reprocessed");
        assert!(!legacy.exists(), "every raw file names its worker");
    };
    scenario(&db, d, &Place::Local, &server, &run, &folders);
}

#[test]
fn issue12_reprocess_on_s3_rebuilds_every_workers_folder() {
    let Some(db) = Schema::new(TEST_S3) else {
        return;
    };
    let Some(moto) = Moto::start(TEST_S3) else {
        return;
    };
    moto.create_bucket(BUCKET);
    let (_rt, server) = two_sources();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = db.conninfo();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec![("NEWSMILL_DATABASE_URL", url.as_str())];
        all.extend_from_slice(env);
        output(&crate::s3::newsmill(d, args, &all))
    };
    let remote = moto.remote(BUCKET, "crawl/normalized");
    let folders = || bucket_matches_manifests(&remote);
    let place = Place::S3 {
        endpoint: moto.endpoint.clone(),
    };
    scenario(&db, d, &place, &server, &run, &folders);
    // A worker that did not stop cleanly may hold files waiting for their upload: refused.
    let cfg = config(d, &place, &server, &["alpha", "beta"], true);
    db.client()
        .execute(
            "INSERT INTO workers (id, hostname, pid, started, heartbeat)
             VALUES ('w8', 'lost-machine', 1, now() - interval '1 hour', now() - interval '1 hour')",
            &[],
        )
        .unwrap();
    let (code, _, err) = run(&["reprocess", "-c", &cfg], &[]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("w8 on lost-machine"), "{err}");
    assert!(err.contains("--once --id"), "{err}");
    let (code, _, err) = run(&["worker", "-c", &cfg, "--once", "--id", "w1"], &[]);
    assert_eq!(code, 0, "the refusal took its fence down: {err}");
}

fn output(out: &std::process::Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every worker folder in the bucket has its manifest, and the segments in the bucket are
/// exactly those the manifests name (none left over from the old folders).
fn bucket_matches_manifests(remote: &newsmill::storage::Remote) {
    let listed: Vec<String> = remote.list().unwrap().into_iter().map(|o| o.rel).collect();
    let mut named = Vec::new();
    for w in ["w1", "w2"] {
        let rel = format!("workers/{w}/manifest.json");
        assert!(listed.contains(&rel), "{rel} not in the bucket: {listed:?}");
        let m: Value = serde_json::from_slice(&remote.get(&rel).unwrap()).unwrap();
        assert!(
            m["records"].as_u64() > Some(0),
            "{w} holds its records: {m}"
        );
        for seg in m["segments"].as_array().unwrap() {
            named.push(format!("workers/{w}/{}", seg["file"].as_str().unwrap()));
        }
    }
    let mut segments: Vec<String> = listed
        .into_iter()
        .filter(|r| r.ends_with(".jsonl"))
        .collect();
    segments.sort();
    named.sort();
    assert_eq!(
        segments, named,
        "segments in the bucket vs named by manifests"
    );
}

/// Two workers, a `remove` selector, crashes before and after the swap, the rerun, a live
/// worker; `folders` checks that every worker's records are back in its own folder, where
/// readers find it.
fn scenario(
    db: &Schema,
    d: &Path,
    place: &Place,
    server: &MockServer,
    run: &Run<'_>,
    folders: &dyn Fn(),
) {
    let cfg = |ids: &[&str], strip| config(d, place, server, ids, strip);
    let (alpha, beta) = (cfg(&["alpha"], false), cfg(&["beta"], false));
    let (old, new) = (
        cfg(&["alpha", "beta"], false),
        cfg(&["alpha", "beta"], true),
    );
    assert_eq!(run(&["migrate", "-c", &old], &[]).0, 0);
    for (cfg, id) in [(&alpha, "w1"), (&beta, "w2")] {
        let (code, _, err) = run(&["worker", "-c", cfg, "--once", "--id", id], &[]);
        assert_eq!(code, 0, "{id}: {err}");
    }
    let before = export(run, &old);
    assert_eq!(before.len(), 3, "{before:?}");
    assert!(before.iter().all(|r| r.1), "{before:?}");

    // A crash before the swap: the old corpus, workers fenced off, the rerun finishes.
    let crash = |step: &str| {
        let (code, _, err) = run(
            &["reprocess", "-c", &new],
            &[("NEWSMILL_TEST_CRASH_REPROCESS", step)],
        );
        assert_ne!(code, 0, "{step}: the failpoint aborts: {err}");
    };
    crash("before_swap");
    assert_eq!(
        export(run, &old),
        before,
        "a crash before the swap keeps the old corpus"
    );
    let (code, _, err) = run(&["worker", "-c", &alpha, "--once", "--id", "w1"], &[]);
    assert_eq!(
        code, 2,
        "a worker refuses while a reprocess is unfinished: {err}"
    );
    assert!(err.contains("reprocess"), "{err}");

    // A crash after the swap: the new corpus (on S3 the old one: the upload comes after), still
    // fenced off.
    crash("after_swap");
    let mid = export(run, &new);
    assert_eq!(
        run(&["worker", "-c", &alpha, "--once", "--id", "w1"], &[]).0,
        2
    );

    let (code, _, err) = run(&["reprocess", "-c", &new], &[]);
    assert_eq!(code, 0, "{err}");
    let after = export(run, &new);
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after.iter().all(|r| !r.1), "the note is removed: {after:?}");
    assert!(
        after.iter().all(|r| !before.iter().any(|b| b.0 == r.0)),
        "new texts, new ids"
    );
    match place {
        Place::Local => assert_eq!(mid, after, "the rerun gives the same corpus"),
        Place::S3 { .. } => assert_eq!(mid, before, "nothing uploaded before the crash"),
    }
    assert_eq!(
        after.iter().map(|r| r.2).sum::<usize>(),
        1,
        "one sighting: {after:?}"
    );
    let (code, out, err) = run(&["verify", "-c", &new], &[]);
    assert_eq!(code, 0, "verify after reprocess: {out}{err}");
    folders();

    // A live worker: refused with exit 75, and workers may still start afterwards.
    db.client()
        .execute(
            "INSERT INTO workers (id, hostname, pid, started, heartbeat)
             VALUES ('w9', 'elsewhere', 1, now(), now())",
            &[],
        )
        .unwrap();
    let (code, _, err) = run(&["reprocess", "-c", &new], &[]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("w9 on elsewhere"), "{err}");
    db.client()
        .execute("DELETE FROM workers WHERE id = 'w9'", &[])
        .unwrap();
    let (code, _, err) = run(&["worker", "-c", &new, "--once", "--id", "w1"], &[]);
    assert_eq!(code, 0, "the fence is down: {err}");
    assert_eq!(export(run, &new), after);
    folders();
}

/// The window before the fence: a worker whose parameter check passed just before the fence
/// went up has registered already, so the reprocess finds it alive and refuses (exit 75);
/// with the check before the registration it would rebuild under a running worker.
#[test]
fn issue12_a_worker_past_its_parameter_check_stops_a_reprocess() {
    let Some(db) = Schema::new(TEST_WINDOW) else {
        return;
    };
    let (_rt, server) = two_sources();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = db.conninfo();
    let cfg = config(d, &Place::Local, &server, &["alpha", "beta"], false);
    // A lease TTL far above the time the check below takes, on any machine load.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("lease_ttl = \"3s\"", "lease_ttl = \"60s\""),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_newsmill"));
        c.args(args)
            .current_dir(d)
            .env("NEWSMILL_DATABASE_URL", &url);
        c
    };
    assert_eq!(
        output(&run(&["migrate", "-c", &cfg]).output().unwrap()).0,
        0
    );
    let worker = run(&["worker", "-c", &cfg, "--once", "--id", "w1"]);
    let (code, _, err) =
        crate::util::run_at_failpoint(worker, d, "NEWSMILL_TEST_PAUSE_AFTER_PARAMS", |_| {
            output(&run(&["reprocess", "-c", &cfg]).output().unwrap())
        });
    assert_eq!(code, 75, "a worker past its check is alive: {err}");
    assert!(err.contains("w1 on"), "{err}");
}
