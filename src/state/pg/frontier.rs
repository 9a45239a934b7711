//! [`FrontierStore`] on PostgreSQL: the same queries as the SQLite backend, made safe for many
//! writers. A batch of transitions locks its rows (`SELECT … FOR UPDATE`) before it reads the
//! current states, so two workers never both move a URL from the same state; it inserts and
//! locks in key order, so two batches cannot deadlock. Admission is one `INSERT … SELECT FROM unnest`
//! per listing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use postgres::GenericClient;
use postgres::types::ToSql;

use crate::frontier::transition::{self, RetryPolicy};
use crate::frontier::{
    Change, Entry, FrontierError, FrontierStore, Listing, StoredDocument, UrlKey, UrlState,
    Validators,
};
use crate::model::{HostKey, SourceId};

use super::super::columns::{Columns, StoredRow, document_raw, stored_document, ts};
use super::PgState;

const COLUMNS: &str = "url, source_id, fetch_url, title, published, state, record_id, duplicate,
    raw_file, raw_offset, raw_length, failure_kind, attempts, next_attempt, status, refusal";

fn store_err(operation: &'static str) -> impl FnOnce(postgres::Error) -> FrontierError {
    move |e| FrontierError::Store {
        operation,
        source: Box::new(e),
    }
}

/// The host column of a URL (or key) as text: `HostKey`, or empty for a URL without one.
pub(crate) fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| HostKey::try_from(&u).ok())
        .map(|h| h.as_str().to_owned())
        .unwrap_or_default()
}

fn read_row(r: &postgres::Row) -> Result<StoredRow, postgres::Error> {
    let attempts: i32 = r.try_get(12)?;
    let next_attempt: Option<DateTime<Utc>> = r.try_get(13)?;
    let status: Option<i32> = r.try_get(14)?;
    Ok(StoredRow {
        url: r.try_get(0)?,
        source: r.try_get(1)?,
        fetch_url: r.try_get(2)?,
        title: r.try_get(3)?,
        published: r.try_get(4)?,
        state: r.try_get(5)?,
        record: r.try_get(6)?,
        duplicate: r.try_get(7)?,
        raw: (r.try_get(8)?, r.try_get(9)?, r.try_get(10)?),
        kind: r.try_get(11)?,
        attempts: i64::from(attempts),
        next_attempt: next_attempt.map(ts),
        status: status.map(i64::from),
        refusal: r.try_get(15)?,
    })
}

pub(super) fn select(
    client: &mut impl GenericClient,
    filter: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Entry>, FrontierError> {
    let sql = format!("SELECT {COLUMNS} FROM frontier {filter}");
    let rows = client
        .query(&sql, args)
        .map_err(store_err("querying urls"))?;
    rows.iter()
        .map(|r| read_row(r).map_err(store_err("reading urls"))?.entry())
        .collect()
}

/// Writes `state` for `change.key`; the row exists and is locked.
fn write_state(
    client: &mut impl GenericClient,
    change: &Change,
    state: &UrlState,
    now: DateTime<Utc>,
) -> Result<(), postgres::Error> {
    let c = Columns::of(change, state);
    let (raw_file, raw_offset, raw_length) = c.raw_columns();
    let attempts = i32::try_from(c.attempts).unwrap_or(i32::MAX);
    let status = c.status.map(i32::from);
    let etag = c.validators.and_then(|v| v.etag.clone());
    let last_modified = c.validators.and_then(|v| v.last_modified.clone());
    client.execute(
        "UPDATE frontier SET state = $2, record_id = $3, duplicate = $4,
             raw_file = COALESCE($5, raw_file), raw_offset = COALESCE($6, raw_offset),
             raw_length = COALESCE($7, raw_length), failure_kind = $8, attempts = $9,
             next_attempt = $10, status = $11, refusal = $12,
             etag = CASE WHEN $13 THEN $14 ELSE etag END,
             last_modified = CASE WHEN $13 THEN $15 ELSE last_modified END, updated = $16
         WHERE url = $1",
        &[
            &change.key.as_str(),
            &c.state,
            &c.record,
            &c.duplicate,
            &raw_file,
            &raw_offset,
            &raw_length,
            &c.kind,
            &attempts,
            &c.next_attempt,
            &status,
            &c.refusal,
            &c.validators.is_some(),
            &etag,
            &last_modified,
            &now,
        ],
    )?;
    Ok(())
}

/// Applies `order` (sorted by key, stable) in the open transaction: inserts the new URLs and
/// their hosts, locks every row of the batch in key order and reads its state (three
/// statements for the batch), then writes each URL's next state (one statement per change).
fn apply_batch(
    client: &mut impl GenericClient,
    order: &[&Change],
    now: DateTime<Utc>,
    policy: &RetryPolicy,
) -> Result<(), FrontierError> {
    let mut keys: Vec<&str> = order.iter().map(|c| c.key.as_str()).collect();
    keys.dedup();
    let sources: Vec<&str> = order.iter().map(|c| c.source.as_str()).collect();
    let all_keys: Vec<&str> = order.iter().map(|c| c.key.as_str()).collect();
    let hosts: Vec<String> = all_keys.iter().map(|k| host_of(k)).collect();
    client
        .execute(
            "INSERT INTO frontier (url, source_id, host, fetch_url, first_seen, state, updated)
             SELECT u.url, u.source_id, u.host, u.url, $4, 'discovered', $4
             FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
                 AS u (url, source_id, host, n)
             ORDER BY u.n
             ON CONFLICT (url) DO NOTHING",
            &[&all_keys, &sources, &hosts, &now],
        )
        .map_err(store_err("inserting urls"))?;
    client
        .execute(
            "INSERT INTO hosts (host) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING",
            &[&hosts],
        )
        .map_err(store_err("inserting hosts"))?;
    let mut current: HashMap<UrlKey, UrlState> = select(
        client,
        "WHERE url = ANY($1) ORDER BY url FOR UPDATE",
        &[&keys],
    )?
    .into_iter()
    .map(|e| (e.key, e.state))
    .collect();
    for change in order {
        let next = transition::next(current.get(&change.key), &change.transition, now, policy);
        write_state(client, change, &next, now).map_err(store_err("writing a url state"))?;
        current.insert(change.key.clone(), next);
    }
    Ok(())
}

/// Admission's columns, one array per column, for `unnest`.
#[derive(Default)]
struct AdmitColumns {
    url: Vec<String>,
    host: Vec<String>,
    fetch_url: Vec<String>,
    title: Vec<Option<String>>,
    published: Vec<Option<String>>,
}

impl AdmitColumns {
    fn of(listing: &Listing) -> Self {
        let mut c = Self::default();
        for item in &listing.items {
            c.url.push(UrlKey::of(&item.url).as_str().to_owned());
            c.host.push(host_of(item.url.as_str()));
            c.fetch_url.push(item.url.to_string());
            c.title.push(item.title.clone());
            c.published.push(item.published.map(|p| p.to_rfc3339()));
        }
        c
    }
}

impl FrontierStore for PgState {
    fn document_validators(
        &self,
        source: &SourceId,
    ) -> Result<HashMap<String, Validators>, FrontierError> {
        let rows = self
            .client()
            .query(
                "SELECT url, etag, last_modified FROM documents WHERE source_id = $1",
                &[&source.as_str()],
            )
            .map_err(store_err("reading document validators"))?;
        rows.iter()
            .map(|r| {
                let v = Validators {
                    etag: r.try_get(1)?,
                    last_modified: r.try_get(2)?,
                };
                Ok((r.try_get(0)?, v))
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(store_err("reading document validators"))
    }

    fn admit(&self, listing: &Listing, now: DateTime<Utc>) -> Result<(), FrontierError> {
        let c = AdmitColumns::of(listing);
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(store_err("starting a transaction"))?;
        tx.execute(
            "INSERT INTO frontier (url, source_id, host, fetch_url, title, published, first_seen,
                 state, updated)
             SELECT u.url, $6, u.host, u.fetch_url, u.title, u.published, $7, 'discovered', $7
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                 WITH ORDINALITY AS u (url, host, fetch_url, title, published, n)
             ORDER BY u.n
             ON CONFLICT (url) DO NOTHING",
            &[
                &c.url,
                &c.host,
                &c.fetch_url,
                &c.title,
                &c.published,
                &listing.source.as_str(),
                &now,
            ],
        )
        .map_err(store_err("admitting urls"))?;
        tx.execute(
            "INSERT INTO hosts (host) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING",
            &[&c.host],
        )
        .map_err(store_err("admitting hosts"))?;
        if let Some((doc, v)) = &listing.document {
            tx.execute(
                "INSERT INTO documents (url, source_id, etag, last_modified, updated)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (url) DO UPDATE
                 SET source_id = $2, etag = $3, last_modified = $4, updated = $5",
                &[
                    doc,
                    &listing.source.as_str(),
                    &v.etag,
                    &v.last_modified,
                    &now,
                ],
            )
            .map_err(store_err("storing document validators"))?;
            tx.execute("DELETE FROM stored_documents WHERE url = $1", &[doc])
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
        self.client()
            .execute(
                "INSERT INTO stored_documents (url, source_id, kind, etag, last_modified,
                     raw_file, raw_offset, raw_length, stored)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (url) DO UPDATE
                 SET source_id = $2, kind = $3, etag = $4, last_modified = $5, raw_file = $6,
                     raw_offset = $7, raw_length = $8, stored = $9",
                &[
                    &doc.url,
                    &doc.source.as_str(),
                    &doc.kind.as_str(),
                    &doc.validators.etag,
                    &doc.validators.last_modified,
                    &file,
                    &offset,
                    &length,
                    &now,
                ],
            )
            .map(|_| ())
            .map_err(store_err("storing a discovery document"))
    }

    fn stored_documents(&self, source: &SourceId) -> Result<Vec<StoredDocument>, FrontierError> {
        let rows = self
            .client()
            .query(
                "SELECT source_id, url, kind, etag, last_modified, raw_file, raw_offset,
                     raw_length FROM stored_documents WHERE source_id = $1 ORDER BY stored, url",
                &[&source.as_str()],
            )
            .map_err(store_err("reading stored documents"))?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                    r.try_get(7)?,
                ))
            })
            .collect::<Result<Vec<_>, postgres::Error>>()
            .map_err(store_err("reading stored documents"))?;
        rows.into_iter().map(stored_document).collect()
    }

    fn states(&self, keys: &[UrlKey]) -> Result<HashMap<UrlKey, UrlState>, FrontierError> {
        let keys: Vec<&str> = keys.iter().map(UrlKey::as_str).collect();
        let entries = select(&mut *self.client(), "WHERE url = ANY($1)", &[&keys])?;
        Ok(entries.into_iter().map(|e| (e.key, e.state)).collect())
    }

    fn due(
        &self,
        source: &SourceId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Entry>, FrontierError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        select(
            &mut *self.client(),
            "WHERE source_id = $1 AND (state = 'discovered'
                 OR (state = 'failed' AND next_attempt IS NOT NULL AND next_attempt <= $2))
             ORDER BY first_seen, seq LIMIT $3",
            &[&source.as_str(), &now, &limit],
        )
    }

    fn unrecovered(&self) -> Result<Vec<Entry>, FrontierError> {
        // Not those of a host a live lease covers: they are in that worker's flush.
        select(
            &mut *self.client(),
            "f WHERE f.state = 'fetched' AND NOT EXISTS (SELECT 1 FROM hosts h
                 WHERE h.host = f.host AND h.lease_expires > now())
             ORDER BY f.seq",
            &[],
        )
    }

    fn exhausted(&self) -> Result<Vec<Entry>, FrontierError> {
        select(
            &mut *self.client(),
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
        // Lock rows in key order (stable: a URL's own changes keep their order), so that two
        // workers' batches over the same URLs wait for each other instead of deadlocking.
        let mut order: Vec<&Change> = changes.iter().collect();
        order.sort_by(|a, b| a.key.cmp(&b.key));
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(store_err("starting a transaction"))?;
        apply_batch(&mut tx, &order, now, policy)?;
        tx.commit().map_err(store_err("committing url states"))
    }
}
