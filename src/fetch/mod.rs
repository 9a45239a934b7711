//! The fetcher: the only network code in newsmill and the only owner of the HTTP client.
//!
//! # Architecture
//! One request walks one readable path ([`Fetcher::fetch`]):
//! scheme check → robots.txt ([`robots`]) → per-host gate ([`politeness`]) → request with a
//! whole-attempt deadline → body read in chunks with a cap on *decoded* bytes → retry decision
//! ([`retry`]) → redirects followed by hand, each hop checked again. The DNS resolver refuses
//! non-public addresses ([`guard`]). Every failure is a typed [`FetchError`] naming the URL.
//!
//! `tests/fetch*.rs` prove each of these against hostile servers on 127.0.0.1
//! (`tests/hostile.rs`): silence, stalls, drips, lies in `Content-Length`, resets, bombs,
//! redirect loops, `Retry-After`, robots.txt failures, private targets.

mod error;
pub mod guard;
pub mod politeness;
pub mod retry;
pub mod robots;

use std::sync::Arc;

use chrono::Utc;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::time::Instant;
use url::Url;

use crate::config::FetchConfig;
use crate::model::{FeedItem, HostKey, RawPage, SourceId, Validators};
pub use error::FetchError;
use politeness::Politeness;
use robots::{Cached, RobotsCache, RobotsRules};

/// One thing to fetch.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The URL.
    pub url: Url,
    /// The source it is fetched for.
    pub source: SourceId,
    /// Validators from the last fetch, if any.
    pub conditional: Validators,
    /// What discovery knew about it.
    pub hint: Option<FeedItem>,
}

/// A fetch that worked.
#[derive(Debug)]
pub enum Fetched {
    /// A 2xx response.
    Page(Box<RawPage>),
    /// 304: unchanged since the validators were stored.
    NotModified {
        /// The URL.
        url: Url,
    },
}

/// The fetcher. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
    gate: Politeness,
    robots: RobotsCache,
    agent_token: String,
    jitter: retry::Jitter,
}

mod attempt;

impl Fetcher {
    /// Builds the client (rustls with the ring provider, no automatic redirects, guarded DNS).
    ///
    /// # Errors
    /// `Client` when the TLS stack cannot be set up.
    pub fn new(config: &FetchConfig) -> Result<Self, FetchError> {
        // Installing twice is harmless: the first provider stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html,application/xhtml+xml,application/xml;q=0.9,application/rss+xml,application/atom+xml,*/*;q=0.8"));
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .dns_resolver(guard::GuardedResolver {
                allow_private: config.allow_private_networks,
            })
            .no_proxy()
            .build()
            .map_err(|source| FetchError::Client { source })?;
        Ok(Self {
            client,
            gate: Politeness::new(
                config.concurrency.get(),
                config.per_host_concurrency.get(),
                config.per_host_interval,
            ),
            robots: RobotsCache::default(),
            agent_token: robots::agent_token(&config.user_agent),
            jitter: retry::Jitter::new(),
            config: config.clone(),
        })
    }

    /// Also takes each request's turn from a pacer shared with other workers
    /// ([`politeness::HostPacer`]); see `newsmill worker`.
    #[must_use]
    pub fn with_pacer(mut self, pacer: Arc<dyn politeness::HostPacer>) -> Self {
        self.gate = self.gate.with_shared(pacer);
        self
    }

    /// Fetches a URL politely, following redirects, retrying what is worth retrying.
    ///
    /// # Errors
    /// A [`FetchError`] naming the URL; see the variants.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
        let mut url = req.url.clone();
        let mut seen = vec![url.clone()];
        loop {
            check_target(&url, self.config.allow_private_networks)?;
            if !self.robots_allow(&url).await? {
                return Err(FetchError::RobotsDisallowed { url });
            }
            let conditional = if url == req.url {
                Some(&req.conditional)
            } else {
                None
            };
            match self.with_retries(&url, conditional).await? {
                attempt::Outcome::Done(resp) => return Ok(self.finish(req, url, resp)),
                attempt::Outcome::NotModified => return Ok(Fetched::NotModified { url }),
                attempt::Outcome::Redirect(next) => {
                    if seen.contains(&next) || seen.len() > self.config.max_redirects {
                        return Err(FetchError::TooManyRedirects {
                            url: req.url.clone(),
                            hops: seen.len() - 1,
                        });
                    }
                    seen.push(next.clone());
                    url = next;
                }
            }
        }
    }

    fn finish(&self, req: &FetchRequest, final_url: Url, resp: attempt::Response) -> Fetched {
        let mut request_headers = vec![
            ("User-Agent".to_owned(), self.config.user_agent.clone()),
            ("Accept-Encoding".to_owned(), "gzip, br, deflate".to_owned()),
        ];
        if final_url == req.url {
            request_headers.extend(
                req.conditional
                    .etag
                    .clone()
                    .map(|e| ("If-None-Match".to_owned(), e)),
            );
            request_headers.extend(
                req.conditional
                    .last_modified
                    .clone()
                    .map(|e| ("If-Modified-Since".to_owned(), e)),
            );
        }
        Fetched::Page(Box::new(RawPage {
            source: req.source.clone(),
            requested_url: req.url.clone(),
            final_url,
            status: resp.status,
            http_version: resp.version,
            request_headers,
            headers: resp.headers,
            body: resp.body,
            // Microsecond precision: what the raw store keeps, so reprocess sees the same value.
            fetched_at: chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
            hint: req.hint.clone(),
        }))
    }

    async fn with_retries(
        &self,
        url: &Url,
        conditional: Option<&Validators>,
    ) -> Result<attempt::Outcome, FetchError> {
        let host = HostKey::try_from(url).map_err(|_| FetchError::BadScheme {
            url: url.to_string(),
        })?;
        let mut attempt_no = 0;
        loop {
            let result = {
                let _permit = self
                    .gate
                    .acquire(&host)
                    .await
                    .map_err(|politeness::TurnLost| FetchError::TurnLost { url: url.clone() })?;
                let cap = attempt::Cap::Fail(self.config.max_body_bytes);
                self.attempt(url, conditional, cap).await
            };
            let wait = match &result {
                Err(attempt::Failure::Retryable { retry_after, .. })
                    if attempt_no < self.config.max_retries =>
                {
                    retry_after
                        .unwrap_or_else(|| retry::backoff(attempt_no, self.jitter.next_unit()))
                }
                _ => return result.map_err(attempt::Failure::into_error),
            };
            // A server asking to slow down slows down the whole host, not just this URL.
            self.gate.pause(&host, wait);
            attempt_no += 1;
            tracing::debug!(url = %url, attempt = attempt_no, wait_ms = wait.as_millis() as u64, "retrying");
        }
    }

    /// Whether robots.txt allows `url`, fetching and caching the origin's file when needed.
    ///
    /// # Errors
    /// `PrivateAddress` when the origin itself resolves to a refused address: the page is
    /// refused for that reason, which the report must say (it is not a robots verdict).
    async fn robots_allow(&self, url: &Url) -> Result<bool, FetchError> {
        let Some((origin, robots_url)) = robots::origin(url) else {
            return Ok(false);
        };
        if url.path() == "/robots.txt" {
            return Ok(true);
        }
        let slot = self.robots.slot(&origin);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_none_or(|c| c.expires <= Instant::now()) {
            let rules = match self.fetch_robots(&robots_url).await {
                Ok(rules) => rules,
                Err(FetchError::TurnLost { .. }) => {
                    return Err(FetchError::TurnLost { url: url.clone() });
                }
                Err(blocked) => {
                    // Not cached: the verdict belongs to the resolver, asked again next time.
                    return Err(match blocked {
                        FetchError::PrivateAddress { .. } => {
                            FetchError::PrivateAddress { url: url.clone() }
                        }
                        other => other,
                    });
                }
            };
            let ttl = if matches!(rules, RobotsRules::Unreachable(_)) {
                robots::UNREACHABLE_TTL
            } else {
                self.config.robots_ttl
            };
            if let (Some(delay), Ok(host)) = (rules.crawl_delay(), HostKey::try_from(url)) {
                self.gate
                    .set_crawl_delay(&host, delay.min(self.config.max_crawl_delay));
            }
            *cached = Some(Cached {
                rules: Arc::new(rules),
                expires: Instant::now() + ttl,
            });
        }
        match cached.as_ref().map(|c| c.rules.as_ref()) {
            Some(RobotsRules::Unreachable(network)) => Err(network
                .as_ref()
                .and_then(|e| e.network_for(url))
                .unwrap_or_else(|| FetchError::RobotsUnavailable { url: url.clone() })),
            Some(rules) => Ok(rules.allows(url)),
            None => Ok(false),
        }
    }

    /// The rules for an origin. The only errors are `PrivateAddress` for the origin itself (a
    /// refused redirect target elsewhere is just "unreachable") and `TurnLost` (another worker
    /// holds the host now).
    async fn fetch_robots(&self, robots_url: &Url) -> Result<RobotsRules, FetchError> {
        let Ok(host) = HostKey::try_from(robots_url) else {
            return Ok(RobotsRules::Unreachable(None));
        };
        let mut url = robots_url.clone();
        // robots.txt redirects (http → https, to www.) are followed up to five hops (RFC 9309).
        for _ in 0..5 {
            let result = {
                let Ok(_permit) = self.gate.acquire(&host).await else {
                    return Err(FetchError::TurnLost { url: url.clone() });
                };
                let cap = attempt::Cap::Truncate(robots::MAX_ROBOTS_BYTES);
                self.attempt(&url, None, cap).await
            };
            let rules = match result {
                Ok(attempt::Outcome::Done(r)) => {
                    RobotsRules::from_response(Some(r.status), &r.body, &self.agent_token)
                }
                Ok(attempt::Outcome::Redirect(next))
                    if check_target(&next, self.config.allow_private_networks).is_ok() =>
                {
                    url = next;
                    continue;
                }
                Err(attempt::Failure::Final(FetchError::Status { status, .. }))
                | Err(attempt::Failure::Retryable {
                    status: Some(status),
                    ..
                }) => RobotsRules::from_response(Some(status), b"", &self.agent_token),
                Err(attempt::Failure::Final(e @ FetchError::PrivateAddress { .. }))
                    if url == *robots_url =>
                {
                    return Err(e);
                }
                // The origin itself could not be reached: keep the cause for its pages.
                Err(failure) => {
                    let error = failure.into_error();
                    RobotsRules::Unreachable(error.is_network().then(|| Box::new(error)))
                }
                Ok(_) => RobotsRules::Unreachable(None),
            };
            return Ok(rules);
        }
        Ok(RobotsRules::Unreachable(None))
    }

    /// `Sitemap:` lines of the origin's robots.txt (fetching it if needed).
    pub async fn robots_sitemaps(&self, url: &Url) -> Vec<Url> {
        let Some((origin, _)) = robots::origin(url) else {
            return Vec::new();
        };
        if self.robots_allow(url).await.is_err() {
            return Vec::new();
        }
        let slot = self.robots.slot(&origin);
        let cached = slot.lock().await;
        cached
            .as_ref()
            .map(|c| {
                c.rules
                    .sitemaps()
                    .iter()
                    .filter_map(|s| Url::parse(s).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Longest URL fetched, in bytes. Servers commonly refuse request lines past 8 KiB and the
/// HTTP client refuses to build one past 64 KiB; 16 KiB leaves room for real tracking-laden
/// links while keeping a hostile one out of requests and logs.
pub const MAX_URL_BYTES: usize = 16 * 1024;

/// How much of an over-long URL an error message shows.
const URL_PREFIX_SHOWN: usize = 200;

/// Refuses over-long URLs, non-http(s) URLs and, unless allowed, IP-literal hosts that are not public (names
/// are checked by the resolver).
fn check_target(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    let len = url.as_str().len();
    if len > MAX_URL_BYTES {
        // A serialized `Url` is ASCII (punycode, percent-encoding), so any cut is a boundary.
        return Err(FetchError::UrlTooLong {
            prefix: url
                .as_str()
                .get(..URL_PREFIX_SHOWN)
                .unwrap_or_default()
                .to_owned(),
            len,
            limit: MAX_URL_BYTES,
        });
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(FetchError::BadScheme {
            url: url.to_string(),
        });
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    match ip {
        Some(ip) if !allow_private && !guard::is_public(ip) => {
            Err(FetchError::PrivateAddress { url: url.clone() })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 9 item 12: a 100 KB URL is too long, not a bad scheme; embedded private IPv4
    /// literals are refused before any connection.
    // See: issues show 9
    #[test]
    fn issue_9_long_urls_and_embedded_private_literals() {
        let long = Url::parse(&format!("https://news.example/{}", "a".repeat(100_000))).unwrap();
        let err = check_target(&long, false).unwrap_err();
        assert_eq!(err.kind(), "url_too_long", "{err}");
        assert!(err.to_string().contains("too long"), "{err}");
        assert!(err.to_string().len() < 400, "message floods the log");
        let ok = Url::parse(&format!("https://news.example/{}", "a".repeat(2000))).unwrap();
        assert!(check_target(&ok, false).is_ok());
        for host in ["[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]"] {
            let url = Url::parse(&format!("http://{host}/a")).unwrap();
            let err = check_target(&url, false).unwrap_err();
            assert_eq!(err.kind(), "private_address", "{host}");
            assert!(check_target(&url, true).is_ok(), "{host}");
        }
    }
}
