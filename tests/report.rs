//! `newsmill report` end to end: the demo corpus's report as JSON and as HTML, the filters, and
//! the page opened in headless Chromium (no console errors, the expected numbers in the DOM,
//! a screenshot). Under `CI=true` a missing Chromium fails the browser test; elsewhere the
//! test says by name that it was skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{code_err, corpus, newsmill};

/// Runs `demo` into `dir/demo`; returns the demo folder.
fn demo(dir: &Path) -> PathBuf {
    let out_dir = dir.join("demo");
    let out = newsmill(dir, &["demo", "--out", out_dir.to_str().unwrap()]);
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "{err}");
    let page = out_dir.join("report.html");
    assert!(
        err.contains(&format!("report:      {}", page.display())),
        "the demo names its report page:\n{err}"
    );
    out_dir
}

/// The demo's republished story, from the corpus itself: (first publisher's record, copy).
fn republished(demo: &Path) -> (Value, Value) {
    let records = corpus(&demo.join("normalized"));
    let copy = records
        .iter()
        .find(|r| r["near_duplicate_of"].is_string() && r["source_id"] != "belta_en")
        .expect("the demo has a story republished by SB")
        .clone();
    let first = records
        .iter()
        .find(|r| r["id"] == copy["near_duplicate_of"])
        .expect("its canonical record")
        .clone();
    (first, copy)
}

fn lag_s(first: &Value, copy: &Value) -> i64 {
    let t = |r: &Value| {
        chrono::DateTime::parse_from_rfc3339(r["published_at"].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    t(copy) - t(first)
}

#[test]
fn report_json_and_filters_on_the_demo_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo(dir.path());
    let cfg = demo.join("newsmill.toml");
    let cfg = cfg.to_str().unwrap();
    let (first, copy) = republished(&demo);
    let out = newsmill(dir.path(), &["report", "-c", cfg, "--format", "json"]);
    assert_eq!(code_err(&out).0, 0, "{}", code_err(&out).1);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = corpus(&demo.join("normalized")).len();
    assert_eq!(r["records"], records);
    let pairs = r["propagation"]["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0]["from"], first["source_id"]);
    assert_eq!(pairs[0]["to"], copy["source_id"]);
    assert_eq!(pairs[0]["stories"], 1);
    assert_eq!(pairs[0]["median_lag_s"], lag_s(&first, &copy));
    let story = &r["propagation"]["top_stories"][0];
    assert_eq!(story["copies"][1]["url"], copy["url"]);
    assert_eq!(story["copies"][1]["similarity"], copy["similarity"]);
    // One source only: no propagation; a window before the copy: no pair either.
    let only = newsmill(
        dir.path(),
        &[
            "report", "-c", cfg, "--format", "json", "--source", "belta_en",
        ],
    );
    let only: Value = serde_json::from_slice(&only.stdout).unwrap();
    assert_eq!(only["propagation"]["pairs"].as_array().unwrap().len(), 0);
    assert!(only["volume"]["sources"].as_array().unwrap().len() == 1);
    let until = first["published_date"].as_str().unwrap();
    let before = newsmill(
        dir.path(),
        &["report", "-c", cfg, "--format", "json", "--until", until],
    );
    let before: Value = serde_json::from_slice(&before.stdout).unwrap();
    assert!(before["records"].as_u64().unwrap() < records as u64);
    assert_eq!(before["propagation"]["pairs"].as_array().unwrap().len(), 0);
    let bad = newsmill(dir.path(), &["report", "-c", cfg, "--source", "nosuch"]);
    assert_eq!(code_err(&bad).0, 2);
}

/// Chromium's binary, if installed.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
}

/// Runs headless Chromium on `page` with `extra` flags and a fresh profile, killed after 90 s.
fn headless(bin: &Path, profile: &Path, page: &Path, extra: &[&str]) -> Output {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// Console messages Chromium logged for the page (`…:CONSOLE:…] "message", source: …`).
fn console_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn demo_report_in_headless_chromium() {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but chromium is not installed (.ci/run installs it with apt-get)"
        );
        eprintln!("SKIPPED demo_report_in_headless_chromium: no chromium on PATH");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The console check can fail: a page with a script error is caught.
    let broken = dir.path().join("broken.html");
    std::fs::write(&broken, "<p>x</p><script>noSuchFunction();</script>").unwrap();
    let out = headless(&bin, &dir.path().join("p0"), &broken, &["--dump-dom"]);
    assert!(
        console_lines(&out.stderr)
            .iter()
            .any(|l| l.contains("noSuchFunction")),
        "chromium's console log is not where this test looks:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let demo = demo(dir.path());
    let page = demo.join("report.html");
    let (first, copy) = republished(&demo);
    let out = headless(&bin, &dir.path().join("p1"), &page, &["--dump-dom"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        console_lines(&out.stderr),
        Vec::<String>::new(),
        "console messages"
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    // The BelTA → SB pair: names, one story, the lag as the page writes it.
    let lag = newsmill::report::html::duration(lag_s(&first, &copy));
    let pairs = section(&dom, r#"id="pairs-table""#);
    let row = format!(
        "<td>BelTA (belta_en)</td><td>SB. Belarus Today (sb_en)</td><td class=\"num\" data-v=\"1\">1</td><td class=\"num\" data-v=\"{}\">{lag}</td>",
        lag_s(&first, &copy)
    );
    assert!(pairs.contains(&row), "{row}\nnot in\n{pairs}");
    assert!(dom.contains(r#"<strong id="multi-source-clusters">1</strong>"#));
    let story = section(&dom, r#"id="story-0-table""#);
    assert!(story.contains(copy["url"].as_str().unwrap()), "{story}");
    // SB credits BelTA in its closing line on two records of the demo.
    let based_on = corpus(&demo.join("normalized"))
        .iter()
        .filter(|r| r["source_id"] == "sb_en")
        .filter(|r| {
            r["attributions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["source_id"] == "belta_en" && a["kind"] == "based_on")
        })
        .count();
    let table = section(&dom, r#"id="credits-based_on-table""#);
    assert!(
        table.contains(&format!("data-v=\"{based_on}\">{based_on}</td>")),
        "{table}"
    );
    assert!(dom.contains("<svg"), "charts are inline SVG");

    // With JavaScript off the numbers are there all the same: they are in the file as
    // written, before any script runs (`--dump-dom` itself needs scripts, so it cannot show
    // this).
    assert!(std::fs::read_to_string(&page).unwrap().contains(&row));

    let shot = dir.path().join("report.png");
    let arg = format!("--screenshot={}", shot.display());
    let out = headless(
        &bin,
        &dir.path().join("p3"),
        &page,
        &["--hide-scrollbars", "--window-size=1100,1500", &arg],
    );
    let png = std::fs::read(&shot)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if let Ok(keep) = std::env::var("NEWSMILL_REPORT_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// The element that opens with `marker` up to its closing `</table>`.
fn section<'a>(dom: &'a str, marker: &str) -> &'a str {
    let start = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the page"));
    let rest = dom.get(start..).unwrap_or_default();
    let end = rest.find("</table>").map_or(rest.len(), |e| e + 8);
    rest.get(..end).unwrap_or_default()
}
