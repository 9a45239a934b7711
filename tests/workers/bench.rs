//! The crawl benchmark (`workers::bench_workers`, ignored: run on request, see the README,
//! "Scaling out"): 4 workers × 40 hosts × 50 articles, 50 ms server latency, 100 ms per-host
//! interval. It prints wall time against the politeness bound, the tightest per-host gap at
//! the hosts and by the workers' own departures, each worker's peak RSS, and a timeline of
//! the run (per worker: start, first and last request, last barrier, exit; per host: first
//! request, first article, last request), so that what the wall time spends beyond the bound
//! (start, discovery, the tail) can be read off one run.
// See: issue 12.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::sim::Feed;
use super::{Plan, World, exported_urls, wait_all, worker};
use crate::postgres::Schema;

/// A figure from a `/usr/bin/time -v` report in `log` ("Maximum resident set size (kbytes)",
/// "User time (seconds)", …).
fn time_v(log: &str, key: &str) -> Option<f64> {
    log.lines()
        .find_map(|l| l.trim().strip_prefix(key)?.trim().strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
}

/// One JSON log line of a worker: its time and fields.
struct Event {
    at: DateTime<Utc>,
    fields: serde_json::Value,
}

/// The JSON lines of a worker's log whose message is `message`, in log order.
fn events(log: &str, message: &str) -> Vec<Event> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == message)
        .filter_map(|v| {
            let at = DateTime::parse_from_rfc3339(v["timestamp"].as_str()?).ok()?;
            Some(Event {
                at: at.to_utc(),
                fields: v,
            })
        })
        .collect()
}

/// Seconds from `t0` to `at`.
fn since(t0: DateTime<Utc>, at: DateTime<Utc>) -> f64 {
    (at - t0).num_microseconds().unwrap_or(0) as f64 / 1e6
}

/// Smallest gap between two instants of one host, over all hosts.
fn min_gap(by_host: &BTreeMap<String, Vec<DateTime<Utc>>>) -> Option<Duration> {
    by_host
        .values()
        .flat_map(|v| v.windows(2).map(|w| w[1] - w[0]))
        .min()
        .and_then(|d| d.to_std().ok())
}

/// Prints each worker's line of the timeline (seconds from the spawn at `t0`) and returns the
/// tightest gap between two requests to one host by the workers' own departure stamps.
fn worker_timeline(
    t0: DateTime<Utc>,
    ids: &[String],
    logs: &[String],
) -> (Option<Duration>, Departures) {
    println!(
        "  timeline, s from the spawn: worker: started / first request / last request / last barrier / exit; \
         barriers, ms linking (sum), ms the barriers took (sum)"
    );
    let mut departures: Departures = BTreeMap::new();
    for (id, log) in ids.iter().zip(logs) {
        let leaves = events(log, "request leaves");
        for e in &leaves {
            let (Some(host), Some(at)) = (e.fields["host"].as_str(), e.fields["at"].as_str())
            else {
                continue;
            };
            if let Ok(at) = DateTime::parse_from_rfc3339(at) {
                departures
                    .entry(host.to_owned())
                    .or_default()
                    .push(at.to_utc());
            }
        }
        let barriers = events(log, "barrier committed");
        let ms = |e: &Event, k: &str| -> f64 {
            e.fields[k]
                .as_str()
                .and_then(|v| v.parse().ok())
                .or_else(|| e.fields[k].as_f64())
                .unwrap_or(0.0)
        };
        let linked: f64 = events(log, "near-duplicate batch linked")
            .iter()
            .map(|e| ms(e, "total_ms"))
            .sum();
        let barrier_ms: f64 = barriers
            .iter()
            .map(|e| ms(e, "fetched_ms") + ms(e, "flush_ms") + ms(e, "ingested_ms"))
            .sum();
        let at = |v: &[Event], last: bool| {
            let e = if last { v.last() } else { v.first() };
            e.map_or(f64::NAN, |e| since(t0, e.at))
        };
        println!(
            "    {id}: {:.2} / {:.2} / {:.2} / {:.2} / {:.2}; {} barriers, {linked:.0} ms, {barrier_ms:.0} ms",
            at(&events(log, "worker started"), false),
            at(&leaves, false),
            at(&leaves, true),
            at(&barriers, true),
            at(&events(log, "run summary"), false),
            barriers.len()
        );
    }
    for v in departures.values_mut() {
        v.sort();
    }
    (min_gap(&departures), departures)
}

/// The workers' departure stamps (`request leaves`) by host (`127.0.0.x:port`), sorted.
type Departures = BTreeMap<String, Vec<DateTime<Utc>>>;

/// How long each request took from its departure stamp to the host's kernel (the latest
/// departure to its host at or before its arrival): (99th percentile, max) in ms. A request
/// that leaves its worker late, after the stamp the next one is spaced from, is what brings
/// two requests to a host closer than the interval.
fn stamp_to_host(world: &World, departures: &Departures) -> Option<(f64, f64)> {
    let sim = &world.sim;
    let mut delays: Vec<f64> = sim
        .hits
        .lock()
        .unwrap()
        .iter()
        .filter_map(|h| {
            let host = sim.bases[h.host].trim_start_matches("http://");
            let deps = departures.get(host)?;
            let i = deps.partition_point(|d| *d <= h.wall).checked_sub(1)?;
            Some((h.wall - deps[i]).num_microseconds()? as f64 / 1000.0)
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let n = delays.len();
    (n > 0).then(|| (delays[n * 99 / 100], delays[n - 1]))
}

/// Prints the hosts' side of the timeline: when each host saw its first request, its first
/// article request and its last request (min / median / max over the hosts).
fn host_timeline(t0: DateTime<Utc>, world: &World) {
    let hits = world.sim.hits.lock().unwrap().clone();
    let mut first: BTreeMap<usize, f64> = BTreeMap::new();
    let mut article: BTreeMap<usize, f64> = BTreeMap::new();
    let mut last: BTreeMap<usize, f64> = BTreeMap::new();
    for h in &hits {
        let t = since(t0, h.wall);
        let keep_min = |m: &mut BTreeMap<usize, f64>| {
            let e = m.entry(h.host).or_insert(t);
            *e = e.min(t);
        };
        keep_min(&mut first);
        if h.path.starts_with("/a/") {
            keep_min(&mut article);
        }
        let e = last.entry(h.host).or_insert(t);
        *e = e.max(t);
    }
    let spread = |m: &BTreeMap<usize, f64>| {
        let mut v: Vec<f64> = m.values().copied().collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => "-".to_owned(),
            n => format!("{:.2} / {:.2} / {:.2}", v[0], v[n / 2], v[n - 1]),
        }
    };
    println!(
        "    hosts (min / median / max): first request {}; first article {}; last request {}",
        spread(&first),
        spread(&article),
        spread(&last)
    );
}

/// The benchmark (see the module doc), run by `workers::bench_workers`.
pub(super) fn bench_workers() {
    let Some(db) = Schema::new("workers_bench") else {
        return;
    };
    let num = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let plan = Plan {
        hosts: num("BENCH_HOSTS", 40),
        feed: Feed::fixed(num("BENCH_ARTICLES", 50)),
        latency: Duration::from_millis(num("BENCH_LATENCY_MS", 50) as u64),
        interval: Duration::from_millis(num("BENCH_INTERVAL_MS", 100) as u64),
        lease_ttl: "10s",
        hosts_per_worker: num("BENCH_HOSTS_PER_WORKER", 16),
        ..Plan::default()
    };
    let workers = num("BENCH_WORKERS", 4);
    let world = World::start(&db, &plan);
    let sim = &world.sim;
    let (d, cfg, url) = (world.dir(), world.cfg(), world.url());
    let (start, t0) = (Instant::now(), Utc::now());
    let ids: Vec<String> = (1..=workers).map(|i| format!("b{i}")).collect();
    let mut children: Vec<Child> = ids.iter().map(|id| worker(d, cfg, url, id, true)).collect();
    let codes = wait_all(&mut children, Duration::from_secs(600));
    let wall = start.elapsed();
    let total = plan.hosts * plan.feed.articles;
    let records = exported_urls(d, cfg, url).len();
    let bound = plan.interval * (sim.busiest() as u32);
    let (gap, _) = sim.min_gap().unwrap();
    let logs: Vec<String> = ids
        .iter()
        .map(|id| std::fs::read_to_string(d.join(format!("{id}.log"))).unwrap())
        .collect();
    let figure = |key: &str| -> Vec<f64> {
        logs.iter()
            .map(|l| time_v(l, key).unwrap_or(f64::NAN))
            .collect()
    };
    let rss = figure("Maximum resident set size (kbytes)");
    let (user, sys) = (
        figure("User time (seconds)"),
        figure("System time (seconds)"),
    );
    let cpu: f64 = user.iter().chain(&sys).sum();
    println!(
        "bench_workers: {workers} workers x {} hosts x {} articles, latency {:?}, interval {:?}",
        plan.hosts, plan.feed.articles, plan.latency, plan.interval
    );
    println!("  exit codes {codes:?}; records {records} of {total}");
    println!(
        "  wall {:.2} s; politeness bound {:.2} s ({} requests to the busiest host); wall/bound {:.3}",
        wall.as_secs_f64(),
        bound.as_secs_f64(),
        sim.busiest(),
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    let (departed, departures) = worker_timeline(t0, &ids, &logs);
    host_timeline(t0, &world);
    if let Some((p99, max)) = stamp_to_host(&world, &departures) {
        println!(
            "  from a departure stamp to the host's kernel: 99th percentile {p99:.2} ms, slowest {max:.2} ms"
        );
    }
    let ratio = |g: Duration| g.as_secs_f64() / plan.interval.as_secs_f64();
    println!(
        "  tightest per-host gap at the hosts (kernel receive time) {:.1} ms = {:.3} x interval; \
         as the hosts' threads woke {:.3} x; by the workers' departures {}",
        gap.as_secs_f64() * 1000.0,
        ratio(gap),
        sim.min_gap_woken().map_or(f64::NAN, |(g, _)| ratio(g)),
        departed.map_or("-".to_owned(), |g| format!(
            "{:.1} ms = {:.3} x interval",
            g.as_secs_f64() * 1000.0,
            ratio(g)
        ))
    );
    println!(
        "  peak RSS per worker (MiB): {:?}",
        rss.iter()
            .map(|k| (*k / 1024.0).round())
            .collect::<Vec<_>>()
    );
    println!(
        "  CPU (user + sys) of all workers: {cpu:.2} s, {:.2} s per 1000 articles; load average {}",
        cpu / total as f64 * 1000.0,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    if let Some(keep) = std::env::var_os("BENCH_KEEP_DIR") {
        keep_for_a_closer_look(&world, Path::new(&keep));
    }
    assert_eq!(records, total, "not every article was ingested");
}

/// Copies the run's folder (worker logs: every slot, barrier and near-duplicate batch) to
/// `keep`, with every request as the hosts saw it in `hits.txt` (host base, arrival on the
/// wall clock, path).
fn keep_for_a_closer_look(world: &World, keep: &Path) {
    let _ = Command::new("cp")
        .arg("-a")
        .arg(world.dir())
        .arg(keep)
        .status();
    let sim = &world.sim;
    let hits: Vec<String> = sim
        .hits
        .lock()
        .unwrap()
        .iter()
        .map(|h| {
            let at = h.wall.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            format!("{} {at} {}", sim.bases[h.host], h.path)
        })
        .collect();
    std::fs::write(keep.join("hits.txt"), hits.join("\n")).unwrap();
}
