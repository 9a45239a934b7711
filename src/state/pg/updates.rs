//! Changes to another worker's records (schema version 4, `record_updates`): a worker never
//! rewrites another worker's segments, so when it learns something about a record another
//! worker owns it queues the change here, and the owner applies it with its next corpus flush.
//!
//! - a **link** (`NearLink`): a near duplicate added by this worker changed the canonical
//!   record of a cluster the other worker's record is in;
//! - a **sighting** (`Sighting`): this worker met, at another URL, a text another worker owns
//!   (the exact duplicate the single-machine corpus notes in `also_seen_at`).
//!
//! The owner of a record is the worker its content hash belongs to (`content_hashes`), read
//! when the update is fetched, so an update follows a record taken over from a dead worker.
//! The owner fetches its updates ([`SharedCorpus::updates`]) before a corpus flush, applies
//! them, flushes, and only then deletes them ([`SharedCorpus::done`]): a crash in between
//! applies them again, which changes nothing (a link is replaced whole; a sighting already on
//! the record is skipped). Updates whose owner is gone for good are applied to its folder by
//! `verify --repair` while no worker runs ([`PgState::all_updates`]); until then readers lay
//! them over the records they read ([`PgState::overlay`]).

use chrono::Utc;

use crate::corpus::Overlay;
use crate::model::{NearLink, Sighting};

use super::corpus::SharedCorpus;
use super::{PgError, PgState, q};

/// A change to another worker's record.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordUpdate {
    /// The record's near-duplicate link fields become these.
    Link(NearLink),
    /// The record's text was also seen here (`also_seen_at`).
    Sighting(Sighting),
}

/// One queued update.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedUpdate {
    /// Queue order.
    pub seq: i64,
    /// The record it changes.
    pub record_id: String,
    /// The record's owner (its folder under `normalized/workers/`), when known.
    pub owner: Option<String>,
    /// The change.
    pub update: RecordUpdate,
}

impl RecordUpdate {
    fn kind(&self) -> &'static str {
        match self {
            Self::Link(_) => "link",
            Self::Sighting(_) => "sighting",
        }
    }

    fn body(&self) -> String {
        let body = match self {
            Self::Link(l) => serde_json::to_string(l),
            Self::Sighting(s) => serde_json::to_string(s),
        };
        // Both are plain data with string keys: serializing cannot fail.
        body.unwrap_or_default()
    }

    fn parse(kind: &str, body: &str) -> Option<Self> {
        match kind {
            "link" => serde_json::from_str(body).ok().map(Self::Link),
            "sighting" => serde_json::from_str(body).ok().map(Self::Sighting),
            _ => None,
        }
    }
}

/// Queues `update` of record `id`, by worker `by`, on `client` (inside the caller's
/// transaction, if any).
pub(super) fn queue(
    client: &mut impl postgres::GenericClient,
    id: &str,
    update: &RecordUpdate,
    by: &str,
) -> Result<(), PgError> {
    client
        .execute(
            "INSERT INTO record_updates (record_id, kind, body, queued_by, queued)
             VALUES ($1, $2, $3, $4, $5)",
            &[&id, &update.kind(), &update.body(), &by, &Utc::now()],
        )
        .map(drop)
        .map_err(q("queueing an update of another worker's record"))
}

fn rows_to_updates(rows: &[postgres::Row]) -> Vec<QueuedUpdate> {
    rows.iter()
        .filter_map(|r| {
            let (kind, body): (String, String) = (r.get(2), r.get(3));
            let Some(update) = RecordUpdate::parse(&kind, &body) else {
                tracing::warn!(seq = r.get::<_, i64>(0), kind = %kind, "unreadable record update skipped");
                return None;
            };
            Some(QueuedUpdate {
                seq: r.get(0),
                record_id: r.get(1),
                owner: r.get(4),
                update,
            })
        })
        .collect()
}

impl SharedCorpus {
    /// Queues `update` of another worker's record `id`.
    ///
    /// # Errors
    /// `Query`.
    pub fn queue_update(&self, id: &str, update: &RecordUpdate) -> Result<(), PgError> {
        queue(&mut *self.state.client(), id, update, &self.worker)
    }

    /// The updates queued for this worker's records, in queue order. Behind a `reprocess`
    /// fence, only those queued by the rebuild (the older ones belong to the old folders).
    ///
    /// # Errors
    /// `Query`.
    pub fn updates(&self) -> Result<Vec<QueuedUpdate>, PgError> {
        let rows = self
            .state
            .client()
            .query(
                "SELECT u.seq, u.record_id, u.kind, u.body, c.worker_id FROM record_updates u
                 JOIN content_hashes c ON c.record_id = u.record_id
                 WHERE c.worker_id = $1 AND u.seq > COALESCE((SELECT value::bigint
                     FROM near_meta WHERE key = 'reprocess_updates_upto'), 0)
                 ORDER BY u.seq",
                &[&self.worker],
            )
            .map_err(q("reading updates of this worker's records"))?;
        Ok(rows_to_updates(&rows))
    }

    /// Forgets applied updates (after the flush that made them durable).
    ///
    /// # Errors
    /// `Query`.
    pub fn done(&self, seqs: &[i64]) -> Result<(), PgError> {
        self.state.forget_updates(seqs)
    }
}

impl PgState {
    /// Every queued update with its record's owner, in queue order.
    ///
    /// # Errors
    /// `Query`.
    pub fn all_updates(&self) -> Result<Vec<QueuedUpdate>, PgError> {
        let rows = self
            .client()
            .query(
                "SELECT u.seq, u.record_id, u.kind, u.body, c.worker_id FROM record_updates u
                 LEFT JOIN content_hashes c ON c.record_id = u.record_id ORDER BY u.seq",
                &[],
            )
            .map_err(q("reading queued record updates"))?;
        Ok(rows_to_updates(&rows))
    }

    /// Every queued update as an overlay for readers (`stats`, `export`, `report`), who lay it
    /// over the records they read: what they show is then current even for the records of a
    /// worker that stopped for good.
    ///
    /// # Errors
    /// `Query`.
    pub fn overlay(&self) -> Result<Overlay, PgError> {
        let mut overlay = Overlay::default();
        for u in self.all_updates()? {
            match u.update {
                RecordUpdate::Link(l) => overlay.link(&u.record_id, l),
                RecordUpdate::Sighting(s) => overlay.sighting(&u.record_id, s),
            }
        }
        Ok(overlay)
    }

    /// Forgets the updates `seqs`.
    ///
    /// # Errors
    /// `Query`.
    pub fn forget_updates(&self, seqs: &[i64]) -> Result<(), PgError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.client()
            .execute("DELETE FROM record_updates WHERE seq = ANY($1)", &[&seqs])
            .map(drop)
            .map_err(q("forgetting applied record updates"))
    }
}
