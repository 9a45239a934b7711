//! Tests of the `near_tail` rows and their block copies.

use std::path::Path;

use super::*;
use crate::dedup::disk::{NearBackend, RunInfo, StoredDoc};
use crate::dedup::{DocInfo, FactTag, Rank};
use crate::state::near::NearDb;

/// Record `n`: its keys and date depend on `n` (every seventh undated).
fn record(n: u32) -> (StoredDoc, Vec<u32>) {
    let doc = StoredDoc {
        doc: n,
        cluster: n,
        info: DocInfo {
            rank: Rank {
                published_us: (!n.is_multiple_of(7)).then(|| i64::from(n) * 60_000_000),
                republished: false,
                source_id: "s".into(),
                url_len: 10,
                id: format!("r{n}"),
            },
            shingles: 50 + n % 300,
            facts: FactTag([0, 0]),
        },
    };
    let keys = (0..4 + n % 3)
        .map(|j| n.wrapping_mul(2_654_435_761) ^ j)
        .collect();
    (doc, keys)
}

/// Inserts records `from..to` and commits.
fn add(db: &mut NearDb, from: u32, to: u32) {
    for n in from..to {
        let (doc, keys) = record(n);
        db.insert(&doc, &keys).unwrap();
    }
    db.commit().unwrap();
}

/// The tail from record `from` as the backend reads it.
fn read(db: &mut NearDb, from: u32) -> Vec<TailRow> {
    let mut rows = Vec::new();
    db.tail(from, &mut |d, k, s, p| rows.push((d, k, s, p)))
        .unwrap();
    rows
}

/// The tail from record `from` as inserted.
fn expected(from: u32, to: u32) -> Vec<TailRow> {
    (from..to)
        .map(|n| {
            let (doc, keys) = record(n);
            (n, keys, doc.info.shingles, doc.info.rank.published_us)
        })
        .collect()
}

/// The first records of the blocks copied beside the index in `dir`, ascending.
fn copied(dir: &Path) -> Vec<u32> {
    let entries = std::fs::read_dir(dir.join(super::super::copies::COPIES_DIR));
    let mut blocks: Vec<u32> = (entries.into_iter().flatten())
        .filter_map(|e| block_of(e.ok()?.file_name().to_str()?))
        .collect();
    blocks.sort_unstable();
    blocks
}

#[test]
fn whole_blocks_are_copied_at_their_commit_and_read_back_as_the_table_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = NearDb::open(dir.path()).unwrap();
    // Commits that end inside blocks and span their ends.
    for (from, to) in [(0, 700), (700, 1500), (1500, 3100), (3100, 3200)] {
        add(&mut db, from, to);
    }
    assert_eq!(
        copied(dir.path()),
        [0, BLOCK, 2 * BLOCK],
        "the last is not whole"
    );
    for from in [0, 500, BLOCK, 2500, 3150, 3200] {
        assert_eq!(read(&mut db, from), expected(from, 3200), "from {from}");
    }
    let mut from_table = Vec::new();
    rows(&db.conn, (0, u32::MAX), &mut |d, k, s, p| {
        from_table.push((d, k, s, p));
    })
    .unwrap();
    assert_eq!(from_table, expected(0, 3200));
    // A copy is what an open reads: one that says otherwise (and is whole, of this index, of
    // its block) is believed.
    let copies = db.copies.clone().unwrap();
    let mut other = Vec::new();
    for n in BLOCK..2 * BLOCK {
        encode(&mut other, n, (7, None), &[n]);
    }
    copies.write_row(&name(BLOCK), &tag(BLOCK), &other);
    let rows = read(&mut db, 0);
    assert_eq!(rows[BLOCK as usize], (BLOCK, vec![BLOCK], 7, None));
    assert_eq!(rows.len(), 3200);
}

#[test]
fn a_bad_copy_is_read_from_the_table_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = NearDb::open(dir.path()).unwrap();
    add(&mut db, 0, 3 * BLOCK + 10);
    let folder = dir.path().join(super::super::copies::COPIES_DIR);
    // Cut, of another block's records, and written by another index.
    let cut = folder.join(name(0));
    let len = std::fs::metadata(&cut).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cut)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    std::fs::copy(folder.join(name(2 * BLOCK)), folder.join(name(BLOCK))).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut other = NearDb::open(elsewhere.path()).unwrap();
    for n in 0..3 * BLOCK {
        other.insert(&record(n).0, &[n ^ 1]).unwrap();
    }
    other.commit().unwrap();
    let theirs = elsewhere.path().join(super::super::copies::COPIES_DIR);
    std::fs::copy(theirs.join(name(2 * BLOCK)), folder.join(name(2 * BLOCK))).unwrap();
    assert_eq!(read(&mut db, 0), expected(0, 3 * BLOCK + 10));
    assert_eq!(
        copied(dir.path()),
        [0, BLOCK, 2 * BLOCK],
        "copied anew from the table"
    );
    assert_eq!(read(&mut db, 0), expected(0, 3 * BLOCK + 10));
    // A block is copied by the process that inserted its first record.
    drop(db);
    let mut db = NearDb::open(dir.path()).unwrap();
    add(&mut db, 3 * BLOCK + 10, 4 * BLOCK + 5);
    assert_eq!(
        copied(dir.path()),
        [0, BLOCK, 2 * BLOCK],
        "block 3 not started here"
    );
    add(&mut db, 4 * BLOCK + 5, 5 * BLOCK);
    assert_eq!(copied(dir.path()), [0, BLOCK, 2 * BLOCK, 4 * BLOCK]);
    assert_eq!(read(&mut db, 100), expected(100, 5 * BLOCK));
    let all: Vec<u32> = (0..5).map(|b| b * BLOCK).collect();
    assert_eq!(
        copied(dir.path()),
        all,
        "block 3 copied by the open that read it"
    );
}

#[test]
fn blocks_of_a_transaction_rolled_back_are_not_copied() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = NearDb::open(dir.path()).unwrap();
    add(&mut db, 0, 10);
    for n in 10..2 * BLOCK {
        let (doc, keys) = record(n);
        db.insert(&doc, &keys).unwrap();
    }
    drop(db);
    assert_eq!(copied(dir.path()), Vec::<u32>::new());
    let mut db = NearDb::open(dir.path()).unwrap();
    assert_eq!(read(&mut db, 0), expected(0, 10));
    // Emptied in the transaction that inserts again: the blocks after the clear are copied.
    for n in 10..BLOCK / 2 {
        let (doc, keys) = record(n);
        db.insert(&doc, &keys).unwrap();
    }
    db.clear().unwrap();
    add(&mut db, 0, BLOCK + 1);
    assert_eq!(copied(dir.path()), [0]);
    assert_eq!(read(&mut db, 0), expected(0, BLOCK + 1));
}

#[test]
fn a_process_that_goes_on_inside_a_block_removes_its_copy() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = NearDb::open(dir.path()).unwrap();
    add(&mut db, 0, 2 * BLOCK);
    assert_eq!(copied(dir.path()), [0, BLOCK]);
    // Rows of block 1 lost (as by a commit an OS crash undid), then inserted anew by a
    // process that did not start the block: the copy holds the old rows and must go.
    db.conn
        .execute("DELETE FROM near_tail WHERE doc >= ?1", [BLOCK + 10])
        .unwrap();
    db.conn
        .execute("DELETE FROM near_record WHERE doc >= ?1", [BLOCK + 10])
        .unwrap();
    drop(db);
    let mut db = NearDb::open(dir.path()).unwrap();
    for n in BLOCK + 10..2 * BLOCK {
        let (mut doc, _) = record(n);
        doc.info.shingles += 1;
        db.insert(&doc, &[n]).unwrap();
    }
    db.commit().unwrap();
    if let Some(c) = &db.copies {
        c.settle();
    }
    assert_eq!(copied(dir.path()), [0]);
    let rows = read(&mut db, 0);
    assert_eq!(rows[2 * BLOCK as usize - 1].1, [2 * BLOCK - 1]);
}

#[test]
fn a_run_that_takes_the_rows_removes_the_copies_wholly_before_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = NearDb::open(dir.path()).unwrap();
    add(&mut db, 0, 3 * BLOCK);
    let run = RunInfo {
        run: 0,
        level: 0,
        first_doc: 0,
        end_doc: 2 * BLOCK - 1,
        bits: 2,
        postings: 1,
    };
    db.put_run(&run, &[1; 8], 2 * BLOCK - 1).unwrap();
    db.commit().unwrap();
    if let Some(c) = &db.copies {
        c.settle();
    }
    assert_eq!(copied(dir.path()), [BLOCK, 2 * BLOCK]);
    assert_eq!(
        read(&mut db, 2 * BLOCK - 1),
        expected(2 * BLOCK - 1, 3 * BLOCK)
    );
    assert_eq!(copied(dir.path()), [BLOCK, 2 * BLOCK], "both still read");
    assert_eq!(read(&mut db, 2 * BLOCK), expected(2 * BLOCK, 3 * BLOCK));
    assert_eq!(
        copied(dir.path()),
        [2 * BLOCK],
        "the open removes what it did not read"
    );
}
