//! `verify` on a shared state (`[state] backend = "postgres"`, many workers): the same checks
//! over every worker's corpus folder (`normalized/workers/<id>/`) and the shared frontier.
//!
//! 1. Each worker folder against its own manifest (`corpus::inspect`), and against the
//!    manifest its last flush recorded in the database (same segments, sizes, SHA-256).
//! 2. No record id in two folders (the exact-duplicate claims make one worker the owner).
//! 3. Corpus ↔ state and raw ↔ state over all folders at once (`checks.rs`, as on SQLite).
//!
//! `--repair` is not offered here: repairs go through a worker's own folder and the frontier,
//! which the workers own while they run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::corpus::{self, CorpusDamage, WORKERS_DIR};
use crate::state::pg::{PgError, PgState};

use super::{Checked, Depth, Problem, Report, StoreProblem, VerifyError, checks};

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

/// `newsmill verify [--json]` on a shared state: prints every problem; exit 0 when nothing
/// was found, 1 otherwise. Runs beside live workers (it reads only); a worker mid-flush can
/// show as a passing disagreement, so run it when the workers are idle or stopped.
///
/// # Errors
/// When the database or a folder cannot be read at all.
pub fn command_shared(
    cfg: &crate::config::Config,
    url: &crate::config::DatabaseUrl,
    as_json: bool,
) -> anyhow::Result<std::process::ExitCode> {
    use anyhow::Context as _;
    let st = &cfg.storage;
    let state = PgState::open(url).context("opening the shared state")?;
    let report = verify_shared(&st.normalized_dir, &st.raw_dir, &state, Depth::Full)
        .with_context(|| format!("verifying {}", st.normalized_dir.display()))?;
    if as_json {
        let v = serde_json::json!({"ok": report.ok, "problems": report.problems, "checked": report.checked});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", report.render());
    }
    Ok(std::process::ExitCode::from(u8::from(!report.ok)))
}
