//! The whole pipeline against the bundled two-agency site, checked against
//! `fixtures/demo/expected.json`: discovery, robots, charset, dates, attribution, exact dedup,
//! incremental second run, and byte-identical reprocessing.

use std::collections::HashSet;

use serde_json::Value;

use crate::util::{code_err, corpus, expected, newsmill_async, snapshot};

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Finds the record for a served path, directly or through `also_seen_at`.
fn record_for<'a>(records: &'a [Value], path: &str) -> Option<(&'a Value, bool)> {
    let ends = |u: &Value| u.as_str().is_some_and(|s| s.ends_with(path));
    records.iter().find_map(|r| {
        if ends(&r["canonical_url"]) || ends(&r["url"]) {
            Some((r, false))
        } else if r["also_seen_at"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| ends(&s["url"])))
        {
            Some((r, true))
        } else {
            None
        }
    })
}

/// Checks one oracle article. `in_exact_pair`: the article or its exact copy may be the one
/// seen first (fetch timing decides), so either may hold the record and the other the sighting.
fn check_article(key: &str, exp: &Value, records: &[Value], in_exact_pair: bool) {
    let path = exp["url_path"].as_str().unwrap();
    let (rec, via_sighting) =
        record_for(records, path).unwrap_or_else(|| panic!("{key}: no record for {path}"));
    assert!(
        in_exact_pair || !via_sighting,
        "{key}: expected its own record"
    );
    assert_eq!(rec["title"], exp["title"], "{key}: title");
    assert_eq!(
        rec["published_at"], exp["published_at"],
        "{key}: published_at"
    );
    assert_eq!(rec["language"], exp["language"], "{key}: language");
    if let Some(at) = exp["published_at"].as_str() {
        assert_eq!(
            rec["published_date"],
            at.get(..10).unwrap(),
            "{key}: published_date"
        );
        assert_eq!(rec["date_precision"], "instant", "{key}: date_precision");
    }
    assert_eq!(rec["schema_version"], 2);
    let text = rec["text"].as_str().unwrap();
    for s in strs(&exp["must_contain"]) {
        assert!(text.contains(&s), "{key}: text lacks {s:?}\n---\n{text}");
    }
    for s in strs(&exp["must_not_contain"]) {
        if s == "BELTA" {
            assert!(
                !text.lines().any(|l| l.trim() == "BELTA"),
                "{key}: bare BELTA line left in text"
            );
        } else {
            assert!(
                !text.contains(&s),
                "{key}: text still has boilerplate {s:?}"
            );
        }
    }
    let ids: Vec<&str> = rec["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["source_id"].as_str())
        .collect();
    for agency in strs(&exp["attributions_include"]) {
        assert!(
            ids.iter().any(|id| id.starts_with(&agency)),
            "{key}: attributions {ids:?} lack {agency}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_site_end_to_end_second_run_and_reprocess() {
    let env = crate::util::demo_env().await;
    let (stop, sites, dir, cfg) = (&env.stop, &env.sites, &env.dir, env.cfg());

    let out = newsmill_async(dir.path(), &["run", "-c", cfg, "--since", "1990-01-01"]).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "first run failed:\n{err}");
    let records = corpus(&dir.path().join("normalized"));
    let oracle = expected();
    let articles: Vec<(&String, &Value)> =
        oracle.iter().filter(|(k, _)| !k.starts_with('_')).collect();
    for (key, exp) in &articles {
        let in_exact_pair = exp["duplicate_kind"] == "exact"
            || articles
                .iter()
                .any(|(_, o)| o["duplicate_kind"] == "exact" && o["duplicate_of"] == key.as_str());
        check_article(key, exp, &records, in_exact_pair);
    }
    // Each exact duplicate and its original share one record: one holds it, the other is a
    // sighting in its `also_seen_at`.
    for (key, exp) in articles
        .iter()
        .filter(|(_, e)| e["duplicate_kind"] == "exact")
    {
        let orig = &oracle[exp["duplicate_of"].as_str().unwrap()];
        let (a, a_seen) = record_for(&records, exp["url_path"].as_str().unwrap()).unwrap();
        let (b, b_seen) = record_for(&records, orig["url_path"].as_str().unwrap()).unwrap();
        assert_eq!(a["id"], b["id"], "{key}: one record for the pair");
        assert!(
            a_seen != b_seen,
            "{key}: exactly one of the pair is a sighting"
        );
    }
    // One record per distinct text: the exact duplicate is folded into its original.
    let exact = articles
        .iter()
        .filter(|(_, e)| e["duplicate_kind"] == "exact")
        .count();
    assert_eq!(records.len(), articles.len() - exact, "record count");
    let ids: HashSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), records.len(), "ids are unique");
    // The run summary counts the republished story as a near duplicate.
    let near = articles
        .iter()
        .filter(|(_, e)| e["duplicate_kind"] == "near")
        .count();
    assert!(near > 0, "the oracle has a near duplicate");
    let near_col = err
        .lines()
        .find(|l| l.starts_with("source "))
        .and_then(|h| h.split_whitespace().position(|c| c == "near"))
        .expect("summary header with a near column");
    assert!(
        err.lines().any(|l| l.starts_with("TOTAL")
            && l.split_whitespace().nth(near_col) == Some(&near.to_string())),
        "TOTAL row should show {near} near duplicate(s):\n{err}"
    );
    // Every record has exactly the properties the published JSON Schema lists as required,
    // and nothing the schema does not know.
    let schema: Value = serde_json::from_str(&newsmill::model::corpus_record_schema()).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for r in &records {
        for key in r.as_object().unwrap().keys() {
            assert!(
                props.contains_key(key),
                "record field {key} missing from the schema"
            );
        }
        for req in schema["required"].as_array().unwrap() {
            assert!(
                r.get(req.as_str().unwrap()).is_some(),
                "record lacks required {req}"
            );
        }
    }

    // robots.txt-disallowed and non-http links were never requested.
    let asked: Vec<String> = sites
        .belta_log
        .lock()
        .unwrap()
        .iter()
        .chain(sites.sb_log.lock().unwrap().iter())
        .cloned()
        .collect();
    assert!(
        asked.iter().any(|p| p == "/robots.txt"),
        "robots.txt fetched"
    );
    assert!(
        !asked
            .iter()
            .any(|p| p.starts_with("/printv") || p.starts_with("/search")),
        "disallowed path requested: {asked:?}"
    );
    assert!(err.contains("TOTAL"), "summary table printed:\n{err}");

    // Second run: nothing new fetched or written.
    let before = snapshot(&dir.path().join("normalized"));
    let article_requests = asked
        .iter()
        .filter(|p| p.contains("/view/") || p.starts_with("/en/"))
        .count();
    let out = newsmill_async(dir.path(), &["run", "-c", cfg, "--since", "1990-01-01"]).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "second run failed:\n{err}");
    assert_eq!(
        snapshot(&dir.path().join("normalized")),
        before,
        "second run changed the corpus"
    );
    let asked2: Vec<String> = sites
        .belta_log
        .lock()
        .unwrap()
        .iter()
        .chain(sites.sb_log.lock().unwrap().iter())
        .cloned()
        .collect();
    let article_requests2 = asked2
        .iter()
        .filter(|p| p.contains("/view/") || p.starts_with("/en/"))
        .count();
    assert_eq!(
        article_requests2, article_requests,
        "second run re-fetched articles"
    );

    // Reprocess twice: same corpus both times, with the same records as the live run.
    let out = newsmill_async(dir.path(), &["reprocess", "-c", cfg]).await;
    assert_eq!(code_err(&out).0, 0, "reprocess: {}", code_err(&out).1);
    let first = snapshot(&dir.path().join("normalized"));
    let out = newsmill_async(dir.path(), &["reprocess", "-c", cfg]).await;
    assert_eq!(code_err(&out).0, 0);
    assert_eq!(
        snapshot(&dir.path().join("normalized")),
        first,
        "reprocess is not idempotent"
    );
    let reprocessed: HashSet<String> = corpus(&dir.path().join("normalized"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let live: HashSet<String> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reprocessed, live,
        "reprocess gives other records than the live run"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_command_runs_offline_into_a_fresh_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo-out");
    let out = newsmill_async(dir.path(), &["demo", "--out", out_dir.to_str().unwrap()]).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("corpus:"), "{err}");
    assert!(corpus(&out_dir.join("normalized")).len() >= 10);
}
