//! Run filters written and read in pieces (SQLite's incremental blob I/O): a filter is one
//! blob of up to ~150 MB at 10 M records, and binding it as a statement parameter made SQLite
//! copy it twice (its own copy of the parameter, then the record it builds), holding about
//! three times its size for a moment: the index's peak resident set at 10 M was such a
//! moment. Written as a zero blob, then filled a [`PIECE`] at a time; read into one buffer.

use rusqlite::Connection;
use rusqlite::blob::ZeroBlob;

use crate::state::{StateError, q};

/// Bytes written a call.
const PIECE: usize = 1 << 20;

/// A zero blob the size of `bytes`, to bind in place of them before [`fill_filter`].
pub fn zeros(bytes: &[u8]) -> ZeroBlob {
    ZeroBlob(bytes.len() as u64)
}

/// Writes `bytes` into the `filter` of `near_run` row `run`, a zero blob of their size.
///
/// # Errors
/// Storage failures.
pub fn fill_filter(conn: &Connection, run: u32, bytes: &[u8]) -> Result<(), StateError> {
    let mut blob = conn
        .blob_open("main", "near_run", "filter", i64::from(run), false)
        .map_err(q("opening a run filter"))?;
    for (i, piece) in bytes.chunks(PIECE).enumerate() {
        blob.write_at(piece, i * PIECE)
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
