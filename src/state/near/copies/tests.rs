//! Tests of the copies beside the index.

use super::*;

fn run(run: u32) -> RunInfo {
    RunInfo {
        run,
        level: 1,
        first_doc: 0,
        end_doc: 100,
        bits: 4,
        postings: 6400,
    }
}

/// The names of the files in the copies folder of the index in `dir`, sorted (none when
/// there is no folder).
fn names(dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(dir.join(COPIES_DIR))
        .into_iter()
        .flatten();
    let mut names: Vec<String> = (entries.map(|e| e.unwrap().file_name()))
        .map(|n| n.into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn copies(dir: &Path) -> Copies {
    let conn = Connection::open(dir.join("meta.sqlite")).unwrap();
    conn.execute_batch("CREATE TABLE near_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .unwrap();
    Copies::open(&conn, dir).unwrap()
}

#[test]
fn a_copy_reads_back_only_whole_and_for_its_own_index_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let c = copies(dir.path());
    let filter: Vec<u8> = (0..100_003u32).map(|i| (i * 7 + i / 255) as u8).collect();
    c.write(&run(3), &filter);
    assert_eq!(c.read(&run(3)).as_deref(), Some(&filter[..]));
    assert_eq!(c.read(&run(4)), None, "no copy of run 4");
    let other = RunInfo {
        postings: 6401,
        ..run(3)
    };
    assert_eq!(
        c.read(&other),
        None,
        "a run numbered alike with other numbers"
    );
    let mut renewed = c.clone();
    renewed.id ^= 1;
    assert_eq!(renewed.read(&run(3)), None, "another index's copy");
    // A byte changed, the file cut, a stretch zeroed: no copy.
    let path = c.path(3);
    let good = std::fs::read(&path).unwrap();
    for (i, broken) in [
        [&good[..70_000], &[0u8; 8][..], &good[70_008..]].concat(),
        good[..good.len() - 1].to_vec(),
        {
            let mut b = good.clone();
            b[PREFIX + 50_000] ^= 0x10;
            b
        },
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(&path, broken).unwrap();
        assert_eq!(c.read(&run(3)), None, "broken copy {i} read back");
    }
}

#[test]
fn a_sweep_keeps_the_listed_runs_and_a_renewal_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = copies(dir.path());
    for r in 1..=3 {
        c.write(&run(r), &[r as u8; 40]);
    }
    std::fs::write(c.dir.join("run-9.filter.tmp"), b"cut").unwrap();
    c.sweep(&[1, 3]);
    let mut names: Vec<String> = std::fs::read_dir(&c.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["run-1.filter", "run-3.filter"]);
    let conn = Connection::open(dir.path().join("meta.sqlite")).unwrap();
    let before = c.id;
    c.renew(&conn).unwrap();
    assert_ne!(c.id, before);
    assert_eq!(std::fs::read_dir(&c.dir).unwrap().count(), 0);
    let reopened = Copies::open(&conn, dir.path()).unwrap();
    assert_eq!(reopened.id, c.id, "the new id is the stored one");
}

/// Through the index: a commit copies every registered run's filter and no other; an
/// open takes a good copy (the partitions gone, nothing is rebuilt) and refuses one whose
/// header is not the run's (another run's filter under its name), which it replaces.
#[test]
fn the_index_copies_its_run_filters_and_an_open_takes_only_the_right_copy() {
    use crate::dedup::disk::filter::{self, KeyFilter};
    use crate::dedup::disk::{DiskStore, NearBackend};
    use crate::state::near::NearDb;
    use crate::state::near::tests::{far, far_index};
    let dir = tempfile::tempdir().unwrap();
    drop(far_index(dir.path(), 200));
    let mut db = NearDb::open(dir.path()).unwrap();
    let runs: Vec<(RunInfo, Vec<u8>)> = db.runs().unwrap();
    assert!(runs.len() >= 3, "{} runs", runs.len());
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join(COPIES_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with("size-") && !n.starts_with(LIVE))
        .collect();
    names.sort();
    let mut expected: Vec<String> = runs
        .iter()
        .map(|(r, _)| format!("run-{}.filter", r.run))
        .collect();
    expected.sort();
    assert_eq!(names, expected, "one copy per registered run");
    let truth: Vec<_> = runs
        .iter()
        .map(|(r, _)| filter::load(&mut db, r).unwrap())
        .collect();
    // Another run's copy renamed to the first's name, then another filter (another
    // header) copied under the first's numbers: refused, the filter read from the
    // partitions, and copied again.
    let (first, row) = runs[0].clone();
    let copies = db.copies.clone().unwrap();
    std::fs::copy(copies.path(runs[1].0.run), copies.path(first.run)).unwrap();
    assert_eq!(db.copied_filter(&first), None, "another run's copy");
    let (f, rebuilt) = filter::opened(&mut db, &first, row.clone()).unwrap();
    assert_eq!((&f, rebuilt), (&truth[0], false));
    assert_eq!(
        db.copied_filter(&first).as_deref(),
        Some(truth[0].as_bytes())
    );
    let mut other = filter::FilterBuilder::new(6000);
    (0..2000).for_each(|n| (0..3).for_each(|j| other.insert(far(n, j))));
    let other: KeyFilter = other.finish();
    assert_ne!(other.as_bytes()[8..24], truth[0].as_bytes()[8..24]);
    db.copy_filter(&first, other.as_bytes());
    let (f, rebuilt) = filter::opened(&mut db, &first, row.clone()).unwrap();
    assert_eq!((&f, rebuilt), (&truth[0], false));
    assert_eq!(
        db.copied_filter(&first).as_deref(),
        Some(truth[0].as_bytes())
    );
    // The partitions gone: every filter comes from its copy, none rebuilt.
    db.conn.execute("DELETE FROM near_part", []).unwrap();
    for ((r, row), t) in runs.iter().zip(&truth) {
        assert_eq!(
            filter::opened(&mut db, r, row.clone()).unwrap(),
            (t.clone(), false)
        );
    }
    // Cleared: the copies go, and the index has a new id.
    let before = db.copies.as_ref().unwrap().id;
    let (mut store, _) = DiskStore::open(db, crate::state::near::tests::SMALL).unwrap();
    store.clear().unwrap();
    store.commit().unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path().join(COPIES_DIR))
            .unwrap()
            .count(),
        0
    );
    let db = NearDb::open(dir.path()).unwrap();
    assert_ne!(db.copies.as_ref().unwrap().id, before);
}

/// The rows an open reads whole (`near_size`, `near_live`) are copied by a read without
/// uncommitted writes, read back from the copies (the table's blobs zeroed: still the
/// rows as written), and from the table from the first bad copy on, each row once.
#[test]
fn rows_read_on_open_come_from_their_copies_up_to_the_first_bad_one() {
    use crate::dedup::disk::NearBackend;
    use crate::state::near::NearDb;
    use crate::state::near::tests::far_index;
    type Read = Vec<(u32, u32, Vec<u8>)>;
    fn read(db: &mut NearDb) -> (Read, Read) {
        let (mut sizes, mut live) = (Vec::new(), Vec::new());
        db.sizes(&mut |k, b| sizes.push((k, 0, b.to_vec())))
            .unwrap();
        db.live(&mut |k, e, b| live.push((k, e, b.to_vec())))
            .unwrap();
        (sizes, live)
    }
    let count = |dir: &Path, prefix: &str| {
        std::fs::read_dir(dir.join(COPIES_DIR))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_str()
                    .unwrap()
                    .starts_with(prefix)
            })
            .count()
    };
    let dir = tempfile::tempdir().unwrap();
    drop(far_index(dir.path(), 200));
    let mut db = NearDb::open(dir.path()).unwrap();
    std::fs::remove_dir_all(dir.path().join(COPIES_DIR)).unwrap();
    db.put_live((4, 8), 0, &[3; 24]).unwrap();
    db.put_live((0, 4), 1, &[2; 8]).unwrap();
    db.put_live((0, 4), 0, &[1; 16]).unwrap();
    let truth = read(&mut db);
    assert!(truth.0.len() >= 3, "{} size rows", truth.0.len());
    assert_eq!(
        truth.1[0],
        (0, 4, vec![1; 16]),
        "kept postings by first record, chunk"
    );
    assert_eq!(
        names(dir.path()),
        Vec::<String>::new(),
        "kept postings are copied when their connection closes, and a read with writes \
         uncommitted copies nothing"
    );
    db.commit().unwrap();
    assert_eq!(names(dir.path()), Vec::<String>::new());
    assert_eq!(read(&mut db), truth, "read from the table, and copied");
    assert_eq!(count(dir.path(), "size-"), truth.0.len());
    assert_eq!(count(dir.path(), "live-"), truth.1.len());
    db.conn
        .execute_batch(
            "UPDATE near_size SET sizes = zeroblob(length(sizes));
             UPDATE near_live SET postings = zeroblob(length(postings));",
        )
        .unwrap();
    assert_eq!(read(&mut db), truth, "read from the copies");
    // The second size row's copy cut: the first from its copy, the rest from the table.
    let second = truth.0[1].0;
    let path = db
        .copies
        .as_ref()
        .unwrap()
        .dir
        .join(format!("size-{second}-0-0"));
    let cut = std::fs::read(&path).unwrap();
    std::fs::write(&path, &cut[..cut.len() - 1]).unwrap();
    let (sizes, live) = read(&mut db);
    assert_eq!(live, truth.1);
    assert_eq!(sizes[0], truth.0[0]);
    let keys: Vec<u32> = sizes.iter().map(|s| s.0).collect();
    let expected: Vec<u32> = truth.0.iter().map(|s| s.0).collect();
    assert_eq!(keys, expected, "each row once, in order");
    assert!(
        sizes[1..].iter().all(|s| s.2.iter().all(|b| *b == 0)),
        "from the table"
    );
    // A row gone: its copy goes at the next read.
    db.conn
        .execute("DELETE FROM near_size WHERE first_doc = ?1", [second])
        .unwrap();
    read(&mut db);
    assert!(!path.exists());
    assert_eq!(count(dir.path(), "size-"), truth.0.len() - 1);
}

/// Copies that cannot be written (here the folder's name is taken by a file, as a full or
/// read-only disk would refuse them): the first failure stops the rest in that process, and
/// the index builds, commits and opens from its own rows with every record found.
#[test]
fn copies_that_cannot_be_written_leave_the_index_whole() {
    use crate::dedup::disk::DiskStore;
    use crate::state::near::NearDb;
    use crate::state::near::tests::{SMALL, assert_finds_far_records, far_index};
    let dir = tempfile::tempdir().unwrap();
    let c = copies(dir.path());
    std::fs::write(&c.dir, b"not a folder").unwrap();
    c.write(&run(1), &[1; 40]);
    assert!(c.failed.load(Ordering::Relaxed));
    std::fs::remove_file(&c.dir).unwrap();
    c.write(&run(2), &[2; 40]);
    assert!(!c.dir.exists(), "no copy tried after the first failure");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(COPIES_DIR), b"not a folder").unwrap();
    drop(far_index(dir.path(), 200));
    let (mut store, ok) = DiskStore::open(NearDb::open(dir.path()).unwrap(), SMALL).unwrap();
    assert!(ok);
    assert!(store.runs().len() >= 3, "{} runs", store.runs().len());
    assert_finds_far_records(&mut store, 200);
}

/// The row copies trust that a committed `near_size` or `near_live` row keeps its bytes under
/// its key until the index is cleared (rows are written once; a resumed flush writes the same
/// bytes). Checked along an index's life: adds with near and far keys, flushes, merges,
/// deletions, commits every few adds and reopens; every row seen is compared with what its
/// key held before. And no copy of a `near_live` row outlives the row (removed when the row
/// is deleted, not at the next open).
#[test]
fn committed_rows_keep_their_bytes_under_their_key_along_an_index_life() {
    use std::collections::HashMap;

    use crate::dedup::disk::{DiskStore, Shape};
    use crate::dedup::link::NearStore as _;
    use crate::state::near::tests::far_plan;
    use crate::state::near::{NEAR_DB_FILE, NearDb};
    type Rows = HashMap<(char, u32, u32), Vec<u8>>;
    fn rows(dir: &Path) -> Rows {
        let conn = Connection::open(dir.join(NEAR_DB_FILE)).unwrap();
        let mut out = Rows::new();
        let mut read = |kind: char, sql: &str| {
            let mut stmt = conn.prepare(sql).unwrap();
            let mut rows = stmt.query([]).unwrap();
            while let Some(r) = rows.next().unwrap() {
                out.insert(
                    (kind, r.get(0).unwrap(), r.get(1).unwrap()),
                    r.get(2).unwrap(),
                );
            }
        };
        read('s', "SELECT first_doc, 0, sizes FROM near_size");
        read('l', "SELECT first_doc, chunk, postings FROM near_live");
        out
    }
    let shape = Shape {
        tail_docs: 8,
        fan_in: 2,
        live_docs: 16,
    };
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        DiskStore::open(NearDb::open(dir.path()).unwrap(), shape)
            .unwrap()
            .0
    };
    let mut store = open();
    let (mut seen, mut kinds, mut copies_seen, mut closes) = (Rows::new(), (0, 0), 0, 0);
    for n in 0..900u32 {
        let mut plan = far_plan(n);
        // Near keys too (those `near_live` keeps), some shared, and a publication time.
        plan.bands
            .extend((0..3).map(|j| (n / 3 * 8 + j * 2 + 1) << 4));
        plan.insert.rank.published_us = Some(i64::from(n) * 3_600_000_000);
        store.apply(&plan).unwrap();
        if n % 5 == 4 {
            store.commit().unwrap();
            let committed = rows(dir.path());
            let names = names(dir.path());
            for (kind, key, _) in committed.keys() {
                // A sizes row is copied by the commit that wrote it, or by an open; a kept
                // postings row when the connection that wrote it closes (below).
                if *kind != 's' {
                    continue;
                }
                let copied = format!("size-{key}-0-0");
                assert!(
                    names
                        .iter()
                        .any(|c| c.starts_with(&copied) && !c.ends_with(".tmp")),
                    "{copied} at record {n}: {names:?}"
                );
            }
            for (key, bytes) in committed {
                match seen.get(&key) {
                    Some(before) => assert_eq!(before, &bytes, "row {key:?} after record {n}"),
                    None => {
                        if key.0 == 's' {
                            kinds.0 += 1
                        } else {
                            kinds.1 += 1
                        }
                        seen.insert(key, bytes);
                    }
                }
            }
        }
        if n % 37 == 36 {
            let closed_committed = !store.backend().in_tx;
            drop(store);
            if closed_committed {
                closes += 1;
                live_copied_on_close(dir.path(), n);
            }
            store = open();
        }
        // No copy outlives its row (copies are written under a temporary name with the row,
        // named at the commit, removed with the row on a thread).
        if let Some(copies) = &store.backend().copies {
            copies.settle();
        }
        let conn = Connection::open(dir.path().join(NEAR_DB_FILE)).unwrap();
        let mut stmt = conn
            .prepare("SELECT first_doc, chunk, end_doc FROM near_live")
            .unwrap();
        let live: Vec<String> = stmt
            .query_map([], |r| {
                let k: [u32; 3] = [r.get(0)?, r.get(1)?, r.get(2)?];
                Ok(format!("{LIVE}-{}-{}-{}", k[0], k[1], k[2]))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let copied = std::fs::read_dir(dir.path().join(COPIES_DIR))
            .into_iter()
            .flatten();
        for name in copied.map(|e| e.unwrap().file_name().into_string().unwrap()) {
            let staged = name.ends_with(".tmp");
            let stale = name.starts_with(LIVE) && !staged && !live.contains(&name);
            assert!(!stale, "{name} after record {n}, rows {live:?}");
            copies_seen += usize::from(name.starts_with(LIVE));
        }
    }
    assert!(
        copies_seen > 100,
        "{copies_seen} copies of kept postings seen"
    );
    assert!(
        kinds.0 >= 50 && kinds.1 >= 50,
        "rows seen (sizes, kept postings): {kinds:?}"
    );
    assert!(closes >= 3, "{closes} closes with nothing uncommitted");
    println!("rows seen (sizes, kept postings): {kinds:?}");
    let now = rows(dir.path());
    assert!(
        now.len() < seen.len(),
        "rows deleted along the way: {} of {}",
        now.len(),
        seen.len()
    );
}

/// Every `near_live` row of the index in `dir` has a copy holding its bytes (the connection
/// that wrote them closed with nothing uncommitted; checked after record `n`).
fn live_copied_on_close(dir: &Path, n: u32) {
    let conn = Connection::open(dir.join(crate::state::near::NEAR_DB_FILE)).unwrap();
    let mut stmt = conn
        .prepare("SELECT first_doc, chunk, end_doc, postings FROM near_live")
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut count = 0;
    while let Some(r) = rows.next().unwrap() {
        let key: [u32; 3] = [r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()];
        let bytes: Vec<u8> = r.get(3).unwrap();
        let name = format!("{LIVE}-{}-{}-{}", key[0], key[1], key[2]);
        let copy = std::fs::read(dir.join(COPIES_DIR).join(&name));
        let copy = copy.unwrap_or_else(|e| panic!("{name} after record {n}: {e}"));
        assert_eq!(copy[PREFIX..], bytes[..], "{name} after record {n}");
        count += 1;
    }
    assert!(count > 0, "kept postings after record {n}");
}

/// Rows written in a transaction that does not commit leave no copy behind: their staged
/// copies go with the connection that rolls them back (a kept postings row is copied only
/// when its connection closes with nothing uncommitted), and an open reads no such row.
#[test]
fn rows_of_a_transaction_rolled_back_leave_no_copy() {
    use crate::dedup::disk::NearBackend;
    use crate::state::near::NearDb;
    use crate::state::near::tests::far_index;
    let dir = tempfile::tempdir().unwrap();
    drop(far_index(dir.path(), 20));
    let before = names(dir.path());
    let mut db = NearDb::open(dir.path()).unwrap();
    db.put_live((900, 904), 0, &[7; 16]).unwrap();
    db.put_sizes(900, &[1; 24]).unwrap();
    let staged = names(dir.path());
    assert!(
        staged.contains(&"size-900-0-0.tmp".to_string())
            && !staged.iter().any(|n| n.starts_with("live-900-")),
        "{staged:?}"
    );
    drop(db);
    assert_eq!(names(dir.path()), before);
    let mut db = NearDb::open(dir.path()).unwrap();
    let mut live = Vec::new();
    db.live(&mut |first, _, _| live.push(first)).unwrap();
    assert!(!live.contains(&900), "{live:?}");
}
