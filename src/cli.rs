//! Command-line interface types (clap derive). No I/O here: `main` parses, `app` acts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// Default config path, relative to the current directory.
pub const DEFAULT_CONFIG: &str = "config/sources.toml";

/// newsmill: news-agency feeds → raw WARC → normalized, deduplicated JSONL corpus.
#[derive(Debug, Parser)]
#[command(name = "newsmill", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// More log output (-v debug, -vv trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event.
    Json,
}

/// `export` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// JSON Lines, the corpus record format.
    Jsonl,
    /// Apache Parquet, typed columns (zstd); in the default build.
    Parquet,
}

/// `report` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML page (inline SVG and CSS).
    Html,
    /// The same aggregates as JSON.
    Json,
}

/// `export --partition` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PartitionBy {
    /// `source_id=<id>`.
    Source,
    /// `month=<YYYY-MM>` of publication (undated: of fetch).
    Month,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The cron job: discover, fetch, store raw, normalize, dedup, append; print a summary.
    /// Exit 0 all good, 1 finished with failures, 2 fatal/config error, 75 another run is busy.
    Run {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Only this source (repeatable).
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
        /// Fetch already-ingested URLs again.
        #[arg(long)]
        refetch: bool,
        /// Backfill: take sitemap/feed entries published since this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Stop taking new work after this long ("30m", "2h").
        #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
        max_duration: Option<Duration>,
        /// At most this many article fetches per source.
        #[arg(long, value_name = "N")]
        max_per_source: Option<usize>,
    },
    /// Push the given article URLs through the pipeline (raw + normalized), without feeds.
    Fetch {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Treat every URL as this source's.
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// Article URLs.
        #[arg(required = true)]
        urls: Vec<String>,
    },
    /// Normalize saved HTML files offline; print one JSON object per file (JSONL).
    Extract {
        /// Config file (optional for this command: built-in defaults when it does not exist).
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Use this source's selectors, time zone and aliases.
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// The URL the files were saved from (resolves links, picks the source by site).
        #[arg(long)]
        url: Option<String>,
        /// HTML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Rebuild normalized/ from raw/ without network (same input, same corpus, byte for byte).
    Reprocess {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Offline showcase: serve a bundled two-agency site on 127.0.0.1 and run the whole pipeline.
    Demo {
        /// Folder for the demo's raw/, normalized/ and state/ (default: a new temp folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Validate a config file and report every problem at once.
    Check {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Corpus summary: per-source counts, date range, languages, duplicate clusters, top attributions.
    Stats {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write corpus records for downstream analysis (to stdout, or --output FILE).
    Export {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Only records published (undated: fetched) since this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only records published (undated: fetched) up to this date, inclusive (YYYY-MM-DD),
        /// or before this instant (RFC 3339).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Only this source (repeatable).
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Output file (default: stdout; required for parquet), or folder with `--partition`.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Parquet only: write hive-style partition folders by these keys, outermost first
        /// (`--partition source,month` → `source_id=ID/month=YYYY-MM/part-0.parquet`).
        #[arg(long, value_enum, value_delimiter = ',', value_name = "KEYS")]
        partition: Vec<PartitionBy>,
    },
    /// Who credits whom and how stories spread: volume, attribution matrix, propagation and
    /// health, as one offline HTML page (or JSON).
    Report {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Only records published (undated: fetched) since this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only records published (undated: fetched) up to this date, inclusive (YYYY-MM-DD),
        /// or before this instant (RFC 3339).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Only this publishing source (repeatable).
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
        /// Output file (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
        format: ReportFormat,
    },
    /// Check manifest ↔ segments, corpus ↔ state and raw ↔ state; name every problem.
    /// Exit 0 clean, 1 problems found, 2 fatal, 75 a run holds the lock.
    Verify {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Rebuild the manifest from the segments and queue what is missing for refetch.
        #[arg(long)]
        repair: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Bring the state database to this binary's schema (PostgreSQL: apply the versioned
    /// migrations; SQLite migrates itself). Exit 0 done, 2 fatal (unreachable, newer schema).
    Migrate {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Write the near-duplicate index (state/near.sqlite) out anew, each table's pages in
    /// order: after many merges its pages scatter, and a cold open reads them one by one.
    /// Needs free space the size of the file. Exit 0 done, 2 fatal, 75 a run holds the lock.
    Compact {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// One of many workers sharing a PostgreSQL frontier (`[state] backend = "postgres"`):
    /// claims discovery and hosts with leases, fetches politely across all workers, writes
    /// its own corpus segments. Exit 0, 1 when items failed or it was interrupted, 2 fatal.
    Worker {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Worker id (names its corpus folder and its row in `status`; default: machine
        /// name and process id). Give a restarted worker the same id to keep its folder.
        #[arg(long)]
        id: Option<String>,
        /// Drain what is due (discovery and URLs), then exit.
        #[arg(long)]
        once: bool,
    },
    /// Print the JSON Schema of a corpus record (committed as schema/corpus-record.schema.json).
    Schema,
    /// Per source: last run, last success, last new article, failure streak.
    Status {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// Whether the command is worth the allocator's settings ([`crate::malloc`]): the ones that
    /// run long or hold much (the near-duplicate index, the corpus, the raw store). The quick
    /// ones (`check`, `schema`, `status`, `migrate`) skip the re-execution and its few ms.
    pub fn tunes_allocator(&self) -> bool {
        !matches!(
            self,
            Self::Check { .. } | Self::Schema | Self::Status { .. } | Self::Migrate { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::Cli;

    fn tunes(args: &[&str]) -> bool {
        let cli = Cli::try_parse_from(std::iter::once("newsmill").chain(args.iter().copied()));
        cli.expect("a valid command line").command.tunes_allocator()
    }

    #[test]
    fn long_commands_take_the_allocator_settings_and_quick_ones_do_not() {
        for long in [
            &["run"][..],
            &["worker", "--once"],
            &["reprocess"],
            &["export", "--format", "jsonl"],
            &["report"],
            &["verify"],
            &["fetch", "http://127.0.0.1/a"],
        ] {
            assert!(tunes(long), "{long:?}");
        }
        for quick in [&["check"][..], &["schema"], &["status"], &["migrate"]] {
            assert!(!tunes(quick), "{quick:?}");
        }
    }
}
