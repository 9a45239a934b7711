//! robots.txt under RFC 9309 (404 → allow, 5xx/unreachable → disallow, Disallow and
//! Crawl-delay honoured, oversize files parsed up to the cap) and per-host pacing (a slow
//! host does not stall another).

use std::sync::Arc;
use std::time::Duration;

use newsmill::fetch::{FetchError, Fetcher};
use tokio::time::Instant;

use crate::fetch::{config, error, fetch, gaps, page, request};
use crate::hostile::{Case, Hit, Hostile, Reply};

/// A site whose robots.txt is `robots` and whose other paths are small pages.
async fn site(robots: impl Fn() -> Reply + Send + Sync + 'static) -> Hostile {
    Hostile::start(move |hit: &Hit, _| {
        if hit.path == "/robots.txt" {
            robots()
        } else {
            Reply::ok("text/html", b"<p>page</p>")
        }
    })
    .await
}

fn robots_txt(text: &'static str) -> impl Fn() -> Reply + Send + Sync + 'static {
    move || Reply::ok("text/plain", text.as_bytes())
}

/// Arrival times of every request but robots.txt.
fn page_times(server: &Hostile) -> Vec<Instant> {
    let hits = server.hits();
    hits.iter()
        .filter(|h| h.path != "/robots.txt")
        .map(|h| h.at)
        .collect()
}

#[tokio::test]
async fn robots_4xx_allows_everything_and_is_fetched_once() {
    for status in [404u16, 410, 403] {
        let server = site(move || Reply::status(status)).await;
        let fetcher = Fetcher::new(&config()).unwrap();
        for path in ["/a", "/b", "/private/c"] {
            page(fetcher.fetch(&request(&server.url(path))).await);
        }
        assert_eq!(
            server.paths(),
            ["/robots.txt", "/a", "/b", "/private/c"],
            "robots {status}"
        );
    }
}

#[tokio::test]
async fn robots_5xx_or_429_blocks_everything_as_a_failure_and_nothing_is_requested() {
    for status in [500u16, 503, 429] {
        let server = site(move || Reply::status(status)).await;
        let fetcher = Fetcher::new(&config()).unwrap();
        for path in ["/a", "/b"] {
            let err = error(fetcher.fetch(&request(&server.url(path))).await);
            assert!(
                matches!(err, FetchError::RobotsUnavailable { .. }),
                "robots {status}: {err:?}"
            );
            assert_eq!(err.kind(), "robots_unavailable");
        }
        assert_eq!(server.paths(), ["/robots.txt"], "robots {status}");
    }
}

#[tokio::test]
async fn unreachable_robots_blocks_after_one_timeout() {
    let mut cfg = config();
    cfg.timeout = Duration::from_millis(300);
    let cases: [Case; 3] = [
        ("silent", || Reply::Silent),
        ("reset", || Reply::Reset(Vec::new())),
        ("closed", || Reply::Raw(Vec::new())),
    ];
    for (what, robots) in cases {
        let server = site(robots).await;
        let fetcher = Fetcher::new(&cfg).unwrap();
        let t0 = Instant::now();
        for path in ["/a", "/b"] {
            let err = error(fetcher.fetch(&request(&server.url(path))).await);
            assert!(
                matches!(err, FetchError::RobotsUnavailable { .. }),
                "{what}: {err:?}"
            );
        }
        assert!(
            t0.elapsed() < cfg.timeout + Duration::from_millis(500),
            "{what}: the unreachable verdict is cached ({:?})",
            t0.elapsed()
        );
        assert_eq!(server.paths(), ["/robots.txt"], "{what}");
    }
}

#[tokio::test]
async fn disallow_and_allow_are_honoured_for_our_agent() {
    let server = site(robots_txt(
        "User-agent: *\nDisallow: /\n\n\
         User-agent: newsmill\nDisallow: /private/\nAllow: /private/open\n",
    ))
    .await;
    let fetcher = Fetcher::new(&config()).unwrap();
    for path in ["/news/1", "/private/open"] {
        page(fetcher.fetch(&request(&server.url(path))).await);
    }
    let err = error(fetcher.fetch(&request(&server.url("/private/x"))).await);
    assert!(
        matches!(err, FetchError::RobotsDisallowed { .. }),
        "{err:?}"
    );
    assert_eq!(server.paths(), ["/robots.txt", "/news/1", "/private/open"]);
}

#[tokio::test]
async fn a_robots_redirect_is_followed() {
    let server = Hostile::start(|hit, _| match hit.path.as_str() {
        "/robots.txt" => Reply::redirect(301, "/real-robots.txt"),
        "/real-robots.txt" => Reply::ok("text/plain", b"User-agent: *\nDisallow: /no/\n"),
        _ => Reply::ok("text/html", b"<p>page</p>"),
    })
    .await;
    let err = error(fetch(&config(), &server.url("/no/1")).await);
    assert!(
        matches!(err, FetchError::RobotsDisallowed { .. }),
        "{err:?}"
    );
    assert_eq!(server.paths(), ["/robots.txt", "/real-robots.txt"]);
}

#[tokio::test]
async fn an_oversize_robots_txt_is_read_up_to_the_cap_not_ignored() {
    // 1 MiB of comments between two rules: the first is inside the 512 KiB read, the second
    // is past it. RFC 9309 asks to parse at least 500 KiB, not to give up on the file.
    let mut text = b"User-agent: *\nDisallow: /early/\n".to_vec();
    while text.len() < 1 << 20 {
        text.extend_from_slice(b"# padding padding padding padding padding padding\n");
    }
    text.extend_from_slice(b"Disallow: /late/\n");
    let server = site(move || Reply::ok("text/plain", &text)).await;
    let fetcher = Fetcher::new(&config()).unwrap();
    let err = error(fetcher.fetch(&request(&server.url("/early/1"))).await);
    assert!(
        matches!(err, FetchError::RobotsDisallowed { .. }),
        "a big robots.txt is not a licence to crawl: {err:?}"
    );
    page(fetcher.fetch(&request(&server.url("/late/1"))).await);
}

#[tokio::test(start_paused = true)]
async fn crawl_delay_is_honoured_and_capped() {
    // (Crawl-delay, max_crawl_delay) → expected spacing.
    for (delay, cap, spacing) in [("5", 2, 2), ("1", 30, 1)] {
        let text: &'static str =
            Box::leak(format!("User-agent: *\nCrawl-delay: {delay}\n").into_boxed_str());
        let server = site(robots_txt(text)).await;
        let mut cfg = config();
        cfg.max_crawl_delay = Duration::from_secs(cap);
        let fetcher = Fetcher::new(&cfg).unwrap();
        for i in 0..3 {
            page(
                fetcher
                    .fetch(&request(&server.url(&format!("/p{i}"))))
                    .await,
            );
        }
        let want = Duration::from_secs(spacing);
        for g in gaps(&page_times(&server)) {
            assert!(
                g >= want && g < want + Duration::from_millis(50),
                "Crawl-delay {delay} capped at {cap}s: gap {g:?}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_host_does_not_stall_another() {
    let slow = Hostile::page(|_| {
        Reply::Late(
            Duration::from_secs(5),
            crate::hostile::head(200, &[("Content-Length", "0")]),
        )
    })
    .await;
    let fast = Hostile::page(|_| Reply::ok("text/html", b"<p>quick</p>")).await;
    let mut cfg = config();
    cfg.per_host_interval = Duration::from_millis(100);
    cfg.timeout = Duration::from_secs(30);
    let fetcher = Arc::new(Fetcher::new(&cfg).unwrap());
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..3 {
        for (name, server) in [("slow", &slow), ("fast", &fast)] {
            let (fetcher, url) = (fetcher.clone(), server.url(&format!("/{i}")));
            tasks.push(tokio::spawn(async move {
                page(fetcher.fetch(&request(&url)).await);
                (name, t0.elapsed())
            }));
        }
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.unwrap());
    }
    let fast_done: Vec<Duration> = done.iter().filter(|d| d.0 == "fast").map(|d| d.1).collect();
    let slow_done: Vec<Duration> = done.iter().filter(|d| d.0 == "slow").map(|d| d.1).collect();
    assert!(
        fast_done.iter().all(|d| *d < Duration::from_secs(1)),
        "fast host waited for the slow one: {done:?}"
    );
    assert!(
        slow_done.iter().all(|d| *d >= Duration::from_secs(5)),
        "{done:?}"
    );
    // The fast host is still paced by its own interval.
    for g in gaps(&fast.times_all()) {
        assert!(g >= cfg.per_host_interval, "{g:?}");
    }
}
