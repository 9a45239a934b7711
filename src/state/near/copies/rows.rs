//! Tables whose rows are written once and read whole on open (`near_size`, `near_live`), read
//! from the copies of their rows beside the index where those are good.

use std::sync::PoisonError;

use rusqlite::Connection;

use super::Copies;
use crate::state::near::sql::read_rows;
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
            let read = |r: &rusqlite::Row<'_>| Ok(([r.get(0)?, r.get(1)?, r.get(2)?], r.get(3)?));
            let listed: Vec<([u32; 3], i64)> = read_rows(conn, self.list, [], read, what)?;
            'rows: for batch in listed.chunks(READ_AHEAD) {
                for ((key, _), blob) in batch.iter().zip(self.read_copies(copies, batch)) {
                    let Some(blob) = blob else { break 'rows };
                    f(*key, &blob);
                    done = Some(*key);
                    keep.push(self.name(*key));
                }
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

    /// The copies of `batch`'s rows (keys and lengths); `None` for a copy not good.
    fn read_copies(&self, copies: &Copies, batch: &[([u32; 3], i64)]) -> Vec<Option<Vec<u8>>> {
        let wanted: Vec<(String, [u32; 3], Option<usize>)> = (batch.iter())
            .map(|(key, len)| {
                let len = usize::try_from(*len).unwrap_or(usize::MAX);
                (self.name(*key), *key, Some(len))
            })
            .collect();
        copies.read_rows(&wanted)
    }

    fn name(&self, key: [u32; 3]) -> String {
        row_name(self.kind, key)
    }
}

impl Copies {
    /// The copies of the rows `wanted` (name, key and, if known, length), each read on a
    /// thread of its own; `None` for a copy not good. Read one after another from a disk that
    /// has not cached them, each 390–512 KiB copy waited ~6 ms (85 MB/s: 0.8 s for the kept
    /// postings of the first open after a 1 M run); read [`READ_AHEAD`] at a time, the disk
    /// serves them together.
    pub(in crate::state::near) fn read_rows(
        &self,
        wanted: &[(String, [u32; 3], Option<usize>)],
    ) -> Vec<Option<Vec<u8>>> {
        let read = |(name, key, len): &(String, [u32; 3], Option<usize>)| {
            let mut buf = Vec::new();
            let path = self.dir.join(name);
            (self.read_into(&path, &super::row_tag(key), *len, &mut buf)).then_some(buf)
        };
        std::thread::scope(|s| {
            let started: Vec<_> = (wanted.iter())
                .map(|row| {
                    let thread = std::thread::Builder::new().name("near-rows".into());
                    // No thread: read on this one.
                    thread
                        .spawn_scoped(s, move || read(row))
                        .map_err(|_| read(row))
                })
                .collect();
            (started.into_iter())
                .map(|t| match t {
                    Ok(thread) => thread.join().unwrap_or(None),
                    Err(read) => read,
                })
                .collect()
        })
    }

    /// Copies the row of table `kind` keyed `key` written in the open transaction, under a
    /// temporary name until [`Copies::publish`] (after the commit) gives it its own: the first
    /// open after a run then reads the rows the run wrote from their copies, in sequence,
    /// instead of from the table's pages wherever SQLite put them, copying them as it goes. A
    /// rollback leaves the temporary file to [`Copies::unstage`] or the next sweep.
    pub(in crate::state::near) fn stage_row(&self, kind: &str, key: [u32; 3], blob: &[u8]) {
        let path = self.dir.join(row_name(kind, key));
        if let Some(tmp) = self.write_tmp(&path, &super::row_tag(&key), blob) {
            self.staged_rows().push((tmp, path));
        }
    }

    /// Removes the copy of the row of table `kind` keyed `key`, if there is one (the row is
    /// written anew).
    pub(in crate::state::near) fn remove_row(&self, kind: &str, key: [u32; 3]) {
        let _ = std::fs::remove_file(self.dir.join(row_name(kind, key)));
    }

    /// Gives the rows staged since the last commit their names (called once it succeeded).
    pub(in crate::state::near) fn publish(&self) {
        for (tmp, path) in std::mem::take(&mut *self.staged_rows()) {
            self.name_tmp(&tmp, &path);
        }
    }

    /// Removes the rows staged since the last commit (it failed, or the index was emptied).
    pub(in crate::state::near) fn unstage(&self) {
        for (tmp, _) in std::mem::take(&mut *self.staged_rows()) {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    fn staged_rows(
        &self,
    ) -> std::sync::MutexGuard<'_, Vec<(std::path::PathBuf, std::path::PathBuf)>> {
        self.staged.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Row copies read at once on open ([`Rows::each`], `tail::each`).
pub(in crate::state::near) const READ_AHEAD: usize = 16;

/// `kind` of the `near_size` rows' copies.
pub(in crate::state::near) const SIZE: &str = "size";

/// `kind` of the `near_live` rows' copies.
pub(in crate::state::near) const LIVE: &str = "live";

/// `kind` of the copies of `near_tail` rows, a block of records each (`super::super::tail`).
pub(in crate::state::near) const TAIL: &str = "tail";

/// The name of the copy of the row of table `kind` keyed `key`.
pub(in crate::state::near) fn row_name(kind: &str, [a, b, c]: [u32; 3]) -> String {
    format!("{kind}-{a}-{b}-{c}")
}

/// Copies the `near_live` rows keyed `keys` that the table holds (a closing connection's:
/// those it wrote), then forgets the keys. Best effort: a row not copied is read from the
/// table by the next open, which copies it.
pub(in crate::state::near) fn copy_live(
    conn: &Connection,
    copies: &Copies,
    keys: &mut Vec<[u32; 3]>,
) {
    keys.sort_unstable();
    keys.dedup();
    let sql = "SELECT postings FROM near_live WHERE first_doc = ?1 AND chunk = ?2 AND end_doc = ?3";
    let Ok(mut stmt) = conn.prepare_cached(sql) else {
        return;
    };
    for key in keys.drain(..) {
        let Ok(mut rows) = stmt.query(key) else {
            return;
        };
        if let Ok(Some(row)) = rows.next()
            && let Ok(blob) = row.get_ref(0).and_then(|v| Ok(v.as_blob()?))
        {
            copies.write_row(&row_name(LIVE, key), &key, blob);
        }
    }
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
    let sql =
        "SELECT first_doc, chunk, end_doc FROM near_live WHERE first_doc < ?1 OR first_doc >= ?2";
    let read = |r: &rusqlite::Row<'_>| Ok([r.get(0)?, r.get(1)?, r.get(2)?]);
    let keys: Vec<[u32; 3]> = read_rows(conn, sql, [from, to], read, "listing kept near postings")?;
    let names: Vec<String> = keys.into_iter().map(|k| row_name(LIVE, k)).collect();
    if !names.is_empty() {
        copies.remove_soon(&names);
    }
    Ok(())
}
