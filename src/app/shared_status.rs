//! `newsmill status` on a shared PostgreSQL state: the per-source rows of the SQLite status
//! (from the same tables), plus every worker (id, machine, last heartbeat, leases held) and the
//! frontier's depth per source. Runs on a blocking thread: the PostgreSQL client must not be
//! called from an async task.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::SecondsFormat;
use serde::Serialize;

use crate::config::{Config, DatabaseUrl};
use crate::frontier::Frontier;
use crate::state::pg::{PgState, SourceDepth, WorkerRow};

use super::status;

/// One worker, as `status --json` prints it.
#[derive(Debug, Serialize)]
struct Worker {
    id: String,
    host: String,
    last_heartbeat: String,
    stopped: bool,
    host_leases: i64,
    source_leases: i64,
}

/// One source's frontier depth, as `status --json` prints it.
#[derive(Debug, Serialize)]
struct Depth {
    source: String,
    waiting: i64,
    fetched: i64,
    ingested: i64,
    closed: i64,
}

/// The whole `status --json` object of a shared state.
#[derive(Debug, Serialize)]
struct Shared {
    sources: Vec<status::Row>,
    workers: Vec<Worker>,
    frontier: Vec<Depth>,
}

fn worker(w: WorkerRow) -> Worker {
    Worker {
        id: w.id,
        host: w.hostname,
        last_heartbeat: w.heartbeat.to_rfc3339_opts(SecondsFormat::Secs, true),
        stopped: w.stopped,
        host_leases: w.host_leases,
        source_leases: w.source_leases,
    }
}

fn depth(d: SourceDepth) -> Depth {
    Depth {
        source: d.source_id,
        waiting: d.waiting,
        fetched: d.fetched,
        ingested: d.ingested,
        closed: d.closed,
    }
}

/// `newsmill status` with `[state] backend = "postgres"`.
///
/// # Errors
/// Connection, schema version, queries.
pub fn run(cfg: &Config, url: &DatabaseUrl, json: bool) -> anyhow::Result<ExitCode> {
    let state = Arc::new(PgState::open(url)?);
    let mut rows = status::rows(cfg, &state.source_statuses()?);
    let shared = Shared {
        workers: state.workers()?.into_iter().map(worker).collect(),
        frontier: state.source_depths()?.into_iter().map(depth).collect(),
        sources: Vec::new(),
    };
    let frontier = Frontier::new(state, cfg.fetch.retry);
    status::add_exhausted(&mut rows, frontier.exhausted()?);
    let shared = Shared {
        sources: rows,
        ..shared
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&shared)?);
    } else {
        print!("{}", render(&shared));
    }
    Ok(ExitCode::SUCCESS)
}

/// The text form: the per-source table, then workers, then frontier depth.
fn render(s: &Shared) -> String {
    let mut out = status::table(&s.sources);
    let _ = writeln!(out, "\nworkers:");
    if s.workers.is_empty() {
        let _ = writeln!(out, "  (none has registered)");
    }
    for w in &s.workers {
        let _ = writeln!(
            out,
            "  {}  host {}  heartbeat {}{}  leases: {} hosts, {} sources",
            w.id,
            w.host,
            w.last_heartbeat,
            if w.stopped { " (stopped)" } else { "" },
            w.host_leases,
            w.source_leases
        );
    }
    let _ = writeln!(
        out,
        "\nfrontier depth (waiting / fetched / ingested / closed):"
    );
    for d in &s.frontier {
        let _ = writeln!(
            out,
            "  {}  {} / {} / {} / {}",
            d.source, d.waiting, d.fetched, d.ingested, d.closed
        );
    }
    out
}
