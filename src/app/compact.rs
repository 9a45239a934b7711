//! `newsmill compact`: writes the near-duplicate index file out anew under the run lock
//! (`state::compact_near`, where the why and the measurements are).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::cli::LogFormat;
use crate::config::Config;
use crate::pipeline::lock;

/// `newsmill compact -c CONFIG`: 0 done (or no index yet), 2 fatal, 75 a run holds the lock.
///
/// # Errors
/// The config, a PostgreSQL state, the lock file, and the compaction's own errors.
pub fn run(config: &Path, format: LogFormat) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    super::migrate::require_sqlite(&cfg, "compact")?;
    let Some(_lock) = super::crawl::take_lock(&cfg, format)? else {
        return Ok(ExitCode::from(lock::EXIT_LOCKED));
    };
    let dir = &cfg.storage.state_dir;
    let path = dir.join(crate::state::NEAR_DB_FILE);
    if path.is_file() {
        tracing::info!(
            path = %path.display(),
            "compacting the near-duplicate index (its copy needs free space the size of the file)"
        );
    }
    let t = Instant::now();
    let done =
        crate::state::compact_near_then(dir, crate::pipeline::failpoint::before_compact_rename);
    match done? {
        None => println!(
            "no near-duplicate index at {}: nothing to compact",
            path.display()
        ),
        Some(done) => println!(
            "compacted {}: {:.1} MB before, {:.1} MB after, in {:.1} s",
            done.path.display(),
            mb(done.before),
            mb(done.after),
            t.elapsed().as_secs_f64()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
