//! `newsmill report`: who credits whom and how stories spread, as one offline HTML page or as
//! JSON for scripts.
//!
//! # Architecture
//! - [`row`]: the slice of a corpus line the report reads ([`row::ReportRow`]); the corpus is
//!   streamed as rows ([`crate::corpus::RecordStream::open_as`]), never loaded whole.
//! - [`aggregate`]: the pure core; rows in, [`aggregate::Aggregates`] out: volume per source
//!   and day, plus [`attribution`] (the credit matrix) and [`propagation`] (clusters across
//!   sources, lags, top stories).
//! - [`health`]: per source, the state database and run reports joined with corpus counts.
//! - [`json`] and [`html`] (with [`svg`]'s small chart emitters) render one [`Report`].
//!
//! This module only reads: the corpus, the state and `state/runs/`. It writes nothing but the
//! output the caller names.

pub mod aggregate;
pub mod attribution;
pub mod health;
pub mod html;
pub mod json;
pub mod propagation;
pub mod row;
pub mod svg;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::corpus::{CorpusError, Overlay, RecordStream, read_lines};
use crate::model::SourceId;
use crate::state::StateError;
use aggregate::{Aggregator, Volume};
use attribution::Attribution;
use health::Health;
use propagation::{Propagation, StoryDraft};
use row::{ReportRow, StoryRow};

/// Version of the report's JSON shape; bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 1;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The corpus could not be read.
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    /// The state database could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The run reports folder could not be listed.
    #[error("cannot list run reports in {path}")]
    RunReports {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The report could not be written.
    #[error("cannot write the report to {path}")]
    Write {
        /// The output file (`-` for stdout).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Which records the report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Records published (undated: fetched) at or after this instant; also run reports started
    /// at or after it.
    pub since: Option<DateTime<Utc>>,
    /// Records published (undated: fetched) before this instant; also run reports.
    pub until: Option<DateTime<Utc>>,
    /// Only records of these publishing sources (all when empty). Propagation is then among
    /// these sources only.
    pub sources: Vec<SourceId>,
}

impl ReportFilter {
    /// Whether a record is in the report (the same rule as `export`).
    pub fn keeps(&self, row: &ReportRow) -> bool {
        let when = row.when();
        self.since.is_none_or(|s| when >= s)
            && self.until.is_none_or(|u| when < u)
            && (self.sources.is_empty() || self.sources.contains(&row.source_id))
    }
}

/// The filter as the report states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterEcho {
    /// `--since` as an RFC 3339 instant.
    pub since: Option<String>,
    /// `--until` as an RFC 3339 instant (exclusive).
    pub until: Option<String>,
    /// `--source` ids (empty: all).
    pub sources: Vec<SourceId>,
}

/// Everything the report shows; serialized as is for `--format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub report_version: u32,
    /// When the report was made (RFC 3339, UTC, seconds).
    pub generated_at: String,
    /// The corpus folder read.
    pub corpus: String,
    /// The window and sources covered.
    pub filter: FilterEcho,
    /// Records in the report.
    pub records: u64,
    /// Configured source names by id (for labels).
    pub source_names: BTreeMap<SourceId, String>,
    /// Articles per source per day.
    pub volume: Volume,
    /// Who credits whom.
    pub attribution: Attribution,
    /// How stories spread between sources.
    pub propagation: Propagation,
    /// Crawl and extraction health per source.
    pub health: Health,
}

/// Streams the corpus of `cfg`, with `overlay` laid over it (changes queued for records on a
/// shared state), through `filter`, reads the state, and builds the report.
///
/// # Errors
/// An unreadable corpus line or segment, an unreadable state database or runs folder.
pub fn build(
    cfg: &Config,
    overlay: &std::sync::Arc<Overlay>,
    filter: &ReportFilter,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let dir = &cfg.storage.normalized_dir;
    let mut agg = Aggregator::default();
    let mut segments: Vec<PathBuf> = Vec::new();
    let mut stream = RecordStream::<ReportRow>::open_as(dir)?.with_overlay(overlay.clone());
    while let Some(row) = stream.next() {
        let row = row?;
        if !filter.keeps(&row) {
            continue;
        }
        let (path, line) = stream.position().unwrap_or((Path::new(""), 0));
        if segments.last().is_none_or(|p| p != path) {
            segments.push(path.to_owned());
        }
        agg.push(&row, ((segments.len() as u64 - 1) << 32) | line as u64);
    }
    let (aggregates, drafts) = agg.finish();
    let mut propagation = aggregates.propagation;
    propagation.top_stories = complete_stories(drafts, &segments, overlay)?;
    let configured: Vec<String> = cfg
        .sources
        .iter()
        .filter(|s| {
            s.enabled && (filter.sources.is_empty() || filter.sources.contains(&s.profile.id))
        })
        .map(|s| s.profile.id.to_string())
        .collect();
    let health = health::read(
        &cfg.storage.state_dir,
        (filter.since, filter.until),
        &aggregates.volume.sources,
        &configured,
    )?;
    let instant =
        |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true));
    Ok(Report {
        report_version: REPORT_VERSION,
        generated_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        corpus: dir.display().to_string(),
        filter: FilterEcho {
            since: instant(filter.since),
            until: instant(filter.until),
            sources: filter.sources.clone(),
        },
        records: aggregates.records,
        source_names: cfg
            .sources
            .iter()
            .map(|s| (s.profile.id.clone(), s.profile.name.clone()))
            .collect(),
        volume: aggregates.volume,
        attribution: aggregates.attribution,
        propagation,
        health,
    })
}

/// Reads back the few records the top stories show (by segment and line) and fills them in.
fn complete_stories(
    drafts: Vec<StoryDraft>,
    segments: &[PathBuf],
    overlay: &Overlay,
) -> Result<Vec<propagation::Story>, ReportError> {
    let mut wanted: HashMap<usize, Vec<usize>> = HashMap::new();
    for d in &drafts {
        for (pos, _) in &d.copies {
            let seg = (pos >> 32) as usize;
            wanted
                .entry(seg)
                .or_default()
                .push((pos & 0xffff_ffff) as usize);
        }
    }
    let mut rows = BTreeMap::new();
    for (seg, lines) in wanted {
        let Some(path) = segments.get(seg) else {
            continue;
        };
        for (line, r) in read_lines::<StoryRow>(path, &lines, overlay)? {
            let pos = ((seg as u64) << 32) | line as u64;
            rows.insert(pos, r);
        }
    }
    Ok(drafts
        .into_iter()
        .map(|d| propagation::complete(d, &rows))
        .collect())
}

/// Writes the report as `format` to `out` (stdout when `None`).
///
/// # Errors
/// `Write` when the file cannot be created or written.
pub fn write(report: &Report, format: Format, out: Option<&Path>) -> Result<(), ReportError> {
    let text = match format {
        Format::Html => html::render(report),
        Format::Json => json::render(report),
    };
    let shown = out.map_or_else(|| PathBuf::from("-"), Path::to_owned);
    let werr = |source| ReportError::Write {
        path: shown.clone(),
        source,
    };
    match out {
        Some(path) => std::fs::write(path, text).map_err(werr),
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes()).map_err(werr)?;
            stdout.flush().map_err(werr)
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML page.
    Html,
    /// The same aggregates as JSON.
    Json,
}
