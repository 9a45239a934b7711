//! Walking every record under the raw folder, recovering from damage one member at a time.
//!
//! # Recovery
//! When a member fails to decode, the member is decoded again on its own, without parsing,
//! to classify the failure:
//! - the gzip member is complete: the record inside is bad (`Corrupt`/`TooLarge`), and the walk
//!   goes on right after the member;
//! - the input ran out inside the member: the file's tail is torn (`TornTail`), which only a
//!   crash of the writer (or a file still being written) leaves; the file ends there;
//! - the member is not valid gzip: `Corrupt`, and the walk resumes at the next offset where a
//!   complete gzip member starts, if any.
//!
//! It never stops the walk for one bad file, and it only reads (`raw_store` stays the only writer).

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::bufread::GzDecoder;

use super::parse::{Member, MemberError, decode_member};
use super::{FILE_SUFFIX, RawStoreError, member_error};
use crate::model::{RawLocation, RawPage};

/// A `BufRead` that counts consumed bytes and remembers whether it reached end of input.
pub(super) struct Counted<R> {
    inner: R,
    pub(super) consumed: u64,
    pub(super) hit_eof: bool,
}

impl<R> Counted<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            consumed: 0,
            hit_eof: false,
        }
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        self.hit_eof |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let buf = self.inner.fill_buf()?;
        self.hit_eof |= buf.is_empty();
        Ok(buf)
    }

    fn consume(&mut self, amt: usize) {
        self.consumed += amt as u64;
        self.inner.consume(amt);
    }
}

/// How a member fared when decoded as plain gzip.
enum Probe {
    /// A complete, CRC-checked member of this many compressed bytes.
    Complete(u64),
    /// The input ended inside the member.
    Truncated,
    /// Not valid gzip.
    Invalid,
}

/// Decodes the gzip member at `offset` without interpreting it.
fn probe<R: Read + Seek>(reader: &mut BufReader<R>, offset: u64) -> io::Result<Probe> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut counted = Counted::new(&mut *reader);
    let result = io::copy(&mut GzDecoder::new(&mut counted), &mut io::sink());
    Ok(match result {
        Ok(_) if counted.consumed > 0 => Probe::Complete(counted.consumed),
        Ok(_) | Err(_) if counted.hit_eof => Probe::Truncated,
        Ok(_) | Err(_) => Probe::Invalid,
    })
}

/// The first offset at or after `from` where a complete gzip member starts.
fn next_member<R: Read + Seek>(reader: &mut BufReader<R>, from: u64) -> io::Result<Option<u64>> {
    const MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];
    let mut search_from = from;
    loop {
        reader.seek(SeekFrom::Start(search_from))?;
        let (mut pos, mut matched) = (search_from, 0usize);
        let candidate = loop {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let hit = buf.iter().position(|&b| {
                matched = if b == MAGIC[matched] {
                    matched + 1
                } else {
                    usize::from(b == MAGIC[0])
                };
                matched == MAGIC.len()
            });
            if let Some(i) = hit {
                break pos + i as u64 + 1 - MAGIC.len() as u64;
            }
            let n = buf.len();
            reader.consume(n);
            pos += n as u64;
        };
        if let Probe::Complete(_) = probe(reader, candidate)? {
            return Ok(Some(candidate));
        }
        search_from = candidate + 1;
    }
}

/// The walk through one file (generic so tests can walk bytes in memory).
struct FileCursor<R> {
    rel: PathBuf,
    path: PathBuf,
    reader: BufReader<R>,
    pos: u64,
    len: u64,
}

impl FileCursor<File> {
    fn open(root: &Path, rel: PathBuf) -> Result<Self, RawStoreError> {
        let path = root.join(&rel);
        let read_err = |source| RawStoreError::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len();
        Ok(Self {
            rel,
            reader: BufReader::with_capacity(256 * 1024, file),
            path,
            pos: 0,
            len,
        })
    }
}

impl<R: Read + Seek> FileCursor<R> {
    /// The next response record, an error for a bad member, or `None` at the file's end.
    fn next_item(&mut self) -> Option<Result<(RawLocation, RawPage), RawStoreError>> {
        while self.pos < self.len {
            let start = self.pos;
            let mut counted = Counted::new(&mut self.reader);
            let result = decode_member(&mut counted);
            let consumed = counted.consumed;
            match result {
                Ok(member) if consumed > 0 => {
                    self.pos += consumed;
                    if let Member::Response(page) = member {
                        let loc = RawLocation {
                            file: self.rel.clone(),
                            offset: start,
                            length: consumed,
                        };
                        return Some(Ok((loc, *page)));
                    }
                }
                Ok(_) => {
                    return Some(Err(
                        self.recover(start, MemberError::Corrupt("empty member".into()))
                    ));
                }
                Err(err) => return Some(Err(self.recover(start, err))),
            }
        }
        None
    }

    /// Classifies a failed member (see the module doc), moves `pos` past it and returns the
    /// error to report.
    fn recover(&mut self, start: u64, err: MemberError) -> RawStoreError {
        let read_err = |path: &Path, source| RawStoreError::Read {
            path: path.to_owned(),
            source,
        };
        let next = match probe(&mut self.reader, start) {
            Ok(Probe::Complete(n)) => Ok(Some(start + n)),
            Ok(Probe::Truncated) => {
                self.pos = self.len;
                return RawStoreError::TornTail {
                    path: self.path.clone(),
                    offset: start,
                };
            }
            Ok(Probe::Invalid) => next_member(&mut self.reader, start + 1),
            Err(e) => Err(e),
        };
        let next = match next {
            Ok(next) => next,
            Err(source) => {
                self.pos = self.len;
                return read_err(&self.path, source);
            }
        };
        self.pos = next.unwrap_or(self.len);
        if let Err(source) = self.reader.seek(SeekFrom::Start(self.pos)) {
            self.pos = self.len;
            return read_err(&self.path, source);
        }
        member_error(&self.path, start, err)
    }
}

/// Iterator state behind [`super::scan`].
pub(super) struct Scan {
    root: PathBuf,
    files: VecDeque<PathBuf>,
    errors: VecDeque<RawStoreError>,
    current: Option<FileCursor<File>>,
}

impl Scan {
    pub(super) fn new(root: &Path) -> Self {
        let mut files = Vec::new();
        let mut errors = VecDeque::new();
        list_files(root, Path::new(""), &mut files, &mut errors);
        files.sort();
        Self {
            root: root.to_owned(),
            files: files.into(),
            errors,
            current: None,
        }
    }
}

impl Iterator for Scan {
    type Item = Result<(RawLocation, RawPage), RawStoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(err) = self.errors.pop_front() {
            return Some(Err(err));
        }
        loop {
            if let Some(cursor) = &mut self.current {
                if let Some(item) = cursor.next_item() {
                    return Some(item);
                }
                self.current = None;
            }
            let rel = self.files.pop_front()?;
            match FileCursor::open(&self.root, rel) {
                Ok(cursor) => self.current = Some(cursor),
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

/// Collects the relative paths of every `*.warc.gz` file under `root/rel`; other files are
/// not ours to judge and are skipped. A directory that cannot be listed becomes an error item.
fn list_files(
    root: &Path,
    rel: &Path,
    files: &mut Vec<PathBuf>,
    errors: &mut VecDeque<RawStoreError>,
) {
    let dir = root.join(rel);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(source) => {
            errors.push_back(RawStoreError::Read { path: dir, source });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(source) => {
                errors.push_back(RawStoreError::Read {
                    path: dir.clone(),
                    source,
                });
                continue;
            }
        };
        let child = rel.join(entry.file_name());
        match entry.file_type() {
            Ok(t) if t.is_dir() => list_files(root, &child, files, errors),
            Ok(_) if entry.file_name().to_string_lossy().ends_with(FILE_SUFFIX) => {
                files.push(child)
            }
            Ok(_) => {}
            Err(source) => errors.push_back(RawStoreError::Read {
                path: root.join(child),
                source,
            }),
        }
    }
}

/// Walks in-memory file contents as if they were the file `rel` (for tests).
#[cfg(test)]
pub(super) fn scan_bytes(
    rel: &Path,
    bytes: &[u8],
) -> Vec<Result<(RawLocation, RawPage), RawStoreError>> {
    let mut cursor = FileCursor {
        rel: rel.to_owned(),
        path: rel.to_owned(),
        reader: BufReader::new(io::Cursor::new(bytes)),
        pos: 0,
        len: bytes.len() as u64,
    };
    std::iter::from_fn(|| cursor.next_item()).collect()
}
