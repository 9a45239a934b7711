//! `newsmill reprocess`: rebuild `normalized/` from `raw/` with the current normalizer, no
//! network. Records are read in a fixed order (WARC files by path, records by offset), so two
//! runs over the same raw/ give byte-identical corpora. The new corpus is written to a staging
//! folder and swapped in whole: a crash leaves the old corpus in place. The near-duplicate index
//! is rebuilt along with it (emptied on open, since it no longer matches the empty staging
//! corpus) and flagged dirty until the swap, so an interrupted reprocess leaves an index that
//! the next run rebuilds from the old corpus.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::corpus::{self, Corpus};
use crate::frontier::{Change, Frontier, RecordId, Transition, UrlKey};
use crate::model::Validators;
use crate::normalize::Normalizer;
use crate::raw_store;
use crate::state::State;

use super::ingest::{Ingest, Ingested};
use super::report::{RunReport, error_chain};

/// Rebuilds the corpus from raw records; sync (run it off the async runtime).
///
/// # Errors
/// Fatal errors only: the staging folder or the swap failed. Unreadable raw records are
/// counted in the report.
pub fn reprocess(config: &Config, shutdown: &CancellationToken) -> anyhow::Result<RunReport> {
    let started = Utc::now();
    let target = config.storage.normalized_dir.clone();
    let staging = staging_dir(&target);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing stale {}", staging.display()))?;
    }
    let corpus = Corpus::open(&staging).context("creating staging corpus")?;
    let state = Arc::new(State::open(&config.storage.state_dir).context("opening state")?);
    let mut ingest = Ingest::new(
        Normalizer::new(&config.profiles()),
        corpus,
        state.clone(),
        &config.dedup,
    )
    .context("opening near-duplicate index")?;
    ingest.near.mark_dirty();
    let mut errors = Vec::new();
    let mut marks = Vec::new();
    for item in raw_store::scan(&config.storage.raw_dir) {
        if shutdown.is_cancelled() {
            break;
        }
        let (loc, page) = match item {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable raw record skipped");
                errors.push(error_chain(&e));
                continue;
            }
        };
        // Discovery documents (feeds, sitemaps) carry no hint; articles always do.
        if page.hint.is_none() || !(200..300).contains(&page.status) {
            continue;
        }
        let (record, duplicate) = match ingest.page(&page, loc) {
            Ingested::New { id, .. } => (id, false),
            Ingested::Duplicate { of, .. } => (of, true),
            Ingested::Failed { .. } => continue,
        };
        marks.push(Change {
            key: UrlKey::of(&page.requested_url),
            source: page.source.clone(),
            transition: Transition::Ingested {
                record: RecordId::new(record),
                duplicate,
                validators: Validators::of(&page),
            },
        });
    }
    let interrupted = shutdown.is_cancelled();
    ingest.flush().context("writing staging corpus")?;
    let records = ingest.corpus.manifest().records;
    if !interrupted {
        corpus::replace_dir(&staging, &target).context("swapping in the rebuilt corpus")?;
        if let Err(e) = ingest.near.mark_clean() {
            errors.push(format!("near-duplicate index: {}", error_chain(&e)));
        }
        let frontier = Frontier::new(state.clone(), config.fetch.retry);
        if let Err(e) = frontier.apply(&marks) {
            errors.push(format!("frontier: {}", error_chain(&e)));
        }
    }
    Ok(RunReport {
        run_id: format!(
            "{}-{}",
            started.format("%Y%m%dT%H%M%SZ"),
            std::process::id()
        ),
        mode: "reprocess".into(),
        started,
        finished: Utc::now(),
        interrupted,
        sources: std::mem::take(&mut ingest.stats),
        errors,
        corpus_dir: target.display().to_string(),
        corpus_records: records,
    })
}

fn staging_dir(target: &std::path::Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(|| "normalized".into(), |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.reprocess"))
}
