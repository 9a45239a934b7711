//! `newsmill reprocess` on a shared state (PostgreSQL, local folders): two workers write their
//! folders (one text met by both, so one record carries the other's URL as a sighting), then
//! the sources get a `remove` selector and `reprocess` normalizes every raw response again
//! into the folder of the worker that fetched it. A crash before and after the folder swap
//! (test-only failpoint `NEWSMILL_TEST_CRASH_REPROCESS`) leaves the old or the new corpus,
//! keeps workers from starting, and a rerun finishes; `verify` then reports nothing. While a
//! worker is alive it refuses with exit 75 and leaves workers free to start.
// See: issue 12 (`reprocess` on a shared state).

use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::postgres::{Schema, run_with};

const TEST: &str = "reprocess_shared::issue12_reprocess_rebuilds_every_workers_folder";

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

/// A shared-state config under `dir` with the sources `ids`; `strip` adds the `remove`
/// selector that drops the note paragraph.
fn config(dir: &Path, server: &MockServer, ids: &[&str], strip: bool) -> PathBuf {
    let d = dir.display();
    let mut s = format!(
        "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{d}/normalized\"\nstate_dir = \"{d}/state\"\n\
         [fetch]\nper_host_interval = \"10ms\"\nallow_private_networks = true\n\
         [state]\nbackend = \"postgres\"\n[worker]\nlease_ttl = \"3s\"\nidle_poll = \"100ms\"\n"
    );
    for id in ids {
        s.push_str(&format!(
            "\n[[sources]]\nid = \"{id}\"\nname = \"{id}\"\nfeeds = [\"{}/{id}.xml\"]\nlanguage = \"en\"\n",
            server.uri()
        ));
        if strip {
            s.push_str("[sources.selectors]\nremove = [\"p.note\"]\n");
        }
    }
    let path = dir.join(format!("{}-{strip}.toml", ids.join("-")));
    std::fs::write(&path, s).unwrap();
    path
}

/// Runs the binary: exit code, stdout, stderr.
type Run<'a> = dyn Fn(&[&str]) -> (i32, String, String) + 'a;

/// Exported records: (id, text contains the note, also_seen_at URLs).
fn export(run: &Run<'_>, cfg: &str) -> Vec<(String, bool, usize)> {
    let (code, out, err) = run(&["export", "-c", cfg]);
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

#[test]
fn issue12_reprocess_rebuilds_every_workers_folder() {
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
    let c = |p: &Path| p.to_str().unwrap().to_owned();
    let (alpha, beta) = (
        c(&config(d, &server, &["alpha"], false)),
        c(&config(d, &server, &["beta"], false)),
    );
    let (old, new) = (
        c(&config(d, &server, &["alpha", "beta"], false)),
        c(&config(d, &server, &["alpha", "beta"], true)),
    );
    assert_eq!(run(&["migrate", "-c", &old]).0, 0);
    for (cfg, id) in [(&alpha, "w1"), (&beta, "w2")] {
        let (code, _, err) = run(&["worker", "-c", cfg, "--once", "--id", id]);
        assert_eq!(code, 0, "{id}: {err}");
    }
    let before = export(&run, &old);
    assert_eq!(before.len(), 3, "{before:?}");
    assert!(before.iter().all(|r| r.1), "{before:?}");

    // A crash before the swap: the old corpus, workers fenced off, the rerun finishes.
    let crash = |step: &str| {
        let out = std::process::Command::new(&bin)
            .args(["reprocess", "-c", &new])
            .current_dir(d)
            .env("NEWSMILL_DATABASE_URL", &url)
            .env("NEWSMILL_TEST_CRASH_REPROCESS", step)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{step}: the failpoint aborts");
    };
    crash("before_swap");
    assert_eq!(
        export(&run, &old),
        before,
        "a crash before the swap keeps the old corpus"
    );
    let (code, _, err) = run(&["worker", "-c", &alpha, "--once", "--id", "w1"]);
    assert_eq!(
        code, 2,
        "a worker refuses while a reprocess is unfinished: {err}"
    );
    assert!(err.contains("reprocess"), "{err}");

    // A crash after the swap: the new corpus, still fenced off.
    crash("after_swap");
    let after = export(&run, &new);
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after.iter().all(|r| !r.1), "the note is removed: {after:?}");
    assert!(
        after.iter().all(|r| !before.iter().any(|b| b.0 == r.0)),
        "new texts, new ids"
    );
    assert_eq!(run(&["worker", "-c", &alpha, "--once", "--id", "w1"]).0, 2);

    let (code, _, err) = run(&["reprocess", "-c", &new]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(export(&run, &new), after, "the rerun gives the same corpus");
    assert_eq!(
        after.iter().map(|r| r.2).sum::<usize>(),
        1,
        "one sighting: {after:?}"
    );
    let (code, out, err) = run(&["verify", "-c", &new]);
    assert_eq!(code, 0, "verify after reprocess: {out}{err}");
    for w in ["w1", "w2"] {
        assert!(
            d.join("normalized/workers").join(w).is_dir(),
            "{w}'s folder"
        );
    }

    // A live worker: refused with exit 75, and workers may still start afterwards.
    db.client()
        .execute(
            "INSERT INTO workers (id, hostname, pid, started, heartbeat)
             VALUES ('w9', 'elsewhere', 1, now(), now())",
            &[],
        )
        .unwrap();
    let (code, _, err) = run(&["reprocess", "-c", &new]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("w9 on elsewhere"), "{err}");
    db.client()
        .execute("DELETE FROM workers WHERE id = 'w9'", &[])
        .unwrap();
    let (code, _, err) = run(&["worker", "-c", &new, "--once", "--id", "w1"]);
    assert_eq!(code, 0, "the fence is down: {err}");
    assert_eq!(export(&run, &new), after);
}
