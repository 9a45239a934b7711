//! `verify --repair`, and the same recovery at the start of every run: fixes what can be fixed
//! without the network, through the stores' own APIs. The manifest is rewritten from the
//! segments in the folder (opening the corpus as a writer does that); a URL whose record is
//! gone is taken up again by the frontier (normalized from raw/ when its response is still
//! there, else fetched again); a URL whose raw response is gone is fetched again; a record the
//! frontier lost track of is marked ingested. What cannot be repaired is listed.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::corpus::{Corpus, CorpusDamage};
use crate::frontier::{Change, Frontier, RecordId, Transition, UrlKey};
use crate::model::{SourceId, Validators};
use crate::state::{State, UrlRow};

use super::{Problem, Report, StoreProblem, VerifyError};

/// What `--repair` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// Whether the manifest was rewritten from the segments.
    pub manifest_rewritten: bool,
    /// URLs taken up again: normalized from raw/ or fetched at the next run.
    pub queued_for_refetch: usize,
    /// Records marked ingested in the state database.
    pub adopted_records: usize,
    /// Changes other workers had queued for a worker's records, written into its folder
    /// (shared state only).
    pub updates_applied: usize,
    /// Problems left as they are, with the reason.
    pub not_repaired: Vec<String>,
}

/// Repairs the problems in `report` (see the module doc).
///
/// # Errors
/// When the state database cannot be read or changed.
pub fn repair(
    report: &Report,
    normalized: &Path,
    raw: &Path,
    state: &State,
    frontier: &Frontier,
) -> Result<Repaired, VerifyError> {
    let mut done = Repaired::default();
    let rows: HashMap<String, UrlRow> = state
        .url_rows()?
        .into_iter()
        .map(|r| (r.url.clone(), r))
        .collect();
    let mut changes = Vec::new();
    let mut lost_raw = Vec::new();
    let mut manifest = false;
    for p in &report.problems {
        if fix_common(p, &|url| rows.get(url), raw, &mut changes, &mut done) {
            continue;
        }
        match p {
            Problem::Corpus(_) => manifest = true,
            Problem::Store(
                StoreProblem::RawMissing { id, .. } | StoreProblem::RawDamaged { id, .. },
            ) => lost_raw.push(id.clone()),
            // The next run normalizes it from raw/: nothing to do now.
            Problem::Store(StoreProblem::PendingRecovery { .. }) => {}
            // Only found on a shared state, which is not repaired here.
            Problem::Store(
                StoreProblem::SharedManifest { .. } | StoreProblem::UpdatesPending { .. },
            ) => {
                done.not_repaired.push(p.to_string());
            }
            // Repaired by `fix_common`.
            Problem::Store(
                StoreProblem::RecordMissing { .. }
                | StoreProblem::FetchedRawMissing { .. }
                | StoreProblem::NotInState { .. },
            ) => {}
        }
    }
    if manifest {
        // Opening as the writer compares the manifest with the folder and rewrites it.
        match Corpus::open(normalized) {
            Ok(_) => done.manifest_rewritten = true,
            Err(e) => done.not_repaired.push(format!(
                "manifest not rewritten: {}",
                crate::pipeline::report::error_chain(&e)
            )),
        }
    }
    for (key, source) in state.urls_of_records(&lost_raw)? {
        done.queued_for_refetch += 1;
        changes.push(Change {
            key,
            source,
            transition: Transition::Requeue,
        });
    }
    frontier.apply(&changes)?;
    Ok(done)
}

/// The repairs every state makes alike: a bad or doubled corpus line is left to a person; a
/// URL marked ingested whose record is gone is taken up again, one whose raw response is gone
/// is fetched again, and a record the state does not know is adopted. Whether `p` was one of
/// those; `row_of` finds a URL's frontier row.
pub(super) fn fix_common<'a>(
    p: &Problem,
    row_of: &dyn Fn(&str) -> Option<&'a UrlRow>,
    raw: &Path,
    changes: &mut Vec<Change>,
    done: &mut Repaired,
) -> bool {
    match p {
        Problem::Corpus(CorpusDamage::BadLine { .. } | CorpusDamage::DuplicateId { .. }) => {
            done.not_repaired
                .push(format!("{p} (edit or remove the segment by hand)"));
        }
        Problem::Store(StoreProblem::RecordMissing { url, .. }) => {
            if let Some(row) = row_of(url) {
                changes.extend(take_up(row, raw));
                done.queued_for_refetch += 1;
            }
        }
        Problem::Store(StoreProblem::FetchedRawMissing { url, .. }) => {
            if let Some(row) = row_of(url) {
                changes.extend(change(row, Transition::RawLost));
                done.queued_for_refetch += 1;
            }
        }
        Problem::Store(StoreProblem::NotInState {
            id, url, source_id, ..
        }) => {
            if let Some(c) = adopt(id, url, source_id) {
                changes.push(c);
                done.adopted_records += 1;
            }
        }
        _ => return false,
    }
    true
}

/// The changes that take up a URL whose record is gone: back to `fetched` when its raw
/// response is still there (the run normalizes it from raw/), else to `discovered`.
pub(super) fn take_up(row: &UrlRow, raw: &Path) -> Vec<Change> {
    let mut out: Vec<Change> = change(row, Transition::Requeue).into_iter().collect();
    if let Some(loc) = &row.raw
        && raw.join(&loc.file).is_file()
    {
        out.extend(change(row, Transition::Fetched { raw: loc.clone() }));
    }
    out
}

pub(super) fn change(row: &UrlRow, transition: Transition) -> Option<Change> {
    let (key, source) = row.key();
    Some(Change {
        key,
        source: source?,
        transition,
    })
}

pub(super) fn adopt(id: &str, url: &str, source_id: &str) -> Option<Change> {
    Some(Change {
        key: UrlKey::of(&url::Url::parse(url).ok()?),
        source: SourceId::new(source_id).ok()?,
        transition: Transition::Ingested {
            record: RecordId::new(id),
            duplicate: false,
            validators: Validators::default(),
        },
    })
}

/// At the start of every run (the caller holds the run lock): names the damage the corpus found
/// between its manifest and its folder (it has already rewritten the manifest), and takes up
/// again every URL the frontier marks ingested whose record the corpus does not have (a lost
/// or deleted segment), from raw/ when its response is still there. Returns one line per
/// problem, for the run report; empty when everything agrees.
pub fn on_open(corpus: &Corpus, state: &State, frontier: &Frontier, raw: &Path) -> Vec<String> {
    let mut lines: Vec<String> = corpus
        .damage()
        .iter()
        .map(|d| format!("corpus: {d}"))
        .collect();
    let rows = match state.url_rows() {
        Ok(rows) => rows,
        Err(e) => {
            lines.push(format!(
                "corpus check: {}",
                crate::pipeline::report::error_chain(&e)
            ));
            return lines;
        }
    };
    let lost: Vec<&UrlRow> = rows
        .iter()
        .filter(|r| r.is_ingested())
        .filter(|r| {
            r.record_id
                .as_deref()
                .is_some_and(|id| !corpus.contains(id))
        })
        .collect();
    if lost.is_empty() {
        return lines;
    }
    let changes: Vec<Change> = lost.iter().flat_map(|r| take_up(r, raw)).collect();
    let from_raw = changes
        .iter()
        .filter(|c| matches!(c.transition, Transition::Fetched { .. }))
        .count();
    for r in &lost {
        tracing::warn!(url = %r.url, record = r.record_id.as_deref().unwrap_or_default(), "record missing from the corpus; taken up again");
    }
    match frontier.apply(&changes) {
        Ok(()) => lines.push(format!(
            "corpus: {} URL(s) marked ingested had no record; {from_raw} normalized again from raw/, {} fetched again",
            lost.len(),
            lost.len() - from_raw
        )),
        Err(e) => lines.push(format!(
            "corpus: {} URL(s) marked ingested have no record and could not be taken up: {}",
            lost.len(),
            crate::pipeline::report::error_chain(&e)
        )),
    }
    lines
}
