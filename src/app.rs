//! Command handlers behind the CLI: load config, call the pipeline or one stage, print, and
//! turn the outcome into an exit code (0 ok, 1 finished with failures, 2 fatal, 75 locked).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use url::Url;

use crate::cli::{Command, ExportFormat};
use crate::config::Config;
use crate::model::SourceId;
use crate::normalize::Normalizer;
use crate::pipeline::{self, RunOptions, lock, report::RunReport};
use crate::state::State;
use crate::{demo, shutdown};

/// Runs `command` on the calling thread if it needs no async runtime, else hands it back for
/// [`execute`]. `extract` is synchronous and offline, and for a one-file run starting the
/// runtime's worker threads is a noticeable share of the whole process's work.
///
/// # Errors
/// As [`execute`], in the inner result.
pub fn try_execute_sync(command: Command) -> Result<anyhow::Result<ExitCode>, Command> {
    match command {
        Command::Extract {
            config,
            source,
            url,
            files,
        } => Ok(extract(&config, source, url, &files)),
        other => Err(other),
    }
}

/// Runs one command.
///
/// # Errors
/// Fatal errors (bad config, unusable storage); the caller prints them and exits 2.
pub async fn execute(command: Command) -> anyhow::Result<ExitCode> {
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
            let opts = RunOptions {
                sources: parse_ids(&sources, &cfg)?,
                refetch,
                since: since.as_deref().map(parse_since).transpose()?,
                max_duration,
                max_per_source,
            };
            let Some(_lock) = take_lock(&cfg)? else {
                return Ok(ExitCode::from(lock::EXIT_LOCKED));
            };
            let report = pipeline::run(&cfg, opts, shutdown::install()).await?;
            Ok(finish(&report))
        }
        Command::Fetch {
            config,
            source,
            urls,
        } => {
            let cfg = Config::load(&config)?;
            let source = source
                .map(|s| parse_ids(&[s], &cfg))
                .transpose()?
                .and_then(|mut v| v.pop());
            let urls = urls
                .iter()
                .map(|u| Url::parse(u).with_context(|| format!("{u:?} is not a URL")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let Some(_lock) = take_lock(&cfg)? else {
                return Ok(ExitCode::from(lock::EXIT_LOCKED));
            };
            let report =
                pipeline::fetch_urls(&cfg, &urls, source.as_ref(), shutdown::install()).await?;
            Ok(finish(&report))
        }
        Command::Extract {
            config,
            source,
            url,
            files,
        } => extract(&config, source, url, &files),
        Command::Reprocess { config } => {
            let cfg = Config::load(&config)?;
            let Some(_lock) = take_lock(&cfg)? else {
                return Ok(ExitCode::from(lock::EXIT_LOCKED));
            };
            let token = shutdown::install();
            let report =
                tokio::task::spawn_blocking(move || pipeline::reprocess(&cfg, &token)).await??;
            Ok(finish(&report))
        }
        Command::Demo { out } => {
            let dir = out.unwrap_or_else(demo::fresh_dir);
            let report = demo::run(&dir, shutdown::install()).await?;
            let code = finish(&report);
            eprintln!(
                "\ndemo folder: {}\ncorpus:      {}",
                dir.display(),
                dir.join("normalized").display()
            );
            eprintln!(
                "try:         head -c 1500 {}",
                dir.join("normalized/part-000001.jsonl").display()
            );
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
        Command::Status { config, json } => status(&config, json),
        Command::Schema => {
            print!("{}", crate::model::corpus_record_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { config, json } => {
            let cfg = Config::load(&config)?;
            let records = read_corpus(&cfg)?;
            let s = crate::stats::summarize(&records);
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
            format,
            output,
            partition,
        } => {
            let cfg = Config::load(&config)?;
            let filter = crate::export::ExportFilter {
                since: since.as_deref().map(parse_since).transpose()?,
                until: until.as_deref().map(parse_until).transpose()?,
                sources: parse_ids(&sources, &cfg)?,
            };
            let target = export_target(format, output, &partition)?;
            let dir = &cfg.storage.normalized_dir;
            let n = crate::export::export(dir, &filter, &target)
                .with_context(|| format!("exporting corpus {}", dir.display()))?;
            eprintln!(
                "exported {} of {} records ({} file(s))",
                n.written, n.read, n.files
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

fn take_lock(cfg: &Config) -> anyhow::Result<Option<lock::RunLock>> {
    match lock::acquire(&cfg.storage.state_dir) {
        Ok(l) => Ok(Some(l)),
        Err(e @ lock::LockError::Busy { .. }) => {
            eprintln!("newsmill: {e}");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn finish(report: &RunReport) -> ExitCode {
    eprintln!("{}", report.table());
    ExitCode::from(report.exit_code())
}

/// `newsmill extract`: one JSON line per file on stdout; a file that fails gets a line with
/// `error` and makes the exit code 1.
fn extract(
    config: &Path,
    source: Option<String>,
    url: Option<String>,
    files: &[std::path::PathBuf],
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
    let now = Utc::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for file in files {
        let id = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let line = match extract_one(&normalizer, file, base.as_ref(), source.as_ref(), now) {
            Ok(mut v) => {
                v["file"] = json!(file.display().to_string());
                v["id"] = json!(id);
                v
            }
            Err(e) => {
                failed = true;
                eprintln!("newsmill: {}: {e:#}", file.display());
                json!({"file": file.display().to_string(), "id": id, "error": format!("{e:#}")})
            }
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn extract_one(
    n: &Normalizer,
    file: &Path,
    base: Option<&Url>,
    source: Option<&SourceId>,
    now: DateTime<Utc>,
) -> anyhow::Result<serde_json::Value> {
    let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let url = match base {
        Some(u) => u.clone(),
        None => {
            let abs = std::fs::canonicalize(file)
                .with_context(|| format!("resolving {}", file.display()))?;
            Url::from_file_path(&abs)
                .map_err(|()| anyhow::anyhow!("cannot make a URL of {}", abs.display()))?
        }
    };
    let article = n.normalize_html(&body, &url, source, now)?;
    Ok(serde_json::to_value(article)?)
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

fn read_corpus(cfg: &Config) -> anyhow::Result<Vec<crate::model::CorpusRecord>> {
    let dir = &cfg.storage.normalized_dir;
    let corpus = crate::corpus::Corpus::open_read_only(dir)
        .with_context(|| format!("opening corpus {}", dir.display()))?;
    Ok(corpus.records()?)
}

fn status(config: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    let state = State::open(&cfg.storage.state_dir)?;
    let rows = state.source_statuses()?;
    if as_json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| json!({"source": r.source_id, "last_run": r.last_run, "last_success": r.last_success, "last_new_article": r.last_new_article, "failure_streak": r.failure_streak}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:<26} {:<26} {:<26} {:>6}",
        "source", "last run", "last success", "last new article", "streak"
    );
    for src in cfg.sources.iter().filter(|s| s.enabled) {
        let id = src.profile.id.as_str();
        let row = rows.iter().find(|r| r.source_id == id);
        let f =
            |v: Option<&Option<String>>| v.and_then(|x| x.clone()).unwrap_or_else(|| "-".into());
        println!(
            "{:<16} {:<26} {:<26} {:<26} {:>6}",
            id,
            f(row.map(|r| &r.last_run)),
            f(row.map(|r| &r.last_success)),
            f(row.map(|r| &r.last_new_article)),
            row.map_or(0, |r| r.failure_streak)
        );
    }
    Ok(ExitCode::SUCCESS)
}
