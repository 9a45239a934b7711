//! The commands that crawl or rebuild: `run`, `fetch`, `reprocess` (local or shared) and
//! `worker`, each behind the run lock or the shared state's own guard.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use url::Url;

use super::{migrate, mirror, notice, parse_ids, parse_since, parse_source, summary};
use crate::cli::LogFormat;
use crate::config::Config;
use crate::pipeline::{self, RunOptions, lock};
use crate::shutdown;

/// `newsmill run`: discovery and the whole pipeline under the run lock.
pub(super) async fn run(
    config: &Path,
    sources: &[String],
    refetch: bool,
    since: Option<&str>,
    max_duration: Option<Duration>,
    max_per_source: Option<usize>,
    format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    migrate::require_sqlite(&cfg, "run")?;
    let opts = RunOptions {
        sources: parse_ids(sources, &cfg)?,
        refetch,
        since: since.map(parse_since).transpose()?,
        max_duration,
        max_per_source,
    };
    let Some(_lock) = take_lock(&cfg, format)? else {
        return Ok(ExitCode::from(lock::EXIT_LOCKED));
    };
    let report = pipeline::run(&cfg, opts, shutdown::install()).await?;
    Ok(summary::finish(&report, format))
}

/// `newsmill fetch URL…`: the given pages only, under the run lock.
pub(super) async fn fetch(
    config: &Path,
    source: Option<String>,
    urls: &[String],
    format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    migrate::require_sqlite(&cfg, "fetch")?;
    let source = parse_source(source, &cfg)?;
    let urls = urls
        .iter()
        .map(|u| Url::parse(u).with_context(|| format!("{u:?} is not a URL")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some(_lock) = take_lock(&cfg, format)? else {
        return Ok(ExitCode::from(lock::EXIT_LOCKED));
    };
    let report = pipeline::fetch_urls(&cfg, &urls, source.as_ref(), shutdown::install()).await?;
    Ok(summary::finish(&report, format))
}

/// `newsmill reprocess`: the corpus rebuilt offline from raw/ (shared state: behind its fence).
pub(super) async fn reprocess(config: &Path, format: LogFormat) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    if let Some(url) = cfg.state.database_url().cloned() {
        return reprocess_shared(cfg, url, format).await;
    }
    let Some(_lock) = take_lock(&cfg, format)? else {
        return Ok(ExitCode::from(lock::EXIT_LOCKED));
    };
    mirror::refresh(&cfg, true)?;
    let token = shutdown::install();
    let report = tokio::task::spawn_blocking(move || pipeline::reprocess(&cfg, &token)).await??;
    Ok(summary::finish(&report, format))
}

/// `newsmill worker`: claims work from the shared frontier until stopped (or once).
pub(super) async fn worker(
    config: &Path,
    id: Option<String>,
    once: bool,
    format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    let opts = crate::worker::WorkerOptions { id, once };
    let report = crate::worker::run(&cfg, opts, shutdown::install()).await?;
    Ok(summary::finish(&report, format))
}

/// `newsmill reprocess` on a shared state: exit [`lock::EXIT_LOCKED`] while a worker runs.
async fn reprocess_shared(
    cfg: Config,
    url: crate::config::DatabaseUrl,
    format: LogFormat,
) -> anyhow::Result<ExitCode> {
    if cfg.storage.normalized_remote.is_none() {
        mirror::refresh(&cfg, true)?;
    }
    let token = shutdown::install();
    let done =
        tokio::task::spawn_blocking(move || pipeline::reprocess_shared(&cfg, &url, &token)).await?;
    match done {
        Ok(report) => Ok(summary::finish(&report, format)),
        Err(e) => match e.downcast_ref::<pipeline::SharedReprocessError>() {
            Some(
                busy @ (pipeline::SharedReprocessError::WorkersRunning { .. }
                | pipeline::SharedReprocessError::UncleanStop { .. }),
            ) => {
                notice(format, &busy.to_string());
                Ok(ExitCode::from(lock::EXIT_LOCKED))
            }
            _ => Err(e),
        },
    }
}

/// The run lock, or `None` (after saying who holds it) when another run has it.
pub(super) fn take_lock(cfg: &Config, format: LogFormat) -> anyhow::Result<Option<lock::RunLock>> {
    match lock::acquire(&cfg.storage.state_dir) {
        Ok(l) => Ok(Some(l)),
        Err(e @ lock::LockError::Busy { .. }) => {
            notice(format, &e.to_string());
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
