//! `newsmill reprocess`: rebuild `normalized/` from `raw/` with the current normalizer, no
//! network. Records are read in a fixed order (WARC files by path, records by offset), so two
//! runs over the same raw/ give byte-identical corpora. The new corpus is written to a staging
//! folder and swapped in whole: a crash leaves the old corpus in place. The near-duplicate index
//! is rebuilt along with it (emptied on open, since it no longer matches the empty staging
//! corpus) and flagged dirty until the swap, so an interrupted reprocess leaves an index that
//! the next run rebuilds from the old corpus.
//!
//! # Never shrinks silently
//! Records of `newsmill fetch` (source `adhoc`) are reprocessed like the rest. After the raw
//! walk, every record of the old corpus is checked against what the walk produced (`carry.rs`):
//! a record whose raw response is missing, torn or no longer normalizes is carried into the new
//! corpus as it was, named in the report, and makes the exit code 1; when its raw response is
//! missing or damaged its URLs are also queued for refetch in the state database.

mod carry;
mod shared;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::corpus::{self, Corpus};
use crate::frontier::{Change, Frontier, RecordId, Transition, UrlKey};
use crate::model::{RawLocation, RawPage, SourceId, Validators};
use crate::normalize::Normalizer;
use crate::raw_store;
use crate::state::State;

use super::ingest::{Ingest, Ingested};
use super::report::{RunReport, error_chain};
use carry::{Kept, Walked};

pub use shared::{SharedReprocessError, reprocess_shared};

/// Rebuilds the corpus from raw records; sync (run it off the async runtime).
///
/// # Errors
/// Fatal errors only: the staging folder or the swap failed. Unreadable raw records and
/// records carried over unchanged are named in the report's errors.
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
    let mut profiles = config.profiles();
    let adhoc = super::adhoc_profile();
    if !profiles.iter().any(|p| p.id == adhoc.id) {
        profiles.push(adhoc);
    }
    let mut ingest = Ingest::new(
        Normalizer::new(&profiles),
        corpus,
        state.clone(),
        &config.dedup,
    )
    .context("opening near-duplicate index")?;
    ingest.near.mark_dirty();
    let mut errors = Vec::new();
    let (walked, marks) = walk_raw(config, shutdown, &mut ingest, &mut errors);
    let interrupted = shutdown.is_cancelled();
    let mut kept = Vec::new();
    if !interrupted {
        kept = carry::carry_over(&target, &config.storage.raw_dir, &walked, &mut ingest)
            .context("reading the old corpus")?;
    }
    ingest.flush().context("writing staging corpus")?;
    let records = ingest.corpus.manifest().records;
    if !interrupted {
        corpus::replace_dir(&staging, &target).context("swapping in the rebuilt corpus")?;
        corpus::publish(&config.storage).context("uploading the rebuilt corpus")?;
        if let Err(e) = ingest.near.mark_clean() {
            errors.push(format!("near-duplicate index: {}", error_chain(&e)));
        }
        let frontier = Frontier::new(state.clone(), config.fetch.retry);
        if let Err(e) = frontier.apply(&marks) {
            errors.push(format!("frontier: {}", error_chain(&e)));
        }
        let urls_of = |ids: &[String]| state.urls_of_records(ids).map_err(|e| error_chain(&e));
        name_kept(urls_of, &frontier, &kept, &mut errors);
    }
    Ok(RunReport::reprocess(
        started,
        interrupted,
        std::mem::take(&mut ingest.stats),
        errors,
        target.display().to_string(),
        records,
    ))
}

type Marks = Vec<Change>;

/// Walks raw/ in order and ingests every article response; returns what happened at each raw
/// location (for the carry-over) and the state marks to commit after the swap.
fn walk_raw(
    config: &Config,
    shutdown: &CancellationToken,
    ingest: &mut Ingest,
    errors: &mut Vec<String>,
) -> (Walked, Marks) {
    let mut walked = Walked::default();
    let mut marks = Vec::new();
    for item in raw_store::scan(&config.storage.raw_dir) {
        if shutdown.is_cancelled() {
            break;
        }
        if let Some((loc, page)) = readable(item, errors) {
            walk_one(ingest, loc, &page, &mut walked, &mut marks);
        }
    }
    (walked, marks)
}

/// The record read from raw/, or `None` (the error named in `errors`).
fn readable(
    item: Result<(RawLocation, RawPage), raw_store::RawStoreError>,
    errors: &mut Vec<String>,
) -> Option<(RawLocation, RawPage)> {
    match item {
        Ok(x) => Some(x),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable raw record skipped");
            errors.push(error_chain(&e));
            None
        }
    }
}

/// Ingests one raw response (an article: discovery documents and non-2xx are noted skipped).
fn walk_one(
    ingest: &mut Ingest,
    loc: RawLocation,
    page: &RawPage,
    walked: &mut Walked,
    marks: &mut Marks,
) {
    let at = (loc.file.clone(), loc.offset);
    // Discovery documents (feeds, sitemaps) carry no hint; articles always do.
    if page.hint.is_none() || !(200..300).contains(&page.status) {
        walked.skipped.insert(at);
        return;
    }
    let (record, duplicate) = match ingest.page(page, loc) {
        Ingested::New { id, url } => {
            walked.note(at, &url, &id);
            (id, false)
        }
        Ingested::Duplicate { of, url } => {
            walked.note(at, &url, &of);
            (of, true)
        }
        Ingested::Failed { kind } => {
            walked.failed.insert(at, kind.as_str());
            return;
        }
    };
    marks.push(Change {
        key: UrlKey::of(&page.requested_url),
        source: page.source.clone(),
        transition: Transition::Ingested {
            record: RecordId::new(record),
            duplicate,
            validators: Validators::of(page),
        },
    });
}

/// Names every carried-over record in the report and queues the URLs of those whose raw
/// response is gone for refetch.
fn name_kept(
    urls_of: impl FnOnce(&[String]) -> Result<Vec<(UrlKey, SourceId)>, String>,
    frontier: &Frontier,
    kept: &[Kept],
    errors: &mut Vec<String>,
) {
    for k in kept {
        tracing::warn!(url = %k.url, id = %k.id, reason = %k.why, "record not reprocessed; kept as it was");
        errors.push(format!(
            "not reprocessed, kept as it was: {} (record {}): {}",
            k.url, k.id, k.why
        ));
    }
    let lost_raw: Vec<String> = kept
        .iter()
        .filter(|k| k.why.refetch())
        .map(|k| k.id.clone())
        .collect();
    if lost_raw.is_empty() {
        return;
    }
    let urls = match urls_of(&lost_raw) {
        Ok(urls) => urls,
        Err(e) => return errors.push(format!("state: {e}")),
    };
    let requeue: Vec<Change> = urls
        .into_iter()
        .map(|(key, source)| Change {
            key,
            source,
            transition: Transition::Requeue,
        })
        .collect();
    match frontier.apply(&requeue) {
        Ok(()) => tracing::info!(urls = requeue.len(), "queued for refetch"),
        Err(e) => errors.push(format!(
            "frontier: queuing for refetch: {}",
            error_chain(&e)
        )),
    }
}

fn staging_dir(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(|| "normalized".into(), |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.reprocess"))
}
