//! The PostgreSQL backend of the state (`[state] backend = "postgres"`): one database shared by
//! every worker, holding the frontier (the same columns as SQLite, see `columns.rs`), the
//! discovery documents' validators and per-source run history.
//!
//! # Architecture
//! - [`migrations`]: the versioned schema. `newsmill migrate` applies it ([`PgState::migrate`]);
//!   every other entry point opens with [`PgState::open`], which refuses a database whose schema
//!   is older or newer than this binary's ([`PgError::SchemaBehind`], [`PgError::SchemaAhead`]).
//! - `frontier.rs`: [`crate::frontier::FrontierStore`] on PostgreSQL.
//! - `lease.rs`: host and source leases, pacing across workers, worker heartbeats.
//! - `status.rs`: what `newsmill status` shows: run history, workers, frontier depth.
//! - `corpus.rs`: exact-duplicate claims across workers and every worker's corpus manifest.
//! - `near.rs`: the near-duplicate index every worker shares ([`PgNearIndex`]).
//! - `updates.rs`: changes to another worker's records, applied by their owner.
//!
//! The client is the synchronous `postgres` crate, because the frontier's storage trait is
//! synchronous: calls come from the sink thread or `spawn_blocking`, never from an async task
//! (the client runs its own small runtime and would panic there). One connection per process,
//! behind a mutex, as with SQLite: statements are short and indexed.

mod corpus;
mod frontier;
mod lease;
pub mod migrations;
mod near;
mod status;
mod updates;

use std::sync::{Mutex, MutexGuard};

use crate::config::DatabaseUrl;

pub use corpus::{Claim, SharedCorpus, WorkerSegment};
pub use lease::{FetchedHost, HostLease, LiveWorker, Slot};
pub use migrations::{LATEST_VERSION, Migrated};
pub use near::{PgNearIndex, PgNearSize};
pub use status::{SourceDepth, WorkerRow};
pub use updates::{QueuedUpdate, RecordUpdate};

/// Errors of the PostgreSQL state.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The server could not be reached or refused the login.
    #[error("cannot connect to PostgreSQL at {target}")]
    Connect {
        /// `user@host:port/database`, never the password.
        target: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// A statement failed.
    #[error("PostgreSQL query failed while {what}")]
    Query {
        /// What was being done.
        what: &'static str,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// The database has no newsmill schema at all.
    #[error("database {target} has no newsmill schema: run `newsmill migrate -c CONFIG` first")]
    NotMigrated {
        /// `user@host:port/database`.
        target: String,
    },
    /// The database's schema is older than this binary's.
    #[error(
        "database {target} has schema version {found}, this newsmill needs {expected}: \
         run `newsmill migrate -c CONFIG` (stop the older workers first)"
    )]
    SchemaBehind {
        /// `user@host:port/database`.
        target: String,
        /// Version in the database.
        found: i32,
        /// Version this binary was built for.
        expected: i32,
    },
    /// The database's schema is newer than this binary's: a newer newsmill migrated it.
    #[error(
        "database {target} has schema version {found}, newer than this newsmill's {expected}: \
         upgrade newsmill on this machine"
    )]
    SchemaAhead {
        /// `user@host:port/database`.
        target: String,
        /// Version in the database.
        found: i32,
        /// Version this binary was built for.
        expected: i32,
    },
    /// The shared near-duplicate index was built with other parameters (thresholds, bands,
    /// `[dedup] date_window`) than this worker's.
    #[error(
        "the shared near-duplicate index was built with parameters {found}, this worker has \
         {expected}: give every worker the same [dedup] settings and newsmill version"
    )]
    NearParams {
        /// Parameters stored with the index.
        found: String,
        /// This worker's.
        expected: String,
    },
    /// A record was added to the shared near-duplicate index outside the batch begun for it
    /// (a caller's mistake: its text is not known).
    #[error("record {id} was added to the shared near-duplicate index outside its batch")]
    NearNotInBatch {
        /// The record id.
        id: String,
    },
}

/// Maps a client error to [`PgError::Query`].
pub(super) fn q(what: &'static str) -> impl FnOnce(postgres::Error) -> PgError {
    move |source| PgError::Query { what, source }
}

/// The shared state database.
pub struct PgState {
    client: Mutex<postgres::Client>,
    target: String,
}

impl std::fmt::Debug for PgState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgState")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// `user@host:port/database` of a connection config, for messages (no password).
fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

impl PgState {
    /// Connects and checks that the schema is exactly this binary's.
    ///
    /// # Errors
    /// `Connect`, `NotMigrated`, `SchemaBehind`, `SchemaAhead`, `Query`.
    pub fn open(url: &DatabaseUrl) -> Result<Self, PgError> {
        Self::open_with(parse(url)?)
    }

    /// As [`PgState::open`], from a client config (tests set a `search_path` on it).
    ///
    /// # Errors
    /// As [`PgState::open`].
    pub fn open_with(config: postgres::Config) -> Result<Self, PgError> {
        let state = Self::connect(config)?;
        migrations::check(&mut state.client(), &state.target)?;
        Ok(state)
    }

    /// Makes this connection's commits return without waiting for the WAL flush
    /// (`synchronous_commit = off`). For the connection that takes request slots: a slot is
    /// a reservation a few hundred milliseconds long, and waiting for the disk made every
    /// worker's requests stall together while PostgreSQL's checkpoint was syncing (0.45 s in
    /// a bench run, README "Scaling out"). What a database crash can lose is the last
    /// fraction of a second of commits on it: a slot (one request to a host may then come
    /// one interval early, once) or a host lease taken by name (the next slot then finds it
    /// not held, and the worker stops using the host).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn without_commit_wait(&self) -> Result<(), PgError> {
        self.client()
            .batch_execute("SET synchronous_commit = off")
            .map_err(q("setting synchronous_commit"))
    }

    /// Connects and applies every migration this binary knows that the database lacks.
    /// Safe to run from several machines at once: migrations take a database-wide lock.
    ///
    /// # Errors
    /// `Connect`, `SchemaAhead` (a newer newsmill migrated the database), `Query`.
    pub fn migrate(url: &DatabaseUrl) -> Result<Migrated, PgError> {
        Self::migrate_with(parse(url)?)
    }

    /// As [`PgState::migrate`], from a client config.
    ///
    /// # Errors
    /// As [`PgState::migrate`].
    pub fn migrate_with(config: postgres::Config) -> Result<Migrated, PgError> {
        let state = Self::connect(config)?;
        migrations::apply(&mut state.client(), &state.target)
    }

    fn connect(config: postgres::Config) -> Result<Self, PgError> {
        let target = describe(&config);
        let client = config
            .connect(postgres::NoTls)
            .map_err(|source| PgError::Connect {
                target: target.clone(),
                source,
            })?;
        Ok(Self {
            client: Mutex::new(client),
            target,
        })
    }

    /// `user@host:port/database`, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    pub(super) fn client(&self) -> MutexGuard<'_, postgres::Client> {
        // A panic while holding the lock leaves at worst an open transaction, which the
        // client rolls back when its `Transaction` is dropped; the connection stays usable.
        self.client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn parse(url: &DatabaseUrl) -> Result<postgres::Config, PgError> {
    // `DatabaseUrl` was checked to parse when the config was validated.
    url.expose().parse().map_err(|source| PgError::Connect {
        target: "<connection string>".into(),
        source,
    })
}

#[cfg(test)]
pub(crate) mod testing;
