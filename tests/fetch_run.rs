//! Hostile servers end to end through the binary: every failure is a typed kind in the run
//! report, the run finishes, other sources still ingest, and the exit code is 1.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::hostile::{Hostile, Reply, head};
use crate::util::{code_err, corpus, newsmill_async};

const RSS: &str = "application/rss+xml";

/// A news article long enough for the normalizer to keep.
fn article_html() -> Vec<u8> {
    let para = "The regional council met on Tuesday to review the harvest figures, which \
                showed grain output up by a tenth on last year after a mild spring and a dry \
                August that let farmers bring in the crop ahead of the autumn rains.";
    let paras: String = (1..=6)
        .map(|i| format!("<p>Paragraph {i}. {para}</p>\n"))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Harvest figures reviewed</title></head><body><article>\
         <h1>Harvest figures reviewed</h1>{paras}</article></body></html>"
    )
    .into_bytes()
}

/// A good RSS feed with one article and three links in schemes that must be refused.
fn good_feed() -> Vec<u8> {
    br#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Good</title><link>/</link><description>d</description>
<item><title>Harvest</title><link>/good/article-1</link></item>
<item><title>Local file</title><link>file:///etc/passwd</link></item>
<item><title>FTP</title><link>ftp://127.0.0.1/ftp-item</link></item>
<item><title>Script</title><link>javascript:alert(document.cookie)</link></item>
</channel></rss>"#
        .to_vec()
}

const MALFORMED: &[u8] = br#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Broken</title>
<item><title>Unclosed</item><link>/x</link></channel>"#;

const LAUGHS: &[u8] = br#"<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>/laughs/item</link></item></channel></rss>"#;

const HTML_PAGE: &[u8] =
    b"<!DOCTYPE html><html><head><title>Feed moved</title></head><body><p>Our feed has moved.</p></body></html>";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// One server hosting every broken feed (and the good one).
async fn agency() -> Hostile {
    let bomb = gzip(&vec![0u8; 8 << 20]);
    Hostile::start(move |hit, _| match hit.path.as_str() {
        "/robots.txt" => Reply::status(404),
        "/good/feed" => Reply::ok(RSS, &good_feed()),
        "/good/article-1" => Reply::ok("text/html; charset=utf-8", &article_html()),
        "/malformed/feed" => Reply::ok(RSS, MALFORMED),
        "/laughs/feed" => Reply::ok(RSS, LAUGHS),
        "/html/feed" => Reply::ok(RSS, HTML_PAGE),
        "/empty/feed" => Reply::ok(RSS, b""),
        "/slow/feed" => Reply::Silent,
        "/bomb/feed" => Reply::full(
            200,
            &[("Content-Type", RSS), ("Content-Encoding", "gzip")],
            &bomb,
        ),
        "/truncated/feed" => {
            let mut bytes = head(200, &[("Content-Type", RSS), ("Content-Length", "5000")]);
            bytes.extend_from_slice(&good_feed());
            Reply::Raw(bytes)
        }
        _ => Reply::status(404),
    })
    .await
}

/// A config with storage under `dir`, fast limits, and `sources` as (id, feed URL).
fn write_config(dir: &Path, fetch_extra: &str, sources: &[(&str, String)]) -> String {
    let d = dir.display();
    let mut text = format!(
        "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{d}/normalized\"\n\
         state_dir = \"{d}/state\"\n\n[fetch]\nper_host_interval = \"0s\"\n\
         per_host_concurrency = 8\ntimeout = \"1s\"\nmax_retries = 1\n\
         max_body_bytes = 1048576\n{fetch_extra}\n"
    );
    for (id, feed) in sources {
        text.push_str(&format!(
            "[[sources]]\nid = \"{id}\"\nname = \"{id}\"\nfeeds = [\"{feed}\"]\nlanguage = \"en\"\n\n"
        ));
    }
    let path = dir.join("hostile.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The run report JSON written under `state/runs/`.
fn report(dir: &Path) -> Value {
    let runs = dir.join("state/runs");
    let file = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a run report");
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

fn failures(report: &Value, source: &str) -> Value {
    report["sources"][source]["failures"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_broken_feeds_reports_each_kind_and_still_ingests() {
    let server = agency().await;
    let blocked = Hostile::start(|hit, _| match hit.path.as_str() {
        "/robots.txt" => Reply::status(503),
        _ => Reply::ok(RSS, &good_feed()),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut sources: Vec<(&str, String)> = [
        "good",
        "malformed",
        "laughs",
        "html",
        "empty",
        "slow",
        "bomb",
        "truncated",
    ]
    .iter()
    .map(|id| (*id, server.url(&format!("/{id}/feed"))))
    .collect();
    sources.push(("gone", server.url("/gone/feed")));
    sources.push(("blocked", blocked.url("/feed")));
    let cfg = write_config(dir.path(), "allow_private_networks = true", &sources);

    let t0 = Instant::now();
    let out = newsmill_async(dir.path(), &["run", "-c", &cfg, "--since", "1990-01-01"]).await;
    let (code, err) = code_err(&out);
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    assert_eq!(code, 1, "failures make exit code 1:\n{err}");
    for id in [
        "good",
        "malformed",
        "laughs",
        "slow",
        "bomb",
        "gone",
        "TOTAL",
    ] {
        assert!(
            err.lines().any(|l| l.starts_with(id)),
            "no {id} row:\n{err}"
        );
    }

    let r = report(dir.path());
    let good = &r["sources"]["good"];
    assert_eq!(good["new_articles"], 1, "{r:#}");
    assert_eq!(
        good["rejected_links"], 3,
        "file:, ftp:, javascript: refused"
    );
    assert_eq!(failures(&r, "good"), serde_json::json!({}));
    for (id, kind) in [
        ("malformed", "bad_feed"),
        ("laughs", "bad_feed"),
        ("html", "bad_feed"),
        ("empty", "bad_feed"),
        ("slow", "timeout"),
        ("bomb", "too_large"),
        ("truncated", "transport"),
        ("gone", "status_404"),
    ] {
        assert_eq!(
            failures(&r, id),
            serde_json::json!({ kind: 1 }),
            "{id}: {r:#}"
        );
    }
    // A robots.txt answering 503 blocks the site, and that is a failure the operator sees
    // (a source whose robots.txt stays dead must not exit 0), not a robots refusal.
    assert_eq!(r["sources"]["blocked"]["robots_blocked"], 0, "{r:#}");
    assert_eq!(
        failures(&r, "blocked"),
        serde_json::json!({ "robots_unavailable": 1 })
    );

    let records = corpus(&dir.path().join("normalized"));
    assert_eq!(records.len(), 1, "{records:#?}");
    assert!(
        records[0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/good/article-1")
    );
    assert_eq!(server.count("/ftp-item"), 0);
    assert_eq!(
        server.count("/laughs/item"),
        0,
        "nothing from a refused feed"
    );
    assert_eq!(
        blocked.paths(),
        ["/robots.txt"],
        "robots 5xx: nothing else asked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newsmill_fetch_reports_each_failure_and_goes_on() {
    let server = agency().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "allow_private_networks = true", &[]);
    let urls = [
        server.url("/missing"),
        server.url("/truncated/feed"),
        server.url("/bomb/feed"),
        "file:///etc/passwd".to_owned(),
        server.url("/good/article-1"),
    ];
    let mut args = vec!["fetch", "-c", cfg.as_str()];
    args.extend(urls.iter().map(String::as_str));
    let out = newsmill_async(dir.path(), &args).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 1, "{err}");
    let r = report(dir.path());
    let adhoc = &r["sources"]["adhoc"];
    assert_eq!(
        adhoc["failures"],
        serde_json::json!({"status_404": 1, "transport": 1, "too_large": 1}),
        "{r:#}"
    );
    assert_eq!(adhoc["rejected_links"], 1, "file: refused");
    assert_eq!(adhoc["new_articles"], 1, "the good URL still ingested");
    assert_eq!(
        server.count("/truncated/feed"),
        2,
        "retried once (max_retries = 1)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_targets_are_refused_end_to_end() {
    let server = agency().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "allow_private_networks = false", &[]);
    let port = server.addr.port();
    let ip = format!("http://127.0.0.1:{port}/good/article-1");
    let name = format!("http://localhost:{port}/good/article-1");
    let out = newsmill_async(dir.path(), &["fetch", "-c", &cfg, &ip, &name]).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 1, "{err}");
    let r = report(dir.path());
    assert_eq!(
        r["sources"]["adhoc"]["failures"],
        serde_json::json!({"private_address": 2}),
        "{r:#}"
    );
    assert_eq!(server.connections(), 0, "nothing reached the server");
}
