//! Claims on texts: who owns a content hash, and what to do with a dead owner's claim.

use std::time::Duration;

use crate::model::ContentHash;
use crate::state::pg::{PgError, q};

use super::SharedCorpus;

/// The answer to a claim on a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This worker owns the text: queue the new record.
    Mine,
    /// Another worker's record of this text is durable: a duplicate of it.
    Theirs,
    /// A live worker claimed the text and has not flushed its record yet: ask again soon
    /// (it becomes `Theirs` at that worker's flush).
    Pending,
    /// A worker that stopped heartbeating claimed it and never said its record was durable:
    /// look for the record in that worker's folder ([`SharedCorpus::adopt`] when it is there,
    /// [`SharedCorpus::take_over`] when not).
    Orphaned {
        /// The dead worker's id.
        owner: String,
    },
}

impl SharedCorpus {
    /// Claims `hash` for record `id`. With `force`, a live worker's pending claim is taken
    /// too (after waiting for it in vain; a durable claim is never taken).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn claim(&self, hash: &ContentHash, id: &str, force: bool) -> Result<Claim, PgError> {
        let mut client = self.state.client();
        let mine = client
            .query_opt(
                "INSERT INTO content_hashes (content_sha256, record_id, worker_id, claimed)
                 VALUES ($1, $2, $3, now())
                 ON CONFLICT (content_sha256) DO UPDATE
                     SET worker_id = EXCLUDED.worker_id, claimed = now()
                 WHERE NOT content_hashes.durable
                   AND ($4 OR content_hashes.worker_id = EXCLUDED.worker_id)
                 RETURNING worker_id",
                &[&hash.as_str(), &id, &self.worker, &force],
            )
            .map_err(q("claiming a content hash"))?;
        if mine.is_some() {
            return Ok(Claim::Mine);
        }
        let row = client
            .query_opt(
                "SELECT c.durable, c.worker_id, EXISTS (SELECT 1 FROM workers w
                     WHERE w.id = c.worker_id AND w.stopped IS NULL
                       AND w.heartbeat > now() - make_interval(secs => $2))
                 FROM content_hashes c WHERE c.content_sha256 = $1",
                &[&hash.as_str(), &self.stale_after.as_secs_f64()],
            )
            .map_err(q("reading a content hash claim"))?;
        // Claims are never deleted: a missing row cannot happen; read it as taken.
        let Some(row) = row else {
            return Ok(Claim::Theirs);
        };
        let (durable, owner, live): (bool, String, bool) = (row.get(0), row.get(1), row.get(2));
        Ok(match (durable, live) {
            (true, _) => Claim::Theirs,
            (false, true) => Claim::Pending,
            (false, false) => Claim::Orphaned { owner },
        })
    }

    /// The dead `owner`'s record of `hash` is in its folder after all (it died between its
    /// corpus flush and the commit): its claim is durable, and with the folder's `manifest`,
    /// the flush the owner could not record is recorded for it. Its claims on the other
    /// records of that flush (`written`, ids) become durable with it: once the manifest lists
    /// them, a later takeover would no longer look for them past it.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn adopt(
        &self,
        hash: &ContentHash,
        owner: &str,
        manifest: Option<&crate::corpus::Manifest>,
        written: &[String],
    ) -> Result<(), PgError> {
        if let Some(m) = manifest {
            return self.commit_as(owner, std::slice::from_ref(hash), m, written);
        }
        self.state
            .client()
            .execute(
                "UPDATE content_hashes SET durable = true
                 WHERE worker_id = $2 AND (content_sha256 = $1 OR record_id = ANY($3))",
                &[&hash.as_str(), &owner, &written],
            )
            .map(drop)
            .map_err(q("adopting a content hash claim"))
    }

    /// Takes the dead `owner`'s pending claim on `hash` over. `false`: someone else took it
    /// first (ask again).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn take_over(&self, hash: &ContentHash, owner: &str) -> Result<bool, PgError> {
        self.state
            .client()
            .execute(
                "UPDATE content_hashes SET worker_id = $3, claimed = now()
                 WHERE content_sha256 = $1 AND worker_id = $2 AND NOT durable",
                &[&hash.as_str(), &owner, &self.worker],
            )
            .map(|n| n == 1)
            .map_err(q("taking a content hash claim over"))
    }

    /// Segment files of `owner` with their record counts, as its last committed flush listed
    /// them. A segment grows across flushes: records past the listed count were written after
    /// the last commit.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn listed_files(
        &self,
        owner: &str,
    ) -> Result<std::collections::HashMap<String, usize>, PgError> {
        let rows = self
            .state
            .client()
            .query(
                "SELECT file, records FROM corpus_segments WHERE worker_id = $1",
                &[&owner],
            )
            .map_err(q("reading a worker's listed segments"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let records: i64 = r.get(1);
                (r.get(0), usize::try_from(records).unwrap_or(0))
            })
            .collect())
    }

    /// How long to wait for another worker's pending claim before taking it anyway.
    pub fn patience(&self) -> Duration {
        self.stale_after * 2
    }
}
