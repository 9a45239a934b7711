//! What a new user and an operator see (issue 11): network failures named by kind and host,
//! the demo's own config and next commands, no warnings for what the demo stages on purpose,
//! URL fields free of unreplaced placeholders, JSON-lines logs, colour only on a terminal,
//! `status` output, and exit codes as the README documents them.
// See: issue 11.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{code_err, corpus, newsmill, newsmill_async};

/// Runs the binary with extra environment variables.
fn newsmill_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsmill"));
    cmd.args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "newsmill=info")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("newsmill binary runs")
}

/// A config whose three sources fail before any HTTP answer, one per kind: a name in the
/// reserved `.invalid` TLD (never resolves), a 127.0.0.1 port nothing listens on, and an
/// `https` URL served by a plain-HTTP server on 127.0.0.1.
fn unreachable_config(dir: &Path, closed_port: u16, plain_http: &str) -> String {
    let tls = plain_http.replace("http://", "https://");
    let d = dir.display();
    format!(
        r#"
[storage]
raw_dir = "{d}/raw"
normalized_dir = "{d}/normalized"
state_dir = "{d}/state"
[fetch]
allow_private_networks = true
max_retries = 0
[[sources]]
id = "nodns"
name = "No DNS"
feeds = ["https://news.example.invalid/rss"]
[[sources]]
id = "closed"
name = "Closed port"
feeds = ["http://127.0.0.1:{closed_port}/rss"]
[[sources]]
id = "plaintls"
name = "Not TLS"
feeds = ["{tls}/rss"]
"#
    )
}

/// A server on 127.0.0.1 that answers every connection with a plain-HTTP 400 at once (what
/// an `https` client meeting a plain-HTTP port gets). Returns its `http://` base.
async fn plain_http_server(stop: &tokio_util::sync::CancellationToken) -> String {
    use tokio::io::AsyncWriteExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                c = listener.accept() => c,
                () = stop.cancelled() => return,
            };
            if let Ok((mut s, _)) = conn {
                let _ = s
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
                let _ = s.shutdown().await;
            }
        }
    });
    base
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn run_report(dir: &Path) -> Value {
    let runs = dir.join("state/runs");
    let file = std::fs::read_dir(&runs).unwrap().flatten().next().unwrap();
    serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_run_names_dns_connect_and_tls_with_the_host_and_points_to_demo() {
    let stop = tokio_util::sync::CancellationToken::new();
    let plain = plain_http_server(&stop).await;
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let cfg = dir.path().join("offline.toml");
    std::fs::write(&cfg, unreachable_config(dir.path(), port, &plain)).unwrap();

    let out = newsmill_async(dir.path(), &["run", "-c", cfg.to_str().unwrap()]).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 1, "{err}");
    let tls_host = plain.trim_start_matches("http://");
    for line in [
        "cannot resolve host news.example.invalid".to_owned(),
        format!("cannot connect to 127.0.0.1:{port}"),
        format!("TLS handshake with {tls_host} failed"),
    ] {
        assert!(err.contains(&line), "missing {line:?}:\n{err}");
    }
    let hint: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("network looks unreachable"))
        .collect();
    assert_eq!(hint.len(), 1, "one hint line:\n{err}");
    assert!(hint[0].contains("newsmill demo"), "{err}");
    assert!(
        !err.contains("robots.txt of the site is unavailable"),
        "{err}"
    );

    let r = run_report(dir.path());
    for (id, kind) in [("nodns", "dns"), ("closed", "connect"), ("plaintls", "tls")] {
        assert_eq!(
            r["sources"][id]["failures"],
            serde_json::json!({ kind: 1 }),
            "{id}: {r:#}"
        );
        assert_eq!(r["sources"][id]["network_failures"], 1, "{id}");
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_json_lines_with_the_summary_as_events() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("offline.toml");
    let stop = tokio_util::sync::CancellationToken::new();
    let plain = plain_http_server(&stop).await;
    std::fs::write(&cfg, unreachable_config(dir.path(), closed_port(), &plain)).unwrap();
    let demo_dir = dir.path().join("demo");
    let demo_out = demo_dir.to_str().unwrap();
    let cases: [Vec<&str>; 4] = [
        vec!["--log-format", "json", "run", "-c", cfg.to_str().unwrap()],
        vec!["--log-format", "json", "demo", "--out", demo_out],
        vec!["--log-format", "json", "status", "-c", "missing.toml"],
        vec!["--log-format", "json", "run", "--no-such-flag"],
    ];
    let mut messages = Vec::new();
    for args in &cases {
        let out = newsmill_async(dir.path(), args).await;
        let (_, err) = code_err(&out);
        assert!(!err.trim().is_empty(), "{args:?}: nothing logged");
        for line in err.lines() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {line:?}"));
            assert!(v.is_object(), "{line}");
            messages.push(v);
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("TOTAL"), "{args:?}: table in JSON mode");
    }
    let has = |msg: &str| messages.iter().any(|m| m["message"] == msg);
    for msg in [
        "source summary",
        "run summary",
        "demo finished",
        "fatal",
        "invalid command line",
    ] {
        assert!(has(msg), "no {msg:?} event");
    }
    let run = messages
        .iter()
        .find(|m| m["message"] == "run summary" && m["mode"] == "run")
        .unwrap();
    assert_eq!(run["failed"], 3);
    assert!(
        messages
            .iter()
            .any(|m| m["source"] == "nodns" && m["failures"] == "dns=1"),
        "per-source summary event"
    );
    stop.cancel();
}

/// Every string value of a record, with its JSON path.
fn strings<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push((path, s)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| strings(x, format!("{path}[{i}]"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| strings(x, format!("{path}.{k}"), out)),
        _ => {}
    }
}

/// Item 4: every URL-valued field of every record is a URL on the demo sites, with no
/// placeholder left (raw or percent-encoded) anywhere in the record.
fn check_demo_urls(records: &[Value]) {
    let mut url_fields = 0;
    for r in records {
        let mut all = Vec::new();
        strings(r, String::new(), &mut all);
        for (path, s) in &all {
            assert!(
                !s.contains("{{") && !s.to_ascii_uppercase().contains("%7B%7B"),
                "{}: placeholder left in {path}: {s}",
                r["url"]
            );
        }
        let urls = all.iter().filter(|(p, _)| {
            let last = p.rsplit('.').next().unwrap_or("");
            ["url", "canonical_url", "image"].contains(&last)
        });
        for (path, s) in urls {
            let u = url::Url::parse(s).unwrap_or_else(|e| panic!("{path}: {s}: {e}"));
            assert_eq!(u.host_str(), Some("127.0.0.1"), "{path}: {s}");
            url_fields += 1;
        }
    }
    // url + canonical_url per record at least, images and sightings besides.
    assert!(url_fields > 2 * records.len(), "{url_fields} URL fields");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_then_its_next_commands_work_without_writing_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo-out");
    let out = newsmill_async(dir.path(), &["demo", "--out", out_dir.to_str().unwrap()]).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "{err}");
    // Item 3: nothing the demo stages on purpose is a warning.
    assert!(
        !err.lines()
            .any(|l| l.contains(" WARN ") || l.contains(" ERROR ")),
        "the demo logs warnings:\n{err}"
    );
    // Item 6: stderr is a pipe here, so no colour.
    assert!(
        !err.contains('\u{1b}'),
        "ANSI escapes in piped logs:\n{err}"
    );
    let records = corpus(&out_dir.join("normalized"));
    assert!(records.len() >= 10, "{}", records.len());
    check_demo_urls(&records);

    // Item 2: the config sits in the folder and every suggested command runs as printed.
    let config = out_dir.join(newsmill::demo::CONFIG_FILE);
    assert!(config.is_file(), "{err}");
    let suggested: Vec<Vec<String>> = err
        .lines()
        .skip_while(|l| !l.starts_with("next, try:"))
        .filter(|l| l.contains(newsmill::demo::CONFIG_FILE))
        .map(|l| l.split_whitespace().skip(1).map(str::to_owned).collect())
        .collect();
    let names: Vec<&str> = suggested.iter().map(|a| a[0].as_str()).collect();
    assert_eq!(names, ["stats", "status", "export", "report"], "{err}");
    for args in &suggested {
        assert!(args.contains(&config.display().to_string()), "{args:?}");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Run from another folder: the printed paths must not depend on the current one.
        let out = newsmill(Path::new("/"), &args);
        let (code, err) = code_err(&out);
        assert_eq!(code, 0, "{args:?}: {err}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        match args[0] {
            "stats" => assert!(
                stdout.starts_with(&format!("{} records", records.len())),
                "{stdout}"
            ),
            "export" => assert_eq!(stdout.lines().count(), records.len()),
            "report" => {
                let report: Value = serde_json::from_str(&stdout).unwrap();
                assert_eq!(report["records"], records.len(), "{stdout}");
            }
            _ => assert!(stdout.contains("belta_en") && stdout.contains("sb_en")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_table_and_json_agree_in_order_and_show_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("d");
    let out = newsmill_async(dir.path(), &["demo", "--out", out_dir.to_str().unwrap()]).await;
    assert_eq!(code_err(&out).0, 0);
    let cfg = out_dir.join(newsmill::demo::CONFIG_FILE);
    let cfg = cfg.to_str().unwrap();
    let table = String::from_utf8(newsmill(dir.path(), &["status", "-c", cfg]).stdout).unwrap();
    let json: Value =
        serde_json::from_slice(&newsmill(dir.path(), &["status", "-c", cfg, "--json"]).stdout)
            .unwrap();
    let json_ids: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    let table_ids: Vec<&str> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(table_ids, json_ids);
    let last_run = json[0]["last_run"].as_str().unwrap();
    assert_eq!(last_run.len(), "2026-01-01T00:00:00Z".len(), "{last_run}");
    assert!(table.contains(last_run), "{table}");
    let widths: Vec<usize> = table.lines().map(str::len).collect();
    assert!(widths.windows(2).all(|w| w[0] == w[1]), "ragged:\n{table}");
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    // `script` gives the binary a pseudo-terminal; skip where it is missing.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED colour_only_on_a_terminal: no `script` command for a pty");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_newsmill");
    // A first run with no sources logs an info line (the empty index is built) and prints its
    // table; each call gets a fresh folder so that line is always there.
    let fresh = |name: &str| {
        let d = dir.path().join(name);
        let cfg = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{d}/n\"\nstate_dir = \"{d}/s\"\n",
                d = d.display()
            ),
        )
        .unwrap();
        cfg.display().to_string()
    };
    let tty = |name: &str, no_color: Option<&str>| {
        let line = format!("{bin} run -c {}", fresh(name));
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env("RUST_LOG", "newsmill=info")
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    let coloured = tty("a", None);
    assert!(coloured.contains("INFO"), "{coloured}");
    assert!(has_sgr(&coloured), "no colour on a terminal:\n{coloured:?}");
    let plain = tty("b", Some("1"));
    assert!(plain.contains("INFO"), "{plain}");
    assert!(!has_sgr(&plain), "colour despite NO_COLOR:\n{plain:?}");
    let piped = newsmill_env(dir.path(), &["run", "-c", &fresh("c")], &[]);
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(err.contains("INFO"), "{err}");
    assert!(!err.contains('\u{1b}'), "colour in a pipe:\n{err:?}");
}

/// Whether `s` holds an ANSI colour/style sequence (`ESC [ digits ; … m`); cursor movements a
/// terminal progress display may send are not colour.
fn has_sgr(s: &str) -> bool {
    s.split('\u{1b}').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let params = r.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';');
            params.starts_with('m')
        })
    })
}

fn extract_lines(cwd: &Path, args: &[&str]) -> Vec<Value> {
    let out = newsmill(cwd, args);
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "{args:?}: {err}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const SEED: &str = "sb/en/together-we-are-a-formidable-force-and-we-will-never-be-defeated-.html";

// See: issue 11, item 10.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extract_prints_corpus_records_with_the_content_id_and_no_invented_publisher() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = newsmill_async(dir.path(), &["demo", "--out", demo.to_str().unwrap()]).await;
    assert_eq!(code_err(&out).0, 0);
    let records = corpus(&demo.join("normalized"));
    let cfg = demo.join(newsmill::demo::CONFIG_FILE);
    let file = crate::util::fixture(SEED);
    let file = file.to_str().unwrap();

    // With the source the page was crawled for: the very record the corpus holds.
    let line = &extract_lines(
        dir.path(),
        &[
            "extract",
            "-c",
            cfg.to_str().unwrap(),
            "--source",
            "sb_en",
            file,
        ],
    )[0];
    let in_corpus = records
        .iter()
        .find(|r| r["id"] == line["id"])
        .unwrap_or_else(|| panic!("extract id {} is not a corpus id", line["id"]));
    let keys = |v: &Value| -> std::collections::BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    };
    let mut want = keys(in_corpus);
    want.insert("file".into());
    assert_eq!(
        keys(line),
        want,
        "extract and corpus records differ in shape"
    );
    for field in [
        "content_sha256",
        "word_count",
        "text",
        "title",
        "published_at",
    ] {
        assert_eq!(line[field], in_corpus[field], "{field}");
    }
    assert_eq!(line["file"], file);
    assert_eq!(line["raw"]["file"], file);

    // Without a config or source, and with a foreign --url: nobody is credited as publisher.
    for extra in [vec![], vec!["--url", "https://www.wsj.com/articles/x-123"]] {
        let mut args = vec!["extract", "-c", "no-such.toml"];
        args.extend(extra.iter().copied());
        args.push(file);
        let line = &extract_lines(dir.path(), &args)[0];
        assert_eq!(line["source_id"], "adhoc", "{args:?}");
        let credits = line["attributions"].as_array().unwrap();
        assert!(
            !credits.iter().any(|a| a["kind"] == "publisher"),
            "{args:?}: invented publisher in {credits:?}"
        );
        let text = serde_json::to_string(credits).unwrap();
        assert!(!text.contains("local") && !text.contains("wsj"), "{text}");
        // The page's own credits are still found (by name: no config, no source ids).
        assert!(text.to_lowercase().contains("belta"), "{text}");
        let id = line["id"].as_str().unwrap();
        let sha = line["content_sha256"].as_str().unwrap();
        assert_eq!(id, format!("a{}", sha.get(..31).unwrap()));
        let words = line["text"].as_str().unwrap().split_whitespace().count();
        assert_eq!(line["word_count"], words);
    }
}

// See: issue 11, item 8. On a terminal each source's bar is labelled with its name and its
// fetched / new / failed counts and shows an ETA, not the raw span (`source{id=…}`).
#[test]
fn progress_bars_show_the_source_name_counts_and_eta() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED progress_bars: no `script` command for a pty");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "{} demo --out {}",
        env!("CARGO_BIN_EXE_newsmill"),
        dir.path().join("d").display()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("RUST_LOG", "newsmill=info")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    for name in ["BelTA", "SB. Belarus Today"] {
        let bar = screen
            .split(['\r', '\n', '\u{1b}'])
            .find(|l| l.contains(&format!("{name}  fetched ")) && l.contains("ETA"))
            .unwrap_or_else(|| panic!("no bar with an ETA for {name}:\n{screen}"));
        assert!(
            bar.contains(" · new ") && bar.contains(" · failed "),
            "{bar}"
        );
    }
    assert!(!screen.contains("source{id="), "raw span label:\n{screen}");
}
