//! Command handlers behind the CLI: load config, call the pipeline or one stage, print, and
//! turn the outcome into an exit code (0 ok, 1 finished with failures, 2 fatal, 75 locked).
//!
//! With `--log-format json` every line on stderr is one JSON object: messages that text mode
//! prints as plain lines (the run summary, the demo's next steps, notices) become events.

mod demo_out;
mod migrate;
mod mirror;
mod overlay;
mod shared_status;
mod status;
mod summary;

mod input;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use url::Url;

use crate::cli::{Command, ExportFormat, LogFormat};
use crate::config::Config;
use crate::model::SourceId;
use crate::normalize::Normalizer;
use crate::pipeline::{self, RunOptions, lock};
use crate::state::State;
use crate::{demo, shutdown};

/// Runs `command` on the calling thread if it needs no async runtime, else hands it back for
/// [`execute`]. `extract` is synchronous and offline, and for a one-file run starting the
/// runtime's worker threads is a noticeable share of the whole process's work.
///
/// # Errors
/// As [`execute`], in the inner result.
pub fn try_execute_sync(
    command: Command,
    format: LogFormat,
) -> Result<anyhow::Result<ExitCode>, Box<Command>> {
    match command {
        Command::Extract {
            config,
            source,
            url,
            files,
        } => Ok(extract(&config, source, url, &files, format)),
        // The PostgreSQL client blocks on its own runtime: never inside an async task.
        Command::Migrate { config } => Ok(migrate::run(&config)),
        other => Err(Box::new(other)),
    }
}

/// Runs one command.
///
/// # Errors
/// Fatal errors (bad config, unusable storage); the caller prints them and exits 2.
pub async fn execute(command: Command, format: LogFormat) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run {
            config,
            sources,
            refetch,
            since,
            max_duration,
            max_per_source,
        } => {
            let cfg = Config::load(&config)?;
            migrate::require_sqlite(&cfg, "run")?;
            let opts = RunOptions {
                sources: parse_ids(&sources, &cfg)?,
                refetch,
                since: since.as_deref().map(parse_since).transpose()?,
                max_duration,
                max_per_source,
            };
            let Some(_lock) = take_lock(&cfg, format)? else {
                return Ok(ExitCode::from(lock::EXIT_LOCKED));
            };
            let report = pipeline::run(&cfg, opts, shutdown::install()).await?;
            Ok(summary::finish(&report, format))
        }
        Command::Fetch {
            config,
            source,
            urls,
        } => {
            let cfg = Config::load(&config)?;
            migrate::require_sqlite(&cfg, "fetch")?;
            let source = source
                .map(|s| parse_ids(&[s], &cfg))
                .transpose()?
                .and_then(|mut v| v.pop());
            let urls = urls
                .iter()
                .map(|u| Url::parse(u).with_context(|| format!("{u:?} is not a URL")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let Some(_lock) = take_lock(&cfg, format)? else {
                return Ok(ExitCode::from(lock::EXIT_LOCKED));
            };
            let report =
                pipeline::fetch_urls(&cfg, &urls, source.as_ref(), shutdown::install()).await?;
            Ok(summary::finish(&report, format))
        }
        Command::Extract {
            config,
            source,
            url,
            files,
        } => extract(&config, source, url, &files, format),
        Command::Reprocess { config } => {
            let cfg = Config::load(&config)?;
            if let Some(url) = cfg.state.database_url().cloned() {
                return reprocess_shared(cfg, url, format).await;
            }
            let Some(_lock) = take_lock(&cfg, format)? else {
                return Ok(ExitCode::from(lock::EXIT_LOCKED));
            };
            mirror::refresh(&cfg, true)?;
            let token = shutdown::install();
            let report =
                tokio::task::spawn_blocking(move || pipeline::reprocess(&cfg, &token)).await??;
            Ok(summary::finish(&report, format))
        }
        Command::Demo { out } => {
            let dir = out.unwrap_or_else(demo::fresh_dir);
            let done = demo::run(&dir, shutdown::install()).await?;
            let code = summary::finish(&done.report, format);
            let page = demo_report(&done, format);
            demo_out::print(format, &done, page.as_deref());
            Ok(code)
        }
        Command::Check { config } => {
            let cfg = Config::load(&config)?;
            let crawled = cfg.sources.iter().filter(|s| s.enabled).count();
            println!(
                "{}: ok ({} sources, {crawled} crawled)",
                config.display(),
                cfg.sources.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { config, json } => {
            let cfg = Config::load(&config)?;
            if let Some(url) = cfg.state.database_url().cloned() {
                return tokio::task::spawn_blocking(move || shared_status::run(&cfg, &url, json))
                    .await?;
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
        Command::Report {
            config,
            since,
            until,
            sources,
            output,
            format: report_format,
        } => {
            let cfg = Config::load(&config)?;
            mirror::refresh(&cfg, false)?;
            let filter = crate::report::ReportFilter {
                since: since.as_deref().map(parse_since).transpose()?,
                until: until.as_deref().map(parse_until).transpose()?,
                sources: parse_ids(&sources, &cfg)?,
            };
            let queued = overlay::load(&cfg).await?;
            report(
                &cfg,
                &queued,
                &filter,
                report_format,
                output.as_deref(),
                format,
            )
        }
        Command::Verify {
            config,
            repair,
            json,
        } => {
            let cfg = Config::load(&config)?;
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
                let Some(held) = take_lock(&cfg, format)? else {
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
        Command::Migrate { config } => {
            tokio::task::spawn_blocking(move || migrate::run(&config)).await?
        }
        Command::Worker { config, id, once } => {
            let cfg = Config::load(&config)?;
            let opts = crate::worker::WorkerOptions { id, once };
            let report = crate::worker::run(&cfg, opts, shutdown::install()).await?;
            Ok(summary::finish(&report, format))
        }
        Command::Schema => {
            print!("{}", crate::model::corpus_record_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { config, json } => {
            let cfg = Config::load(&config)?;
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
        Command::Export {
            config,
            since,
            until,
            sources,
            format: export_format,
            output,
            partition,
        } => {
            let cfg = Config::load(&config)?;
            let filter = crate::export::ExportFilter {
                since: since.as_deref().map(parse_since).transpose()?,
                until: until.as_deref().map(parse_until).transpose()?,
                sources: parse_ids(&sources, &cfg)?,
            };
            let target = export_target(export_format, output, &partition)?;
            mirror::refresh(&cfg, false)?;
            let dir = &cfg.storage.normalized_dir;
            let queued = overlay::load(&cfg).await?;
            let n = crate::export::export(dir, queued, &filter, &target)
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
    }
}

fn parse_ids(ids: &[String], cfg: &Config) -> anyhow::Result<Vec<SourceId>> {
    ids.iter()
        .map(|s| {
            let id = SourceId::new(s)
                .map_err(|bad| anyhow::anyhow!("--source {bad:?} is not a valid source id"))?;
            if cfg.sources.iter().any(|c| c.profile.id == id) {
                Ok(id)
            } else {
                anyhow::bail!("--source {s:?} is not configured")
            }
        })
        .collect()
}

fn parse_since(s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.to_utc());
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--since {s:?}: expected YYYY-MM-DD or RFC 3339"))?;
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
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

fn take_lock(cfg: &Config, format: LogFormat) -> anyhow::Result<Option<lock::RunLock>> {
    match lock::acquire(&cfg.storage.state_dir) {
        Ok(l) => Ok(Some(l)),
        Err(e @ lock::LockError::Busy { .. }) => {
            notice(format, &e.to_string());
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A one-line message for the person or log reading stderr: `newsmill: …` with text logs,
/// an info event with JSON logs.
pub fn notice(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => eprintln!("newsmill: {message}"),
        LogFormat::Json => tracing::info!("{message}"),
    }
}

/// `newsmill extract`: one JSON line per file on stdout; a file that fails gets a line with
/// `error` and makes the exit code 1.
fn extract(
    config: &Path,
    source: Option<String>,
    url: Option<String>,
    files: &[std::path::PathBuf],
    format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let cfg = if config.exists() {
        Config::load(config)?
    } else {
        Config::parse("", config)?
    };
    let source = source
        .map(|s| parse_ids(&[s], &cfg))
        .transpose()?
        .and_then(|mut v| v.pop());
    let base = url
        .as_deref()
        .map(Url::parse)
        .transpose()
        .context("--url is not a URL")?;
    let normalizer = Normalizer::new(&cfg.profiles());
    // Microseconds, as a fetched page's `fetched_at`.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for file in files {
        let max = cfg.fetch.max_body_bytes;
        match extract_one(&normalizer, file, max, base.as_ref(), source.as_ref(), now) {
            Ok(record) => {
                let file = file.display().to_string();
                serde_json::to_writer(&mut out, &ExtractLine { file, record })?;
            }
            Err(e) => {
                failed = true;
                let message = format!("{}: {e:#}", file.display());
                match format {
                    LogFormat::Text => eprintln!("newsmill: {message}"),
                    LogFormat::Json => {
                        tracing::warn!(file = %file.display(), error = %format!("{e:#}"), "extract failed")
                    }
                }
                let line = json!({"file": file.display().to_string(), "error": format!("{e:#}")});
                serde_json::to_writer(&mut out, &line)?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One `extract` output line: the corpus record plus the file it came from.
#[derive(serde::Serialize)]
struct ExtractLine {
    file: String,
    #[serde(flatten)]
    record: crate::model::CorpusRecord,
}

/// A file through the normalizer into a corpus record (the same builder the pipeline uses).
/// `raw` points at the input file itself (`offset` 0, `length` the bytes read), and the
/// record starts alone in its near-duplicate cluster, as a new corpus record does.
fn extract_one(
    n: &Normalizer,
    file: &Path,
    max_bytes: u64,
    base: Option<&Url>,
    source: Option<&SourceId>,
    now: DateTime<Utc>,
) -> anyhow::Result<crate::model::CorpusRecord> {
    let input = input::read_regular(file, max_bytes)?;
    let url = match base {
        Some(u) => u.clone(),
        None => {
            let abs = std::fs::canonicalize(file)
                .with_context(|| format!("resolving {}", file.display()))?;
            Url::from_file_path(&abs)
                .map_err(|()| anyhow::anyhow!("cannot make a URL of {}", abs.display()))?
        }
    };
    let mut article = n.normalize_html(&input.bytes, &url, source, now)?;
    if input.truncated {
        article.warnings.push(format!(
            "{}: file cut at fetch.max_body_bytes = {max_bytes} bytes",
            crate::normalize::caps::TRUNCATED
        ));
    }
    let raw = crate::model::RawLocation {
        file: file.to_owned(),
        offset: 0,
        length: input.bytes.len() as u64,
    };
    let hash = crate::dedup::content_hash(&article.text);
    let mut record = pipeline::ingest::new_record(article, hash, now, raw);
    record.near = crate::dedup::link::head_link(&record.id);
    Ok(record)
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

/// `--until`: a day includes all of it; an RFC 3339 instant is exclusive.
fn parse_until(s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.to_utc());
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--until {s:?}: expected YYYY-MM-DD or RFC 3339"))?;
    let next = day.succ_opt().context("--until: date out of range")?;
    Ok(next.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// `newsmill report`: builds the report and writes it to `out` (stdout when `None`).
fn report(
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

/// The demo's last step: its report page, written into the demo folder. A failure is named
/// and leaves the demo's outcome as it was (the corpus is there either way).
fn demo_report(done: &demo::Finished, log: LogFormat) -> Option<PathBuf> {
    let page = done.dir.join(demo_out::REPORT_FILE);
    let made = Config::load(&done.config)
        .map_err(anyhow::Error::from)
        .and_then(|cfg| {
            let filter = crate::report::ReportFilter::default();
            let report = crate::report::build(&cfg, &Default::default(), &filter, Utc::now())?;
            crate::report::write(&report, crate::report::Format::Html, Some(&page))?;
            Ok(())
        });
    match made {
        Ok(()) => Some(page),
        Err(e) => {
            notice(log, &format!("the demo report could not be written: {e:#}"));
            None
        }
    }
}
