//! Test-only failpoints: environment variables that stop the process at a named moment so
//! that a test can SIGKILL it exactly there. None is ever set in production; each is named
//! `NEWSMILL_TEST_…` and documented in the README ("Scaling out", crash tests).

use std::time::Duration;

use crate::frontier::Listing;

/// TEST ONLY. When set to a path, the ingester, about to admit the listing of a discovery
/// document (one that lists at least one item), creates that file and then waits for ever,
/// so the test can kill the process between "the feed answered" and "the listing is
/// admitted".
pub const PAUSE_BEFORE_ADMIT: &str = "NEWSMILL_TEST_PAUSE_BEFORE_ADMIT";

/// TEST ONLY. When set to a path, a worker whose corpus flush has just made new records
/// durable (uploaded, on S3) creates that file and then waits for ever before it commits the
/// flush (its text claims and manifest) in the database: the moment a takeover must find
/// those records in the dead worker's folder.
pub const PAUSE_AFTER_CORPUS_FLUSH: &str = "NEWSMILL_TEST_PAUSE_AFTER_CORPUS_FLUSH";

/// TEST ONLY. When set to a number of milliseconds, a worker whose corpus flush has just made
/// new records durable sleeps that long before it commits the flush in the database: a flush
/// slower than the lease TTL (a loaded database, a slow upload), during which the flush's URLs
/// are `fetched` and must not be recovered by any live worker.
pub const SLOW_CORPUS_FLUSH: &str = "NEWSMILL_TEST_SLOW_CORPUS_FLUSH";

/// TEST ONLY. When set to a path, a worker whose near-duplicate parameter check has just
/// passed (it registered before the check) creates that file and then waits for ever: the
/// moment a `reprocess` fencing workers off must still find it.
pub const PAUSE_AFTER_PARAMS: &str = "NEWSMILL_TEST_PAUSE_AFTER_PARAMS";

/// TEST ONLY. When set to a path, `newsmill compact`, once its copy of the index is written
/// and synced, creates that file and then waits for ever: the moment before the copy replaces
/// the index, where a test kills it.
pub const PAUSE_BEFORE_COMPACT_RENAME: &str = "NEWSMILL_TEST_PAUSE_BEFORE_COMPACT_RENAME";

/// TEST ONLY. When set (to anything), storing a discovery document whose listing follows
/// fails before anything is written, as on a full disk (`ENOSPC`): the moment the raw store
/// refuses the feed's answer. A real full or read-only disk cannot be made in a test that
/// runs as root, which ignores permissions.
pub const FAIL_DOCUMENT_STORE: &str = "NEWSMILL_TEST_FAIL_DOCUMENT_STORE";

/// The [`FAIL_DOCUMENT_STORE`] failpoint: the error a full disk would give, or `None` (always,
/// unless it is set).
pub fn document_store_error() -> Option<std::io::Error> {
    std::env::var_os(FAIL_DOCUMENT_STORE).map(|_| {
        tracing::warn!(
            failpoint = FAIL_DOCUMENT_STORE,
            "test failpoint reached: the disk is full"
        );
        std::io::Error::from(std::io::ErrorKind::StorageFull)
    })
}

/// The [`PAUSE_BEFORE_COMPACT_RENAME`] failpoint: returns at once unless it is set.
pub fn before_compact_rename() {
    pause(PAUSE_BEFORE_COMPACT_RENAME);
}

/// The [`PAUSE_BEFORE_ADMIT`] failpoint: returns at once unless it is set.
pub fn before_admit(listing: &Listing) {
    if listing.document.is_some() && !listing.items.is_empty() {
        pause(PAUSE_BEFORE_ADMIT);
    }
}

/// The [`PAUSE_AFTER_CORPUS_FLUSH`] and [`SLOW_CORPUS_FLUSH`] failpoints (`claimed`: the flush made claimed records
/// durable): returns at once unless it is set.
pub fn after_corpus_flush(claimed: bool) {
    if claimed {
        pause(PAUSE_AFTER_CORPUS_FLUSH);
        slow(SLOW_CORPUS_FLUSH);
    }
}

/// Sleeps the milliseconds `failpoint` is set to (a number), or returns at once.
fn slow(failpoint: &str) {
    let Some(ms) = std::env::var(failpoint)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return;
    };
    tracing::warn!(failpoint, ms, "test failpoint reached: slowing down");
    std::thread::sleep(Duration::from_millis(ms));
}

/// The [`PAUSE_AFTER_PARAMS`] failpoint: returns at once unless it is set.
pub fn after_params_check() {
    pause(PAUSE_AFTER_PARAMS);
}

fn pause(failpoint: &str) {
    let Some(path) = std::env::var_os(failpoint) else {
        return;
    };
    tracing::warn!(failpoint, "test failpoint reached: pausing for ever");
    let _ = std::fs::write(&path, failpoint.as_bytes());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
