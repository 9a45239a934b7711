//! Run filters written and read in pieces (SQLite's incremental blob I/O): a filter is one
//! blob of up to ~150 MB at 10 M records, and binding it as a statement parameter made SQLite
//! copy it twice (its own copy of the parameter, then the record it builds), holding about
//! three times its size for a moment: the index's peak resident set at 10 M was such a
//! moment. Written as a zero blob, then filled a [`PIECE`] at a time; read into one buffer.
//! Filter partitions whose bytes an open does not need are read by their start alone
//! ([`part_heads`]).

use rusqlite::blob::ZeroBlob;
use rusqlite::{Connection, params};

use crate::dedup::disk::RunInfo;

use super::NearDb;
use super::sql::{execute, read_rows};
use crate::state::{StateError, q};

/// Bytes written a call.
const PIECE: usize = 1 << 20;

/// Inserts the `near_run` row of `r` with a filter of `len` zero bytes (to be filled by
/// [`write_filter`]) and deletes the `near_tail` rows before `tail_from`.
///
/// # Errors
/// Storage failures.
pub fn register(
    conn: &Connection,
    r: &RunInfo,
    len: u64,
    tail_from: u32,
) -> Result<(), StateError> {
    let postings = i64::try_from(r.postings).unwrap_or(i64::MAX);
    let sql = "INSERT INTO near_run (run, level, first_doc, end_doc, bits, postings, filter)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    let row = params![
        r.run,
        r.level,
        r.first_doc,
        r.end_doc,
        r.bits,
        postings,
        ZeroBlob(len)
    ];
    execute(conn, sql, row, "registering run")?;
    let sql = "DELETE FROM near_tail WHERE doc < ?1";
    execute(conn, sql, [tail_from], "trimming index tail").map(drop)
}

/// Writes `bytes` into the `filter` of `near_run` row `run` from byte `at` (within its
/// length: the row was inserted with a zero blob of the whole size).
///
/// # Errors
/// Storage failures.
pub fn write_filter(conn: &Connection, run: u32, at: u64, bytes: &[u8]) -> Result<(), StateError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut blob = conn
        .blob_open("main", "near_run", "filter", i64::from(run), false)
        .map_err(q("opening a run filter"))?;
    let at = usize::try_from(at).unwrap_or(usize::MAX);
    for (i, piece) in bytes.chunks(PIECE).enumerate() {
        blob.write_at(piece, at.saturating_add(i * PIECE))
            .map_err(q("writing a run filter"))?;
    }
    Ok(())
}

/// The `filter` of `near_run` row `run`.
///
/// # Errors
/// Storage failures.
pub fn read_filter(conn: &Connection, run: u32) -> Result<Vec<u8>, StateError> {
    let blob = conn
        .blob_open("main", "near_run", "filter", i64::from(run), true)
        .map_err(q("opening a run filter"))?;
    let mut out = vec![0; blob.len()];
    blob.read_at_exact(&mut out, 0)
        .map_err(q("reading a run filter"))?;
    Ok(out)
}

/// Calls `f(part, len, head)` for every `near_part` row of `run` below partition `below`, in
/// partition order, with its length and its first `head` bytes, read through the blob (a
/// partition's row spans several pages; a column read would read them all). Each head is a
/// random read in the file (at 10 M records an open took up a merge with 223 partitions:
/// 1.3 s of waiting on a disk that had not cached them, README "Tail copies"), so when
/// `db` has no uncommitted writes and there are [`HEADS_APART`] heads or more, they are read
/// in slices on up to [`HEAD_READERS`] second connections at once.
///
/// # Errors
/// Storage failures.
pub fn part_heads(
    db: &NearDb,
    (run, below): (u32, u32),
    head: usize,
    f: &mut dyn FnMut(u32, usize, &[u8]),
) -> Result<(), StateError> {
    let sql = "SELECT rowid, part FROM near_part WHERE run = ?1 AND part < ?2 ORDER BY part";
    let read = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
    let rows: Vec<(i64, u32)> = read_rows(
        &db.conn,
        sql,
        [run, below],
        read,
        "reading filter partition heads",
    )?;
    // Second connections only see what is committed.
    let apart = if rows.len() >= HEADS_APART && !db.in_tx {
        HEAD_READERS
    } else {
        0
    };
    let slice = rows.len().div_ceil(apart + 1).max(1);
    let mut slices = rows.chunks(slice);
    let mine = slices.next().unwrap_or_default();
    let path = db.path.as_path();
    std::thread::scope(|s| {
        let theirs: Vec<_> = (slices.take(apart))
            .map(|rows| {
                // Opened on its thread: opening waits for the disk too.
                let thread = std::thread::Builder::new().name("near-heads".into());
                let started = thread.spawn_scoped(s, move || {
                    let Some(rd) = NearDb::read_only(path, None) else {
                        return Ok(None);
                    };
                    let mut heads = Vec::with_capacity(rows.len());
                    heads_of(&rd.conn, rows, head, &mut |p, len, h| {
                        heads.push((p, len, h.to_vec()));
                    })?;
                    Ok::<_, StateError>(Some(heads))
                });
                (rows, started)
            })
            .collect();
        heads_of(&db.conn, mine, head, f)?;
        for (rows, thread) in theirs {
            let heads = match thread {
                Ok(t) => t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?,
                Err(_) => None,
            };
            match heads {
                Some(heads) => heads.iter().for_each(|(p, len, h)| f(*p, *len, h)),
                // No thread or no second connection: read here.
                None => heads_of(&db.conn, rows, head, f)?,
            }
        }
        Ok(())
    })
}

/// Heads read at once on second connections from this many on ([`part_heads`]).
const HEADS_APART: usize = 32;

/// Second connections [`part_heads`] reads heads on, at most.
const HEAD_READERS: usize = 7;

/// Calls `f(part, len, head)` for the partitions `rows` (rowid, part), in that order.
fn heads_of(
    conn: &Connection,
    rows: &[(i64, u32)],
    head: usize,
    f: &mut dyn FnMut(u32, usize, &[u8]),
) -> Result<(), StateError> {
    let mut buf = vec![0; head];
    for &(rowid, part) in rows {
        let blob = conn
            .blob_open("main", "near_part", "bytes", rowid, true)
            .map_err(q("opening a filter partition"))?;
        let n = head.min(blob.len());
        blob.read_at_exact(&mut buf[..n], 0)
            .map_err(q("reading a filter partition head"))?;
        f(part, blob.len(), &buf[..n]);
    }
    Ok(())
}
