//! `verify --repair`: fixes what can be fixed without the network, through the stores' own APIs.
//! The manifest is rewritten from the segments in the folder (opening the corpus as a writer
//! does that); URLs whose record or raw response is gone are queued for refetch; records the
//! state lost track of are marked ingested. What cannot be repaired is listed.

use std::path::Path;

use serde::Serialize;

use crate::corpus::{Corpus, CorpusDamage};
use crate::state::State;

use super::{Problem, Report, StoreProblem, VerifyError};

/// What `--repair` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// Whether the manifest was rewritten from the segments.
    pub manifest_rewritten: bool,
    /// URLs queued for refetch.
    pub queued_for_refetch: usize,
    /// Records marked ingested in the state database.
    pub adopted_records: usize,
    /// Problems left as they are, with the reason.
    pub not_repaired: Vec<String>,
}

/// Repairs the problems in `report` (see the module doc).
///
/// # Errors
/// `State` when the state database cannot be changed.
pub fn repair(report: &Report, normalized: &Path, state: &State) -> Result<Repaired, VerifyError> {
    let mut done = Repaired::default();
    let mut queue = Vec::new();
    let mut lost_raw = Vec::new();
    let mut manifest = false;
    for p in &report.problems {
        match p {
            Problem::Corpus(CorpusDamage::BadLine { .. } | CorpusDamage::DuplicateId { .. }) => {
                done.not_repaired
                    .push(format!("{p} (edit or remove the segment by hand)"));
            }
            Problem::Corpus(_) => manifest = true,
            Problem::Store(StoreProblem::RecordMissing { url, .. })
            | Problem::Store(StoreProblem::FetchedRawMissing { url, .. }) => {
                queue.push(url.clone());
            }
            Problem::Store(
                StoreProblem::RawMissing { id, .. } | StoreProblem::RawDamaged { id, .. },
            ) => lost_raw.push(id.clone()),
            Problem::Store(StoreProblem::NotInState {
                id,
                url,
                source_id,
                raw,
                ..
            }) => {
                state.adopt_record(url, source_id, id, raw)?;
                done.adopted_records += 1;
            }
            Problem::Store(StoreProblem::QueuedForRefetch { .. }) => {}
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
    queue.extend(state.urls_of_records(&lost_raw)?);
    queue.sort();
    queue.dedup();
    done.queued_for_refetch = state.queue_refetch(&queue)?;
    Ok(done)
}
