//! SQLite bookkeeping under `state/`: the frontier's backend (every URL's state, the HTTP
//! validators of discovery documents and articles, where each raw response sits; see
//! `state/frontier.rs` and `crate::frontier`), and per-source run history. The only owner of
//! the database; the SQL stays in this module.
//!
//! The corpus, not this database, is the truth about which articles exist: a URL is marked
//! ingested only after the corpus has durably written its record (the frontier's rules).
//!
//! The near-duplicate index (LSH band keys and cluster membership) is kept beside it, in its
//! own database file and connection (`state/near.sqlite`, see `state/near.rs`).
//!
//! Calls are short, indexed single-row statements; they run synchronously behind a mutex.
//! That is cheaper than a thread hop for microsecond queries, and keeps one writer.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use crate::model::SourceId;

mod columns;
#[cfg(test)]
mod contract;
mod frontier;
mod integrity;
mod near;
pub mod pg;

pub use integrity::UrlRow;
pub use near::{
    COMPACT_FILE, CompactError, Compacted, NEAR_DB_FILE, NearDb, NearIndexSize,
    compact as compact_near, compact_then as compact_near_then,
    remove_stale_copy as remove_stale_compact_copy,
};

/// Errors from the state database.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database could not be opened or migrated.
    #[error("cannot open state database {path}")]
    Open {
        /// Database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The state folder could not be created.
    #[error("cannot create state folder {path}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A query failed.
    #[error("state database query failed: {what}")]
    Query {
        /// What was being done.
        what: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// Per-source history shown by `newsmill status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    /// Source id.
    pub source_id: String,
    /// Start of the last run that included this source.
    pub last_run: Option<String>,
    /// Start of the last run in which the source had no failures.
    pub last_success: Option<String>,
    /// When the source last produced a new article.
    pub last_new_article: Option<String>,
    /// Consecutive runs with failures.
    pub failure_streak: i64,
}

/// File name of the database inside the state folder.
pub const DB_FILE: &str = "newsmill.sqlite";

/// The state database.
#[derive(Debug)]
pub struct State {
    conn: Mutex<Connection>,
    dir: PathBuf,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS source_status (
    source_id        TEXT PRIMARY KEY,
    last_run         TEXT,
    last_success     TEXT,
    last_new_article TEXT,
    failure_streak   INTEGER NOT NULL DEFAULT 0
);
";

fn q(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StateError {
    move |source| StateError::Query { what, source }
}

impl State {
    /// Opens (creates) `state_dir/newsmill.sqlite` and applies the schema.
    ///
    /// # Errors
    /// `Open` when the folder or database cannot be created or migrated.
    pub fn open(state_dir: &Path) -> Result<Self, StateError> {
        let path = state_dir.join(DB_FILE);
        let open_err = |source| StateError::Open {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(|source| StateError::CreateDir {
            path: state_dir.to_owned(),
            source,
        })?;
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        conn.execute_batch(frontier::SCHEMA).map_err(open_err)?;
        frontier::migrate(&conn).map_err(open_err)?;
        conn.execute_batch(near::LEGACY).map_err(open_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
            dir: state_dir.to_owned(),
        })
    }

    /// The state folder (the near-duplicate index database sits beside this one).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (statements are
        // atomic), so a poisoned lock is safe to keep using.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Updates a source's history at the end of a run.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn record_source_run(
        &self,
        source: &SourceId,
        started: DateTime<Utc>,
        failures: u64,
        new_articles: u64,
    ) -> Result<(), StateError> {
        let started = started.to_rfc3339();
        let ok = failures == 0;
        self.conn()
            .execute(
                "INSERT INTO source_status (source_id, last_run, last_success, last_new_article, failure_streak)
                 VALUES (?1, ?2, CASE WHEN ?3 THEN ?2 END, CASE WHEN ?4 > 0 THEN ?2 END, CASE WHEN ?3 THEN 0 ELSE 1 END)
                 ON CONFLICT(source_id) DO UPDATE SET last_run = ?2,
                     last_success = CASE WHEN ?3 THEN ?2 ELSE last_success END,
                     last_new_article = CASE WHEN ?4 > 0 THEN ?2 ELSE last_new_article END,
                     failure_streak = CASE WHEN ?3 THEN 0 ELSE failure_streak + 1 END",
                params![source.as_str(), started, ok, new_articles as i64],
            )
            .map(drop)
            .map_err(q("recording source run"))
    }

    /// Every source's history, ordered by id.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn source_statuses(&self) -> Result<Vec<SourceStatus>, StateError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT source_id, last_run, last_success, last_new_article, failure_streak
                 FROM source_status ORDER BY source_id",
            )
            .map_err(q("preparing status query"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SourceStatus {
                    source_id: r.get(0)?,
                    last_run: r.get(1)?,
                    last_success: r.get(2)?,
                    last_new_article: r.get(3)?,
                    failure_streak: r.get(4)?,
                })
            })
            .map_err(q("reading status"))?;
        rows.collect::<Result<_, _>>().map_err(q("reading status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> SourceId {
        SourceId::new(s).unwrap()
    }

    #[test]
    fn failure_streak_counts_and_resets() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        let s = sid("a");
        st.record_source_run(&s, Utc::now(), 2, 0).unwrap();
        st.record_source_run(&s, Utc::now(), 1, 0).unwrap();
        assert_eq!(st.source_statuses().unwrap()[0].failure_streak, 2);
        assert!(st.source_statuses().unwrap()[0].last_success.is_none());
        st.record_source_run(&s, Utc::now(), 0, 3).unwrap();
        let row = &st.source_statuses().unwrap()[0];
        assert_eq!(row.failure_streak, 0);
        assert!(row.last_success.is_some() && row.last_new_article.is_some());
    }

    use crate::frontier::{Frontier, RetryPolicy, UrlKey, UrlState};

    fn key(p: &str) -> UrlKey {
        UrlKey::of(&url::Url::parse(&format!("https://example.org/{p}")).unwrap())
    }

    fn open(dir: &Path) -> Frontier {
        let policy = RetryPolicy {
            base: std::time::Duration::ZERO,
            max_attempts: 2,
        };
        Frontier::new(std::sync::Arc::new(State::open(dir).unwrap()), policy)
    }

    #[test]
    fn old_url_table_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("newsmill.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE urls (url TEXT PRIMARY KEY, source_id TEXT NOT NULL, first_seen TEXT NOT NULL,
                last_fetched TEXT, last_status INTEGER, outcome TEXT, raw_file TEXT, raw_offset INTEGER,
                raw_length INTEGER, article_id TEXT);
             CREATE TABLE validators (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, updated TEXT NOT NULL);
             INSERT INTO urls VALUES ('https://example.org/a', 's', '2026-01-01T00:00:00Z', NULL, 200, 'ingested', NULL, NULL, NULL, 'a1');
             INSERT INTO urls VALUES ('https://example.org/b', 's', '2026-01-01T00:00:00Z', NULL, 200, 'normalized', 'f.warc.gz', 1, 2, NULL);
             INSERT INTO urls VALUES ('https://example.org/c', 's', '2026-01-01T00:00:00Z', NULL, 500, 'status_500', NULL, NULL, NULL, NULL);
             INSERT INTO validators VALUES ('https://example.org/b', '\"x\"', NULL, 'now');",
        )
        .unwrap();
        drop(conn);
        let f = open(dir.path());
        assert!(matches!(
            f.state(&key("a")).unwrap(),
            Some(UrlState::Ingested { .. })
        ));
        assert!(matches!(
            f.state(&key("b")).unwrap(),
            Some(UrlState::Fetched { .. })
        ));
        assert_eq!(f.state(&key("c")).unwrap(), Some(UrlState::Discovered));
        drop(f);
        // Reopening does not migrate twice.
        let f = open(dir.path());
        assert_eq!(f.unrecovered().unwrap().len(), 1);
    }
}
