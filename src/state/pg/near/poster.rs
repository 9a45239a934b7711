//! Writing a batch's postings on a thread of its own, so that the linking thread goes on with
//! its next batch (normalizing and dedupping pages) while PostgreSQL inserts ~4,800 postings.
//!
//! Nothing waits for the postings: until they are written the batch's records stay listed in
//! `near_unposted`, below the posted mark's reach, and every batch finds them under the lock
//! by record number (`since.rs`). The thread has a connection of its own (the index's holds an
//! open transaction across calls), takes batches in commit order from a short queue (the
//! linking thread waits only when two batches are still unwritten) and writes what is queued
//! before the index is dropped, so a worker that exits leaves nothing listed. A failed write is
//! logged; any worker writes those postings once they are stuck.

use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::super::PgState;
use super::since::{self, Postings};

/// Batches queued for the thread before the linking thread waits.
const QUEUED: usize = 2;

/// The posting thread of one index.
#[derive(Debug)]
pub(super) struct Poster {
    tx: Option<SyncSender<Postings>>,
    thread: Option<JoinHandle<()>>,
}

impl Poster {
    /// Starts the thread, writing on `db` (a connection nothing else uses).
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn(db: Arc<PgState>) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Postings>(QUEUED);
        let thread = std::thread::Builder::new()
            .name("newsmill-postings".into())
            .spawn(move || {
                crate::priority::lower_this_thread();
                for postings in rx {
                    let started = Instant::now();
                    match since::post(&mut db.client(), &postings) {
                        Ok(()) => tracing::debug!(
                            postings = postings.len(),
                            post_ms = started.elapsed().as_millis(),
                            "near-duplicate postings written"
                        ),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot write near-duplicate postings; another worker will");
                        }
                    }
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues `postings`; how long the queue was full. `Err` gives them back when the thread
    /// is gone (write them here).
    pub fn send(&self, postings: Postings) -> Result<Duration, Postings> {
        let started = Instant::now();
        match &self.tx {
            Some(tx) => tx
                .send(postings)
                .map(|()| started.elapsed())
                .map_err(|e| e.0),
            None => Err(postings),
        }
    }
}

impl Drop for Poster {
    /// Writes what is queued, then ends the thread.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the near-duplicate posting thread panicked");
        }
    }
}
