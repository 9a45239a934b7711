//! The C allocator's settings for a long run: glibc's malloc tunables, applied by the binary
//! re-executing itself once at start (for the commands that run long:
//! [`crate::cli::Command::tunes_allocator`]).
//!
//! Two of glibc's defaults cost the near-duplicate index (measured with the dedup bench,
//! README "Allocator settings"):
//! - its mmap threshold follows the largest block freed, up to 32 MiB: after the index's
//!   merges free their buffers, blocks of up to that size come from the heap, where freed ones
//!   linger between live ones, and the peak RSS of a run carries them;
//! - on a kernel whose transparent huge pages are `madvise` only (the common default), the
//!   heap gets none, and the index's band tables and run filters, probed at random, pay a TLB
//!   miss for most probes.
//!
//! Both are tunables glibc reads once, before `main`, from `GLIBC_TUNABLES`; there is no safe
//! call to change them later (this crate forbids `unsafe`). So [`reexec_tuned`] runs the same
//! executable again, with the same arguments, environment and process id, plus
//! `GLIBC_TUNABLES` and `NEWSMILL_MALLOC=tuned`. It does nothing when `GLIBC_TUNABLES` is
//! already set (the user's own settings win), when `NEWSMILL_MALLOC` is set to anything
//! (`default` to opt out; `tuned` after the exec, so that a glibc which drops the tunables, as
//! it may for a setuid binary, cannot make it exec again and again), or off Linux with glibc;
//! when the exec fails (the executable replaced or deleted under a running cron job) the
//! process goes on untuned.

use std::ffi::OsStr;

/// The environment variable glibc reads its tunables from.
pub const GLIBC_TUNABLES: &str = "GLIBC_TUNABLES";

/// Set to `default` (or anything) to keep glibc's own allocator settings; the re-executed
/// process has it set to `tuned`.
pub const OPT_OUT: &str = "NEWSMILL_MALLOC";

/// What the binary sets: huge pages for the heap (madvised), and a fixed 1 MiB mmap and trim
/// threshold (blocks from 1 MiB up are mapped and returned on free; the heap's free top is
/// given back past 1 MiB).
pub const TUNABLES: &str = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576:\
                            glibc.malloc.trim_threshold=1048576";

/// The tunables to exec with, given the current `GLIBC_TUNABLES` and `NEWSMILL_MALLOC`:
/// `None` when either is set.
pub fn wanted(current: Option<&OsStr>, opt_out: Option<&OsStr>) -> Option<&'static str> {
    let glibc = cfg!(all(target_os = "linux", target_env = "gnu"));
    (glibc && current.is_none() && opt_out.is_none()).then_some(TUNABLES)
}

/// Re-executes the running binary with [`TUNABLES`] (see the module doc); returns only when it
/// did not: `Ok(())` when nothing was to be done, the exec's error when it failed.
pub fn reexec_tuned() -> std::io::Result<()> {
    let current = std::env::var_os(GLIBC_TUNABLES);
    let opt_out = std::env::var_os(OPT_OUT);
    let Some(tunables) = wanted(current.as_deref(), opt_out.as_deref()) else {
        return Ok(());
    };
    exec_with(tunables)
}

#[cfg(unix)]
fn exec_with(tunables: &str) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe()?;
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    cmd.args(args)
        .env(GLIBC_TUNABLES, tunables)
        .env(OPT_OUT, "tuned");
    Err(cmd.exec())
}

#[cfg(not(unix))]
fn exec_with(_: &str) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_tunables_and_the_opt_out_leave_the_allocator_alone() {
        let glibc = cfg!(all(target_os = "linux", target_env = "gnu"));
        assert_eq!(wanted(None, None), glibc.then_some(TUNABLES));
        // The re-executed process (`tuned`) never execs again, whatever glibc left.
        assert_eq!(wanted(None, Some(OsStr::new("tuned"))), None);
        assert_eq!(wanted(Some(OsStr::new("glibc.malloc.check=0")), None), None);
        assert_eq!(wanted(Some(OsStr::new("")), None), None);
        assert_eq!(wanted(None, Some(OsStr::new("default"))), None);
    }

    #[test]
    fn the_tunables_are_glibc_malloc_settings() {
        for setting in TUNABLES.split(':') {
            let (name, value) = setting.split_once('=').expect("name=value");
            assert!(name.starts_with("glibc.malloc."), "{name}");
            assert!(value.parse::<u64>().is_ok(), "{setting}");
        }
    }
}
