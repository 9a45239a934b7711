//! Before `stats`, `export` and `report`: the changes other workers queued for records on a
//! shared PostgreSQL state (`record_updates`), as an overlay the readers lay over what they
//! read (`corpus::Overlay`), so a worker that stopped for good does not leave them showing
//! old links and sightings. Empty with SQLite. Runs on a blocking thread: the PostgreSQL client
//! must not be called from an async task.

use std::sync::Arc;

use anyhow::Context as _;

use crate::config::Config;
use crate::corpus::Overlay;
use crate::state::pg::PgState;

/// The overlay for `cfg`'s state (empty unless it is PostgreSQL).
///
/// # Errors
/// When the database cannot be opened (unreachable, another schema) or read.
pub(super) async fn load(cfg: &Config) -> anyhow::Result<Arc<Overlay>> {
    let Some(url) = cfg.state.database_url().cloned() else {
        return Ok(Arc::default());
    };
    let overlay = tokio::task::spawn_blocking(move || -> anyhow::Result<Overlay> {
        let state = PgState::open(&url)?;
        Ok(state.overlay()?)
    })
    .await?
    .context("reading the changes queued for records in the shared state")?;
    Ok(Arc::new(overlay))
}
