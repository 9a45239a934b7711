//! `verify` on a shared state (`[state] backend = "postgres"`, many workers): the same checks
//! over every worker's corpus folder (`normalized/workers/<id>/`) and the shared frontier.
//!
//! 1. Each worker folder against its own manifest (`corpus::inspect`), and against the
//!    manifest its last flush recorded in the database (same segments, sizes, SHA-256).
//! 2. No record id in two folders (the exact-duplicate claims make one worker the owner).
//! 3. Corpus ↔ state and raw ↔ state over all folders at once (`checks.rs`, as on SQLite).
//!
//! 4. No change other workers queued for a worker's records is waiting (`record_updates`).
//!
//! `--repair` (`repair.rs`) runs only while no worker runs: the workers own their folders and
//! the frontier while they do.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::corpus::{self, CorpusDamage, WORKERS_DIR};
use crate::state::pg::{PgError, PgState, RecordUpdate};

use super::{Checked, Depth, Problem, Report, StoreProblem, VerifyError, checks};

mod repair;

pub use repair::{describe_workers, ensure_no_worker, repair_shared};

/// Checks every worker's folder under `normalized`, the shared frontier and raw/.
///
/// # Errors
/// When a folder cannot be read at all or the database fails.
pub fn verify_shared(
    normalized: &Path,
    raw: &Path,
    state: &PgState,
    depth: Depth,
) -> Result<Report, SharedVerifyError> {
    let listed = listed_manifests(state)?;
    let mut problems = Vec::new();
    let mut records = Vec::new();
    let mut segments = 0;
    let mut owner: HashMap<String, String> = HashMap::new();
    let root = normalized.join(WORKERS_DIR);
    for worker in worker_folders(&root)? {
        let dir = root.join(&worker);
        let inspection = corpus::inspect(&dir).map_err(VerifyError::from)?;
        problems.extend(inspection.damage.into_iter().map(Problem::Corpus));
        problems.extend(compare_listed(&dir, &worker, listed.get(&worker)));
        segments += inspection.segments;
        for mut rec in inspection.records {
            rec.segment = format!("{WORKERS_DIR}/{worker}/{}", rec.segment);
            if let Some(first) = owner.insert(rec.id.clone(), rec.segment.clone()) {
                problems.push(Problem::Corpus(CorpusDamage::DuplicateId {
                    id: rec.id.clone(),
                    file: first,
                    again: rec.segment.clone(),
                }));
            }
            records.push(rec);
        }
    }
    for worker in listed.keys().filter(|w| !root.join(w).is_dir()) {
        problems.push(Problem::Store(StoreProblem::SharedManifest {
            worker: worker.clone(),
            what: "listed in the database, but its folder is missing".into(),
        }));
    }
    problems.extend(pending_updates(state, &records)?);
    let rows = state.url_rows()?;
    let store = checks::check(&records, &rows, raw, depth);
    problems.extend(store.problems.into_iter().map(Problem::Store));
    Ok(Report {
        ok: problems.is_empty(),
        problems,
        checked: Checked {
            segments,
            records: records.len(),
            state_urls: rows.len(),
            raw_files: store.raw_files,
        },
    })
}

/// Errors that stop a shared `verify` from checking at all.
#[derive(Debug, thiserror::Error)]
pub enum SharedVerifyError {
    /// A corpus folder could not be read.
    #[error("cannot read a worker's corpus")]
    Corpus(#[from] VerifyError),
    /// The database failed.
    #[error("cannot read the shared database")]
    Database(#[from] PgError),
    /// `--repair` while a worker runs or holds a lease.
    #[error(
        "`verify --repair` needs every worker stopped; still running or holding leases: \
         {workers} (stop them, or wait one lease_ttl after a crash)"
    )]
    WorkersRunning {
        /// Each live worker with its machine, heartbeat age and leases.
        workers: String,
    },
    /// The workers' folder could not be listed.
    #[error("cannot list {path}")]
    List {
        /// The folder.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

type Listed = BTreeMap<String, Vec<corpus::SegmentInfo>>;

/// One problem per worker whose records have queued changes. A queued sighting the owner's
/// own rule would ignore (its URL is the record's or already on it, as when a page of a
/// worker killed between its text claims and its `ingested` marks is recovered by another)
/// changes nothing and is not counted.
fn pending_updates(
    state: &PgState,
    records: &[corpus::RecordRef],
) -> Result<Vec<Problem>, PgError> {
    let urls: HashMap<&str, &[String]> = records
        .iter()
        .map(|r| (r.id.as_str(), r.urls.as_slice()))
        .collect();
    let mut by_owner: BTreeMap<String, usize> = BTreeMap::new();
    for u in state.all_updates()? {
        if let RecordUpdate::Sighting(s) = &u.update
            && urls
                .get(u.record_id.as_str())
                .is_some_and(|known| known.iter().any(|k| k == s.url.as_str()))
        {
            continue;
        }
        *by_owner.entry(u.owner.unwrap_or_default()).or_default() += 1;
    }
    Ok(by_owner
        .into_iter()
        .map(|(worker, updates)| Problem::Store(StoreProblem::UpdatesPending { worker, updates }))
        .collect())
}

fn listed_manifests(state: &PgState) -> Result<Listed, PgError> {
    let mut out: Listed = BTreeMap::new();
    for s in state.corpus_segments()? {
        out.entry(s.worker_id).or_default().push(s.segment);
    }
    Ok(out)
}

fn worker_folders(root: &Path) -> Result<Vec<String>, SharedVerifyError> {
    if !root.is_dir() {
        return Ok(Vec::new());
    }
    let list = |source| SharedVerifyError::List {
        path: root.to_owned(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).map_err(list)? {
        let entry = entry.map_err(list)?;
        if entry.path().is_dir() {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// The folder's own manifest against what the worker's last flush recorded in the database.
fn compare_listed(
    dir: &Path,
    worker: &str,
    listed: Option<&Vec<corpus::SegmentInfo>>,
) -> Vec<Problem> {
    let own = match corpus::read_manifest(dir) {
        corpus::ManifestRead::Found(m) => m.segments,
        // A missing or bad manifest is already reported by `inspect`.
        _ => return Vec::new(),
    };
    let mut listed: Vec<corpus::SegmentInfo> = listed.cloned().unwrap_or_default();
    let mut own = own;
    listed.sort_by(|a, b| a.file.cmp(&b.file));
    own.sort_by(|a, b| a.file.cmp(&b.file));
    if listed == own {
        return Vec::new();
    }
    vec![Problem::Store(StoreProblem::SharedManifest {
        worker: worker.to_owned(),
        what: format!(
            "its manifest lists {} segment(s), the database {} (or their sizes/digests differ)",
            own.len(),
            listed.len()
        ),
    })]
}

/// `newsmill verify [--repair] [--json]` on a shared state: prints every problem, then what
/// `--repair` did; exit 0 when nothing was found, 1 otherwise. Without `--repair` it runs
/// beside live workers (it reads only; a worker mid-flush can show as a passing
/// disagreement, so run it when the workers are idle or stopped); `--repair` refuses while a
/// worker runs or holds a lease.
///
/// # Errors
/// When the database or a folder cannot be read at all, a worker runs (`--repair`), or a
/// repair cannot write.
pub fn command_shared(
    cfg: &crate::config::Config,
    url: &crate::config::DatabaseUrl,
    fix: bool,
    as_json: bool,
) -> anyhow::Result<std::process::ExitCode> {
    use anyhow::Context as _;
    let st = &cfg.storage;
    let state = std::sync::Arc::new(PgState::open(url).context("opening the shared state")?);
    if fix {
        ensure_no_worker(&state, cfg.worker.lease_ttl)?;
    }
    let report = verify_shared(&st.normalized_dir, &st.raw_dir, &state, Depth::Full)
        .with_context(|| format!("verifying {}", st.normalized_dir.display()))?;
    let repaired = if fix && !report.ok {
        let frontier = crate::frontier::Frontier::new(state.clone(), cfg.fetch.retry);
        let done = repair_shared(&report, &st.normalized_dir, &st.raw_dir, &state, &frontier);
        Some(done.context("repairing")?)
    } else {
        None
    };
    super::command::print_outcome(&report, repaired.as_ref(), true, as_json)
}
