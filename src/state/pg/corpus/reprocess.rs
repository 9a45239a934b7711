//! What `newsmill reprocess` on a shared state needs from the database: a fence that keeps
//! workers from starting while the corpus is rebuilt (and after a crash in the middle, until a
//! rerun finishes), and a reset of what the rebuild writes again (text claims, the manifest of
//! every worker, the shared near-duplicate index, queued record updates).
//!
//! # The fence
//! A worker checks the near-duplicate index's parameters (`near_meta.params`) before it
//! registers, and refuses to start when they differ from its own. The fence replaces them by a
//! value no configuration produces (saving them under `reprocess_fence`), so a worker started
//! while the fence stands refuses, and names the unfinished reprocess. The fence is committed
//! before anything is emptied and lifted only after the rebuilt folders are in place and the
//! tables rebuilt, so a crash at any point leaves no window in which a worker could write the
//! old texts again; the rerun finds the fence standing and keeps it.

use crate::frontier::UrlKey;
use crate::model::SourceId;

use super::super::{PgError, PgState, q};

/// The prefix of the fenced `near_meta.params` value.
pub const FENCE: &str = "<unfinished `newsmill reprocess`: run it again to finish it>";

impl PgState {
    /// Puts up the fence (see the module doc); returns whether it was already up (a reprocess
    /// that did not finish).
    ///
    /// # Errors
    /// `Query`.
    pub fn fence_reprocess(&self) -> Result<bool, PgError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(q("fencing off workers"))?;
        let saved = tx
            .query_opt(
                "SELECT value FROM near_meta WHERE key = 'reprocess_fence'",
                &[],
            )
            .map_err(q("reading the reprocess fence"))?;
        if saved.is_some() {
            return Ok(true);
        }
        let params: String = tx
            .query_opt("SELECT value FROM near_meta WHERE key = 'params'", &[])
            .map_err(q("reading the near-duplicate index parameters"))?
            .map(|r| r.get(0))
            .unwrap_or_default();
        tx.execute(
            "INSERT INTO near_meta (key, value) VALUES ('reprocess_fence', $1)",
            &[&params],
        )
        .map_err(q("saving the near-duplicate index parameters"))?;
        tx.execute(
            "INSERT INTO near_meta (key, value) VALUES ('params', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&FENCE],
        )
        .map_err(q("fencing off workers"))?;
        tx.commit().map_err(q("fencing off workers"))?;
        Ok(false)
    }

    /// Takes the fence down: the parameters saved by [`PgState::fence_reprocess`] come back
    /// (`params`, when given: those the rebuilt index was built with). No-op without a fence.
    ///
    /// # Errors
    /// `Query`.
    pub fn lift_reprocess_fence(&self, params: Option<&str>) -> Result<(), PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(q("lifting the reprocess fence"))?;
        let Some(saved) = tx
            .query_opt(
                "SELECT value FROM near_meta WHERE key = 'reprocess_fence'",
                &[],
            )
            .map_err(q("reading the reprocess fence"))?
        else {
            return Ok(());
        };
        let saved: String = saved.get(0);
        let value = params.unwrap_or(&saved);
        if value.is_empty() {
            tx.execute("DELETE FROM near_meta WHERE key = 'params'", &[])
        } else {
            tx.execute(
                "UPDATE near_meta SET value = $1 WHERE key = 'params'",
                &[&value],
            )
        }
        .map_err(q("restoring the near-duplicate index parameters"))?;
        tx.batch_execute(
            "DELETE FROM record_updates WHERE seq <= COALESCE((SELECT value::bigint
                 FROM near_meta WHERE key = 'reprocess_updates_upto'), 0);
             DELETE FROM near_meta WHERE key IN ('reprocess_fence', 'reprocess_updates_upto');",
        )
        .map_err(q("lifting the reprocess fence"))?;
        tx.commit().map_err(q("lifting the reprocess fence"))
    }

    /// Empties, in one transaction, what a shared reprocess writes again: text claims, every
    /// worker's manifest, the near-duplicate index (its parameters and the fence stay). The
    /// record updates queued before the first reprocess attempt stay until the fence is lifted
    /// (readers lay them over the old folders meanwhile; the rebuild ignores them): those
    /// queued by an earlier, crashed attempt go. Call only behind the fence.
    ///
    /// # Errors
    /// `Query`; then nothing was emptied.
    pub fn reset_for_reprocess(&self) -> Result<(), PgError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(q("emptying for reprocess"))?;
        tx.batch_execute(
            "DELETE FROM content_hashes; DELETE FROM corpus_segments;
             DELETE FROM near_contains; DELETE FROM near_band; DELETE FROM near_record;
             DELETE FROM near_unposted;
             DELETE FROM near_meta
                 WHERE key NOT IN ('params', 'reprocess_fence', 'reprocess_updates_upto');
             INSERT INTO near_meta (key, value)
                 SELECT 'reprocess_updates_upto', COALESCE(max(seq), 0)::text FROM record_updates
                 ON CONFLICT (key) DO NOTHING;
             DELETE FROM record_updates WHERE seq > (SELECT value::bigint FROM near_meta
                 WHERE key = 'reprocess_updates_upto');",
        )
        .map_err(q("emptying for reprocess"))?;
        tx.commit().map_err(q("emptying for reprocess"))
    }

    /// How many record updates the rebuild queued and no writer applied yet.
    ///
    /// # Errors
    /// `Query`.
    pub fn rebuild_updates_left(&self) -> Result<i64, PgError> {
        self.client()
            .query_one(
                "SELECT count(*) FROM record_updates WHERE seq > COALESCE((SELECT value::bigint
                     FROM near_meta WHERE key = 'reprocess_updates_upto'), 0)",
                &[],
            )
            .map(|r| r.get(0))
            .map_err(q("counting queued updates"))
    }

    /// The frontier URLs (with their sources) whose record is one of `ids`.
    ///
    /// # Errors
    /// `Query`.
    pub fn urls_of_records(&self, ids: &[String]) -> Result<Vec<(UrlKey, SourceId)>, PgError> {
        let rows = self
            .client()
            .query(
                "SELECT url, source_id FROM frontier WHERE record_id = ANY($1) ORDER BY url",
                &[&ids],
            )
            .map_err(q("reading record urls"))?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let source = SourceId::new(&r.get::<_, String>(1)).ok()?;
                Some((UrlKey::from_stored(r.get(0)), source))
            })
            .collect())
    }
}
