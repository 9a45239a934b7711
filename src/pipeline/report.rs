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
    /// Article responses received.
    pub fetched: u64,
    /// Discovery documents received (feeds, sitemaps, section and home pages).
    pub feeds_fetched: u64,
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
    /// Failures by kind ("timeout", "status_404", "not_html", …).
    pub failures: BTreeMap<String, u64>,
    /// How many of `failures` happened before any HTTP answer: name resolution, connection
    /// or TLS handshake (`dns`, `connect`, `tls`).
    pub network_failures: u64,
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
        self.feeds_fetched += o.feeds_fetched;
        self.network_failures += o.network_failures;
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
    /// `YYYYMMDDTHHMMSSZ-<pid>`: the id of a run of this process started at `started`.
    pub fn local_run_id(started: DateTime<Utc>) -> String {
        format!(
            "{}-{}",
            started.format("%Y%m%dT%H%M%SZ"),
            std::process::id()
        )
    }

    /// The report of a `reprocess` run (local or shared) that ends now.
    pub fn reprocess(
        started: DateTime<Utc>,
        interrupted: bool,
        sources: BTreeMap<SourceId, SourceStats>,
        errors: Vec<String>,
        corpus_dir: String,
        corpus_records: usize,
    ) -> Self {
        RunReport {
            run_id: Self::local_run_id(started),
            mode: "reprocess".into(),
            started,
            finished: Utc::now(),
            interrupted,
            sources,
            errors,
            corpus_dir,
            corpus_records,
        }
    }

    /// Total failures over all sources plus run-level errors.
    pub fn failures(&self) -> u64 {
        self.sources.values().map(SourceStats::failed).sum::<u64>() + self.errors.len() as u64
    }

    /// Whether every selected source failed, and failed only before any HTTP answer (name
    /// resolution, connection, TLS): the machine, not the sites, is most likely offline.
    pub fn network_unreachable(&self) -> bool {
        !self.sources.is_empty()
            && self.sources.values().all(|s| {
                s.failed() > 0
                    && s.network_failures == s.failed()
                    && s.fetched + s.feeds_fetched + s.not_modified == 0
            })
    }

    /// Exit code contract: 0 all good, 1 finished with failures (or interrupted).
    pub fn exit_code(&self) -> u8 {
        u8::from(self.failures() > 0 || self.interrupted)
    }

    /// The human summary table: one row per source and a total, columns as wide as their
    /// widest cell, then run-level errors and the closing run line.
    pub fn table(&self) -> String {
        let mut total = SourceStats::default();
        let mut rows = vec![HEADER.map(str::to_owned)];
        for (id, st) in &self.sources {
            total.merge(st);
            rows.push(row(id.as_str(), st));
        }
        rows.push(row("TOTAL", &total));
        let mut width = [0usize; HEADER.len()];
        for r in &rows {
            for (w, cell) in width.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut s = String::new();
        for r in &rows {
            let mut line = String::new();
            for (i, (cell, w)) in r.iter().zip(width).enumerate() {
                let _ = match i {
                    0 => write!(line, "{cell:<w$}"),
                    i if i == HEADER.len() - 1 => write!(line, "  {cell}"),
                    _ => write!(line, " {cell:>w$}"),
                };
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }
        for e in &self.errors {
            let _ = writeln!(s, "error: {e}");
        }
        let _ = write!(s, "{}", self.closing_line());
        s
    }

    /// `run <id> (<mode>) finished in 1.2s; corpus <dir> has N records`.
    pub fn closing_line(&self) -> String {
        format!(
            "run {} ({}) {} in {:.1}s; corpus {} has {} records",
            self.run_id,
            self.mode,
            if self.interrupted {
                "interrupted"
            } else {
                "finished"
            },
            self.elapsed_secs(),
            self.corpus_dir,
            self.corpus_records
        )
    }

    /// Wall time of the run in seconds.
    pub fn elapsed_secs(&self) -> f64 {
        (self.finished - self.started).num_milliseconds() as f64 / 1000.0
    }
}

/// Column heads of the summary table. `feeds` counts discovery documents fetched (feeds,
/// sitemaps, section and home pages), `pages` article pages fetched.
pub const HEADER: [&str; 12] = [
    "source", "found", "known", "feeds", "pages", "304", "robot", "new", "dup", "near", "fail",
    "failures",
];

fn row(name: &str, st: &SourceStats) -> [String; 12] {
    let mut kinds = failure_kinds(st);
    for (name, n) in [
        ("selector_misses", st.selector_misses),
        ("over_cap", st.over_cap),
        ("backlog", st.backlog),
        ("recovered", st.recovered),
        ("exhausted", st.exhausted),
    ] {
        if n > 0 {
            kinds = format!("{kinds} {name}={n}").trim_start().to_owned();
        }
    }
    [
        name.to_owned(),
        st.discovered.to_string(),
        st.skipped_known.to_string(),
        st.feeds_fetched.to_string(),
        st.fetched.to_string(),
        st.not_modified.to_string(),
        st.robots_blocked.to_string(),
        st.new_articles.to_string(),
        st.duplicates.to_string(),
        st.near_duplicates.to_string(),
        st.failed().to_string(),
        kinds,
    ]
}

/// Failures as `kind=count` pairs separated by spaces (`dns=2 status_404=1`).
pub fn failure_kinds(st: &SourceStats) -> String {
    st.failures
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sources: &[(&str, SourceStats)]) -> RunReport {
        let t = Utc::now();
        RunReport {
            run_id: "r".into(),
            mode: "run".into(),
            started: t,
            finished: t,
            interrupted: false,
            sources: sources
                .iter()
                .map(|(id, st)| (SourceId::new(id).unwrap(), st.clone()))
                .collect(),
            errors: Vec::new(),
            corpus_dir: "normalized".into(),
            corpus_records: 0,
        }
    }

    fn failed(kind: &str, network: bool) -> SourceStats {
        let mut st = SourceStats::default();
        st.fail(kind);
        st.network_failures = u64::from(network);
        st
    }

    // See: issue 11, item 1.
    #[test]
    fn network_unreachable_only_when_every_source_failed_at_the_network_level() {
        let down = [("a", failed("dns", true)), ("b", failed("connect", true))];
        assert!(report(&down).network_unreachable());
        let one_http = [
            ("a", failed("dns", true)),
            ("b", failed("status_503", false)),
        ];
        assert!(!report(&one_http).network_unreachable());
        let mut got_feed = failed("dns", true);
        got_feed.feeds_fetched = 1;
        assert!(!report(&[("a", got_feed)]).network_unreachable());
        assert!(!report(&[]).network_unreachable());
    }

    // See: issue 11, item 8 (feed and article fetches in separate columns).
    #[test]
    fn table_splits_feed_and_page_fetches_and_aligns_columns() {
        let st = SourceStats {
            feeds_fetched: 3,
            fetched: 120,
            new_articles: 100,
            ..SourceStats::default()
        };
        let text = report(&[("a_long_source_name", st)]).table();
        let lines: Vec<&str> = text.lines().collect();
        let head: Vec<&str> = lines[0].split_whitespace().collect();
        let row: Vec<&str> = lines[1].split_whitespace().collect();
        let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
        assert_eq!(row[col("feeds")], "3");
        assert_eq!(row[col("pages")], "120");
        assert_eq!(row[col("new")], "100");
        // Right-aligned numbers end in the same place as their heading.
        let end = |l: &str, w: &str| l.find(w).unwrap() + w.len();
        assert_eq!(end(lines[0], "pages"), end(lines[1], "120"));
    }
}
