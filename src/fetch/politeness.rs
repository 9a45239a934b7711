//! Per-host politeness gate: at most `per_host_concurrency` requests in flight to one host,
//! and at least `max(per_host_interval, Crawl-delay)` between two request starts to it, plus a
//! host-wide pause after a 429/503. One slow host never blocks another: each host has its own
//! gate, and the global limit is a separate semaphore taken after the host's.
//!
//! Many workers on many machines add a [`HostPacer`]: each request takes the host's turn in
//! the shared pacing (`newsmill worker`: a request slot in the database), the local spacing
//! is checked again right before the request, and Crawl-delay and Retry-After pauses are
//! handed to the pacer for every worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::model::HostKey;

/// Most hosts remembered; past that, idle gates are dropped (bounded memory on huge crawls).
const MAX_HOSTS: usize = 10_000;

#[derive(Debug)]
struct HostGate {
    slots: Arc<Semaphore>,
    /// Earliest time the next request may start.
    next_start: Mutex<Instant>,
    /// When the host's last request left (the spacing counts from there).
    left: Mutex<Option<Instant>>,
    /// Extra spacing requested by robots.txt `Crawl-delay` (already capped).
    crawl_delay: Mutex<Duration>,
}

/// The host's turn could not be had: this process no longer holds the right to request it
/// (another worker took the host over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnLost;

/// Pacing shared with other processes, consulted after the local gate. Implementations decide
/// how to wait; the fetcher only awaits the turn and reports pauses.
pub trait HostPacer: Send + Sync + std::fmt::Debug {
    /// Waits until a request to `host` may start for every process, keeping at least
    /// `spacing` (interval or Crawl-delay, whichever is longer) after the host's last request
    /// by anyone.
    ///
    /// # Errors
    /// [`TurnLost`] when this process may no longer request the host at all.
    fn turn<'a>(
        &'a self,
        host: &'a HostKey,
        spacing: Duration,
    ) -> BoxFuture<'a, Result<(), TurnLost>>;

    /// The host asked everyone to wait `pause` (Retry-After, backoff after a 429/503).
    fn defer(&self, host: &HostKey, pause: Duration);

    /// A request to `host` leaves now, `spacing` before the next one may (possibly later
    /// than its turn: after a wait for a global slot, or when the process was descheduled).
    fn sent(&self, host: &HostKey, spacing: Duration);
}

/// Permits to send one request: dropping it frees the host slot and the global slot.
#[derive(Debug)]
pub struct Permit {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

/// The gates of every host, plus the global limit.
#[derive(Debug)]
pub struct Politeness {
    per_host: usize,
    interval: Duration,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<HostKey, Arc<HostGate>>>,
    /// Pacing shared with other workers, when there are any.
    shared: Option<Arc<dyn HostPacer>>,
}

impl Politeness {
    /// A gate set with the configured limits.
    pub fn new(global: usize, per_host: usize, interval: Duration) -> Self {
        Self {
            per_host: per_host.max(1),
            interval,
            global: Arc::new(Semaphore::new(global.max(1))),
            hosts: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Also takes every request's turn from `pacer` (pacing across workers).
    pub fn with_shared(mut self, pacer: Arc<dyn HostPacer>) -> Self {
        self.shared = Some(pacer);
        self
    }

    fn gate(&self, host: &HostKey) -> Arc<HostGate> {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if hosts.len() >= MAX_HOSTS && !hosts.contains_key(host) {
            hosts.retain(|_, g| Arc::strong_count(g) > 1);
        }
        hosts
            .entry(host.clone())
            .or_insert_with(|| {
                Arc::new(HostGate {
                    slots: Arc::new(Semaphore::new(self.per_host)),
                    next_start: Mutex::new(Instant::now()),
                    left: Mutex::new(None),
                    crawl_delay: Mutex::new(Duration::ZERO),
                })
            })
            .clone()
    }

    /// Waits for a host slot, then for the host's spacing, then for a global slot. With a
    /// shared pacer the host's turn comes from it (its clock paces every worker), and the
    /// local spacing is checked last, right before the request, so that a wait for a global
    /// slot that made this request late never brings the next one closer than the spacing.
    ///
    /// # Errors
    /// [`TurnLost`] from the shared pacer; never without one.
    pub async fn acquire(&self, host: &HostKey) -> Result<Permit, TurnLost> {
        let gate = self.gate(host);
        let host_permit = gate
            .slots
            .clone()
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("host semaphores are never closed"));
        let spacing = self.interval.max(*lock(&gate.crawl_delay));
        match &self.shared {
            None => space(&gate, spacing).await,
            Some(shared) => shared.turn(host, spacing).await?,
        }
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the global semaphore is never closed"));
        if let Some(shared) = &self.shared {
            space(&gate, spacing).await;
            shared.sent(host, spacing);
        }
        Ok(Permit {
            _host: host_permit,
            _global: global,
        })
    }

    /// Sets the host's robots.txt `Crawl-delay` (the caller caps it).
    pub fn set_crawl_delay(&self, host: &HostKey, delay: Duration) {
        *lock(&self.gate(host).crawl_delay) = delay;
    }

    /// Pushes the host's next start at least `pause` into the future (after 429/503).
    pub fn pause(&self, host: &HostKey, pause: Duration) {
        let gate = self.gate(host);
        let mut next = lock(&gate.next_start);
        *next = (*next).max(Instant::now() + pause);
        if let Some(shared) = &self.shared {
            shared.defer(host, pause);
        }
    }
}

/// Waits until the host's next start (reserving the one after it, `spacing` later), then
/// until `spacing` after the host's last request left, and records this one as leaving now.
///
/// The spacing counts from when a request leaves, not from the start it was given: a wait
/// whose timer fired while the process was descheduled ends late, and the next request,
/// given the following start, would otherwise leave less than `spacing` after it.
async fn space(gate: &HostGate, spacing: Duration) {
    let start_at = {
        let mut next = lock(&gate.next_start);
        let start = (*next).max(Instant::now());
        *next = start + spacing;
        start
    };
    tokio::time::sleep_until(start_at).await;
    loop {
        let earliest = {
            let mut left = lock(&gate.left);
            let now = Instant::now();
            match *left {
                Some(t) if t + spacing > now => t + spacing,
                _ => {
                    *left = Some(now);
                    let mut next = lock(&gate.next_start);
                    *next = (*next).max(now + spacing);
                    return;
                }
            }
        };
        tokio::time::sleep_until(earliest).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> HostKey {
        HostKey::try_from(&url::Url::parse(s).unwrap()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn spacing_per_host_not_across_hosts() {
        let p = Arc::new(Politeness::new(16, 2, Duration::from_secs(1)));
        let t0 = Instant::now();
        let a = host("http://a.example/");
        let b = host("http://b.example/");
        let mut starts = Vec::new();
        for h in [&a, &a, &a, &b] {
            let _permit = p.acquire(h).await.unwrap();
            starts.push((h.clone(), t0.elapsed()));
        }
        assert_eq!(starts[0].1, Duration::ZERO);
        assert_eq!(starts[1].1, Duration::from_secs(1));
        assert_eq!(starts[2].1, Duration::from_secs(2));
        // Host b was never waited for: it starts as soon as it is asked.
        assert_eq!(starts[3].1, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn crawl_delay_and_pause_stretch_spacing() {
        let p = Politeness::new(4, 1, Duration::from_millis(100));
        let a = host("http://a.example/");
        p.set_crawl_delay(&a, Duration::from_secs(5));
        let t0 = Instant::now();
        drop(p.acquire(&a).await.unwrap());
        drop(p.acquire(&a).await.unwrap());
        assert_eq!(t0.elapsed(), Duration::from_secs(5));
        p.pause(&a, Duration::from_secs(30));
        drop(p.acquire(&a).await.unwrap());
        assert!(t0.elapsed() >= Duration::from_secs(35));
    }

    #[tokio::test(start_paused = true)]
    async fn per_host_concurrency_is_bounded() {
        let p = Arc::new(Politeness::new(16, 2, Duration::ZERO));
        let a = host("http://a.example/");
        let p1 = p.acquire(&a).await.unwrap();
        let _p2 = p.acquire(&a).await.unwrap();
        let p3 = {
            let p = p.clone();
            let a = a.clone();
            tokio::spawn(async move { p.acquire(&a).await })
        };
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!p3.is_finished());
        drop(p1);
        let _ = p3.await.unwrap();
    }
    /// Acquires a permit for `h`, but polls the wait only after `late` has passed (the
    /// process was descheduled while its timer fired); returns when the permit was had.
    async fn acquire_late(p: &Politeness, h: &HostKey, late: Duration) -> Instant {
        use futures_util::FutureExt;
        let wait = p.acquire(h);
        tokio::pin!(wait);
        assert!(
            (&mut wait).now_or_never().is_none(),
            "the spacing makes it wait"
        );
        tokio::time::advance(late).await;
        drop(wait.await.unwrap());
        Instant::now()
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_leaves_late_pushes_the_next_one() {
        // The second request's timer fires at 100 ms, but the process runs it only at 130 ms:
        // that is when it leaves, and the third may leave 100 ms after that, not at 200 ms.
        for shared in [false, true] {
            let mut p = Politeness::new(4, 1, Duration::from_millis(100));
            if shared {
                p = p.with_shared(Arc::new(NoPacer));
            }
            let a = host("http://a.example/");
            drop(p.acquire(&a).await.unwrap());
            let second = acquire_late(&p, &a, Duration::from_millis(130)).await;
            drop(p.acquire(&a).await.unwrap());
            let third = Instant::now();
            assert!(
                third - second >= Duration::from_millis(100),
                "shared {shared}: the third request left {:?} after the late second one",
                third - second
            );
        }
    }

    /// A shared pacer that always grants at once: only the local gate spaces requests.
    #[derive(Debug)]
    struct NoPacer;

    impl HostPacer for NoPacer {
        fn turn<'a>(
            &'a self,
            _host: &'a HostKey,
            _spacing: Duration,
        ) -> BoxFuture<'a, Result<(), TurnLost>> {
            Box::pin(async { Ok(()) })
        }

        fn defer(&self, _host: &HostKey, _pause: Duration) {}

        fn sent(&self, _host: &HostKey, _spacing: Duration) {}
    }

    /// A shared pacer that grants at once, but only after a wait of its own (a slow database
    /// round trip): the turns it gives are late and bunched together.
    #[derive(Debug)]
    struct LatePacer;

    impl HostPacer for LatePacer {
        fn turn<'a>(
            &'a self,
            _host: &'a HostKey,
            _spacing: Duration,
        ) -> BoxFuture<'a, Result<(), TurnLost>> {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(700)).await;
                Ok(())
            })
        }

        fn defer(&self, _host: &HostKey, _pause: Duration) {}

        fn sent(&self, _host: &HostKey, _spacing: Duration) {}
    }

    #[tokio::test(start_paused = true)]
    async fn with_a_shared_pacer_one_process_still_keeps_the_spacing() {
        // Global limit 1, held by another host's request: this host's turns come and wait for
        // it; once it is free, the requests must still start a spacing apart.
        let p = Arc::new(
            Politeness::new(1, 1, Duration::from_secs(1)).with_shared(Arc::new(LatePacer)),
        );
        let (a, b) = (host("http://a.example/"), host("http://b.example/"));
        let t0 = Instant::now();
        let blocker = p.acquire(&b).await.unwrap();
        let p2 = p.clone();
        let starts = tokio::spawn(async move {
            let mut starts = Vec::new();
            for _ in 0..3 {
                let _permit = p2.acquire(&a).await.unwrap();
                starts.push(t0.elapsed());
            }
            starts
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(blocker);
        let starts = starts.await.unwrap();
        for w in starts.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_secs(1), "{starts:?}");
        }
    }
}
