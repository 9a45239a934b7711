//! Bounds on every duration and count in `[fetch]`, and the checks that enforce them.
//!
//! A value outside its bound is a config problem naming the key, reported by `newsmill check`
//! and refused by every command that loads the config, so nothing downstream does arithmetic
//! on a value it cannot represent (`now - 300000y` overflows the calendar and panics). The
//! bounds are generous: they exist to catch typos and absurd values, not to tune a crawl.

use std::ops::RangeInclusive;
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
/// A year as `humantime` counts it (365.25 days), so bounds print as `10years`.
const YEAR: Duration = Duration::from_secs(31_557_600);

/// `fetch.concurrency`: requests in flight overall.
pub(super) const CONCURRENCY: RangeInclusive<u64> = 1..=1024;
/// `fetch.per_host_concurrency`: requests in flight to one host.
pub(super) const PER_HOST_CONCURRENCY: RangeInclusive<u64> = 1..=64;
/// `fetch.max_body_bytes`: 1 KiB to 1 GiB of decoded body.
pub(super) const MAX_BODY_BYTES: RangeInclusive<u64> = 1024..=(1 << 30);
/// `fetch.max_redirects`.
pub(super) const MAX_REDIRECTS: RangeInclusive<u64> = 0..=50;
/// `fetch.max_retries`.
pub(super) const MAX_RETRIES: RangeInclusive<u64> = 0..=10;
/// `fetch.max_attempts`: failed attempts before a URL is no longer tried.
pub(super) const MAX_ATTEMPTS: RangeInclusive<u64> = 1..=100;
/// `fetch.user_agent` length in bytes.
pub(super) const USER_AGENT_BYTES: RangeInclusive<u64> = 1..=512;

/// `fetch.per_host_interval`: zero (no pacing) to one hour between request starts.
pub(super) const PER_HOST_INTERVAL: RangeInclusive<Duration> = Duration::ZERO..=HOUR;
/// `fetch.timeout`: the whole request.
pub(super) const TIMEOUT: RangeInclusive<Duration> = Duration::from_millis(100)..=HOUR;
/// `fetch.connect_timeout`.
pub(super) const CONNECT_TIMEOUT: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(600);
/// `fetch.max_crawl_delay`: the cap on a robots.txt `Crawl-delay`.
pub(super) const MAX_CRAWL_DELAY: RangeInclusive<Duration> = Duration::ZERO..=HOUR;
/// `fetch.robots_ttl`: how long a robots.txt is trusted.
pub(super) const ROBOTS_TTL: RangeInclusive<Duration> = MINUTE..=Duration::from_secs(30 * 86_400);
/// `fetch.recent_window`: how far back sitemap entries count as recent (ten years at most).
pub(super) const RECENT_WINDOW: RangeInclusive<Duration> =
    SECOND..=Duration::from_secs(10 * YEAR.as_secs());
/// `dedup.date_window`: publication-date gap past which near duplicates need stronger evidence
/// (zero: always; one year at most).
pub(super) const DATE_WINDOW: RangeInclusive<Duration> = Duration::ZERO..=YEAR;

/// `fetch.retry_backoff`: the first wait before a failed URL is tried again (the frontier caps
/// every wait at seven days).
pub(super) const RETRY_BACKOFF: RangeInclusive<Duration> =
    Duration::ZERO..=crate::frontier::transition::MAX_BACKOFF;

/// Records a problem when `value` is outside `range`; returns whether it is inside.
pub(super) fn count(
    key: &str,
    value: u64,
    range: RangeInclusive<u64>,
    problems: &mut Vec<String>,
) -> bool {
    let ok = range.contains(&value);
    if !ok {
        problems.push(format!(
            "{key}: {value} is out of range (allowed {}..={})",
            range.start(),
            range.end()
        ));
    }
    ok
}

/// Records a problem when `value` is outside `range`; returns whether it is inside.
pub(super) fn duration(
    key: &str,
    value: Duration,
    range: RangeInclusive<Duration>,
    problems: &mut Vec<String>,
) -> bool {
    let ok = range.contains(&value);
    if !ok {
        problems.push(format!(
            "{key}: {} is out of range (allowed {} to {})",
            show(value),
            show(*range.start()),
            show(*range.end())
        ));
    }
    ok
}

/// A duration as it would be written in the file (`"3d"`, `"100ms"`), or `0s`.
fn show(d: Duration) -> String {
    if d.is_zero() {
        "0s".into()
    } else {
        humantime::format_duration(d).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_name_the_key_and_the_range() {
        let mut problems = Vec::new();
        let huge = humantime::parse_duration("300000y").unwrap();
        assert!(!duration(
            "fetch.recent_window",
            huge,
            RECENT_WINDOW,
            &mut problems
        ));
        assert!(duration(
            "fetch.recent_window",
            3 * HOUR,
            RECENT_WINDOW,
            &mut problems
        ));
        assert!(!count("fetch.concurrency", 0, CONCURRENCY, &mut problems));
        assert!(count("fetch.concurrency", 16, CONCURRENCY, &mut problems));
        assert_eq!(problems.len(), 2, "{problems:?}");
        let first = problems.first().unwrap();
        assert!(
            first.starts_with("fetch.recent_window: 300000years"),
            "{first}"
        );
        assert!(first.contains("allowed 1s to 10years"), "{first}");
        assert_eq!(
            problems.get(1).unwrap(),
            "fetch.concurrency: 0 is out of range (allowed 1..=1024)"
        );
    }

    #[test]
    fn every_upper_bound_is_representable_from_now() {
        // The point of the bounds: `now ± bound` never overflows, so `run` cannot panic.
        let now = chrono::Utc::now();
        for range in [
            PER_HOST_INTERVAL,
            TIMEOUT,
            CONNECT_TIMEOUT,
            MAX_CRAWL_DELAY,
            ROBOTS_TTL,
            RECENT_WINDOW,
        ] {
            let end = chrono::Duration::from_std(*range.end()).unwrap();
            assert!(now.checked_sub_signed(end).is_some());
            assert!(now.checked_add_signed(end).is_some());
            assert!(
                std::time::Instant::now()
                    .checked_add(*range.end())
                    .is_some()
            );
        }
    }
}
