//! The shapes most statements on the index's connections take: one write, one row read (or
//! none), every row read, and a scan of `(key, blob)` rows that lends the blobs without copying
//! them. Each prepares its statement once per connection (`prepare_cached`) and names the
//! operation in its errors.
//!
//! No statement run once an add orders its rows with `ORDER BY` after an equality on a
//! parameter (`WHERE cluster = ?1 … ORDER BY doc`): SQLite (the bundled 3.5x) then marks the
//! statement as depending on that parameter's value and prepares it anew at every bind, so a
//! cached statement was parsed and planned again at each call: 3 % of the dedup bench's CPU at
//! 600 k records (`perf record --call-graph dwarf`: `sqlite3Reprepare` under cluster members
//! and digest relations). Their callers sort the few rows instead; the test below counts
//! re-preparations.

use rusqlite::{Connection, OptionalExtension, Params, Row};

use crate::state::{StateError, q};

use super::NearDb;

/// The members of a cluster, in no order (sorted after: see the module doc on `ORDER BY`).
pub(super) const MEMBERS: &str = "SELECT doc, id, cluster, published, republished, source, \
    url_len, shingles, facts0, facts1 FROM near_record WHERE cluster = ?1 AND cluster <> doc";
/// The stories a digest contains, in no order (as [`MEMBERS`]).
pub(super) const CONTAINS: &str = "SELECT story FROM near_contains WHERE digest = ?1";
/// The digests containing a story, in no order (as [`MEMBERS`]).
pub(super) const WITHIN: &str = "SELECT digest FROM near_contains WHERE story = ?1";

impl NearDb {
    /// Runs the write `sql` with `params` in the open transaction (beginning one if none is
    /// open); the rows it changed. `what` names it in errors.
    pub(super) fn write(
        &mut self,
        sql: &str,
        params: impl Params,
        what: &'static str,
    ) -> Result<usize, StateError> {
        self.begin()?;
        execute(&self.conn, sql, params, what)
    }
}

/// Runs the statement `sql` with `params` on `conn`; the rows it changed. `what` names it in
/// errors.
pub(super) fn execute(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    what: &'static str,
) -> Result<usize, StateError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(q(what))
}

/// The first row of `sql` with `params` read by `read`, if there is one. `what` names the
/// read in errors.
pub(super) fn read_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    what: &'static str,
) -> Result<Option<T>, StateError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, read).optional())
        .map_err(q(what))
}

/// Every row of `sql` with `params` read by `read`, in order. `what` names the read in errors.
pub(super) fn read_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    what: &'static str,
) -> Result<Vec<T>, StateError> {
    let mut stmt = conn.prepare_cached(sql).map_err(q(what))?;
    let rows = stmt.query_map(params, read).map_err(q(what))?;
    rows.collect::<rusqlite::Result<_>>().map_err(q(what))
}

/// Calls `f(key, blob)` for every row of `sql` (an integer that fits a `u32`, then a blob) with
/// `params`, without copying the blobs; `what` names the read in errors.
pub(super) fn for_each_blob(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    what: &'static str,
    f: &mut dyn FnMut(u32, &[u8]),
) -> Result<(), StateError> {
    let mut stmt = conn.prepare_cached(sql).map_err(q(what))?;
    let mut rows = stmt.query(params).map_err(q(what))?;
    while let Some(row) = rows.next().map_err(q(what))? {
        let key: u32 = row.get(0).map_err(q(what))?;
        let blob = row
            .get_ref(1)
            .and_then(|v| Ok(v.as_blob()?))
            .map_err(q(what))?;
        f(key, blob);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::super::tests::doc;
    use super::super::{NearDb, RECORD_COLUMNS};
    use super::{CONTAINS, MEMBERS, WITHIN};
    use crate::dedup::disk::NearBackend;

    #[test]
    fn reads_an_add_makes_are_prepared_once() {
        assert!(MEMBERS.contains(&RECORD_COLUMNS.replace('\n', " ")));
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        for n in 0..20 {
            db.members(n).unwrap();
            db.relations(n).unwrap();
        }
        for sql in [MEMBERS, CONTAINS, WITHIN] {
            let stmt = db.conn.prepare_cached(sql).unwrap();
            let again = stmt.get_status(StatementStatus::RePrepare);
            assert_eq!(again, 0, "{sql} prepared anew {again} times");
        }
        // The shape the doc warns of is prepared anew at every bind (what this test guards).
        let ordered = "SELECT story FROM near_contains WHERE digest = ?1 ORDER BY story";
        for n in 0..3 {
            let mut stmt = db.conn.prepare_cached(ordered).unwrap();
            stmt.query([n]).unwrap().next().unwrap();
        }
        let stmt = db.conn.prepare_cached(ordered).unwrap();
        assert!(stmt.get_status(StatementStatus::RePrepare) > 0);
    }

    #[test]
    fn reads_share_one_transaction_that_a_commit_ends() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let count = |db: &NearDb| -> u32 {
            let sql = "SELECT count(*) FROM near_record";
            db.conn.query_row(sql, [], |r| r.get(0)).unwrap()
        };
        db.insert(&doc(0, 0), &[1, 2]).unwrap();
        db.commit().unwrap();
        assert!(db.conn.is_autocommit());
        // Reads only: held open, no writes pending, a second connection still offered.
        assert!(db.record(0).unwrap().is_some());
        db.relations(0).unwrap();
        assert!(!db.conn.is_autocommit());
        assert!(!db.in_tx && db.reader().is_some());
        // A write joins the held transaction; another connection sees it once committed.
        db.insert(&doc(1, 0), &[3, 4]).unwrap();
        let other = NearDb::read_only(&db.path, None).unwrap();
        assert_eq!(count(&other), 1);
        db.commit().unwrap();
        assert!(db.conn.is_autocommit() && !db.in_tx);
        assert_eq!(count(&other), 2);
        // Reads only, then a commit: the transaction ends.
        db.members(0).unwrap();
        db.commit().unwrap();
        assert!(db.conn.is_autocommit());
    }
}
