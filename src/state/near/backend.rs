//! [`NearBackend`] for [`NearDb`]: the statements behind each operation of the on-disk
//! index (`dedup::disk`) on the tables of the parent module's schema. Every write joins the
//! open transaction (`NearBackend::commit` ends it); reads use cached prepared statements. It
//! holds no state of its own; other connections are opened only to read ahead (`super::warm`)
//! and partition heads (`super::blob`).

use std::time::Duration;

use rusqlite::blob::ZeroBlob;
use rusqlite::params;

use crate::dedup::disk::{NearBackend, RunInfo, StoredDoc};
use crate::state::{StateError, q};

use super::sql::{CONTAINS, MEMBERS, WITHIN, for_each_blob, read_row, read_rows};
use super::{NearDb, RECORD_COLUMNS, blob, read_doc, read_run, slot, tail};

impl NearBackend for NearDb {
    type Error = StateError;

    fn reader(&self) -> Option<Self> {
        NearDb::reader(self)
    }

    fn copied_filter(&self, r: &RunInfo) -> Option<Vec<u8>> {
        self.copies.as_ref()?.read(r)
    }

    fn copy_filter(&self, r: &RunInfo, filter: &[u8]) {
        if let Some(copies) = &self.copies {
            copies.write(r, filter);
        }
    }

    fn sweep_copies(&self, runs: &[u32]) {
        if let Some(copies) = &self.copies {
            copies.sweep(runs);
        }
    }

    fn warm(
        &mut self,
        buckets: &[(u32, u32)],
        ranges: &[(u32, u32, u32)],
        docs: &[u32],
    ) -> Option<Duration> {
        super::warm::warm(self, buckets, ranges, docs)
    }

    fn keep_spilled(&mut self, r: &RunInfo, at: u64, bytes: &[u8]) -> bool {
        (self.copies.as_ref()).is_some_and(|c| c.write_build(r, at, bytes))
    }

    fn spilled_len(&mut self, r: &RunInfo) -> Option<u64> {
        self.copies.as_ref()?.build_len(r)
    }

    fn spilled(&mut self, r: &RunInfo, len: u64, room: usize) -> Option<Vec<u8>> {
        self.copies.as_ref()?.read_build(r, len, room)
    }

    fn forget_spilled(&mut self, building: &[u32]) {
        if let Some(copies) = &self.copies {
            copies.sweep_builds(building);
        }
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StateError> {
        let sql = "SELECT value FROM near_meta WHERE key = ?1";
        let what = "reading index metadata";
        read_row(&self.conn, sql, [key], |r| r.get(0), what)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StateError> {
        let sql = "INSERT INTO near_meta (key, value) VALUES (?1, ?2)
                   ON CONFLICT(key) DO UPDATE SET value = ?2";
        self.write(sql, [key, value], "writing index metadata")
            .map(drop)
    }

    fn next_doc(&mut self) -> Result<u32, StateError> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(doc) + 1, 0) FROM near_record",
                [],
                |r| r.get(0),
            )
            .map_err(q("counting index records"))
    }

    fn record(&mut self, doc: u32) -> Result<Option<StoredDoc>, StateError> {
        self.hold()?;
        let sql = format!("SELECT {RECORD_COLUMNS} FROM near_record WHERE doc = ?1");
        read_row(&self.conn, &sql, [doc], read_doc, "reading index record")
    }

    fn members(&mut self, head: u32) -> Result<Vec<StoredDoc>, StateError> {
        self.hold()?;
        let what = "reading cluster members";
        let mut rows = read_rows(&self.conn, MEMBERS, [head], read_doc, what)?;
        rows.sort_unstable_by_key(|d| d.doc);
        Ok(rows)
    }

    fn insert(&mut self, d: &StoredDoc, bands: &[u32]) -> Result<(), StateError> {
        let (r, [f0, f1]) = (&d.info.rank, d.info.facts.stored());
        let sql = format!(
            "INSERT INTO near_record ({RECORD_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        );
        let row = params![
            d.doc,
            r.id,
            d.cluster,
            r.published_us,
            r.republished,
            r.source_id,
            r.url_len,
            d.info.shingles,
            f0,
            f1
        ];
        self.write(&sql, row, "indexing record")?;
        tail::insert(&self.conn, d.doc, bands)?;
        let row = (d.info.shingles, r.published_us);
        self.gather.push(self.copies.as_ref(), d.doc, row, bands);
        Ok(())
    }

    fn move_cluster(&mut self, from: u32, to: u32) -> Result<(), StateError> {
        for sql in [
            "UPDATE near_record SET cluster = ?2 WHERE cluster = ?1 AND cluster <> doc",
            "UPDATE near_record SET cluster = ?2 WHERE doc = ?1",
        ] {
            self.write(sql, [from, to], "moving cluster")?;
        }
        Ok(())
    }

    fn set_cluster(&mut self, doc: u32, cluster: u32) -> Result<(), StateError> {
        let sql = "UPDATE near_record SET cluster = ?2 WHERE doc = ?1";
        self.write(sql, [doc, cluster], "moving record to another cluster")
            .map(drop)
    }

    fn relations(&mut self, doc: u32) -> Result<(Vec<u32>, Vec<u32>), StateError> {
        self.hold()?;
        let what = "reading digest relations";
        let list = |sql: &str| {
            let mut rows: Vec<u32> = read_rows(&self.conn, sql, [doc], |r| r.get(0), what)?;
            rows.sort_unstable();
            Ok::<_, StateError>(rows)
        };
        let (contains, within) = (list(CONTAINS)?, list(WITHIN)?);
        Ok((contains, within))
    }

    fn put_relation(&mut self, digest: u32, story: u32) -> Result<(), StateError> {
        let sql = "INSERT OR IGNORE INTO near_contains (digest, story) VALUES (?1, ?2)";
        self.write(sql, [digest, story], "storing digest relation")
            .map(drop)
    }

    fn tail(
        &mut self,
        from: u32,
        f: &mut dyn FnMut(u32, Vec<u32>, u32, Option<i64>),
    ) -> Result<(), StateError> {
        match self.committed_copies() {
            Some(copies) => tail::each(&self.conn, copies, from, f),
            None => tail::rows(&self.conn, (from, u32::MAX), f),
        }
    }

    fn sizes(&mut self, f: &mut dyn FnMut(u32, &[u8])) -> Result<(), StateError> {
        let what = "loading index sizes";
        let list = "SELECT first_doc, 0, 0, length(sizes) FROM near_size ORDER BY first_doc";
        let scan = "SELECT first_doc, 0, 0, sizes FROM near_size WHERE (first_doc, 0) > (?1, ?2) \
                    ORDER BY first_doc";
        let copies = self.committed_copies();
        let kind = super::copies::Rows {
            list,
            scan,
            kind: super::copies::SIZE,
            what,
        };
        kind.each(&self.conn, copies, &mut |k, blob| f(k[0], blob))
    }

    fn put_sizes(&mut self, first_doc: u32, sizes: &[u8]) -> Result<(), StateError> {
        let sql = "INSERT INTO near_size (first_doc, sizes) VALUES (?1, ?2)";
        self.write(sql, params![first_doc, sizes], "writing index sizes")?;
        if let Some(copies) = &self.copies {
            copies.stage_row(super::copies::SIZE, [first_doc, 0, 0], sizes);
        }
        Ok(())
    }

    fn runs(&mut self) -> Result<Vec<(RunInfo, Vec<u8>)>, StateError> {
        let sql =
            "SELECT run, level, first_doc, end_doc, bits, postings FROM near_run ORDER BY run";
        let runs = read_rows(&self.conn, sql, [], read_run, "listing runs")?;
        (runs.into_iter())
            .map(|r| Ok((r, blob::read_filter(&self.conn, r.run)?)))
            .collect()
    }

    fn buckets(&mut self, run: u32, buckets: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, StateError> {
        let mut distinct = buckets.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        self.read_buckets(run, &distinct)
    }

    fn bucket_range(
        &mut self,
        run: u32,
        lo: u32,
        hi: u32,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<(), StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT entries FROM near_band WHERE slot BETWEEN ?1 AND ?2 ORDER BY slot",
            )
            .map_err(q("preparing bucket scan"))?;
        let mut rows = stmt
            .query([slot(run, lo), slot(run, hi)])
            .map_err(q("scanning run"))?;
        while let Some(row) = rows.next().map_err(q("scanning run"))? {
            let blob = row
                .get_ref(0)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(q("scanning run"))?;
            f(blob);
        }
        Ok(())
    }

    fn put_bucket(&mut self, run: u32, bucket: u32, entries: &[u8]) -> Result<(), StateError> {
        let sql = "INSERT INTO near_band (slot, entries) VALUES (?1, ?2)";
        self.write(
            sql,
            params![slot(run, bucket), entries],
            "writing index bucket",
        )
        .map(drop)
    }

    fn put_run(&mut self, r: &RunInfo, filter: &[u8], tail_from: u32) -> Result<(), StateError> {
        self.begin()?;
        blob::register(&self.conn, r, filter.len() as u64, tail_from)?;
        if let Some(copies) = &self.copies {
            tail::Gather::trimmed(copies, tail_from);
        }
        blob::write_filter(&self.conn, r.run, 0, filter)
    }

    fn filter(&mut self, run: u32) -> Result<Vec<u8>, StateError> {
        blob::read_filter(&self.conn, run)
    }

    fn put_live(
        &mut self,
        (first_doc, end_doc): (u32, u32),
        chunk: u32,
        postings: &[u8],
    ) -> Result<(), StateError> {
        let sql = "INSERT OR REPLACE INTO near_live (first_doc, chunk, end_doc, postings)
                   VALUES (?1, ?2, ?3, ?4)";
        let row = params![first_doc, chunk, end_doc, postings];
        self.write(sql, row, "storing kept near postings")?;
        if let Some(copies) = &self.copies {
            // Copied when this connection closes, if the row is still there then
            // (`copies::copy_live`); a copy made before holds other bytes.
            let key = [first_doc, chunk, end_doc];
            copies.remove_row(super::copies::LIVE, key);
            self.live_uncopied.push(key);
        }
        Ok(())
    }

    fn live(&mut self, f: &mut dyn FnMut(u32, u32, &[u8])) -> Result<(), StateError> {
        let kind = super::copies::Rows {
            list: "SELECT first_doc, chunk, end_doc, length(postings) FROM near_live \
                   ORDER BY first_doc, chunk",
            scan: "SELECT first_doc, chunk, end_doc, postings FROM near_live \
                   WHERE (first_doc, chunk) > (?1, ?2) ORDER BY first_doc, chunk",
            kind: super::copies::LIVE,
            what: "loading kept near postings",
        };
        let copies = self.committed_copies();
        kind.each(&self.conn, copies, &mut |k, blob| f(k[0], k[2], blob))
    }

    fn delete_live_outside(&mut self, from: u32, to: u32) -> Result<(), StateError> {
        self.begin()?;
        // Their copies go now, not at the next open (a copy removed early only sends an open
        // to the table; a long run would keep ~64 MB of copies of rows gone).
        if let Some(copies) = &self.copies {
            super::copies::remove_live_outside(&self.conn, copies, from, to)?;
        }
        (self.live_uncopied).retain(|k| (from..to).contains(&k[0]));
        let sql = "DELETE FROM near_live WHERE first_doc < ?1 OR first_doc >= ?2";
        self.write(sql, [from, to], "dropping kept near postings")
            .map(drop)
    }

    fn put_part(&mut self, run: u32, part: u32, bytes: &[u8]) -> Result<(), StateError> {
        let sql = "INSERT OR REPLACE INTO near_part (run, part, bytes) VALUES (?1, ?2, ?3)";
        self.write(sql, params![run, part, bytes], "storing a filter partition")
            .map(drop)
    }

    fn parts(&mut self, run: u32, f: &mut dyn FnMut(u32, &[u8])) -> Result<(), StateError> {
        let sql = "SELECT part, bytes FROM near_part WHERE run = ?1 ORDER BY part";
        for_each_blob(&self.conn, sql, [run], "reading filter partitions", f)
    }

    fn part_heads(
        &mut self,
        parts: (u32, u32),
        head: usize,
        f: &mut dyn FnMut(u32, usize, &[u8]),
    ) -> Result<(), StateError> {
        blob::part_heads(self, parts, head, f)
    }

    fn part(&mut self, run: u32, part: u32) -> Result<Option<Vec<u8>>, StateError> {
        let sql = "SELECT bytes FROM near_part WHERE run = ?1 AND part = ?2";
        let what = "reading a filter partition";
        read_row(&self.conn, sql, [run, part], |r| r.get(0), what)
    }

    fn delete_parts(&mut self, run: u32) -> Result<(), StateError> {
        let sql = "DELETE FROM near_part WHERE run = ?1";
        self.write(sql, [run], "deleting filter partitions")
            .map(drop)
    }

    fn delete_parts_below(&mut self, run: u32, end: u32) -> Result<usize, StateError> {
        let sql = "DELETE FROM near_part WHERE run = ?1 AND part < ?2";
        self.write(sql, [run, end], "deleting filter partitions")
    }

    fn set_filter(&mut self, run: u32, filter: &[u8]) -> Result<(), StateError> {
        let sql = "UPDATE near_run SET filter = ?2 WHERE run = ?1";
        let room = ZeroBlob(filter.len() as u64);
        self.write(sql, params![run, room], "storing a rebuilt run filter")?;
        blob::write_filter(&self.conn, run, 0, filter)
    }

    fn forget_run(&mut self, run: u32) -> Result<(), StateError> {
        let sql = "DELETE FROM near_run WHERE run = ?1";
        self.write(sql, [run], "unregistering run").map(drop)
    }

    fn delete_buckets(&mut self, run: u32, lo: u32, hi: u32) -> Result<(), StateError> {
        let sql = "DELETE FROM near_band WHERE slot BETWEEN ?1 AND ?2";
        self.write(sql, [slot(run, lo), slot(run, hi)], "deleting run buckets")
            .map(drop)
    }

    fn clear(&mut self) -> Result<(), StateError> {
        self.begin()?;
        self.conn
            .execute_batch(
                "DELETE FROM near_record; DELETE FROM near_tail; DELETE FROM near_run;
                 DELETE FROM near_band; DELETE FROM near_size; DELETE FROM near_contains;
                 DELETE FROM near_live; DELETE FROM near_part;",
            )
            .map_err(q("clearing near-duplicate index"))?;
        self.gather.rolled_back();
        self.live_uncopied.clear();
        match &mut self.copies {
            Some(copies) => copies.renew(&self.conn),
            None => Ok(()),
        }
    }

    fn commit(&mut self) -> Result<(), StateError> {
        if let Some(copies) = &self.copies {
            copies.sync_builds();
        }
        if self.in_tx {
            self.in_tx = false;
            let committed = self.conn.execute_batch("COMMIT");
            let copies = self.copies.as_ref();
            if committed.is_ok() {
                copies.inspect(|c| c.publish());
                self.gather.committed(copies);
            } else {
                copies.inspect(|c| c.unstage());
                self.gather.rolled_back();
                // Left open (busy): rolled back, as the lines above take it.
                if !self.conn.is_autocommit() {
                    drop(self.conn.execute_batch("ROLLBACK"));
                }
            }
            committed.map_err(q("committing index"))?;
        } else if !self.conn.is_autocommit() {
            // Reads only (`NearDb::hold`).
            self.conn
                .execute_batch("COMMIT")
                .map_err(q("ending index read"))?;
        }
        Ok(())
    }
}
