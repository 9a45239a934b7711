//! The frontier row in columns, shared by both backends (SQLite in `frontier.rs`, PostgreSQL in
//! `pg/frontier.rs`): [`StoredRow`] is a row as read back, checked into an [`Entry`];
//! [`Columns`] is a [`UrlState`] spread over the columns it is written to. Both backends store
//! the same columns with the same meaning, so this is the one place that maps a state to them.
//! A stored discovery document ([`StoredDocument`]) is mapped here too. No SQL here.

use chrono::{DateTime, SecondsFormat, Utc};
use url::Url;

use crate::frontier::{
    Change, DocumentKind, Entry, FailureKind, FrontierError, RecordId, Refusal, StoredDocument,
    Transition, UrlKey, UrlState, Validators,
};
use crate::model::{FeedItem, RawLocation, SourceId};

/// A timestamp as both backends store it in text columns: RFC 3339, UTC, microseconds, so
/// that text order is time order.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A row as stored, before it is checked.
pub(super) struct StoredRow {
    pub url: String,
    pub source: String,
    pub fetch_url: String,
    pub title: Option<String>,
    pub published: Option<String>,
    pub state: String,
    pub record: Option<String>,
    pub duplicate: Option<bool>,
    pub raw: (Option<String>, Option<i64>, Option<i64>),
    pub kind: Option<String>,
    pub attempts: i64,
    pub next_attempt: Option<String>,
    pub status: Option<i64>,
    pub refusal: Option<String>,
}

impl StoredRow {
    fn corrupt(&self, what: impl Into<String>) -> FrontierError {
        FrontierError::Corrupt {
            url: self.url.clone(),
            what: what.into(),
        }
    }

    fn failed(&self) -> Result<UrlState, FrontierError> {
        Ok(UrlState::Failed {
            kind: self
                .kind
                .as_deref()
                .and_then(FailureKind::parse)
                .ok_or_else(|| self.corrupt("failure kind"))?,
            attempts: u32::try_from(self.attempts).map_err(|_| self.corrupt("attempts"))?,
            next_attempt: match &self.next_attempt {
                None => None,
                Some(t) => Some(
                    DateTime::parse_from_rfc3339(t)
                        .map_err(|_| self.corrupt("next_attempt"))?
                        .to_utc(),
                ),
            },
        })
    }

    /// The state the row holds.
    ///
    /// # Errors
    /// `Corrupt` when the columns do not make a state.
    pub fn state(&self) -> Result<UrlState, FrontierError> {
        Ok(match self.state.as_str() {
            "discovered" => UrlState::Discovered,
            "fetched" => match &self.raw {
                (Some(file), Some(offset), Some(length)) => UrlState::Fetched {
                    raw: RawLocation {
                        file: file.into(),
                        offset: u64::try_from(*offset).map_err(|_| self.corrupt("raw_offset"))?,
                        length: u64::try_from(*length).map_err(|_| self.corrupt("raw_length"))?,
                    },
                },
                _ => return Err(self.corrupt("fetched without a raw location")),
            },
            "ingested" => UrlState::Ingested {
                record: RecordId::new(
                    self.record
                        .clone()
                        .ok_or_else(|| self.corrupt("ingested without a record id"))?,
                ),
                duplicate: self.duplicate.unwrap_or(false),
            },
            "failed" => self.failed()?,
            "gone" => UrlState::Gone {
                status: self
                    .status
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| self.corrupt("status"))?,
            },
            "refused" => UrlState::Refused {
                reason: self
                    .refusal
                    .as_deref()
                    .and_then(Refusal::parse)
                    .ok_or_else(|| self.corrupt("refusal"))?,
            },
            other => return Err(self.corrupt(format!("unknown state {other:?}"))),
        })
    }

    /// The checked entry.
    ///
    /// # Errors
    /// `Corrupt` when a column does not hold what it must.
    pub fn entry(self) -> Result<Entry, FrontierError> {
        let state = self.state()?;
        let url = Url::parse(&self.fetch_url).map_err(|_| self.corrupt("fetch_url"))?;
        let source = SourceId::new(&self.source).map_err(|_| self.corrupt("source_id"))?;
        let published = self
            .published
            .as_deref()
            .and_then(|p| DateTime::parse_from_rfc3339(p).ok());
        Ok(Entry {
            key: UrlKey::from_stored(self.url),
            source,
            state,
            item: FeedItem {
                url,
                title: self.title,
                published,
            },
        })
    }
}

/// A state spread over the frontier's columns, for an update. `validators` is `Some` only for
/// an `Ingested` transition, which stores the article's validators with the state.
pub(super) struct Columns<'a> {
    pub state: &'static str,
    pub record: Option<&'a str>,
    pub duplicate: Option<bool>,
    pub raw: Option<&'a RawLocation>,
    pub kind: Option<String>,
    pub attempts: u32,
    pub next_attempt: Option<DateTime<Utc>>,
    pub status: Option<u16>,
    pub refusal: Option<&'static str>,
    pub validators: Option<&'a Validators>,
}

impl<'a> Columns<'a> {
    /// The columns of `state`, reached by `change`.
    pub fn of(change: &'a Change, state: &'a UrlState) -> Self {
        let mut c = Self {
            state: state.name(),
            record: None,
            duplicate: None,
            raw: None,
            kind: None,
            attempts: 0,
            next_attempt: None,
            status: None,
            refusal: None,
            validators: match &change.transition {
                Transition::Ingested { validators, .. } => Some(validators),
                _ => None,
            },
        };
        match state {
            UrlState::Ingested { record, duplicate } => {
                c.record = Some(record.as_str());
                c.duplicate = Some(*duplicate);
            }
            UrlState::Fetched { raw } => c.raw = Some(raw),
            UrlState::Failed {
                kind,
                attempts,
                next_attempt,
            } => {
                c.kind = Some(kind.as_str());
                c.attempts = *attempts;
                c.next_attempt = *next_attempt;
            }
            UrlState::Gone { status } => c.status = Some(*status),
            UrlState::Refused { reason } => c.refusal = Some(reason.as_str()),
            UrlState::Discovered => {}
        }
        c
    }

    /// The raw location as the three stored columns.
    pub fn raw_columns(&self) -> (Option<String>, Option<i64>, Option<i64>) {
        match self.raw {
            Some(r) => (
                Some(r.file.to_string_lossy().into_owned()),
                i64::try_from(r.offset).ok(),
                i64::try_from(r.length).ok(),
            ),
            None => (None, None, None),
        }
    }
}

/// A stored-document row as read back: source, url, kind, etag, last-modified, raw file,
/// offset, length.
pub(super) type DocumentRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
);

/// Checks a stored-document row.
pub(super) fn stored_document(row: DocumentRow) -> Result<StoredDocument, FrontierError> {
    let (source, url, kind, etag, last_modified, file, offset, length) = row;
    let corrupt = |what: &str| FrontierError::Corrupt {
        url: url.clone(),
        what: format!("stored document: {what}"),
    };
    Ok(StoredDocument {
        source: SourceId::new(&source).map_err(|_| corrupt("source"))?,
        kind: DocumentKind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
        validators: Validators {
            etag,
            last_modified,
        },
        raw: RawLocation {
            file: file.into(),
            offset: u64::try_from(offset).map_err(|_| corrupt("raw_offset"))?,
            length: u64::try_from(length).map_err(|_| corrupt("raw_length"))?,
        },
        url,
    })
}

/// A stored document's raw location as the three stored columns.
pub(super) fn document_raw(doc: &StoredDocument) -> (String, i64, i64) {
    (
        doc.raw.file.to_string_lossy().into_owned(),
        i64::try_from(doc.raw.offset).unwrap_or(i64::MAX),
        i64::try_from(doc.raw.length).unwrap_or(i64::MAX),
    )
}
