//! The first pass of a partitioned export: every record is appended, as one JSON line, to a
//! spool file of its partition under `<out>/.spool/`. A corpus read in arrival order visits
//! its partitions in no particular order; spooling sorts it by partition with a bounded number
//! of open files, so the second pass writes each partition's Parquet file whole — one file
//! per partition, full row groups — with one Parquet writer in memory at a time.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ParquetError;
use crate::model::CorpusRecord;

/// Spool files open at once; the least recently used is closed beyond this and reopened for
/// appending when its partition comes round again.
const MAX_OPEN: usize = 128;

/// Per-partition spool files being filled.
pub struct Spool {
    dir: PathBuf,
    /// Partition folder → its spool file.
    files: BTreeMap<PathBuf, PathBuf>,
    open: HashMap<PathBuf, (BufWriter<File>, u64)>,
    clock: u64,
}

impl Spool {
    /// Starts a spool in `dir` (created).
    ///
    /// # Errors
    /// `Io` when the folder cannot be created.
    pub fn create(dir: PathBuf) -> Result<Self, ParquetError> {
        std::fs::create_dir_all(&dir).map_err(|source| ParquetError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            files: BTreeMap::new(),
            open: HashMap::new(),
            clock: 0,
        })
    }

    /// Appends `record` to the spool of partition `key`.
    ///
    /// # Errors
    /// `Io` naming the spool file.
    pub fn push(&mut self, key: PathBuf, record: &CorpusRecord) -> Result<(), ParquetError> {
        self.clock += 1;
        if !self.open.contains_key(&key) {
            self.open_file(&key)?;
        }
        let path = &self.files[&key];
        let Some((out, used)) = self.open.get_mut(&key) else {
            return Ok(());
        };
        *used = self.clock;
        serde_json::to_writer(&mut *out, record)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|source| ParquetError::Io {
                path: path.clone(),
                source,
            })
    }

    /// Closes every spool file; returns (partition folder, spool file) in partition order.
    ///
    /// # Errors
    /// `Io` when a spool file cannot be flushed.
    pub fn finish(mut self) -> Result<Vec<(PathBuf, PathBuf)>, ParquetError> {
        let keys: Vec<PathBuf> = self.open.keys().cloned().collect();
        for key in keys {
            self.close_file(&key)?;
        }
        Ok(std::mem::take(&mut self.files).into_iter().collect())
    }

    fn open_file(&mut self, key: &Path) -> Result<(), ParquetError> {
        if self.open.len() >= MAX_OPEN {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.close_file(&k)?;
            }
        }
        let next = self.files.len();
        let path = self
            .files
            .entry(key.to_owned())
            .or_insert_with(|| self.dir.join(format!("{next}.jsonl")))
            .clone();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| ParquetError::Io { path, source })?;
        self.open.insert(
            key.to_owned(),
            (BufWriter::with_capacity(64 << 10, file), self.clock),
        );
        Ok(())
    }

    fn close_file(&mut self, key: &Path) -> Result<(), ParquetError> {
        if let Some((mut out, _)) = self.open.remove(key) {
            out.flush().map_err(|source| ParquetError::Io {
                path: self.files[key].clone(),
                source,
            })?;
        }
        Ok(())
    }
}
