//! The slice of a corpus record the report reads. The corpus is streamed as [`ReportRow`]s
//! rather than whole records: serde skips `text`, `blocks` and the other fields the report does
//! not use without allocating them, which is most of the time spent on a large corpus.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Deserialize;

use crate::model::{AttributionKind, CorpusRecord, SourceId};

/// The fields of one corpus line the aggregates need (names as in the JSONL; see
/// [`CorpusRecord`]). Unknown fields are skipped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReportRow {
    /// Record id (`a` + 31 hex digits).
    pub id: String,
    /// The source the page was fetched for: the publisher.
    pub source_id: SourceId,
    /// Publication instant, when the page states one.
    #[serde(default)]
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Publication day at the publisher, whenever a date is known.
    #[serde(default)]
    pub published_date: Option<NaiveDate>,
    /// When the page was fetched.
    pub fetched_at: DateTime<Utc>,
    /// Agencies the text credits.
    #[serde(default)]
    pub attributions: Vec<Credit>,
    /// How many non-fatal extraction problems the record carries.
    #[serde(default, rename = "warnings", deserialize_with = "count_items")]
    pub warning_count: usize,
    /// Near-duplicate cluster (the canonical record's id).
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// The cluster's canonical record when it is not this one.
    #[serde(default)]
    pub near_duplicate_of: Option<String>,
    /// Jaccard similarity to `near_duplicate_of`.
    #[serde(default)]
    pub similarity: Option<f64>,
    /// Containment in or of `near_duplicate_of`.
    #[serde(default)]
    pub containment: Option<f64>,
}

/// One credit of an attribution, without its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Credit {
    /// The name as it resolves (the configured source's name, or as written).
    pub name: String,
    /// The configured source the name resolves to, if any.
    #[serde(default)]
    pub source_id: Option<SourceId>,
    /// How the text credits it.
    pub kind: AttributionKind,
}

/// What a story timeline shows beyond the aggregates: read back for a few records only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoryRow {
    /// Record id.
    pub id: String,
    /// Page URL.
    pub url: String,
    /// Headline.
    #[serde(default)]
    pub title: Option<String>,
    /// Near-duplicate cluster.
    #[serde(default)]
    pub cluster_id: Option<String>,
}

fn count_items<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let items: Option<Vec<serde::de::IgnoredAny>> = Option::deserialize(d)?;
    Ok(items.map_or(0, |v| v.len()))
}

impl ReportRow {
    /// The instant that places the record in `--since`/`--until`: publication, or the fetch
    /// when the page states no instant (as `export`).
    pub fn when(&self) -> DateTime<Utc> {
        self.published_at.map_or(self.fetched_at, |d| d.to_utc())
    }

    /// The day the record counts on in the volume chart: the publisher's calendar date when
    /// known, else the UTC day of the fetch.
    pub fn day(&self) -> NaiveDate {
        self.published_date
            .or_else(|| self.published_at.map(|d| d.date_naive()))
            .unwrap_or_else(|| self.fetched_at.date_naive())
    }

    /// Whether the record has no publication date at all.
    pub fn undated(&self) -> bool {
        self.published_date.is_none() && self.published_at.is_none()
    }
}

impl From<&CorpusRecord> for ReportRow {
    fn from(r: &CorpusRecord) -> Self {
        let a = &r.article;
        Self {
            id: r.id.clone(),
            source_id: a.source_id.clone(),
            published_at: a.published_at,
            published_date: a.published_date,
            fetched_at: r.fetched_at,
            attributions: a
                .attributions
                .iter()
                .map(|c| Credit {
                    name: c.name.clone(),
                    source_id: c.source_id.clone(),
                    kind: c.kind,
                })
                .collect(),
            warning_count: a.warnings.len(),
            cluster_id: r.near.cluster_id.clone(),
            near_duplicate_of: r.near.near_duplicate_of.clone(),
            similarity: r.near.similarity,
            containment: r.near.containment,
        }
    }
}
