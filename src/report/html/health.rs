//! The health section: one table row per source, from the state database, the run reports in
//! the window and the corpus (share of records without a date or with extraction warnings).

use std::fmt::Write as _;

use super::super::Report;
use super::{Td, percent, table};

/// Appends the section.
pub fn section(s: &mut String, r: &Report) {
    let h = &r.health;
    let _ = write!(
        s,
        r#"<section id="health"><h2>Health</h2><p>Per source: the last run and last run without failures (state database), the current failure streak, failures by kind and selector misses over the {} run report(s) in the window, and the share of records without a date or with extraction warnings.</p>"#,
        h.run_reports
    );
    if h.unreadable_run_reports > 0 {
        let _ = write!(
            s,
            r#"<p class="bad">{} run report(s) could not be read (named in the log).</p>"#,
            h.unreadable_run_reports
        );
    }
    let rows: Vec<Vec<Td>> = h
        .sources
        .iter()
        .map(|x| {
            let kinds: Vec<String> = x.failures.iter().map(|(k, n)| format!("{k}={n}")).collect();
            vec![
                Td::Text(x.source_id.clone()),
                Td::Text(x.last_run.clone().unwrap_or_else(|| "never".into())),
                Td::Text(x.last_success.clone().unwrap_or_else(|| "never".into())),
                Td::Num(x.failure_streak.max(0) as u64),
                Td::Num(x.runs),
                Td::Num(x.failures.values().sum()),
                Td::Text(kinds.join(" ")),
                Td::Num(x.selector_misses),
                Td::Num(x.records),
                Td::Val(x.undated_share, percent(x.undated_share)),
                Td::Val(x.warnings_share, percent(x.warnings_share)),
            ]
        })
        .collect();
    s.push_str(&table(
        "health-table",
        "Crawl and extraction health per source",
        &[
            "source",
            "last run",
            "last success",
            "failure streak",
            "runs",
            "failures",
            "failures by kind",
            "selector misses",
            "records",
            "undated",
            "with warnings",
        ],
        &rows,
    ));
    s.push_str("</section>");
}
