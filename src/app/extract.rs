//! `newsmill extract`: saved HTML files through the normalizer, one JSON line per file, offline.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde_json::json;
use url::Url;

use super::{input, parse_source};
use crate::cli::LogFormat;
use crate::config::Config;
use crate::model::SourceId;
use crate::normalize::Normalizer;
use crate::pipeline;

/// `newsmill extract`: one JSON line per file on stdout; a file that fails gets a line with
/// `error` and makes the exit code 1.
pub(super) fn extract(
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
    let source = parse_source(source, &cfg)?;
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
