//! Configuration: TOML as written (`Raw*` types, `deny_unknown_fields`) validated into typed
//! values (`Config`). Validation collects every problem before returning, so `newsmill check`
//! can report all of them at once, each naming the key that is wrong.
//!
//! Parsing is two passes: `schema` reads the TOML into the `Raw*` types and reports every
//! schema error (unknown key, wrong type, bad duration) by key, then validation reports every
//! value problem, including the `bounds` every duration and count must stay within.
//!
//! This module reads no files except the one it is asked to, and imports only `model`.

mod bounds;
mod s3;
mod schema;
mod state;
mod worker;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::model::{SelectorSpec, SourceId, SourceProfile};

pub use s3::{S3Config, S3Url, spool_dir};
pub use state::{Backend, DATABASE_URL_ENV, DatabaseUrl, StateConfig};
pub use worker::WorkerConfig;

/// Errors loading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The config path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML (schema errors, such as an unknown key or a wrong type, are
    /// [`ConfigError::Invalid`] problems, listed with the others).
    #[error("config file {path} is not valid TOML: {message}")]
    Parse {
        /// The config path.
        path: PathBuf,
        /// The parser's message, which names the key and line.
        message: String,
    },
    /// The file is TOML but keys or values are wrong; every problem is listed.
    #[error("config file {path} has {} problem(s):\n  - {}", problems.len(), problems.join("\n  - "))]
    Invalid {
        /// The config path.
        path: PathBuf,
        /// One line per problem, each starting with the key it is about.
        problems: Vec<String>,
    },
}

/// `[storage]`: where data lives. Relative paths resolve against the current directory.
/// `raw_dir` and `normalized_dir` may be `s3://bucket/prefix` (see `config/s3.rs`): the
/// validated config then holds the bucket in `raw_remote` / `normalized_remote` and the local
/// cache folder the readers use in `raw_dir` / `normalized_dir`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Folder for WARC files (local cache folder when `raw_remote` is set).
    pub raw_dir: PathBuf,
    /// Folder for the JSONL corpus (local cache folder when `normalized_remote` is set).
    pub normalized_dir: PathBuf,
    /// Folder for the SQLite state, lock file and run reports.
    pub state_dir: PathBuf,
    /// `[storage.s3]`: endpoint, region, allow_http of the object store.
    pub s3: S3Config,
    /// Where raw/ lives when `raw_dir` was written as `s3://bucket/prefix`.
    #[serde(skip)]
    pub raw_remote: Option<S3Url>,
    /// Where normalized/ lives when `normalized_dir` was written as `s3://bucket/prefix`.
    #[serde(skip)]
    pub normalized_remote: Option<S3Url>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            raw_dir: "raw".into(),
            normalized_dir: "normalized".into(),
            state_dir: "state".into(),
            s3: S3Config::default(),
            raw_remote: None,
            normalized_remote: None,
        }
    }
}

/// `[dedup]`: near-duplicate linking (see `dedup::link::Thresholds`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Records published further apart than this ("3d", "36h") are linked only on stronger
    /// evidence (Jaccard ≥ 0.8 or containment ≥ 0.9, and no fact differs).
    #[serde(with = "humantime_serde")]
    pub date_window: Duration,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            date_window: Duration::from_secs(3 * 86_400),
        }
    }
}

/// `[fetch]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawFetchConfig {
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

/// `[sources.selectors]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelectors {
    title: Option<String>,
    body: Option<String>,
    date: Option<String>,
    author: Option<String>,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    drop_lines: Vec<String>,
}

/// One `[[sources]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: String,
    name: String,
    homepage: Option<String>,
    #[serde(default)]
    feeds: Vec<String>,
    #[serde(default)]
    sitemaps: Vec<String>,
    #[serde(default)]
    sections: Vec<String>,
    article_url_regex: Option<String>,
    language: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default = "yes")]
    enabled: bool,
    selectors: Option<RawSelectors>,
}

fn yes() -> bool {
    true
}

/// The whole file as written, minus `[[sources]]`: `take_sources` reads those entry by entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    storage: StorageConfig,
    #[serde(default)]
    fetch: RawFetchConfig,
    #[serde(default)]
    dedup: DedupConfig,
    #[serde(default)]
    state: state::RawStateConfig,
    #[serde(default)]
    worker: WorkerConfig,
}

/// One source, validated: what to crawl plus the profile the normalizer uses.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Identity, language, time zone, aliases and selectors.
    pub profile: SourceProfile,
    /// RSS/Atom/JSON feeds.
    pub feeds: Vec<Url>,
    /// XML sitemaps or sitemap indexes.
    pub sitemaps: Vec<Url>,
    /// Section pages whose same-host links matching `article_url_regex` are articles.
    pub sections: Vec<Url>,
    /// Pattern an article URL must match, for section pages.
    pub article_url_regex: Option<regex::Regex>,
    /// `false` for attribution-only entries (Reuters, a Telegram channel): never crawled.
    pub enabled: bool,
}

/// A validated configuration. Immutable once built.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data folders.
    pub storage: StorageConfig,
    /// Network politeness and limits.
    pub fetch: FetchConfig,
    /// Near-duplicate linking.
    pub dedup: DedupConfig,
    /// Which database holds the frontier (`[state]`).
    pub state: StateConfig,
    /// How `newsmill worker` shares the frontier (`[worker]`).
    pub worker: WorkerConfig,
    /// Configured sources, in file order.
    pub sources: Vec<SourceConfig>,
}

impl Config {
    /// Reads and validates a config file.
    ///
    /// # Errors
    /// `Read` when the file cannot be read, `Parse` on TOML/schema errors, `Invalid` with every
    /// value problem found.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Validates TOML text; `path` is only used in messages.
    ///
    /// # Errors
    /// As [`Config::load`], minus `Read`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let mut problems = Vec::new();
        let raw_sources = take_sources(&mut table, &mut problems);
        let mut raw: RawConfig = schema::read_lenient(table, "", &mut problems).unwrap_or_default();
        s3::resolve(&mut raw.storage, &mut problems);
        let fetch = validate_fetch(raw.fetch, &mut problems);
        let env_url = std::env::var(DATABASE_URL_ENV).ok();
        let state = state::validate(raw.state, env_url, &mut problems);
        worker::validate(&raw.worker, &mut problems);
        bounds::duration(
            "dedup.date_window",
            raw.dedup.date_window,
            bounds::DATE_WINDOW,
            &mut problems,
        );
        let mut sources = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, src) in raw_sources {
            if !seen.insert(src.id.clone()) {
                problems.push(format!("sources[{i}].id: duplicate id {:?}", src.id));
            }
            if let Some(s) = validate_source(i, src, &mut problems) {
                sources.push(s);
            }
        }
        if problems.is_empty() {
            Ok(Self {
                storage: raw.storage,
                fetch,
                dedup: raw.dedup,
                state,
                worker: raw.worker,
                sources,
            })
        } else {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
    }

    /// Source profiles of every configured source (crawled or not), for the normalizer.
    pub fn profiles(&self) -> Vec<SourceProfile> {
        self.sources.iter().map(|s| s.profile.clone()).collect()
    }
}

/// Takes `[[sources]]` out of the table and reads each entry on its own, so one unreadable
/// entry neither hides the problems of the others nor shifts their indexes.
fn take_sources(table: &mut toml::Table, problems: &mut Vec<String>) -> Vec<(usize, RawSource)> {
    let list = match table.remove("sources") {
        None => return Vec::new(),
        Some(toml::Value::Array(list)) => list,
        Some(other) => {
            problems.push(format!(
                "sources: expected an array of tables ([[sources]]), found {}",
                other.type_str()
            ));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, entry) in list.into_iter().enumerate() {
        let key = format!("sources[{i}]");
        match entry {
            toml::Value::Table(t) => {
                if let Some(src) = schema::read_lenient(t, &key, problems) {
                    out.push((i, src));
                }
            }
            other => problems.push(format!(
                "{key}: expected a table, found {}",
                other.type_str()
            )),
        }
    }
    out
}

/// A count within `range` as a `NonZeroUsize`; out of range is a problem and yields 1.
fn bounded_non_zero(
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

fn validate_fetch(raw: RawFetchConfig, problems: &mut Vec<String>) -> FetchConfig {
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

fn http_url(key: &str, text: &str, problems: &mut Vec<String>) -> Option<Url> {
    match Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(u),
        Ok(_) => {
            problems.push(format!("{key}: {text:?} is not an http(s) URL"));
            None
        }
        Err(e) => {
            problems.push(format!("{key}: {text:?} is not a URL ({e})"));
            None
        }
    }
}

fn urls(key: &str, list: &[String], problems: &mut Vec<String>) -> Vec<Url> {
    list.iter()
        .enumerate()
        .filter_map(|(j, t)| http_url(&format!("{key}[{j}]"), t, problems))
        .collect()
}

fn validate_source(i: usize, raw: RawSource, problems: &mut Vec<String>) -> Option<SourceConfig> {
    let key = format!("sources[{i}]");
    let id = SourceId::new(&raw.id)
        .map_err(|bad| {
            problems.push(format!(
                "{key}.id: {bad:?} must be 1-64 characters of a-z, 0-9, _ or -"
            ))
        })
        .ok();
    let homepage = raw
        .homepage
        .as_deref()
        .and_then(|h| http_url(&format!("{key}.homepage"), h, problems));
    let feeds = urls(&format!("{key}.feeds"), &raw.feeds, problems);
    let sitemaps = urls(&format!("{key}.sitemaps"), &raw.sitemaps, problems);
    let sections = urls(&format!("{key}.sections"), &raw.sections, problems);
    let timezone = raw.timezone.as_deref().and_then(|tz| {
        tz.parse::<chrono_tz::Tz>()
            .map_err(|_| problems.push(format!("{key}.timezone: unknown time zone {tz:?}")))
            .ok()
    });
    if let Some(lang) = &raw.language
        && (lang.len() != 2 || !lang.bytes().all(|b| b.is_ascii_lowercase()))
    {
        problems.push(format!(
            "{key}.language: {lang:?} is not a two-letter ISO 639-1 code"
        ));
    }
    let article_url_regex = raw.article_url_regex.as_deref().and_then(|r| {
        regex::Regex::new(r)
            .map_err(|e| problems.push(format!("{key}.article_url_regex: {e}")))
            .ok()
    });
    if !sections.is_empty() && article_url_regex.is_none() {
        problems.push(format!(
            "{key}.article_url_regex: required when sections are configured"
        ));
    }
    if raw.aliases.iter().any(|a| a.trim().is_empty()) {
        problems.push(format!("{key}.aliases: empty alias"));
    }
    let selectors = raw.selectors.map(|s| validate_selectors(&key, s, problems));
    Some(SourceConfig {
        profile: SourceProfile {
            id: id?,
            name: raw.name,
            homepage,
            language: raw.language,
            timezone,
            aliases: raw.aliases,
            selectors,
        },
        feeds,
        sitemaps,
        sections,
        article_url_regex,
        enabled: raw.enabled,
    })
}

fn validate_selectors(key: &str, raw: RawSelectors, problems: &mut Vec<String>) -> SelectorSpec {
    let named = [
        ("title", &raw.title),
        ("body", &raw.body),
        ("date", &raw.date),
        ("author", &raw.author),
    ];
    for (name, sel) in named {
        if let Some(s) = sel {
            check_selector(&format!("{key}.selectors.{name}"), s, problems);
        }
    }
    for (j, s) in raw.remove.iter().enumerate() {
        check_selector(&format!("{key}.selectors.remove[{j}]"), s, problems);
    }
    for (j, r) in raw.drop_lines.iter().enumerate() {
        if let Err(e) = regex::Regex::new(r) {
            problems.push(format!("{key}.selectors.drop_lines[{j}]: {e}"));
        }
    }
    SelectorSpec {
        title: raw.title,
        body: raw.body,
        date: raw.date,
        author: raw.author,
        remove: raw.remove,
        drop_lines: raw.drop_lines,
    }
}

fn check_selector(key: &str, sel: &str, problems: &mut Vec<String>) {
    if let Err(e) = crate::html::Selector::parse(sel) {
        problems.push(format!("{key}: invalid CSS selector {sel:?}: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn defaults_apply_to_an_empty_file() {
        let c = parse("").unwrap();
        assert_eq!(c.storage.raw_dir, PathBuf::from("raw"));
        assert_eq!(c.fetch.concurrency.get(), 16);
        assert_eq!(c.fetch.per_host_interval, Duration::from_secs(1));
        assert!(!c.fetch.allow_private_networks);
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let err = parse("[fetch]\nconcurency = 3\n").unwrap_err().to_string();
        assert!(err.contains("concurency"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
[fetch]
concurrency = 0
timeout = "0s"
[[sources]]
id = "Bad Id"
name = "x"
feeds = ["ftp://example.org/feed", "not a url"]
timezone = "Mars/Olympus"
language = "english"
[sources.selectors]
body = "div[["
[[sources]]
id = "dup"
name = "a"
[[sources]]
id = "dup"
name = "b"
"#;
        let ConfigError::Invalid { problems, .. } = parse(text).unwrap_err() else {
            panic!("expected Invalid");
        };
        let all = problems.join("\n");
        for key in [
            "fetch.concurrency",
            "fetch.timeout",
            "sources[0].id",
            "sources[0].feeds[0]",
            "sources[0].feeds[1]",
            "sources[0].timezone",
            "sources[0].language",
            "sources[0].selectors.body",
            "sources[2].id: duplicate",
        ] {
            assert!(all.contains(key), "missing {key} in:\n{all}");
        }
    }

    /// Issue 9 item 7: every duration and count is bounded; the message names the key.
    // See: issues show 9
    #[test]
    fn issue_9_out_of_range_values_fail_naming_the_key() {
        let text = "[fetch]\nrecent_window = \"300000y\"\nrobots_ttl = \"1000000d\"\n\
                    concurrency = 100000\nmax_body_bytes = 99999999999999\ntimeout = \"0s\"\n";
        let ConfigError::Invalid { problems, .. } = parse(text).unwrap_err() else {
            panic!("expected Invalid");
        };
        let all = problems.join("\n");
        for key in [
            "fetch.recent_window: 300000years is out of range",
            "fetch.robots_ttl",
            "fetch.concurrency: 100000 is out of range",
            "fetch.max_body_bytes",
            "fetch.timeout",
        ] {
            assert!(all.contains(key), "missing {key} in:\n{all}");
        }
        assert_eq!(problems.len(), 5, "{all}");
    }

    /// Issue 9 item 11: schema errors (unknown key, wrong type, bad duration) are listed with
    /// the value problems, each naming its key, and a bad selector says what is wrong.
    // See: issues show 9
    #[test]
    fn issue_9_schema_and_value_problems_are_listed_together() {
        let text = r#"
[fetch]
concurency = 3
timeout = "3 parsecs"
max_retries = "many"
recent_window = "300000y"
[[sources]]
id = 5
name = "no id"
[[sources]]
id = "ok"
name = "fine"
feeds = ["ftp://example.org/feed"]
colour = "blue"
[sources.selectors]
body = "div[["
title = "h1::"
"#;
        let ConfigError::Invalid { problems, .. } = parse(text).unwrap_err() else {
            panic!("expected Invalid");
        };
        let all = problems.join("\n");
        for key in [
            "fetch.concurency: unknown field",
            "fetch.timeout: ",
            "fetch.max_retries: invalid type",
            "fetch.recent_window: 300000years is out of range",
            "sources[0].id: invalid type: integer `5`, expected a string\n",
            "sources[1].colour: unknown field",
            "sources[1].feeds[0]",
            "sources[1].selectors.body: invalid CSS selector",
            "sources[1].selectors.title: invalid CSS selector",
        ] {
            assert!(all.contains(key), "missing {key} in:\n{all}");
        }
        assert!(!all.contains("missing field `id`"), "{all}");
        assert!(!all.contains("Unexpected error"), "{all}");
        assert!(!all.contains("report this to the developer"), "{all}");
    }

    #[test]
    fn durations_and_sources_parse() {
        let c = parse(
            r#"
[fetch]
per_host_interval = "250ms"
[[sources]]
id = "belta_en"
name = "BelTA"
feeds = ["https://eng.belta.by/rss"]
timezone = "Europe/Minsk"
aliases = ["BelTA"]
"#,
        )
        .unwrap();
        assert_eq!(c.fetch.per_host_interval, Duration::from_millis(250));
        assert_eq!(
            c.sources[0].profile.timezone,
            Some(chrono_tz::Europe::Minsk)
        );
        assert!(c.sources[0].enabled);
    }

    #[test]
    fn dedup_date_window_defaults_parses_and_is_bounded() {
        assert_eq!(
            parse("").unwrap().dedup.date_window,
            Duration::from_secs(3 * 86_400)
        );
        let c = parse("[dedup]\ndate_window = \"36h\"\n").unwrap();
        assert_eq!(c.dedup.date_window, Duration::from_secs(36 * 3600));
        let err = parse("[dedup]\ndate_window = \"400d\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dedup.date_window"), "{err}");
    }
}
