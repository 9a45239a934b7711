//! Discovery under a source lease: the worker that claimed a source ([`PgState::claim_source`])
//! runs `run`'s discovery for it (feeds, sitemaps, section pages, with the validators the
//! frontier stored), and its listings are admitted into the shared frontier through the sink.
//! The lease is given back only once the sink has admitted them, so a worker that finds no
//! work afterwards knows the listings are already in the frontier. A worker that dies with
//! the lease leaves the documents it stored but never admitted recorded in the frontier; the
//! worker that claims the source next parses them again from raw/ before fetching anything
//! (`pipeline::discover`), so what the feed answered the dead worker is not lost.
//!
//! [`PgState::claim_source`]: crate::state::pg::PgState::claim_source

use std::sync::Arc;

use chrono::Utc;

use crate::config::SourceConfig;
use crate::model::SourceId;
use crate::pipeline::discover;
use crate::pipeline::report::SourceStats;

use super::{Ctx, blocking};

/// Whether `src`'s discovery is due and now this worker's.
pub(super) async fn claim(ctx: &Ctx, src: &SourceConfig) -> bool {
    let (state, worker, id) = (ctx.state.clone(), ctx.id.clone(), src.profile.id.clone());
    let (ttl, every) = (
        ctx.config.worker.lease_ttl,
        ctx.config.worker.discover_every,
    );
    match blocking(move || state.claim_source(&worker, &id, ttl, every)).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(source = %src.profile.id, error = %e, "cannot claim the source's discovery");
            false
        }
    }
}

/// Whether another worker holds `source`'s discovery lease now (a dead worker's too, until it
/// expires). A database failure counts as held: ask again.
pub(super) async fn held_elsewhere(ctx: &Ctx, source: &SourceId) -> bool {
    let (state, worker, id) = (ctx.state.clone(), ctx.id.clone(), source.clone());
    blocking(move || state.source_held_elsewhere(&worker, &id))
        .await
        .unwrap_or(true)
}

/// Those of `sources` whose discovery another worker holds now, in one round trip. A
/// database failure counts as none held (each is then asked about on its own).
pub(super) async fn held_elsewhere_of(ctx: &Ctx, sources: Vec<SourceId>) -> Vec<SourceId> {
    let (state, worker) = (ctx.state.clone(), ctx.id.clone());
    blocking(move || state.sources_held_elsewhere(&worker, &sources))
        .await
        .unwrap_or_default()
}

/// How many discoveries this worker may run at once: `ceil(enabled sources / live workers)`.
/// When many sources are due together (every worker's start), the first worker to ask would
/// otherwise claim them all, one transaction after another, and admit every listing through
/// its own sink while the others wait for hosts; shared out, the claims and admissions run on
/// every worker at once. Alone, a worker takes them all. A database failure counts as alone.
pub(super) async fn share(ctx: &Ctx, enabled: usize) -> usize {
    let (state, ttl) = (ctx.state.clone(), ctx.config.worker.lease_ttl);
    let live = blocking(move || state.live_workers(ttl)).await.unwrap_or(1);
    enabled.div_ceil(usize::try_from(live).unwrap_or(1).max(1))
}

/// Discovers `src` (already claimed), waits for its listings to be admitted, gives the lease
/// back. Hosts borrowed for it are left to the caller, which drains those with due URLs.
pub(super) async fn discover(ctx: Arc<Ctx>, src: SourceConfig) -> SourceStats {
    let mut stats = SourceStats::default();
    let (id, started) = (src.profile.id.clone(), Utc::now());
    let (frontier, sid) = (ctx.frontier.clone(), id.clone());
    let (validators, stored) =
        tokio::task::spawn_blocking(move || discover::prior(&frontier, &sid, false))
            .await
            .unwrap_or_default();
    let dctx = discover::Ctx {
        fetcher: ctx.fetcher.clone(),
        validators,
        sink: ctx.tx.clone(),
        not_before: Utc::now() - ctx.config.fetch.recent_window,
        max_bytes: ctx.config.fetch.max_body_bytes,
        stored,
        raw: ctx.raw.clone(),
    };
    let listed = tokio::select! {
        items = discover::discover(&src, &dctx, &mut stats) => items.len(),
        () = ctx.shutdown.cancelled() => {
            // Not given back: the lease expires unfinished, so the source is due again.
            ctx.pacer.return_borrowed().await;
            return stats;
        }
    };
    tracing::info!(source = %id, listed, "discovered");
    ctx.flush().await;
    // The hosts borrowed for it are kept to drain or given back by the caller
    // (`drive::keep_discovered`).
    // The pass is the source's run in `newsmill status` (its new articles are recorded when
    // the worker finishes, `super::record_new_articles`).
    let (state, sid, failed) = (ctx.state.clone(), id.clone(), stats.failed());
    if let Err(e) = blocking(move || state.record_source_run(&sid, started, failed, 0)).await {
        tracing::warn!(source = %id, error = %e, "cannot record source history");
    }
    let (state, worker) = (ctx.state.clone(), ctx.id.clone());
    if let Err(e) = blocking(move || state.release_source(&worker, &id)).await {
        tracing::warn!(error = %e, "cannot give the source lease back; it will expire");
    }
    stats
}
