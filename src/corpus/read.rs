//! Streaming reads of a corpus folder for `export` (and any reader that must not hold the
//! corpus in memory): the segment files in name order, then their records line by line.
//! Opens nothing for writing and builds no index, so it is safe while a run writes and costs
//! one line of memory at a time.

use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};

use super::{CorpusError, io, segment_files};
use crate::model::CorpusRecord;

/// Every record of a corpus folder, one line at a time.
pub struct RecordStream {
    paths: std::vec::IntoIter<PathBuf>,
    current: Option<(PathBuf, usize, Lines<BufReader<File>>)>,
}

impl RecordStream {
    /// Starts reading `dir`.
    ///
    /// # Errors
    /// `Io` when the folder cannot be listed.
    pub fn open(dir: &Path) -> Result<Self, CorpusError> {
        Ok(Self {
            paths: segment_files(dir)?
                .into_iter()
                .map(|name| dir.join(name))
                .collect::<Vec<_>>()
                .into_iter(),
            current: None,
        })
    }
}

impl Iterator for RecordStream {
    type Item = Result<CorpusRecord, CorpusError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((path, line_no, lines)) = &mut self.current {
                match lines.next() {
                    Some(Ok(line)) => {
                        *line_no += 1;
                        if line.trim().is_empty() {
                            continue;
                        }
                        return Some(serde_json::from_str(&line).map_err(|source| {
                            CorpusError::BadRecord {
                                path: path.clone(),
                                line: *line_no,
                                source,
                            }
                        }));
                    }
                    Some(Err(e)) => return Some(Err(io(path)(e))),
                    None => self.current = None,
                }
            }
            let path = self.paths.next()?;
            match File::open(&path) {
                Ok(f) => self.current = Some((path, 0, BufReader::new(f).lines())),
                Err(e) => return Some(Err(io(&path)(e))),
            }
        }
    }
}
