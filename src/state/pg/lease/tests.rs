//! Lease tests against a real PostgreSQL (`NEWSMILL_TEST_DATABASE_URL`): exclusive claims under
//! concurrency, takeover after expiry, pacing that survives a takeover, source leases.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::frontier::{FrontierStore, Listing};
use crate::model::{FeedItem, SourceId};
use crate::state::pg::testing::TestDb;
use crate::state::pg::{PgState, Slot};

const MINUTE: Duration = Duration::from_secs(60);

fn sid(s: &str) -> SourceId {
    SourceId::new(s).unwrap()
}

/// `hosts` hosts with `per_host` URLs each, all in source `s`.
fn seed(st: &PgState, hosts: usize, per_host: usize) {
    let items = (0..hosts)
        .flat_map(|h| {
            (0..per_host).map(move |i| FeedItem {
                url: url::Url::parse(&format!("http://h{h}.example:8080/a{i}")).unwrap(),
                title: None,
                published: None,
            })
        })
        .collect();
    let listing = Listing {
        source: sid("s"),
        document: None,
        items,
    };
    st.admit(&listing, Utc::now()).unwrap();
}

fn expire_all(db: &TestDb) {
    db.client()
        .batch_execute("UPDATE hosts SET lease_expires = now() - interval '1 second'")
        .unwrap();
}

#[test]
fn concurrent_claims_never_share_a_host() {
    let Some(db) = TestDb::new("state::pg::lease::tests::concurrent_claims_never_share_a_host")
    else {
        return;
    };
    seed(&db.open(), 20, 2);
    let db = Arc::new(db);
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                let st = db.open();
                let mut mine = Vec::new();
                while let Some(lease) = st.claim_host(&format!("w{w}"), MINUTE).unwrap() {
                    mine.push(lease.host);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 20, "{all:?}");
    assert_eq!(distinct.len(), 20, "a host was claimed twice: {all:?}");
    assert!(all.iter().all(|h| h.ends_with(".example:8080")));
}

/// A worker takes at most its share of the hosts with work while other workers are alive:
/// `ceil(5 hosts / 2 live workers)` = 3, then the other gets the rest; alone, it takes all.
#[test]
fn a_worker_claims_its_share_of_the_hosts_while_others_live() {
    let Some(db) = TestDb::new("state::pg::lease::tests::share_of_hosts") else {
        return;
    };
    let st = db.open();
    seed(&st, 5, 1);
    let claim_all = |w: &str| {
        std::iter::from_fn(|| st.claim_host(w, MINUTE).unwrap())
            .map(|l| l.host)
            .collect::<Vec<_>>()
    };
    st.register_worker("a", "box", 1).unwrap();
    st.register_worker("b", "box", 2).unwrap();
    assert_eq!(
        claim_all("a").len(),
        3,
        "a's share of 5 hosts between 2 workers"
    );
    assert_eq!(claim_all("b").len(), 2, "the rest");
    expire_all(&db);
    st.retire_worker("b").unwrap();
    assert_eq!(claim_all("a").len(), 5, "alone, a takes every host");
}

/// The divisor of a worker's share of the discoveries: registered, not stopped, a recent
/// heartbeat; never less than one.
#[test]
fn live_workers_are_those_registered_not_stopped_and_recently_heard_from() {
    let Some(db) = TestDb::new("state::pg::lease::tests::live_workers") else {
        return;
    };
    let st = db.open();
    assert_eq!(st.live_workers(MINUTE).unwrap(), 1, "none counts as one");
    for (w, pid) in [("a", 1), ("b", 2), ("c", 3)] {
        st.register_worker(w, "box", pid).unwrap();
    }
    assert_eq!(st.live_workers(MINUTE).unwrap(), 3);
    st.retire_worker("b").unwrap();
    db.client()
        .batch_execute("UPDATE workers SET heartbeat = now() - interval '2 minutes' WHERE id = 'c'")
        .unwrap();
    assert_eq!(st.live_workers(MINUTE).unwrap(), 1, "b stopped, c silent");
    st.register_worker("d", "box", 4).unwrap();
    assert_eq!(st.live_workers(MINUTE).unwrap(), 2);
}

#[test]
fn slots_reserved_ahead_are_exactly_one_interval_apart() {
    let Some(db) = TestDb::new("state::pg::lease::tests::slots_reserved_ahead") else {
        return;
    };
    let st = db.open();
    seed(&st, 1, 3);
    let lease = st.claim_host("a", MINUTE).unwrap().unwrap();
    let take = || st.take_slot("a", &lease.host, MINUTE, MINUTE).unwrap();
    let Slot::At { at: first, wait } = take() else {
        panic!("the first slot is free");
    };
    assert!(
        wait < Duration::from_secs(1),
        "the first slot is now: {wait:?}"
    );
    // The next slot is reserved while the first request would be in flight: one interval on.
    let Slot::At { at: second, wait } = take() else {
        panic!("the next slot is within the horizon");
    };
    assert_eq!(second - first, chrono::Duration::seconds(60));
    assert!(wait > Duration::from_secs(55) && wait <= MINUTE, "{wait:?}");
    // Two slots ahead is past the horizon: ask again when the second slot is one interval off.
    assert!(matches!(take(), Slot::Wait(d) if d > Duration::from_secs(55) && d <= MINUTE));
    // Without a horizon nothing is reserved ahead.
    assert!(matches!(
        st.take_slot("a", &lease.host, MINUTE, Duration::ZERO).unwrap(),
        Slot::Wait(d) if d > Duration::from_secs(115)
    ));
}

#[test]
fn an_expired_lease_is_taken_over_and_keeps_the_pace() {
    let Some(db) = TestDb::new("state::pg::lease::tests::an_expired_lease_is_taken_over") else {
        return;
    };
    let st = db.open();
    seed(&st, 1, 3);
    let lease = st.claim_host("a", MINUTE).unwrap().unwrap();
    assert_eq!(st.claim_host("b", MINUTE).unwrap(), None, "held by a");
    assert!(matches!(
        st.take_slot("a", &lease.host, MINUTE, Duration::ZERO).unwrap(),
        Slot::At { wait, .. } if wait < Duration::from_secs(1)
    ));
    assert!(matches!(
        st.take_slot("a", &lease.host, MINUTE, Duration::ZERO).unwrap(),
        Slot::Wait(d) if d > Duration::from_secs(50)
    ));
    assert_eq!(
        st.take_slot("b", &lease.host, MINUTE, Duration::ZERO)
            .unwrap(),
        Slot::Lost
    );
    // a dies: its lease runs out without a heartbeat.
    expire_all(&db);
    assert_eq!(
        st.heartbeat("a", MINUTE).unwrap(),
        0,
        "an expired lease is not renewed"
    );
    let taken = st.claim_host("b", MINUTE).unwrap().unwrap();
    assert_eq!(taken.host, lease.host);
    assert!(
        matches!(
            st.take_slot("b", &taken.host, MINUTE, Duration::ZERO).unwrap(),
            Slot::Wait(d) if d > Duration::from_secs(50)
        ),
        "the new holder waits out the interval of a's last request"
    );
    assert_eq!(
        st.take_slot("a", &lease.host, MINUTE, Duration::ZERO)
            .unwrap(),
        Slot::Lost
    );
    assert_eq!(st.heartbeat("b", MINUTE).unwrap(), 1);
}

#[test]
fn hosts_without_due_work_are_not_claimed_and_released_hosts_are() {
    let Some(db) = TestDb::new("state::pg::lease::tests::hosts_without_due_work") else {
        return;
    };
    let st = db.open();
    assert_eq!(st.claim_host("a", MINUTE).unwrap(), None, "empty frontier");
    seed(&st, 2, 3);
    let lease = st.claim_host("a", MINUTE).unwrap().unwrap();
    let due = st.due_on_host(&lease.host, 10).unwrap();
    assert_eq!(due.len(), 3);
    assert!(
        due.iter()
            .all(|e| e.item.url.as_str().contains(&lease.host))
    );
    st.release_host("a", &lease.host, Duration::ZERO).unwrap();
    assert_eq!(
        st.claim_host("b", MINUTE).unwrap().map(|l| l.host),
        Some(lease.host)
    );
}

#[test]
fn one_worker_at_a_time_discovers_a_source() {
    let Some(db) = TestDb::new("state::pg::lease::tests::one_worker_at_a_time_discovers") else {
        return;
    };
    let st = db.open();
    let s = sid("s");
    assert!(st.claim_source("a", &s, MINUTE, MINUTE).unwrap());
    assert!(!st.claim_source("b", &s, MINUTE, MINUTE).unwrap(), "held");
    st.release_source("a", &s).unwrap();
    assert!(
        !st.claim_source("b", &s, MINUTE, MINUTE).unwrap(),
        "not due"
    );
    db.client()
        .batch_execute("UPDATE source_leases SET next_discovery = now()")
        .unwrap();
    assert!(
        st.claim_source("b", &s, MINUTE, MINUTE).unwrap(),
        "due again"
    );
    // b dies mid-discovery: once its lease expires the source is due again at once.
    assert!(!st.claim_source("a", &s, MINUTE, MINUTE).unwrap(), "held");
    db.client()
        .batch_execute("UPDATE source_leases SET lease_expires = now() - interval '1 second'")
        .unwrap();
    assert!(
        st.claim_source("a", &s, MINUTE, MINUTE).unwrap(),
        "an unfinished discovery is due again"
    );
}

#[test]
fn status_lists_workers_with_leases_and_depth_per_source() {
    let Some(db) = TestDb::new("state::pg::lease::tests::status_lists_workers") else {
        return;
    };
    let st = db.open();
    seed(&st, 2, 2);
    st.register_worker("a", "m1", 10).unwrap();
    st.register_worker("b", "m2", 11).unwrap();
    st.claim_host("a", MINUTE).unwrap().unwrap();
    st.claim_source("a", &sid("s"), MINUTE, MINUTE).unwrap();
    st.retire_worker("b").unwrap();
    let workers = st.workers().unwrap();
    let a = workers.iter().find(|w| w.id == "a").unwrap();
    assert_eq!((a.host_leases, a.source_leases, a.stopped), (1, 1, false));
    assert_eq!(a.hostname, "m1");
    assert!(workers.iter().any(|w| w.id == "b" && w.stopped));
    let depth = st.source_depths().unwrap();
    assert_eq!(depth.len(), 1);
    assert_eq!((depth[0].waiting, depth[0].ingested), (4, 0));
}

/// A host borrowed for a discovery is kept to drain only while the worker holds it, the host
/// has due URLs and the worker is within its share of the hosts with work.
#[test]
fn a_discovered_host_is_kept_only_with_due_urls_and_within_the_share() {
    let Some(db) = TestDb::new("state::pg::lease::tests::keep_discovered_host") else {
        return;
    };
    let st = db.open();
    st.register_worker("a", "box", 1).unwrap();
    st.register_worker("b", "box", 2).unwrap();
    let (h0, h1, h2) = ("h0.example:8080", "h1.example:8080", "h2.example:8080");
    for h in [h0, h1] {
        assert!(st.claim_named_host("a", h, MINUTE).unwrap());
    }
    assert_eq!(
        st.keep_host("a", h0, MINUTE).unwrap(),
        None,
        "no due URLs yet"
    );
    seed(&st, 4, 2);
    assert_eq!(
        st.keep_host("b", h0, MINUTE).unwrap(),
        None,
        "a host another worker holds"
    );
    // 4 hosts with work, 2 live workers: a's share is 2.
    assert_eq!(st.keep_host("a", h0, MINUTE).unwrap().unwrap().host, h0);
    assert_eq!(st.keep_host("a", h1, MINUTE).unwrap().unwrap().host, h1);
    assert!(st.claim_named_host("a", h2, MINUTE).unwrap());
    assert_eq!(
        st.keep_host("a", h2, MINUTE).unwrap(),
        None,
        "a third host is past a's share: given back for b to claim"
    );
    st.release_host("a", h2, Duration::ZERO).unwrap();
    assert!(st.claim_host("b", MINUTE).unwrap().is_some());
}
