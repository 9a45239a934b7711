//! The `near_tail` rows (band keys of the records not yet in a run), and their copies beside
//! the index in blocks of [`BLOCK`] records (`tail-{first}-{BLOCK}-0`).
//!
//! An open rebuilds the tail from these rows. Read from the table, they are random reads:
//! `near_tail` pages freed by every flush are taken again by the next records, so at 10 M
//! records the ~130 000 rows of a tail were ~1 200 page reads scattered through the file (with
//! `near_record`'s), ~5 ms each on a disk that has not cached them. So the rows are also
//! gathered as they are inserted, and each block of [`BLOCK`] records, once committed whole,
//! is written beside the index as one file ([`Gather`]); an open reads the whole blocks from
//! their copies and the rest (the last block, a block not copied) from the table
//! ([`each`]).
//!
//! A block is copied only by the process that inserted its first record, so a copy holds rows
//! committed together by one writer; a process that inserts into a block it did not start
//! removes that block's copy (a copy of records a lost commit took away would otherwise
//! outlive them). Copies of blocks wholly before the records a new run keeps are removed with
//! the rows ([`Gather::trimmed`]); an open removes the copies it does not use, and copies the
//! whole blocks it had to read from the table (an index written before the copies,
//! 2026-12-03). A copy is read only when whole, of this index, and holding exactly its
//! block's records in order.

use rusqlite::{Connection, params};

use super::copies::{Copies, TAIL};
use super::sql::execute;
use crate::state::{StateError, q};

/// Records per copied block: a copy of ~280 KB; the last block of a tail (up to this many
/// rows) is read from the table.
pub(super) const BLOCK: u32 = 1024;

/// `published` of a record without a date, in a block's rows.
const UNDATED: i64 = i64::MIN;

/// Stores the `near_tail` row of record `doc`.
///
/// # Errors
/// Storage failures.
pub(super) fn insert(conn: &Connection, doc: u32, bands: &[u32]) -> Result<(), StateError> {
    let blob: Vec<u8> = bands.iter().flat_map(|b| b.to_le_bytes()).collect();
    let sql = "INSERT INTO near_tail (doc, bands) VALUES (?1, ?2)";
    execute(conn, sql, params![doc, blob], "indexing record bands").map(drop)
}

/// Rows of the block being gathered, and the whole blocks waiting for their commit.
#[derive(Debug, Default)]
pub(super) struct Gather {
    /// First record of the block being gathered; `None` when this process did not insert the
    /// first record of the block it inserts into.
    start: Option<u32>,
    /// The block's rows so far ([`encode`]).
    rows: Vec<u8>,
    /// Records in `rows`.
    count: u32,
    /// The block this process inserts into without having started it (its copy removed).
    skipped: Option<u32>,
    /// Whole blocks of the open transaction: `(first record, rows)`.
    whole: Vec<(u32, Vec<u8>)>,
}

impl Gather {
    /// Adds the row of record `doc` (inserted in the open transaction).
    pub(super) fn push(
        &mut self,
        copies: Option<&Copies>,
        doc: u32,
        (shingles, published): (u32, Option<i64>),
        bands: &[u32],
    ) {
        if doc.is_multiple_of(BLOCK) {
            (self.start, self.count) = (Some(doc), 0);
            self.rows.clear();
        } else if self.start.map(|s| s + self.count) != Some(doc) {
            self.start = None;
            let block = doc - doc % BLOCK;
            if self.skipped != Some(block) {
                self.skipped = Some(block);
                if let Some(copies) = copies {
                    copies.remove_row(TAIL, tag(block));
                }
            }
            return;
        }
        encode(&mut self.rows, doc, (shingles, published), bands);
        self.count += 1;
        if let (Some(start), BLOCK) = (self.start, self.count) {
            self.whole.push((start, std::mem::take(&mut self.rows)));
            self.start = None;
        }
    }

    /// The transaction committed: copies its whole blocks.
    pub(super) fn committed(&mut self, copies: Option<&Copies>) {
        for (start, rows) in std::mem::take(&mut self.whole) {
            if let Some(copies) = copies {
                copies.write_row(&name(start), &tag(start), &rows);
            }
        }
    }

    /// The transaction rolled back (or the index was emptied): nothing gathered is copied.
    pub(super) fn rolled_back(&mut self) {
        self.whole.clear();
        self.rows.clear();
        (self.start, self.count) = (None, 0);
    }

    /// The rows before `tail_from` are deleted: removes the copies of blocks wholly before it.
    pub(super) fn trimmed(copies: &Copies, tail_from: u32) {
        let gone: Vec<String> = (copies.names(&format!("{TAIL}-")).into_iter())
            .filter(|n| block_of(n).is_some_and(|s| s.saturating_add(BLOCK) <= tail_from))
            .collect();
        if !gone.is_empty() {
            copies.remove_soon(&gone);
        }
    }
}

/// Calls `f(doc, keys, shingles, published)` for every `near_tail` row from record `from` on,
/// in record order: whole blocks from their copies where those are good (read several at a
/// time), the rest from the table (whole blocks read there are copied). Copies not used are
/// removed.
///
/// # Errors
/// Storage failures.
pub(super) fn each(
    conn: &Connection,
    copies: &Copies,
    from: u32,
    f: &mut dyn FnMut(u32, Vec<u32>, u32, Option<i64>),
) -> Result<(), StateError> {
    let last: Option<u32> = conn
        .query_row("SELECT max(doc) FROM near_tail", [], |r| r.get(0))
        .map_err(q("loading index tail"))?;
    let first = from - from % BLOCK;
    let whole = last.map_or(0, |l| (l.saturating_add(1).saturating_sub(first)) / BLOCK);
    let starts: Vec<u32> = (0..whole).map(|i| first + i * BLOCK).collect();
    let (mut keep, mut next) = (Vec::new(), from);
    for batch in starts.chunks(super::copies::READ_AHEAD) {
        let wanted: Vec<_> = batch.iter().map(|&s| (name(s), tag(s), None)).collect();
        for (&start, copy) in batch.iter().zip(copies.read_rows(&wanted)) {
            let end = start + BLOCK;
            let decoded = copy.and_then(|bytes| decode(start, &bytes));
            match decoded {
                Some(rows) => {
                    for (doc, keys, shingles, published) in rows {
                        if doc >= next {
                            f(doc, keys, shingles, published);
                        }
                    }
                    keep.push(name(start));
                }
                None => {
                    if from_table(conn, copies, (start, next), f)? {
                        keep.push(name(start));
                    }
                }
            }
            next = next.max(end);
        }
    }
    rows(conn, (next, u32::MAX), f)?;
    copies.sweep_names(&format!("{TAIL}-"), &keep);
    Ok(())
}

/// Calls `f` for the rows of the block starting at `start` from record `next` on, read from
/// the table, and copies the block when the table holds it whole (an index written before
/// the copies, a copy that was bad): returns whether it did.
///
/// # Errors
/// Storage failures.
fn from_table(
    conn: &Connection,
    copies: &Copies,
    (start, next): (u32, u32),
    f: &mut dyn FnMut(u32, Vec<u32>, u32, Option<i64>),
) -> Result<bool, StateError> {
    let (mut block, mut count) = (Vec::new(), 0);
    rows(
        conn,
        (start, start + BLOCK),
        &mut |doc, keys, shingles, published| {
            encode(&mut block, doc, (shingles, published), &keys);
            count += 1;
            if doc >= next {
                f(doc, keys, shingles, published);
            }
        },
    )?;
    let whole = count == BLOCK;
    if whole {
        copies.write_row(&name(start), &tag(start), &block);
    }
    Ok(whole)
}

/// Calls `f` for the `near_tail` rows of records `lo..hi`, read from the table.
///
/// # Errors
/// Storage failures.
pub(super) fn rows(
    conn: &Connection,
    (lo, hi): (u32, u32),
    f: &mut dyn FnMut(u32, Vec<u32>, u32, Option<i64>),
) -> Result<(), StateError> {
    let what = "loading index tail";
    let mut stmt = conn
        .prepare_cached(
            "SELECT t.doc, t.bands, r.shingles, r.published FROM near_tail t
             JOIN near_record r ON r.doc = t.doc WHERE t.doc >= ?1 AND t.doc < ?2
             ORDER BY t.doc",
        )
        .map_err(q(what))?;
    let mut rows = stmt
        .query([i64::from(lo), i64::from(hi)])
        .map_err(q(what))?;
    while let Some(row) = rows.next().map_err(q(what))? {
        let doc: u32 = row.get(0).map_err(q(what))?;
        let blob = (row.get_ref(1).and_then(|v| Ok(v.as_blob()?))).map_err(q(what))?;
        let keys = blob.chunks_exact(4).map(le_u32).collect();
        let shingles: u32 = row.get(2).map_err(q(what))?;
        let published: Option<i64> = row.get(3).map_err(q(what))?;
        f(doc, keys, shingles, published);
    }
    Ok(())
}

/// The name of the copy of the block starting at record `start`.
fn name(start: u32) -> String {
    super::copies::row_name(TAIL, tag(start))
}

fn tag(start: u32) -> [u32; 3] {
    [start, BLOCK, 0]
}

/// The first record of the block a copy's `name` is of, if it is one of [`BLOCK`] records.
fn block_of(name: &str) -> Option<u32> {
    let mut parts = name.strip_prefix(TAIL)?.strip_prefix('-')?.split('-');
    let start: u32 = parts.next()?.parse().ok()?;
    (parts.next()? == BLOCK.to_string()).then_some(start)
}

/// Appends the row of record `doc` to a block: doc, shingles, publication time (µs; [`UNDATED`]
/// for none), the key count and the keys, little-endian.
fn encode(out: &mut Vec<u8>, doc: u32, (shingles, published): (u32, Option<i64>), bands: &[u32]) {
    out.extend_from_slice(&doc.to_le_bytes());
    out.extend_from_slice(&shingles.to_le_bytes());
    out.extend_from_slice(&published.unwrap_or(UNDATED).to_le_bytes());
    let n = u32::try_from(bands.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    for b in bands {
        out.extend_from_slice(&b.to_le_bytes());
    }
}

/// A decoded row: doc, keys, shingles, publication time.
type TailRow = (u32, Vec<u32>, u32, Option<i64>);

/// The rows of the block starting at `start`, or `None` unless `bytes` are exactly its
/// [`BLOCK`] records in order.
fn decode(start: u32, mut bytes: &[u8]) -> Option<Vec<TailRow>> {
    let mut rows = Vec::with_capacity(BLOCK as usize);
    for doc in start..start + BLOCK {
        let head = bytes.get(..20)?;
        let n = le_u32(&head[16..20]) as usize;
        let keys = bytes.get(20..20 + n.checked_mul(4)?)?;
        if le_u32(&head[..4]) != doc {
            return None;
        }
        let mut at = [0u8; 8];
        at.copy_from_slice(&head[8..16]);
        let published = Some(i64::from_le_bytes(at)).filter(|&p| p != UNDATED);
        let keys = keys.chunks_exact(4).map(le_u32).collect();
        rows.push((doc, keys, le_u32(&head[4..8]), published));
        bytes = &bytes[20 + n * 4..];
    }
    bytes.is_empty().then_some(rows)
}

fn le_u32(c: &[u8]) -> u32 {
    u32::from_le_bytes([c[0], c[1], c[2], c[3]])
}

#[cfg(test)]
mod tests;
