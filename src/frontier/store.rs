//! The storage interface of the frontier. SQLite implements it today (`state/frontier.rs`);
//! a PostgreSQL backend implements the same trait later. A backend only stores and queries: it
//! never decides a state itself, it asks [`super::transition::next`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::model::{FeedItem, RawLocation, SourceId};

use super::transition::{RetryPolicy, Transition};
use super::types::{UrlKey, UrlState, Validators};

/// Errors of a frontier backend.
#[derive(Debug, thiserror::Error)]
pub enum FrontierError {
    /// The backend failed.
    #[error("frontier storage failed while {operation}")]
    Store {
        /// What was being done.
        operation: &'static str,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored row cannot be read back as a state.
    #[error("frontier row of {url} is not valid: {what}")]
    Corrupt {
        /// The URL key of the row.
        url: String,
        /// What is wrong with it.
        what: String,
    },
}

/// What one discovery document (or `newsmill fetch`) listed. The backend stores the items and
/// the document's validators in one transaction, so a document is never remembered as seen
/// (and answered 304 next time) while any item it listed is missing from the frontier.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The source the items belong to.
    pub source: SourceId,
    /// The document's URL and validators; `None` for `newsmill fetch` URLs.
    pub document: Option<(String, Validators)>,
    /// The article URLs it listed, with what it said about them.
    pub items: Vec<FeedItem>,
}

/// What kind of discovery document a [`StoredDocument`] is: it says how to parse it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// An RSS/Atom/JSON feed.
    Feed,
    /// A sitemap (its entries pass the recent window).
    Sitemap,
    /// A section page (links matching the source's article pattern).
    Section,
}

impl DocumentKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feed => "feed",
            Self::Sitemap => "sitemap",
            Self::Section => "section",
        }
    }

    /// The kind a stored name names (`None`: unknown).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "feed" => Some(Self::Feed),
            "sitemap" => Some(Self::Sitemap),
            "section" => Some(Self::Section),
            _ => None,
        }
    }
}

/// A discovery document whose response is durable in raw/ but whose listing is not yet
/// admitted. It is committed before the document is parsed and removed by the admission of
/// its listing ([`FrontierStore::admit`]), so a process killed between the two leaves it here,
/// and the next discovery of the source parses it again from raw/ instead of losing what it
/// listed (a feed may have rotated those items out since).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    /// The source.
    pub source: SourceId,
    /// The URL requested (the key its validators are stored under).
    pub url: String,
    /// How to parse it.
    pub kind: DocumentKind,
    /// The response's validators, stored with the listing once admitted.
    pub validators: Validators,
    /// Where the response is in raw/.
    pub raw: RawLocation,
}

/// One transition of one URL, for [`FrontierStore::apply`].
#[derive(Debug, Clone)]
pub struct Change {
    /// The URL.
    pub key: UrlKey,
    /// Its source (used when the URL is not yet in the frontier).
    pub source: SourceId,
    /// What happened.
    pub transition: Transition,
}

/// A URL as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its key.
    pub key: UrlKey,
    /// Its source.
    pub source: SourceId,
    /// Where it is in its life.
    pub state: UrlState,
    /// The URL to request and what its listing said about it.
    pub item: FeedItem,
}

/// A frontier backend.
pub trait FrontierStore: Send + Sync + std::fmt::Debug {
    /// Validators of every discovery document of `source`, by URL.
    ///
    /// # Errors
    /// Backend failures.
    fn document_validators(
        &self,
        source: &SourceId,
    ) -> Result<HashMap<String, Validators>, FrontierError>;

    /// Adds the listed URLs that are not yet known (as `Discovered`) and stores the document's
    /// validators, all in one transaction, which also forgets the document's
    /// [`StoredDocument`]. Known URLs keep their state.
    ///
    /// # Errors
    /// Backend failures; then nothing was stored.
    fn admit(&self, listing: &Listing, now: DateTime<Utc>) -> Result<(), FrontierError>;

    /// Records that `doc`'s response is durable in raw/ and its listing not yet admitted
    /// (replacing an earlier one of the same URL).
    ///
    /// # Errors
    /// Backend failures; then nothing was stored.
    fn store_document(&self, doc: &StoredDocument, now: DateTime<Utc>)
    -> Result<(), FrontierError>;

    /// The stored documents of `source` whose listing was never admitted, oldest first.
    ///
    /// # Errors
    /// Backend failures, corrupt rows.
    fn stored_documents(&self, source: &SourceId) -> Result<Vec<StoredDocument>, FrontierError>;

    /// The states of these URLs (absent: not in the frontier).
    ///
    /// # Errors
    /// Backend failures, corrupt rows.
    fn states(&self, keys: &[UrlKey]) -> Result<HashMap<UrlKey, UrlState>, FrontierError>;

    /// Up to `limit` URLs of `source` that are due at `now` (`Discovered`, or `Failed` with
    /// `next_attempt <= now`), oldest first.
    ///
    /// # Errors
    /// Backend failures, corrupt rows.
    fn due(
        &self,
        source: &SourceId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Entry>, FrontierError>;

    /// Every URL in `Fetched`: raw response durable, record not.
    ///
    /// # Errors
    /// Backend failures, corrupt rows.
    fn unrecovered(&self) -> Result<Vec<Entry>, FrontierError>;

    /// Every URL that failed as often as the policy allows.
    ///
    /// # Errors
    /// Backend failures, corrupt rows.
    fn exhausted(&self) -> Result<Vec<Entry>, FrontierError>;

    /// Applies the changes in order, each through [`super::transition::next`], in one
    /// transaction. `Ingested` changes store the article's validators with the state.
    ///
    /// # Errors
    /// Backend failures; then nothing was applied.
    fn apply(
        &self,
        changes: &[Change],
        now: DateTime<Utc>,
        policy: &RetryPolicy,
    ) -> Result<(), FrontierError>;
}
