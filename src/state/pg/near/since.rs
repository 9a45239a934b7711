//! What keeps the index lock short: the records a batch looks up under it are read by record
//! number, and the postings of a batch are written after it.
//!
//! A batch commits its records under the lock with their filed keys (`near_record.filed`) and
//! lists them in `near_unposted`; once the lock is released it writes their postings
//! (`near_band`) and takes them off the list, in a transaction of its own ([`post`]). So the
//! postings hold every record numbered up to the **posted mark**, the number just below the
//! lowest one listed (or the last record, when none is listed; [`posted_mark`]). A batch
//! looks its candidates up in the postings for the records up to the mark before the lock
//! (`early.rs`), and under the lock reads the records numbered above the mark whole, filed
//! keys included ([`read_since`]), and matches their keys in memory ([`Since::matches`]): a
//! few batches' worth of rows whatever the size of the index. Probing each of a batch's
//! ~11,200 lookup keys in `near_band` for records above a number, which PostgreSQL answers by
//! scanning the whole table, was the longest part of the serial section, and writing ~4,800
//! postings the second.
//!
//! Both ways give what one lookup in complete postings would: the same records, the same
//! count of distinct shared keys, by record number. A worker that dies between its commit and
//! its postings leaves its records listed, so the mark stops: any worker that sees a record
//! listed for longer than [`STUCK`] writes the postings of every such record
//! ([`post_stuck`]); postings written twice are not an error (a batch that meets postings
//! written already is written again with `ON CONFLICT DO NOTHING`).

use std::collections::HashMap;
use std::time::Duration;

use postgres::Client;

use super::super::{PgError, q};
use super::overlay::{self, Overlay};
use super::sql::{self, AFTER_COLUMNS, COLUMNS};

/// How long a record may stay listed in `near_unposted` before any worker writes its postings.
pub(super) const STUCK: Duration = Duration::from_secs(10);

/// Stored records numbered above a posted mark, by their filed keys.
#[derive(Debug)]
pub(super) struct Since {
    /// The posted mark: records numbered up to it are in the postings.
    pub upto: i64,
    /// Filed key → records above the mark filed under it.
    postings: HashMap<u32, Vec<i64>>,
}

impl Default for Since {
    /// None read: the postings hold every record (the mark is past any number).
    fn default() -> Self {
        Self {
            upto: i64::MAX,
            postings: HashMap::new(),
        }
    }
}

impl Since {
    /// The records above the mark sharing at least `dedup::keys::min_matches(bands)` keys with `bands`, with
    /// the number shared, by record number.
    pub fn matches(&self, bands: &[u32]) -> Vec<(i64, usize)> {
        overlay::matches(&self.postings, bands)
    }
}

/// The posted mark, and whether a record has been listed for longer than [`STUCK`] (one
/// statement, so both come from one snapshot).
///
/// # Errors
/// `Query`.
pub(super) fn posted_mark(c: &mut Client) -> Result<(i64, bool), PgError> {
    let row = c
        .query_one(
            "SELECT COALESCE((SELECT min(doc) - 1 FROM near_unposted),
                     (SELECT COALESCE(max(doc), -1) FROM near_record)),
                 EXISTS (SELECT 1 FROM near_unposted
                     WHERE queued < now() - make_interval(secs => $1))",
            &[&STUCK.as_secs_f64()],
        )
        .map_err(q("reading the posted mark of the near-duplicate index"))?;
    Ok((row.get(0), row.get(1)))
}

/// Under the lock: every stored record numbered above `upto`, loaded into `overlay`, with
/// its filed keys.
///
/// # Errors
/// `Query`; `Query` too for a record without filed keys (written by no binary of this
/// schema version).
pub(super) fn read_since(
    c: &mut Client,
    upto: i64,
    overlay: &mut Overlay,
) -> Result<Since, PgError> {
    let rows = c
        .query(
            &format!(
                "SELECT {COLUMNS}, r.filed FROM near_record r
                 JOIN near_record h ON h.doc = r.cluster WHERE r.doc > $1 ORDER BY r.doc"
            ),
            &[&upto],
        )
        .map_err(q("reading the records added since the early read"))?;
    let mut postings: HashMap<u32, Vec<i64>> = HashMap::new();
    for row in &rows {
        let doc = sql::read(row, overlay).map_err(q("reading the records added since"))?;
        let filed: Vec<i32> = row
            .try_get(AFTER_COLUMNS)
            .map_err(q("reading the filed keys of a record added since"))?;
        for k in filed {
            postings.entry(sql::unkey(k)).or_default().push(doc);
        }
    }
    Ok(Since { upto, postings })
}

/// The postings of the records a batch added (`(key, doc)` columns) and their numbers.
#[derive(Debug, Default)]
pub(super) struct Postings {
    keys: Vec<i32>,
    docs: Vec<i64>,
    records: Vec<i64>,
}

impl Postings {
    /// The postings of the records `overlay` adds.
    pub fn of(overlay: &Overlay) -> Self {
        let mut p = Self::default();
        for a in overlay.added() {
            p.push(a.doc, a.bands);
        }
        p
    }

    /// Adds the postings of record `doc` filed under `bands`, each key once (two bands of a
    /// record may hash to one key), so that a batch never conflicts with itself.
    fn push(&mut self, doc: i64, bands: &[u32]) {
        let mut own: Vec<i32> = bands.iter().map(|&k| sql::key(k)).collect();
        own.sort_unstable();
        own.dedup();
        self.docs.extend(std::iter::repeat_n(doc, own.len()));
        self.keys.extend(own);
        self.records.push(doc);
    }

    /// Whether the batch added no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// How many postings.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// After the lock: writes `postings` and takes their records off `near_unposted`, in one
/// transaction.
///
/// # Errors
/// `Query`; the records stay listed then (another worker posts them after [`STUCK`]).
pub(super) fn post(c: &mut Client, postings: &Postings) -> Result<(), PgError> {
    if postings.is_empty() {
        return Ok(());
    }
    // A plain insert costs PostgreSQL about half of one with `ON CONFLICT` (the speculative
    // insertion checks the index first); postings written already (another worker posted
    // these records as stuck meanwhile) abort it, and the batch is written again skipping them.
    match post_as(c, postings, "") {
        Err(PgError::Query { source, .. })
            if source.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) =>
        {
            post_as(c, postings, "ON CONFLICT DO NOTHING")
        }
        done => done,
    }
}

/// [`post`]'s transaction, the insert ending with `conflict`.
fn post_as(c: &mut Client, postings: &Postings, conflict: &str) -> Result<(), PgError> {
    let mut tx = c
        .transaction()
        .map_err(q("writing near-duplicate postings"))?;
    // Without waiting for the WAL flush: a crash loses the whole transaction or nothing of
    // it, and when it is lost the records are still listed, so their postings are written
    // again once they are stuck.
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .map_err(q("writing near-duplicate postings"))?;
    tx.execute(
        &format!(
            "INSERT INTO near_band (key, doc) SELECT * FROM unnest($1::int4[], $2::int8[]) {conflict}"
        ),
        &[&postings.keys, &postings.docs],
    )
    .map_err(q("writing near-duplicate postings"))?;
    tx.execute(
        "DELETE FROM near_unposted WHERE doc = ANY($1)",
        &[&postings.records],
    )
    .map_err(q("writing near-duplicate postings"))?;
    tx.commit().map_err(q("committing near-duplicate postings"))
}

/// Writes the postings of every record listed for longer than [`STUCK`] (its worker died
/// between its commit and its postings) from their filed keys, and takes them off the list,
/// in one statement; returns how many postings were written.
///
/// # Errors
/// `Query`.
pub(super) fn post_stuck(c: &mut Client) -> Result<u64, PgError> {
    c.execute(
        "WITH s AS (DELETE FROM near_unposted
             WHERE queued < now() - make_interval(secs => $1) RETURNING doc)
         INSERT INTO near_band (key, doc)
         SELECT unnest(r.filed), r.doc FROM near_record r JOIN s ON s.doc = r.doc
         ON CONFLICT DO NOTHING",
        &[&STUCK.as_secs_f64()],
    )
    .map_err(q("posting stuck records"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::pg::testing::TestDb;

    #[test]
    fn postings_another_worker_wrote_already_do_not_fail_the_batch() {
        let Some(db) = TestDb::new("state::pg::near::since::tests::postings_written_twice") else {
            return;
        };
        let _state = db.open();
        let mut c = db.client();
        let mut first = Postings::default();
        first.push(1, &[7, 9, 7]);
        first.push(2, &[7]);
        post(&mut c, &first).unwrap();
        // Record 2 was posted meanwhile (as stuck, by another worker): the plain insert
        // conflicts and the batch goes in skipping it.
        let mut second = Postings::default();
        second.push(2, &[7]);
        second.push(3, &[11]);
        post(&mut c, &second).unwrap();
        let rows: Vec<(i32, i64)> = c
            .query("SELECT key, doc FROM near_band ORDER BY doc, key", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let key = |k: u32| sql::key(k);
        assert_eq!(rows, [(key(7), 1), (key(9), 1), (key(7), 2), (key(11), 3)]);
    }
}
