//! Run buckets, bucket ranges and records read ahead on several connections
//! ([`NearBackend::warm`]): each thread opens its own read-only connection (opening
//! waits for the disk too) and reads its share, in key order, into nothing; the operating
//! system's page cache keeps the pages, and the lookups that follow on the index's own
//! connection find them there. Second connections see only what is committed: a bucket of a
//! run written since, or a record added since, is simply not read ahead (the lookup reads it
//! as before), so reading ahead never changes what a lookup finds.
//!
//! [`NearBackend::warm`]: crate::dedup::disk::NearBackend::warm

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::{NearDb, RECORD_COLUMNS, slot};

/// Connections reading ahead at most: about the requests a local SSD or a network block
/// device serves at once.
const READERS: usize = 16;
/// Rows a reader is given at least: fewer are not worth a connection.
const PER_READER: usize = 8;

/// Buckets of a range read ahead on one connection at most: a long range is cut into pieces
/// of this many, read side by side.
const PIECE: u32 = 16;

/// What one reader reads ahead at a time.
enum Ahead {
    /// The buckets of slots `lo..=hi`.
    Slots(i64, i64),
    /// A record and its cluster's canonical record.
    Record(u32),
}

/// Reads the buckets `buckets` (`(run, bucket)`, sorted), the bucket ranges `ranges`
/// (`(run, first, last)`) and the records `docs` with their clusters' canonical records
/// ahead ([`read_ahead`]); the mean time a bucket of `buckets` took, when any was read.
pub(super) fn warm(
    db: &NearDb,
    buckets: &[(u32, u32)],
    ranges: &[(u32, u32, u32)],
    docs: &[u32],
) -> Option<Duration> {
    let mut items: Vec<Ahead> = (buckets.iter())
        .map(|&(run, b)| Ahead::Slots(slot(run, b), slot(run, b)))
        .collect();
    for &(run, first, last) in ranges {
        let mut lo = first;
        while lo <= last {
            let hi = lo.saturating_add(PIECE - 1).min(last);
            items.push(Ahead::Slots(slot(run, lo), slot(run, hi)));
            let Some(next) = hi.checked_add(1) else { break };
            lo = next;
        }
    }
    items.extend(docs.iter().map(|&d| Ahead::Record(d)));
    let record = format!("SELECT {RECORD_COLUMNS} FROM near_record WHERE doc = ?1");
    let is_bucket = |item: &Ahead| matches!(*item, Ahead::Slots(lo, hi) if lo == hi);
    read_ahead(db, &items, is_bucket, |conn, item| match *item {
        Ahead::Slots(lo, hi) => {
            let sql = "SELECT entries FROM near_band WHERE slot BETWEEN ?1 AND ?2";
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = stmt.query([lo, hi])?;
            while let Some(row) = rows.next()? {
                std::hint::black_box(row.get_ref(0)?);
            }
            Ok(())
        }
        Ahead::Record(doc) => {
            let cluster = (conn.prepare_cached(&record)?)
                .query_row([doc], |r| r.get::<_, u32>(2))
                .optional()?;
            match cluster {
                Some(c) if c != doc => touch(conn, &record, c),
                _ => Ok(()),
            }
        }
    })
}

/// Reads `items` on up to [`READERS`] second connections at once with `read`, and waits for
/// them; the mean time the items `timed` picks took, when any was read. Failures are logged
/// at debug level: the lookups read what was missed.
fn read_ahead<T: Sync>(
    db: &NearDb,
    items: &[T],
    timed: impl Fn(&T) -> bool + Sync,
    read: impl Fn(&Connection, &T) -> rusqlite::Result<()> + Sync,
) -> Option<Duration> {
    let readers = (items.len() / PER_READER).min(READERS);
    if readers == 0 {
        return None;
    }
    let (path, read, timed) = (db.path.as_path(), &read, &timed);
    let (took, n) = std::thread::scope(|s| {
        let threads: Vec<_> = (items.chunks(items.len().div_ceil(readers)))
            .filter_map(|part| {
                let thread = std::thread::Builder::new().name("near-warm".into());
                let started = thread.spawn_scoped(s, move || {
                    let rd = NearDb::read_only(path, None)?;
                    let (mut took, mut n) = (Duration::ZERO, 0u32);
                    for item in part {
                        let t = Instant::now();
                        if let Err(e) = read(&rd.conn, item) {
                            tracing::debug!(path = %path.display(), error = %e, "reading the index ahead");
                            break;
                        }
                        if timed(item) {
                            (took, n) = (took + t.elapsed(), n + 1);
                        }
                    }
                    Some((took, n))
                });
                started
                    .inspect_err(|e| tracing::debug!(error = %e, "no thread to read the index ahead"))
                    .ok()
            })
            .collect();
        (threads.into_iter())
            .filter_map(|t| t.join().ok().flatten())
            .fold((Duration::ZERO, 0u32), |(a, m), (b, n)| (a + b, m + n))
    });
    (n > 0).then(|| took / n)
}

/// Reads every column of the row `sql` selects for `key` whole (overflow pages too), and
/// drops it.
fn touch(conn: &Connection, sql: &str, key: u32) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([key])?;
    if let Some(row) = rows.next()? {
        for i in 0..row.as_ref().column_count() {
            std::hint::black_box(row.get_ref(i)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{SMALL, far, far_index, far_plan};
    use crate::dedup::disk::{DiskStore, NearBackend as _};
    use crate::dedup::link::{Hit, Lookup, NearStore as _};
    use crate::state::near::NearDb;

    /// Far lookups of `keys`, screening nothing out.
    fn lookups(keys: &[[u32; 2]]) -> Vec<Lookup<'_>> {
        (keys.iter())
            .map(|k| Lookup {
                keys: &k[..],
                span: None,
                keep: Box::new(|_| true),
            })
            .collect()
    }

    /// Ids found by a far lookup of record `n`'s first and last keys.
    fn found(store: &mut DiskStore<NearDb>, n: u32) -> Vec<String> {
        let mut all = |_: Hit| true;
        let found = store.candidates(&[far(n, 0), far(n, 2)], &mut all).unwrap();
        found.iter().map(|(d, _)| d.info.id().to_owned()).collect()
    }

    /// A far lookup of a stored record reads ahead the buckets of its keys in the run that
    /// holds the record.
    #[test]
    fn a_lookup_warms_the_buckets_of_its_keys_in_its_records_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = far_index(dir.path(), 120);
        let runs = store.runs().to_vec();
        assert!(runs.len() > 10, "records are in many runs: {}", runs.len());
        for n in 0..100 {
            let keys = [[far(n, 0), far(n, 2)]];
            let want = store.warm_buckets(&lookups(&keys));
            let r = (runs.iter())
                .find(|r| r.first_doc <= n && n < r.end_doc)
                .expect("record in a run");
            // A fingerprint false positive may add a run; the record's own is always there.
            assert!(
                want.contains(&(r.run, r.bucket(far(n, 0)))),
                "record {n}: {want:?}"
            );
            assert!(
                want.contains(&(r.run, r.bucket(far(n, 2)))),
                "record {n}: {want:?}"
            );
            assert!(want.len() <= 4, "record {n}: {want:?}");
        }
        // Lookups of keys no run holds warm (nearly) nothing.
        let absent: Vec<[u32; 2]> = (5000..5100).map(|n| [far(n, 0), far(n, 2)]).collect();
        assert!(store.warm_buckets(&lookups(&absent)).len() < 5);
    }

    /// Reading ahead on second connections, with uncommitted runs that they cannot see,
    /// changes no lookup's result, then or after a reopen.
    #[test]
    fn warming_beside_uncommitted_runs_changes_no_result() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (mut warmed, mut plain) = (far_index(a.path(), 80), far_index(b.path(), 80));
        for n in 80..100 {
            warmed.apply(&far_plan(n)).unwrap();
            plain.apply(&far_plan(n)).unwrap();
        }
        let keys: Vec<[u32; 2]> = (0..100).map(|n| [far(n, 0), far(n, 2)]).collect();
        let want = warmed.warm_buckets(&lookups(&keys));
        let runs = warmed.runs().to_vec();
        let in_runs: Vec<(u32, u32)> = (0..100)
            .filter_map(|n| {
                let r = runs.iter().find(|r| r.first_doc <= n && n < r.end_doc)?;
                Some((r.run, r.bucket(far(n, 0))))
            })
            .collect();
        assert!(in_runs.len() >= 80, "{}", in_runs.len());
        assert!(in_runs.iter().all(|b| want.contains(b)));
        let took = warmed.backend().warm(&want, &[], &[]);
        assert!(took.is_some(), "the committed buckets were read, and timed");
        // Each record is past its own lookup's screen (and none other's).
        let docs = warmed.warm_records(&mut lookups(&keys));
        assert_eq!(docs, (0..100).collect::<Vec<u32>>());
        warmed.warm(100, &mut lookups(&keys));
        for n in 0..100 {
            assert_eq!(found(&mut warmed, n), [format!("r{n}")]);
            assert_eq!(found(&mut warmed, n), found(&mut plain, n));
        }
        warmed.commit().unwrap();
        drop(warmed);
        let (mut reopened, ok) = DiskStore::open(NearDb::open(a.path()).unwrap(), SMALL).unwrap();
        assert!(ok);
        reopened.warm(100, &mut lookups(&keys));
        (0..100).for_each(|n| assert_eq!(found(&mut reopened, n), [format!("r{n}")]));
    }

    /// A backend whose file cannot be opened again reads nothing ahead and fails nothing.
    #[test]
    fn a_warm_that_cannot_open_a_connection_is_harmless() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        db.put_bucket(0, 1, &[1; 8]).unwrap();
        db.commit().unwrap();
        db.path = dir.path().join("gone").join("near.sqlite");
        let buckets: Vec<(u32, u32)> = (0..64).map(|b| (0, b)).collect();
        let took = db.warm(&buckets, &[(0, 0, 1000)], &(0..64).collect::<Vec<u32>>());
        assert_eq!(took, None, "nothing read");
        assert_eq!(db.buckets(0, &[1]).unwrap(), [(1, vec![1; 8])]);
    }
}
