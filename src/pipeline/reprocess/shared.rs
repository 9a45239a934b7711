//! `newsmill reprocess` on a shared state (`[state] backend = "postgres"`, many workers):
//! every stored raw response, across all workers' raw folders, is normalized again into the
//! folder of the worker that fetched it (`normalized/workers/<id>/`), and what reprocessing
//! changes in the database is rebuilt with it: the text claims (`content_hashes`), every
//! worker's manifest (`corpus_segments`), the shared near-duplicate index, and each URL's
//! record in the frontier. Runs only while no worker runs.
//!
//! # Order of steps (crash safety)
//! 1. Fence workers off (`PgState::fence_reprocess`): a worker started from now on refuses,
//!    naming the unfinished reprocess, until step 7. Then refuse if a worker is alive or holds
//!    a lease (a fence left by a crashed reprocess is kept). With normalized/ on S3, also
//!    refuse while a worker has not stopped cleanly (it may hold files waiting for their
//!    upload), then pull the bucket into the local caches ([`pull_remote`]).
//! 2. Undo a half-done swap left by a crash (`workers` missing, `.workers.old` present).
//! 3. Empty the tables the rebuild writes again (one transaction) and build the new folders
//!    under `normalized/.workers.reprocess/`, one writer per worker id, one writer at a time
//!    (each flushed before the next starts, so every text claim of another writer is durable:
//!    a text met again becomes a duplicate of that record, its sighting queued as a worker's
//!    would be and applied by the final flush of its owner).
//! 4. Carry the records of the old folders that the walk did not reproduce (`carry.rs`).
//! 5. Swap: `workers` → `.workers.old`, staging → `workers`, delete `.workers.old`. On S3,
//!    upload the rebuilt folders and delete the objects they no longer have.
//! 6. Mark the frontier (each URL's new record), name the carried records.
//! 7. Lift the fence.
//!
//! A crash anywhere leaves the old folders or the new ones in place (readers see one corpus or
//! the other; on S3 a crash during the upload leaves some workers' folders old and others
//! new), and the fence up; the rerun starts over from raw/ and finishes. The database tables
//! are rebuilt behind the fence, so no worker can write the old texts again meanwhile.
//!
//! Raw files outside `raw/workers/<id>/` (written by `newsmill run` before `migrate`) go to the
//! folder [`LEGACY_WRITER`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DatabaseUrl};
use crate::corpus::WORKERS_DIR;
use crate::frontier::Frontier;
use crate::model::{CorpusRecord, RawLocation, Sighting};
use crate::state::pg::PgState;

use super::super::near::SharedLinker;
use super::super::report::{RunReport, error_chain};
use super::carry::{Carrier, Kept};
use super::{Marks, name_kept};

/// The folder of records whose raw file is not under `raw/workers/<id>/`.
pub const LEGACY_WRITER: &str = "reprocessed";

/// Records queued per writer before a flush (a worker's barrier).
const FLUSH_EVERY: usize = 50;

/// Flushes of every writer at the end, to apply what writers queued for each other's records.
const FINAL_ROUNDS: usize = 3;

/// TEST ONLY. When set to `before_swap` or `after_swap`, a shared reprocess aborts the
/// process at that step, as a crash would, so a test can check what the crash leaves.
pub const CRASH_AT: &str = "NEWSMILL_TEST_CRASH_REPROCESS";

fn crash_point(step: &str) {
    if std::env::var(CRASH_AT).as_deref() == Ok(step) {
        tracing::warn!(
            failpoint = CRASH_AT,
            step,
            "test failpoint reached: aborting"
        );
        std::process::abort();
    }
}

/// Why a shared reprocess cannot run now.
#[derive(Debug, thiserror::Error)]
pub enum SharedReprocessError {
    /// A worker runs or holds a lease.
    #[error(
        "`newsmill reprocess` on a shared state needs every worker stopped; still running or \
         holding leases: {workers} (stop them, or wait one lease_ttl after a crash)"
    )]
    WorkersRunning {
        /// Each live worker with its machine, heartbeat age and leases.
        workers: String,
    },
    /// The corpus is on object storage and a worker did not stop cleanly: files it wrote may
    /// still wait on its machine for their upload, and would overwrite the rebuilt ones.
    #[error(
        "`newsmill reprocess` with normalized_dir on object storage needs every worker stopped \
         cleanly; not stopped cleanly: {workers}. Start each once (`newsmill worker -c CONFIG \
         --once --id ID`, on its machine, or on any machine if that one is lost) so what it left \
         unuploaded reaches the bucket, then run reprocess again"
    )]
    UncleanStop {
        /// Each such worker with its machine and heartbeat age.
        workers: String,
    },
}

/// Rebuilds every worker's corpus folder from raw/ (see the module doc); sync.
///
/// # Errors
/// [`SharedReprocessError`] when it cannot run now; database, staging or swap failures.
pub fn reprocess_shared(
    config: &Config,
    url: &DatabaseUrl,
    shutdown: &CancellationToken,
) -> anyhow::Result<RunReport> {
    let started = Utc::now();
    let db = Arc::new(PgState::open(url).context("opening the shared state")?);
    fence(&db, config)?;
    if config.storage.normalized_remote.is_some() {
        pull_remote(config)?;
    }
    let root = config.storage.normalized_dir.join(WORKERS_DIR);
    let staging = sibling(&root, "reprocess");
    restore_aside(&root)?;
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing stale {}", staging.display()))?;
    }
    db.reset_for_reprocess()
        .context("emptying the tables the rebuild writes")?;
    let near_db = Arc::new(PgState::open(url).context("opening the shared state")?);
    let mut writers = Writers::new(config, &staging, db.clone(), near_db);
    let mut errors = Vec::new();
    let (walked, marks) = writers.walk(config, shutdown, &mut errors)?;
    let interrupted = shutdown.is_cancelled();
    if !interrupted {
        let kept = writers.carry_all(&root, &config.storage.raw_dir, &walked)?;
        writers.finish()?;
        crash_point("before_swap");
        swap(&staging, &root)?;
        crash_point("after_swap");
        crate::corpus::publish_all(&config.storage).context("uploading the rebuilt folders")?;
        finish_state(config, &db, &marks, &kept, &mut errors);
        db.lift_reprocess_fence(Some(&SharedLinker::params(&config.dedup)))
            .context("lifting the fence (run `newsmill reprocess` again)")?;
    }
    Ok(writers.report(config, started, interrupted, errors))
}

/// Puts the fence up, then refuses (taking a fence of its own down) while a worker is alive,
/// or, with normalized/ on S3, while a worker has not stopped cleanly (see [`unclean`]).
fn fence(db: &PgState, config: &Config) -> anyhow::Result<()> {
    let resumed = db.fence_reprocess().context("fencing off workers")?;
    let refused = match crate::verify::ensure_no_worker(db, config.worker.lease_ttl) {
        Ok(()) if config.storage.normalized_remote.is_some() => unclean(db)?,
        Ok(()) => None,
        Err(crate::verify::SharedVerifyError::WorkersRunning { workers }) => {
            Some(SharedReprocessError::WorkersRunning { workers })
        }
        Err(e) => return Err(e).context("reading the workers"),
    };
    let Some(refused) = refused else {
        if resumed {
            tracing::warn!("a reprocess did not finish: starting it over");
        }
        return Ok(());
    };
    if !resumed {
        db.lift_reprocess_fence(None)
            .context("taking the fence down again")?;
    }
    Err(refused.into())
}

/// The refusal when a worker did not stop cleanly: with normalized/ on S3 it may hold files
/// on its machine that wait for their upload (a segment, its manifest), which its next start
/// would upload over the rebuilt folder.
fn unclean(db: &PgState) -> anyhow::Result<Option<SharedReprocessError>> {
    let workers =
        crate::verify::describe_workers(db, |w| !w.stopped).context("reading the workers")?;
    Ok(workers.map(|workers| SharedReprocessError::UncleanStop { workers }))
}

/// With normalized/ on S3, behind the fence: makes the local caches (`normalized_dir`,
/// `raw_dir`) copies of the bucket, so the rebuild works on local folders as it does without
/// S3, and [`crate::corpus::publish_all`] makes the bucket match after the swap. A crash before
/// the upload finished leaves the fence up; the rerun pulls the bucket again (whatever mix of
/// old and new folders it holds: every record there comes from raw/ and is rebuilt from it)
/// and uploads the whole rebuild.
fn pull_remote(config: &Config) -> anyhow::Result<()> {
    let st = &config.storage;
    crate::corpus::mirror(st).context("reading the corpus from S3")?;
    crate::raw_store::mirror(st).context("reading raw/ from S3")?;
    Ok(())
}

/// Frontier marks and the carried records, after the swap (failures named in `errors`).
fn finish_state(
    config: &Config,
    db: &Arc<PgState>,
    marks: &Marks,
    kept: &[Kept],
    errors: &mut Vec<String>,
) {
    let frontier = Frontier::new(db.clone(), config.fetch.retry);
    if let Err(e) = frontier.apply(marks) {
        errors.push(format!("frontier: {}", error_chain(&e)));
    }
    let urls_of = |ids: &[String]| db.urls_of_records(ids).map_err(|e| error_chain(&e));
    name_kept(urls_of, &frontier, kept, errors);
}

/// `root` with the name `.<name>.<what>` beside it.
fn sibling(root: &Path, what: &str) -> PathBuf {
    let name = root
        .file_name()
        .map_or_else(|| WORKERS_DIR.into(), |n| n.to_string_lossy().into_owned());
    root.with_file_name(format!(".{name}.{what}"))
}

/// After a crash in the middle of [`swap`]: the old folders back when `root` is missing, the
/// old ones deleted when the new ones are in.
fn restore_aside(root: &Path) -> anyhow::Result<()> {
    let aside = sibling(root, "old");
    if !aside.exists() {
        return Ok(());
    }
    if root.exists() {
        std::fs::remove_dir_all(&aside).with_context(|| format!("removing {}", aside.display()))?;
    } else {
        std::fs::rename(&aside, root)
            .with_context(|| format!("putting {} back", aside.display()))?;
    }
    Ok(())
}

/// Replaces the folder of every worker's folders by the rebuilt one (see [`restore_aside`]).
fn swap(staging: &Path, root: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(staging).with_context(|| format!("creating {}", staging.display()))?;
    let aside = sibling(root, "old");
    if root.exists() {
        std::fs::rename(root, &aside)
            .with_context(|| format!("moving {} aside", root.display()))?;
    }
    std::fs::rename(staging, root)
        .with_context(|| format!("moving the rebuilt folders to {}", root.display()))?;
    if let Some(parent) = root.parent().and_then(|p| std::fs::File::open(p).ok()) {
        let _ = parent.sync_all();
    }
    if aside.exists() {
        std::fs::remove_dir_all(&aside).with_context(|| format!("removing {}", aside.display()))?;
    }
    Ok(())
}

/// The worker whose raw folder holds `loc` (`workers/<id>/…`), or [`LEGACY_WRITER`].
fn writer_of(loc: &RawLocation) -> String {
    let mut parts = loc
        .file
        .components()
        .map(|c| c.as_os_str().to_string_lossy());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(w), Some(id), Some(_)) if w == WORKERS_DIR => id.into_owned(),
        _ => LEGACY_WRITER.to_owned(),
    }
}

mod writers;

use writers::Writers;

/// Carried records of an old folder go to the writer of that folder; sightings to the writer
/// holding the record.
struct SharedCarrier<'a> {
    writers: &'a mut Writers,
    own: String,
}

impl Carrier for SharedCarrier<'_> {
    fn add_sighting(&mut self, id: &str, s: Sighting) {
        if let Some(ingest) = self.writers.holding(id) {
            ingest.corpus.add_sighting(id, s);
        }
    }

    fn carry(&mut self, rec: CorpusRecord) -> Option<String> {
        if self.writers.holding(&rec.id).is_some() {
            return Some(rec.id);
        }
        let ingest = self.writers.ingest(&self.own).ok()?;
        ingest.carry(rec)
    }
}

/// The ids of the old folders' workers, so each gets its folder back even when empty.
fn old_workers(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut out: HashSet<String> = HashSet::new();
    if root.is_dir() {
        for entry in
            std::fs::read_dir(root).with_context(|| format!("listing {}", root.display()))?
        {
            let entry = entry.with_context(|| format!("listing {}", root.display()))?;
            if entry.path().is_dir() {
                out.insert(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    let mut out: Vec<String> = out.into_iter().collect();
    out.sort();
    Ok(out)
}
