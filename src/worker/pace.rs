//! Pacing across workers: the fetcher's [`HostPacer`] on the shared database.
//!
//! Before every request (robots.txt, discovery documents and articles alike) the fetcher asks
//! [`PgPacer::turn`], which takes the host's request slot in `hosts` ([`PgState::take_slot`]):
//! the slot moves the host's `next_request` to now + spacing *before* the request goes out, so
//! no two requests to a host, from any workers, start closer than its interval (or its robots
//! Crawl-delay, which the fetcher folds into the spacing). A Retry-After or 429/503 backoff is
//! written for every worker with [`PgState::defer_host`].
//!
//! A host the worker is draining (claimed with its due URLs) is *held*: losing its lease ends
//! the turn with [`TurnLost`]. Any other host (a feed host during discovery, a redirect
//! target) is *borrowed*: leased by name for the request when no live worker holds it, waited
//! for when one does, and given back after the discovery ([`PgPacer::return_borrowed`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::fetch::politeness::{HostPacer, TurnLost};
use crate::model::HostKey;
use crate::state::pg::{PgState, Slot};

use super::blocking;

/// The shared pacing of one worker.
#[derive(Debug)]
pub struct PgPacer {
    state: Arc<PgState>,
    worker: String,
    ttl: Duration,
    /// How long to wait before asking again when a host is busy elsewhere or the database fails.
    poll: Duration,
    held: Mutex<HashSet<String>>,
    borrowed: Mutex<HashSet<String>>,
    /// When this worker's last slot on each host ends, by its own clock: the next turn sleeps
    /// until then before asking, so it usually takes the slot in one round trip. Only hosts
    /// held or borrowed now (entries go with the host).
    ends: Mutex<HashMap<String, tokio::time::Instant>>,
}

impl PgPacer {
    /// Pacing for `worker`, leasing borrowed hosts for `ttl`.
    pub fn new(state: Arc<PgState>, worker: &str, ttl: Duration, poll: Duration) -> Self {
        Self {
            state,
            worker: worker.to_owned(),
            ttl,
            poll,
            held: Mutex::new(HashSet::new()),
            borrowed: Mutex::new(HashSet::new()),
            ends: Mutex::new(HashMap::new()),
        }
    }

    /// The worker drains `host` now: a lost lease ends its turns.
    pub fn hold(&self, host: &str) {
        lock(&self.held).insert(host.to_owned());
    }

    /// The worker stopped draining `host`.
    pub fn unhold(&self, host: &str) {
        lock(&self.held).remove(host);
        lock(&self.ends).remove(host);
    }

    /// Hosts leased by name for discovery, given back (except those being drained).
    pub async fn return_borrowed(&self) {
        let hosts: Vec<String> = {
            let held = lock(&self.held);
            lock(&self.borrowed)
                .drain()
                .filter(|h| !held.contains(h))
                .collect()
        };
        for host in hosts {
            lock(&self.ends).remove(&host);
            let (state, worker) = (self.state.clone(), self.worker.clone());
            if let Err(e) = blocking(move || state.release_host(&worker, &host)).await {
                tracing::warn!(error = %e, "cannot give a borrowed host back; its lease will expire");
            }
        }
    }

    async fn wait_turn(&self, host: &str, spacing: Duration) -> Result<(), TurnLost> {
        let end = lock(&self.ends).get(host).copied();
        if let Some(end) = end {
            tokio::time::sleep_until(end).await;
        }
        loop {
            let (state, worker, h) = (self.state.clone(), self.worker.clone(), host.to_owned());
            match blocking(move || state.take_slot(&worker, &h, spacing)).await {
                Ok(Slot::Now(at)) => {
                    // The audit trail of pacing: `tests/workers.rs` checks these instants.
                    tracing::debug!(
                        host,
                        slot = %at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        "request slot taken"
                    );
                    let end = tokio::time::Instant::now() + spacing;
                    lock(&self.ends).insert(host.to_owned(), end);
                    return Ok(());
                }
                Ok(Slot::Wait(wait)) => tokio::time::sleep(wait).await,
                Ok(Slot::Lost) if lock(&self.held).contains(host) => return Err(TurnLost),
                Ok(Slot::Lost) => {
                    if !self.borrow(host).await {
                        tokio::time::sleep(self.poll).await;
                    }
                }
                Err(e) => {
                    // Never request blind: wait for the database to answer.
                    tracing::warn!(host, error = %e, "cannot take a request slot; waiting");
                    tokio::time::sleep(self.poll).await;
                }
            }
        }
    }

    async fn borrow(&self, host: &str) -> bool {
        let (state, worker, h, ttl) = (
            self.state.clone(),
            self.worker.clone(),
            host.to_owned(),
            self.ttl,
        );
        match blocking(move || state.claim_named_host(&worker, &h, ttl)).await {
            Ok(true) => {
                lock(&self.borrowed).insert(host.to_owned());
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(host, error = %e, "cannot lease a host for discovery");
                false
            }
        }
    }
}

impl HostPacer for PgPacer {
    fn turn<'a>(
        &'a self,
        host: &'a HostKey,
        spacing: Duration,
    ) -> BoxFuture<'a, Result<(), TurnLost>> {
        Box::pin(self.wait_turn(host.as_str(), spacing))
    }

    fn defer(&self, host: &HostKey, pause: Duration) {
        let until = chrono::Utc::now() + chrono::Duration::from_std(pause).unwrap_or_default();
        let (state, host) = (self.state.clone(), host.as_str().to_owned());
        // Fire and forget: the local gate already waits; this tells the other workers.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = state.defer_host(&host, until) {
                tracing::warn!(host, error = %e, "cannot defer the host for other workers");
            }
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
