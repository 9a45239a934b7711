//! The `newsmill` binary: parse the command line, set up logging, run the command, map the
//! outcome to an exit code (0 ok, 1 finished with failures, 2 fatal or config error,
//! 75 another run holds the lock).

use std::process::ExitCode;

use clap::Parser as _;
use newsmill::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A bad command line under `--log-format json` is still one JSON line on stderr.
        Err(e) if e.use_stderr() && json_requested() => {
            let line = serde_json::json!({
                "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "level": "ERROR",
                "message": "invalid command line",
                "error": e.to_string().trim_end(),
                "target": "newsmill",
            });
            eprintln!("{line}");
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    // Before anything allocates much, and only for the commands that run long: the
    // allocator's settings (returns only when there was nothing to do or the exec failed;
    // the new image parses the same command line again).
    let tuned = if cli.command.tunes_allocator() {
        newsmill::malloc::reexec_tuned()
    } else {
        Ok(())
    };
    let verbosity = if cli.quiet {
        -1
    } else {
        i8::try_from(cli.verbose).unwrap_or(i8::MAX)
    };
    let format = cli.log_format;
    newsmill::telemetry::init(format == LogFormat::Json, verbosity);
    if let Err(e) = tuned {
        tracing::warn!(
            error = %e,
            "could not re-execute with the allocator settings ({}); going on with glibc's defaults",
            newsmill::malloc::TUNABLES
        );
    }
    let outcome = match newsmill::app::try_execute_sync(cli.command, format) {
        Ok(outcome) => outcome,
        Err(command) => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    fatal(format, &format!("cannot start the async runtime: {e}"));
                    return ExitCode::from(2);
                }
            };
            runtime.block_on(newsmill::app::execute(*command, format))
        }
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            fatal(format, &format!("{e:#}"));
            ExitCode::from(2)
        }
    }
}

/// Whether the raw arguments ask for JSON logs (for errors met before they are parsed).
fn json_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.iter().any(|a| a == "--log-format=json")
}

/// Prints a fatal error: `newsmill: <chain>` with text logs, an error event with JSON logs.
fn fatal(format: LogFormat, chain: &str) {
    match format {
        LogFormat::Text => eprintln!("newsmill: {chain}"),
        LogFormat::Json => tracing::error!(error = %chain, "fatal"),
    }
}
