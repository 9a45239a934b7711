//! `newsmill migrate`: bring the configured state database to this binary's schema, and the
//! guard that keeps the single-machine commands off a shared PostgreSQL state.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{Config, StateConfig};
use crate::state::pg::PgState;

/// `newsmill migrate -c CONFIG`: applies the missing PostgreSQL migrations (SQLite migrates
/// itself whenever it is opened, so there it only opens the database once).
///
/// # Errors
/// The config, the connection, a schema newer than this binary's, a failed migration.
pub fn run(config: &Path) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    match &cfg.state {
        StateConfig::Sqlite => {
            crate::state::State::open(&cfg.storage.state_dir)?;
            println!(
                "SQLite state in {} is up to date (it migrates itself when opened)",
                cfg.storage.state_dir.display()
            );
        }
        StateConfig::Postgres(url) => {
            let done = PgState::migrate(url)?;
            if done.from == done.to {
                println!("schema already at version {}", done.to);
            } else {
                println!("schema migrated from version {} to {}", done.from, done.to);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Fails when the config's state is PostgreSQL: `command` keeps its state in SQLite under
/// `storage.state_dir`, and silently using that would split the state in two.
///
/// # Errors
/// With `[state] backend = "postgres"`.
pub fn require_sqlite(cfg: &Config, command: &str) -> anyhow::Result<()> {
    match cfg.state {
        StateConfig::Sqlite => Ok(()),
        StateConfig::Postgres(_) => anyhow::bail!(
            "`newsmill {command}` works on the SQLite state; this config has \
             [state] backend = \"postgres\" (use `newsmill worker` there)"
        ),
    }
}
