//! `newsmill worker`: one of many processes, on one or many machines, sharing the PostgreSQL
//! frontier (`[state] backend = "postgres"`).
//!
//! # Architecture
//! The worker drives the same stages as `run` (fetcher, discovery, the sink's raw writer and
//! ingester, normalize → dedup → corpus) but takes its work from leases instead of a plan:
//! - a **heartbeat** task renews the worker's row and every lease it holds, each third of
//!   `worker.lease_ttl`;
//! - **discovery** (`sources.rs`): a source whose discovery is due and unclaimed is claimed
//!   with a source lease and discovered; its listings are admitted through the sink;
//! - **hosts** (`hosts.rs`): up to `worker.hosts` host leases at once, each drained of its due
//!   URLs; every request takes the host's slot in the database first (`pace.rs`), so the
//!   per-host interval, robots Crawl-delay and Retry-After hold across all workers;
//! - the **sink** writes raw, then normalizes, dedups and appends to this worker's own corpus
//!   folder `normalized/workers/<id>/`, and commits the URLs' transitions in the shared
//!   frontier at each barrier. Exact duplicates are found across workers by a unique
//!   constraint on the content hash, near duplicates through the index every worker shares
//!   (`state::pg::PgNearIndex`); changes to other workers' records are queued for their
//!   owners, and this worker's queue is applied at each flush, which also records the
//!   worker's manifest in the database (`state::pg::SharedCorpus`).
//!
//! A worker that dies loses its leases when they expire; its URLs are still `discovered` or
//! `fetched` in the frontier, so the others (or a worker started later) take them over: the
//! `fetched` ones are normalized from raw/ by whichever worker leases their host once no live
//! lease covers it (`drive.rs`), never while their own worker, alive, is still flushing them.
//! `--once` drains what is due and exits.
//!
//! The PostgreSQL client blocks, so every database call goes through `blocking`.

mod drive;
mod hosts;
mod id;
mod pace;
mod sources;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::corpus::Corpus;
use crate::fetch::Fetcher;
use crate::frontier::{Frontier, FrontierError};
use crate::model::SourceId;
use crate::normalize::Normalizer;
use crate::pipeline::ingest::Ingest;
use crate::pipeline::near::SharedLinker;
use crate::pipeline::report::{RunReport, SourceStats};
use crate::pipeline::sink::{self, SinkMsg, SinkParts};
use crate::raw_store::RawStore;
use crate::state::pg::{PgError, PgNearIndex, PgState, SharedCorpus};

pub use id::{machine_name, worker_id};
use pace::PgPacer;

/// Messages buffered between fetch tasks and the sink. At each flush the sink links its batch
/// through the shared near-duplicate index (170–700 ms measured in the crawl bench, under the
/// index lock); fetches go on meanwhile until the queue is full, so it holds about that long
/// of a busy worker's responses (100 a second; a few MB of pages).
const SINK_QUEUE: usize = 256;

/// Errors of a worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// `--id` cannot name a folder.
    #[error("worker id {id:?} is not usable: 1 to 64 of A-Z a-z 0-9 . _ -")]
    BadId {
        /// The id given.
        id: String,
    },
    /// Another live process is this worker: two writers of one corpus folder must not be.
    #[error(
        "worker {id} is running on {hostname} (pid {pid}, heartbeat {seconds_ago:.0} s ago): \
         give this one another --id, or wait one lease_ttl if that process is gone"
    )]
    IdInUse {
        /// The id.
        id: String,
        /// Machine of the live worker.
        hostname: String,
        /// Its process id.
        pid: i64,
        /// Seconds since its heartbeat.
        seconds_ago: f64,
    },
    /// The config's state is not PostgreSQL.
    #[error("`newsmill worker` needs [state] backend = \"postgres\" (one shared frontier)")]
    NotShared,
    /// A database call failed.
    #[error("shared database call failed")]
    Database {
        /// The database error.
        #[source]
        source: PgError,
    },
    /// A frontier call failed.
    #[error("shared frontier call failed")]
    Frontier {
        /// The frontier error.
        #[source]
        source: FrontierError,
    },
    /// A blocking database call panicked.
    #[error("a database call panicked")]
    Panicked,
}

impl From<PgError> for WorkerError {
    fn from(source: PgError) -> Self {
        Self::Database { source }
    }
}

impl From<FrontierError> for WorkerError {
    fn from(source: FrontierError) -> Self {
        Self::Frontier { source }
    }
}

/// Runs a blocking database call off the async threads.
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, WorkerError>
where
    T: Send + 'static,
    E: Into<WorkerError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(WorkerError::Panicked),
    }
}

/// Options of `newsmill worker`.
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// Worker id (default: machine name and process id).
    pub id: Option<String>,
    /// Drain what is due, then exit.
    pub once: bool,
}

/// Handles shared by the worker's tasks.
pub(crate) struct Ctx {
    id: String,
    config: Config,
    state: Arc<PgState>,
    frontier: Frontier,
    fetcher: Arc<Fetcher>,
    pacer: Arc<PgPacer>,
    tx: mpsc::Sender<SinkMsg>,
    shutdown: CancellationToken,
    /// Reads stored discovery documents back (from S3 by range when raw/ is there).
    raw: crate::raw_store::RawReader,
    /// Drained hosts waiting for the sink's next barrier before they are given back
    /// (`hosts::settle`), and a wake-up for the loop each time one starts to wait.
    parked: std::sync::atomic::AtomicUsize,
    parked_changed: tokio::sync::Notify,
    /// Whether a host started to wait since the loop last forced a barrier.
    newly_parked: std::sync::atomic::AtomicBool,
}

impl Ctx {
    /// Waits until the sink has committed everything sent before now.
    async fn flush(&self) {
        let (ack, done) = tokio::sync::oneshot::channel();
        if self.tx.send(SinkMsg::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

/// `newsmill worker`: registers, works until shutdown (or, with `--once`, until nothing due is
/// left that no other live worker is working on), flushes, gives every lease back.
///
/// # Errors
/// Fatal setup errors (database, raw store, corpus, HTTP client); item failures are counted.
pub async fn run(
    config: &Config,
    opts: WorkerOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<RunReport> {
    let url = config
        .state
        .database_url()
        .ok_or(WorkerError::NotShared)?
        .clone();
    let id = worker_id(opts.id)?;
    // Five connections, so that a long frontier transaction at a barrier never delays a
    // request slot: leases and claims; request slots; the sink (frontier and text claims);
    // the shared near-duplicate index (its adds hold a transaction open across calls); its
    // postings, written on a thread of their own. Opened at once: each is a round trip and
    // a password exchange.
    let opening = (0..5).map(|_| {
        let url = url.clone();
        blocking(move || PgState::open(&url).map(Arc::new))
    });
    let dbs = futures_util::future::try_join_all(opening).await?;
    let pacing = dbs[1].clone();
    blocking(move || pacing.without_commit_wait()).await?;
    let conns = Conns {
        leases: dbs[0].clone(),
        pacing: dbs[1].clone(),
        sink: dbs[2].clone(),
        near: dbs[3].clone(),
        post: dbs[4].clone(),
    };
    let result = work(config, &id, &conns, opts.once, &shutdown).await;
    drop(conns);
    // The client closes its connection on drop by blocking on its own runtime: never on
    // one of this runtime's threads.
    let _ = tokio::task::spawn_blocking(move || drop(dbs)).await;
    result
}

/// The worker's database connections.
struct Conns {
    leases: Arc<PgState>,
    pacing: Arc<PgState>,
    sink: Arc<PgState>,
    near: Arc<PgState>,
    post: Arc<PgState>,
}

async fn work(
    config: &Config,
    id: &str,
    conns: &Conns,
    once: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<RunReport> {
    let state = &conns.leases;
    let (s, w, ttl) = (state.clone(), id.to_owned(), config.worker.lease_ttl);
    if let Some(live) = blocking(move || s.live_worker(&w, ttl)).await? {
        return Err(WorkerError::IdInUse {
            id: id.to_owned(),
            hostname: live.hostname,
            pid: live.pid,
            seconds_ago: live.seconds_ago,
        }
        .into());
    }
    // Registered before the parameter check: a `reprocess` puts its fence up, then looks for
    // live workers, so either it finds this one (and refuses) or this check finds the fence.
    let (s, w, machine) = (state.clone(), id.to_owned(), machine_name());
    blocking(move || s.register_worker(&w, &machine, std::process::id())).await?;
    let (near, params) = (conns.near.clone(), SharedLinker::params(&config.dedup));
    if let Err(e) = blocking(move || near.check_near_params(&params)).await {
        let (s, w) = (state.clone(), id.to_owned());
        let _ = blocking(move || s.retire_worker(&w)).await;
        return Err(e.into());
    }
    crate::pipeline::failpoint::after_params_check();
    tracing::info!(worker = %id, database = state.target(), "worker started");
    let started = Utc::now();
    reconcile_unuploaded(config, id, conns).await?;
    let (ctx, sink) = open(config, id, conns, shutdown.clone())?;
    let ctx = Arc::new(ctx);
    let beat = CancellationToken::new();
    let heart = tokio::spawn(drive::heartbeat(
        state.clone(),
        id.to_owned(),
        config.worker.lease_ttl,
        beat.clone(),
    ));
    let stats = drive::drive(&ctx, once).await;
    drop(ctx);
    let result = tokio::task::spawn_blocking(move || sink.join())
        .await?
        .map_err(|_| anyhow::anyhow!("sink thread panicked"))?;
    beat.cancel();
    let _ = heart.await;
    let report = report(config, id, started, stats, result, shutdown);
    record_new_articles(state, &report).await;
    let (s, w) = (state.clone(), id.to_owned());
    blocking(move || s.retire_worker(&w)).await?;
    Ok(report)
}

/// Marks, for `newsmill status`, the sources this worker added new articles of (at its finish).
async fn record_new_articles(state: &Arc<PgState>, report: &RunReport) {
    let added: Vec<SourceId> = (report.sources.iter())
        .filter(|(_, st)| st.new_articles > 0)
        .map(|(id, _)| id.clone())
        .collect();
    let (s, at) = (state.clone(), report.finished);
    let recorded = blocking(move || {
        added
            .iter()
            .try_for_each(|id| s.record_new_articles(id, at))
    })
    .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "cannot record the sources' new articles");
    }
}

/// On S3, before this worker's folder is opened (which uploads what it left marked): drops
/// from the segments it wrote but never uploaded the records other workers took over while it
/// was dead (`corpus::drop_unuploaded`), so none is in the corpus twice.
async fn reconcile_unuploaded(config: &Config, id: &str, conns: &Conns) -> anyhow::Result<()> {
    let (storage, who) = (
        config.storage.clone(),
        format!("{}/{id}", crate::corpus::WORKERS_DIR),
    );
    let shared = SharedCorpus::new(conns.sink.clone(), id, config.worker.lease_ttl);
    let dropped = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let ids = crate::corpus::unuploaded_records(&storage, &who)?;
        let taken = shared.taken_over(&ids)?;
        Ok(crate::corpus::drop_unuploaded(&storage, &who, &taken)?)
    })
    .await?
    .context("reconciling segments never uploaded with the shared state")?;
    if dropped > 0 {
        tracing::info!(worker = %id, records = dropped, "records taken over while this worker was dead dropped from its unuploaded segments");
    }
    Ok(())
}

/// Opens the stages: the shared raw store, this worker's corpus folder, the shared
/// near-duplicate index, the fetcher with shared pacing, and the sink.
fn open(
    config: &Config,
    id: &str,
    conns: &Conns,
    shutdown: CancellationToken,
) -> anyhow::Result<(Ctx, std::thread::JoinHandle<sink::SinkResult>)> {
    let ttl = config.worker.lease_ttl;
    let who = format!("{}/{id}", crate::corpus::WORKERS_DIR);
    let raw = RawStore::open_for(&config.storage, &who)
        .context("opening raw store")?
        .in_folder(std::path::Path::new(&who));
    let raw_reader =
        crate::raw_store::RawReader::for_config(&config.storage).context("opening raw store")?;
    let corpus_dir = worker_corpus_dir(config, id);
    let corpus = Corpus::open_for(&config.storage, &who)
        .with_context(|| format!("opening corpus {}", corpus_dir.display()))?;
    // Near duplicates are linked through the index every worker shares (its parameters
    // were checked by `work`).
    let mut index = PgNearIndex::new(conns.near.clone(), id);
    index
        .post_on(conns.post.clone())
        .context("starting the near-duplicate posting thread")?;
    let near = SharedLinker::new(index, &config.dedup);
    let ingest = Ingest::for_worker(
        Normalizer::new(&config.profiles()),
        corpus,
        SharedCorpus::new(conns.sink.clone(), id, ttl),
        near,
    );
    let pacer = Arc::new(PgPacer::new(
        conns.pacing.clone(),
        id,
        ttl,
        config.worker.idle_poll,
    ));
    let fetcher = Fetcher::new(&config.fetch)
        .context("building HTTP client")?
        .with_pacer(pacer.clone());
    let frontier = Frontier::new(conns.sink.clone(), config.fetch.retry);
    let (tx, rx) = mpsc::channel(SINK_QUEUE);
    let sink = sink::spawn(
        rx,
        SinkParts {
            raw,
            raw_reader: raw_reader.clone(),
            ingest,
            frontier: frontier.clone(),
            // Left `fetched` in the shared frontier may mean in another live worker's
            // flush: recovered under the host's lease (`drive::recover_host`).
            recover_at_start: false,
        },
    );
    let ctx = Ctx {
        id: id.to_owned(),
        config: config.clone(),
        state: conns.leases.clone(),
        frontier,
        fetcher: Arc::new(fetcher),
        pacer,
        tx,
        shutdown,
        raw: raw_reader,
        parked: std::sync::atomic::AtomicUsize::new(0),
        parked_changed: tokio::sync::Notify::new(),
        newly_parked: std::sync::atomic::AtomicBool::new(false),
    };
    Ok((ctx, sink))
}

/// Where worker `id` writes its corpus segments: `normalized/workers/<id>/`.
pub fn worker_corpus_dir(config: &Config, id: &str) -> std::path::PathBuf {
    config
        .storage
        .normalized_dir
        .join(crate::corpus::WORKERS_DIR)
        .join(id)
}

fn report(
    config: &Config,
    id: &str,
    started: chrono::DateTime<Utc>,
    mut stats: BTreeMap<SourceId, SourceStats>,
    result: sink::SinkResult,
    shutdown: &CancellationToken,
) -> RunReport {
    for (sid, st) in result.stats {
        stats.entry(sid).or_default().merge(&st);
    }
    RunReport {
        run_id: format!("{}-{id}", started.format("%Y%m%dT%H%M%SZ")),
        mode: "worker".into(),
        started,
        finished: Utc::now(),
        interrupted: shutdown.is_cancelled(),
        sources: stats,
        errors: result.errors,
        corpus_dir: worker_corpus_dir(config, id).display().to_string(),
        corpus_records: result.corpus_records,
    }
}
