//! `newsmill status`: per source, the last run, last success, last new article and failure
//! streak, and the URLs no longer tried (`fetch.max_attempts` reached), as a table or as JSON. Both show the same rows in the same order (by source id, as
//! the run summary), and times to the second in UTC.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::state::SourceStatus;

/// One row of `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Source id.
    pub source: String,
    /// Start of the last run that included the source (RFC 3339, seconds, UTC).
    pub last_run: Option<String>,
    /// Start of the last run without failures for the source.
    pub last_success: Option<String>,
    /// When the source last produced a new article.
    pub last_new_article: Option<String>,
    /// Consecutive runs with failures.
    pub failure_streak: i64,
    /// URLs that failed `fetch.max_attempts` times and are no longer tried.
    pub exhausted: Vec<GaveUp>,
}

/// A URL the frontier no longer tries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GaveUp {
    /// The URL.
    pub url: String,
    /// The last failure's kind.
    pub kind: String,
    /// Failed attempts.
    pub attempts: u32,
}

/// Puts each exhausted URL on its source's row.
pub fn add_exhausted(rows: &mut [Row], entries: Vec<crate::frontier::Entry>) {
    for e in entries {
        let crate::frontier::UrlState::Failed { kind, attempts, .. } = e.state else {
            continue;
        };
        if let Some(row) = rows.iter_mut().find(|r| r.source == e.source.as_str()) {
            row.exhausted.push(GaveUp {
                url: e.key.to_string(),
                kind: kind.as_str(),
                attempts,
            });
        }
    }
}

/// The rows to show: every source with history, plus every enabled configured source that has
/// none yet, sorted by source id.
pub fn rows(cfg: &Config, history: &[SourceStatus]) -> Vec<Row> {
    let mut rows: Vec<Row> = history
        .iter()
        .map(|h| Row {
            source: h.source_id.clone(),
            last_run: h.last_run.as_deref().map(to_second),
            last_success: h.last_success.as_deref().map(to_second),
            last_new_article: h.last_new_article.as_deref().map(to_second),
            failure_streak: h.failure_streak,
            exhausted: Vec::new(),
        })
        .collect();
    for src in cfg.sources.iter().filter(|s| s.enabled) {
        let id = src.profile.id.as_str();
        if !rows.iter().any(|r| r.source == id) {
            rows.push(Row {
                source: id.to_owned(),
                last_run: None,
                last_success: None,
                last_new_article: None,
                failure_streak: 0,
                exhausted: Vec::new(),
            });
        }
    }
    rows.sort_by(|a, b| a.source.cmp(&b.source));
    rows
}

/// A stored timestamp cut to the second, in UTC (`2026-11-30T05:29:03Z`); text that is not
/// RFC 3339 is shown as stored.
fn to_second(stored: &str) -> String {
    DateTime::parse_from_rfc3339(stored).map_or_else(
        |_| stored.to_owned(),
        |t| {
            t.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        },
    )
}

/// The table: columns as wide as their widest cell, the streak right-aligned.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "source",
        "last run",
        "last success",
        "last new article",
        "streak",
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let t = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            [
                r.source.clone(),
                t(&r.last_run),
                t(&r.last_success),
                t(&r.last_new_article),
                r.failure_streak.to_string(),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(&cells) {
        let [a, b, c, d, e] = row;
        let _ = writeln!(
            out,
            "{a:<w0$}  {b:<w1$}  {c:<w2$}  {d:<w3$}  {e:>w4$}",
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4],
        );
    }
    for r in rows.iter().filter(|r| !r.exhausted.is_empty()) {
        let n = r.exhausted.len();
        let _ = writeln!(
            out,
            "{}: {n} URLs no longer tried (fetch.max_attempts reached):",
            r.source
        );
        for g in &r.exhausted {
            let _ = writeln!(out, "  {} {} after {} attempts", g.url, g.kind, g.attempts);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // See: issue 11, item 7.
    #[test]
    fn times_to_the_second_and_columns_that_fit() {
        let cfg = Config::parse(
            "[[sources]]\nid = \"zz_new\"\nname = \"Z\"\nfeeds = [\"https://z.example/rss\"]\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let history = [SourceStatus {
            source_id: "a_very_long_source_id".into(),
            last_run: Some("2026-11-30T05:29:03.123456789+00:00".into()),
            last_success: None,
            last_new_article: Some("2026-11-30T08:29:03.5+03:00".into()),
            failure_streak: 12,
        }];
        let rows = rows(&cfg, &history);
        assert_eq!(rows[0].source, "a_very_long_source_id");
        assert_eq!(rows[1].source, "zz_new");
        assert_eq!(rows[0].last_run.as_deref(), Some("2026-11-30T05:29:03Z"));
        assert_eq!(
            rows[0].last_new_article.as_deref(),
            Some("2026-11-30T05:29:03Z")
        );
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        // Every column starts at the same place on every line.
        let starts = |l: &str, word: &str| l.find(word).unwrap();
        assert_eq!(starts(lines[0], "last run"), starts(lines[1], "2026"));
        assert_eq!(starts(lines[0], "last run"), starts(lines[2], "-"));
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{text}");
    }
}
