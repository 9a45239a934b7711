//! Draining one host a worker has claimed: its due URLs, oldest first, one request at a time
//! (each takes the host's shared slot in the fetcher, see `pace.rs`), every page and outcome
//! sent to the sink like `run` does. Before the lease is given back the sink commits what
//! was sent (a barrier, shared with the hosts drained about the same time: `settle`), so the
//! next holder finds these URLs already moved on.
//! URLs of the host a dead worker left `fetched` are handed to the sink first: holding the
//! lease, this worker is the only one that may recover them.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::frontier::{UrlKey, WorkItem};
use crate::model::SourceId;
use crate::pipeline::articles::{Done, fetch_one};
use crate::pipeline::discover::count_fetch_error;
use crate::pipeline::report::SourceStats;
use crate::pipeline::sink::SinkMsg;
use crate::state::pg::HostLease;

use super::{Ctx, blocking};

/// Due URLs read per query; the host is drained in batches until none is left.
const HOST_BATCH: usize = 64;

/// Fetches every due URL of `lease`'s host, then gives the host back.
pub(super) async fn drain(ctx: Arc<Ctx>, lease: HostLease) -> BTreeMap<SourceId, SourceStats> {
    let host = lease.host;
    ctx.pacer.hold(&host);
    super::drive::recover_held(&ctx, &host).await;
    let mut stats = BTreeMap::new();
    let mut sent: HashSet<UrlKey> = HashSet::new();
    'host: loop {
        let (state, h) = (ctx.state.clone(), host.clone());
        let batch = match blocking(move || state.due_on_host(&h, HOST_BATCH)).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(host, error = %e, "cannot read the host's due URLs");
                break;
            }
        };
        // URLs sent to the sink stay `discovered` until its next barrier: never twice.
        let fresh: Vec<_> = batch
            .into_iter()
            .filter(|e| sent.insert(e.key.clone()))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for entry in fresh {
            if ctx.shutdown.is_cancelled() {
                break 'host;
            }
            let st: &mut SourceStats = stats.entry(entry.source.clone()).or_default();
            let work = WorkItem {
                key: entry.key,
                item: entry.item,
            };
            match fetch_one(&ctx.fetcher, &ctx.shutdown, entry.source, work, &ctx.tx).await {
                Done::Page => st.fetched += 1,
                Done::NotModified => st.not_modified += 1,
                Done::Failed(e) => {
                    count_fetch_error(&e, st);
                }
                Done::Cancelled => break 'host,
                Done::TurnLost => {
                    tracing::warn!(host, "host lease lost to another worker; leaving it");
                    break 'host;
                }
            }
        }
    }
    settle(&ctx).await;
    ctx.pacer.release(&host).await;
    tracing::debug!(host, urls = sent.len(), "host drained");
    stats
}

/// Longest a drained host waits for a barrier it shares before it forces one.
const PARK_MAX: Duration = Duration::from_millis(250);

/// Waits until the sink has committed everything this drain sent, so that the host can be
/// given back: at the sink's next barrier, which hosts drained about the same time share,
/// or after [`PARK_MAX`] by a flush of its own. When every host the worker drains is
/// waiting, the loop forces the barrier at once (`drive::flush_when_all_parked`). Before,
/// every drained host forced a barrier of its own: at the end of a crawl, one after another,
/// about 30 ms each in the bench, the last host waiting for all the others'.
pub(super) async fn settle(ctx: &Ctx) {
    let (ack, done) = tokio::sync::oneshot::channel();
    if ctx.tx.send(SinkMsg::AfterBarrier(ack)).await.is_err() {
        return;
    }
    ctx.parked.fetch_add(1, Ordering::SeqCst);
    ctx.newly_parked.store(true, Ordering::SeqCst);
    ctx.parked_changed.notify_one();
    tokio::pin!(done);
    tokio::select! {
        _ = &mut done => {}
        () = tokio::time::sleep(PARK_MAX) => {
            ctx.flush().await;
            let _ = done.await;
        }
    }
    ctx.parked.fetch_sub(1, Ordering::SeqCst);
}
