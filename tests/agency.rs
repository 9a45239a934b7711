//! A simulated news agency on 127.0.0.1 for the frontier tests: one RSS feed that sends
//! `ETag` and `Last-Modified` and answers 304 to a matching conditional request (as real
//! agencies do), a window of items that the test rotates over time, articles with distinct
//! texts, and optional faults: 500s drawn from a seeded generator, slow pages.
//!
//! The agency remembers every item it ever listed in a 200 feed response, and every request
//! it got (with headers), so tests can check what newsmill owed and what it sent.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::hostile::{Hit, Hostile, Reply};

/// A small deterministic generator (SplitMix64), so a seed reproduces a run of faults.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// What the agency does, changed by the test between runs.
#[derive(Debug)]
struct Desk {
    /// First item in the feed.
    start: usize,
    /// Items in the feed at once.
    window: usize,
    /// Chance that a request (feed or article) answers 500.
    error_rate: f64,
    /// Every `slow_every`-th article answers after `slow` (0: none).
    slow_every: usize,
    slow: Duration,
    rng: Rng,
    /// Items ever listed in a 200 feed response.
    listed: BTreeSet<usize>,
}

/// The running agency.
#[derive(Clone)]
pub struct Agency {
    /// The server (request log included).
    pub server: Hostile,
    desk: Arc<Mutex<Desk>>,
}

impl Agency {
    /// Starts an agency whose feed lists `window` items, from item 0.
    pub async fn start(window: usize) -> Self {
        let desk = Arc::new(Mutex::new(Desk {
            start: 0,
            window,
            error_rate: 0.0,
            slow_every: 0,
            slow: Duration::ZERO,
            rng: Rng::new(0),
            listed: BTreeSet::new(),
        }));
        let shared = desk.clone();
        let server = Hostile::start(move |hit, _| answer(&shared, hit)).await;
        Self { server, desk }
    }

    /// Turns faults on: 500s with probability `error_rate` (drawn from `seed`), and every
    /// `slow_every`-th article late by `slow`.
    pub fn faults(&self, seed: u64, error_rate: f64, slow_every: usize, slow: Duration) {
        let mut d = self.desk.lock().unwrap();
        d.rng = Rng::new(seed);
        d.error_rate = error_rate;
        d.slow_every = slow_every;
        d.slow = slow;
    }

    /// Turns the 500s off.
    pub fn heal(&self) {
        self.desk.lock().unwrap().error_rate = 0.0;
    }

    /// Rotates `n` items out of the feed (and `n` new ones in).
    pub fn rotate(&self, n: usize) {
        self.desk.lock().unwrap().start += n;
    }

    /// Every item ever listed in a 200 feed response.
    pub fn listed(&self) -> BTreeSet<usize> {
        self.desk.lock().unwrap().listed.clone()
    }

    /// The feed URL.
    pub fn feed(&self) -> String {
        self.server.url("/feed.xml")
    }

    /// Requests for articles so far.
    pub fn article_hits(&self) -> Vec<Hit> {
        let hits = self.server.hits();
        hits.into_iter()
            .filter(|h| h.path.starts_with("/news/"))
            .collect()
    }

    /// A config for this agency under `dir`, with extra `[fetch]` lines.
    pub fn config(&self, dir: &std::path::Path, fetch_extra: &str) -> std::path::PathBuf {
        let d = dir.display();
        let text = format!(
            "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{d}/normalized\"\n\
             state_dir = \"{d}/state\"\n\n[fetch]\nallow_private_networks = true\n\
             timeout = \"5s\"\nretry_backoff = \"0s\"\n{fetch_extra}\n\n\
             [[sources]]\nid = \"agency\"\nname = \"Agency\"\nfeeds = [\"{}\"]\nlanguage = \"en\"\n",
            self.feed()
        );
        let path = dir.join("agency.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn answer(desk: &Mutex<Desk>, hit: &Hit) -> Reply {
    let mut d = desk.lock().unwrap();
    if hit.path == "/robots.txt" {
        return Reply::status(404);
    }
    let rate = d.error_rate;
    if rate > 0.0 && d.rng.chance(rate) {
        return Reply::status(500);
    }
    if hit.path == "/feed.xml" {
        return feed(&mut d, hit);
    }
    let Some(i) = hit
        .path
        .strip_prefix("/news/")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return Reply::status(404);
    };
    let page = Reply::ok("text/html; charset=utf-8", &article_html(i));
    if d.slow_every > 0 && i % d.slow_every == 0 {
        let Reply::Raw(bytes) = page else {
            unreachable!("Reply::ok is raw")
        };
        return Reply::Late(d.slow, bytes);
    }
    page
}

fn feed(d: &mut Desk, hit: &Hit) -> Reply {
    let etag = format!("\"v{}\"", d.start);
    let modified = (chrono::DateTime::UNIX_EPOCH + chrono::Duration::hours(d.start as i64))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let header = |name: &str| {
        hit.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let fresh = match header("if-none-match") {
        Some(tag) => tag == etag,
        None => header("if-modified-since") == Some(modified.as_str()),
    };
    if fresh {
        return Reply::full(304, &[("ETag", &etag), ("Last-Modified", &modified)], b"");
    }
    let items: Vec<usize> = (d.start..d.start + d.window).collect();
    d.listed.extend(items.iter().copied());
    let body: String = items
        .iter()
        .map(|i| format!("<item><title>Story {i}</title><link>/news/{i}</link></item>\n"))
        .collect();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Agency</title><link>/</link><description>d</description>\n{body}</channel></rss>"
    );
    Reply::full(
        200,
        &[
            ("Content-Type", "application/rss+xml"),
            ("ETag", &etag),
            ("Last-Modified", &modified),
        ],
        xml.as_bytes(),
    )
}

/// Article `i`: a news page whose text no other article shares.
pub fn article_html(i: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "harvest", "council", "bridge", "river", "school", "budget", "railway", "clinic", "market",
        "festival", "library", "airport",
    ];
    let pick = |k: usize| WORDS[(i / 12usize.pow(k as u32)) % 12];
    let paras: String = (1..=5)
        .map(|j| {
            format!(
                "<p>Story {i}, part {j}: the {} committee of district {i} met on Tuesday to \
                 review the {} plans, and officials said the {} works would start after the \
                 {} season, with {} more staff hired by the end of the year.</p>\n",
                pick(0),
                pick(1),
                WORDS[(i + j) % 12],
                WORDS[(i * 7 + j) % 12],
                i * 10 + j
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Story {i}</title></head><body><article><h1>Story {i}</h1>{paras}\
         </article></body></html>"
    )
    .into_bytes()
}

/// Article numbers in the corpus under `dir`, one entry per record (duplicates kept).
pub fn stories(dir: &std::path::Path) -> Vec<usize> {
    crate::util::corpus(&dir.join("normalized"))
        .iter()
        .filter_map(|r| {
            let url = r["url"].as_str()?;
            url.rsplit('/').next()?.parse().ok()
        })
        .collect()
}
