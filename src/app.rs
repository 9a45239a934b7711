//! Command handlers behind the CLI: load config, call the pipeline or one stage, print, and
//! turn the outcome into an exit code (0 ok, 1 finished with failures, 2 fatal, 75 locked).
//!
//! With `--log-format json` every line on stderr is one JSON object: messages that text mode
//! prints as plain lines (the run summary, the demo's next steps, notices) become events.

mod compact;
mod demo_out;
mod migrate;
mod mirror;
mod overlay;
mod shared_status;
mod status;
mod summary;

mod crawl;
mod extract;
mod input;
mod readers;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use crate::cli::{Command, LogFormat};
use crate::config::Config;
use crate::model::SourceId;
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
        } => Ok(extract::extract(&config, source, url, &files, format)),
        // The PostgreSQL client blocks on its own runtime: never inside an async task.
        Command::Migrate { config } => Ok(migrate::run(&config)),
        Command::Compact { config } => Ok(compact::run(&config, format)),
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
            let since = since.as_deref();
            crawl::run(
                &config,
                &sources,
                refetch,
                since,
                max_duration,
                max_per_source,
                format,
            )
            .await
        }
        Command::Fetch {
            config,
            source,
            urls,
        } => crawl::fetch(&config, source, &urls, format).await,
        Command::Extract {
            config,
            source,
            url,
            files,
        } => extract::extract(&config, source, url, &files, format),
        Command::Reprocess { config } => crawl::reprocess(&config, format).await,
        Command::Demo { out } => {
            let dir = out.unwrap_or_else(demo::fresh_dir);
            let done = demo::run(&dir, shutdown::install()).await?;
            let code = summary::finish(&done.report, format);
            let page = demo_report(&done, format);
            demo_out::print(format, &done, page.as_deref());
            Ok(code)
        }
        Command::Check { config } => check(&config),
        Command::Status { config, json } => readers::status(&config, json).await,
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
            let (since, until, sources) = window(&cfg, since, until, &sources)?;
            let filter = crate::report::ReportFilter {
                since,
                until,
                sources,
            };
            let queued = overlay::load(&cfg).await?;
            let out = output.as_deref();
            readers::report(&cfg, &queued, &filter, report_format, out, format)
        }
        Command::Verify {
            config,
            repair,
            json,
        } => readers::verify(&config, repair, json, format).await,
        Command::Migrate { config } => {
            tokio::task::spawn_blocking(move || migrate::run(&config)).await?
        }
        Command::Compact { config } => compact::run(&config, format),
        Command::Worker { config, id, once } => crawl::worker(&config, id, once, format).await,
        Command::Schema => {
            print!("{}", crate::model::corpus_record_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { config, json } => readers::stats(&config, json).await,
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
            let (since, until, sources) = window(&cfg, since, until, &sources)?;
            let filter = crate::export::ExportFilter {
                since,
                until,
                sources,
            };
            readers::export(&cfg, &filter, export_format, output, &partition, format).await
        }
    }
}

/// `newsmill check`: the config loads and validates.
fn check(config: &Path) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    let crawled = cfg.sources.iter().filter(|s| s.enabled).count();
    println!(
        "{}: ok ({} sources, {crawled} crawled)",
        config.display(),
        cfg.sources.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// A time window: `--since`, `--until` and `--source` of `report` and `export`.
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Vec<SourceId>);

fn window(
    cfg: &Config,
    since: Option<String>,
    until: Option<String>,
    sources: &[String],
) -> anyhow::Result<Window> {
    Ok((
        since.as_deref().map(parse_since).transpose()?,
        until.as_deref().map(parse_until).transpose()?,
        parse_ids(sources, cfg)?,
    ))
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

/// `--source ID` of `fetch` and `extract`: a configured source, or none.
fn parse_source(source: Option<String>, cfg: &Config) -> anyhow::Result<Option<SourceId>> {
    Ok(source
        .map(|s| parse_ids(&[s], cfg))
        .transpose()?
        .and_then(|mut v| v.pop()))
}

fn parse_since(s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.to_utc());
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--since {s:?}: expected YYYY-MM-DD or RFC 3339"))?;
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// A one-line message for the person or log reading stderr: `newsmill: …` with text logs,
/// an info event with JSON logs.
pub fn notice(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => eprintln!("newsmill: {message}"),
        LogFormat::Json => tracing::info!("{message}"),
    }
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
