//! Leases: how many workers share one frontier without stepping on each other.
//!
//! - A **host lease** (`hosts` row: `worker_id`, `lease_expires`) gives one worker the right to
//!   request one host. It is claimed with `SELECT … FOR UPDATE SKIP LOCKED`, so two workers
//!   claiming at once get different hosts and never wait for each other. Only the holder
//!   requests the host, so its per-host concurrency and pacing hold across all workers.
//! - `hosts.next_request` is the earliest instant *any* worker may send the host's next
//!   request (interval, robots Crawl-delay, Retry-After). The holder moves it forward *before*
//!   each request ([`PgState::pace_host`]), so a worker that takes a host over after a crash
//!   still keeps the gap, even though the crashed worker never said goodbye.
//! - A **source lease** (`source_leases`) gives one worker the source's discovery (feeds,
//!   sitemaps, section pages) until `next_discovery`.
//! - A lease that is not renewed expires; any worker then takes it over. Nothing a dead worker
//!   held is lost: its URLs are still `discovered` (or `fetched`, recovered from raw) in the
//!   frontier.
//! - `workers` holds one row per worker with its heartbeat, for `newsmill status`.
//!
//! Times are the database's clock (`now()`), never the workers', so clock skew between
//! machines does not break a lease.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::SourceId;

use super::{PgError, PgState, q};

mod named;

pub use named::{FetchedHost, LiveWorker};

/// A host a worker holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLease {
    /// The host (`HostKey` text: lower-case host, `:port` when not the default).
    pub host: String,
    /// Earliest instant the next request to it may be sent.
    pub next_request: DateTime<Utc>,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl PgState {
    /// Registers (or re-registers) worker `id` and sets its heartbeat.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn register_worker(&self, id: &str, hostname: &str, pid: u32) -> Result<(), PgError> {
        let pid = i64::from(pid);
        self.client()
            .execute(
                "INSERT INTO workers (id, hostname, pid, started, heartbeat)
                 VALUES ($1, $2, $3, now(), now())
                 ON CONFLICT (id) DO UPDATE SET hostname = $2, pid = $3, started = now(),
                     heartbeat = now(), stopped = NULL",
                &[&id, &hostname, &pid],
            )
            .map(drop)
            .map_err(q("registering the worker"))
    }

    /// Renews the heartbeat of worker `id` and every lease it holds, by `ttl` from now.
    /// Returns how many host leases it still held (a lease that expired and was taken over is
    /// not renewed).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn heartbeat(&self, id: &str, ttl: Duration) -> Result<u64, PgError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(q("starting a heartbeat"))?;
        tx.execute("UPDATE workers SET heartbeat = now() WHERE id = $1", &[&id])
            .map_err(q("writing the heartbeat"))?;
        let hosts = tx
            .execute(
                "UPDATE hosts SET lease_expires = now() + make_interval(secs => $2)
                 WHERE worker_id = $1 AND lease_expires > now()",
                &[&id, &secs(ttl)],
            )
            .map_err(q("renewing host leases"))?;
        tx.execute(
            "UPDATE source_leases SET lease_expires = now() + make_interval(secs => $2)
             WHERE worker_id = $1 AND lease_expires > now()",
            &[&id, &secs(ttl)],
        )
        .map_err(q("renewing source leases"))?;
        tx.commit().map_err(q("committing the heartbeat"))?;
        Ok(hosts)
    }

    /// Marks worker `id` stopped and gives back its leases at once.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn retire_worker(&self, id: &str) -> Result<(), PgError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(q("retiring the worker"))?;
        for sql in [
            "UPDATE hosts SET worker_id = NULL, lease_expires = NULL WHERE worker_id = $1",
            // A source still held was not discovered to the end: due again at once.
            "UPDATE source_leases SET worker_id = NULL, lease_expires = NULL, next_discovery = now()
             WHERE worker_id = $1",
            "UPDATE workers SET stopped = now(), heartbeat = now() WHERE id = $1",
        ] {
            tx.execute(sql, &[&id]).map_err(q("retiring the worker"))?;
        }
        tx.commit().map_err(q("committing the retirement"))
    }
}

/// URLs waiting for a fetch, as SQL over `frontier f`.
const DUE: &str = "(f.state = 'discovered'
    OR (f.state = 'failed' AND f.next_attempt IS NOT NULL AND f.next_attempt <= now()))";

/// Live workers (not stopped, a heartbeat within the lease TTL given in seconds by the
/// placeholder `ttl`), at least 1, as one column `n`: the divisor of a worker's share of the
/// hosts ([`PgState::claim_host`]) and of the discoveries ([`PgState::live_workers`]).
fn live_count(ttl: &str) -> String {
    format!(
        "SELECT GREATEST(count(*), 1) AS n FROM workers
         WHERE stopped IS NULL AND heartbeat > now() - make_interval(secs => {ttl})"
    )
}

/// The lease in a `RETURNING host, next_request` row, if any.
fn host_lease(row: Option<postgres::Row>) -> Result<Option<HostLease>, postgres::Error> {
    row.map(|r| {
        Ok(HostLease {
            host: r.try_get(0)?,
            next_request: r.try_get(1)?,
        })
    })
    .transpose()
}

/// The CTEs `live` ([`live_count`]) and `work`: hosts `mine` (worker `$1`'s live leases) and
/// `hosts` (with a live lease or due URLs), from which a worker's share of the hosts is read.
fn share_ctes(ttl: &str) -> String {
    format!(
        "live AS ({}),
         work AS (
             SELECT count(*) FILTER (WHERE h.worker_id = $1 AND h.lease_expires > now()) AS mine,
                 count(*) AS hosts
             FROM hosts h
             WHERE h.lease_expires > now()
                OR EXISTS (SELECT 1 FROM frontier f WHERE f.host = h.host AND {DUE}))",
        live_count(ttl)
    )
}

impl PgState {
    /// Claims one host that has due URLs and no live lease (the one whose next request may go
    /// out soonest), for `ttl`, unless the worker already holds its share of the hosts with
    /// work: `ceil(hosts with due URLs or a live lease / live workers)`. `None`: every host
    /// with work is held by a live worker, or this one holds its share.
    ///
    /// The share keeps one worker from taking every host while the others start: each
    /// worker's sink normalizes and links what its hosts send, so a worker that holds more
    /// hosts than the others falls behind them, and the crawl waits for it.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn claim_host(&self, worker: &str, ttl: Duration) -> Result<Option<HostLease>, PgError> {
        let sql = format!(
            "WITH {},
             pick AS (
                 SELECT h.host FROM hosts h
                 WHERE (h.lease_expires IS NULL OR h.lease_expires <= now())
                   AND EXISTS (SELECT 1 FROM frontier f WHERE f.host = h.host AND {DUE})
                   AND (SELECT mine FROM work) * (SELECT n FROM live) < (SELECT hosts FROM work)
                 ORDER BY h.next_request, h.host
                 LIMIT 1
                 FOR UPDATE OF h SKIP LOCKED)
             UPDATE hosts SET worker_id = $1, lease_expires = now() + make_interval(secs => $2)
             FROM pick WHERE hosts.host = pick.host
             RETURNING hosts.host, hosts.next_request",
            share_ctes("$2")
        );
        let row = self
            .client()
            .query_opt(&sql, &[&worker, &secs(ttl)])
            .map_err(q("claiming a host"))?;
        host_lease(row).map_err(q("reading a claimed host"))
    }

    /// Takes the host's next request slot for `worker`, reserving it up to `ahead` in advance:
    /// when the host's `next_request` is at most `ahead` away, the slot is
    /// `max(next_request, now)`, `next_request` moves to the slot + `interval`, and the answer
    /// is [`Slot::At`] with the slot and how long until it (by the database's clock, so the
    /// workers' clocks never matter). Otherwise the answer says how long to wait before
    /// asking again. `Slot::Lost` when the worker no longer holds the host's lease.
    ///
    /// Reserving ahead lets a worker ask for its next slot while its current request is
    /// still in flight, so a request is not late by one round trip to the database. Slots
    /// are never closer than `interval`, whoever reserved them.
    ///
    /// "Now" is `clock_timestamp()`, read after the row lock is held, not the transaction's
    /// `now()`: a statement that waited for the lock would otherwise date the slot back to
    /// before the wait, and the next request could follow this one by less than `interval`.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn take_slot(
        &self,
        worker: &str,
        host: &str,
        interval: Duration,
        ahead: Duration,
    ) -> Result<Slot, PgError> {
        let row = self
            .client()
            .query_opt(
                "WITH h AS (SELECT host, next_request, worker_id, lease_expires FROM hosts
                     WHERE host = $2 FOR UPDATE),
                 upd AS (UPDATE hosts
                     SET next_request = GREATEST(h.next_request, clock_timestamp())
                         + make_interval(secs => $3)
                     FROM h WHERE hosts.host = h.host AND h.worker_id = $1
                       AND h.lease_expires > now()
                       AND h.next_request <= clock_timestamp() + make_interval(secs => $4)
                     RETURNING hosts.next_request - make_interval(secs => $3) AS granted)
                 SELECT h.worker_id = $1 AND h.lease_expires > now(),
                     (SELECT granted FROM upd),
                     GREATEST(EXTRACT(EPOCH FROM (COALESCE((SELECT granted FROM upd),
                         h.next_request - make_interval(secs => $4)) - clock_timestamp())), 0)::float8
                 FROM h",
                &[&worker, &host, &secs(interval), &secs(ahead)],
            )
            .map_err(q("taking a request slot"))?;
        let Some(r) = row else {
            return Ok(Slot::Lost);
        };
        let (held, granted, wait): (Option<bool>, Option<DateTime<Utc>>, f64) =
            (r.get(0), r.get(1), r.get(2));
        let wait = Duration::from_secs_f64(wait.max(0.0));
        Ok(match (held.unwrap_or(false), granted) {
            (false, _) => Slot::Lost,
            (true, Some(at)) => Slot::At { at, wait },
            (true, None) => Slot::Wait(wait.max(Duration::from_millis(1))),
        })
    }

    /// Up to `limit` due URLs of a host, oldest first: the work of the host's lease holder.
    ///
    /// # Errors
    /// `Store` on database failure, `Corrupt` rows.
    pub fn due_on_host(
        &self,
        host: &str,
        limit: usize,
    ) -> Result<Vec<crate::frontier::Entry>, crate::frontier::FrontierError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        super::frontier::select(
            &mut *self.client(),
            &format!("f WHERE f.host = $1 AND {DUE} ORDER BY f.first_seen, f.seq LIMIT $2"),
            &[&host, &limit],
        )
    }

    /// Pushes the host's next request to at least `not_before` (robots Crawl-delay, a
    /// Retry-After), for every worker.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn defer_host(&self, host: &str, not_before: DateTime<Utc>) -> Result<(), PgError> {
        self.client()
            .execute(
                "UPDATE hosts SET next_request = GREATEST(next_request, $2) WHERE host = $1",
                &[&host, &not_before],
            )
            .map(drop)
            .map_err(q("deferring a host"))
    }

    /// Gives a host lease back (its work is done, or the worker stops). The next request to
    /// the host, by any worker, waits at least `hold_off` from now: the giver's last request
    /// may have left later than its slot, and its spacing counts from when it left.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn release_host(
        &self,
        worker: &str,
        host: &str,
        hold_off: Duration,
    ) -> Result<(), PgError> {
        self.client()
            .execute(
                "UPDATE hosts SET worker_id = NULL, lease_expires = NULL,
                     next_request = CASE WHEN $3::float8 > 0 THEN GREATEST(next_request,
                         clock_timestamp() + make_interval(secs => $3)) ELSE next_request END
                 WHERE host = $2 AND worker_id = $1",
                &[&worker, &host, &secs(hold_off)],
            )
            .map(drop)
            .map_err(q("releasing a host"))
    }

    /// Claims `source`'s discovery when it is due (`next_discovery` passed) and no live
    /// worker holds it, or when its last holder's lease expired before it gave it back (the
    /// worker died mid-discovery). On success the next discovery is set `every` from now.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn claim_source(
        &self,
        worker: &str,
        source: &SourceId,
        ttl: Duration,
        every: Duration,
    ) -> Result<bool, PgError> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(q("claiming a source"))?;
        tx.execute(
            "INSERT INTO source_leases (source_id) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&source.as_str()],
        )
        .map_err(q("claiming a source"))?;
        let n = tx
            .execute(
                "UPDATE source_leases SET worker_id = $1,
                     lease_expires = now() + make_interval(secs => $3),
                     next_discovery = now() + make_interval(secs => $4)
                 WHERE source_id = $2
                   AND (next_discovery <= now() OR worker_id IS NOT NULL)
                   AND (lease_expires IS NULL OR lease_expires <= now())",
                &[&worker, &source.as_str(), &secs(ttl), &secs(every)],
            )
            .map_err(q("claiming a source"))?;
        tx.commit().map_err(q("committing a source claim"))?;
        Ok(n == 1)
    }

    /// Gives a source lease back after its discovery.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn release_source(&self, worker: &str, source: &SourceId) -> Result<(), PgError> {
        self.client()
            .execute(
                "UPDATE source_leases SET worker_id = NULL, lease_expires = NULL
                 WHERE source_id = $2 AND worker_id = $1",
                &[&worker, &source.as_str()],
            )
            .map(drop)
            .map_err(q("releasing a source"))
    }
}

/// The answer of [`PgState::take_slot`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// The slot is taken: it is `at` on the database's clock, `wait` from now (zero when the
    /// slot is now). Send the request then.
    At {
        /// The slot, on the database's clock.
        at: DateTime<Utc>,
        /// How long from the answer until the slot.
        wait: Duration,
    },
    /// Another request went out too recently: ask again after this long.
    Wait(Duration),
    /// The lease is gone (expired and taken over): stop requesting this host.
    Lost,
}

#[cfg(test)]
mod tests;
