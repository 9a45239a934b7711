//! The SQLite backend of the frontier (`frontier`, `documents` and `stored_documents` tables): every SQL statement
//! about a URL's life is here. It stores and queries; the states themselves come from
//! [`crate::frontier::transition::next`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::frontier::transition::{self, RetryPolicy};
use crate::frontier::{
    Change, Entry, FrontierError, FrontierStore, Listing, StoredDocument, UrlKey, UrlState,
    Validators,
};
use crate::model::SourceId;

use super::State;
use super::columns::{Columns, StoredRow, document_raw, stored_document, ts};

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
CREATE TABLE IF NOT EXISTS stored_documents (
    url            TEXT PRIMARY KEY,
    source_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    etag           TEXT,
    last_modified  TEXT,
    raw_file       TEXT NOT NULL,
    raw_offset     INTEGER NOT NULL,
    raw_length     INTEGER NOT NULL,
    stored         TEXT NOT NULL
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

fn store_err(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> FrontierError {
    move |e| FrontierError::Store {
        operation,
        source: Box::new(e),
    }
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
    let c = Columns::of(change, state);
    let (raw_file, raw_offset, raw_length) = c.raw_columns();
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
        c.state,
        c.record,
        c.duplicate,
        raw_file,
        raw_offset,
        raw_length,
        c.kind,
        c.attempts,
        c.next_attempt.map(ts),
        c.status,
        c.refusal,
        c.validators.is_some(),
        c.validators.and_then(|v| v.etag.clone()),
        c.validators.and_then(|v| v.last_modified.clone()),
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
            tx.execute("DELETE FROM stored_documents WHERE url = ?1", [doc])
                .map_err(store_err("forgetting a stored document"))?;
        }
        tx.commit().map_err(store_err("committing admission"))
    }

    fn store_document(
        &self,
        doc: &StoredDocument,
        now: DateTime<Utc>,
    ) -> Result<(), FrontierError> {
        let (file, offset, length) = document_raw(doc);
        self.conn()
            .execute(
                "INSERT INTO stored_documents (url, source_id, kind, etag, last_modified,
                     raw_file, raw_offset, raw_length, stored)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(url) DO UPDATE
                 SET source_id = ?2, kind = ?3, etag = ?4, last_modified = ?5, raw_file = ?6,
                     raw_offset = ?7, raw_length = ?8, stored = ?9",
                params![
                    doc.url,
                    doc.source.as_str(),
                    doc.kind.as_str(),
                    doc.validators.etag,
                    doc.validators.last_modified,
                    file,
                    offset,
                    length,
                    ts(now)
                ],
            )
            .map(|_| ())
            .map_err(store_err("storing a discovery document"))
    }

    fn stored_documents(&self, source: &SourceId) -> Result<Vec<StoredDocument>, FrontierError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT source_id, url, kind, etag, last_modified, raw_file, raw_offset,
                     raw_length FROM stored_documents WHERE source_id = ?1 ORDER BY stored, url",
            )
            .map_err(store_err("preparing a query"))?;
        let rows = stmt
            .query_map([source.as_str()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .map_err(store_err("reading stored documents"))?;
        let rows: Vec<_> = rows
            .collect::<Result<_, _>>()
            .map_err(store_err("reading stored documents"))?;
        rows.into_iter().map(stored_document).collect()
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
