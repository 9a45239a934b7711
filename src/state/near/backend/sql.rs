//! The two shapes most of [`super::NearBackend`]'s statements take on [`NearDb`]: one write in
//! the open transaction, and one row read (or none); and a scan of `(key, blob)` rows that
//! lends the blobs without copying them.

use rusqlite::{OptionalExtension, Params, Row};

use crate::state::near::NearDb;
use crate::state::{StateError, q};

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
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(q(what))
    }

    /// The first row of `sql` with `params` read by `read`, if there is one. `what` names the
    /// read in errors.
    pub(super) fn read_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
        what: &'static str,
    ) -> Result<Option<T>, StateError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params, read).optional())
            .map_err(q(what))
    }

    /// Every row of `sql` with `params` read by `read`, in order. `what` names the read in
    /// errors.
    pub(super) fn read_rows<T>(
        &self,
        sql: &str,
        params: impl Params,
        read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
        what: &'static str,
    ) -> Result<Vec<T>, StateError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(q(what))?;
        let rows = stmt.query_map(params, read).map_err(q(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(q(what))
    }
}

/// Calls `f(key, blob)` for every row of `sql` (an integer that fits a `u32`, then a blob) with
/// `params`, without copying the blobs; `what` names the read in errors.
pub(super) fn for_each_blob(
    conn: &rusqlite::Connection,
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
