//! Per-source run history on PostgreSQL (`source_status`), the same record the SQLite state
//! keeps for `newsmill status`: last run, last success, last new article, failure streak.

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
    use chrono::Utc;

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
}
