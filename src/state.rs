//! SQLite bookkeeping under `state/`: which URLs were seen, fetched and ingested, the HTTP
//! validators (ETag / Last-Modified) of feeds, sitemaps and articles, where each raw record
//! sits, and per-source run history. The only owner of the database.
//!
//! The corpus, not this database, is the truth about which articles exist: a URL is marked
//! ingested only after the corpus has durably written its record, and a crash between the
//! two is healed by the deduper (the re-fetched text hashes to an id the corpus already has).
//!
//! The near-duplicate index (LSH band keys and cluster membership) lives here too, in the
//! `near_*` tables (see `state/near.rs`).
//!
//! Calls are short, indexed single-row statements; they run synchronously behind a mutex.
//! That is cheaper than a thread hop for microsecond queries, and keeps one writer.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{RawLocation, SourceId};

mod integrity;
mod near;

pub use integrity::{OUTCOME_REFETCH, UrlRow};
pub use near::{NearIndexSize, NearRow};

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

/// HTTP validators remembered for a URL, sent back as `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// Last `ETag` seen.
    pub etag: Option<String>,
    /// Last `Last-Modified` seen.
    pub last_modified: Option<String>,
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
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS urls (
    url            TEXT PRIMARY KEY,
    source_id      TEXT NOT NULL,
    first_seen     TEXT NOT NULL,
    last_fetched   TEXT,
    last_status    INTEGER,
    outcome        TEXT,
    raw_file       TEXT,
    raw_offset     INTEGER,
    raw_length     INTEGER,
    article_id     TEXT
);
CREATE TABLE IF NOT EXISTS fetch_log (
    at             TEXT NOT NULL,
    url            TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    status         INTEGER NOT NULL,
    outcome        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fetch_log_url ON fetch_log (url);
DELETE FROM fetch_log WHERE at < strftime('%Y-%m-%dT%H:%M:%S', 'now', '-90 days');
CREATE TABLE IF NOT EXISTS validators (
    url            TEXT PRIMARY KEY,
    etag           TEXT,
    last_modified  TEXT,
    updated        TEXT NOT NULL
);
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
        conn.execute_batch(near::SCHEMA).map_err(open_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (statements are
        // atomic), so a poisoned lock is safe to keep using.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether this canonical URL already made it into the corpus (as a record or a sighting).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn is_ingested(&self, url: &str) -> Result<bool, StateError> {
        let outcome: Option<Option<String>> = self
            .conn()
            .query_row("SELECT outcome FROM urls WHERE url = ?1", [url], |r| {
                r.get(0)
            })
            .optional()
            .map_err(q("reading url outcome"))?;
        Ok(matches!(
            outcome.flatten().as_deref(),
            Some("ingested" | "duplicate")
        ))
    }

    /// Records that a URL was discovered for a source (no-op if known).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn note_discovered(&self, url: &str, source: &SourceId) -> Result<(), StateError> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO urls (url, source_id, first_seen) VALUES (?1, ?2, ?3)",
                params![url, source.as_str(), Utc::now().to_rfc3339()],
            )
            .map(drop)
            .map_err(q("recording discovered url"))
    }

    /// Records a fetch: appends it to the fetch log and updates the URL's status, raw location
    /// and outcome so far.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn note_fetched(
        &self,
        url: &str,
        source: &SourceId,
        status: u16,
        raw: Option<&RawLocation>,
        outcome: &str,
    ) -> Result<(), StateError> {
        let now = Utc::now().to_rfc3339();
        let file = raw.map(|r| r.file.to_string_lossy().into_owned());
        let conn = self.conn();
        // Every attempt is logged (kept 90 days); `urls` keeps the latest state per URL.
        conn.execute(
            "INSERT INTO fetch_log (at, url, source_id, status, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now, url, source.as_str(), status, outcome],
        )
        .map_err(q("appending to the fetch log"))?;
        conn
            .execute(
                "INSERT INTO urls (url, source_id, first_seen, last_fetched, last_status, outcome,
                                   raw_file, raw_offset, raw_length)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(url) DO UPDATE SET last_fetched = ?3, last_status = ?4,
                     outcome = CASE WHEN outcome IN ('ingested','duplicate') THEN outcome ELSE ?5 END,
                     raw_file = COALESCE(?6, raw_file), raw_offset = COALESCE(?7, raw_offset),
                     raw_length = COALESCE(?8, raw_length)",
                params![
                    url,
                    source.as_str(),
                    now,
                    status,
                    outcome,
                    file,
                    raw.map(|r| r.offset as i64),
                    raw.map(|r| r.length as i64)
                ],
            )
            .map(drop)
            .map_err(q("recording fetch"))
    }

    /// Marks URLs as ingested (or as duplicates of an existing record) after the corpus flushed.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn mark_ingested(&self, rows: &[(String, String, bool)]) -> Result<(), StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(q("starting transaction"))?;
        {
            let mut stmt = tx
                .prepare("UPDATE urls SET outcome = ?2, article_id = ?3 WHERE url = ?1")
                .map_err(q("preparing ingest update"))?;
            for (url, id, duplicate) in rows {
                let outcome = if *duplicate { "duplicate" } else { "ingested" };
                stmt.execute(params![url, outcome, id])
                    .map_err(q("marking url ingested"))?;
            }
        }
        tx.commit().map_err(q("committing ingest marks"))
    }

    /// Validators stored for a URL.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn validators(&self, url: &str) -> Result<Validators, StateError> {
        self.conn()
            .query_row(
                "SELECT etag, last_modified FROM validators WHERE url = ?1",
                [url],
                |r| {
                    Ok(Validators {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(q("reading validators"))
    }

    /// Stores validators for a URL (only when the response had any).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn set_validators(&self, url: &str, v: &Validators) -> Result<(), StateError> {
        if v.etag.is_none() && v.last_modified.is_none() {
            return Ok(());
        }
        self.conn()
            .execute(
                "INSERT INTO validators (url, etag, last_modified, updated) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(url) DO UPDATE SET etag = ?2, last_modified = ?3, updated = ?4",
                params![url, v.etag, v.last_modified, Utc::now().to_rfc3339()],
            )
            .map(drop)
            .map_err(q("storing validators"))
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
    fn url_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        let u = "https://example.org/a";
        assert!(!st.is_ingested(u).unwrap());
        st.note_discovered(u, &sid("s")).unwrap();
        st.note_fetched(u, &sid("s"), 200, None, "fetched").unwrap();
        assert!(!st.is_ingested(u).unwrap());
        st.mark_ingested(&[(u.into(), "id1".into(), false)])
            .unwrap();
        assert!(st.is_ingested(u).unwrap());
        // A later failed fetch does not un-ingest.
        st.note_fetched(u, &sid("s"), 500, None, "failed").unwrap();
        assert!(st.is_ingested(u).unwrap());
        drop(st);
        let st = State::open(dir.path()).unwrap();
        assert!(st.is_ingested(u).unwrap());
    }

    #[test]
    fn validators_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        let v = Validators {
            etag: Some("\"x\"".into()),
            last_modified: None,
        };
        st.set_validators("u", &v).unwrap();
        assert_eq!(st.validators("u").unwrap(), v);
        assert_eq!(st.validators("other").unwrap(), Validators::default());
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
}
