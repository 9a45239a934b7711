//! The run lock: `state/newsmill.lock`, held with an OS file lock for the life of a run, so a
//! second `run` started by cron while the first is busy exits at once (exit code 75) without
//! touching anything. The OS releases the lock when the process dies, even by SIGKILL, so a
//! crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Exit code for "another run holds the lock" (EX_TEMPFAIL from sysexits.h).
pub const EXIT_LOCKED: u8 = 75;

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another newsmill run holds {path} (pid {holder}); exiting without doing anything")]
    Busy {
        /// Lock file.
        path: PathBuf,
        /// What the holder wrote into it.
        holder: String,
    },
    /// The lock file could not be opened.
    #[error("cannot open lock file {path}")]
    Io {
        /// Lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Takes the run lock in `state_dir` without waiting.
///
/// # Errors
/// `Busy` when another process holds it, `Io` when the file cannot be opened.
pub fn acquire(state_dir: &Path) -> Result<RunLock, LockError> {
    let path = state_dir.join("newsmill.lock");
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(state_dir).map_err(io)?;
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0).map_err(io)?;
            write!(file, "{}", std::process::id()).map_err(io)?;
            Ok(RunLock { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Busy {
            holder: std::fs::read_to_string(&path)
                .unwrap_or_default()
                .trim()
                .to_owned(),
            path,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        let err = acquire(dir.path()).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        drop(first);
        acquire(dir.path()).unwrap();
    }
}
