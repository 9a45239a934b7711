//! The shapes most statements on the index's connections take: one write, one row read (or
//! none), every row read, and a scan of `(key, blob)` rows that lends the blobs without copying
//! them. Each prepares its statement once per connection (`prepare_cached`) and names the
//! operation in its errors.

use rusqlite::{Connection, OptionalExtension, Params, Row};

use crate::state::{StateError, q};

use super::NearDb;

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
