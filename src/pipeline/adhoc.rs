//! `newsmill fetch URL...`: the given article URLs through the same pipeline as `run`, no
//! discovery. The URLs are admitted into the frontier like a listing and fetched whatever
//! their state.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::canonical::same_site;
use crate::config::Config;
use crate::frontier::{Listing, UrlKey, WorkItem};
use crate::model::{FeedItem, SourceId, SourceProfile};

use super::report::{RunReport, SourceStats};
use super::{Run, SINK_QUEUE, articles, sink};

/// Source id used for `newsmill fetch` URLs that match no configured source.
pub const ADHOC_SOURCE: &str = SourceId::ADHOC;

/// The profile of [`ADHOC_SOURCE`]: no selectors, no time zone. `fetch` and `reprocess` both
/// know it, so records of URLs that matched no configured source are reprocessed like the rest.
pub fn adhoc_profile() -> SourceProfile {
    SourceProfile {
        id: SourceId::adhoc(),
        name: "ad hoc".into(),
        homepage: None,
        language: None,
        timezone: None,
        aliases: Vec::new(),
        selectors: None,
    }
}

/// `newsmill fetch URL...`: the given article URLs through the same pipeline, no discovery.
/// Each URL belongs to `--source`, else to the configured source whose home page is on the same
/// site, else to an ad-hoc source.
///
/// # Errors
/// Fatal setup errors only.
pub async fn fetch_urls(
    config: &Config,
    urls: &[Url],
    source: Option<&SourceId>,
    shutdown: CancellationToken,
) -> anyhow::Result<RunReport> {
    let adhoc = adhoc_profile();
    let (run, parts) = Run::open(config, shutdown, Some(adhoc.clone()))?;
    let run = Arc::new(run);
    let (tx, rx) = mpsc::channel(SINK_QUEUE);
    let sink = sink::spawn(rx, parts);
    let mut groups: BTreeMap<SourceId, Vec<FeedItem>> = BTreeMap::new();
    for url in urls {
        let id = source.cloned().unwrap_or_else(|| {
            config
                .sources
                .iter()
                .find(|s| {
                    s.profile
                        .homepage
                        .as_ref()
                        .is_some_and(|h| same_site(h, url))
                })
                .map_or_else(|| adhoc.id.clone(), |s| s.profile.id.clone())
        });
        let item = FeedItem {
            url: url.clone(),
            title: None,
            published: None,
        };
        groups.entry(id).or_default().push(item);
    }
    let mut stats = BTreeMap::new();
    for (id, items) in groups {
        let mut st = SourceStats {
            discovered: items.len() as u64,
            ..SourceStats::default()
        };
        let listing = Listing {
            source: id.clone(),
            document: None,
            items: items.clone(),
        };
        let _ = tx.send(sink::SinkMsg::Listed(listing)).await;
        let todo = items
            .into_iter()
            .map(|item| WorkItem {
                key: UrlKey::of(&item.url),
                item,
            })
            .collect();
        articles::fetch_all(&run, &id, todo, tx.clone(), &mut st).await;
        stats.insert(id, st);
    }
    drop(tx);
    let result = tokio::task::spawn_blocking(move || sink.join())
        .await?
        .map_err(|_| anyhow::anyhow!("sink thread panicked"))?;
    let report = run.report("fetch", stats, result);
    run.finish(&report);
    Ok(report)
}
