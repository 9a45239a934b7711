//! Tables whose rows are written once and read whole on open (`near_size`, `near_live`), read
//! from the copies of their rows beside the index where those are good.

use rusqlite::Connection;

use super::Copies;
use crate::state::{StateError, q};

/// A table of rows written once (`near_size`, `near_live`), read whole on open, from the
/// copies of its rows beside the index where they are good (`super::copies`, files named
/// `{kind}-{key}-{key}-{key}`): `list` gives three key numbers and the blob's length of each
/// row, `scan` the same keys and the blob of the rows whose first two keys come after `(?1,
/// ?2)`, both in key order.
pub(in crate::state::near) struct Rows {
    pub(in crate::state::near) list: &'static str,
    pub(in crate::state::near) scan: &'static str,
    pub(in crate::state::near) kind: &'static str,
    pub(in crate::state::near) what: &'static str,
}

impl Rows {
    /// Calls `f(key, blob)` for every row in key order: from the copies while they are good,
    /// then from the table for the rest (and copies those, when the connection has no
    /// uncommitted writes: `copies` is then given). Copies of rows gone are removed.
    pub(in crate::state::near) fn each(
        &self,
        conn: &Connection,
        copies: Option<&Copies>,
        f: &mut dyn FnMut([u32; 3], &[u8]),
    ) -> Result<(), StateError> {
        let what = self.what;
        let mut keep = Vec::new();
        let mut done: Option<[u32; 3]> = None;
        if let Some(copies) = copies {
            let mut stmt = conn.prepare_cached(self.list).map_err(q(what))?;
            let listed = stmt
                .query_map([], |r| {
                    Ok(([r.get(0)?, r.get(1)?, r.get(2)?], r.get::<_, i64>(3)?))
                })
                .map_err(q(what))?;
            let listed: Vec<([u32; 3], i64)> =
                listed.collect::<rusqlite::Result<_>>().map_err(q(what))?;
            let mut buf = Vec::new();
            for (key, len) in &listed {
                let name = self.name(*key);
                let len = usize::try_from(*len).unwrap_or(usize::MAX);
                if !copies.read_row(&name, key, len, &mut buf) {
                    break;
                }
                f(*key, &buf);
                done = Some(*key);
                keep.push(name);
            }
            if keep.len() == listed.len() {
                copies.sweep_names(&format!("{}-", self.kind), &keep);
                return Ok(());
            }
        }
        // The rows read from their copies are not read again.
        let after = done.map_or([-1, -1], |d| [i64::from(d[0]), i64::from(d[1])]);
        let mut stmt = conn.prepare_cached(self.scan).map_err(q(what))?;
        let mut rows = stmt.query(after).map_err(q(what))?;
        while let Some(row) = rows.next().map_err(q(what))? {
            let get = |i| row.get::<_, u32>(i).map_err(q(what));
            let key = [get(0)?, get(1)?, get(2)?];
            let blob = (row.get_ref(3).and_then(|v| Ok(v.as_blob()?))).map_err(q(what))?;
            if let Some(copies) = copies {
                let name = self.name(key);
                copies.write_row(&name, &key, blob);
                keep.push(name);
            }
            f(key, blob);
        }
        if let Some(copies) = copies {
            copies.sweep_names(&format!("{}-", self.kind), &keep);
        }
        Ok(())
    }

    fn name(&self, key: [u32; 3]) -> String {
        row_name(self.kind, key)
    }
}

/// `kind` of the `near_live` rows' copies.
pub(in crate::state::near) const LIVE: &str = "live";

/// The name of the copy of the row of table `kind` keyed `key`.
fn row_name(kind: &str, [a, b, c]: [u32; 3]) -> String {
    format!("{kind}-{a}-{b}-{c}")
}

/// Removes the copies of the `near_live` rows whose first record is outside `from..to`
/// (those about to be deleted), on a thread ([`Copies::remove_soon`]).
///
/// # Errors
/// Storage failures.
pub(in crate::state::near) fn remove_live_outside(
    conn: &Connection,
    copies: &Copies,
    from: u32,
    to: u32,
) -> Result<(), StateError> {
    let keys = conn
        .prepare_cached(
            "SELECT first_doc, chunk, end_doc FROM near_live WHERE first_doc < ?1 OR first_doc >= ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_map([from, to], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]))?
                .collect::<rusqlite::Result<Vec<[u32; 3]>>>()
        })
        .map_err(q("listing kept near postings"))?;
    let names: Vec<String> = keys.into_iter().map(|k| row_name(LIVE, k)).collect();
    if !names.is_empty() {
        copies.remove_soon(&names);
    }
    Ok(())
}
