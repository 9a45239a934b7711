//! Discovery: a source's feeds, sitemaps (recursively through indexes) and section pages
//! become a list of article URLs. Documents are fetched conditionally with the validators the
//! frontier stored, stored raw through the sink, and parsed by `feed`. What each document
//! lists goes to the sink as a [`Listing`] carrying the document's validators, so the frontier
//! remembers a document as seen only together with every item it listed.
//!
//! Two kinds of document are always fetched without validators, since a 304 would hide what
//! they point to: the home page probed for feed links, and sitemap indexes (a 304 index would
//! leave its child sitemaps unvisited).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use url::Url;

use crate::config::SourceConfig;
use crate::feed;
use crate::fetch::{FetchError, FetchRequest, Fetched, Fetcher};
use crate::frontier::Listing;
use crate::model::{FeedItem, RawPage, Validators};

use super::report::SourceStats;
use super::sink::SinkMsg;

/// How deep sitemap indexes are followed.
const MAX_SITEMAP_DEPTH: usize = 3;
/// Most discovery documents fetched per source per run (bounds a hostile sitemap index).
const MAX_DOCUMENTS: usize = 200;

/// Shared handles discovery needs.
pub struct Ctx {
    pub fetcher: Arc<Fetcher>,
    /// Validators of the source's documents (empty with `--refetch`).
    pub validators: HashMap<String, Validators>,
    pub sink: mpsc::Sender<SinkMsg>,
    /// Entries dated before this are skipped (recent window or `--since`).
    pub not_before: DateTime<Utc>,
    /// Cap on the decoded size of a discovery document.
    pub max_bytes: u64,
}

/// Article URLs found for one source, with counters.
pub async fn discover(src: &SourceConfig, ctx: &Ctx, stats: &mut SourceStats) -> Vec<FeedItem> {
    let mut items = Vec::new();
    let mut docs = 0usize;
    let mut feeds = src.feeds.clone();
    let mut sitemaps: Vec<(Url, usize)> = src.sitemaps.iter().map(|u| (u.clone(), 0)).collect();
    if feeds.is_empty()
        && sitemaps.is_empty()
        && src.sections.is_empty()
        && let Some(home) = &src.profile.homepage
    {
        {
            feeds.extend(autodiscover(home, src, ctx, stats).await);
            sitemaps.extend(
                ctx.fetcher
                    .robots_sitemaps(home)
                    .await
                    .into_iter()
                    .map(|u| (u, 0)),
            );
        }
    }
    for url in feeds {
        docs += 1;
        if let Some((d, v)) = document(&url, src, ctx, stats).await {
            list(ctx, src, &url, v, d.items.clone()).await;
            items.extend(d.items);
        }
    }
    while let Some((url, depth)) = sitemaps.pop() {
        docs += 1;
        if docs > MAX_DOCUMENTS {
            stats.fail("discovery_budget");
            break;
        }
        let Some((d, v)) = document(&url, src, ctx, stats).await else {
            continue;
        };
        let listed: Vec<FeedItem> = d
            .items
            .into_iter()
            .filter(|i| recent(i, ctx.not_before))
            .collect();
        // An index's validators are never kept (see the module doc).
        let v = if d.children.is_empty() {
            v
        } else {
            Validators::default()
        };
        list(ctx, src, &url, v, listed.clone()).await;
        items.extend(listed);
        if depth < MAX_SITEMAP_DEPTH {
            let children = d
                .children
                .into_iter()
                .filter(|(_, lastmod)| lastmod.is_none_or(|m| m >= ctx.not_before));
            sitemaps.extend(children.map(|(u, _)| (u, depth + 1)));
        }
    }
    for url in &src.sections {
        let Some(re) = &src.article_url_regex else {
            continue;
        };
        if let Some(page) = fetch_doc(url, src, ctx, stats, Probe::No).await {
            let listed: Vec<FeedItem> = feed::section_links(&page.body, &page.final_url, re)
                .into_iter()
                .map(|url| FeedItem {
                    url,
                    title: None,
                    published: None,
                })
                .collect();
            let v = Validators::of(&page);
            let _ = ctx.sink.send(SinkMsg::Discovery { page }).await;
            list(ctx, src, url, v, listed.clone()).await;
            items.extend(listed);
        }
    }
    let mut seen = HashSet::new();
    items.retain(|i| seen.insert(i.url.clone()));
    items
}

/// Sends what a document listed, with its validators, to the frontier's writer.
async fn list(ctx: &Ctx, src: &SourceConfig, doc: &Url, v: Validators, items: Vec<FeedItem>) {
    let listing = Listing {
        source: src.profile.id.clone(),
        document: Some((doc.as_str().to_owned(), v)),
        items,
    };
    let _ = ctx.sink.send(SinkMsg::Listed(listing)).await;
}

fn recent(item: &FeedItem, not_before: DateTime<Utc>) -> bool {
    item.published
        .is_none_or(|p| p.with_timezone(&Utc) >= not_before)
}

/// Feed links announced on the home page. A home page that cannot be fetched is not a
/// failure of the run: autodiscovery is a probe, and robots.txt sitemaps may still work.
async fn autodiscover(
    home: &Url,
    src: &SourceConfig,
    ctx: &Ctx,
    stats: &mut SourceStats,
) -> Vec<Url> {
    let mut probe = SourceStats::default();
    let page = fetch_doc(home, src, ctx, &mut probe, Probe::Yes).await;
    probe.failures.clear();
    stats.merge(&probe);
    match page {
        Some(page) => {
            let links = feed::discover_feed_links(&page.body, &page.final_url);
            let _ = ctx.sink.send(SinkMsg::Discovery { page }).await;
            links
        }
        None => Vec::new(),
    }
}

/// Fetches one discovery document, with its stored validators when `conditional`.
async fn fetch_doc(
    url: &Url,
    src: &SourceConfig,
    ctx: &Ctx,
    stats: &mut SourceStats,
    probe: Probe,
) -> Option<Box<RawPage>> {
    // The home page probe is never conditional (see the module doc).
    let conditional = if probe == Probe::No {
        ctx.validators
            .get(url.as_str())
            .cloned()
            .unwrap_or_default()
    } else {
        Validators::default()
    };
    let req = FetchRequest {
        url: url.clone(),
        source: src.profile.id.clone(),
        conditional,
        hint: None,
    };
    match ctx.fetcher.fetch(&req).await {
        Ok(Fetched::Page(page)) => {
            stats.feeds_fetched += 1;
            Some(page)
        }
        Ok(Fetched::NotModified { .. }) => {
            stats.not_modified += 1;
            None
        }
        Err(e) => {
            count_fetch_error(&e, stats);
            if probe == Probe::Yes {
                tracing::info!(source = %src.profile.id, url = %url, error = %e, "home page probe found nothing");
            } else {
                log_fetch_error(&e, url, "discovery fetch failed");
            }
            None
        }
    }
}

/// Whether a failed fetch was a probe (the home page, for feed autodiscovery): its failure is
/// expected on many sites and logged at info, not as a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Yes,
    No,
}

/// Counts a fetch failure: robots refusals are counted apart, not as failures. Returns
/// whether it was counted as a failure.
pub fn count_fetch_error(e: &FetchError, stats: &mut SourceStats) -> bool {
    match e {
        FetchError::RobotsDisallowed { .. } => stats.robots_blocked += 1,
        FetchError::BadScheme { .. } => stats.rejected_links += 1,
        _ => {
            stats.fail(&e.kind());
            stats.network_failures += u64::from(e.is_network());
            return true;
        }
    }
    false
}

/// Logs a failed fetch (`what` says which kind) at the level it deserves: a robots refusal or a
/// refused link is the crawler doing its job (info, "not fetched"); anything else is a
/// failure the operator may act on (warn).
/// A network failure also names its root cause ("Connection refused", "Name or service not
/// known") as `cause`.
pub fn log_fetch_error(e: &FetchError, url: &Url, what: &str) {
    match e {
        FetchError::RobotsDisallowed { .. } | FetchError::BadScheme { .. } => {
            tracing::info!(url = %url, reason = %e, "not fetched");
        }
        _ if e.is_network() => {
            let mut root: &dyn std::error::Error = e;
            while let Some(next) = root.source() {
                root = next;
            }
            tracing::warn!(url = %url, error = %e, cause = %root, "{what}");
        }
        _ => tracing::warn!(url = %url, error = %e, "{what}"),
    }
}

/// Fetches, stores raw and parses one feed or sitemap; its validators come along.
async fn document(
    url: &Url,
    src: &SourceConfig,
    ctx: &Ctx,
    stats: &mut SourceStats,
) -> Option<(feed::Discovery, Validators)> {
    let page = fetch_doc(url, src, ctx, stats, Probe::No).await?;
    let validators = Validators::of(&page);
    let ct = page.header("content-type").map(str::to_owned);
    let parsed = feed::parse_discovery(&page.body, ct.as_deref(), &page.final_url, ctx.max_bytes);
    let _ = ctx.sink.send(SinkMsg::Discovery { page }).await;
    match parsed {
        Ok(d) => {
            stats.rejected_links += d.rejected.len() as u64;
            if d.over_cap > 0 {
                stats.over_cap += d.over_cap as u64;
                tracing::warn!(source = %src.profile.id, url = %url, over_cap = d.over_cap,
                    cap = feed::MAX_ENTRIES_PER_DOCUMENT, "document lists more entries than the cap; the rest are ignored");
            }
            for r in &d.rejected {
                tracing::info!(source = %src.profile.id, link = %r.link, reason = ?r.reason, "link refused");
            }
            Some((d, validators))
        }
        Err(e) => {
            tracing::warn!(source = %src.profile.id, url = %url, error = %e, "discovery document unusable");
            stats.fail("bad_feed");
            None
        }
    }
}
