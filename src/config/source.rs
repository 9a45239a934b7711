//! `[[sources]]`: each entry read on its own (`take_sources`) and validated into a
//! `SourceConfig` (URLs, time zone, language, selectors), every problem named by its key.

use serde::Deserialize;
use url::Url;

use super::schema;
use crate::model::{SelectorSpec, SourceId, SourceProfile};

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
pub(super) struct RawSource {
    pub(super) id: String,
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

/// Takes `[[sources]]` out of the table and reads each entry on its own, so one unreadable
/// entry neither hides the problems of the others nor shifts their indexes.
pub(super) fn take_sources(
    table: &mut toml::Table,
    problems: &mut Vec<String>,
) -> Vec<(usize, RawSource)> {
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

pub(super) fn validate_source(
    i: usize,
    raw: RawSource,
    problems: &mut Vec<String>,
) -> Option<SourceConfig> {
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
