//! The frontier backends' shared contract: every test here runs against SQLite and against
//! PostgreSQL (`state::contract::sqlite::NAME`, `state::contract::postgres::NAME`). The
//! PostgreSQL cases take their server from `NEWSMILL_TEST_DATABASE_URL` (see `pg/testing.rs`).

use std::sync::Arc;

use chrono::Utc;

use crate::frontier::{
    Change, DocumentKind, FailureKind, Frontier, Listing, RecordId, RetryPolicy, StoredDocument,
    Transition, UrlKey, UrlState, Validators,
};
use crate::model::{FeedItem, RawLocation, SourceId};

use super::State;
use super::pg::testing::TestDb;

/// A backend under test: [`Backend::open`] opens the same store again each time.
trait Backend {
    fn open(&self) -> Frontier;
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        base: std::time::Duration::ZERO,
        max_attempts: 2,
    }
}

struct Sqlite(tempfile::TempDir);

impl Backend for Sqlite {
    fn open(&self) -> Frontier {
        Frontier::new(Arc::new(State::open(self.0.path()).unwrap()), policy())
    }
}

struct Pg(TestDb);

impl Backend for Pg {
    fn open(&self) -> Frontier {
        Frontier::new(Arc::new(self.0.open()), policy())
    }
}

/// One `#[test]` per backend for each contract function.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&super::Sqlite(tempfile::tempdir().unwrap()));
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                let test = concat!("state::contract::postgres::", stringify!($name));
                if let Some(db) = super::TestDb::new(test) {
                    super::$name(&super::Pg(db));
                }
            })*
        }
    };
}

contract!(
    admission_stores_items_and_document_validators_together,
    states_survive_reopening_and_ingested_is_never_owed,
    failures_are_retried_then_exhausted_and_listed,
    admitting_twice_keeps_state_and_first_order,
    states_of_many_keys_at_once,
    one_batch_moves_a_new_url_twice_in_order,
    a_stored_document_stays_until_its_listing_is_admitted,
);

fn sid(s: &str) -> SourceId {
    SourceId::new(s).unwrap()
}

fn key(p: &str) -> UrlKey {
    UrlKey::of(&url::Url::parse(&format!("https://example.org/{p}")).unwrap())
}

fn listing(doc: &str, paths: &[&str]) -> Listing {
    Listing {
        source: sid("s"),
        document: Some((
            doc.into(),
            Validators {
                etag: Some("\"v1\"".into()),
                last_modified: None,
            },
        )),
        items: paths
            .iter()
            .map(|p| FeedItem {
                url: url::Url::parse(&format!("https://example.org/{p}?utm_source=x")).unwrap(),
                title: Some((*p).into()),
                published: None,
            })
            .collect(),
    }
}

fn admission_stores_items_and_document_validators_together(b: &dyn Backend) {
    let f = b.open();
    f.admit(&listing("https://example.org/feed", &["a", "b"]))
        .unwrap();
    let v = f.document_validators(&sid("s")).unwrap();
    assert_eq!(
        v["https://example.org/feed"].etag.as_deref(),
        Some("\"v1\"")
    );
    let due = f.plan(&sid("s"), Vec::new(), false, Utc::now()).unwrap();
    let keys: Vec<_> = due.work.iter().map(|w| w.key.clone()).collect();
    assert_eq!(keys, [key("a"), key("b")], "owed after a 304, oldest first");
    // The stored hint and the URL as listed come back.
    assert_eq!(due.work[0].item.title.as_deref(), Some("a"));
    assert!(due.work[0].item.url.as_str().contains("utm_source"));
}

fn states_survive_reopening_and_ingested_is_never_owed(b: &dyn Backend) {
    let f = b.open();
    f.admit(&listing("https://example.org/feed", &["a", "b", "c"]))
        .unwrap();
    let raw = RawLocation {
        file: "2026/01/01/x.warc.gz".into(),
        offset: 5,
        length: 9,
    };
    let ch = |p: &str, transition| Change {
        key: key(p),
        source: sid("s"),
        transition,
    };
    f.apply(&[
        ch("a", Transition::Fetched { raw: raw.clone() }),
        ch("b", Transition::Fetched { raw: raw.clone() }),
        ch("c", Transition::Gone { status: 410 }),
    ])
    .unwrap();
    f.apply(&[ch(
        "a",
        Transition::Ingested {
            record: RecordId::new("a1"),
            duplicate: false,
            validators: Validators::default(),
        },
    )])
    .unwrap();
    drop(f);
    let f = b.open();
    assert!(matches!(
        f.state(&key("a")).unwrap(),
        Some(UrlState::Ingested { .. })
    ));
    assert_eq!(f.state(&key("b")).unwrap(), Some(UrlState::Fetched { raw }));
    assert_eq!(
        f.state(&key("c")).unwrap(),
        Some(UrlState::Gone { status: 410 })
    );
    let unrecovered = f.unrecovered().unwrap();
    assert_eq!(unrecovered.len(), 1);
    assert_eq!(unrecovered[0].key, key("b"));
    assert!(
        f.plan(&sid("s"), Vec::new(), false, Utc::now())
            .unwrap()
            .work
            .is_empty()
    );
}

fn failures_are_retried_then_exhausted_and_listed(b: &dyn Backend) {
    let f = b.open();
    f.admit(&listing("https://example.org/feed", &["a"]))
        .unwrap();
    let fail = [Change {
        key: key("a"),
        source: sid("s"),
        transition: Transition::Failed {
            kind: FailureKind::ServerBusy { status: 503 },
        },
    }];
    f.apply(&fail).unwrap();
    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(
        f.plan(&sid("s"), Vec::new(), false, later)
            .unwrap()
            .work
            .len(),
        1
    );
    assert!(f.exhausted().unwrap().is_empty());
    f.apply(&fail).unwrap();
    let gave_up = f.exhausted().unwrap();
    assert_eq!(gave_up.len(), 1);
    assert!(matches!(
        gave_up[0].state,
        UrlState::Failed {
            attempts: 2,
            next_attempt: None,
            ..
        }
    ));
    assert!(
        f.plan(&sid("s"), Vec::new(), false, later)
            .unwrap()
            .work
            .is_empty()
    );
}

fn admitting_twice_keeps_state_and_first_order(b: &dyn Backend) {
    let f = b.open();
    f.admit(&listing("https://example.org/feed", &["a", "b"]))
        .unwrap();
    f.apply(&[Change {
        key: key("a"),
        source: sid("s"),
        transition: Transition::Gone { status: 404 },
    }])
    .unwrap();
    f.admit(&listing("https://example.org/feed", &["c", "b", "a"]))
        .unwrap();
    assert_eq!(
        f.state(&key("a")).unwrap(),
        Some(UrlState::Gone { status: 404 }),
        "a listed URL keeps its state"
    );
    let plan = f.plan(&sid("s"), Vec::new(), false, Utc::now()).unwrap();
    let keys: Vec<_> = plan.work.iter().map(|w| w.key.clone()).collect();
    assert_eq!(keys, [key("b"), key("c")], "first seen first");
}

fn states_of_many_keys_at_once(b: &dyn Backend) {
    let f = b.open();
    let names: Vec<String> = (0..50).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    f.admit(&listing("https://example.org/feed", &refs))
        .unwrap();
    let gone: Vec<Change> = names[..10]
        .iter()
        .map(|n| Change {
            key: key(n),
            source: sid("s"),
            transition: Transition::Gone { status: 410 },
        })
        .collect();
    f.apply(&gone).unwrap();
    let mut listed = refs.clone();
    listed.push("never-listed");
    let items = listing("https://example.org/feed", &listed).items;
    let plan = f.plan(&sid("s"), items, false, Utc::now()).unwrap();
    assert_eq!(plan.work.len(), 41, "40 owed + 1 new");
    assert_eq!((plan.new, plan.closed), (1, 10));
    assert_eq!(f.state(&key("never-listed")).unwrap(), None);
}

fn one_batch_moves_a_new_url_twice_in_order(b: &dyn Backend) {
    let f = b.open();
    let raw = RawLocation {
        file: "2026/01/01/y.warc.gz".into(),
        offset: 1,
        length: 2,
    };
    let ch = |p: &str, transition| Change {
        key: key(p),
        source: sid("s"),
        transition,
    };
    f.apply(&[
        ch("z", Transition::Fetched { raw: raw.clone() }),
        ch("new", Transition::Fetched { raw: raw.clone() }),
        ch(
            "new",
            Transition::Ingested {
                record: RecordId::new("r1"),
                duplicate: true,
                validators: Validators::default(),
            },
        ),
    ])
    .unwrap();
    assert_eq!(
        f.state(&key("new")).unwrap(),
        Some(UrlState::Ingested {
            record: RecordId::new("r1"),
            duplicate: true
        })
    );
    assert_eq!(f.state(&key("z")).unwrap(), Some(UrlState::Fetched { raw }));
    let unrecovered = f.unrecovered().unwrap();
    assert_eq!(unrecovered.len(), 1, "only z waits for its record");
}

/// The discovery window: a document recorded as stored survives reopening (a process that
/// died), is listed for its source only, and is forgotten by the admission of its listing
/// (which stores its validators), not by another document's.
fn a_stored_document_stays_until_its_listing_is_admitted(b: &dyn Backend) {
    let doc = |url: &str, offset: u64| StoredDocument {
        source: sid("s"),
        url: url.into(),
        kind: DocumentKind::Sitemap,
        validators: Validators {
            etag: Some("\"v2\"".into()),
            last_modified: Some("Tue, 01 Dec 2026 10:00:00 GMT".into()),
        },
        raw: RawLocation {
            file: "2026/12/01/d.warc.gz".into(),
            offset,
            length: 40,
        },
    };
    let f = b.open();
    f.store_document(&doc("https://example.org/feed", 7))
        .unwrap();
    f.store_document(&doc("https://example.org/other", 9))
        .unwrap();
    // Stored again (a newer response of the same URL): the newer one replaces it.
    f.store_document(&doc("https://example.org/feed", 70))
        .unwrap();
    let f = b.open();
    assert_eq!(
        f.stored_documents(&sid("s")).unwrap(),
        [
            doc("https://example.org/other", 9),
            doc("https://example.org/feed", 70)
        ]
    );
    assert!(f.stored_documents(&sid("t")).unwrap().is_empty());
    f.admit(&listing("https://example.org/feed", &["a"]))
        .unwrap();
    assert_eq!(
        f.stored_documents(&sid("s")).unwrap(),
        [doc("https://example.org/other", 9)]
    );
}
