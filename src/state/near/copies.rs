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
//!
//! The rows an open reads whole (`near_size`, `near_live`: `rows`) are copied the same way,
//! named `{kind}-{key}-{key}-{key}`: a `near_size` row written under a temporary name with
//! the row and named at the commit; the `near_live` rows a connection wrote, when it closes,
//! those still there (every flush replaces them: copied with their rows, a 10 M run wrote
//! 5.2 GB of copies for the ~67 MB an open reads). An open copies the rows it had to read
//! from the table (an index written before, a process that ended without closing the index).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::Connection;

use super::sql::{execute, read_row};
use crate::dedup::disk::RunInfo;
use crate::state::StateError;

mod builds;
mod rows;
pub(super) use rows::{
    LIVE, READ_AHEAD, Rows, SIZE, TAIL, copy_live, remove_live_outside, row_name,
};

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
    /// Set by the first write that fails (a full or read-only disk): no more are tried by this
    /// process, and that one is logged, rather than one warning per copy at every open.
    failed: Arc<AtomicBool>,
    /// Runs whose filter being built was written to since the last commit (`builds`).
    unsynced: Arc<Mutex<Vec<u32>>>,
    /// The thread removing copies ([`Copies::remove_soon`]), if one was started.
    removing: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// Copies of rows written in the open transaction, each under its temporary name, with
    /// its name once committed ([`Copies::stage_row`]).
    staged: Arc<Mutex<Vec<(PathBuf, PathBuf)>>>,
}

impl Copies {
    /// The copies of the index on `conn` in `state_dir`; the index gets an id on its first
    /// open. `None` (no copies: every open reads the filters from the index) when the id
    /// cannot be read or stored.
    pub(super) fn open(conn: &Connection, state_dir: &Path) -> Option<Self> {
        let dir = state_dir.join(COPIES_DIR);
        let sql = "SELECT value FROM near_meta WHERE key = ?1";
        let stored: Option<String> =
            read_row(conn, sql, [ID_KEY], |r| r.get(0), "reading the index id").ok()?;
        if let Some(id) = stored.and_then(|v| u64::from_str_radix(&v, 16).ok()) {
            return Some(Self::new(dir, id));
        }
        let id = new_id();
        store_id(conn, id).ok()?;
        Some(Self::new(dir, id))
    }

    fn new(dir: PathBuf, id: u64) -> Self {
        let failed = Arc::new(AtomicBool::new(false));
        Self {
            dir,
            id,
            failed,
            unsynced: Arc::default(),
            removing: Arc::default(),
            staged: Arc::default(),
        }
    }

    /// Gives the index a new id and removes every copy (the index was emptied; the id is
    /// stored in the transaction that empties it).
    pub(super) fn renew(&mut self, conn: &Connection) -> Result<(), StateError> {
        self.id = new_id();
        store_id(conn, self.id)?;
        self.unstage();
        self.sweep_names("", &[]);
        Ok(())
    }

    fn path(&self, run: u32) -> PathBuf {
        self.dir.join(format!("run-{run}.filter"))
    }

    /// The filter bytes of run `r` as copied, if a whole copy of this index and run is there.
    pub(super) fn read(&self, r: &RunInfo) -> Option<Vec<u8>> {
        self.read_file(&self.path(r.run), &run_tag(r), None)
    }

    /// Copies the filter of committed run `r`: written under a temporary name, then renamed.
    /// A failure is logged and leaves no copy.
    pub(super) fn write(&self, r: &RunInfo, filter: &[u8]) {
        self.write_file(&self.path(r.run), &run_tag(r), filter);
    }

    /// Copies the blob of committed row `name` (of a table whose rows are written once: the
    /// same name never holds other bytes between two clears).
    pub(super) fn write_row(&self, name: &str, tag: &[u32], blob: &[u8]) {
        self.write_file(&self.dir.join(name), &row_tag(tag), blob);
    }

    fn read_file(&self, path: &Path, tag: &[u8; 32], want: Option<usize>) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        self.read_into(path, tag, want, &mut bytes).then_some(bytes)
    }

    /// Reads the copy at `path` into `buf` (its capacity reused); `false` unless it is whole,
    /// of this index, with this `tag` and (if given) `want` bytes.
    fn read_into(
        &self,
        path: &Path,
        tag: &[u8; 32],
        want: Option<usize>,
        buf: &mut Vec<u8>,
    ) -> bool {
        let mut read = || -> Option<()> {
            let mut file = File::open(path).ok()?;
            let mut prefix = [0u8; PREFIX];
            file.read_exact(&mut prefix).ok()?;
            let (len, sum) = (u64_at(&prefix, 48) as usize, u64_at(&prefix, 56));
            let fits = prefix[..48] == self.head(tag)[..] && want.is_none_or(|w| w == len);
            if !fits || file.metadata().ok()?.len() != (PREFIX + len) as u64 {
                return None;
            }
            // One read of the whole length: read_to_end's growing reads (8 KiB, 16 KiB, …)
            // each waited for the disk, 7 of them for each 390 KiB row copy read cold.
            buf.clear();
            buf.resize(len, 0);
            file.read_exact(buf).ok()?;
            (checksum(buf) == sum).then_some(())
        };
        read().is_some()
    }

    fn write_file(&self, path: &Path, tag: &[u8; 32], bytes: &[u8]) {
        if let Some(tmp) = self.write_tmp(path, tag, bytes) {
            self.name_tmp(&tmp, path);
        }
    }

    /// Gives the copy written at `tmp` its name `path`; a failure removes it (logged: no
    /// more copies).
    fn name_tmp(&self, tmp: &Path, path: &Path) {
        if let Err(error) = std::fs::rename(tmp, path) {
            let _ = std::fs::remove_file(tmp);
            self.give_up(path, &error);
        }
    }

    /// Writes the copy of `bytes` for `path` under its temporary name (`path` + `.tmp`, which
    /// every sweep removes), returned; `None` after a failure (logged: no more copies).
    fn write_tmp(&self, path: &Path, tag: &[u8; 32], bytes: &[u8]) -> Option<PathBuf> {
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut prefix = self.head(tag);
        prefix.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        prefix.extend_from_slice(&checksum(bytes).to_le_bytes());
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| File::create(&tmp))
            .and_then(|mut f| f.write_all(&prefix).and_then(|()| f.write_all(bytes)));
        match written {
            Ok(()) => Some(tmp),
            Err(error) => {
                let _ = std::fs::remove_file(&tmp);
                self.give_up(path, &error);
                None
            }
        }
    }

    /// Stops copying after `error` writing `path` (logged once).
    fn give_up(&self, path: &Path, error: &std::io::Error) {
        if !self.failed.swap(true, Ordering::Relaxed) {
            let path = path.display();
            tracing::warn!(%path, %error, "not copied beside the index, nor will the rest be by this process (opens read them from the index)");
        }
    }

    /// Removes the copies named `names` on a thread of its own, once the removal before has
    /// ended: unlinking the 64 copies of a kept segment's rows (512 KiB each) took 50–270 ms of
    /// the add that dropped the segment. [`Copies::settle`] waits for it.
    pub(super) fn remove_soon(&self, names: &[String]) {
        let paths: Vec<PathBuf> = names.iter().map(|n| self.dir.join(n)).collect();
        let remove = move || {
            for path in &paths {
                let _ = std::fs::remove_file(path);
            }
        };
        let mut removing = self.settle_lock();
        let thread = std::thread::Builder::new().name("near-copies".into());
        // No thread: removed now.
        let started = thread.spawn(remove.clone()).map_err(|_| remove());
        *removing = started.ok();
    }

    /// Waits for the copies [`Copies::remove_soon`] was given to be removed.
    pub(super) fn settle(&self) {
        drop(self.settle_lock());
    }

    /// The removal thread's slot, its last removal ended.
    fn settle_lock(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        let mut removing = self.removing.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(thread) = removing.take() {
            let _ = thread.join();
        }
        removing
    }

    /// Removes the copies (and unfinished writes) of runs not in `keep`.
    pub(super) fn sweep(&self, keep: &[u32]) {
        let keep: Vec<String> = keep.iter().map(|r| format!("run-{r}.filter")).collect();
        self.sweep_names("run-", &keep);
    }

    /// The names of the copies (and unfinished writes) whose names start with `prefix`.
    pub(super) fn names(&self, prefix: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        (entries.flatten())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix))
            .collect()
    }

    /// Removes the files whose names start with `prefix` but those named in `keep`.
    pub(super) fn sweep_names(&self, prefix: &str, keep: &[String]) {
        for name in self.names(prefix) {
            if !keep.contains(&name) {
                let _ = std::fs::remove_file(self.dir.join(name));
            }
        }
    }

    /// The first 48 bytes of a copy: magic, id, the numbers of what it copies.
    fn head(&self, tag: &[u8; 32]) -> Vec<u8> {
        let mut head = Vec::with_capacity(PREFIX);
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&self.id.to_le_bytes());
        head.extend_from_slice(tag);
        head
    }
}

/// A run's numbers, as its copy carries them.
fn run_tag(r: &RunInfo) -> [u8; 32] {
    let mut tag = [0u8; 32];
    for (i, n) in [r.run, r.level, r.first_doc, r.end_doc, r.bits, 0]
        .iter()
        .enumerate()
    {
        tag[i * 4..i * 4 + 4].copy_from_slice(&n.to_le_bytes());
    }
    tag[24..].copy_from_slice(&r.postings.to_le_bytes());
    tag
}

/// A row's key numbers (up to seven), as its copy carries them; the last word marks a row.
fn row_tag(numbers: &[u32]) -> [u8; 32] {
    let mut tag = [0u8; 32];
    for (i, n) in numbers.iter().take(7).enumerate() {
        tag[i * 4..i * 4 + 4].copy_from_slice(&n.to_le_bytes());
    }
    tag[28..].copy_from_slice(&u32::MAX.to_le_bytes());
    tag
}

fn store_id(conn: &Connection, id: u64) -> Result<(), StateError> {
    let sql = "INSERT OR REPLACE INTO near_meta (key, value) VALUES (?1, ?2)";
    let row = (ID_KEY, format!("{id:016x}"));
    execute(conn, sql, row, "renewing the index's filter copy id").map(drop)
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
mod tests;
