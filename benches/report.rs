//! Report bench: a synthetic corpus of N records (default 1 000 000; fixed seed) is written to
//! a temporary folder as segments of 1 000 lines, then `newsmill report` makes the HTML page
//! and the JSON from it, each under `/usr/bin/time -v`, so the wall time and the peak RSS of
//! the report process itself are what is printed. `stats` and `export` run the same way, to
//! show that they stream too.
//!
//! The corpus: ten crawled sources; stories of 6 paragraphs of 40 words (a record is about
//! 4 KB of JSON, as a short agency story with its blocks); a quarter of the stories are
//! republished by one to four other sources, minutes to days later, as near duplicates in the
//! first publisher's cluster; credits of every kind, resolved to sources or (Telegram channels,
//! foreign agencies) not; a few records undated or with warnings; 48 run reports in `state/`.
//!
//! `cargo bench --bench report` (or `-- 100000` for a smaller corpus). Exits 1 when the report
//! takes more than 60 s or 500 MB.

#[path = "common/rng.rs"]
mod rng;
#[path = "common/text.rs"]
mod text;

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use rng::Rng;
use text::sentence;

/// The issue's bounds for the report at 1 000 000 records.
const MAX_WALL_S: f64 = 60.0;
const MAX_RSS_MB: f64 = 500.0;

const SEGMENT: usize = 1000;
const SOURCES: [(&str, &str); 10] = [
    ("belta_en", "BelTA"),
    ("belta_ru", "БелТА"),
    ("sb_en", "SB. Belarus Today"),
    ("sb_ru", "СБ"),
    ("president", "president.gov.by"),
    ("tass_en", "TASS"),
    ("tass_ru", "ТАСС"),
    ("ria", "RIA Novosti"),
    ("interfax", "Interfax"),
    ("xinhua", "Xinhua"),
];
const CHANNELS: [&str; 8] = [
    "Pul Pervogo",
    "Reuters",
    "AP",
    "AFP",
    "Nexta",
    "Telegram channel Zerkalo",
    "Bloomberg",
    "Kyodo",
];
/// Seconds a republication trails the first copy: under an hour, hours, a day or two, a week.
fn lag(rng: &mut Rng) -> i64 {
    let r = rng.below(100);
    let (lo, hi) = match r {
        0..40 => (60, 3600),
        40..70 => (3600, 6 * 3600),
        70..90 => (6 * 3600, 48 * 3600),
        _ => (48 * 3600, 7 * 86_400),
    };
    lo + rng.below((hi - lo) as usize) as i64
}

/// One copy of a story as a JSON line.
struct Copy<'a> {
    n: usize,
    source: usize,
    first: usize,
    published: i64,
    cluster: &'a str,
    canonical: bool,
}

fn line(out: &mut String, c: &Copy, rng: &mut Rng, paragraphs: &[String], title: &str) {
    let (src, name) = SOURCES[c.source];
    let id = format!("a{:031x}", c.n as u128 * 0x1234_5678_9abc_def1 + 1);
    let id = if c.canonical {
        c.cluster.to_owned()
    } else {
        id
    };
    let undated = rng.below(100) < 2;
    let minsk = chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset");
    let at = chrono::DateTime::from_timestamp(c.published, 0)
        .expect("valid time")
        .with_timezone(&minsk);
    let (published_at, published_date) = if undated {
        ("null".to_owned(), "null".to_owned())
    } else {
        (
            format!("\"{}\"", at.to_rfc3339()),
            format!("\"{}\"", at.date_naive()),
        )
    };
    let fetched = chrono::DateTime::from_timestamp(c.published + 600 + rng.below(3000) as i64, 0)
        .expect("valid time")
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut credits = format!(
        r#"{{"name":"{name}","source_id":"{src}","kind":"publisher","evidence":"https://{src}.example/","found_in":null}}"#
    );
    let mut credit = |name: &str, source: Option<&str>, kind: &str| {
        let sid = source.map_or_else(|| "null".to_owned(), |s| format!("\"{s}\""));
        let _ = write!(
            credits,
            r#",{{"name":"{name}","source_id":{sid},"kind":"{kind}","evidence":"credited here","found_in":"body"}}"#
        );
    };
    if c.canonical && rng.below(2) == 0 {
        credit(name, Some(src), "dateline");
    }
    if !c.canonical {
        let (fsrc, fname) = SOURCES[c.first];
        credit(fname, Some(fsrc), "based_on");
    }
    if rng.below(10) < 3 {
        let (psrc, pname) = SOURCES[rng.below(SOURCES.len())];
        credit(pname, Some(psrc), "photo");
    }
    if rng.below(10) < 2 {
        credit(CHANNELS[rng.below(CHANNELS.len())], None, "cited");
    }
    let blocks: Vec<String> = paragraphs
        .iter()
        .map(|p| format!(r#"{{"kind":"paragraph","text":"{p}"}}"#))
        .collect();
    let warnings = if rng.below(100) < 3 {
        r#"["no date found"]"#
    } else {
        "[]"
    };
    let (near, sim, cont, reason) = if c.canonical {
        (
            "null".to_owned(),
            "null".to_owned(),
            "null".to_owned(),
            "null",
        )
    } else {
        (
            format!("\"{}\"", c.cluster),
            format!("{:.4}", 0.6 + rng.below(4000) as f64 / 10_000.0),
            format!("{:.4}", 0.8 + rng.below(2000) as f64 / 10_000.0),
            "\"jaccard\"",
        )
    };
    let _ = writeln!(
        out,
        r#"{{"schema_version":2,"id":"{id}","content_sha256":"{:064x}","url":"https://{src}.example/news/{n}","canonical_url":"https://{src}.example/news/{n}","source_id":"{src}","title":"{title}","description":null,"text":"{text}","blocks":[{blocks}],"published_at":{published_at},"published_date":{published_date},"published_local":null,"date_precision":"instant","date_source":"meta","modified_at":null,"language":"en","authors":["A. Writer"],"attributions":[{credits}],"photo_credits":[],"image":null,"images":[],"tags":["politics"],"extractor":{{"name":"generic","version":"0.1.0"}},"warnings":{warnings},"fetched_at":"{fetched}","raw":{{"file":"2025/01/01/x.warc.gz","offset":{off},"length":4000}},"word_count":240,"also_seen_at":[],"cluster_id":"{cluster}","near_duplicate_of":{near},"similarity":{sim},"containment":{cont},"link_reason":{reason}}}"#,
        c.n as u128 * 0xfeed_beef,
        n = c.n,
        text = paragraphs.join("\\n\\n"),
        blocks = blocks.join(","),
        off = c.n * 4000,
        cluster = c.cluster,
    );
}

/// Writes `n` records; returns the corpus size in bytes.
fn generate(dir: &Path, n: usize) -> std::io::Result<u64> {
    let corpus = dir.join("normalized");
    fs::create_dir_all(&corpus)?;
    let mut written = 0;
    let mut bytes = 0;
    let mut story = 0usize;
    let mut seg = 0;
    let mut buf = String::with_capacity(SEGMENT * 5000);
    let mut in_segment = 0;
    while written < n {
        let mut rng = Rng(story as u64 * 0x9e37 + 11);
        let first = rng.below(SOURCES.len());
        let published = 1_704_067_200 + rng.below(730 * 86_400) as i64;
        let paragraphs: Vec<String> = (0..6).map(|_| sentence(&mut rng, 40)).collect();
        let title = sentence(&mut rng, 8);
        let copies = match rng.below(100) {
            0..75 => 0,
            75..90 => 1,
            90..97 => 2,
            _ => 3 + rng.below(2),
        };
        let cluster = format!("a{:031x}", (written as u128) * 0x1234_5678_9abc_def1 + 1);
        let mut others: Vec<usize> = (0..SOURCES.len()).filter(|&s| s != first).collect();
        for k in 0..=copies {
            if written == n {
                break;
            }
            let (source, at) = if k == 0 {
                (first, published)
            } else {
                (
                    others.swap_remove(rng.below(others.len())),
                    published + lag(&mut rng),
                )
            };
            let c = Copy {
                n: written,
                source,
                first,
                published: at,
                cluster: &cluster,
                canonical: k == 0,
            };
            line(&mut buf, &c, &mut rng, &paragraphs, &title);
            written += 1;
            in_segment += 1;
            if in_segment == SEGMENT || written == n {
                seg += 1;
                let path = corpus.join(format!("part-{seg:06}.jsonl"));
                let mut out = BufWriter::new(fs::File::create(&path)?);
                out.write_all(buf.as_bytes())?;
                out.flush()?;
                bytes += buf.len() as u64;
                buf.clear();
                in_segment = 0;
            }
        }
        story += 1;
    }
    run_reports(dir)?;
    fs::write(
        dir.join("bench.toml"),
        "[storage]\nraw_dir = \"raw\"\nnormalized_dir = \"normalized\"\nstate_dir = \"state\"\n",
    )?;
    Ok(bytes)
}

/// 48 run reports (one per half hour of a day) for the health section.
fn run_reports(dir: &Path) -> std::io::Result<()> {
    let runs = dir.join("state/runs");
    fs::create_dir_all(&runs)?;
    for i in 0..48 {
        let started =
            chrono::DateTime::from_timestamp(1_767_225_600 + i * 1800, 0).expect("valid time");
        let mut sources = String::new();
        for (k, (src, _)) in SOURCES.iter().enumerate() {
            let sep = if k == 0 { "" } else { "," };
            let fails = if (i + k as i64) % 7 == 0 {
                r#"{"timeout":1,"status_503":2}"#
            } else {
                "{}"
            };
            let _ = write!(
                sources,
                r#"{sep}"{src}":{{"fetched":20,"selector_misses":{},"failures":{fails}}}"#,
                i % 3
            );
        }
        let id = started.format("%Y%m%dT%H%M%SZ-1");
        fs::write(
            runs.join(format!("{id}.json")),
            format!(
                r#"{{"run_id":"{id}","mode":"run","started":"{}","sources":{{{sources}}}}}"#,
                started.to_rfc3339()
            ),
        )?;
    }
    Ok(())
}

/// Runs one newsmill command under `/usr/bin/time -v`; returns (wall seconds, peak RSS in MB).
fn timed(dir: &Path, args: &[&str]) -> (f64, f64) {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_newsmill"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .output()
        .expect("run /usr/bin/time");
    let wall = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed:\n{stderr}");
    let rss_kb: f64 = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    (wall, rss_kb / 1024.0)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    let bytes = generate(dir.path(), n).expect("generate corpus");
    println!(
        "generated {n} records, {:.0} MB of JSONL, in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    // Let the kernel finish writing the corpus out first: otherwise the first timed run reads
    // while gigabytes of dirty pages are being flushed, and measures the disk, not the report.
    let synced = Command::new("sync").status().is_ok_and(|s| s.success());
    println!("sync: {}", if synced { "done" } else { "failed" });
    let runs: [(&str, &[&str]); 4] = [
        (
            "report (HTML)",
            &["report", "-c", "bench.toml", "-o", "report.html"],
        ),
        (
            "report --format json",
            &[
                "report",
                "-c",
                "bench.toml",
                "--format",
                "json",
                "-o",
                "report.json",
            ],
        ),
        ("stats --json", &["stats", "-c", "bench.toml", "--json"]),
        (
            "export (JSONL to /dev/null)",
            &["export", "-c", "bench.toml", "-o", "/dev/null"],
        ),
    ];
    let mut over = false;
    for (label, args) in runs {
        let (wall, rss) = timed(dir.path(), args);
        println!(
            "{label:30} {wall:>6.1} s  {:>9.0} records/s  peak RSS {rss:>6.1} MB",
            n as f64 / wall
        );
        if label.starts_with("report") && (wall > MAX_WALL_S || rss > MAX_RSS_MB) {
            over = true;
        }
    }
    let page = fs::metadata(dir.path().join("report.html"))
        .map(|m| m.len())
        .unwrap_or(0);
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("report.json")).expect("report.json"))
            .expect("JSON");
    println!(
        "report.html {:.0} kB; {} records, {} multi-source clusters, {} pairs",
        page as f64 / 1e3,
        json["records"],
        json["propagation"]["multi_source_clusters"],
        json["propagation"]["pairs"].as_array().map_or(0, Vec::len)
    );
    if over {
        println!("OVER the bound of {MAX_WALL_S} s / {MAX_RSS_MB} MB");
        // `exit` runs no destructors: remove the gigabytes of corpus first.
        drop(dir);
        std::process::exit(1);
    }
}
