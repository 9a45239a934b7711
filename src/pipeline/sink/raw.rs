//! The raw writer, the sink's first thread (see the parent's module doc): writes each response
//! to raw/, passes pages and events on in order, and fsyncs raw/ with a barrier every
//! [`FLUSH_EVERY`] articles; a discovery document to keep is synced at once.

use std::sync::mpsc as std_mpsc;

use tokio::sync::mpsc;

use crate::frontier::{Change, FailureKind, StoredDocument, Transition};
use crate::model::RawPage;
use crate::raw_store::RawStore;

use super::{FLUSH_EVERY, Keep, SinkMsg, Stored};

/// The raw writer's loop: write, pass on, and fsync + barrier every `FLUSH_EVERY` articles.
pub(super) fn write_raw(
    mut rx: mpsc::Receiver<SinkMsg>,
    mut raw: RawStore,
    tx: &std_mpsc::SyncSender<Stored>,
) {
    let mut unsynced = 0usize;
    while let Some(msg) = rx.blocking_recv() {
        let next = match msg {
            SinkMsg::Flush(ack) => {
                let mut acks = vec![ack];
                // What is queued behind a flush joins its barrier (at most `FLUSH_EVERY`
                // messages): when the ingester is behind, every host drained meanwhile sent
                // a flush, and a barrier apiece cost the end of a crawl one commit per host.
                for _ in 0..FLUSH_EVERY {
                    let Ok(more) = rx.try_recv() else { break };
                    match more {
                        SinkMsg::Flush(ack) => acks.push(ack),
                        other => {
                            let stored = store(&mut raw, other, &mut unsynced);
                            if stored.is_some_and(|s| tx.send(s).is_err()) {
                                return;
                            }
                        }
                    }
                }
                unsynced = 0;
                Stored::Synced {
                    error: sync_error(&mut raw),
                    acks,
                }
            }
            other => match store(&mut raw, other, &mut unsynced) {
                Some(stored) => stored,
                None => continue,
            },
        };
        // The ingester only stops early by panicking; the join in `spawn` reports that.
        if tx.send(next).is_err() {
            return;
        }
        if unsynced >= FLUSH_EVERY {
            unsynced = 0;
            if tx.send(sync(&mut raw)).is_err() {
                return;
            }
        }
    }
    let _ = tx.send(sync(&mut raw));
}

/// Writes a message other than a flush to raw/ as it needs, and what to pass on (`None` for
/// a discovery document not to keep, or one that could not be stored); counts the articles
/// written since the last fsync in `unsynced`.
fn store(raw: &mut RawStore, msg: SinkMsg, unsynced: &mut usize) -> Option<Stored> {
    Some(match msg {
        SinkMsg::Listed(listing) => Stored::Listed(listing),
        SinkMsg::Outcome(change) => Stored::Outcome(change),
        SinkMsg::Recover(entries) => Stored::Recover(entries),
        SinkMsg::AfterBarrier(ack) => Stored::AfterBarrier(ack),
        SinkMsg::Flush(ack) => Stored::Synced {
            error: sync_error(raw),
            acks: vec![ack],
        },
        SinkMsg::Discovery { page, keep } => return store_document(raw, &page, keep),
        SinkMsg::Article { page, key } => match raw.write(&page) {
            Ok(loc) => {
                *unsynced += 1;
                Stored::Article { page, key, loc }
            }
            Err(e) => {
                tracing::error!(url = %page.final_url, error = %e, "raw store write failed");
                Stored::Outcome(Change {
                    key,
                    source: page.source.clone(),
                    transition: Transition::Failed {
                        kind: FailureKind::RawStore,
                    },
                })
            }
        },
    })
}

/// Writes a discovery document to raw/; one to keep is synced at once and handed on to be
/// recorded as stored.
fn store_document(raw: &mut RawStore, page: &RawPage, keep: Option<Keep>) -> Option<Stored> {
    let full = keep
        .as_ref()
        .and_then(|_| super::super::failpoint::document_store_error());
    let written = match full {
        Some(source) => Err(crate::raw_store::RawStoreError::Write {
            path: raw.root().to_owned(),
            source,
        }),
        None => raw.write(page).and_then(|loc| {
            if keep.is_some() {
                raw.sync()?;
            }
            Ok(loc)
        }),
    };
    match (written, keep) {
        (Ok(loc), Some(keep)) => Some(Stored::Document {
            doc: StoredDocument {
                source: page.source.clone(),
                url: keep.url,
                kind: keep.kind,
                validators: keep.validators,
                raw: loc,
            },
            ack: keep.ack,
        }),
        (Ok(_), None) => None,
        (Err(e), _) => {
            tracing::error!(url = %page.final_url, error = %e, "raw store write failed");
            None
        }
    }
}

fn sync(raw: &mut RawStore) -> Stored {
    Stored::Synced {
        error: sync_error(raw),
        acks: Vec::new(),
    }
}

fn sync_error(raw: &mut RawStore) -> Option<String> {
    raw.sync().err().map(|e| format!("raw store sync: {e}"))
}
