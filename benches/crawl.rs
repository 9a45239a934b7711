//! Crawl throughput against a simulated agency network (issue 3, "Numbers to report").
//!
//! ```sh
//! cargo bench --bench crawl                                  # 20 hosts x 200 articles
//! cargo bench --bench crawl -- --hosts 4 --articles 50       # a quick run
//! ```
//! Flags: `--hosts N` (20), `--articles N` per host (200), `--latency-ms N` server delay
//! before every response (50), `--interval-ms N` for `per_host_interval` (100),
//! `--timeline` to print RSS and CPU once a second.
//!
//! # What runs
//! The binary re-executes itself with `--serve`. That child binds one 127.0.0.1 listener per
//! host (distinct ports are distinct hosts to the politeness gate), prints the ports on one
//! stdout line, and serves until its stdin closes or it is killed. Every host serves
//! `/robots.txt` (allow all), `/rss` (RSS 2.0 listing its articles) and article pages of
//! 30-60 KB (head with meta/OpenGraph/JSON-LD, nav menu, sidebar of links, 6-15 paragraphs of
//! pseudo-random words from a fixed seed so every text is distinct, footer). Host 0's feed
//! also lists a 60 MB page (honest `Content-Length`, streamed in chunks) and a gzip bomb
//! (1 GiB of zeros, about 1 MB on the wire: deflate cannot beat ~1030:1, so "100 KB for
//! 1 GB" is not possible in one gzip layer). Both must end as `too_large` failures.
//!
//! Layout: this file is the crawler and the entry point; `crawl/site.rs` generates the
//! pages, `crawl/server.rs` is the child's HTTP server.
//!
//! The parent is the crawler: it writes a config into a temp dir and runs
//! `newsmill::pipeline::run` once in a multi-thread runtime. The servers live in the child
//! so the parent's peak RSS and CPU are the crawler's alone.
//!
//! # Figures
//! - wall time of `pipeline::run`;
//! - the politeness bound: requests to the busiest host x `per_host_interval` (each host gets
//!   robots.txt + feed + its articles, one start per interval), and wall / bound (goal <= 1.2);
//! - peak RSS: `VmHWM` of this process at the end (goal < 100 MB). For an outside view, run
//!   the built binary under GNU time and read "Maximum resident set size" (it is the larger
//!   of the crawler and the server child, which is reaped at the end and stays small):
//!   `/usr/bin/time -v $(cargo bench --bench crawl --no-run 2>&1 | grep -o 'target/[^ )]*crawl-[0-9a-f]*')`
//! - CPU seconds (user + sys of this process, child excluded) per 1000 responses;
//! - the run report's counts; the process exits 1 unless every article was ingested and
//!   exactly the two hostile documents failed, as `too_large`.

#[path = "common/proc.rs"]
mod proc;
use proc::process_cpu;
#[path = "common/rng.rs"]
mod rng;
#[path = "crawl/server.rs"]
mod server;
#[path = "crawl/site.rs"]
mod site;

use std::fmt::Write as _;
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use newsmill::config::Config;
use newsmill::pipeline::report::{RunReport, SourceStats};
use newsmill::pipeline::{self, RunOptions};
use tokio_util::sync::CancellationToken;

use site::agency;

#[derive(Debug, Clone)]
pub struct Args {
    pub serve: bool,
    pub timeline: bool,
    pub hosts: usize,
    pub articles: usize,
    pub latency_ms: u64,
    pub interval_ms: u64,
}

impl Args {
    fn parse() -> Self {
        let mut a = Self {
            serve: false,
            timeline: false,
            hosts: 20,
            articles: 200,
            latency_ms: 50,
            interval_ms: 100,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut num = |name: &str| -> u64 {
                it.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{name} needs a number"))
            };
            match arg.as_str() {
                "--serve" => a.serve = true,
                "--timeline" => a.timeline = true,
                "--hosts" => a.hosts = num("--hosts") as usize,
                "--articles" => a.articles = num("--articles") as usize,
                "--latency-ms" => a.latency_ms = num("--latency-ms"),
                "--interval-ms" => a.interval_ms = num("--interval-ms"),
                // `cargo bench` passes --bench; anything else is a typo worth seeing.
                "--bench" => {}
                other => eprintln!("crawl bench: ignoring argument {other:?}"),
            }
        }
        assert!(
            a.hosts >= 1 && a.articles >= 1,
            "need at least one host and article"
        );
        a
    }

    fn child_args(&self) -> Vec<String> {
        let mut v = vec!["--serve".to_owned()];
        for (k, n) in [
            ("--hosts", self.hosts as u64),
            ("--articles", self.articles as u64),
            ("--latency-ms", self.latency_ms),
        ] {
            v.extend([k.to_owned(), n.to_string()]);
        }
        v
    }
}

fn main() {
    let args = Args::parse();
    if args.serve {
        server::serve(&args);
    } else {
        crawl(&args);
    }
}

// ---------------------------------------------------------------------------------------------
// The crawler (parent)
// ---------------------------------------------------------------------------------------------

/// A `/proc/self/status` field in kB (VmHWM = peak RSS, VmRSS = current).
fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn config_toml(dir: &Path, ports: &[u16], interval_ms: u64) -> String {
    let d = dir.display();
    let mut s = format!(
        r#"[storage]
raw_dir = "{d}/raw"
normalized_dir = "{d}/normalized"
state_dir = "{d}/state"

[fetch]
user_agent = "newsmill-bench/0.1 (+https://example.org/contact)"
concurrency = 32
per_host_concurrency = 2
per_host_interval = "{interval_ms}ms"
timeout = "20s"
max_body_bytes = 10_000_000
allow_private_networks = true
"#
    );
    for (host, port) in ports.iter().enumerate() {
        let _ = write!(
            s,
            "\n[[sources]]\nid = \"agency{host:02}\"\nname = \"{a}\"\nfeeds = [\"http://127.0.0.1:{port}/rss\"]\n\
             language = \"en\"\naliases = [\"{a}\"]\n",
            a = agency(host)
        );
    }
    s
}

fn crawl(args: &Args) {
    let mut child = Command::new(std::env::current_exe().unwrap_or_else(|e| panic!("exe: {e}")))
        .args(args.child_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the server child: {e}"));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let ports: Vec<u16> = line
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(ports.len(), args.hosts, "server child printed {line:?}");

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let toml = config_toml(dir.path(), &ports, args.interval_ms);
    let config = Config::parse(&toml, Path::new("<crawl bench>"))
        .unwrap_or_else(|e| panic!("bench config: {e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let opts = RunOptions {
        since: Some(
            Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
        ),
        ..RunOptions::default()
    };
    let sampler = args.timeline.then(spawn_sampler);
    let rss_before = status_kb("VmRSS:");
    let (cpu0, t0) = (process_cpu(), Instant::now());
    let report = rt
        .block_on(pipeline::run(&config, opts, CancellationToken::new()))
        .unwrap_or_else(|e| panic!("pipeline::run failed: {e:#}"));
    let (wall, cpu) = (t0.elapsed(), process_cpu().saturating_sub(cpu0));
    let hwm = status_kb("VmHWM:");
    drop(sampler);
    let _ = child.kill();
    let _ = child.wait();

    let measured = Measured {
        wall,
        cpu,
        hwm_kb: hwm,
        rss_before_kb: rss_before,
    };
    let ok = print_figures(args, &report, &measured);
    // Remove the temp dir before a failing exit, which would skip its destructor.
    drop(dir);
    if !ok {
        std::process::exit(1);
    }
}

/// What was measured around `pipeline::run`.
struct Measured {
    wall: Duration,
    cpu: Duration,
    hwm_kb: u64,
    rss_before_kb: u64,
}

/// Prints the report table and the figures; returns whether the counts are the expected ones.
fn print_figures(args: &Args, report: &RunReport, m: &Measured) -> bool {
    let mut total = SourceStats::default();
    report.sources.values().for_each(|s| total.merge(s));
    eprintln!("{}", report.table());
    // Every host: robots.txt + feed + its articles; host 0 also the two hostile documents.
    let busiest = (2 + args.articles + 2) as f64;
    let bound = busiest * args.interval_ms as f64 / 1000.0;
    let (wall, cpu) = (m.wall.as_secs_f64(), m.cpu.as_secs_f64());
    let pages = total.fetched as f64;
    println!(
        "\n== crawl bench: {} hosts x {} articles, {} ms latency, per_host_interval {} ms ==",
        args.hosts, args.articles, args.latency_ms, args.interval_ms
    );
    println!("wall time            {wall:.2} s");
    println!(
        "politeness bound     {bound:.2} s  ({busiest} requests to the busiest host x {} ms)",
        args.interval_ms
    );
    println!("wall / bound         {:.3}  (goal <= 1.2)", wall / bound);
    println!(
        "peak RSS (VmHWM)     {:.1} MB  (goal < 100 MB; {:.1} MB before the run)",
        m.hwm_kb as f64 / 1024.0,
        m.rss_before_kb as f64 / 1024.0
    );
    println!(
        "CPU (user+sys)       {cpu:.2} s = {:.2} s per 1000 responses ({pages} responses)",
        cpu * 1000.0 / pages.max(1.0)
    );
    println!(
        "fetched {}  new {}  duplicates {}  failures {:?}  run errors {}",
        total.fetched,
        total.new_articles,
        total.duplicates,
        total.failures,
        report.errors.len()
    );
    let expect_new = (args.hosts * args.articles) as u64;
    let too_large = total.failures.get("too_large").copied().unwrap_or(0);
    let ok = total.new_articles == expect_new && too_large == 2 && total.failed() == 2;
    println!(
        "check: {} (expected {expect_new} new articles and exactly 2 too_large failures)",
        if ok { "OK" } else { "MISMATCH" }
    );
    ok
}

/// Prints elapsed time, RSS and CPU once a second until dropped (`--timeline`).
fn spawn_sampler() -> impl Drop {
    struct Stop(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let (t0, mut last) = (Instant::now(), process_cpu());
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_secs(1));
            let cpu = process_cpu();
            eprintln!(
                "t={:>5.1}s rss={:>6.1} MB cpu={:>4.0}%",
                t0.elapsed().as_secs_f64(),
                status_kb("VmRSS:") as f64 / 1024.0,
                cpu.saturating_sub(last).as_secs_f64() * 100.0
            );
            last = cpu;
        }
    });
    Stop(stop)
}
