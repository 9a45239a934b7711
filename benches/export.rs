//! Export bench: a synthetic corpus of N records (default 1 000 000; fixed seed) is written to a
//! temporary folder as segments of 1 000 lines, then `newsmill export` turns it into one Parquet
//! file, into hive partitions by source and month, and into JSONL, each under `/usr/bin/time -v`
//! so the peak RSS of the export process itself is what is reported.
//!
//! `cargo bench --bench export` (or `-- 100000` for a smaller corpus). Prints records/s of
//! wall time, peak RSS and output size per run.

#[path = "common/rng.rs"]
mod rng;
#[path = "common/text.rs"]
mod text;

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use rng::Rng;
use serde_json::json;
use text::sentence;

const SEGMENT: usize = 1000;
const SOURCES: [&str; 12] = [
    "belta_en",
    "belta_ru",
    "sb_en",
    "sb_ru",
    "president",
    "tass_en",
    "tass_ru",
    "ria",
    "interfax",
    "xinhua",
    "reuters",
    "ap",
];
fn record(i: usize) -> serde_json::Value {
    let mut rng = Rng(i as u64 * 0x9e37 + 7);
    let source = SOURCES[rng.below(SOURCES.len())];
    let blocks: Vec<String> = (0..6).map(|_| sentence(&mut rng, 40)).collect();
    let day = rng.below(730) as i64;
    let minsk = chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset");
    let published = chrono::DateTime::from_timestamp(
        1_704_067_200 + day * 86_400 + rng.below(86_400) as i64,
        0,
    )
    .expect("valid time")
    .with_timezone(&minsk);
    let fetched = published.to_utc() + chrono::Duration::minutes(rng.below(600) as i64);
    let id = format!("a{:031x}", i as u128 * 0x1234_5678_9abc_def1);
    let cluster = format!("a{:031x}", (i / 3) as u128 * 0x1234_5678_9abc_def1);
    let credited = SOURCES[rng.below(SOURCES.len())];
    let head = i.is_multiple_of(3);
    json!({
        "schema_version": 1, "id": id, "content_sha256": format!("{:064x}", i as u128 * 0xfeed_beef),
        "url": format!("https://{source}.example/news/{i}"), "canonical_url": format!("https://{source}.example/news/{i}"),
        "source_id": source, "title": sentence(&mut rng, 8), "description": null,
        "text": blocks.join("\n\n"),
        "blocks": blocks.iter().map(|b| json!({"kind": "paragraph", "text": b})).collect::<Vec<_>>(),
        "published_at": published.to_rfc3339(), "date_source": "meta", "modified_at": null,
        "language": if source.ends_with("_ru") { "ru" } else { "en" }, "authors": ["A. Writer"],
        "attributions": [
            {"name": source, "source_id": source, "kind": "publisher", "evidence": format!("https://{source}.example/")},
            {"name": credited, "source_id": credited, "kind": "based_on", "evidence": "Based on materials of the agency"},
        ],
        "photo_credits": [], "image": null, "images": [], "tags": ["politics"],
        "extractor": {"name": "generic", "version": "0.1.0"}, "warnings": [],
        "fetched_at": fetched.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "raw": {"file": "2025/01/01/x.warc.gz", "offset": i * 4000, "length": 4000},
        "word_count": 240, "also_seen_at": [],
        "cluster_id": cluster, "near_duplicate_of": if head { None } else { Some(cluster.clone()) },
        "similarity": if head { None } else { Some(0.8) }, "containment": if head { None } else { Some(0.9) },
    })
}

fn generate(dir: &Path, n: usize) -> std::io::Result<u64> {
    let corpus = dir.join("normalized");
    fs::create_dir_all(&corpus)?;
    let mut bytes = 0;
    for seg in 0..n.div_ceil(SEGMENT) {
        let path = corpus.join(format!("part-{:06}.jsonl", seg + 1));
        let mut out = BufWriter::new(fs::File::create(&path)?);
        for i in seg * SEGMENT..((seg + 1) * SEGMENT).min(n) {
            serde_json::to_writer(&mut out, &record(i))?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        bytes += fs::metadata(&path)?.len();
    }
    fs::write(
        dir.join("bench.toml"),
        "[storage]\nraw_dir = \"raw\"\nnormalized_dir = \"normalized\"\nstate_dir = \"state\"\n",
    )?;
    Ok(bytes)
}

/// Runs one export under `/usr/bin/time -v`; returns (wall seconds, peak RSS in kB).
fn timed(dir: &Path, args: &[&str]) -> (f64, u64) {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_newsmill"))
        .args(["export", "-c", "bench.toml"])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .output()
        .expect("run /usr/bin/time");
    let wall = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "export {args:?} failed:\n{stderr}");
    let rss = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (wall, rss)
}

/// Regular files under `path` (1 for a file).
fn files_in(path: &Path) -> usize {
    if path.is_file() {
        return 1;
    }
    fs::read_dir(path)
        .map(|rd| rd.flatten().map(|e| files_in(&e.path())).sum())
        .unwrap_or(0)
}

fn size_of(path: &Path) -> u64 {
    if path.is_file() {
        return fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    fs::read_dir(path)
        .map(|rd| rd.flatten().map(|e| size_of(&e.path())).sum())
        .unwrap_or(0)
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
    let runs: [(&str, &[&str], &str); 3] = [
        (
            "parquet, one file",
            &["--format", "parquet", "-o", "one.parquet"],
            "one.parquet",
        ),
        (
            "parquet, --partition source,month",
            &[
                "--format",
                "parquet",
                "--partition",
                "source,month",
                "-o",
                "parts",
            ],
            "parts",
        ),
        ("jsonl", &["-o", "all.jsonl"], "all.jsonl"),
    ];
    for (label, args, out) in runs {
        let (wall, rss) = timed(dir.path(), args);
        let size = size_of(&dir.path().join(out));
        let files = files_in(&dir.path().join(out));
        println!(
            "{label:36} {:>8.0} records/s  peak RSS {:>6.1} MB  output {:>7.1} MB in {files} file(s)  ({wall:.1} s)",
            n as f64 / wall,
            rss as f64 / 1024.0,
            size as f64 / 1e6
        );
    }
}
