//! The worker's loop: heartbeats, claiming due discoveries and hosts, and (with `--once`)
//! knowing when nothing is left to wait for. The work itself is in `sources.rs` and
//! `hosts.rs`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::model::SourceId;
use crate::pipeline::report::SourceStats;
use crate::pipeline::sink::SinkMsg;
use crate::state::pg::PgState;

use super::{Ctx, blocking, hosts, sources};

/// Renews the worker's heartbeat and leases every third of `ttl` until `stop`.
pub(super) async fn heartbeat(
    state: Arc<PgState>,
    id: String,
    ttl: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(ttl / 3) => {}
            () = stop.cancelled() => return,
        }
        let (s, w) = (state.clone(), id.clone());
        if let Err(e) = blocking(move || s.heartbeat(&w, ttl)).await {
            tracing::warn!(error = %e, "heartbeat failed; leases may expire");
        }
    }
}

/// The worker's loop: claim due discoveries and hosts, wait for one to finish or for the
/// poll interval, again; with `once`, stop when nothing is left to wait for.
pub(super) async fn drive(ctx: &Arc<Ctx>, once: bool) -> BTreeMap<SourceId, SourceStats> {
    let mut stats: BTreeMap<SourceId, SourceStats> = BTreeMap::new();
    let mut hosts = JoinSet::new();
    let mut discoveries = JoinSet::new();
    // With `once`: sources whose discovery is ours or not due, i.e. not waiting on another
    // worker that holds it (a dead worker's lease expires, and the source is due again).
    let mut settled: HashSet<SourceId> = HashSet::new();
    let enabled = ctx.config.sources.iter().filter(|s| s.enabled).count();
    let mut last_ask: Option<tokio::time::Instant> = None;
    let mut last_recovery = tokio::time::Instant::now();
    while !ctx.shutdown.is_cancelled() {
        if last_recovery.elapsed() >= ctx.config.worker.lease_ttl {
            last_recovery = tokio::time::Instant::now();
            recover_orphans(ctx).await;
        }
        let due_ask = last_ask.is_none_or(|t| t.elapsed() >= ctx.config.worker.idle_poll);
        if due_ask {
            last_ask = Some(tokio::time::Instant::now());
            start_discoveries(ctx, once, &mut settled, &mut discoveries).await;
        }
        claim_hosts(ctx, &mut hosts).await;
        let idle = hosts.is_empty() && discoveries.is_empty() && settled.len() == enabled;
        if once && idle && nothing_left(ctx).await {
            break;
        }
        tokio::select! {
            Some(done) = hosts.join_next(), if !hosts.is_empty() => merge(&mut stats, done),
            Some(done) = discoveries.join_next(), if !discoveries.is_empty() => {
                merge(&mut stats, done.map(|(id, st)| BTreeMap::from([(id, st)])));
            }
            () = tokio::time::sleep(ctx.config.worker.idle_poll) => {}
            () = ctx.shutdown.cancelled() => {}
        }
    }
    while let Some(done) = hosts.join_next().await {
        merge(&mut stats, done);
    }
    while let Some(done) = discoveries.join_next().await {
        merge(&mut stats, done.map(|(id, st)| BTreeMap::from([(id, st)])));
    }
    stats
}

/// Claims and starts the discovery of every enabled source that is due and unclaimed. With
/// `once`, a source is asked about until it is settled: discovered here, or neither due nor
/// held by another worker.
async fn start_discoveries(
    ctx: &Arc<Ctx>,
    once: bool,
    settled: &mut HashSet<SourceId>,
    running: &mut JoinSet<(SourceId, SourceStats)>,
) {
    for src in ctx.config.sources.iter().filter(|s| s.enabled) {
        let id = src.profile.id.clone();
        if once && settled.contains(&id) {
            continue;
        }
        if sources::claim(ctx, src).await {
            settled.insert(id);
            let (ctx, src) = (ctx.clone(), src.clone());
            running.spawn(async move {
                let id = src.profile.id.clone();
                (id, sources::discover(ctx, src).await)
            });
        } else if once && !sources::held_elsewhere(ctx, &id).await {
            settled.insert(id);
        }
    }
}

/// Most orphaned `fetched` URLs handed to the sink per round.
const RECOVER_BATCH: usize = 1000;

/// Hands the sink the URLs a dead worker left `fetched` (response in raw/, no record), so a
/// running worker normalizes them without waiting for a new worker to start.
async fn recover_orphans(ctx: &Ctx) {
    let (state, ttl) = (ctx.state.clone(), ctx.config.worker.lease_ttl);
    match blocking(move || state.stale_fetched(ttl, RECOVER_BATCH)).await {
        Ok(entries) if entries.is_empty() => {}
        Ok(entries) => {
            tracing::info!(
                urls = entries.len(),
                "recovering a dead worker's fetched pages from raw/"
            );
            let _ = ctx.tx.send(SinkMsg::Recover(entries)).await;
        }
        Err(e) => tracing::warn!(error = %e, "cannot look for orphaned fetched pages"),
    }
}

/// Claims hosts with due URLs until `worker.hosts` are being drained or none is free.
async fn claim_hosts(ctx: &Arc<Ctx>, running: &mut JoinSet<BTreeMap<SourceId, SourceStats>>) {
    while running.len() < ctx.config.worker.hosts.get() && !ctx.shutdown.is_cancelled() {
        let (state, id, ttl) = (
            ctx.state.clone(),
            ctx.id.clone(),
            ctx.config.worker.lease_ttl,
        );
        match blocking(move || state.claim_host(&id, ttl)).await {
            Ok(Some(lease)) => {
                running.spawn(hosts::drain(ctx.clone(), lease));
            }
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim a host");
                return;
            }
        }
    }
}

/// Whether no due URL is left anywhere in the frontier (a host another worker holds included:
/// that worker may have died a moment ago, and then this one takes the host over).
async fn nothing_left(ctx: &Ctx) -> bool {
    let state = ctx.state.clone();
    match blocking(move || state.due_count()).await {
        Ok(n) => n == 0,
        Err(e) => {
            tracing::warn!(error = %e, "cannot count what is left");
            false
        }
    }
}

fn merge(
    into: &mut BTreeMap<SourceId, SourceStats>,
    done: Result<BTreeMap<SourceId, SourceStats>, tokio::task::JoinError>,
) {
    match done {
        Ok(stats) => {
            for (id, st) in stats {
                into.entry(id).or_default().merge(&st);
            }
        }
        Err(e) => tracing::error!(error = %e, "worker task panicked"),
    }
}
