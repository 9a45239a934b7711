//! The `verify` command and the warning `stats` prints: config in, text or JSON out, exit code.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;

use crate::config::Config;
use crate::frontier::Frontier;
use crate::pipeline::lock;
use crate::state::State;

use super::{Depth, Repaired, Report, repair, verify};

/// `newsmill verify [--repair] [--json]` (the caller holds the run lock): prints every problem,
/// then what `--repair` did. Exit 0 when nothing was found, 1 when problems were found
/// (repaired or not: run `verify` again to see what is left).
///
/// # Errors
/// When a store cannot be read at all, or a repair cannot write the state database.
pub fn command(cfg: &Config, fix: bool, as_json: bool) -> anyhow::Result<ExitCode> {
    let st = &cfg.storage;
    let state = Arc::new(State::open(&st.state_dir).context("opening state")?);
    let report = verify(&st.normalized_dir, &st.raw_dir, &state, Depth::Full)
        .with_context(|| format!("verifying {}", st.normalized_dir.display()))?;
    let repaired = if fix && !report.ok {
        let frontier = Frontier::new(state.clone(), cfg.fetch.retry);
        let fixed = repair(&report, &st.normalized_dir, &st.raw_dir, &state, &frontier);
        Some(fixed.context("repairing")?)
    } else {
        None
    };
    print_outcome(&report, repaired.as_ref(), false, as_json)
}

/// Prints `report` and, after a repair, what it did, as text or JSON, and gives the exit code;
/// the SQLite and the shared `verify` (`shared`: the repair also wrote the changes queued for
/// the workers' records, and recorded their manifests) print alike.
///
/// # Errors
/// When the JSON cannot be written.
pub(super) fn print_outcome(
    report: &Report,
    repaired: Option<&Repaired>,
    shared: bool,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    if as_json {
        let v = json!({"ok": report.ok, "problems": report.problems, "checked": report.checked, "repaired": repaired});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::from(u8::from(!report.ok)));
    }
    print!("{}", report.render());
    if let Some(r) = repaired {
        let manifest = match (r.manifest_rewritten, shared) {
            (true, false) => "manifest rewritten from the segments",
            (false, false) => "manifest unchanged",
            (true, true) => "manifests rewritten from the segments and recorded",
            (false, true) => "manifests recorded",
        };
        let updates = if shared {
            format!(
                "{} queued change(s) written to their workers' folders; ",
                r.updates_applied
            )
        } else {
            String::new()
        };
        println!(
            "repair: {updates}{manifest}; {} URL(s) queued for refetch; {} record(s) marked ingested",
            r.queued_for_refetch, r.adopted_records
        );
        for left in &r.not_repaired {
            println!("not repaired: {left}");
        }
    }
    Ok(ExitCode::from(u8::from(!report.ok)))
}

/// Before `stats` prints: a warning on stderr when `verify` would fail, from the cheap checks
/// (every segment against the manifest, state against corpus, WARC files present and long
/// enough; raw members are not decoded). Silent when clean; skipped while a run holds the
/// lock, since a run mid-flush is not a disagreement, and when there is no state database.
pub fn warn_for_stats(cfg: &Config) {
    let st = &cfg.storage;
    if !st.state_dir.join(crate::state::DB_FILE).is_file() {
        // A corpus copied away from its state database (or nothing run yet): nothing to compare.
        return;
    }
    let Ok(_lock) = lock::acquire(&st.state_dir) else {
        eprintln!("note: a run is in progress; corpus integrity not checked");
        return;
    };
    let report = State::open(&st.state_dir)
        .map_err(super::VerifyError::from)
        .and_then(|state| verify(&st.normalized_dir, &st.raw_dir, &state, Depth::Quick));
    match report {
        Ok(Report { ok: true, .. }) => {}
        Ok(r) => {
            eprintln!(
                "warning: `newsmill verify` would report {} problem(s), first: {}",
                r.problems.len(),
                r.problems
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            eprintln!(
                "         run `newsmill verify` to list them, `verify --repair` to fix what can be fixed"
            );
        }
        Err(e) => eprintln!(
            "warning: corpus integrity not checked: {}",
            crate::pipeline::report::error_chain(&e)
        ),
    }
}
