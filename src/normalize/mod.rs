//! The normalizer: one raw HTML response in, one [`Article`] out. Pure and sync: no tokio, no
//! network, no clock except the page's own fetch time, so `reprocess` and `extract` give the
//! same result as the live run.
//!
//! # Order of work
//! 1. charset decoding ([`crate::textcodec::charset`]), one parse with [`crate::html`] (script and style
//!    contents skipped unread, nesting capped);
//! 2. per-source `remove` selectors detach nodes; the body comes from the source's `body`
//!    selector when it matches, else from the generic extractor ([`extract`]);
//! 3. date lines are lifted out of the body, text boilerplate is stripped
//!    ([`text::boilerplate`]);
//! 4. attribution ([`attribution`]) records datelines, closing source lines, credits, citations;
//! 5. metadata ([`meta`]): title, authors, images, dates ([`meta::dates`]), language
//!    ([`meta::language`]).
//!
//! # Layout
//! One sub-folder per concern: [`extract`] (main text), [`meta`] (metadata read from the page),
//! [`attribution`] (who the text credits), [`text`] (text-level cleaning and the fixed-pattern
//! helpers they share).

pub mod attribution;
pub mod caps;
pub mod extract;
pub mod meta;
mod page;
pub mod text;

use std::collections::HashMap;

use crate::html::Selector;
use chrono::{DateTime, Utc};
use regex::Regex;
use url::Url;

use crate::model::{Article, AttributionKind, RawPage, SourceId, SourceProfile};
use crate::textcodec::dates::Reference;

pub use page::NormalizeInput;

/// Largest HTML document parsed, in bytes; the rest is cut (a 50 MB single-line page still
/// parses in bounded time and memory).
pub const MAX_HTML_BYTES: usize = 8 * 1024 * 1024;

/// The warning an article carries when no body text was found (an index page, a consent
/// wall, a script-rendered page): the record keeps its title, dates, authors and language
/// with an empty `text`. Starts with `extraction`, the concern that failed.
pub const NO_TEXT_WARNING: &str = "extraction: no article text found";

/// One page through the normalizer, then through the size [`caps`] (which say what they cut).
fn capped(
    input: &NormalizeInput<'_>,
    profile: &SourceProfile,
    rules: &Rules,
    n: &Normalizer,
) -> Result<Article, NormalizeError> {
    let mut article = page::normalize_page(input, profile, rules, n)?;
    caps::apply(&mut article, input.body.len());
    uncredit_adhoc(&mut article);
    Ok(article)
}

/// An ad-hoc page (no configured source: `fetch` of a URL on no configured site, `extract`
/// without one) has no known publisher: the publisher credit attribution gives every page is
/// removed, and nothing else.
fn uncredit_adhoc(article: &mut Article) {
    if article.source_id.is_adhoc() {
        article.attributions.retain(|a| {
            !(a.kind == AttributionKind::Publisher
                && a.source_id.as_ref().is_some_and(SourceId::is_adhoc))
        });
    }
}

/// Why a page gave no article.
#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    /// The response is not an HTML document.
    #[error("{url} is not HTML (content type {content_type:?})")]
    NotHtml {
        /// Page URL.
        url: Url,
        /// Declared content type.
        content_type: String,
    },
    /// The page was fetched for a source that is not configured.
    #[error("{url} belongs to unknown source {source_id}")]
    UnknownSource {
        /// Page URL.
        url: Url,
        /// The source id on the page.
        source_id: SourceId,
    },
}

/// A source's rules, compiled.
#[derive(Debug)]
struct Rules {
    title: Option<Selector>,
    body: Option<Selector>,
    date: Option<Selector>,
    author: Option<Selector>,
    remove: Vec<Selector>,
    drop_lines: Vec<Regex>,
}

impl Rules {
    fn compile(p: &SourceProfile) -> Self {
        let spec = p.selectors.clone().unwrap_or_default();
        // Config validation already rejected invalid selectors and patterns; anything that
        // still fails to compile is skipped rather than failing every page of the source.
        let one = |s: &Option<String>| s.as_deref().and_then(|s| Selector::parse(s).ok());
        Self {
            title: one(&spec.title),
            body: one(&spec.body),
            date: one(&spec.date),
            author: one(&spec.author),
            remove: spec
                .remove
                .iter()
                .filter_map(|s| Selector::parse(s).ok())
                .collect(),
            drop_lines: spec
                .drop_lines
                .iter()
                .filter_map(|r| Regex::new(r).ok())
                .collect(),
        }
    }
}

/// Built once per run from every configured source; normalizes any number of pages.
pub struct Normalizer {
    profiles: HashMap<SourceId, (SourceProfile, Rules)>,
    aliases: attribution::AliasIndex,
    generic: extract::GenericExtractor,
}

impl Normalizer {
    /// Compiles every source's selectors and the alias index.
    pub fn new(profiles: &[SourceProfile]) -> Self {
        Self {
            aliases: attribution::AliasIndex::new(profiles),
            profiles: profiles
                .iter()
                .map(|p| (p.id.clone(), (p.clone(), Rules::compile(p))))
                .collect(),
            generic: extract::GenericExtractor::new(),
        }
    }

    /// Normalizes a stored response of a configured source.
    ///
    /// # Errors
    /// `UnknownSource` or `NotHtml`. A page without article text is not an error: it gives an
    /// article with empty `text` and [`NO_TEXT_WARNING`].
    pub fn normalize(&self, page: &RawPage) -> Result<Article, NormalizeError> {
        let (profile, rules) =
            self.profiles
                .get(&page.source)
                .ok_or_else(|| NormalizeError::UnknownSource {
                    url: page.final_url.clone(),
                    source_id: page.source.clone(),
                })?;
        let input = NormalizeInput {
            body: &page.body,
            content_type: page.header("content-type"),
            url: &page.final_url,
            reference: Reference::fetched_at(page.fetched_at),
            hint: page.hint.as_ref(),
        };
        capped(&input, profile, rules, self)
    }

    /// Normalizes HTML that was not fetched by newsmill (`newsmill extract`): with a configured
    /// source's rules when `source` is given, else with those of the configured source on the
    /// URL's site, else with the generic path under the ad-hoc source (no publisher credited).
    /// `now` bounds plausible dates; it is no fetch time, so a year-less printed date ("6.
    /// Oktober um 04:00") gives no date.
    ///
    /// # Errors
    /// As [`Normalizer::normalize`].
    pub fn normalize_html(
        &self,
        body: &[u8],
        url: &Url,
        source: Option<&SourceId>,
        now: DateTime<Utc>,
    ) -> Result<Article, NormalizeError> {
        let input = NormalizeInput {
            body,
            content_type: None,
            url,
            reference: Reference::unfetched(now),
            hint: None,
        };
        if let Some(id) = source {
            let (profile, rules) =
                self.profiles
                    .get(id)
                    .ok_or_else(|| NormalizeError::UnknownSource {
                        url: url.clone(),
                        source_id: id.clone(),
                    })?;
            return capped(&input, profile, rules, self);
        }
        let profile = self.adhoc_profile(url);
        let rules = Rules::compile(&profile);
        capped(&input, &profile, &rules, self)
    }

    /// The configured source whose home page shares the URL's site, else a generic profile.
    fn adhoc_profile(&self, url: &Url) -> SourceProfile {
        if let Some((p, _)) = self.profiles.values().find(|(p, _)| {
            p.homepage
                .as_ref()
                .is_some_and(|h| crate::canonical::same_site(h, url))
        }) {
            return p.clone();
        }
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches("www.")
            .to_owned();
        SourceProfile {
            id: SourceId::adhoc(),
            name: host,
            homepage: None,
            language: None,
            timezone: None,
            aliases: Vec::new(),
            selectors: None,
        }
    }
}
