//! `[worker]`: how a `newsmill worker` shares the PostgreSQL frontier with the others (lease
//! length, discovery pace, hosts held at once). Read and validated here; used only by
//! `crate::worker`. The defaults suit workers on machines that may die: a dead worker's hosts
//! are free again after `lease_ttl`.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::Deserialize;

/// Shortest lease accepted: a heartbeat every third of it must be able to renew it in time.
const MIN_LEASE_TTL: Duration = Duration::from_secs(3);

/// `[worker]`, as written and as used (every value is already typed).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// How long a host or source lease lives without a heartbeat; the worker renews its
    /// leases every third of it. A SIGKILLed worker's hosts are taken over after at most this.
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
    /// How often each source's discovery (feeds, sitemaps, sections) runs, by one worker.
    #[serde(with = "humantime_serde")]
    pub discover_every: Duration,
    /// Host leases one worker holds at once (hosts it fetches concurrently).
    pub hosts: NonZeroUsize,
    /// How long an idle worker (nothing to claim) waits before asking again.
    #[serde(with = "humantime_serde")]
    pub idle_poll: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(30),
            discover_every: Duration::from_secs(15 * 60),
            hosts: NonZeroUsize::new(16).unwrap_or(NonZeroUsize::MIN),
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// Checks the values that types alone do not.
pub(super) fn validate(raw: &WorkerConfig, problems: &mut Vec<String>) {
    if raw.lease_ttl < MIN_LEASE_TTL {
        problems.push(format!(
            "worker.lease_ttl: at least {} (heartbeats renew it every third)",
            humantime::format_duration(MIN_LEASE_TTL)
        ));
    }
    if raw.idle_poll.is_zero() {
        problems.push("worker.idle_poll: must be more than zero".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_a_too_short_lease_is_named() {
        let mut problems = Vec::new();
        validate(&WorkerConfig::default(), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let short = WorkerConfig {
            lease_ttl: Duration::from_millis(500),
            idle_poll: Duration::ZERO,
            ..WorkerConfig::default()
        };
        validate(&short, &mut problems);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("worker.lease_ttl"));
    }
}
