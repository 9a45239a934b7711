//! Pacing across workers: the fetcher's [`HostPacer`] on the shared database.
//!
//! Before every request (robots.txt, discovery documents and articles alike) the fetcher asks
//! [`PgPacer::turn`], which takes the host's request slot in `hosts` ([`PgState::take_slot`]):
//! the slot moves the host's `next_request` one spacing past the slot *before* the request
//! goes out, so no two requests to a host, from any workers, start closer than its interval
//! (or its robots Crawl-delay, which the fetcher folds into the spacing). A slot may be
//! reserved up to one spacing ahead, while the previous request is in flight, so a request
//! does not wait a database round trip after its slot. A Retry-After or 429/503 backoff is
//! written for every worker with [`PgState::defer_host`].
//!
//! A host the worker is draining (claimed with its due URLs) is *held*: losing its lease ends
//! the turn with [`TurnLost`]. Any other host (a feed host during discovery, a redirect
//! target) is *borrowed*: leased by name for the request when no live worker holds it, waited
//! for when one does, and given back after the discovery ([`PgPacer::return_borrowed`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
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
    /// When this worker's next request to each host it holds or borrows may leave at the
    /// earliest, by its own clock: its last request's departure plus the spacing. Given to
    /// the database with the host ([`PgState::release_host`]), so the next worker's first
    /// request keeps the spacing even after a late last request here.
    free_at: Mutex<HashMap<String, tokio::time::Instant>>,
    /// The database's clock as this worker sees it: recent readings of (local clock at an
    /// answer − database clock when it answered), in µs. The smallest is the reading whose
    /// answer came back fastest, so it is the closest to the true offset.
    offsets: Mutex<VecDeque<i64>>,
}

/// Readings of the database's clock kept (a sliding window, so a clock step is forgotten).
const OFFSET_READINGS: usize = 64;

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
            free_at: Mutex::new(HashMap::new()),
            offsets: Mutex::new(VecDeque::with_capacity(OFFSET_READINGS)),
        }
    }

    /// The worker drains `host` now: a lost lease ends its turns.
    pub fn hold(&self, host: &str) {
        lock(&self.held).insert(host.to_owned());
    }

    /// The worker stopped draining `host`: gives it back.
    pub async fn release(&self, host: &str) {
        lock(&self.held).remove(host);
        self.give_back(host.to_owned()).await;
    }

    /// Hosts leased by name for discovery (not drained here), in no particular order.
    pub fn borrowed(&self) -> Vec<String> {
        let held = lock(&self.held);
        lock(&self.borrowed)
            .iter()
            .filter(|h| !held.contains(*h))
            .cloned()
            .collect()
    }

    /// Turns `host`, borrowed for a discovery, into a host this worker drains (its lease
    /// kept, see `PgState::keep_host`); whether it was borrowed.
    pub fn adopt(&self, host: &str) -> bool {
        let mut held = lock(&self.held);
        let was = lock(&self.borrowed).remove(host);
        if was {
            held.insert(host.to_owned());
        }
        was
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
            self.give_back(host).await;
        }
    }

    async fn give_back(&self, host: String) {
        let hold_off = lock(&self.free_at)
            .remove(&host)
            .map(|at| at.saturating_duration_since(tokio::time::Instant::now()))
            .unwrap_or_default();
        let (state, worker, h) = (self.state.clone(), self.worker.clone(), host.clone());
        if let Err(e) = blocking(move || state.release_host(&worker, &h, hold_off)).await {
            tracing::warn!(host, error = %e, "cannot give a host back; its lease will expire");
        }
    }

    /// How long from now until slot `at` (database clock), given an answer saying it was
    /// `wait` away when the database answered. Sleeping `wait` from the answer's arrival
    /// would send each request late by that answer's way back, which varies from one answer
    /// to the next (and shrinks the gap after a slow one); the slot is placed on the local
    /// clock with the fastest recent answer instead, so requests leave the slots' spacing
    /// apart. Never more than `wait`.
    fn until(&self, at: DateTime<Utc>, wait: Duration) -> Duration {
        let answered = at - chrono::Duration::from_std(wait).unwrap_or_default();
        let reading = (Utc::now() - answered).num_microseconds().unwrap_or(0);
        let offset = {
            let mut offsets = lock(&self.offsets);
            if offsets.len() == OFFSET_READINGS {
                offsets.pop_front();
            }
            offsets.push_back(reading);
            offsets.iter().copied().min().unwrap_or(reading)
        };
        let local_slot = at + chrono::Duration::microseconds(offset);
        (local_slot - Utc::now())
            .to_std()
            .unwrap_or_default()
            .min(wait)
    }

    async fn wait_turn(&self, host: &str, spacing: Duration) -> Result<(), TurnLost> {
        loop {
            let (state, worker, h) = (self.state.clone(), self.worker.clone(), host.to_owned());
            // Reserve up to one spacing ahead: the next slot is taken while the current
            // request is still in flight, and the request leaves on time.
            match blocking(move || state.take_slot(&worker, &h, spacing, spacing)).await {
                Ok(Slot::At { at, wait }) => {
                    // The audit trail of pacing: `tests/workers.rs` checks these instants.
                    tracing::debug!(
                        host,
                        slot = %at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        "request slot taken"
                    );
                    tokio::time::sleep(self.until(at, wait)).await;
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

    fn sent(&self, host: &HostKey, spacing: Duration) {
        let free = tokio::time::Instant::now() + spacing;
        // The other half of the audit trail: when the request left, on the wall clock.
        tracing::debug!(
            host = host.as_str(),
            at = %Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "request leaves"
        );
        lock(&self.free_at).insert(host.as_str().to_owned(), free);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
