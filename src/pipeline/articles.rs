//! Article fetch tasks: each fetches one URL of a run's work (politeness is enforced inside
//! the fetcher) and sends what happened to the sink as a typed event. Tasks never touch the
//! frontier or the database; the sink's writer commits their events at the flush barrier.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing_indicatif::span_ext::IndicatifSpanExt as _;

use crate::fetch::{FetchError, FetchRequest, Fetched, Fetcher};
use crate::frontier::{Change, FailureKind, Refusal, Transition, WorkItem};
use crate::model::{SourceId, Validators};

use super::discover::count_fetch_error;
use super::report::SourceStats;
use super::sink::SinkMsg;
use super::{Run, progress};

/// Article fetch tasks alive at once per source. The politeness gate limits actual requests;
/// this bounds how many fetched pages can wait in memory ahead of a slow sink (each task holds
/// its page until the sink takes it).
const MAX_TASKS: usize = 16;

/// How a task ended.
pub(crate) enum Done {
    /// A page went to the sink.
    Page,
    /// An unexpected 304 (an article request carries no validators).
    NotModified,
    /// The fetch failed; its transition went to the sink.
    Failed(FetchError),
    /// Shutdown came first; nothing was sent.
    Cancelled,
    /// Another worker holds the host now (`newsmill worker`); nothing was sent, and the URL
    /// stays as it is for the new holder.
    TurnLost,
}

/// Fetches the work concurrently and hands every response and outcome to the sink. Article
/// requests carry no validators: an article's validators are stored only with its record, and
/// an ingested URL is requested again only by `--refetch`, which sends none.
pub(super) async fn fetch_all(
    run: &Arc<Run>,
    source: &SourceId,
    todo: Vec<WorkItem>,
    tx: mpsc::Sender<SinkMsg>,
    stats: &mut SourceStats,
) {
    let mut tasks = JoinSet::new();
    let mut queue = todo.into_iter();
    loop {
        while tasks.len() < MAX_TASKS && !run.shutdown.is_cancelled() {
            let Some(work) = queue.next() else {
                break;
            };
            let (run, tx, source) = (run.clone(), tx.clone(), source.clone());
            tasks.spawn(
                async move { fetch_one(&run.fetcher, &run.shutdown, source, work, &tx).await },
            );
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        tracing::Span::current().pb_inc(1);
        match done {
            Ok(Done::Page) => {
                stats.fetched += 1;
                run.progress.note(source, progress::Event::Fetched);
            }
            Ok(Done::NotModified) => stats.not_modified += 1,
            Ok(Done::Failed(e)) => {
                if count_fetch_error(&e, stats) {
                    run.progress.note(source, progress::Event::Failed);
                }
            }
            Ok(Done::Cancelled | Done::TurnLost) => {}
            Err(e) => {
                tracing::error!(error = %e, "fetch task panicked");
                stats.fail("panic");
            }
        }
    }
}

/// Fetches one URL of the work and sends the page or the transition to the sink.
pub(crate) async fn fetch_one(
    fetcher: &Fetcher,
    shutdown: &CancellationToken,
    source: SourceId,
    work: WorkItem,
    tx: &mpsc::Sender<SinkMsg>,
) -> Done {
    let req = FetchRequest {
        url: work.item.url.clone(),
        source: source.clone(),
        conditional: Validators::default(),
        hint: Some(work.item),
    };
    let result = tokio::select! {
        r = fetcher.fetch(&req) => r,
        () = shutdown.cancelled() => return Done::Cancelled,
    };
    let key = work.key;
    let (msg, done) = match result {
        Ok(Fetched::Page(page)) => (SinkMsg::Article { page, key }, Done::Page),
        Ok(Fetched::NotModified { .. }) => {
            let transition = Transition::Failed {
                kind: FailureKind::UnexpectedNotModified,
            };
            let change = Change {
                key,
                source,
                transition,
            };
            (SinkMsg::Outcome(change), Done::NotModified)
        }
        Err(FetchError::TurnLost { .. }) => return Done::TurnLost,
        Err(e) => {
            super::discover::log_fetch_error(&e, &req.url, "fetch failed");
            let change = Change {
                key,
                source,
                transition: transition_of(&e),
            };
            (SinkMsg::Outcome(change), Done::Failed(e))
        }
    };
    let _ = tx.send(msg).await;
    done
}

/// What a fetch error means for the URL's life.
pub(super) fn transition_of(e: &FetchError) -> Transition {
    let kind = match e {
        FetchError::BadScheme { .. } => {
            return Transition::Refused {
                reason: Refusal::Scheme,
            };
        }
        FetchError::RobotsDisallowed { .. } => {
            return Transition::Refused {
                reason: Refusal::Robots,
            };
        }
        FetchError::UrlTooLong { .. } => {
            return Transition::Refused {
                reason: Refusal::TooLong,
            };
        }
        FetchError::PrivateAddress { .. } => {
            return Transition::Refused {
                reason: Refusal::Private,
            };
        }
        // Nothing was sent (another worker holds the host): the URL is due again.
        FetchError::TurnLost { .. } => return Transition::Requeue,
        FetchError::Status {
            status: status @ (404 | 410),
            ..
        } => return Transition::Gone { status: *status },
        FetchError::Status { status, .. } => FailureKind::of_status(*status),
        FetchError::RobotsUnavailable { .. } => FailureKind::RobotsUnavailable,
        FetchError::Timeout { .. } => FailureKind::Timeout,
        FetchError::TooLarge { .. } => FailureKind::TooLarge,
        FetchError::TooManyRedirects { .. } | FetchError::BadRedirect { .. } => {
            FailureKind::Redirects
        }
        FetchError::Dns { .. }
        | FetchError::Connect { .. }
        | FetchError::Tls { .. }
        | FetchError::Transport { .. }
        | FetchError::Client { .. } => FailureKind::Transport,
    };
    Transition::Failed { kind }
}
