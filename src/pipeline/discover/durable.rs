//! The durable half of discovery (see the parent's module doc): a document that lists
//! something is stored, and recorded as stored, before its listing is sent; one stored but
//! never admitted is parsed again from raw/ before the source's next discovery.

use url::Url;

use crate::config::SourceConfig;
use crate::frontier::{DocumentKind, StoredDocument};
use crate::model::{FeedItem, RawPage, Validators};

use super::super::report::SourceStats;
use super::super::sink::{Keep, SinkMsg};
use super::{Ctx, list, parse, recent, section_items};

/// Sends a discovery document to raw/. With `keep` (what it is, the validators its listing
/// will carry), waits until the frontier records it as stored: its listing is sent only
/// after that (see the module doc). Returns `false` when a document to keep could not be
/// stored (raw/ full or read-only, a failed upload, the database): its listing must then
/// not carry its validators, or the next fetch would be answered 304 while nothing
/// durable holds what this one listed.
pub(super) async fn store(
    ctx: &Ctx,
    url: &Url,
    page: Box<RawPage>,
    keep: Option<(DocumentKind, Validators)>,
) -> bool {
    let Some((kind, validators)) = keep else {
        let _ = ctx.sink.send(SinkMsg::Discovery { page, keep: None }).await;
        return true;
    };
    let (ack, done) = tokio::sync::oneshot::channel();
    let keep = Keep {
        url: url.as_str().to_owned(),
        kind,
        validators,
        ack,
    };
    let sent = ctx.sink.send(SinkMsg::Discovery {
        page,
        keep: Some(keep),
    });
    if sent.await.is_ok() && done.await.is_err() {
        tracing::warn!(url = %url, "discovery document not stored; admitting its listing without its validators");
        return false;
    }
    true
}

/// Parses again, from raw/, the documents of `src` that were stored but whose listing was
/// never admitted (the process died in between), and admits what they list with their
/// validators, before anything is fetched. One that cannot be read or parsed any more is
/// forgotten, with no validators kept, so its URL is fetched unconditionally.
pub(super) async fn reread(
    src: &SourceConfig,
    ctx: &Ctx,
    stats: &mut SourceStats,
) -> Vec<FeedItem> {
    let mut items = Vec::new();
    for doc in &ctx.stored {
        let (raw, loc) = (ctx.raw.clone(), doc.raw.clone());
        let page = match tokio::task::spawn_blocking(move || raw.read_at(&loc)).await {
            Ok(Ok(page)) => Some(page),
            Ok(Err(e)) => {
                tracing::warn!(source = %src.profile.id, url = %doc.url, error = %e, "stored discovery document unreadable");
                None
            }
            Err(_) => None,
        };
        let listed = page.and_then(|page| listed_again(src, ctx, doc, &page, stats));
        tracing::info!(source = %src.profile.id, url = %doc.url, items = listed.as_ref().map_or(0, Vec::len),
            "parsed again a discovery document stored but never admitted");
        let (v, listed) = match listed {
            Some(listed) => (doc.validators.clone(), listed),
            None => (Validators::default(), Vec::new()),
        };
        list(ctx, src, &doc.url, Some(v), listed.clone()).await;
        items.extend(listed);
    }
    items
}

/// What a stored document lists, parsed as it was the first time.
fn listed_again(
    src: &SourceConfig,
    ctx: &Ctx,
    doc: &StoredDocument,
    page: &RawPage,
    stats: &mut SourceStats,
) -> Option<Vec<FeedItem>> {
    let url = Url::parse(&doc.url).ok()?;
    match doc.kind {
        DocumentKind::Feed => parse(page, &url, src, ctx, stats).map(|d| d.items),
        DocumentKind::Sitemap => parse(page, &url, src, ctx, stats).map(|d| {
            d.items
                .into_iter()
                .filter(|i| recent(i, ctx.not_before))
                .collect()
        }),
        DocumentKind::Section => Some(
            src.article_url_regex
                .as_ref()
                .map(|re| section_items(page, re))
                .unwrap_or_default(),
        ),
    }
}
