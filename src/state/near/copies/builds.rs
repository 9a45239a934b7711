//! Filters being built by a flush or merge, kept beside the index (`build-N.filter`) as their
//! builder lets their bytes go (`NearBackend::keep_spilled`), so that the job's end reads the
//! filter back in one piece instead of from the run's partitions, which a long job leaves
//! scattered through the index file (at 10 M records the ~100 MB filter of a level-3 merge
//! took 0.1–1.6 s to read cold, all in one add).
//!
//! A file is its prefix (format, the index's id, the run's numbers), then the filter's stored
//! form from its first byte (the header's bytes are left as zeros: the builder holds them).
//! Written bytes are synced before each commit ([`Copies::sync_builds`]), so the bytes a
//! committed job state says were spilled are on disk when an open takes the job up. Any
//! failure removes the file and stops the copies of this process; the job's end then reads
//! the partitions as before.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use super::{Copies, PREFIX, PoisonError, run_tag};
use crate::dedup::disk::RunInfo;

/// Start of a filter being built: format name and version.
const BUILD_MAGIC: [u8; 8] = *b"nmfbuil1";

impl Copies {
    fn build_path(&self, run: u32) -> PathBuf {
        self.dir.join(format!("build-{run}.filter"))
    }

    fn build_prefix(&self, r: &RunInfo) -> [u8; PREFIX] {
        let mut prefix = [0u8; PREFIX];
        prefix[..8].copy_from_slice(&BUILD_MAGIC);
        prefix[8..16].copy_from_slice(&self.id.to_le_bytes());
        prefix[16..48].copy_from_slice(&run_tag(r));
        prefix
    }

    /// The file of run `r`'s filter being built, read past its prefix, if it is of this index
    /// and run.
    fn open_build(&self, r: &RunInfo) -> Option<File> {
        let mut file = File::open(self.build_path(r.run)).ok()?;
        self.is_build_of(&mut file, r).then_some(file)
    }

    /// Whether `file`, read from its start, begins with run `r`'s prefix (read past it).
    fn is_build_of(&self, file: &mut File, r: &RunInfo) -> bool {
        let mut prefix = [0u8; PREFIX];
        file.read_exact(&mut prefix).is_ok() && prefix == self.build_prefix(r)
    }

    /// Writes `bytes` from byte `at` of the stored form of run `r`'s filter being built (the
    /// file started anew when it is not of this index and run); `false` when not written.
    pub(in crate::state::near) fn write_build(&self, r: &RunInfo, at: u64, bytes: &[u8]) -> bool {
        if self.failed.load(Ordering::Relaxed) {
            return false;
        }
        let path = self.build_path(r.run);
        let written = std::fs::create_dir_all(&self.dir).and_then(|()| {
            let mut file = (OpenOptions::new().read(true).write(true).create(true))
                .truncate(false)
                .open(&path)?;
            if !self.is_build_of(&mut file, r) {
                file.set_len(0)?;
                file.seek(SeekFrom::Start(0))?;
                file.write_all(&self.build_prefix(r))?;
            }
            file.seek(SeekFrom::Start(PREFIX as u64 + at))?;
            file.write_all(bytes)
        });
        if let Err(error) = written {
            let _ = std::fs::remove_file(&path);
            self.give_up(&path, &error);
            return false;
        }
        let mut unsynced = self.unsynced.lock().unwrap_or_else(PoisonError::into_inner);
        if !unsynced.contains(&r.run) {
            unsynced.push(r.run);
        }
        true
    }

    /// Makes what was written to filters being built since the last call durable (before a
    /// commit notes how far their jobs are). A file that cannot be synced is removed.
    pub(in crate::state::near) fn sync_builds(&self) {
        let runs =
            std::mem::take(&mut *self.unsynced.lock().unwrap_or_else(PoisonError::into_inner));
        for run in runs {
            let path = self.build_path(run);
            let synced = OpenOptions::new().write(true).open(&path);
            match synced.and_then(|f| f.sync_data()) {
                Err(e) if e.kind() != ErrorKind::NotFound => {
                    let _ = std::fs::remove_file(&path);
                    self.give_up(&path, &e);
                }
                _ => {}
            }
        }
    }

    /// Bytes of the stored form of run `r`'s filter being built that its file holds.
    pub(in crate::state::near) fn build_len(&self, r: &RunInfo) -> Option<u64> {
        let file = self.open_build(r)?;
        let len = file.metadata().ok()?.len();
        Some(len.saturating_sub(PREFIX as u64))
    }

    /// The first `len` bytes of the stored form of run `r`'s filter being built, in a buffer
    /// with room for `room`; `None` when its file holds fewer.
    pub(in crate::state::near) fn read_build(
        &self,
        r: &RunInfo,
        len: u64,
        room: usize,
    ) -> Option<Vec<u8>> {
        let mut file = self.open_build(r)?;
        let want = usize::try_from(len).ok()?;
        let mut bytes = Vec::with_capacity(room.max(want));
        // One read of the whole length (read_to_end's growing reads each wait for the disk).
        bytes.resize(want, 0);
        file.read_exact(&mut bytes).ok()?;
        Some(bytes)
    }

    /// Removes the files of filters being built but those of the runs in `building`.
    pub(in crate::state::near) fn sweep_builds(&self, building: &[u32]) {
        let keep: Vec<String> = (building.iter())
            .map(|r| format!("build-{r}.filter"))
            .collect();
        self.sweep_names("build-", &keep);
    }
}
