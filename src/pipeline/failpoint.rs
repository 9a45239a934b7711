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

/// The [`PAUSE_BEFORE_ADMIT`] failpoint: returns at once unless it is set.
pub fn before_admit(listing: &Listing) {
    if listing.document.is_none() || listing.items.is_empty() {
        return;
    }
    let Some(path) = std::env::var_os(PAUSE_BEFORE_ADMIT) else {
        return;
    };
    tracing::warn!(
        failpoint = PAUSE_BEFORE_ADMIT,
        "test failpoint reached: pausing before admitting a listing"
    );
    let _ = std::fs::write(&path, b"paused before admit\n");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
