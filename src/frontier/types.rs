//! The frontier's vocabulary: the typed URL key and record id, HTTP validators, why a URL
//! failed or was refused, and the state a URL is in. Pure data: no I/O, no policy.

use std::fmt;

use chrono::{DateTime, Utc};
use url::Url;

use crate::model::RawLocation;
pub use crate::model::Validators;

/// A URL as the frontier keys it: canonical (fragment and tracking parameters removed), so the
/// same article listed with `?utm_source=…` in one feed and bare in another is one URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UrlKey(String);

impl UrlKey {
    /// The key of a URL: canonicalized once, here.
    pub fn of(url: &Url) -> Self {
        Self(crate::canonical::canonicalize(url).to_string())
    }

    /// A key read back from storage, where it was written by [`UrlKey::of`].
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UrlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of a corpus record (`a` + 31 hex digits of the text's SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordId(String);

impl RecordId {
    /// Wraps a record id produced by the deduper or read from storage.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a URL produced no record this time. Each kind has its own retry pace
/// ([`crate::frontier::RetryPolicy`]); its [`FailureKind::as_str`] is the stable name used in
/// reports and in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// No complete response in time.
    Timeout,
    /// Name resolution, connection, TLS or protocol failure (the run report names which).
    Transport,
    /// A status that may pass: 5xx, 408, 429.
    ServerBusy {
        /// The status code.
        status: u16,
    },
    /// A client-error status other than 404/410 (403, 401, 451…): unlikely to pass soon.
    Refusing {
        /// The status code.
        status: u16,
    },
    /// The body passed `fetch.max_body_bytes`.
    TooLarge,
    /// Redirect loop, too many hops, or a redirect without a usable `Location`.
    Redirects,
    /// The site's robots.txt could not be read (RFC 9309: crawl nothing until it can).
    RobotsUnavailable,
    /// A 304 to a request that sent no validators.
    UnexpectedNotModified,
    /// The response could not be written to `raw/`.
    RawStore,
    /// The page is not HTML.
    NotHtml,
    /// No article text was found on the page.
    NoText,
    /// The page's source is not configured.
    UnknownSource,
}

impl FailureKind {
    /// Every kind without a status, for parsing.
    const PLAIN: [Self; 10] = [
        Self::Timeout,
        Self::Transport,
        Self::TooLarge,
        Self::Redirects,
        Self::RobotsUnavailable,
        Self::UnexpectedNotModified,
        Self::RawStore,
        Self::NotHtml,
        Self::NoText,
        Self::UnknownSource,
    ];

    /// The stable name ("timeout", "status_503", "no_text", …).
    pub fn as_str(&self) -> String {
        match self {
            Self::Timeout => "timeout".into(),
            Self::Transport => "transport".into(),
            Self::ServerBusy { status } | Self::Refusing { status } => format!("status_{status}"),
            Self::TooLarge => "too_large".into(),
            Self::Redirects => "redirects".into(),
            Self::RobotsUnavailable => "robots_unavailable".into(),
            Self::UnexpectedNotModified => "unexpected_304".into(),
            Self::RawStore => "raw_store".into(),
            Self::NotHtml => "not_html".into(),
            Self::NoText => "no_text".into(),
            Self::UnknownSource => "unknown_source".into(),
        }
    }

    /// The kind of a failing HTTP status (not 404/410, which make a URL [`UrlState::Gone`]).
    pub fn of_status(status: u16) -> Self {
        if status >= 500 || status == 408 || status == 429 {
            Self::ServerBusy { status }
        } else {
            Self::Refusing { status }
        }
    }

    /// Reads back a name written by [`FailureKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(code) = s.strip_prefix("status_") {
            return code.parse().ok().map(Self::of_status);
        }
        Self::PLAIN.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the kind says something about the page rather than about the moment: such
    /// failures are retried at a slower pace.
    pub fn is_persistent(&self) -> bool {
        matches!(
            self,
            Self::Refusing { .. }
                | Self::TooLarge
                | Self::Redirects
                | Self::NotHtml
                | Self::NoText
                | Self::UnknownSource
        )
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// Why a URL is never requested (`refused (robots, private, scheme)` in the issue, plus URLs
/// too long to request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// robots.txt disallows it for our user agent.
    Robots,
    /// Its host is, or resolves to, a non-public address.
    Private,
    /// Not http or https.
    Scheme,
    /// Longer than any server answers usefully.
    TooLong,
}

impl Refusal {
    /// The stable name ("robots", "private", "scheme").
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Robots => "robots",
            Self::Private => "private",
            Self::Scheme => "scheme",
            Self::TooLong => "too_long",
        }
    }

    /// Reads back a name written by [`Refusal::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Robots, Self::Private, Self::Scheme, Self::TooLong]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Where a URL is in its life. Only [`crate::frontier::transition`] moves a URL from one
/// state to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlState {
    /// Listed by a feed, sitemap or section page (or given to `newsmill fetch`); to be fetched.
    Discovered,
    /// The response is durable in `raw/`; its record is not yet durable in the corpus. The next
    /// run normalizes it from `raw/` without a request.
    Fetched {
        /// Where the response sits in `raw/`.
        raw: RawLocation,
    },
    /// Its record (or a sighting on an existing record) is durable in the corpus. Final.
    Ingested {
        /// The record holding its text.
        record: RecordId,
        /// Whether the text was already in the corpus under another URL.
        duplicate: bool,
    },
    /// The last attempt failed.
    Failed {
        /// Why.
        kind: FailureKind,
        /// Attempts that failed so far (≥ 1).
        attempts: u32,
        /// When a run may try again; `None` once `attempts` reached the cap (exhausted).
        next_attempt: Option<DateTime<Utc>>,
    },
    /// The server said 404 or 410. Final.
    Gone {
        /// The status.
        status: u16,
    },
    /// Never requested. Final.
    Refused {
        /// Why.
        reason: Refusal,
    },
}

impl UrlState {
    /// The stable name of the state ("discovered", "fetched", …), as stored.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Discovered => "discovered",
            Self::Fetched { .. } => "fetched",
            Self::Ingested { .. } => "ingested",
            Self::Failed { .. } => "failed",
            Self::Gone { .. } => "gone",
            Self::Refused { .. } => "refused",
        }
    }

    /// Whether a run with this time may fetch the URL (without `--refetch`).
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        match self {
            Self::Discovered => true,
            Self::Failed { next_attempt, .. } => next_attempt.is_some_and(|t| t <= now),
            Self::Fetched { .. }
            | Self::Ingested { .. }
            | Self::Gone { .. }
            | Self::Refused { .. } => false,
        }
    }

    /// Whether the URL failed as often as the policy allows and is no longer tried.
    pub fn is_exhausted(&self) -> bool {
        matches!(
            self,
            Self::Failed {
                next_attempt: None,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_kinds_round_trip_through_their_names() {
        let mut all = FailureKind::PLAIN.to_vec();
        all.extend([
            FailureKind::ServerBusy { status: 503 },
            FailureKind::Refusing { status: 403 },
            FailureKind::ServerBusy { status: 429 },
        ]);
        for k in all {
            assert_eq!(FailureKind::parse(&k.as_str()), Some(k), "{k}");
        }
        assert_eq!(FailureKind::parse("nonsense"), None);
        assert_eq!(FailureKind::parse("status_x"), None);
    }

    #[test]
    fn refusals_round_trip() {
        for r in [
            Refusal::Robots,
            Refusal::Private,
            Refusal::Scheme,
            Refusal::TooLong,
        ] {
            assert_eq!(Refusal::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn keys_are_canonical() {
        let a = Url::parse("https://example.org/a?utm_source=x#top").unwrap();
        let b = Url::parse("https://example.org/a").unwrap();
        assert_eq!(UrlKey::of(&a), UrlKey::of(&b));
    }
}
