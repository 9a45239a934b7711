//! The PostgreSQL schema, as numbered migrations. A migration is never edited once released:
//! a change is a new entry at the end of `MIGRATIONS`. `newsmill migrate` applies the missing
//! ones in one transaction under a database-wide advisory lock (DDL is transactional in
//! PostgreSQL: a failed migration leaves nothing half done); every other command checks that
//! the database's version is exactly [`LATEST_VERSION`].
//!
//! The `newsmill_schema` table records each applied version.

use postgres::Client;

use super::{PgError, q};

/// One schema step.
struct Migration {
    version: i32,
    description: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Versions are 1, 2, 3… with no gaps.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "frontier, discovery documents, source history",
        sql: "
CREATE TABLE frontier (
    url            TEXT PRIMARY KEY,
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    source_id      TEXT NOT NULL,
    host           TEXT NOT NULL,
    fetch_url      TEXT NOT NULL,
    title          TEXT,
    published      TEXT,
    first_seen     TIMESTAMPTZ NOT NULL,
    state          TEXT NOT NULL CHECK (state IN
                       ('discovered', 'fetched', 'ingested', 'failed', 'gone', 'refused')),
    record_id      TEXT,
    duplicate      BOOLEAN,
    raw_file       TEXT,
    raw_offset     BIGINT,
    raw_length     BIGINT,
    failure_kind   TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   TIMESTAMPTZ,
    status         INTEGER,
    refusal        TEXT,
    etag           TEXT,
    last_modified  TEXT,
    updated        TIMESTAMPTZ NOT NULL
);
CREATE INDEX frontier_due ON frontier (source_id, state, first_seen, seq);
CREATE INDEX frontier_host ON frontier (host, state);
CREATE TABLE documents (
    url            TEXT PRIMARY KEY,
    source_id      TEXT NOT NULL,
    etag           TEXT,
    last_modified  TEXT,
    updated        TIMESTAMPTZ NOT NULL
);
CREATE TABLE source_status (
    source_id        TEXT PRIMARY KEY,
    last_run         TIMESTAMPTZ,
    last_success     TIMESTAMPTZ,
    last_new_article TIMESTAMPTZ,
    failure_streak   INTEGER NOT NULL DEFAULT 0
);
",
    },
    Migration {
        version: 2,
        description: "workers, host and source leases",
        sql: "
CREATE TABLE workers (
    id         TEXT PRIMARY KEY,
    hostname   TEXT NOT NULL,
    pid        BIGINT NOT NULL,
    started    TIMESTAMPTZ NOT NULL,
    heartbeat  TIMESTAMPTZ NOT NULL,
    stopped    TIMESTAMPTZ
);
CREATE TABLE hosts (
    host          TEXT PRIMARY KEY,
    worker_id     TEXT,
    lease_expires TIMESTAMPTZ,
    next_request  TIMESTAMPTZ NOT NULL DEFAULT 'epoch'
);
INSERT INTO hosts (host) SELECT DISTINCT host FROM frontier;
CREATE TABLE source_leases (
    source_id      TEXT PRIMARY KEY,
    worker_id      TEXT,
    lease_expires  TIMESTAMPTZ,
    next_discovery TIMESTAMPTZ NOT NULL DEFAULT 'epoch'
);
",
    },
    Migration {
        version: 3,
        description: "exact-duplicate claims, corpus manifest of every worker",
        sql: "
CREATE TABLE content_hashes (
    content_sha256 TEXT PRIMARY KEY,
    record_id      TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    durable        BOOLEAN NOT NULL DEFAULT false,
    claimed        TIMESTAMPTZ NOT NULL
);
CREATE INDEX content_hashes_pending ON content_hashes (worker_id) WHERE NOT durable;
CREATE TABLE corpus_segments (
    worker_id  TEXT NOT NULL,
    file       TEXT NOT NULL,
    records    BIGINT NOT NULL,
    bytes      BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    updated    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (worker_id, file)
);
",
    },
    Migration {
        version: 4,
        description: "shared near-duplicate index, updates of other workers' records",
        sql: "
CREATE TABLE near_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE near_record (
    doc          BIGINT PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    cluster      BIGINT NOT NULL,
    published    BIGINT,
    republished  BOOLEAN NOT NULL,
    source       TEXT NOT NULL,
    url_len      INTEGER NOT NULL,
    shingles     INTEGER NOT NULL,
    signature    BYTEA NOT NULL,
    worker_id    TEXT NOT NULL,
    text         TEXT NOT NULL
);
CREATE INDEX near_record_member ON near_record (cluster) WHERE cluster <> doc;
CREATE TABLE near_band (
    key  INTEGER NOT NULL,
    doc  BIGINT NOT NULL,
    PRIMARY KEY (key, doc)
);
CREATE TABLE record_updates (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id  TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('link', 'sighting')),
    body       TEXT NOT NULL,
    queued_by  TEXT NOT NULL,
    queued     TIMESTAMPTZ NOT NULL
);
CREATE INDEX record_updates_record ON record_updates (record_id);
CREATE INDEX content_hashes_record ON content_hashes (record_id);
",
    },
    Migration {
        version: 5,
        description: "digest relation of the shared near-duplicate index",
        sql: "
CREATE TABLE near_contains (
    digest  BIGINT NOT NULL,
    story   BIGINT NOT NULL,
    PRIMARY KEY (digest, story)
);
CREATE INDEX near_contains_story ON near_contains (story, digest);
",
    },
    Migration {
        version: 6,
        description: "discovery documents stored raw but not yet admitted",
        sql: "
CREATE TABLE stored_documents (
    url            TEXT PRIMARY KEY,
    source_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    etag           TEXT,
    last_modified  TEXT,
    raw_file       TEXT NOT NULL,
    raw_offset     BIGINT NOT NULL,
    raw_length     BIGINT NOT NULL,
    stored         TIMESTAMPTZ NOT NULL
);
CREATE INDEX stored_documents_source ON stored_documents (source_id, stored);
",
    },
    Migration {
        version: 7,
        description: "shared near-duplicate index: filed keys per record, postings written after the lock",
        sql: "
ALTER TABLE near_record ADD COLUMN filed INTEGER[];
CREATE TABLE near_unposted (
    doc     BIGINT PRIMARY KEY,
    queued  TIMESTAMPTZ NOT NULL DEFAULT now()
);
",
    },
    Migration {
        version: 8,
        description: "shared near-duplicate index: no compact signature per record (nothing read it)",
        sql: "ALTER TABLE near_record DROP COLUMN signature;",
    },
    Migration {
        version: 9,
        description: "shared near-duplicate index: a fact tag per record (0: none, verified in full)",
        sql: "
ALTER TABLE near_record ADD COLUMN facts0 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE near_record ADD COLUMN facts1 BIGINT NOT NULL DEFAULT 0;
",
    },
];

/// The schema version this binary reads and writes.
pub const LATEST_VERSION: i32 = MIGRATIONS.len() as i32;

/// Key of the advisory lock `migrate` holds (any constant; "newsmill" in ASCII).
const MIGRATE_LOCK: i64 = 0x6e65_7773_6d69_6c6c;

const VERSION_TABLE: &str = "
CREATE TABLE IF NOT EXISTS newsmill_schema (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied     TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// What `newsmill migrate` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// Version before (0: an empty database).
    pub from: i32,
    /// Version after (= [`LATEST_VERSION`]).
    pub to: i32,
}

/// The version recorded in the database; `None` when it has no newsmill schema.
fn current(client: &mut impl postgres::GenericClient) -> Result<Option<i32>, PgError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('newsmill_schema') IS NOT NULL", &[])
        .map_err(q("looking for the schema table"))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM newsmill_schema", &[])
        .map_err(q("reading the schema version"))?
        .get(0);
    Ok(Some(version.unwrap_or(0)))
}

/// Applies the missing migrations in one transaction.
pub(super) fn apply(client: &mut Client, target: &str) -> Result<Migrated, PgError> {
    let mut tx = client.transaction().map_err(q("starting the migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(q("taking the migration lock"))?;
    tx.batch_execute(VERSION_TABLE)
        .map_err(q("creating the schema table"))?;
    let from = current(&mut tx)?.unwrap_or(0);
    if from > LATEST_VERSION {
        return Err(PgError::SchemaAhead {
            target: target.to_owned(),
            found: from,
            expected: LATEST_VERSION,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > from) {
        tx.batch_execute(m.sql).map_err(q("applying a migration"))?;
        tx.execute(
            "INSERT INTO newsmill_schema (version, description) VALUES ($1, $2)",
            &[&m.version, &m.description],
        )
        .map_err(q("recording a migration"))?;
    }
    tx.commit().map_err(q("committing the migration"))?;
    Ok(Migrated {
        from,
        to: LATEST_VERSION,
    })
}

/// Checks that the database is at exactly [`LATEST_VERSION`].
pub(super) fn check(client: &mut Client, target: &str) -> Result<(), PgError> {
    verdict(current(client)?, LATEST_VERSION, target)
}

/// Whether a database at version `found` may be used by a binary built for `expected`.
fn verdict(found: Option<i32>, expected: i32, target: &str) -> Result<(), PgError> {
    let target = target.to_owned();
    match found {
        None | Some(0) => Err(PgError::NotMigrated { target }),
        Some(found) if found < expected => Err(PgError::SchemaBehind {
            target,
            found,
            expected,
        }),
        Some(found) if found > expected => Err(PgError::SchemaAhead {
            target,
            found,
            expected,
        }),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::pg::PgState;
    use crate::state::pg::testing::TestDb;

    #[test]
    fn migrate_is_idempotent_and_open_refuses_other_versions() {
        let Some(db) = TestDb::new(
            "state::pg::migrations::tests::migrate_is_idempotent_and_open_refuses_other_versions",
        ) else {
            return;
        };
        let err = PgState::open_with(db.config()).unwrap_err();
        assert!(matches!(err, PgError::NotMigrated { .. }), "{err}");
        assert!(err.to_string().contains("newsmill migrate"), "{err}");
        let first = PgState::migrate_with(db.config()).unwrap();
        assert_eq!((first.from, first.to), (0, LATEST_VERSION));
        let again = PgState::migrate_with(db.config()).unwrap();
        assert_eq!((again.from, again.to), (LATEST_VERSION, LATEST_VERSION));
        PgState::open_with(db.config()).unwrap();

        // A newer newsmill migrated the database: this one refuses to run and to migrate.
        let mut c = db.client();
        c.execute(
            "INSERT INTO newsmill_schema (version, description) VALUES ($1, 'from the future')",
            &[&(LATEST_VERSION + 1)],
        )
        .unwrap();
        let err = PgState::open_with(db.config()).unwrap_err();
        assert!(
            matches!(err, PgError::SchemaAhead { found, expected, .. }
                if found == LATEST_VERSION + 1 && expected == LATEST_VERSION),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade newsmill"), "{err}");
        let err = PgState::migrate_with(db.config()).unwrap_err();
        assert!(matches!(err, PgError::SchemaAhead { .. }), "{err}");

        // An older schema (the last migration not applied) is refused with the way out.
        c.execute(
            "DELETE FROM newsmill_schema WHERE version >= $1",
            &[&LATEST_VERSION],
        )
        .unwrap();
        let err = PgState::open_with(db.config()).unwrap_err();
        assert!(matches!(err, PgError::SchemaBehind { .. }), "{err}");
        assert!(err.to_string().contains("run `newsmill migrate"), "{err}");
    }

    #[test]
    fn an_older_schema_is_refused_with_the_way_out() {
        let err = verdict(Some(1), 2, "u@h:5432/db").unwrap_err();
        assert!(matches!(
            err,
            PgError::SchemaBehind {
                found: 1,
                expected: 2,
                ..
            }
        ));
        let text = err.to_string();
        assert!(text.contains("u@h:5432/db") && text.contains("run `newsmill migrate"));
        assert!(verdict(Some(2), 2, "t").is_ok());
        assert!(matches!(
            verdict(None, 2, "t"),
            Err(PgError::NotMigrated { .. })
        ));
    }

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "{}", m.description);
        }
    }
}
