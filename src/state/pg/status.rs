//! What `newsmill status` reads from PostgreSQL: per-source run history (`source_status`, the
//! same record the SQLite state keeps: last run, last success, last new article, failure
//! streak), the workers with their live leases, and the frontier's depth per source.

use chrono::{DateTime, Utc};

use crate::model::SourceId;
use crate::state::SourceStatus;

use super::{PgError, PgState, q};

impl PgState {
    /// Updates a source's history at the end of a run (or a worker's pass over it).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn record_source_run(
        &self,
        source: &SourceId,
        started: DateTime<Utc>,
        failures: u64,
        new_articles: u64,
    ) -> Result<(), PgError> {
        let ok = failures == 0;
        let new = new_articles > 0;
        self.client()
            .execute(
                "INSERT INTO source_status AS s (source_id, last_run, last_success,
                     last_new_article, failure_streak)
                 VALUES ($1, $2::timestamptz, CASE WHEN $3::bool THEN $2 END,
                     CASE WHEN $4::bool THEN $2 END, CASE WHEN $3 THEN 0 ELSE 1 END)
                 ON CONFLICT (source_id) DO UPDATE SET last_run = $2,
                     last_success = CASE WHEN $3 THEN $2 ELSE s.last_success END,
                     last_new_article = CASE WHEN $4 THEN $2 ELSE s.last_new_article END,
                     failure_streak = CASE WHEN $3 THEN 0 ELSE s.failure_streak + 1 END",
                &[&source.as_str(), &started, &ok, &new],
            )
            .map(drop)
            .map_err(q("recording a source run"))
    }

    /// Marks that a worker added new articles of `source` at `at` (a worker's run history is
    /// recorded in two parts: each discovery pass with [`PgState::record_source_run`], and the
    /// articles its sink added when the worker finishes); an older `at` changes nothing.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn record_new_articles(&self, source: &SourceId, at: DateTime<Utc>) -> Result<(), PgError> {
        self.client()
            .execute(
                "INSERT INTO source_status AS s (source_id, last_new_article) VALUES ($1, $2)
                 ON CONFLICT (source_id) DO UPDATE SET last_new_article =
                     GREATEST(s.last_new_article, EXCLUDED.last_new_article)",
                &[&source.as_str(), &at],
            )
            .map(drop)
            .map_err(q("recording a source's new articles"))
    }

    /// Every source's history, ordered by id.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn source_statuses(&self) -> Result<Vec<SourceStatus>, PgError> {
        let rows = self
            .client()
            .query(
                "SELECT source_id, last_run, last_success, last_new_article, failure_streak
                 FROM source_status ORDER BY source_id",
                &[],
            )
            .map_err(q("reading source history"))?;
        let text = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
        rows.iter()
            .map(|r| {
                Ok(SourceStatus {
                    source_id: r.try_get(0)?,
                    last_run: text(r.try_get(1)?),
                    last_success: text(r.try_get(2)?),
                    last_new_article: text(r.try_get(3)?),
                    failure_streak: i64::from(r.try_get::<_, i32>(4)?),
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(q("reading source history"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use crate::model::SourceId;
    use crate::state::pg::testing::TestDb;

    #[test]
    fn failure_streak_counts_and_resets() {
        let Some(db) = TestDb::new("state::pg::status::tests::failure_streak_counts_and_resets")
        else {
            return;
        };
        let st = db.open();
        let s = SourceId::new("a").unwrap();
        st.record_source_run(&s, Utc::now(), 2, 0).unwrap();
        st.record_source_run(&s, Utc::now(), 1, 0).unwrap();
        let row = &st.source_statuses().unwrap()[0];
        assert_eq!((row.failure_streak, row.last_success.is_none()), (2, true));
        st.record_source_run(&s, Utc::now(), 0, 3).unwrap();
        let row = &st.source_statuses().unwrap()[0];
        assert_eq!(row.failure_streak, 0);
        assert!(row.last_success.is_some() && row.last_new_article.is_some());
    }

    #[test]
    fn new_articles_move_the_mark_forward_only_and_keep_the_run_history() {
        let Some(db) = TestDb::new(
            "state::pg::status::tests::new_articles_move_the_mark_forward_only_and_keep_the_run_history",
        ) else {
            return;
        };
        let st = db.open();
        let s = SourceId::new("a").unwrap();
        let t2 = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
        let t1 = t2 - chrono::Duration::hours(1);
        st.record_new_articles(&s, t2).unwrap();
        let row = &st.source_statuses().unwrap()[0];
        assert_eq!((row.last_run.is_none(), row.failure_streak), (true, 0));
        st.record_source_run(&s, t1, 1, 0).unwrap();
        st.record_new_articles(&s, t1).unwrap();
        let row = &st.source_statuses().unwrap()[0];
        let at = |x: &Option<String>| x.as_deref().map(|v| v.parse::<DateTime<Utc>>().unwrap());
        assert_eq!(at(&row.last_new_article), Some(t2));
        assert_eq!((at(&row.last_run), row.failure_streak), (Some(t1), 1));
    }
}

/// A worker as `newsmill status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRow {
    /// Worker id (`--id`, or machine name and process id).
    pub id: String,
    /// The machine it runs on.
    pub hostname: String,
    /// Last heartbeat.
    pub heartbeat: DateTime<Utc>,
    /// Whether it said goodbye.
    pub stopped: bool,
    /// Host leases it holds now (unexpired).
    pub host_leases: i64,
    /// Source leases it holds now (unexpired).
    pub source_leases: i64,
}

/// Frontier depth of one source, for `newsmill status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDepth {
    /// Source id.
    pub source_id: String,
    /// URLs waiting for a fetch (`discovered`, or `failed` and to be tried again).
    pub waiting: i64,
    /// URLs whose raw response is durable and whose record is not.
    pub fetched: i64,
    /// URLs with a record.
    pub ingested: i64,
    /// URLs closed otherwise (gone, refused, exhausted).
    pub closed: i64,
}

impl PgState {
    /// Every worker that ever registered, with its live leases, newest heartbeat first.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn workers(&self) -> Result<Vec<WorkerRow>, PgError> {
        let rows = self
            .client()
            .query(
                "SELECT w.id, w.hostname, w.heartbeat, w.stopped IS NOT NULL,
                     (SELECT count(*) FROM hosts h
                      WHERE h.worker_id = w.id AND h.lease_expires > now()),
                     (SELECT count(*) FROM source_leases s
                      WHERE s.worker_id = w.id AND s.lease_expires > now())
                 FROM workers w ORDER BY w.heartbeat DESC, w.id",
                &[],
            )
            .map_err(q("listing workers"))?;
        rows.iter()
            .map(|r| {
                Ok(WorkerRow {
                    id: r.try_get(0)?,
                    hostname: r.try_get(1)?,
                    heartbeat: r.try_get(2)?,
                    stopped: r.try_get(3)?,
                    host_leases: r.try_get(4)?,
                    source_leases: r.try_get(5)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(q("reading workers"))
    }

    /// The frontier's depth per source, by source id.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn source_depths(&self) -> Result<Vec<SourceDepth>, PgError> {
        let rows = self
            .client()
            .query(
                "SELECT source_id,
                     count(*) FILTER (WHERE state = 'discovered'
                         OR (state = 'failed' AND next_attempt IS NOT NULL)),
                     count(*) FILTER (WHERE state = 'fetched'),
                     count(*) FILTER (WHERE state = 'ingested'),
                     count(*) FILTER (WHERE state IN ('gone', 'refused')
                         OR (state = 'failed' AND next_attempt IS NULL))
                 FROM frontier GROUP BY source_id ORDER BY source_id",
                &[],
            )
            .map_err(q("counting the frontier"))?;
        rows.iter()
            .map(|r| {
                Ok(SourceDepth {
                    source_id: r.try_get(0)?,
                    waiting: r.try_get(1)?,
                    fetched: r.try_get(2)?,
                    ingested: r.try_get(3)?,
                    closed: r.try_get(4)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(q("reading frontier depth"))
    }
}
