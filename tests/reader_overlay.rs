//! Readers on a shared state show the changes other workers queued for a stopped worker's
//! records: w1 writes a story and stops for good; w2 meets the same text at another URL and
//! queues the sighting for w1 (`record_updates`), which w1 would write with its next flush.
//! `export`, `stats` and `report` lay the queue over what they read, so the record lists w2's
//! URL in `also_seen_at` although w1 never ran again; the folder itself is not rewritten.
// See: issue 12 (queued updates of a worker that stopped for good).

use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::postgres::{Schema, local_storage, run_with, shared_config};

const TEST: &str = "reader_overlay::issue12_readers_show_changes_queued_for_a_stopped_worker";

const PAGE: &str = "<!doctype html><html lang=\"en\"><head><title>Harbour reopens</title>\
    <meta property=\"article:published_time\" content=\"2026-03-02T08:00:00Z\"></head>\
    <body><main><article><h1>Harbour reopens</h1>\
    <p>The harbour reopened on Monday after three weeks of repairs to the northern pier, the \
    port authority said, and the first ferries left on schedule in calm weather.</p>\
    <p>Fishing boats that had moored in the neighbouring bay returned in the afternoon, and \
    the market on the quay opened again with a full day of trading.</p>\
    <p>Repairs to the southern breakwater will start in the spring and are expected to last \
    two months, during which the harbour stays open to all traffic.</p>\
    </article></main></body></html>";

/// One source: a feed at `/<id>.xml` listing the page at `/<id>/harbour.html`.
async fn serve(server: &MockServer, id: &str) {
    let base = server.uri();
    let rss = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{id}</title>\
         <item><title>Harbour reopens</title><link>{base}/{id}/harbour.html</link></item>\
         </channel></rss>"
    );
    Mock::given(method("GET"))
        .and(path(format!("/{id}.xml")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(rss, "application/rss+xml"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{id}/harbour.html")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PAGE, "text/html; charset=utf-8"))
        .mount(server)
        .await;
}

/// The shared-state config of the sources `ids` (all on `server`).
fn config(dir: &Path, server: &MockServer, ids: &[&str]) -> PathBuf {
    shared_config(
        dir,
        &local_storage(dir),
        &server.uri(),
        ids,
        "",
        &ids.join("-"),
    )
}

#[test]
fn issue12_readers_show_changes_queued_for_a_stopped_worker() {
    let Some(db) = Schema::new(TEST) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        serve(&server, "alpha").await;
        serve(&server, "beta").await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = db.conninfo();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_newsmill"));
    let run = |args: &[&str]| run_with(&bin, d, &url, args);
    let (alpha, beta) = (
        config(d, &server, &["alpha"]),
        config(d, &server, &["beta"]),
    );
    let both = config(d, &server, &["alpha", "beta"]);
    let c = |p: &Path| p.to_str().unwrap().to_owned();
    let (code, _, err) = run(&["migrate", "-c", &c(&both)]);
    assert_eq!(code, 0, "{err}");
    // w1 writes the story and stops; w2 meets the same text at its own URL.
    for (cfg, id) in [(&alpha, "w1"), (&beta, "w2")] {
        let (code, _, err) = run(&["worker", "-c", &c(cfg), "--once", "--id", id]);
        assert_eq!(code, 0, "{id}: {err}");
    }
    let queued: i64 = db
        .client()
        .query_one("SELECT count(*) FROM record_updates", &[])
        .unwrap()
        .get(0);
    assert_eq!(queued, 1, "the sighting is queued for w1");
    let folder = d.join("normalized/workers/w1");
    let before = crate::util::snapshot(&folder);
    let second = format!("{}/beta/harbour.html", server.uri());

    let (code, out, err) = run(&["export", "-c", &c(&both)]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1, "{out}");
    let seen: Vec<&str> = records[0]["also_seen_at"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["url"].as_str())
        .collect();
    assert_eq!(seen, [second.as_str()], "export: {}", records[0]);

    let (code, out, err) = run(&["stats", "-c", &c(&both), "--json"]);
    assert_eq!(code, 0, "{err}");
    let stats: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["exact_duplicates"], 1, "stats: {out}");

    // Readers write nothing: the folder is w1's to rewrite, when it runs again.
    assert_eq!(crate::util::snapshot(&folder), before);

    // `verify` names the queued sighting; one of the record's own URL (queued when another
    // worker recovers a page whose text claim the killed owner had made durable) changes
    // nothing and is not counted.
    let own = format!("{}/alpha/harbour.html", server.uri());
    db.client()
        .execute(
            "INSERT INTO record_updates (record_id, kind, body, queued_by, queued)
             VALUES ($1, 'sighting', $2, 'w2', now())",
            &[
                &records[0]["id"].as_str().unwrap(),
                &format!(
                    "{{\"url\":\"{own}\",\"source_id\":\"alpha\",\"fetched_at\":\"2026-03-02T09:00:00Z\"}}"
                ),
            ],
        )
        .unwrap();
    let (code, out, err) = run(&["verify", "-c", &c(&both)]);
    assert_ne!(code, 0, "the real sighting is still queued: {out}{err}");
    assert!(
        out.contains("1 change(s) of worker w1's records are queued"),
        "{out}{err}"
    );
}
