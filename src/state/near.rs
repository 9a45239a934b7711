//! Persistence of the near-duplicate index: one row per corpus record with what linking needs
//! (cluster, canonical-record order key, shingle count, compact MinHash signature, LSH band
//! keys). The pipeline loads every row into the in-memory index on open (`dedup::MemStore`)
//! and appends new rows, one transaction per corpus flush. Texts stay in the corpus.
//!
//! # Why rows per record, not per band key
//! A table keyed by band key takes 32 random-key B-tree inserts per record: about 32 dirtied
//! 4 KiB pages (128 KiB of WAL) per article and a checkpoint fsync every few dozen articles;
//! measured at 2.5 ms per article. Rows keyed by a dense record number are appends that fill
//! pages sequentially (about 340 bytes per record, no secondary index); a cluster merge is a
//! few point updates by record number.
//!
//! # Tables
//! - `near_record`: `doc` is the record's dense number (its position in the in-memory index),
//!   `cluster` the number of its cluster's canonical record, `bands` 64 little-endian `u32`,
//!   `signature` 64 little-endian `u16`.
//! - `near_meta`: parameters the index was built with and a `dirty` flag (see `pipeline::near`).

use rusqlite::{OptionalExtension, Row, params};

use super::{State, StateError, q};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS near_record (
    doc          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,
    cluster      INTEGER NOT NULL,
    published    INTEGER,
    republished  INTEGER NOT NULL,
    source       TEXT NOT NULL,
    url_len      INTEGER NOT NULL,
    shingles     INTEGER NOT NULL,
    signature    BLOB NOT NULL,
    bands        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS near_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
";

/// One record of the near-duplicate index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearRow {
    /// Dense record number.
    pub doc: u32,
    /// Record id.
    pub id: String,
    /// Number of the cluster's canonical record (`doc` itself when it is canonical).
    pub cluster: u32,
    /// `published_at` in microseconds since the epoch.
    pub published_us: Option<i64>,
    /// Whether the text credits another outlet as its origin.
    pub republished: bool,
    /// Source id.
    pub source_id: String,
    /// Canonical URL length in bytes.
    pub url_len: u32,
    /// Distinct shingles of the text.
    pub shingles: u32,
    /// Compact MinHash signature bytes.
    pub signature: Vec<u8>,
    /// LSH band key bytes.
    pub bands: Vec<u8>,
}

/// Size of the near-duplicate index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearIndexSize {
    /// Records indexed.
    pub records: u64,
    /// Bytes of database pages used by `near_record` (via `dbstat`).
    pub bytes: u64,
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<NearRow> {
    Ok(NearRow {
        doc: r.get(0)?,
        id: r.get(1)?,
        cluster: r.get(2)?,
        published_us: r.get(3)?,
        republished: r.get(4)?,
        source_id: r.get(5)?,
        url_len: r.get(6)?,
        shingles: r.get(7)?,
        signature: r.get(8)?,
        bands: r.get(9)?,
    })
}

impl State {
    /// Every index row in record-number order, handed to `f` one at a time.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn near_load(&self, mut f: impl FnMut(NearRow)) -> Result<(), StateError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT doc, id, cluster, published, republished, source, url_len, shingles,
                        signature, bands FROM near_record ORDER BY doc",
            )
            .map_err(q("preparing index load"))?;
        let rows = stmt
            .query_map([], read_row)
            .map_err(q("loading near-duplicate index"))?;
        for row in rows {
            f(row.map_err(q("loading near-duplicate index"))?);
        }
        Ok(())
    }

    /// In one transaction: appends `rows`, then sets `cluster` of each `(doc, cluster)` in
    /// `moves`, in order.
    ///
    /// # Errors
    /// `Query` on database failure (including a record number already stored); nothing is
    /// written then.
    pub fn near_write(&self, rows: &[NearRow], moves: &[(u32, u32)]) -> Result<(), StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(q("starting transaction"))?;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO near_record (doc, id, cluster, published, republished, source,
                         url_len, shingles, signature, bands)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(q("preparing index insert"))?;
            for r in rows {
                ins.execute(params![
                    r.doc,
                    r.id,
                    r.cluster,
                    r.published_us,
                    r.republished,
                    r.source_id,
                    r.url_len,
                    r.shingles,
                    r.signature,
                    r.bands
                ])
                .map_err(q("indexing record"))?;
            }
            let mut mv = tx
                .prepare_cached("UPDATE near_record SET cluster = ?2 WHERE doc = ?1")
                .map_err(q("preparing cluster move"))?;
            for (doc, cluster) in moves {
                mv.execute(params![doc, cluster])
                    .map_err(q("moving record to cluster"))?;
            }
        }
        tx.commit().map_err(q("committing index rows"))
    }

    /// Empties the index (`near_meta` is kept).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn near_clear(&self) -> Result<(), StateError> {
        self.conn()
            .execute("DELETE FROM near_record", [])
            .map(drop)
            .map_err(q("clearing near-duplicate index"))
    }

    /// A value from `near_meta`.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn near_meta(&self, key: &str) -> Result<Option<String>, StateError> {
        self.conn()
            .query_row("SELECT value FROM near_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(q("reading index metadata"))
    }

    /// Sets a value in `near_meta`.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn set_near_meta(&self, key: &str, value: &str) -> Result<(), StateError> {
        self.conn()
            .execute(
                "INSERT INTO near_meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = ?2",
                [key, value],
            )
            .map(drop)
            .map_err(q("writing index metadata"))
    }

    /// Records and on-disk bytes of the index.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn near_index_size(&self) -> Result<NearIndexSize, StateError> {
        let conn = self.conn();
        let records: i64 = conn
            .query_row("SELECT COUNT(*) FROM near_record", [], |r| r.get(0))
            .map_err(q("counting index records"))?;
        let bytes: Option<i64> = conn
            .query_row(
                "SELECT SUM(pgsize) FROM dbstat WHERE name = 'near_record'",
                [],
                |r| r.get(0),
            )
            .map_err(q("measuring index pages"))?;
        Ok(NearIndexSize {
            records: u64::try_from(records).unwrap_or(0),
            bytes: bytes.and_then(|b| u64::try_from(b).ok()).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(doc: u32, cluster: u32) -> NearRow {
        NearRow {
            doc,
            id: format!("r{doc}"),
            cluster,
            published_us: Some(1),
            republished: false,
            source_id: "s".into(),
            url_len: 10,
            shingles: 100,
            signature: vec![1, 2],
            bands: vec![3, 4, 5, 6],
        }
    }

    fn load(st: &State) -> Vec<NearRow> {
        let mut out = Vec::new();
        st.near_load(|r| out.push(r)).unwrap();
        out
    }

    #[test]
    fn write_load_move_clear() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        st.near_write(&[row(0, 0), row(1, 1)], &[]).unwrap();
        st.near_write(&[row(2, 1)], &[(0, 1)]).unwrap();
        let rows = load(&st);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], row(0, 1));
        assert_eq!(rows[2], row(2, 1));
        // A repeated record number fails as a whole.
        assert!(st.near_write(&[row(3, 3), row(2, 2)], &[]).is_err());
        assert_eq!(load(&st).len(), 3);
        let size = st.near_index_size().unwrap();
        assert_eq!(size.records, 3);
        assert!(size.bytes > 0);
        st.set_near_meta("dirty", "1").unwrap();
        st.near_clear().unwrap();
        assert!(load(&st).is_empty());
        assert_eq!(st.near_meta("dirty").unwrap().as_deref(), Some("1"));
    }
}
