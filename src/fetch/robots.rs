//! robots.txt rules per origin (scheme + host + port), cached with a TTL, following RFC 9309:
//! 2xx → parse; 4xx (incl. 404) → everything allowed; 5xx, 429 or unreachable → everything
//! disallowed for now, retried after a shorter TTL. Only the parsing and caching live here;
//! the fetch itself goes through the fetcher's politeness gate like any request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use texting_robots::Robot;
use tokio::time::Instant;
use url::Url;

use super::FetchError;

/// How long an "unreachable" verdict lasts before robots.txt is asked again.
pub const UNREACHABLE_TTL: Duration = Duration::from_secs(600);
/// Largest robots.txt read (Google's limit is 500 KiB).
pub const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// What robots.txt says about one origin.
#[derive(Debug)]
pub enum RobotsRules {
    /// No usable robots.txt (4xx): crawl freely.
    AllowAll,
    /// robots.txt could not be fetched (5xx, 429, network): do not crawl for now. Holds the
    /// network failure (`dns`, `connect`, `tls`) when the origin could not be reached at all,
    /// so every page of the origin reports that cause.
    Unreachable(Option<Box<FetchError>>),
    /// Parsed rules for our user agent.
    Rules(Box<Robot>),
}

impl RobotsRules {
    /// Builds the verdict from a robots.txt response (`None` status = unreachable).
    pub fn from_response(status: Option<u16>, body: &[u8], agent_token: &str) -> Self {
        match status {
            Some(200..=299) => match Robot::new(agent_token, body) {
                Ok(r) => Self::Rules(Box::new(r)),
                // An unparsable file gives no rules; the safest reading of "no rules" is allow.
                Err(_) => Self::AllowAll,
            },
            // 429 asks us to slow down: reading it as "no rules" would do the opposite.
            Some(429) => Self::Unreachable(None),
            Some(400..=499) => Self::AllowAll,
            _ => Self::Unreachable(None),
        }
    }

    /// Whether `url` may be fetched.
    pub fn allows(&self, url: &Url) -> bool {
        match self {
            Self::AllowAll => true,
            Self::Unreachable(_) => false,
            Self::Rules(r) => r.allowed(url.as_str()),
        }
    }

    /// `Crawl-delay`, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Self::Rules(r) => r
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(86_400.0))),
            _ => None,
        }
    }

    /// `Sitemap:` lines.
    pub fn sitemaps(&self) -> Vec<String> {
        match self {
            Self::Rules(r) => r.sitemaps.clone(),
            _ => Vec::new(),
        }
    }
}

/// The robots.txt product token for a user agent: its first word up to `/`, lower-case
/// ("newsmill/0.1 (+https://…)" → "newsmill").
pub fn agent_token(user_agent: &str) -> String {
    user_agent
        .split(['/', ' '])
        .next()
        .unwrap_or("newsmill")
        .to_ascii_lowercase()
}

/// The origin key and robots.txt URL of a URL.
pub fn origin(url: &Url) -> Option<(String, Url)> {
    let host = url.host_str()?;
    let key = match url.port() {
        Some(p) => format!("{}://{host}:{p}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    };
    let robots = Url::parse(&format!("{key}/robots.txt")).ok()?;
    Some((key, robots))
}

/// A cached verdict.
#[derive(Debug)]
pub struct Cached {
    /// The rules.
    pub rules: Arc<RobotsRules>,
    /// When they stop being trusted.
    pub expires: Instant,
}

/// Per-origin slots; each slot's async mutex makes concurrent requests to one new origin wait
/// for a single robots.txt fetch instead of sending many.
#[derive(Debug, Default)]
pub struct RobotsCache {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
}

impl RobotsCache {
    /// The slot for an origin (created empty on first use).
    pub fn slot(&self, origin: &str) -> Arc<tokio::sync::Mutex<Option<Cached>>> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.entry(origin.to_owned()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn statuses_follow_rfc9309() {
        assert!(RobotsRules::from_response(Some(404), b"", "newsmill").allows(&u("http://a/x")));
        assert!(!RobotsRules::from_response(Some(503), b"", "newsmill").allows(&u("http://a/x")));
        assert!(!RobotsRules::from_response(Some(429), b"", "newsmill").allows(&u("http://a/x")));
        assert!(!RobotsRules::from_response(None, b"", "newsmill").allows(&u("http://a/x")));
    }

    #[test]
    fn rules_for_our_agent() {
        let txt = b"User-agent: *\nDisallow: /printv\nCrawl-delay: 2\nSitemap: http://a/sm.xml\n\nUser-agent: newsmill\nDisallow: /private/\nAllow: /private/ok\n";
        let r = RobotsRules::from_response(
            Some(200),
            txt,
            &agent_token("newsmill/0.1 (+https://example.org)"),
        );
        assert!(!r.allows(&u("http://a/private/x")));
        assert!(r.allows(&u("http://a/private/ok")));
        // Our group replaces the * group entirely.
        assert!(r.allows(&u("http://a/printv/1")));
        let star = RobotsRules::from_response(Some(200), txt, "otherbot");
        assert!(!star.allows(&u("http://a/printv/1")));
        assert_eq!(star.crawl_delay(), Some(Duration::from_secs(2)));
        assert_eq!(star.sitemaps(), ["http://a/sm.xml"]);
    }

    #[test]
    fn origin_keys() {
        let (k, r) = origin(&u("https://Eng.Belta.by/a/b?c")).unwrap();
        assert_eq!(k, "https://eng.belta.by");
        assert_eq!(r.as_str(), "https://eng.belta.by/robots.txt");
        assert_eq!(
            origin(&u("http://127.0.0.1:8080/x")).unwrap().0,
            "http://127.0.0.1:8080"
        );
    }
}
