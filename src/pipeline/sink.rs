//! The sink: one OS thread that owns the raw store and the ingest step. Fetch tasks send it
//! responses over a bounded channel; it writes each to raw/ first, then normalizes, dedups and
//! queues it in the corpus, flushing in batches. After each flush, and only then, the URLs of
//! the flushed records are marked ingested in the state database, so a crash at any point
//! leaves every article either durable in the corpus or not marked (and fetched again).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::model::{RawPage, SourceId};
use crate::raw_store::RawStore;
use crate::state::{State, Validators};

use super::ingest::{Ingest, Ingested};
use super::report::SourceStats;

/// Records queued before the corpus is flushed.
const FLUSH_EVERY: usize = 50;

/// What the sink is asked to store.
#[derive(Debug)]
pub enum SinkMsg {
    /// An article response: store raw, then ingest. `key` is the canonical requested URL.
    Article {
        /// The response.
        page: Box<RawPage>,
        /// The state key of the URL.
        key: String,
    },
    /// A discovery document (feed, sitemap, section page): stored raw only.
    Discovery {
        /// The response.
        page: Box<RawPage>,
    },
}

/// What the sink hands back when the channel closes.
pub struct SinkResult {
    /// Counters gathered by the sink.
    pub stats: BTreeMap<SourceId, SourceStats>,
    /// Run-level errors (raw store, corpus, state).
    pub errors: Vec<String>,
    /// Records in the corpus at the end.
    pub corpus_records: usize,
}

/// What the sink thread owns.
pub struct SinkParts {
    /// The raw store (only writer of raw/).
    pub raw: RawStore,
    /// Normalizer, deduper, corpus.
    pub ingest: Ingest,
}

/// Starts the sink thread.
pub fn spawn(
    mut rx: mpsc::Receiver<SinkMsg>,
    parts: SinkParts,
    state: Arc<State>,
) -> JoinHandle<SinkResult> {
    let SinkParts {
        mut raw,
        mut ingest,
    } = parts;
    std::thread::spawn(move || {
        let mut errors = Vec::new();
        let mut marks: Vec<(String, String, bool)> = Vec::new();
        while let Some(msg) = rx.blocking_recv() {
            let (page, key) = match msg {
                SinkMsg::Article { page, key } => (page, Some(key)),
                SinkMsg::Discovery { page } => (page, None),
            };
            let loc = match raw.write(&page) {
                Ok(loc) => loc,
                Err(e) => {
                    tracing::error!(url = %page.final_url, error = %e, "raw store write failed");
                    ingest
                        .stats
                        .entry(page.source.clone())
                        .or_default()
                        .fail("raw_store");
                    continue;
                }
            };
            let Some(key) = key else { continue };
            let outcome = ingest.page(&page, loc.clone());
            let label = match &outcome {
                Ingested::New { id, .. } => {
                    marks.push((key.clone(), id.clone(), false));
                    "normalized"
                }
                Ingested::Duplicate { of, .. } => {
                    marks.push((key.clone(), of.clone(), true));
                    "duplicate"
                }
                Ingested::Failed { kind } => kind.as_str(),
            };
            note(&state, &key, &page, &loc, label, &mut errors);
            if marks.len() >= FLUSH_EVERY {
                flush(&mut ingest, &state, &mut marks, &mut raw, &mut errors);
            }
        }
        flush(&mut ingest, &state, &mut marks, &mut raw, &mut errors);
        SinkResult {
            stats: std::mem::take(&mut ingest.stats),
            errors,
            corpus_records: ingest.corpus.manifest().records,
        }
    })
}

fn note(
    state: &State,
    key: &str,
    page: &RawPage,
    loc: &crate::model::RawLocation,
    label: &str,
    errors: &mut Vec<String>,
) {
    if let Err(e) = state.note_fetched(key, &page.source, page.status, Some(loc), label) {
        errors.push(format!("state: {e}"));
    }
    let v = Validators {
        etag: page.header("etag").map(str::to_owned),
        last_modified: page.header("last-modified").map(str::to_owned),
    };
    if let Err(e) = state.set_validators(key, &v) {
        errors.push(format!("state: {e}"));
    }
}

/// raw fsync → corpus flush → state marks, in that order.
fn flush(
    ingest: &mut Ingest,
    state: &State,
    marks: &mut Vec<(String, String, bool)>,
    raw: &mut RawStore,
    errors: &mut Vec<String>,
) {
    if let Err(e) = raw.sync() {
        errors.push(format!("raw store sync: {e}"));
    }
    if let Err(e) = ingest.flush() {
        tracing::error!(error = %e, "corpus flush failed");
        errors.push(format!("corpus: {}", super::report::error_chain(&e)));
        marks.clear();
        return;
    }
    if let Err(e) = state.mark_ingested(marks) {
        errors.push(format!("state: {e}"));
    }
    marks.clear();
}
