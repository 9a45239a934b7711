//! The worker's loop: heartbeats, claiming due discoveries and hosts, and (with `--once`)
//! knowing when nothing is left to wait for. The work itself is in `sources.rs` and
//! `hosts.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::model::{HostKey, SourceId};
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
    // Orphaned fetched pages are looked for at once (this worker's sink recovers nothing at
    // its start: see `recover_host`), then every lease TTL.
    let mut last_recovery: Option<tokio::time::Instant> = None;
    let mut recovered = Recovered::default();
    while !ctx.shutdown.is_cancelled() {
        if last_recovery.is_none_or(|t| t.elapsed() >= ctx.config.worker.lease_ttl) {
            last_recovery = Some(tokio::time::Instant::now());
            recover_orphans(ctx, &mut hosts, &mut recovered, false).await;
        }
        // Hosts first: a host whose listing just came in waits for nothing else (asking
        // about every source takes a round trip or more per source).
        claim_hosts(ctx, &mut hosts).await;
        let due_ask = last_ask.is_none_or(|t| t.elapsed() >= ctx.config.worker.idle_poll);
        if due_ask {
            last_ask = Some(tokio::time::Instant::now());
            start_discoveries(ctx, once, &mut settled, &mut discoveries).await;
            claim_hosts(ctx, &mut hosts).await;
        }
        let idle = hosts.is_empty() && discoveries.is_empty() && settled.len() == enabled;
        if once && idle && nothing_left(ctx, &mut hosts, &mut recovered).await {
            break;
        }
        // With `--once` and nothing of its own left, the worker waits only for the other
        // workers' last hosts and flushes: it asks again sooner, so that a cron run ends soon
        // after its last host does, not up to a whole `idle_poll` later.
        let poll = if once && idle {
            ctx.config.worker.idle_poll / ONCE_POLL_DIVISOR
        } else {
            ctx.config.worker.idle_poll
        };
        flush_when_all_parked(ctx, &hosts).await;
        tokio::select! {
            Some(done) = hosts.join_next(), if !hosts.is_empty() => merge(&mut stats, done),
            () = ctx.parked_changed.notified() => {}
            Some(done) = discoveries.join_next(), if !discoveries.is_empty() => {
                let source = done.as_ref().ok().map(|(id, _)| id.clone());
                merge(&mut stats, done.map(|(id, st)| BTreeMap::from([(id, st)])));
                keep_discovered(ctx, source.as_ref(), &mut hosts).await;
                if discoveries.is_empty() {
                    ctx.pacer.return_borrowed().await;
                }
            }
            () = tokio::time::sleep(poll) => {}
            () = ctx.shutdown.cancelled() => {}
        }
    }
    while let Some(done) = hosts.join_next().await {
        merge(&mut stats, done);
    }
    while let Some(done) = discoveries.join_next().await {
        merge(&mut stats, done.map(|(id, st)| BTreeMap::from([(id, st)])));
    }
    ctx.pacer.return_borrowed().await;
    stats
}

/// Forces the sink's barrier when every host task is a drained host waiting for one
/// (`hosts::settle`): nothing else will bring a barrier soon.
async fn flush_when_all_parked(ctx: &Ctx, running: &JoinSet<BTreeMap<SourceId, SourceStats>>) {
    use std::sync::atomic::Ordering;
    let parked = ctx.parked.load(Ordering::SeqCst);
    // Once per host that started to wait: the hosts this barrier answers stay counted until
    // their tasks run again, and must not force another.
    if !running.is_empty()
        && parked >= running.len()
        && ctx.newly_parked.swap(false, Ordering::SeqCst)
    {
        ctx.flush().await;
    }
}

/// After `source`'s discovery: drains each of its discovery hosts (feeds, sitemaps, sections)
/// borrowed for it that now has due URLs, while this worker has room and its share allows
/// (`PgState::keep_host`). The discoverer already holds the host's lease, a connection to
/// it and its robots.txt; handed back, the host waited for a worker's next poll (up to
/// `idle_poll`) and a second robots.txt request from the worker that claimed it. The
/// borrowed hosts not kept are given back once no discovery is running (a host another
/// running discovery borrowed may still be in its hands).
async fn keep_discovered(
    ctx: &Arc<Ctx>,
    source: Option<&SourceId>,
    running: &mut JoinSet<BTreeMap<SourceId, SourceStats>>,
) {
    let Some(src) = source.and_then(|id| ctx.config.sources.iter().find(|s| &s.profile.id == id))
    else {
        return;
    };
    let borrowed = ctx.pacer.borrowed();
    let mine: HashSet<String> = (src.feeds.iter().chain(&src.sitemaps).chain(&src.sections))
        .filter_map(|u| HostKey::try_from(u).ok())
        .map(|h| h.as_str().to_owned())
        .filter(|h| borrowed.contains(h))
        .collect();
    for host in mine {
        if running.len() >= ctx.config.worker.hosts.get() || ctx.shutdown.is_cancelled() {
            break;
        }
        let (state, id, h, ttl) = (
            ctx.state.clone(),
            ctx.id.clone(),
            host.clone(),
            ctx.config.worker.lease_ttl,
        );
        match blocking(move || state.keep_host(&id, &h, ttl)).await {
            Ok(Some(lease)) if ctx.pacer.adopt(&lease.host) => {
                running.spawn(hosts::drain(ctx.clone(), lease));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(host, error = %e, "cannot keep a discovered host"),
        }
    }
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
    let asked: Vec<&crate::config::SourceConfig> = ctx
        .config
        .sources
        .iter()
        .filter(|s| s.enabled && !(once && settled.contains(&s.profile.id)))
        .collect();
    // Sources another worker is discovering are skipped in one round trip (asked about
    // again next time), not each claimed in vain.
    let ids: Vec<SourceId> = asked.iter().map(|s| s.profile.id.clone()).collect();
    let held = sources::held_elsewhere_of(ctx, ids).await;
    let enabled = ctx.config.sources.iter().filter(|s| s.enabled).count();
    let share = sources::share(ctx, enabled).await;
    for src in asked {
        let id = src.profile.id.clone();
        // Past its share, a source is left to the other workers (asked about again next
        // time, so none waits on a worker that does not take it).
        if held.contains(&id) || running.len() >= share {
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

/// How many times more often an idle `--once` worker asks whether it may exit than
/// `idle_poll` (each time two or three small queries).
const ONCE_POLL_DIVISOR: u32 = 4;
/// Most orphaned `fetched` URLs of one host handed to the sink per recovery.
const RECOVER_BATCH: usize = 1000;
/// Hosts with `fetched` URLs looked at per round.
const RECOVER_HOSTS: usize = 256;
/// Recoveries of one host's orphans a `--once` worker waits for before it exits anyway (a
/// corpus that cannot be written fails every one of them).
const RECOVER_ATTEMPTS: u32 = 3;

/// Recoveries this worker started, by host.
#[derive(Default)]
struct Recovered(HashMap<String, u32>);

/// Starts the recovery of every host with `fetched` URLs that no live lease covers (a dead
/// worker's, or a flush that failed), each in a task of `running` (`recover_host`). Returns
/// whether any host with `fetched` URLs is still covered by a live lease (a live worker's
/// flush, or a dead worker's lease that has not expired yet) or, with `bounded`, whether a
/// recovery was started (hosts recovered [`RECOVER_ATTEMPTS`] times are left alone then).
async fn recover_orphans(
    ctx: &Arc<Ctx>,
    running: &mut JoinSet<BTreeMap<SourceId, SourceStats>>,
    recovered: &mut Recovered,
    bounded: bool,
) -> bool {
    let state = ctx.state.clone();
    let hosts = match blocking(move || state.fetched_hosts(RECOVER_HOSTS)).await {
        Ok(hosts) => hosts,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for orphaned fetched pages");
            return true;
        }
    };
    let mut left = false;
    for h in hosts {
        if h.leased {
            left = true;
            continue;
        }
        let tries = recovered.0.entry(h.host.clone()).or_default();
        if bounded && *tries >= RECOVER_ATTEMPTS {
            continue;
        }
        *tries += 1;
        left = true;
        running.spawn(recover_host(ctx.clone(), h.host));
    }
    left
}

/// Recovers `host`'s `fetched` URLs from raw/ under the host's lease: leases it (only when no
/// live lease covers it, this worker's included), hands the sink the URLs, waits until their
/// records are committed, gives the host back. The lease is what makes this safe: a live
/// worker holds the host of every URL it fetched until their records are committed, however
/// long its flush takes, and two workers never recover the same URL at once (a recovery by
/// age alone took a live worker's pages in a flush longer than the lease TTL, and wrote
/// their records a second time).
async fn recover_host(ctx: Arc<Ctx>, host: String) -> BTreeMap<SourceId, SourceStats> {
    let (state, id, h, ttl) = (
        ctx.state.clone(),
        ctx.id.clone(),
        host.clone(),
        ctx.config.worker.lease_ttl,
    );
    match blocking(move || state.claim_orphaned_host(&id, &h, ttl)).await {
        Ok(true) => {}
        Ok(false) => return BTreeMap::new(),
        Err(e) => {
            tracing::warn!(host, error = %e, "cannot lease a host to recover its fetched pages");
            return BTreeMap::new();
        }
    }
    if recover_held(&ctx, &host).await {
        ctx.flush().await;
    }
    let (state, id, h) = (ctx.state.clone(), ctx.id.clone(), host.clone());
    if let Err(e) = blocking(move || state.release_host(&id, &h, Duration::ZERO)).await {
        tracing::warn!(host, error = %e, "cannot give a recovered host back; its lease will expire");
    }
    BTreeMap::new()
}

/// Hands the sink the `fetched` URLs of `host`, whose lease this worker holds (then they are
/// orphans: see `recover_host`); whether there were any. Their records are committed at the
/// sink's next barrier.
pub(super) async fn recover_held(ctx: &Ctx, host: &str) -> bool {
    let (state, h) = (ctx.state.clone(), host.to_owned());
    match blocking(move || state.fetched_on_host(&h, RECOVER_BATCH)).await {
        Ok(entries) if entries.is_empty() => false,
        Ok(entries) => {
            tracing::info!(
                host,
                urls = entries.len(),
                "recovering fetched pages no live worker holds from raw/"
            );
            ctx.tx.send(SinkMsg::Recover(entries)).await.is_ok()
        }
        Err(e) => {
            tracing::warn!(host, error = %e, "cannot read a host's fetched pages");
            false
        }
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
/// that worker may have died a moment ago, and then this one takes the host over), and no
/// `fetched` one either: those a live lease covers are waited for (a live worker's flush ends,
/// a dead worker's lease expires), the others are recovered here first.
async fn nothing_left(
    ctx: &Arc<Ctx>,
    running: &mut JoinSet<BTreeMap<SourceId, SourceStats>>,
    recovered: &mut Recovered,
) -> bool {
    let state = ctx.state.clone();
    match blocking(move || state.due_count()).await {
        Ok(0) => !recover_orphans(ctx, running, recovered, true).await,
        Ok(_) => false,
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
