//! Streaming reads of a corpus folder for `export`, `stats`, `report` (and any reader that must
//! not hold the corpus in memory): the segment files in name order, then their records line by
//! line. Opens nothing for writing and builds no index, so it is safe while a run writes and
//! costs one line of memory at a time.
//!
//! A reader that needs only some fields streams a slimmer view type instead of the whole
//! [`CorpusRecord`] ([`RecordStream::open_as`]): serde then skips the text and blocks without
//! allocating them. [`RecordStream::position`] names the line a record came from, so a reader
//! can come back for a few whole records later ([`read_lines`]) instead of keeping them all.
//! Both lay an [`Overlay`] of queued changes over the records they read (a shared state's
//! `record_updates`); an empty one costs nothing.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::{CorpusError, Overlay, io, segment_files};
use crate::model::CorpusRecord;

/// Every record of a corpus folder, one line at a time, as a `T` (by default the whole
/// [`CorpusRecord`]).
pub struct RecordStream<T = CorpusRecord> {
    paths: std::vec::IntoIter<PathBuf>,
    current: Option<(PathBuf, usize, BufReader<File>)>,
    /// The current line, reused: one allocation for the whole stream, not one per line.
    line: String,
    /// Changes laid over the records as they are read.
    overlay: Arc<Overlay>,
    item: PhantomData<fn() -> T>,
}

impl RecordStream<CorpusRecord> {
    /// Starts reading `dir` as whole records.
    ///
    /// # Errors
    /// `Io` when the folder cannot be listed.
    pub fn open(dir: &Path) -> Result<Self, CorpusError> {
        Self::open_as(dir)
    }
}

impl<T> RecordStream<T> {
    /// Starts reading `dir`, each line as a `T` (a view of the fields a reader needs; unknown
    /// fields are skipped).
    ///
    /// # Errors
    /// `Io` when the folder cannot be listed.
    pub fn open_as(dir: &Path) -> Result<Self, CorpusError> {
        Ok(Self {
            paths: segment_files(dir)?
                .into_iter()
                .map(|name| dir.join(name))
                .collect::<Vec<_>>()
                .into_iter(),
            current: None,
            line: String::new(),
            overlay: Arc::default(),
            item: PhantomData,
        })
    }

    /// Lays `overlay` over every record read from now on (see [`Overlay`]).
    #[must_use]
    pub fn with_overlay(mut self, overlay: Arc<Overlay>) -> Self {
        self.overlay = overlay;
        self
    }

    /// The segment file and 1-based line number of the record returned last (`None` before
    /// the first one).
    pub fn position(&self) -> Option<(&Path, usize)> {
        self.current
            .as_ref()
            .map(|(path, line, _)| (path.as_path(), *line))
    }
}

impl<T: DeserializeOwned> Iterator for RecordStream<T> {
    type Item = Result<T, CorpusError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((path, line_no, reader)) = &mut self.current {
                self.line.clear();
                match reader.read_line(&mut self.line) {
                    Ok(0) => self.current = None,
                    Ok(_) => {
                        *line_no += 1;
                        if self.line.trim().is_empty() {
                            continue;
                        }
                        let bad = |source| CorpusError::BadRecord {
                            path: path.clone(),
                            line: *line_no,
                            source,
                        };
                        return Some(match self.overlay.apply_line(&self.line) {
                            Ok(Some(changed)) => serde_json::from_str(&changed).map_err(bad),
                            Ok(None) => serde_json::from_str(&self.line).map_err(bad),
                            Err(e) => Err(bad(e)),
                        });
                    }
                    Err(e) => return Some(Err(io(path)(e))),
                }
                continue;
            }
            let path = self.paths.next()?;
            match File::open(&path) {
                Ok(f) => self.current = Some((path, 0, BufReader::with_capacity(1 << 16, f))),
                Err(e) => return Some(Err(io(&path)(e))),
            }
        }
    }
}

/// The records on the given 1-based `lines` of segment file `path`, as `(line, record)` in
/// line order, with `overlay` laid over them; lines past the end are left out. Reads the file
/// once, parses only those lines.
///
/// # Errors
/// `Io` when the file cannot be read, `BadRecord` when one of those lines does not parse.
pub fn read_lines<T: DeserializeOwned>(
    path: &Path,
    lines: &[usize],
    overlay: &Overlay,
) -> Result<Vec<(usize, T)>, CorpusError> {
    let mut wanted = lines.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut out = Vec::with_capacity(wanted.len());
    let file = File::open(path).map_err(io(path))?;
    let mut want = wanted.iter().copied().peekable();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let Some(&next) = want.peek() else { break };
        let line = line.map_err(io(path))?;
        if i + 1 == next {
            want.next();
            let bad = |source| CorpusError::BadRecord {
                path: path.to_owned(),
                line: i + 1,
                source,
            };
            let line = overlay.apply_line(&line).map_err(bad)?.unwrap_or(line);
            let record = serde_json::from_str(&line).map_err(bad)?;
            out.push((i + 1, record));
        }
    }
    Ok(out)
}
