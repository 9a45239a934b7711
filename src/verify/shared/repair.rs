//! `verify --repair` on a shared state, while no worker runs (a worker writes its own folder
//! and the frontier; repairing beside it would race it, so a live worker or lease is a refusal
//! that names them). What it does, through the stores' own APIs:
//!
//! 1. applies the changes other workers queued for a worker's records (`record_updates`:
//!    near-duplicate links, sightings) to that worker's folder, as the worker's next flush
//!    would, and forgets them;
//! 2. opens every worker folder as its writer (which rewrites a manifest that disagrees with
//!    the segments) and records that manifest in the database, so folder and database agree;
//! 3. takes up again every URL whose record or raw response is gone and adopts records the
//!    frontier lost track of, as the single-machine repair does (`super::super::repair`).
//!
//! A line that is not a record, a record id in two folders and an update whose record no
//! worker owns are listed, not repaired.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::corpus::{Corpus, WORKERS_DIR};
use crate::frontier::{Change, Frontier, Transition};
use crate::state::UrlRow;
use crate::state::pg::{PgState, QueuedUpdate, RecordUpdate, SharedCorpus, WorkerRow};

use super::super::repair::{change, fix_common};
use super::super::{Problem, Repaired, Report, StoreProblem};
use super::{SharedVerifyError, worker_folders};

/// Refuses while a worker is alive (heartbeat younger than `ttl` and not stopped) or holds an
/// unexpired lease.
///
/// # Errors
/// `WorkersRunning`, naming each; `Database`.
pub fn ensure_no_worker(state: &PgState, ttl: Duration) -> Result<(), SharedVerifyError> {
    let now = chrono::Utc::now();
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    let live = describe_workers(state, |w| {
        (!w.stopped && now - w.heartbeat < ttl) || w.host_leases > 0 || w.source_leases > 0
    })?;
    match live {
        None => Ok(()),
        Some(workers) => Err(SharedVerifyError::WorkersRunning { workers }),
    }
}

/// The workers `keep` selects, one "id on host (heartbeat N s ago, H host and S source
/// lease(s))" each, joined by "; "; `None` when it selects none. The one listing behind every
/// refusal that names workers (`verify --repair`, `reprocess`).
///
/// # Errors
/// The database's, reading the workers.
pub fn describe_workers(
    state: &PgState,
    keep: impl Fn(&WorkerRow) -> bool,
) -> Result<Option<String>, crate::state::pg::PgError> {
    let now = chrono::Utc::now();
    let listed: Vec<String> = state
        .workers()?
        .into_iter()
        .filter(|w| keep(w))
        .map(|w| {
            format!(
                "{} on {} (heartbeat {} s ago, {} host and {} source lease(s))",
                w.id,
                w.hostname,
                (now - w.heartbeat).num_seconds(),
                w.host_leases,
                w.source_leases
            )
        })
        .collect();
    Ok((!listed.is_empty()).then(|| listed.join("; ")))
}

/// Repairs what `report` found (see the module doc). Call [`ensure_no_worker`] first.
///
/// # Errors
/// When the database or the frontier cannot be changed.
pub fn repair_shared(
    report: &Report,
    normalized: &Path,
    raw: &Path,
    state: &Arc<PgState>,
    frontier: &Frontier,
) -> Result<Repaired, SharedVerifyError> {
    let mut done = Repaired::default();
    let root = normalized.join(WORKERS_DIR);
    apply_updates(state, &root, &mut done)?;
    for worker in worker_folders(&root)? {
        let dir = root.join(&worker);
        match Corpus::open(&dir) {
            Ok(corpus) => {
                let shared = SharedCorpus::new(state.clone(), &worker, Duration::ZERO);
                shared.commit(&[], corpus.manifest())?;
                done.manifest_rewritten |= !corpus.damage().is_empty();
            }
            Err(e) => done.not_repaired.push(format!(
                "worker {worker}'s folder: {}",
                crate::pipeline::report::error_chain(&e)
            )),
        }
    }
    let rows: BTreeMap<String, UrlRow> = state
        .url_rows()?
        .into_iter()
        .map(|r| (r.url.clone(), r))
        .collect();
    let changes = store_changes(report, &rows, raw, &mut done);
    frontier
        .apply(&changes)
        .map_err(super::super::VerifyError::from)?;
    Ok(done)
}

/// The frontier changes that repair the store problems in `report` (as on SQLite).
fn store_changes(
    report: &Report,
    rows: &BTreeMap<String, UrlRow>,
    raw: &Path,
    done: &mut Repaired,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut lost_raw: HashSet<&str> = HashSet::new();
    for p in &report.problems {
        if fix_common(p, &|url| rows.get(url), raw, &mut changes, done) {
            continue;
        }
        match p {
            Problem::Store(
                StoreProblem::RawMissing { id, .. } | StoreProblem::RawDamaged { id, .. },
            ) => drop(lost_raw.insert(id.as_str())),
            // Repaired by `fix_common`.
            Problem::Store(
                StoreProblem::RecordMissing { .. }
                | StoreProblem::FetchedRawMissing { .. }
                | StoreProblem::NotInState { .. },
            ) => {}
            // Manifests and queued updates were handled above; a pending recovery is the
            // next worker's.
            Problem::Corpus(_)
            | Problem::Store(
                StoreProblem::SharedManifest { .. }
                | StoreProblem::UpdatesPending { .. }
                | StoreProblem::PendingRecovery { .. },
            ) => {}
        }
    }
    for row in rows.values() {
        if row
            .record_id
            .as_deref()
            .is_some_and(|id| lost_raw.contains(id))
        {
            done.queued_for_refetch += 1;
            changes.extend(change(row, Transition::Requeue));
        }
    }
    changes
}

/// Applies every queued update to its owner's folder and forgets it.
fn apply_updates(
    state: &Arc<PgState>,
    root: &Path,
    done: &mut Repaired,
) -> Result<(), SharedVerifyError> {
    let mut by_owner: BTreeMap<String, Vec<QueuedUpdate>> = BTreeMap::new();
    for u in state.all_updates()? {
        match &u.owner {
            Some(owner) => by_owner.entry(owner.clone()).or_default().push(u),
            None => done.not_repaired.push(format!(
                "a queued change of record {} (no worker owns it)",
                u.record_id
            )),
        }
    }
    for (owner, updates) in by_owner {
        let dir = root.join(&owner);
        let mut corpus = match Corpus::open(&dir) {
            Ok(c) => c,
            Err(e) => {
                done.not_repaired.push(format!(
                    "{} queued change(s) of worker {owner}'s records: {}",
                    updates.len(),
                    crate::pipeline::report::error_chain(&e)
                ));
                continue;
            }
        };
        let mut applied = Vec::new();
        for u in updates {
            if !corpus.contains(&u.record_id) {
                done.not_repaired.push(format!(
                    "a queued change of record {}: not in worker {owner}'s folder",
                    u.record_id
                ));
                continue;
            }
            match u.update {
                RecordUpdate::Link(l) => drop(corpus.update_links(&u.record_id, l)),
                RecordUpdate::Sighting(s) => drop(corpus.add_sighting(&u.record_id, s)),
            }
            applied.push(u.seq);
        }
        corpus.flush().map_err(super::super::VerifyError::from)?;
        done.updates_applied += applied.len();
        SharedCorpus::new(state.clone(), &owner, Duration::ZERO).commit(&[], corpus.manifest())?;
        state.forget_updates(&applied)?;
    }
    Ok(())
}
