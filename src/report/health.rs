//! The health section: per source, what the state database and the run reports say about
//! crawling (last success, failure streak, failures by kind, selector misses), beside what the
//! corpus says about extraction (share of records without a date or with warnings).
//!
//! Reads `state/newsmill.sqlite` (through [`crate::state::State`]) and `state/runs/*.json`; a
//! run report that cannot be read or parsed is counted and named in the log, never fatal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ReportError;
use super::aggregate::SourceVolume;
use crate::state::{DB_FILE, SourceStatus, State};

/// One source's health.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceHealth {
    /// Source id.
    pub source_id: String,
    /// Start of the last run that included the source (from the state).
    pub last_run: Option<String>,
    /// Start of the last run in which the source had no failures.
    pub last_success: Option<String>,
    /// Consecutive runs with failures, up to now.
    pub failure_streak: i64,
    /// Run reports in the window that include the source.
    pub runs: u64,
    /// Failures by kind over those runs.
    pub failures: BTreeMap<String, u64>,
    /// Pages where the source's body selector matched nothing, over those runs.
    pub selector_misses: u64,
    /// Records of the source in the window.
    pub records: u64,
    /// Of those, records without any publication date.
    pub undated: u64,
    /// `undated / records` (0 when there are no records).
    pub undated_share: f64,
    /// Records with at least one extraction warning.
    pub with_warnings: u64,
    /// `with_warnings / records`.
    pub warnings_share: f64,
}

/// The health section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Health {
    /// Run reports read (in the window).
    pub run_reports: u64,
    /// Run reports that could not be read or parsed (named in the log).
    pub unreadable_run_reports: u64,
    /// One row per source, by id.
    pub sources: Vec<SourceHealth>,
}

/// The part of `state/runs/<run-id>.json` the report reads.
#[derive(Debug, Deserialize)]
struct RunFile {
    started: DateTime<Utc>,
    #[serde(default)]
    sources: BTreeMap<String, RunSource>,
}

#[derive(Debug, Default, Deserialize)]
struct RunSource {
    #[serde(default)]
    failures: BTreeMap<String, u64>,
    #[serde(default)]
    selector_misses: u64,
}

/// Reads the state and the run reports under `state_dir` (nothing is created when the folder
/// or database is missing) and joins them with the corpus counts. `window` limits the run
/// reports by start time (`[since, until)`); `only` limits the rows to those sources.
///
/// # Errors
/// `State` when the database exists but cannot be queried, `RunReports` when the runs folder
/// exists but cannot be listed.
pub fn read(
    state_dir: &Path,
    window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    volume: &[SourceVolume],
    configured: &[String],
) -> Result<Health, ReportError> {
    let statuses = if state_dir.join(DB_FILE).exists() {
        State::open(state_dir)?.source_statuses()?
    } else {
        Vec::new()
    };
    let mut health = Health::default();
    let mut rows: BTreeMap<String, SourceHealth> = BTreeMap::new();
    let row = |id: &str| -> SourceHealth {
        SourceHealth {
            source_id: id.to_owned(),
            ..SourceHealth::default()
        }
    };
    for id in configured {
        rows.entry(id.clone()).or_insert_with(|| row(id));
    }
    for v in volume {
        let r = rows
            .entry(v.source_id.to_string())
            .or_insert_with(|| row(v.source_id.as_str()));
        r.records = v.records;
        r.undated = v.undated;
        r.with_warnings = v.with_warnings;
        r.undated_share = share(v.undated, v.records);
        r.warnings_share = share(v.with_warnings, v.records);
    }
    add_statuses(&mut rows, &statuses);
    for run in run_files(state_dir, &mut health)? {
        let in_window =
            window.0.is_none_or(|s| run.started >= s) && window.1.is_none_or(|u| run.started < u);
        if !in_window {
            continue;
        }
        health.run_reports += 1;
        for (id, st) in run.sources {
            let Some(r) = rows.get_mut(&id) else { continue };
            r.runs += 1;
            r.selector_misses += st.selector_misses;
            for (kind, n) in st.failures {
                *r.failures.entry(kind).or_default() += n;
            }
        }
    }
    health.sources = rows.into_values().collect();
    Ok(health)
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

/// Copies the state's history onto the rows that are shown (times to the second, UTC).
fn add_statuses(rows: &mut BTreeMap<String, SourceHealth>, statuses: &[SourceStatus]) {
    let second = |s: &Option<String>| {
        s.as_deref().map(|t| {
            DateTime::parse_from_rfc3339(t).map_or_else(
                |_| t.to_owned(),
                |d| {
                    d.to_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                },
            )
        })
    };
    for st in statuses {
        if let Some(r) = rows.get_mut(&st.source_id) {
            r.last_run = second(&st.last_run);
            r.last_success = second(&st.last_success);
            r.failure_streak = st.failure_streak;
        }
    }
}

/// Every parsable run report under `state_dir/runs`, oldest name first; the rest are counted
/// in `health.unreadable_run_reports` and logged.
fn run_files(state_dir: &Path, health: &mut Health) -> Result<Vec<RunFile>, ReportError> {
    let dir = state_dir.join("runs");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let listing = |source| ReportError::RunReports {
        path: dir.clone(),
        source,
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(listing)? {
        let path = entry.map_err(listing)?.path();
        if path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut runs = Vec::with_capacity(paths.len());
    for path in paths {
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<RunFile>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(run) => runs.push(run),
            Err(error) => {
                health.unreadable_run_reports += 1;
                tracing::warn!(path = %path.display(), %error, "run report skipped");
            }
        }
    }
    Ok(runs)
}
