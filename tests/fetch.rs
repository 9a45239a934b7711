//! The fetcher against hostile and broken servers (issue 3): timeouts and the retry policy.
//! Bodies, targets, robots/pacing and end-to-end runs live in the `fetch_*` modules; the
//! helpers here are shared by all of them. Every server is a [`Hostile`] on 127.0.0.1.
//!
//! Timeouts run on the wall clock (they prove the real deadline); anything that waits on a
//! policy delay (Retry-After, backoff, Crawl-delay) runs with `start_paused` and reads the
//! server's arrival times on the virtual clock.

use std::path::Path;
use std::time::Duration;

use newsmill::config::{Config, FetchConfig};
use newsmill::fetch::{FetchError, FetchRequest, Fetched, Fetcher};
use newsmill::model::{RawPage, SourceId, Validators};
use tokio::time::Instant;

use crate::hostile::{BlackHole, Hostile, Reply, head};

/// Test defaults: private targets allowed, no pacing, generous deadlines, small body cap.
pub fn config() -> FetchConfig {
    let text = "[fetch]\nallow_private_networks = true\n";
    let mut c = Config::parse(text, Path::new("fetch-test.toml"))
        .unwrap()
        .fetch;
    c.per_host_interval = Duration::ZERO;
    c.timeout = Duration::from_secs(10);
    c.connect_timeout = Duration::from_secs(10);
    c.max_retries = 2;
    c.max_body_bytes = 64 * 1024;
    c
}

/// A plain request for `url` on behalf of a test source.
pub fn request(url: &str) -> FetchRequest {
    FetchRequest {
        url: url.parse().unwrap(),
        source: SourceId::new("hostile").unwrap(),
        conditional: Validators::default(),
        hint: None,
    }
}

/// One fetch with a fresh fetcher.
pub async fn fetch(cfg: &FetchConfig, url: &str) -> Result<Fetched, FetchError> {
    Fetcher::new(cfg).unwrap().fetch(&request(url)).await
}

/// The page of a successful fetch.
pub fn page(r: Result<Fetched, FetchError>) -> Box<RawPage> {
    match r {
        Ok(Fetched::Page(p)) => p,
        other => panic!("expected a page, got {other:?}"),
    }
}

/// The error of a failed fetch.
pub fn error(r: Result<Fetched, FetchError>) -> FetchError {
    match r {
        Err(e) => e,
        Ok(other) => panic!("expected an error, got {other:?}"),
    }
}

/// Gaps between consecutive instants.
pub fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Slack allowed on top of a deadline for wall-clock tests (busy CI machines).
const MARGIN: Duration = Duration::from_millis(500);

fn short_timeout() -> FetchConfig {
    let mut c = config();
    c.timeout = Duration::from_millis(300);
    c.max_retries = 3;
    c
}

async fn assert_one_timeout(server: &Hostile, reply_desc: &str) {
    let cfg = short_timeout();
    let t0 = Instant::now();
    let err = error(fetch(&cfg, &server.url("/page")).await);
    let took = t0.elapsed();
    assert!(
        matches!(err, FetchError::Timeout { after, .. } if after == cfg.timeout),
        "{reply_desc}: {err:?}"
    );
    assert!(
        took >= cfg.timeout && took < cfg.timeout + MARGIN,
        "{reply_desc}: took {took:?}"
    );
    assert_eq!(
        server.count("/page"),
        1,
        "{reply_desc}: timeouts are not retried"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_costs_one_timeout() {
    let server = Hostile::page(|_| Reply::Silent).await;
    assert_one_timeout(&server, "silent").await;
}

#[tokio::test]
async fn headers_then_stall_costs_one_timeout() {
    let server = Hostile::page(|_| {
        let mut bytes = head(200, &[("Content-Length", "1000")]);
        bytes.extend_from_slice(b"<html><body>the first few bytes");
        Reply::Stall(bytes)
    })
    .await;
    assert_one_timeout(&server, "stall after headers").await;
}

#[tokio::test]
async fn a_slow_drip_body_hits_the_whole_request_deadline() {
    // Always making progress, never finishing: only a whole-body deadline stops it.
    let server = Hostile::page(|_| Reply::Drip {
        head: head(200, &[("Content-Type", "text/html")]),
        chunk: b"<p>drip</p>".to_vec(),
        every: Duration::from_millis(20),
    })
    .await;
    assert_one_timeout(&server, "slow drip").await;
}

#[tokio::test]
async fn a_connect_timeout_is_a_timeout_and_is_not_retried() {
    let mut hole = BlackHole::start().await;
    let mut cfg = config();
    cfg.connect_timeout = Duration::from_millis(200);
    cfg.max_retries = 3;
    let fetcher = Fetcher::new(&cfg).unwrap();
    // robots.txt is fetched (and cached) while the listener still accepts…
    page(fetcher.fetch(&request(&hole.url("/first"))).await);
    // …then the accept queue fills up and the handshake never completes.
    hole.close_door().await;
    let t0 = Instant::now();
    let err = error(fetcher.fetch(&request(&hole.url("/page"))).await);
    let took = t0.elapsed();
    assert!(
        matches!(err, FetchError::Timeout { after, .. } if after == cfg.connect_timeout),
        "{err:?}"
    );
    // Four attempts would take at least 800 ms.
    assert!(took < cfg.connect_timeout + MARGIN, "took {took:?}");
}

/// `n`-th answer: `first` for the first `k` requests, then 200.
fn then_ok(k: usize, first: impl Fn() -> Reply + Send + Sync + 'static) -> impl Fn(usize) -> Reply {
    move |n| {
        if n < k {
            first()
        } else {
            Reply::ok("text/html", b"<p>finally</p>")
        }
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_waited_for() {
    let server = Hostile::page(then_ok(1, || {
        Reply::full(429, &[("Retry-After", "7")], b"slow down")
    }))
    .await;
    let p = page(fetch(&config(), &server.url("/page")).await);
    assert_eq!(p.body, b"<p>finally</p>");
    let g = gaps(&server.times("/page"));
    assert_eq!(g.len(), 1);
    assert!(
        g[0] >= Duration::from_secs(7) && g[0] < Duration::from_millis(7050),
        "{g:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_is_waited_for() {
    let server = Hostile::page(then_ok(1, || {
        let at = chrono::Utc::now() + chrono::TimeDelta::seconds(20);
        let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        Reply::full(503, &[("Retry-After", &date)], b"")
    }))
    .await;
    page(fetch(&config(), &server.url("/page")).await);
    let g = gaps(&server.times("/page"));
    // The date has whole seconds, so the wait is in (19 s, 20 s].
    assert!(
        g[0] >= Duration::from_secs(18) && g[0] <= Duration::from_millis(20_050),
        "{g:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_bounded_by_max_retries() {
    let server = Hostile::page(|_| Reply::full(503, &[("Retry-After", "1")], b"maintenance")).await;
    let mut cfg = config();
    cfg.max_retries = 3;
    let err = error(fetch(&cfg, &server.url("/page")).await);
    assert!(
        matches!(err, FetchError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(server.count("/page"), 4, "one attempt plus max_retries");
    for g in gaps(&server.times("/page")) {
        assert!(g >= Duration::from_secs(1), "{g:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_beyond_the_cap_gives_up_for_this_run() {
    let server = Hostile::page(|_| Reply::full(429, &[("Retry-After", "86400")], b"")).await;
    let err = error(fetch(&config(), &server.url("/page")).await);
    assert!(
        matches!(err, FetchError::Status { status: 429, .. }),
        "{err:?}"
    );
    assert_eq!(
        server.count("/page"),
        1,
        "a server asking for a day's pause is not hammered with backoff retries"
    );
}

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_exponentially_with_jitter() {
    let server = Hostile::page(|_| Reply::status(500)).await;
    let mut cfg = config();
    cfg.max_retries = 4;
    let err = error(fetch(&cfg, &server.url("/page")).await);
    assert!(
        matches!(err, FetchError::Status { status: 500, .. }),
        "{err:?}"
    );
    let g = gaps(&server.times("/page"));
    assert_eq!(g.len(), 4, "{g:?}");
    for (i, gap) in g.iter().enumerate() {
        // Full jitter: uniform in [0, base · 2^i).
        let cap = newsmill::fetch::retry::BASE_BACKOFF * (1 << i);
        assert!(*gap < cap, "gap {i} = {gap:?} ≥ {cap:?}");
    }
    let total: Duration = g.iter().sum();
    assert!(
        total > Duration::ZERO,
        "jittered waits are not all zero: {g:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_error_then_success_is_a_page() {
    let server = Hostile::page(then_ok(2, || Reply::status(502))).await;
    let p = page(fetch(&config(), &server.url("/page")).await);
    assert_eq!(p.status, 200);
    assert_eq!(server.count("/page"), 3);
}

#[tokio::test(start_paused = true)]
async fn client_errors_other_than_408_and_429_are_not_retried() {
    for status in [400u16, 401, 403, 404, 410, 451] {
        let server = Hostile::page(move |_| Reply::status(status)).await;
        let err = error(fetch(&config(), &server.url("/page")).await);
        assert!(
            matches!(err, FetchError::Status { status: s, .. } if s == status),
            "{status}: {err:?}"
        );
        assert_eq!(server.count("/page"), 1, "{status} was retried");
    }
    let server = Hostile::page(|_| Reply::status(408)).await;
    error(fetch(&config(), &server.url("/page")).await);
    assert_eq!(server.count("/page"), 3, "408 is retried");
}

#[tokio::test(start_paused = true)]
async fn a_connection_closed_without_a_response_is_retried_then_reported() {
    let server = Hostile::page(|_| Reply::Raw(Vec::new())).await;
    let err = error(fetch(&config(), &server.url("/page")).await);
    assert!(matches!(err, FetchError::Transport { .. }), "{err:?}");
    assert_eq!(err.kind(), "transport");
    assert_eq!(server.count("/page"), 3, "one attempt plus max_retries");
    for (i, gap) in gaps(&server.times("/page")).iter().enumerate() {
        let cap = newsmill::fetch::retry::BASE_BACKOFF * (1 << i);
        assert!(
            *gap < cap,
            "connection errors back off too: gap {i} = {gap:?}"
        );
    }

    let server = Hostile::page(then_ok(2, || Reply::Raw(Vec::new()))).await;
    page(fetch(&config(), &server.url("/page")).await);
    assert_eq!(server.count("/page"), 3);
}
