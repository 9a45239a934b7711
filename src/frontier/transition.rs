//! The only way a URL changes state: [`next`], a pure function of the current state, what
//! happened, the time and the retry policy. Storage backends read the current state, call
//! [`next`] and write the result in one transaction; nothing else writes a URL's state.
//!
//! # Rules
//! - `Ingested` is final: a later failure, 404 or refusal of a re-fetch never un-ingests a URL
//!   (its record is in the corpus); only a new record replaces the record id.
//! - A failure counts an attempt and schedules the next one by the [`RetryPolicy`]; at the cap
//!   the URL is *exhausted* (`next_attempt: None`) and is reported, not tried again.
//! - `RawLost` (its raw response cannot be read back) and `Requeue` (`verify --repair`,
//!   `reprocess`) send a URL back to `Discovered`, to be fetched again.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::RawLocation;

use super::types::{FailureKind, RecordId, Refusal, UrlState, Validators};

/// Longest wait between two attempts at a failed URL, whatever the kind and count.
pub const MAX_BACKOFF: Duration = Duration::from_secs(7 * 86_400);
/// How much slower a [`FailureKind::is_persistent`] failure is retried than a passing one.
pub const PERSISTENT_FACTOR: u32 = 4;

/// How failed URLs are retried by later runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failure; doubled with each further attempt, times
    /// [`PERSISTENT_FACTOR`] for persistent kinds, capped at [`MAX_BACKOFF`].
    pub base: Duration,
    /// Failed attempts after which a URL is exhausted.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(600),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, after `attempts` (≥ 1) failures of `kind`.
    pub fn backoff(&self, kind: FailureKind, attempts: u32) -> Duration {
        let factor = if kind.is_persistent() {
            PERSISTENT_FACTOR
        } else {
            1
        };
        let doubling = 1u32 << attempts.saturating_sub(1).min(20);
        self.base
            .saturating_mul(factor)
            .saturating_mul(doubling)
            .min(MAX_BACKOFF)
    }
}

/// What happened to one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Its response was written to `raw/` and fsynced.
    Fetched {
        /// Where.
        raw: RawLocation,
    },
    /// Its record (or a sighting) was flushed to the corpus.
    Ingested {
        /// The record.
        record: RecordId,
        /// Whether the text was already in the corpus.
        duplicate: bool,
        /// The response's validators, stored only now (never ahead of the record).
        validators: Validators,
    },
    /// The fetch or the normalization failed.
    Failed {
        /// Why.
        kind: FailureKind,
    },
    /// 404 or 410.
    Gone {
        /// The status.
        status: u16,
    },
    /// Refused before any request.
    Refused {
        /// Why.
        reason: Refusal,
    },
    /// Its raw response is unreadable: fetch it again.
    RawLost,
    /// Fetch it again (repair, reprocess).
    Requeue,
}

/// The state after `t` happened to a URL in state `current` (`None`: not yet in the frontier).
pub fn next(
    current: Option<&UrlState>,
    t: &Transition,
    now: DateTime<Utc>,
    policy: &RetryPolicy,
) -> UrlState {
    let current = current.cloned().unwrap_or(UrlState::Discovered);
    match (current, t) {
        (
            _,
            Transition::Ingested {
                record, duplicate, ..
            },
        ) => UrlState::Ingested {
            record: record.clone(),
            duplicate: *duplicate,
        },
        (_, Transition::Requeue) => UrlState::Discovered,
        (s @ UrlState::Ingested { .. }, _) => s,
        (_, Transition::Fetched { raw }) => UrlState::Fetched { raw: raw.clone() },
        (s, Transition::Failed { kind }) => {
            let attempts = match s {
                UrlState::Failed { attempts, .. } => attempts.saturating_add(1),
                _ => 1,
            };
            let next_attempt = (attempts < policy.max_attempts).then(|| {
                let wait = policy.backoff(*kind, attempts);
                now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
            });
            UrlState::Failed {
                kind: *kind,
                attempts,
                next_attempt,
            }
        }
        (_, Transition::Gone { status }) => UrlState::Gone { status: *status },
        (_, Transition::Refused { reason }) => UrlState::Refused { reason: *reason },
        (UrlState::Fetched { .. }, Transition::RawLost) => UrlState::Discovered,
        (s, Transition::RawLost) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn loc() -> RawLocation {
        RawLocation {
            file: "2026/01/01/a.warc.gz".into(),
            offset: 10,
            length: 20,
        }
    }

    fn ingested() -> Transition {
        Transition::Ingested {
            record: RecordId::new("a1"),
            duplicate: false,
            validators: Validators::default(),
        }
    }

    fn fail(kind: FailureKind) -> Transition {
        Transition::Failed { kind }
    }

    const P: RetryPolicy = RetryPolicy {
        base: Duration::from_secs(60),
        max_attempts: 3,
    };

    #[test]
    fn discovered_to_fetched_to_ingested() {
        let s = next(None, &Transition::Fetched { raw: loc() }, t0(), &P);
        assert_eq!(s, UrlState::Fetched { raw: loc() });
        assert!(
            !s.is_due(t0()),
            "a fetched URL is recovered from raw, not fetched"
        );
        let s = next(Some(&s), &ingested(), t0(), &P);
        assert!(
            matches!(s, UrlState::Ingested { ref record, duplicate: false } if record.as_str() == "a1")
        );
    }

    #[test]
    fn ingested_is_final_for_failures_gone_refused_and_fetches() {
        let s = next(None, &ingested(), t0(), &P);
        for t in [
            fail(FailureKind::Timeout),
            Transition::Gone { status: 404 },
            Transition::Refused {
                reason: Refusal::Robots,
            },
            Transition::Fetched { raw: loc() },
            Transition::RawLost,
        ] {
            assert_eq!(next(Some(&s), &t, t0(), &P), s, "{t:?}");
        }
    }

    #[test]
    fn a_new_record_replaces_the_record_id() {
        let s = next(None, &ingested(), t0(), &P);
        let t = Transition::Ingested {
            record: RecordId::new("b2"),
            duplicate: true,
            validators: Validators::default(),
        };
        assert!(
            matches!(next(Some(&s), &t, t0(), &P), UrlState::Ingested { record, duplicate: true } if record.as_str() == "b2")
        );
    }

    #[test]
    fn failures_count_attempts_back_off_and_exhaust() {
        let kind = FailureKind::ServerBusy { status: 503 };
        let s1 = next(Some(&UrlState::Discovered), &fail(kind), t0(), &P);
        let due1 = t0() + chrono::Duration::seconds(60);
        assert_eq!(
            s1,
            UrlState::Failed {
                kind,
                attempts: 1,
                next_attempt: Some(due1)
            }
        );
        assert!(!s1.is_due(t0()) && s1.is_due(due1));
        let s2 = next(Some(&s1), &fail(FailureKind::Timeout), due1, &P);
        assert_eq!(
            s2,
            UrlState::Failed {
                kind: FailureKind::Timeout,
                attempts: 2,
                next_attempt: Some(due1 + chrono::Duration::seconds(120))
            }
        );
        let s3 = next(Some(&s2), &fail(kind), due1, &P);
        assert!(s3.is_exhausted(), "{s3:?}");
        assert!(!s3.is_due(due1 + chrono::Duration::days(365)));
    }

    #[test]
    fn persistent_failures_wait_longer_and_backoff_is_capped() {
        assert_eq!(
            P.backoff(FailureKind::NoText, 1),
            Duration::from_secs(60 * u64::from(PERSISTENT_FACTOR))
        );
        assert_eq!(P.backoff(FailureKind::Timeout, 1), Duration::from_secs(60));
        assert_eq!(P.backoff(FailureKind::Timeout, 40), MAX_BACKOFF);
    }

    #[test]
    fn fetched_then_failed_normalization_is_a_failure() {
        let s = next(None, &Transition::Fetched { raw: loc() }, t0(), &P);
        let s = next(Some(&s), &fail(FailureKind::NoText), t0(), &P);
        assert!(matches!(
            s,
            UrlState::Failed {
                kind: FailureKind::NoText,
                attempts: 1,
                ..
            }
        ));
    }

    #[test]
    fn gone_and_refused_are_final_until_requeued() {
        let g = next(None, &Transition::Gone { status: 410 }, t0(), &P);
        assert_eq!(g, UrlState::Gone { status: 410 });
        assert!(!g.is_due(t0()));
        let r = next(
            Some(&UrlState::Discovered),
            &Transition::Refused {
                reason: Refusal::Private,
            },
            t0(),
            &P,
        );
        assert!(!r.is_due(t0()));
        assert_eq!(
            next(Some(&r), &Transition::Requeue, t0(), &P),
            UrlState::Discovered
        );
        assert_eq!(
            next(Some(&g), &Transition::Requeue, t0(), &P),
            UrlState::Discovered
        );
    }

    #[test]
    fn raw_lost_sends_a_fetched_url_back_to_discovered_only() {
        let f = UrlState::Fetched { raw: loc() };
        assert_eq!(
            next(Some(&f), &Transition::RawLost, t0(), &P),
            UrlState::Discovered
        );
        let g = UrlState::Gone { status: 404 };
        assert_eq!(next(Some(&g), &Transition::RawLost, t0(), &P), g);
    }

    #[test]
    fn requeue_reopens_an_ingested_url() {
        let s = next(None, &ingested(), t0(), &P);
        assert_eq!(
            next(Some(&s), &Transition::Requeue, t0(), &P),
            UrlState::Discovered
        );
    }
}
