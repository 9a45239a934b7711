//! Retry policy, pure: which failures are worth another attempt and how long to wait.
//! 5xx, 408 and 429 and transport failures are retried; other 4xx never are, and neither are
//! timeouts (a server that never answers costs one deadline). The wait is the server's
//! `Retry-After` when it gives one (seconds or HTTP-date); one longer than
//! [`MAX_RETRY_AFTER`] means no retry in this run. Without one, capped exponential backoff with
//! full jitter.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// First backoff step.
pub const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// Longest backoff between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Longest `Retry-After` newsmill is willing to wait inside one run; longer means "give up
/// for this run".
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Whether an HTTP status is worth retrying.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504 | 520..=529)
}

/// Parses `Retry-After`: delta-seconds or an HTTP-date relative to `now`. `None` when absent,
/// unparsable, or further away than [`MAX_RETRY_AFTER`].
pub fn retry_after(value: Option<&str>, now: DateTime<Utc>) -> Option<Duration> {
    parse_retry_after(value, now).filter(|wait| *wait <= MAX_RETRY_AFTER)
}

/// Parses `Retry-After` without the cap, so the caller can tell "no usable header" (`None`:
/// back off) from "asked for longer than [`MAX_RETRY_AFTER`]" (give up for this run).
/// A date in the past is a zero wait.
pub fn parse_retry_after(value: Option<&str>, now: DateTime<Utc>) -> Option<Duration> {
    let v = value?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Full-jitter exponential backoff for attempt `n` (0-based), given a random value in [0, 1).
pub fn backoff(attempt: u32, unit_random: f64) -> Duration {
    let exp = BASE_BACKOFF.saturating_mul(1u32 << attempt.min(16));
    let cap = exp.min(MAX_BACKOFF);
    cap.mul_f64(unit_random.clamp(0.0, 1.0))
}

/// A small non-cryptographic random source for jitter (xorshift64*), seeded per fetcher.
#[derive(Debug)]
pub struct Jitter(std::sync::atomic::AtomicU64);

impl Jitter {
    /// Seeds from the clock and the process id.
    pub fn new() -> Self {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(1);
        Self(std::sync::atomic::AtomicU64::new(
            (nanos as u64) ^ (u64::from(std::process::id()) << 32) | 1,
        ))
    }

    /// Next value in [0, 1).
    pub fn next_unit(&self) -> f64 {
        use std::sync::atomic::Ordering;
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.store(x, Ordering::Relaxed);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Jitter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 410, 501] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 0).unwrap();
        assert_eq!(retry_after(Some("3"), now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(Some("86400"), now), None);
        assert_eq!(
            parse_retry_after(Some("86400"), now),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(retry_after(Some("soon"), now), None);
        assert_eq!(retry_after(None, now), None);
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        assert_eq!(backoff(0, 0.0), Duration::ZERO);
        assert!(backoff(1, 0.999) < Duration::from_secs(1));
        assert!(backoff(30, 0.999) <= MAX_BACKOFF);
        let j = Jitter::new();
        let v: Vec<f64> = (0..100).map(|_| j.next_unit()).collect();
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(v.windows(2).any(|w| w[0] != w[1]));
    }
}
