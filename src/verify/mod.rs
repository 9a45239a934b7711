//! `newsmill verify`: checks that the three stores agree and names every disagreement.
//!
//! # Checks
//! 1. **manifest ↔ segments** (`corpus::inspect`): every segment the manifest lists exists with
//!    the recorded SHA-256, size and record count; no segment is unlisted or listed twice; the
//!    total adds up; every line is a record; no id appears twice.
//! 2. **corpus ↔ state** (`checks.rs`): every URL the state database marks ingested names a
//!    record the corpus has; every record is known to the state database.
//! 3. **raw ↔ state** (`checks.rs`): every record's raw response is where the record says (the
//!    WARC file exists and, at [`Depth::Full`], the member at its offset reads back as a
//!    response); a URL fetched but not ingested still has its WARC file.
//!
//! # Repair
//! `--repair` (`repair.rs`) rewrites the manifest from the segments in the folder, queues for
//! refetch every URL whose record or raw response is gone, and marks records the state lost
//! track of as ingested. A line that is not a record and a duplicated id are reported, not
//! repaired.
//!
//! With a shared PostgreSQL state (`shared.rs`) the same checks run over every worker's
//! corpus folder, plus each folder against the manifest recorded in the database.
//!
//! This module reads the stores through their owners' APIs and changes them only through those
//! APIs (the corpus rewrites its own manifest, the state database queues refetches).

mod checks;
mod command;
mod repair;
mod shared;

use std::path::Path;

use serde::Serialize;

use crate::corpus::{self, CorpusDamage, CorpusError};
use crate::model::RawLocation;
use crate::state::{State, StateError};

pub use checks::Depth;
pub use command::{command, warn_for_stats};
pub use repair::{Repaired, on_open, repair};
pub use shared::{
    SharedVerifyError, command_shared, describe_workers, ensure_no_worker, verify_shared,
};

/// Errors that stop `verify` from checking at all (problems it finds are not errors).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The corpus folder could not be read.
    #[error("cannot read the corpus")]
    Corpus(#[from] CorpusError),
    /// The state database could not be read.
    #[error("cannot read the state database")]
    State(#[from] StateError),
    /// The frontier could not apply a repair.
    #[error("cannot change the frontier")]
    Frontier(#[from] crate::frontier::FrontierError),
}

/// A disagreement between the state database, the corpus and raw/.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreProblem {
    /// The state says the URL is in the corpus as record `id`; the corpus has no such record.
    #[error("{url} is marked ingested as record {id}, but the corpus has no such record")]
    RecordMissing {
        /// The URL (state key).
        url: String,
        /// The record id the state names.
        id: String,
    },
    /// A record no URL in the state database points to.
    #[error("record {id} ({url}, segment {segment}) is not marked ingested in the state database")]
    NotInState {
        /// Record id.
        id: String,
        /// Its canonical URL.
        url: String,
        /// Its segment.
        segment: String,
        /// Its source.
        source_id: String,
        /// Its raw location.
        raw: RawLocation,
    },
    /// A record whose WARC file is gone.
    #[error("record {id} ({url}): its raw response file raw/{file} is missing")]
    RawMissing {
        /// Record id.
        id: String,
        /// Its canonical URL.
        url: String,
        /// WARC file, relative to raw/.
        file: String,
    },
    /// A record whose raw member cannot be read back (truncated file, torn or corrupt member).
    #[error(
        "record {id} ({url}): its raw response in raw/{file} at offset {offset} is unreadable: {reason}"
    )]
    RawDamaged {
        /// Record id.
        id: String,
        /// Its canonical URL.
        url: String,
        /// WARC file, relative to raw/.
        file: String,
        /// Member offset.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A URL whose response is in raw/ but whose record is not in the corpus yet (a crash, a
    /// failed flush, or a record taken up again): the next run normalizes it from raw/.
    #[error(
        "{url} is fetched (raw/{file}) but not in the corpus yet; the next run normalizes it from raw/"
    )]
    PendingRecovery {
        /// The URL (state key).
        url: String,
        /// WARC file, relative to raw/.
        file: String,
    },
    /// A worker's corpus folder and the manifest its last flush recorded in the shared
    /// database disagree (`newsmill worker`).
    #[error("worker {worker}'s corpus: {what}")]
    SharedManifest {
        /// The worker id (its folder under `normalized/workers/`).
        worker: String,
        /// How they differ.
        what: String,
    },
    /// Changes other workers queued for a worker's records (near-duplicate links, sightings)
    /// that its folder does not have yet (`newsmill worker`).
    #[error(
        "{updates} change(s) of worker {worker}'s records are queued and not yet in its folder \
         (applied at its next flush, or by `verify --repair` while no worker runs)"
    )]
    UpdatesPending {
        /// The owner (its folder under `normalized/workers/`; empty when no worker owns the
        /// records).
        worker: String,
        /// How many.
        updates: usize,
    },
    /// A URL fetched but not ingested whose WARC file is gone (it cannot be normalized from
    /// raw/ any more).
    #[error("{url} was fetched but not ingested, and its raw response file raw/{file} is missing")]
    FetchedRawMissing {
        /// The URL (state key).
        url: String,
        /// WARC file, relative to raw/.
        file: String,
    },
}

/// One problem `verify` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(untagged)]
pub enum Problem {
    /// Manifest ↔ segments.
    #[error(transparent)]
    Corpus(CorpusDamage),
    /// Corpus ↔ state, raw ↔ state.
    #[error(transparent)]
    Store(StoreProblem),
}

/// What was looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// Segments read.
    pub segments: usize,
    /// Records read.
    pub records: usize,
    /// State rows that name a record or a raw response.
    pub state_urls: usize,
    /// Distinct WARC files referenced.
    pub raw_files: usize,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Whether nothing was found.
    pub ok: bool,
    /// Every problem, each naming its file or URL.
    pub problems: Vec<Problem>,
    /// What was looked at.
    pub checked: Checked,
}

/// Checks the corpus in `normalized`, the state database and raw/ against each other.
///
/// # Errors
/// Only when a store cannot be read at all.
pub fn verify(
    normalized: &Path,
    raw: &Path,
    state: &State,
    depth: Depth,
) -> Result<Report, VerifyError> {
    let inspection = corpus::inspect(normalized)?;
    let mut problems: Vec<Problem> = inspection
        .damage
        .iter()
        .cloned()
        .map(Problem::Corpus)
        .collect();
    let rows = state.url_rows()?;
    let store = checks::check(&inspection.records, &rows, raw, depth);
    problems.extend(store.problems.into_iter().map(Problem::Store));
    Ok(Report {
        ok: problems.is_empty(),
        problems,
        checked: Checked {
            segments: inspection.segments,
            records: inspection.records.len(),
            state_urls: rows.len(),
            raw_files: store.raw_files,
        },
    })
}

impl Report {
    /// Human rendering: one `problem:` line each, then a summary line.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for p in &self.problems {
            let _ = writeln!(out, "problem: {p}");
        }
        let c = &self.checked;
        let verdict = if self.ok {
            "ok".to_owned()
        } else {
            format!("{} problem(s)", self.problems.len())
        };
        let _ = writeln!(
            out,
            "verify: {verdict} ({} segments, {} records, {} state URLs, {} raw files checked)",
            c.segments, c.records, c.state_urls, c.raw_files
        );
        out
    }
}
