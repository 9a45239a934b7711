//! [`FetchError`]: why a fetch produced no page. One variant per failure kind the run report
//! counts; each names the URL, and [`FetchError::kind`] gives the stable report key.
//!
//! A failure before any HTTP answer is named by the step that failed, with the host:
//! [`FetchError::Dns`], [`FetchError::Connect`], [`FetchError::Tls`]. Their client error sits
//! behind an `Arc` so that one dead origin's cached robots.txt verdict can report the same
//! cause for every page of that origin.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

/// Why a fetch produced no page.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Only http and https are fetched.
    #[error("{url}: scheme not allowed")]
    BadScheme {
        /// The URL.
        url: String,
    },
    /// The URL is longer than [`MAX_URL_BYTES`](super::MAX_URL_BYTES): no server answers it
    /// usefully and the HTTP client refuses to build the request.
    #[error("URL of {len} bytes is too long (limit {limit}): {prefix}…")]
    UrlTooLong {
        /// The URL's first bytes (the whole URL would flood the log).
        prefix: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// robots.txt disallows the URL for our user agent.
    #[error("{url}: disallowed by robots.txt")]
    RobotsDisallowed {
        /// The URL.
        url: Url,
    },
    /// robots.txt could not be fetched (5xx, 429, timeout): RFC 9309 says crawl nothing until
    /// it can be read, and that is a failure the operator should see, not a robots refusal.
    /// (When the origin cannot be reached at all the page fails with `Dns`, `Connect` or `Tls`.)
    #[error(
        "{url}: robots.txt of the site is unavailable (server error, 429 or timeout); not crawled until it can be read"
    )]
    RobotsUnavailable {
        /// The URL.
        url: Url,
    },
    /// The host's shared pacing refused the request: another worker holds the host now
    /// (`newsmill worker` only). Nothing was sent; the URL is due again.
    #[error("{url}: another worker holds this host now; not requested")]
    TurnLost {
        /// The URL.
        url: Url,
    },
    /// The host is, or resolves only to, loopback/private/link-local/unspecified addresses.
    /// Checked on the IP literal and on the resolver's answer, robots.txt fetch included.
    #[error("{url}: target address is not public (set fetch.allow_private_networks to allow)")]
    PrivateAddress {
        /// The URL.
        url: Url,
    },
    /// No complete response within `fetch.timeout`, or no connection within
    /// `fetch.connect_timeout` (`after` says which). Never retried.
    #[error("{url}: timed out after {after:?}")]
    Timeout {
        /// The URL.
        url: Url,
        /// The deadline that passed.
        after: Duration,
    },
    /// The final HTTP status was not a success.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL.
        url: Url,
        /// The status code.
        status: u16,
    },
    /// The decoded body passed `fetch.max_body_bytes`.
    #[error("{url}: body larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: Url,
        /// The cap.
        limit: u64,
    },
    /// More redirects than `fetch.max_redirects`, or a redirect loop.
    #[error("{url}: too many redirects ({hops})")]
    TooManyRedirects {
        /// The first URL.
        url: Url,
        /// Hops followed.
        hops: usize,
    },
    /// A redirect without a usable `Location`.
    #[error("{url}: redirect without a valid Location")]
    BadRedirect {
        /// The URL that redirected.
        url: Url,
    },
    /// The host name did not resolve (unknown name, no resolver answer: often no network).
    #[error("{url}: cannot resolve host {host}")]
    Dns {
        /// The URL.
        url: Url,
        /// The host (with the port when it is not the scheme's default).
        host: String,
        /// The client's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// No TCP connection to the host (refused, unreachable network or host, reset on connect).
    #[error("{url}: cannot connect to {host}")]
    Connect {
        /// The URL.
        url: Url,
        /// The host (with the port when it is not the scheme's default).
        host: String,
        /// The client's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The TLS handshake failed (bad certificate, not TLS on the other end, protocol mismatch).
    #[error("{url}: TLS handshake with {host} failed")]
    Tls {
        /// The URL.
        url: Url,
        /// The host (with the port when it is not the scheme's default).
        host: String,
        /// The client's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// Protocol or body-transfer failure after connecting (reset, truncated body…).
    #[error("{url}: transport error")]
    Transport {
        /// The URL.
        url: Url,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The HTTP client could not be built (bad TLS setup).
    #[error("cannot build the HTTP client")]
    Client {
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
}

impl FetchError {
    /// A short stable name for reports ("timeout", "status_404", "robots", …).
    pub fn kind(&self) -> String {
        match self {
            Self::BadScheme { .. } => "bad_scheme".into(),
            Self::UrlTooLong { .. } => "url_too_long".into(),
            Self::RobotsDisallowed { .. } => "robots".into(),
            Self::RobotsUnavailable { .. } => "robots_unavailable".into(),
            Self::PrivateAddress { .. } => "private_address".into(),
            Self::TurnLost { .. } => "turn_lost".into(),
            Self::Timeout { .. } => "timeout".into(),
            Self::Status { status, .. } => format!("status_{status}"),
            Self::TooLarge { .. } => "too_large".into(),
            Self::TooManyRedirects { .. } => "redirects".into(),
            Self::BadRedirect { .. } => "bad_redirect".into(),
            Self::Dns { .. } => "dns".into(),
            Self::Connect { .. } => "connect".into(),
            Self::Tls { .. } => "tls".into(),
            Self::Transport { .. } => "transport".into(),
            Self::Client { .. } => "client".into(),
        }
    }

    /// Whether the fetch failed before any HTTP answer (name resolution, connection, TLS).
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Self::Dns { .. } | Self::Connect { .. } | Self::Tls { .. }
        )
    }

    /// The same network failure reported for another URL of the same origin (a page whose
    /// robots.txt could not be reached), or `None` when this is not a network failure.
    pub fn network_for(&self, url: &Url) -> Option<Self> {
        let url = url.clone();
        Some(match self {
            Self::Dns { host, source, .. } => Self::Dns {
                url,
                host: host.clone(),
                source: source.clone(),
            },
            Self::Connect { host, source, .. } => Self::Connect {
                url,
                host: host.clone(),
                source: source.clone(),
            },
            Self::Tls { host, source, .. } => Self::Tls {
                url,
                host: host.clone(),
                source: source.clone(),
            },
            _ => return None,
        })
    }
}
