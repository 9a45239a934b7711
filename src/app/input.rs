//! Bounded reading of the files `newsmill extract` is given.
//!
//! Only regular files are read (a symlink is followed to what it points at): a directory, a
//! FIFO, a socket or a device is refused by name before it is opened, so `/dev/zero` cannot
//! grow the process and a FIFO cannot block it. At most `max_bytes` are read; a longer file is
//! cut and says so, and the caller puts a `truncated` warning on the record.

use std::fs::{File, FileType};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a path that is not a regular file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A character device (`/dev/zero`, a terminal).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix socket.
    Socket,
    /// Anything else the platform reports.
    Other,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Directory => "a directory",
            Self::Fifo => "a FIFO (named pipe)",
            Self::CharDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Socket => "a socket",
            Self::Other => "not a regular file",
        })
    }
}

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The path is not a regular file (after following symlinks).
    #[error("{} is {kind}; only regular files are read", path.display())]
    NotRegular {
        /// The path as given.
        path: PathBuf,
        /// What it is instead.
        kind: FileKind,
    },
    /// The file could not be inspected, opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A file's bytes, at most the cap.
#[derive(Debug)]
pub struct Input {
    /// The bytes read.
    pub bytes: Vec<u8>,
    /// Whether the file was longer than the cap and cut.
    pub truncated: bool,
}

/// Reads at most `max_bytes` of the regular file at `path`.
///
/// # Errors
/// [`InputError::NotRegular`] for directories, FIFOs, sockets and devices (checked before
/// opening, and again on the opened handle); [`InputError::Io`] when the file cannot be read.
pub fn read_regular(path: &Path, max_bytes: u64) -> Result<Input, InputError> {
    let io = |source| InputError::Io {
        path: path.to_owned(),
        source,
    };
    regular(path, std::fs::metadata(path).map_err(io)?.file_type())?;
    let file = File::open(path).map_err(io)?;
    // The path may have been swapped between the check and the open.
    let meta = file.metadata().map_err(io)?;
    regular(path, meta.file_type())?;
    let capacity = meta.len().min(max_bytes).saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let truncated = u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max_bytes;
    if truncated {
        bytes.truncate(usize::try_from(max_bytes).unwrap_or(usize::MAX));
    }
    Ok(Input { bytes, truncated })
}

fn regular(path: &Path, ft: FileType) -> Result<(), InputError> {
    if ft.is_file() {
        return Ok(());
    }
    Err(InputError::NotRegular {
        path: path.to_owned(),
        kind: kind_of(ft),
    })
}

#[cfg(unix)]
fn kind_of(ft: FileType) -> FileKind {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        FileKind::Directory
    } else if ft.is_fifo() {
        FileKind::Fifo
    } else if ft.is_char_device() {
        FileKind::CharDevice
    } else if ft.is_block_device() {
        FileKind::BlockDevice
    } else if ft.is_socket() {
        FileKind::Socket
    } else {
        FileKind::Other
    }
}

#[cfg(not(unix))]
fn kind_of(ft: FileType) -> FileKind {
    if ft.is_dir() {
        FileKind::Directory
    } else {
        FileKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.html");
        std::fs::write(&f, vec![b'x'; 5000]).unwrap();
        let whole = read_regular(&f, 5000).unwrap();
        assert_eq!((whole.bytes.len(), whole.truncated), (5000, false));
        let cut = read_regular(&f, 4096).unwrap();
        assert_eq!((cut.bytes.len(), cut.truncated), (4096, true));
    }

    #[cfg(unix)]
    #[test]
    fn devices_directories_and_symlinks_to_them_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.html");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = read_regular(&zero, 1 << 30).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::NotRegular {
                    kind: FileKind::CharDevice,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("zero.html"), "{err}");
        let err = read_regular(dir.path(), 1024).unwrap_err();
        assert!(matches!(
            err,
            InputError::NotRegular {
                kind: FileKind::Directory,
                ..
            }
        ));
        let missing = read_regular(&dir.path().join("missing"), 1024).unwrap_err();
        assert!(matches!(missing, InputError::Io { .. }));
    }
}
