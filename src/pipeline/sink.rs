//! The sink: two OS threads in a line, so storing and ingesting overlap on two cores.
//!
//! 1. The **raw writer** owns the raw store. Fetch tasks send it responses over a bounded
//!    channel; it writes each to raw/ (gzip-compressing the WARC record, about a fifth of the
//!    sink's CPU) and passes article pages on. Every [`FLUSH_EVERY`] articles, and at the end,
//!    it fsyncs raw/ and passes on a [`Stored::Synced`] barrier.
//! 2. The **ingester** owns the ingest step: it normalizes, dedups and queues each page in the
//!    corpus, in arrival order. At each barrier it flushes the corpus and then, and only then,
//!    marks the flushed URLs ingested in the state database.
//!
//! The durability order is the one a single thread had: raw fsync → corpus flush → state
//! marks, because a barrier follows the fsync of every page sent before it. A crash at any
//! point leaves every article either durable in the corpus or not marked (and fetched again).
//! Raw writes and corpus appends each keep a single writer and the fetch order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::model::{RawLocation, RawPage, SourceId};
use crate::raw_store::RawStore;
use crate::state::{State, Validators};

use super::ingest::{Ingest, Ingested};
use super::report::SourceStats;

/// Articles written to raw/ between two fsync + corpus flush barriers.
const FLUSH_EVERY: usize = 50;
/// Stored pages waiting for the ingester (bounds memory when normalizing is the slow part).
const STORED_QUEUE: usize = 16;

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

/// What the raw writer hands the ingester, in write order.
enum Stored {
    /// An article now in raw/ (not yet fsynced).
    Article {
        page: Box<RawPage>,
        key: String,
        loc: RawLocation,
    },
    /// An article that could not be written to raw/: counted, never ingested.
    RawFailed { source: SourceId },
    /// Every page sent before this is durable in raw/, unless `error` says the fsync failed.
    Synced { error: Option<String> },
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

/// What the sink threads own.
pub struct SinkParts {
    /// The raw store (only writer of raw/).
    pub raw: RawStore,
    /// Normalizer, deduper, corpus.
    pub ingest: Ingest,
}

/// Starts the sink. The returned thread is the raw writer; it joins the ingester and returns
/// the ingester's result once the channel is closed and everything is flushed.
pub fn spawn(
    rx: mpsc::Receiver<SinkMsg>,
    parts: SinkParts,
    state: Arc<State>,
) -> JoinHandle<SinkResult> {
    let SinkParts { raw, ingest } = parts;
    std::thread::spawn(move || {
        let (tx, stored) = std_mpsc::sync_channel(STORED_QUEUE);
        let ingester = std::thread::Builder::new()
            .name("newsmill-ingest".into())
            .spawn(move || ingest_loop(&stored, ingest, &state));
        let ingester = match ingester {
            Ok(handle) => handle,
            Err(e) => panic!("cannot start the ingest thread: {e}"),
        };
        write_raw(rx, raw, &tx);
        drop(tx);
        ingester
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The raw writer's loop: write, pass on, and fsync + barrier every `FLUSH_EVERY` articles.
fn write_raw(
    mut rx: mpsc::Receiver<SinkMsg>,
    mut raw: RawStore,
    tx: &std_mpsc::SyncSender<Stored>,
) {
    let mut unsynced = 0usize;
    while let Some(msg) = rx.blocking_recv() {
        let (page, key) = match msg {
            SinkMsg::Article { page, key } => (page, Some(key)),
            SinkMsg::Discovery { page } => (page, None),
        };
        let next = match (raw.write(&page), key) {
            (Ok(loc), Some(key)) => Stored::Article { page, key, loc },
            (Ok(_), None) => continue,
            (Err(e), _) => {
                tracing::error!(url = %page.final_url, error = %e, "raw store write failed");
                Stored::RawFailed {
                    source: page.source.clone(),
                }
            }
        };
        // The ingester only stops early by panicking; the join in `spawn` reports that.
        if tx.send(next).is_err() {
            return;
        }
        unsynced += 1;
        if unsynced >= FLUSH_EVERY {
            unsynced = 0;
            if tx.send(sync(&mut raw)).is_err() {
                return;
            }
        }
    }
    let _ = tx.send(sync(&mut raw));
}

fn sync(raw: &mut RawStore) -> Stored {
    Stored::Synced {
        error: raw.sync().err().map(|e| format!("raw store sync: {e}")),
    }
}

/// The ingester's loop: ingest in order, flush at each barrier.
fn ingest_loop(
    stored: &std_mpsc::Receiver<Stored>,
    mut ingest: Ingest,
    state: &State,
) -> SinkResult {
    let mut errors = Vec::new();
    let mut marks: Vec<(String, String, bool)> = Vec::new();
    for msg in stored {
        match msg {
            Stored::Article { page, key, loc } => {
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
                note(state, &key, &page, &loc, label, &mut errors);
            }
            Stored::RawFailed { source } => {
                ingest.stats.entry(source).or_default().fail("raw_store");
            }
            Stored::Synced { error } => {
                errors.extend(error);
                flush(&mut ingest, state, &mut marks, &mut errors);
            }
        }
    }
    // The raw writer always ends with a barrier, so nothing is left unflushed here unless it
    // panicked; then the unflushed records are dropped, unmarked, and fetched again next run.
    SinkResult {
        stats: std::mem::take(&mut ingest.stats),
        errors,
        corpus_records: ingest.corpus.manifest().records,
    }
}

fn note(
    state: &State,
    key: &str,
    page: &RawPage,
    loc: &RawLocation,
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

/// Corpus flush → state marks, in that order (raw/ was fsynced before the barrier).
fn flush(
    ingest: &mut Ingest,
    state: &State,
    marks: &mut Vec<(String, String, bool)>,
    errors: &mut Vec<String>,
) {
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
