//! A run's work for one source: what discovery listed now ∪ every frontier URL of the source
//! that is not yet ingested and is due, whatever the feed answered (a 304 lists nothing, but
//! the URLs it listed before are still owed). Pure: the caller reads the states.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::model::FeedItem;

use super::store::Entry;
use super::types::{UrlKey, UrlState};

/// One URL to fetch in this run.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    /// Its key.
    pub key: UrlKey,
    /// The URL to request and its listing's title and date.
    pub item: FeedItem,
}

/// What a source's run will fetch, with counts of what it will not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// URLs to fetch: owed URLs from earlier runs first (oldest first), then new ones in
    /// listing order.
    pub work: Vec<WorkItem>,
    /// Listed now and never seen before.
    pub new: u64,
    /// Owed from earlier runs (listed before, not yet ingested, due).
    pub backlog: u64,
    /// Listed now but already ingested (skipped without a request).
    pub known: u64,
    /// Failed before and not yet due.
    pub waiting: u64,
    /// Listed now but exhausted, gone (404/410) or refused.
    pub closed: u64,
    /// Listed now, fetched before, record pending recovery from raw/.
    pub recovering: u64,
}

/// Composes the plan. `listed`: this run's discovery (deduplicated by key, in order);
/// `states`: the stored states of the listed keys; `due`: the source's due URLs, oldest first.
/// With `refetch`, listed URLs are fetched whatever their state.
pub fn compose(
    listed: Vec<(UrlKey, FeedItem)>,
    states: &HashMap<UrlKey, UrlState>,
    due: Vec<Entry>,
    refetch: bool,
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::default();
    let mut fresh: HashMap<UrlKey, FeedItem> = HashMap::new();
    let mut tail = Vec::new();
    for (key, item) in listed {
        match states.get(&key) {
            None => {
                plan.new += 1;
                tail.push(WorkItem { key, item });
            }
            Some(_) if refetch => tail.push(WorkItem { key, item }),
            Some(s) if s.is_due(now) => {
                fresh.insert(key, item);
            }
            Some(UrlState::Ingested { .. }) => plan.known += 1,
            Some(UrlState::Fetched { .. }) => plan.recovering += 1,
            Some(s @ UrlState::Failed { .. }) if !s.is_exhausted() => plan.waiting += 1,
            Some(_) => plan.closed += 1,
        }
    }
    let mut taken: HashSet<UrlKey> = tail.iter().map(|w| w.key.clone()).collect();
    for entry in due {
        if !taken.insert(entry.key.clone()) {
            continue;
        }
        let item = fresh.remove(&entry.key).unwrap_or(entry.item);
        plan.backlog += 1;
        plan.work.push(WorkItem {
            key: entry.key,
            item,
        });
    }
    // Listed, due, but past the backlog query's limit: still owed, fetched after the rest.
    for (key, item) in fresh {
        if taken.insert(key.clone()) {
            plan.backlog += 1;
            plan.work.push(WorkItem { key, item });
        }
    }
    plan.work.extend(tail);
    plan
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::frontier::{FailureKind, RecordId};
    use crate::model::SourceId;

    fn item(path: &str) -> (UrlKey, FeedItem) {
        let url = Url::parse(&format!("https://example.org/{path}")).unwrap();
        (
            UrlKey::of(&url),
            FeedItem {
                url,
                title: Some(path.into()),
                published: None,
            },
        )
    }

    fn entry(path: &str, state: UrlState) -> Entry {
        let (key, item) = item(path);
        Entry {
            key,
            source: SourceId::new("s").unwrap(),
            state,
            item,
        }
    }

    fn keys(p: &Plan) -> Vec<&str> {
        p.work
            .iter()
            .map(|w| w.key.as_str().trim_start_matches("https://example.org/"))
            .collect()
    }

    #[test]
    fn a_304_still_fetches_what_earlier_listings_owe() {
        // The feed answered 304: nothing listed, but two URLs are owed.
        let due = vec![
            entry("a", UrlState::Discovered),
            entry("b", UrlState::Discovered),
        ];
        let p = compose(Vec::new(), &HashMap::new(), due, false, Utc::now());
        assert_eq!(keys(&p), ["a", "b"]);
        assert_eq!(p.backlog, 2);
    }

    #[test]
    fn owed_urls_go_first_then_new_ones_and_known_ones_are_skipped() {
        let now = Utc::now();
        let listed = vec![item("new1"), item("old"), item("done"), item("new2")];
        let mut states = HashMap::new();
        states.insert(item("old").0, UrlState::Discovered);
        states.insert(
            item("done").0,
            UrlState::Ingested {
                record: RecordId::new("x"),
                duplicate: false,
            },
        );
        let due = vec![
            entry("older", UrlState::Discovered),
            entry("old", UrlState::Discovered),
        ];
        let p = compose(listed, &states, due, false, now);
        assert_eq!(keys(&p), ["older", "old", "new1", "new2"]);
        assert_eq!((p.new, p.backlog, p.known), (2, 2, 1));
        // The fresh listing's hint wins over the stored one.
        assert_eq!(p.work[1].item.title.as_deref(), Some("old"));
    }

    #[test]
    fn waiting_exhausted_gone_and_recovering_urls_are_not_fetched() {
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        let kind = FailureKind::Timeout;
        let mut states = HashMap::new();
        states.insert(
            item("w").0,
            UrlState::Failed {
                kind,
                attempts: 1,
                next_attempt: Some(later),
            },
        );
        states.insert(
            item("x").0,
            UrlState::Failed {
                kind,
                attempts: 8,
                next_attempt: None,
            },
        );
        states.insert(item("g").0, UrlState::Gone { status: 404 });
        states.insert(
            item("f").0,
            UrlState::Fetched {
                raw: crate::model::RawLocation {
                    file: "f".into(),
                    offset: 0,
                    length: 1,
                },
            },
        );
        let listed = vec![item("w"), item("x"), item("g"), item("f")];
        let p = compose(listed.clone(), &states, Vec::new(), false, now);
        assert!(p.work.is_empty(), "{p:?}");
        assert_eq!((p.waiting, p.closed, p.recovering), (1, 2, 1));
        // --refetch takes them all.
        let p = compose(listed, &states, Vec::new(), true, now);
        assert_eq!(keys(&p), ["w", "x", "g", "f"]);
    }

    #[test]
    fn a_due_failure_listed_again_is_fetched_once() {
        let now = Utc::now();
        let failed = UrlState::Failed {
            kind: FailureKind::ServerBusy { status: 500 },
            attempts: 1,
            next_attempt: Some(now),
        };
        let mut states = HashMap::new();
        states.insert(item("a").0, failed.clone());
        let p = compose(
            vec![item("a")],
            &states,
            vec![entry("a", failed)],
            false,
            now,
        );
        assert_eq!(keys(&p), ["a"]);
        // Also when the due query's limit cut it off.
        let p = compose(vec![item("a")], &states, Vec::new(), false, now);
        assert_eq!(keys(&p), ["a"]);
    }
}
