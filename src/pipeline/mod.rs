//! Wires the stages: discovery → fetch → (sink thread: raw store → normalize → dedup →
//! corpus) with bounded channels and a cancellation token. The only module that knows every
//! stage; the stages know only `model` and their config.
//!
//! # Shutdown
//! On cancel (SIGINT/SIGTERM or `--max-duration`) no new URL is started, in-flight requests
//! are dropped, everything already received is written and flushed, and the run reports
//! `interrupted` (exit 1).

mod discover;
pub mod ingest;
pub mod lock;
pub mod near;
pub mod report;
mod reprocess;
mod sink;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing_indicatif::span_ext::IndicatifSpanExt as _;
use url::Url;

use crate::canonical::{canonicalize, same_site};
use crate::config::{Config, SourceConfig};
use crate::corpus::Corpus;
use crate::fetch::{Conditional, FetchRequest, Fetched, Fetcher};
use crate::model::{FeedItem, SourceId, SourceProfile};
use crate::normalize::Normalizer;
use crate::raw_store::RawStore;
use crate::state::State;

use report::{RunReport, SourceStats};
pub use reprocess::reprocess;

/// Messages buffered between fetchers and the sink.
const SINK_QUEUE: usize = 64;
/// Article fetch tasks alive at once per source. The politeness gate limits actual requests;
/// this bounds how many fetched pages can wait in memory ahead of a slow sink (each task holds
/// its page until the sink takes it).
const MAX_TASKS: usize = 16;

/// Options of `newsmill run`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only these sources (all enabled ones when empty).
    pub sources: Vec<SourceId>,
    /// Fetch already-ingested URLs again.
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
    shutdown: CancellationToken,
    started: DateTime<Utc>,
}

impl Run {
    fn open(
        config: &Config,
        shutdown: CancellationToken,
        extra: Option<SourceProfile>,
    ) -> anyhow::Result<(Self, sink::SinkParts)> {
        let state = Arc::new(State::open(&config.storage.state_dir).context("opening state")?);
        let raw = RawStore::open(&config.storage.raw_dir).context("opening raw store")?;
        let corpus = Corpus::open(&config.storage.normalized_dir).context("opening corpus")?;
        let mut profiles = config.profiles();
        profiles.extend(extra);
        let ingest = ingest::Ingest::new(
            Normalizer::new(&profiles),
            corpus,
            state.clone(),
            &config.dedup,
        )
        .context("opening near-duplicate index")?;
        let fetcher = Arc::new(Fetcher::new(&config.fetch).context("building HTTP client")?);
        let run = Self {
            config: config.clone(),
            fetcher,
            state,
            shutdown,
            started: Utc::now(),
        };
        Ok((run, sink::SinkParts { raw, ingest }))
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
        RunReport {
            run_id: format!(
                "{}-{}",
                self.started.format("%Y%m%dT%H%M%SZ"),
                std::process::id()
            ),
            mode: mode.into(),
            started: self.started,
            finished: Utc::now(),
            interrupted: self.shutdown.is_cancelled(),
            sources: stats,
            errors: result.errors,
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
    let (run, parts) = Run::open(config, shutdown, None)?;
    let run = Arc::new(run);
    let (tx, rx) = mpsc::channel(SINK_QUEUE);
    let sink = sink::spawn(rx, parts, run.state.clone());
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
    let ctx = discover::Ctx {
        fetcher: run.fetcher.clone(),
        state: run.state.clone(),
        sink: tx.clone(),
        not_before,
        max_bytes: run.config.fetch.max_body_bytes,
    };
    let items = tokio::select! {
        items = discover::discover(src, &ctx, &mut stats) => items,
        () = run.shutdown.cancelled() => Vec::new(),
    };
    let mut todo = Vec::new();
    let mut keys = HashSet::new();
    for item in items {
        let key = canonicalize(&item.url).to_string();
        if !keys.insert(key.clone()) {
            continue;
        }
        if !opts.refetch && run.state.is_ingested(&key).unwrap_or(false) {
            stats.skipped_known += 1;
            continue;
        }
        if let Err(e) = run.state.note_discovered(&key, &src.profile.id) {
            tracing::warn!(url = %key, error = %e, "state write failed");
        }
        stats.discovered += 1;
        todo.push((key, item));
    }
    if let Some(max) = opts.max_per_source {
        todo.truncate(max);
    }
    let span = tracing::Span::current();
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{span_child_prefix}{span_name}{{{span_fields}}} {wide_bar} {pos}/{len} {elapsed}",
    ) {
        span.pb_set_style(&style);
    }
    span.pb_set_length(todo.len() as u64);
    fetch_all(run, &src.profile.id, todo, tx, &mut stats).await;
    stats
}

/// Fetches article URLs concurrently (politeness is enforced inside the fetcher) and hands
/// every response to the sink.
async fn fetch_all(
    run: &Arc<Run>,
    source: &SourceId,
    todo: Vec<(String, FeedItem)>,
    tx: mpsc::Sender<sink::SinkMsg>,
    stats: &mut SourceStats,
) {
    let mut tasks = JoinSet::new();
    let mut queue = todo.into_iter();
    loop {
        while tasks.len() < MAX_TASKS && !run.shutdown.is_cancelled() {
            let Some((key, item)) = queue.next() else {
                break;
            };
            let (run, tx, source) = (run.clone(), tx.clone(), source.clone());
            tasks.spawn(async move {
                let conditional = match run.state.validators(&key) {
                    Ok(v) => Conditional {
                        etag: v.etag,
                        last_modified: v.last_modified,
                    },
                    Err(_) => Conditional::default(),
                };
                let req = FetchRequest {
                    url: item.url.clone(),
                    source,
                    conditional,
                    hint: Some(item),
                };
                let result = tokio::select! {
                    r = run.fetcher.fetch(&req) => r,
                    () = run.shutdown.cancelled() => return Err(None),
                };
                match result {
                    Ok(Fetched::Page(page)) => {
                        let _ = tx.send(sink::SinkMsg::Article { page, key }).await;
                        Ok(true)
                    }
                    Ok(Fetched::NotModified { .. }) => Ok(false),
                    Err(e) => {
                        discover::log_fetch_error(&e, &req.url, "fetch failed");
                        let _ = run
                            .state
                            .note_fetched(&key, &req.source, 0, None, &e.kind());
                        Err(Some(e))
                    }
                }
            });
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        tracing::Span::current().pb_inc(1);
        match done {
            Ok(Ok(true)) => stats.fetched += 1,
            Ok(Ok(false)) => stats.not_modified += 1,
            Ok(Err(Some(e))) => discover::count_fetch_error(&e, stats),
            Ok(Err(None)) => {}
            Err(e) => {
                tracing::error!(error = %e, "fetch task panicked");
                stats.fail("panic");
            }
        }
    }
}

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
    let sink = sink::spawn(rx, parts, run.state.clone());
    let mut groups: BTreeMap<SourceId, Vec<(String, FeedItem)>> = BTreeMap::new();
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
        groups
            .entry(id)
            .or_default()
            .push((canonicalize(url).to_string(), item));
    }
    let mut stats = BTreeMap::new();
    for (id, todo) in groups {
        let mut st = SourceStats {
            discovered: todo.len() as u64,
            ..SourceStats::default()
        };
        for (key, _) in &todo {
            let _ = run.state.note_discovered(key, &id);
        }
        fetch_all(&run, &id, todo, tx.clone(), &mut st).await;
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
