//! The SQLite backend of the on-disk near-duplicate index (`dedup::disk`): the tables described
//! in `dedup::disk::backend`, in their own database file `state/near.sqlite` with their own
//! connection, so that the index's long write transactions (one per corpus flush, and the run
//! merges inside them) never hold the lock the frontier's writes need, and the index's
//! gigabytes stay out of the bookkeeping database. While the index opens, a second, read-only
//! connection reads run filters beside the first ([`NearDb::reader`], `dedup::disk::open`),
//! from their copies in `state/near-filters/` where they are good (`copies`).
//!
//! Pragmas: WAL with `synchronous = NORMAL` (a commit is durable once the WAL is, at the next
//! checkpoint fsync; an OS crash can lose the last commits, which the pipeline's open detects
//! and rebuilds); 16 KiB pages for a new file ([`PAGE_SIZE`]; a bucket row is ~1 KiB, so a
//! 4 KiB page held three, a run merge moved its bytes in four times as many page reads and
//! writes, and the bucket table's interior pages outgrew the page cache: with 16 KiB the dedup
//! bench ran 5 % more articles a second of CPU at 3 M records, with a sixth less system time
//! and 5 % fewer bytes; README "Measurements"); a page cache bounded to [`CACHE_KIB`]; no memory
//! map (mapped pages would count in the resident set and grow with the file);
//! `journal_size_limit` truncates the WAL back to 64 MiB after a checkpoint (without it the
//! file keeps the size of the largest transaction, a run merge: ~250 MB at 1M records). Writes
//! are batched in one transaction, opened by the first write and closed by
//! [`NearDb::commit`]; statements are prepared once and cached.
//!
//! Parts: this file (schema, connection, row helpers), `backend` (the statements of each
//! [`NearBackend`] operation), `compact` (`newsmill compact`: the file written out anew) and
//! `copies` (the run filters and the rows an open reads whole, copied beside the file, one
//! file each).

mod backend;
mod blob;
mod compact;
mod copies;
mod sql;
mod tail;
mod warm;

pub use compact::{
    COMPACT_FILE, CompactError, Compacted, compact, compact_then, remove_stale_copy,
};

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, Row};

use crate::dedup::disk::{NearBackend, RunInfo, StoredDoc};
use crate::dedup::{DocInfo, FactTag, Rank};

use super::{StateError, q};

/// File name of the index database inside the state folder.
pub const NEAR_DB_FILE: &str = "near.sqlite";
/// Page cache of the index connection, in KiB.
pub const CACHE_KIB: i64 = 16 * 1024;
/// How long a connection to the index waits for a lock another holds.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Page cache of the second connection an open reads run filters on ([`NearDb::reader`]).
const READER_CACHE_KIB: i64 = 2 * 1024;
/// Page size of a new index file (an existing file keeps the size it was made with).
pub const PAGE_SIZE: i64 = 16 * 1024;

/// Pre-split-index tables of the bookkeeping database, dropped on open.
pub(super) const LEGACY: &str = "
DROP TABLE IF EXISTS near_record;
DROP TABLE IF EXISTS near_meta;
";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS near_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS near_record (
    doc          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,
    cluster      INTEGER NOT NULL,
    published    INTEGER,
    republished  INTEGER NOT NULL,
    source       TEXT NOT NULL,
    url_len      INTEGER NOT NULL,
    shingles     INTEGER NOT NULL,
    facts0       INTEGER NOT NULL DEFAULT 0,
    facts1       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS near_record_member ON near_record (cluster) WHERE cluster <> doc;
CREATE TABLE IF NOT EXISTS near_tail (
    doc    INTEGER PRIMARY KEY,
    bands  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS near_run (
    run        INTEGER PRIMARY KEY,
    level      INTEGER NOT NULL,
    first_doc  INTEGER NOT NULL,
    end_doc    INTEGER NOT NULL,
    bits       INTEGER NOT NULL,
    postings   INTEGER NOT NULL,
    filter     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS near_size (
    first_doc  INTEGER PRIMARY KEY,
    sizes      BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS near_contains (
    digest  INTEGER NOT NULL,
    story   INTEGER NOT NULL,
    PRIMARY KEY (digest, story)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS near_contains_story ON near_contains (story, digest);
CREATE TABLE IF NOT EXISTS near_band (
    slot     INTEGER PRIMARY KEY,
    entries  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS near_live (
    first_doc  INTEGER NOT NULL,
    chunk      INTEGER NOT NULL,
    end_doc    INTEGER NOT NULL,
    postings   BLOB NOT NULL,
    PRIMARY KEY (first_doc, chunk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS near_part (
    run    INTEGER NOT NULL,
    part   INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (run, part)
);
";

const RECORD_COLUMNS: &str =
    "doc, id, cluster, published, republished, source, url_len, shingles, facts0, facts1";

/// Size of the index on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearIndexSize {
    /// Records indexed.
    pub records: u64,
    /// Bytes of database pages in use.
    pub bytes: u64,
}

/// The index database (see the module doc).
#[derive(Debug)]
pub struct NearDb {
    conn: Connection,
    path: PathBuf,
    in_tx: bool,
    /// Copies of the run filters and of the rows an open reads whole, beside the file
    /// (`copies`); `None` when the index has no id.
    copies: Option<copies::Copies>,
    /// `near_tail` rows gathered into blocks to copy (`tail`).
    gather: tail::Gather,
    /// Keys of the `near_live` rows this connection wrote, copied when it closes.
    live_uncopied: Vec<[u32; 3]>,
}

/// Brings `near_record` of an older index to this schema on the first open: an index written
/// before the compact signature was dropped (128 bytes a record nothing read) loses its
/// column (one rewrite of the table); one written before fact tags gains their columns, 0
/// (no tag: its records are verified in full, as before).
fn migrate_records(conn: &Connection) -> rusqlite::Result<()> {
    let has = |column: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT count(*) FROM pragma_table_info('near_record') WHERE name = ?1",
            [column],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
    };
    if has("signature")? {
        conn.execute_batch("ALTER TABLE near_record DROP COLUMN signature")?;
    }
    if !has("facts0")? {
        conn.execute_batch(
            "ALTER TABLE near_record ADD COLUMN facts0 INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE near_record ADD COLUMN facts1 INTEGER NOT NULL DEFAULT 0;",
        )?;
    }
    Ok(())
}

/// Makes `near_part` of an older index a rowid table (its rows kept, in one transaction).
/// `WITHOUT ROWID`, the partitions (up to ~200 KB each) were the keys of one B-tree, and a
/// seek compares whole keys, overflow pages included: once the partitions of registered runs
/// stayed in the table, the statement deleting a dropped run's partition an add took a fifth
/// of the dedup bench's CPU. A rowid table keeps `(run, part)` in an index of its own.
fn migrate_parts(conn: &Connection) -> rusqlite::Result<()> {
    let sql: String = conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'near_part'",
        [],
        |r| r.get(0),
    )?;
    if !sql.to_ascii_uppercase().contains("WITHOUT ROWID") {
        return Ok(());
    }
    // `SCHEMA` again creates the table it no longer finds, as it is now.
    conn.execute_batch(&format!(
        "BEGIN; ALTER TABLE near_part RENAME TO near_part_keyed; {SCHEMA}
         INSERT INTO near_part (run, part, bytes)
             SELECT run, part, bytes FROM near_part_keyed ORDER BY run, part;
         DROP TABLE near_part_keyed; COMMIT;"
    ))
}

fn slot(run: u32, bucket: u32) -> i64 {
    i64::from(run) << 32 | i64::from(bucket)
}

fn read_doc(r: &Row<'_>) -> rusqlite::Result<StoredDoc> {
    Ok(StoredDoc {
        doc: r.get(0)?,
        cluster: r.get(2)?,
        info: DocInfo {
            rank: Rank {
                id: r.get(1)?,
                published_us: r.get(3)?,
                republished: r.get(4)?,
                source_id: r.get(5)?,
                url_len: r.get(6)?,
            },
            shingles: r.get(7)?,
            facts: FactTag::from_stored([r.get(8)?, r.get(9)?]),
        },
    })
}

fn read_run(r: &Row<'_>) -> rusqlite::Result<RunInfo> {
    let postings: i64 = r.get(5)?;
    Ok(RunInfo {
        run: r.get(0)?,
        level: r.get(1)?,
        first_doc: r.get(2)?,
        end_doc: r.get(3)?,
        bits: r.get(4)?,
        postings: u64::try_from(postings).unwrap_or(0),
    })
}

impl Drop for NearDb {
    /// Waits for the copies being removed on a thread to be gone (a process ending would leave
    /// them to the next open), then copies the `near_live` rows this connection wrote and
    /// committed that are still there: the next open reads them as files.
    fn drop(&mut self) {
        if let Some(copies) = &self.copies {
            copies.settle();
            if self.in_tx {
                // Rows of a transaction not committed: it rolls back.
                copies.unstage();
            } else {
                copies::copy_live(&self.conn, copies, &mut self.live_uncopied);
            }
        }
    }
}

impl NearDb {
    /// Opens (creates) `state_dir/near.sqlite`.
    ///
    /// # Errors
    /// `CreateDir` or `Open` when the folder or database cannot be created or migrated.
    pub fn open(state_dir: &Path) -> Result<Self, StateError> {
        let path = state_dir.join(NEAR_DB_FILE);
        let open_err = |source| StateError::Open {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(|source| StateError::CreateDir {
            path: state_dir.to_owned(),
            source,
        })?;
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.execute_batch(&format!(
            "PRAGMA page_size = {PAGE_SIZE}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864; \
             PRAGMA cache_size = -{CACHE_KIB}; PRAGMA mmap_size = 0; {SCHEMA}"
        ))
        .map_err(open_err)?;
        migrate_records(&conn).map_err(open_err)?;
        migrate_parts(&conn).map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(32);
        let copies = copies::Copies::open(&conn, state_dir);
        Ok(Self {
            conn,
            path,
            in_tx: false,
            copies,
            gather: tail::Gather::default(),
            live_uncopied: Vec::new(),
        })
    }

    /// A second, read-only connection to the same file, with a small page cache (it reads
    /// blobs once, in order); `None` while this connection has writes not yet committed (the
    /// second could not see them), and `None`, logged, when it cannot be opened.
    fn reader(&self) -> Option<Self> {
        if self.in_tx {
            return None;
        }
        Self::read_only(&self.path, self.copies.clone())
    }

    /// A read-only connection to the index file at `path` ([`NearDb::reader`]), which any
    /// thread can open.
    fn read_only(path: &Path, copies: Option<copies::Copies>) -> Option<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).and_then(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.execute_batch(&format!(
                "PRAGMA cache_size = -{READER_CACHE_KIB}; PRAGMA mmap_size = 0;"
            ))?;
            Ok(conn)
        });
        match conn {
            Ok(conn) => Some(Self {
                conn,
                path: path.to_owned(),
                in_tx: false,
                copies,
                gather: tail::Gather::default(),
                live_uncopied: Vec::new(),
            }),
            Err(e) => {
                let path = path.display();
                tracing::debug!(%path, error = %e, "index opened on one connection");
                None
            }
        }
    }

    /// The copies beside the file, when this connection holds no uncommitted writes (a copy
    /// of what a rollback could undo would outlive it).
    fn committed_copies(&self) -> Option<&copies::Copies> {
        self.copies.as_ref().filter(|_| !self.in_tx)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn begin(&mut self) -> Result<(), StateError> {
        if !self.in_tx {
            self.hold()?;
            self.in_tx = true;
        }
        Ok(())
    }

    /// Opens a transaction unless one is open: the reads an add makes between two commits
    /// share it. A read outside a transaction takes and releases a WAL read lock (a lock on the
    /// shared-memory file, two `fcntl` calls) every statement: 3.7 % of the dedup bench's CPU
    /// at 600 k records (`perf record --call-graph dwarf`, under the digest relations, record
    /// and member reads). It ends at [`NearBackend::commit`], which is also where the writes
    /// begun inside it are committed; only this connection writes the file (the state lock),
    /// so its snapshot never goes stale before a write.
    fn hold(&self) -> Result<(), StateError> {
        if self.conn.is_autocommit() {
            let begin = self.conn.prepare_cached("BEGIN");
            begin
                .and_then(|mut b| b.execute([]))
                .map_err(q("starting index transaction"))?;
        }
        Ok(())
    }

    /// The run numbers that have bucket rows, ascending (a full scan: for checks).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn bucket_runs(&mut self) -> Result<Vec<u32>, StateError> {
        let sql = "SELECT DISTINCT slot >> 32 FROM near_band ORDER BY 1";
        sql::read_rows(&self.conn, sql, [], |r| r.get(0), "listing bucket runs")
    }

    /// Records and on-disk bytes of the index (pages in use: the file less its free list; the
    /// database holds the index tables only).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn size(&mut self) -> Result<NearIndexSize, StateError> {
        let records = self.next_doc()?;
        let pragma = |name: &str| -> Result<i64, StateError> {
            self.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .map_err(q("measuring index pages"))
        };
        let used = (pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?;
        Ok(NearIndexSize {
            records: u64::from(records),
            bytes: u64::try_from(used).unwrap_or(0),
        })
    }

    /// The buckets `distinct` (sorted, no repeats) of `run` that hold postings: one point
    /// read by primary key each, through one statement (a statement with a list of keys cost
    /// SQLite an ephemeral index of the list on every call, most of a lookup's few reads).
    fn read_buckets(
        &mut self,
        run: u32,
        distinct: &[u32],
    ) -> Result<Vec<(u32, Vec<u8>)>, StateError> {
        self.hold()?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT entries FROM near_band WHERE slot = ?1")
            .map_err(q("preparing bucket lookup"))?;
        let mut out = Vec::with_capacity(distinct.len());
        for &bucket in distinct {
            let mut rows = stmt
                .query([slot(run, bucket)])
                .map_err(q("reading index buckets"))?;
            if let Some(row) = rows.next().map_err(q("reading index buckets"))? {
                let blob = row
                    .get_ref(0)
                    .and_then(|v| Ok(v.as_blob()?))
                    .map_err(q("reading index buckets"))?;
                out.push((bucket, blob.to_vec()));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::disk::{DiskStore, Shape};
    use rusqlite::params;

    /// A stored record `n` of cluster `cluster` (tests here and in the submodules).
    pub(super) fn doc(n: u32, cluster: u32) -> StoredDoc {
        StoredDoc {
            doc: n,
            cluster,
            info: DocInfo {
                rank: Rank {
                    published_us: Some(1),
                    republished: false,
                    source_id: "s".into(),
                    url_len: 10,
                    id: format!("r{n}"),
                },
                shingles: 100,
                facts: FactTag([7 << 32 | 5, 0]),
            },
        }
    }

    #[test]
    fn rows_runs_and_buckets_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        db.insert(&doc(0, 0), &[1, 2]).unwrap();
        db.insert(&doc(1, 1), &[3, 4]).unwrap();
        db.insert(&doc(2, 1), &[5, 6]).unwrap();
        db.move_cluster(1, 0).unwrap();
        assert!(
            db.insert(&doc(2, 2), &[]).is_err(),
            "record numbers are unique"
        );
        db.put_bucket(0, 3, &[9; 8]).unwrap();
        let run = RunInfo {
            run: 0,
            level: 0,
            first_doc: 0,
            end_doc: 2,
            bits: 2,
            postings: 1,
        };
        db.put_run(&run, &[1; 8], 2).unwrap();
        db.commit().unwrap();
        drop(db);
        let mut db = NearDb::open(dir.path()).unwrap();
        assert_eq!(db.next_doc().unwrap(), 3);
        assert_eq!(db.runs().unwrap(), [(run, vec![1; 8])]);
        let members: Vec<u32> = db.members(0).unwrap().iter().map(|d| d.doc).collect();
        assert_eq!(members, [1, 2]);
        assert_eq!(db.record(1).unwrap().unwrap().info.id(), "r1");
        assert_eq!(db.buckets(0, &[3, 1, 3]).unwrap(), [(3, vec![9; 8])]);
        let mut tail = Vec::new();
        db.tail(0, &mut |d, k, _, _| tail.push((d, k))).unwrap();
        assert_eq!(tail, [(2, vec![5, 6])]);
        assert!(db.size().unwrap().bytes > 0);
        // Uncommitted writes are lost with the connection.
        db.insert(&doc(3, 3), &[7]).unwrap();
        drop(db);
        let (store, ok) =
            DiskStore::open(NearDb::open(dir.path()).unwrap(), Shape::DEFAULT).unwrap();
        assert_eq!(store.len(), 3);
        assert!(!ok, "no committed count: the store asks for a rebuild");
    }

    /// Far keys (`keys::is_far`): record n is filed under 1000·n + 1, + 3 and + 5.
    pub(super) fn far(n: u32, j: u32) -> u32 {
        1000 * n + 2 * j + 1
    }

    /// Adding record `n`, filed under its three far keys.
    pub(super) fn far_plan(n: u32) -> crate::dedup::link::Plan {
        let id = format!("r{n}");
        crate::dedup::link::Plan {
            insert: DocInfo {
                rank: Rank {
                    published_us: None,
                    republished: false,
                    source_id: "s".into(),
                    url_len: 10,
                    id: id.clone(),
                },
                shingles: 100,
                facts: FactTag::default(),
            },
            bands: (0..3).map(|j| far(n, j)).collect(),
            cluster: id,
            relabel: Vec::new(),
            moves: Vec::new(),
            relate: Vec::new(),
            links: Vec::new(),
        }
    }

    pub(super) const SMALL: Shape = Shape {
        tail_docs: 4,
        fan_in: 64,
        live_docs: 4,
    };

    /// An index in `dir` of [`SMALL`] shape holding records `0..n` ([`far_plan`]), committed.
    pub(super) fn far_index(dir: &Path, n: u32) -> DiskStore<NearDb> {
        use crate::dedup::link::NearStore as _;
        let (mut store, _) = DiskStore::open(NearDb::open(dir).unwrap(), SMALL).unwrap();
        for n in 0..n {
            store.apply(&far_plan(n)).unwrap();
        }
        store.commit().unwrap();
        store
    }

    /// Asserts that `store` finds each of records `0..n` of [`far_index`] by two of its far
    /// keys, and nothing else.
    pub(super) fn assert_finds_far_records(store: &mut DiskStore<NearDb>, n: u32) {
        use crate::dedup::link::{Hit, NearStore as _};
        let mut all = |_: Hit| true;
        for n in 0..n {
            let found = store.candidates(&[far(n, 0), far(n, 2)], &mut all).unwrap();
            let ids: Vec<&str> = found.iter().map(|(d, _)| d.info.id()).collect();
            assert_eq!(ids, [format!("r{n}")], "record {n}");
        }
    }

    /// An index of the schema before 2026-12-02 (a compact signature per record, no fact
    /// tag) opens: the signature column is dropped, the tag columns are added, its rows read
    /// back with no tag (verified in full), and new rows keep their tags.
    #[test]
    fn an_index_with_signatures_loses_the_column_and_keeps_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let old = SCHEMA.replace(
            "shingles     INTEGER NOT NULL,
    facts0       INTEGER NOT NULL DEFAULT 0,
    facts1       INTEGER NOT NULL DEFAULT 0",
            "shingles INTEGER NOT NULL, signature BLOB NOT NULL",
        );
        assert!(!old.contains("facts0"), "the old schema");
        let conn = Connection::open(dir.path().join(NEAR_DB_FILE)).unwrap();
        conn.execute_batch(&old).unwrap();
        conn.execute(
            "INSERT INTO near_record VALUES (0, 'r0', 0, 5, 0, 's', 9, 80, zeroblob(128))",
            [],
        )
        .unwrap();
        drop(conn);
        let mut db = NearDb::open(dir.path()).unwrap();
        let first = db.record(0).unwrap().unwrap();
        assert_eq!((first.info.id(), first.info.shingles), ("r0", 80));
        assert_eq!(first.info.facts, FactTag::default());
        let mut next = first.clone();
        (next.doc, next.info.rank.id) = (1, "r1".into());
        next.info.facts = FactTag([u64::MAX << 32 | 9, 3 << 32 | 1]);
        db.insert(&next, &[1, 2]).unwrap();
        db.commit().unwrap();
        assert_eq!(
            NearDb::open(dir.path()).unwrap().record(1).unwrap(),
            Some(next)
        );
    }

    /// A new index file takes [`PAGE_SIZE`]; one made before, with 4 KiB pages in WAL mode,
    /// keeps its page size and its rows, also when the process that wrote it was killed with
    /// its last commit still in the WAL (the files copied while the connection is open).
    #[test]
    fn a_new_index_takes_the_page_size_and_an_old_one_keeps_its_own() {
        let page_size = |db: &NearDb| -> i64 {
            db.conn
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(page_size(&NearDb::open(dir.path()).unwrap()), PAGE_SIZE);
        let (old, killed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let conn = Connection::open(old.path().join(NEAR_DB_FILE)).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; {SCHEMA}"
        ))
        .unwrap();
        conn.execute("INSERT INTO near_meta VALUES ('k', 'v')", [])
            .unwrap();
        for suffix in ["", "-wal"] {
            let name = format!("{NEAR_DB_FILE}{suffix}");
            std::fs::copy(old.path().join(&name), killed.path().join(&name)).unwrap();
        }
        drop(conn);
        for folder in [old.path(), killed.path()] {
            let db = NearDb::open(folder).unwrap();
            assert_eq!(page_size(&db), 4096, "{}", folder.display());
            let kept: String = db
                .conn
                .query_row("SELECT value FROM near_meta WHERE key = 'k'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(kept, "v", "{}", folder.display());
        }
    }

    #[test]
    fn filter_partitions_of_an_older_index_move_to_a_rowid_table() {
        let dir = tempfile::tempdir().unwrap();
        let keyed = SCHEMA.replace(
            "PRIMARY KEY (run, part)\n);",
            "PRIMARY KEY (run, part)\n) WITHOUT ROWID;",
        );
        assert_ne!(keyed, SCHEMA);
        let conn = Connection::open(dir.path().join(NEAR_DB_FILE)).unwrap();
        conn.execute_batch(&format!("PRAGMA journal_mode = WAL; {keyed}"))
            .unwrap();
        for (run, part) in [(3, 0), (3, 1), (5, 0)] {
            conn.execute(
                "INSERT INTO near_part VALUES (?1, ?2, ?3)",
                params![run, part, vec![run as u8; 70_000]],
            )
            .unwrap();
        }
        drop(conn);
        let schema = |db: &NearDb| -> String {
            db.conn
                .query_row(
                    "SELECT group_concat(sql) FROM sqlite_schema WHERE tbl_name LIKE 'near_part%'",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        for _ in 0..2 {
            let mut db = NearDb::open(dir.path()).unwrap();
            assert!(!schema(&db).contains("WITHOUT ROWID"), "{}", schema(&db));
            let mut parts = Vec::new();
            db.parts(3, &mut |p, b| parts.push((p, b.len(), b[0])))
                .unwrap();
            assert_eq!(parts, [(0, 70_000, 3), (1, 70_000, 3)]);
            assert_eq!(db.part(5, 0).unwrap().map(|b| b.len()), Some(70_000));
        }
    }

    /// An index whose run filters were stored in another format (the Bloom filters of
    /// `keys3`) opens without a rebuild: each filter is rebuilt from its run's buckets, filters
    /// as before, and is stored at the next add.
    #[test]
    fn a_run_filter_of_another_format_is_rebuilt_from_its_buckets() {
        use crate::dedup::disk::KeyFilter;
        use crate::dedup::link::{Hit, NearStore};
        let dir = tempfile::tempdir().unwrap();
        drop(far_index(dir.path(), 40));
        let mut db = NearDb::open(dir.path()).unwrap();
        let runs = db.runs().unwrap();
        assert!(runs.len() >= 2);
        for (r, _) in &runs {
            db.set_filter(r.run, &[0xff; 64]).unwrap();
        }
        db.commit().unwrap();
        let (mut store, ok) = DiskStore::open(db, SMALL).unwrap();
        assert!(
            ok,
            "a filter of another format does not make the index inconsistent"
        );
        let mut all = |_: Hit| true;
        let found = store.candidates(&[far(1, 0), far(1, 2)], &mut all).unwrap();
        assert_eq!(found.len(), 1);
        let reads = store.counts().bucket_reads;
        let none = store.candidates(&[far(900, 0), far(901, 0)], &mut all);
        assert!(none.unwrap().is_empty());
        assert_eq!(
            store.counts().bucket_reads,
            reads,
            "the rebuilt filters filter"
        );
        store.apply(&far_plan(40)).unwrap();
        store.commit().unwrap();
        drop(store);
        let stored = NearDb::open(dir.path()).unwrap().runs().unwrap();
        assert!(stored.len() >= runs.len());
        for (r, bytes) in stored {
            assert!(KeyFilter::from_bytes(bytes).is_some(), "run {}", r.run);
        }
    }

    /// An open reads on three connections at once (`DiskStore::open`: the filters on one,
    /// the sizes and kept near postings on another, the tail on the first): whichever reads
    /// a run's filter, the opened index holds every run's filter as stored, under its own run,
    /// the kept postings and tail the index held when it was committed, and finds every
    /// record by its far keys.
    #[test]
    fn an_open_on_three_connections_loads_every_run_filter_and_row() {
        use crate::dedup::disk::filter;
        use crate::dedup::link::NearStore as _;
        let dir = tempfile::tempdir().unwrap();
        let (mut before, _) = DiskStore::open(NearDb::open(dir.path()).unwrap(), SMALL).unwrap();
        for n in 0..203 {
            // Near keys too (those `near_live` keeps) and a publication time.
            let mut plan = far_plan(n);
            plan.bands.extend((0..3).map(|j| (n * 8 + j * 2 + 1) << 4));
            plan.insert.rank.published_us = Some(i64::from(n) * 60_000_000);
            before.apply(&plan).unwrap();
        }
        before.commit().unwrap();
        let (memory, len, tail) = (before.memory(), before.len(), before.tail_len());
        assert!(memory.live > 64 && tail > 0, "{memory:?}, tail {tail}");
        drop(before);
        let mut db = NearDb::open(dir.path()).unwrap();
        assert!(db.reader().is_some(), "a second connection opens");
        db.set_meta("x", "1").unwrap();
        assert!(db.reader().is_none(), "not while writes are uncommitted");
        db.commit().unwrap();
        let (mut store, ok) = DiskStore::open(db, SMALL).unwrap();
        assert!(ok);
        assert_eq!((store.len(), store.tail_len()), (len, tail));
        assert_eq!(store.memory().live, memory.live);
        let runs = store.runs().to_vec();
        assert!(runs.len() >= 40, "{} runs", runs.len());
        let mut db = NearDb::open(dir.path()).unwrap();
        let stored = runs
            .iter()
            .map(|r| filter::load(&mut db, r).unwrap().bytes());
        assert_eq!(store.memory().filters, stored.sum::<usize>());
        assert_finds_far_records(&mut store, 200);
    }

    /// A far lookup reads a run's buckets in two steps (all but the last key that may be in
    /// the run, then the last only if the first step found a record): a record whose two keys
    /// fall one in each step is still a candidate, and keys of no record cost no read.
    #[test]
    fn far_candidates_whose_keys_span_both_reads_are_found() {
        use crate::dedup::link::{Hit, NearStore};
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = DiskStore::open(NearDb::open(dir.path()).unwrap(), SMALL).unwrap();
        for n in 0..40u32 {
            store.apply(&far_plan(n)).unwrap();
        }
        assert!(store.runs().len() >= 2, "records 0..4 are in a run");
        let mut all = |_: Hit| true;
        let reads = store.counts().bucket_reads;
        // Record 1's first and last key: one in each step of the run's reads.
        let found = store.candidates(&[far(1, 0), far(1, 2)], &mut all).unwrap();
        let ids: Vec<&str> = found.iter().map(|(d, _)| d.info.id()).collect();
        assert_eq!(ids, ["r1"]);
        assert!(store.counts().bucket_reads > reads);
        // Keys of no record: no run's filter lets both through, so nothing is read.
        let reads = store.counts().bucket_reads;
        let none = store
            .candidates(&[far(900, 0), far(901, 0)], &mut all)
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(store.counts().bucket_reads, reads);
    }

    #[test]
    fn partition_heads_read_apart_come_in_order_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let bytes = |run: u32, part: u32| -> Vec<u8> {
            let len = 3 + (part as usize * 7919) % 40_000;
            (0..len).map(|i| (i as u32 ^ part ^ run) as u8).collect()
        };
        for run in [4, 5] {
            for part in 0..100 {
                db.put_part(run, part, &bytes(run, part)).unwrap();
            }
        }
        db.commit().unwrap();
        for below in [0, 1, 20, 31, 32, 33, 99, 100, 500] {
            let mut heads = Vec::new();
            db.part_heads((5, below), 64, &mut |p, len, h| {
                heads.push((p, len, h.to_vec()));
            })
            .unwrap();
            let expected: Vec<(u32, usize, Vec<u8>)> = (0..below.min(100))
                .map(|p| {
                    let b = bytes(5, p);
                    (p, b.len(), b[..b.len().min(64)].to_vec())
                })
                .collect();
            assert_eq!(heads, expected, "below {below}");
        }
        // With writes not committed the heads are read on this connection alone, and see them.
        db.put_part(5, 0, &[9; 10]).unwrap();
        let mut first = None;
        db.part_heads((5, 100), 64, &mut |p, len, h| {
            if p == 0 {
                first = Some((len, h.to_vec()));
            }
        })
        .unwrap();
        assert_eq!(first, Some((10, vec![9; 10])));
    }
}
