//! The pure core of `newsmill report`: [`Aggregator`] takes corpus rows one at a time and
//! [`Aggregator::finish`] turns them into the report's aggregates. No I/O; the caller streams
//! the corpus and reads the state.
//!
//! Memory grows with sources × days (volume), with distinct credits (attribution) and with one
//! fixed-size entry per record for the near-duplicate clusters (about 48 bytes: no text, no
//! URL), so a million records fit in well under 100 MB.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::attribution::{Attribution, CreditMatrix};
use super::propagation::{Clusters, Propagation, StoryDraft};
use super::row::ReportRow;
use crate::model::SourceId;

/// Source ids seen, numbered in order of appearance (so per-record bookkeeping holds a `u16`).
#[derive(Debug, Default)]
pub struct Sources {
    ids: Vec<SourceId>,
    index: HashMap<SourceId, u16>,
}

impl Sources {
    /// The number of `id`, given one on first sight. Past `u16::MAX` distinct ids every further
    /// id shares the last number (a corpus has tens of sources, not 65 536).
    pub fn intern(&mut self, id: &SourceId) -> u16 {
        if let Some(&n) = self.index.get(id) {
            return n;
        }
        let n = u16::try_from(self.ids.len()).unwrap_or(u16::MAX);
        if usize::from(n) == self.ids.len() {
            self.ids.push(id.clone());
            self.index.insert(id.clone(), n);
        }
        n
    }

    /// The id numbered `n`.
    pub fn id(&self, n: u16) -> &SourceId {
        &self.ids[usize::from(n).min(self.ids.len().saturating_sub(1))]
    }
}

/// Records of one source, for the volume chart and the health table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceVolume {
    /// The publishing source.
    pub source_id: SourceId,
    /// Records in the report's window.
    pub records: u64,
    /// Records without any publication date (counted on the day they were fetched).
    pub undated: u64,
    /// Records with at least one extraction warning.
    pub with_warnings: u64,
    /// Records per day (`YYYY-MM-DD` → count), days without records left out.
    pub days: BTreeMap<NaiveDate, u64>,
}

/// Articles per source per day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// The earliest day with a record.
    pub first_day: Option<NaiveDate>,
    /// The latest day with a record.
    pub last_day: Option<NaiveDate>,
    /// One entry per publishing source, by source id.
    pub sources: Vec<SourceVolume>,
}

/// Everything the corpus tells the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Aggregates {
    /// Records counted.
    pub records: u64,
    /// Articles per source per day.
    pub volume: Volume,
    /// Who credits whom.
    pub attribution: Attribution,
    /// How near-duplicate stories spread between sources.
    pub propagation: Propagation,
}

/// Builds [`Aggregates`] from rows pushed one at a time.
#[derive(Debug, Default)]
pub struct Aggregator {
    sources: Sources,
    records: u64,
    volume: HashMap<u16, SourceVolume>,
    credits: CreditMatrix,
    clusters: Clusters,
}

impl Aggregator {
    /// Counts one record. `pos` is the caller's handle on where the record lives (the report
    /// uses segment and line); it comes back on the top stories' copies so their URLs and
    /// titles can be read then, not kept for every record.
    pub fn push(&mut self, row: &ReportRow, pos: u64) {
        self.records += 1;
        let source = self.sources.intern(&row.source_id);
        let v = self.volume.entry(source).or_insert_with(|| SourceVolume {
            source_id: row.source_id.clone(),
            records: 0,
            undated: 0,
            with_warnings: 0,
            days: BTreeMap::new(),
        });
        v.records += 1;
        v.undated += u64::from(row.undated());
        v.with_warnings += u64::from(row.warning_count > 0);
        *v.days.entry(row.day()).or_default() += 1;
        self.credits.push(row, source, &mut self.sources);
        self.clusters.push(row, source, pos);
    }

    /// The aggregates, and the top stories whose copies still need their URL and title (see
    /// [`Aggregator::push`]).
    pub fn finish(self) -> (Aggregates, Vec<StoryDraft>) {
        let mut sources: Vec<SourceVolume> = self.volume.into_values().collect();
        sources.sort_by(|a, b| a.source_id.cmp(&b.source_id));
        let days = sources.iter().flat_map(|s| s.days.keys().copied());
        let first_day = days.clone().min();
        let last_day = days.max();
        let (propagation, drafts) = self.clusters.finish(&self.sources);
        let aggregates = Aggregates {
            records: self.records,
            volume: Volume {
                first_day,
                last_day,
                sources,
            },
            attribution: self.credits.finish(&self.sources),
            propagation,
        };
        (aggregates, drafts)
    }
}
