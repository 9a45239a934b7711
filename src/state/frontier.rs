//! The SQLite backend of the frontier (`frontier` and `documents` tables): every SQL statement
//! about a URL's life is here. It stores and queries; the states themselves come from
//! [`crate::frontier::transition::next`].

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use url::Url;

use crate::frontier::transition::{self, RetryPolicy, Transition};
use crate::frontier::{
    Change, Entry, FailureKind, FrontierError, FrontierStore, Listing, RecordId, Refusal, UrlKey,
    UrlState, Validators,
};
use crate::model::{FeedItem, RawLocation, SourceId};

use super::State;

/// Tables of the frontier. `urls`, `fetch_log` and `validators` of earlier versions are
/// migrated once ([`MIGRATE`]) and dropped.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS frontier (
    url            TEXT PRIMARY KEY,
    source_id      TEXT NOT NULL,
    fetch_url      TEXT NOT NULL,
    title          TEXT,
    published      TEXT,
    first_seen     TEXT NOT NULL,
    state          TEXT NOT NULL,
    record_id      TEXT,
    duplicate      INTEGER,
    raw_file       TEXT,
    raw_offset     INTEGER,
    raw_length     INTEGER,
    failure_kind   TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   TEXT,
    status         INTEGER,
    refusal        TEXT,
    etag           TEXT,
    last_modified  TEXT,
    updated        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS frontier_due ON frontier (source_id, state, first_seen);
CREATE TABLE IF NOT EXISTS documents (
    url            TEXT PRIMARY KEY,
    source_id      TEXT NOT NULL,
    etag           TEXT,
    last_modified  TEXT,
    updated        TEXT NOT NULL
);
";

/// From the `urls` table of earlier versions: ingested stays ingested; a page with a raw
/// location whose record was never marked is recovered from raw/; the rest is fetched again.
/// Old validators are dropped: they were stored ahead of the records (the bug this replaces).
pub(super) const MIGRATE: &str = "
INSERT OR IGNORE INTO frontier (url, source_id, fetch_url, first_seen, state, record_id,
    duplicate, raw_file, raw_offset, raw_length, attempts, updated)
SELECT url, source_id, url, first_seen,
    CASE WHEN outcome IN ('ingested', 'duplicate') AND article_id IS NOT NULL THEN 'ingested'
         WHEN outcome = 'normalized' AND raw_file IS NOT NULL THEN 'fetched'
         ELSE 'discovered' END,
    article_id, outcome = 'duplicate', raw_file, raw_offset, raw_length, 0, first_seen
FROM urls;
DROP TABLE urls;
DROP TABLE IF EXISTS fetch_log;
DROP TABLE IF EXISTS validators;
";

const COLUMNS: &str = "url, source_id, fetch_url, title, published, state, record_id, duplicate,
    raw_file, raw_offset, raw_length, failure_kind, attempts, next_attempt, status, refusal";

/// Runs the migration when a pre-frontier `urls` table is there.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let old: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'urls'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if old.is_some() {
        conn.execute_batch(&format!("BEGIN; {MIGRATE} COMMIT;"))?;
    }
    Ok(())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn store_err(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> FrontierError {
    move |e| FrontierError::Store {
        operation,
        source: Box::new(e),
    }
}

/// A row as stored, before it is checked.
struct StoredRow {
    url: String,
    source: String,
    fetch_url: String,
    title: Option<String>,
    published: Option<String>,
    state: String,
    record: Option<String>,
    duplicate: Option<bool>,
    raw: (Option<String>, Option<i64>, Option<i64>),
    kind: Option<String>,
    attempts: i64,
    next_attempt: Option<String>,
    status: Option<i64>,
    refusal: Option<String>,
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<StoredRow> {
    Ok(StoredRow {
        url: r.get(0)?,
        source: r.get(1)?,
        fetch_url: r.get(2)?,
        title: r.get(3)?,
        published: r.get(4)?,
        state: r.get(5)?,
        record: r.get(6)?,
        duplicate: r.get(7)?,
        raw: (r.get(8)?, r.get(9)?, r.get(10)?),
        kind: r.get(11)?,
        attempts: r.get(12)?,
        next_attempt: r.get(13)?,
        status: r.get(14)?,
        refusal: r.get(15)?,
    })
}

impl StoredRow {
    fn corrupt(&self, what: impl Into<String>) -> FrontierError {
        FrontierError::Corrupt {
            url: self.url.clone(),
            what: what.into(),
        }
    }

    fn state(&self) -> Result<UrlState, FrontierError> {
        Ok(match self.state.as_str() {
            "discovered" => UrlState::Discovered,
            "fetched" => match &self.raw {
                (Some(file), Some(offset), Some(length)) => UrlState::Fetched {
                    raw: RawLocation {
                        file: file.into(),
                        offset: u64::try_from(*offset).map_err(|_| self.corrupt("raw_offset"))?,
                        length: u64::try_from(*length).map_err(|_| self.corrupt("raw_length"))?,
                    },
                },
                _ => return Err(self.corrupt("fetched without a raw location")),
            },
            "ingested" => UrlState::Ingested {
                record: RecordId::new(
                    self.record
                        .clone()
                        .ok_or_else(|| self.corrupt("ingested without a record id"))?,
                ),
                duplicate: self.duplicate.unwrap_or(false),
            },
            "failed" => UrlState::Failed {
                kind: self
                    .kind
                    .as_deref()
                    .and_then(FailureKind::parse)
                    .ok_or_else(|| self.corrupt("failure kind"))?,
                attempts: u32::try_from(self.attempts).map_err(|_| self.corrupt("attempts"))?,
                next_attempt: match &self.next_attempt {
                    None => None,
                    Some(t) => Some(
                        DateTime::parse_from_rfc3339(t)
                            .map_err(|_| self.corrupt("next_attempt"))?
                            .to_utc(),
                    ),
                },
            },
            "gone" => UrlState::Gone {
                status: self
                    .status
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| self.corrupt("status"))?,
            },
            "refused" => UrlState::Refused {
                reason: self
                    .refusal
                    .as_deref()
                    .and_then(Refusal::parse)
                    .ok_or_else(|| self.corrupt("refusal"))?,
            },
            other => return Err(self.corrupt(format!("unknown state {other:?}"))),
        })
    }

    fn entry(self) -> Result<Entry, FrontierError> {
        let state = self.state()?;
        let url = Url::parse(&self.fetch_url).map_err(|_| self.corrupt("fetch_url"))?;
        let source = SourceId::new(&self.source).map_err(|_| self.corrupt("source_id"))?;
        let published = self
            .published
            .as_deref()
            .and_then(|p| DateTime::parse_from_rfc3339(p).ok());
        Ok(Entry {
            key: UrlKey::from_stored(self.url),
            source,
            state,
            item: FeedItem {
                url,
                title: self.title,
                published,
            },
        })
    }
}

fn select(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Entry>, FrontierError> {
    let sql = format!("SELECT {COLUMNS} FROM frontier {filter}");
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(store_err("preparing a query"))?;
    let rows = stmt
        .query_map(args, read_row)
        .map_err(store_err("querying urls"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(store_err("reading urls"))?.entry()?);
    }
    Ok(out)
}

/// Writes `state` for `key`, inserting the row when the URL is new.
fn write_state(
    conn: &Connection,
    change: &Change,
    state: &UrlState,
    now: &str,
) -> rusqlite::Result<()> {
    let (record, duplicate) = match state {
        UrlState::Ingested { record, duplicate } => (Some(record.as_str()), Some(*duplicate)),
        _ => (None, None),
    };
    let raw = match state {
        UrlState::Fetched { raw } => Some(raw),
        _ => None,
    };
    let (kind, attempts, next) = match state {
        UrlState::Failed {
            kind,
            attempts,
            next_attempt,
        } => (Some(kind.as_str()), *attempts, next_attempt.map(ts)),
        _ => (None, 0, None),
    };
    let status = match state {
        UrlState::Gone { status } => Some(*status),
        _ => None,
    };
    let refusal = match state {
        UrlState::Refused { reason } => Some(reason.as_str()),
        _ => None,
    };
    let validators = match &change.transition {
        Transition::Ingested { validators, .. } => Some(validators),
        _ => None,
    };
    conn.prepare_cached(
        "INSERT INTO frontier (url, source_id, fetch_url, first_seen, state, updated)
         VALUES (?1, ?2, ?1, ?3, 'discovered', ?3) ON CONFLICT(url) DO NOTHING",
    )?
    .execute(params![change.key.as_str(), change.source.as_str(), now])?;
    conn.prepare_cached(
        "UPDATE frontier SET state = ?2, record_id = ?3, duplicate = ?4,
             raw_file = COALESCE(?5, raw_file), raw_offset = COALESCE(?6, raw_offset),
             raw_length = COALESCE(?7, raw_length), failure_kind = ?8, attempts = ?9,
             next_attempt = ?10, status = ?11, refusal = ?12,
             etag = CASE WHEN ?13 THEN ?14 ELSE etag END,
             last_modified = CASE WHEN ?13 THEN ?15 ELSE last_modified END, updated = ?16
         WHERE url = ?1",
    )?
    .execute(params![
        change.key.as_str(),
        state.name(),
        record,
        duplicate,
        raw.map(|r| r.file.to_string_lossy().into_owned()),
        raw.map(|r| r.offset as i64),
        raw.map(|r| r.length as i64),
        kind,
        attempts,
        next,
        status,
        refusal,
        validators.is_some(),
        validators.and_then(|v| v.etag.clone()),
        validators.and_then(|v| v.last_modified.clone()),
        now,
    ])?;
    Ok(())
}

impl FrontierStore for State {
    fn document_validators(
        &self,
        source: &SourceId,
    ) -> Result<HashMap<String, Validators>, FrontierError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT url, etag, last_modified FROM documents WHERE source_id = ?1")
            .map_err(store_err("preparing a query"))?;
        let rows = stmt
            .query_map([source.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Validators {
                        etag: r.get(1)?,
                        last_modified: r.get(2)?,
                    },
                ))
            })
            .map_err(store_err("reading document validators"))?;
        rows.collect::<Result<_, _>>()
            .map_err(store_err("reading document validators"))
    }

    fn admit(&self, listing: &Listing, now: DateTime<Utc>) -> Result<(), FrontierError> {
        let now = ts(now);
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(store_err("starting a transaction"))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO frontier (url, source_id, fetch_url, title, published, first_seen,
                         state, updated)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'discovered', ?6) ON CONFLICT(url) DO NOTHING",
                )
                .map_err(store_err("preparing admission"))?;
            for item in &listing.items {
                insert
                    .execute(params![
                        UrlKey::of(&item.url).as_str(),
                        listing.source.as_str(),
                        item.url.as_str(),
                        item.title,
                        item.published.map(|p| p.to_rfc3339()),
                        now
                    ])
                    .map_err(store_err("admitting a url"))?;
            }
        }
        if let Some((doc, v)) = &listing.document {
            tx.execute(
                "INSERT INTO documents (url, source_id, etag, last_modified, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(url) DO UPDATE
                 SET source_id = ?2, etag = ?3, last_modified = ?4, updated = ?5",
                params![doc, listing.source.as_str(), v.etag, v.last_modified, now],
            )
            .map_err(store_err("storing document validators"))?;
        }
        tx.commit().map_err(store_err("committing admission"))
    }

    fn states(&self, keys: &[UrlKey]) -> Result<HashMap<UrlKey, UrlState>, FrontierError> {
        let conn = self.conn();
        let mut out = HashMap::new();
        for key in keys {
            if let Some(e) = select(&conn, "WHERE url = ?1", &[&key.as_str()])?.pop() {
                out.insert(e.key, e.state);
            }
        }
        Ok(out)
    }

    fn due(
        &self,
        source: &SourceId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Entry>, FrontierError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        select(
            &self.conn(),
            "WHERE source_id = ?1 AND (state = 'discovered'
                 OR (state = 'failed' AND next_attempt IS NOT NULL AND next_attempt <= ?2))
             ORDER BY first_seen, rowid LIMIT ?3",
            &[&source.as_str(), &ts(now), &limit],
        )
    }

    fn unrecovered(&self) -> Result<Vec<Entry>, FrontierError> {
        select(&self.conn(), "WHERE state = 'fetched' ORDER BY rowid", &[])
    }

    fn exhausted(&self) -> Result<Vec<Entry>, FrontierError> {
        select(
            &self.conn(),
            "WHERE state = 'failed' AND next_attempt IS NULL ORDER BY source_id, url",
            &[],
        )
    }

    fn apply(
        &self,
        changes: &[Change],
        now: DateTime<Utc>,
        policy: &RetryPolicy,
    ) -> Result<(), FrontierError> {
        let stamp = ts(now);
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(store_err("starting a transaction"))?;
        for change in changes {
            let current = select(&tx, "WHERE url = ?1", &[&change.key.as_str()])?
                .pop()
                .map(|e| e.state);
            let next = transition::next(current.as_ref(), &change.transition, now, policy);
            write_state(&tx, change, &next, &stamp).map_err(store_err("writing a url state"))?;
        }
        tx.commit().map_err(store_err("committing url states"))
    }
}
