//! Run statistics: per-source counters, the end-of-run table on stderr, and the same as JSON
//! in `state/runs/<run-id>.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::SourceId;

/// Counters for one source in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceStats {
    /// Article URLs listed by discovery for the first time.
    pub discovered: u64,
    /// Article URLs owed from earlier runs (listed before, not yet ingested, due for a try),
    /// fetched whatever the feed answered this time.
    pub backlog: u64,
    /// URLs whose raw response an earlier run stored but whose record it did not: normalized
    /// from raw/ at the start of this run, without a request.
    pub recovered: u64,
    /// URLs of the source that failed as often as `fetch.max_attempts` allows and are no
    /// longer tried (listed by `newsmill status`).
    pub exhausted: u64,
    /// Already-ingested URLs skipped without a request.
    pub skipped_known: u64,
    /// Responses received (articles and discovery documents).
    pub fetched: u64,
    /// 304 answers.
    pub not_modified: u64,
    /// URLs not requested because robots.txt disallows them.
    pub robots_blocked: u64,
    /// Links refused before any request (bad scheme, unparsable).
    pub rejected_links: u64,
    /// Records added to the corpus.
    pub new_articles: u64,
    /// Pages whose text was already in the corpus.
    pub duplicates: u64,
    /// New records with a near duplicate already in the corpus: a republished copy, or an
    /// original arriving after its copy.
    pub near_duplicates: u64,
    /// Pages where the source's body selector matched nothing (layout change?).
    pub selector_misses: u64,
    /// Failures by kind ("timeout", "status_404", "no_text", …).
    pub failures: BTreeMap<String, u64>,
    /// Entries ignored because a feed or sitemap listed more than
    /// `feed::MAX_ENTRIES_PER_DOCUMENT` (50 000): not a failure, but never silent.
    pub over_cap: u64,
}

impl SourceStats {
    /// Counts one failure of `kind`.
    pub fn fail(&mut self, kind: &str) {
        *self.failures.entry(kind.to_owned()).or_default() += 1;
    }

    /// Total failures.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Adds another counter set into this one.
    pub fn merge(&mut self, o: &SourceStats) {
        self.discovered += o.discovered;
        self.backlog += o.backlog;
        self.recovered += o.recovered;
        self.exhausted += o.exhausted;
        self.skipped_known += o.skipped_known;
        self.fetched += o.fetched;
        self.not_modified += o.not_modified;
        self.robots_blocked += o.robots_blocked;
        self.rejected_links += o.rejected_links;
        self.new_articles += o.new_articles;
        self.duplicates += o.duplicates;
        self.near_duplicates += o.near_duplicates;
        self.selector_misses += o.selector_misses;
        self.over_cap += o.over_cap;
        for (k, v) in &o.failures {
            *self.failures.entry(k.clone()).or_default() += v;
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// `YYYYMMDDTHHMMSSZ-<pid>`.
    pub run_id: String,
    /// What ran: "run", "fetch", "reprocess", "demo".
    pub mode: String,
    /// Start time.
    pub started: DateTime<Utc>,
    /// End time.
    pub finished: DateTime<Utc>,
    /// Whether the run was cut short by a signal or `--max-duration`.
    pub interrupted: bool,
    /// Per-source counters.
    pub sources: BTreeMap<SourceId, SourceStats>,
    /// Failures not tied to one source (raw store, corpus, state).
    pub errors: Vec<String>,
    /// Corpus folder.
    pub corpus_dir: String,
    /// Records in the corpus after the run.
    pub corpus_records: usize,
}

impl RunReport {
    /// Total failures over all sources plus run-level errors.
    pub fn failures(&self) -> u64 {
        self.sources.values().map(SourceStats::failed).sum::<u64>() + self.errors.len() as u64
    }

    /// Exit code contract: 0 all good, 1 finished with failures (or interrupted).
    pub fn exit_code(&self) -> u8 {
        u8::from(self.failures() > 0 || self.interrupted)
    }

    /// The human summary table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<16} {:>6} {:>6} {:>5} {:>6} {:>5} {:>5} {:>5} {:>5} {:>6}  failures",
            "source", "found", "known", "fetch", "304", "robot", "new", "dup", "near", "fail"
        );
        let mut total = SourceStats::default();
        for (id, st) in &self.sources {
            total.merge(st);
            let _ = writeln!(s, "{}", row(id.as_str(), st));
        }
        let _ = writeln!(s, "{}", row("TOTAL", &total));
        for e in &self.errors {
            let _ = writeln!(s, "error: {e}");
        }
        let _ = write!(
            s,
            "run {} ({}) {} in {:.1}s; corpus {} has {} records",
            self.run_id,
            self.mode,
            if self.interrupted {
                "interrupted"
            } else {
                "finished"
            },
            (self.finished - self.started).num_milliseconds() as f64 / 1000.0,
            self.corpus_dir,
            self.corpus_records
        );
        s
    }
}

fn row(name: &str, st: &SourceStats) -> String {
    let kinds = st
        .failures
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut misses = String::new();
    for (name, n) in [
        ("selector_misses", st.selector_misses),
        ("over_cap", st.over_cap),
        ("backlog", st.backlog),
        ("recovered", st.recovered),
        ("exhausted", st.exhausted),
    ] {
        if n > 0 {
            let _ = write!(misses, " {name}={n}");
        }
    }
    format!(
        "{:<16} {:>6} {:>6} {:>5} {:>6} {:>5} {:>5} {:>5} {:>5} {:>6}  {kinds}{misses}",
        name,
        st.discovered,
        st.skipped_known,
        st.fetched,
        st.not_modified,
        st.robots_blocked,
        st.new_articles,
        st.duplicates,
        st.near_duplicates,
        st.failed()
    )
}

/// An error and its sources on one line ("a: b: c"), for reports.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let _ = write!(s, ": {inner}");
        src = inner.source();
    }
    s
}
