//! Leases a worker asks for by name, and what `newsmill worker --once` waits for.
//!
//! Discovery requests a source's feed host without having claimed it for its due URLs, yet
//! every request must take the host's slot. [`PgState::claim_named_host`] leases that one host
//! (creating its row) when no live worker holds it; the worker gives it back after the
//! discovery. [`PgState::due_count`] counts the due URLs left anywhere.
//!
//! URLs left `fetched` are recovered under their host's lease too: a live worker holds the
//! host of every URL it fetched until their records are committed, however long its flush
//! takes (its heartbeat renews the lease), so a host without a live lease holds only orphans,
//! and the worker that leases it ([`PgState::claim_orphaned_host`]) is the only one that
//! recovers them.

use std::time::Duration;

use super::{DUE, HostLease, host_lease, live_count, secs, share_ctes};
use crate::state::pg::{PgError, PgState, q};

impl PgState {
    /// Leases `host` for `worker` for `ttl` when nobody else holds a live lease on it (the
    /// worker's own lease is renewed). Returns whether the worker holds it now.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn claim_named_host(
        &self,
        worker: &str,
        host: &str,
        ttl: Duration,
    ) -> Result<bool, PgError> {
        self.lease_by_name(worker, host, ttl, Free::OrMine)
    }

    /// Keeps `host`, leased by name for a discovery, as a host `worker` drains: renews the
    /// lease for `ttl` when the worker still holds it, the host has due URLs and the worker
    /// holds no more than its share of the hosts with work (as [`PgState::claim_host`]
    /// counts it, this host not included). `None`: give it back instead. The discoverer
    /// drains what it found at once, on the connection it opened and with the robots.txt it
    /// read, instead of another worker claiming it at its next poll.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn keep_host(
        &self,
        worker: &str,
        host: &str,
        ttl: Duration,
    ) -> Result<Option<HostLease>, PgError> {
        let sql = format!(
            "WITH {}
             UPDATE hosts h SET lease_expires = now() + make_interval(secs => $2)
             WHERE h.host = $3 AND h.worker_id = $1 AND h.lease_expires > now()
               AND EXISTS (SELECT 1 FROM frontier f WHERE f.host = h.host AND {DUE})
               AND ((SELECT mine FROM work) - 1) * (SELECT n FROM live) < (SELECT hosts FROM work)
             RETURNING h.host, h.next_request",
            share_ctes("$2")
        );
        let row = self
            .client()
            .query_opt(&sql, &[&worker, &secs(ttl), &host])
            .map_err(q("keeping a host"))?;
        host_lease(row).map_err(q("reading a kept host"))
    }

    /// Due URLs in the whole frontier, whoever holds their hosts. `newsmill worker --once`
    /// exits only at zero: a worker that died a moment ago still looks alive until its
    /// heartbeat is old, and its hosts must not be left behind by everyone exiting meanwhile.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn due_count(&self) -> Result<i64, PgError> {
        let sql = format!("SELECT count(*) FROM frontier f WHERE {DUE}");
        self.client()
            .query_one(&sql, &[])
            .map(|r| r.get(0))
            .map_err(q("counting due URLs"))
    }
}

/// Which hosts [`PgState::lease_by_name`] may lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Free {
    /// Hosts nobody else holds a live lease on (the worker's own lease is renewed).
    OrMine,
    /// Hosts nobody holds a live lease on, the worker itself included.
    ForNobody,
}

impl PgState {
    /// Leases `host` (creating its row) for `worker` for `ttl` when `free` allows; whether
    /// the worker holds it now.
    fn lease_by_name(
        &self,
        worker: &str,
        host: &str,
        ttl: Duration,
        free: Free,
    ) -> Result<bool, PgError> {
        let condition = match free {
            Free::OrMine => "(worker_id = $1 OR lease_expires IS NULL OR lease_expires <= now())",
            Free::ForNobody => "(lease_expires IS NULL OR lease_expires <= now())",
        };
        let mut client = self.client();
        let mut tx = client.transaction().map_err(q("leasing a host by name"))?;
        tx.execute(
            "INSERT INTO hosts (host) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&host],
        )
        .map_err(q("leasing a host by name"))?;
        let n = tx
            .execute(
                &format!(
                    "UPDATE hosts SET worker_id = $1,
                         lease_expires = now() + make_interval(secs => $3)
                     WHERE host = $2 AND {condition}"
                ),
                &[&worker, &host, &secs(ttl)],
            )
            .map_err(q("leasing a host by name"))?;
        tx.commit().map_err(q("committing a host lease"))?;
        Ok(n == 1)
    }
}

/// A host with URLs left `fetched` (response durable in raw/, record not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedHost {
    /// The host (`HostKey` text).
    pub host: String,
    /// Whether a worker holds a live lease on it. A live worker commits the records of the
    /// URLs it fetched before it gives their host back, so these URLs are in its flush (or
    /// its lease has not expired since it died): nobody else may recover them yet.
    pub leased: bool,
}

impl PgState {
    /// Up to `limit` hosts with URLs left `fetched`, by host. A host without a live lease
    /// holds orphans (a dead worker's, or a flush that failed): recover them under the host's
    /// lease ([`PgState::claim_orphaned_host`], [`PgState::fetched_on_host`]).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn fetched_hosts(&self, limit: usize) -> Result<Vec<FetchedHost>, PgError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()
            .query(
                "SELECT f.host, COALESCE(bool_or(h.lease_expires > now()), false)
                 FROM frontier f LEFT JOIN hosts h ON h.host = f.host
                 WHERE f.state = 'fetched' GROUP BY f.host ORDER BY f.host LIMIT $1",
                &[&limit],
            )
            .map_err(q("looking for fetched pages"))?;
        Ok(rows
            .iter()
            .map(|r| FetchedHost {
                host: r.get(0),
                leased: r.get(1),
            })
            .collect())
    }

    /// Leases `host` for `worker` for `ttl` when no worker, this one included, holds a live
    /// lease on it: the right to recover its `fetched` URLs, which no live worker is flushing
    /// then. Returns whether the worker holds it now.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn claim_orphaned_host(
        &self,
        worker: &str,
        host: &str,
        ttl: Duration,
    ) -> Result<bool, PgError> {
        self.lease_by_name(worker, host, ttl, Free::ForNobody)
    }

    /// Up to `limit` URLs of `host` left `fetched`, oldest first. Call it holding the host's
    /// lease ([`PgState::claim_orphaned_host`]): then they are orphans, and normalizing them
    /// from raw/ doubles nothing.
    ///
    /// # Errors
    /// `Store` on database failure, `Corrupt` rows.
    pub fn fetched_on_host(
        &self,
        host: &str,
        limit: usize,
    ) -> Result<Vec<crate::frontier::Entry>, crate::frontier::FrontierError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        crate::state::pg::frontier::select(
            &mut *self.client(),
            "f WHERE f.host = $1 AND f.state = 'fetched' ORDER BY f.seq LIMIT $2",
            &[&host, &limit],
        )
    }

    /// Whether a worker other than `worker` holds an unexpired lease on `source`'s discovery.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn source_held_elsewhere(
        &self,
        worker: &str,
        source: &crate::model::SourceId,
    ) -> Result<bool, PgError> {
        self.client()
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM source_leases WHERE source_id = $2
                     AND worker_id <> $1 AND lease_expires > now())",
                &[&worker, &source.as_str()],
            )
            .map(|r| r.get(0))
            .map_err(q("looking at a source lease"))
    }

    /// Those of `sources` whose discovery a worker other than `worker` holds an unexpired
    /// lease on, in one statement.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn sources_held_elsewhere(
        &self,
        worker: &str,
        sources: &[crate::model::SourceId],
    ) -> Result<Vec<crate::model::SourceId>, PgError> {
        let ids: Vec<&str> = sources.iter().map(|s| s.as_str()).collect();
        let rows = self
            .client()
            .query(
                "SELECT source_id FROM source_leases WHERE source_id = ANY($2)
                     AND worker_id <> $1 AND lease_expires > now()",
                &[&worker, &ids],
            )
            .map_err(q("looking at source leases"))?;
        Ok(sources
            .iter()
            .filter(|s| rows.iter().any(|r| r.get::<_, &str>(0) == s.as_str()))
            .cloned()
            .collect())
    }
}

/// A live worker already registered under an id.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveWorker {
    /// Its machine.
    pub hostname: String,
    /// Its process id there.
    pub pid: i64,
    /// Seconds since its last heartbeat.
    pub seconds_ago: f64,
}

impl PgState {
    /// The worker registered as `id` when it has not stopped and its heartbeat is younger
    /// than `stale_after`: then another process is (or, killed, was just now) that worker, and
    /// a second one must not write its corpus folder.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn live_worker(
        &self,
        id: &str,
        stale_after: Duration,
    ) -> Result<Option<LiveWorker>, PgError> {
        let row = self
            .client()
            .query_opt(
                "SELECT hostname, pid, EXTRACT(EPOCH FROM (now() - heartbeat))::float8 FROM workers
                 WHERE id = $1 AND stopped IS NULL
                   AND heartbeat > now() - make_interval(secs => $2)",
                &[&id, &secs(stale_after)],
            )
            .map_err(q("looking for a live worker"))?;
        Ok(row.map(|r| LiveWorker {
            hostname: r.get(0),
            pid: r.get(1),
            seconds_ago: r.get(2),
        }))
    }

    /// Workers alive now (not stopped, a heartbeat within `stale_after`), at least 1: the
    /// divisor of a worker's share of the discoveries (`worker::drive`), as
    /// [`PgState::claim_host`] divides the hosts.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn live_workers(&self, stale_after: Duration) -> Result<u64, PgError> {
        let row = self
            .client()
            .query_one(&live_count("$1"), &[&secs(stale_after)])
            .map_err(q("counting live workers"))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(1))
    }
}
