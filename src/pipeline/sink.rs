//! The sink: two OS threads in a line, so storing and ingesting overlap on two cores. The
//! ingester is the frontier's one writer: fetch tasks only send it typed events.
//!
//! 1. The **raw writer** owns the raw store. Fetch tasks send it responses and events over a
//!    bounded channel; it writes each response to raw/ (gzip-compressing the WARC record, about
//!    a fifth of the sink's CPU) and passes article pages and events on, in order. Every
//!    [`FLUSH_EVERY`] articles, and at the end, it fsyncs raw/ and passes on a
//!    [`Stored::Synced`] barrier.
//! 2. The **ingester** first recovers what an earlier run left fetched but not ingested
//!    (normalized from raw/, no request; a worker recovers under host leases instead). Then it normalizes, dedups and queues each page in the
//!    corpus, in arrival order; it admits listings into the frontier as they arrive. At each
//!    barrier it commits, in this order: the frontier's `fetched` marks (raw is durable now)
//!    and failures → the corpus flush → the `ingested` marks with the articles' validators.
//!
//! A discovery document whose listing follows is synced to raw/ at once and recorded in the
//! frontier as stored before its listing is parsed and admitted; the admission forgets it.
//! A process killed in between leaves it recorded, and the next discovery of its source parses
//! it again from raw/ (`discover.rs`), whatever the live feed answers by then.
//!
//! The durability order is the one a single thread had: raw fsync → corpus flush → state,
//! because a barrier follows the fsync of every page sent before it. A crash at any point
//! leaves every article ingested (record durable), fetched (recovered from raw/ next run), or
//! owed (fetched again next run).

use std::collections::BTreeMap;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::frontier::{
    Change, DocumentKind, Entry, Frontier, Listing, RecordId, StoredDocument, Transition, UrlKey,
    UrlState,
};
use crate::model::{RawLocation, RawPage, SourceId, Validators};
use crate::raw_store::{RawReader, RawStore};

use super::ingest::{Ingest, Ingested};
use super::report::{SourceStats, error_chain};

mod raw;

use raw::write_raw;

/// Articles written to raw/ between two fsync + corpus flush barriers.
const FLUSH_EVERY: usize = 50;
/// Stored pages waiting for the ingester (bounds memory when normalizing is the slow part).
const STORED_QUEUE: usize = 16;

/// What the sink is asked to store.
#[derive(Debug)]
pub enum SinkMsg {
    /// An article response: store raw, then ingest.
    Article {
        /// The response.
        page: Box<RawPage>,
        /// The frontier key of the requested URL.
        key: UrlKey,
    },
    /// A discovery document (feed, sitemap, section page, home page): stored raw. With
    /// `keep`, raw/ is then synced and the frontier records the document as stored
    /// ([`Frontier::store_document`]) before `keep.ack` hears back, so that a process killed
    /// before the document's listing is admitted leaves it to be parsed again.
    Discovery {
        /// The response.
        page: Box<RawPage>,
        /// What to record it as, for a document whose listing follows.
        keep: Option<Keep>,
    },
    /// What a discovery document listed: admitted into the frontier on arrival.
    Listed(Listing),
    /// An article fetch that produced no page (failure, 404, refusal): committed at the next
    /// barrier.
    Outcome(Change),
    /// URLs left `fetched` by someone else (a worker that died): normalized from raw/ like
    /// the ones recovered at the start, committed at the next barrier.
    Recover(Vec<Entry>),
    /// Fsync and commit everything sent before now (a barrier out of turn); the sender hears
    /// back once the frontier holds it. A worker sends this before it gives a host back, so
    /// that the next holder finds the host's URLs already moved on.
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Hears back once everything sent before it is committed, at the sink's next barrier
    /// whatever causes it (a flush, [`FLUSH_EVERY`] articles, the end), without forcing one:
    /// a worker whose drained hosts wait this way gives them back after one shared barrier,
    /// not one barrier each.
    AfterBarrier(tokio::sync::oneshot::Sender<()>),
}

/// A discovery document to record as stored once it is durable in raw/.
#[derive(Debug)]
pub struct Keep {
    /// The URL requested.
    pub url: String,
    /// How to parse it again.
    pub kind: DocumentKind,
    /// The validators its listing will carry.
    pub validators: Validators,
    /// Hears back once the frontier holds it (dropped unanswered when storing failed).
    pub ack: tokio::sync::oneshot::Sender<()>,
}

/// What the raw writer hands the ingester, in write order.
enum Stored {
    /// An article now in raw/ (not yet fsynced).
    Article {
        page: Box<RawPage>,
        key: UrlKey,
        loc: RawLocation,
    },
    /// A discovery document durable in raw/, to record as stored.
    Document {
        doc: StoredDocument,
        ack: tokio::sync::oneshot::Sender<()>,
    },
    /// A listing to admit.
    Listed(Listing),
    /// A transition to commit at the next barrier.
    Outcome(Change),
    /// URLs to normalize from raw/.
    Recover(Vec<Entry>),
    /// Every page sent before this is durable in raw/, unless `error` says the fsync failed.
    /// Each of `acks` (the flushes this barrier answers) hears back once it is committed.
    Synced {
        error: Option<String>,
        acks: Vec<tokio::sync::oneshot::Sender<()>>,
    },
    /// Hears back at the next barrier.
    AfterBarrier(tokio::sync::oneshot::Sender<()>),
}

/// What the sink hands back when the channel closes.
pub struct SinkResult {
    /// Counters gathered by the sink.
    pub stats: BTreeMap<SourceId, SourceStats>,
    /// Run-level errors (raw store, corpus, frontier).
    pub errors: Vec<String>,
    /// Records in the corpus at the end.
    pub corpus_records: usize,
}

/// What the sink threads own.
pub struct SinkParts {
    /// The raw store (only writer of raw/).
    pub raw: RawStore,
    /// Reads responses back to recover (from the folder, or from S3 by range).
    pub raw_reader: RawReader,
    /// Normalizer, deduper, corpus.
    pub ingest: Ingest,
    /// The frontier, written only by the ingester.
    pub frontier: Frontier,
    /// Whether the ingester first recovers every URL left `fetched` (`run`). A worker does
    /// not: URLs of the shared frontier left `fetched` may be in another live worker's flush,
    /// and are recovered under their host's lease instead (`worker::drive`).
    pub recover_at_start: bool,
}

/// Starts the sink. The returned thread is the raw writer; it joins the ingester and returns
/// the ingester's result once the channel is closed and everything is flushed.
pub fn spawn(rx: mpsc::Receiver<SinkMsg>, parts: SinkParts) -> JoinHandle<SinkResult> {
    let SinkParts {
        raw,
        raw_reader,
        ingest,
        frontier,
        recover_at_start,
    } = parts;
    std::thread::spawn(move || {
        let (tx, stored) = std_mpsc::sync_channel(STORED_QUEUE);
        let ingester = std::thread::Builder::new()
            .name("newsmill-ingest".into())
            .spawn(move || {
                crate::priority::lower_this_thread();
                let mut writer = Writer::new(ingest, frontier, raw_reader);
                if recover_at_start {
                    writer.recover();
                }
                writer.run(&stored)
            });
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

/// The ingester: the corpus's and the frontier's one writer.
struct Writer {
    ingest: Ingest,
    frontier: Frontier,
    /// Where raw responses are read back from, to recover.
    raw: RawReader,
    errors: Vec<String>,
    /// `fetched` marks of pages written since the last barrier (valid once raw/ is fsynced).
    fetched: Vec<Change>,
    /// Failures, 404s, refusals since the last barrier.
    outcomes: Vec<Change>,
    /// `ingested` marks of records queued in the corpus (valid once it is flushed).
    ingested: Vec<Change>,
    /// Senders of [`Stored::AfterBarrier`], answered at the next barrier.
    waiting: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Writer {
    fn new(ingest: Ingest, frontier: Frontier, raw: RawReader) -> Self {
        Self {
            ingest,
            frontier,
            raw,
            errors: Vec::new(),
            fetched: Vec::new(),
            outcomes: Vec::new(),
            ingested: Vec::new(),
            waiting: Vec::new(),
        }
    }

    /// Normalizes from raw/ every URL an earlier run left fetched but not ingested (a crash,
    /// a full disk, a read-only corpus folder), then flushes.
    fn recover(&mut self) {
        match self.frontier.unrecovered() {
            Ok(entries) => self.recover_entries(entries),
            Err(e) => self.error("frontier", &e),
        }
        self.barrier();
    }

    /// Normalizes these `fetched` URLs from raw/ (a response that cannot be read back is
    /// fetched again); their marks are committed at the next barrier.
    fn recover_entries(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            let UrlState::Fetched { raw } = entry.state else {
                continue;
            };
            match self.raw.read_at(&raw) {
                Ok(page) => {
                    self.stats(&entry.source).recovered += 1;
                    self.ingest_page(&page, entry.key, raw);
                }
                Err(e) => {
                    tracing::warn!(url = %entry.key, error = %e, "raw response unreadable; fetched again next run");
                    self.outcomes.push(Change {
                        key: entry.key,
                        source: entry.source,
                        transition: Transition::RawLost,
                    });
                }
            }
        }
    }

    fn run(mut self, stored: &std_mpsc::Receiver<Stored>) -> SinkResult {
        for msg in stored {
            match msg {
                Stored::Article { page, key, loc } => {
                    self.fetched.push(Change {
                        key: key.clone(),
                        source: page.source.clone(),
                        transition: Transition::Fetched { raw: loc.clone() },
                    });
                    self.ingest_page(&page, key, loc);
                }
                Stored::Document { doc, ack } => match self.frontier.store_document(&doc) {
                    Ok(()) => {
                        let _ = ack.send(());
                    }
                    Err(e) => self.error("frontier", &e),
                },
                Stored::Listed(listing) => {
                    super::failpoint::before_admit(&listing);
                    if let Err(e) = self.frontier.admit(&listing) {
                        self.error("frontier", &e);
                    }
                }
                Stored::Outcome(change) => self.outcomes.push(change),
                Stored::Recover(entries) => self.recover_entries(entries),
                Stored::AfterBarrier(ack) => self.waiting.push(ack),
                Stored::Synced { error, acks } => {
                    if let Some(e) = error {
                        // Not durable: these pages stay owed and are fetched again.
                        self.errors.push(e);
                        self.fetched.clear();
                    }
                    self.barrier();
                    for ack in acks {
                        let _ = ack.send(());
                    }
                }
            }
        }
        // The raw writer always ends with a barrier, so nothing is left unflushed here unless
        // it panicked; then the unflushed records are dropped, unmarked, and owed next run.
        SinkResult {
            stats: std::mem::take(&mut self.ingest.stats),
            errors: self.errors,
            corpus_records: self.ingest.corpus.manifest().records,
        }
    }

    fn stats(&mut self, source: &SourceId) -> &mut SourceStats {
        self.ingest.stats.entry(source.clone()).or_default()
    }

    /// Normalizes, dedups and queues a stored page; notes what to mark at the barrier.
    fn ingest_page(&mut self, page: &RawPage, key: UrlKey, loc: RawLocation) {
        let source = page.source.clone();
        let transition = match self.ingest.page(page, loc) {
            Ingested::New { id, .. } => ingested(id, false, page),
            Ingested::Duplicate { of, .. } => ingested(of, true, page),
            Ingested::Failed { kind } => {
                // No record will come of it: a failure, not a `fetched` page to recover.
                self.fetched.retain(|c| c.key != key);
                self.outcomes.push(Change {
                    key,
                    source,
                    transition: Transition::Failed { kind },
                });
                return;
            }
        };
        self.ingested.push(Change {
            key,
            source,
            transition,
        });
    }

    /// [`Self::commit`], then answers whoever waits for a barrier.
    fn barrier(&mut self) {
        self.commit();
        for ack in self.waiting.drain(..) {
            let _ = ack.send(());
        }
    }

    /// `fetched` marks and failures → corpus flush → `ingested` marks, in that order.
    fn commit(&mut self) {
        let started = std::time::Instant::now();
        let mut first = std::mem::take(&mut self.fetched);
        first.append(&mut self.outcomes);
        if let Err(e) = self.frontier.apply(&first) {
            self.error("frontier", &e);
        }
        let marked = started.elapsed();
        if let Err(e) = self.ingest.flush() {
            tracing::error!(error = %e, "corpus flush failed");
            self.error("corpus", &e);
            // The records are not durable: their URLs stay `fetched` (recovered next run).
            self.ingested.clear();
            return;
        }
        let flushed = started.elapsed();
        let done = std::mem::take(&mut self.ingested);
        if let Err(e) = self.frontier.apply(&done) {
            self.error("frontier", &e);
        }
        tracing::debug!(
            records = done.len(),
            fetched_ms = marked.as_millis(),
            flush_ms = (flushed - marked).as_millis(),
            ingested_ms = (started.elapsed() - flushed).as_millis(),
            "barrier committed"
        );
    }

    fn error(&mut self, what: &str, e: &dyn std::error::Error) {
        self.errors.push(format!("{what}: {}", error_chain(e)));
    }
}

fn ingested(id: String, duplicate: bool, page: &RawPage) -> Transition {
    Transition::Ingested {
        record: RecordId::new(id),
        duplicate,
        validators: Validators::of(page),
    }
}
