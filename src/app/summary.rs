//! What a finished run tells its reader. With text logs: the summary table on stderr. With
//! JSON logs (`--log-format json`, the cron setup): no table, but one structured event per
//! source and one for the run, so every stderr line stays one JSON object. Either way, when
//! every source failed before any HTTP answer, one line says the network looks unreachable.

use std::process::ExitCode;

use crate::cli::LogFormat;
use crate::pipeline::report::{RunReport, failure_kinds};

/// Prints or logs the report and returns the run's exit code.
pub fn finish(report: &RunReport, format: LogFormat) -> ExitCode {
    match format {
        LogFormat::Text => eprintln!("{}", report.table()),
        LogFormat::Json => log_events(report),
    }
    if report.network_unreachable() {
        tracing::warn!(
            "no source could be reached (every failure was dns, connect or tls): the network looks unreachable; `newsmill demo` works offline"
        );
    }
    ExitCode::from(report.exit_code())
}

/// The summary as events: `source summary` per source, `run error` per run-level error, then
/// `run summary`.
fn log_events(report: &RunReport) {
    for (id, st) in &report.sources {
        tracing::info!(
            source = %id,
            found = st.discovered,
            known = st.skipped_known,
            feeds_fetched = st.feeds_fetched,
            pages_fetched = st.fetched,
            not_modified = st.not_modified,
            robots_blocked = st.robots_blocked,
            new = st.new_articles,
            duplicates = st.duplicates,
            near_duplicates = st.near_duplicates,
            selector_misses = st.selector_misses,
            over_cap = st.over_cap,
            failed = st.failed(),
            failures = %failure_kinds(st),
            "source summary"
        );
    }
    for e in &report.errors {
        tracing::error!(error = %e, "run error");
    }
    tracing::info!(
        run_id = %report.run_id,
        mode = %report.mode,
        interrupted = report.interrupted,
        elapsed_s = report.elapsed_secs(),
        failed = report.failures(),
        corpus = %report.corpus_dir,
        corpus_records = report.corpus_records,
        exit_code = report.exit_code(),
        "run summary"
    );
}
