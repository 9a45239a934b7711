//! Extraction speed on a folder of saved pages (default: the scrapinghub dev set beside the
//! repo). `cargo bench --bench extract [-- DIR [ROUNDS]]` prints pages per second of CPU time
//! (this thread only) for three stages, so the cost of each layer is visible:
//! 1. html5ever parse of the raw page (the floor for any html5ever-based extractor), for
//!    reference;
//! 2. newsmill's own parser (`newsmill::html`) on the same page;
//! 3. the whole normalizer (charset, parse, extraction, metadata, dates, attribution, language).
//!
//! Warm-up: one untimed pass, so one-time costs (regex compilation) are excluded.

use std::path::PathBuf;
use std::time::Duration;

use newsmill::normalize::Normalizer;

fn thread_cpu() -> Duration {
    // /proc/thread-self/stat fields 14 and 15: utime and stime in clock ticks (100 Hz here).
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    Duration::from_millis(ticks * 10)
}

type Stage<'a> = (&'a str, Box<dyn FnMut(&[u8]) + 'a>);

/// Runs every stage once untimed, then `rounds` interleaved timed passes (stage A, B, C, A,
/// B, C, …) so background load hits all stages alike.
fn measure(pages: &[(String, Vec<u8>)], rounds: usize, stages: &mut [Stage<'_>]) {
    let mut cpu = vec![Duration::ZERO; stages.len()];
    for (_, f) in stages.iter_mut() {
        pages.iter().for_each(|(_, p)| f(p));
    }
    for _ in 0..rounds {
        for (i, (_, f)) in stages.iter_mut().enumerate() {
            let start = thread_cpu();
            pages.iter().for_each(|(_, p)| f(p));
            cpu[i] += thread_cpu().saturating_sub(start);
        }
    }
    let n = (pages.len() * rounds) as f64;
    for ((name, _), t) in stages.iter().zip(cpu) {
        let secs = t.as_secs_f64().max(1e-9);
        println!(
            "{name:<20} {:>6.0} pages/s of CPU   ({:.2} ms/page, {secs:.2}s for {n} pages)",
            n / secs,
            1000.0 * secs / n
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let dir = args.first().map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/eval/scrapinghub-dev/html"
            ))
        },
        PathBuf::from,
    );
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut pages: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    pages.sort();
    println!(
        "{} pages from {}, {rounds} rounds",
        pages.len(),
        dir.display()
    );
    let n = Normalizer::new(&[]);
    let url = url::Url::parse("https://example.org/article").unwrap_or_else(|_| unreachable!());
    let now = chrono::Utc::now();
    let mut stages: Vec<Stage<'_>> = vec![
        (
            "html5ever parse",
            Box::new(|p: &[u8]| {
                std::hint::black_box(scraper::Html::parse_document(&String::from_utf8_lossy(p)));
            }),
        ),
        (
            "newsmill html parse",
            Box::new(|p: &[u8]| {
                let text = String::from_utf8_lossy(p);
                std::hint::black_box(newsmill::html::Document::parse(&text));
            }),
        ),
        (
            "normalize (full)",
            Box::new(|p: &[u8]| {
                std::hint::black_box(n.normalize_html(p, &url, None, now).ok());
            }),
        ),
    ];
    measure(&pages, rounds, &mut stages);
}
