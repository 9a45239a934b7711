//! Wires the stages: discovery → fetch → (sink thread: raw store → normalize → dedup →
//! corpus) with bounded channels and a cancellation token. The only module that knows every
//! stage; the stages know only `model` and their config.
//!
//! # Shutdown
//! On cancel (SIGINT/SIGTERM or `--max-duration`) no new URL is started, in-flight requests
//! are dropped, everything already received is written and flushed, and the run reports
//! `interrupted` (exit 1).

mod adhoc;
pub(crate) mod articles;
pub(crate) mod discover;
pub mod failpoint;
pub mod ingest;
pub mod lock;
pub mod near;
pub mod progress;
pub mod report;
mod reprocess;
pub(crate) mod sink;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::config::{Config, SourceConfig};
use crate::corpus::Corpus;
use crate::fetch::Fetcher;
use crate::frontier::{Frontier, Plan};
use crate::model::{SourceId, SourceProfile};
use crate::normalize::Normalizer;
use crate::raw_store::RawStore;
use crate::state::State;

pub use adhoc::{ADHOC_SOURCE, adhoc_profile, fetch_urls};
use report::{RunReport, SourceStats};
pub use reprocess::{SharedReprocessError, reprocess, reprocess_shared};

/// Messages buffered between fetchers and the sink.
const SINK_QUEUE: usize = 64;

/// Options of `newsmill run`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only these sources (all enabled ones when empty).
    pub sources: Vec<SourceId>,
    /// Fetch already-ingested URLs again, and send no validators at all.
    pub refetch: bool,
    /// Backfill: take sitemap entries since this time instead of the recent window.
    pub since: Option<DateTime<Utc>>,
    /// Stop taking new URLs after this long.
    pub max_duration: Option<Duration>,
    /// At most this many article fetches per source.
    pub max_per_source: Option<usize>,
}

/// Handles shared by every task of one run.
struct Run {
    config: Config,
    fetcher: Arc<Fetcher>,
    state: Arc<State>,
    frontier: Frontier,
    shutdown: CancellationToken,
    started: DateTime<Utc>,
    /// Disagreements between corpus and frontier found and taken up at the start.
    integrity: Vec<String>,
    progress: Arc<progress::Progress>,
    /// Reads stored discovery documents back.
    raw: crate::raw_store::RawReader,
}

impl Run {
    fn open(
        config: &Config,
        shutdown: CancellationToken,
        extra: Option<SourceProfile>,
    ) -> anyhow::Result<(Self, sink::SinkParts)> {
        let state = Arc::new(State::open(&config.storage.state_dir).context("opening state")?);
        let raw = RawStore::open_for(&config.storage, "run").context("opening raw store")?;
        let corpus = Corpus::open_for(&config.storage, "").context("opening corpus")?;
        let raw_reader = crate::raw_store::RawReader::for_config(&config.storage)
            .context("opening raw store")?;
        let mut profiles = config.profiles();
        profiles.extend(extra);
        let ingest = ingest::Ingest::new(
            Normalizer::new(&profiles),
            corpus,
            state.clone(),
            &config.dedup,
        )
        .context("opening near-duplicate index")?;
        let progress = Arc::new(progress::Progress::new(
            profiles.iter().map(|p| (&p.id, p.name.as_str())),
        ));
        let ingest = ingest.with_progress(progress.clone());
        let fetcher = Arc::new(Fetcher::new(&config.fetch).context("building HTTP client")?);
        let frontier = Frontier::new(state.clone(), config.fetch.retry);
        let integrity =
            crate::verify::on_open(&ingest.corpus, &state, &frontier, &config.storage.raw_dir);
        let parts = sink::SinkParts {
            raw,
            raw_reader,
            ingest,
            frontier: frontier.clone(),
            recover_at_start: true,
        };
        let run = Self {
            config: config.clone(),
            fetcher,
            state,
            frontier,
            shutdown,
            started: Utc::now(),
            integrity,
            progress,
            raw: parts.raw_reader.clone(),
        };
        Ok((run, parts))
    }

    fn report(
        &self,
        mode: &str,
        mut stats: BTreeMap<SourceId, SourceStats>,
        result: sink::SinkResult,
    ) -> RunReport {
        for (id, st) in result.stats {
            stats.entry(id).or_default().merge(&st);
        }
        let mut errors = self.integrity.clone();
        errors.extend(result.errors);
        match self.frontier.exhausted() {
            Ok(gave_up) => {
                for e in gave_up {
                    stats.entry(e.source).or_default().exhausted += 1;
                }
            }
            Err(e) => errors.push(format!("frontier: {}", report::error_chain(&e))),
        }
        RunReport {
            run_id: RunReport::local_run_id(self.started),
            mode: mode.into(),
            started: self.started,
            finished: Utc::now(),
            interrupted: self.shutdown.is_cancelled(),
            sources: stats,
            errors,
            corpus_dir: self.config.storage.normalized_dir.display().to_string(),
            corpus_records: result.corpus_records,
        }
    }

    fn finish(&self, report: &RunReport) {
        for (id, st) in &report.sources {
            if let Err(e) =
                self.state
                    .record_source_run(id, report.started, st.failed(), st.new_articles)
            {
                tracing::warn!(source = %id, error = %e, "cannot record source history");
            }
        }
        let dir = self.config.storage.state_dir.join("runs");
        let path = dir.join(format!("{}.json", report.run_id));
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            std::fs::write(&path, serde_json::to_vec_pretty(report).unwrap_or_default())
        });
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot write run report");
        }
    }
}

/// `newsmill run`: discover, fetch, store, normalize, dedup and append for every selected source.
///
/// # Errors
/// Fatal setup errors only (state, raw store, corpus, HTTP client); item failures are counted.
pub async fn run(
    config: &Config,
    opts: RunOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<RunReport> {
    let (run, mut parts) = Run::open(config, shutdown, None)?;
    parts.ingest.relocate_raw = !opts.refetch;
    let run = Arc::new(run);
    let (tx, rx) = mpsc::channel(SINK_QUEUE);
    let sink = sink::spawn(rx, parts);
    if let Some(limit) = opts.max_duration {
        let token = run.shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            tracing::warn!(limit_s = limit.as_secs(), "max duration reached; stopping");
            token.cancel();
        });
    }
    let selected: Vec<SourceConfig> = config
        .sources
        .iter()
        .filter(|s| s.enabled && (opts.sources.is_empty() || opts.sources.contains(&s.profile.id)))
        .cloned()
        .collect();
    let not_before = opts
        .since
        .unwrap_or_else(|| Utc::now() - config.fetch.recent_window);
    let mut per_source = JoinSet::new();
    for src in selected {
        let (run, tx, opts) = (run.clone(), tx.clone(), opts.clone());
        // One span per source: its events carry `source{id=…}`, and on a terminal it is drawn
        // as that source's progress bar.
        let span = tracing::info_span!("source", id = %src.profile.id);
        run.progress.discovering(&src.profile.id, &span);
        per_source.spawn(
            async move {
                let stats = crawl_source(&run, &src, &opts, not_before, tx).await;
                (src.profile.id.clone(), stats)
            }
            .instrument(span),
        );
    }
    drop(tx);
    let mut stats = BTreeMap::new();
    while let Some(joined) = per_source.join_next().await {
        match joined {
            Ok((id, st)) => {
                stats.insert(id, st);
            }
            Err(e) => tracing::error!(error = %e, "source task panicked"),
        }
    }
    let result = tokio::task::spawn_blocking(move || sink.join())
        .await?
        .map_err(|_| anyhow::anyhow!("sink thread panicked"))?;
    let report = run.report("run", stats, result);
    run.finish(&report);
    Ok(report)
}

async fn crawl_source(
    run: &Arc<Run>,
    src: &SourceConfig,
    opts: &RunOptions,
    not_before: DateTime<Utc>,
    tx: mpsc::Sender<sink::SinkMsg>,
) -> SourceStats {
    let mut stats = SourceStats::default();
    let id = src.profile.id.clone();
    // `--refetch` sends no validators; a `--since` backfill needs the whole of every document
    // (a 304 would hide the older entries the recent window left out before).
    let fresh = opts.refetch || opts.since.is_some();
    let (frontier, sid) = (run.frontier.clone(), id.clone());
    let (validators, stored) =
        tokio::task::spawn_blocking(move || discover::prior(&frontier, &sid, fresh))
            .await
            .unwrap_or_default();
    let ctx = discover::Ctx {
        fetcher: run.fetcher.clone(),
        validators,
        sink: tx.clone(),
        not_before,
        max_bytes: run.config.fetch.max_body_bytes,
        stored,
        raw: run.raw.clone(),
    };
    let items = tokio::select! {
        items = discover::discover(src, &ctx, &mut stats) => items,
        () = run.shutdown.cancelled() => return stats,
    };
    let (frontier, refetch) = (run.frontier.clone(), opts.refetch);
    let planned =
        tokio::task::spawn_blocking(move || frontier.plan(&id, items, refetch, Utc::now())).await;
    let plan = match planned {
        Ok(Ok(plan)) => plan,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot plan the source's work");
            stats.fail("frontier");
            return stats;
        }
        Err(e) => {
            tracing::error!(error = %e, "planning panicked");
            stats.fail("panic");
            return stats;
        }
    };
    let mut todo = count_plan(plan, &mut stats);
    if let Some(max) = opts.max_per_source {
        todo.truncate(max);
    }
    let span = tracing::Span::current();
    run.progress
        .start(&src.profile.id, &span, todo.len() as u64);
    articles::fetch_all(run, &src.profile.id, todo, tx, &mut stats).await;
    stats
}

/// Notes the plan's counts; returns its work.
fn count_plan(plan: Plan, stats: &mut SourceStats) -> Vec<crate::frontier::WorkItem> {
    stats.discovered += plan.new;
    stats.backlog += plan.backlog;
    stats.skipped_known += plan.known;
    plan.work
}
