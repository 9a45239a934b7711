//! The corpus's shared bookkeeping when many workers write it (`newsmill worker`): who owns
//! each text (exact duplicates across workers), and the manifest of every worker's segments.
//!
//! - **Exact duplicates.** `content_hashes` has the content hash as its primary key. A worker
//!   claims a hash before it queues a new record ([`SharedCorpus::claim`]); the unique
//!   constraint makes one worker the owner, and every other worker that meets the same text
//!   records a duplicate instead. A claim is `durable` once the owner's corpus flush has made
//!   the record durable ([`SharedCorpus::commit`]). A claim that never became durable and whose
//!   worker stopped heartbeating (SIGKILL, lost machine) is *orphaned*: the next worker that
//!   meets the text looks for the record in the dead worker's segments that its last commit did
//!   not list (it may have died between its corpus flush and the commit), adopts it as durable
//!   when it is there, and takes the claim over when it is not (`corpus/claims.rs`).
//! - **Manifest.** `corpus_segments` holds each worker's segments (file, records, bytes,
//!   SHA-256) as of its last flush, written in the same transaction as the claims it made
//!   durable. Readers find every worker's segments under `normalized/workers/<id>/`.
//!
//! This module stores and answers; the ingest step decides what a claim means.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::corpus::{Manifest, SegmentInfo};
use crate::model::ContentHash;
use crate::state::UrlRow;

use super::{PgError, PgState, q};

mod claims;
mod reprocess;

pub use claims::Claim;

/// One worker's handle on the shared corpus bookkeeping.
#[derive(Debug, Clone)]
pub struct SharedCorpus {
    pub(super) state: Arc<PgState>,
    pub(super) worker: String,
    stale_after: Duration,
}

/// One segment of one worker, as the database lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSegment {
    /// The worker that wrote it (its folder under `normalized/workers/`).
    pub worker_id: String,
    /// The segment as of the worker's last flush.
    pub segment: SegmentInfo,
    /// When that flush was committed.
    pub updated: DateTime<Utc>,
}

impl SharedCorpus {
    /// The bookkeeping of worker `worker`; another worker's pending claim is orphaned once
    /// its heartbeat is older than `stale_after` (or it stopped).
    pub fn new(state: Arc<PgState>, worker: &str, stale_after: Duration) -> Self {
        Self {
            state,
            worker: worker.to_owned(),
            stale_after,
        }
    }

    /// After a corpus flush: the claims `hashes` are durable now, and `manifest` is this
    /// worker's corpus. One transaction.
    ///
    /// # Errors
    /// `Query` on database failure; then nothing was written.
    pub fn commit(&self, hashes: &[ContentHash], manifest: &Manifest) -> Result<(), PgError> {
        self.commit_as(&self.worker, hashes, manifest, &[])
    }

    /// [`SharedCorpus::commit`] on behalf of `worker` (a dead worker whose flush is adopted);
    /// its claims on the records `written` (ids) become durable with the manifest.
    fn commit_as(
        &self,
        worker: &str,
        hashes: &[ContentHash],
        manifest: &Manifest,
        written: &[String],
    ) -> Result<(), PgError> {
        let hashes: Vec<&str> = hashes.iter().map(ContentHash::as_str).collect();
        let files: Vec<&str> = manifest.segments.iter().map(|s| s.file.as_str()).collect();
        let records: Vec<i64> = manifest
            .segments
            .iter()
            .map(|s| i64::try_from(s.records).unwrap_or(i64::MAX))
            .collect();
        let bytes: Vec<i64> = manifest
            .segments
            .iter()
            .map(|s| i64::try_from(s.bytes).unwrap_or(i64::MAX))
            .collect();
        let sums: Vec<&str> = manifest
            .segments
            .iter()
            .map(|s| s.sha256.as_str())
            .collect();
        let mut client = self.state.client();
        let mut tx = client.transaction().map_err(q("committing a flush"))?;
        tx.execute(
            "UPDATE content_hashes SET durable = true
             WHERE worker_id = $1 AND (content_sha256 = ANY($2) OR record_id = ANY($3))",
            &[&worker, &hashes, &written],
        )
        .map_err(q("marking claims durable"))?;
        tx.execute(
            "DELETE FROM corpus_segments WHERE worker_id = $1",
            &[&worker],
        )
        .map_err(q("writing the corpus manifest"))?;
        tx.execute(
            "INSERT INTO corpus_segments (worker_id, file, records, bytes, sha256, updated)
             SELECT $1, f, r, b, s, now()
             FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[]) AS u (f, r, b, s)",
            &[&worker, &files, &records, &bytes, &sums],
        )
        .map_err(q("writing the corpus manifest"))?;
        tx.commit().map_err(q("committing a flush"))
    }
}

impl SharedCorpus {
    /// Which of the records `ids` (this worker's, in segments it never uploaded) belong to
    /// another worker now: their text claim was taken over while this worker was dead (see
    /// `corpus::drop_unuploaded`).
    ///
    /// # Errors
    /// `Query`.
    pub fn taken_over(&self, ids: &[String]) -> Result<std::collections::HashSet<String>, PgError> {
        if ids.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        let rows = self
            .state
            .client()
            .query(
                "SELECT record_id FROM content_hashes WHERE record_id = ANY($1) AND worker_id <> $2",
                &[&ids, &self.worker],
            )
            .map_err(q("reading who owns this worker's unuploaded records"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

impl PgState {
    /// Every worker's segments as their last flushes recorded them, by worker then file.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn corpus_segments(&self) -> Result<Vec<WorkerSegment>, PgError> {
        let rows = self
            .client()
            .query(
                "SELECT worker_id, file, records, bytes, sha256, updated FROM corpus_segments
                 ORDER BY worker_id, file",
                &[],
            )
            .map_err(q("reading the corpus manifest"))?;
        rows.iter()
            .map(|r| {
                let records: i64 = r.try_get(2)?;
                let bytes: i64 = r.try_get(3)?;
                Ok(WorkerSegment {
                    worker_id: r.try_get(0)?,
                    segment: SegmentInfo {
                        file: r.try_get(1)?,
                        records: usize::try_from(records).unwrap_or(0),
                        bytes: u64::try_from(bytes).unwrap_or(0),
                        sha256: r.try_get(4)?,
                    },
                    updated: r.try_get(5)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(q("reading the corpus manifest"))
    }

    /// Every frontier row that names a record or a raw response, ordered by URL (what
    /// `verify` compares with the corpus and raw/, as `State::url_rows` on SQLite).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn url_rows(&self) -> Result<Vec<UrlRow>, PgError> {
        let rows = self
            .client()
            .query(
                "SELECT url, source_id, state, record_id, raw_file, raw_offset, raw_length
                 FROM frontier WHERE record_id IS NOT NULL OR raw_file IS NOT NULL ORDER BY url",
                &[],
            )
            .map_err(q("reading url rows"))?;
        rows.iter()
            .map(|r| {
                let raw = UrlRow::raw_from_columns(r.try_get(4)?, r.try_get(5)?, r.try_get(6)?);
                Ok(UrlRow {
                    url: r.try_get(0)?,
                    source_id: r.try_get(1)?,
                    state: r.try_get(2)?,
                    record_id: r.try_get(3)?,
                    raw,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(q("reading url rows"))
    }

    /// Content hashes claimed and durable, and claimed but not (yet) durable.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn hash_claims(&self) -> Result<(i64, i64), PgError> {
        let r = self
            .client()
            .query_one(
                "SELECT count(*) FILTER (WHERE durable), count(*) FILTER (WHERE NOT durable)
                 FROM content_hashes",
                &[],
            )
            .map_err(q("counting content hashes"))?;
        Ok((r.get(0), r.get(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::pg::testing::TestDb;

    fn hash(s: &str) -> ContentHash {
        crate::dedup::content_hash(s)
    }

    #[test]
    fn one_owner_per_text_and_a_dead_owners_pending_claim_is_taken_over() {
        let Some(db) = TestDb::new("pg_corpus_claims") else {
            return;
        };
        let state = Arc::new(db.open());
        for w in ["a", "b"] {
            state.register_worker(w, "m", 1).unwrap();
        }
        let a = SharedCorpus::new(state.clone(), "a", Duration::from_secs(30));
        let b = SharedCorpus::new(state.clone(), "b", Duration::from_secs(30));
        let (h1, h2) = (hash("one text"), hash("another text"));
        assert_eq!(a.claim(&h1, "r1", false).unwrap(), Claim::Mine);
        // The same worker asking again (a restart under the same id) keeps its claim.
        assert_eq!(a.claim(&h1, "r1", false).unwrap(), Claim::Mine);
        // A live owner's pending claim is not taken.
        assert_eq!(b.claim(&h1, "r1", false).unwrap(), Claim::Pending);
        assert_eq!(b.claim(&h2, "r2", false).unwrap(), Claim::Mine);
        let manifest = Manifest {
            segments: vec![SegmentInfo {
                file: "part-000001.jsonl".into(),
                records: 1,
                bytes: 10,
                sha256: "ab".into(),
            }],
            ..Manifest::default()
        };
        b.commit(std::slice::from_ref(&h2), &manifest).unwrap();
        assert_eq!(state.hash_claims().unwrap(), (1, 1));
        // a dies: its heartbeat goes stale, so its pending claim moves to b…
        db.client()
            .execute(
                "UPDATE workers SET heartbeat = now() - interval '1 hour' WHERE id = 'a'",
                &[],
            )
            .unwrap();
        assert_eq!(
            b.claim(&h1, "r1", false).unwrap(),
            Claim::Orphaned { owner: "a".into() }
        );
        assert_eq!(
            a.claim(&h1, "r1", false).unwrap(),
            Claim::Mine,
            "a back under its id"
        );
        assert!(b.take_over(&h1, "a").unwrap());
        assert!(!b.take_over(&h1, "a").unwrap(), "not a's any more");
        assert_eq!(b.claim(&h1, "r1", false).unwrap(), Claim::Mine);
        // Adopting: the dead owner's record was durable after all.
        let h4 = hash("fourth text");
        assert_eq!(a.claim(&h4, "r4", false).unwrap(), Claim::Mine);
        b.adopt(&h4, "a", None, &[]).unwrap();
        assert_eq!(b.claim(&h4, "r4", false).unwrap(), Claim::Theirs);
        assert_eq!(
            b.listed_files("b").unwrap().into_keys().collect::<Vec<_>>(),
            vec!["part-000001.jsonl".to_owned()]
        );
        // …but a durable claim is never taken, whoever asks, even by force.
        assert_eq!(a.claim(&h2, "r2", true).unwrap(), Claim::Theirs);
        // A live worker's pending claim is taken only by force.
        state.register_worker("a", "m", 1).unwrap();
        assert_eq!(state.hash_claims().unwrap().0, 2);
        let h3 = hash("third text");
        assert_eq!(a.claim(&h3, "r3", false).unwrap(), Claim::Mine);
        assert_eq!(b.claim(&h3, "r3", false).unwrap(), Claim::Pending);
        assert_eq!(b.claim(&h3, "r3", true).unwrap(), Claim::Mine);
        let segs = state.corpus_segments().unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].worker_id, "b");
        assert_eq!(segs[0].segment, manifest.segments[0]);
        // A later flush replaces the worker's manifest as a whole.
        b.commit(&[], &Manifest::default()).unwrap();
        assert!(state.corpus_segments().unwrap().is_empty());
    }
}
