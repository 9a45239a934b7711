//! `newsmill compact`: writes the index file out anew, each table's pages in order, and puts
//! the copy in the file's place.
//!
//! Why: the index frees pages all the time (a merge's inputs are deleted a slice per add) and
//! SQLite reuses free pages wherever they are, so after many merges a filter partition of
//! ~200 KB lies in pieces across a file of gigabytes. Opening the index reads the filters, the
//! record sizes and the kept near postings (~360 MB at 10 M records); from scattered pages that
//! is ~20 000 separate reads, and with a cold page cache the kernel's time for them is most of
//! what the open costs. Measured at 10 M records with the dedup bench (README "Compacting the
//! index"): a cold open read 1.5 GB and took 1.3–2.8 s of CPU (3.0–7.5 s wall) on the file as
//! the run left it, and read 563 MB in 0.85–1.39 s of CPU (0.94–1.46 s wall) compacted.
//!
//! How: `VACUUM INTO` a sibling file ([`COMPACT_FILE`]), which writes every table and index
//! in key order from one consistent snapshot; the copy is synced, the connection closed (which
//! checkpoints and removes the WAL), and the copy renamed over the file, then the folder synced.
//! A crash before the rename leaves the index as it was and a stale copy, removed by the next
//! compaction; a crash after it leaves the compacted index. The copy needs free space the size
//! of the file; when there is none, SQLite's "database or disk is full" is reported with both
//! paths and the index is untouched. The caller holds the run lock: nothing else writes the
//! file meanwhile (checked: a WAL left after the close means another connection, and the copy
//! is then discarded).

use std::path::{Path, PathBuf};

use super::{NEAR_DB_FILE, NearDb};
use crate::state::StateError;

/// Name of the compacted copy while it is written, beside the index file.
pub const COMPACT_FILE: &str = "near.sqlite.compact";

/// What [`compact`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    /// The index file.
    pub path: PathBuf,
    /// Its size before (with its WAL), in bytes.
    pub before: u64,
    /// Its size after, in bytes.
    pub after: u64,
}

/// Why [`compact`] failed; the index file is as it was, unless said otherwise.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    /// The index could not be opened.
    #[error(transparent)]
    Open(#[from] StateError),
    /// Writing the copy failed (most often: no room for it).
    #[error(
        "cannot write the compacted copy {into} of {path}{}; the index is unchanged",
        no_room(source, *size)
    )]
    Copy {
        /// The index file.
        path: PathBuf,
        /// The copy.
        into: PathBuf,
        /// The index's size.
        size: u64,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("compacting the near-duplicate index: cannot {what} {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The WAL was still there after the close: another process has the index open.
    #[error(
        "another process has {path} open (its WAL outlived the close); the compacted copy was \
         discarded and the index is unchanged"
    )]
    InUse {
        /// The index file.
        path: PathBuf,
    },
}

/// What a full disk means for the copy (nothing for other errors, which name their cause).
fn no_room(e: &rusqlite::Error, size: u64) -> String {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        format!(" (no room: the copy needs free space the size of the index, {size} bytes)")
    } else {
        String::new()
    }
}

/// Compacts `state_dir/near.sqlite` (see the module doc), or the file it links to; `None`
/// when there is no index file.
///
/// # Errors
/// See [`CompactError`]; on every error before the rename the index is unchanged.
pub fn compact(state_dir: &Path) -> Result<Option<Compacted>, CompactError> {
    compact_then(state_dir, || ())
}

/// [`compact`], calling `before_rename` once the copy is written and synced (the test
/// failpoint of `newsmill compact`: a crash there must leave the index as it was).
///
/// # Errors
/// As [`compact`].
pub fn compact_then(
    state_dir: &Path,
    before_rename: impl FnOnce(),
) -> Result<Option<Compacted>, CompactError> {
    let named = state_dir.join(NEAR_DB_FILE);
    if !named.is_file() {
        return Ok(None);
    }
    // Where the file really is (SQLite follows a link, and puts its WAL beside the target):
    // the copy goes beside it, on the same file system, and replaces it, not the link.
    let path = std::fs::canonicalize(&named).map_err(io("resolve", &named))?;
    let folder = path.parent().unwrap_or(state_dir).to_owned();
    let into = folder.join(COMPACT_FILE);
    let side = |suffix: &str| sibling(&path, suffix);
    let stale = [into.clone(), sibling(&into, "-journal")];
    stale
        .iter()
        .try_for_each(|p| remove(p, "remove the stale copy"))?;
    let before = size(&path)? + size(&side("-wal"))?;
    let copied = {
        let db = NearDb::open(state_dir)?;
        copy_into(&db, &into)
    };
    let discard = |e| {
        stale.iter().for_each(|p| drop(std::fs::remove_file(p)));
        e
    };
    copied
        .map_err(|source| CompactError::Copy {
            path: path.clone(),
            into: into.clone(),
            size: before,
            source,
        })
        .map_err(discard)?;
    sync(&into, "sync the compacted copy").map_err(discard)?;
    if size(&side("-wal"))? > 0 {
        return Err(discard(CompactError::InUse { path }));
    }
    remove(&side("-shm"), "remove the shared-memory file")?;
    before_rename();
    std::fs::rename(&into, &path).map_err(io("put the compacted copy in place of", &path))?;
    sync(&folder, "sync the folder")?;
    let after = size(&path)?;
    Ok(Some(Compacted {
        path,
        before,
        after,
    }))
}

/// Removes the copy an interrupted compaction left beside the index file `path`, which can
/// be as large as the index; returns whether there was one. Call it only under the run lock
/// (the pipeline does, on open), so that no compaction is writing the copy.
pub fn remove_stale_copy(path: &Path) -> bool {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let Some(folder) = real.parent() else {
        return false;
    };
    let copy = folder.join(COMPACT_FILE);
    let found = copy.exists();
    for p in [sibling(&copy, "-journal"), copy.clone()] {
        if let Err(e) = remove(&p, "remove the copy left by an interrupted compaction") {
            tracing::warn!(error = %e, "cannot remove a stale compaction copy");
        }
    }
    if found {
        let path = copy.display();
        tracing::info!(%path, "removed the copy an interrupted `newsmill compact` left");
    }
    found
}

/// `VACUUM INTO` `into`, from one snapshot of the open index. The path goes in as its bytes
/// (a blob cast to text), so a folder whose name is not UTF-8 gets its copy where it belongs.
fn copy_into(db: &NearDb, into: &Path) -> Result<(), rusqlite::Error> {
    #[cfg(unix)]
    let target = std::os::unix::ffi::OsStrExt::as_bytes(into.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let target = into.to_string_lossy().as_bytes().to_vec();
    db.conn
        .execute("VACUUM INTO CAST(?1 AS TEXT)", [target])
        .map(drop)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CompactError {
    let path = path.to_owned();
    move |source| CompactError::Io { what, path, source }
}

/// Size of `path`; 0 when it does not exist.
fn size(path: &Path) -> Result<u64, CompactError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io("read the size of", path)(e)),
    }
}

fn remove(path: &Path, what: &'static str) -> Result<(), CompactError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(what, path)(e)),
        _ => Ok(()),
    }
}

/// Syncs a file or a folder (opened read-only: enough for `fsync` on Unix).
fn sync(path: &Path, what: &'static str) -> Result<(), CompactError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(what, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::disk::DiskStore;

    #[test]
    fn no_index_is_nothing_to_do() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(compact(dir.path()).unwrap(), None);
        assert!(!dir.path().join(NEAR_DB_FILE).exists());
    }

    /// An index that is a link to a file elsewhere stays a link: the file it names is
    /// compacted in its own folder.
    #[test]
    fn a_linked_index_stays_a_link() {
        let (state, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let target = elsewhere.path().join("index.sqlite");
        std::os::unix::fs::symlink(&target, state.path().join(NEAR_DB_FILE)).unwrap();
        {
            use crate::dedup::disk::NearBackend as _;
            let mut db = NearDb::open(state.path()).unwrap();
            db.set_meta("k", "v").unwrap();
            db.commit().unwrap();
        }
        let done = compact(state.path()).unwrap().unwrap();
        assert_eq!(done.path, target.canonicalize().unwrap());
        let link = state.path().join(NEAR_DB_FILE);
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        let names = |d: &Path| -> Vec<String> {
            let mut n: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(state.path()), [NEAR_DB_FILE]);
        assert_eq!(names(elsewhere.path()), ["index.sqlite"]);
        use crate::dedup::disk::NearBackend as _;
        assert_eq!(
            NearDb::open(state.path())
                .unwrap()
                .meta("k")
                .unwrap()
                .as_deref(),
            Some("v")
        );
    }

    #[test]
    fn a_stale_copy_is_removed_and_the_index_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = NearDb::open(dir.path()).unwrap().path().to_owned();
        assert!(!remove_stale_copy(&path), "no copy, nothing removed");
        std::fs::write(dir.path().join(COMPACT_FILE), b"left by a crash").unwrap();
        assert!(remove_stale_copy(&path));
        assert!(!dir.path().join(COMPACT_FILE).exists());
        assert!(path.is_file());
    }

    /// A state folder whose name is not UTF-8 gets its copy beside the index, not elsewhere.
    #[cfg(unix)]
    #[test]
    fn a_folder_named_in_another_encoding_is_compacted_in_place() {
        use crate::dedup::disk::NearBackend as _;
        let base = tempfile::tempdir().unwrap();
        let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"st\xe4te");
        let state = base.path().join(name);
        {
            let mut db = NearDb::open(&state).unwrap();
            db.set_meta("k", "v").unwrap();
            db.commit().unwrap();
        }
        let done = compact(&state).unwrap().unwrap();
        assert_eq!(done.path, state.join(NEAR_DB_FILE).canonicalize().unwrap());
        let names: Vec<_> = std::fs::read_dir(base.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [name], "nothing written beside the folder");
        assert!(!state.join(COMPACT_FILE).exists());
        assert_eq!(
            NearDb::open(&state).unwrap().meta("k").unwrap().as_deref(),
            Some("v")
        );
    }

    /// A file that is not an index is named in the error and left as it was, with no copy.
    #[test]
    fn a_broken_index_is_named_and_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NEAR_DB_FILE);
        let junk = vec![b'x'; 64 * 1024];
        std::fs::write(&path, &junk).unwrap();
        let err = compact(dir.path()).unwrap_err();
        let chain = format!("{:#}", anyhow::Error::from(err));
        assert!(chain.contains(&path.display().to_string()), "{chain}");
        assert!(!chain.contains("no room"), "{chain}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);
        assert!(!dir.path().join(COMPACT_FILE).exists());
    }

    /// The compacted index has the same runs and records and opens consistent, its far
    /// lookups find what they found; a stale copy left by a crash is replaced, and no side
    /// file is left.
    #[test]
    fn compacted_index_keeps_every_row() {
        use super::super::tests::{SMALL, far, far_index};
        use crate::dedup::link::{Hit, NearStore as _};
        let dir = tempfile::tempdir().unwrap();
        let open = || DiskStore::open(NearDb::open(dir.path()).unwrap(), SMALL).unwrap();
        let store = far_index(dir.path(), 40);
        let runs = store.runs().to_vec();
        assert!(runs.len() >= 2, "{runs:?}");
        drop(store);
        std::fs::write(dir.path().join(COMPACT_FILE), b"left by a crash").unwrap();
        let done = compact(dir.path()).unwrap().unwrap();
        assert_eq!(
            done.path,
            dir.path().join(NEAR_DB_FILE).canonicalize().unwrap()
        );
        assert!(done.after > 0, "{done:?}");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let left = [crate::state::near::copies::COPIES_DIR, NEAR_DB_FILE];
        assert_eq!(names, left, "only the index and its filter copies are left");
        let (mut store, ok) = open();
        assert!(ok, "the compacted index opens consistent");
        assert_eq!((store.len(), store.runs()), (40, runs.as_slice()));
        let mut all = |_: Hit| true;
        for n in [0, 7, 39] {
            let found = store.candidates(&[far(n, 0), far(n, 2)], &mut all).unwrap();
            let ids: Vec<&str> = found.iter().map(|(d, _)| d.info.id()).collect();
            assert_eq!(ids, [format!("r{n}")]);
        }
    }
}
