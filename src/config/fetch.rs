//! `[fetch]`: the politeness and limit keys as written (`RawFetchConfig`) and validated
//! (`FetchConfig`), each value checked against its `bounds`.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::Deserialize;

use super::bounds;

/// `[fetch]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawFetchConfig {
    user_agent: String,
    concurrency: usize,
    per_host_concurrency: usize,
    #[serde(with = "humantime_serde")]
    per_host_interval: Duration,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    #[serde(with = "humantime_serde")]
    connect_timeout: Duration,
    max_body_bytes: u64,
    max_redirects: usize,
    max_retries: u32,
    #[serde(with = "humantime_serde")]
    max_crawl_delay: Duration,
    #[serde(with = "humantime_serde")]
    robots_ttl: Duration,
    allow_private_networks: bool,
    #[serde(with = "humantime_serde")]
    recent_window: Duration,
    #[serde(with = "humantime_serde")]
    retry_backoff: Duration,
    max_attempts: u32,
}

impl Default for RawFetchConfig {
    fn default() -> Self {
        Self {
            user_agent: concat!("newsmill/", env!("CARGO_PKG_VERSION")).into(),
            concurrency: 16,
            per_host_concurrency: 2,
            per_host_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 10_000_000,
            max_redirects: 10,
            max_retries: 3,
            max_crawl_delay: Duration::from_secs(30),
            robots_ttl: Duration::from_secs(6 * 3600),
            allow_private_networks: false,
            recent_window: Duration::from_secs(3 * 86_400),
            retry_backoff: Duration::from_secs(600),
            max_attempts: 8,
        }
    }
}

/// `[fetch]`, validated. Every politeness limit the fetcher applies comes from here.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// `User-Agent` header and the robots.txt product token source.
    pub user_agent: String,
    /// Requests in flight overall.
    pub concurrency: NonZeroUsize,
    /// Requests in flight to one host.
    pub per_host_concurrency: NonZeroUsize,
    /// Minimum spacing between request starts to one host.
    pub per_host_interval: Duration,
    /// Whole-request deadline (connect, headers and body).
    pub timeout: Duration,
    /// Connect deadline.
    pub connect_timeout: Duration,
    /// Cap on decoded body bytes; longer bodies are cut and recorded as errors.
    pub max_body_bytes: u64,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Retries after the first attempt for retryable failures.
    pub max_retries: u32,
    /// Upper bound on a robots.txt `Crawl-delay`.
    pub max_crawl_delay: Duration,
    /// How long a robots.txt is trusted.
    pub robots_ttl: Duration,
    /// Whether loopback/private/link-local targets may be fetched (tests, demo).
    pub allow_private_networks: bool,
    /// Sitemap entries older than this are skipped in "recent" mode.
    pub recent_window: Duration,
    /// How later runs retry a failed article URL (`retry_backoff`, `max_attempts`).
    pub retry: crate::frontier::RetryPolicy,
}

/// A count within `range` as a `NonZeroUsize`; out of range is a problem and yields 1.
pub(super) fn bounded_non_zero(
    key: &str,
    n: usize,
    range: std::ops::RangeInclusive<u64>,
    problems: &mut Vec<String>,
) -> NonZeroUsize {
    let in_range = bounds::count(key, u64::try_from(n).unwrap_or(u64::MAX), range, problems);
    NonZeroUsize::new(n)
        .filter(|_| in_range)
        .unwrap_or(NonZeroUsize::MIN)
}

pub(super) fn validate_fetch(raw: RawFetchConfig, problems: &mut Vec<String>) -> FetchConfig {
    if raw.user_agent.trim().is_empty() || raw.user_agent.contains(['\r', '\n']) {
        problems.push("fetch.user_agent: must be a non-empty single line".into());
    } else {
        let len = u64::try_from(raw.user_agent.len()).unwrap_or(u64::MAX);
        bounds::count(
            "fetch.user_agent (bytes)",
            len,
            bounds::USER_AGENT_BYTES,
            problems,
        );
    }
    let durations = [
        (
            "fetch.per_host_interval",
            raw.per_host_interval,
            bounds::PER_HOST_INTERVAL,
        ),
        ("fetch.timeout", raw.timeout, bounds::TIMEOUT),
        (
            "fetch.connect_timeout",
            raw.connect_timeout,
            bounds::CONNECT_TIMEOUT,
        ),
        (
            "fetch.max_crawl_delay",
            raw.max_crawl_delay,
            bounds::MAX_CRAWL_DELAY,
        ),
        ("fetch.robots_ttl", raw.robots_ttl, bounds::ROBOTS_TTL),
        (
            "fetch.recent_window",
            raw.recent_window,
            bounds::RECENT_WINDOW,
        ),
        (
            "fetch.retry_backoff",
            raw.retry_backoff,
            bounds::RETRY_BACKOFF,
        ),
    ];
    for (key, value, range) in durations {
        bounds::duration(key, value, range, problems);
    }
    let counts = [
        (
            "fetch.max_body_bytes",
            raw.max_body_bytes,
            bounds::MAX_BODY_BYTES,
        ),
        (
            "fetch.max_redirects",
            u64::try_from(raw.max_redirects).unwrap_or(u64::MAX),
            bounds::MAX_REDIRECTS,
        ),
        (
            "fetch.max_retries",
            u64::from(raw.max_retries),
            bounds::MAX_RETRIES,
        ),
        (
            "fetch.max_attempts",
            u64::from(raw.max_attempts),
            bounds::MAX_ATTEMPTS,
        ),
    ];
    for (key, value, range) in counts {
        bounds::count(key, value, range, problems);
    }
    FetchConfig {
        concurrency: bounded_non_zero(
            "fetch.concurrency",
            raw.concurrency,
            bounds::CONCURRENCY,
            problems,
        ),
        per_host_concurrency: bounded_non_zero(
            "fetch.per_host_concurrency",
            raw.per_host_concurrency,
            bounds::PER_HOST_CONCURRENCY,
            problems,
        ),
        user_agent: raw.user_agent,
        per_host_interval: raw.per_host_interval,
        timeout: raw.timeout,
        connect_timeout: raw.connect_timeout,
        max_body_bytes: raw.max_body_bytes,
        max_redirects: raw.max_redirects,
        max_retries: raw.max_retries,
        max_crawl_delay: raw.max_crawl_delay,
        robots_ttl: raw.robots_ttl,
        allow_private_networks: raw.allow_private_networks,
        recent_window: raw.recent_window,
        retry: crate::frontier::RetryPolicy {
            base: raw.retry_backoff,
            max_attempts: raw.max_attempts,
        },
    }
}
