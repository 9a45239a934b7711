//! The `newsmill` binary: parse the command line, set up logging, run the command, map the
//! outcome to an exit code (0 ok, 1 finished with failures, 2 fatal or config error,
//! 75 another run holds the lock).

use std::process::ExitCode;

use clap::Parser as _;
use newsmill::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbosity = if cli.quiet {
        -1
    } else {
        i8::try_from(cli.verbose).unwrap_or(i8::MAX)
    };
    let format = cli.log_format;
    newsmill::telemetry::init(format == LogFormat::Json, verbosity);
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

/// Prints a fatal error: `newsmill: <chain>` with text logs, an error event with JSON logs.
fn fatal(format: LogFormat, chain: &str) {
    match format {
        LogFormat::Text => eprintln!("newsmill: {chain}"),
        LogFormat::Json => tracing::error!(error = %chain, "fatal"),
    }
}
