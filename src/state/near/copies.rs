//! Copies of the run filters beside the index file (`state/near-filters/run-N.filter`), each
//! written in one piece once its run is committed, so that an open reads a run's filter as
//! one sequential file instead of the run's partitions from wherever SQLite put them (a long
//! run leaves `near_part` in pieces all over the file: at 10 M records a cold open read
//! ~1.5 GB for the ~230 MB of filters; README "Filter copies beside the index").
//!
//! The copies are a cache: the index file stays the truth. A copy is used only when it is
//! whole (its length and a checksum of its bytes; it is written without `fsync`, so a crash
//! may leave it cut or zeroed), of this index (an id in `near_meta`, new after every clear),
//! of this run (its `near_run` row's numbers; a run number is not used twice between two
//! clears), and, checked by `dedup::disk`, when its header is the one the run's row holds.
//! Anything else is ignored, and the filter is read from the index as before. Copies of runs no
//! longer registered are removed at the next commit or open. A build from before the copies
//! (2026-12-03) that clears the index keeps the id: after going back to one, remove the folder.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use crate::dedup::disk::RunInfo;

/// Folder of the copies, in the state folder.
pub(super) const COPIES_DIR: &str = "near-filters";
/// `near_meta` key of the index's copy id.
const ID_KEY: &str = "filter_copies";
/// Start of a copy: format name and version.
const MAGIC: [u8; 8] = *b"nmfcopy1";
/// Bytes before the filter: magic, id, run numbers, filter length, checksum.
const PREFIX: usize = 64;

/// Where the copies of one index are, and the id that ties them to it.
#[derive(Debug, Clone)]
pub(super) struct Copies {
    dir: PathBuf,
    id: u64,
}

impl Copies {
    /// The copies of the index on `conn` in `state_dir`; the index gets an id on its first
    /// open. `None` (no copies: every open reads the filters from the index) when the id
    /// cannot be read or stored.
    pub(super) fn open(conn: &Connection, state_dir: &Path) -> Option<Self> {
        let dir = state_dir.join(COPIES_DIR);
        let stored: Option<String> = conn
            .query_row(
                "SELECT value FROM near_meta WHERE key = ?1",
                [ID_KEY],
                |r| r.get(0),
            )
            .optional()
            .ok()?;
        if let Some(id) = stored.and_then(|v| u64::from_str_radix(&v, 16).ok()) {
            return Some(Self { dir, id });
        }
        let id = new_id();
        store_id(conn, id).ok()?;
        Some(Self { dir, id })
    }

    /// Gives the index a new id and removes every copy (the index was emptied; the id is
    /// stored in the transaction that empties it).
    pub(super) fn renew(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.id = new_id();
        store_id(conn, self.id)?;
        self.sweep(&[]);
        Ok(())
    }

    fn path(&self, run: u32) -> PathBuf {
        self.dir.join(format!("run-{run}.filter"))
    }

    /// The filter bytes of run `r` as copied, if a whole copy of this index and run is there.
    pub(super) fn read(&self, r: &RunInfo) -> Option<Vec<u8>> {
        let mut file = File::open(self.path(r.run)).ok()?;
        let mut prefix = [0u8; PREFIX];
        file.read_exact(&mut prefix).ok()?;
        let (head, len, sum) = (
            &prefix[..48],
            u64_at(&prefix, 48) as usize,
            u64_at(&prefix, 56),
        );
        if head != self.head(r) || file.metadata().ok()?.len() != (PREFIX + len) as u64 {
            return None;
        }
        let mut bytes = Vec::with_capacity(len);
        file.take(len as u64).read_to_end(&mut bytes).ok()?;
        (bytes.len() == len && checksum(&bytes) == sum).then_some(bytes)
    }

    /// Copies the filter of committed run `r`: written under a temporary name, then renamed.
    /// A failure is logged and leaves no copy.
    pub(super) fn write(&self, r: &RunInfo, filter: &[u8]) {
        let (path, tmp) = (
            self.path(r.run),
            self.dir.join(format!("run-{}.tmp", r.run)),
        );
        let mut prefix = self.head(r);
        prefix.extend_from_slice(&(filter.len() as u64).to_le_bytes());
        prefix.extend_from_slice(&checksum(filter).to_le_bytes());
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| File::create(&tmp))
            .and_then(|mut f| f.write_all(&prefix).and_then(|()| f.write_all(filter)))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(error) = written {
            let _ = std::fs::remove_file(&tmp);
            let path = path.display();
            tracing::warn!(%path, %error, "run filter not copied beside the index (opens read it from the index)");
        }
    }

    /// Removes the copies (and unfinished writes) of runs not in `keep`.
    pub(super) fn sweep(&self, keep: &[u32]) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let run = name.to_str().and_then(|n| n.strip_prefix("run-"));
            let kept = run
                .and_then(|n| n.strip_suffix(".filter"))
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| keep.contains(&n));
            if run.is_some() && !kept {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The first 48 bytes of a copy of run `r`: magic, id, the run's numbers.
    fn head(&self, r: &RunInfo) -> Vec<u8> {
        let mut head = Vec::with_capacity(PREFIX);
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&self.id.to_le_bytes());
        for n in [r.run, r.level, r.first_doc, r.end_doc, r.bits, 0] {
            head.extend_from_slice(&n.to_le_bytes());
        }
        head.extend_from_slice(&r.postings.to_le_bytes());
        head
    }
}

fn store_id(conn: &Connection, id: u64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO near_meta (key, value) VALUES (?1, ?2)",
        (ID_KEY, format!("{id:016x}")),
    )
    .map(drop)
}

/// An id no other index of this machine is likely to have had.
fn new_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(now.map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    h.finish()
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// A checksum of `bytes` that a cut, a zeroed stretch or a changed word does not keep: four
/// lanes of multiply-rotate over 64-bit words (several GB/s), then the rest, folded.
fn checksum(bytes: &[u8]) -> u64 {
    const P: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut lanes = [1u64, 2, 3, 4];
    let mut chunks = bytes.chunks_exact(32);
    for c in &mut chunks {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = (*lane ^ u64_at(c, i * 8)).wrapping_mul(P).rotate_left(29);
        }
    }
    let mut h = bytes.len() as u64;
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(P);
    }
    for lane in lanes {
        h = (h ^ lane).wrapping_mul(P).rotate_left(31);
    }
    h
}

#[cfg(test)]
mod tests {
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
        std::fs::write(c.dir.join("run-9.tmp"), b"cut").unwrap();
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
        assert_ne!(db.copies.unwrap().id, before);
    }
}
