//! The commands that read the corpus and the state: `status`, `report`, `verify`, `stats`
//! and `export`, on local folders or the local cache of a bucket.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;

use super::{mirror, notice, overlay, shared_status, status};
use crate::cli::{ExportFormat, LogFormat};
use crate::config::Config;
use crate::pipeline::lock;
use crate::state::State;

/// `newsmill status`: sources (and, on a shared state, workers and leases).
pub(super) async fn status(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    if let Some(url) = cfg.state.database_url().cloned() {
        return tokio::task::spawn_blocking(move || shared_status::run(&cfg, &url, json)).await?;
    }
    let state = std::sync::Arc::new(State::open(&cfg.storage.state_dir)?);
    let mut rows = status::rows(&cfg, &state.source_statuses()?);
    let frontier = crate::frontier::Frontier::new(state, cfg.fetch.retry);
    status::add_exhausted(&mut rows, frontier.exhausted()?);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", status::table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// `newsmill verify [--repair]`: corpus against raw/ and the state.
pub(super) async fn verify(
    config: &Path,
    repair: bool,
    json: bool,
    format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    mirror::refresh(&cfg, true)?;
    // Held until the repaired corpus is uploaded (SQLite state only).
    let mut _lock = None;
    let code = if let Some(url) = cfg.state.database_url().cloned() {
        let shared = cfg.clone();
        tokio::task::spawn_blocking(move || {
            crate::verify::command_shared(&shared, &url, repair, json)
        })
        .await??
    } else {
        let Some(held) = super::crawl::take_lock(&cfg, format)? else {
            return Ok(ExitCode::from(lock::EXIT_LOCKED));
        };
        _lock = Some(held);
        crate::verify::command(&cfg, repair, json)?
    };
    if repair {
        // On S3 the repair wrote the local cache: the bucket gets what changed.
        crate::corpus::publish(&cfg.storage).context("uploading the repaired corpus")?;
    }
    Ok(code)
}

/// `newsmill stats`: counts over every record, queued changes applied.
pub(super) async fn stats(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    let sqlite = cfg.storage.state_dir.join(crate::state::DB_FILE).is_file();
    // The raw files are read only by the integrity warning, which needs the SQLite state.
    mirror::refresh(&cfg, sqlite && cfg.state.database_url().is_none())?;
    let dir = &cfg.storage.normalized_dir;
    let queued = overlay::load(&cfg).await?;
    let mut summary = crate::stats::Summarizer::default();
    for r in crate::corpus::RecordStream::open(dir)?.with_overlay(queued) {
        summary.push(&r.with_context(|| format!("reading corpus {}", dir.display()))?);
    }
    crate::verify::warn_for_stats(&cfg);
    let s = summary.finish();
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", crate::stats::render(&s));
    }
    Ok(ExitCode::SUCCESS)
}

/// `newsmill export`: the records the filter keeps, as JSONL or Parquet.
pub(super) async fn export(
    cfg: &Config,
    filter: &crate::export::ExportFilter,
    export_format: ExportFormat,
    output: Option<PathBuf>,
    partition: &[crate::cli::PartitionBy],
    format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let target = export_target(export_format, output, partition)?;
    mirror::refresh(cfg, false)?;
    let dir = &cfg.storage.normalized_dir;
    let queued = overlay::load(cfg).await?;
    let n = crate::export::export(dir, queued, filter, &target)
        .with_context(|| format!("exporting corpus {}", dir.display()))?;
    notice(
        format,
        &format!(
            "exported {} of {} records ({} file(s))",
            n.written, n.read, n.files
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// The export target the flags describe.
fn export_target(
    format: ExportFormat,
    output: Option<PathBuf>,
    partition: &[crate::cli::PartitionBy],
) -> anyhow::Result<crate::export::Target> {
    match format {
        ExportFormat::Jsonl if !partition.is_empty() => {
            anyhow::bail!("--partition works with --format parquet only")
        }
        ExportFormat::Jsonl => Ok(crate::export::Target::Jsonl(output)),
        ExportFormat::Parquet => parquet_target(output, partition),
    }
}

#[cfg(feature = "parquet")]
fn parquet_target(
    output: Option<PathBuf>,
    partition: &[crate::cli::PartitionBy],
) -> anyhow::Result<crate::export::Target> {
    use crate::export::parquet::PartitionKey;
    let out =
        output.context("--format parquet needs --output FILE (or a folder with --partition)")?;
    let partition = partition
        .iter()
        .map(|p| match p {
            crate::cli::PartitionBy::Source => PartitionKey::Source,
            crate::cli::PartitionBy::Month => PartitionKey::Month,
        })
        .collect();
    Ok(crate::export::Target::Parquet { out, partition })
}

#[cfg(not(feature = "parquet"))]
fn parquet_target(
    _: Option<PathBuf>,
    _: &[crate::cli::PartitionBy],
) -> anyhow::Result<crate::export::Target> {
    anyhow::bail!(
        "--format parquet: this binary was built with --no-default-features, without Parquet; build it with the default features"
    )
}

/// `newsmill report`: builds the report and writes it to `out` (stdout when `None`).
pub(super) fn report(
    cfg: &Config,
    queued: &std::sync::Arc<crate::corpus::Overlay>,
    filter: &crate::report::ReportFilter,
    format: crate::cli::ReportFormat,
    out: Option<&Path>,
    log: LogFormat,
) -> anyhow::Result<ExitCode> {
    let dir = &cfg.storage.normalized_dir;
    let report = crate::report::build(cfg, queued, filter, Utc::now())
        .with_context(|| format!("making a report of {}", dir.display()))?;
    let format = match format {
        crate::cli::ReportFormat::Html => crate::report::Format::Html,
        crate::cli::ReportFormat::Json => crate::report::Format::Json,
    };
    crate::report::write(&report, format, out)?;
    if let Some(path) = out {
        notice(
            log,
            &format!(
                "report of {} records written to {}",
                report.records,
                path.display()
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}
