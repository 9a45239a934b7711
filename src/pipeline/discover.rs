//! Discovery: a source's feeds, sitemaps (recursively through indexes) and section pages
//! become a list of article URLs. Documents are fetched conditionally with the validators the
//! frontier stored, stored raw through the sink, and parsed by `feed`. What each document
//! lists goes to the sink as a [`Listing`] carrying the document's validators, so the frontier
//! remembers a document as seen only together with every item it listed.
//!
//! A document that lists something is made durable before it is parsed for admission: the
//! sink syncs it to raw/ and the frontier records it as stored ([`StoredDocument`]), and only
//! then is its listing sent. The admission forgets it. A process killed in between leaves it
//! recorded, and the next discovery of the source (this process after a restart, or the
//! worker that takes the source over) first parses it again from raw/ and admits what it
//! listed, with its validators ([`reread`]). So what a feed answered is never lost because
//! the feed rotated it out and now answers 304.
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
use crate::frontier::{DocumentKind, Frontier, Listing, StoredDocument};
use crate::model::{FeedItem, RawPage, SourceId, Validators};
use crate::raw_store::RawReader;

use super::report::SourceStats;
use super::sink::SinkMsg;

mod durable;

use durable::{reread, store};

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
    /// The source's documents stored but never admitted, parsed again first ([`reread`]).
    pub stored: Vec<StoredDocument>,
    /// Reads them back from raw/.
    pub raw: RawReader,
}

/// What a discovery of `source` starts from, read from the frontier (blocking): the stored
/// validators (none when `fresh`: `--refetch`, `--since`) and the documents stored but never
/// admitted. A read that fails is logged and taken as empty: the documents are fetched
/// unconditionally, and the stored ones wait for the next discovery.
pub fn prior(
    frontier: &Frontier,
    source: &SourceId,
    fresh: bool,
) -> (HashMap<String, Validators>, Vec<StoredDocument>) {
    let validators = if fresh {
        HashMap::new()
    } else {
        frontier.document_validators(source).unwrap_or_else(|e| {
            tracing::warn!(source = %source, error = %e, "cannot read stored validators; fetching unconditionally");
            HashMap::new()
        })
    };
    let stored = frontier.stored_documents(source).unwrap_or_else(|e| {
        tracing::warn!(source = %source, error = %e, "cannot read stored discovery documents");
        Vec::new()
    });
    (validators, stored)
}

/// Article URLs found for one source, with counters.
pub async fn discover(src: &SourceConfig, ctx: &Ctx, stats: &mut SourceStats) -> Vec<FeedItem> {
    let mut items = reread(src, ctx, stats).await;
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
        if let Some((d, v)) = document(&url, DocumentKind::Feed, src, ctx, stats).await {
            list(ctx, src, url.as_str(), v, d.items.clone()).await;
            items.extend(d.items);
        }
    }
    while let Some((url, depth)) = sitemaps.pop() {
        docs += 1;
        if docs > MAX_DOCUMENTS {
            stats.fail("discovery_budget");
            break;
        }
        let Some((d, v)) = document(&url, DocumentKind::Sitemap, src, ctx, stats).await else {
            continue;
        };
        let listed: Vec<FeedItem> = d
            .items
            .into_iter()
            .filter(|i| recent(i, ctx.not_before))
            .collect();
        list(ctx, src, url.as_str(), v, listed.clone()).await;
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
            let listed = section_items(&page, re);
            let v = Validators::of(&page);
            let stored = store(ctx, url, page, Some((DocumentKind::Section, v.clone()))).await;
            list(ctx, src, url.as_str(), stored.then_some(v), listed.clone()).await;
            items.extend(listed);
        }
    }
    let mut seen = HashSet::new();
    items.retain(|i| seen.insert(i.url.clone()));
    items
}

/// Sends what a document listed, with its validators, to the frontier's writer. Without
/// validators (the document could not be stored), the items are admitted and the document's
/// stored validators stay as they were, so its next fetch is not answered 304 for what this
/// one listed.
async fn list(
    ctx: &Ctx,
    src: &SourceConfig,
    doc: &str,
    v: Option<Validators>,
    items: Vec<FeedItem>,
) {
    let listing = Listing {
        source: src.profile.id.clone(),
        document: v.map(|v| (doc.to_owned(), v)),
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
            store(ctx, home, page, None).await;
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

/// Fetches, parses and stores one feed or sitemap (durably, see the module doc); its
/// validators come along (none for a sitemap index: see the module doc).
async fn document(
    url: &Url,
    kind: DocumentKind,
    src: &SourceConfig,
    ctx: &Ctx,
    stats: &mut SourceStats,
) -> Option<(feed::Discovery, Option<Validators>)> {
    let page = fetch_doc(url, src, ctx, stats, Probe::No).await?;
    let parsed = parse(&page, url, src, ctx, stats);
    let validators = match &parsed {
        Some(d) if d.children.is_empty() => Validators::of(&page),
        _ => Validators::default(),
    };
    let keep = parsed.as_ref().map(|_| (kind, validators.clone()));
    let stored = store(ctx, url, page, keep).await;
    parsed.map(|d| (d, stored.then_some(validators)))
}

/// Parses a feed or sitemap, counting and logging what it refused.
fn parse(
    page: &RawPage,
    url: &Url,
    src: &SourceConfig,
    ctx: &Ctx,
    stats: &mut SourceStats,
) -> Option<feed::Discovery> {
    let ct = page.header("content-type");
    match feed::parse_discovery(&page.body, ct, &page.final_url, ctx.max_bytes) {
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
            Some(d)
        }
        Err(e) => {
            tracing::warn!(source = %src.profile.id, url = %url, error = %e, "discovery document unusable");
            stats.fail("bad_feed");
            None
        }
    }
}

/// The article links of a section page.
fn section_items(page: &RawPage, re: &regex::Regex) -> Vec<FeedItem> {
    feed::section_links(&page.body, &page.final_url, re)
        .into_iter()
        .map(|url| FeedItem {
            url,
            title: None,
            published: None,
        })
        .collect()
}
