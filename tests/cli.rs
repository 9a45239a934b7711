//! The command-line contract: `check`, `extract`, exit codes.

use serde_json::Value;

use crate::util::{code_err, fixture, newsmill};

const SEED: &str = "sb/en/together-we-are-a-formidable-force-and-we-will-never-be-defeated-.html";

#[test]
fn shipped_config_is_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = newsmill(root, &["check", "-c", "config/sources.toml"]);
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn check_reports_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[fetch]\nconcurrency = 0\n[[sources]]\nid = \"Bad Id\"\nname = \"x\"\nfeeds = [\"ftp://x/y\"]\ntimezone = \"Nowhere/City\"\n",
    )
    .unwrap();
    let out = newsmill(dir.path(), &["check", "-c", cfg.to_str().unwrap()]);
    let (code, err) = code_err(&out);
    assert_eq!(code, 2, "{err}");
    for key in [
        "fetch.concurrency",
        "sources[0].id",
        "sources[0].feeds[0]",
        "sources[0].timezone",
        "bad.toml",
    ] {
        assert!(err.contains(key), "missing {key}:\n{err}");
    }
    let out = newsmill(dir.path(), &["check", "-c", "does-not-exist.toml"]);
    let (code, err) = code_err(&out);
    assert_eq!(code, 2);
    assert!(err.contains("does-not-exist.toml"), "{err}");
}

fn extract(args: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let out = newsmill(dir.path(), args);
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "{err}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn extract_seed_page_with_shipped_config() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sources.toml");
    let file = fixture(SEED);
    let v = extract(&[
        "extract",
        "-c",
        cfg,
        "--source",
        "sb_en",
        file.to_str().unwrap(),
    ]);
    assert_eq!(v.len(), 1);
    let a = &v[0];
    for field in [
        "file",
        "title",
        "text",
        "published_at",
        "language",
        "authors",
        "attributions",
    ] {
        assert!(a.get(field).is_some(), "missing {field}");
    }
    assert_eq!(
        a["title"],
        "‘Together we are a formidable force. And we will never be defeated!’"
    );
    assert_eq!(a["published_at"], "2025-05-05T10:31:24+03:00");
    assert_eq!(a["language"], "en");
    let text = a["text"].as_str().unwrap();
    assert!(
        !text.lines().any(|l| l.trim().eq_ignore_ascii_case("belta")),
        "bare credit line left:\n{text}"
    );
    assert!(
        !text.contains("Based on materials of"),
        "closing attribution line left in text"
    );
    assert!(text.contains("tête-à-tête for exactly four hours."));
    let ids: Vec<&str> = a["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["source_id"].as_str())
        .collect();
    for id in ["sb_en", "belta_en", "pul_pervogo"] {
        assert!(ids.contains(&id), "{ids:?} lacks {id}");
    }
    assert_eq!(a["photo_credits"].as_array().unwrap().len(), 3);
}

#[test]
fn extract_windows_1251_page_without_config() {
    let file = fixture(
        "belta/president/view/lukashenko-i-putin-vozlozhili-tsvety-k-memorialu-na-mamaevom-kurgane-711958-2025/index.html",
    );
    let v = extract(&[
        "extract",
        "-c",
        "no-such-config.toml",
        file.to_str().unwrap(),
    ]);
    let a = &v[0];
    assert_eq!(a["language"], "ru");
    let text = a["text"].as_str().unwrap();
    assert!(
        text.chars()
            .filter(|c| ('\u{0400}'..='\u{04FF}').contains(c))
            .count()
            > 300,
        "{text}"
    );
    assert!(!text.contains('\u{FFFD}'), "mojibake: {text}");
    assert_eq!(a["published_at"], "2025-04-29T13:05:00+03:00", "{a}");
}

#[test]
fn extract_reports_unreadable_files_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture(SEED);
    let out = newsmill(
        dir.path(),
        &["extract", "missing.html", good.to_str().unwrap()],
    );
    let (code, _) = code_err(&out);
    assert_eq!(code, 1);
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["error"].as_str().unwrap().contains("missing.html"));
    assert!(lines[1]["text"].as_str().unwrap().len() > 1000);
}

#[test]
fn committed_json_schema_matches_the_record_type() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/corpus-record.schema.json"
    ))
    .unwrap();
    assert_eq!(
        committed,
        newsmill::model::corpus_record_schema(),
        "schema/corpus-record.schema.json is stale: run `cargo run -- schema > schema/corpus-record.schema.json`"
    );
}

#[test]
fn schema_requires_the_core_fields() {
    let schema: Value = serde_json::from_str(&newsmill::model::corpus_record_schema()).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for field in [
        "schema_version",
        "id",
        "content_sha256",
        "text",
        "attributions",
        "also_seen_at",
    ] {
        assert!(required.contains(&field), "{field} not required in schema");
    }
}
