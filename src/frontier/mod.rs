//! The frontier: the one owner of every article URL's life.
//!
//! ```text
//! discovered ──► fetched (raw durable) ──► ingested (record durable)   final
//!     │  ▲           │                ▲
//!     ▼  │ due       ▼ normalize fails │ recovered from raw/ next run
//!   failed {kind, attempts, next attempt} ── at the cap: exhausted (reported)
//!   gone (404/410)   refused (robots, private address, scheme)          final
//! ```
//!
//! # Architecture
//! - [`types`]: the vocabulary ([`UrlKey`], [`RecordId`], [`Validators`], [`FailureKind`],
//!   [`UrlState`]).
//! - [`transition`]: the only function that moves a URL between states, with the
//!   [`RetryPolicy`] (backoff per failure kind, cap on attempts).
//! - [`plan`]: a run's work for a source: listed now ∪ owed and due.
//! - [`store`]: the backend trait; `state/frontier.rs` implements it on SQLite.
//!
//! The pipeline meets the frontier at two points: **planning** (per source, before any article
//! request: [`Frontier::document_validators`], [`Frontier::plan`]) and **committing** (the sink's
//! one writer: [`Frontier::admit`] as listings arrive, [`Frontier::apply`] at each flush barrier,
//! [`Frontier::unrecovered`] at the start). Async fetch tasks never call it: they send typed
//! events to the sink. This module does no network I/O and writes no files.

pub mod plan;
pub mod store;
pub mod transition;
pub mod types;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::model::{FeedItem, SourceId};

pub use plan::{Plan, WorkItem};
pub use store::{
    Change, DocumentKind, Entry, FrontierError, FrontierStore, Listing, StoredDocument,
};
pub use transition::{RetryPolicy, Transition};
pub use types::{FailureKind, RecordId, Refusal, UrlKey, UrlState, Validators};

/// Most owed URLs one source takes from the frontier in one run (bounds the plan's memory; the
/// rest are taken by the next runs, oldest first).
pub const MAX_DUE_PER_RUN: usize = 100_000;

/// The frontier over a backend. Cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Frontier {
    store: Arc<dyn FrontierStore>,
    policy: RetryPolicy,
}

impl Frontier {
    /// A frontier over `store`, retrying failed URLs by `policy`.
    pub fn new(store: Arc<dyn FrontierStore>, policy: RetryPolicy) -> Self {
        Self { store, policy }
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Validators of `source`'s discovery documents, to send with their requests.
    ///
    /// # Errors
    /// Backend failures.
    pub fn document_validators(
        &self,
        source: &SourceId,
    ) -> Result<HashMap<String, Validators>, FrontierError> {
        self.store.document_validators(source)
    }

    /// The work of `source` in a run at `now`: what discovery `listed` now ∪ every URL of the
    /// source not yet ingested and due ([`plan::compose`]).
    ///
    /// # Errors
    /// Backend failures.
    pub fn plan(
        &self,
        source: &SourceId,
        listed: Vec<FeedItem>,
        refetch: bool,
        now: DateTime<Utc>,
    ) -> Result<Plan, FrontierError> {
        let mut seen = HashSet::new();
        let listed: Vec<(UrlKey, FeedItem)> = listed
            .into_iter()
            .map(|i| (UrlKey::of(&i.url), i))
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect();
        let keys: Vec<UrlKey> = listed.iter().map(|(k, _)| k.clone()).collect();
        let states = self.store.states(&keys)?;
        let due = self.store.due(source, now, MAX_DUE_PER_RUN)?;
        Ok(plan::compose(listed, &states, due, refetch, now))
    }

    /// Stores a listing and its document's validators together.
    ///
    /// # Errors
    /// Backend failures; then nothing was stored.
    pub fn admit(&self, listing: &Listing) -> Result<(), FrontierError> {
        self.store.admit(listing, Utc::now())
    }

    /// Records that a discovery document is durable in raw/, before it is parsed.
    ///
    /// # Errors
    /// Backend failures; then nothing was stored.
    pub fn store_document(&self, doc: &StoredDocument) -> Result<(), FrontierError> {
        self.store.store_document(doc, Utc::now())
    }

    /// `source`'s documents stored but never admitted (a process died between the two).
    ///
    /// # Errors
    /// Backend failures.
    pub fn stored_documents(
        &self,
        source: &SourceId,
    ) -> Result<Vec<StoredDocument>, FrontierError> {
        self.store.stored_documents(source)
    }

    /// Applies transitions in one transaction.
    ///
    /// # Errors
    /// Backend failures; then nothing was applied.
    pub fn apply(&self, changes: &[Change]) -> Result<(), FrontierError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.store.apply(changes, Utc::now(), &self.policy)
    }

    /// URLs whose raw response is durable but whose record is not.
    ///
    /// # Errors
    /// Backend failures.
    pub fn unrecovered(&self) -> Result<Vec<Entry>, FrontierError> {
        self.store.unrecovered()
    }

    /// URLs that failed as often as the policy allows.
    ///
    /// # Errors
    /// Backend failures.
    pub fn exhausted(&self) -> Result<Vec<Entry>, FrontierError> {
        self.store.exhausted()
    }

    /// The state of one URL (`None`: not in the frontier).
    ///
    /// # Errors
    /// Backend failures.
    pub fn state(&self, key: &UrlKey) -> Result<Option<UrlState>, FrontierError> {
        Ok(self.store.states(std::slice::from_ref(key))?.remove(key))
    }
}
